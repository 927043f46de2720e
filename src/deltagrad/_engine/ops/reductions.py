"""Reductions over dims (sum, mean, prod, var, std, amax, logsumexp, vector norm, singular
values) and softmax / log_softmax along a dim."""

from __future__ import annotations

import math

import numpy as np

from .registry import (
    ARRAY,
    Sample,
    _axis,
    _count,
    _float,
    _keep,
    _reduce_keepdims,
    _reduce_samples,
    register,
)


def _integral(x) -> bool:
    return x.dtype.kind in "biu"


def _flip(ndim, dim):
    """The basic index that reverses an array along ``dim``."""
    return (slice(None),) * dim + (slice(None, None, -1),)


def _along(ndim, dim, item):
    """The basic index that takes ``item`` (a slice) along ``dim``."""
    return (slice(None),) * dim + (item,)


def _sum_forward(x, *, dim=None, keepdim=False):
    if x.dtype.kind in "biu":  # integers and booleans sum to int64, as in PyTorch
        return np.sum(x, axis=_axis(dim), keepdims=keepdim, dtype=np.int64)
    # np.sum's own dispatch costs more than the sum of a small array: 0.8 against 3.3 us on
    # 8 x 8 (the same reduction, so the same values).
    return np.add.reduce(x, axis=_axis(dim), keepdims=keepdim)


def _sum_vjp(F, g, out, x, *, dim=None, keepdim=False):
    return (F.expand(_keep(g, x.ndim, dim, keepdim), x.shape),)


register("sum", forward=_sum_forward, vjp=_sum_vjp, samples=_reduce_samples())


def _mean_vjp(F, g, out, x, *, dim=None, keepdim=False):
    n = _count(x.shape, dim)
    return (F.expand(_keep(g, x.ndim, dim, keepdim) * (1.0 / n if n else math.nan), x.shape),)


def _mean_forward(x, *, dim=None, keepdim=False):
    x = _float(x)
    if x.size == 0:  # the mean of nothing is nan (and NumPy would warn)
        total = np.sum(x, axis=_axis(dim), keepdims=keepdim)
        return np.full(total.shape, np.nan, dtype=total.dtype)
    if x.dtype.itemsize < 4:  # float16 sums in float32, as np.mean does
        return np.mean(x, axis=_axis(dim), keepdims=keepdim)
    # np.mean's steps without its Python wrappers (9.8 against 2.3 us on 8 x 8): the sum, then
    # a division by the count as an intp, as np.mean divides, so the values are the same.
    total = np.add.reduce(x, axis=_axis(dim), keepdims=keepdim)
    count = np.intp(_count(x.shape, dim))
    if type(total) is np.ndarray:
        return np.true_divide(total, count, out=total, casting="unsafe")
    return total.dtype.type(total / count)


register("mean", forward=_mean_forward, vjp=_mean_vjp, samples=_reduce_samples())


# --------------------------------------------------------------------------------------------
# prod: the gradient is the product of the *other* elements, computed from two exclusive
# cumulative products so that zeros are exact (no division by x).


def _prod_forward(x, *, dim=None, keepdim=False):
    return np.prod(x, axis=dim, keepdims=keepdim, dtype=np.int64 if _integral(x) else None)


def _exclusive_cumprod(F, x, dim, reverse):
    """Products of the elements strictly before (after, when ``reverse``) each position."""
    n, ndim = x.shape[dim], x.ndim
    if reverse:
        x = F.getitem(x, _flip(ndim, dim))
    ones_shape = x.shape[:dim] + (1,) + x.shape[dim + 1:]
    ones = F.const(np.ones(ones_shape, dtype=F.data(x).dtype))
    shifted = F.concatenate([ones, F.getitem(x, _along(ndim, dim, slice(0, n - 1)))], dim)
    out = F.op("cumprod", shifted, dim=dim)
    return F.getitem(out, _flip(ndim, dim)) if reverse else out


def _prod_vjp(F, g, out, x, *, dim=None, keepdim=False):
    if math.prod(x.shape) == 0:
        return (F.zeros_like(x),)
    if not np.any(F.data(x) == 0):
        # NOTE: without zeros, out / x (as PyTorch, so a NaN spreads to its whole slice).
        return (_keep(g, x.ndim, dim, keepdim) * _keep(out, x.ndim, dim, keepdim) / x,)
    flat = F.reshape(x, (math.prod(x.shape),)) if dim is None else x
    axis = 0 if dim is None else dim
    others = _exclusive_cumprod(F, flat, axis, False) * _exclusive_cumprod(F, flat, axis, True)
    if dim is None:
        others = F.reshape(others, x.shape)
    return (_keep(g, x.ndim, dim, keepdim) * others,)


def _prod_samples(rng):
    with_zero = rng.standard_normal((3, 4))
    with_zero[1, 2] = 0.0
    two_zeros = rng.standard_normal((2, 5))
    two_zeros[0, 1] = two_zeros[0, 3] = 0.0
    return [
        Sample((rng.standard_normal(()),), {"dim": None, "keepdim": False}),
        Sample((rng.standard_normal((5,)),), {"dim": None, "keepdim": False}),
        Sample((rng.standard_normal((3, 4)),), {"dim": 1, "keepdim": False}),
        Sample((rng.standard_normal((2, 3, 4)),), {"dim": 0, "keepdim": True}),
        Sample((with_zero,), {"dim": 1, "keepdim": False}, "a zero"),
        Sample((with_zero,), {"dim": None, "keepdim": False}, "a zero, all dims"),
        Sample((two_zeros,), {"dim": 1, "keepdim": True}, "two zeros"),
    ]


register("prod", forward=_prod_forward, vjp=_prod_vjp, samples=_prod_samples)


# --------------------------------------------------------------------------------------------
# var and std with Bessel's correction (``correction``): primitives, so that std's gradient is
# 0 where std is 0 (PyTorch's rule) rather than 0 * inf.


def _denominator(shape, dim, correction):
    return max(0, _count(shape, dim) - correction)


def _var_forward(x, *, dim=None, correction=1, keepdim=False):
    axis = _axis(dim)
    if x.size == 0:
        mean = np.full(np.sum(x, axis=axis, keepdims=True).shape, np.nan, dtype=x.dtype)
    else:
        mean = _mean_forward(x, dim=dim, keepdim=True)  # (np.mean's values, less dispatch)
    centred = x - mean
    centred *= centred
    total = np.add.reduce(centred, axis=axis, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / _denominator(x.shape, dim, correction)


def _centred(F, x, dim):
    n = _count(x.shape, dim)
    return x - F.sum(x, _axis(dim), True) * (1.0 / n) if n else x


def _var_vjp(F, g, out, x, *, dim=None, correction=1, keepdim=False):
    # NOTE: PyTorch's rule divides by N - correction unclamped (the forward clamps it at 0), so
    # a correction above N gives a finite gradient and N == correction an infinite one.
    denominator = _count(x.shape, dim) - correction
    scale = 2.0 / denominator if denominator else math.inf
    with np.errstate(invalid="ignore"):  # inf * 0: the nan PyTorch gives too
        return (_keep(g, x.ndim, dim, keepdim) * _centred(F, x, dim) * scale,)


def _std_forward(x, *, dim=None, correction=1, keepdim=False):
    return np.sqrt(_var_forward(x, dim=dim, correction=correction, keepdim=keepdim))


def _std_vjp(F, g, out, x, *, dim=None, correction=1, keepdim=False):
    denominator = _denominator(x.shape, dim, correction)
    out_k = _keep(out, x.ndim, dim, keepdim)
    zero = F.data(out_k) == 0
    # NOTE: where std is 0 the gradient is 0 (a subgradient), as in PyTorch; the safe divisor
    # keeps the masked branch finite so that double backward stays finite too.
    safe = F.where(zero, 1.0, out_k)
    scale = 1.0 / denominator if denominator else math.inf
    with np.errstate(invalid="ignore"):
        grad = _keep(g, x.ndim, dim, keepdim) * _centred(F, x, dim) / safe * scale
    return (F.where(zero, 0.0, grad),)


def _var_samples(rng):
    x3 = rng.standard_normal((2, 3, 4))
    return [
        Sample((rng.standard_normal((5,)),), {"dim": None, "correction": 1, "keepdim": False}),
        Sample((rng.standard_normal((3, 4)),), {"dim": (1,), "correction": 0, "keepdim": False}),
        Sample((rng.standard_normal((3, 4)),), {"dim": (0,), "correction": 1, "keepdim": True}),
        Sample((x3,), {"dim": (0, 2), "correction": 2, "keepdim": False}),
        Sample((x3,), {"dim": None, "correction": 0.5, "keepdim": True}),
    ]


register("var", forward=_var_forward, vjp=_var_vjp, samples=_var_samples)
register("std", forward=_std_forward, vjp=_std_vjp, samples=_var_samples)


# --------------------------------------------------------------------------------------------
# amax / amin.


def _extreme_vjp(F, g, out, x, *, dim=None, keepdim=False, share_nan=False):
    # NOTE: ties split the gradient evenly among the tied extremes (PyTorch's amax/amin, and its
    # max()/min() without dim). A NaN extreme: amax/amin give the slice a NaN gradient, as
    # PyTorch's do; with share_nan (max() / min() / median() of all elements) the NaNs share it.
    # max(dim=...) instead routes to the returned index: see gather.
    xd = F.data(x)
    out_k = F.data(_keep(out, x.ndim, dim, keepdim))
    mask = xd == out_k
    if share_nan:
        mask = mask | (np.isnan(xd) & np.isnan(out_k))
    # The share in the input's dtype directly: the count of ties is exact there, and a
    # quotient rounded once to float32 equals the float64 one rounded (amax fwd + bwd, 0-d:
    # the NumPy calls 9 -> 5). A nan result has no tie (0 / 0: its nan share).
    work = xd.dtype if xd.dtype.itemsize >= 4 else np.dtype(np.float32)  # (exact counts)
    counts = np.add.reduce(mask, axis=_axis(dim), keepdims=True, dtype=work)
    if np.ndim(out) == 0 and not math.isnan(out):
        share = np.divide(mask, counts, dtype=work)
    else:
        with np.errstate(invalid="ignore"):
            share = np.divide(mask, counts, dtype=work)
    return (_keep(g, x.ndim, dim, keepdim) * F.const(share.astype(xd.dtype, copy=False)),)


def _tie_extra(rng):
    return [Sample((np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]),), {"dim": 1, "keepdim": False},
                   "tie", second_order=False),
            Sample((np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]]),), {"share_nan": True},
                   "tie, all dims", second_order=False)]


register("amax", forward=lambda x, *, dim=None, keepdim=False, share_nan=False: np.amax(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))
register("amin", forward=lambda x, *, dim=None, keepdim=False, share_nan=False: np.amin(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))


# --------------------------------------------------------------------------------------------
# logsumexp, softmax, log_softmax.


def _real(x):
    """Integer or boolean input to a floating op computes in float64 and the Tensor layer gives
    the default dtype, as in PyTorch."""
    return x.astype(np.float64) if _integral(x) else x


def _logsumexp_forward(x, *, dim=None, keepdim=False):
    x = _real(x)
    axis = _axis(dim)
    if x.size == 0:
        with np.errstate(divide="ignore"):  # the log of an empty sum is -inf
            return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdim))
    m = np.amax(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # NOTE: all -inf rows give -inf, not nan
    with np.errstate(divide="ignore"):
        out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=axis)


def _logsumexp_vjp(F, g, out, x, *, dim=None, keepdim=False):
    out_k = _keep(out, x.ndim, dim, keepdim)
    return (_keep(g, x.ndim, dim, keepdim) * F.exp(x - out_k),)


register("logsumexp", forward=_logsumexp_forward, vjp=_logsumexp_vjp,
         samples=_reduce_samples())


# softmax and log_softmax compute in place, with the ufuncs' own reductions (np.amax and np.sum
# dispatch in Python): softmax's forward on 8 x 8 15.4 -> 11.1 us (paired, on a loaded 2-core
# machine), the same values. Over a short last axis with many rows the reductions take
# _reduce_keepdims's faster orders (W4's attention scores [32, 4, 32, 32]: max 369 -> 167 us,
# sum 82 -> 14 us; a sum's last bit may differ).


def _softmax_forward(x, *, dim):
    x = _real(x)
    if x.size == 0:
        return x.copy()
    e = x - _reduce_keepdims(np.maximum, x, dim)
    np.exp(e, out=e)
    e /= _reduce_keepdims(np.add, e, dim)
    return e


def _softmax_vjp(F, g, out, x, *, dim):
    # J^T g = out * (g - <g, out>) along dim.
    if F is ARRAY and type(g) is np.ndarray:
        t = g * out
        np.subtract(g, _reduce_keepdims(np.add, t, dim), out=t)
        t *= out
        return (t,)
    return (out * (g - F.sum(g * out, dim, True)),)


def _softmax_samples(rng):
    return [Sample((rng.standard_normal((5,)),), {"dim": 0}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0}),
            Sample((rng.standard_normal((2, 3, 4)),), {"dim": -1})]


register("softmax", forward=_softmax_forward, vjp=_softmax_vjp, samples=_softmax_samples)


def _log_softmax_forward(x, *, dim):
    x = _real(x)
    if x.size == 0:
        return x.copy()
    shifted = x - _reduce_keepdims(np.maximum, x, dim)
    shifted -= np.log(_reduce_keepdims(np.add, np.exp(shifted), dim))
    return shifted


def _log_softmax_vjp(F, g, out, x, *, dim):
    if F is ARRAY and type(g) is np.ndarray:
        e = np.exp(out)
        e *= _reduce_keepdims(np.add, g, dim)
        return (np.subtract(g, e, out=e),)
    return (g - F.exp(out) * F.sum(g, dim, True),)


register("log_softmax", forward=_log_softmax_forward, vjp=_log_softmax_vjp,
         samples=_softmax_samples)


# --------------------------------------------------------------------------------------------
# Vector p-norms (linalg.vector_norm) over dims.


def _vector_norm_forward(x, *, ord=2.0, dim=None, keepdim=False):  # noqa: A002 - torch's name
    axis = _axis(dim)
    a = np.abs(x)
    if ord == 0:
        return np.sum(x != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    # (the ufuncs' reductions: np.sum / np.amax add 2 to 3 us of dispatch on small arrays)
    if ord == math.inf:
        return np.maximum.reduce(a, axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return np.minimum.reduce(a, axis=axis, keepdims=keepdim)
    if ord == 1:
        return np.add.reduce(a, axis=axis, keepdims=keepdim)
    if ord == 2:
        return np.sqrt(np.add.reduce(a * a, axis=axis, keepdims=keepdim))
    with np.errstate(divide="ignore"):
        return np.add.reduce(a ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)


def _vector_norm_vjp(F, g, out, x, *, ord=2.0, dim=None, keepdim=False):  # noqa: A002
    xd = F.data(x)
    g_k = _keep(g, x.ndim, dim, keepdim)
    if ord == 0:
        return (F.zeros_like(x),)
    out_k = _keep(out, x.ndim, dim, keepdim)
    od = F.data(out_k)
    if ord == 2 and F is ARRAY and not np.logical_or.reduce(od == 0, axis=None):
        return (g_k * x / out_k,)  # no zero norm: the rule below without its masks
    sign = F.const(np.sign(xd))
    if ord == 1:
        return (g_k * sign,)
    if ord in (math.inf, -math.inf):
        # NOTE: ties in |x| share the gradient evenly, as amax does.
        mask = np.abs(xd) == od
        share = mask / np.maximum(np.sum(mask, axis=_axis(dim), keepdims=True), 1)
        return (g_k * sign * F.const(share.astype(xd.dtype)),)
    # NOTE: a zero norm (or, for p < 1, a zero element) has gradient 0, as in PyTorch; the safe
    # operands keep the masked branch finite.
    safe_out = F.where(od == 0, 1.0, out_k)
    if ord == 2:
        return (F.where(od == 0, 0.0, g_k * x / safe_out),)
    zero = (od == 0) | (xd == 0)
    if F is ARRAY and not np.logical_or.reduce(zero, axis=None):
        # No zero anywhere: the rule below without its masks (the same values).
        return (g_k * sign * F.op("pow_scalar", x * sign / out_k, exponent=ord - 1),)
    safe_abs = F.where(xd == 0, 1.0, x * sign)
    ratio = F.op("pow_scalar", safe_abs / safe_out, exponent=ord - 1)
    return (F.where(zero, 0.0, g_k * sign * ratio),)


def _vector_norm_samples(rng):
    out = []
    for order in (2.0, 1.0, 3.0, 0.5, -1.0, math.inf, -math.inf, 0.0):
        x = rng.uniform(0.3, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
        out.append(Sample((x,), {"ord": order, "dim": (1,), "keepdim": False}, f"ord {order}",
                          second_order=order not in (1.0, 0.0, math.inf, -math.inf)))
    out.append(Sample((rng.standard_normal((2, 3, 2)),), {"ord": 2.0, "dim": None,
                                                           "keepdim": True}))
    out.append(Sample((rng.standard_normal((2, 3, 2)),), {"ord": 3.0, "dim": (0, 2),
                                                           "keepdim": False}))
    return out


register("vector_norm", forward=_vector_norm_forward, vjp=_vector_norm_vjp,
         samples=_vector_norm_samples)


# --------------------------------------------------------------------------------------------
# Singular values of (batches of) matrices, for the spectral and nuclear matrix norms.


def _svdvals_vjp(F, g, out, x):
    if type(g) is not np.ndarray:
        raise NotImplementedError("svdvals: double backward (create_graph=True) through singular "
                                  "values is not implemented")
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    # d sigma_i = u_i^T dA v_i, so the gradient is U diag(g) V^T.
    return ((u * g[..., None, :]) @ vh,)


def _svdvals_samples(rng):
    return [Sample((rng.standard_normal((3, 4)),), second_order=False),
            Sample((rng.standard_normal((4, 2)),), second_order=False),
            Sample((rng.standard_normal((2, 3, 3)),), second_order=False)]


register("svdvals", forward=lambda x: np.linalg.svd(x, compute_uv=False), vjp=_svdvals_vjp,
         samples=_svdvals_samples)
