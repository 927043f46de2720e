"""The order of equal values in ``sort`` / ``argsort`` / ``msort`` with ``stable=False``:
PyTorch's CPU kernel sorts each row's (value, index) pairs with the C++ standard library's
``std::sort`` (GNU libstdc++'s introsort in the Linux wheels), comparing values only, so equal
values end in whatever order its partitions leave them (a row of up to 16 elements is one
insertion sort: stable). Rows with a tie rerun those steps here, in Python, on each element's
rank among the row's distinct values (topk_order.py's emulation, written for topk by BR17); the
others keep the stable sort's answer, which is then the same. A 1-d integer tensor of 32,768 or
more elements sorted ascending takes PyTorch's radix sort (stable): kept. (s28 DX1: the
``torch.sort`` documentation example, 18 ties of 0 and 1, printed other indices.)
"""

from __future__ import annotations

import numpy as np

from .sort_orders import raw
from .topk_order import _LIMIT, _THRESHOLD, _ranks, _sort

__all__: list = []  # (internal: api/sorting.py's sort and argsort)

_RADIX_SORT = 32768  # (at::internal::GRAIN_SIZE: PyTorch's radix sort from this many elements)


def _tied_rows(rows: np.ndarray) -> np.ndarray:
    """The rows (of ``rows``, 2-d) holding two equal values (0.0 and -0.0, two NaNs: equal).
    (From a plain sort of the values, not a gather at the order: sort of a float32 [8, 64]
    without ties 8.1 -> 13.8 us, against 16.1 with the gather; [64, 64] 50 -> 62 us, [1e5]
    6.9 -> 7.1 ms; rows of up to 16 elements return before: unchanged. CPU time, one thread,
    old and new alternated in one process.)"""
    ranked = np.sort(rows, -1)  # (NaNs last)
    tied = (ranked[:, 1:] == ranked[:, :-1]).any(-1)
    if rows.dtype.kind == "f":
        tied |= np.isnan(ranked[:, -2])
    return np.flatnonzero(tied)


def _untied(ranked: np.ndarray, dim: int, descending: bool) -> bool:
    """Whether every row of ``ranked`` (sorted along ``dim``, NaNs as the largest) is strictly
    in order: no two equal values and no NaN (a row with one NaN answers False: the exact
    check, ``_tied_rows``, then looks). One comparison and one count over the whole array, in
    place of ``_tied_rows``' per-row any, NaN test and flatnonzero on inputs without ties, and
    sort's own gathered values in place of a second sort: sort(stable=False) of float32
    (8, 64) 13.7 -> 10.1 us, (64, 64) 65 -> 55, argsort (8, 64) 10.5 -> 7.8 (CPU time, one
    thread, min of 9 rounds, HEAD alternated in one process; s28 SP45)."""
    if dim == ranked.ndim - 1:
        head, tail = ranked[..., :-1], ranked[..., 1:]
    else:
        head = ranked[(slice(None),) * dim + (slice(None, -1),)]
        tail = ranked[(slice(None),) * dim + (slice(1, None),)]
    return np.count_nonzero(head > tail if descending else head < tail) == head.size


def unstable_order(data: np.ndarray, dim: int, descending: bool, indices: np.ndarray,
                   ranked: np.ndarray | None = None) -> np.ndarray:
    """``indices`` (the stable sort's along ``dim``) with each tied row in PyTorch's
    ``stable=False`` order: a new array, or ``indices`` itself where no row changes.
    ``ranked``: ``data``'s values at ``indices`` where the caller has them."""
    n = data.shape[dim]
    if n <= _THRESHOLD or data.size == 0 or type(data) is not np.ndarray:  # (meta)
        return indices
    kind = data.dtype.kind
    if kind not in "fiu":  # (bool, float16 / bfloat16: exact in float32)
        data = data.astype(np.float32)
    elif data.ndim == 1 and not descending and kind != "f" and n >= _RADIX_SORT:
        return indices
    if kind in "fiu" and (_untied(ranked, dim, descending) if ranked is not None
                          else _untied(np.sort(data, axis=dim), dim, False)):
        return indices  # (no tie in any row: the stable order is PyTorch's)
    last = dim == data.ndim - 1  # (then no moveaxis)
    rows = data.reshape(-1, n) if last else np.moveaxis(data, dim, -1).reshape(-1, n)
    order = indices.reshape(-1, n) if last else np.moveaxis(indices, dim, -1).reshape(-1, n)
    redo = _tied_rows(rows)
    if redo.size == 0 or redo.size * n > _LIMIT:  # (past the limit: the stable order kept)
        return indices
    order = order.copy()
    for r in redo:
        pairs = list(zip(_ranks(rows[r], descending), range(n)))
        _sort(pairs, 0, n)
        order[r] = [i for _, i in pairs]
    shape = np.moveaxis(indices, dim, -1).shape
    return np.ascontiguousarray(np.moveaxis(order.reshape(shape), -1, dim))


def unstable_values(data: np.ndarray, dim: int, descending: bool, indices: np.ndarray) -> tuple:
    """``(unstable_order(...), the values of data at it)`` for sort: the values gathered at the
    stable order feed the tie check and are kept where no row changes (``sort_orders.raw``:
    None where ``gathered`` takes gather's path, and where a row changed)."""
    ranked = raw(data, dim, indices)
    chosen = unstable_order(data, dim, descending, indices, ranked)
    return (indices, ranked) if chosen is indices else (chosen, None)
