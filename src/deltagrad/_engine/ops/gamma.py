"""The gamma family on whole arrays: lgamma, digamma and polygamma (through the Hurwitz zeta
function), and their ops; SciPy's ufuncs serve where installed, NumPy kernels otherwise.

Two paths, switched by ``USE_SCIPY`` (on; SciPy imported lazily on first use, so
``import deltagrad`` needs only NumPy; tests run both):

- SciPy: ``gammaln``, ``psi`` and ``zeta`` (for polygamma up to 64 elements), with PyTorch's
  values patched in where SciPy's differ: lgamma's -inf (+inf), polygamma at +-inf, and lgamma
  on [0.75, 1.25) and [1.75, 2.25), where gammaln's error is absolute (~2e-16; relative 4e-8 at
  1 + 1e-8): the series about 2 below takes those elements (in Python floats when there are
  at most 4). Elsewhere gammaln is within 3e-15 of PyTorch, closer than the NumPy kernel near
  lgamma's negative zeros. SciPy gives lgamma(subnormal) = inf, as PyTorch; NumPy -log|x|.
- NumPy: every function computes in float64 (float32 and float16 input too, rounded once at
  the end) with a fixed number of whole-array passes, never a Python loop over elements.
  Arrays of up to 64 elements take fewer, wider passes (a polynomial as one matrix product of
  the powers, a shift sum as one matrix); large ones run in cache-sized blocks.

The NumPy kernels:

- ``hurwitz_zeta(s, q) = sum_k (q + k)^-s``: the first terms summed directly (the same count
  for a whole block, smallest first) until ``q + k`` reaches ``12 + s``, then the
  Euler-Maclaurin tail with Bernoulli numbers up to B_24. Each term of the tail is
  ``((s + 2j) / (2 pi w))^2``-times the one before, so 12 terms leave an error near 1e-17
  relative. For ``q`` below 0 (``s`` an integer) the same sum, PyTorch's continuation; at
  ``q = 0, -1, -2, ...`` it is +inf (the pole), as PyTorch's. A very negative ``q`` takes one
  pass per unit of ``-q`` (as SciPy's and PyTorch's loops). Larger than 64 elements polygamma
  uses it on both paths: 3 to 5 x faster than SciPy's zeta, as accurate.
- ``lgamma``: on [0.5, 3.5) the Taylor series of lgamma(2 + z) in z (coefficients
  ``(-1)^k (zeta(k) - 1) / k``, made at import from ``hurwitz_zeta``), so that the zeros at 1
  and 2 keep full relative accuracy; on [3.5, 10) seven steps up to Stirling's series, which
  serves from 10 on (8 terms: error below 1e-18); below 0.5 ``lgamma(x + 1) - log x`` and,
  below 0, the reflection ``log(pi / |sin(pi x)|) - lgamma(1 - x)`` with ``sin`` of the
  distance to the nearest integer (exact), so poles stay sharp.
- ``digamma``: below 10 ten steps up, ``psi(x) = psi(x + 10) - sum_{k<10} 1 / (x + k)``, then
  the asymptotic series (8 terms); below 0 the reflection ``psi(1 - x) - pi / tan(pi x)``. Near
  its zero at 1.4616 it is accurate in absolute, not relative terms (as PyTorch's, which
  shifts the same way, and SciPy's).
- ``polygamma(n, x) = (-1)^(n + 1) n! zeta(n + 1, x)`` for n >= 1.

Values at the edges are PyTorch's on both paths: lgamma is +inf at the poles and at -inf;
digamma(+-0) is -+inf, nan at negative integers and -inf; trigamma is 0 at +inf and nan at
-inf; polygamma's poles are (-1)^(n+1) inf (PyTorch's float32 trigamma gives large finite
values there instead: its sin(pi x) is not 0), for n >= 2 nan at +inf and the pole's sign at
-inf. Accuracy against PyTorch (float64, tests/parity/test_parity_leftovers_special.py): rtol
1e-12 over [-30, 30] and 1e-300..1e300, and full relative accuracy at lgamma's zeros 1 and 2
(tests/engine/test_special_fast_paths.py: 2e-15 against their Taylor series).

Speed (this shared 2-core machine; benchmarks/op_overhead.py, forward + backward, median over
0-d, [8], [8, 8] float32 against PyTorch; before: the NumPy kernels alone):
lgamma 11.2 -> 0.96 x (NumPy path 4.8 x), digamma 7.5 -> 0.78 x (3.7), polygamma 6.6 -> 0.99 x
(3.8); [8, 8] is the worst case of all three (1.2 x: SciPy's zeta costs 10 us on 64 elements).
1M float64 elements, forward + the backward's kernels: lgamma 145 -> 61 ms (NumPy 68),
digamma 244 -> 59 (73), trigamma + polygamma(2) 355 -> 119 (119); through deltagrad against
PyTorch's fwd + bwd: 1.5 x, 1.9 x, 0.6 x. Then (issue 18: the ops call the float32 ufuncs
directly, SciPy is imported once, psi's slow window is avoided, see the ops below) lgamma
1.01 -> 0.59 x, digamma 0.76 -> 0.59 x, polygamma 0.98 -> 0.68 x (its [8] case is two zeta
calls of 1.8 us each and ~5 us of engine). [8, 8] stays the worst case for digamma and
polygamma (1.2 to 1.5 x): zeta on 64 elements costs 12 to 20 us.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

from .elementwise_math import Constants, floating, register_quiet
from .registry import ARRAY, Sample, _away_from
from .special import load_scipy_special

__all__ = ["USE_SCIPY", "digamma", "hurwitz_zeta", "lgamma", "polygamma"]

USE_SCIPY = True  # scipy.special's gammaln / psi / zeta when importable (tests switch it off)

# B_2, B_4, ..., B_24: the Bernoulli numbers of the asymptotic series (exact fractions).
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730)
_EULER_GAMMA = 0.57721566490153286061
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _flat64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _scipy_special():
    # (SciPy is imported once, on first use: see load_scipy_special)
    return load_scipy_special() if USE_SCIPY else None


# Up to this many elements a polynomial is one matrix product with the powers of v (a
# cumulative product), not Horner's 2 calls per coefficient: 26 coefficients on 8 elements
# 17 -> 4 us, on 64 elements 17 -> 8 us (crossover near 128; /tmp-measured, this machine).
_SMALL = 64

# Up to this many elements SciPy's zeta is faster than hurwitz_zeta's NumPy sum (thread time,
# s = 2: 128 elements 24 against 63 us, 384 74 against 79, 512 95 against 87; session 12).
_SCIPY_ZETA_MAX = 384


# Large arrays go through the NumPy kernels in blocks that stay in cache: their 30 to 100
# passes then cost 1.5 to 3 x less (1M elements: digamma 75 -> 26 ms, i0e 99 -> 54 ms).
_BLOCK = 1 << 15


def _blocks(kernel, flat: np.ndarray) -> np.ndarray:
    """``kernel`` (flat float64 -> flat float64, elementwise) over cache-sized blocks."""
    if flat.size <= _BLOCK:
        return kernel(flat)
    out = np.empty(flat.shape)
    for start in range(0, flat.size, _BLOCK):
        out[start:start + _BLOCK] = kernel(flat[start:start + _BLOCK])
    return out


def _horner(coefficients: np.ndarray, v: np.ndarray) -> np.ndarray:
    """sum_j coefficients[j] v^j (coefficients: a float64 array)."""
    if v.size <= _SMALL and len(coefficients) > 6:
        count = len(coefficients) - 1
        powers = np.multiply.accumulate(np.repeat(v.reshape(-1, 1), count, axis=1), axis=1)
        return (powers @ coefficients[1:] + coefficients[0]).reshape(v.shape)
    out = np.full(v.shape, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= v
        out += c
    return out


# --------------------------------------------------------------------------------------------
# Hurwitz zeta and polygamma.


@functools.lru_cache(maxsize=64)
def _zeta_tail_coefficients(s: float) -> np.ndarray:
    # c_j = B_2j / (2j)! * s (s + 1) ... (s + 2j - 2), the factor of w^(-s - 2j + 1).
    coefficients = []
    rising, factorial = s, 2.0
    for j, b in enumerate(_BERNOULLI, start=1):
        coefficients.append(b / factorial * rising)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
        factorial *= (2 * j + 1) * (2 * j + 2)
    return np.array(coefficients)


def _zeta_tail(s: float, w: np.ndarray) -> np.ndarray:
    """sum_{k>=0} (w + k)^-s for w >= 12 + s, by Euler-Maclaurin."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        base = np.power(w, -s)
        inverse = 1.0 / w
        series = _horner(_zeta_tail_coefficients(s), inverse * inverse) * (base * inverse)
        return w * base / (s - 1.0) + 0.5 * base + series


def hurwitz_zeta(s: float, q: np.ndarray) -> np.ndarray:
    """zeta(s, q) = sum_{k>=0} (q + k)^-s elementwise, for a real ``s > 1`` (see the module
    docstring for q <= 0), in NumPy.

    Args:
        s: the exponent, a Python number > 1.
        q: any real array.

    Returns:
        A float64 array of ``q``'s shape.
    """
    q = np.asarray(q)
    return _blocks(lambda flat: _hurwitz_zeta_flat(s, flat), _flat64(q)).reshape(q.shape)


def _inverse_power(v: np.ndarray, s: float) -> np.ndarray:
    """v^-s. For s = 2 and 4 as products of 1 / v: pow costs ~5x more, and the products' 1 or 2
    more roundings stay below 5e-16 in the sum, whose terms are then all positive (for odd s
    and q < 0 they cancel, and pow's exactness counts: polygamma(2) 1.5e-14 against 5e-14)."""
    if s == 2.0 or s == 4.0:
        reciprocal = 1.0 / v
        out = reciprocal * reciprocal
        return out * out if s == 4.0 else out
    return np.power(v, -s)


def _hurwitz_zeta_flat(s: float, flat: np.ndarray) -> np.ndarray:
    out = np.full(flat.shape, np.nan)
    target = 12.0 + s
    finite = np.isfinite(flat)
    out[flat == np.inf] = 0.0
    index = np.flatnonzero(finite)
    w = flat[index]
    total = np.zeros(w.shape)
    below = np.flatnonzero(w < target)
    if below.size:
        # zeta(s, w) = sum_{k<N} (w + k)^-s + zeta(s, w + N), the same N for every element
        # (no masks: 1M elements, s = 2, 96 -> 32 ms; SciPy's zeta 170 ms). Summed from the
        # smallest term up: N can be large (a block's most negative q sets it for all).
        wb = w[below]
        steps = int(math.ceil(target - wb.min()))
        shifts = np.arange(steps - 1.0, -1.0, -1.0)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if wb.size * steps <= 16 * _SMALL:  # (small: one matrix of the terms)
                partial = _inverse_power(wb.reshape(-1, 1) + shifts, s).sum(axis=1)
            else:
                partial = np.zeros(wb.shape)
                for k in shifts:
                    partial += _inverse_power(wb + k, s)
        w[below] = wb + steps
        total[below] = partial
    total += _zeta_tail(s, w)
    pole = (flat[index] <= 0) & (flat[index] == np.floor(flat[index]))
    total[pole] = np.inf  # PyTorch's value at q = 0, -1, ... (from either side)
    out[index] = total
    return out


def polygamma(n: int, x: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The n-th derivative of digamma, elementwise (``n = 0`` is digamma), as PyTorch computes
    it in ``dtype``: returned in float64, rounded as ``dtype``'s computation rounds."""
    if n == 0:
        return digamma(x)
    x = np.asarray(x)
    flat = _flat64(x)
    special = _scipy_special()
    if special is not None and flat.size <= _SCIPY_ZETA_MAX:
        # (zeta, not special.polygamma: the same function less its Python wrapper, 5 us)
        out = special.zeta(n + 1.0, flat)
    else:  # (larger: the NumPy sum is 3 to 5 x faster than SciPy's zeta, as accurate)
        out = hurwitz_zeta(n + 1.0, flat)
    sign = (-1.0) ** (n + 1)
    if n > 1:
        # PyTorch: (-1)^(n + 1) n! zeta(n + 1, x) (its n! is exp(lgamma(n + 1)); rounded once
        # here), zeta in the input's dtype and n! in float32 for float16 / float32: n! is inf
        # from n = 35 (171 in float64) and zeta underflows to 0 for large n, so the product is
        # inf or nan where the exact value is finite. Rounding zeta and n! as PyTorch's dtypes
        # do keeps its values there (float16 computed in float32, as its CPU kernel).
        wide = np.float64 if np.dtype(dtype) == np.float64 else np.float32
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            factorial = np.float64(math.factorial(n) if n <= 170 else math.inf).astype(wide)
            rounded = out.astype(dtype).astype(wide)
            out = (rounded * (sign * factorial)).astype(np.float64)
    # NOTE: PyTorch's values at the infinities: for n = 1 (its trigamma) 0 at +inf and nan at
    # -inf; for n >= 2 (its zeta's) nan at +inf (the limit is 0) and the pole's sign at -inf.
    infinite = np.isinf(flat).nonzero()[0]
    if infinite.size:
        at_plus = flat[infinite] > 0
        if n == 1:
            out[infinite] = np.where(at_plus, 0.0, np.nan)
        else:
            out[infinite] = np.where(at_plus, np.nan, sign * np.inf)
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------
# lgamma.

_SERIES_TERMS = 26


def _lgamma_series_coefficients() -> np.ndarray:
    """lgamma(2 + z) = sum_k c_k z^k: c_1 = 1 - gamma, c_k = (-1)^k (zeta(k) - 1) / k."""
    coefficients = [0.0, 1.0 - _EULER_GAMMA]
    for k in range(2, _SERIES_TERMS + 1):
        zeta_minus_one = float(hurwitz_zeta(float(k), np.array([2.0]))[0])
        coefficients.append((-1.0) ** k * zeta_minus_one / k)
    return np.array(coefficients)


_LGAMMA_2 = _lgamma_series_coefficients()
# Stirling: lgamma(x) = (x - 1/2) log x - x + log(2 pi) / 2 + sum_j B_2j / (2j (2j - 1) x^(2j-1)).
_STIRLING = np.array([b / ((2 * j) * (2 * j - 1)) for j, b in enumerate(_BERNOULLI[:8], start=1)])


def _stirling(x: np.ndarray) -> np.ndarray:
    """lgamma of x >= 10."""
    inverse = 1.0 / x
    series = _horner(_STIRLING, inverse * inverse) * inverse
    with np.errstate(over="ignore", invalid="ignore"):
        return (x - 0.5) * np.log(x) - x + _HALF_LOG_2PI + series


_LGAMMA_EDGES = np.array([1.5, 2.5, 3.5, 10.0])


def _lgamma_positive(x: np.ndarray) -> np.ndarray:
    """lgamma of finite x >= 0.5, by region (see the module docstring)."""
    out = np.empty(x.shape)
    region = np.searchsorted(_LGAMMA_EDGES, x, side="right")
    # (Empty regions are skipped: each costs ~20 NumPy calls, the most of a small array's time.)
    index = np.flatnonzero(region == 0)  # [0.5, 1.5): lgamma(1 + z) = lgamma(2 + z) - log(1 + z)
    if index.size:
        z = x[index] - 1.0
        out[index] = _horner(_LGAMMA_2, z) - np.log1p(z)
    index = np.flatnonzero(region == 1)  # [1.5, 2.5): the series itself
    if index.size:
        out[index] = _horner(_LGAMMA_2, x[index] - 2.0)
    index = np.flatnonzero(region == 2)  # [2.5, 3.5): one step down
    if index.size:
        xi = x[index]
        out[index] = np.log(xi - 1.0) + _horner(_LGAMMA_2, xi - 3.0)
    # [3.5, 10): seven steps up to Stirling's range, a fixed count (no masks). lgamma > 1.2
    # there, so the cancellation costs at most ~5e-15 relative.
    index = np.flatnonzero(region == 3)
    if index.size:
        xi = x[index]
        product = xi.copy()
        for k in range(1, 7):
            product *= xi + k
        out[index] = _stirling(xi + 7.0) - np.log(product)
    index = np.flatnonzero(region == 4)
    if index.size:
        out[index] = _stirling(x[index])
    return out


def _lgamma_numpy(flat: np.ndarray) -> np.ndarray:
    out = np.full(flat.shape, np.nan)  # (nan stays nan: no branch takes it)
    out[np.isinf(flat)] = np.inf
    big = np.flatnonzero(flat >= 0.5)
    big = big[np.isfinite(flat[big])]
    if big.size:
        out[big] = _lgamma_positive(flat[big])
    small = np.flatnonzero((flat > 0) & (flat < 0.5))
    if small.size:
        xs = flat[small]
        out[small] = _lgamma_positive(xs + 1.0) - np.log(xs)
    negative = np.flatnonzero((flat <= 0) & np.isfinite(flat))
    if negative.size:
        xn = flat[negative]
        distance = xn - np.round(xn)  # exact; 0 at the poles
        with np.errstate(divide="ignore"):
            reflected = np.log(np.pi / np.abs(np.sin(np.pi * distance)))
        out[negative] = reflected - _lgamma_positive(1.0 - xn)
        out[negative[distance == 0]] = np.inf
    return out


# With SciPy, gammaln serves except at -inf (SciPy's -inf, PyTorch's +inf) and next to the
# zeros 1 and 2, where gammaln's error is absolute (~1e-17: relative 4e-8 at 1 + 1e-8, 6e-13 at
# 1.001, 8e-15 at 1.05, 2e-15 at 1.25; PyTorch's and the series' stay below 5e-16 there):
# [0.75, 1.25) and [1.75, 2.25) take the series about 2. searchsorted(side="right") against
# these edges is odd exactly there (and at -inf; nan is even).
_GAMMALN_EDGES = np.array([-np.inf, -sys.float_info.max, 0.75, 1.25, 1.75, 2.25])


_LGAMMA_2_DOWN = _LGAMMA_2[::-1].tolist()


def _lgamma_near_zero(value: float) -> float:
    """The same for one Python float (Horner's rule in Python: ~1 us against the arrays' 6)."""
    if value == -math.inf:
        return math.inf
    centre = 1.0 if value < 1.5 else 2.0
    z = value - centre
    series = 0.0
    for c in _LGAMMA_2_DOWN:
        series = series * z + c
    return series - math.log1p(z) if centre == 1.0 else series


def _lgamma_near_zeros(v: np.ndarray) -> np.ndarray:
    """lgamma of v in [0.75, 1.25) or [1.75, 2.25), and +inf at -inf."""
    if v.size <= 4:
        return np.array([_lgamma_near_zero(value) for value in v.tolist()])
    w = np.maximum(v, 0.75)  # (-inf: a finite stand-in, replaced below)
    centre = np.rint(w)  # 1 or 2
    z = w - centre  # exact
    # lgamma(2 + z) is the series; lgamma(1 + z) = lgamma(2 + z) - log1p(z)
    out = _horner(_LGAMMA_2, z) - (2.0 - centre) * np.log1p(z)
    out[v == -np.inf] = np.inf
    return out


def lgamma(x: np.ndarray) -> np.ndarray:
    """log |Gamma(x)| elementwise, in float64."""
    x = np.asarray(x)
    flat = _flat64(x)
    special = _scipy_special()
    if special is None:
        return _blocks(_lgamma_numpy, flat).reshape(x.shape)
    out = special.gammaln(flat)
    # (methods, not np.searchsorted / np.flatnonzero: 2.1 -> 0.9 us on small arrays)
    patch = (_GAMMALN_EDGES.searchsorted(flat, side="right") & 1).nonzero()[0]
    if patch.size:
        out[patch] = _lgamma_near_zeros(flat[patch])
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------
# digamma.

# psi(x) = log x - 1 / (2x) - sum_j B_2j / (2j x^2j)
_DIGAMMA = np.array([b / (2 * j) for j, b in enumerate(_BERNOULLI[:8], start=1)])


def _digamma_asymptotic(x: np.ndarray) -> np.ndarray:
    """digamma of x >= 10 (or +inf)."""
    inverse = 1.0 / x
    inverse2 = inverse * inverse
    return np.log(x) - 0.5 * inverse - _horner(_DIGAMMA, inverse2) * inverse2


_SHIFT = np.arange(10.0)


def _digamma_positive(x: np.ndarray) -> np.ndarray:
    """digamma of x > 0 (finite or +inf)."""
    out = np.empty(x.shape)
    low = np.flatnonzero(x < 10.0)
    if low.size:
        xl = x[low]
        # psi(x) = psi(x + 10) - sum_{k<10} 1 / (x + k): a fixed shift, no per-element masks
        # (small arrays: one matrix, 30 -> 3 calls).
        if xl.size <= _SMALL:
            reciprocals = (1.0 / (xl.reshape(-1, 1) + _SHIFT)).sum(axis=1)
        else:
            reciprocals = 1.0 / xl
            for k in range(1, 10):
                reciprocals += 1.0 / (xl + k)
        out[low] = _digamma_asymptotic(xl + 10.0) - reciprocals
    high = np.flatnonzero(x >= 10.0)
    if high.size:
        out[high] = _digamma_asymptotic(x[high])
    return out


def _digamma_numpy(flat: np.ndarray) -> np.ndarray:
    out = np.full(flat.shape, np.nan)
    positive = np.flatnonzero(flat > 0)
    if positive.size:
        out[positive] = _digamma_positive(flat[positive])
    zero = np.flatnonzero(flat == 0)
    out[zero] = np.copysign(np.inf, -flat[zero])  # PyTorch's: -inf at +0, +inf at -0
    negative = np.flatnonzero((flat < 0) & np.isfinite(flat) & (flat != np.floor(flat)))
    if negative.size:
        xn = flat[negative]
        fraction = xn - np.trunc(xn)
        out[negative] = _digamma_positive(1.0 - xn) - np.pi / np.tan(np.pi * fraction)
    return out


# Within 0.3 of digamma's negative zero SciPy's psi sums a series of zeta values: 2 to 5 us an
# element, 20 x its cost elsewhere. There the recurrence psi(x) = psi(x + 1) - 1 / x (x + 1 is
# then in (0.19, 0.81), where psi is fast) takes over, in float64: accurate in absolute terms
# near the zero (~4e-16, as PyTorch's reflection and the NumPy kernel).
_PSI_ZERO = -0.5040830082644554
_PSI_WINDOW = Constants(_PSI_ZERO, 0.31)  # (0.31: a little wider than SciPy's test)


def _psi(special, x: np.ndarray) -> np.ndarray:
    """SciPy's psi of a float32 or float64 array, in its dtype (a scalar for 0-d input)."""
    if not (x.size and np.fmin.reduce(x, axis=None) < -0.2):  # (one reduction, nan skipped)
        return special.psi(x)
    zero, half_width = _PSI_WINDOW(x)
    window = np.abs(x - zero) < half_width
    if not np.count_nonzero(window):  # (0.1 us, where any() costs 0.6)
        return special.psi(x)
    x64 = np.asarray(x, np.float64)
    out = special.psi(np.where(window, x64 + 1.0, x64))
    out = out - np.divide(1.0, x64, out=np.zeros(x64.shape), where=window)
    return out.astype(x.dtype, copy=False)


def digamma(x: np.ndarray) -> np.ndarray:
    """The logarithmic derivative of Gamma elementwise, in float64."""
    x = np.asarray(x)
    flat = _flat64(x)
    special = _scipy_special()
    if special is None:
        return _blocks(_digamma_numpy, flat).reshape(x.shape)
    # psi's values are PyTorch's at every edge (+-0, poles, +-inf, nan); near its zero at
    # 1.4616 both are accurate in absolute terms (~3e-16), as the NumPy kernel.
    return _psi(special, flat).reshape(x.shape)


# --------------------------------------------------------------------------------------------
# The ops: integer input computes in the default float dtype, float input keeps its dtype.
#
# With SciPy the ops call its ufuncs on float32 and float64 arrays directly: their float32 loops
# compute in float64 and round once, the kernels' values bit for bit (gammaln, psi, zeta),
# without the two casts, the reshapes and the patches that only float64 needs (lgamma's
# forward + rule on 8 float32 elements: 12.6 -> 3 to 6 us; numbers in the module docstring).

_LOWEST32 = np.float32(np.finfo(np.float32).min)
_MINUS_TWO = Constants(-2.0)


def _lgamma_forward(x):
    x = floating(x)
    special = _scipy_special()
    if special is not None and x.dtype.char == "f":
        # float32: gammaln itself. Its absolute error near the zeros 1 and 2 (~2e-16, why
        # float64 takes the series there) is far below float32's rounding (lgamma(1 + 2^-23)
        # = -6.9e-8: 3e-9 relative). -inf is raised to float32's lowest, a pole, whose +inf is
        # PyTorch's value at -inf (gammaln's is -inf); nan stays nan.
        return special.gammaln(np.maximum(x, _LOWEST32))
    return lgamma(x).astype(x.dtype, copy=False)


def _digamma_forward(x):
    x = floating(x)
    special = _scipy_special()
    if special is not None and x.dtype.char in "fd":
        return _psi(special, x)  # (its values are digamma's, see there)
    return digamma(x).astype(x.dtype, copy=False)


def _polygamma_forward(x, *, n):
    if n == 0:
        return _digamma_forward(x)
    x = floating(x)
    special = _scipy_special()
    if special is not None and n <= 2 and x.size <= _SMALL and x.dtype.char in "fd":
        # zeta(n + 1, x) scaled by (-1)^(n + 1) n! = 1 or -2: exact, so rounding zeta first
        # changes nothing. PyTorch's values at the infinities (see polygamma): zeta gives +inf
        # at -inf (n = 1 wants nan) and 0 at +inf (n = 2 wants nan).
        out = special.zeta(n + 1.0, x)
        if n == 1:
            # zeta(2, x) is inf only at x = 0, -1, ... and -inf (nan stays nan), so one
            # reduction over the values tells whether either fix-up below can apply (digamma's
            # rule on 8 float32: 5.0 -> 2.6 us, thread time; op_overhead digamma in the report).
            if not out.size or np.maximum.reduce(out, axis=None) < np.inf:
                return out
            out = _trigamma_poles(x, out)
            return np.where(x == -np.inf, np.nan, out) if _holds(x, -np.inf) else out
        out = out * _MINUS_TWO(x)[0]
        return np.where(x == np.inf, np.nan, out) if _holds(x, np.inf) else out
    with np.errstate(over="ignore"):  # (beyond float16's range: inf, as PyTorch, silently)
        out = polygamma(n, x, x.dtype).astype(x.dtype, copy=False)
    return _trigamma_poles(x, out) if n == 1 else out


def _trigamma_poles(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """PyTorch's trigamma at the negative integers: its reflection pi^2 / sin(pi x)^2 with
    sin(pi x) rounded in x's dtype, not 0, so a large finite value (3.2e14 at -2 in float32,
    1.6e32 in float64) where the pole's exact value is inf; 0 stays inf."""
    poles = (x < 0) & (x == np.floor(x)) & np.isfinite(x)
    if not poles.any():
        return out
    # (float16 in float32, rounded once, as PyTorch's opmath: inf at -20, not 26368)
    at = x[poles].astype(np.float32) if x.dtype == np.float16 else x[poles]
    pi = at.dtype.type(np.pi)
    with np.errstate(over="ignore", divide="ignore"):
        sine = np.sin(pi * at)
        out = np.array(out)  # (a copy; a 0-d input's zeta is a NumPy scalar, not an array)
        out[poles] = pi * pi / (sine * sine)
    return out


def _holds(x: np.ndarray, infinity: float) -> bool:
    """Whether ``x`` holds ``infinity`` (+inf or -inf). Up to 16 elements through a list (0.2
    us on 8, a reduction 0.6); beyond, one reduction that skips nan (fmin / fmax)."""
    if x.size <= 16:
        return infinity in x.reshape(-1).tolist()
    return bool((np.fmin if infinity < 0 else np.fmax).reduce(x, axis=None) == infinity)


def _lgamma_vjp(F, g, out, x):
    return (g * (_digamma_forward(x) if F is ARRAY else F.op("digamma", x)),)


def _digamma_vjp(F, g, out, x):
    return (g * (_polygamma_forward(x, n=1) if F is ARRAY else F.op("polygamma", x, n=1)),)


def _polygamma_vjp(F, g, out, x, *, n):
    if F is ARRAY:
        return (g * _polygamma_forward(x, n=n + 1),)
    return (g * F.op("polygamma", x, n=n + 1),)


def _lgamma_samples(rng):
    out = [Sample((rng.uniform(0.3, 4.0, s),)) for s in ((), (5,), (3, 4))]
    out.append(Sample((np.array([0.8, 1.0, 1.2, 2.0, 2.4, 12.5, 30.0]),), note="roots, large"))
    out.append(Sample((_away_from(rng, (6,), (-3.0, -2.0, -1.0), -3.0, -0.1, gap=0.15),),
                      note="negative"))
    return out


register_quiet("lgamma", forward=_lgamma_forward, vjp=_lgamma_vjp, samples=_lgamma_samples)
register_quiet("digamma", forward=_digamma_forward, vjp=_digamma_vjp, samples=_lgamma_samples)


def _polygamma_samples(rng):
    out = []
    for n in (1, 2, 3):
        out.append(Sample((rng.uniform(0.5, 4.0, (5,)),), {"n": n}))
    out.append(Sample((rng.uniform(0.5, 3.0, ()),), {"n": 1}))
    out.append(Sample((_away_from(rng, (4,), (-2.0, -1.0), -2.0, -0.2, gap=0.2),), {"n": 1},
                      note="negative"))
    out.append(Sample((np.array([14.0, 25.0, 40.0]),), {"n": 2}, note="tail only"))
    return out


register_quiet("polygamma", forward=_polygamma_forward, vjp=_polygamma_vjp,
         samples=_polygamma_samples)
