"""The orders sorting.py's functions read their results in (stable, NaN last, as PyTorch's),
the gather of a tensor at such an order, and the check of sort's two signatures."""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import _GradMode
from ..node_names import rename_node
from ..ops import OPS
from ..ops.indexing import _along_axis
from ..tensor import Tensor, _leaf, _result
from .indexing import gather

_INT64 = np.int64
_GATHER = OPS["gather"]


def gathered(x: Tensor, dim: int, indices: np.ndarray, name: str | None,
             values: np.ndarray | None = None) -> Tensor:
    """``gather(x, dim, indices)`` for the indices of a sort of ``x`` along ``dim`` (in range,
    ``x``'s rank and sizes but along ``dim``), its node named ``name`` (PyTorch's, or None:
    gather's): the op itself, without gather's checks of a user's index: topk on OpInfo's
    [5, 10, 5] under grad 20.0 -> 15.2 us, sort on [5, 5] 11.0 -> 7.5 (thread time,
    alternated with HEAD's, medians; s21 SP6); and the op's forward done here, its node made
    as ``apply`` makes it, without ``apply`` (sort on [5, 5] 0.89-0.91 of its time under grad
    and no_grad, alternated as at ``first_of_order``; s23 SP10). ``values``:
    ``raw(x._data, dim, indices)`` where the caller has it (sort's tie check: s28 SP45)."""
    data = x._data
    if type(data) is np.ndarray and data.dtype.kind in "biuf":
        if values is None:
            values = data[_along_axis(indices, dim)]  # (_GATHER's forward)
        result = _result(values, _GATHER, (x, _leaf(indices)), {"dim": dim},
                         x._rg and _GradMode.enabled)
    else:  # (meta, bfloat16, complex: its general path)
        result = gather(x, dim, indices)
    return result if name is None else rename_node(result, name)


def raw(data: np.ndarray, dim: int, indices: np.ndarray) -> np.ndarray | None:
    """``gathered``'s forward values (an array), or None where it takes gather's path."""
    if type(data) is np.ndarray and data.dtype.kind in "biuf":
        return data[_along_axis(indices, dim)]
    return None


def first_of_order(data: np.ndarray, dim: int, k: int, descending: bool) -> np.ndarray:
    """The first ``k`` of ``order(data, dim, descending)`` along ``dim``, C-ordered int64:
    the descending order's reversal, its slice and the cast in one ``subtract``. With
    ``gathered``'s direct node, topk forward on [5, 5] (k 3) under grad 0.88 of its time,
    [5, 10, 5] along 1 0.82-0.84, no_grad 0.78-0.88 / 0.83 (the tree without these changes
    alternated with it in one process, thread time, medians of 21 rounds, a loaded machine;
    s23 SP10)."""
    n = data.shape[dim]
    if n >= _PARTITION_ROWS and data.size >= _PARTITION_SIZE and 0 < k * 4 <= n \
            and data.dtype.kind in "iuf" and type(data) is np.ndarray:
        return _first_by_partition(data, dim, k, descending)
    if not descending:
        order = data.argsort(axis=dim, kind="stable")
        return order[(slice(None),) * dim + (slice(0, k),)].astype(_INT64, order="C")
    backwards = (slice(None),) * dim + (slice(None, None, -1),)
    order = data[backwards].argsort(axis=dim, kind="stable")
    # (order's last k, read backwards: order(...)[:k] = n - 1 - that)
    last = (slice(None),) * dim + (slice(n - 1, n - 1 - k if k < n else None, -1),)
    return np.subtract(n - 1, order[last], dtype=_INT64, order="C")


# Rows at least this long in inputs at least this large, with k at most a quarter of a row,
# take ``_first_by_partition``: first_of_order on float32 [64, 1000] k 5 0.16 of its time, [4,
# 100000] k 10 0.10, [1000, 64] along 0 0.21, [32, 256] k 64 0.59, [4, 1024] 0.87, [16, 256]
# 0.96, [32, 128] 1.02; below: [8, 128] 3.4, [1, 1000] 2.8 (its ~30 us of NumPy calls). topk
# forward under grad on [64, 1000] k 5: 3228 -> 471 us (PyTorch 96). Thread time, alternated
# with the sort's path in one process, medians of 15-25 rounds, load ~13 (s24 SP13).
_PARTITION_ROWS = 128
_PARTITION_SIZE = 4096


def _first_by_partition(data: np.ndarray, dim: int, k: int, descending: bool) -> np.ndarray:
    # first_of_order's indices without sorting whole rows: a partition finds each row's k-th
    # value t (NaN as the largest, as the sort), the members are the elements ordered before
    # t and the earliest of those equal to t (the stable order's choice among ties), and only
    # those k per row are sorted, stably and in index order, so the indices are the full
    # sort's. (-0.0 and 0.0 compare equal in both.)
    rows = np.moveaxis(data, dim, -1)
    n = rows.shape[-1]
    at = n - k if descending else k - 1
    t = np.partition(rows, at, axis=-1)[..., at:at + 1]
    floats = rows.dtype.kind == "f"
    if descending:
        before = rows > t
        if floats:
            before |= np.isnan(rows) & ~np.isnan(t)
    else:
        before = rows < t
        if floats:
            before |= np.isnan(t) & ~np.isnan(rows)
    tied = rows == t
    if floats:
        tied |= np.isnan(rows) & np.isnan(t)
    members = before | tied
    if not (np.count_nonzero(members, axis=-1) == k).all():  # t's ties: the earliest ones
        room = k - np.count_nonzero(before, axis=-1, keepdims=True)
        members = before | (tied & (np.cumsum(tied, axis=-1) <= room))
    # (index order per row; flatnonzero, not nonzero's per-dim arrays: 310 -> 9 us on
    # [64, 1000])
    columns = (np.flatnonzero(members) % n).reshape(rows.shape[:-1] + (k,))
    picked = np.take_along_axis(rows, columns, axis=-1)
    ranked = np.take_along_axis(columns, order(picked, picked.ndim - 1, descending), axis=-1)
    return np.ascontiguousarray(np.moveaxis(ranked, -1, dim), dtype=_INT64)


def order(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along ``dim``; NaN sorts as the largest value, as in PyTorch."""
    # (the array's method, not np.argsort's Python wrapper: 1 us of a 6 us call on [5, 5, 5])
    if not descending:
        return data.argsort(axis=dim, kind="stable").astype(_INT64, copy=False)
    # Descending and stable: sort the reversed array ascending (ties then come latest-first),
    # and read that order backwards (ties come back first-first).
    # (reversed by a slice: np.flip's axis normalisation costs ~3 us a call on small inputs;
    # topk fwd + bwd on OpInfo's samples 1.04-1.17 -> 0.92-1.03 x PyTorch's time,
    # opinfo_overhead.py, alternated runs; s14 SP)
    n = data.shape[dim]
    backwards = (slice(None),) * dim + (slice(None, None, -1),)
    order = data[backwards].argsort(axis=dim, kind="stable")[backwards]
    return np.subtract(n - 1, order, dtype=_INT64)


def stable_keyword_only(function):
    """PyTorch's two forms of ``sort`` / ``argsort``: ``(input, dim=-1, descending=False)`` and
    ``(input, *, stable, dim=-1, descending=False)``: with ``stable`` given, ``dim`` and
    ``descending`` are keywords, and positional ones are PyTorch's TypeError."""

    @functools.wraps(function)
    def checked(input, *args, **kwargs):  # noqa: A002 - PyTorch's name
        if args and "stable" in kwargs:
            raise TypeError(f"{function.__name__}() received an invalid combination of "
                            f"arguments: with stable=, dim and descending are keyword-only "
                            f"(PyTorch's (*, bool stable, int dim = -1, bool descending = False) "
                            f"form); got {len(args)} positional after the input")
        return function(input, *args, **kwargs)

    return checked
