"""Utilities under PyTorch's ``torch.utils`` paths: ``deltagrad.utils.data`` (data loading)."""

from . import data

__all__ = ["data"]
