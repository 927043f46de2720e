"""erf, erfc, erfinv, the normal CDF and exact GELU (ops/special.py), on both of its paths:
NumPy only, and with SciPy as the float64 accelerator. The reference is Python's math.erf."""

import math
import subprocess
import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import special

MATH_ERF = np.vectorize(math.erf, otypes=[np.float64])
MATH_ERFC = np.vectorize(math.erfc, otypes=[np.float64])


@pytest.fixture(params=["numpy", "scipy"])
def path(request, monkeypatch):
    if request.param == "scipy":
        pytest.importorskip("scipy")
    monkeypatch.setattr(special, "USE_SCIPY", request.param == "scipy")
    return request.param


def _points(rng):
    return np.concatenate([rng.uniform(-7, 7, 4000), rng.uniform(-1, 1, 2000),
                           np.geomspace(1e-300, 1, 300), -np.geomspace(1e-10, 30, 300),
                           [0.0, -0.0, 0.75, -0.75, 6.0, 27.0, 28.0]])


def _ulps(got, want, dtype):
    return np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want).astype(dtype))


def test_erf_float64_within_2_ulp(path):
    x = _points(np.random.default_rng(0))
    assert _ulps(special.erf(x), MATH_ERF(x), np.float64).max() <= 2.5


def test_erfc_float64_relative_accuracy(path):
    x = np.concatenate([_points(np.random.default_rng(1)), np.linspace(0, 26, 2001)])
    want = MATH_ERFC(x)
    got = special.erfc(x)
    tiny = want > 1e-300
    assert np.max(np.abs(got[tiny] - want[tiny]) / want[tiny]) < 2e-15
    assert np.all(got[~tiny] < 1e-300)


def test_erf_float32_within_4_ulp():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(-6, 6, 100000), np.geomspace(1e-38, 1, 2000)])
    x = x.astype(np.float32)
    got = special.erf(x)
    assert got.dtype == np.float32
    assert _ulps(got, MATH_ERF(x.astype(np.float64)), np.float32).max() <= 4.0


def test_erfinv_inverts_erf(path):
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 4001), 1 - np.geomspace(1e-15, 0.5, 200),
                        np.geomspace(1e-300, 1e-3, 50)])
    x = special.erfinv(y)
    # erf is flat near +-1: compare where the inverse is well conditioned, in ulps of x.
    back = MATH_ERF(x)
    slope = 2 / math.sqrt(math.pi) * np.exp(-x * x)
    assert np.all(np.abs(back - y) <= 4e-16 * np.maximum(np.abs(y), 1e-300) + 4 * slope
                  * np.spacing(np.abs(x)))


def test_edge_values(path):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
    np.testing.assert_array_equal(special.erf(x), [1.0, -1.0, np.nan, 0.0, -0.0])
    np.testing.assert_array_equal(np.signbit(special.erf(x))[3:], [False, True])
    np.testing.assert_array_equal(special.erfc(x), [0.0, 2.0, np.nan, 1.0, 1.0])
    np.testing.assert_array_equal(special.erfinv(np.array([1.0, -1.0, 1.5, np.nan, 0.0])),
                                  [np.inf, -np.inf, np.nan, np.nan, 0.0])
    np.testing.assert_array_equal(special.erf(x.astype(np.float32))[:4], [1.0, -1.0, np.nan, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_gelu_forward_and_backward(path, dtype):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(20000) * 3, [0.0, -0.0, 40.0, -40.0]]).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    x64 = x.astype(np.float64)
    cdf = 0.5 * (1 + MATH_ERF(x64 / math.sqrt(2)))
    y = special.gelu(x)
    assert y.dtype == dtype
    tol = {np.float16: 2e-3, np.float32: 1e-6, np.float64: 1e-15}[dtype]
    np.testing.assert_allclose(y, x64 * cdf, rtol=tol, atol=tol)
    slope = cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    got = special.gelu_backward(g, y, x)
    np.testing.assert_allclose(got, g * slope, rtol=10 * tol, atol=10 * tol)


def test_gelu_gradcheck_on_both_paths(path):
    x = dg.tensor(np.array([-2.5, -0.3, 0.0, 0.4, 3.0]), requires_grad=True)
    assert dg.gradcheck(lambda t: dg.nn.functional.gelu(t), [x])
    assert dg.gradgradcheck(lambda t: dg.nn.functional.gelu(t), [x])


def test_import_does_not_need_scipy():
    code = ("import sys; import deltagrad as dg; dg.erf(dg.tensor([0.5])); "
            "dg.nn.functional.gelu(dg.tensor([0.5])); "
            "assert 'scipy' not in sys.modules, 'scipy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
