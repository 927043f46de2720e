"""Fused neural-network primitives (softmax cross-entropy), registered like those in ``_ops``.

Cross-entropy is the last op of every classifier and runs once per training step on the whole
batch of logits. Written from primitives it is log_softmax, a product with the target
distribution and a sum: three graph nodes, each with its own pass over the logits forward and
backward. Fused, it is one node whose backward is a single expression, ``p * sum(a) - a``.

This module imports only NumPy and ``_ops``.
"""

from __future__ import annotations

import numpy as np

from ._ops import Sample, _float, register

__all__ = ["SOFTMAX_CROSS_ENTROPY"]


def _stable_shift(x, dim):
    """The per-slice maximum along ``dim`` (0 where it is not finite), to subtract before exp."""
    m = np.amax(x, axis=dim, keepdims=True)
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
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
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
    z = F.sum(e, dim, True)
    if reduction == "none":
        g = F.reshape(g, x.shape[:dim] + (1,) + x.shape[dim + 1:])
    gx = g * (e / z * F.sum(a, dim, True) - a) if needs[0] else None
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
