"""The keep-dims maximum and sums softmax / log_softmax (ops/reductions.py) take along a dim:
on small arrays (under ``_SMALL`` elements) the ufuncs' reductions directly or, for float32 /
float64, a product with a cached row (column) of ones, and the sums spread back along the dim
(``_spread_sum``); larger arrays take ``_reduce_keepdims``'s orders. Moved out of
ops/reductions.py (session 27, FS1) to keep it under the 800-line limit; reductions imports them
back.
"""

from __future__ import annotations

import numpy as np

from .registry import _reduce_keepdims

_SMALL = 128


def _max_keep(x, dim):  # (small inputs: the reductions directly; [3, 4] fwd + VJP 6.8 -> 4.6 us)
    if x.size < _SMALL:
        return np.maximum.reduce(x, dim, None, None, True)
    return _reduce_keepdims(np.maximum, x, dim)


def _sum_keep(x, dim):
    if x.size < _SMALL:
        return _small_sum(x, dim)
    return _reduce_keepdims(np.add, x, dim)


# A small float32 / float64 array's sums along its last axis (or a matrix's first) as a product
# with a column (row) of ones, cached by shape: one BLAS call, 0.28 against 0.62-0.68 us for the
# ufunc's reduce on [3, 4] (the same sums but for the order of the additions: the last bits
# may differ). log_softmax's forward on [3, 4]: 3.40 -> 3.0 us.
_ONES: dict = {}
_NO_PRODUCT = (None, False)


def _sum_vector(shape, dim, dtype):
    """(ones, whether they multiply from the left) for ``_small_sum``; ``_NO_PRODUCT``."""
    if len(_ONES) >= 256:
        _ONES.clear()
    if dtype != np.float32 and dtype != np.float64:
        return _NO_PRODUCT
    ndim = len(shape)
    if dim in (ndim - 1, -1):
        return np.ones((shape[dim], 1), dtype), False
    if ndim == 2 and dim in (0, -2):
        return np.ones((1, shape[0]), dtype), True
    return _NO_PRODUCT


def _spread(total, shape, dim):
    """A small reduction's result (``keepdims``) repeated along ``dim`` to ``shape``: NumPy's
    ufuncs take operands of two shapes through their broadcasting iterator, which on small
    arrays costs more than the copy; the values of the arithmetic are the same. [8, 8] / [8, 1]
    in place: 0.93 -> 0.74 us with the repeat (thread time, interleaved, in sequence with the
    ops around it: standalone timeit of one ufunc misleads here)."""
    return total.repeat(shape[dim], dim)


def _small_sum(x, dim):
    """``np.add.reduce(x, dim, keepdims=True)`` for ``x`` of under ``_SMALL`` elements."""
    key = (x.shape, dim, x.dtype)
    entry = _ONES.get(key)
    if entry is None:
        entry = _ONES[key] = _sum_vector(*key)
    ones, left = entry
    if ones is None:
        return np.add.reduce(x, dim, None, None, True)
    return ones.dot(x) if left else x.dot(ones)


# The sums spread back along ``dim`` by a second product, with a row (column) of ones: a GEMM
# over one term, exact, so every entry along ``dim`` holds its row's one sum. (Session 21's one
# product with a square matrix of ones did not: BLAS's entries of a row differ in the last bit
# under OPENBLAS_CORETYPE=Haswell along e.g. [5] and [5, 9], so softmax of equal inputs gave
# unequal outputs, PyTorch's are equal.) Softmax's forward + VJP on [8, 8] float32: 6.97 ->
# 7.58 us (the sums repeated: 7.80; thread time, medians of 21 alternated, one thread; s26 EN1).
_SPREAD_ONES: dict = {}


def _spread_sum(x, dim):
    """``np.add.reduce(x, dim, keepdims=True)`` broadcast to ``x.shape`` (a new array), for
    ``x`` of under ``_SMALL`` elements: every entry along ``dim`` holds the same bits."""
    key = (x.shape, dim, x.dtype)
    entry = _SPREAD_ONES.get(key)
    if entry is None:
        if len(_SPREAD_ONES) >= 256:
            _SPREAD_ONES.clear()
        ones, left = _sum_vector(*key)  # (spread by its transpose)
        entry = _SPREAD_ONES[key] = ones, None if ones is None else ones.T.copy(), left
    ones, spread, left = entry
    if ones is None:
        return _spread(np.add.reduce(x, dim, None, None, True), x.shape, dim)
    return spread.dot(ones.dot(x)) if left else x.dot(ones).dot(spread)
