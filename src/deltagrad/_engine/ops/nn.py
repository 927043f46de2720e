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

It imports NumPy, the registry and the engine's buffers.
"""

from __future__ import annotations

import math

import numpy as np

from ..buffers import MIN_BYTES, empty, give
from .registry import ARRAY, Sample, _float, _reduce_keepdims, register

__all__ = ["CROSS_ENTROPY_INDEX", "DROPOUT", "LINEAR", "SOFTMAX_CROSS_ENTROPY", "Scratch"]


def _stable_shift(x, dim):
    """The per-slice maximum along ``dim`` (0 where it is not finite), to subtract before exp."""
    m = _reduce_keepdims(np.maximum, x, dim)
    # NOTE: a slice that is all -inf (or holds +inf) is not shifted, so it gives -inf / nan as
    # log_softmax does, instead of inf - inf. All maxima are finite when their sum is (one
    # reduction; a sum that overflows takes the masked path, which then changes nothing).
    if math.isfinite(np.add.reduce(m, axis=None)):
        return m
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
# Cross-entropy with class-index targets, the common case: logits x [N, C], targets t [N]
# (an integer input, not differentiated). Only the target's log-probability is needed,
# loss_i = logsumexp(x_i) - x_i[t_i], so no [N, C] target distribution is built; and since the
# targets are an input rather than a constant folded into one, capture_step can replay it.
# Entries equal to ignore_index count for nothing; "mean" divides by the number of the others
# (0 / 0 = nan when all are ignored, as in PyTorch).


def _row_weights(valid, reduction, n, dtype):
    """Each row's weight in the loss: 1 (sum, none) or 1/count (mean), 0 where ignored; a
    scalar when no row is ignored (``valid`` None)."""
    if reduction == "mean":
        count = n if valid is None else int(np.count_nonzero(valid))
        if count:
            scale = dtype.type(1.0) / dtype.type(count)
        else:
            scale = dtype.type(np.inf)  # 1 / 0, weighing only rows that count (none)
    else:
        scale = dtype.type(1.0)
    # NOTE: ignored rows weigh exactly 0, so with every row ignored the loss is nan (0 / 0)
    # but the gradient is 0, as in PyTorch.
    return scale if valid is None else np.where(valid, scale, dtype.type(0.0))


def _counted_targets(t, ignore_index):
    """The mask of rows that count (None when all do, the common case), and the targets with
    ignored rows pointed at class 0 so that they can index."""
    valid = t != ignore_index
    if np.logical_and.reduce(valid, axis=None):  # (the ufunc's reduction: .all() adds 1 us)
        return None, t
    return valid, np.where(valid, t, 0)


def _exp_shifted(x, m):
    """exp(x - m) in a recycled work array when large (a fresh one of W5's [700, 10000] logits
    costs a page fault per 4 KB: sub + exp 21.5 -> 10.6 ms)."""
    if x.nbytes < MIN_BYTES:  # (small: NumPy's allocator is as fast; no pool lookup)
        e = x - m
    else:
        e = np.subtract(x, m, out=empty(x.shape, x.dtype))
    return np.exp(e, out=e)


class Scratch:
    """A slot on a node that the op's forward fills for its own rule.

    cross_entropy_index's forward computes exp(x - max) and its row sums, which its rule needs
    again: kept here (as PyTorch keeps log_softmax's output), the rule makes no pass of its own
    over the logits for them, and the same values come out (W5's [700, 10000] logits: the rule
    15.7 -> 2.9 ms, one thread). The rule empties the slot (the array becomes the gradient), so
    a second backward (retain_graph) computes them again; without a slot (``scratch=None``)
    the rule always does. The slot also names the very arrays it was computed from, and the
    rule uses it only for those: a tool that runs the forward again on other arrays
    (check_graph, in float64) leaves nothing the rule would take.
    """

    __slots__ = ("value",)

    def __init__(self):
        self.value = None

    def __repr__(self) -> str:
        return "Scratch()"

    # Slots compare equal whatever they hold: an attribute with no static value (so that a
    # recording of the same step, as capture_step makes, sees the same attributes).
    def __eq__(self, other) -> bool:
        return type(other) is Scratch

    def __hash__(self) -> int:
        return hash(Scratch)


def _cross_entropy_index_forward(x, t, *, ignore_index, reduction, scratch=None):
    x_in, x = x, _float(x)
    m = _stable_shift(x, 1)
    e = _exp_shifted(x, m)
    sums = _reduce_keepdims(np.add, e, 1)
    log_z = np.log(sums[:, 0])
    if scratch is not None:
        scratch.value = (x_in, t, e, sums)
    elif e.nbytes >= MIN_BYTES:
        give(e)  # (the only reference: the work array is recycled by the backward)
    del e
    valid, safe = _counted_targets(t, ignore_index)
    rows = np.arange(t.shape[0])
    # loss_i = log(sum(exp(x_i - m_i))) - (x_i[t_i] - m_i)
    losses = np.subtract(log_z, x[rows, safe] - m[rows, 0], out=log_z)
    if valid is not None:
        losses *= valid
    if reduction == "none":
        return losses
    total = np.add.reduce(losses)
    if reduction == "sum":
        return total
    count = t.shape[0] if valid is None else np.count_nonzero(valid)
    if count:
        return total / x.dtype.type(count)
    return x.dtype.type(np.nan)  # every row ignored: 0 / 0, as PyTorch


def _cross_entropy_index_vjp(F, g, out, x, t, *, ignore_index, reduction, needs, scratch=None):
    # d loss_i / d x_i = w_i (softmax(x_i) - onehot(t_i)), w_i the row's weight in the loss.
    t = F.data(t)
    n = t.shape[0]
    dtype = F.data(x).dtype
    valid, safe = _counted_targets(t, ignore_index)
    weights = _row_weights(valid, reduction, n, dtype)
    rows = np.arange(n)
    if valid is not None:
        weights = weights[:, None]
    if reduction == "none":
        g = F.reshape(g, (n, 1))
    saved = None
    if scratch is not None:
        saved, scratch.value = scratch.value, None
        if saved is not None and (saved[0] is not F.data(x) or saved[1] is not t):
            saved = None  # computed from other arrays (see Scratch)
    if F is ARRAY:  # first order: softmax, minus 1 at the targets, scaled, all in place
        if saved is not None:
            p, sums = saved[2:]  # the forward's exp(x - max) and its row sums (see Scratch)
        else:
            # A finite loss means every row's maximum is finite (a row with a maximum that is
            # not finite has a loss that is not: nan or inf), so the careful shift is not needed.
            finite = math.isfinite(out) if out.ndim == 0 else math.isfinite(
                np.add.reduce(out, axis=None))
            p = _exp_shifted(x, _reduce_keepdims(np.maximum, x, 1) if finite
                             else _stable_shift(x, 1))
            sums = _reduce_keepdims(np.add, p, 1)
        p /= sums
        p[rows, safe] -= 1.0
        if valid is None and g.ndim == 0:
            p *= weights * g  # both scalars: one pass
        else:
            p *= weights
            p *= g
        return p, None
    onehot = np.zeros(x.shape, dtype)
    onehot[rows, safe] = 1.0
    e = F.exp(x - F.const(_stable_shift(F.data(x), 1)))
    p = e / F.sum(e, 1, True)
    return (p - F.const(onehot)) * F.const(np.asarray(weights, dtype)) * g, None


def _cross_entropy_index_samples(rng):
    x = rng.standard_normal((4, 3)) * 2.0
    return [Sample((x, np.array([2, 0, 1, 2])), {"ignore_index": -100, "reduction": r},
                   f"reduction {r}") for r in ("mean", "sum", "none")] + [
        Sample((x, np.array([2, -1, 1, -1])), {"ignore_index": -1, "reduction": "mean"},
               "two rows ignored")]


CROSS_ENTROPY_INDEX = register(
    "cross_entropy_index",
    forward=_cross_entropy_index_forward,
    vjp=_cross_entropy_index_vjp,
    samples=_cross_entropy_index_samples,
    wants_needs=True,
)


# --------------------------------------------------------------------------------------------
# Linear: y = x @ w.T (+ b), x [*, in], w [out, in], b [out]. The bias is optional: the op takes
# two or three inputs.


def _linear_forward(x, w, *bias):
    if x.ndim > 2:
        # NOTE: one GEMM over the flattened batch dims: NumPy's matmul of a 3-D x by a 2-D w
        # loops over x's leading dim (one small GEMM each, 3-D [32, 32, 64] @ [64, 256]: 0.51
        # against 0.27 ms flattened; W4, benchmarks/ab.py).
        rows = math.prod(x.shape[:-1])
        return _linear_forward(x.reshape(rows, x.shape[-1]), w, *bias).reshape(
            x.shape[:-1] + (w.shape[0],))
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
    rows = math.prod(x.shape[:-1])
    if needs[0]:
        if recycle and x.ndim > 2:  # one GEMM over the flattened batch dims, as the forward
            gx = empty(x.shape, g.dtype)  # (its own array, written through a 2-D view)
            np.matmul(g.reshape(rows, w.shape[0]), w, out=gx.reshape(rows, w.shape[1]))
        elif recycle:
            gx = np.matmul(g, w, out=empty(x.shape, g.dtype))
        else:
            gx = F.matmul(g, w)
    if needs[1]:
        # Flatten the batch dims: gw = g2.T @ x2 is [out, in], row-major like w itself.
        g2 = F.swapaxes(F.reshape(g, (rows, w.shape[0])), 0, 1)
        x2 = F.reshape(x, (rows, w.shape[1]))
        gw = np.matmul(g2, x2, out=empty(w.shape, g.dtype)) if recycle else F.matmul(g2, x2)
    if not bias:
        return gx, gw
    gb = None
    if needs[2]:
        if recycle and g.ndim > 1 and g.dtype.itemsize >= 4:
            # The column sums as one product with a vector of ones (BLAS; [1024, 64]: 4 against
            # 25 us for NumPy's reduction over the rows; the last bit may differ).
            gb = np.ones(rows, g.dtype) @ g.reshape(rows, w.shape[0])
        else:
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
    scale = _dropout_scale(x.dtype, p)
    if F is ARRAY and type(g) is np.ndarray and g.shape == keep.shape and g.dtype == x.dtype:
        gx = np.multiply(g, keep)  # one new array, scaled in place: g * keep * scale
        gx *= scale
        return gx, None
    return g * F.const(keep) * scale, None


def _dropout_samples(rng):
    keep = rng.uniform(size=(3, 4)) >= 0.3
    return [Sample((rng.standard_normal((3, 4)), keep), {"p": 0.3})]


DROPOUT = register("dropout", forward=_dropout_forward, vjp=_dropout_vjp,
                   samples=_dropout_samples)
