"""cov, corrcoef, trapezoid, renorm, the scatters into a view, put, the incomplete gamma kernels,
binomial draws, histogram, is_inference and the exact GELU's kernels, without PyTorch: gradchecks
of the composites, closed forms, both igamma kernels, draws' statistics and edge behaviour."""

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops import special as special_kernels
from deltagrad._engine.ops import statistics as kernels

R = np.random.default_rng(3)


def leaf(*shape, low=-2.0, high=2.0):
    return dg.tensor(R.uniform(low, high, shape), dtype=dg.float64, requires_grad=True)


# ----------------------------------------------------------------------------------------------
# Gradients of the composites (float64, central differences) and of igamma in x.

WEIGHTS = dg.tensor([1, 3, 2, 1, 2])
GRADCHECKS = {
    "cov": (lambda x: dg.cov(x), [leaf(3, 5)]),
    "cov-1d": (lambda x: dg.cov(x, correction=0), [leaf(6)]),
    "cov-weights": (lambda x, a: dg.cov(x, fweights=WEIGHTS, aweights=a),
                    [leaf(2, 5), leaf(5, low=0.5, high=2.0)]),
    "corrcoef": (lambda x: dg.corrcoef(x), [leaf(3, 6)]),
    "trapezoid-x": (lambda y, x: dg.trapezoid(y, x, dim=0), [leaf(4, 3), leaf(4)]),
    "trapezoid-dx": (lambda y: dg.trapezoid(y, dx=0.3), [leaf(2, 5)]),
    "cumulative-trapezoid": (lambda y, x: dg.cumulative_trapezoid(y, x), [leaf(2, 5), leaf(2, 5)]),
    "renorm-2": (lambda x: dg.renorm(x, 2, 0, 1.5), [leaf(4, 3)]),
    "renorm-1": (lambda x: dg.renorm(x, 1, 1, 2.0), [leaf(3, 4)]),
    "renorm-3": (lambda x: dg.renorm(x, 3, -1, 1.0), [leaf(2, 3, 2)]),
    "slice-scatter": (lambda x, s: dg.slice_scatter(x, s, 1, 0, 5, 2), [leaf(3, 5), leaf(3, 3)]),
    "select-scatter": (lambda x, s: dg.select_scatter(x, s, 0, -1), [leaf(3, 4), leaf(4)]),
    "diagonal-scatter": (lambda x, s: dg.diagonal_scatter(x, s, -1, 1, 2),
                         [leaf(2, 4, 3), leaf(2, 3)]),
    "put": (lambda x, s: dg.put(x, dg.tensor([5, 0, -2]), s), [leaf(2, 3), leaf(3)]),
    "put-accumulate": (lambda x, s: dg.put(x, dg.tensor([1, 1, 4]), s, accumulate=True),
                       [leaf(2, 3), leaf(3)]),
    "igamma-x": (lambda x: dg.igamma(dg.tensor([0.7, 2.5, 9.0], dtype=dg.float64), x),
                 [leaf(3, low=0.5, high=12.0)]),
    "igammac-x": (lambda x: dg.igammac(dg.tensor([[0.4], [30.0]], dtype=dg.float64), x),
                  [leaf(3, low=20.0, high=40.0)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, inputs = GRADCHECKS[name]
    assert dg.gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["cov-weights", "trapezoid-x", "igamma-x", "diagonal-scatter"])
def test_gradgradcheck(name):
    fn, inputs = GRADCHECKS[name]
    assert dg.gradgradcheck(fn, inputs)


def test_cov_known_values_and_degenerate_warning():
    x = dg.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])
    np.testing.assert_allclose(dg.cov(x).numpy(), [[1.0, -1.0], [-1.0, 1.0]])
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert math.isinf(dg.cov(dg.tensor([1.0, 2.0]), correction=2).item())


# ----------------------------------------------------------------------------------------------
# The incomplete gamma kernels: closed forms, on both paths.

PATHS = ["numpy", "scipy"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    if request.param == "scipy":
        pytest.importorskip("scipy")
    monkeypatch.setattr(kernels, "USE_SCIPY", request.param == "scipy")
    return request.param


def test_igamma_closed_forms(path):
    x = np.concatenate([np.geomspace(1e-6, 80.0, 60), [0.5, 1.0, 2.0]])
    # P(1, x) = 1 - exp(-x); P(1/2, x) = erf(sqrt x); Q(n, x) = exp(-x) sum_{k<n} x^k / k!
    np.testing.assert_allclose(kernels.gammainc(1.0, x), -np.expm1(-x), rtol=1e-13)
    erf = np.array([math.erf(math.sqrt(v)) for v in x])
    np.testing.assert_allclose(kernels.gammainc(0.5, x), erf, rtol=1e-13)
    for n in (2, 5, 12):
        series = sum(x ** k / math.factorial(k) for k in range(n)) * np.exp(-x)
        np.testing.assert_allclose(kernels.gammaincc(float(n), x), series, rtol=1e-12)
    np.testing.assert_allclose(kernels.gammainc(3.0, x) + kernels.gammaincc(3.0, x), 1.0,
                               rtol=1e-14)


def test_igamma_numpy_path_matches_scipy_across_regimes(monkeypatch):
    special = pytest.importorskip("scipy.special")
    monkeypatch.setattr(kernels, "USE_SCIPY", False)
    a = np.concatenate([R.uniform(0.01, 5.0, 300), R.uniform(5.0, 300.0, 300), [1e4, 1e4, 1e4]])
    x = np.concatenate([a[:-3] * R.uniform(0.2, 2.5, 600), [9900.0, 1e4, 10100.0]])
    np.testing.assert_allclose(kernels.gammainc(a, x), special.gammainc(a, x), rtol=1e-9,
                               atol=1e-300)
    upper = special.gammaincc(a, x)
    mask = upper > 1e-250
    np.testing.assert_allclose(kernels.gammaincc(a, x)[mask], upper[mask], rtol=1e-9)


def test_igamma_edges_keep_dtype_and_shape(path):
    a = dg.tensor([[0.0], [2.0]], dtype=dg.float32)
    out = dg.igamma(a, dg.tensor([0.0, 1.0, float("inf")], dtype=dg.float32))
    assert out.dtype == dg.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(np.isnan(out.numpy()), [[True, False, False],
                                                          [False, False, False]])
    np.testing.assert_allclose(out.numpy()[1], [0.0, 1 - 2 / math.e, 1.0], rtol=1e-6)


def test_igamma_slope_is_the_gamma_density():
    x = dg.tensor([0.5, 2.0, 7.0], dtype=dg.float64, requires_grad=True)
    dg.igamma(dg.tensor(3.0, dtype=dg.float64), x).sum().backward()
    density = x.detach().numpy() ** 2 * np.exp(-x.detach().numpy()) / 2.0
    np.testing.assert_allclose(x.grad.numpy(), density, rtol=1e-13)


# ----------------------------------------------------------------------------------------------
# binomial draws.


def test_binomial_statistics_and_generator():
    count = dg.full((20000,), 12.0)
    prob = dg.full((20000,), 0.3)
    draws = dg.binomial(count, prob, generator=dg.Generator().manual_seed(5)).numpy()
    assert draws.dtype == np.float32 and np.all(draws == np.floor(draws))
    assert abs(draws.mean() - 3.6) < 0.05 and abs(draws.var() - 2.52) < 0.1
    again = dg.binomial(count, prob, generator=dg.Generator().manual_seed(5)).numpy()
    np.testing.assert_array_equal(draws, again)


def test_binomial_edges():
    count = dg.tensor([4.0, 4.0, 2.5, -1.0, 5.0, float("nan")], dtype=dg.float64)
    prob = dg.tensor([0.0, 1.0, 1.0, 0.5, 1.5, 0.5], dtype=dg.float64)
    out = dg.binomial(count, prob).numpy()
    # (p = 1 gives the count as it is, fraction included, as PyTorch)
    np.testing.assert_array_equal(out[:5], [0.0, 4.0, 2.5, 0.0, 5.0])
    assert np.isnan(out[5]) and out.dtype == np.float64


def test_binomial_gives_zero_gradients():
    count, prob = leaf(3, low=1, high=9), leaf(3, low=0.1, high=0.9)
    dg.binomial(count, prob).sum().backward()
    assert not count.grad.numpy().any() and not prob.grad.numpy().any()


# ----------------------------------------------------------------------------------------------
# histogram, isin, unravel_index, range.


def test_histogram_known_values():
    hist, edges = dg.histogram(dg.tensor([1.0, 2.0, 1.0, 3.0, 9.0]), bins=4, range=(0.0, 4.0))
    np.testing.assert_array_equal(hist.numpy(), [0.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(edges.numpy(), [0.0, 1.0, 2.0, 3.0, 4.0])
    density = dg.histogram(dg.tensor([0.5, 1.5, 1.5, 3.0]), dg.tensor([0.0, 1.0, 3.0]),
                           density=True).hist
    np.testing.assert_allclose(density.numpy(), [0.25, 0.375])
    assert not hist.requires_grad


def test_isin_unravel_and_range():
    found = dg.isin(dg.tensor([[1, 2], [3, 4]]), dg.tensor([4, 1]))
    np.testing.assert_array_equal(found.numpy(), [[True, False], [False, True]])
    rows, cols = dg.unravel_index(dg.tensor([5, -1, 0]), (2, 3))
    assert rows.tolist() == [1, 1, 0] and cols.tolist() == [2, 2, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert dg.range(1, 3).tolist() == [1.0, 2.0, 3.0]


# ----------------------------------------------------------------------------------------------
# is_inference.


def test_is_inference_marks_tensors_made_in_inference_mode():
    x = dg.ones(2, 3)
    with dg.inference_mode():
        made, view = x * 2, x.t()
        made_view, factory = made[0], dg.zeros(2)
    assert made.is_inference() and made_view.is_inference() and factory.is_inference()
    assert not x.is_inference() and not view.is_inference()
    assert not (made * 2).is_inference()  # (made outside the mode)
    assert made[1].is_inference() and made.detach().is_inference()  # (views of one: still one)
    with dg.no_grad():
        assert not dg.ones(1).is_inference()
    with pytest.raises(TypeError, match="must be Tensor"):
        dg.is_inference([1.0])


# ----------------------------------------------------------------------------------------------
# The exact GELU's kernels (ops/special.py).


def test_gelu_kernels_return_arrays_that_own_their_memory():
    # A view would be copied again when it becomes a leaf's gradient.
    x = R.standard_normal((3, 70_000)).astype(np.float32)
    y = special_kernels.gelu(x)
    assert y.base is None and y.shape == x.shape
    assert special_kernels.gelu_backward(np.ones_like(x), y, x).base is None
    leaf32 = dg.tensor(x, requires_grad=True)
    F.gelu(leaf32).sum().backward()
    assert leaf32.grad.numpy().base is None or leaf32.grad.numpy().base.base is None


def test_float32_erf_saturates_without_clipping_or_warnings():
    x = np.concatenate([np.linspace(-30.0, 30.0, 5001), [1e19, -1e19, 3e38, np.inf, -np.inf],
                        R.standard_normal(100)]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (x^2 overflowing to inf must stay silent)
        out = special_kernels.erf(x)
        gelu = special_kernels.gelu(x)
        slope = special_kernels.gelu_backward(np.ones_like(x), gelu, x)
    reference = np.array([math.erf(v) for v in x.astype(np.float64)])
    np.testing.assert_allclose(out, reference, rtol=0, atol=4 * np.finfo(np.float32).eps)
    assert np.all(out[np.abs(x) > 5] == np.sign(x[np.abs(x) > 5]))
    assert gelu[-103] == np.float32(3e38) and gelu[-102] == np.inf and np.isnan(gelu[-101])
    assert slope[-103] == 1.0 and np.isnan(slope[-102]) and np.isnan(slope[-101])
