"""Utilities under PyTorch's ``torch.utils`` paths: ``deltagrad.utils.checkpoint`` (activation
checkpointing) and ``deltagrad.utils.data`` (data loading)."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
