"""``deltagrad.backends.mps``: Apple's Metal backend, which deltagrad does not use."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: deltagrad computes on the CPU."""
    return False


def is_built() -> bool:
    """False: deltagrad has no Metal backend."""
    return False
