"""NumPy kernels of ``torch.special``'s Bessel and Airy functions and orthogonal polynomials:
J0, J1, Y0, Y1, K0, K1 (plain and scaled), the spherical j0, Airy Ai, and the Chebyshev
(T, U, V, W and shifted), Hermite (H, He), Laguerre and Legendre polynomials.

PyTorch defines no derivative for any of them (their results take no gradient), so these are
plain kernels over ndarrays (float64 inside, rounded once to the input's dtype), not
registered ops. Methods (all vectorised: no Python loop over elements, nor over the terms
of a series or the steps of a recurrence, except the polynomials' recurrences in n):

- J0, J1, Y0, Y1: the power series up to 4 (terms at most ~4: no cancellation to speak of);
  on (4, 25] the trapezoid rule of Bessel's integral for J_n (128 points a period, exact to
  rounding for a periodic integrand), with Y0 and Y1 from Neumann's series in the same J_n
  (A&S 9.1.88 and its derivative); beyond 25 Hankel's asymptotic expansion (24 terms, the
  last below 1e-19). Absolute error ~1e-15 against PyTorch (relative near the zeros).
- K0, K1: the power series (in I0, I1 and harmonic sums) up to 2; beyond, the trapezoid rule
  of K_nu(x) e^x = int_0^inf cosh(nu t) e^(-x (cosh t - 1)) dt (so the scaled forms never
  underflow), 21 nodes scaled to each element's x.
- Ai: the Maclaurin series on [-8, 2.1] (in NumPy's long double where it is wider than
  float64, because the series cancels for negative x), Ai(x) = sqrt(x / 3) K_(1/3)(zeta) / pi
  with zeta = 2/3 x^1.5 and the K quadrature beyond 2.1, and the oscillatory asymptotic
  expansion (up to its smallest term) below -8.
- The polynomials: their three-term recurrences, with PyTorch's closed forms at |x| = 1 and
  its trigonometric forms for large n inside (-1, 1), so that values match to rounding.

Where SciPy is installed (``USE_SCIPY``, on; tests switch it off), J0, J1, Y0, Y1, K0, K1, their
scaled forms and Ai of float32 / float64 arrays are SciPy's ufuncs (Cephes, PyTorch's own
algorithms: float64 values within 1e-13 relative of these kernels' and of PyTorch's, the same
nan / inf edges; Ai's beyond |x| = 1e6, where SciPy's is nan, are the kernel's). One ufunc call
instead of the kernels' 20-60 NumPy calls.
"""

from __future__ import annotations

import math

import numpy as np

from ..elementwise_layout import laid_out
from .elementwise_math import ERR_STATE, IGNORE_ALL
from .special import load_scipy_special

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_k0e", "bessel_k1e", "bessel_y0",
           "bessel_y1", "polynomial", "spherical_bessel_j0"]

USE_SCIPY = True  # scipy.special's j0 ... k1e and airy when importable (tests switch it off)

_EULER = 0.57721566490153286061
_TWO_OVER_PI = 2.0 / math.pi
_LOG_2 = math.log(2.0)
_SERIES_TERMS = 34
_HANKEL_LIMIT = 25.0
_SERIES_LIMIT = 4.0


def _harmonic(n: int) -> np.ndarray:
    """H_0 .. H_(n-1) (H_0 = 0)."""
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, n))])


_K = np.arange(_SERIES_TERMS, dtype=np.float64)
_FACT = np.array([math.factorial(k) for k in range(_SERIES_TERMS + 1)], dtype=np.float64)
_H = _harmonic(_SERIES_TERMS + 1)
_PSI = _H - _EULER  # psi(k + 1) = H_k - gamma


def _powers(quarter: np.ndarray) -> np.ndarray:
    """(x^2 / 4)^k for k = 0 .. _SERIES_TERMS - 1, one row per element."""
    return quarter.reshape(-1, 1) ** _K


_SIGNS = (-1.0) ** _K
_J_SERIES = (_SIGNS / (_FACT[:-1] ** 2), _SIGNS / (_FACT[:-1] * _FACT[1:]))
_Y_SERIES = (_J_SERIES[0] * _H[:-1], _J_SERIES[1] * (_PSI[:-1] + _PSI[1:]))


def _j_series(x: np.ndarray, which: int) -> np.ndarray:
    """J0 (0), J1 (1), Y0 (2) or Y1 (3) by the power series (x > 0, small); only the one
    asked for (all four before)."""
    powers = _powers(0.25 * x * x)
    if which == 0:
        return powers @ _J_SERIES[0]
    if which == 1:
        return 0.5 * x * (powers @ _J_SERIES[1])
    log_half = np.log(x) - _LOG_2  # (not log(x / 2): x / 2 is 0 at the least subnormal)
    if which == 2:
        return _TWO_OVER_PI * ((log_half + _EULER) * (powers @ _J_SERIES[0])
                               - powers @ _Y_SERIES[0])
    j1 = 0.5 * x * (powers @ _J_SERIES[1])
    return (_TWO_OVER_PI * log_half * j1 - _TWO_OVER_PI / x
            - 0.5 * x / math.pi * (powers @ _Y_SERIES[1]))


def _jy_quadrature_tables():
    """The trapezoid rule of J_n(x) = (1/pi) int_0^pi cos(n t - x sin t) dt over a quarter
    period, folded into the four sums that J0, Y0 (cosines) and J1, Y1 (sines) need."""
    step = 2.0 * math.pi / _QUADRATURE_POINTS
    nodes = np.arange(_QUADRATURE_POINTS // 4 + 1) * step
    weights = np.full(nodes.shape, 4.0 / _QUADRATURE_POINTS)
    weights[[0, -1]] *= 0.5
    orders = np.arange(_QUADRATURE_ORDERS)
    # (by the symmetries of the integrand over the quarter period, J_n of even n takes only
    # cos(x sin t) cos(n t), of odd n only sin(x sin t) sin(n t))
    even = weights[:, None] * np.cos(np.outer(nodes, orders)) * (orders % 2 == 0)
    odd = weights[:, None] * np.sin(np.outer(nodes, orders)) * (orders % 2 == 1)
    k = np.arange(1, _QUADRATURE_ORDERS // 2)
    y0_weights = np.zeros(_QUADRATURE_ORDERS)  # Neumann's series: (-1)^k J_2k / k
    y0_weights[2 * k] = (-1.0) ** k / k
    y1_weights = np.zeros(_QUADRATURE_ORDERS)  # (-1)^k (1/k + 1/(k - 1)) J_(2k-1), -J_1
    y1_weights[1] = -1.0
    k = k[1:]
    y1_weights[2 * k - 1] = (-1.0) ** k * (1.0 / k + 1.0 / (k - 1))
    pick_even = np.stack([np.eye(_QUADRATURE_ORDERS)[0], y0_weights], axis=1)
    pick_odd = np.stack([np.eye(_QUADRATURE_ORDERS)[1], y1_weights], axis=1)
    return np.sin(nodes), even @ pick_even, odd @ pick_odd


# 128 points over the period: the rule's error for J_n is J_(128-n)(x), below 1e-20 for the
# orders up to 63 kept and x <= 25, where J_63(x) itself is below 1e-17
_QUADRATURE_POINTS, _QUADRATURE_ORDERS = 128, 64
_Q_SIN, _Q_EVEN, _Q_ODD = _jy_quadrature_tables()


def _j_quadrature(x: np.ndarray, which: int) -> np.ndarray:
    """J0 (0), J1 (1), Y0 (2) or Y1 (3) at moderate x > 0: J_n by the trapezoid rule of
    Bessel's integral (exponentially accurate for a periodic integrand), Y0 and Y1 from
    Neumann's series in the same J_n (A&S 9.1.88 and its derivative). One NumPy pass, no loop
    over orders (Miller's backward recurrence before it took 90 steps: the bessel_j0 kernel
    on [20] in [-9, 9] 573 -> 27 us, bessel_y0's 577 -> 40 us; medians of 15 alternated
    rounds, thread time, load 15)."""
    arg = np.multiply.outer(x, _Q_SIN)
    if which == 1:
        return (np.sin(arg) @ _Q_ODD[:, 0])
    j0, y0_sum = (np.cos(arg) @ _Q_EVEN).T
    if which == 0:
        return j0
    log_term = np.log(0.5 * x) + _EULER
    if which == 2:
        return _TWO_OVER_PI * log_term * j0 - 2.0 * _TWO_OVER_PI * y0_sum
    j1, y1_sum = (np.sin(arg) @ _Q_ODD).T
    return _TWO_OVER_PI * (log_term * j1 - j0 / x) + _TWO_OVER_PI * y1_sum


def _asymptotic_terms(x: np.ndarray, ratios: np.ndarray) -> tuple:
    """An asymptotic series sum_k (-1)^(k // 2) t_k with t_0 = 1 and t_k / t_(k-1) =
    ratios[k - 1] / x, summed apart over even and odd k: ``(even, odd)``. A fixed number of
    terms (``ratios``' length, at or before the smallest term over the region it serves), all
    at once by a cumulative product: no Python loop over terms."""
    terms = np.cumprod(np.multiply.outer(1.0 / x, ratios), axis=-1)
    signs = (-1.0) ** (np.arange(1, ratios.size + 1) // 2)
    odd_k = np.arange(1, ratios.size + 1) % 2 == 1
    return 1.0 + terms @ (signs * ~odd_k), terms @ (signs * odd_k)


_HANKEL_K = np.arange(1, 25)  # (24 terms: the 24th is below 1e-19 at x = 25, smaller beyond)


def _hankel(x: np.ndarray, order: int):
    """J_order and Y_order (order 0 or 1) by Hankel's asymptotic expansion (large x > 0)."""
    mu = 4.0 * order * order
    p, q = _asymptotic_terms(x, (mu - (2.0 * _HANKEL_K - 1) ** 2) / (8.0 * _HANKEL_K))
    # chi = x - (order / 2 + 1/4) pi, through cos x and sin x (accurate range reduction)
    phase = (order / 2.0 + 0.25) * math.pi
    cos_x, sin_x = np.cos(x), np.sin(x)
    cos_chi = cos_x * math.cos(phase) + sin_x * math.sin(phase)
    sin_chi = sin_x * math.cos(phase) - cos_x * math.sin(phase)
    amplitude = np.sqrt(_TWO_OVER_PI / x)
    return amplitude * (p * cos_chi - q * sin_chi), amplitude * (p * sin_chi + q * cos_chi)


def _bessel_jy(a: np.ndarray, which: int) -> np.ndarray:
    """J0 (0), J1 (1), Y0 (2) or Y1 (3) at a > 0 (finite), flat float64."""
    out = np.empty_like(a)
    series = a <= _SERIES_LIMIT
    middle = (a > _SERIES_LIMIT) & (a <= _HANKEL_LIMIT)
    hankel = a > _HANKEL_LIMIT
    if series.any():
        out[series] = _j_series(a[series], which)
    if middle.any():
        out[middle] = _j_quadrature(a[middle], which)
    if hankel.any():
        out[hankel] = _hankel(a[hankel], which % 2)[which // 2]
    return out


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _jy(x: np.ndarray, which: int) -> np.ndarray:
    """J0 (0), J1 (1), Y0 (2) or Y1 (3) of x (float64, x's shape)."""
    flat = _flat(x)
    if flat.size:
        # The usual call, every element positive (or, for J, nonzero) and finite in one
        # region: that region's kernel alone, no masks and scatters (nan and inf fail both
        # tests and take the general path; the bessel_j0 kernel at 0-d 33 -> 6.4 us with the
        # changes above)
        a = np.abs(flat) if which < 2 else flat
        low, high = a.min(), a.max()
        if low > 0 and high < np.inf:
            if high <= _SERIES_LIMIT:
                out = _j_series(a, which)
            elif low > _SERIES_LIMIT and high <= _HANKEL_LIMIT:
                out = _j_quadrature(a, which)
            elif low > _HANKEL_LIMIT:
                out = _hankel(a, which % 2)[which // 2]
            else:
                out = _bessel_jy(a, which)
            if which == 1:
                out = out * np.sign(flat)  # (odd)
            return out.reshape(np.shape(x))
    a = np.abs(flat)
    out = np.full(flat.shape, np.nan)
    finite = np.isfinite(a) & (a > 0)
    if finite.any():
        out[finite] = _bessel_jy(a[finite], which)
    # NOTE: nan at +-inf (not the limit 0), as PyTorch's kernels.
    zero = flat == 0
    if which == 0:
        out[zero] = 1.0
    elif which == 1:
        out[zero] = flat[zero]  # (+-0, the sign kept)
        out = np.where(flat < 0, -out, out)
    else:
        out[zero] = -np.inf
        out[flat < 0] = np.nan
    return out.reshape(np.shape(x))


def _scipy_special():
    return load_scipy_special() if USE_SCIPY else None


def _ufunc_or(name: str, kernel):
    """``kernel``, or SciPy's ufunc ``name`` on float32 / float64 arrays where installed (its
    float32 loop computes in float64 and rounds once: what the caller's cast of the kernel's
    float64 value gives, bit for bit on 1e5 float32 points). On OpInfo's float32 samples
    (against HEAD's copy in one process, alternated, medians of 11 rounds, thread time, load
    9-11): [20] in [-9, 9] 0.08-0.17 x the time before, 0-d 0.15-0.38 x; the ops' medians over
    their samples bessel_y0 / y1 7.5 / 8.7 -> 1.14 / 1.14 x PyTorch, bessel_j0 / j1 3.4 / 3.0
    -> 1.06 / 1.15 x, modified_bessel_k0 / k1 and the scaled forms 3.1-3.7 -> 1.19-1.22 x."""

    def forward(x: np.ndarray) -> np.ndarray:
        special = _scipy_special()
        if special is not None and x.dtype.char in "fd":
            return getattr(special, name)(x)
        return kernel(x)

    forward.__name__ = forward.__qualname__ = f"bessel_{name}"
    return forward


bessel_j0 = _ufunc_or("j0", lambda x: _jy(x, 0))  # J0(x) (float64)
bessel_j1 = _ufunc_or("j1", lambda x: _jy(x, 1))  # J1(x) (float64; odd)
bessel_y0 = _ufunc_or("y0", lambda x: _jy(x, 2))  # Y0(x) (float64; -inf at 0, nan below)
bessel_y1 = _ufunc_or("y1", lambda x: _jy(x, 3))  # Y1(x) (float64; -inf at 0, nan below)


# --------------------------------------------------------------------------------------------
# Modified Bessel functions of the second kind.


_K_NODES = 20  # (16 already give 6e-16 against SciPy's k0e / k1e on [2, 1e8])
_K_TAIL = 42.0  # the integrand is cut where e^(-x (cosh t - 1)) < e^-42
_K_WEIGHTS = np.ones(_K_NODES + 1)
_K_WEIGHTS[0] = 0.5


def _k_quadrature(x: np.ndarray, nu: float) -> np.ndarray:
    """K_nu(x) e^x for x >= 2 by the trapezoid rule of int_0^inf cosh(nu t)
    e^(-x (cosh t - 1)) dt (double-exponentially decaying and analytic: the rule converges
    exponentially), with the step scaled to each element's own cut-off point, so that the
    same number of nodes serves every x (the width of the integrand shrinks like 1 / sqrt(x)).
    One NumPy pass; Temme's continued fraction before it iterated until the slowest element
    converged: the bessel_k0 kernel on [20] in [-9, 9] 595 -> 47 us, at 0-d 840 -> 18 us
    (medians of 15 alternated rounds, thread time, load 15)."""
    u = _K_TAIL / x  # (the cut-off point arccosh(1 + u), accurate for tiny u, large x)
    step = np.log1p(u + np.sqrt(u * (2.0 + u))) / _K_NODES
    t = np.multiply.outer(step, np.arange(_K_NODES + 1.0))
    half = np.sinh(0.5 * t)  # (cosh t - 1 = 2 sinh^2(t / 2), exact for small t)
    integrand = np.exp(-(x[:, None] * half) * (half + half))  # (no overflow at x = 1e308)
    if nu:
        integrand *= np.cosh(nu * t)
    return step * (integrand @ _K_WEIGHTS)


def _k_series(x: np.ndarray) -> tuple:
    """(K0, K1) by their power series (0 < x <= 2)."""
    quarter = 0.25 * x * x
    powers = _powers(quarter)
    inv0 = 1.0 / (_FACT[:-1] ** 2)
    inv1 = 1.0 / (_FACT[:-1] * _FACT[1:])
    i0 = powers @ inv0
    i1 = 0.5 * x * (powers @ inv1)
    log_half = np.log(0.5 * x)  # (-inf at the least subnormal: K0 inf there, as PyTorch)
    k0 = -(log_half + _EULER) * i0 + powers @ (_H[:-1] * inv0)
    k1 = 1.0 / x + log_half * i1 - 0.25 * x * (powers @ ((_PSI[:-1] + _PSI[1:]) * inv1))
    return k0, k1


def _k(x: np.ndarray, order: int, scaled: bool) -> np.ndarray:
    flat = _flat(x)
    if flat.size and flat.min() > 2.0 and flat.max() < np.inf:  # (one region: no masks)
        value = _k_quadrature(flat, float(order))
        if not scaled:
            with np.errstate(under="ignore"):
                value = value * np.exp(-flat)
        return value.reshape(np.shape(x))
    out = np.full(flat.shape, np.nan)
    small = (flat > 0) & (flat <= 2.0)
    large = (flat > 2.0) & np.isfinite(flat)
    if small.any():
        value = _k_series(flat[small])[order]
        out[small] = value * np.exp(flat[small]) if scaled else value
    if large.any():
        value = _k_quadrature(flat[large], float(order))
        with np.errstate(under="ignore"):
            out[large] = value if scaled else value * np.exp(-flat[large])
    out[flat == 0] = np.inf
    out[flat == np.inf] = 0.0
    return out.reshape(np.shape(x))


bessel_k0 = _ufunc_or("k0", lambda x: _k(x, 0, False))  # K0(x) (inf at 0, nan below)
bessel_k1 = _ufunc_or("k1", lambda x: _k(x, 1, False))  # K1(x) (inf at 0, nan below)
bessel_k0e = _ufunc_or("k0e", lambda x: _k(x, 0, True))  # K0(x) e^x
bessel_k1e = _ufunc_or("k1e", lambda x: _k(x, 1, True))  # K1(x) e^x


def spherical_bessel_j0(x: np.ndarray) -> np.ndarray:
    """sin(x) / x, 1 at 0, 0 at +-inf (float64)."""
    flat = _flat(x)
    token = ERR_STATE.set(IGNORE_ALL)  # (0 / 0 and inf / inf: patched below)
    try:
        out = np.sin(flat) / flat
    finally:
        ERR_STATE.reset(token)
    # sin(x) / x in float64 is within 2 ulp of j0 near 0 too (libm's sin is exact to < 1 ulp
    # there and the quotient rounds once; no cancellation), where a Taylor series on the
    # elements below 0.5 took 9 NumPy calls more; 0 and +-inf (nan above) are patched only
    # when the sum says some value is nan (one call). OpInfo's float32 samples (measured as
    # _ufunc_or's): [20] 0.51 x the time before, 0-d 0.68 x; 3.3 -> 1.8 x PyTorch.
    total = np.add.reduce(out, axis=None)
    if total != total:
        out[flat == 0] = 1.0
        out[np.isinf(flat)] = 0.0
    return laid_out(out.reshape(np.shape(x)), (x,))  # (flat is row-major: PyTorch keeps x's)


# --------------------------------------------------------------------------------------------
# Airy Ai.

_AI0 = 0.355028053887817239260  # Ai(0)
_AIP0 = 0.258819403792806798405  # -Ai'(0)
# (long double where NumPy has a wider one: the series cancels by up to ~1e7 near -8)
_WIDE = np.longdouble if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps else np.float64


_AIRY_K = np.arange(1, 41.0)  # (the 40th term is below 1e-25 at |x| = 8)
_AIRY_F = 1.0 / ((3 * _AIRY_K - 1) * (3 * _AIRY_K)).astype(_WIDE)
_AIRY_G = 1.0 / ((3 * _AIRY_K) * (3 * _AIRY_K + 1)).astype(_WIDE)


def _airy_series(x: np.ndarray) -> np.ndarray:
    """Ai(x) = Ai(0) f(x) + Ai'(0) g(x) by the Maclaurin series of f and g (|x| <= 8), all
    terms at once by cumulative products (the loop over terms before; with the K quadrature,
    the airy_ai kernel on [20] in [-9, 9] 1170 -> 92 us, at 0-d 800 -> 29 us)."""
    x = x.astype(_WIDE)
    cube = (x * x * x)[:, None]
    f = 1.0 + np.cumprod(cube * _AIRY_F, axis=1).sum(axis=1)
    g = x * (1.0 + np.cumprod(cube * _AIRY_G, axis=1).sum(axis=1))
    return (_WIDE(_AI0) * f - _WIDE(_AIP0) * g).astype(np.float64)


# u_k / u_(k-1) = (6k-5)(6k-3)(6k-1) / (216 k (2k-1)), 30 terms: up to the smallest one at
# z = 8 (5.7e-15; the terms grow after it, a longer sum there diverged to 4.5e-11)
_AIRY_U = np.arange(1, 31.0)
_AIRY_U = (6 * _AIRY_U - 5) * (6 * _AIRY_U - 3) * (6 * _AIRY_U - 1) / (
    216.0 * _AIRY_U * (2 * _AIRY_U - 1))


def _airy_negative(z: np.ndarray) -> np.ndarray:
    """Ai(-z) for z > 8 by the oscillatory asymptotic expansion (A&S 10.4.60)."""
    zeta = 2.0 / 3.0 * z * np.sqrt(z)
    even, odd = _asymptotic_terms(zeta, _AIRY_U)
    # sin(zeta + pi/4) and cos(zeta + pi/4) through sin and cos of zeta
    s, c = np.sin(zeta), np.cos(zeta)
    sin_shift, cos_shift = (s + c) * math.sqrt(0.5), (c - s) * math.sqrt(0.5)
    return (sin_shift * even - cos_shift * odd) / (math.sqrt(math.pi) * np.sqrt(np.sqrt(z)))


_AIRY_SCIPY_LIMIT = 1e6  # (SciPy's Ai is nan from |x| ~ 1.05e6 on; PyTorch's is not)


def airy_ai(x: np.ndarray) -> np.ndarray:
    """Ai(x) (nan at +-inf, as PyTorch): SciPy's where installed (float32 / float64 x with
    |x| < 1e6: OpInfo's float32 samples 10.4 -> 2.2 x PyTorch, [20] 0.03 x the time before,
    measured as _ufunc_or's), else the kernel (float64)."""
    special = _scipy_special()
    if special is not None and x.dtype.char in "fd":
        out = special.airy(x)[0]
        if x.size and not np.abs(x).max() < _AIRY_SCIPY_LIMIT:  # (nan fails the test too)
            out = np.where(np.abs(x) < _AIRY_SCIPY_LIMIT, out, _airy_kernel(x))
        return out
    return _airy_kernel(x)


def _airy_kernel(x: np.ndarray) -> np.ndarray:
    """Ai(x) (float64; nan at +-inf, as PyTorch)."""
    flat = _flat(x)
    out = np.full(flat.shape, np.nan)
    series = (flat >= -8.0) & (flat <= 2.1)
    positive = (flat > 2.1) & np.isfinite(flat)
    negative = (flat < -8.0) & np.isfinite(flat)
    if series.any():
        out[series] = _airy_series(flat[series])
    if positive.any():
        z = flat[positive]
        zeta = 2.0 / 3.0 * z * np.sqrt(z)
        # K_(1/3)(zeta) e^zeta (zeta is inf from z ~ 1e205, where Ai is 0 anyway)
        scaled = _k_quadrature(np.minimum(zeta, 1e300), 1.0 / 3.0)
        with np.errstate(under="ignore"):
            out[positive] = np.sqrt(z / 3.0) / math.pi * scaled * np.exp(-zeta)
    if negative.any():
        out[negative] = _airy_negative(-flat[negative])
    return out.reshape(np.shape(x))


# --------------------------------------------------------------------------------------------
# Orthogonal polynomials: the recurrences, and PyTorch's closed forms at the edges.


def _recurrence(x, n, first, step):
    """p_n(x) by p_0 = 1, p_1 = first(x), p_(k+1) = step(k, x, p_k, p_(k-1)), for every
    element's own n (results past an element's n are discarded). (NumPy's warnings are off:
    ``polynomial``.)"""
    # (p_0 as the number 1.0, not np.ones_like's Python: the same float arithmetic; a 0-d n
    # read as an int, not by reductions)
    if n.ndim == 0:
        top = low = int(n)
    else:
        top, low = int(n.max(initial=0)), int(n.min()) if n.size else 0
    top = max(top, 0)
    before, current = 1.0, first
    if top >= 2 and n.size and low == top:
        # One degree for every element (a number n, the usual call): the last step is the
        # result, no selection each step (the same values; the float32 kernel of
        # chebyshev_polynomial_t at n = 9 on [20], with the changes below: 52 -> 32 us)
        for k in range(1, top):
            before, current = current, step(k, x, current, before)
        return current
    # Each degree's values kept, each element's own picked once at the end (the same values
    # as selecting after every step, one NumPy call fewer a step: chebyshev_polynomial_t's
    # kernel on [5, 1] x degrees [5] in [-9, 9], with `polynomial`'s copies, 59 -> 40 us,
    # medians of 15 alternated rounds, thread time)
    steps = np.empty((max(top, 1) + 1,) + first.shape, np.result_type(first, 1.0))
    steps[0] = 1.0
    steps[1:2] = first
    for k in range(1, top):
        before, current = current, step(k, x, current, before)
        steps[k + 1] = current
    flat = steps.reshape(steps.shape[0], -1)
    picked = flat[np.minimum(np.maximum(n, 0), top).reshape(-1), np.arange(flat.shape[1])]
    return picked.reshape(first.shape)  # (n < 0: 0 in `polynomial`)


def _even(n):
    return n % 2 == 0


def polynomial(kind: str, x: np.ndarray, n: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The orthogonal polynomial ``kind`` of degree n at x (int64 n, broadcast); 0 for n < 0.

    Computed in ``dtype``, the result's, as PyTorch: a float32 recurrence that overflows
    gives nan (inf - inf) there, not the inf a float64 one would round to."""
    x, n = np.asarray(x, dtype), np.asarray(n, np.int64)
    if n.ndim == 0 and n < 0:
        # One negative degree: every value is 0, nan x included (PyTorch's first rule), with
        # no recurrence or edge masks (OpInfo's first sample of each polynomial, 0-d x and
        # n = -1.77: 0.30-0.41 x the time before, 4.1-5.4 -> 1.6-1.7 x PyTorch; against
        # HEAD's copy in one process, alternated, medians of 11 rounds, thread time, load 9-12)
        return np.zeros(x.shape, dtype)
    if n.ndim and n.shape != x.shape:
        # (both broadcast into new arrays by copyto, not np.broadcast_arrays' Python and
        # astype; a single degree, the usual call, broadcasts as it is: _recurrence takes one
        # n for all)
        shape = np.broadcast(x, n).shape
        x, n = _broadcast_copy(x, shape), _broadcast_copy(n, shape)
    nf = n.astype(dtype)
    token = ERR_STATE.set(IGNORE_ALL)  # (not np.errstate: 1 us less)
    try:
        out = _POLYNOMIALS[kind](x, n, nf)
    finally:
        ERR_STATE.reset(token)
    if out is x:
        out = out.copy()  # (never the caller's array)
    # (the edge rules, here and in the kernels, only where some element takes them: the same
    # values, up to 9 NumPy calls fewer (_at). With special._polynomial's conversions and
    # _recurrence's int reads, the whole call on OpInfo-like samples: chebyshev_polynomial_t
    # 0.51 x its time before at 0-d (29.8 -> 15.3 us), 0.48 x on [5] with one degree, 0.86 x
    # on [5, 1] x [5]; the other kinds 0.47-0.97 x; medians of 15 alternated rounds, thread
    # time, load 15)
    return np.where(n < 0, 0.0, out) if _some(n < 0) else out


def _at(mask, value, out):
    """``np.where(mask, value(), out)``, or ``out`` itself where no element is in ``mask``
    (``value`` computed only then)."""
    return np.where(mask, value(), out) if _some(mask) else out


def _some(mask) -> bool:
    """``mask.any()``, without its Python method for a 0-d mask (a NumPy bool: 1-4 us)."""
    return bool(mask) if mask.ndim == 0 else mask.any()


def _broadcast_copy(array: np.ndarray, shape: tuple) -> np.ndarray:
    out = np.empty(shape, array.dtype)
    np.copyto(out, array)
    return out


def _chebyshev(x, n, nf, first, shifted=False):
    t = 2 * x - 1 if shifted else x
    # (2t made once, not each step: the same values, one NumPy call fewer a step; the call
    # on float32 [20] at n = 7.3 15.3 / 15.8 -> 15.0 / 14.3 us, [5, 1] x 5 degrees in
    # [-9, 9] unchanged (26.8 / 27.7 -> 26.8 / 26.8), hermite_polynomial_h's 12.2 / 12.4 ->
    # 11.3 / 11.2 and 23.3 / 23.4 -> 22.8 / 22.8; the tree before and this one alternately,
    # medians of 7 blocks, thread time, s26 SP31. PyTorch's C loop: 1.1-1.3 us; the steps
    # are NumPy calls, two or three each, the floor of this form)
    twice = t + t
    return _recurrence(t, n, first(t), lambda k, t, p, q: twice * p - q)


def _cheb_t(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t, shifted)
    # (the closed forms only where some degree takes them, here and below: the same values)
    if _some(n > 6):
        out = np.where((n > 6) & (np.abs(t) < 1), np.cos(nf * np.arccos(t)), out)
    if shifted:
        out = _at(x == 0, lambda: np.where(_even(n), 1.0, -1.0), out)
        return _at(x == 1, lambda: 1.0, out)
    return _at(np.abs(x) == 1, lambda: np.where((x > 0) | _even(n), 1.0, -1.0), out)


def _cheb_u(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t + t, shifted)
    if _some(n > (6 if shifted else 8)):
        theta = np.arccos(t)
        trig = np.where(np.sin(theta) != 0, np.sin((nf + 1) * theta) / np.sin(theta),
                        (nf + 1) * np.cos((nf + 1) * theta))
        out = np.where((n > (6 if shifted else 8)) & (np.abs(t) < 1), trig, out)

    def edge():
        return np.where(_even(n), nf + 1, -(nf + 1))
    if shifted:
        return _at(x == 1, lambda: nf + 1, _at(x == 0, edge, out))
    return _at(np.abs(x) == 1, lambda: np.where(x > 0, nf + 1, edge()), out)


def _cheb_v(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t + t - 1, shifted)

    def edge():
        return np.where(_even(n), nf + nf + 1, -(nf + nf + 1))
    if _some(n > (6 if shifted else 8)):
        theta = np.arccos(t)
        trig = np.where(np.sin(theta / 2) != 1, np.cos((nf + 0.5) * theta) / np.cos(theta / 2),
                        edge())
        out = np.where((n > (6 if shifted else 8)) & (np.abs(t) < 1), trig, out)
    if shifted:
        return _at(x == 1, lambda: 1.0, _at(x == 0, edge, out))
    return _at(np.abs(x) == 1, lambda: np.where(x > 0, 1.0, edge()), out)


def _cheb_w(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t + t + 1, shifted)

    def edge():
        return np.where(_even(n), 1.0, -1.0)
    top = nf + nf + 1
    if _some(n > (4 if shifted else 8)):
        theta = np.arccos(t)
        fallback = edge() if shifted else np.where(x > 0, top, edge())
        trig = np.where(np.cos(theta / 2) != 1, np.sin((nf + 0.5) * theta) / np.sin(theta / 2),
                        fallback)
        out = np.where((n > (4 if shifted else 8)) & (np.abs(t) < 1), trig, out)
    if shifted:
        return _at(x == 1, lambda: top, _at(x == 0, edge, out))
    return _at(np.abs(x) == 1, lambda: np.where(x > 0, top, edge()), out)


def _hermite_h(x, n, nf):
    twice = x + x  # (once: see _chebyshev)
    return _recurrence(x, n, twice, lambda k, x, p, q: twice * p - (2.0 * k) * q)


def _hermite_he(x, n, nf):
    return _recurrence(x, n, x.copy(), lambda k, x, p, q: x * p - k * q)


def _laguerre(x, n, nf):
    out = _recurrence(x, n, 1 - x, lambda k, x, p, q: ((2.0 * k + (1 - x)) * p - k * q) / (k + 1))
    return _at(x == 0, lambda: 1.0, out)


def _legendre(x, n, nf):
    out = _recurrence(x, n, x.copy(), lambda k, x, p, q: ((2.0 * k + 1) * x * p - k * q) / (k + 1))
    return _at(np.abs(x) == 1, lambda: np.where((x > 0) | _even(n), 1.0, -1.0), out)


_POLYNOMIALS = {
    "chebyshev_polynomial_t": _cheb_t,
    "chebyshev_polynomial_u": _cheb_u,
    "chebyshev_polynomial_v": _cheb_v,
    "chebyshev_polynomial_w": _cheb_w,
    "shifted_chebyshev_polynomial_t": lambda x, n, nf: _cheb_t(x, n, nf, True),
    "shifted_chebyshev_polynomial_u": lambda x, n, nf: _cheb_u(x, n, nf, True),
    "shifted_chebyshev_polynomial_v": lambda x, n, nf: _cheb_v(x, n, nf, True),
    "shifted_chebyshev_polynomial_w": lambda x, n, nf: _cheb_w(x, n, nf, True),
    "hermite_polynomial_h": _hermite_h,
    "hermite_polynomial_he": _hermite_he,
    "laguerre_polynomial_l": _laguerre,
    "legendre_polynomial_p": _legendre,
}


# --------------------------------------------------------------------------------------------
# The Hurwitz zeta function.

# B_2k / (2k)! for k = 1 .. 12 (Bernoulli numbers), the Euler-Maclaurin tail's coefficients
_BERNOULLI = [(1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510),
              (43867, 798), (-174611, 330), (854513, 138), (-236364091, 2730)]
_EM_COEFFICIENTS = [num / den / math.factorial(2 * k + 2)
                    for k, (num, den) in enumerate(_BERNOULLI)]
_EPS = np.finfo(np.float64).eps


_EM = np.array(_EM_COEFFICIENTS)
_EM_STEPS = 2 * np.arange(1, len(_EM_COEFFICIENTS))  # 2k for k = 1 .. 11


def hurwitz_zeta(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """zeta(s, q) = sum_n (q + n)^-s (float64, broadcast): inf at s = 1 and at integer q <= 0;
    nan for s < 1, for q < 0 with non-integer s, and at infinities (as PyTorch).

    Euler-Maclaurin: the first N terms directly (N >= 9, q + N >= 9), then the integral of the
    rest, half its first term and 12 Bernoulli corrections; elements whose direct sum has
    converged stop early (large s). All terms at once, as matrices (one row an element):
    the loops over terms and corrections before, zeta's kernel on 5 elements of OpInfo's
    [-9, 9] samples 161 -> 70 us (300 calls a block, two blocks each alternated, thread
    time, load 15).
    """
    s, q = np.asarray(s, np.float64), np.asarray(q, np.float64)
    shape = np.broadcast(s, q).shape  # (flat copies, not np.broadcast_arrays' Python)
    s, q = _broadcast_copy(s, shape).reshape(-1), _broadcast_copy(q, shape).reshape(-1)
    out = np.full(s.shape, np.nan)
    q_integer = q == np.floor(q)
    pole = (s == 1) | ((q <= 0) & q_integer & (s > 1))
    valid = (s > 1) & np.isfinite(s) & np.isfinite(q) & ~pole
    valid &= (q > 0) | (s == np.floor(s))
    out[pole & ~np.isnan(q)] = np.inf
    for i in np.flatnonzero(~(np.isfinite(s) & np.isfinite(q))):  # (rare: one by one)
        out[i] = _zeta_at_nonfinite(s[i], q[i])
    if not valid.any():
        return out.reshape(shape)
    sv, qv = s[valid], q[valid]
    count = np.maximum(9, np.ceil(9.0 - qv)).astype(np.int64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        n = np.arange(int(count.max()))
        active = n < count[:, None]
        terms = np.where(active, np.power(qv[:, None] + n, -sv[:, None]), 0.0)
        # (a running sum, as the loop's: the same additions in the same order)
        running = np.cumsum(terms, axis=1)
        converged = active & (np.abs(terms) < _EPS * np.abs(running))
        done = converged.any(axis=1)
        rows = np.arange(sv.size)
        total = running[rows, np.where(done, converged.argmax(axis=1), n.size - 1)]
        w = qv + count
        power = np.power(w, -sv)  # w^-s
        # s (s + 1) ... (s + 2k - 2) and w^(-s - 2k + 1), k = 0 .. 11
        factors = (sv[:, None] + _EM_STEPS - 1) * (sv[:, None] + _EM_STEPS)
        rising = np.cumprod(np.concatenate([sv[:, None], factors], axis=1), axis=1)
        w_power = (power / w)[:, None] * np.cumprod(
            np.concatenate([np.ones((sv.size, 1)), np.broadcast_to(
                (1.0 / (w * w))[:, None], (sv.size, _EM_STEPS.size))], axis=1), axis=1)
        correction = w * power / (sv - 1.0) + 0.5 * power + (rising * w_power) @ _EM
        total = np.where(done, total, total + correction)
    out[valid] = total
    return out.reshape(shape)


_PYTORCH_MACHEP = 1.11022302462515654042e-16  # (its kernel's epsilon: half float64's)


def _zeta_at_nonfinite(s: np.float64, q: np.float64) -> np.float64:
    """zeta(s, q) where s or q is infinite or nan: PyTorch's kernel step by step (Cephes' loop
    in IEEE arithmetic), whose order of checks and sums decides these values: zeta(inf, 1) = 1
    (the terms after the first are 0), zeta(inf, 0.5) = inf, zeta(nan, 0) = inf (the pole rule
    before any nan check), zeta(1, nan) = inf; nan elsewhere mostly."""
    if s == 1:
        return np.inf
    if s < 1:
        return np.nan
    if q <= 0:
        if q == np.floor(q):
            return np.inf
        if s != np.floor(s):
            return np.nan
    with np.errstate(all="ignore"):
        total = q ** -s
        a, i, b = q, 0, np.float64(0.0)
        while i < 9 or a <= 9.0:  # (q is finite here or a is inf / nan: at most 9 steps)
            i += 1
            a += 1.0
            b = a ** -s
            total += b
            if -_PYTORCH_MACHEP * total < b < _PYTORCH_MACHEP * total:
                return total
        w = a
        total += b * w / (s - 1.0)
        total -= 0.5 * b
        a, k = np.float64(1.0), 0.0
        for coefficient in _EM_COEFFICIENTS:
            a *= s + k
            b /= w
            t = a * b * coefficient
            total += t
            if abs(t / total) < _PYTORCH_MACHEP:
                return total
            k += 1.0
            a *= s + k
            b /= w
            k += 1.0
        return total
