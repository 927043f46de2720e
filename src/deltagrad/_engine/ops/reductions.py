"""Reductions over dims (sum, mean, prod, var, std, amax, logsumexp, vector norm) and softmax /
log_softmax along a dim (singular values: see linalg).

The rules take a fast path on the first-order (``ARRAY``) path where it leaves out NumPy calls
(every call costs 0.2 to 0.8 us on the small arrays where the engine's overhead shows): the
ufuncs' own ``reduce`` / ``accumulate`` instead of ``np.sum`` / ``np.amax`` / ``np.prod`` (1 to
1.5 us of Python dispatch each), ``np.count_nonzero`` (0.26 us) instead of ``np.any`` (2.4 us)
to find zeros, no ``np.errstate`` (0.6 us to enter) where nothing can warn, and in-place
arithmetic on the rule's own temporaries. The general rules below each fast path are the ones
the Tensor namespace records for double backward.
"""

from __future__ import annotations

import math

import numpy as np

from .. import threads
from .elementwise import quiet  # (silences NumPy's warnings where the nan / inf is PyTorch's)
from .half import (
    HALF,
    half_forward,
    half_log_softmax,
    half_logsumexp,
    half_prod,
    half_softmax,
    half_std_grad,
    half_var_grad,
    half_vjp,
)
from .long_sums import add_reduce, half_mean  # (float32 sums along a long dim, pairwise)
from .registry import (
    _EXPAND_COPY_MAX,
    ARRAY,
    Sample,
    _axis,
    _float,
    _reduce_samples,
    c_order,
    ones_column,
    register,
)
from .small_sums import (  # (moved out: session 27, FS1)
    _SMALL,
    _max_keep,
    _small_sum,
    _spread,
    _spread_sum,
    _sum_keep,
)

_ndarray = np.ndarray


def _integral(x) -> bool:
    return x.dtype.kind in "biu"


def _flip(ndim, dim):
    """The basic index that reverses an array along ``dim``."""
    return (slice(None),) * dim + (slice(None, None, -1),)


def _along(ndim, dim, item):
    """The basic index that takes ``item`` (a slice) along ``dim``."""
    return (slice(None),) * dim + (item,)


def _count(shape, dim):
    """How many elements each result of a reduction over ``dim`` (None: all) combines."""
    if dim is None:
        return math.prod(shape)
    if type(dim) is int:  # (registry's _count makes a generator: 0.5 against 0.1 us)
        return shape[dim]
    n = 1
    for d in dim:
        n *= shape[d]
    return n


_KEPT: dict = {}  # (gradient shape, dims, input ndim) -> the shape with the reduced dims put back


def _keep(g, x_ndim, dim, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input again (registry's
    ``_keep``, with the shape for a tuple of dims worked out once: 0.7 against 0.25 us)."""
    if keepdim or dim is None:
        return g  # already broadcastable (a full reduction without keepdim is a scalar)
    shape = g.shape
    if type(dim) is int:
        d = dim % x_ndim
        return g.reshape(tuple(shape[:d]) + (1,) + tuple(shape[d:]))
    key = (tuple(shape), tuple(dim), x_ndim)
    kept = _KEPT.get(key)
    if kept is None:
        kept = list(shape)
        for d in sorted(d % x_ndim for d in dim):
            kept.insert(d, 1)
        if len(_KEPT) >= 1024:  # (bounded: programs with ever new shapes)
            _KEPT.clear()
        kept = _KEPT[key] = tuple(kept)
    return g.reshape(kept)


def _divide_by_count(total, n):
    """``total / n`` in place, with np.mean's values: np.mean divides by the count as an intp
    (a float64 division rounded back), which for counts a float32 holds exactly is the float
    division itself, and half the time (0.5 against 1.0 us on [3, 1])."""
    if n < 16777216:  # 2 ** 24
        counts = _DIVISORS.get(total.dtype)  # (float32 / float64: the 0-d count, as in
        if counts is not None:  # _mean_forward; the division 0.92 -> 0.71 us; s28 SP44)
            count = counts.get(n)
            if count is None:
                if len(counts) >= 256:
                    counts.clear()
                count = counts[n] = np.array(n, total.dtype)
            return np.true_divide(total, count, total)
        return np.true_divide(total, n, out=total)
    return np.true_divide(total, np.intp(n), out=total, casting="unsafe")


def _sum_forward(x, *, dim=None, keepdim=False):
    if x.dtype is HALF:  # (float16 computes in float32, as PyTorch: ops/half.py)
        return half_forward(_sum_forward, x, dim=dim, keepdim=keepdim)
    if type(dim) is list:
        dim = tuple(dim)
    # np.sum's own dispatch costs more than the sum of a small array: 0.8 against 3.3 us on
    # 8 x 8 (the same reduction, so the same values). Integers and booleans sum to int64, as
    # in PyTorch. (Positional arguments: axis, dtype, out, keepdims.)
    if x.dtype.kind in "biu":
        return c_order(np.add.reduce(x, dim, np.int64, None, keepdim))
    return c_order(add_reduce(x, dim, keepdim))


def _sum_vjp(F, g, out, x, *, dim=None, keepdim=False):
    return (F.expand(_keep(g, x.ndim, dim, keepdim), x.shape),)


register("sum", forward=_sum_forward, vjp=_sum_vjp, samples=_reduce_samples())


def _mean_vjp(F, g, out, x, *, dim=None, keepdim=False):
    if F is ARRAY and type(g) is _ndarray and x.ndim:
        # g / n in the input's shape in one call over cached counts: the rule on [8, 8] 1.24 ->
        # 0.8 us, and bit-identical to PyTorch's gradient, which divides (g * (1 / n) is 1 ulp
        # off for n = 3, 5, 7). Not cached: 0-d (a scalar quotient), large inputs, integer g.
        key = (x.shape, tuple(dim) if type(dim) is list else dim, g.dtype)
        counts = _COUNTS.get(key)
        if counts is None:
            if len(_COUNTS) >= 256:  # (bounded: programs with ever new shapes)
                _COUNTS.clear()
            counts = _COUNTS[key] = (np.full(x.shape, _count(x.shape, dim), g.dtype)
                                     if x.size <= _EXPAND_COPY_MAX and g.dtype.kind in "fc"
                                     else False)
        if counts is not False:
            if not keepdim and dim is not None:  # (keepdim: g broadcasts as it is, no call)
                g = _keep(g, x.ndim, dim, keepdim)
            if type(dim) is int and x.size < _SMALL:  # (arrays of one shape: see _spread)
                g = _spread(g, x.shape, dim)  # ([8, 1] / [8, 8]: 0.93 -> 0.75 us)
            return (np.true_divide(g, counts),)
    n = _count(x.shape, dim)
    scale = 1.0 / n if n else math.nan
    g = _keep(g, x.ndim, dim, keepdim)
    if F is ARRAY and type(g) is _ndarray and x.size <= _EXPAND_COPY_MAX:
        grad = np.empty(x.shape, g.dtype)  # (written in place: no product and broadcast copy)
        np.multiply(g, scale, out=grad)
        return (grad,)
    return (F.expand(g * scale, x.shape),)


_COUNTS: dict = {}  # (input shape, dims, gradient dtype) -> the count n, in that shape
_MEAN_FAST = frozenset((np.dtype(np.float32), np.dtype(np.float64)))
_DIVISORS: dict = {dtype: {} for dtype in _MEAN_FAST}  # dtype -> {count: 0-d array of it}


def _mean_forward(x, *, dim=None, keepdim=False):
    if type(dim) is int and x.dtype in _MEAN_FAST and x.size and x.flags.c_contiguous:
        # The common call (x.mean(dim=1, keepdim=True) of a float32 / float64 array) without
        # the general path's calls; a C-ordered input's sum is C-ordered. 8 x 8: 2.3 -> 1.9 us
        # (timeit, interleaved). A small input's sums along its last dim (or a matrix's
        # first) are one BLAS product with ones, as softmax's (_small_sum): 8 x 8 1.81 ->
        # 0.83 us for the sum and division (thread time, interleaved; the last bit of a sum
        # may differ from NumPy's pairwise one, as PyTorch's own order does).
        if x.size < _SMALL:
            total = _small_sum(x, dim)
            if not keepdim:
                total = total.squeeze(dim)
        else:
            total = add_reduce(x, dim, keepdim)
            if type(total) is not _ndarray:  # (a 1-d input's sum: a NumPy scalar)
                total = np.asarray(total)
        n = x.shape[dim]
        if n < 16777216:  # (as _divide_by_count; the count exact in float32)
            # By the count as a 0-d array of the dtype, the same division as by the int (NumPy
            # casts it to that dtype), without converting a Python int per call:
            # z.mean(dim=1, keepdim=True) on 8 x 8 under grad 2.00 -> 1.77 us (alternated,
            # thread time; s28 SP42).
            counts = _DIVISORS[x.dtype]
            count = counts.get(n)
            if count is None:
                if len(counts) >= 256:  # (bounded: programs with ever new sizes)
                    counts.clear()
                count = counts[n] = np.array(n, x.dtype)
            return np.true_divide(total, count, total)
        return np.true_divide(total, np.intp(n), out=total, casting="unsafe")
    if type(dim) is list:
        dim = tuple(dim)
    x = _float(x)
    if x.size == 0:  # the mean of nothing is nan (and NumPy would warn)
        total = np.add.reduce(x, dim, None, None, keepdim)
        return np.full_like(total, np.nan, dtype=x.dtype)  # (a meta array stays meta)
    if x.dtype.itemsize < 4:  # float16 sums in float32, as np.mean does
        # (quiet: np.mean's own frame would warn of inf - inf; PyTorch's nan comes silently)
        return c_order(quiet(half_mean, x, dim, keepdim))  # (long dims: pairwise sums)
    # np.mean's steps without its Python wrappers (9.8 against 2.3 us on 8 x 8): the sum, then
    # a division by the count as an intp, as np.mean divides, so the values are the same.
    total = c_order(add_reduce(x, dim, keepdim))
    if type(total) is not _ndarray:  # a full reduction: a 0-d array to divide in place
        total = np.asarray(total)
    return _divide_by_count(total, _count(x.shape, dim))


register("mean", forward=_mean_forward, vjp=_mean_vjp, samples=_reduce_samples())


# --------------------------------------------------------------------------------------------
# prod: the gradient is the product of the *other* elements, computed from two exclusive
# cumulative products so that zeros are exact (no division by x).


def _prod_forward(x, *, dim=None, keepdim=False):
    if x.dtype is HALF and (out := half_prod(x, dim, keepdim)) is not None:
        return out
    # (np.prod's dispatch: 1.6 against 0.66 us for the ufunc's reduce on [3, 4])
    return c_order(np.multiply.reduce(x, dim, np.int64 if x.dtype.kind in "biu" else None,
                                      None, keepdim))


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
    xd = F.data(x)
    if xd.size == 0 or F is ARRAY and dim is None and xd.size - np.count_nonzero(xd) > 1:
        return (F.zeros_like(x),)  # (two zeros: PyTorch's 0 even beside an inf, not 0 * inf)
    if xd.ndim == 0:  # (PyTorch's: the product of one value is that value, so g even at NaN)
        return (g,)
    if np.count_nonzero(xd) == xd.size:  # no zero (np.any(x == 0): 2.4 against 0.3 us)
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
        Sample((two_zeros,), {"dim": 1, "keepdim": True}, "two zeros")]


register("prod", forward=_prod_forward, vjp=_prod_vjp, samples=_prod_samples)


# --------------------------------------------------------------------------------------------
# var and std with Bessel's correction (``correction``): primitives, so that std's gradient is
# 0 where std is 0 (PyTorch's rule) rather than 0 * inf.


def _denominator(shape, dim, correction):  # (0 for an empty slice: its var is nan, PyTorch's)
    return max(0, n - correction) if (n := _count(shape, dim)) else 0


def _var_forward(x, *, dim=None, correction=1, keepdim=False):
    if x.dtype is HALF:  # (float16 computes in float32, as PyTorch: ops/half.py)
        return half_forward(_var_forward, x, dim=dim, correction=correction, keepdim=keepdim)
    if x.dtype == np.float32:  # (PyTorch's CPU kernel: float64 moments, rounded once; its std
        # stays finite where the variance overflows float32, as in sbi's z-scoring; 7010 of
        # 7018 random var / std results bitwise PyTorch's, 4884 before. Cost, s21 at load 12,
        # min of 7: var of a [256, 256] 350 -> 525 us; of a [3, 4] within the noise)
        var = _var_forward(x.astype(np.float64), dim=dim, correction=correction,
                           keepdim=keepdim)
        # (quiet, not np.errstate: ~1 us; op_overhead.py var 0.80 -> 0.75 x PyTorch, s27 SP37)
        return quiet(var.astype, np.float32)
    if type(dim) is list:
        dim = tuple(dim)
    n = _count(x.shape, dim)
    if n and x.ndim and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
        # The general steps below, with the mean's own (np.mean's values) and no np.errstate
        # where the divisor is positive: var's forward on [3, 4] 8.3 -> 3.6 us.
        mean = _divide_by_count(np.add.reduce(x, dim, None, None, True), n)
        centred = np.subtract(x, mean)
        centred *= centred
        total = c_order(np.add.reduce(centred, dim, None, None, keepdim))
        if n > correction:
            if type(total) is _ndarray:
                return np.true_divide(total, n - correction, out=total)
            return total / (n - correction)
    else:
        axis = _axis(dim)
        if x.size == 0:
            mean = np.full(np.sum(x, axis=axis, keepdims=True).shape, np.nan, dtype=x.dtype)
        else:
            mean = _mean_forward(x, dim=dim, keepdim=True)  # (np.mean's values, less dispatch)
        centred = x - mean
        centred *= centred
        total = c_order(np.add.reduce(centred, axis=axis, keepdims=keepdim))
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / _denominator(x.shape, dim, correction)


def _centred(F, x, dim):
    n = _count(x.shape, dim)
    return x - F.sum(x, _axis(dim), True) * (1.0 / n) if n else x


def _centred_array(x, dim, n):
    """``_centred`` on arrays (n > 0), as a new array the rule may write into."""
    mean = np.add.reduce(x, dim, None, None, True)
    mean *= 1.0 / n
    return np.subtract(x, mean)


def _var_vjp(F, g, out, x, *, dim=None, correction=1, keepdim=False):
    if type(dim) is list:
        dim = tuple(dim)
    n = _count(x.shape, dim)
    denominator = n - correction
    if dim is None and denominator <= 0 and n:
        # NOTE: PyTorch 2.13's rule for a full reduction where N <= correction: g * inf, NaN
        # where x == mean (its test: an infinite x equal to an infinite mean too); along dims
        # N - correction unclamped (below): finite above N, infinite at N. std's rule is this.
        xd = F.data(x)
        with np.errstate(all="ignore"):
            same = xd == np.mean(xd)
        blowup = np.where(same, np.nan, np.inf).astype(xd.dtype)
        return (_keep(g, x.ndim, dim, keepdim) * F.const(blowup),)
    scale = 2.0 / denominator if denominator else math.inf
    if F is ARRAY and denominator and n:
        if x.dtype is HALF or x.dtype.kind == "V":  # (PyTorch's float16 / bfloat16 steps:
            return (half_var_grad(_keep(g, x.ndim, dim, keepdim), x, dim, scale),)  # half.py)
        # PyTorch's order, (scale * g) * (x - mean), in place: 5 NumPy calls.
        grad = _centred_array(x, dim, n)
        grad *= _keep(g, x.ndim, dim, keepdim) * scale
        return (grad,)
    with np.errstate(invalid="ignore"):  # inf * 0: the nan PyTorch gives too
        return (_keep(g, x.ndim, dim, keepdim) * _centred(F, x, dim) * scale,)


def _std_forward(x, *, dim=None, correction=1, keepdim=False):
    if x.dtype is HALF:  # (float16 computes in float32, as PyTorch: ops/half.py)
        return half_forward(_std_forward, x, dim=dim, correction=correction, keepdim=keepdim)
    if x.dtype == np.float32:  # (in float64, the square root too: _var_forward)
        var = _var_forward(x.astype(np.float64), dim=dim, correction=correction,
                           keepdim=keepdim)
        var = np.sqrt(var, out=var) if type(var) is _ndarray else np.sqrt(var)
        return quiet(var.astype, np.float32)  # (quiet, not np.errstate: see _var_forward)
    var = _var_forward(x, dim=dim, correction=correction, keepdim=keepdim)
    return np.sqrt(var, out=var) if type(var) is _ndarray else np.sqrt(var)


def _std_vjp(F, g, out, x, *, dim=None, correction=1, keepdim=False):
    if type(dim) is list:
        dim = tuple(dim)
    n = _count(x.shape, dim)
    denominator = max(0, n - correction)
    if n and not denominator:  # (PyTorch's: var's rule, its NOTE, on g / (2 std), std inf / nan)
        return _var_vjp(F, g / (out * 2), None, x, dim=dim, correction=correction, keepdim=keepdim)
    out_k = _keep(out, x.ndim, dim, keepdim)
    if (x.dtype is HALF or x.dtype.kind == "V") and F is ARRAY and denominator \
            and type(g) is _ndarray:  # (V: bfloat16)
        return (half_std_grad(_keep(g, x.ndim, dim, keepdim), out_k, x, dim, denominator),)
    if F is ARRAY and denominator and np.count_nonzero(out_k) == out_k.size:
        # No std is 0, so no mask: (g / std / denominator) * (x - mean), in place.
        scale = _keep(g, x.ndim, dim, keepdim) / out_k
        scale *= 1.0 / denominator
        grad = _centred_array(x, dim, n)
        grad *= scale
        return (grad,)
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
        Sample((x3,), {"dim": None, "correction": 0.5, "keepdim": True})]


register("var", forward=_var_forward, vjp=_var_vjp, samples=_var_samples)
register("std", forward=_std_forward, vjp=_std_vjp, samples=_var_samples)


# --------------------------------------------------------------------------------------------
# amax / amin.


def _extreme_vjp(F, g, out, x, *, dim=None, keepdim=False, share_nan=False):
    # NOTE: ties split the gradient evenly among the tied extremes (PyTorch's amax/amin, and its
    # max()/min() without dim). A NaN extreme: amax/amin give the slice a NaN gradient, as
    # PyTorch's do; with share_nan (max() / min() / median() of all elements) the NaNs share it.
    # max(dim=...) instead routes to the returned index: see gather.
    if type(dim) is list:
        dim = tuple(dim)
    xd = F.data(x)
    out_k = F.data(_keep(out, x.ndim, dim, keepdim))
    mask = xd == out_k
    nan = out_k.dtype.kind in "fc" and np.count_nonzero(np.isnan(out_k))
    if nan and share_nan:
        mask |= np.isnan(xd) & np.isnan(out_k)
    g_k = _keep(g, x.ndim, dim, keepdim)
    if F is ARRAY and type(g) is _ndarray:
        if not nan and np.count_nonzero(mask) == out_k.size:
            # One extreme per slice (without NaN each slice has at least one, so as many as
            # slices means one each): g goes to it whole. The rule on [3, 4] over dim 1:
            # 4.2 -> 2.6 us.
            return (np.multiply(g_k, mask),)
        # PyTorch's (g / count) * mask, as (g * mask) / count: the same values, in place. A NaN
        # extreme matches nothing: its count is 0, and 0 / 0 its NaN share.
        grad = np.multiply(g_k, mask)
        counts = np.add.reduce(mask, dim, xd.dtype if xd.dtype.itemsize >= 4 else np.float32,
                               None, True)  # (exact counts; float16 counts in float32)
        counts = np.maximum(counts, share_nan)  # (none matches: max()'s zeros, not 0 / 0)
        if nan:
            with np.errstate(invalid="ignore"):
                grad /= counts
        else:
            grad /= counts
        return (grad,)
    # The count of ties in the input's dtype (exact there; float16 counts in float32).
    work = xd.dtype if xd.dtype.itemsize >= 4 else np.dtype(np.float32)
    counts = np.maximum(np.add.reduce(mask, axis=_axis(dim), keepdims=True, dtype=work), share_nan)
    with np.errstate(invalid="ignore"):
        share = np.divide(mask, counts, dtype=work)
    return (g_k * F.const(share.astype(xd.dtype, copy=False)),)


def _tie_extra(rng):
    return [Sample((np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]),), {"dim": 1, "keepdim": False},
                   "tie", second_order=False),
            Sample((np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]]),), {"share_nan": True},
                   "tie, all dims", second_order=False)]


def _amax_forward(x, *, dim=None, keepdim=False, share_nan=False):
    # (np.amax's dispatch: 2.0 against 0.8 us for the ufunc's reduce on [3, 4]; NaN propagates
    # the same way; the API refuses empty reductions first)
    return c_order(np.maximum.reduce(x, _axis(dim), None, None, keepdim))


def _amin_forward(x, *, dim=None, keepdim=False, share_nan=False):
    return c_order(np.minimum.reduce(x, _axis(dim), None, None, keepdim))


register("amax", forward=_amax_forward, vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))
register("amin", forward=_amin_forward, vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))


# --------------------------------------------------------------------------------------------
# logsumexp, softmax, log_softmax.


def _real(x):
    """Integer or boolean input to a floating op computes in float64 and the Tensor layer gives
    the default dtype, as in PyTorch."""
    return x.astype(np.float64) if _integral(x) else x


def _logsumexp_forward(x, *, dim=None, keepdim=False):
    if x.dtype is HALF and (out := half_logsumexp(x, dim, keepdim)) is not None:
        return out  # (PyTorch's float16 steps: ops/half.py)
    x = _real(x)
    axis = _axis(dim)
    if x.size == 0:
        with np.errstate(divide="ignore"):  # the log of an empty sum is -inf
            return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdim))
    if x.ndim == 0:  # the log of exp(x) alone is x (infinities and NaN too) ...
        if x.dtype.kind == "c":  # ... with the principal imaginary part, in (-pi, pi]
            return np.asarray(x.real + np.log(np.exp(x - x.real)), dtype=x.dtype)
        return x.copy()
    # (complex: shifted by the largest real part, as PyTorch, so the imaginary part of the
    # result is the principal one, in (-pi, pi])
    m = np.maximum.reduce(x.real if x.dtype.kind == "c" else x, axis, None, None, True)
    if np.count_nonzero(np.isfinite(m)) == m.size:
        # Every shift finite (no NaN, no infinite maximum): each sum is in [1, n], so nothing
        # can warn and no shift needs replacing (logsumexp fwd on [2, 3, 4]: 12.4 -> 4.5 us).
        e = np.subtract(x, m)
        np.exp(e, out=e)
        out = c_order(add_reduce(e, axis, True))
        np.log(out, out=out)
        out += m
        return out if keepdim else out.squeeze(axis)
    m = np.where(np.isfinite(m), m, 0.0)  # NOTE: all -inf rows give -inf, not nan
    with np.errstate(divide="ignore"):
        out = c_order(m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)))
    return out if keepdim else np.squeeze(out, axis=axis)


def _logsumexp_vjp(F, g, out, x, *, dim=None, keepdim=False):
    out_k = _keep(out, x.ndim, dim, keepdim)
    g_k = _keep(g, x.ndim, dim, keepdim)
    if F is ARRAY and type(g) is _ndarray and x.dtype.kind == "f" and x.ndim:
        grad = np.subtract(x, out_k)  # g * exp(x - out), in place
        np.exp(grad, out=grad)
        grad *= g_k
        return (grad,)
    return (g_k * F.exp(x - out_k),)


register("logsumexp", forward=_logsumexp_forward, vjp=_logsumexp_vjp, samples=_reduce_samples())


# softmax and log_softmax compute in place, with the ufuncs' own reductions (np.amax, np.sum
# dispatch in Python): softmax's forward on 8 x 8 15.4 -> 11.1 us (paired, loaded 2-core
# machine), the same values. A short last axis with many rows takes _reduce_keepdims's faster
# orders (W4's attention [32, 4, 32, 32]: max 369 -> 167 us, sum 82 -> 14 us; a sum's last bit
# may differ). Below 128 elements (64 rows per column, 2 columns needed) they never apply.
# (Those keep-dims reductions and the small arrays' sums: small_sums.py.)


# The squared norm below which softmax skips its shift by the maximum (|x| <= 80 in float32,
# 700 in float64): exp(x) is then a normal number (no overflow, no underflow into subnormals)
# and a sum of under 128 of them finite, so exp(x) / sum(exp(x)) is the same ratio as the
# shifted form's, and as accurate or more: the shift's x - max rounds once |x - max| > 1
# (float32 [3, 4] at scale 20: 1.7e-7 relative error against float64 here, PyTorch's shifted
# values 3.8e-6). One vdot (0.4 us) instead of a maximum along dim and a broadcast subtraction
# (1.3 us): softmax's forward on [3, 4] 2.9 -> 2.0 us. (log_softmax keeps its shift:
# x - log(sum(exp(x))) would lose the low bits of log-probabilities near 0 to cancellation.)
_UNSHIFTED = {np.dtype(np.float32): 80.0 ** 2, np.dtype(np.float64): 700.0 ** 2}


def _softmax_forward(x, *, dim):
    if x.dtype is HALF:  # (float16 computes in float32, as PyTorch: ops/half.py)
        out = half_softmax(x, dim)
        return half_forward(_softmax_forward, x, dim=dim) if out is None else out
    x = x if x.flags.c_contiguous else np.ascontiguousarray(x)  # (PyTorch's is: c_order)
    if 0 < x.size < _SMALL:
        bound = _UNSHIFTED.get(x.dtype)
        if bound is not None and np.vdot(x, x) <= bound:  # (a NaN or inf fails it too)
            e = np.exp(x)
            e /= _spread_sum(e, dim)  # (the sums repeated: one operand shape for the ufunc)
            return e
        if x.dtype.kind == "f":  # (the steps below, inline; quiet: an all -inf row is nan)
            e = quiet(np.subtract, x, np.maximum.reduce(x, dim, None, None, True))
            np.exp(e, out=e)
            e /= _spread_sum(e, dim)
            return e
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    if x.size == 0:
        return x.copy()
    if dim in (-1, x.ndim - 1) and x.ndim > 1 and x.dtype in _ROW_SUM_FLOOR:
        e = _softmax_last(x)
        if e is not None:
            return e
    e = np.empty(x.shape, x.dtype)
    quiet(_by_rows, _softmax_rows, dim, (x, e), dim)  # (as PyTorch: nan rows, silently)
    return e


def _softmax_rows(x, e, dim):
    np.subtract(x, _max_keep(x, dim), out=e)
    np.exp(e, out=e)
    e /= _sum_keep(e, dim)


# Large inputs along a last axis over 256 go by blocks of rows, across threads when there are
# several (threads.split_rows); shorter rows' sums are BLAS's (bits change with its own split).
# log_softmax fwd / VJP [700, 10000] float32, one thread: 17.2 / 12.4 -> 8.1 / 9.6 ms (passes
# in cache), softmax 9.2 -> 9.6 (NumPy's sums, not BLAS's). (2 threads: see threads.py)
def _by_rows(function, dim, arrays, *rest):
    x = arrays[0]  # (two blocks or more, see threads.split_rows; a 0-d array is never past)
    if x.nbytes > threads.ROW_BLOCK_BYTES and x.shape[-1] > 256 and dim in (-1, x.ndim - 1):
        return threads.split_rows(lambda k: function(*[a[k] for a in arrays], *rest), x)
    return function(*arrays, *rest)


# Many rows over a short last axis (W4's attention scores [32, 4, 32, 32] under a causal mask):
# the maximum along each row is nearly all of the forward (np.maximum.reduce alone ~330 us
# here, in any order), so every row is shifted by the whole array's maximum instead (one
# contiguous reduce, 6 us) and the rows' sums (a BLAS product) are checked afterwards.
# Softmax does not depend on the shift; the shift only has to keep exp from overflowing
# (nothing exceeds exp(0) = 1) and each row's largest terms normal. NOTE: a row whose sum
# falls below _ROW_SUM_FLOOR (its maximum far below the array's) may have terms rounded to
# subnormals or 0, so then the whole forward is redone with each row's own maximum; above
# it, a subnormal term's absolute error (<= 2^-150 in float32) over the sum (>= 2^-62) is
# below the rounding of the probability PyTorch gives it (< 2^-64, one ulp 2^-88): the same
# values within float rounding. A NaN or infinite maximum (and fully masked rows: sum 0)
# take the general path too. [32, 4, 32, 32] float32 forward 340 -> 134 us, forward + VJP
# 480 -> 270 us (alternated with HEAD's, one thread).
_ROW_SUM_FLOOR = {np.dtype(np.float32): 2.0 ** -62, np.dtype(np.float64): 2.0 ** -500}
_TINY = {dtype: np.finfo(dtype).tiny for dtype in _ROW_SUM_FLOOR}


def _softmax_last(x):
    """softmax along the last axis shifted by the array's maximum; None where a row's sum is
    under ``_ROW_SUM_FLOOR`` or the maximum is not finite (the caller's general path)."""
    top = np.maximum.reduce(x, None)
    if not math.isfinite(top):  # (np.isfinite of a NumPy scalar: 0.40 against 0.03 us)
        return None
    n, failed, e = x.shape[-1], [], np.empty(x.shape, x.dtype)  # (C order: rows are views)
    ones = None if n > 256 and x.nbytes > threads.ROW_BLOCK_BYTES else ones_column(n, x.dtype)
    _by_rows(_shifted_rows, -1, (x, e), top, ones, failed)  # (one block fails: all do)
    return None if failed else e


def _shifted_rows(x, e, top, ones, failed):
    np.subtract(x, top, out=e)
    np.exp(e, out=e)
    # A term under the smallest normal (a row far below the array's maximum) would lose its
    # relative precision, or become 0 where PyTorch gives e.g. 1e-30 (and log of it -inf):
    # only exact zeros from -inf inputs (masks) may be that small. Two counts, ~40 us on
    # [32, 4, 32, 32] float32 with a causal mask: 134 -> 170 us, against 340 per row.
    small = np.count_nonzero(e < _TINY[x.dtype])
    if small and small != np.count_nonzero(x == -np.inf):
        return failed.append(True)
    rows = e.reshape(-1, x.shape[-1])
    total = np.add.reduce(rows, 1, None, None, True) if ones is None else rows.dot(ones)
    if not np.minimum.reduce(total, None) >= _ROW_SUM_FLOOR[x.dtype]:
        return failed.append(True)
    # (small arrays: the sums repeated along the rows, one operand shape for the ufunc, the same
    # divisions; with math.isfinite above, [1, 4, 8, 8] float32 under a causal mask 6.86 ->
    # 6.43 us, [1, 4, 16, 16] 7.92 -> 7.37: /tmp/SP41/sm_try2.py, thread time, one thread)
    rows /= total.repeat(rows.shape[1], 1) if rows.size <= _REPEAT_MAX else total


_REPEAT_MAX = 4096


def _softmax_vjp(F, g, out, x, *, dim):
    if x.dtype is HALF and F is ARRAY and type(g) is _ndarray:
        # PyTorch's float16 kernel: float32 math, the row sums in NumPy's reduce order (not
        # _spread_sum's product), one rounding: 1-ulp differences 60 -> 29 of 249,600 on
        # [64, 65], 2 -> 0 of 1,680 on [4, 7] (s29 BR20, 60 draws each, torch 2.13)
        wide = np.asarray(out).astype(np.float32)
        t = g.astype(np.float32)
        t -= np.add.reduce(t * wide, dim, None, None, True)
        t *= wide
        return (t.astype(HALF),)
    # J^T g = out * (g - <g, out>) along dim.
    if F is ARRAY and type(g) is _ndarray:
        if g.size < _SMALL and g.ndim and g.dtype is out.dtype:
            # <g, out> as the rows' sums of g * out (one BLAS product on float32 / float64),
            # already spread to g's shape for the subtraction (_spread_sum): 2.24 -> 1.87 us on
            # [8, 8] against one vecdot (a gufunc) and a broadcast subtraction (thread time,
            # interleaved); W2-model's 20 a step. (Not spread by a square product: see
            # _spread_sum.) (A row sum's last bit may differ from PyTorch's.)
            t = np.subtract(g, _spread_sum(np.multiply(g, out), dim))
            t *= out
            return (t,)
        t = np.empty(g.shape, g.dtype if g.dtype == out.dtype else np.result_type(g, out))
        _by_rows(_softmax_vjp_rows, dim, (g, out, t), dim)
        return (t,)
    return (out * (g - F.sum(g * out, dim, True)),)


def _softmax_samples(rng):
    return [Sample((rng.standard_normal((5,)),), {"dim": 0}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0}),
            Sample((rng.standard_normal((2, 3, 4)),), {"dim": -1})]


register("softmax", forward=_softmax_forward, vjp=_softmax_vjp, samples=_softmax_samples)


def _softmax_vjp_rows(g, out, t, dim):
    np.multiply(g, out, out=t)
    np.subtract(g, _sum_keep(t, dim), out=t)
    t *= out


def _log_softmax_forward(x, *, dim):
    if x.dtype is HALF:  # (float16 computes in float32, as PyTorch: ops/half.py)
        out = half_log_softmax(x, dim)
        return half_forward(_log_softmax_forward, x, dim=dim) if out is None else out
    x = x if x.flags.c_contiguous else np.ascontiguousarray(x)  # (PyTorch's is: c_order)
    if 0 < x.size < _SMALL and x.dtype.kind == "f":  # (the steps below, inline; quiet: -inf)
        # (the maximum and the log of the sums spread to x's shape: two arrays of one shape
        # in each subtraction, see _spread; with the VJP's small path, the rules' fwd + VJP
        # on [8, 8] 8.9 -> 8.0 us, [2, 3, 4] 9.2 -> 8.4: thread time, interleaved)
        shifted = quiet(np.subtract, x,
                        _spread(np.maximum.reduce(x, dim, None, None, True), x.shape, dim))
        total = _small_sum(np.exp(shifted), dim)
        shifted -= _spread(np.log(total, out=total), x.shape, dim)
        return shifted
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    if x.size == 0:
        return x.copy()
    shifted = np.empty(x.shape, x.dtype)
    quiet(_by_rows, _log_softmax_rows, dim, (x, shifted), dim)  # (all -inf rows: nan)
    return shifted


def _log_softmax_rows(x, shifted, dim):
    np.subtract(x, _max_keep(x, dim), out=shifted)
    total = _sum_keep(np.exp(shifted), dim)
    shifted -= np.log(total, out=total)


def _log_softmax_vjp(F, g, out, x, *, dim):
    if x.dtype is HALF and (grads := half_vjp(_log_softmax_vjp, F, g, out, x, dim=dim)):
        return grads
    if F is ARRAY and type(g) is _ndarray:
        if g.size < _SMALL and g.ndim and g.dtype is out.dtype:  # (_log_softmax_vjp_rows,
            e = np.exp(out)  # inline, with the sums spread to g's shape: see _spread)
            e *= _spread(_small_sum(g, dim), g.shape, dim)
            return (np.subtract(g, e, out=e),)
        e = np.empty(out.shape, out.dtype)
        _by_rows(_log_softmax_vjp_rows, dim, (g, out, e), dim)
        return (e,)
    return (g - F.exp(out) * F.sum(g, dim, True),)


def _log_softmax_vjp_rows(g, out, e, dim):
    np.exp(out, out=e)
    e *= _sum_keep(g, dim)
    np.subtract(g, e, out=e)


register("log_softmax", forward=_log_softmax_forward, vjp=_log_softmax_vjp,
         samples=_softmax_samples)
