"""Transforms (values, inverses, log-determinants against PyTorch, caching, composition) and
the differentiable Cholesky factorisation behind MultivariateNormal."""

import pathlib
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "parity"))

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad import distributions as dist  # noqa: E402
from deltagrad.distributions.multivariate_normal import _Cholesky, cholesky  # noqa: E402

RNG = np.random.default_rng(3)


def T(m):
    return m.distributions.transforms


TRANSFORMS = [
    ("exp", lambda m: T(m).ExpTransform(), RNG.standard_normal(4)),
    ("sigmoid", lambda m: T(m).SigmoidTransform(), RNG.standard_normal(4) * 3),
    ("tanh", lambda m: T(m).TanhTransform(), RNG.standard_normal(4) * 2),
    ("softplus", lambda m: T(m).SoftplusTransform(), RNG.standard_normal(4) * 2),
    ("affine", lambda m: T(m).AffineTransform(0.5, -2.0), RNG.standard_normal(4)),
    ("affine-tensor", lambda m: T(m).AffineTransform(m.ones(4), m.tensor([1.0, -2.0, 3.0, 0.5],
                                                                         dtype=m.float64)),
     RNG.standard_normal(4)),
    ("affine-event", lambda m: T(m).AffineTransform(0.0, 3.0, event_dim=1),
     RNG.standard_normal((2, 4))),
    ("power", lambda m: T(m).PowerTransform(m.tensor(2.5, dtype=m.float64)),
     RNG.uniform(0.5, 2, 4)),
    ("compose", lambda m: T(m).ComposeTransform([T(m).AffineTransform(1.0, 2.0),
                                                 T(m).ExpTransform()]), RNG.standard_normal(4)),
    ("inverse-exp", lambda m: T(m).ExpTransform().inv, RNG.uniform(0.5, 2, 4)),
    ("identity", lambda m: T(m).identity_transform, RNG.standard_normal(4)),
]


@pytest.mark.parametrize("case_id,make,x", TRANSFORMS, ids=[c[0] for c in TRANSFORMS])
def test_transform_matches_torch(case_id, make, x):
    def run(m, x):
        t = make(m)
        y = t(x)
        return [y, t.inv(y), t.log_abs_det_jacobian(x, y), t.bijective,
                t.domain.event_dim, t.codomain.event_dim]
    check(run, Arg(x))


def test_cache_returns_the_same_input_object():
    t = dist.transforms.ExpTransform().with_cache(1)
    x = dg.tensor([0.5, 1.5])
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert dist.transforms.ExpTransform().inv(y) is not x
    with pytest.raises(ValueError):
        dist.transforms.ExpTransform(cache_size=2)


def test_transform_equality_signs_and_repr():
    tr = dist.transforms
    assert tr.ExpTransform() == tr.ExpTransform() and tr.ExpTransform() != tr.TanhTransform()
    assert tr.AffineTransform(1.0, 2.0) == tr.AffineTransform(1.0, 2.0)
    assert tr.AffineTransform(1.0, 2.0) != tr.AffineTransform(1.0, 3.0)
    assert tr.AffineTransform(0.0, -2.0).sign == -1 and tr.ExpTransform().inv.sign == 1
    assert tr.ExpTransform().inv.inv == tr.ExpTransform()
    assert repr(tr.ExpTransform().inv) == "_InverseTransform(ExpTransform())"
    compose = tr.ComposeTransform([tr.ExpTransform(), tr.AffineTransform(0.0, -1.0)])
    assert compose.sign == -1 and compose.inv.inv is compose
    assert dist.LogNormal(0.0, 1.0).transforms == [tr.ExpTransform()]


def test_decreasing_transform_cdf_matches_torch():
    def cdf(m, x):
        d = m.distributions
        flipped = d.TransformedDistribution(d.Normal(0.3, 1.2),
                                            [d.transforms.AffineTransform(1.0, -2.0)])
        return [flipped.cdf(x), flipped.icdf(m.sigmoid(x))]
    check(cdf, Arg(RNG.standard_normal(5)))


def test_transformed_samples_lie_in_the_support():
    dg.manual_seed(0)
    d = dist.TransformedDistribution(dist.Normal(dg.zeros(3), 3.0),
                                     [dist.transforms.TanhTransform()])
    x = d.rsample((1000,))
    assert bool(d.support.check(x).all()) and x.shape == (1000, 3)
    assert d.batch_shape == (3,) and d.event_shape == ()


def _symmetric(n, *batch):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("factor", [cholesky, _Cholesky.apply], ids=["used", "fallback"])
@pytest.mark.parametrize("shape", [(1,), (3,), (4, 2)], ids=["1x1", "3x3", "batch"])
def test_cholesky_matches_torch(shape, factor):
    # `cholesky` is the engine's where the tree has it; the Function is the stand-in otherwise.
    n, *batch = shape
    check(lambda m, a: (m.linalg.cholesky(a) if m is torch else factor(a)),
          Arg(_symmetric(n, *batch)), rtol=1e-8, atol=1e-10)


def test_cholesky_gradcheck_and_errors():
    base = dg.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
    shift = 3 * dg.eye(3, dtype=dg.float64)
    for factor in (cholesky, _Cholesky.apply):
        assert dg.gradcheck(lambda b, f=factor: f(b @ b.transpose(-2, -1) + shift), (base,))
        check(lambda m, a, f=factor: (m.linalg.cholesky(a) if m is torch else f(a)),
              Arg(np.array([[1.0, 2.0], [2.0, 1.0]])), grad=False)
    with pytest.raises(RuntimeError, match="square"):
        cholesky(dg.ones(2, 3))
