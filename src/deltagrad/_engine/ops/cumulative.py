"""Scans along a dim: cumsum, cumprod and logcumsumexp (cummax / cummin select with gather)."""

from __future__ import annotations

import math

import numpy as np

from .half import HALF
from .registry import ARRAY, Sample, c_order, register

_FLIPS: list = []  # _FLIPS[dim]: the basic index that reverses an array along dim


def _flip(dim):
    """The basic index that reverses an array along ``dim`` (made once per dim)."""
    while len(_FLIPS) <= dim:
        _FLIPS.append((slice(None),) * len(_FLIPS) + (slice(None, None, -1),))
    return _FLIPS[dim]


def _at(dim, k):
    """The basic index of position ``k`` along ``dim``, keeping the dim."""
    return (slice(None),) * dim + (slice(k, k + 1),)


# PyTorch's CPU scans accumulate float32 (complex64) in double and float16 in float32 and
# round each output once: summed in the input's own precision, a float32 cumsum of randn(3, 8)
# was 1 ulp off in 10 of 24 elements (so were cumprod and logcumsumexp). Every scan and the
# reversed cumsum of the gradients take the wider type: +0.7-0.9 us a fwd+bwd on [3, 4]
# (1.9 -> 2.8 us, forward and reversed cumsum alone); op_overhead --ops cumsum: 0.46 x torch.
_WIDE = {np.dtype(np.float32): np.dtype(np.float64), HALF: np.dtype(np.float32),
         np.dtype(np.complex64): np.dtype(np.complex128)}


def _scan(ufunc, x, dim):
    wide = _WIDE.get(x.dtype)
    if wide is None:
        return c_order(ufunc.accumulate(x, dim, np.int64 if x.dtype.kind in "biu" else None))
    if x.dtype is HALF:
        with np.errstate(over="ignore"):  # (beyond float16's range: inf, as PyTorch gives)
            return ufunc.accumulate(x, dim, wide).astype(HALF, order="C")
    # (no errstate: 1 us a call; float64 -> float32 rounds an overflow to inf silently)
    return ufunc.accumulate(x, dim, wide).astype(x.dtype, order="C")


def _reverse_cumsum(F, g, dim):
    """Sums from each position to the end along ``dim``."""
    if F is ARRAY and type(g) is np.ndarray and g.ndim:
        # One accumulate over the reversed gradient, written reversed into a new array (a
        # contiguous result, no view): 0.9 against 2.4 us through the cumsum op on [3, 4].
        flip = _flip(dim)
        wide = _WIDE.get(g.dtype)
        if wide is not None:
            if g.dtype is HALF:
                with np.errstate(over="ignore"):
                    return np.add.accumulate(g[flip], dim, wide)[flip].astype(HALF, order="C")
            return np.add.accumulate(g[flip], dim, wide)[flip].astype(g.dtype, order="C")
        out = np.empty(g.shape, g.dtype)
        np.add.accumulate(g[flip], dim, None, out[flip])
        return out
    return F.getitem(F.op("cumsum", F.getitem(g, _flip(dim)), dim=dim), _flip(dim))


def _scan_samples(rng, extra=()):
    return [Sample((rng.standard_normal((5,)),), {"dim": 0}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0}),
            Sample((rng.standard_normal((2, 3, 4)),), {"dim": 2}), *extra]


# The scans call the ufuncs' own accumulate: np.cumsum / np.cumprod dispatch in Python (1.4
# against 0.55 us on [3, 4]), with the same values.


def _cumsum_forward(x, *, dim):
    return _scan(np.add, x, dim)


register("cumsum", forward=_cumsum_forward,
         vjp=lambda F, g, out, x, *, dim: (_reverse_cumsum(F, g, dim),),
         samples=_scan_samples)


def _cumprod_forward(x, *, dim):
    return _scan(np.multiply, x, dim)


def _cumprod_vjp(F, g, out, x, *, dim):
    # d out_i / d x_k = prod_{j <= i, j != k} x_j for i >= k.
    xd = F.data(x)
    n = x.shape[dim]
    if n == 0:
        return (F.zeros_like(x),)
    if n == 1:  # (out is x: g itself, as PyTorch, where out / x would be nan at inf or nan)
        return (g,)
    if np.count_nonzero(xd) == xd.size:  # no zero (np.any(x == 0): 2.4 against 0.3 us)
        if F is ARRAY and type(g) is np.ndarray:
            grad = _reverse_cumsum(F, g * out, dim)
            grad /= x
            return (grad,)
        return (_reverse_cumsum(F, g * out, dim) / x,)
    # NOTE: with zeros, division is undefined: grad_k = L_k * R_k, where L_k is the product of
    # the elements before k and R_k = g_k + x_{k+1} R_{k+1} (a scan run from the end). Exact,
    # and differentiable again; it costs one step per position along dim.
    ones = F.const(np.ones(x.shape[:dim] + (1,) + x.shape[dim + 1:], dtype=xd.dtype))
    before = F.op("cumprod", F.concatenate(
        [ones, F.getitem(x, (slice(None),) * dim + (slice(0, n - 1),))], dim), dim=dim)
    r = F.getitem(g, _at(dim, n - 1))
    parts = [r]
    for k in range(n - 2, -1, -1):
        r = F.getitem(g, _at(dim, k)) + F.getitem(x, _at(dim, k + 1)) * r
        parts.append(r)
    return (before * F.concatenate(parts[::-1], dim),)


def _cumprod_extra(rng):
    zero = rng.standard_normal((3, 5))
    zero[0, 1] = zero[2, 4] = zero[1, 0] = 0.0
    zeros = rng.standard_normal((6,))
    zeros[2] = zeros[4] = 0.0
    return [Sample((zero,), {"dim": 1}, "zeros"), Sample((zeros,), {"dim": 0}, "two zeros")]


register("cumprod", forward=_cumprod_forward, vjp=_cumprod_vjp,
         samples=lambda rng: _scan_samples(rng, _cumprod_extra(rng)))


def _logcumsumexp_forward(x, *, dim):
    if x.dtype.kind == "c":  # (NumPy's logaddexp has no complex loop: SL22 s29)
        return _complex_logcumsumexp(x, dim)
    return _scan(np.logaddexp, x, dim)


def _complex_logcumsumexp(x, dim):
    """PyTorch's complex scan: each step ``hi + log1p(exp(lo - hi))``, ``hi`` the operand with
    the larger real part, the newer on a tie (one step along ``dim`` at a time, the other dims
    at once)."""
    if x.ndim == 0 or x.shape[dim] == 0:
        return x.copy()
    moved = np.moveaxis(x, dim, 0)
    out = np.empty_like(moved)
    out[0] = acc = moved[0]
    for i in range(1, moved.shape[0]):
        swap = moved[i].real >= acc.real  # (a tie: the new element, as PyTorch's)
        hi, lo = np.where(swap, moved[i], acc), np.where(swap, acc, moved[i])
        out[i] = acc = hi + np.log1p(np.exp(lo - hi))
    return c_order(np.moveaxis(out, 0, dim))


# Inputs up to this size (in absolute value) take logcumsumexp's direct rule: exp(x_k) and
# exp(-out_i) are then normal numbers far from overflow (|out_i| <= max |x| + log n).
_DIRECT_BOUND = {np.dtype(np.float32): 40.0, np.dtype(np.float64): 300.0}


def _logcumsumexp_vjp(F, g, out, x, *, dim):
    if F is ARRAY and type(g) is np.ndarray and g.ndim and x.size:
        bound = _DIRECT_BOUND.get(x.dtype)
        if bound is not None and (np.maximum.reduce(np.abs(x), None)
                                  <= bound - math.log(x.shape[dim])):
            # exp(x_k) * sum_{i >= k} g_i exp(-out_i), the same sum without the log space:
            # 9 NumPy calls instead of about 30 (fwd + rule on [3, 4]: 18.3 -> 5 us). A NaN
            # fails the bound; an overflow (a huge g) is caught below and takes the log space.
            w = np.negative(out)
            np.exp(w, out=w)
            w *= g
            grad = _reverse_cumsum(F, w, dim)
            grad *= np.exp(x)
            if np.count_nonzero(np.isfinite(grad)) == grad.size:
                return (grad,)
    # grad_k = sum_{i >= k} g_i exp(x_k - out_i). NOTE: computed in log space, the positive and
    # negative parts of g separately, so that nothing overflows: each term is at most |g_i|.
    # NOTE: as PyTorch's rule, the log of a part's missing entries is the dtype's lowest
    # finite number, not -inf (this rule's own scans then see no -inf, so its double backward
    # has no nan: session 16's gradgradcheck), and where out_k = -inf (x_k and every x before
    # it -inf) the gradient is nan (-inf + inf), PyTorch's.
    gd = F.data(g)
    lowest = float(np.finfo(gd.dtype if gd.dtype.kind == "f" and gd.dtype.itemsize > 2
                            else np.float32).min)
    grad = None
    for part, mask in ((g, gd > 0), (-g, gd < 0)):
        log_part = F.where(mask, F.log(F.where(mask, part, 1.0)), lowest)
        scanned = F.getitem(F.op("logcumsumexp", F.getitem(log_part - out, _flip(dim)),
                                 dim=dim), _flip(dim))
        term = F.exp(x + scanned)
        grad = term if grad is None else grad - term
    return (grad,)


register("logcumsumexp", forward=_logcumsumexp_forward, vjp=_logcumsumexp_vjp,
         samples=_scan_samples)
