"""Utilities under PyTorch's ``torch.utils`` paths: ``deltagrad.utils.checkpoint`` (activation
checkpointing) and ``deltagrad.utils.data`` (data loading)."""

from . import checkpoint, data
from ._swap_tensors import swap_tensors

__all__ = ["checkpoint", "data", "swap_tensors"]
