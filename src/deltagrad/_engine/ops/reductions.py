"""Reductions over dims (sum, mean, amax, logsumexp) and softmax along a dim."""

from __future__ import annotations

import numpy as np

from .registry import Sample, _axis, _count, _float, _keep, _reduce_samples, register


def _sum_vjp(F, g, out, x, *, dim=None, keepdim=False):
    return (F.expand(_keep(g, x.ndim, dim, keepdim), x.shape),)


register("sum", forward=lambda x, *, dim=None, keepdim=False: np.sum(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_sum_vjp, samples=_reduce_samples())


def _mean_vjp(F, g, out, x, *, dim=None, keepdim=False):
    n = _count(x.shape, dim)
    return (F.expand(_keep(g, x.ndim, dim, keepdim) * (1.0 / n), x.shape),)


register("mean", forward=lambda x, *, dim=None, keepdim=False: np.mean(
    _float(x), axis=_axis(dim), keepdims=keepdim), vjp=_mean_vjp, samples=_reduce_samples())


def _extreme_vjp(F, g, out, x, *, dim=None, keepdim=False):
    # NOTE: ties split the gradient evenly among the tied maxima (PyTorch's amax/amin, and its
    # max()/min() without dim). max(dim=...) instead routes to the returned index: see gather.
    out_k = F.data(_keep(out, x.ndim, dim, keepdim))
    mask = (F.data(x) == out_k)
    share = mask / np.sum(mask, axis=_axis(dim), keepdims=True)
    return (_keep(g, x.ndim, dim, keepdim) * F.const(share.astype(F.data(x).dtype)),)


def _tie_extra(rng):
    return [Sample((np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]),), {"dim": 1, "keepdim": False},
                   "tie", second_order=False)]


register("amax", forward=lambda x, *, dim=None, keepdim=False: np.amax(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))
register("amin", forward=lambda x, *, dim=None, keepdim=False: np.amin(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))


def _logsumexp_forward(x, *, dim=None, keepdim=False):
    x = _float(x)
    axis = _axis(dim)
    m = np.amax(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # NOTE: all -inf rows give -inf, not nan
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=axis)


def _logsumexp_vjp(F, g, out, x, *, dim=None, keepdim=False):
    out_k = _keep(out, x.ndim, dim, keepdim)
    return (_keep(g, x.ndim, dim, keepdim) * F.exp(x - out_k),)


register("logsumexp", forward=_logsumexp_forward, vjp=_logsumexp_vjp,
         samples=_reduce_samples())


def _softmax_forward(x, *, dim):
    x = _float(x)
    e = np.exp(x - np.amax(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _softmax_vjp(F, g, out, x, *, dim):
    # J^T g = out * (g - <g, out>) along dim.
    return (out * (g - F.sum(g * out, dim, True)),)


def _softmax_samples(rng):
    return [Sample((rng.standard_normal((5,)),), {"dim": 0}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0}),
            Sample((rng.standard_normal((2, 3, 4)),), {"dim": -1})]


register("softmax", forward=_softmax_forward, vjp=_softmax_vjp, samples=_softmax_samples)


def _log_softmax_forward(x, *, dim):
    x = _float(x)
    shifted = x - np.amax(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def _log_softmax_vjp(F, g, out, x, *, dim):
    return (g - F.exp(out) * F.sum(g, dim, True),)


register("log_softmax", forward=_log_softmax_forward, vjp=_log_softmax_vjp,
         samples=_softmax_samples)
