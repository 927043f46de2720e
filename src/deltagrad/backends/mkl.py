"""``deltagrad.backends.mkl``: PyTorch's query whether it was built with Intel MKL, and its
``verbose`` context manager.

deltagrad computes with NumPy (whatever BLAS NumPy links), not with MKL kernels of its own, so
``is_available()`` is False and ``verbose`` changes nothing.
"""

from __future__ import annotations

__all__ = ["VERBOSE_OFF", "VERBOSE_ON", "is_available", "verbose"]

VERBOSE_OFF = 0
VERBOSE_ON = 1


def is_available() -> bool:
    """False: deltagrad has no MKL kernels."""
    return False


class verbose:  # noqa: N801 - PyTorch's name
    """PyTorch's ``with torch.backends.mkl.verbose(level):``: logs nothing here."""

    def __init__(self, enable: int):
        self.enable = enable

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        return False
