"""The gamma family (ops/gamma.py) and i0 / i0e / i1 / i1e / erfcx / log_ndtr / ndtri
(ops/special_extra.py) on both of their paths: NumPy only, and SciPy's ufuncs with PyTorch's
edge values patched in. References: Python's math module, sums written out in Python, exact
identities, and the Taylor series at lgamma's zeros (where SciPy's gammaln alone loses digits).
Small arrays take other code (one matrix for a series) than large ones: both are checked."""

import math
import subprocess
import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import gamma, special, special_extra

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

EULER_GAMMA = 0.57721566490153286061
ZETA = {2: math.pi ** 2 / 6, 3: 1.2020569031595942854, 4: math.pi ** 4 / 90}

KERNELS = {
    "lgamma": gamma.lgamma, "digamma": gamma.digamma,
    "trigamma": lambda x: gamma.polygamma(1, x), "polygamma3": lambda x: gamma.polygamma(3, x),
    "i0": special_extra.bessel_i0, "i0e": special_extra.bessel_i0e,
    "i1": special_extra.bessel_i1, "i1e": special_extra.bessel_i1e,
    "erfcx": special_extra.erfcx, "log_ndtr": special_extra.log_ndtr,
    "ndtri": special_extra.ndtri,
}


@pytest.fixture(params=["numpy", "scipy"])
def path(request, monkeypatch):
    if request.param == "scipy":
        pytest.importorskip("scipy")
    for module in (gamma, special_extra, special):
        monkeypatch.setattr(module, "USE_SCIPY", request.param == "scipy")
    return request.param


def _relative(got, want):
    return np.max(np.abs(got - want) / np.abs(want))


def _points(name):
    rng = np.random.default_rng(0)
    if name == "ndtri":
        return np.concatenate([rng.uniform(0, 1, 300), np.geomspace(1e-300, 0.05, 40),
                               1 - np.geomspace(1e-15, 0.05, 40)])
    if name in ("trigamma", "polygamma3"):
        return np.concatenate([rng.uniform(0.05, 30, 300), rng.uniform(-5, -0.05, 40)])
    return np.concatenate([rng.uniform(-30, 30, 300), rng.uniform(0.5, 2.5, 100),
                           [19.99, 20.0, 20.01, 27.0, 27.5, 40.0]])


def test_lgamma_against_math_away_from_its_zeros(path):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(2.6, 170, 3000), rng.uniform(0.01, 0.7, 500),
                        np.geomspace(1e-300, 1e-3, 50), np.geomspace(200, 1e300, 50)])
    want = np.array([math.lgamma(v) for v in x])
    assert _relative(gamma.lgamma(x), want) < 2e-14  # (math.lgamma's own error is ~1e-15)


def test_lgamma_keeps_relative_accuracy_at_its_zeros(path):
    # lgamma(1 + z) = -gamma z + sum_k (-1)^k zeta(k) z^k / k, lgamma(2 + z) the same with
    # zeta(k) - 1 and 1 - gamma: four terms are exact to 1e-20 relative for |z| <= 1e-5.
    # (SciPy's gammaln alone is off by 4e-8 relative at z = 1e-8.)
    z = np.concatenate([np.geomspace(1e-15, 1e-5, 40), -np.geomspace(1e-15, 1e-5, 40)])
    z = (1.0 + z) - 1.0  # (representable offsets from both 1 and 2)
    near_one = -EULER_GAMMA * z + sum((-1) ** k * ZETA[k] / k * z ** k for k in (2, 3, 4))
    z2 = (2.0 + z) - 2.0
    near_two = (1 - EULER_GAMMA) * z2 + sum((-1) ** k * (ZETA[k] - 1) / k * z2 ** k
                                            for k in (2, 3, 4))
    assert _relative(gamma.lgamma(1.0 + z), near_one) < 2e-15
    assert _relative(gamma.lgamma(2.0 + z2), near_two) < 2e-15
    # through the public op too, on a small tensor (the SciPy path's patched elements)
    out = dg.lgamma(dg.tensor(1.0 + z[:8])).numpy()
    assert _relative(out, near_one[:8]) < 2e-15


def test_lgamma_across_the_patched_windows(path):
    # lgamma(x + 1) - lgamma(x) = log x, in and out of [0.75, 1.25) and [1.75, 2.25)
    x = np.concatenate([np.linspace(0.6, 2.4, 1801), np.nextafter([0.75, 1.25, 1.75, 2.25], 0)])
    np.testing.assert_allclose(gamma.lgamma(x + 1) - gamma.lgamma(x), np.log(x), rtol=0,
                               atol=1.5e-15)


def test_digamma_and_polygamma_recurrences(path):
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(0.05, 40, 2000), -rng.uniform(0.05, 0.95, 200) - 3])
    for n in (0, 1, 2, 3):
        # psi^(n)(x + 1) - psi^(n)(x) = (-1)^n n! / x^(n + 1), to the rounding of the two terms
        after, before = gamma.polygamma(n, x + 1), gamma.polygamma(n, x)
        want = (-1) ** n * math.factorial(n) / x ** (n + 1)
        assert np.all(np.abs(after - before - want) <= 1e-14 * (np.abs(after) + np.abs(before)))
    np.testing.assert_allclose(gamma.polygamma(1, np.array([1.0, 0.5])),
                               [ZETA[2], math.pi ** 2 / 2], rtol=4e-16)
    np.testing.assert_allclose(gamma.polygamma(2, np.array([1.0])), [-2 * ZETA[3]], rtol=4e-16)
    np.testing.assert_allclose(gamma.digamma(np.array([1.0, 0.5])),
                               [-EULER_GAMMA, -EULER_GAMMA - 2 * math.log(2)], rtol=2e-15)


def _bessel_series(v: float, order: int) -> float:
    """I_order(v) by its power series in Python floats (positive terms: no cancellation)."""
    quarter, term = v * v / 4, (v / 2) ** order / math.factorial(order)
    terms = [term]
    for k in range(1, 200):
        term *= quarter / (k * (k + order))
        terms.append(term)
    return math.fsum(terms)


def test_bessel_functions_against_their_series(path):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-30, 30, 400), [0.0, 0.5, 19.99, 20.0, 20.01, -25.0]])
    want0 = np.array([_bessel_series(v, 0) for v in x])
    want1 = np.array([_bessel_series(v, 1) for v in x])
    scale = np.exp(-np.abs(x))
    # (the reference's own error reaches ~2e-15 at 30: k roundings in its k-th term)
    np.testing.assert_allclose(special_extra.bessel_i0(x), want0, rtol=6e-15)
    np.testing.assert_allclose(special_extra.bessel_i1(x), want1, rtol=6e-15)
    np.testing.assert_allclose(special_extra.bessel_i0e(x), want0 * scale, rtol=6e-15)
    np.testing.assert_allclose(special_extra.bessel_i1e(x), want1 * scale, rtol=6e-15)


def test_erfcx_log_ndtr_ndtri_against_math(path):
    x = np.arange(-8 * 64, 25 * 64 + 1) / 64  # (x^2 exact: exp(x^2) off by 1 ulp at most)
    erfc = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(special_extra.erfcx(x), np.exp(x * x) * erfc, rtol=2e-14)
    y = np.linspace(-35, 8, 2001)
    want = np.array([math.log(0.5 * math.erfc(-v / math.sqrt(2))) if v <= 0
                     else math.log1p(-0.5 * math.erfc(v / math.sqrt(2))) for v in y])
    # (past 0 every formula, this one and PyTorch's, is off by up to 1e-14: x / sqrt 2's
    # rounding, amplified by erfc)
    np.testing.assert_allclose(special_extra.log_ndtr(y), want, rtol=2e-14)
    # ndtri inverts log_ndtr, deep into both tails
    p = np.concatenate([np.geomspace(1e-300, 0.5, 400), np.linspace(0.01, 0.99, 99)])
    np.testing.assert_allclose(special_extra.log_ndtr(special_extra.ndtri(p)), np.log(p),
                               rtol=2e-15)
    q = 1 - np.geomspace(1e-15, 0.4, 100)
    np.testing.assert_allclose(special_extra.ndtri(q), -special_extra.ndtri(1 - q), rtol=2e-15)


def test_edge_values(path):
    x = np.array([0.0, -0.0, -1.0, -2.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(gamma.lgamma(x), [np.inf] * 6 + [np.nan])
    np.testing.assert_array_equal(gamma.digamma(x),
                                  [-np.inf, np.inf, np.nan, np.nan, np.inf, np.nan, np.nan])
    # PyTorch's: trigamma 0 at +inf and nan at -inf; n >= 2 nan at +inf, the pole's sign at -inf
    np.testing.assert_array_equal(gamma.polygamma(1, x), [np.inf] * 4 + [0.0, np.nan, np.nan])
    np.testing.assert_array_equal(gamma.polygamma(2, x),
                                  [-np.inf] * 4 + [np.nan, -np.inf, np.nan])
    np.testing.assert_array_equal(gamma.polygamma(3, x), [np.inf] * 4 + [np.nan, np.inf, np.nan])
    e = np.array([np.inf, -np.inf, np.nan, 0.0])
    np.testing.assert_array_equal(special_extra.bessel_i0(e), [np.nan, np.nan, np.nan, 1.0])
    np.testing.assert_array_equal(special_extra.bessel_i1(e), [np.nan, np.nan, np.nan, 0.0])
    np.testing.assert_array_equal(special_extra.bessel_i0e(e), [0.0, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(special_extra.bessel_i1e(e), [0.0, -0.0, np.nan, 0.0])
    np.testing.assert_array_equal(special_extra.erfcx(e), [0.0, np.inf, np.nan, 1.0])
    np.testing.assert_array_equal(special_extra.log_ndtr(e), [0.0, -np.inf, np.nan, -math.log(2)])
    np.testing.assert_array_equal(special_extra.ndtri(np.array([0.0, 1.0, -0.1, 1.1, np.nan])),
                                  [-np.inf, np.inf, np.nan, np.nan, np.nan])
    # past 37.5 log Phi is subnormal, not 0 (SciPy's log_ndtr alone gives -0.0 there)
    assert -1e-300 < special_extra.log_ndtr(np.array([38.0]))[0] < 0


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_small_arrays_match_large_ones(path, name):
    # the small-array code (matrices of series terms, fewer passes) against the large-array
    # loops, element by element
    x = _points(name)
    large = KERNELS[name](x)
    small = np.concatenate([KERNELS[name](part) for part in np.array_split(x, len(x) // 3)])
    # (absolute near the zeros of lgamma and digamma: both accurate in those terms there)
    np.testing.assert_allclose(small, large, rtol=4e-15, atol=1e-15)
    zero_d = KERNELS[name](np.array(x[5]))
    assert zero_d.shape == () and np.allclose(zero_d, large[5], rtol=4e-15, atol=0)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_paths_agree(monkeypatch, name):
    pytest.importorskip("scipy")
    x = np.tile(_points(name), 100)  # (past 32768 elements: the NumPy kernels run in blocks)
    results = []
    for flag in (False, True):
        for module in (gamma, special_extra, special):
            monkeypatch.setattr(module, "USE_SCIPY", flag)
        results.append(KERNELS[name](x))
    # (digamma and lgamma: absolute near their zeros, where both are accurate in those terms)
    np.testing.assert_allclose(results[1], results[0], rtol=5e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "polygamma", "i0", "special.i0e",
                                  "special.i1", "special.i1e", "special.erfcx",
                                  "special.log_ndtr", "special.ndtri"])
def test_ops_gradcheck_and_dtypes(path, name):
    call = {"polygamma": lambda t: dg.polygamma(2, t)}.get(name)
    if call is None:
        function = dg
        for part in name.split("."):
            function = getattr(function, part)
        call = function
    values = np.array([0.15, 0.6, 0.9]) if name == "special.ndtri" else np.array([0.7, 1.9, 3.3])
    x = dg.tensor(values, requires_grad=True)
    assert dg.gradcheck(call, [x])
    for dtype in (dg.float32, dg.float64):
        out = call(dg.tensor(values[0], dtype=dtype))
        assert out.dtype == dtype and out.shape == ()
    assert call(dg.tensor([1, 2])).dtype == dg.float32  # integer input: the default float


def test_without_scipy_the_numpy_path_serves(monkeypatch):
    # An installed but unimportable SciPy: the switch stays on, the NumPy kernels answer.
    x = np.array([0.3, 1.0 + 1e-9, 2.5, 7.0, -2.5, 25.0])
    p = np.array([1e-30, 0.02, 0.5, 0.97])
    monkeypatch.setitem(sys.modules, "scipy", None)
    for module in (gamma, special_extra):
        assert module.USE_SCIPY and module._scipy_special() is None
    np.testing.assert_array_equal(gamma.lgamma(x), gamma._lgamma_numpy(x))
    np.testing.assert_array_equal(gamma.digamma(x), gamma._digamma_numpy(x))
    np.testing.assert_array_equal(special_extra.bessel_i0e(x),
                                  special_extra._bessel_scaled_abs(np.abs(x), 0))
    np.testing.assert_array_equal(special_extra.ndtri(p), special_extra._ndtri_numpy(p))
    code = ("import sys; import deltagrad as dg; "
            "assert 'scipy' not in sys.modules, 'import deltagrad imported scipy'")
    subprocess.run([sys.executable, "-c", code], check=True)
