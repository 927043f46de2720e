"""Elementwise math beyond arithmetic: trigonometric and hyperbolic functions, erf and friends,
exp / log variants, rounding, remainders, two-argument functions (atan2, hypot, logaddexp,
xlogy, copysign); fmax / fmin, heaviside, the tensor-bounded clamps, lerp and nextafter are in
``elementwise_pairs.py``.

dtype rules are PyTorch's: a floating function of integer or boolean input computes in the
default floating dtype; two inputs are promoted first (``promotion.result_type``: a 0-d input
ranks below one with dimensions). Rounding and remainders keep integer dtypes. Where PyTorch
has no kernel for a dtype (``frac`` of an integer, ``floor`` of a bool) the forward raises its
NotImplementedError.

Steps (floor, ceil, trunc, round, sign) have zero gradient, as in PyTorch. Where PyTorch
defines no derivative at all (floor division, heaviside) the rule returns zeros too, the
derivative almost everywhere (PyTorch raises at backward instead; documented in the README).
It imports NumPy, the registry, ``special`` and the engine's dtype rules.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import _Default
from ..promotion import result_type
from ..versions import CHANGED_OUTPUTS
from .half import HALF, half_forward
from .numpy_warnings import (  # noqa: F401 - moved out (session 27, FS1); all re-exported
    ERR_STATE,
    IGNORE_ALL,
    QUIET_ENGINE_CALLS,
    quietly,
    register_quiet,
)
from .registry import (
    _BINARY_SHAPES,
    ARRAY,
    Sample,
    _away_from,
    _binary_samples,
    _unary_samples,
    register,
)
from .special import _scipy_special, erf, erfc, erfinv

__all__ = ["ERR_STATE", "IGNORE_ALL", "Constants", "check_kind", "constants", "distinct_pairs",
           "floating", "floating_pair", "pair", "quietly", "register_quiet"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0

_TORCH_NAMES = {"b": "Bool", "u1": "Byte", "i1": "Char", "i2": "Short", "i4": "Int",
                "i8": "Long", "f2": "Half", "f4": "Float", "f8": "Double"}


# --------------------------------------------------------------------------------------------
# dtype helpers shared with elementwise.py and the api.


def check_kind(name: str, x: np.ndarray, kinds: str) -> None:
    """Raise PyTorch's NotImplementedError when ``x``'s dtype kind is not in ``kinds``."""
    if x.dtype.kind not in kinds:
        key = "b" if x.dtype.kind == "b" else f"{x.dtype.kind}{x.dtype.itemsize}"
        raise NotImplementedError(
            f'"{name}_cpu" not implemented for \'{_TORCH_NAMES.get(key, str(x.dtype))}\'')


class Constants:
    """Numbers in the form cheapest for NumPy calls with ``x``, made once per dtype.

    A NumPy call given a Python float converts it on every call: +0.24 us on an 8 x 8 float32
    array, as much as the arithmetic. Given a 0-d array of the operand's dtype it does not,
    and the values are the same (a Python float meeting a float32 array is cast to float32
    first, NEP 50). A 0-d input gives NumPy scalars after its first call, whose operators take
    a Python float in 0.04 us but a 0-d array in 0.35: for 0-d ``x`` the numbers stay Python
    floats. ``Constants(3.0, 6.0)(x)`` costs 0.13 us.
    """

    __slots__ = ("values", "by_dtype")

    def __init__(self, *values: float):
        self.values = values
        self.by_dtype: dict = {}

    def __call__(self, x) -> tuple:
        if not x.ndim:
            return self.values
        found = self.by_dtype.get(x.dtype)
        if found is None:
            found = self.by_dtype[x.dtype] = _zero_d(x.dtype, self.values)
        return found


def _zero_d(dtype, values) -> tuple:
    arrays = tuple(np.array(value, dtype) for value in values)
    for array in arrays:
        array.flags.writeable = False
    return arrays


_CONSTANTS: dict = {}
_ONE = Constants(1.0)
_NEG_INF = Constants(-math.inf)


def constants(x, *values: float) -> tuple:
    """``Constants`` for numbers known at call time only (an op's attributes): cached by dtype
    and values, at most 256 sets (0.18 us a call)."""
    if not x.ndim:
        return values
    key = (x.dtype, values)
    found = _CONSTANTS.get(key)
    if found is None:
        if len(_CONSTANTS) >= 256:
            _CONSTANTS.clear()
        found = _CONSTANTS[key] = _zero_d(x.dtype, values)
    return found


class Number(dict):
    """One number as a read-only 0-d array per dtype, for the hottest rules: ``N[a.dtype] if F
    is ARRAY and a.ndim else value`` (a 0-d ``a``'s products are NumPy scalars, which take a
    Python float cheaper). ``out + 1.0`` on 8 x 8 float32 costs 496 ns, with the 0-d array 243,
    its lookup 65 (alternated, thread time; s28 SP44): the same operand type under NEP 50, so
    the same loop and bits. Other dtypes (bfloat16, integers) keep the Python number."""

    __slots__ = ("value",)

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def __missing__(self, dtype):
        found = self.value
        if dtype.char in "efdFD":
            found = np.array(found, dtype)
            found.flags.writeable = False
        self[dtype] = found
        return found


_N1, _NLN2, _NLN10 = Number(1.0), Number(_LN2), Number(_LN10)
_N_HALF = Number(-0.5)  # (rsqrt's rule)


_INT_OF_SIZE = {2: np.int16, 4: np.int32, 8: np.int64}


def zero_where(drop: np.ndarray, g: np.ndarray, zero=0.0) -> np.ndarray:
    """``np.where(drop, zero, g)``'s bits (``zero`` a +0), branch-free: ``g``'s bits and-ed
    with a mask of all ones where kept (NumPy's where branches per element: a random mask
    mispredicts). [1000, 1000] float32, half dropped: 4.06 -> 0.46 ms (thread time, one
    thread; s28 SP43)."""
    if g.size < 4096:  # (small: np.where's one call costs less than the mask's four)
        return np.where(drop, zero, g)
    kind = _INT_OF_SIZE.get(g.dtype.itemsize)
    if kind is None or g.dtype.kind != "f" or drop.shape != g.shape:
        return np.where(drop, zero, g)
    mask = drop.view(np.uint8).astype(kind)
    mask -= 1  # (dropped: 0, kept: all ones)
    return np.bitwise_and(g.view(kind), mask, out=mask).view(g.dtype)


def floating(x: np.ndarray) -> np.ndarray:
    """Integer or boolean input to a floating function computes in the default float dtype
    (NumPy would choose float16 for int8 and bool, float64 for int32)."""
    return x if x.dtype.kind in "fc" else x.astype(_Default.float)


def pair(x: np.ndarray, y: np.ndarray) -> tuple:
    """Two inputs in their PyTorch result dtype."""
    if x.dtype is y.dtype:
        return x, y
    dtype = result_type(x, y)
    return x.astype(dtype, copy=False), y.astype(dtype, copy=False)


def floating_pair(x: np.ndarray, y: np.ndarray) -> tuple:
    """As ``pair``, then integer results go to the default float dtype."""
    if x.dtype.kind in "biu" and y.dtype.kind in "biu":
        # Straight to float: a Python int beyond the other's integer range (lifted as int64)
        # keeps its value, where pair would wrap it into that dtype.
        return floating(x), floating(y)
    x, y = pair(x, y)
    return floating(x), floating(y)


def _no_zero_divisor(y: np.ndarray, x: np.ndarray) -> None:
    # (An empty result divides nothing: PyTorch's empty // 0 is empty.)
    if y.dtype.kind in "biu" and x.size and not np.all(y):
        raise RuntimeError("ZeroDivisionError")


def distinct_pairs(rng):
    """Broadcast pairs whose elements never tie (ties are pinned by their own tests)."""
    out = []
    for sx, sy in _BINARY_SHAPES:
        while True:
            x, y = rng.uniform(-2, 2, sx), rng.uniform(-2, 2, sy)
            if np.min(np.abs(x - y)) > 0.05:
                break
        out.append(Sample((x, y)))
    return out


def _zeros(F, g, out, *inputs, **attrs):
    if F is ARRAY:
        # Zeros of each input's own shape (nothing for the engine to sum back) and g's dtype;
        # np.zeros costs 0.15 us where np.zeros_like costs 0.8.
        return tuple(np.zeros(np.shape(x), g.dtype) for x in inputs)
    return tuple(F.zeros_like(g) for _ in inputs)


_zeros.reads_nothing = True  # (only the inputs' shapes: versions.saved, backward twice)


def _kink_samples(points, low=-2.0, high=2.0, **kwargs):
    return _unary_samples(low, high, kinks=points, **kwargs)


def _float_unary(name, ufunc, vjp, samples):
    def forward(x):
        return ufunc(floating(x))

    register_quiet(name, forward=forward, vjp=vjp, samples=samples)


# --------------------------------------------------------------------------------------------
# Trigonometric and hyperbolic functions.

# (The rules' numbers are cached 0-d arrays under ARRAY: ``Number``. tan's rule on 8 x 8 float32
# 1.06 -> 0.90 us, atan's 1.04 -> 0.92, log1p's 0.78 -> 0.64: alternated, thread time, s28 SP44.)


def _tan_vjp(F, g, out, x):
    one = _N1[out.dtype] if F is ARRAY and out.ndim else 1.0
    return (g * (one + out * out),)


def _asin_vjp(F, g, out, x):
    one = _N1[x.dtype] if F is ARRAY and x.ndim else 1.0
    return (g / F.sqrt(one - x * x),)


def _acos_vjp(F, g, out, x):
    one = _N1[x.dtype] if F is ARRAY and x.ndim else 1.0
    return (-g / F.sqrt(one - x * x),)


def _atan_vjp(F, g, out, x):
    one = _N1[x.dtype] if F is ARRAY and x.ndim else 1.0
    return (g / (one + x * x),)


def _asinh_vjp(F, g, out, x):
    one = _N1[x.dtype] if F is ARRAY and x.ndim else 1.0
    return (g / F.sqrt(x * x + one),)


def _acosh_vjp(F, g, out, x):
    one = _N1[x.dtype] if F is ARRAY and x.ndim else 1.0
    if F.data(x).dtype.kind == "c":  # sqrt(z - 1) sqrt(z + 1), PyTorch's: sqrt(z^2 - 1) has
        # the other sign where Re z < 0 (SL22 s29); real inputs keep sqrt(x^2 - 1)'s bits
        return (g / (F.sqrt(x - one) * F.sqrt(x + one)),)
    return (g / F.sqrt(x * x - one),)


def _atanh_vjp(F, g, out, x):
    one = _N1[x.dtype] if F is ARRAY and x.ndim else 1.0
    return (g / (one - x * x),)


_float_unary("tan", np.tan, _tan_vjp, _unary_samples(-1.2, 1.2))
_float_unary("asin", np.arcsin, _asin_vjp, _unary_samples(-0.9, 0.9))
_float_unary("acos", np.arccos, _acos_vjp, _unary_samples(-0.9, 0.9))
_float_unary("atan", np.arctan, _atan_vjp, _unary_samples())
_float_unary("sinh", np.sinh, lambda F, g, out, x: (g * F.op("cosh", x),), _unary_samples())
_float_unary("cosh", np.cosh, lambda F, g, out, x: (g * F.op("sinh", x),), _unary_samples())
_float_unary("asinh", np.arcsinh, _asinh_vjp, _unary_samples())
_float_unary("acosh", np.arccosh, _acosh_vjp, _unary_samples(1.2, 3.0))
_float_unary("atanh", np.arctanh, _atanh_vjp,
             _unary_samples(-0.9, 0.9))


def _sinc_vjp(F, g, out, x):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("sinc", x)
    # sinc'(x) = (cos(pi x) - sinc(x)) / x, 0 at x = 0 (sinc is even). There it is written as
    # sinc''(0) x = -pi^2 x / 3, which is 0 and has the right derivative for second order.
    zero = F.data(x) == 0
    if not zero.any():
        return (g * ((F.cos(math.pi * x) - out) / x),)
    zero = F.const(zero)
    safe = F.where(zero, F.ones_like(x), x)
    slope = (F.cos(math.pi * safe) - F.op("sinc", safe)) / safe
    return (g * F.where(zero, (-math.pi ** 2 / 3.0) * x, slope),)


def _sinc(x):
    # float16 in float32, as PyTorch: sin(pi x) rounded to float16 first makes sinc(1) 3e-4.
    return half_forward(np.sinc, x) if x.dtype == HALF else np.sinc(x)


_float_unary("sinc", _sinc, _sinc_vjp,
             lambda rng: _unary_samples()(rng) + [Sample((np.array([0.0, 0.5, -1.5]),))])
_float_unary("deg2rad", np.deg2rad, lambda F, g, out, x: (g * (math.pi / 180.0),),
             _unary_samples())
_float_unary("rad2deg", np.rad2deg, lambda F, g, out, x: (g * (180.0 / math.pi),),
             _unary_samples())


# --------------------------------------------------------------------------------------------
# erf family, exp / log variants, reciprocals.


def _erf_vjp(F, g, out, x):
    return (g * (_TWO_OVER_SQRT_PI * F.exp(-(x * x))),)


def _erfc_vjp(F, g, out, x):
    return (g * (-_TWO_OVER_SQRT_PI * F.exp(-(x * x))),)


register_quiet("erf", forward=lambda x: erf(floating(x)), vjp=_erf_vjp,
         samples=_unary_samples(-3.0, 3.0))
register_quiet("erfc", forward=lambda x: erfc(floating(x)), vjp=_erfc_vjp,
         samples=_unary_samples(-3.0, 3.0))


def _erfinv_vjp(F, g, out, x):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("erfinv", x)
    return (g * (_SQRT_PI_OVER_2 * F.exp(out * out)),)


register_quiet("erfinv", forward=lambda x: erfinv(floating(x)), vjp=_erfinv_vjp,
         samples=_unary_samples(-0.9, 0.9))


def _exp2_vjp(F, g, out, x):  # (the numbers: see _tan_vjp)
    return (g * (out * (_NLN2[out.dtype] if F is ARRAY and out.ndim else _LN2)),)


def _expm1_vjp(F, g, out, x):
    return (g * (out + (_N1[out.dtype] if F is ARRAY and out.ndim else 1.0)),)


def _log2_vjp(F, g, out, x):
    return (g / (x * (_NLN2[x.dtype] if F is ARRAY and x.ndim else _LN2)),)


def _log10_vjp(F, g, out, x):
    return (g / (x * (_NLN10[x.dtype] if F is ARRAY and x.ndim else _LN10)),)


def _log1p_vjp(F, g, out, x):
    return (g / (x + (_N1[x.dtype] if F is ARRAY and x.ndim else 1.0)),)


_float_unary("exp2", np.exp2, _exp2_vjp, _unary_samples())
_float_unary("expm1", np.expm1, _expm1_vjp, _unary_samples())
_float_unary("log2", np.log2, _log2_vjp, _unary_samples(0.2, 3.0))
_float_unary("log10", np.log10, _log10_vjp, _unary_samples(0.2, 3.0))
_float_unary("log1p", np.log1p, _log1p_vjp, _unary_samples(-0.8, 3.0))


def _rsqrt(x):
    if x.dtype == HALF:  # (in float32, rounded once, as PyTorch's vectorized kernel: stepwise
        return half_forward(_rsqrt, x)  # float16 differed at 356 of 1200 samples)
    return np.reciprocal(np.sqrt(x))


_float_unary("rsqrt", _rsqrt, lambda F, g, out, x: (
    g * ((_N_HALF[out.dtype] if F is ARRAY and out.ndim else -0.5) * out * out * out),),
             _unary_samples(0.2, 3.0))
_float_unary("reciprocal", np.reciprocal, lambda F, g, out, x: (g * -(out * out),),
             lambda rng: [Sample((rng.uniform(0.3, 2.0, s) * rng.choice([-1.0, 1.0], s),))
                          for s in ((), (5,), (3, 4))])


def _logit_forward(x, *, eps=None):
    x = floating(x)
    if eps is not None and eps >= 0:  # (a negative eps clamps nothing, as in PyTorch)
        # PyTorch's kernel tests the low bound first: with eps > 1/2 (low above high) values
        # below eps take eps and the others 1 - eps, where np.clip would give 1 - eps to all.
        low, high = x.dtype.type(eps), x.dtype.type(1.0 - eps)
        x = np.where(x < low, low, np.where(x > high, high, x))
    one = _ONE(x)[0]
    if x.size <= 16 and all(0.0 < v < 1.0 for v in x.reshape(-1).tolist()):
        # (nothing to silence: a list test costs 0.5 us on 8 elements, np.errstate 1.2)
        return np.log(x / (one - x))
    token = ERR_STATE.set(IGNORE_ALL)  # (not np.errstate: ~1 us less; s27 SP37)
    try:
        return np.log(x / (one - x))
    finally:
        ERR_STATE.reset(token)


def _logit_vjp(F, g, out, x, *, eps=None):
    if CHANGED_OUTPUTS and id(F.data(out)) in CHANGED_OUTPUTS:  # (versions.OUT_SHORTCUT)
        out = F.op("logit", x, eps=eps)
    # NOTE: PyTorch's choices outside the domain: without eps the gradient is nan outside
    # [0, 1]; with eps it is 0 where x was clamped (outside [eps, 1 - eps]).
    xd = F.data(x)
    if eps is None or eps < 0:
        # The output is nan exactly where x is outside [0, 1] or nan: when its sum is not nan
        # there is nothing to mask (one reduction instead of 4 NumPy calls).
        total = np.add.reduce(F.data(out), axis=None)
        if total == total:
            one = _ONE(xd)[0] if F is ARRAY else 1.0  # (an ndarray - Tensor is NumPy's)
            # (+ 0.0 turns x = -0.0's denominator into +0.0: PyTorch's g * inf at x == 0)
            return (g / (x * (one - x) + 0.0),)
        outside, fill = (xd < 0) | (xd > 1), np.nan
        slope = g / (x * (1.0 - x) + 0.0)
    else:
        outside, fill = (xd < eps) | (xd > 1.0 - eps), 0.0
        slope = g / (x * (1.0 - x))
    if not outside.any():
        return (slope,)
    return (F.where(F.const(outside), F.const(np.full(xd.shape, fill, xd.dtype)), slope),)


register_quiet("logit", forward=_logit_forward, vjp=_logit_vjp,
         samples=lambda rng: _unary_samples(0.1, 0.9)(rng)
         + [Sample((_away_from(rng, (6,), (0.2, 0.8), 0.0, 1.0, gap=0.05),), {"eps": 0.2})])


# --------------------------------------------------------------------------------------------
# Rounding and signs: integer input is returned as it is (a copy), bool is refused.


def _stepwise(name, ufunc, kinds="iuf"):
    def forward(x):
        check_kind(name, x, kinds)
        return ufunc(x) if x.dtype.kind in "fc" else x.copy()

    return forward


_INTEGERS = tuple(float(k) for k in range(-3, 4))
register("floor", forward=_stepwise("floor", np.floor), vjp=_zeros,
         samples=_kink_samples(_INTEGERS))
register("ceil", forward=_stepwise("ceil", np.ceil), vjp=_zeros,
         samples=_kink_samples(_INTEGERS))
register("trunc", forward=_stepwise("trunc", np.trunc), vjp=_zeros,
         samples=_kink_samples(_INTEGERS))


def _round_forward(x, *, decimals=0):
    check_kind("round", x, "iuf" if decimals == 0 else "f")
    if x.dtype.kind not in "fc":
        return x.copy()
    # Half to even, as PyTorch (np.round scales by 10**decimals the same way); float16
    # scales in float32, as PyTorch's kernel (60000 * 100 is no overflow there).
    if decimals and x.dtype == HALF:
        return half_forward(np.round, x, decimals=decimals)
    return np.round(x, decimals)


_HALVES = tuple(k + 0.5 for k in range(-3, 3))
register_quiet("round", forward=_round_forward, vjp=_zeros,
               samples=lambda rng: _kink_samples(_HALVES)(rng)
               + [Sample((_away_from(rng, (5,), tuple(k / 10 + 0.05 for k in range(-20, 20)),
                                     gap=0.01),), {"decimals": 1})])


def _frac_forward(x):
    check_kind("frac", x, "f")
    return x - np.trunc(x)


register_quiet("frac", forward=_frac_forward, vjp=lambda F, g, out, x: (g,),
         samples=_kink_samples(_INTEGERS))


def _sign_forward(x):
    if x.dtype.kind == "b":
        return x.copy()
    out = np.asarray(np.sign(x))  # (a 0-d input gives a scalar)
    if x.dtype.kind == "f":
        np.copyto(out, 0, where=np.isnan(out))  # PyTorch's sign(nan) is 0
    elif x.dtype.kind == "c":  # (PyTorch's sgn is z / |z|: nan+nanj where a part is inf or nan)
        np.copyto(out, complex(np.nan, np.nan), where=~np.isfinite(x))
    return out


register("sign", forward=_sign_forward, vjp=_zeros, samples=_kink_samples((0.0,)))


def _nan_to_num_forward(x, *, nan=0.0, posinf=None, neginf=None):
    if x.dtype.kind not in "fc" or np.isfinite(x).all():
        return x.copy(order="K")  # (nothing to replace: np.nan_to_num's Python layer costs 3 us;
        # order "K": PyTorch's elementwise result keeps a dense input's strides)
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _nan_to_num_vjp(F, g, out, x, **attrs):
    # NOTE: the replaced entries are constants: gradient 0 there, as in PyTorch.
    return (g * F.const(np.isfinite(F.data(x))),)


register_quiet("nan_to_num", forward=_nan_to_num_forward, vjp=_nan_to_num_vjp,
         samples=lambda rng: _unary_samples(nan=1.0, posinf=2.0, neginf=-2.0)(rng))


# --------------------------------------------------------------------------------------------
# Two-argument floating functions.


def _float_binary(name, ufunc, vjp, samples, kinds="biufc"):
    def forward(x, y):
        check_kind(name, pair(x, y)[0], kinds)
        x, y = floating_pair(x, y)
        return ufunc(x, y)

    register_quiet(name, forward=forward, vjp=vjp, samples=samples)


def _atan2_vjp(F, g, out, y, x):
    # d atan2(y, x) = (x dy - y dx) / (x^2 + y^2); both are 0 at the origin (PyTorch's value),
    # where the numerators vanish and the denominator is replaced by 1.
    square = y * y + x * x
    origin = F.data(square) == 0
    if origin.any():
        square = F.where(F.const(origin), F.ones_like(square), square)
    return g * x / square, g * -y / square


_float_binary("atan2", np.arctan2, _atan2_vjp, _binary_samples(0.2, 2.0, -2.0, 2.0))


def _logaddexp_vjp(F, g, out, x, y):
    # PyTorch's form, 1 / (1 + exp(y - x)), not the equal exp(x - out): at x = y = -4988429.0
    # (float32) out rounds to x and exp(x - out) is 1, not 0.5. Infinities come out as
    # PyTorch's too (slopes 1 and 0; nan for inf with inf). Complex: the holomorphic twin.
    with np.errstate(over="ignore", invalid="ignore"):
        return g / (1.0 + F.exp(y - x)), g / (1.0 + F.exp(x - y))


def _logaddexp2_vjp(F, g, out, x, y):
    with np.errstate(over="ignore", invalid="ignore"):  # (as logaddexp's, in base 2)
        return g / (1.0 + F.exp((y - x) * _LN2)), g / (1.0 + F.exp((x - y) * _LN2))


def _logaddexp(x, y):
    if x.dtype.kind != "c":
        return np.logaddexp(x, y)
    # PyTorch's complex kernel: max + log1p(exp(min - max)), min and max by real part; nan in
    # either part of either operand gives nan + nan j; equal infinite real parts give the
    # operand for -inf and log(exp(x) + exp(y)) for +inf.
    x, y = np.broadcast_arrays(x, y)
    lower = x.real < y.real
    low, high = np.where(lower, x, y), np.where(lower, y, x)
    with np.errstate(all="ignore"):
        out = np.asarray(np.log1p(np.exp(low - high)) + high)
        infinite = ~np.isfinite(low.real) & (low.real == high.real)
        if infinite.any():
            summed = np.log(np.exp(low) + np.exp(high))
            out = np.where(infinite, np.where(low.real < 0, low, summed), out)
    nan = np.isnan(x) | np.isnan(y)
    return np.where(nan, np.array(complex(np.nan, np.nan), out.dtype), out) if nan.any() else out


# (No integer kernels in PyTorch for these three.)
_float_binary("logaddexp", _logaddexp, _logaddexp_vjp, _binary_samples(), kinds="fc")
_float_binary("logaddexp2", np.logaddexp2, _logaddexp2_vjp, _binary_samples(), kinds="fc")
_float_binary("hypot", np.hypot, lambda F, g, out, x, y: (g * x / out, g * y / out),
              _binary_samples(0.2, 2.0, -2.0, -0.2), kinds="fc")


def _copysign_forward(x, y):
    x, y = floating_pair(x, y)
    return np.copysign(x, y)  # (never warns: no errstate, 1.2 us)


def _copysign_vjp(F, g, out, x, y):
    # |x| with y's sign: the slope in x is out / x (+-1), 0 at x = 0 (PyTorch); none in y.
    xd = F.data(x)
    if F is ARRAY and np.isfinite(xd).all():
        # No inf or nan in x: out / x is sign(x) sign(out), 0 at x = 0, without the division's
        # warnings to silence (7 NumPy calls instead of 10 and an errstate).
        # (sign's dtype= for a bool magnitude: NumPy has no bool sign)
        return g * (np.sign(xd, dtype=out.dtype) * np.sign(out)), np.zeros(y.shape, g.dtype)
    if F is not ARRAY:
        # PyTorch's formula itself, g * masked_fill(result / x, x == 0, 0), recorded (the
        # result, not y, as PyTorch saves: y may change in place): a gradient that requires
        # grad, whose own gradient is 0 (nan at x == 0, as there; was None, s23 BR4)
        ratio = out / x
        return g * F.where(F.const(xd == 0), F.zeros_like(ratio), ratio), F.zeros_like(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(xd == 0, 0.0, F.data(out) / np.where(xd == 0, 1.0, xd))
    return g * F.const(ratio.astype(F.data(g).dtype)), F.zeros_like(g)


def _copysign_samples(rng):
    return [Sample((_away_from(rng, sx), _away_from(rng, sy))) for sx, sy in _BINARY_SHAPES]


register("copysign", forward=_copysign_forward, vjp=_copysign_vjp, samples=_copysign_samples)


def _xlogy_forward(x, y):
    x, y = floating_pair(x, y)
    special = _scipy_special()
    if special is not None and x.dtype.char in "fd":
        return special.xlogy(x, y)  # (PyTorch's values at x = 0 and nan y too; one call)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(y)
    # x = 0 gives 0 unless y is nan (PyTorch's definition): 0 * log(0) is not nan here.
    return np.where((x == 0) & ~np.isnan(y), 0.0, out).astype(out.dtype, copy=False)


def _xlogy_vjp(F, g, out, x, y):
    # d/dx = xlogy(g, y): g log(y), and 0 where g is 0. NOTE: PyTorch also makes it 0 where
    # x = 0 and y <= 0 (where log y is -inf or nan).
    xd, yd, gd = F.data(x), F.data(y), F.data(g)
    if F is ARRAY and xd.all():
        # No zero x, so PyTorch's mask is empty: the slope is xlogy(g, y) itself (0 where g is
        # 0 unless y is nan), SciPy's one call where installed.
        special = _scipy_special()
        if special is not None and gd.dtype.char in "fd":
            return special.xlogy(g, y), g * x / y
    with np.errstate(invalid="ignore"):
        zero = ((xd == 0) & (yd <= 0)) | ((gd == 0) & ~np.isnan(yd))
    if zero.any():
        zero = F.const(np.broadcast_to(zero, gd.shape))
        gx = F.where(zero, F.zeros_like(g), g * F.log(F.where(zero, F.ones_like(g), y)))
    else:
        gx = g * F.log(y)
    return gx, g * x / y


register_quiet("xlogy", forward=_xlogy_forward, vjp=_xlogy_vjp,
         samples=_binary_samples(-2.0, 2.0, 0.2, 2.0))  # (x = 0, PyTorch's 0 slope: parity)


# --------------------------------------------------------------------------------------------
# Remainders and rounded division: integer dtypes kept; an integer divisor of 0 raises as in
# PyTorch ("ZeroDivisionError"), a floating one gives nan / inf.


def _no_bool(x, kernel: str) -> None:
    # PyTorch has no boolean kernel for these (bool % bool raises; bool % int is int).
    if x.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _remainder_forward(x, y):
    x, y = pair(x, y)
    _no_bool(x, "remainder_cpu")
    _no_zero_divisor(y, x)
    # (Registered quietly, its only caller: no errstate of its own; zeros counted, not all():
    # forward + rule on [8, 8] float32 7.4 -> 4.6 us, timeit; op_overhead in the S5 report.)
    out = np.remainder(x, y)  # the divisor's sign, as Python's %
    if out.dtype.kind == "f" and np.count_nonzero(out) != out.size:
        # A zero result takes the dividend's sign in PyTorch (its fmod's: 5.0 % -2.5 is +0.0,
        # -5.0 % 2.5 is -0.0), the divisor's in NumPy.
        out = np.where(out == 0, np.copysign(out, x), out)
    return out


def _fmod_forward(x, y):
    x, y = pair(x, y)
    _no_bool(x, "fmod_cpu")
    _no_zero_divisor(y, x)
    # (ERR_STATE, not np.errstate: ~1 us; op_overhead.py fmod 0.60 -> 0.53 x PyTorch, s27)
    token = ERR_STATE.set(IGNORE_ALL)
    try:
        return np.fmod(x, y)  # the dividend's sign, as C's fmod
    finally:
        ERR_STATE.reset(token)


def _quotient(x, y, rounding_mode):
    token = ERR_STATE.set(IGNORE_ALL)  # (not np.errstate: 1 us less)
    try:
        return _quiet_quotient(x, y, rounding_mode)
    finally:
        ERR_STATE.reset(token)


def _quiet_quotient(x, y, rounding_mode):
    # (NumPy's warnings already off: the registered forward is quiet)
    if x.dtype.kind == "V" or x.dtype == np.float16:  # (kind "V": ml_dtypes' bfloat16)
        return _reduced_quotient(x, y, rounding_mode)
    if rounding_mode == "floor":
        return np.floor_divide(x, y)
    if x.dtype.kind in "fc":
        return np.trunc(x / y)
    return (x - np.fmod(x, y)) // y  # exact: the difference is a multiple of y


def _reduced_quotient(x, y, rounding_mode):
    """PyTorch's float16 / bfloat16 div_trunc and div_floor CPU kernels. A one-element divisor
    takes its scalar kernel, float32 throughout and rounded once; otherwise each step rounds
    to the dtype: trunc is trunc(x / y) of the rounded quotient (-3.890625 / -0.216796875 is
    17.95, 18.0 in bfloat16, so 18), floor is C10's div_floor_floating (NumPy's floor_divide,
    the same steps) in the dtype. Matched on 200,000 random pairs of each dtype and mode."""
    if y.size == 1:
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        out = np.floor_divide(x32, y32) if rounding_mode == "floor" else np.trunc(x32 / y32)
        return out.astype(x.dtype)
    if rounding_mode == "trunc":
        return np.trunc(x / y)
    dtype = x.dtype.type
    mod = np.fmod(x, y)
    div = (x - mod) / y
    div = np.where((mod != 0) & ((y < 0) != (mod < 0)), div - dtype(1), div)
    floor = np.floor(div)
    floor = np.where(div - floor > dtype(0.5), floor + dtype(1), floor)
    floor = np.where(div != 0, floor, np.copysign(dtype(0), x / y))
    return np.where(y == 0, x / y, floor)  # (C10's kernel: a zero divisor gives x / 0)


def _remainder_vjp(F, g, out, x, y):
    # x = q y + r with q = floor(x / y) constant between jumps: dr/dx = 1, dr/dy = -q.
    if F is ARRAY:  # (ERR_STATE, not np.errstate: 1 us less)
        token = ERR_STATE.set(IGNORE_ALL)
        try:
            return g, -g * np.floor_divide(x, y)
        finally:
            ERR_STATE.reset(token)
    return g, -g * _linked_quotient(F, x, y, "floor")


def _fmod_vjp(F, g, out, x, y):
    if F is ARRAY:
        return g, -g * _quotient(x, y, "trunc")
    return g, -g * _linked_quotient(F, x, y, "trunc")


def _linked_quotient(F, x, y, mode):
    # The rounded quotient of a recorded backward, linked to x and y with zero gradients:
    # PyTorch's rule takes x.div(y, rounding_mode=...), whose derivative is zeros, so the
    # gradient requires grad and its own gradient reaches x and y as zeros (was None, s23 BR4)
    return F.op("zero_link", F.op("zero_link", F.const(_quotient(F.data(x), F.data(y), mode)),
                                  x), y)


def _division_samples(rng):
    # Kept away from the jumps where x / y is an integer.
    out = []
    for sx, sy in _BINARY_SHAPES:
        y = rng.uniform(0.5, 1.5, sy) * rng.choice([-1.0, 1.0], sy)
        x = rng.uniform(-3.0, 3.0, sx)
        ratio = np.broadcast_to(x / y, np.broadcast_shapes(sx, sy))
        if np.min(np.abs(ratio - np.round(ratio))) > 0.05:
            out.append(Sample((x, y)))
    return out


register_quiet("remainder", forward=_remainder_forward, vjp=_remainder_vjp,
               samples=_division_samples)
register_quiet("fmod", forward=_fmod_forward, vjp=_fmod_vjp, samples=_division_samples)


def _div_rounding_forward(x, y, *, rounding_mode):
    x, y = pair(x, y)
    _no_bool(x, f"div_{rounding_mode}_cpu")
    _no_zero_divisor(y, x)
    return _quiet_quotient(x, y, rounding_mode)  # (floor_divide on 5 x 5: 4.9 -> 3.6 us)


register_quiet("div_rounding", forward=_div_rounding_forward, vjp=_zeros,
         samples=lambda rng: [Sample(s.args, {"rounding_mode": mode})
                              for mode in ("trunc", "floor") for s in _division_samples(rng)])
