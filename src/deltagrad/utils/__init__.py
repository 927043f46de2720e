"""Utilities under PyTorch's ``torch.utils`` paths: ``deltagrad.utils.checkpoint`` (activation
checkpointing) and ``deltagrad.utils.data`` (data loading)."""

from . import checkpoint, data, deterministic, weak
from ._swap_tensors import swap_tensors

__all__ = ["checkpoint", "data", "deterministic", "swap_tensors", "weak"]
