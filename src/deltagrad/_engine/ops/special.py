"""Special functions on whole arrays: erf, erfc, erfinv, the normal CDF and exact GELU, in NumPy.

NumPy has no erf, and exact GELU sits on a transformer's hot path, so these are written for
speed as well as accuracy:

- float32 (and float16, computed in float32): ``erf(x) = tanh(x q(x^2))`` for |x| <= 4 with a
  degree-6 polynomial ``q``: one tanh and a short Horner loop, branch-free. Max error 3.8 ulp
  of float32 (2 million random points and 1e-38..1 log-spaced, against float64 references).
- float64: two branches, both evaluated on every element and blended (a boolean index or
  np.where over a random mask costs ~4 ns/element in NumPy, more than a branch's arithmetic):
  |x| < 0.75: ``erf(x) = x P(x^2)``, P of degree 10; beyond, ``erfc(a) = exp(-a^2) R(a)`` with
  a rational R of degree (7, 7) on [0.75, 6]; erf(a) rounds to 1 past 6. Max error 2 ulp.
  SciPy's ``special.erf`` is used instead when installed (``USE_SCIPY``): 2x faster here.
- erfc (float64, computed in float64 for every input dtype): 1 - erf below 0.75, else
  ``exp(-a^2) R(a)`` with an (8, 9) rational on [0.75, 27] and exp(-a^2) split so that a^2's
  rounding costs no relative accuracy: relative error 1.3e-15 up to 26 (SciPy's: 6e-14, so
  this one is always used).
- erfinv: Winitzki's closed-form estimate (relative error ~2e-3), then two Halley steps on erf
  (on erfc past 0.5, where erf(y) - x would cancel): 3 ulp. SciPy's when installed (4x faster).

Every coefficient was fitted for this module (weighted least squares, Sanathanan-Koerner
iteration for the rationals, on 50-digit mpmath values at Chebyshev nodes), then checked in
float64 arithmetic. Arrays are processed in cache-sized blocks (``_BLOCK``): these are many
short passes, and out of cache each costs twice as much.

Exact GELU on 393,216 elements at one thread beside PyTorch 2.13 (``benchmarks/gelu.py --base``:
alternating rounds, medians of 61, on this shared 2-core machine; ms, forward / forward +
backward, and the ratio to PyTorch): float32 0.89 / 1.78 (3.1x / 2.2x; before the two changes
below 1.03 / 2.05, 3.8x / 2.5x, and 3.5x forward + backward on a quieter day); float64 with
SciPy 4.5 / 7.1 (2.8x / 1.7x), NumPy only 8.0 / 10.0 (4.8x / 2.5x). The changes: float32 erf
no longer clips x^2 (q has no real root at or above 0, so the tanh argument grows past 4
anyway: one pass fewer), and the kernels' results own their memory (a reshaped view was copied
again when it became a leaf's gradient). The series and continued fraction this module
replaced took 114 ms in float32. The backward pass reads Phi(x) back from the output (y / x)
instead of evaluating erf again, and writes into a recycled gradient buffer (``buffers``).
The float32 forward is taken in x^2 with coefficients scaled by powers of 2, halving in
place instead of into a new h = x / 2 (the same bits: timings at ``_gelu32_kernel``).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .. import buffers, threads
from ..elementwise_layout import relaid

__all__ = ["USE_SCIPY", "erf", "erfc", "erfinv", "gelu", "gelu_backward", "load_scipy_special",
           "normal_cdf"]

USE_SCIPY = True  # float64 erf and erfinv through scipy.special when importable (tests switch)
# Elements per block, by item size: the fastest measured (float32 2.1 ns/element at 65536 vs
# 2.8 at 8192; float64 18 ns at 8192 vs 25 at 32768: its kernel keeps more scratch arrays).
_BLOCK = {4: 1 << 16, 8: 1 << 13}
# Blocks of this many elements split across the intra-op threads (threads.py), from two of
# them. Each NumPy call must take tens of microseconds for two threads to gain: the GIL is
# handed over at every call (a float32 Horner step on 65536 elements, ~6 us, gains nothing).
# GELU fwd + bwd, 2 threads against 1 (quiet machine, medians of 7): float32 [32, 32, 256]
# split in blocks of 65536 1.34x slower, of 131072 1.16x, so not split; [1024, 1024] 0.69-0.77x
# and [4, 1024, 1024] 0.87-0.94x in blocks of 2^18; float64 (SciPy's erf: longer calls)
# [64, 1024] 0.80x, [32, 32, 256] 0.71x in blocks of 2^15.
_SPLIT = {4: 1 << 18, 8: 1 << 15}

_SQRT_PI = math.sqrt(math.pi)
_TWO_OVER_SQRT_PI = 2.0 / _SQRT_PI
_SQRT_HALF = math.sqrt(0.5)
_SQRT_TWO = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

# erf(x) = tanh(x q(x^2)) for |x| <= 4, q > 0 there (coefficients from c0 up).
_TANH_Q = (1.1283792744761947, 0.1027690510970855, -0.00019181294646635866,
           -0.0006198061329123275, 8.764757027974432e-05, -5.670473254943025e-06,
           1.419828573258821e-07)
# erf(x) = x P(x^2) for |x| <= 0.75.
_SMALL_P = (1.1283791670955126, -0.37612638903183715, 0.11283791670952462,
            -0.02686617064439815, 0.005223977615072753, -0.0008548326165829798,
            0.00012055288646376664, -1.492417338581493e-05, 1.6430339359500639e-06,
            -1.5937193339560563e-07, 1.14623183758187e-08)
# erfc(a) exp(a^2) = P(a) / Q(a) for 0.75 <= a <= 6.
_BIG_P = (1.0000000141314718, 1.6027016098071125, 1.2679758519841537, 0.604918575346879,
          0.18185534010473656, 0.03279324295885633, 0.002839500413968079,
          -6.919377749600969e-11)
_BIG_Q = (1.0, 2.7310809398630753, 3.3496697956046178, 2.4057911331188624,
          1.1012856127776263, 0.32484376844889584, 0.05812468542967451, 0.005032876684941667)
# erfc(a) exp(a^2) = P(a) / Q(a) for 0.75 <= a <= 27 (erfc underflows to 0 past 26.6).
_TAIL_P = (1.0000000059961316, 2.1562698970754677, 2.2836252509923485, 1.5221745957237858,
           0.6935902570700695, 0.22122762311828228, 0.04854964697034698,
           0.0068020290193560465, 0.00048437158097938216)
_TAIL_Q = (1.0, 3.2846491348094653, 4.98995450929111, 4.620340372202819, 2.88801434289037,
           1.2719534432625448, 0.39814389454195626, 0.08648127185053005, 0.012056282529620314,
           0.0008585262739740991)

_SCALED_TANH_Q: dict = {}


def _tanh_q(scale: float, dtype) -> tuple:
    """q's coefficients for erf(scale * x) as a function of x: c_j scale^(2j + 1)."""
    key = (scale, dtype)
    coefficients = _SCALED_TANH_Q.get(key)
    if coefficients is None:
        coefficients = tuple(dtype.type(c * scale ** (2 * j + 1)) for j, c in enumerate(_TANH_Q))
        _SCALED_TANH_Q[key] = coefficients
    return coefficients


def _horner(coefficients, v, out):
    """``out = sum_j c_j v^j`` by Horner's rule, in place (two passes per coefficient)."""
    np.multiply(v, coefficients[-1], out=out)
    for c in coefficients[-2:0:-1]:
        np.add(out, c, out=out)
        np.multiply(out, v, out=out)
    np.add(out, coefficients[0], out=out)
    return out


def _blockwise(kernel, arrays, dtype, allocate=np.empty, quiet=False):
    """``kernel(*blocks, out_block)`` over cache-sized blocks of the flattened ``arrays`` (all of
    one shape); returns the output in that shape, from ``allocate(shape, dtype)``. ``quiet``:
    NumPy's floating-point warnings off, set once per thread's range of blocks (np.errstate
    costs ~1 us, ~1% of a float32 GELU block's 100 us, where the kernels set it per block:
    GELU's backward on [32, 64, 256] at one thread 0.98 float32, 0.97 float64, alternated)."""
    shape = np.shape(arrays[0])
    flats = [np.ascontiguousarray(a, dtype=dtype).reshape(-1) for a in arrays]
    # The result owns its memory (not a reshaped view of a flat one): a leaf's gradient that
    # is a view gets copied by backward (393,216 float32: 0.2 to 0.5 ms on this machine).
    out = allocate(shape, dtype)
    flat = out.reshape(-1)

    def blocks(first, last, block):
        if quiet:  # (here: the error state does not reach the pool's threads)
            with np.errstate(all="ignore"):
                run(first, last, block)
        else:
            run(first, last, block)

    def run(first, last, block):
        for start in range(first, last, block):
            stop = min(start + block, last)
            kernel(*[f[start:stop] for f in flats], flat[start:stop])

    size = _SPLIT[out.itemsize]
    if flat.size < 2 * size or threads.count() < 2:
        blocks(0, flat.size, _BLOCK[out.itemsize])
    else:  # (elementwise: each element's bits are the same in any block)
        threads.split(lambda first, last: blocks(first, last, size), flat.size,
                      elements=flat.size, align=size, min_elements=0,
                      pieces=-(-flat.size // size))
    return out


# --------------------------------------------------------------------------------------------
# Kernels: each writes f(x) for a contiguous 1-d block into ``out``.


def _erf32_kernel(scale):
    def kernel(x, out):
        # NOTE: no clipping of x^2 is needed: q has no real root at or above 0 (its roots are
        # three complex pairs), so q > 0 everywhere, and a q(a^2) grows from 9.46 at a = 4 on
        # (checked to a = 1e3; past that a alone is large): tanh saturates at +-1 (exactly 1
        # from 10 on), and x^2 or the polynomial overflowing to inf gives +-1 too.
        with np.errstate(over="ignore"):
            z = np.multiply(x, x)
            _horner(_tanh_q(scale, x.dtype), z, out)
            np.multiply(out, x, out=out)
        np.tanh(out, out=out)

    return kernel


def _erf64_kernel(x, out):
    # Small branch on x clipped to [-0.75, 0.75], so that it stays finite for every x.
    xs = np.clip(x, -0.75, 0.75)
    z = np.multiply(xs, xs)
    small = _horner(_SMALL_P, z, np.empty_like(x))
    np.multiply(small, xs, out=small)
    # Large branch on a = min(|x|, 6): erf(a) = 1 - exp(-a^2) P(a) / Q(a).
    a = np.abs(x)
    np.minimum(a, 6.0, out=a)
    q = _horner(_BIG_Q, a, np.empty_like(x))
    _horner(_BIG_P, a, out)
    np.divide(out, q, out=out)
    np.multiply(a, a, out=q)
    np.negative(q, out=q)
    np.exp(q, out=q)
    np.multiply(out, q, out=out)
    np.subtract(1.0, out, out=out)
    np.copysign(out, x, out=out)
    _blend(a, small, out)


def _blend(a, small, out):
    """``out = small`` where a < 0.75, kept elsewhere.

    By multiplying with 0 / 1 masks (exact), not by adding small - out, which would cost the
    small branch its relative accuracy near 0; both branches are finite for every finite or
    infinite x, so no 0 * inf appears, and nan stays nan. The mask is written as floats
    straight from the comparison: a float times bool product is 2x slower, heaviside 15x.
    """
    mask = np.empty_like(a)
    np.less(a, 0.75, out=mask)
    np.multiply(small, mask, out=small)
    np.subtract(1.0, mask, out=mask)
    np.multiply(out, mask, out=out)
    np.add(out, small, out=out)


def _erfc64_kernel(x, out):
    a = np.abs(x)
    # NOTE: clipped at 28, where exp(-a^2) underflows to 0: erfc is 0 from there on.
    np.minimum(a, 28.0, out=a)
    q = _horner(_TAIL_Q, a, np.empty_like(x))
    _horner(_TAIL_P, a, out)
    np.divide(out, q, out=out)
    # exp(-a^2) = exp(-h^2) exp(-(a - h)(a + h)) with h = a rounded to 24 bits: h^2 is exact,
    # so the large exponent carries no rounding error (a^2 near 700 would cost 1e-13).
    h = a.astype(np.float32).astype(np.float64)
    np.multiply(h, h, out=q)
    np.negative(q, out=q)
    np.exp(q, out=q)
    np.multiply(out, q, out=out)
    np.subtract(a, h, out=q)
    np.add(a, h, out=h)
    np.multiply(q, h, out=q)
    np.negative(q, out=q)
    np.exp(q, out=q)
    np.multiply(out, q, out=out)
    # Below 0.75, 1 - erf(a) is accurate (erf(0.75) < 0.72: no cancellation). Blended with
    # the masks as in _erf64_kernel.
    small = np.empty_like(x)
    _erf64_kernel(np.minimum(a, 0.75), small)
    np.subtract(1.0, small, out=small)
    _blend(a, small, out)
    # erfc(-a) = 2 - erfc(a): out * s + (1 - s) with s = +-1 by the sign bit of x.
    sign = np.copysign(1.0, x)
    np.multiply(out, sign, out=out)
    np.subtract(1.0, sign, out=sign)
    np.add(out, sign, out=out)


_ERF32_UNSCALED = _erf32_kernel(1.0)
_ERF32_CDF = _erf32_kernel(_SQRT_HALF)


def _erf64(x, out):
    """erf of a float64 block: SciPy's ufunc where installed (faster), else the kernel above."""
    special = _scipy_special()
    if special is not None:
        special.erf(x, out=out)
    else:
        _erf64_kernel(x, out)


def _cdf_kernel(x, out):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2 of a float32 or float64 block."""
    if x.dtype == np.float32:
        _ERF32_CDF(x, out)  # the 1 / sqrt(2) is folded into q
    else:
        _erf64(np.multiply(x, _SQRT_HALF), out)
    np.add(out, 1.0, out=out)
    np.multiply(out, 0.5, out=out)


def _gelu32_q(dtype) -> tuple:
    """_gelu32_kernel's coefficients: q's for erf(sqrt(2) h) as a function of h = x / 2 (s23's
    kernel), each times 2^-(2j + 1), so that the polynomial is taken in x^2 = 4 h^2 and scaled
    by 1/2: every Horner step is s23's times a power of 2, rounded the same."""
    key = ("gelu32", dtype)
    coefficients = _SCALED_TANH_Q.get(key)
    if coefficients is None:
        coefficients = tuple(c * dtype.type(2.0 ** -(2 * j + 1))
                             for j, c in enumerate(_tanh_q(_SQRT_TWO, dtype)))
        _SCALED_TANH_Q[key] = coefficients
    return coefficients


def _gelu32_kernel(x, out):
    # x Phi(x) = h (1 + tanh(h q(h^2))) with h = x / 2 (q scaled for erf(sqrt(2) h)), taken as
    # ((1 + tanh(x q'(x^2))) * 0.5) * x with q' = q(h^2) / 2 (_gelu32_q): as many NumPy calls,
    # but no h array: its allocating two-operand pass (~6 us a 65,536 block) is an in-place
    # scalar one (~3 us), and h's 256 KB no longer crowd the cache. The bits are
    # s23's: each Horner step is s23's times an exact power of 2 (no intermediate underflows
    # where it would matter: the constant term dominates; x^2 overflowing earlier than h^2
    # gives tanh's +-1 as before), and (1 + t) * 0.5 * x rounds once as (1 + t) * (x / 2)
    # (subnormal x: 1 + t is exactly 1, so both are 0.5 x rounded once). Checked against
    # s23's kernel on 10 million points (3 million from -12 to 12, 4 million random bit
    # patterns, 1e-45..3.4e38 log-spaced of both signs, inf, nan, -0.0) and in
    # tests/engine/test_s24_SP14_gelu.py. [32, 64, 256] float32 forward at one thread, s23's
    # kernel and this alternated in one process (thread time, medians of per-round ratios,
    # 61-81 rounds, loaded machine): 1.007 -> 0.942 ms, 0.91 (0.93, 0.95 in two other runs).
    z = np.multiply(x, x)
    _horner(_gelu32_q(x.dtype), z, out)
    np.multiply(out, x, out=out)
    np.tanh(out, out=out)
    np.add(out, 1.0, out=out)
    np.multiply(out, 0.5, out=out)
    np.multiply(out, x, out=out)  # (-inf * 0: nan, as PyTorch's; the caller silences it)


def _gelu_kernel(x, out):
    if x.dtype == np.float32:
        _gelu32_kernel(x, out)
        return
    _cdf_kernel(x, out)
    np.multiply(out, x, out=out)  # (-inf * Phi(-inf) = -inf * 0: nan; the caller silences it)


def _gelu_slope_kernel(x, y, g, out):
    # g (Phi(x) + x phi(x)), Phi(x) read back as y / x from the output y = x Phi(x): a division
    # instead of a second erf. NOTE: where x^2 underflows to 0 (|x| < 4e-23, x = 0 included:
    # 0 / 0) Phi is 1/2 to float32's precision; y / x is not (subnormal x: y rounded to 0 or x
    # gave a slope of 0 or 1). Tested on x^2, which is computed anyway, instead of x == 0,
    # and first by its least value (fmin skips nan; x^2 >= 0), the mask made only where a zero
    # is: 3.7 against 9.2 us for the mask and its ``any`` on a block of 65,536 float32.
    # (Infinite x: x^2 overflows and inf * 0 is nan, as PyTorch's slope there; silently: the
    # caller runs this with the warnings off, _blockwise's quiet.)
    cdf = np.divide(y, x)
    np.multiply(x, x, out=out)
    if np.fmin.reduce(out, axis=None) == 0:
        cdf[out == 0] = 0.5
    np.multiply(out, -0.5, out=out)
    np.exp(out, out=out)
    np.multiply(out, x, out=out)
    np.multiply(out, _INV_SQRT_2PI, out=out)
    np.add(out, cdf, out=out)
    np.multiply(out, g, out=out)


# --------------------------------------------------------------------------------------------
# Public functions: floating input keeps its dtype (float16 computes in float32); other input
# computes in float64 and the caller casts, as the elementwise ops do.


def _work_dtype(x):
    dtype = np.dtype(x.dtype)
    if dtype == np.float32 or dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


_LOADED: list = []  # scipy.special, once imported


def load_scipy_special():
    """``scipy.special`` if it can be imported, else None (the special-function modules' optional
    accelerator; deltagrad itself needs only NumPy, so nothing imports SciPy before this).

    The import statement costs 1.9 us a call, a tenth of a small op's forward and backward, so
    the module is kept after the first import; a SciPy made unimportable since
    (``sys.modules["scipy"] = None``) is seen, as the import statement would see it.
    """
    if _LOADED and sys.modules.get("scipy") is not None:
        return _LOADED[0]
    try:
        from scipy import special  # optional accelerator; deltagrad needs only NumPy
    except ImportError:
        return None
    _LOADED[:] = [special]
    return special


def _scipy_special():
    return load_scipy_special() if USE_SCIPY else None


# Small arrays: the kernels make 15 to 70 NumPy calls whatever the size, about 10 us (erf,
# float32) to 65 us (erfc) on 8 elements on this 2-core machine; libm's erf / erfc (the math
# module, correctly rounded to a few tenths of an ulp in float64) per element cost 0.07 us
# each. Measured crossovers: erf float32 64 elements, erfc about 1,500 (used up to 256).
# NOTE: a small array's values may differ from a large array's in the last bit of float32
# (the kernel's 3.8 ulp against libm's rounding of the float64 value), never by more.
_SMALL = 64
_SMALL_ERFC = 256


def _per_element(function, x, dtype):
    """``function`` (a scalar function of the math module) of each element, in float64, then
    as ``dtype``."""
    values = np.fromiter(map(function, x.ravel().tolist()), np.float64, x.size)
    out = values.reshape(x.shape).astype(dtype, copy=False)
    return out if x.flags.c_contiguous else relaid(out, (x,))  # (PyTorch's layout, the input's)


def _result_dtype(x):
    """The input's dtype if floating, else float64 (what the kernels give)."""
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


def _small_cdf(v: float) -> float:
    return 0.5 * (1.0 + math.erf(v * _SQRT_HALF))


def _small_gelu(v: float) -> float:
    return v * (0.5 * (1.0 + math.erf(v * _SQRT_HALF)))


def _apply(kernel, *arrays, allocate=np.empty, quiet=False):
    x = np.asarray(arrays[0])
    out = _blockwise(kernel, arrays, _work_dtype(x), allocate, quiet)
    out = out.astype(x.dtype) if x.dtype == np.float16 else out
    return out if x.flags.c_contiguous else relaid(out, [np.asarray(a) for a in arrays])


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise.

    Args:
        x: any real array.

    Returns:
        erf(x): the input's dtype if floating, else float64.
    """
    x = np.asarray(x)
    if x.size <= _SMALL and x.dtype.kind == "f" and x.dtype.itemsize <= 4:
        return _per_element(math.erf, x, x.dtype)
    if _work_dtype(x) == np.float64 and _scipy_special() is not None:
        return np.asarray(_scipy_special().erf(x.astype(np.float64)))  # (0-d in: a scalar out)
    return _apply(_ERF32_UNSCALED if _work_dtype(x) == np.float32 else _erf64_kernel, x)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, Phi(x) = (1 + erf(x / sqrt(2))) / 2, elementwise.

    Args:
        x: any real array.

    Returns:
        Phi(x): the input's dtype if floating, else float64.
    """
    x = np.asarray(x)
    if x.size <= _SMALL:
        return _per_element(_small_cdf, x, _result_dtype(x))
    return _apply(_cdf_kernel, x)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, ``x Phi(x)``, elementwise (in one pass of cache-sized blocks).

    Args:
        x: a floating array.

    Returns:
        gelu(x), in ``x``'s dtype.
    """
    if x.size <= _SMALL:
        special = _scipy_special() if x.size > 1 and x.dtype.char in "fd" else None
        if special is not None:
            # SciPy's normal CDF: 2 NumPy calls where math.erf costs 0.25 us an element (8 x 8
            # forward + backward 29 -> ~6 us). Its float32 loop rounds the float64 CDF once.
            if np.fmin.reduce(x, axis=None) != -np.inf:  # (-inf * Phi(-inf) warns)
                return x * special.ndtr(x)
            with np.errstate(invalid="ignore"):  # (-inf * 0: nan, as PyTorch's, silently)
                return x * special.ndtr(x)
        return _per_element(_small_gelu, x, _result_dtype(x))
    if x.dtype.char in "fd" and x.flags.c_contiguous and x.size <= _BLOCK[x.itemsize]:
        # One block: the kernel directly, NumPy's warnings off by its context variable
        # (elementwise_math.ERR_STATE, 0.12 us) instead of _blockwise's closures and
        # np.errstate (~1 us): the same bits (elementwise), [1, 8, 256] float32 13.2 -> 10.0 us
        # (thread time, medians of 21 alternated rounds; SP38).
        state, ignore = _QUIET or _quiet_state()
        token = state.set(ignore)
        try:
            out = np.empty(x.shape, x.dtype)
            _gelu_kernel(x, out)
            return out
        finally:
            state.reset(token)
    return _apply(_gelu_kernel, x, quiet=True)


_QUIET: list = []  # (elementwise_math's ERR_STATE, IGNORE_ALL: it imports this module)


def _quiet_state() -> list:
    if not _QUIET:
        from .elementwise_math import ERR_STATE, IGNORE_ALL

        _QUIET.extend((ERR_STATE, IGNORE_ALL))
    return _QUIET


# Abramowitz and Stegun's erf 7.1.26 (|error| < 1.5e-7): p, then a1..a5.
_AS_ERF = tuple(np.float32(c) for c in (0.3275911, 0.254829592, -0.284496736, 1.421413741,
                                        -1.453152027, 1.061405429))


def half_gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU of a float16 array as PyTorch's float16 kernel gives it: in float32, erf
    by Abramowitz and Stegun's polynomial, rounded once. (Its results at all 63,488 finite
    float16 values on PyTorch's vectorized path; float32 with an accurate erf differed at 598,
    in the far tails where 1 + erf cancels: tests/parity/test_s18_LX_fixes.py.)"""
    f, (p, a1, a2, a3, a4, a5) = np.float32, _AS_ERF
    v = x.astype(f)
    z = v * f(_SQRT_HALF)
    t = f(1) / (p * np.abs(z) + f(1))
    r = (((a5 * t + a4) * t + a3) * t + a2) * t + a1
    e = np.exp(-(z * z))  # (NumPy's float32 exp: float64's rounded was off at 2 values)
    with np.errstate(invalid="ignore"):  # (-inf * 0: nan, as PyTorch's, silently)
        return np.asarray(v * f(0.5) * (f(1) + np.sign(z) * (f(1) - r * t * e)), np.float16)


def gelu_backward(g: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The exact GELU's vector-Jacobian product, ``g (Phi(x) + x phi(x))``.

    Args:
        g: the upstream gradient; y: gelu(x); x: the input (one shape and dtype).

    Returns:
        The gradient with respect to ``x``.
    """
    x = np.asarray(x)
    if x.size <= _SMALL:
        special = _scipy_special() if x.size > 1 and x.dtype.char in "fd" else None
        if special is not None:  # (as gelu's; infinite x: inf * 0 is nan, PyTorch's slope)
            with np.errstate(over="ignore", invalid="ignore"):
                return (special.ndtr(x) + np.exp(x * x * -0.5) * (x * _INV_SQRT_2PI)) * g
        # Per element, as the small forward (gelu's forward + rule at 0-d: 37.9 -> 6.7 us).
        # (g has x's shape: gelu is elementwise; np.broadcast_to cost 4.7 us here)
        values = [gv * (0.5 * (1.0 + math.erf(v * _SQRT_HALF))
                        + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v))
                  for v, gv in zip(x.ravel().tolist(), np.ravel(g).tolist())]
        return np.array(values, dtype=np.float64).reshape(x.shape).astype(
            _result_dtype(x), copy=False)
    # The gradient comes from the engine's recycled buffers: the engine gives it back there once
    # consumed, and a fresh np.empty here left it unused, so the pool grew by this array every
    # step (W4: 4 MB a step up to its 256 MB cap; RSS after 50 steps 471 -> 268 MB, flat now).
    # (W4's page faults rose 1,024 -> 3,170 a step with it: the held arrays had kept malloc from
    # trimming its heap, where the freed activations now go back to the OS; see the S3 report.)
    return _apply(_gelu_slope_kernel, x, y, g, allocate=buffers.empty, quiet=True)


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function 1 - erf(x), accurate where it is tiny.

    Args:
        x: any real array.

    Returns:
        erfc(x): the input's dtype if floating (computed in float64), else float64.
    """
    x = np.asarray(x)
    if x.size <= _SMALL_ERFC:
        return _per_element(math.erfc, x, _result_dtype(x))
    out = _blockwise(_erfc64_kernel, (x,), np.dtype(np.float64))  # (more accurate than SciPy's)
    out = out.astype(x.dtype) if x.dtype.kind == "f" else out
    return out if x.flags.c_contiguous else relaid(out, (x,))  # (as _per_element)


def erfinv(x: np.ndarray) -> np.ndarray:
    """The inverse error function on [-1, 1] (+-inf at +-1, nan outside), elementwise.

    Args:
        x: any real array.

    Returns:
        erfinv(x): the input's dtype if floating (computed in float64), else float64.
    """
    x = np.asarray(x)
    special = _scipy_special()
    if special is not None:
        out = np.asarray(special.erfinv(x.astype(np.float64)))
    else:
        out = _erfinv64(x.astype(np.float64))
    return out.astype(x.dtype) if x.dtype.kind == "f" else out


def _erfinv64(x):
    a = np.abs(x).reshape(-1)
    y = np.full(a.shape, np.nan)
    y[a == 1.0] = np.inf
    inside = np.flatnonzero(a < 1.0)
    a = a[inside]
    # Winitzki's estimate: y^2 ~ sqrt(t^2 - L / k) - t, t = 2 / (pi k) + L / 2, L = ln(1 - a^2).
    k = 0.147
    log_term = np.log((1.0 - a) * (1.0 + a))
    t = 2.0 / (math.pi * k) + 0.5 * log_term
    estimate = np.sqrt(np.sqrt(t * t - log_term / k) - t)
    # Halley's steps for f(y) = erf(y) - a (f'' = -2 y f'): y -= f / (f' + y f). Past 0.5 the
    # residual is taken as (1 - a) - erfc(y), where 1 - a is exact and nothing cancels.
    low = a <= 0.5
    for part, residual in ((low, lambda y, a: erf(y) - a),
                           (~low, lambda y, a: (1.0 - a) - erfc(y))):
        ya, aa = estimate[part], a[part]
        for _ in range(2):
            f = residual(ya, aa)
            ya = ya - f / (_TWO_OVER_SQRT_PI * np.exp(-ya * ya) + ya * f)
        estimate[part] = ya
    y[inside] = estimate
    y = np.copysign(y.reshape(x.shape), x)
    return np.where(x == 0.0, x, y)  # erfinv(-0.0) = -0.0
