"""torch.cuda.nvtx: NVIDIA's profiler ranges. deltagrad has no CUDA build, so, as in PyTorch's
CPU build, the module imports and every call raises."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["mark", "range", "range_pop", "range_push"]

_MESSAGE = "NVTX functions not installed. Are you sure you have a CUDA build?"


def range_push(msg: str) -> int:
    """Open a nested NVTX range (raises: no CUDA build)."""
    raise RuntimeError(_MESSAGE)


def range_pop() -> int:
    """Close the innermost NVTX range (raises: no CUDA build)."""
    raise RuntimeError(_MESSAGE)


def mark(msg: str) -> None:
    """Mark an instant event (raises: no CUDA build)."""
    raise RuntimeError(_MESSAGE)


@contextmanager
def range(msg: str, *args, **kwargs):  # noqa: A001 - PyTorch's name
    """Context manager of an NVTX range (raises on entry: no CUDA build)."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
