"""Fused neural-network primitives (linear, dropout, softmax cross-entropy), registered like
``_ops``'s.

Cross-entropy is the last op of every classifier and runs once per training step on the whole
batch of logits. Written from primitives it is log_softmax, a product with the target
distribution and a sum: three graph nodes, each with its own pass over the logits forward and
backward. Fused, it is one node whose backward is a single expression, ``p * sum(a) - a``.

The affine map ``x @ w.T + b`` of every Linear layer is fused for a similar reason. Written as
matmul(x, transpose(w)) + b it makes an extra output array for the sum, and the weight's gradient
comes back through the transpose as a transposed (column-major) view, which the optimizer then
walks with strided access: on a 1024 x 1024 weight that made an SGD step 50 times slower than on
a contiguous array. Fused, the weight gradient is ``g.T @ x``, computed directly in the
weight's own row-major layout, and the bias is added in place into the fresh product.

This module imports only NumPy and ``_ops``.
"""

from __future__ import annotations

import math

import numpy as np

from ._buffers import empty
from ._ops import ARRAY, Sample, _float, register

__all__ = ["DROPOUT", "LINEAR", "SOFTMAX_CROSS_ENTROPY"]


def _reduce_keepdims(ufunc, x, dim):
    """``ufunc.reduce(x, axis=dim, keepdims=True)``, fast over a short last axis.

    NumPy reduces a short contiguous last axis (the classes of a batch of logits) slowly:
    3 to 4 times slower on 256 x 5 than one call per column, used here up to 16 columns. The
    columns are combined left to right: for fewer than 8 that is NumPy's own order, so sums are
    the same bit for bit; from 8 on NumPy sums pairwise, and the last bit may differ.
    """
    n = x.shape[dim]
    if x.ndim < 2 or dim not in (-1, x.ndim - 1) or not 2 <= n <= 16:
        return ufunc.reduce(x, axis=dim, keepdims=True)
    out = ufunc(x[..., 0:1], x[..., 1:2])
    for column in range(2, n):
        ufunc(out, x[..., column:column + 1], out=out)
    return out


def _stable_shift(x, dim):
    """The per-slice maximum along ``dim`` (0 where it is not finite), to subtract before exp."""
    m = _reduce_keepdims(np.maximum, x, dim)
    # NOTE: a slice that is all -inf (or holds +inf) is not shifted, so it gives -inf / nan as
    # log_softmax does, instead of inf - inf.
    return np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)


def _softmax_cross_entropy_forward(x, a, *, dim, reduction):
    # loss = -sum_c a_c * log_softmax(x)_c along dim; then summed over everything ("sum") or
    # kept per slice ("none"). ``a`` is the target distribution already multiplied by class
    # weights and divided by the mean's denominator, so this one op covers every option of
    # cross_entropy.
    x = _float(x)
    shifted = x - _stable_shift(x, dim)
    log_p = shifted - np.log(_reduce_keepdims(np.add, np.exp(shifted), dim))
    with np.errstate(invalid="ignore"):  # 0 * -inf for a masked class; handled below
        terms = a * log_p
    axis = None if reduction == "sum" else dim
    loss = -np.sum(terms, axis=axis)
    if np.isnan(loss).any():
        # NOTE: a class with target weight 0 contributes 0 even where its logit is -inf (a masked
        # class), as PyTorch's gather-based loss; only then is the slower masked sum needed.
        loss = -np.sum(np.where(a == 0, 0.0, terms), axis=axis).astype(x.dtype, copy=False)
    return loss


def _softmax_cross_entropy_vjp(F, g, out, x, a, *, dim, reduction, needs):
    # d loss / d x = p * sum_c(a) - a, with p = softmax(x);  d loss / d a = -log_softmax(x).
    shifted = x - F.const(_stable_shift(F.data(x), dim))
    e = F.exp(shifted)
    if F is ARRAY:
        z, a_sum = _reduce_keepdims(np.add, e, dim), _reduce_keepdims(np.add, a, dim)
    else:
        z, a_sum = F.sum(e, dim, True), F.sum(a, dim, True)
    if reduction == "none":
        g = F.reshape(g, x.shape[:dim] + (1,) + x.shape[dim + 1:])
    gx = g * (e / z * a_sum - a) if needs[0] else None
    ga = -g * (shifted - F.log(z)) if needs[1] else None
    return gx, ga


def _softmax_cross_entropy_samples(rng):
    out = []
    for shape, dim in (((5,), 0), ((3, 4), 1), ((2, 3, 4), 1)):
        for reduction in ("sum", "none"):
            out.append(Sample((rng.standard_normal(shape) * 2.0, rng.uniform(0.0, 1.0, shape)),
                              {"dim": dim, "reduction": reduction}))
    one_hot = np.eye(4)[[1, 3, 0]] * np.array([[0.5], [1.5], [0.0]])  # weighted, one ignored
    out.append(Sample((rng.standard_normal((3, 4)), one_hot), {"dim": 1, "reduction": "sum"},
                      "class-index targets"))
    return out


SOFTMAX_CROSS_ENTROPY = register(
    "softmax_cross_entropy",
    forward=_softmax_cross_entropy_forward,
    vjp=_softmax_cross_entropy_vjp,
    samples=_softmax_cross_entropy_samples,
    wants_needs=True,
)


# --------------------------------------------------------------------------------------------
# Linear: y = x @ w.T (+ b), x [*, in], w [out, in], b [out]. The bias is optional: the op takes
# two or three inputs.


def _linear_forward(x, w, *bias):
    out = np.matmul(x, w.T)
    if bias:
        # The product is a fresh array, so the bias can be added into it in place. Callers
        # (nn.functional.linear) use this op only when all inputs have one float dtype and the
        # bias is [out], so this neither changes the dtype nor broadcasts ``out`` itself.
        out += bias[0]
    return out


def _linear_vjp(F, g, out, x, w, *bias, needs):
    # On the first-order path the products are written into recycled buffers (_buffers).
    recycle = F is ARRAY and g.dtype == w.dtype == x.dtype
    gx = gw = None
    if needs[0]:
        gx = np.matmul(g, w, out=empty(x.shape, g.dtype)) if recycle else F.matmul(g, w)
    if needs[1]:
        # Flatten the batch dims: gw = g2.T @ x2 is [out, in], row-major like w itself.
        rows = math.prod(x.shape[:-1])
        g2 = F.swapaxes(F.reshape(g, (rows, w.shape[0])), 0, 1)
        x2 = F.reshape(x, (rows, w.shape[1]))
        gw = np.matmul(g2, x2, out=empty(w.shape, g.dtype)) if recycle else F.matmul(g2, x2)
    if not bias:
        return gx, gw
    gb = None
    if needs[2]:
        gb = F.sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g
    return gx, gw, gb


def _linear_samples(rng):
    out = []
    for x_shape in ((4,), (3, 4), (2, 3, 4)):
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal((5, 4)), rng.standard_normal(5)
        out.append(Sample((x, w, b), note=f"x {x_shape} with bias"))
        out.append(Sample((x, w), note=f"x {x_shape} without bias"))
    return out


LINEAR = register(
    "linear",
    forward=_linear_forward,
    vjp=_linear_vjp,
    samples=_linear_samples,
    wants_needs=True,
)


# --------------------------------------------------------------------------------------------
# Dropout: y = x * keep / (1 - p), with keep a boolean mask (a constant input). As a product
# with a float mask it would make the mask array, and its VJP would also compute the gradient of
# the mask, which nothing needs.


def _dropout_scale(dtype, p):
    """PyTorch's factor: 1 / (1 - p) computed in the input's dtype (1 when p == 1: all dropped)."""
    dtype = np.dtype(dtype)
    return dtype.type(1.0) / dtype.type(1.0 - p) if p < 1.0 else dtype.type(1.0)


def _dropout_forward(x, keep, *, p):
    out = np.multiply(x, keep)
    out *= _dropout_scale(x.dtype, p)  # x * 1 is exact, so this rounds once, as x * mask does
    return out


def _dropout_vjp(F, g, out, x, keep, *, p):
    return g * F.const(keep) * _dropout_scale(x.dtype, p), None


def _dropout_samples(rng):
    keep = rng.uniform(size=(3, 4)) >= 0.3
    return [Sample((rng.standard_normal((3, 4)), keep), {"p": 0.3})]


DROPOUT = register("dropout", forward=_dropout_forward, vjp=_dropout_vjp,
                   samples=_dropout_samples)
