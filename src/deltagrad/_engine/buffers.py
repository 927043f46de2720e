"""Recycled work arrays: large gradient buffers reused from one training step to the next.

A training step allocates the same large arrays every time: each weight's gradient, the
gradients flowing between layers, a dense embedding gradient. Allocated fresh, each is new
memory to the operating system too: glibc serves allocations of a few MB with ``mmap``, and a
same-sized array freed and allocated again stays on that path, so every step pays a page fault
per 4 KB written (measured on W3, 8 x Linear(1024, 1024): 10,720 faults, about 10% of the step).
The hand-written NumPy floor preallocates everything and pays none.

This module keeps such arrays for reuse instead. An array is *given* here only when nothing
else can see it: the caller's reference is the only one (``sys.getrefcount``), it owns its
memory (no view shares it) and nothing else refers to it, so recycling it can never change a
value anyone holds. The engine gives back the gradients it has consumed in ``backward`` and the
gradients ``zero_grad`` drops; the VJP rules of the large ops (linear, relu, the dense embedding
gradient) *take* their outputs from here. Arrays under ``MIN_BYTES`` are left to NumPy's and
malloc's own caches, and at most ``limit`` bytes are kept.

This module imports only NumPy.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["MIN_BYTES", "clear", "empty", "give", "held_bytes", "set_limit"]

MIN_BYTES = 1 << 20  # smaller arrays are cheap to allocate

_free: dict[tuple, list[np.ndarray]] = {}
_state = {"held": 0, "limit": 256 << 20}
_getrefcount = sys.getrefcount
_ndarray = np.ndarray


def empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, recycled when one of this shape and dtype is free."""
    stack = _free.get((shape, dtype))
    if stack:
        array = stack.pop()
        _state["held"] -= array.nbytes
        return array
    return np.empty(shape, dtype)


def give(array) -> None:
    """Keep ``array`` for reuse if the caller's reference is its only one; else do nothing.

    Call it as ``give(name)`` with ``name`` a local variable, the caller's only reference to
    the array, and do not use the array afterwards.
    """
    if (type(array) is not _ndarray or array.nbytes < MIN_BYTES
            or _getrefcount(array) != _EXCLUSIVE
            or array.base is not None or not array.flags.owndata
            or not array.flags.c_contiguous or not array.flags.writeable):
        return
    if _state["held"] + array.nbytes > _state["limit"]:
        return
    _free.setdefault((array.shape, array.dtype), []).append(array)
    _state["held"] += array.nbytes


def _count_seen_by_give(array) -> int:
    return _getrefcount(array)


def _exclusive_count() -> int:
    """What ``getrefcount`` says inside ``give`` of an array held by one local variable.

    Three on CPython 3.11 (the caller's variable, the parameter, getrefcount's argument);
    measured rather than assumed, since how the interpreter counts references on its stack
    differs between versions. Anything holding the array besides the caller adds to it.
    """
    probe = np.empty(1)
    return _count_seen_by_give(probe)


_EXCLUSIVE = _exclusive_count()


def held_bytes() -> int:
    """Bytes kept for reuse now."""
    return _state["held"]


def set_limit(limit_bytes: int) -> int:
    """Keep at most ``limit_bytes`` for reuse (0 turns recycling off); returns the old limit.

    Lowering the limit frees what is held beyond it.
    """
    if limit_bytes < 0:
        raise ValueError(f"set_limit: limit_bytes must be >= 0, got {limit_bytes}")
    old = _state["limit"]
    _state["limit"] = int(limit_bytes)
    if _state["held"] > limit_bytes:
        clear()
    return old


def clear() -> None:
    """Free every array kept for reuse."""
    _free.clear()
    _state["held"] = 0
