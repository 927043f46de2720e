"""``deltagrad.backends.openmp``: PyTorch's query whether its kernels were built with OpenMP.

deltagrad's kernels are NumPy's (threads, if any, are its BLAS library's), so the answer is False.
"""

from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """False: deltagrad has no OpenMP-parallel kernels of its own."""
    return False
