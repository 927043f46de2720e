"""PyTorch's ``torch._higher_order_ops`` (the eager parts deltagrad offers: associative_scan)."""

from .associative_scan import associative_scan

__all__ = ["associative_scan"]
