"""Fused activation primitives: elu (also selu and celu), silu, mish, hardswish, hardsigmoid,
softshrink and logsigmoid.

Each is one node instead of three to six: written from exp, where and products, these cost a
pass over the array per node forward and backward, and logsigmoid and mish written naively
overflow for large |x|. Simpler activations (hardshrink, threshold, softsign, tanhshrink, glu,
prelu, rrelu) are compositions in ``nn/_functional_activations.py``.

Rules are written against the namespace ``F`` so that they can be differentiated again; the
helpers below compute sigmoid, tanh and softplus with NumPy on the first-order path and with
Tensor methods under ``create_graph=True``. On the first-order path each is written for few
NumPy calls (each costs 0.2 to 0.5 us on small arrays, the most of a small op's time), with
numbers as 0-d arrays of the operand's dtype (``Constants``: a Python float costs 0.24 us
more a call) and, where SciPy is installed, its ``expit`` for sigmoid. It imports NumPy, the
registry and the dtype helpers of ``elementwise_math``.
"""

from __future__ import annotations

import numpy as np

from ..versions import CHANGED_OUTPUTS
from . import special as _special
from .elementwise_math import Constants, constants, zero_where
from .half import HALF, half_forward
from .registry import ARRAY, Sample, _unary_samples, register

__all__: list[str] = []

_ZERO, _ONE, _HALF = Constants(0.0), Constants(1.0), Constants(0.5)


def _np_sigmoid(x):
    # NOTE: via tanh, so that large |x| neither overflows exp nor loses precision.
    half, one = _HALF(x)[0], _ONE(x)[0]
    return half * (one + np.tanh(half * x))


def _array_sigmoid(x):
    """sigmoid of a float array: SciPy's expit where installed (one call instead of four,
    accurate in both tails; ``special.USE_SCIPY`` switches it), else through tanh."""
    if x.dtype.char in "fd":
        special = _special._scipy_special()
        if special is not None:
            return special.expit(x)
    return _np_sigmoid(x)


def _sigmoid(F, x):
    return _array_sigmoid(x) if F is ARRAY else x.sigmoid()


def _tanh(F, x):
    return np.tanh(x) if F is ARRAY else x.tanh()


def _softplus(F, x):
    """log(1 + exp(x)), with no overflow for large x in either namespace."""
    if F is ARRAY:
        return np.logaddexp(_ZERO(x)[0], x)
    big = F.const(F.data(x) > 20.0)
    small = F.where(big, F.zeros_like(x), x)
    return F.where(big, x, F.log(1.0 + F.exp(small)))


def _mask(F, mask, dtype):
    """A boolean mask as a constant of the computation's float dtype."""
    return F.const(mask.astype(dtype))


# --------------------------------------------------------------------------------------------
# elu(x) = scale * (x if x > 0 else alpha * (exp(input_scale * x) - 1)): ELU, SELU and CELU
# are this with different constants (PyTorch's own parametrisation).


# A product with 1.0 changes no value (nan and -0.0 included), so the rules skip it. ELU's
# forward + rule take 4 + 3 NumPy calls (14 at first, then 12: elu's forward + rule at 0-d
# 12.5 -> 8.1 us; op_overhead.py's fwd + bwd against PyTorch then 0.76 -> 0.51 x).


def _elu_forward(x, *, alpha, scale, input_scale):
    # max(x, 0) + alpha expm1(min(x, 0)): one term is 0 (exact), so this is x above 0 and the
    # curve below, without a mask and a select; expm1 is accurate near 0 and sees no large x.
    zero = _ZERO(x)[0]
    below = np.minimum(x, zero)
    negative = np.expm1(below * input_scale if input_scale != 1.0 else below)
    if alpha != 1.0:
        negative = negative * alpha
    out = np.maximum(x, zero) + negative
    return out * scale if scale != 1.0 else out


def _elu_vjp(F, g, out, x, *, alpha, scale, input_scale):
    # NOTE: at x == 0 the slope is the negative side's, alpha * input_scale * scale, and at nan
    # the positive side's, scale, as PyTorch (its test is x <= 0).
    if F is ARRAY:
        # exp(fmin(x, 0)) is 1 above 0 and at nan (fmin skips nan), exp(x) below: ELU's whole
        # slope in 3 NumPy calls with g.
        below = np.fmin(x, _ZERO(x)[0])
        e = np.exp(below * input_scale if input_scale != 1.0 else below)
        if alpha == 1.0 and scale == 1.0 and input_scale == 1.0:
            return (g * e,)
        return (g * np.where(x <= 0, e * (alpha * input_scale * scale), scale),)
    positive = F.const(~(F.data(x) <= 0))
    # exp of the strictly negative side only: at x == 0 the slope's value is the negative
    # side's but its own derivative is 0, as PyTorch's elu_double_backward (mask x < 0).
    below = F.where(F.const(F.data(x) < 0), x, F.zeros_like(x))
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
# silu(x) = x sigmoid(x);  silu'(x) = s (1 + x (1 - s)) = s (1 + x - silu(x)), s = sigmoid(x).


def _silu_vjp(F, g, out, x):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("silu", x)
    s = _sigmoid(F, x)
    if F is ARRAY:  # (x (1 - s) read from the output: 2 NumPy calls fewer)
        return ((x - out + _ONE(x)[0]) * s * g,)
    return (g * (s * (1.0 + x * (1.0 - s))),)


def _silu_forward(x):
    if x.dtype is HALF:  # (PyTorch's float16 kernel computes in float32: in float16 the
        # sigmoid of -13 rounds to 0, so silu(-13) was -0 for -2.9e-5)
        return half_forward(_silu_forward, x)
    return x * _array_sigmoid(x)


register("silu", forward=_silu_forward, vjp=_silu_vjp,
         samples=_unary_samples(-4, 4))


# --------------------------------------------------------------------------------------------
# mish(x) = x tanh(softplus(x));  mish'(x) = t + x sigmoid(x) (1 - t²), t = tanh(softplus(x)),
# where x (1 - t²) = x - mish(x) t.


def _mish_vjp(F, g, out, x):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("mish", x)
    if F is ARRAY:  # (the output saves two NumPy calls)
        t = np.tanh(np.logaddexp(_ZERO(x)[0], x))
        return ((t + _array_sigmoid(x) * (x - out * t)) * g,)
    t = _tanh(F, _softplus(F, x))
    return (g * (t + x * _sigmoid(F, x) * (1.0 - t * t)),)


def _mish_forward(x):
    if x.dtype == HALF:  # (in float32, rounded once, as PyTorch's opmath: stepwise float16
        return half_forward(_mish_forward, x)  # differed at 329 of 1200 samples)
    return x * np.tanh(_softplus(ARRAY, x))


register("mish", forward=_mish_forward, vjp=_mish_vjp, samples=_unary_samples(-4, 4))


# --------------------------------------------------------------------------------------------
# hardswish(x) = x relu6(x + 3) / 6; hardsigmoid(x) = relu6(x + 3) / 6.


# 0, 3, 6, 1/3, 1/2, 1/6, -3
_HARD = Constants(0.0, 3.0, 6.0, 1.0 / 3.0, 0.5, 1.0 / 6.0, -3.0)


def _relu6_of_x_plus_3(x, c):
    # np.clip's dispatch costs 2 us; maximum then minimum is the same (nan stays nan).
    return np.minimum(np.maximum(x + c[1], c[0]), c[2])


def _hardswish_forward(x):
    if x.dtype == HALF:  # (in float32, rounded once, as PyTorch's: stepwise float16 differed
        return half_forward(_hardswish_forward, x)  # at 277 of 1200 samples)
    c = _HARD(x)
    return x * _relu6_of_x_plus_3(x, c) / c[2]


def _hardswish_vjp(F, g, out, x):
    # NOTE: PyTorch's slopes (2.x): x / 3 + 1/2 strictly inside (-3, 3); 0 at and below -3; 1
    # at and above 3, and at nan (its tests are x <= -3, then x < 3).
    xd = F.data(x)
    if F is ARRAY:
        # (PyTorch's 0 at and below -3 is selected, not a product: a nan gradient stays 0
        # there, as in its kernel)
        if not xd.ndim:  # (a Python branch: NumPy's select of scalars costs 1.9 us)
            v = float(xd)
            if v <= -3.0:
                return (np.zeros_like(g),)
            return (g * (v / 3.0 + 0.5 if -3.0 < v < 3.0 else 1.0),)
        c = _HARD(xd)
        low = xd <= c[6]
        grad = np.where(np.abs(xd) < c[1], x * c[3] + c[4], ~low) * g
        np.copyto(grad, 0, where=low)  # ([64, 256] forward + backward 38 -> 40 us)
        return (grad,)
    middle = F.const((xd > -3.0) & (xd < 3.0))
    above = _mask(F, ~(xd <= -3.0) & ~(xd < 3.0), xd.dtype)
    # (a select, not a product with the mask: at x = inf that is inf * 0 = nan, PyTorch's 1)
    return (g * F.where(middle, x * (1.0 / 3.0) + 0.5, above),)


register("hardswish", forward=_hardswish_forward, vjp=_hardswish_vjp,
         samples=_unary_samples(-5, 5, kinks=(-3.0, 3.0)))


def _hardsigmoid_vjp(F, g, out, x):
    # NOTE: the slope is 1/6 strictly inside (-3, 3) and 0 at the kinks, as PyTorch.
    xd = F.data(x)
    if F is ARRAY:  # (|x| < 3 is -3 < x < 3; a boolean mask multiplies as its float cast)
        c = _HARD(xd)
        return (g * (np.abs(xd) < c[1]) * c[5],)
    return (F.op("zero_link", g * _mask(F, (xd > -3.0) & (xd < 3.0), xd.dtype) * (1.0 / 6.0),
                 x),)


def _hardsigmoid_forward(x):
    if x.dtype == HALF:  # (in float32, rounded once, as PyTorch's: 134 of 1200 differed)
        return half_forward(_hardsigmoid_forward, x)
    c = _HARD(x)
    return _relu6_of_x_plus_3(x, c) / c[2]


register("hardsigmoid", forward=_hardsigmoid_forward,
         vjp=_hardsigmoid_vjp, samples=_unary_samples(-5, 5, kinks=(-3.0, 3.0)))


# --------------------------------------------------------------------------------------------
# softshrink(x) = x - lambd above lambd, x + lambd below -lambd, 0 between.


def _softshrink_forward(x, *, lambd):
    # x - clamp(x, -lambd, lambd) (lambd >= 0): x - lambd above, x + lambd below, x - x = 0
    # between (exact); 3 NumPy calls instead of 7. nan stays nan.
    low, high = constants(x, -lambd, lambd)
    return x - np.minimum(np.maximum(x, low), high)


def _softshrink_vjp(F, g, out, x, *, lambd):
    # NOTE: the slope is 0 at |x| == lambd, as PyTorch, and 1 at nan (not |x| <= lambd).
    xd = F.data(x)
    if F is ARRAY:  # (a boolean mask multiplies as its float cast)
        return (g * ~(np.abs(xd) <= constants(xd, -lambd, lambd)[1]),)
    return (F.op("zero_link", g * _mask(F, ~(np.abs(xd) <= lambd), xd.dtype), x),)


register("softshrink", forward=_softshrink_forward, vjp=_softshrink_vjp,
         samples=_unary_samples(-2, 2, kinks=(-0.5, 0.5), lambd=0.5))


# hardshrink and threshold select x or a constant. Ops, not where(): PyTorch's rules
# (hardshrink_backward(g, x), threshold_backward(g, x)) take x, so a gradient recorded with
# create_graph requires grad and its own gradient reaches x as zeros, not None (s23 BR4).
# Both rules select (a nan or inf in g is dropped where the slope is 0), as PyTorch's.


_F32_MAX = float(np.finfo(np.float32).max)


def _bound(x, bound):
    """``bound`` as a 0-d array of x's dtype for a comparison with x (NumPy compares a float32
    array with a Python float in float32 too: the same result, 0.3 us sooner), or the number
    itself where that cast could overflow or x is not float32 / float64."""
    if x.dtype.char in "fd" and -_F32_MAX <= bound <= _F32_MAX:
        return constants(x, bound)[0]
    return bound


def _hardshrink_forward(x, *, lambd):
    # |x| <= lambd is -lambd <= x <= lambd (a number and its negative round alike; nan is
    # neither, so it is kept): 3 NumPy calls instead of 5, the bound a 0-d array of x's dtype
    # (a Python float costs 0.3 us more a call): forward + rule on [8, 8] float32 6.2 -> 4.9
    # us (thread time, 40 alternated rounds, s24 SP11)
    return zero_where(np.abs(x) <= _bound(x, lambd), x, _ZERO(x)[0])  # (same bits; s28 SP43)


def _hardshrink_vjp(F, g, out, x, *, lambd):
    xd = F.data(x)
    if F is ARRAY:
        # (branch-free, the same bits as np.where: zero_where, s28 SP43)
        return (zero_where(np.abs(xd) <= _bound(xd, lambd), g, _ZERO(g)[0]),)
    keep = ~((xd >= -lambd) & (xd <= lambd))
    return (F.op("zero_link", F.where(F.const(keep), g, F.zeros_like(g)), x),)


register("hardshrink", forward=_hardshrink_forward, vjp=_hardshrink_vjp,
         samples=_unary_samples(-2, 2, kinks=(-0.5, 0.5), lambd=0.5))


def _threshold_forward(x, *, threshold, value):
    # PyTorch replaces x <= threshold, so nan is kept; ``value`` comes in x's dtype's range
    if x.dtype.char in "fd" and -_F32_MAX <= value <= _F32_MAX:
        # (float32 / float64 and a value no cast overflows: no errstate, and the bound a 0-d
        # array: threshold's forward on [8, 8] 9.5 -> 3.4 us, op_overhead.py's numpy fwd;
        # forward + rule 11.0 -> 4.3 us, thread time, 40 alternated rounds, s24 SP11)
        fill = np.array(value, x.dtype)
        return np.where(x <= _bound(x, threshold), fill, x)
    with np.errstate(invalid="ignore", over="ignore"):
        fill = np.asarray(value).astype(x.dtype)
    return np.where(_opmath(x) <= threshold, fill, x)


def _opmath(x):
    # (PyTorch compares float16 with the threshold in float32: threshold(half(0.6), 0.6)
    # keeps it; bfloat16 too, its rule reads the bfloat16 input; by name: _engine/bf16.py
    # sits above ops; float32 / float64 first: dtype.name costs 4.7 us)
    if x.dtype.char in "fd":
        return x
    if x.dtype == HALF or (x.dtype.kind == "V" and x.dtype.name == "bfloat16"):
        return x.astype(np.float32)
    return x


def _threshold_vjp(F, g, out, x, *, threshold, value):
    xd = F.data(x)
    if F is ARRAY:  # (nan <= threshold is False: its gradient passes)
        return (zero_where(_opmath(xd) <= _bound(xd, threshold), g, _ZERO(g)[0]),)
    keep = ~(_opmath(xd) <= threshold)
    return (F.op("zero_link", F.where(F.const(keep), g, F.zeros_like(g)), x),)


def _prelu_forward(x, w):
    # x above 0, else w x (``w``: the slope, broadcastable to x); nan stays nan
    return np.where(x > _ZERO(x)[0], x, w * x)


def _prelu_vjp(F, g, out, x, w):
    # NOTE: at x == 0 the slope is w, as PyTorch's first derivative. Its recorded rule keeps
    # PyTorch's second-order one (_prelu_kernel_backward's, whose mixed terms take x >= 0 as
    # the positive side: zero at x == 0) and is linked to x, so that a gradient of the
    # gradient reaches x as zeros, not None (s23 BR4).
    xd = F.data(x)
    positive = xd > _ZERO(xd)[0]
    if F is ARRAY:
        zero = _ZERO(g)[0]
        return np.where(positive, g, g * w), np.where(positive, zero, g * x)
    at_zero = F.const(xd == 0)
    slope = F.where(at_zero, F.const(F.data(w)) * F.const(np.ones_like(xd)), w)
    gx = F.op("zero_link", F.where(F.const(positive), g, g * slope), x)
    gw = F.where(F.const(positive | (xd == 0)), F.zeros_like(g), g * x)
    return gx, gw


register("prelu", forward=_prelu_forward, vjp=_prelu_vjp,
         samples=lambda rng: [Sample((_away(rng, (3, 4)), rng.uniform(0.1, 0.5, (1, 4)))),
                              Sample((_away(rng, (2, 3, 2)), rng.uniform(0.1, 0.5, (1, 3, 1)))),
                              Sample((_away(rng, (5,)), rng.uniform(0.1, 0.5, ())))])


def _away(rng, shape):
    # (kept off the kink at 0, where central differences straddle the two slopes)
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


register("threshold", forward=_threshold_forward, vjp=_threshold_vjp,
         samples=_unary_samples(-2, 2, kinks=(0.25,), threshold=0.25, value=-1.5))


# --------------------------------------------------------------------------------------------
# logsigmoid(x) = log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|));  its slope is sigmoid(-x).


def _logsigmoid_forward(x):
    if x.dtype is HALF:  # (PyTorch: in float32, rounded once; NumPy's float16 log1p(exp) is
        return half_forward(_logsigmoid_forward, x)  # 1 ulp off at logsigmoid(-2.008))
    special = _special._scipy_special() if x.dtype.char in "fd" else None
    if special is not None:
        # SciPy's log_expit: one call for five; + 0 turns its -0.0 at +inf into PyTorch's 0.0.
        return special.log_expit(x) + _ZERO(x)[0]
    return np.minimum(x, _ZERO(x)[0]) - np.log1p(np.exp(-np.abs(x)))


def _logsigmoid_vjp(F, g, out, x):
    return (g * _sigmoid(F, -x),)


register("logsigmoid", forward=_logsigmoid_forward, vjp=_logsigmoid_vjp,
         samples=lambda rng: _unary_samples(-4, 4)(rng)
         + [Sample((np.array([-40.0, -3.0, 0.5, 30.0]),), note="large |x|")])
