"""More special functions and their ops, in NumPy: the modified Bessel functions i0, i0e, i1,
i1e; the scaled complementary error function erfcx; the normal distribution's log_ndtr and
ndtri; entr; and frexp's mantissa.

Each computes in float64 in a fixed number of whole-array passes (float32 / float16 input is
rounded once at the end; integer input gives the default float dtype), never a Python loop over
elements:

- Bessel I0 and I1 up to 20: the power series ``sum (x^2 / 4)^k / (k! (k + nu)!)``, all terms
  positive (no cancellation), stopped when the last term is below 1e-17 of the sum (at most ~50
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
  and Stegun's 26.2.23 estimate (error < 4.5e-4) refined by four Newton steps on
  ``log_ndtr(x) = log p`` (quadratic convergence: below 1e-15 relative).

Against SciPy on 2,000+ points each: relative error below 2e-15 (Bessel, erfcx, ndtri), 4e-15
(log_ndtr). Speed, 1M float64 elements on this shared machine: i0 ~150 ms (SciPy ~30 ms),
erfcx ~60 ms, log_ndtr ~70 ms, ndtri ~65 ms; SciPy is not used.
"""

from __future__ import annotations

import math

import numpy as np

from .elementwise_math import floating
from .registry import Sample, _unary_samples, register
from .special import _TAIL_P, _TAIL_Q, erfc, erfinv

__all__ = ["bessel_i0e", "bessel_i1e", "erfcx", "log_ndtr", "ndtri"]

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_SERIES_LIMIT = 20.0


def _flat64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _polynomial(coefficients, v):
    out = np.full(v.shape, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= v
        out += c
    return out


# --------------------------------------------------------------------------------------------
# Modified Bessel functions of the first kind, orders 0 and 1.


def _bessel_scaled_abs(a: np.ndarray, order: int) -> tuple:
    """``(I_order(a) e^-a, log_scale)`` for a >= 0 (float64, flat), where ``I_order(a)`` is
    ``scaled * exp(a)``; nan stays nan, +inf gives 0."""
    scaled = np.empty(a.shape)
    small = np.flatnonzero(a <= _SERIES_LIMIT)
    x = a[small]
    quarter = 0.25 * x * x
    term = np.ones(x.shape) if order == 0 else 0.5 * x
    total = term.copy()
    for k in range(1, 80):
        term = term * quarter / (k * (k + order))
        total += term
        if not np.any(term > 1e-17 * total):
            break
    scaled[small] = total * np.exp(-x)
    large = np.flatnonzero(~(a <= _SERIES_LIMIT))  # (nan and inf too)
    x = a[large]
    mu = 4.0 * order * order
    term = np.ones(x.shape)
    total = term.copy()
    with np.errstate(invalid="ignore"):
        for k in range(1, 60):
            # t_k = t_(k-1) * -(mu - (2k - 1)^2) / (8 k x)
            term = term * (-(mu - (2 * k - 1) ** 2) / (8.0 * k)) / x
            total += term
            if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
                break
        scaled[large] = total / np.sqrt(2.0 * np.pi * x)
    return scaled


def bessel_i0e(x: np.ndarray) -> np.ndarray:
    """I0(x) e^-|x| elementwise, in float64."""
    flat = _flat64(x)
    return _bessel_scaled_abs(np.abs(flat), 0).reshape(np.shape(x))


def bessel_i1e(x: np.ndarray) -> np.ndarray:
    """I1(x) e^-|x| elementwise (odd in x), in float64."""
    flat = _flat64(x)
    return (np.sign(flat) * _bessel_scaled_abs(np.abs(flat), 1)).reshape(np.shape(x))


def _unscaled(scaled: np.ndarray, x: np.ndarray) -> np.ndarray:
    a = np.abs(_flat64(x))
    with np.errstate(over="ignore", invalid="ignore"):
        out = scaled.reshape(-1) * np.exp(np.minimum(a, 700.0))
        beyond = a > 700.0  # exp(a) alone would overflow before the product does
        out[beyond] = scaled.reshape(-1)[beyond] * np.exp(700.0) * np.exp(a[beyond] - 700.0)
    # NOTE: nan at +-inf (the limit is inf), PyTorch's value: its kernels' exp(x) * 0 there.
    out[np.isinf(a)] = np.nan
    return out.reshape(np.shape(x))


def bessel_i0(x: np.ndarray) -> np.ndarray:
    """I0(x) elementwise, in float64."""
    return _unscaled(bessel_i0e(x), x)


def bessel_i1(x: np.ndarray) -> np.ndarray:
    """I1(x) elementwise, in float64."""
    return np.sign(_flat64(x)).reshape(np.shape(x)) * _unscaled(np.abs(bessel_i1e(x)), x)


def _in_input_dtype(kernel, x):
    x = floating(x)
    return np.asarray(kernel(x)).astype(x.dtype, copy=False)


def _where_zero(F, x, value, slope):
    """``slope``, with ``value`` where x == 0 (slope is computed with x replaced by 1 there)."""
    zero = F.data(x) == 0
    if not zero.any():
        return slope(x)
    safe = F.where(F.const(zero), F.ones_like(x), x)
    fill = F.const(np.full(zero.shape, value, F.data(x).dtype))
    return F.where(F.const(zero), fill, slope(safe))


def _i0e_vjp(F, g, out, x):
    # i0e' = i1e - sign(x) i0e
    return (g * (F.op("i1e", x) - F.const(np.sign(F.data(x))) * out),)


def _i1_vjp(F, g, out, x):
    # i1' = i0 - i1 / x, 1/2 at 0
    return (g * _where_zero(F, x, 0.5, lambda s: F.op("i0", s) - F.op("i1", s) / s),)


def _i1e_vjp(F, g, out, x):
    # i1e' = i0e - i1e (sign(x) + 1 / x), 1/2 at 0
    def slope(s):
        return F.op("i0e", s) - F.op("i1e", s) * (F.const(np.sign(F.data(s))) + 1.0 / s)

    return (g * _where_zero(F, x, 0.5, slope),)


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


register("i0", forward=lambda x: _in_input_dtype(bessel_i0, x),
         vjp=lambda F, g, out, x: (g * F.op("i1", x),), samples=_bessel_samples(False))
register("i0e", forward=lambda x: _in_input_dtype(bessel_i0e, x), vjp=_i0e_vjp,
         samples=_bessel_samples(True))
register("i1", forward=lambda x: _in_input_dtype(bessel_i1, x), vjp=_i1_vjp,
         samples=_bessel_samples(False))
register("i1e", forward=lambda x: _in_input_dtype(bessel_i1e, x), vjp=_i1e_vjp,
         samples=_bessel_samples(True))


# --------------------------------------------------------------------------------------------
# erfcx, log_ndtr, ndtri.

# erfcx(a) ~ 1 / (a sqrt(pi)) sum_k (-1)^k (2k - 1)!! / (2 a^2)^k for a > 27.
_ERFCX_ASYMPTOTIC = tuple((-1.0) ** k * math.prod(range(1, 2 * k, 2)) / 2.0 ** k
                          for k in range(9))


def erfcx(x: np.ndarray) -> np.ndarray:
    """exp(x^2) erfc(x) elementwise, in float64 (inf below about -26.6, where it overflows)."""
    flat = _flat64(x)
    out = np.empty(flat.shape)
    low = np.flatnonzero(~(flat >= 0.75))  # (nan too)
    a = flat[low]
    with np.errstate(over="ignore", invalid="ignore"):
        out[low] = np.exp(a * a) * erfc(a)
    middle = np.flatnonzero((flat >= 0.75) & (flat <= 27.0))
    a = flat[middle]
    out[middle] = _polynomial(_TAIL_P, a) / _polynomial(_TAIL_Q, a)
    high = np.flatnonzero(flat > 27.0)
    a = flat[high]
    with np.errstate(over="ignore"):
        inverse2 = 1.0 / (a * a)  # (0 past 1e154: the series' first term is then exact)
    out[high] = _polynomial(_ERFCX_ASYMPTOTIC, inverse2) * _INV_SQRT_PI / a
    return out.reshape(np.shape(x))


def log_ndtr(x: np.ndarray) -> np.ndarray:
    """log Phi(x) elementwise (Phi the standard normal CDF), in float64."""
    flat = _flat64(x)
    out = np.empty(flat.shape)
    upper = np.flatnonzero(flat > 0)
    out[upper] = np.log1p(-0.5 * erfc(flat[upper] * _SQRT_HALF))
    lower = np.flatnonzero(~(flat > 0))  # (nan too)
    a = flat[lower]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[lower] = np.log(0.5 * erfcx(-a * _SQRT_HALF)) - 0.5 * a * a
    return out.reshape(np.shape(x))


# Abramowitz and Stegun 26.2.23: for q <= 1/2, Phi^-1(q) ~ -(t - c(t) / d(t)), t = sqrt(-2 log q).
_AS_C = (2.515517, 0.802853, 0.010328)
_AS_D = (1.0, 1.432788, 0.189269, 0.001308)


def _ndtri_lower(q: np.ndarray) -> np.ndarray:
    """Phi^-1(q) for 0 < q < 0.05."""
    t = np.sqrt(-2.0 * np.log(q))
    x = -(t - _polynomial(_AS_C, t) / _polynomial(_AS_D, t))
    log_q = np.log(q)
    for _ in range(4):
        # Newton on f(x) = log Phi(x) - log q, f'(x) = phi / Phi = sqrt(2/pi) / erfcx(-x/sqrt2)
        x = x - (log_ndtr(x) - log_q) * erfcx(-x * _SQRT_HALF) / _SQRT_2_OVER_PI
    return x


def ndtri(p: np.ndarray) -> np.ndarray:
    """Phi^-1(p) elementwise (-inf at 0, inf at 1, nan outside [0, 1]), in float64."""
    flat = _flat64(p)
    out = np.full(flat.shape, np.nan)
    central = np.flatnonzero((flat >= 0.05) & (flat <= 0.95))
    out[central] = _SQRT_2 * erfinv(2.0 * flat[central] - 1.0)
    lower = np.flatnonzero((flat > 0) & (flat < 0.05))
    out[lower] = _ndtri_lower(flat[lower])
    upper = np.flatnonzero((flat > 0.95) & (flat < 1))
    out[upper] = -_ndtri_lower(1.0 - flat[upper])  # (1 - p is exact here)
    out[flat == 0] = -np.inf
    out[flat == 1] = np.inf
    return out.reshape(np.shape(p))


register("erfcx", forward=lambda x: _in_input_dtype(erfcx, x),
         vjp=lambda F, g, out, x: (g * (2.0 * x * out - 2.0 * _INV_SQRT_PI),),
         samples=lambda rng: _unary_samples(-2.0, 3.0)(rng)
         + [Sample((np.array([0.5, 0.8, 5.0, 26.0, 28.0]),), note="every branch")])


def _log_ndtr_vjp(F, g, out, x):
    # d log Phi / dx = phi / Phi = sqrt(2 / pi) / erfcx(-x / sqrt 2): no overflow in either tail
    return (g * (_SQRT_2_OVER_PI / F.op("erfcx", -x * _SQRT_HALF)),)


register("log_ndtr", forward=lambda x: _in_input_dtype(log_ndtr, x), vjp=_log_ndtr_vjp,
         samples=lambda rng: _unary_samples(-4.0, 4.0)(rng)
         + [Sample((np.array([-30.0, -8.0, 0.0, 6.0]),), note="tails")])


def _ndtri_samples(rng):
    out = [Sample((rng.uniform(0.06, 0.94, s),)) for s in ((), (5,), (3, 4))]
    out.append(Sample((np.array([1e-4, 0.01, 0.5, 0.97, 0.999]),), note="tails"))
    return out


register("ndtri", forward=lambda x: _in_input_dtype(ndtri, x),
         vjp=lambda F, g, out, x: (g * (_SQRT_2PI * F.exp(0.5 * out * out)),),
         samples=_ndtri_samples)


# --------------------------------------------------------------------------------------------
# entr and frexp's mantissa.


def _entr_forward(x):
    x = floating(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), x, out).astype(x.dtype, copy=False)


register("entr", forward=_entr_forward,
         vjp=lambda F, g, out, x: (g * -(1.0 + F.log(x)),),  # (PyTorch's rule: +inf at 0)
         samples=lambda rng: [Sample((rng.uniform(0.1, 3.0, s),)) for s in ((), (5,), (3, 4))])


def _frexp_vjp(F, g, out, x):
    # mantissa = x 2^-e with e constant almost everywhere
    xd = F.data(x)
    return (g * F.const(np.ldexp(np.ones((), xd.dtype), -np.frexp(xd)[1])),)


register("frexp", forward=lambda x: np.frexp(x)[0], vjp=_frexp_vjp,
         samples=lambda rng: [Sample((rng.uniform(-5.0, 5.0, s),)) for s in ((), (5,), (3, 4))])
