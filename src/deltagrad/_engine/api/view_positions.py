"""Where each element of a view sits in the tensor it views (flat, row-major positions): how
an in-place write through a view taken outside the graph is recorded (api/inplace.py; moved out
of it, at its 800-line limit)."""

from __future__ import annotations

import numpy as np

__all__ = ["offsets", "positions_in", "view_positions"]


def view_positions(top: np.ndarray, views: list) -> tuple:
    """``(positions_in(top, view) for each view, pairs)``: with ``pairs``, ``top`` is complex
    and a view real (``z.real``, ``z.imag[1:]``), and positions count in ``top``'s float
    (re, im) pairs (a complex view's as its own pairs, [..., 2])."""
    pairs = top.dtype.kind == "c" and any(view.dtype.kind != "c" for view in views)
    if not pairs:
        return [positions_in(top, view) for view in views], False
    return [positions_in(_pairs_of(top), _pairs_of(view) if view.dtype.kind == "c" else view)
            for view in views], True


def _pairs_of(data: np.ndarray) -> np.ndarray:
    return data[..., None].view(data.real.dtype)  # (view_as_real's view of the same memory)


def offsets(data: np.ndarray, origin: int) -> np.ndarray:
    """Each element's byte address in ``data``, less ``origin`` (int64, ``data``'s shape)."""
    addresses = np.full(data.shape, data.ctypes.data - origin, dtype=np.int64)
    for dim, (n, step) in enumerate(zip(data.shape, data.strides)):
        axes = [1] * data.ndim
        axes[dim] = n
        addresses = addresses + (np.arange(n, dtype=np.int64) * step).reshape(axes)
    return addresses


def positions_in(top: np.ndarray, view: np.ndarray) -> np.ndarray:
    """Where each element of ``view`` sits in ``top`` (flat, row-major), both over one block
    of memory; raises where that is not one-to-one (deltagrad cannot record the write)."""
    if view.size == 0:
        return np.zeros(view.shape, dtype=np.int64)
    if top.flags.c_contiguous and view.dtype == top.dtype:
        fast = _row_major_positions(top, view)
        if fast is not None:
            return fast
    mine = offsets(top, top.ctypes.data).reshape(-1)
    order = np.argsort(mine, kind="stable")
    ordered = mine[order]
    wanted = offsets(view, top.ctypes.data)
    at = np.minimum(np.searchsorted(ordered, wanted), max(ordered.size - 1, 0))
    if (view.dtype != top.dtype or ordered.size == 0 or (ordered[at] != wanted).any()
            or (ordered[1:] == ordered[:-1]).any()):
        raise RuntimeError(
            "an in-place write of a value that requires grad through a view (taken outside "
            f"the graph) of dtype {view.dtype} and strides {view.strides} into a tensor of "
            f"shape {list(top.shape)} whose elements it does not map one-to-one is not "
            "supported in deltagrad; clone() the view or write into the tensor itself")
    return order[at]


def _row_major_positions(top: np.ndarray, view: np.ndarray):
    """``positions_in`` for a row-major ``top`` (the usual base: it owns its memory), which
    holds element k at byte k * itemsize: the view's strides over an arange of top's positions,
    no sort of top's addresses; None where the view's start or strides are not whole elements
    or it reaches outside top (the general path then raises). xitorch's spline matrix (three
    diagonal views of a (2, 6, 6) matrix written): 10 against 29 us a call, alternated in one
    process (s16 XI)."""
    step = top.itemsize
    start, rest = divmod(view.ctypes.data - top.ctypes.data, step)
    if rest or any(stride % step for stride in view.strides):
        return None
    strides = [stride // step for stride in view.strides]
    low = start + sum((n - 1) * s for n, s in zip(view.shape, strides) if s < 0)
    high = start + sum((n - 1) * s for n, s in zip(view.shape, strides) if s > 0)
    if low < 0 or high >= top.size:
        return None
    every = np.arange(top.size, dtype=np.int64)
    item = every.itemsize
    return np.lib.stride_tricks.as_strided(
        every[start:], view.shape, [s * item for s in strides], writeable=False).copy()
