"""``deltagrad.backends.nnpack``: PyTorch's NNPACK convolution flag. deltagrad has no NNPACK
kernels, so ``is_available()`` is False and the flag (set by ``set_flags`` / ``flags``) changes
nothing."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["flags", "is_available", "set_flags"]

_enabled = [True]


def is_available() -> bool:
    """False: deltagrad has no NNPACK backend."""
    return False


def set_flags(_enabled_flag: bool) -> tuple:
    """Record the flag; returns the previous one as a 1-tuple, as PyTorch's."""
    previous = (_enabled[0],)
    _enabled[0] = bool(_enabled_flag)
    return previous


@contextmanager
def flags(enabled: bool = False):
    """The flag set to ``enabled`` inside the block."""
    previous = set_flags(enabled)
    try:
        yield
    finally:
        set_flags(previous[0])
