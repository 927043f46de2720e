"""NumPy kernels of ``torch.special``'s Bessel and Airy functions and orthogonal polynomials:
J0, J1, Y0, Y1, K0, K1 (plain and scaled), the spherical j0, Airy Ai, and the Chebyshev
(T, U, V, W and shifted), Hermite (H, He), Laguerre and Legendre polynomials.

PyTorch defines no derivative for any of them (their results take no gradient), so these are
plain kernels over ndarrays (float64 inside, rounded once to the input's dtype), not
registered ops. Methods (all vectorised, no Python loop over elements):

- J0, J1, Y0, Y1: the power series up to 4 (terms at most ~4: no cancellation to speak of);
  on (4, 25] Miller's backward recurrence for J_n, normalised by J0 + 2 sum J_2k = 1, with Y0
  and Y1 from Neumann's series in the same J_n (A&S 9.1.88 and its derivative); beyond 25
  Hankel's asymptotic expansion (its smallest term there is below e^-50). Absolute error
  ~1e-15 against PyTorch (relative near the zeros).
- K0, K1: the power series (in I0, I1 and harmonic sums) up to 2; beyond, Temme's continued
  fraction (CF2, Steed's algorithm), which gives K0 e^x and K1 e^x directly (so the scaled
  forms never underflow).
- Ai: the Maclaurin series on [-8, 2.1] (in NumPy's long double where it is wider than
  float64, because the series cancels for negative x), Ai(x) = sqrt(x / 3) K_(1/3)(zeta) / pi
  with zeta = 2/3 x^1.5 and Temme's CF2 beyond 2.1, and the oscillatory asymptotic expansion
  below -8.
- The polynomials: their three-term recurrences, with PyTorch's closed forms at |x| = 1 and
  its trigonometric forms for large n inside (-1, 1), so that values match to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from .elementwise_math import ERR_STATE, IGNORE_ALL

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_k0e", "bessel_k1e", "bessel_y0",
           "bessel_y1", "polynomial", "spherical_bessel_j0"]

_EULER = 0.57721566490153286061
_TWO_OVER_PI = 2.0 / math.pi
_SERIES_TERMS = 34
_MILLER_START = 90  # (even; J_90(x) / J_0(x) is below 1e-40 for x <= 25)
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


def _j_series(x: np.ndarray):
    """J0, J1, Y0, Y1 by their power series (x > 0, small)."""
    quarter = 0.25 * x * x
    powers = _powers(quarter) * (-1.0) ** _K
    inv0 = 1.0 / (_FACT[:-1] ** 2)
    inv1 = 1.0 / (_FACT[:-1] * _FACT[1:])
    j0 = powers @ inv0
    j1 = 0.5 * x * (powers @ inv1)
    log_half = np.log(0.5 * x)
    y0 = _TWO_OVER_PI * ((log_half + _EULER) * j0 - powers @ (_H[:-1] * inv0))
    y1 = (_TWO_OVER_PI * log_half * j1 - _TWO_OVER_PI / x
          - 0.5 * x / math.pi * (powers @ ((_PSI[:-1] + _PSI[1:]) * inv1)))
    return j0, j1, y0, y1


def _j_miller(x: np.ndarray):
    """J0, J1, Y0, Y1 by Miller's backward recurrence (moderate x > 0)."""
    after = np.zeros_like(x)  # J_(n+1), unnormalised
    current = np.full_like(x, 1e-30)  # J_n (a small start: J_90 / J_0 can be 1e-110)
    norm = np.zeros_like(x)  # sum_k J_2k, k >= 1
    y0_sum = np.zeros_like(x)  # sum_k (-1)^k J_2k / k
    y1_sum = np.zeros_like(x)  # sum_k (-1)^k (J_(2k-1) - J_(2k+1)) / k, by odd index
    inv_x = 1.0 / x
    j1 = None
    for n in range(_MILLER_START, 0, -1):
        before = 2.0 * n * inv_x * current - after  # J_(n-1)
        m = n - 1
        if m >= 2 and m % 2 == 0:
            k = m // 2
            norm += before
            y0_sum += (-1.0) ** k * before / k
        elif m % 2 == 1:
            # J_(2k-1) with 2k - 1 = m has weight (-1)^k (1/k + 1/(k - 1)), and -1 for J_1.
            k = (m + 1) // 2
            y1_sum += -before if k == 1 else (-1.0) ** k * (1.0 / k + 1.0 / (k - 1)) * before
            if m == 1:
                j1 = before
        after, current = current, before
        if np.max(np.abs(current)) > 1e250:  # (rescale everything kept, together)
            for array in (after, current, norm, y0_sum, y1_sum):
                array *= 1e-250
            if j1 is not None:
                j1 = j1 * 1e-250
    j0 = current
    scale = 1.0 / (j0 + 2.0 * norm)
    j0, j1, y0_sum, y1_sum = j0 * scale, j1 * scale, y0_sum * scale, y1_sum * scale
    log_term = np.log(0.5 * x) + _EULER
    y0 = _TWO_OVER_PI * log_term * j0 - 2.0 * _TWO_OVER_PI * y0_sum
    y1 = _TWO_OVER_PI * (log_term * j1 - j0 * inv_x) + _TWO_OVER_PI * y1_sum
    return j0, j1, y0, y1


def _split_series(like: np.ndarray, ratio, terms: int) -> tuple:
    """An asymptotic series sum_k (-1)^(k // 2) t_k (t_0 = 1, t_k = t_(k-1) * num_k / den_k with
    ``ratio(k) = (num_k, den_k)``) summed apart over even and odd k, up to ``terms`` terms or
    until every term is below 1e-17: ``(even, odd)``."""
    even = np.ones_like(like)
    odd = np.zeros_like(like)
    term = np.ones_like(like)
    for k in range(1, terms):
        numerator, denominator = ratio(k)
        term = term * numerator / denominator
        if k % 2:
            odd += (-1.0) ** (k // 2) * term
        else:
            even += (-1.0) ** (k // 2) * term
        if not np.any(np.abs(term) > 1e-17):
            break
    return even, odd


def _hankel(x: np.ndarray, order: int):
    """J_order and Y_order (order 0 or 1) by Hankel's asymptotic expansion (large x > 0)."""
    mu = 4.0 * order * order
    # a_k(order) / x^k
    p, q = _split_series(x, lambda k: (mu - (2 * k - 1) ** 2, 8.0 * k * x), 80)
    # chi = x - (order / 2 + 1/4) pi, through cos x and sin x (accurate range reduction)
    phase = (order / 2.0 + 0.25) * math.pi
    cos_x, sin_x = np.cos(x), np.sin(x)
    cos_chi = cos_x * math.cos(phase) + sin_x * math.sin(phase)
    sin_chi = sin_x * math.cos(phase) - cos_x * math.sin(phase)
    amplitude = np.sqrt(_TWO_OVER_PI / x)
    return amplitude * (p * cos_chi - q * sin_chi), amplitude * (p * sin_chi + q * cos_chi)


def _bessel_jy(a: np.ndarray) -> tuple:
    """(J0, J1, Y0, Y1) at a > 0 (finite), flat float64."""
    out = [np.empty_like(a) for _ in range(4)]
    series = a <= _SERIES_LIMIT
    miller = (a > _SERIES_LIMIT) & (a <= _HANKEL_LIMIT)
    hankel = a > _HANKEL_LIMIT
    if series.any():
        for array, value in zip(out, _j_series(a[series])):
            array[series] = value
    if miller.any():
        for array, value in zip(out, _j_miller(a[miller])):
            array[miller] = value
    if hankel.any():
        j0, y0 = _hankel(a[hankel], 0)
        j1, y1 = _hankel(a[hankel], 1)
        out[0][hankel], out[1][hankel], out[2][hankel], out[3][hankel] = j0, j1, y0, y1
    return tuple(out)


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _jy(x: np.ndarray, which: int) -> np.ndarray:
    """J0 (0), J1 (1), Y0 (2) or Y1 (3) of x (float64, x's shape)."""
    flat = _flat(x)
    a = np.abs(flat)
    out = np.full(flat.shape, np.nan)
    finite = np.isfinite(a) & (a > 0)
    if finite.any():
        out[finite] = _bessel_jy(a[finite])[which]
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


def bessel_j0(x: np.ndarray) -> np.ndarray:
    """J0(x) (float64)."""
    return _jy(x, 0)


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1(x) (float64; odd)."""
    return _jy(x, 1)


def bessel_y0(x: np.ndarray) -> np.ndarray:
    """Y0(x) (float64; -inf at 0, nan below)."""
    return _jy(x, 2)


def bessel_y1(x: np.ndarray) -> np.ndarray:
    """Y1(x) (float64; -inf at 0, nan below)."""
    return _jy(x, 3)


# --------------------------------------------------------------------------------------------
# Modified Bessel functions of the second kind.


def _temme_cf2(x: np.ndarray, nu: float) -> tuple:
    """(K_nu(x) e^x, K_(nu+1)(x) e^x) for x >= 2 and |nu| <= 1/2, by Temme's continued
    fraction for K_(nu+1) / K_nu and its companion series for the normalisation (Steed's
    algorithm)."""
    nu2 = nu * nu
    b = 2.0 * (1.0 + x)
    d = 1.0 / b
    h = d.copy()
    delta_h = d.copy()
    q_prev, q_cur = np.zeros_like(x), np.ones_like(x)
    a1 = 0.25 - nu2
    c = np.full_like(x, a1)
    q = c.copy()
    a = -a1
    s = 1.0 + q * delta_h
    for i in range(1, 2000):
        a -= 2 * i
        c = -a * c / (i + 1.0)
        q_next = (q_prev - b * q_cur) / a
        q_prev, q_cur = q_cur, q_next
        q = q + c * q_next
        b = b + 2.0
        d = 1.0 / (b + a * d)
        delta_h = (b * d - 1.0) * delta_h
        h = h + delta_h
        delta_s = q * delta_h
        s = s + delta_s
        if not np.any(np.abs(delta_s) > 1e-17 * np.abs(s)):
            break
    k_nu = np.sqrt(math.pi / (2.0 * x)) / s
    k_next = k_nu * (nu + x + 0.5 - a1 * h) / x
    return k_nu, k_next


def _k_series(x: np.ndarray) -> tuple:
    """(K0, K1) by their power series (0 < x <= 2)."""
    quarter = 0.25 * x * x
    powers = _powers(quarter)
    inv0 = 1.0 / (_FACT[:-1] ** 2)
    inv1 = 1.0 / (_FACT[:-1] * _FACT[1:])
    i0 = powers @ inv0
    i1 = 0.5 * x * (powers @ inv1)
    log_half = np.log(0.5 * x)
    k0 = -(log_half + _EULER) * i0 + powers @ (_H[:-1] * inv0)
    k1 = 1.0 / x + log_half * i1 - 0.25 * x * (powers @ ((_PSI[:-1] + _PSI[1:]) * inv1))
    return k0, k1


def _k(x: np.ndarray, order: int, scaled: bool) -> np.ndarray:
    flat = _flat(x)
    out = np.full(flat.shape, np.nan)
    small = (flat > 0) & (flat <= 2.0)
    large = (flat > 2.0) & (flat <= 100.0)
    huge = (flat > 100.0) & np.isfinite(flat)
    if small.any():
        value = _k_series(flat[small])[order]
        out[small] = value * np.exp(flat[small]) if scaled else value
    if large.any():
        value = _temme_cf2(flat[large], 0.0)[order]
        with np.errstate(under="ignore"):
            out[large] = value if scaled else value * np.exp(-flat[large])
    if huge.any():
        value = _k_asymptotic(flat[huge], order)
        with np.errstate(under="ignore"):
            out[huge] = value if scaled else value * np.exp(-flat[huge])
    out[flat == 0] = np.inf
    out[flat == np.inf] = 0.0
    return out.reshape(np.shape(x))


def _k_asymptotic(x: np.ndarray, order: int) -> np.ndarray:
    """K_order(x) e^x for x > 100 by its asymptotic series (smallest term below e^-200)."""
    mu = 4.0 * order * order
    term = np.ones_like(x)
    total = term.copy()
    for k in range(1, 40):
        term = term * (mu - (2 * k - 1) ** 2) / (8.0 * k * x)
        total += term
        if not np.any(np.abs(term) > 1e-17):
            break
    return np.sqrt(math.pi / (2.0 * x)) * total


def bessel_k0(x: np.ndarray) -> np.ndarray:
    """K0(x) (float64; inf at 0, nan below)."""
    return _k(x, 0, False)


def bessel_k1(x: np.ndarray) -> np.ndarray:
    """K1(x) (float64; inf at 0, nan below)."""
    return _k(x, 1, False)


def bessel_k0e(x: np.ndarray) -> np.ndarray:
    """K0(x) e^x (float64)."""
    return _k(x, 0, True)


def bessel_k1e(x: np.ndarray) -> np.ndarray:
    """K1(x) e^x (float64)."""
    return _k(x, 1, True)


def spherical_bessel_j0(x: np.ndarray) -> np.ndarray:
    """sin(x) / x, 1 at 0, 0 at +-inf (float64)."""
    flat = _flat(x)
    out = np.empty_like(flat)
    small = np.abs(flat) < 0.5
    x2 = flat[small] ** 2
    # Taylor series to x^12 (the next term is below 1e-17 at 0.5)
    out[small] = 1.0 + x2 * (-1 / 6 + x2 * (1 / 120 + x2 * (-1 / 5040 + x2 * (
        1 / 362880 + x2 * (-1 / 39916800 + x2 / 6227020800)))))
    rest = ~small
    with np.errstate(invalid="ignore"):
        out[rest] = np.sin(flat[rest]) / flat[rest]
    out[np.isinf(flat)] = 0.0
    return out.reshape(np.shape(x))


# --------------------------------------------------------------------------------------------
# Airy Ai.

_AI0 = 0.355028053887817239260  # Ai(0)
_AIP0 = 0.258819403792806798405  # -Ai'(0)
# (long double where NumPy has a wider one: the series cancels by up to ~1e7 near -8)
_WIDE = np.longdouble if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps else np.float64


def _airy_series(x: np.ndarray) -> np.ndarray:
    """Ai(x) = Ai(0) f(x) + Ai'(0) g(x) by the Maclaurin series of f and g (|x| <= 8)."""
    x = x.astype(_WIDE)
    cube = x * x * x
    f_term = np.ones_like(x)
    g_term = x.copy()
    f, g = f_term.copy(), g_term.copy()
    for k in range(1, 80):
        f_term = f_term * cube / ((3 * k - 1) * (3 * k))
        g_term = g_term * cube / ((3 * k) * (3 * k + 1))
        f += f_term
        g += g_term
        if not np.any(np.abs(f_term) + np.abs(g_term) > 1e-22 * (np.abs(f) + np.abs(g))):
            break
    return (_WIDE(_AI0) * f - _WIDE(_AIP0) * g).astype(np.float64)


def _airy_negative(z: np.ndarray) -> np.ndarray:
    """Ai(-z) for z > 8 by the oscillatory asymptotic expansion (A&S 10.4.60)."""
    zeta = 2.0 / 3.0 * z * np.sqrt(z)
    # u_k / zeta^k, u_k = u_(k-1) (6k-5)(6k-3)(6k-1) / (216 k (2k-1))
    even, odd = _split_series(z, lambda k: ((6 * k - 5) * (6 * k - 3) * (6 * k - 1),
                                            216.0 * k * (2 * k - 1) * zeta), 60)
    # sin(zeta + pi/4) and cos(zeta + pi/4) through sin and cos of zeta
    s, c = np.sin(zeta), np.cos(zeta)
    sin_shift, cos_shift = (s + c) * math.sqrt(0.5), (c - s) * math.sqrt(0.5)
    return (sin_shift * even - cos_shift * odd) / (math.sqrt(math.pi) * np.sqrt(np.sqrt(z)))


def airy_ai(x: np.ndarray) -> np.ndarray:
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
        scaled = np.empty_like(z)  # K_(1/3)(zeta) e^zeta
        moderate = zeta <= 100.0
        scaled[moderate] = _temme_cf2(zeta[moderate], 1.0 / 3.0)[0]
        scaled[~moderate] = _k_asymptotic(zeta[~moderate], 1.0 / 3.0)
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
    top = int(n.max(initial=0))
    before, current = np.ones_like(first), first
    if top >= 2 and n.size and int(n.min()) == top:
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
    # (both broadcast into new arrays by copyto, not np.broadcast_arrays' Python and astype)
    shape = np.broadcast(x, n).shape
    x, n = _broadcast_copy(x, shape), _broadcast_copy(n, shape)
    nf = n.astype(dtype)
    token = ERR_STATE.set(IGNORE_ALL)  # (not np.errstate: 1 us less)
    try:
        out = _POLYNOMIALS[kind](x, n, nf)
    finally:
        ERR_STATE.reset(token)
    return np.where(n < 0, 0.0, out)


def _broadcast_copy(array: np.ndarray, shape: tuple) -> np.ndarray:
    out = np.empty(shape, array.dtype)
    np.copyto(out, array)
    return out


def _chebyshev(x, n, nf, first, shifted=False):
    t = 2 * x - 1 if shifted else x
    return _recurrence(t, n, first(t), lambda k, t, p, q: (t + t) * p - q)


def _cheb_t(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t, shifted)
    # (the closed forms only where some degree takes them, here and below: the same values)
    if (n > 6).any():
        out = np.where((n > 6) & (np.abs(t) < 1), np.cos(nf * np.arccos(t)), out)
    if shifted:
        out = np.where(x == 0, np.where(_even(n), 1.0, -1.0), out)
        return np.where(x == 1, 1.0, out)
    return np.where(np.abs(x) == 1, np.where((x > 0) | _even(n), 1.0, -1.0), out)


def _cheb_u(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t + t, shifted)
    if (n > (6 if shifted else 8)).any():
        theta = np.arccos(t)
        trig = np.where(np.sin(theta) != 0, np.sin((nf + 1) * theta) / np.sin(theta),
                        (nf + 1) * np.cos((nf + 1) * theta))
        out = np.where((n > (6 if shifted else 8)) & (np.abs(t) < 1), trig, out)
    edge = np.where(_even(n), nf + 1, -(nf + 1))
    if shifted:
        return np.where(x == 1, nf + 1, np.where(x == 0, edge, out))
    return np.where(np.abs(x) == 1, np.where(x > 0, nf + 1, edge), out)


def _cheb_v(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t + t - 1, shifted)
    edge = np.where(_even(n), nf + nf + 1, -(nf + nf + 1))
    if (n > (6 if shifted else 8)).any():
        theta = np.arccos(t)
        trig = np.where(np.sin(theta / 2) != 1, np.cos((nf + 0.5) * theta) / np.cos(theta / 2),
                        edge)
        out = np.where((n > (6 if shifted else 8)) & (np.abs(t) < 1), trig, out)
    if shifted:
        return np.where(x == 1, 1.0, np.where(x == 0, edge, out))
    return np.where(np.abs(x) == 1, np.where(x > 0, 1.0, edge), out)


def _cheb_w(x, n, nf, shifted=False):
    t = x + x - 1 if shifted else x
    out = _chebyshev(x, n, nf, lambda t: t + t + 1, shifted)
    edge = np.where(_even(n), 1.0, -1.0)
    top = nf + nf + 1
    if (n > (4 if shifted else 8)).any():
        theta = np.arccos(t)
        fallback = edge if shifted else np.where(x > 0, top, edge)
        trig = np.where(np.cos(theta / 2) != 1, np.sin((nf + 0.5) * theta) / np.sin(theta / 2),
                        fallback)
        out = np.where((n > (4 if shifted else 8)) & (np.abs(t) < 1), trig, out)
    if shifted:
        return np.where(x == 1, top, np.where(x == 0, edge, out))
    return np.where(np.abs(x) == 1, np.where(x > 0, top, edge), out)


def _hermite_h(x, n, nf):
    return _recurrence(x, n, x + x, lambda k, x, p, q: (x + x) * p - (2.0 * k) * q)


def _hermite_he(x, n, nf):
    return _recurrence(x, n, x.copy(), lambda k, x, p, q: x * p - k * q)


def _laguerre(x, n, nf):
    out = _recurrence(x, n, 1 - x, lambda k, x, p, q: ((2.0 * k + (1 - x)) * p - k * q) / (k + 1))
    return np.where(x == 0, 1.0, out)


def _legendre(x, n, nf):
    out = _recurrence(x, n, x.copy(), lambda k, x, p, q: ((2.0 * k + 1) * x * p - k * q) / (k + 1))
    return np.where(np.abs(x) == 1, np.where((x > 0) | _even(n), 1.0, -1.0), out)


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


def hurwitz_zeta(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """zeta(s, q) = sum_n (q + n)^-s (float64, broadcast): inf at s = 1 and at integer q <= 0;
    nan for s < 1, for q < 0 with non-integer s, and at infinities (as PyTorch).

    Euler-Maclaurin: the first N terms directly (N >= 9, q + N >= 9), then the integral of the
    rest, half its first term and 12 Bernoulli corrections; elements whose direct sum has
    converged stop early (large s).
    """
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    shape = s.shape
    s, q = s.reshape(-1).astype(np.float64), q.reshape(-1).astype(np.float64)
    out = np.full(s.shape, np.nan)
    q_integer = q == np.floor(q)
    pole = (s == 1) | ((q <= 0) & q_integer & (s > 1))
    valid = (s > 1) & np.isfinite(s) & np.isfinite(q) & ~pole
    valid &= (q > 0) | (s == np.floor(s))
    out[pole & ~np.isnan(q)] = np.inf
    if not valid.any():
        return out.reshape(shape)
    sv, qv = s[valid], q[valid]
    count = np.maximum(9, np.ceil(9.0 - qv)).astype(np.int64)
    total = np.zeros_like(sv)
    done = np.zeros(sv.shape, bool)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for n in range(int(count.max())):
            active = (n < count) & ~done
            if not active.any():
                break
            term = np.where(active, np.power(qv + n, -sv), 0.0)
            total += term
            done |= active & (np.abs(term) < _EPS * np.abs(total))
        tail = ~done
        w = qv + count
        power = np.power(w, -sv)  # w^-s
        correction = w * power / (sv - 1.0) + 0.5 * power
        rising = sv.copy()  # s (s + 1) ... (s + 2k - 2)
        w_power = power / w  # w^(-s - 2k + 1)
        for k, coefficient in enumerate(_EM_COEFFICIENTS):
            if k:
                rising = rising * (sv + 2 * k - 1) * (sv + 2 * k)
                w_power = w_power / (w * w)
            correction = correction + coefficient * rising * w_power
        total = np.where(tail, total + correction, total)
    out[valid] = total
    return out.reshape(shape)
