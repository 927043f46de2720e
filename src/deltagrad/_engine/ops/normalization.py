"""Normalization primitives: layer_norm as one op (forward over rows, its own VJP)."""

from __future__ import annotations

import math
import weakref

import numpy as np

from . import half
from .registry import ARRAY, Sample, register

_ndarray = np.ndarray

# What a forward keeps for its VJP (``_keep`` / ``_kept``): the normalized rows (private: not
# the output, which may be changed in place) and each row's rstd, so that the VJP neither
# centres x again nor makes xhat (large rows: 6 passes over the rows instead of 9, see
# _large_vjp). Keyed by the output array's id, checked against a weak reference to it, dropped
# when the VJP takes it or the output is freed. Nothing is kept for an output no VJP will see
# (``forward_without_grad``: api/normalization.py calls it under no_grad or when no input
# requires grad), so inference holds no second copy; a direct call of the op's forward keeps.
# (A forward that missed keeping, e.g. while another thread ran forward_without_grad, only
# makes its VJP compute the rows again: the same bits.)
# (Sessions before kept the rows' two means and rstd only; keeping the rows was measured then at
# step new/old 1.01 on W4, 40 rounds, and now 0.999, see _large_vjp: within this machine's
# noise either way, while the op itself is 0.90 of its time.)
_SKIP_KEEP = [False]
_KEPT: dict[int, tuple] = {}


def _keep(out: np.ndarray, stats: tuple) -> None:
    if _SKIP_KEEP[0]:
        return
    key = id(out)
    _KEPT[key] = (weakref.ref(out, lambda _, key=key: _KEPT.pop(key, None)), stats)


def _kept(out: np.ndarray):
    entry = _KEPT.pop(id(out), None)
    if entry is None or entry[0]() is not out:
        return None
    return entry[1]

# --------------------------------------------------------------------------------------------
# layer_norm: y = (x - mean) * rstd * weight + bias over the trailing ``ndim`` dimensions, with
# rstd = 1 / sqrt(var + eps) (biased variance). Inputs: x, then the weight and / or the bias
# when given (``has_weight`` says whether the first affine input is the weight).
#
# Composed from ops it is 9 nodes and 9 full-size temporaries in the backward; as an
# autograd.Function it paid ~130 us a call of wrapping on W4's LayerNorm(64) on [32, 32, 64]
# (forward + backward 331 us against PyTorch's 157, one thread). The forward keeps the
# normalized rows and rstd for the VJP (``_keep`` above).


def _row_means(rows: np.ndarray) -> np.ndarray:
    """Each row's mean of a 2-D float32/float64 array as one BLAS product with a vector of ones
    ([1024, 64]: 4.4 against 30 us with ``mean``, which reduces a short last axis one row at a
    time; BLAS adds in its own order, so the last bit may differ), then divided by the count.
    (Not a product with 1 / n: that rounded 1 / n made a constant row's mean differ from its
    value, and the row's output (x - mean) * rstd, with rstd up to 1 / sqrt(eps), -0.67 where
    PyTorch gives 0 on 1025 values of 1000 in float32.)"""
    means = rows @ np.ones(rows.shape[1], rows.dtype)
    means /= rows.shape[1]
    return means


def _centred(rows: np.ndarray) -> np.ndarray:
    """x - mean of each row (a new array), for float32/float64 rows [rows, n]: each row shifted
    by its first value, then by the mean of those differences (as _small_stats). A rounded sum
    makes a constant row's mean differ from its value by a few ulps, and its output
    (x - mean) * rstd, with rstd up to 1 / sqrt(eps), nonzero where PyTorch gives 0 (7.5e-5 on
    1025 values of 0.1 in float32; -0.67 on 1000s with the mean as a product with a rounded
    1 / n): shifted, a constant row is exact zeros, and so its mean. As accurate as centring
    by the mean and again by the mean of the result, as sessions before did (max error of xhat
    against float64 on [1024, 64] float32: normal rows 5.3e-7 / 6.0e-7 before / PyTorch's
    5.1e-7; rows at 1000 + normal 4.5e-7 / 4.5e-7 / 1.2e-4; a first value of 1000 among normal
    values 1.5e-6 / 1.6e-6 / 1.4e-6), with one row mean (a BLAS product) fewer: the rows'
    statistics 86.7 -> 77.4 us (0.87 of their time), W4's [32, 32, 64] forward 120 -> 115 us
    (0.95), forward + VJP 0.97 (thread time, 60 alternated rounds; last bits change)."""
    xc = _by_rows(np.subtract, rows, rows[:, 0])
    return _by_rows(np.subtract, xc, _row_means(xc), xc)


# Rows of up to _SPREAD_N values take their broadcast ufuncs flat (_by_rows / _by_cols): NumPy
# makes one inner-loop call a row of a broadcast form, which costs more than spreading the
# column (or tiling the row) only for short rows: [1024, 64] float32 subtract 16.9 us against
# 7.2 + 6.6 spread + flat, multiply by a row 16.0 against 12.2 tiled; on [512, 128] the
# broadcast forms 0.99 / 0.91 of the spread / tiled forms' time, on [256, 256] 0.96 / 0.78
# (thread time, medians of 30-40 alternated rounds). The same ufunc on the same pairs of
# values: the same bits.
_SPREAD_N = 64


def _by_rows(ufunc, a: np.ndarray, column: np.ndarray, out: np.ndarray | None = None):
    """``ufunc(a, column[:, None], out=out)`` for [rows, n] arrays: for short rows the column
    first repeated (in its own dtype) into a full-size array, then one flat call."""
    if a.shape[1] > _SPREAD_N:
        return ufunc(a, column[:, None], out=out)
    spread = np.repeat(column, a.shape[1]).reshape(a.shape)
    return ufunc(a, spread, out=spread if out is None else out)


def _by_cols(ufunc, a: np.ndarray, row: np.ndarray, out: np.ndarray | None = None):
    """``ufunc(a, row.reshape(-1), out=out)`` for C-contiguous [rows, n] arrays: for short
    rows the row first tiled (in its own dtype) into a block of up to 256 rows, and the rows
    taken that many at a time."""
    rows, n = a.shape
    k = math.gcd(rows, 256)
    if n > _SPREAD_N or k == 1:
        return ufunc(a, row.reshape(-1), out=out)
    block = np.empty((k, n), row.dtype)
    np.copyto(block, row.reshape(-1))
    if out is None:
        out = np.empty(a.shape, np.result_type(a, row))
    ufunc(a.reshape(-1, k * n), block.reshape(-1), out=out.reshape(-1, k * n))
    return out


def _rstd(xc: np.ndarray, eps: float) -> np.ndarray:
    """1 / sqrt(var + eps) of each centred row (the biased variance)."""
    rstd = np.einsum("ij,ij->i", xc, xc)  # (one pass, no squared temporary)
    rstd *= 1.0 / xc.shape[1]
    rstd += eps
    np.sqrt(rstd, out=rstd)
    return np.divide(1.0, rstd, out=rstd)


def _normalized_rows(rows: np.ndarray, eps: float):
    """(x - mean) * rstd of each row (a new array), and each row's rstd, for float32/float64
    rows."""
    xhat = _centred(rows)
    rstd = _rstd(xhat, eps)
    return _by_rows(np.multiply, xhat, rstd, xhat), rstd


# Small inputs (the op table's [3, 4], [2, 3, 4], [5]): every NumPy call costs ~0.3-1.2 us, so
# the rows' statistics are column vectors (a product with a cached column of ones, over n) that
# broadcast without indexing, no einsum (1.25 against 0.53 us on [3, 4]) and no vector built per
# call; forward + VJP on the registered samples 30 -> 18 us (op_overhead.py's numpy
# fwd+vjp; ~24 us since constant rows give exactly 0, see _centred). Large inputs keep
# the one-pass einsum (no squared temporary; W4's [32, 32, 64]).
_SMALL = 1024


_MEAN_COLUMNS: dict = {}


def _mean_column(n, dtype):
    """A cached, read-only ``[n, 1]`` column of 1 / n: the rows' means as one product.
    (Exact for a constant row, which _small_stats has shifted to zeros first.)"""
    key = (n, dtype)
    column = _MEAN_COLUMNS.get(key)
    if column is None:
        if len(_MEAN_COLUMNS) >= 256:
            _MEAN_COLUMNS.clear()
        column = _MEAN_COLUMNS[key] = np.full((n, 1), 1.0 / n, dtype)
        column.flags.writeable = False
    return column


def _small_stats(rows, n, eps):
    """(x - mean, rstd as a column) of small float32/float64 rows ([..., n]: the mean is taken
    over the last axis).

    NOTE: each row is first shifted by its first value (a view; exact for a constant row, whose
    output is then exactly 0 as PyTorch's, see _centred), then by the mean of those
    differences, as _centred. The means are products with a column of 1 / n (not a sum divided
    by n: one call fewer a mean; a constant row's differences are zeros, so exact there)."""
    column = _mean_column(n, rows.dtype)
    # (the columns repeated to the rows' shape: one operand shape for the ufunc, the same
    # subtractions; with _small_forward's, LayerNorm(64)'s kernel on [1, 8, 64] float32 7.40 ->
    # 6.91 us, [4, 8, 48] 8.32 -> 7.71: /tmp/SP41/ln_try.py, thread time, one thread; the
    # module in place, no_grad 10.49 -> 10.34, forward + backward 34.2 -> 33.6, alternated)
    xc = rows - rows[..., :1].repeat(n, -1)
    xc -= xc.dot(column).repeat(n, -1)
    var = np.multiply(xc, xc).dot(column)
    var += eps
    return xc, np.reciprocal(np.sqrt(var, out=var), out=var)


# Small inputs: the forward keeps the normalized rows (private: not the output, which may be
# changed in place) and rstd for the VJP (see _keep). Rows of up to _DENSE_N values take their
# statistics as full-shape products with cached [n, n] matrices instead of [rows, 1] columns
# (a NumPy call on two arrays of one shape costs ~0.25 us, one that broadcasts a column ~0.55):
# forward 7.8 -> 4.6 us, forward + VJP 16.7 -> 9.6 on [3, 4] with weight and bias (timeit, one
# thread, min of 15 x 200); longer rows the columns above (the matrices grow as n^2).
_DENSE_N = 32
_MATRICES: dict = {}


def _matrices(n, dtype):
    """Cached read-only [n, n] matrices: x @ shift = x - x[:, :1] (exact: the other terms are
    zeros), x @ centre = x - mean(x), x @ mean = mean(x) in every column."""
    key = (n, dtype)
    found = _MATRICES.get(key)
    if found is None:
        if len(_MATRICES) >= 64:
            _MATRICES.clear()
        eye = np.eye(n, dtype=dtype)
        shift = eye.copy()
        shift[0] -= 1.0
        mean = np.full((n, n), 1.0 / n, dtype)
        found = _MATRICES[key] = (shift, eye - mean, mean)
        for matrix in found:
            matrix.flags.writeable = False
    return found


def _dense_stats(rows, n, eps):
    """(xhat, rstd) of [rows, n] float32/float64 rows, n <= _DENSE_N, both [rows, n].

    NOTE: the rows are shifted by their first value before they are centred (see
    _small_stats): a constant row is exactly zeros, so its output is exactly 0 as PyTorch's."""
    shift, centre, mean = _matrices(n, rows.dtype)
    # (n == 1: x - x, nan for an inf or nan x as PyTorch's; BLAS's product with the [[0]]
    # shift gave 0 there, s18 SL3)
    xhat = rows - rows if n == 1 else rows.dot(shift).dot(centre)
    var = np.multiply(xhat, xhat).dot(mean)
    var += eps
    rstd = np.reciprocal(np.sqrt(var, out=var), out=var)
    xhat *= rstd
    return xhat, rstd


def _small_forward(x, n, ndim, eps, weight, bias):
    if n <= _DENSE_N:
        xhat, rstd = _dense_stats(x if x.ndim == 2 and ndim == 1 else x.reshape(-1, n), n, eps)
        if xhat.shape != x.shape:
            xhat = xhat.reshape(x.shape)
    else:
        xhat, rstd = _small_stats(x.reshape(-1, n), n, eps)
        xhat *= rstd.repeat(n, -1)
        xhat = xhat.reshape(x.shape)
    out = np.multiply(xhat, weight) if weight is not None else xhat.copy()
    if bias is not None:
        out += bias
    _keep(out, (xhat, rstd, x))
    return out


_ONES_ROWS: dict = {}


def _lead_sum(t, x, ndim, n, fresh):
    """The affine gradients' sum of small ``t`` (x's shape) over x's leading dims, in the
    weight's shape: a product with a cached row of ones (one BLAS call, as _large_vjp's sums),
    or, with no leading dims, ``t`` itself (``fresh``: an array this rule made) or its copy.
    np.add.reduce costs ~0.95 us on [3, 4] over (0,) and on [5] over () (a copy), the product
    0.42 and the copy 0.18: the op's forward + VJP with weight and bias on [5] 15.1 -> 13.1 us
    (0.84 of its time), on [3, 4] 0.97 (thread time, 60 alternated rounds; an unchanged case
    0.94-1.0 in the same runs). The sum's last bit may differ from np.add.reduce's (BLAS adds
    in its own order)."""
    if x.ndim == ndim:
        return t if fresh else t.copy()
    rows = t.size // n
    key = (rows, t.dtype)
    ones = _ONES_ROWS.get(key)
    if ones is None:
        if len(_ONES_ROWS) >= 256:
            _ONES_ROWS.clear()
        ones = _ONES_ROWS[key] = np.ones(rows, t.dtype)
        ones.flags.writeable = False
    total = ones.dot(t.reshape(rows, n))
    return total if ndim == 1 else total.reshape(x.shape[x.ndim - ndim:])


def _as_of(stats: tuple, x: np.ndarray, n: int) -> tuple:
    """The kept (xhat, rstd), with xhat made (x - mean) * rstd of ``x`` by the forward's mean
    and rstd where ``x`` is no longer the forward's input array (``x.data = ...`` between
    forward and backward): PyTorch's rule reads the saved input as it is then, beside the
    statistics it saved (s29 BR19: ours used the forward's rows, silently other gradients)."""
    xhat, rstd, x0 = stats
    if x0 is x:
        return xhat, rstd
    if x.shape != x0.shape or x.dtype != x0.dtype:
        raise RuntimeError(f"layer_norm backward: the input's data was replaced by one of "
                           f"shape {list(x.shape)} / {x.dtype} after the forward saw "
                           f"{list(x0.shape)} / {x0.dtype}")
    rows = xhat.reshape(-1, n)
    scale = rstd.reshape(rows.shape[0], -1)  # (a column, or full rows: _dense_stats)
    moved = (x.reshape(-1, n) - x0.reshape(-1, n)) * scale
    return (rows + moved).reshape(xhat.shape), rstd


def _small_vjp(g, out, x, n, ndim, eps, weight, has_bias, needs):
    # gx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)), gw = g * weight, xhat the
    # normalized rows (kept, or computed again: the same bits); the weight's gradient sums
    # t = g * xhat over the leading dims.
    stats = _kept(out)
    if stats is None:
        out = _small_forward(x, n, ndim, eps, None, None)
        stats = _kept(out)
    xhat, rstd = _as_of(stats, x, n)
    grads = [None]
    if weight is not None:
        grads.append(_lead_sum(np.multiply(g, xhat), x, ndim, n, fresh=True) if needs[1]
                     else None)
    if has_bias:
        grads.append(_lead_sum(g, x, ndim, n, fresh=False) if needs[-1] else None)
    if needs[0]:
        gw = (np.multiply(g, weight) if weight is not None else g).reshape(-1, n)
        xhat = xhat.reshape(-1, n)  # (private: popped from _KEPT)
        if n <= _DENSE_N:
            _, centre, mean = _matrices(n, g.dtype)
            gx = gw.dot(centre)  # gw - mean(gw)
            xhat *= np.multiply(gw, xhat).dot(mean)
        else:
            mean = _mean_column(n, g.dtype)
            gx = gw - gw.dot(mean)
            xhat *= np.multiply(gw, xhat).dot(mean)
        gx -= xhat
        gx *= rstd
        grads[0] = gx if gx.shape == x.shape else gx.reshape(x.shape)
    return tuple(grads)


def _large_vjp(g, out, x, n, ndim, eps, weight, has_bias, needs):
    # gx = rstd * (gxhat - m - xhat * p), gxhat = g * weight, m and p the row means of gxhat
    # and gxhat * xhat; xhat the normalized rows the forward kept (or computed again: the
    # same bits). The row and column sums are BLAS products with a vector (weight or ones).
    # Keeping xhat (rather than the row means, centring x again here) makes the VJP 6 passes
    # over the rows instead of 9: W4's [32, 32, 64] float32 forward + VJP 0.90-0.91 of its
    # time (508 -> 459 us, thread time, 30 alternated rounds of the old rules against these);
    # the W4 step 0.999 (40 rounds, thread time: within noise).
    stats = _kept(out)
    if stats is None:
        stats = _normalized_rows(x.reshape(-1, n), eps) + (x,)
    xhat, rstd = _as_of(stats, x, n)
    g2 = g.reshape(-1, n)
    ones = np.ones(xhat.shape[0], g.dtype)
    grads = [None]
    t = np.multiply(g2, xhat)
    if weight is not None:
        grads.append((ones @ t).reshape(weight.shape) if needs[1] else None)
    if has_bias:
        grads.append((ones @ g2).reshape(x.shape[x.ndim - ndim:]) if needs[-1] else None)
    if needs[0]:
        w = weight.reshape(-1) if weight is not None else np.ones(n, g.dtype)
        if weight is None:
            gxhat = g2
        else:
            gxhat = _by_cols(np.multiply, g2, w) if g2.flags.c_contiguous else g2 * w
        p = t @ w
        m = gxhat @ np.ones(n, g.dtype)
        p *= 1.0 / n
        m *= 1.0 / n
        # Written into xhat (private: popped from _KEPT, or made here), never into g.
        _by_rows(np.multiply, xhat, p, xhat)
        _by_rows(np.add, xhat, m, xhat)
        gx = np.subtract(gxhat, xhat, out=xhat)
        _by_rows(np.multiply, gx, rstd, gx)
        grads[0] = gx.reshape(x.shape)
    return tuple(grads)


def _fast(x: np.ndarray, n: int) -> bool:
    # The row path: float32/float64 with something to normalize (float16 and empty inputs take
    # the general path, which NumPy's reductions handle).
    return x.dtype.itemsize >= 4 and n > 0 and x.size > 0


def _layer_norm_forward(x, *affine, ndim, eps, has_weight):
    n = math.prod(x.shape[x.ndim - ndim:])
    weight = affine[0] if has_weight else None
    bias = affine[-1] if len(affine) > int(has_weight) else None
    if _fast(x, n):
        if x.size <= _SMALL:
            return _small_forward(x, n, ndim, eps, weight, bias)
        # The normalized rows are kept for the VJP (private: not the output, which may be
        # changed in place); see _large_vjp.
        xhat, rstd = _normalized_rows(x.reshape(-1, n), eps)
        if weight is None:
            out = xhat if _SKIP_KEEP[0] else xhat.copy()
        else:  # (nothing kept: the output may be xhat itself)
            out = _by_cols(np.multiply, xhat, weight, xhat if _SKIP_KEEP[0] else None)
            # (_SPREAD_N: the op on W4's [32, 32, 64] float32 forward 0.93-0.94, forward + VJP
            # 0.93-0.95 of its time, float64 0.91-0.93 / 0.92-0.97, thread time, 40 alternated
            # rounds against session 23's rules, 3 runs; the W4 step 0.995, within noise)
        if bias is not None:
            _by_cols(np.add, out, bias, out)
        out = out.reshape(x.shape)
        _keep(out, (xhat, rstd, x))
        return out
    else:
        # float16 (in float32, as PyTorch's CPU kernel accumulates) and empty inputs.
        work = x.astype(np.float32) if x.dtype.itemsize < 4 else x
        axes = tuple(range(x.ndim - ndim, x.ndim))
        centred = work - work.mean(axis=axes, keepdims=True)
        var = (centred * centred).mean(axis=axes, keepdims=True)
        out = centred / np.sqrt(var + eps)
    if weight is not None:
        out *= weight
    if bias is not None:
        out += bias
    return out.astype(x.dtype, copy=False)


def forward_without_grad(x, *affine, ndim, eps, has_weight):
    """layer_norm's forward for an output no VJP will see: keeps nothing for one."""
    _SKIP_KEEP[0] = True
    try:
        return _layer_norm_forward(x, *affine, ndim=ndim, eps=eps, has_weight=has_weight)
    finally:
        _SKIP_KEEP[0] = False


def _layer_norm_vjp(F, g, out, x, *affine, ndim, eps, has_weight, needs):
    weight = affine[0] if has_weight else None
    has_bias = len(affine) > int(has_weight)
    n = math.prod(x.shape[x.ndim - ndim:])
    if F is ARRAY and type(g) is _ndarray and g.dtype == x.dtype and _fast(x, n):
        if x.size <= _SMALL:
            return _small_vjp(g, out, x, n, ndim, eps, weight, has_bias, needs)
        return _large_vjp(g, out, x, n, ndim, eps, weight, has_bias, needs)
    # The general rule, written with F so that it is recorded for double backward.
    axes = tuple(range(x.ndim - ndim, x.ndim))
    lead = tuple(range(x.ndim - ndim))
    scale = 1.0 / max(n, 1)
    centred = x - F.sum(x, axes, True) * scale
    rstd = 1.0 / F.sqrt(F.sum(centred * centred, axes, True) * scale + eps)
    xhat = centred * rstd
    gxhat = g * weight if weight is not None else g
    gx = rstd * (gxhat - F.sum(gxhat, axes, True) * scale
                 - xhat * (F.sum(gxhat * xhat, axes, True) * scale))
    grads = [gx if needs[0] else None]
    if weight is not None:
        gw = g * xhat
        grads.append((F.sum(gw, lead) if lead else gw) if needs[1] else None)
    if has_bias:
        grads.append((F.sum(g, lead) if lead else g) if needs[-1] else None)
    return tuple(grads)


def _layer_norm_samples(rng):
    def x(*shape):
        return rng.standard_normal(shape)

    return [
        Sample((x(3, 4), x(4), x(4)), {"ndim": 1, "eps": 1e-5, "has_weight": True},
               note="weight and bias"),
        Sample((x(2, 3, 4), x(3, 4), x(3, 4)), {"ndim": 2, "eps": 1e-5, "has_weight": True},
               note="two normalized dims"),
        Sample((x(2, 3, 5),), {"ndim": 1, "eps": 1e-5, "has_weight": False}, note="no affine"),
        Sample((x(3, 4), x(4)), {"ndim": 1, "eps": 0.1, "has_weight": True},
               note="weight only"),
        Sample((x(3, 4), x(4)), {"ndim": 1, "eps": 1e-5, "has_weight": False},
               note="bias only"),
        Sample((x(5), x(5), x(5)), {"ndim": 1, "eps": 1e-5, "has_weight": True},
               note="1-d input"),
    ]


LAYER_NORM = register("layer_norm", forward=_layer_norm_forward, vjp=_layer_norm_vjp,
                      samples=_layer_norm_samples, wants_needs=True, grads="exact")


def _narrow_vjp(g, x, *affine, ndim, eps, has_weight, needs, narrow):
    """layer_norm's gradients of a float16 / bfloat16 input (``narrow``; ``g``, ``x`` and the
    affine inputs come as float32 copies, each gradient is rounded once by the caller):
    PyTorch's kernel stores each row's mean and rstd in the input's dtype and its backward
    reads those (float32 values as here were 2-3 ulps off on 1174 of 2904 float16 gradients;
    rounded, 0 apart, bfloat16 1)."""
    n = math.prod(x.shape[x.ndim - ndim:])
    rows = x.reshape(-1, n)
    mean = rows.mean(axis=1, dtype=np.float64).astype(np.float32)[:, None]
    var = np.square(rows - mean).mean(axis=1, dtype=np.float64)[:, None]
    rstd = (1.0 / np.sqrt(var + eps)).astype(np.float32).astype(narrow).astype(np.float32)
    xhat = (rows - mean.astype(narrow).astype(np.float32)) * rstd
    g2 = g.reshape(-1, n)
    weight = affine[0].reshape(-1) if has_weight else None
    grads = [None]
    if has_weight:
        grads.append((g2 * xhat).sum(axis=0).reshape(affine[0].shape) if needs[1] else None)
    if len(affine) > int(has_weight):
        grads.append(g2.sum(axis=0).reshape(affine[-1].shape) if needs[-1] else None)
    if needs[0]:
        gw = g2 * weight if weight is not None else g2
        gx = rstd * (gw - gw.mean(axis=1, keepdims=True)
                     - xhat * (gw * xhat).mean(axis=1, keepdims=True))
        grads[0] = gx.reshape(x.shape)
    return tuple(grads)


half.NARROW_RULES["layer_norm"] = _narrow_vjp
