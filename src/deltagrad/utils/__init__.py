"""Utilities under PyTorch's ``torch.utils`` paths: ``deltagrad.utils.checkpoint`` (activation
checkpointing) and ``deltagrad.utils.data`` (data loading)."""

# (dlpack: reachable as torch.utils.dlpack after a plain import, as PyTorch; s28 DX1)
from . import checkpoint, data, deterministic, dlpack, weak
from ._swap_tensors import swap_tensors

__all__ = ["checkpoint", "data", "deterministic", "dlpack", "swap_tensors", "weak"]
