"""``deltagrad.backends.mkldnn``: PyTorch's oneDNN (MKL-DNN) CPU backend flags.

deltagrad computes with NumPy and has no oneDNN kernels, so ``is_available()`` is False (kornia
reads it to choose between convolution and pooling paths; both give the same values); the flags
are plain settable attributes with no effect.
"""

from __future__ import annotations

__all__ = ["deterministic", "enabled", "is_available"]

enabled = True
deterministic = False


def is_available() -> bool:
    """False: deltagrad has no oneDNN backend."""
    return False
