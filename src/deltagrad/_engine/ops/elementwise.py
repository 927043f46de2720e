"""Elementwise ops: arithmetic, powers, maximum / minimum, where, the basic functions (exp, log,
sqrt, sin, cos, tanh, abs, sigmoid), the activations (relu ... gelu), clamp and casts.

More math (trigonometric, erf, rounding, remainders, ...) is in ``elementwise_math``, whose dtype
helpers these forwards share: a floating function of integer input computes in the default
float dtype, as in PyTorch (NumPy alone gives float16 for int8 and bool).
"""

from __future__ import annotations

import math

import numpy as np

from ..buffers import empty
from ..dtypes import _Default
from ..elementwise_layout import dims_fastest_first
from ..promotion import common as _common
from ..promotion import float32_unless_float64 as _promoted_result
from ..versions import CHANGED_OUTPUTS
from .elementwise_math import (  # noqa: F401 - ERR_STATE, IGNORE_ALL: imported from here too
    ERR_STATE,
    IGNORE_ALL,
    Constants,
    Number,
    check_kind,
    constants,
    distinct_pairs,
    floating,
    pair,
    quietly,
    register_quiet,
    zero_where,
)
from .registry import (
    _INV_SQRT_2PI,
    _SQRT_2_OVER_PI,
    ARRAY,
    Sample,
    _away_from,
    _binary_samples,
    _float,
    _unary_samples,
    register,
)
from .relu_zeros import zeros_for
from .shape import astype_like_torch
from .special import _scipy_special, gelu, gelu_backward, half_gelu, normal_cdf

_ZERO, _ONE, _HALF = Constants(0), Constants(1.0), Constants(0.5)  # (0: int input too)

# --------------------------------------------------------------------------------------------
# Elementwise binary ops (NumPy broadcasting; the engine reduces gradients back to shape).


def _add_vjp(F, g, out, x, y):
    return g, g


# add / sub / mul run bare: NumPy's errstate switch around them cost W2 (a chain of 8 x 8 mul,
# add, tanh, sub, fwd + bwd) 1.16x its time (ab.py vs ef88d29, 15 rounds, one thread). Their
# values are PyTorch's either way; only inf - inf, inf * 0 and float overflow, which are nan / inf
# in both libraries, also print NumPy's RuntimeWarning here (the ops whose warnings ordinary
# programs meet, log 0, exp overflow, x / 0, sqrt of negatives, stay quiet below).
_add_forward, _sub_forward, _mul_forward = np.add, np.subtract, np.multiply


register("add", forward=_add_forward, vjp=_add_vjp, samples=_binary_samples())


def _sub_vjp(F, g, out, x, y):
    return g, -g


register("sub", forward=_sub_forward, vjp=_sub_vjp, samples=_binary_samples())


def _mul_vjp(F, g, out, x, y):
    return g * y, g * x


register("mul", forward=_mul_forward, vjp=_mul_vjp, samples=_binary_samples())


def quiet(function, *args, **kwargs):
    """``function(*args, **kwargs)`` with NumPy's floating-point warnings off (see ERR_STATE)."""
    token = ERR_STATE.set(IGNORE_ALL)
    try:
        return function(*args, **kwargs)
    finally:
        ERR_STATE.reset(token)


def _div_forward(x, y):
    # x / 0 is inf or nan, silently, as in PyTorch. Inline (a / b on 8 x 8 float32, one
    # thread, alternated: 1.22 -> 1.40 us; 1.57 through quiet(), 2.4 with np.errstate).
    token = ERR_STATE.set(IGNORE_ALL)
    try:
        if x.dtype.kind not in "fc" and y.dtype.kind not in "fc":
            # int / int is the default float dtype in PyTorch, read at call time; the integers
            # are converted first, as PyTorch's kernel does (int32 2**31 - 1 over 255 rounds
            # in float32: NumPy's int division in float64 gives another float32)
            return np.true_divide(x.astype(_Default.float), y.astype(_Default.float))
        return np.true_divide(x, y)
    finally:
        ERR_STATE.reset(token)


def _div_vjp(F, g, out, x, y, needs):
    # The divisor's gradient is PyTorch's -g * ((x / y) / y), from the inputs (what PyTorch
    # saves: `(a / b).add_(1)` backwards there, so the result must not be read), in its rounding
    # order; computed only when the divisor needs it (x / constant is the common case).
    token = ERR_STATE.set(IGNORE_ALL)  # (g / 0 and inf * 0: inf and nan, silently)
    try:
        return (g / y if needs[0] else None), (-g * ((x / y) / y) if needs[1] else None)
    finally:
        ERR_STATE.reset(token)


register("div", forward=_div_forward, vjp=_div_vjp, wants_needs=True,
         samples=_binary_samples(y_low=0.5, y_high=2.0))


def _pow_array_vjp(g, out, x, y, needs):
    # The rule below on arrays, in the forward's dtype (7 to 13 NumPy calls instead of 17 to 21).
    x, y = pair(x, y)
    one = _ONE(y)[0]
    gx = gy = None
    if x.size and x.min() > 0:
        # A positive base (no nan): y x^(y-1) is finite, so 0 where y == 0, and log x needs
        # neither a guard nor an errstate.
        if needs[0]:
            gx = g * y * np.power(x, y - one)
        if needs[1]:
            gy = g * out * np.log(x)
        return gx, gy
    token = ERR_STATE.set(IGNORE_ALL)  # (not np.errstate: ~1 us less; s27 SP37)
    try:
        # (zeros of the gradient's dtype: a Python 0.0 made bfloat16's float32, s30 FE1)
        if needs[0]:
            gx = g * y * np.power(x, y - one)
            gx = np.where(y == 0, gx.dtype.type(0), gx)
        if needs[1]:
            gy = g * out * np.log(x)
            gy = np.where((x == 0) & (y >= 0), gy.dtype.type(0), gy)
    finally:
        ERR_STATE.reset(token)
    return gx, gy


def _pow_vjp(F, g, out, x, y, needs):
    # d(x^y)/dx = y x^(y-1); d(x^y)/dy = x^y log x.
    if needs[0] and getattr(F.data(y), "dtype", None) == np.bool_:  # (PyTorch's y - 1 raises)
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead. (pow's backward with a bool exponent tensor)")
    if F is ARRAY:
        return _pow_array_vjp(g, out, x, y, needs)
    gx = None
    if needs[0]:
        gx = g * y * x ** (y - 1)
        zero_exponent = F.data(y) == 0
        if zero_exponent.any():
            # NOTE: x^0 = 1 has slope 0 in x, also at x = 0 where y x^(y-1) is 0 * inf
            # (PyTorch's choice).
            gx = F.where(F.const(zero_exponent), F.zeros_like(gx), gx)
    gy = None
    if needs[1]:
        # NOTE: at x == 0 with y >= 0 the exponent's gradient is taken as 0 (PyTorch's choice),
        # instead of 0 * log 0 = nan.
        zero = F.const((F.data(x) == 0) & (F.data(y) >= 0))
        safe_log = F.log(F.where(zero, F.ones_like(x), x))
        gy = F.where(zero, F.zeros_like(out), g * out * safe_log)
    return gx, gy


def _pow_forward(x, y):
    x, y = pair(x, y)
    # (ERR_STATE, not np.errstate: ~1 us; op_overhead.py pow 0.57 -> 0.50 x PyTorch, s27)
    token = ERR_STATE.set(IGNORE_ALL)
    try:
        return np.power(floating(x), y)  # integer powers stay integer before this (tensor.py)
    finally:
        ERR_STATE.reset(token)


def _pow_samples(rng):
    zero_base = Sample((np.array([0.0, 0.0, 1.5, 2.0]), np.array([0.0, 2.0, 0.0, 1.5])),
                       note="0^0", second_order=False)
    return _binary_samples(low=0.5, high=2.0, y_low=-1.5, y_high=2.5)(rng) + [zero_base]


register_quiet("pow", forward=_pow_forward, vjp=_pow_vjp, wants_needs=True, samples=_pow_samples)


def _powc_vjp(F, g, out, x, *, exponent):
    if exponent == 0:
        return (g * 0.0,)
    if exponent == 2:
        return (g * (2.0 * x),)
    # (an array takes the forward's rule: x ** 0.5's slope at -0.0 is -inf, as PyTorch's)
    if F is ARRAY and x.dtype.kind == "V":
        # bfloat16 (computed in float32 here): PyTorch's pow_backward, grad * (exponent *
        # x.pow(exponent - 1)), rounds each step to bfloat16 (in one float32 product, 217 of
        # 576 gradients of x ** 3 were an ulp off; GPT-2's gelu_new under bf16, s23 LE12).
        # Its pow kernel takes the scalar exponent - 1 in bfloat16 too (x ** 2.7: 1.703125; 219
        # of 576 gradients an ulp off with 1.7, none with it; s24 BR6).
        # and multiplies by the exponent in float32 (a bfloat16 2.7: 111 of 576 off).
        power = _powc_forward(x, exponent=float(x.dtype.type(exponent - 1))).astype(x.dtype)
        return (g * (np.float32(exponent) * power.astype(np.float32)).astype(x.dtype),)
    power = _powc_forward(x, exponent=exponent - 1) if F is ARRAY else x ** (exponent - 1)
    return (g * (exponent * power),)


def _powc_samples(rng):
    out = []
    for c in (2, 3, 0.5, -1.0, 1.5, 0):
        for s in ((), (4,), (2, 3)):
            out.append(Sample((rng.uniform(0.5, 2.0, s),), {"exponent": c}))
    out.append(Sample((rng.uniform(-2, 2, (3, 3)),), {"exponent": 2}, "negative base"))
    out.append(Sample((rng.uniform(-2, 2, (3, 3)),), {"exponent": 3}, "negative base"))
    return out


def _powc_forward(x, *, exponent):
    x = _float(x)
    if exponent == -0.5 and x.dtype.kind == "f" and x.dtype.itemsize > 2:
        # PyTorch's rsqrt (NumPy's power has sqrt for 0.5, not this one), so that (-0.0) ** -0.5
        # is -inf as there, not inf. (PyTorch's float16 takes pow: inf.)
        return np.divide(1, np.sqrt(x))
    if x.dtype.kind == "f" and x.dtype.itemsize > 2 and exponent in _POW_AS_TORCH:
        # PyTorch's kernel computes these exponents so (pow_tensor_scalar_optimized): NumPy's
        # pow differed by an ulp in 26-31% of elements for 3 and -2 (0.5: the same values but
        # (-0.0) ** 0.5, -0.0 there), and is slow: x ** 3 on 10 x 10 float32 under grad
        # 11.2 -> 4.9 us (alternated with HEAD's, thread time, medians; s21 SP6)
        return _POW_AS_TORCH[exponent](x)
    return np.power(x, exponent)


_POW_AS_TORCH = {3: lambda x: x * x * x, -2: lambda x: 1 / (x * x), 0.5: np.sqrt}


register_quiet("pow_scalar", forward=_powc_forward, vjp=_powc_vjp, samples=_powc_samples)


def _maximum_like(pick_x):
    def vjp(F, g, out, x, y):
        # NOTE: where x == y the gradient is split evenly between the two inputs, as PyTorch's
        # maximum/minimum do; where either is nan (no order) both get all of it, as there.
        xd, yd = F.data(x), F.data(y)
        x_loses = (xd < yd) if pick_x else (xd > yd)
        y_loses = (xd > yd) if pick_x else (xd < yd)
        tie = xd == yd
        dtype = F.data(g).dtype
        wx = np.where(tie, 0.5, ~x_loses).astype(dtype)
        wy = np.where(tie, 0.5, ~y_loses).astype(dtype)
        return g * F.const(wx), g * F.const(wy)

    return vjp


register("maximum", forward=lambda x, y: np.maximum(*pair(x, y)), vjp=_maximum_like(True),
         samples=distinct_pairs)
register("minimum", forward=lambda x, y: np.minimum(*pair(x, y)), vjp=_maximum_like(False),
         samples=distinct_pairs)


def _where_vjp(F, g, out, cond, x, y, needs=(False, True, True)):
    # Only the branches that take a gradient (masked_fill's fill, tril's zero take none): one
    # np.where fewer there; fwd + bwd on OpInfo's samples tril 0.72 -> 0.68 x PyTorch's time
    # (masked_fill: api/pointwise.py), where 0.62 -> 0.60 (every input takes a gradient:
    # noise); old and new code alternated in one process, 21 rounds (s16 SP).
    zero = F.zeros_like(g)
    return (None, F.where(cond, g, zero) if needs[1] else None,
            F.where(cond, zero, g) if needs[2] else None)


def _where_samples(rng):
    out = []
    for sc, sx, sy in (((4,), (4,), (4,)), ((3, 4), (3, 4), (4,)), ((3, 1), (1, 4), ())):
        out.append(Sample((rng.uniform(size=sc) > 0.5, rng.standard_normal(sx),
                           rng.standard_normal(sy))))
    return out


register("where", forward=np.where, vjp=_where_vjp, samples=_where_samples, wants_needs=True)


# --------------------------------------------------------------------------------------------
# Elementwise unary ops.


def _floating_ufunc(ufunc, quiet=True):
    """A float ufunc whose integer input computes in the default float dtype (see the module
    docstring); floating input goes straight through (one dtype test on the hot path). With
    ``quiet``, NumPy's floating-point warnings are off around it (PyTorch gives inf / nan
    silently); tanh, which cannot warn, skips the switch (0.25 us of a 0.7 us op)."""

    def forward(x):
        if x.dtype.kind != "f":
            x = _floating_kept(x)
        token = ERR_STATE.set(IGNORE_ALL)  # (exp overflow, log 0, sin inf: silently)
        try:
            return ufunc(x)
        finally:
            ERR_STATE.reset(token)

    def bare(x):  # (a ufunc that never warns: tanh)
        return ufunc(x if x.dtype.kind == "f" else _floating_kept(x))

    if not quiet:
        forward = bare
    forward.__name__ = ufunc.__name__
    return forward


# (bool is refused before the forward, by Tensor.__neg__ and neg(), as PyTorch refuses it.)
register("neg", forward=np.negative, vjp=lambda F, g, out, x: (-g,), samples=_unary_samples())
register("exp", forward=_floating_ufunc(np.exp), vjp=lambda F, g, out, x: (g * out,),
         samples=_unary_samples())
register("log", forward=_floating_ufunc(np.log), vjp=lambda F, g, out, x: (g / x,),
         samples=_unary_samples(0.2, 3.0))
_TWO, _ZERO_N = Number(2.0), Number(0.0)  # (sqrt's and clamp's rules)


def _sqrt_vjp(F, g, out, x):  # (2 as a cached 0-d array: 8 x 8 float32 0.79 -> 0.66 us; SP44)
    return (g / ((_TWO[out.dtype] if F is ARRAY and out.ndim else 2.0) * out),)


register("sqrt", forward=_floating_ufunc(np.sqrt), vjp=_sqrt_vjp,
         samples=_unary_samples(0.2, 3.0))
register("sin", forward=_floating_ufunc(np.sin), vjp=lambda F, g, out, x: (g * F.cos(x),),
         samples=_unary_samples())
register("cos", forward=_floating_ufunc(np.cos), vjp=lambda F, g, out, x: (-g * F.sin(x),),
         samples=_unary_samples())


def _tanh_vjp(F, g, out, x):
    if F is ARRAY and out.ndim:  # the same products, in one new array instead of three
        d = np.square(out)  # (square, the cached 1, in-place product: 0.96 -> 0.92 us)
        one = _ONES.get(d.dtype)
        np.subtract(_one(d.dtype) if one is None else one, d, d)
        d *= g
        return (d,)
    return (g * (1.0 - out * out),)


_ONES: dict = {}


def _one(dtype):
    """1 as a read-only 0-d array of ``dtype``: a ufunc converts a Python float on every call,
    and a NumPy scalar costs it more than a 0-d array (the same operand type, so the same
    values): tanh's VJP on 8 x 8 1.18 -> 0.95 us (alternated, thread time; s28 SP42)."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = np.array(1, dtype)
        one.flags.writeable = False
    return one


register("tanh", forward=_floating_ufunc(np.tanh, quiet=False), vjp=_tanh_vjp,
         samples=_unary_samples())


def _abs_vjp(F, g, out, x):
    # NOTE: abs'(0) = sign(0) = 0, the subgradient PyTorch uses; at NaN PyTorch's sgn is 0 too
    # (NumPy's sign gives NaN there).
    # (x, not out: the rule must not read abs's result, which programs change in place, as
    # PyTorch's reads only x; a sum is NaN where x holds one, or inf and -inf: +1.3 us, [16, 8])
    if F is not ARRAY and F.data(x).dtype.kind == "c":
        # A complex sgn(x) = x / |x| is no constant: a recorded backward (create_graph) needs
        # it differentiable, or second derivatives lose d sgn / dx (xitorch's gradgradcheck of
        # eigenvectors' abs failed). At x = 0 it and its derivative are 0, as PyTorch's.
        data = F.data(x)
        zero = (data == 0).astype(data.real.dtype)
        sign = F.op("div", x, F.op("abs", x) + F.const(zero))
        return (g * sign * F.const(1 - zero) if zero.any() else g * sign,)
    sign = np.sign(F.data(x))
    total = np.add.reduce(sign, None)
    if total != total and sign.dtype.kind == "f":
        sign = np.where(np.isnan(sign), 0.0, sign).astype(sign.dtype, copy=False)
    return (F.op("zero_link", g * F.const(sign), x),)


def _abs_forward(x):
    check_kind("abs", x, "iufc")
    return np.abs(x)


register("abs", forward=_abs_forward, vjp=_abs_vjp, samples=_unary_samples(kinks=(0.0,)))


def _sigmoid_forward(x):
    x = _float(x)
    if x.dtype.char == "e":  # (in float32, rounded once, as PyTorch's opmath: half's tanh
        return _sigmoid_forward(x.astype(np.float32)).astype(np.float16)  # was 1 ulp off)
    special = _scipy_special() if x.dtype.char in "fd" else None
    if special is not None:
        return special.expit(x)  # (one call instead of four; accurate in both tails)
    # NOTE: written via tanh so that large |x| neither overflows exp nor loses precision.
    half, one = _HALF(x)[0], _ONE(x)[0]
    return half * (one + np.tanh(half * x))


def _sigmoid_vjp(F, g, out, x):
    if F is ARRAY:
        return (g * (out * (_ONE(out)[0] - out)),)
    return (g * (out * (1.0 - out)),)


register_quiet("sigmoid", forward=_sigmoid_forward, vjp=_sigmoid_vjp, samples=_unary_samples(-4, 4))


def _relu_vjp(F, g, out, x):
    # NOTE: relu'(0) = 0 and relu'(nan) = 1, as in PyTorch (it passes g where the result is not
    # <= 0): out = max(x, 0) is 0 for x <= 0 (-0.0 included), x above 0 and nan at nan.
    # PyTorch masks (threshold_backward): a nan or inf in g where relu is 0 gives 0, not the
    # product's nan (sb3-contrib's CrossQ: BatchRenorm's sqrt of a dead unit's zero variance).
    if F is ARRAY:  # first order: the product goes into a recycled buffer (_buffers)
        passed = out != _ZERO(out)[0]
        grad = np.multiply(g, passed, out=empty(g.shape, g.dtype))
        # (with the check 3.4 -> 5.5 us on 64 x 100 float32, 45 -> 74 us on 256 x 300: LE2,
        # s20, medians on a loaded machine; np.isfinite(sum) was slower; the fix-up runs only
        # for a non-finite g.) For float32 / float64 the test is grad . grad, one BLAS pass
        # without a boolean array, non-finite wherever grad is (an overflow to inf only runs
        # the fix-up, which is exact anyway): 5.49 -> 4.67 us on 64 x 100, 33.7 -> 30.6 us on
        # 260 x 300 (no check: 3.5 / 24.4; medians of 7 alternated, one thread; s20 lead).
        finite = (math.isfinite(np.vdot(grad, grad)) if grad.dtype.char in "fd"
                  else np.isfinite(grad).all())
        if not finite:
            grad[~passed] = 0
        return (grad,)
    passed = F.const(F.data(out) != 0)
    # (linked to the result, as PyTorch's threshold_backward(g, result): x is not saved)
    return (F.op("zero_link", F.where(passed, g, F.zeros_like(g)), out),)


def _zero_link_vjp(F, g, out, r, x):
    return g, F.zeros_like(x)


# zero_link(r, x) is r, with x a second input whose gradient is 0. The recorded backward
# (create_graph) of a piecewise rule (relu, leaky_relu, hardtanh, softshrink, hardsigmoid, abs)
# passes its result through it: PyTorch's such rules (threshold_backward, ...) take x as an
# input, so the gradient of a gradient reaches x as zeros (not None) and requires grad there.
register("zero_link", forward=lambda r, x: np.array(r, copy=True), vjp=_zero_link_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((3,)), rng.standard_normal((3,))),
                                     {})])


def _link_grad_forward(r, x):
    # A copy with r's very strides where r is dense in some dim order (size-1 dims' strides
    # too: a channels-last [N, C, 1, 1] mean keeps PyTorch's), else a row-major one.
    out = r.copy(order="K")  # (dense, in r's dim order)
    if out.strides == r.strides:
        # r was dense: its strides kept without as_strided below (~10 us a call; the same
        # array): adaptive_avg_pool2d [2, 3, 8, 8] to (5, 7) forward under grad 26.7 -> 18.4
        # us, to 1 17.0 -> 10.6 (thread time, alternated with HEAD in one process)
        return out
    inner = r.itemsize
    for stride, n in sorted((s, n) for s, n in zip(r.strides, r.shape) if n > 1):
        if stride != inner:
            return np.array(r, copy=True)
        inner *= n
    out = np.lib.stride_tricks.as_strided(np.empty(r.size, r.dtype), r.shape, r.strides)
    np.copyto(out, r)
    return out


def _link_grad_vjp(F, g, out, r, x):
    return (g if F is ARRAY else F.op("zero_link", g, x)), F.zeros_like(x)


# link_grad(r, x) is r, computed from x by a composite (max_pool1d's gather, adaptive pools'
# products) whose gradient does not read x: its recorded backward passes g through zero_link,
# so a gradient of that gradient reaches x as zeros (not None), as the fused PyTorch op's.
register("link_grad", forward=_link_grad_forward, vjp=_link_grad_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((3,)), rng.standard_normal((3,))),
                                     {})])


# NumPy's maximum/minimum return their second operand on ties, PyTorch's relu, clamp and
# hardtanh keep x: x goes second, so that relu(-0.0) and clamp(-0.0, min=0) stay -0.0 as there.
# (PyTorch's maximum/minimum of two tensors return the second in their vectorised body and the
# first in the tail, so they keep NumPy's order.)
register("relu", forward=lambda x: np.maximum(zeros_for(x, _ZERO(x)[0]), x), vjp=_relu_vjp,
         samples=_unary_samples(kinks=(0.0,)))


def _leaky_relu_forward(x, *, negative_slope=0.01):
    slope = constants(x, negative_slope)[0]
    if 0.0 < negative_slope <= 1.0:  # (not 0: 0 * inf is nan, PyTorch's leaky_relu(inf) inf)
        return np.maximum(x, x * slope)  # (the larger is the right side; nan stays nan)
    return np.where(x > _ZERO(x)[0], x, x * slope)


def _leaky_relu_vjp(F, g, out, x, *, negative_slope=0.01):
    # NOTE: at x == 0 the slope is negative_slope, as in PyTorch.
    xd = F.data(x)
    if F is ARRAY:
        if not xd.ndim:  # (a Python branch: NumPy's select of scalars costs 1.9 us)
            return (g * (1.0 if xd > 0 else negative_slope),)
        if 0.0 <= negative_slope <= 1.0:  # (the slope is max(x > 0, negative_slope): exact)
            return (g * np.maximum(xd > _ZERO(xd)[0], constants(xd, negative_slope)[0]),)
        return (np.where(xd > _ZERO(xd)[0], g, g * constants(xd, negative_slope)[0]),)
    slope = np.where(xd > 0, 1.0, negative_slope).astype(xd.dtype)
    return (F.op("zero_link", g * F.const(slope), x),)


register_quiet("leaky_relu", forward=_leaky_relu_forward, vjp=_leaky_relu_vjp,
         samples=_unary_samples(kinks=(0.0,), negative_slope=0.1))


def _hardtanh_forward(x, *, min_val=-1.0, max_val=1.0):
    # (np.clip's dispatch costs 1.9 us, maximum then minimum 1.0; min_val <= max_val here)
    low, high = constants(x, min_val, max_val)
    if x.size >= 4096 and min_val and max_val:
        # Large: np.clip's SIMD loop, the same bits where no bound is a zero (signed zeros
        # and nan as maximum then minimum; tests/engine/test_s28_SP43_hardtanh.py). [1000,
        # 1000] float32 0.94 -> 0.09 ms (thread time, one thread; s28 SP43).
        return np.clip(x, low, high)
    return np.minimum(high, np.maximum(low, x))  # (x second: hardtanh(-0.0, 0, 1) is -0.0)


def _hardtanh_vjp(F, g, out, x, *, min_val=-1.0, max_val=1.0):
    # NOTE: the gradient is 0 at the bounds themselves (open interval), as PyTorch's hardtanh,
    # and passes at nan (its test is x <= min or x >= max); clamp, by contrast, passes it at
    # the bounds.
    xd = F.data(x)
    if F is ARRAY:
        low, high = constants(xd, min_val, max_val)
        if min_val == -max_val:  # (symmetric bounds: one comparison of |x|)
            return (zero_where(np.abs(xd) >= high, g),)
        return (zero_where((xd <= low) | (xd >= high), g),)
    return (F.op("zero_link", g * F.const(~((xd <= min_val) | (xd >= max_val))), x),)


register_quiet("hardtanh", forward=_hardtanh_forward, vjp=_hardtanh_vjp,
         samples=_unary_samples(-2, 2, kinks=(-1.0, 1.0)))


def _clamp_forward(x, *, min=None, max=None):
    # NOTE: min > max gives max everywhere, PyTorch's rule (max applied last, as np.clip).
    # (maximum and minimum: np.clip's dispatch costs 1.9 us, the two calls 1.0; nan stays nan)
    if max is None:
        return np.maximum(min, x)
    return np.minimum(max, x if min is None else np.maximum(min, x))


def _clamp_vjp(F, g, out, x, *, min=None, max=None):
    # NOTE: the gradient passes where min <= x <= max, bounds included, as PyTorch's clamp.
    xd = F.data(x)
    if max is None:
        mask = xd >= min
    elif min is None:
        mask = xd <= max
    else:
        mask = (xd >= min) & (xd <= max)
    # NOTE: selected, not multiplied: an inf / nan gradient outside the bounds gives 0 there,
    # as PyTorch's where (g * 0 would be nan).
    if F is ARRAY:  # (the 0 a cached 0-d array: 8 x 8 float32 where 1.04 -> 0.84 us; SP44)
        return (np.where(mask, g, _ZERO_N[g.dtype] if g.ndim else 0.0),)
    return (F.where(mask, g, 0.0),)


def _clamp_samples(rng):
    out = []
    for kw in ({"min": -0.5, "max": 0.7}, {"min": -0.5}, {"max": 0.3}, {"min": 0.7, "max": -0.5}):
        for s in ((), (6,), (3, 4)):
            out.append(Sample((_away_from(rng, s, (-0.5, 0.7, 0.3), gap=0.05),), kw))
    return out


register_quiet("clamp", forward=_clamp_forward, vjp=_clamp_vjp, samples=_clamp_samples)


# softplus(x) = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's
# linear part); logaddexp(0, beta x) is the logarithm without overflow. Its slope is
# sigmoid(beta x): SciPy's expit where installed, else read back from the output (beta out =
# log(1 + exp(beta x)), so sigmoid(beta x) = 1 - exp(-beta out) = -expm1(-beta out), accurate
# in both tails). In float32 with a threshold of at least 18 (the default 20), past the
# threshold logaddexp(0, x) rounds to x and sigmoid to 1 (their corrections are below 1.6e-8,
# half an ulp of 1 is 3e-8): beta = 1 needs no select in the forward, and no beta in the
# rule. Forward + rule: 13 NumPy calls before, 4 to 8 now (one to three with SciPy fewer).
_FLOAT32_LINEAR = 18.0


def _softplus_forward(x, *, beta=1.0, threshold=20.0):
    x = _float(x)
    if x.dtype.char == "e":  # (in float32, rounded once, as PyTorch's opmath: 2 ulps off)
        return _softplus_forward(x.astype(np.float32), beta=beta,
                                 threshold=threshold).astype(np.float16)
    if beta > 0:
        zero = _ZERO(x)[0]
        if beta == 1.0:
            out = np.logaddexp(zero, x)
            if threshold >= _FLOAT32_LINEAR and x.dtype.char == "f":
                return out
            return np.where(x > threshold, x, out)
        beta_, threshold_ = constants(x, beta, threshold)
        bx = x * beta_
        out = np.logaddexp(zero, bx) / beta_
        if not x.ndim:  # (a Python branch: NumPy's select of scalars costs 1.9 us)
            return x.copy() if bx > threshold else out
        return np.where(bx > threshold_, x, out)
    bx = beta * x
    # NOTE: logaddexp(0, bx) is log(1 + exp(bx)) without overflow; above the threshold the
    # function is linear, as PyTorch's.
    return np.where(bx > threshold, x, np.logaddexp(0.0, bx) / beta).astype(x.dtype, copy=False)


def _softplus_vjp(F, g, out, x, *, beta=1.0, threshold=20.0):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("softplus", x, beta=beta, threshold=threshold)
    if F is ARRAY and beta > 0:
        special = _scipy_special() if x.dtype.char in "fd" else None
        if special is not None:
            g_slope = g * special.expit(x if beta == 1.0 else x * constants(x, beta)[0])
        else:
            g_slope = np.expm1(-out if beta == 1.0 else out * -beta) * -g
        if threshold >= _FLOAT32_LINEAR and x.dtype.char == "f":
            return (g_slope,)
        return (np.where(x * beta > threshold, g, g_slope),)
    xd = F.data(x)
    linear = F.const(beta * xd > threshold)
    # d softplus / dx = sigmoid(beta x) (1/2 at beta = 0, where the value is inf, as PyTorch)
    s = F.op("sigmoid", x * beta)
    edge = beta * xd == threshold
    if edge.any():  # (PyTorch's second derivative masks beta x < threshold: 0 at equality)
        s = F.where(F.const(edge), F.const(F.data(s)), s)
    return (F.where(linear, g, g * s),)


register_quiet("softplus", forward=_softplus_forward, vjp=_softplus_vjp,
         samples=_unary_samples(-3, 3, beta=1.5))

def _gelu_forward(x, *, approximate="none"):
    x = _float(x)
    if x.dtype.char == "e":  # (in float32, rounded once, as PyTorch's opmath: stepwise float16
        # was up to 59 ulps off with approximate="tanh": tests/parity/test_s18_HP_fixes.py)
        if approximate == "none":  # (with PyTorch's erf polynomial: 598 -> 0 of 63,488 off)
            return half_gelu(x)
        return _gelu_forward(x.astype(np.float32), approximate=approximate).astype(np.float16)
    if approximate == "tanh":  # (x * x * x as PyTorch's kernel: ``x**3`` is NumPy's pow,
        # slow: F.gelu on 10 x 10 float32 under grad 13.2 -> 6.4 us, thread time, alternated
        # with HEAD's, medians of 21 rounds; closer to PyTorch's values too, s21 SP6)
        if not x.ndim:  # (NumPy scalars: the Python floats are the cheap operands)
            return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))))
        # The same operations in place, with constants of x's dtype (a Python float is cast
        # on every call: Constants): the same bits, F.gelu fwd under grad on [10, 10]
        # float32 12.5 -> 10.2 us, 0.83 (s23 SP9, 40 alternated rounds, thread time, loaded).
        half, one, scale, cubic = _GELU_TANH(x)[:4]
        inner = np.multiply(x, x)
        inner *= x
        inner *= cubic
        inner += x
        inner *= scale
        np.tanh(inner, out=inner)
        inner += one  # ((1 + t) 0.5) x: 0.5 (1 + t) is exact, so as (0.5 x) (1 + t) (x tiny:
        inner *= half  # 1 + t is 1); no 0.5 x array: [32, 64, 256] fwd 0.90 (s24 SP14)
        return np.multiply(x, inner, out=inner)  # (x first: a nan x's sign bit, as before)
    return gelu(x)  # special.py: fast and accurate (timings there)


_GELU_TANH = Constants(0.5, 1.0, _SQRT_2_OVER_PI, 0.044715, 3 * 0.044715)


def _gelu_vjp(F, g, out, x, *, approximate="none"):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("gelu", x, approximate=approximate)
    if approximate == "tanh":
        if F is ARRAY and x.ndim and type(g) is np.ndarray:  # (as the forward: in place)
            return (_gelu_tanh_vjp(g, x),)
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = _gelu_tanh(F, inner)
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
        return (g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner),)
    # gelu(x) = x Phi(x); gelu'(x) = Phi(x) + x phi(x).
    if F is ARRAY:
        return (gelu_backward(g, out, x),)
    cdf = F.normal_cdf(x)
    pdf = _INV_SQRT_2PI * F.exp(-0.5 * x * x)
    return (g * (cdf + x * pdf),)


def _gelu_tanh(F, inner):
    return np.tanh(inner) if F is ARRAY else inner.tanh()


def _gelu_tanh_vjp(g, x):
    """_gelu_vjp's tanh rule on arrays: its operations in its order, in place, with constants
    of x's dtype (the same bits; F.gelu fwd + bwd on [10, 10] float32 38.2 -> 29.6 us, 0.77
    with the forward's, s23 SP9: 40 alternated rounds, thread time, loaded machine). Its
    0.5 x (1 - t t) halves 1 - t t in place (s24 SP14): [32, 64, 256] at one thread 0.91 float32
    (1.40 -> 1.29 ms), 0.91 float64, the forward's 0.90 / 0.89 (61 alternated rounds, thread
    time, medians of the per-round ratios, loaded machine)."""
    half, one, scale, cubic, cubic3 = _GELU_TANH(x)
    t = np.multiply(cubic, x)  # t = tanh(c (x + 0.044715 x x x))
    t *= x
    t *= x
    t += x  # (x + ..., the sum the other way round: the same bits)
    t *= scale
    np.tanh(t, out=t)
    d_inner = np.multiply(cubic3, x)  # c (1 + 3 0.044715 x x)
    d_inner *= x
    d_inner += one
    d_inner *= scale
    left = np.add(one, t)  # 0.5 (1 + t)
    left *= half
    np.multiply(t, t, out=t)  # 0.5 x (1 - t t) d_inner
    np.subtract(one, t, out=t)
    t *= half  # ((1 - t t) 0.5) x d_inner, rounded as (0.5 x) (1 - t t) d_inner: exact halving
    np.multiply(x, t, out=t)  # (1 - t t is 0 or >= 2^-24; x tiny: it is 1): no 0.5 x array
    t *= d_inner
    left += t
    return np.multiply(g, left, out=left) if left.dtype == np.result_type(g, left) else g * left


register_quiet("gelu", forward=_gelu_forward, vjp=_gelu_vjp,
         samples=lambda rng: _unary_samples(-3, 3)(rng)
         + _unary_samples(-3, 3, approximate="tanh")(rng)
         + [Sample((np.array([0.0, -1.0, 2.0]),), note="x=0")])


def _normal_cdf_vjp(F, g, out, x):
    return (g * (_INV_SQRT_2PI * F.exp(-0.5 * x * x)),)


register_quiet("normal_cdf", forward=lambda x: normal_cdf(_float(x)),
         vjp=_normal_cdf_vjp, samples=_unary_samples(-3, 3))


def _cast_vjp(F, g, out, x, *, dtype):
    want = F.data(x).dtype
    if F.data(g).dtype.kind == "c" and want.kind != "c":
        # A real input's gradient is Re g (ops/complex.py's convention): taken here, not by a
        # cast that warns (ComplexWarning) on every backward of x.to(complex64).
        g = F.op("real", g)
    return (F.cast(g, want),)


register_quiet("cast", forward=lambda x, *, dtype: astype_like_torch(x, dtype), vjp=_cast_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((3, 2)),), {"dtype": np.float64})])


# --------------------------------------------------------------------------------------------
# Reductions. ``dim`` may be None, an int or a tuple of ints; ``keepdim`` as in PyTorch.


# --------------------------------------------------------------------------------------------
# Layouts of results from inputs whose dtype changes (tensor.py's _binary/_unary/apply use
# these two in place of promotion's). NumPy keeps an expanded (zero-stride) input's layout in
# a result as PyTorch does, except where the input's dtype is converted (astype, or a ufunc's
# casting loop): a zero stride then counts as the fastest, so arange(4).expand(2, 4) * 2.5 came
# out column-major, strides (1, 2) where PyTorch's are (4, 1), and .view(-1) of it failed.
# Only the mixed-dtype and converted-result paths pay (a same-dtype float32 op never gets here).


def _floating_kept(x: np.ndarray) -> np.ndarray:
    """``floating(x)`` (integers in the default float dtype), an expanded ``x`` converted as
    PyTorch converts it first (a preserve-format copy)."""
    out = floating(x)
    if out is not x and x.ndim > 1 and not all(x.strides):
        return astype_like_torch(x, out.dtype)
    return out


def common(a: np.ndarray, b: np.ndarray) -> tuple:
    """``promotion.common`` (both arrays in their PyTorch result dtype), an expanded input
    converted as PyTorch converts it first (a preserve-format copy: row-major where its
    strides do not tell)."""
    x, y = _common(a, b)
    if x is not a and a.ndim > 1 and not all(a.strides):
        x = astype_like_torch(a, x.dtype)
    if y is not b and b.ndim > 1 and not all(b.strides):
        y = astype_like_torch(b, y.dtype)
    return x, y


def _dims_fastest_first(shape: tuple, arrays: list) -> list:
    """``dims_fastest_first`` of the ``arrays``' strides, broadcast to ``shape``."""
    return dims_fastest_first(shape, [np.broadcast_to(x, shape).strides for x in arrays
                                      if x.ndim])


def _float32_unless_float64(data: np.ndarray, inputs) -> np.ndarray:
    """``promotion.float32_unless_float64``, the converted result laid out as PyTorch's when
    an input is expanded."""
    out = _promoted_result(data, inputs)
    if out is data or out.ndim < 2 or out.flags.c_contiguous:
        return out
    arrays = [x._data for x in inputs if isinstance(getattr(x, "_data", None), np.ndarray)]
    if all(all(x.strides) for x in arrays):
        return out
    slowest_first = _dims_fastest_first(out.shape, arrays)[::-1]
    dense = np.empty([out.shape[d] for d in slowest_first], out.dtype)
    np.copyto(dense, out.transpose(slowest_first))
    return dense.transpose(np.argsort(slowest_first))
