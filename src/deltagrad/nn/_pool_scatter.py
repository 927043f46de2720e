"""Gather and scatter over the flattened spatial dims, as differentiable ``Function``s: max
pooling's recorded backward and max unpooling put values back at their flat positions
(``_Put``), whose adjoint is a gather (``_Take``). Kept apart from ``pooling2d.py`` (which
imports them back) for its length.
"""

from __future__ import annotations

import numpy as np

from .._engine.api.creation import from_numpy
from ..autograd import Function
from ._pool_kernels import _put
from .fold2d import _rows


class _Take(Function):
    """y[n, c, i] = x[n, c, index[n, c, i]], the spatial dims flattened."""

    @staticmethod
    def forward(ctx, x, *, index, unique):
        ctx.index, ctx.shape, ctx.unique = index, tuple(x.shape), unique
        taken = np.take_along_axis(_rows(x.numpy()), _rows(index), axis=2)
        return from_numpy(taken.reshape(index.shape))

    @staticmethod
    def backward(ctx, g):
        # A sum where positions repeat, whatever ``unique`` says: max_unpool's _Put keeps one
        # of repeated positions (accumulate=False) but its gradient gathers at each, so the
        # gather's adjoint adds them (max_unpool's double backward was wrong, s15 HG).
        return _Put.apply(g, index=ctx.index, shape=ctx.shape, accumulate=True)


class _Put(Function):
    """y = zeros(shape); y[n, c, index[n, c, i]] = x[n, c, i] (summed where positions repeat,
    when ``accumulate``; otherwise one of them is kept)."""

    @staticmethod
    def forward(ctx, x, *, index, shape, accumulate):
        ctx.index, ctx.unique, ctx.shape = index, not accumulate, shape
        return from_numpy(_put(x.numpy(), index, shape, accumulate))

    @staticmethod
    def backward(ctx, g):
        return _Take.apply(g, index=ctx.index, unique=ctx.unique)

    @staticmethod
    def jvp(ctx, tangent):
        # Linear: the tangent put at the same positions (forward AD of max_unpool)
        return from_numpy(_put(tangent.numpy(), ctx.index, ctx.shape, not ctx.unique))
