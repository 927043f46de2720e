"""PyTorch's ``torch.distributed.nn``: collectives that autograd differentiates through."""

from .functional import all_gather, all_reduce, broadcast

__all__ = ["all_gather", "all_reduce", "broadcast"]
