"""More special functions and their ops: the modified Bessel functions i0, i0e, i1, i1e; the
scaled complementary error function erfcx; the normal distribution's log_ndtr and ndtri; entr;
frexp's mantissa; xlog1py and the Hurwitz zeta (kernel in special_bessel.py, differentiable in
q only, as PyTorch's). SciPy's ufuncs serve where installed, NumPy kernels otherwise.

Two paths, switched by ``USE_SCIPY`` (on; SciPy imported lazily on first use, so
``import deltagrad`` needs only NumPy; tests run both):

- SciPy: ``i0``, ``i0e``, ``i1``, ``i1e``, ``erfcx``, ``log_ndtr``, ``ndtri``, whose values
  are PyTorch's at every edge, except log_ndtr past 5: there SciPy's drifts from PyTorch's by
  up to 3e-14 (both lose digits to erfc) and is 0 past 37.5 where PyTorch's is subnormal, so
  PyTorch's formula (below) takes those elements.
- NumPy: each function computes in float64 in a fixed number of whole-array passes (float32 /
  float16 input is rounded once at the end; integer input gives the default float dtype), never
  a Python loop over elements; up to 64 elements a series is one matrix of its terms, and
  large arrays run in cache-sized blocks.

The NumPy kernels:

- Bessel I0 and I1 up to 20: the power series ``sum (x^2 / 4)^k / (k! (k + nu)!)``, all terms
  positive (no cancellation), stopped when the last term is below 1e-17 of the sum (at most ~35
  terms at 20). Beyond 20 the asymptotic series of ``I_nu(x) e^-x sqrt(2 pi x)``, whose
  smallest term there is below e^-40: full float64 accuracy. The scaled forms (``i0e``) never
  overflow; the plain ones overflow to inf only where the value does (past ~713), and are
  nan at +-inf, as PyTorch's.
- erfcx(a) = exp(a^2) erfc(a): below 0.75 directly (erfc from ``special``); on [0.75, 27] the
  rational fit of ``special`` (its erfc tail, relative error ~1e-15); beyond, the asymptotic
  series (8 terms).
- log_ndtr(x) = log Phi(x): ``log1p(-erfc(x / sqrt 2) / 2)`` above 0, ``log(erfcx(-x / sqrt 2)
  / 2) - x^2 / 2`` below, accurate far into both tails (-1e5 gives -5e9).
- ndtri(p), Phi's inverse: ``sqrt 2 erfinv(2p - 1)`` on [0.05, 0.95]; in the tails Abramowitz
  and Stegun's 26.2.23 estimate (error < 4.5e-4) refined by two Halley steps on
  ``log_ndtr(x) = log p`` (cubic convergence: below 5e-16 relative).

Both paths against PyTorch (float64, 17,000 points each): relative error below 2e-15
(Bessel, erfcx, ndtri), 1.5e-15 (log_ndtr; 1e-14 for both libraries past 5, erfc's loss).

Speed (this shared 2-core machine; benchmarks/op_overhead.py, forward + backward, median over
0-d, [8], [8, 8] float32 against PyTorch; before: the NumPy kernels alone, NumPy path now in
brackets): ndtri 15.3 -> 0.43 x (5.0), i0e 10.7 -> 0.61 x (1.8), i1 8.3 -> 0.53 x (2.0), i0
7.4 -> 0.63 x (3.0), i1e 5.2 -> 0.78 x (2.0), log_ndtr 2.9 -> 0.49 x (2.1), erfcx 1.9 -> 0.42 x
(1.3). 1M float64 elements, forward + the backward's kernels, before -> SciPy (NumPy): i0
155 -> 65 (89) ms, i0e 140 -> 55 (70), i1 161 -> 61 (90), i1e 141 -> 53 (73), erfcx 42 -> 23
(35), log_ndtr 112 -> 52 (82), ndtri 45 -> 11 ms (NumPy 108 ms with special's NumPy erfinv,
148 before); through deltagrad 0.6 to 1.15 x PyTorch's fwd + bwd. Then (issue 18: the
ops call SciPy's float32 loops directly, SciPy is imported once, leaner rules) i0 0.63 ->
0.42 x, i0e 0.61 -> 0.41 x, i1e 0.78 -> 0.44 x, entr 0.72 -> 0.35 x.
"""

from __future__ import annotations

import math

import numpy as np

from .elementwise_math import ERR_STATE, IGNORE_ALL, floating, floating_pair, register_quiet
from .gamma import _blocks
from .gamma import _horner as _polynomial
from .registry import ARRAY, Sample, _binary_samples, _unary_samples
from .special import _TAIL_P, _TAIL_Q, erfc, erfinv, load_scipy_special
from .special_bessel import hurwitz_zeta

__all__ = ["USE_SCIPY", "bessel_i0e", "bessel_i1e", "erfcx", "log_ndtr", "ndtri"]

USE_SCIPY = True  # scipy.special's i0 ... ndtri when importable (tests switch it off)

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_SERIES_LIMIT = 20.0
# Up to this many elements a series is summed as one matrix of its terms (a cumulative product
# of the term ratios) instead of a loop of ~4 NumPy calls per term: i0e on 8 elements 580 ->
# ~40 us (NumPy path).
_SMALL = 64


def _scipy_special():
    # (SciPy is imported once, on first use: see load_scipy_special)
    return load_scipy_special() if USE_SCIPY else None


def _flat64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


# --------------------------------------------------------------------------------------------
# Modified Bessel functions of the first kind, orders 0 and 1.

# The most terms either series needs (the loops' stopping rule below, at x = 20 and just past
# it), for the small-array sums, which take them all.
_SERIES_TERMS = 36
_ASYMPTOTIC_TERMS = 28
_K = np.arange(1.0, _SERIES_TERMS + 1.0)


def _power_series(x: np.ndarray, order: int) -> np.ndarray:
    """sum_k (x^2 / 4)^k / (k! (k + order)!) (x / 2)^order for 0 <= x <= 20."""
    quarter = 0.25 * x * x
    first = np.ones(x.shape) if order == 0 else 0.5 * x
    if x.size <= _SMALL:
        # term_k / term_(k-1) = quarter / (k (k + order)); all terms positive
        ratios = quarter.reshape(-1, 1) / (_K * (_K + order))
        return first * (1.0 + np.multiply.accumulate(ratios, axis=1).sum(axis=1))
    term = first
    total = term.copy()
    for k in range(1, 80):
        term = term * quarter / (k * (k + order))
        total += term
        if not np.any(term > 1e-17 * total):
            break
    return total


def _asymptotic_series(x: np.ndarray, order: int) -> np.ndarray:
    """I_order(x) e^-x sqrt(2 pi x) for x > 20 (nan and +inf too), by the asymptotic series."""
    mu = 4.0 * order * order
    with np.errstate(invalid="ignore"):
        if x.size <= _SMALL:
            k = _K[:_ASYMPTOTIC_TERMS]
            ratios = (-(mu - (2.0 * k - 1.0) ** 2) / (8.0 * k)) / x.reshape(-1, 1)
            return 1.0 + np.multiply.accumulate(ratios, axis=1).sum(axis=1)
        term = np.ones(x.shape)
        total = term.copy()
        for k in range(1, 60):
            # t_k = t_(k-1) * -(mu - (2k - 1)^2) / (8 k x)
            term = term * (-(mu - (2 * k - 1) ** 2) / (8.0 * k)) / x
            total += term
            if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
                break
    return total


def _bessel_scaled_abs(a: np.ndarray, order: int) -> np.ndarray:
    """``I_order(a) e^-a`` for a >= 0 (float64, flat); nan stays nan, +inf gives 0."""
    scaled = np.empty(a.shape)
    small = np.flatnonzero(a <= _SERIES_LIMIT)
    if small.size:
        x = a[small]
        scaled[small] = _power_series(x, order) * np.exp(-x)
    large = np.flatnonzero(~(a <= _SERIES_LIMIT))  # (nan and inf too)
    if large.size:
        x = a[large]
        with np.errstate(invalid="ignore"):
            scaled[large] = _asymptotic_series(x, order) / np.sqrt(2.0 * np.pi * x)
    return scaled


def bessel_i0e(x: np.ndarray) -> np.ndarray:
    """I0(x) e^-|x| elementwise, in float64."""
    flat = _flat64(x)
    special = _scipy_special()
    if special is not None:
        return special.i0e(flat).reshape(np.shape(x))
    return _blocks(lambda v: _bessel_scaled_abs(np.abs(v), 0), flat).reshape(np.shape(x))


def bessel_i1e(x: np.ndarray) -> np.ndarray:
    """I1(x) e^-|x| elementwise (odd in x), in float64."""
    flat = _flat64(x)
    special = _scipy_special()
    if special is not None:
        return special.i1e(flat).reshape(np.shape(x))
    scaled = _blocks(lambda v: np.sign(v) * _bessel_scaled_abs(np.abs(v), 1), flat)
    return scaled.reshape(np.shape(x))


def _unscaled(scaled: np.ndarray, x: np.ndarray) -> np.ndarray:
    a = np.abs(_flat64(x))
    with np.errstate(over="ignore", invalid="ignore"):
        out = scaled.reshape(-1) * np.exp(np.minimum(a, 700.0))
        beyond = a > 700.0  # exp(a) alone would overflow before the product does
        out[beyond] = scaled.reshape(-1)[beyond] * np.exp(700.0) * np.exp(a[beyond] - 700.0)
    # NOTE: nan at +-inf (the limit is inf), PyTorch's value: its kernels' exp(x) * 0 there.
    out[np.isinf(a)] = np.nan
    return out.reshape(np.shape(x))


# SciPy's i0 / i1 are PyTorch's at every edge too (nan at +-inf, inf past ~713).
def bessel_i0(x: np.ndarray) -> np.ndarray:
    """I0(x) elementwise, in float64."""
    special = _scipy_special()
    if special is not None:
        return special.i0(_flat64(x)).reshape(np.shape(x))
    return _unscaled(bessel_i0e(x), x)


def bessel_i1(x: np.ndarray) -> np.ndarray:
    """I1(x) elementwise, in float64."""
    special = _scipy_special()
    if special is not None:
        return special.i1(_flat64(x)).reshape(np.shape(x))
    return np.sign(_flat64(x)).reshape(np.shape(x)) * _unscaled(np.abs(bessel_i1e(x)), x)


def _in_input_dtype(kernel, x):
    x = floating(x)
    return np.asarray(kernel(x)).astype(x.dtype, copy=False)


def _scipy_or_kernel(name, kernel):
    """An op's forward: SciPy's ufunc ``name`` on float32 / float64 arrays where installed (its
    float32 loop computes in float64 and rounds once: the kernels' values bit for bit, without
    their casts and reshapes), else ``kernel`` in the input's dtype."""

    def forward(x):
        x = floating(x)
        special = _scipy_special()
        if special is not None and x.dtype.char in "fd":
            return getattr(special, name)(x)
        return np.asarray(kernel(x)).astype(x.dtype, copy=False)

    forward.__name__ = name
    return forward


_I0, _I0E, _I1, _I1E = (_scipy_or_kernel("i0", bessel_i0), _scipy_or_kernel("i0e", bessel_i0e),
                        _scipy_or_kernel("i1", bessel_i1), _scipy_or_kernel("i1e", bessel_i1e))


def _where_zero(F, x, out, name, value, slope):
    """``slope(x, out)`` (``out`` = op ``name`` at x), with ``value`` where x is ``_tiny``
    (there ``slope`` is computed with x replaced by 1, and nothing flows into a second
    derivative: PyTorch's 0 there, where subnormal x gave nan here; s27 BR15)."""
    zero = _tiny(F.data(x))
    if not zero.any():
        return slope(x, out)  # (reusing out: one op fewer, ~2 us of a small backward)
    safe = F.where(F.const(zero), F.ones_like(x), x)
    fill = F.const(np.full(zero.shape, value, F.data(x).dtype))
    return F.where(F.const(zero), fill, slope(safe, F.op(name, safe)))


def _i0_vjp(F, g, out, x):
    return (g * (_I1(x) if F is ARRAY else F.op("i1", x)),)


def _i0e_vjp(F, g, out, x):
    # i0e' = i1e - sign(x) i0e
    i1e = _I1E(x) if F is ARRAY else F.op("i1e", x)
    return (g * (i1e - F.const(np.sign(F.data(x))) * out),)


def _tiny(x):
    """Where |x| <= its dtype's eps: PyTorch's i1 / i1e backward gives exactly 1/2 there (their
    limit at 0; in float32 i1e'(1e-40) was -inf here and i1'(1e-45) 0, from x / 2 rounded)."""
    return np.abs(x) <= np.finfo(x.dtype).eps


def _at_tiny(slope, x):
    """``slope`` with 1/2 where x is ``_tiny`` (the first derivative of i1 / i1e)."""
    tiny = _tiny(x)
    return np.where(tiny, slope.dtype.type(0.5), slope) if tiny.any() else slope


def _over_x(out, x):
    """out / x, and 1/2 where x == 0 (the limit of i1(x) / x and i1e(x) / x there)."""
    if x.all():  # (no zero: one call)
        return out / x
    return np.divide(out, x, out=np.full(np.shape(out), 0.5, out.dtype), where=x != 0)


def _refuse_half(F, x, name: str) -> None:
    """PyTorch has no float16 / bfloat16 kernel for i1's and i1e's derivatives (its
    NotImplementedError); deltagrad's rounded each step in the half dtype, wrong by 2x at
    bfloat16 subnormals (i1e'(1e-40) gave 1, not 1/2; s26 BR14)."""
    dtype = F.data(x).dtype
    if dtype.itemsize == 2 and dtype.kind in "fV":
        raise NotImplementedError(f'"{name}_backward" not implemented for '
                                  f"'{'Half' if dtype.kind == 'f' else 'BFloat16'}'")


def _i1_vjp(F, g, out, x):
    # i1' = i0 - i1 / x, 1/2 at 0
    _refuse_half(F, x, "i1")
    if F is ARRAY:
        return (_at_tiny(_I0(x) - _over_x(out, x), x) * g,)
    return (g * _where_zero(F, x, out, "i1", 0.5, lambda s, i1: F.op("i0", s) - i1 / s),)


def _i1e_vjp(F, g, out, x):
    # i1e' = i0e - i1e (sign(x) + 1 / x), 1/2 at 0; i1e sign(x) = |i1e| (i1e has x's sign)
    _refuse_half(F, x, "i1e")
    if F is ARRAY:
        return (_at_tiny(_I0E(x) - np.abs(out) - _over_x(out, x), x) * g,)

    def slope(s, i1e):
        return F.op("i0e", s) - i1e * (F.const(np.sign(F.data(s))) + 1.0 / s)

    return (g * _where_zero(F, x, out, "i1e", 0.5, slope),)


def _bessel_samples(scaled: bool):
    def samples(rng):
        out = _unary_samples(-3.0, 3.0)(rng)
        if scaled:
            # NOTE: e^-|x| makes the scaled forms' second derivative undefined at 0.
            out.append(Sample((np.array([0.0, 0.5, -1.5, 19.5, 21.0, -25.0]),),
                              note="0, both series", second_order=False))
        else:  # (past 20, where the asymptotic series serves, values reach 1e8 and more)
            out.append(Sample((np.array([0.0, 0.5, -1.5, 6.0, -9.0]),), note="0"))
        return out

    return samples


register_quiet("i0", forward=_I0, vjp=_i0_vjp, samples=_bessel_samples(False))
register_quiet("i0e", forward=_I0E, vjp=_i0e_vjp, samples=_bessel_samples(True))
register_quiet("i1", forward=_I1, vjp=_i1_vjp, samples=_bessel_samples(False))
register_quiet("i1e", forward=_I1E, vjp=_i1e_vjp, samples=_bessel_samples(True))


# --------------------------------------------------------------------------------------------
# erfcx, log_ndtr, ndtri.

# erfcx(a) ~ 1 / (a sqrt(pi)) sum_k (-1)^k (2k - 1)!! / (2 a^2)^k for a > 27.
_ERFCX_ASYMPTOTIC = np.array([(-1.0) ** k * math.prod(range(1, 2 * k, 2)) / 2.0 ** k
                              for k in range(9)])
# special's rational fit of erfc's tail, as arrays (for _polynomial's small-array path)
_ERFCX_P, _ERFCX_Q = np.array(_TAIL_P), np.array(_TAIL_Q)


def _erfcx_numpy(flat: np.ndarray) -> np.ndarray:
    out = np.empty(flat.shape)
    low = np.flatnonzero(~(flat >= 0.75))  # (nan too)
    if low.size:
        a = flat[low]
        with np.errstate(over="ignore", invalid="ignore"):
            out[low] = np.exp(a * a) * erfc(a)
    middle = np.flatnonzero((flat >= 0.75) & (flat <= 27.0))
    if middle.size:
        a = flat[middle]
        out[middle] = _polynomial(_ERFCX_P, a) / _polynomial(_ERFCX_Q, a)
    high = np.flatnonzero(flat > 27.0)
    if high.size:
        a = flat[high]
        with np.errstate(over="ignore"):
            inverse2 = 1.0 / (a * a)  # (0 past 1e154: the series' first term is then exact)
        out[high] = _polynomial(_ERFCX_ASYMPTOTIC, inverse2) * _INV_SQRT_PI / a
    return out


def erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) elementwise, in float64 (inf below about -26.6, where it overflows)."""
    flat = _flat64(x)
    special = _scipy_special()
    if special is not None:
        return special.erfcx(flat).reshape(np.shape(x))
    return _blocks(_erfcx_numpy, flat).reshape(np.shape(x))


def _log_ndtr_upper(a: np.ndarray) -> np.ndarray:
    """log Phi(a) for a > 0 (PyTorch's formula)."""
    return np.log1p(-0.5 * erfc(a * _SQRT_HALF))


def _log_ndtr_numpy(flat: np.ndarray) -> np.ndarray:
    out = np.empty(flat.shape)
    upper = np.flatnonzero(flat > 0)
    if upper.size:
        out[upper] = _log_ndtr_upper(flat[upper])
    lower = np.flatnonzero(~(flat > 0))  # (nan too)
    if lower.size:
        a = flat[lower]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lower] = np.log(0.5 * _erfcx_numpy(-a * _SQRT_HALF)) - 0.5 * a * a
    return out


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log Phi(x) elementwise (Phi the standard normal CDF), in float64."""
    flat = _flat64(x)
    special = _scipy_special()
    if special is None:
        return _blocks(_log_ndtr_numpy, flat).reshape(np.shape(x))
    out = special.log_ndtr(flat)
    # Past 5 SciPy's value drifts from PyTorch's by up to 3e-14 relative (both lose digits to
    # erfc there), and past 37.5 it is 0 where PyTorch's is subnormal: PyTorch's formula there.
    upper = (flat > 5.0).nonzero()[0]
    if upper.size:
        out[upper] = _log_ndtr_upper(flat[upper])
    return out.reshape(np.shape(x))


# Abramowitz and Stegun 26.2.23: for q <= 1/2, Phi^-1(q) ~ -(t - c(t) / d(t)), t = sqrt(-2 log q).
_AS_C = np.array([2.515517, 0.802853, 0.010328])
_AS_D = np.array([1.0, 1.432788, 0.189269, 0.001308])


def _ndtri_lower(q: np.ndarray) -> np.ndarray:
    """Phi^-1(q) for 0 < q < 0.05."""
    log_q = np.log(q)
    t = np.sqrt(-2.0 * log_q)
    x = -(t - _polynomial(_AS_C, t) / _polynomial(_AS_D, t))
    for _ in range(2):
        # Halley on f(x) = log Phi(x) - log q (cubic: 4.5e-4 -> ~1e-12 -> 4e-16 relative, as
        # four Newton steps), with log Phi(x) = log(erfcx(-x / sqrt 2) / 2) - x^2 / 2 (x < 0),
        # f' = r = phi / Phi = sqrt(2 / pi) / erfcx(-x / sqrt 2), f'' = -r (x + r).
        scaled = _erfcx_numpy(-x * _SQRT_HALF)
        step = (np.log(0.5 * scaled) - 0.5 * x * x - log_q) * scaled / _SQRT_2_OVER_PI
        x = x - step / (1.0 + 0.5 * step * (x + _SQRT_2_OVER_PI / scaled))
    return x


def _ndtri_numpy(flat: np.ndarray) -> np.ndarray:
    out = np.full(flat.shape, np.nan)
    central = np.flatnonzero((flat >= 0.05) & (flat <= 0.95))
    if central.size:
        out[central] = _SQRT_2 * erfinv(2.0 * flat[central] - 1.0)
    tails = np.flatnonzero(((flat > 0) & (flat < 0.05)) | ((flat > 0.95) & (flat < 1)))
    if tails.size:
        p = flat[tails]
        upper = p > 0.5
        lower = _ndtri_lower(np.where(upper, 1.0 - p, p))  # (1 - p is exact there)
        out[tails] = np.where(upper, -lower, lower)
    out[flat == 0] = -np.inf
    out[flat == 1] = np.inf
    return out


def ndtri(p: np.ndarray) -> np.ndarray:
    """Phi^-1(p) elementwise (-inf at 0, inf at 1, nan outside [0, 1]), in float64."""
    flat = _flat64(p)
    special = _scipy_special()
    if special is not None:
        return special.ndtri(flat).reshape(np.shape(p))
    return _blocks(_ndtri_numpy, flat).reshape(np.shape(p))


register_quiet("erfcx", forward=_scipy_or_kernel("erfcx", erfcx),
         vjp=lambda F, g, out, x: (g * (2.0 * x * out - 2.0 * _INV_SQRT_PI),),
         samples=lambda rng: _unary_samples(-2.0, 3.0)(rng)
         + [Sample((np.array([0.5, 0.8, 5.0, 26.0, 28.0]),), note="every branch")])


def _log_ndtr_vjp(F, g, out, x):
    # d log Phi / dx = phi / Phi = sqrt(2 / pi) / erfcx(-x / sqrt 2): no overflow in either tail
    return (g * (_SQRT_2_OVER_PI / F.op("erfcx", -x * _SQRT_HALF)),)


register_quiet("log_ndtr", forward=lambda x: _in_input_dtype(log_ndtr, x), vjp=_log_ndtr_vjp,
         samples=lambda rng: _unary_samples(-4.0, 4.0)(rng)
         + [Sample((np.array([-30.0, -8.0, 0.0, 6.0]),), note="tails")])


def _ndtri_samples(rng):
    out = [Sample((rng.uniform(0.06, 0.94, s),)) for s in ((), (5,), (3, 4))]
    out.append(Sample((np.array([1e-4, 0.01, 0.5, 0.97, 0.999]),), note="tails"))
    return out


register_quiet("ndtri", forward=_scipy_or_kernel("ndtri", ndtri),
         vjp=lambda F, g, out, x: (g * (_SQRT_2PI * F.exp(0.5 * out * out)),),
         samples=_ndtri_samples)


# --------------------------------------------------------------------------------------------
# entr and frexp's mantissa.


def _entr_forward(x):
    x = floating(x)
    special = _scipy_special()
    if special is not None and x.dtype.char in "fd":
        return special.entr(x)  # (PyTorch's values at 0, below 0, +inf and nan too)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), x, out).astype(x.dtype, copy=False)


def _entr_vjp(F, g, out, x):
    # (PyTorch's rule: +inf at 0)
    if F is ARRAY:
        return ((-1.0 - np.log(x)) * g,)  # (the same products, one NumPy call fewer)
    return (g * -(1.0 + F.log(x)),)


register_quiet("entr", forward=_entr_forward, vjp=_entr_vjp,
         samples=lambda rng: [Sample((rng.uniform(0.1, 3.0, s),)) for s in ((), (5,), (3, 4))])


def _frexp_vjp(F, g, out, x):
    # mantissa = x 2^-e with e constant almost everywhere
    xd = F.data(x)
    if F is ARRAY:
        return (np.ldexp(g, -np.frexp(xd)[1]),)  # (g 2^-e exactly, in one call)
    return (g * F.const(np.ldexp(np.ones((), xd.dtype), -np.frexp(xd)[1])),)


register_quiet("frexp", forward=lambda x: np.frexp(x)[0], vjp=_frexp_vjp,
         samples=lambda rng: [Sample((rng.uniform(-5.0, 5.0, s),)) for s in ((), (5,), (3, 4))])


# --------------------------------------------------------------------------------------------
# xlog1py and the Hurwitz zeta function (kernel in special_bessel.py).


def _xlog1py_forward(x, y):
    x, y = floating_pair(x, y)
    # (register_quiet holds NumPy's warnings off: no errstate of its own, 1 us.)
    # x = 0 gives 0 unless y is nan (PyTorch's definition, as xlogy's); y == y: not nan.
    # (The Python 0.0 keeps out's dtype (NEP 50): no astype.)
    return np.where((x == 0) & (y == y), 0.0, x * np.log1p(y))


def _xlog1py_vjp(F, g, out, x, y):
    # d/dx = xlog1py(g, y), and 0 where x = 0 and y <= -1 (PyTorch's mask); d/dy = g x / (1 + y)
    xd, yd, gd = F.data(x), F.data(y), F.data(g)
    # One switch of NumPy's warnings for the whole rule (log1p's -inf / nan below y = -1,
    # g x / (1 + y)'s inf / nan at y = -1, as PyTorch's): ERR_STATE, 0.12 us against
    # np.errstate's 1.2.
    token = ERR_STATE.set(IGNORE_ALL)
    try:
        if F is ARRAY and gd.all() and xd.all():
            # No zero in g or x: neither mask below can hold (4 NumPy calls for the masks
            # instead of 8; with the forward's: op_overhead.py --ops xlog1py, one thread,
            # 0.71 -> 0.55 x PyTorch).
            gx = g * np.log1p(y)
        else:
            zero = ((xd == 0) & (yd <= -1)) | ((gd == 0) & ~np.isnan(yd))
            if zero.any():
                zero = F.const(np.broadcast_to(zero, gd.shape))
                gx = F.where(zero, F.zeros_like(g),
                             g * _log1p(F, F.where(zero, F.zeros_like(g), y)))
            else:
                gx = g * _log1p(F, y)
        gy = g * x / (y + 1.0)
    finally:
        ERR_STATE.reset(token)
    return gx, gy


def _log1p(F, y):
    # (the caller holds the errstate)
    return np.log1p(y) if F is ARRAY else F.op("log1p", y)


register_quiet("xlog1py", forward=_xlog1py_forward, vjp=_xlog1py_vjp,
         samples=_binary_samples(-2.0, 2.0, -0.8, 2.0))


def _zeta_forward(x, q):
    x, q = floating_pair(x, q)
    special = _scipy_special()
    if special is not None:
        # SciPy's Cephes zeta: fwd + bwd 701 -> 26 us, 13.6 -> 1.06 x torch (benchmarks/
        # op_overhead.py --ops zeta, threads=1);
        # PyTorch's edges (nan at infinities, inf at the poles) are kept from the kernel.
        # (register_quiet holds NumPy's warnings off: no errstate here.)
        if x.dtype == q.dtype and x.dtype.char in "fd":
            # The kernel's float32 loop computes in float64 and rounds once: bit for bit the
            # float64 call's value rounded (1e5 float32 pairs, poles, infinities and nan
            # included), 2 casts fewer (3 elements: 1.31 -> 0.67 us, timeit).
            out = special.zeta(x, q)
        else:
            out = special.zeta(x.astype(np.float64), q.astype(np.float64))
        # Each input checked on its own (the pairs broadcast, so every pair is in the range
        # below exactly when every x and every q is), a few values through a list; then per
        # pair only where some are not (0-d zeta's forward 2.5 -> 0.4 us of checks, timeit;
        # op_overhead.py --ops zeta, one thread, 1.07 -> 0.76 x PyTorch).
        # SciPy's values are PyTorch's (same Cephes steps) wherever both inputs are finite and
        # q < 1e5: x <= 1, poles and negative q included (0 of 184,041 pairs on a grid of
        # [-9, 9], integers, +-0.5, +-0 differ by over 1e-13 relative). Only infinities, nan
        # and huge q (PyTorch's sum underflows to 0 there) take the NumPy kernel: before,
        # every pair with x <= 1 or q <= 0 did, most of OpInfo's [-9, 9] samples: its three
        # float32 samples 0.22-0.24 x the time before, 9.2 -> 2.1 x PyTorch (against HEAD's
        # copy in one process, alternated, medians of 11 rounds, thread time, load 9-11).
        if not (_all_between(x, -math.inf) and _all_between(q, -math.inf, _ZETA_Q_LIMIT)):
            edge = ~(np.isfinite(x) & np.isfinite(q) & (q < _ZETA_Q_LIMIT))
            # (the NumPy kernel's sums only for the edge pairs: the others are nan to it)
            out = np.where(edge, hurwitz_zeta(np.where(edge, x, np.nan), q), out)
        return np.asarray(out).astype(x.dtype, copy=False)
    return hurwitz_zeta(x, q).astype(x.dtype, copy=False)


_ZETA_Q_LIMIT = 1e5


def _all_between(values, low, high=math.inf):
    """Whether every value is above ``low`` and below ``high`` (nan is not)."""
    if values.size <= 8:
        return all(low < v < high for v in values.ravel().tolist())
    return bool(np.logical_and.reduce(((values > low) & (values < high)), axis=None))


def _zeta_vjp(F, g, out, x, q, *, needs):
    if needs[0]:
        raise NotImplementedError("the derivative for 'zeta' is not implemented.")
    # d zeta(s, q) / dq = -s zeta(s + 1, q)
    if F is ARRAY:
        # In the result dtype from the start: an integer s times a float32 gradient would
        # compute in float64, for the engine to cast back.
        x, q = floating_pair(x, q)
        return None, -(g * x * _zeta_forward(x + 1, q))
    return None, -(g * x * F.op("zeta", x + 1, q))


def _zeta_samples(rng):
    # s as integers so that the gradcheck leaves it alone (its rule raises, as PyTorch's)
    return [Sample((np.array(2), rng.uniform(0.5, 3.0, ())), note="0-d"),
            Sample((np.array([2, 3, 5]), rng.uniform(0.5, 4.0, (3,)))),
            Sample((np.array([[2], [4]]), rng.uniform(0.5, 4.0, (3,))), note="broadcast")]


register_quiet("zeta", forward=_zeta_forward, vjp=_zeta_vjp, samples=_zeta_samples,
               wants_needs=True)
