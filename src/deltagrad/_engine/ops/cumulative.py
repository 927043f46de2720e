"""Scans along a dim: cumsum, cumprod and logcumsumexp (cummax / cummin select with gather)."""

from __future__ import annotations

import numpy as np

from .registry import Sample, register


def _flip(dim):
    """The basic index that reverses an array along ``dim``."""
    return (slice(None),) * dim + (slice(None, None, -1),)


def _at(dim, k):
    """The basic index of position ``k`` along ``dim``, keeping the dim."""
    return (slice(None),) * dim + (slice(k, k + 1),)


def _reverse_cumsum(F, g, dim):
    """Sums from each position to the end along ``dim``."""
    return F.getitem(F.op("cumsum", F.getitem(g, _flip(dim)), dim=dim), _flip(dim))


def _scan_samples(rng, extra=()):
    return [Sample((rng.standard_normal((5,)),), {"dim": 0}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0}),
            Sample((rng.standard_normal((2, 3, 4)),), {"dim": 2}), *extra]


def _cumsum_forward(x, *, dim):
    return np.cumsum(x, axis=dim, dtype=np.int64 if x.dtype.kind in "biu" else None)


register("cumsum", forward=_cumsum_forward,
         vjp=lambda F, g, out, x, *, dim: (_reverse_cumsum(F, g, dim),),
         samples=_scan_samples)


def _cumprod_forward(x, *, dim):
    return np.cumprod(x, axis=dim, dtype=np.int64 if x.dtype.kind in "biu" else None)


def _cumprod_vjp(F, g, out, x, *, dim):
    # d out_i / d x_k = prod_{j <= i, j != k} x_j for i >= k.
    xd = F.data(x)
    n = x.shape[dim]
    if n == 0:
        return (F.zeros_like(x),)
    if not np.any(xd == 0):
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
    return np.logaddexp.accumulate(x, axis=dim)


def _logcumsumexp_vjp(F, g, out, x, *, dim):
    # grad_k = sum_{i >= k} g_i exp(x_k - out_i). NOTE: computed in log space, the positive and
    # negative parts of g separately, so that nothing overflows: each term is at most |g_i|.
    # NOTE: where out_i = -inf (every x so far is -inf) the terms exp(x_k - out_i) are taken as
    # 0, so an input of -inf gets gradient 0 (PyTorch gives nan there).
    gd = F.data(g)
    safe_out = F.where(F.data(out) == -np.inf, 0.0, out)
    grad = None
    for part, mask in ((g, gd > 0), (-g, gd < 0)):
        log_part = F.where(mask, F.log(F.where(mask, part, 1.0)), -np.inf)
        scanned = F.getitem(F.op("logcumsumexp", F.getitem(log_part - safe_out, _flip(dim)),
                                 dim=dim), _flip(dim))
        term = F.exp(x + scanned)
        grad = term if grad is None else grad - term
    return (grad,)


register("logcumsumexp", forward=_logcumsumexp_forward, vjp=_logcumsumexp_vjp,
         samples=_scan_samples)
