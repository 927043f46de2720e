"""float16 adaptive average pooling in PyTorch's CPU roundings (``adaptive_avg_pool2d`` /
``3d`` where the output is not 1 x 1: global pooling is a mean, which already matches).

Found by experiment against PyTorch 2.13 (tests/parity/test_s24_HK_half.py): the 2-d forward
is each window's float32 sum divided by each window extent in turn (``sum / kh / kw``), rounded
once; the 3-d one sums the window in float16 (d, h, w order, each addition rounded) and
divides in float16 (``/ kd / kh / kw``, each rounded); the backward spreads ``g / kh / kw``,
each division rounded to float16, over the window, added into the float16 gradient one output
position at a time (row-major), each addition rounded. deltagrad's float32 averaging matrices
rounded once had 1.7% of the outputs and ~29% of the input gradient an ulp off. Two ops,
each the other's adjoint, so a recorded backward (``create_graph``) differentiates too.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._engine import versions
from .._engine.ops import ARRAY, Op
from .._engine.tensor import apply
from .fold2d import _sum_down

HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)


def _windows(size: tuple, out: tuple):
    """Each output position and its window's slices (PyTorch's adaptive bounds)."""
    ranges = [[(i * n // m, -(-(i + 1) * n // m)) for i in range(m)] for n, m in zip(size, out)]
    for index in itertools.product(*(range(m) for m in out)):
        yield index, tuple(slice(*ranges[d][i]) for d, i in enumerate(index))


def _pool(xs, *, size, out):
    y = np.empty(xs.shape[:2] + tuple(out), HALF)
    axes = tuple(range(2, 2 + len(out)))
    steps = len(out) == 3  # (3-d: summed and divided in float16 steps)
    for index, window in _windows(size, out):
        block = xs[(Ellipsis,) + window]
        if steps:
            rows = block.reshape(block.shape[0] * block.shape[1], -1).T
            total = _sum_down(rows).reshape(block.shape[:2]) if rows.size else 0
        else:
            total = block.sum(axis=axes, dtype=_SINGLE)
        for part in window:
            total = total / total.dtype.type(part.stop - part.start)
        y[(Ellipsis,) + index] = total
    return y


def _spread(g, *, size, out):
    dx = np.zeros(g.shape[:2] + tuple(size), HALF)
    extra = (None,) * len(out)
    for index, window in _windows(size, out):
        delta = g[(Ellipsis,) + index]
        for part in window:  # (float16 divisions, each rounded)
            delta = delta / HALF.type(part.stop - part.start)
        dx[(Ellipsis,) + window] += delta[(Ellipsis,) + extra]
    return dx


def _pool_vjp(F, g, y, x, *, size, out, needs):
    if F is not ARRAY:
        return (apply(_SPREAD, g, size=size, out=out),)
    return (_spread(g, size=size, out=out),)


def _spread_vjp(F, g, y, x, *, size, out, needs):
    if F is not ARRAY:
        return (apply(_POOL, g, size=size, out=out),)
    return (_pool(g, size=size, out=out),)


_POOL = Op("_AdaptiveAvgHalf", _pool, _pool_vjp, lambda rng: [], True, True)
_SPREAD = Op("_AdaptiveAvgHalfBackward", _spread, _spread_vjp, lambda rng: [], True, True)
for _op in (_POOL, _SPREAD):
    versions._reads_of[_op] = (False, (False,), False)  # (linear: reads neither)


def adaptive_avg(x, size: tuple, out: tuple):
    """The float16 pool of ``x`` ``[N, C, *size]`` to ``out``."""
    return apply(_POOL, x, size=tuple(size), out=tuple(out))
