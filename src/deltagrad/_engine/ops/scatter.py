"""Writing into tensors: index_put (assignment at an index; scatter, index_copy, index_fill,
masked_scatter are built on it) and scatter_reduce (sum, prod, mean, amax, amin)."""

from __future__ import annotations

import numpy as np

from .indexing import _along_axis
from .registry import ARRAY, Sample, register

# --------------------------------------------------------------------------------------------
# index_put: out = x; out[index] = values (values broadcast to out[index]'s shape). With a
# repeated position the last write wins, as NumPy and PyTorch's CPU kernels do.


def _written(shape, index) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[index] = True
    return mask


def _index_put_forward(x, values, *, index):
    # (np.array, not x.copy(): a 0-d gradient can arrive as a NumPy scalar, whose copy takes
    # no item assignment; `y = x.var(-1, keepdim=True); y[...] = 0.5; (y * y).mean()`'s
    # backward raised TypeError)
    out = np.array(x, copy=True)
    out[index] = values
    return out


def _index_put_vjp(F, g, out, x, values, *, index):
    # Overwritten positions pass nothing back to x; values get the gradient read at the index
    # (every write, also one a later duplicate overwrote, as in PyTorch).
    if F is ARRAY and type(g) is np.ndarray:
        kept = g.copy()  # (a copy with the written positions cleared: 0.4 against 3.2 us)
        kept[index] = 0
        return kept, g[index]
    # (graph mode, double backward: index_put of a 0 clears the written positions and is its
    # own differentiable rule; was where(mask, zeros, g): 7 against 33 us a call on
    # a (2, 6, 6) gradient, alternated in one process, s16 XI)
    zero = F.const(np.zeros((), F.data(g).dtype))
    kept = F.op("index_put", g, zero, index=index)
    return kept, F.getitem(g, index)


def _index_put_samples(rng):
    x = rng.standard_normal((3, 4))
    rows = np.array([2, 0])
    return [
        Sample((x, rng.standard_normal((2, 4))), {"index": (rows,)}, "rows"),
        Sample((x, rng.standard_normal(())), {"index": (slice(None), np.array([1, 3]))}, "fill"),
        Sample((x, rng.standard_normal((3,))), {"index": (np.array([0, 1, 2]),
                                                          np.array([3, 0, 1]))}, "points"),
        Sample((x, rng.standard_normal((4,))), {"index": (1,)}, "basic"),
    ]


register("index_put", forward=_index_put_forward, vjp=_index_put_vjp,
         samples=_index_put_samples)


# --------------------------------------------------------------------------------------------
# scatter_reduce: out = x, then each src element reduced into out at its position ``index``
# (a full NumPy index tuple shaped like src). ``include_self=False`` starts touched positions
# from the reduction's identity instead of x.

_UFUNCS = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
           "amin": np.minimum}


def _identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if dtype.kind == "f" else (True if dtype.kind == "b" else np.iinfo(dtype).max)
    small = -np.inf if dtype.kind == "f" else (False if dtype.kind == "b" else np.iinfo(dtype).min)
    return small if reduce == "amax" else big


def _counts(shape, index) -> np.ndarray:
    counts = np.zeros(shape, dtype=np.int64)
    np.add.at(counts, index, 1)
    return counts


def _scatter_reduce_forward(x, src, *, index, reduce, include_self):
    out = x.copy()
    if include_self and reduce != "mean":
        _UFUNCS[reduce].at(out, index, src)  # (the counts are not needed: 2 NumPy calls fewer)
        return out
    if not include_self:
        out[index] = _identity(reduce, x.dtype)  # touched positions start from the identity
    _UFUNCS[reduce].at(out, index, src)
    if reduce == "mean":
        # Every position divided by its count (at least 1; untouched ones by 1, exactly): no
        # np.where over the touched ones. The counts in a float result's dtype (exact), so
        # the division is the float32 one, as PyTorch's; np.where and a float64 division
        # rounded back gave the same values 2 calls slower.
        if out.dtype.kind in "iu":
            n = _counts(x.shape, index)
            n += 1 if include_self else 0
            return np.floor_divide(out, np.maximum(n, 1)).astype(out.dtype, copy=False)
        n = np.zeros(x.shape, out.dtype)
        np.add.at(n, index, np.ones(src.shape, out.dtype))  # (a scalar 1: 1.9 against 1.0 us)
        if include_self:
            n += 1
        else:
            np.maximum(n, 1, out=n)
        out /= n
    return out


def _scatter_sum_vjp(F, g, out, x, src, *, index, reduce, include_self):
    # sum and mean read no values (only shapes), so the inputs may change in place afterwards.
    if include_self and reduce == "sum":  # (no counts needed)
        return g, F.getitem(g, index)
    if F is ARRAY and type(g) is np.ndarray:
        # The counts in g's dtype (exact for any count a position can have here) and the
        # touched positions cleared by assignment: no np.where, no zeros_like (the rule of
        # mean, include_self=False, on [2, 4]: 8.6 -> 3.5 us).
        if reduce == "mean":
            n = np.zeros(g.shape, g.dtype)
            np.add.at(n, index, np.ones(src.shape, g.dtype))
            if include_self:
                n += 1
            else:
                np.maximum(n, 1, out=n)
            g = g / n
        gsrc = g[index]
        if include_self:
            return g, gsrc
        gx = g if reduce == "mean" else g.copy()  # (the mean's g is already a new array)
        gx[index] = 0
        return gx, gsrc
    counts = _counts(x.shape, index)
    if reduce == "mean":
        n = counts + (1 if include_self else 0)
        g = g / F.const(np.maximum(n, 1).astype(F.data(g).dtype))
    gx = g if include_self else F.where(F.const(counts > 0), F.zeros_like(g), g)
    return gx, F.getitem(g, index)


def _extreme_shares(F, g, xd, sd, od, index):
    """amax / amin's gradients: ``(share * self_hit, share[index] * src_hit)`` with ``share`` g
    over the number of hits at each position, PyTorch's rule. Ties share evenly; NOTE: as in
    PyTorch, x counts among the ties where it equals the result even with include_self=False
    (it then gets none of the share), and a NaN result, which nothing equals, gives its inputs
    NaN gradients (g / 0 times 0)."""
    dtype = F.data(g).dtype
    # (the masks in g's dtype first: ufuncs mixing bool and float cast in buffers, 1.6
    # against 1.0 us for the add.at)
    self_hit = (xd == od).astype(dtype)
    src_hit = (sd == od[index]).astype(dtype)
    n = self_hit.copy()
    np.add.at(n, index, src_hit)
    if np.count_nonzero(n) == n.size:
        share = g / F.const(n)
        return share * F.const(self_hit), F.getitem(share, index) * F.const(src_hit)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = g / F.const(n)
        return share * F.const(self_hit), F.getitem(share, index) * F.const(src_hit)


def _scatter_reduce_vjp(F, g, out, x, src, *, index, reduce, include_self):
    xd, sd, od = F.data(x), F.data(src), F.data(out)
    if F is ARRAY and type(g) is np.ndarray:
        # PyTorch's rules as products with the masks, and the positions an include_self=False
        # reduction overwrote cleared by assignment (fwd + rule of amax on [2, 4]: 14 -> 6 us).
        if reduce in ("amax", "amin"):
            gx, gsrc = _extreme_shares(F, g, xd, sd, od, index)
        elif np.count_nonzero(xd) == xd.size and np.count_nonzero(sd) == sd.size:
            # prod without zeros: d out / d e = out / e for every factor e.
            go = g * od
            gx = go / xd
            gsrc = go[index] / sd
        else:
            gx, gsrc = _prod_vjp(F, g, out, x, src, xd, sd, od, index, include_self)
        if not include_self:
            gx[index] = 0
        return gx, gsrc
    if reduce in ("amax", "amin"):
        gx, gsrc = _extreme_shares(F, g, xd, sd, od, index)
    else:
        gx, gsrc = _prod_vjp(F, g, out, x, src, xd, sd, od, index, include_self)
    if not include_self:
        gx = F.where(F.const(_counts(xd.shape, index) > 0), F.zeros_like(g), gx)
    return gx, gsrc


def _prod_vjp(F, g, out, x, src, xd, sd, od, index, include_self):
    if np.count_nonzero(xd) == xd.size and np.count_nonzero(sd) == sd.size:
        # d out / d e = out / e for every factor e (differentiable again).
        return g * out / x, F.getitem(g * out, index) / src
    # NOTE: with zero factors, the product of the other factors is computed directly (first
    # order only): out / e would divide by zero. PyTorch's steps, its masked_fill as
    # assignments into copies (three np.where fewer: 16.4 -> 12.3 us on [1, 4]).
    gd = F.data(g)
    dtype = gd.dtype
    self_ones = xd.copy()
    self_ones[xd == 0] = 1
    without_self = _scatter_reduce_forward(self_ones, sd, index=index, reduce="prod",
                                           include_self=include_self)
    gx = gd * without_self
    gx /= self_ones
    src_zero = sd == 0
    zeros_at = np.zeros(xd.shape, sd.dtype)
    np.add.at(zeros_at, index, src_zero.astype(sd.dtype))  # (a float count: no casting in at)
    single = src_zero & (zeros_at[index] == 1)  # the only zero at its position
    masked_src = sd.copy()
    masked_src[single] = 1
    without_src = _scatter_reduce_forward(xd, masked_src, index=index, reduce="prod",
                                          include_self=include_self)
    masked_src[src_zero] = 1
    quotient = (gd * od)[index]
    quotient /= masked_src
    gsrc = np.where(single, (gd * without_src)[index], quotient)
    return F.const(gx.astype(dtype, copy=False)), F.const(gsrc.astype(dtype, copy=False))


def _along(index, dim):
    return _along_axis(index, dim)


def _scatter_samples(reduces):
    def samples(rng):
        index = np.array([[0, 1, 0], [2, 2, 1]])
        along = _along(index, 1)
        out = []
        for reduce in reduces:
            for include_self in (True, False):
                low = 0.5 if reduce == "prod" else -2.0
                out.append(Sample((rng.uniform(low, 2.0, (2, 4)), rng.uniform(low, 2.0, (2, 3))),
                                  {"index": along, "reduce": reduce,
                                   "include_self": include_self},
                                  f"{reduce}-self={include_self}"))
        if "prod" in reduces:
            x = np.array([[0.0, 1.5, -1.0, 2.0]])
            out.append(Sample((x, np.array([[0.7, 0.0, 1.3]])),
                              {"index": _along(np.array([[0, 0, 1]]), 1), "reduce": "prod",
                               "include_self": True}, "prod-zeros", second_order=False))
        return out

    return samples


# Two ops, as PyTorch saves different things: sum and mean keep no values for backward.
register("scatter_sum", forward=_scatter_reduce_forward, vjp=_scatter_sum_vjp,
         samples=_scatter_samples(("sum", "mean")))
register("scatter_reduce", forward=_scatter_reduce_forward, vjp=_scatter_reduce_vjp,
         samples=_scatter_samples(("prod", "amax", "amin")))
