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

Row-sparse dense arrays. A dense embedding gradient is a V x d table that is zero outside the
batch's rows. Its maker notes those rows here (``note_rows``); ``known_rows`` answers them while
the array's storage has seen no in-place change (its version, ``versions``) since, so that Adam
skips its scan for the non-zero rows, and ``give`` zeroes just those rows and keeps the array as
zeros, which ``zeros`` hands out without filling the whole table again. Measured on W1 dense
(25,000 x 50 float32): the scan (|g| and a row sum) and the fill were 3 of the step's 10 passes
over the table; without them the step takes 0.78 of the time (benchmarks/ab.py --workload
w1-dense, 30 rounds), 1.10 times the fastest hand-written floor. An array written
through its ndarray (outside deltagrad's in-place ops, which count versions) after its rows were
noted is not seen: writing non-zeros outside them is unsupported.

The C library's heap (``keep_heap``): arrays under ``MIN_BYTES`` are not kept here, but glibc
hands the memory of freed ones back to the operating system whenever more than its trim
threshold (twice the largest array it has freed, a few MB for W4's 256 KB to 1 MB arrays) is
free at the top of its heap, which a training step's end always is; the next step faults every
page back in. At import the thresholds are set so that freed memory stays in the heap for the
next step (up to ``_TRIM_BYTES`` free at its top) and arrays up to ``_MMAP_BYTES`` come from the
heap, not from fresh ``mmap`` pages.

This module imports only NumPy, ``versions`` and (for ``keep_heap``) ctypes.
"""

from __future__ import annotations

import ctypes
import os
import sys
import weakref

import numpy as np

from .versions import version as _version

__all__ = ["MIN_BYTES", "clear", "empty", "forget_rows", "give", "held_bytes", "known_rows",
           "known_row_values", "note_rows", "set_limit", "zeros"]

MIN_BYTES = 1 << 20  # smaller arrays are cheap to allocate

_free: dict[tuple, list[np.ndarray]] = {}
_zeroed: dict[tuple, list[np.ndarray]] = {}  # kept arrays known to hold zeros only
# id(array) -> (weakref to it, its non-zero rows, its version, those rows' values or None)
_rows: dict[int, tuple] = {}
_state = {"held": 0, "limit": 256 << 20}
_getrefcount = sys.getrefcount
_ndarray = np.ndarray


def empty(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, recycled when one of this shape and dtype is free."""
    stack = _free.get((shape, dtype)) or _zeroed.get((shape, dtype))
    if stack:
        array = stack.pop()
        _state["held"] -= array.nbytes
        return array
    return np.empty(shape, dtype)


def zeros(shape: tuple, dtype) -> np.ndarray:
    """A C-contiguous array of zeros, recycled when one of this shape and dtype is free."""
    stack = _zeroed.get((shape, dtype))
    if stack:
        array = stack.pop()
        _state["held"] -= array.nbytes
        return array
    array = empty(shape, dtype)
    array.fill(0)  # reused memory: faster than calloc's fresh pages (see the embedding VJP)
    return array


def note_rows(array: np.ndarray, rows: np.ndarray, values: np.ndarray | None = None) -> None:
    """Record that ``array`` (which owns its memory) is zero outside ``rows`` (first-axis
    indices, which may repeat): valid until its storage's next in-place change. ``values``,
    if given, is a private array equal to ``array[rows]`` (``rows`` then unique), which the
    caller will not change: ``known_row_values`` hands it out instead of a gather."""
    key = id(array)

    def forget(ref, key=key):
        entry = _rows.get(key)
        if entry is not None and entry[0] is ref:
            del _rows[key]

    _rows[key] = (weakref.ref(array, forget), rows, _version(array), values)


def forget_rows(array: np.ndarray) -> None:
    """Drop what ``note_rows`` recorded for ``array``: its memory is being handed to code that
    may write it without the engine seeing (``Tensor.numpy()``, ``__array__``)."""
    entry = _rows.get(id(array))
    if entry is not None and entry[0]() is array:
        del _rows[id(array)]


def known_rows(array: np.ndarray) -> np.ndarray | None:
    """The rows outside which ``array`` is known to be zero (``note_rows``), or None."""
    entry = _rows.get(id(array))
    if entry is None or entry[0]() is not array or entry[2] != _version(array):
        return None
    return entry[1]


def known_row_values(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(rows, array[rows])`` when ``note_rows`` was given the values and still holds; else
    None. The values are shared: read them, do not write them."""
    entry = _rows.get(id(array))
    if (entry is None or entry[3] is None or entry[0]() is not array
            or entry[2] != _version(array)):
        return None
    return entry[1], entry[3]


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
    rows = known_rows(array)
    if rows is not None:  # zero outside rows: zeroing them leaves an array of zeros
        array[rows] = 0
        _rows.pop(id(array), None)
        _zeroed.setdefault((array.shape, array.dtype), []).append(array)
    else:
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

# glibc's mallopt parameters (malloc.h) and the values set: a step's freed memory up to 256 MB
# stays in the heap, and arrays up to 32 MB (glibc's own ceiling for its sliding threshold)
# come from it. W4 (the character transformer step, one thread, thread time, 11 alternated
# rounds against PyTorch on the loaded 2-core machine): 1,378 page faults a step -> 8, step
# 40.4 -> 35.0 ms, ratio to PyTorch 1.12 -> 1.02 (benchmarks: /tmp/pt/tt.py, session 11 PT).
# Setting either parameter turns glibc's sliding thresholds off, so both are set.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_BYTES, _MMAP_BYTES = 256 << 20, 32 << 20


def keep_heap() -> bool:
    """Set glibc's heap to keep freed memory for reuse (see the module's docstring); returns
    whether it was set (False off glibc, where nothing is changed)."""
    if not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES))


keep_heap()


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
    _zeroed.clear()
    _state["held"] = 0
