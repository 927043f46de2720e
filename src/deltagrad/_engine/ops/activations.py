"""Fused activation primitives: elu (also selu and celu), silu, mish, hardswish, hardsigmoid,
softshrink and logsigmoid.

Each is one node instead of three to six: written from exp, where and products, these cost a
pass over the array per node forward and backward, and logsigmoid and mish written naively
overflow for large |x|. Simpler activations (hardshrink, threshold, softsign, tanhshrink, glu,
prelu, rrelu) are compositions in ``nn/_functional_activations.py``.

Rules are written against the namespace ``F`` so that they can be differentiated again; the
helpers below compute sigmoid, tanh and softplus with NumPy on the first-order path and with
Tensor methods under ``create_graph=True``. It imports NumPy and the registry.
"""

from __future__ import annotations

import numpy as np

from .registry import ARRAY, Sample, _unary_samples, register

__all__: list[str] = []


def _np_sigmoid(x):
    # NOTE: via tanh, so that large |x| neither overflows exp nor loses precision.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sigmoid(F, x):
    return _np_sigmoid(x) if F is ARRAY else x.sigmoid()


def _tanh(F, x):
    return np.tanh(x) if F is ARRAY else x.tanh()


def _softplus(F, x):
    """log(1 + exp(x)), with no overflow for large x in either namespace."""
    if F is ARRAY:
        return np.logaddexp(0.0, x).astype(x.dtype, copy=False)
    big = F.const(F.data(x) > 20.0)
    small = F.where(big, F.zeros_like(x), x)
    return F.where(big, x, F.log(1.0 + F.exp(small)))


def _mask(F, mask, dtype):
    """A boolean mask as a constant of the computation's float dtype."""
    return F.const(mask.astype(dtype))


# --------------------------------------------------------------------------------------------
# elu(x) = scale * (x if x > 0 else alpha * (exp(input_scale * x) - 1)): ELU, SELU and CELU
# are this with different constants (PyTorch's own parametrisation).


# A product with 1.0 changes no value (nan and -0.0 included), so the rules skip it: ELU's
# forward + rule take 6 NumPy calls instead of 14 (elu's forward + rule at 0-d: 12.5 -> 8.1 us).


def _elu_forward(x, *, alpha, scale, input_scale):
    # expm1 of min(x, 0): accurate near 0 and no overflow warning for large positive x.
    below = np.minimum(x, 0)
    negative = np.expm1(below * input_scale if input_scale != 1.0 else below)
    if alpha != 1.0:
        negative = negative * alpha
    out = np.where(x > 0, x, negative)
    return out * scale if scale != 1.0 else out


def _elu_vjp(F, g, out, x, *, alpha, scale, input_scale):
    # NOTE: at x == 0 the slope is the negative side's, alpha * input_scale * scale, as PyTorch.
    if F is ARRAY:
        # The rule below, on arrays: min(x, 0) is where(x > 0, 0, x) (the sign of a zero
        # aside, which exp ignores); a python scale in where is cast as ones_like(x) * scale.
        below = np.minimum(x, 0)
        e = np.exp(below * input_scale if input_scale != 1.0 else below)
        return (g * np.where(x > 0, scale, e * (alpha * input_scale * scale)),)
    positive = F.const(F.data(x) > 0)
    below = F.where(positive, F.zeros_like(x), x)  # exp of the negative side only
    slope = F.where(positive, F.ones_like(x) * scale,
                    F.exp(below * input_scale) * (alpha * input_scale * scale))
    return (g * slope,)


def _elu_samples(rng):
    out = []
    for kwargs in ({"alpha": 1.0, "scale": 1.0, "input_scale": 1.0},
                   {"alpha": 0.7, "scale": 1.0, "input_scale": 1.0},
                   {"alpha": 1.6732632423543772, "scale": 1.0507009873554805,
                    "input_scale": 1.0},
                   {"alpha": 2.0, "scale": 1.0, "input_scale": 0.5}):
        out += _unary_samples(-3, 3, kinks=(0.0,), **kwargs)(rng)
    return out


register("elu", forward=_elu_forward, vjp=_elu_vjp, samples=_elu_samples)


# --------------------------------------------------------------------------------------------
# silu(x) = x sigmoid(x);  silu'(x) = s (1 + x (1 - s)).


def _silu_vjp(F, g, out, x):
    s = _sigmoid(F, x)
    return (g * (s * (1.0 + x * (1.0 - s))),)


register("silu", forward=lambda x: x * _np_sigmoid(x), vjp=_silu_vjp,
         samples=_unary_samples(-4, 4))


# --------------------------------------------------------------------------------------------
# mish(x) = x tanh(softplus(x));  mish'(x) = t + x sigmoid(x) (1 - t²), t = tanh(softplus(x)).


def _mish_vjp(F, g, out, x):
    t = _tanh(F, _softplus(F, x))
    return (g * (t + x * _sigmoid(F, x) * (1.0 - t * t)),)


register("mish", forward=lambda x: x * np.tanh(np.logaddexp(0.0, x).astype(x.dtype, copy=False)),
         vjp=_mish_vjp, samples=_unary_samples(-4, 4))


# --------------------------------------------------------------------------------------------
# hardswish(x) = x relu6(x + 3) / 6; hardsigmoid(x) = relu6(x + 3) / 6.


def _relu6(x):
    # np.clip's dispatch costs 2 us; maximum then minimum is the same (nan stays nan).
    return np.minimum(np.maximum(x, 0.0), 6.0)


def _hardswish_forward(x):
    return x * _relu6(x + 3.0) / 6.0


def _hardswish_vjp(F, g, out, x):
    # NOTE: PyTorch's slopes at the kinks: 0 below -3, x / 3 + 1/2 on [-3, 3] (bounds
    # included), 1 above 3.
    xd = F.data(x)
    if F is ARRAY:  # the same products with boolean masks (|x| <= 3 is -3 <= x <= 3)
        return (g * ((x * (1.0 / 3.0) + 0.5) * (np.abs(xd) <= 3.0) + (xd > 3.0)),)
    middle = _mask(F, (xd >= -3.0) & (xd <= 3.0), xd.dtype)
    above = _mask(F, xd > 3.0, xd.dtype)
    return (g * ((x * (1.0 / 3.0) + 0.5) * middle + above),)


register("hardswish", forward=_hardswish_forward, vjp=_hardswish_vjp,
         samples=_unary_samples(-5, 5, kinks=(-3.0, 3.0)))


def _hardsigmoid_vjp(F, g, out, x):
    # NOTE: the slope is 1/6 strictly inside (-3, 3) and 0 at the kinks, as PyTorch.
    xd = F.data(x)
    if F is ARRAY:  # (|x| < 3 is -3 < x < 3; a boolean mask multiplies as its float cast)
        return (g * (np.abs(xd) < 3.0) * (1.0 / 6.0),)
    return (g * _mask(F, (xd > -3.0) & (xd < 3.0), xd.dtype) * (1.0 / 6.0),)


register("hardsigmoid", forward=lambda x: _relu6(x + 3.0) / 6.0,
         vjp=_hardsigmoid_vjp, samples=_unary_samples(-5, 5, kinks=(-3.0, 3.0)))


# --------------------------------------------------------------------------------------------
# softshrink(x) = x - lambd above lambd, x + lambd below -lambd, 0 between.


def _softshrink_forward(x, *, lambd):
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0)).astype(
        x.dtype, copy=False)


def _softshrink_vjp(F, g, out, x, *, lambd):
    # NOTE: the slope is 0 at |x| == lambd, as PyTorch.
    xd = F.data(x)
    return (g * _mask(F, np.abs(xd) > lambd, xd.dtype),)


register("softshrink", forward=_softshrink_forward, vjp=_softshrink_vjp,
         samples=_unary_samples(-2, 2, kinks=(-0.5, 0.5), lambd=0.5))


# --------------------------------------------------------------------------------------------
# logsigmoid(x) = log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|));  its slope is sigmoid(-x).


def _logsigmoid_forward(x):
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _logsigmoid_vjp(F, g, out, x):
    return (g * _sigmoid(F, -x),)


register("logsigmoid", forward=_logsigmoid_forward, vjp=_logsigmoid_vjp,
         samples=lambda rng: _unary_samples(-4, 4)(rng)
         + [Sample((np.array([-40.0, -3.0, 0.5, 30.0]),), note="large |x|")])
