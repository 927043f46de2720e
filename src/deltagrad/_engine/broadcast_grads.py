"""Gradients summed back to their inputs' shapes (where broadcast) and cast to their dtypes.

The engine's one place for this (the VJP rules return gradients of the result's shape):
``_reduce_to`` with its cached plans, ``_fit`` and ``_cast``. Split out of ``autograd``, which
re-exports these names (the sweep, ``capture`` and ``check_graph`` use them).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ShapeError
from .ops import ARRAY
from .ops import shape as _shape_ops

_ndarray = np.ndarray
_HALF = np.dtype(np.float16)


def _reduce_plan(g_shape, shape, dtype, op_name):
    """How ``_reduce_to`` sums a gradient of ``g_shape`` and ``dtype`` back to ``shape``, or a
    ShapeError naming ``op_name`` when it does not broadcast there.

    Returns ``(mode, ones, matrix, axes, keepdims, final)``: ``axes`` and ``keepdims`` for
    ``np.add.reduce`` (mode ``_REDUCE``); for ``_ROWS`` / ``_COLUMNS`` (the summed axes are the
    leading / the trailing ones) a vector of ones to multiply the gradient, reshaped to
    ``matrix`` unless that is None, with; ``final`` the shape to reshape the sum to, or None.
    """
    lead = len(g_shape) - len(shape)
    if lead < 0:
        raise ShapeError(
            f"{op_name}: gradient of shape {tuple(g_shape)} cannot be reduced to the input shape "
            f"{tuple(shape)}"
        )
    inner = []
    for i, n in enumerate(shape):
        m = g_shape[lead + i]
        if m != n:
            if n != 1:
                raise ShapeError(
                    f"{op_name}: its VJP rule produced a gradient of shape {tuple(g_shape)}, "
                    f"which does not broadcast to the input shape {tuple(shape)}"
                )
            inner.append(lead + i)
    # Leading axes alone: summed without keepdims the result already has ``shape``.
    axes = tuple(range(lead)) + tuple(inner)
    keepdims = bool(inner)
    count = math.prod(g_shape[i] for i in axes)
    mode, ones, matrix = _REDUCE, None, None
    if axes and dtype in _BLAS and math.prod(g_shape) <= _DOT_MAX:
        rest = math.prod(n for i, n in enumerate(g_shape) if i not in axes)
        if axes == tuple(range(len(axes))):
            mode, matrix = _ROWS, (count, rest)
        elif axes == tuple(range(len(g_shape) - len(axes), len(g_shape))):
            mode, matrix = _COLUMNS, (rest, count)
        if mode:
            ones = np.ones(count, dtype)
            if mode == _COLUMNS and tuple(shape) == (rest, 1):
                # (a keepdim gradient, [8, 8] -> [8, 1]: a column of ones gives that shape
                # without the reshape, 0.46 -> 0.30 us)
                ones = ones.reshape(count, 1)
            ones.flags.writeable = False
            if tuple(g_shape) == matrix:
                matrix = None
    if mode == _ROWS:
        summed = (rest,)
    elif mode == _COLUMNS:
        summed = (rest,) if ones.ndim == 1 else (rest, 1)
    else:
        summed = tuple(1 if i in axes else n for i, n in enumerate(g_shape)
                       if keepdims or i not in axes)
    return mode, ones, matrix, axes, keepdims, None if summed == tuple(shape) else shape


_REDUCE, _ROWS, _COLUMNS = 0, 1, 2
_plans: dict = {}  # (gradient shape, input shape, dtype) -> _reduce_plan's result
_dots: dict = {}  # the same keys -> the one product with ones, where that is the whole plan
_PLANS_MAX = 4096  # shapes seen; cleared when full (programs with ever-new shapes)
_BLAS = (np.dtype(np.float32), np.dtype(np.float64))
_DOT_MAX = 16384  # elements: above, np.add.reduce's own cost no longer matters


def _reduce_to(F, g, shape, op_name):
    """Sum a broadcast gradient back to ``shape`` (the engine's one place for this).

    The way is worked out once per shapes and dtype (``_reduce_plan``). On small float32 /
    float64 arrays the sum over the leading axes (a bias's gradient) or the trailing ones
    (``keepdim`` reductions broadcast back) is one product with a vector of ones, a BLAS call
    (0.33 against 0.72 us for ``np.add.reduce`` on [8, 8]): this function on [8, 8] -> [8]
    0.55 against 0.89 us, -> [8, 1] 0.71 against 1.36 (W2-model sums 80 gradients a step);
    BLAS adds in its own order, so the last bit may differ from NumPy's pairwise sum. Other
    arrays take one ``np.add.reduce``.
    """
    key = (g.shape, shape, g.dtype)
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) >= _PLANS_MAX:
            _plans.clear()
            _dots.clear()
        plan = _plans[key] = _reduce_plan(key[0], shape, key[2], op_name)
        if plan[0] and plan[2] is None and plan[5] is None:  # the product alone, which the
            ones = plan[1]  # sweep calls directly: W2-model's 80 a step, its backward 0.99
            # of its time (0.97 of the sweep's own; A/B in one process, rules stubbed for it)
            _dots[key] = ones.dot if plan[0] == _ROWS else (lambda g: g.dot(ones))
    mode, ones, matrix, axes, keepdims, final = plan
    if F is ARRAY and type(g) is _ndarray:
        if mode == _ROWS:
            g = ones.dot(g if matrix is None else g.reshape(matrix))
        elif mode == _COLUMNS:
            g = (g if matrix is None else g.reshape(matrix)).dot(ones)
        elif axes:
            if g.dtype.kind == "V" or g.dtype is _HALF:
                # bfloat16 (ml_dtypes' kind "V") and float16: summed in float32 and rounded
                # once, as PyTorch's sum_to; NumPy's loop adds row after row in the narrow
                # type (a [512, 16] bias gradient was off by up to 4 ulps: PG, s18)
                g = np.add.reduce(g, axis=axes, dtype=np.float32,
                                  keepdims=keepdims).astype(g.dtype)
            else:
                g = np.add.reduce(g, axis=axes, keepdims=keepdims)
        return g if final is None else g.reshape(final)
    if axes:
        g = F.sum(g, axes, keepdims)
    return g if tuple(g.shape) == tuple(shape) else F.reshape(g, shape)


_shape_ops._REDUCE_TO.append(_reduce_to)  # (repeat's backward sums with it: ops/shape.py)


def _fit(gx, data, op_name):
    """A gradient summed back to its input's shape (where broadcast) and cast to its dtype."""
    if gx.shape != data.shape:
        gx = _reduce_to(ARRAY, gx, data.shape, op_name)
    if gx.dtype is not data.dtype and gx.dtype != data.dtype:
        gx = _cast(gx, data.dtype)
    return gx


def _cast(g, dtype):
    """``g`` in ``dtype``; a complex gradient of a real input gives its real part (PyTorch's
    convention), without NumPy's warning about discarding the imaginary part."""
    return (g.real if g.dtype.kind == "c" and dtype.kind != "c" else g).astype(dtype)
