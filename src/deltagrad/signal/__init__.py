"""``deltagrad.signal``: PyTorch's ``torch.signal`` namespace (window functions)."""

from . import windows

__all__ = ["windows"]
