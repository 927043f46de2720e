"""float16 reductions and scans computed in float32, as PyTorch's CPU kernels accumulate.

PyTorch sums, scans, normalizes and takes moments of float16 tensors in float32 and rounds the
result once to float16; NumPy's float16 loops round after every step (errors of several percent
on small log-probabilities, sign flips in cancelled gradients). The ops call these helpers from
a guarded branch (``x.dtype is HALF``) so that the float32 / float64 paths stay as they are.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import ARRAY

HALF = np.dtype(np.float16)
_SINGLE = np.dtype(np.float32)


def half_forward(forward, x, **kwargs):
    """``forward`` on ``x`` (float16) widened to float32, the result rounded to float16."""
    with np.errstate(over="ignore"):  # (beyond float16's range: inf, as PyTorch gives)
        return np.asarray(forward(x.astype(_SINGLE), **kwargs)).astype(HALF)


def half_vjp(vjp, F, g, out, x, **kwargs):
    """``vjp`` in float32 on the first-order (array) path, each gradient rounded to float16;
    None when the rule runs on Tensors (double backward keeps the float16 rule)."""
    if F is not ARRAY or type(g) is not np.ndarray:
        return None
    grads = vjp(F, g.astype(_SINGLE), np.asarray(out).astype(_SINGLE), x.astype(_SINGLE),
                **kwargs)
    return tuple(None if r is None else np.asarray(r).astype(HALF) for r in grads)


def half_log_softmax(x, dim):
    """log_softmax of float16 ``x`` with PyTorch's roundings; None for inputs the general rule
    takes (0-d, empty, a non-finite maximum).

    Along a last (innermost) dim PyTorch rounds the float32 sum of exp(x - max) to float16 and
    takes its log in float16; along other dims the sum and log stay float32. Both then give
    (x - max) - log(sum) in float32 (checked against torch 2.13 on [64, 65] at scales 0.1, 1,
    8, three seeds: 0 of 4160 values differ along dim -1, at most 1 along dim 0).
    """
    if x.ndim == 0 or x.size == 0:
        return None
    wide = x.astype(_SINGLE)
    top = np.maximum.reduce(wide, dim, None, None, True)
    if not np.isfinite(top).all():
        return None
    wide -= top
    total = np.add.reduce(np.exp(wide), dim, None, None, True)
    if math.prod(x.shape[dim % x.ndim + 1:]) == 1:  # (PyTorch's innermost-dim kernel)
        total = total.astype(HALF)
    wide -= np.log(total)
    return wide.astype(HALF)


def half_logsumexp(x, dim, keepdim):
    """logsumexp of float16 ``x`` in PyTorch's float16 steps (an infinite maximum shifts by
    0): log(sum(exp(x - max))) + max, each step rounded to float16 but the sum, which adds in
    float32; None for 0-d or empty inputs."""
    if x.ndim == 0 or x.size == 0:
        return None
    axis = tuple(dim) if type(dim) is list else dim
    top = np.maximum.reduce(x, axis, None, None, True)
    top[np.isinf(top)] = 0
    total = np.add.reduce(np.exp(x - top), axis, _SINGLE, None, True).astype(HALF)
    out = np.log(total) + top
    return out if keepdim else out.squeeze(axis)


def half_var_grad(g, x, dim, scale):
    """var's gradient on float16 arrays in PyTorch's steps, (scale * g) * (x - mean), each
    rounded to float16: the mean summed in float32 (as PyTorch's), the scalar product in float32
    (PyTorch's scalar is not rounded to float16 first, as NumPy's would be)."""
    axis = tuple(dim) if type(dim) is list else dim
    centred = x - np.mean(x, axis=axis, dtype=_SINGLE, keepdims=True).astype(HALF)
    return (g.astype(_SINGLE) * np.float32(scale)).astype(HALF) * centred


def half_std_grad(g, out, x, dim, denominator):
    """std's gradient on float16 arrays in PyTorch's steps: var's, given g / (2 std) (0 where
    std is 0)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g_var = g / (out * 2)
    g_var = np.where(out == 0, np.float16(0), g_var)
    return half_var_grad(g_var, x, dim, 2.0 / denominator)
