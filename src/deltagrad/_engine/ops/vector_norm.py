"""Vector p-norms over dims (``linalg.vector_norm``; ``norm`` and ``Tensor.norm`` reach it):
forward and VJP, any ``ord`` (0, inf, -inf, negative, fractional), float16 in float32.
(Split out of reductions.py, whose dim helpers it shares.)"""

from __future__ import annotations

import math

import numpy as np

from .half import HALF, half_forward
from .reductions import _keep
from .registry import ARRAY, Sample, _axis, c_order, register

_ndarray = np.ndarray


def _vector_norm_forward(x, *, ord=2.0, dim=None, keepdim=False):  # noqa: A002 - torch's name
    if x.dtype is HALF:  # (float16 computes in float32, as PyTorch: ops/half.py)
        return half_forward(_vector_norm_forward, x, ord=ord, dim=dim, keepdim=keepdim)
    axis = tuple(dim) if type(dim) is list else dim
    if ord != 0 and (x.size == 1 or axis is not None and _one_element(x.shape, axis)):
        # NOTE: a norm of one element is its |x| for every order, as PyTorch's (which skips
        # the reduction there): no overflow of x * x at 3e38, no underflow at 1e-40.
        return np.maximum.reduce(np.abs(x), axis, None, None, keepdim)
    # (the ufuncs' reductions, positional: np.sum / np.amax add 1 to 3 us of dispatch on small
    # arrays; each power in place)
    if ord == 2 and x.dtype.kind == "f":
        total = c_order(np.add.reduce(np.multiply(x, x), axis, None, None, keepdim))  # |x|^2
        return np.sqrt(total, out=total) if type(total) is _ndarray else np.sqrt(total)
    if ord == 0:  # (order "C" below: the reductions of a C-ordered array are C-ordered)
        count = np.sum(np.not_equal(x, 0, order="C"), axis=axis, keepdims=keepdim)
        return count.astype(x.real.dtype if x.dtype.kind == "c" else x.dtype)  # (a real norm)
    a = np.abs(x, order="C")
    if ord == math.inf:
        return np.maximum.reduce(a, axis, None, None, keepdim)
    if ord == -math.inf:
        return np.minimum.reduce(a, axis, None, None, keepdim)
    if ord == 1:
        return np.add.reduce(a, axis, None, None, keepdim)
    if ord == 2:
        return np.sqrt(np.add.reduce(a * a, axis, None, None, keepdim))
    if ord > 0:  # (0 ** ord is 0: nothing divides by zero)
        a **= ord
        return np.add.reduce(a, axis, None, None, keepdim) ** (1.0 / ord)
    with np.errstate(divide="ignore"):
        return np.add.reduce(a ** ord, axis=axis, keepdims=keepdim) ** (1.0 / ord)


def _one_element(shape, axis) -> bool:
    """Whether the reduction over ``axis`` (an int or a tuple of them) takes one element."""
    if type(axis) is int:
        return shape[axis] == 1
    if len(axis) == 1:  # (the usual dim=(d,): no generator)
        return shape[axis[0]] == 1
    return bool(axis) and all(shape[d] == 1 for d in axis)


def _vector_norm_vjp(F, g, out, x, *, ord=2.0, dim=None, keepdim=False):  # noqa: A002
    if type(dim) is list:
        dim = tuple(dim)
    xd = F.data(x)
    g_k = _keep(g, x.ndim, dim, keepdim)
    if ord == 0:  # (PyTorch's rule gives no gradient: x.grad stays None)
        return (None,)
    out_k = _keep(out, x.ndim, dim, keepdim)
    od = F.data(out_k)
    if (F is ARRAY and type(g) is _ndarray and np.count_nonzero(od) == od.size
            and xd.dtype.kind != "c"):
        # No zero norm (and, below, no zero element): PyTorch's rules without their masks.
        if ord == 2:
            # g * (x / norm), PyTorch 2.13's order (x * (g / norm) differed in the last bit
            # on 177 of 200 float32 samples, and overflowed at a norm of 1e-40)
            grad = np.true_divide(x, out_k)
            grad *= g_k
            return (grad,)
        if ord == 1:
            return (np.multiply(np.sign(x), g_k),)
        if ord in (math.inf, -math.inf):
            # NOTE: ties in |x| share the gradient evenly, as amax does.
            mask = np.abs(x) == out_k
            counts = np.add.reduce(mask, dim, x.dtype, None, True)
            grad = np.copysign(mask, x, dtype=x.dtype)  # sign(x) where |x| is the norm, else 0
            grad *= g_k / counts
            return (grad,)
        if x.ndim and np.count_nonzero(x) == x.size:
            # sign(x) |x| ** (ord - 1) * (g / norm ** (ord - 1)), PyTorch's rule: the scale
            # on the reduced shape, one broadcast (vector_norm's rule, ord 3 over dims (0, 2)
            # of [2, 3, 2]: 3.2 -> 2.6 us).
            # (ord 3, the usual p > 2, squares by a product: np.power costs 0.45 us on a
            # small array, a product 0.25, and the values are the same)
            grad = np.abs(x)
            if ord == 3:
                scale = g_k / np.multiply(out_k, out_k)
                np.multiply(grad, grad, out=grad)
            else:
                scale = g_k / np.power(out_k, ord - 1)
                np.power(grad, ord - 1, out=grad)
            np.copysign(grad, x, out=grad)
            grad *= scale
            return (grad,)
    sign = F.const(np.sign(xd))  # (x / |x| for complex x: the rules below are PyTorch's)
    # |x| as x * conj(sign) (the same for real x)
    unsign = F.const(np.conj(np.sign(xd))) if xd.dtype.kind == "c" else sign
    # (PyTorch's ord 1 / inf rules multiply by x.sgn(), whose derivative is 0: a recorded
    # gradient is linked to x, so that its own gradient reaches x as zeros, not None; s23 BR4)
    if ord == 1:
        return (g_k * sign if F is ARRAY else F.op("zero_link", g_k * sign, x),)
    if ord in (math.inf, -math.inf):
        # NOTE: ties in |x| share the gradient evenly, as amax does.
        mask = np.abs(xd) == od
        share = mask / np.maximum(np.sum(mask, axis=_axis(dim), keepdims=True), 1)
        grad = g_k * sign * F.const(share.astype(xd.dtype))
        return (grad if F is ARRAY else F.op("zero_link", grad, x),)
    # NOTE: a zero norm (or, for p < 1, a zero element) has gradient 0, as in PyTorch; the safe
    # operands keep the masked branch finite.
    safe_out = F.where(od == 0, 1.0, out_k)
    if ord == 2:
        return (F.where(od == 0, 0.0, g_k * x / safe_out),)
    zero = (od == 0) | (xd == 0)
    if F is ARRAY and not np.logical_or.reduce(zero, axis=None):
        # No zero anywhere: the rule below without its masks (the same values).
        return (g_k * sign * F.op("pow_scalar", x * unsign / out_k, exponent=ord - 1),)
    safe_abs = F.where(xd == 0, 1.0, x * unsign)
    ratio = F.op("pow_scalar", safe_abs / safe_out, exponent=ord - 1)
    return (F.where(zero, 0.0, g_k * sign * ratio),)


def _vector_norm_samples(rng):
    out = []
    for order in (2.0, 1.0, 3.0, 0.5, -1.0, math.inf, -math.inf, 0.0):
        x = rng.uniform(0.3, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
        out.append(Sample((x,), {"ord": order, "dim": (1,), "keepdim": False}, f"ord {order}",
                          second_order=order not in (1.0, 0.0, math.inf, -math.inf)))
    out.append(Sample((rng.standard_normal((2, 3, 2)),), {"ord": 2.0, "dim": None,
                                                           "keepdim": True}))
    out.append(Sample((rng.standard_normal((2, 3, 2)),), {"ord": 3.0, "dim": (0, 2),
                                                           "keepdim": False}))
    return out


register("vector_norm", forward=_vector_norm_forward, vjp=_vector_norm_vjp,
         samples=_vector_norm_samples)
