"""Differential table against PyTorch: cov, corrcoef, isin, unravel_index, trapezoid / trapz /
cumulative_trapezoid, histogram, renorm, binomial (deterministic cases and errors), the scatters
into a view (slice / select / diagonal_scatter), put, igamma / igammac, the deprecated range and
is_inference: values, dtypes, shapes, gradients and exception types."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.ops import statistics as igamma_kernels  # noqa: E402

R = np.random.default_rng(7)


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def i64(*shape, low=-3, high=4):
    return R.integers(low, high, shape).astype(np.int64)


def case(name, fn, *args, **options):
    return pytest.param(fn, args, options, id=name)


def loose(name, fn, *args, **options):
    """A float32 case: PyTorch's float32 arithmetic differs in the last bits."""
    return case(name, fn, *args, rtol=1e-4, atol=1e-5, **options)


X23, X35 = f64(2, 3), f64(3, 5)
POSITIVE = R.uniform(0.2, 3.0, 5)

COV = [
    case("cov-2d", lambda m, x: m.cov(x), Arg(X35)),
    loose("cov-2d-f32", lambda m, x: m.cov(x), Arg(f32(2, 4))),
    case("cov-1d", lambda m, x: m.cov(x), Arg(f64(6))),
    case("cov-one-row", lambda m, x: m.cov(x), Arg(f64(1, 4))),
    case("cov-0d", lambda m, x: m.cov(x), Arg(f64()), grad=False),
    case("cov-int", lambda m, x: m.cov(x), Arg(i64(2, 5))),
    case("cov-bool", lambda m, x: m.cov(x), Arg(R.random(4) > 0.5)),
    case("cov-3d", lambda m, x: m.cov(x), Arg(f64(2, 2, 2))),
    case("cov-no-variables", lambda m, x: m.cov(x), Arg(f64(0, 3))),
    case("cov-no-observations", lambda m, x: m.cov(x), Arg(f64(2, 0)), grad=False),
    case("cov-correction-0", lambda m, x: m.cov(x, correction=0), Arg(X35)),
    case("cov-correction-2", lambda m, x: x.cov(correction=2), Arg(X35)),
    case("cov-correction-too-big", lambda m, x: m.cov(x, correction=5), Arg(X35), grad=False),
    case("cov-correction-float", lambda m, x: m.cov(x, correction=0.5), Arg(X35)),
    case("cov-fweights", lambda m, x, w: m.cov(x, fweights=w), Arg(X35),
         Arg(np.array([1, 2, 0, 3, 1]))),
    case("cov-fweights-float", lambda m, x, w: m.cov(x, fweights=w), Arg(X35), Arg(POSITIVE)),
    case("cov-fweights-negative", lambda m, x, w: m.cov(x, fweights=w), Arg(X35),
         Arg(np.array([1, -2, 0, 3, 1]))),
    case("cov-fweights-2d", lambda m, x, w: m.cov(x, fweights=w), Arg(X35),
         Arg(np.array([[1, 2, 0, 3, 1]]))),
    case("cov-aweights", lambda m, x, w: m.cov(x, aweights=w), Arg(X35), Arg(POSITIVE)),
    case("cov-aweights-int", lambda m, x, w: m.cov(x, aweights=w), Arg(X35),
         Arg(np.array([1, 2, 1, 3, 1]))),
    case("cov-aweights-negative", lambda m, x, w: m.cov(x, aweights=w), Arg(X35),
         Arg(-POSITIVE)),
    case("cov-aweights-numel", lambda m, x, w: m.cov(x, aweights=w), Arg(X35), Arg(POSITIVE[:3])),
    case("cov-both-weights", lambda m, x, f, a: m.cov(x, correction=1, fweights=f, aweights=a),
         Arg(X35), Arg(np.array([1, 2, 4, 3, 1])), Arg(POSITIVE)),
    case("cov-both-weights-correction-0",
         lambda m, x, f, a: m.cov(x, correction=0, fweights=f, aweights=a),
         Arg(X35), Arg(np.array([1, 2, 4, 3, 1])), Arg(POSITIVE)),
    case("cov-aweights-f64-input-f32", lambda m, x, w: m.cov(x, aweights=w),
         Arg(f32(2, 5)), Arg(POSITIVE), rtol=1e-4, atol=1e-5),
    case("cov-transposed", lambda m, x: m.cov(x.t()), Arg(f64(5, 3))),
    case("corrcoef-2d", lambda m, x: m.corrcoef(x), Arg(X35)),
    loose("corrcoef-2d-f32", lambda m, x: x.corrcoef(), Arg(f32(3, 6))),
    case("corrcoef-1d", lambda m, x: m.corrcoef(x), Arg(f64(5))),
    case("corrcoef-int", lambda m, x: m.corrcoef(x), Arg(i64(3, 5))),
    case("corrcoef-constant-row", lambda m, x: m.corrcoef(x),
         Arg(np.array([[1.0, 1.0, 1.0], [3.0, 1.0, 0.0]])), grad=False),
    case("corrcoef-transposed", lambda m, x: m.corrcoef(x.t()), Arg(f64(6, 3))),
    case("corrcoef-3d", lambda m, x: m.corrcoef(x), Arg(f64(2, 2, 2))),
]

ELEMENTS = np.array([[1, 2, 3], [4, 5, 2]])
ISIN = [
    case("isin-int", lambda m, e, t: m.isin(e, t), Arg(ELEMENTS), Arg(np.array([2, 5]))),
    case("isin-int-float", lambda m, e, t: m.isin(e, t), Arg(ELEMENTS), Arg(np.array([2.0, 4.5]))),
    case("isin-scalar-test", lambda m, e: m.isin(e, 2), Arg(ELEMENTS)),
    case("isin-scalar-elements", lambda m, t: m.isin(2, t), Arg(ELEMENTS)),
    case("isin-scalar-float", lambda m, t: m.isin(2.5, t), Arg(ELEMENTS)),
    case("isin-invert", lambda m, e, t: m.isin(e, t, invert=True), Arg(ELEMENTS),
         Arg(np.array([2, 3]))),
    case("isin-assume-unique", lambda m, e, t: m.isin(e, t, assume_unique=True),
         Arg(np.array([1, 2, 3])), Arg(np.array([3, 4]))),
    case("isin-nan", lambda m, e, t: m.isin(e, t), Arg(np.array([1.0, np.nan])),
         Arg(np.array([np.nan, 1.0]))),
    case("isin-f32-f64", lambda m, e, t: m.isin(e, t), Arg(np.array([0.1, 0.5], np.float32)),
         Arg(np.array([0.1, 0.5]))),
    case("isin-empty", lambda m, e, t: m.isin(e, t), Arg(np.zeros((0, 2))), Arg(f64(3))),
    case("isin-empty-test", lambda m, e, t: m.isin(e, t), Arg(ELEMENTS), Arg(np.zeros(0))),
    case("isin-0d", lambda m, e, t: m.isin(e, t), Arg(np.array(3)), Arg(np.array([3]))),
    case("isin-transposed", lambda m, e, t: m.isin(e.t(), t), Arg(ELEMENTS),
         Arg(np.array([1, 5]))),
    case("isin-bool", lambda m, e, t: m.isin(e, t), Arg(np.array([True, False])),
         Arg(np.array([1]))),
    case("isin-numbers", lambda m: m.isin(2, 3)),
    case("isin-list", lambda m, e: m.isin(e, [2]), Arg(ELEMENTS)),
    case("isin-out", lambda m, e: m.isin(e, 2, out=m.zeros(2, 3, dtype=m.bool)), Arg(ELEMENTS)),
]

INDICES = np.array([[4, 1], [0, 5]])
UNRAVEL = [
    case("unravel-2d", lambda m, i: m.unravel_index(i, (2, 3)), Arg(INDICES)),
    case("unravel-0d", lambda m, i: m.unravel_index(i, (2, 3)), Arg(np.array(4))),
    case("unravel-int32", lambda m, i: m.unravel_index(i, (2, 3)), Arg(INDICES.astype(np.int32))),
    case("unravel-uint8", lambda m, i: m.unravel_index(i, [2, 3]), Arg(INDICES.astype(np.uint8))),
    case("unravel-wraps", lambda m, i: m.unravel_index(i, (2, 3)), Arg(np.array([-1, -7, 6]))),
    case("unravel-int-shape", lambda m, i: m.unravel_index(i, 6), Arg(INDICES)),
    case("unravel-3d-shape", lambda m, i: m.unravel_index(i, (2, 3, 4)), Arg(np.arange(24))),
    case("unravel-size", lambda m, i: m.unravel_index(i, m.Size([3, 2])), Arg(INDICES)),
    case("unravel-empty-shape", lambda m, i: m.unravel_index(i, ()), Arg(np.array([0]))),
    case("unravel-empty-indices", lambda m, i: m.unravel_index(i, (2, 3)),
         Arg(np.zeros(0, np.int64))),
    case("unravel-float", lambda m, i: m.unravel_index(i, (2, 3)), Arg(np.array([1.0]))),
    case("unravel-bool", lambda m, i: m.unravel_index(i, (2, 3)), Arg(np.array([True]))),
    case("unravel-float-shape", lambda m, i: m.unravel_index(i, (2.0, 3)), Arg(INDICES)),
    case("unravel-tensor-shape", lambda m, i: m.unravel_index(i, m.tensor([2, 3])), Arg(INDICES)),
    case("unravel-negative-shape", lambda m, i: m.unravel_index(i, (2, -3)), Arg(INDICES)),
    case("unravel-zero-shape", lambda m, i: m.unravel_index(i, (2, 0)), Arg(INDICES)),
]

Y, XS = np.array([1.0, 2.0, 4.0, 3.5]), np.array([0.0, 1.0, 3.0, 3.5])
Y23, Y223 = f64(2, 3), f64(2, 2, 3)
TRAPEZOID = [
    case("trapezoid-1d", lambda m, y: m.trapezoid(y), Arg(Y)),
    case("trapezoid-dx", lambda m, y: m.trapezoid(y, dx=0.5), Arg(Y)),
    case("trapezoid-int-dx", lambda m, y: m.trapezoid(y, dx=2), Arg(np.array([1, 2, 4]))),
    case("trapezoid-x", lambda m, y, x: m.trapezoid(y, x), Arg(Y), Arg(XS)),
    case("trapezoid-x-int", lambda m, y, x: m.trapezoid(y, x), Arg(Y), Arg(np.array([0, 1, 3, 4]))),
    case("trapezoid-both-int", lambda m, y, x: m.trapezoid(y, x), Arg(np.array([1, 2, 4])),
         Arg(np.array([0, 1, 3]))),
    loose("trapezoid-f32", lambda m, y, x: m.trapezoid(y, x), Arg(f32(5)), Arg(f32(5))),
    case("trapezoid-f32-x-f64", lambda m, y, x: m.trapezoid(y, x), Arg(f32(4)), Arg(XS),
         rtol=1e-4, atol=1e-5),
    case("trapezoid-dim1-x1d", lambda m, y, x: m.trapezoid(y, x, dim=1), Arg(Y23),
         Arg(np.array([0.0, 1.0, 3.0]))),
    case("trapezoid-dim0-x1d", lambda m, y, x: m.trapezoid(y, x, dim=0), Arg(Y23),
         Arg(np.array([0.0, 2.0]))),
    case("trapezoid-x-wrong-length", lambda m, y, x: m.trapezoid(y, x, dim=1), Arg(Y23),
         Arg(np.array([0.0, 1.0]))),
    case("trapezoid-x-full", lambda m, y, x: m.trapezoid(y, x, dim=1), Arg(Y23), Arg(f64(2, 3))),
    case("trapezoid-x-broadcast", lambda m, y, x: m.trapezoid(y, x), Arg(Y23), Arg(f64(1, 3))),
    case("trapezoid-x-column", lambda m, y, x: m.trapezoid(y, x, dim=0), Arg(Y23), Arg(f64(3, 1))),
    case("trapezoid-x-mismatch", lambda m, y, x: m.trapezoid(y, x, dim=0), Arg(Y23),
         Arg(f64(4, 2))),
    case("trapezoid-3d-x2d-dim0", lambda m, y, x: m.trapezoid(y, x, dim=0), Arg(Y223),
         Arg(f64(2, 3))),
    case("trapezoid-3d-x2d-dim1", lambda m, y, x: m.trapezoid(y, x, dim=1), Arg(Y223),
         Arg(f64(2, 3))),
    case("trapezoid-3d-x2d-dim-2", lambda m, y, x: m.trapezoid(y, x, dim=-2), Arg(Y223),
         Arg(f64(2, 3))),
    case("trapezoid-3d-x3d-dim0", lambda m, y, x: m.trapezoid(y, x, dim=0), Arg(Y223),
         Arg(f64(2, 2, 3))),
    case("trapezoid-x-more-dims", lambda m, y, x: m.trapezoid(y, x), Arg(f64(3)), Arg(f64(3, 3))),
    case("trapezoid-bool", lambda m, y: m.trapezoid(y), Arg(np.array([True, False]))),
    case("trapezoid-bool-x", lambda m, y, x: m.trapezoid(y, x), Arg(np.array([True, False])),
         Arg(np.array([0, 1]))),
    case("trapezoid-0d", lambda m, y: m.trapezoid(y), Arg(f64())),
    case("trapezoid-empty", lambda m, y: m.trapezoid(y), Arg(np.zeros(0))),
    case("trapezoid-empty-dim", lambda m, y: m.trapezoid(y, dim=1), Arg(np.zeros((3, 0)))),
    case("trapezoid-empty-other", lambda m, y: m.trapezoid(y, dim=1), Arg(np.zeros((0, 3)))),
    case("trapezoid-one-sample", lambda m, y: m.trapezoid(y, dx=2.0), Arg(f64(3, 1))),
    case("trapezoid-dim-out-of-range", lambda m, y: m.trapezoid(y, dim=2), Arg(Y)),
    case("trapezoid-negative-dim", lambda m, y: m.trapezoid(y, dim=-2), Arg(Y23)),
    case("trapezoid-positional-number", lambda m, y: m.trapezoid(y, 0.5), Arg(Y)),
    case("trapezoid-x-and-dx", lambda m, y, x: m.trapezoid(y, x, dx=2), Arg(Y), Arg(XS)),
    case("trapezoid-dx-tensor", lambda m, y: m.trapezoid(y, dx=m.tensor(2.0)), Arg(Y)),
    case("trapezoid-dx-complex", lambda m, y: m.trapezoid(y, dx=2j), Arg(Y)),
    case("trapezoid-transposed", lambda m, y, x: m.trapezoid(y.t(), x), Arg(f64(4, 2)), Arg(XS)),
    case("trapz-x", lambda m, y, x: m.trapz(y, x), Arg(Y), Arg(XS)),
    case("trapz-dx", lambda m, y: m.trapz(y, dx=3.0), Arg(Y23)),
    case("trapz-positional-number", lambda m, y: m.trapz(y, 3), Arg(Y)),
    case("cumtrapz-1d", lambda m, y: m.cumulative_trapezoid(y), Arg(Y)),
    case("cumtrapz-int", lambda m, y: m.cumulative_trapezoid(y), Arg(np.array([1, 2, 4]))),
    case("cumtrapz-x", lambda m, y, x: m.cumulative_trapezoid(y, x), Arg(Y), Arg(XS)),
    case("cumtrapz-dx", lambda m, y: m.cumulative_trapezoid(y, dx=2.0), Arg(Y23)),
    case("cumtrapz-dim0-x1d", lambda m, y, x: m.cumulative_trapezoid(y, x, dim=0), Arg(f64(3, 2)),
         Arg(np.array([0.0, 0.5, 2.0]))),
    case("cumtrapz-x-full", lambda m, y, x: m.cumulative_trapezoid(y, x, dim=-1), Arg(Y223),
         Arg(f64(2, 2, 3))),
    loose("cumtrapz-f32", lambda m, y: m.cumulative_trapezoid(y), Arg(f32(2, 5))),
    case("cumtrapz-empty", lambda m, y: m.cumulative_trapezoid(y), Arg(np.zeros(0))),
    case("cumtrapz-one-sample", lambda m, y: m.cumulative_trapezoid(y), Arg(np.zeros(1))),
    case("cumtrapz-0d", lambda m, y: m.cumulative_trapezoid(y), Arg(f64())),
    case("cumtrapz-bool", lambda m, y: m.cumulative_trapezoid(y), Arg(np.array([True, True]))),
    case("cumtrapz-transposed", lambda m, y: m.cumulative_trapezoid(y.t(), dim=0), Arg(Y23)),
]

H = np.array([1.0, 2.0, 1.0, 0.25, 1.75, 2.0])
EDGES = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], np.float32)
ON_EDGES = np.concatenate([EDGES, R.uniform(-0.1, 1.1, 500).astype(np.float32)])
HISTOGRAM = [
    case("histogram-range", lambda m, x: m.histogram(x, bins=4, range=(0.0, 3.0)), Arg(H)),
    case("histogram-data-range", lambda m, x: m.histogram(x, 4), Arg(H)),
    case("histogram-int-range", lambda m, x: m.histogram(x, 4, range=(0, 3)), Arg(H)),
    case("histogram-edges", lambda m, x, e: m.histogram(x, bins=e), Arg(H),
         Arg(np.array([0.0, 1.5, 2.0, 5.0]))),
    case("histogram-weight", lambda m, x, e, w: m.histogram(x, bins=e, weight=w), Arg(H),
         Arg(np.array([0.0, 1.5, 2.0, 5.0])), Arg(R.uniform(0, 2, 6))),
    case("histogram-density", lambda m, x: m.histogram(x, 4, density=True), Arg(H)),
    case("histogram-weight-density",
         lambda m, x, w: m.histogram(x, 4, range=(0.0, 3.0), weight=w, density=True),
         Arg(H), Arg(R.uniform(0, 2, 6))),
    case("histogram-2d", lambda m, x: m.histogram(x, 5), Arg(f64(3, 4))),
    case("histogram-2d-weight", lambda m, x, w: m.histogram(x, 3, weight=w), Arg(f64(3, 4)),
         Arg(R.uniform(0, 1, (3, 4)))),
    case("histogram-weight-reshaped", lambda m, x, w: m.histogram(x, 3, weight=w),
         Arg(f64(3, 4)), Arg(R.uniform(0, 1, (4, 3)))),
    case("histogram-f32-edges-exact", lambda m, x: m.histogram(x, 10, range=(0.0, 1.0)),
         Arg(ON_EDGES), rtol=1e-5),
    case("histogram-f32-data-range", lambda m, x: m.histogram(x, 7), Arg(f32(1000))),
    case("histogram-f64-many", lambda m, x: m.histogram(x, 13, range=(-2.0, 2.5)), Arg(f64(1000))),
    case("histogram-empty", lambda m, x: m.histogram(x, 4), Arg(np.zeros(0))),
    case("histogram-0d", lambda m, x: m.histogram(x, 4), Arg(np.array(3.0))),
    case("histogram-constant", lambda m, x: m.histogram(x, 4), Arg(np.array([3.0, 3.0]))),
    case("histogram-range-point", lambda m, x: m.histogram(x, 4, range=(1.0, 1.0)), Arg(H)),
    case("histogram-outside", lambda m, x: m.histogram(x, 3, range=(1.5, 1.8)), Arg(H)),
    case("histogram-method", lambda m, x: x.histogram(4), Arg(H)),
    case("histogram-out", lambda m, x: m.histogram(x, 3, out=(m.zeros(3, dtype=m.float64),
                                                             m.empty(0, dtype=m.float64))),
         Arg(H)),
    case("histogram-nan", lambda m, x: m.histogram(x, 4), Arg(np.array([3.0, np.nan]))),
    case("histogram-inf", lambda m, x: m.histogram(x, 4), Arg(np.array([3.0, np.inf]))),
    case("histogram-reversed-range", lambda m, x: m.histogram(x, 4, range=(3.0, 0.0)), Arg(H)),
    case("histogram-infinite-range", lambda m, x: m.histogram(x, 4, range=(0.0, np.inf)), Arg(H)),
    case("histogram-zero-bins", lambda m, x: m.histogram(x, 0), Arg(H)),
    case("histogram-negative-bins", lambda m, x: m.histogram(x, -1), Arg(H)),
    case("histogram-one-edge", lambda m, x, e: m.histogram(x, e), Arg(H), Arg(np.array([3.0]))),
    case("histogram-2d-edges", lambda m, x, e: m.histogram(x, e), Arg(H),
         Arg(np.array([[0.0, 3.0]]))),
    case("histogram-edges-dtype", lambda m, x, e: m.histogram(x, e), Arg(H),
         Arg(np.array([0.0, 3.0], np.float32))),
    case("histogram-weight-numel", lambda m, x, w: m.histogram(x, 3, weight=w), Arg(H),
         Arg(np.ones(2))),
    case("histogram-weight-dtype", lambda m, x, w: m.histogram(x, 3, weight=w), Arg(H),
         Arg(np.ones(6, np.float32))),
    case("histogram-int", lambda m, x: m.histogram(x, 3), Arg(np.array([1, 2, 1]))),
]

RN = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.1, 0.2, 0.1]])
RENORM = [
    case("renorm-p2-dim0", lambda m, x: m.renorm(x, 2, 0, 5), Arg(RN)),
    case("renorm-p1-dim1", lambda m, x: m.renorm(x, 1, 1, 5), Arg(RN)),
    case("renorm-inf", lambda m, x: m.renorm(x, float("inf"), 1, 5), Arg(RN)),
    case("renorm-p2.5-dim-1", lambda m, x: x.renorm(2.5, -1, 1), Arg(RN)),
    case("renorm-3d", lambda m, x: m.renorm(x, 2, 1, 1.5), Arg(f64(2, 3, 4))),
    loose("renorm-f32", lambda m, x: m.renorm(x, 2, 0, 1.0), Arg(f32(4, 3))),
    case("renorm-all-below", lambda m, x: m.renorm(x, 2, 0, 100.0), Arg(RN)),
    case("renorm-maxnorm-0", lambda m, x: m.renorm(x, 2, 0, 0), Arg(RN)),
    case("renorm-transposed", lambda m, x: m.renorm(x.t(), 2, 0, 4), Arg(RN)),
    case("renorm-empty", lambda m, x: m.renorm(x, 2, 0, 1), Arg(np.zeros((0, 3)))),
    case("renorm-empty-dim1", lambda m, x: m.renorm(x, 2, 1, 1), Arg(np.zeros((0, 3)))),
    case("renorm-p0", lambda m, x: m.renorm(x, 0, 1, 5), Arg(RN)),
    case("renorm-p-negative", lambda m, x: m.renorm(x, -1, 1, 5), Arg(RN)),
    case("renorm-maxnorm-negative", lambda m, x: m.renorm(x, 2, 1, -5), Arg(RN)),
    case("renorm-dim-out-of-range", lambda m, x: m.renorm(x, 2, 2, 5), Arg(RN)),
    case("renorm-1d", lambda m, x: m.renorm(x, 2, 0, 1), Arg(f64(3))),
    case("renorm-0d", lambda m, x: m.renorm(x, 2, 0, 1), Arg(f64())),
    case("renorm-int", lambda m, x: m.renorm(x, 2, 0, 1), Arg(i64(2, 3))),
    case("renorm-inplace", lambda m, x: x.clone().renorm_(2, 0, 5), Arg(RN, requires_grad=False)),
]

COUNT = np.array([5.0, 10.0, 0.0, 3.0, 7.0])
BINOMIAL = [  # (draws with p in {0, 1} are deterministic)
    case("binomial-certain", lambda m, c, p: m.binomial(c, p), Arg(COUNT),
         Arg(np.array([1.0, 0.0, 1.0, 1.0, 0.0])), grad=False),
    case("binomial-f32", lambda m, c, p: m.binomial(c, p), Arg(COUNT.astype(np.float32)),
         Arg(np.array([1.0, 0.0, 0.0, 1.0, 1.0], np.float32)), grad=False),
    case("binomial-0d", lambda m, c, p: m.binomial(c, p), Arg(np.array(4.0)), Arg(np.array(1.0)),
         grad=False),
    case("binomial-nan", lambda m, c, p: m.binomial(c, p), Arg(np.array([5.0])),
         Arg(np.array([np.nan])), grad=False),
    case("binomial-int-count", lambda m, c, p: m.binomial(c, p), Arg(COUNT.astype(np.int64)),
         Arg(np.full(5, 0.5))),
    case("binomial-dtypes", lambda m, c, p: m.binomial(c, p), Arg(COUNT.astype(np.float32)),
         Arg(np.full(5, 0.5))),
]

A45 = np.zeros((4, 5))
SCATTERS = [
    case("slice-scatter-dim0", lambda m, x, s: m.slice_scatter(x, s, 0, 1, 3), Arg(f64(4, 5)),
         Arg(f64(2, 5))),
    case("slice-scatter-keywords", lambda m, x, s: m.slice_scatter(x, s, start=1, end=3),
         Arg(f64(4, 5)), Arg(f64(2, 5))),
    case("slice-scatter-step", lambda m, x, s: m.slice_scatter(x, s, 1, 0, 5, 3),
         Arg(f64(4, 5)), Arg(f64(4, 2))),
    case("slice-scatter-negative-dim", lambda m, x, s: x.slice_scatter(s, -1, None, None, 3),
         Arg(f64(4, 5)), Arg(f64(4, 2))),
    case("slice-scatter-negative-start", lambda m, x, s: m.slice_scatter(x, s, 1, -2),
         Arg(f64(4, 5)), Arg(f64(4, 2))),
    case("slice-scatter-clamped", lambda m, x, s: m.slice_scatter(x, s, 1, -8, 3),
         Arg(f64(4, 5)), Arg(f64(4, 3))),
    case("slice-scatter-empty", lambda m, x, s: m.slice_scatter(x, s, 1, 7, 9),
         Arg(f64(4, 5)), Arg(f64(4, 0))),
    case("slice-scatter-whole", lambda m, x, s: m.slice_scatter(x, s), Arg(f64(2, 3)),
         Arg(f64(2, 3))),
    case("slice-scatter-int", lambda m, x, s: m.slice_scatter(x, s, 1, 0, 1),
         Arg(i64(4, 5)), Arg(i64(4, 1))),
    case("slice-scatter-int-src", lambda m, x, s: m.slice_scatter(x, s, 1, 0, 1),
         Arg(f32(4, 5)), Arg(i64(4, 1))),
    case("slice-scatter-f64-src", lambda m, x, s: m.slice_scatter(x, s, 1, 0, 2),
         Arg(f32(4, 5)), Arg(f64(4, 2)), rtol=1e-4, atol=1e-5),
    case("slice-scatter-transposed", lambda m, x, s: m.slice_scatter(x.t(), s, 0, 1, 3),
         Arg(f64(4, 5)), Arg(f64(2, 4))),
    case("slice-scatter-shape", lambda m, x, s: m.slice_scatter(x, s, 1, 1, 3), Arg(A45),
         Arg(np.ones((4, 3)))),
    case("slice-scatter-broadcast", lambda m, x, s: m.slice_scatter(x, s, 1, 0, 1), Arg(A45),
         Arg(np.ones(1))),
    case("slice-scatter-step-0", lambda m, x, s: m.slice_scatter(x, s, 1, 0, 5, 0), Arg(A45),
         Arg(np.ones((4, 3)))),
    case("slice-scatter-dim", lambda m, x, s: m.slice_scatter(x, s, 2), Arg(A45), Arg(A45)),
    case("slice-scatter-0d", lambda m, x, s: m.slice_scatter(x, s), Arg(f64()), Arg(f64())),
    case("select-scatter-dim1", lambda m, x, s: m.select_scatter(x, s, 1, 2), Arg(f64(4, 5)),
         Arg(f64(4))),
    case("select-scatter-negative", lambda m, x, s: x.select_scatter(s, 0, -1),
         Arg(f64(4, 5)), Arg(f64(5))),
    case("select-scatter-1d", lambda m, x, s: m.select_scatter(x, s, 0, 1), Arg(f64(3)),
         Arg(f64())),
    case("select-scatter-3d", lambda m, x, s: m.select_scatter(x, s, -2, 1), Arg(f64(2, 3, 4)),
         Arg(f64(2, 4))),
    case("select-scatter-int-src", lambda m, x, s: m.select_scatter(x, s, 0, 2), Arg(A45),
         Arg(i64(5))),
    case("select-scatter-bool", lambda m, x, s: m.select_scatter(x, s, 0, 0),
         Arg(np.zeros((2, 2), bool)), Arg(np.array([True, False]))),
    case("select-scatter-out-of-range", lambda m, x, s: m.select_scatter(x, s, 0, 4), Arg(A45),
         Arg(np.ones(5))),
    case("select-scatter-shape", lambda m, x, s: m.select_scatter(x, s, 0, 2), Arg(A45),
         Arg(np.ones((5, 1)))),
    case("select-scatter-0d", lambda m, x, s: m.select_scatter(x, s, 0, 0), Arg(f64()),
         Arg(f64())),
    case("select-scatter-src-number", lambda m, x: m.select_scatter(x, 1.0, 0, 0), Arg(A45)),
    case("diagonal-scatter-main", lambda m, x, s: m.diagonal_scatter(x, s), Arg(f64(3, 3)),
         Arg(f64(3))),
    case("diagonal-scatter-above", lambda m, x, s: m.diagonal_scatter(x, s, 1), Arg(f64(3, 4)),
         Arg(f64(3))),
    case("diagonal-scatter-below", lambda m, x, s: x.diagonal_scatter(s, -1), Arg(f64(3, 4)),
         Arg(f64(2))),
    case("diagonal-scatter-far", lambda m, x, s: m.diagonal_scatter(x, s, 5), Arg(f64(3, 4)),
         Arg(f64(0))),
    case("diagonal-scatter-3d", lambda m, x, s: m.diagonal_scatter(x, s, 0, 0, 1),
         Arg(f64(2, 3, 4)), Arg(f64(4, 2))),
    case("diagonal-scatter-3d-dims", lambda m, x, s: m.diagonal_scatter(x, s, 1, 2, 0),
         Arg(f64(2, 3, 4)), Arg(f64(3, 1))),
    case("diagonal-scatter-negative-dims", lambda m, x, s: m.diagonal_scatter(x, s, -1, -1, -3),
         Arg(f64(3, 2, 4)), Arg(f64(2, 3))),
    case("diagonal-scatter-transposed", lambda m, x, s: m.diagonal_scatter(x.t(), s),
         Arg(f64(3, 4)), Arg(f64(3))),
    case("diagonal-scatter-int", lambda m, x, s: m.diagonal_scatter(x, s), Arg(i64(3, 3)),
         Arg(i64(3))),
    case("diagonal-scatter-shape", lambda m, x, s: m.diagonal_scatter(x, s, 5), Arg(f64(3, 4)),
         Arg(f64(2))),
    case("diagonal-scatter-same-dims", lambda m, x, s: m.diagonal_scatter(x, s, 0, 0, 0),
         Arg(f64(2, 3, 4)), Arg(f64(2, 2))),
    case("diagonal-scatter-1d", lambda m, x, s: m.diagonal_scatter(x, s), Arg(f64(3)),
         Arg(f64(2))),
]

PUT = [
    case("put", lambda m, x, s: m.put(x, m.tensor([1, -1]), s), Arg(f64(2, 3)), Arg(f64(2))),
    case("put-accumulate", lambda m, x, s: m.put(x, m.tensor([1, 1, 4]), s, accumulate=True),
         Arg(f64(2, 3)), Arg(f64(3))),
    case("put-duplicates", lambda m, x, s: m.put(x, m.tensor([[1], [1]]), s), Arg(f64(2, 3)),
         Arg(f64(2))),
    case("put-method", lambda m, x, s: x.put(m.tensor([0, 5]), s), Arg(f64(2, 3)), Arg(f64(2))),
    case("put-source-shape", lambda m, x, s: m.put(x, m.tensor([0, 2, 3, 5]), s), Arg(f64(2, 3)),
         Arg(f64(2, 2))),
    case("put-transposed", lambda m, x, s: m.put(x.t(), m.tensor([1, 4]), s), Arg(f64(2, 3)),
         Arg(f64(2))),
    case("put-0d", lambda m, x, s: m.put(x, m.tensor([0]), s), Arg(f64()), Arg(f64(1))),
    case("put-empty-index", lambda m, x, s: m.put(x, m.tensor([], dtype=m.int64), s),
         Arg(f64(2, 3)), Arg(f64(0))),
    case("put-int", lambda m, x, s: m.put(x, m.tensor([2, 0]), s, accumulate=True),
         Arg(i64(2, 3)), Arg(i64(2))),
    case("put-inplace", lambda m, x, s: x.clone().put_(m.tensor([3]), s), Arg(f64(2, 3), False),
         Arg(f64(1), False)),
    case("put-out-of-range", lambda m, x, s: m.put(x, m.tensor([6]), s), Arg(f64(2, 3)),
         Arg(f64(1))),
    case("put-negative-out-of-range", lambda m, x, s: m.put(x, m.tensor([-7]), s),
         Arg(f64(2, 3)), Arg(f64(1))),
    case("put-numel", lambda m, x, s: m.put(x, m.tensor([1]), s), Arg(f64(2, 3)), Arg(f64(2))),
    case("put-float-index", lambda m, x, s: m.put(x, m.tensor([1.0]), s), Arg(f64(2, 3)),
         Arg(f64(1))),
    case("put-int32-index", lambda m, x, s: m.put(x, m.tensor([1], dtype=m.int32), s),
         Arg(f64(2, 3)), Arg(f64(1))),
    case("put-dtype", lambda m, x, s: m.put(x, m.tensor([1]), s), Arg(f64(2, 3)), Arg(i64(1))),
]


@pytest.mark.parametrize("fn, args, options", COV + ISIN + UNRAVEL + TRAPEZOID + RENORM
                         + BINOMIAL + SCATTERS + PUT)
def test_matches_torch(fn, args, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (cov's degrees-of-freedom warning, both libraries)
        check(fn, *args, **options)


@pytest.mark.parametrize("fn, args, options", HISTOGRAM)
def test_histogram_matches_torch(fn, args, options):
    check(fn, *args, grad=False, **options)  # (PyTorch's results carry a NotImplemented grad_fn)


# ----------------------------------------------------------------------------------------------
# igamma / igammac: values over a grid, both kernels (SciPy's and the NumPy series / fraction).

A_GRID = np.array([0.05, 0.5, 1.0, 1.5, 3.0, 7.5, 20.0, 55.0, 140.0])
X_GRID = np.array([0.0, 1e-3, 0.3, 1.0, 2.5, 6.0, 19.0, 21.0, 60.0, 150.0, 400.0])
A_MESH, X_MESH = np.meshgrid(A_GRID, X_GRID, indexing="ij")
CLOSE = {"rtol": 1e-9, "atol": 1e-14}  # (PyTorch's own values near x = a > 20: 2.6e-10 off)
EDGE_A = np.array([0.0, 0.0, 1.0, -1.0, 1.0, np.inf, np.inf, 2.0, np.nan, 2.0, 0.5, 1.0, 2.0])
EDGE_X = np.array([1.0, 0.0, 0.0, 1.0, -1.0, 1.0, np.inf, np.inf, 1.0, np.nan, 0.0, 0.0, 0.0])

IGAMMA = [
    case("grid", lambda m, a, x, f: f(m)(a, x), Arg(A_MESH, False), Arg(X_MESH), **CLOSE),
    case("f32", lambda m, a, x, f: f(m)(a, x), Arg(A_MESH.astype(np.float32), False),
         Arg(X_MESH.astype(np.float32)), rtol=1e-4, atol=1e-6),
    case("broadcast", lambda m, a, x, f: f(m)(a, x), Arg(A_GRID[:, None], False),
         Arg(X_GRID[1:]), **CLOSE),
    case("0d", lambda m, a, x, f: f(m)(a, x), Arg(np.array(2.5), False), Arg(np.array(1.5))),
    case("edges", lambda m, a, x, f: f(m)(a, x), Arg(EDGE_A, False), Arg(EDGE_X)),
    case("int-and-float", lambda m, a, x, f: f(m)(a, x), Arg(np.array([1, 2, 4])),
         Arg(np.array([0.5, 2.0, 3.0], np.float32)), rtol=1e-5),
    case("ints", lambda m, a, x, f: f(m)(a, x), Arg(np.array([1, 2])), Arg(np.array([1, 2]))),
    case("f32-and-f64", lambda m, a, x, f: f(m)(a, x), Arg(np.array([1.0, 2.0], np.float32),
                                                          False), Arg(np.array([0.5, 2.0]))),
    case("transposed", lambda m, a, x, f: f(m)(a.t(), x.t()), Arg(A_MESH, False), Arg(X_MESH),
         **CLOSE),
    case("empty", lambda m, a, x, f: f(m)(a, x), Arg(np.zeros((0, 3)), False), Arg(f64(3))),
    case("number", lambda m, a, f: f(m)(a, 2.0), Arg(np.array([1.0]), False)),
]
FUNCTIONS = {"igamma": lambda m: m.igamma, "igammac": lambda m: m.igammac,
             "gammainc": lambda m: m.special.gammainc,
             "gammaincc": lambda m: m.special.gammaincc,
             "method": lambda m: (lambda a, x, **k: a.igamma(x, **k)),
             "methodc": lambda m: (lambda a, x, **k: a.igammac(x, **k))}


@pytest.mark.parametrize("kernel", ["scipy", "numpy"])
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
@pytest.mark.parametrize("fn, args, options", IGAMMA)
def test_igamma_matches_torch(fn, args, options, function, kernel, monkeypatch):
    if kernel == "scipy":
        pytest.importorskip("scipy")
    monkeypatch.setattr(igamma_kernels, "USE_SCIPY", kernel == "scipy")
    check(fn, *args, FUNCTIONS[function], **options)


@pytest.mark.parametrize("function", ["igamma", "igammac", "gammainc", "gammaincc"])
def test_igamma_out_matches_torch(function):
    check(lambda m, a, x: FUNCTIONS[function](m)(a, x, out=m.zeros(3, dtype=m.float64)),
          Arg(np.array([1.0, 2.0, 3.0]), False), Arg(np.array([1.0, 1.0, 1.0]), False))


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_gradient_for_a_raises_at_backward_as_in_torch(name):
    for m in (torch, dg):
        a = m.tensor([1.5, 2.0], dtype=m.float64, requires_grad=True)
        y = getattr(m, name)(a, m.tensor([1.0, 3.0], dtype=m.float64))
        assert y.requires_grad
        with pytest.raises(NotImplementedError, match="is not implemented"):
            y.sum().backward()


def test_igamma_inplace_matches_torch():
    for name in ("igamma_", "igammac_"):
        values = []
        for m in (torch, dg):
            a = m.tensor([0.5, 2.0, 9.0], dtype=m.float64)
            assert getattr(a, name)(m.tensor([1.0, 3.0, 8.0], dtype=m.float64)) is a
            values.append(np.asarray(a.tolist()))
        np.testing.assert_allclose(values[1], values[0], rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# range (deprecated; warns in both) and is_inference.

RANGE = [
    case("ints", lambda m: m.range(1, 4)),
    case("step", lambda m: m.range(0, 1, 0.1)),
    case("step-3", lambda m: m.range(0, 10, 3)),
    case("down", lambda m: m.range(4, 1, -1)),
    case("fraction", lambda m: m.range(1.5, 4)),
    case("int64", lambda m: m.range(0.5, 3, dtype=m.int64)),
    case("float64", lambda m: m.range(-1, 1, 0.25, dtype=m.float64)),
    case("requires-grad", lambda m: m.range(0, 2, requires_grad=True)),
    case("step-0", lambda m: m.range(1, 4, 0)),
    case("wrong-sign", lambda m: m.range(4, 1)),
    case("no-end", lambda m: m.range(4)),
]


@pytest.mark.parametrize("fn, args, options", RANGE)
def test_range_matches_torch(fn, args, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(fn, *args, grad=False, **options)


def test_range_warns_as_torch():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        dg.range(0, 3)


def _inference_flags(m, x):
    """is_inference of what a program makes inside and outside inference_mode."""
    parameter = m.ones(2, requires_grad=True)
    with m.inference_mode():
        made = x * 2
        flags = [made.is_inference(), m.ones(2).is_inference(), x.view(-1).is_inference(),
                 x[1:].is_inference(), x.unsqueeze(0).is_inference(), x.clone().is_inference(),
                 x.detach().is_inference(), made.view(-1).is_inference(),
                 made.detach().is_inference(), (parameter * 3).is_inference(),
                 m.tensor([1.0]).is_inference(), x.t().contiguous().is_inference()]
        x.add_(1)
        flags.append(x.is_inference())
        with m.inference_mode(False):
            flags.append((x * 2).is_inference())
    with m.no_grad():
        flags.append((x * 2).is_inference())
    flags += [made.is_inference(), m.is_inference(made), parameter.is_inference(),
              made[1:].is_inference(), made.detach().is_inference(), (made * 2).is_inference(),
              made.t().is_inference(), made.reshape(-1).is_inference(), x[0].is_inference()]
    return m.tensor(flags)


def test_is_inference_matches_torch():
    check(_inference_flags, Arg(f64(3, 2), requires_grad=False), grad=False)


def test_is_inference_needs_a_tensor():
    check(lambda m: m.is_inference(3), grad=False)


def test_histogram_default_bins_and_where_of_a_0d_condition():
    x = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    check(lambda m, x: m.histogram(x).hist, Arg(x), grad=False)
    check(lambda m, x: m.histogram(x)[1], Arg(x), grad=False)
    for value in (0.7, 0.0):
        check(lambda m, c: m.where(c)[0], Arg(np.array(value, np.float32)), grad=False)
