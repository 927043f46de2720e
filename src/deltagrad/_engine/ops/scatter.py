"""Writing into tensors: index_put (assignment at an index; scatter, index_copy, index_fill,
masked_scatter are built on it) and scatter_reduce (sum, prod, mean, amax, amin)."""

from __future__ import annotations

import numpy as np

from .indexing import _along_axis
from .registry import Sample, register

# --------------------------------------------------------------------------------------------
# index_put: out = x; out[index] = values (values broadcast to out[index]'s shape). With a
# repeated position the last write wins, as NumPy and PyTorch's CPU kernels do.


def _written(shape, index) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[index] = True
    return mask


def _index_put_forward(x, values, *, index):
    out = x.copy()
    out[index] = values
    return out


def _index_put_vjp(F, g, out, x, values, *, index):
    # Overwritten positions pass nothing back to x; values get the gradient read at the index
    # (every write, also one a later duplicate overwrote, as in PyTorch).
    kept = F.where(F.const(_written(x.shape, index)), F.zeros_like(g), g)
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
    counts = _counts(x.shape, index)
    touched = counts > 0
    if not include_self:
        out[touched] = _identity(reduce, x.dtype)
    _UFUNCS[reduce].at(out, index, src)
    if reduce == "mean":
        n = counts + (1 if include_self else 0)
        if out.dtype.kind in "iu":
            out = np.where(touched, np.floor_divide(out, np.maximum(n, 1)), out)
        else:
            out = np.where(touched, out / np.maximum(n, 1), out).astype(out.dtype)
    return out


def _scatter_sum_vjp(F, g, out, x, src, *, index, reduce, include_self):
    # sum and mean read no values (only shapes), so the inputs may change in place afterwards.
    if include_self and reduce == "sum":  # (no counts needed)
        return g, F.getitem(g, index)
    counts = _counts(x.shape, index)
    if reduce == "mean":
        n = counts + (1 if include_self else 0)
        g = g / F.const(np.maximum(n, 1).astype(F.data(g).dtype))
    gx = g if include_self else F.where(F.const(counts > 0), F.zeros_like(g), g)
    return gx, F.getitem(g, index)


def _scatter_reduce_vjp(F, g, out, x, src, *, index, reduce, include_self):
    xd, sd, od = F.data(x), F.data(src), F.data(out)
    touched = _counts(xd.shape, index) > 0
    zero = F.zeros_like(g)
    if reduce in ("amax", "amin"):
        # Ties share the gradient evenly. NOTE: as in PyTorch, x counts among the ties where it
        # equals the result even with include_self=False (it then gets none of the share).
        self_hit = xd == od
        src_hit = sd == od[index]
        n = self_hit.astype(np.int64)
        np.add.at(n, index, src_hit)
        share = g / F.const(np.maximum(n, 1).astype(F.data(g).dtype))
        gx = F.where(F.const(self_hit), share, zero)
        gsrc = F.where(F.const(src_hit), F.getitem(share, index), F.zeros_like(src))
    else:
        gx, gsrc = _prod_vjp(F, g, out, x, src, xd, sd, od, index, include_self)
    if not include_self:
        gx = F.where(F.const(touched), zero, gx)
    return gx, gsrc


def _prod_vjp(F, g, out, x, src, xd, sd, od, index, include_self):
    if not (np.any(xd == 0) or np.any(sd == 0)):
        # d out / d e = out / e for every factor e (differentiable again).
        return g * out / x, F.getitem(g * out, index) / src
    # NOTE: with zero factors, the product of the other factors is computed directly (first
    # order only): out / e would divide by zero.
    gd = F.data(g)
    self_ones = np.where(xd == 0, 1, xd)
    without_self = _scatter_reduce_forward(self_ones, sd, index=index, reduce="prod",
                                           include_self=include_self)
    gx = gd * without_self / self_ones
    src_zero = sd == 0
    zeros_at = np.zeros(xd.shape, dtype=np.int64)
    np.add.at(zeros_at, index, src_zero)
    single = src_zero & (zeros_at[index] == 1)
    without_src = _scatter_reduce_forward(xd, np.where(single, 1, sd), index=index,
                                          reduce="prod", include_self=include_self)
    gsrc = np.where(single, (gd * without_src)[index], (gd * od)[index] / np.where(src_zero, 1,
                                                                                    sd))
    return F.const(gx.astype(gd.dtype)), F.const(gsrc.astype(gd.dtype))


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
