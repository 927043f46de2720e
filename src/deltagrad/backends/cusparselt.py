"""``deltagrad.backends.cusparselt``: PyTorch's cuSPARSELt (CUDA sparse matmul) queries: not
available, no version, as a CPU-only build answers."""

from __future__ import annotations

__all__ = ["get_max_alg_id", "is_available", "version"]


def is_available() -> bool:
    """False: no CUDA."""
    return False


def version() -> None:
    """None: cuSPARSELt is not loaded."""
    return None


def get_max_alg_id() -> None:
    """None: cuSPARSELt is not loaded."""
    return None
