"""kl_divergence against PyTorch (values and gradients for every registered pair, infinite
cases included) and register_kl's dispatch rules."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dist_helpers import Arg, D, Draws, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad import distributions as dist  # noqa: E402

RNG = np.random.default_rng(1)
_draws = Draws(RNG)
real, pos, unit, spd = _draws.real, _draws.pos, _draws.unit, _draws.spd


def kl(m, p, q):
    return D(m).kl_divergence(p, q)


CASES = [
    ("normal-normal", lambda m, a, b, c, d: kl(m, D(m).Normal(a, b), D(m).Normal(c, d)),
     [real(3), pos(3), real(2, 3), pos(2, 3)]),
    ("categorical-logits", lambda m, z, w: kl(m, D(m).Categorical(logits=z),
                                              D(m).Categorical(logits=w)),
     [real(2, 4), real(4)]),
    ("categorical-probs", lambda m, p, q: kl(m, D(m).Categorical(probs=p),
                                             D(m).Categorical(probs=q)),
     [pos(2, 4), pos(2, 4)]),
    ("categorical-zeros", lambda m, p, q: kl(m, D(m).Categorical(probs=p),
                                             D(m).Categorical(probs=q)),
     [np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]]),
      np.array([[0.1, 0.4, 0.5], [0.0, 0.5, 0.5]])]),
    ("onehot-onehot", lambda m, z, w: kl(m, D(m).OneHotCategorical(logits=z),
                                         D(m).OneHotCategorical(logits=w)),
     [real(2, 4), real(2, 4)]),
    ("bernoulli-probs", lambda m, p, q: kl(m, D(m).Bernoulli(probs=p), D(m).Bernoulli(probs=q)),
     [unit(3), unit(3)]),
    ("bernoulli-logits", lambda m, z, w: kl(m, D(m).Bernoulli(logits=z),
                                            D(m).Bernoulli(logits=w)),
     [real(2, 3), real(2, 3)]),
    ("bernoulli-edges", lambda m, p, q: kl(m, D(m).Bernoulli(probs=p), D(m).Bernoulli(probs=q)),
     [np.array([0.0, 1.0, 0.3, 0.3]), np.array([0.5, 0.5, 0.0, 1.0])]),
    ("uniform-uniform", lambda m, a, w, b, v: kl(m, D(m).Uniform(a, a + w),
                                                 D(m).Uniform(a - b, a + w + v)),
     [real(3), pos(3), pos(3), pos(3)]),
    ("uniform-outside", lambda m, a, w, b: kl(m, D(m).Uniform(a, a + w),
                                              D(m).Uniform(a + b, a + w)),
     [real(3), pos(3), pos(3)]),
    ("mvn-cov-cov", lambda m, a, s, b, t: kl(m, D(m).MultivariateNormal(a, covariance_matrix=s),
                                             D(m).MultivariateNormal(b, covariance_matrix=t)),
     [real(3), spd(3), real(2, 3), spd(3, 2)]),
    ("mvn-tril-precision", lambda m, a, s, b, t: kl(
        m, D(m).MultivariateNormal(a, scale_tril=m.linalg.cholesky(s) if m is torch
                                   else D(m).multivariate_normal.cholesky(s)),
        D(m).MultivariateNormal(b, precision_matrix=t)),
     [real(3), spd(3), real(3), spd(3)]),
    ("independent-independent", lambda m, a, b, c, d: kl(
        m, D(m).Independent(D(m).Normal(a, b), 1), D(m).Independent(D(m).Normal(c, d), 1)),
     [real(2, 3), pos(2, 3), real(2, 3), pos(2, 3)]),
    ("independent-2", lambda m, a, b, c, d: kl(
        m, D(m).Independent(D(m).Normal(a, b), 2), D(m).Independent(D(m).Normal(c, d), 2)),
     [real(2, 3), pos(2, 3), real(2, 3), pos(2, 3)]),
    ("exponential", lambda m, a, b: kl(m, D(m).Exponential(a), D(m).Exponential(b)),
     [pos(3), pos(3)]),
    ("laplace", lambda m, a, b, c, d: kl(m, D(m).Laplace(a, b), D(m).Laplace(c, d)),
     [real(3), pos(3), real(3), pos(3)]),
    ("gamma", lambda m, a, b, c, d: kl(m, D(m).Gamma(a, b), D(m).Gamma(c, d)),
     [pos(3), pos(3), pos(3), pos(3)]),
    ("beta", lambda m, a, b, c, d: kl(m, D(m).Beta(a, b), D(m).Beta(c, d)),
     [pos(3), pos(3), pos(3), pos(3)]),
    ("dirichlet", lambda m, a, b: kl(m, D(m).Dirichlet(a), D(m).Dirichlet(b)),
     [pos(2, 4), pos(2, 4)]),
    ("poisson", lambda m, a, b: kl(m, D(m).Poisson(a), D(m).Poisson(b)), [pos(3), pos(3)]),
    ("binomial", lambda m, p, q: kl(m, D(m).Binomial(5, p), D(m).Binomial(5, q)),
     [unit(3), unit(3)]),
    ("lognormal", lambda m, a, b, c, d: kl(m, D(m).LogNormal(a, b), D(m).LogNormal(c, d)),
     [real(3), pos(3), real(3), pos(3)]),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_kl_matches_torch(case_id, fn, arrays, dtype):
    args = [Arg(np.asarray(a, dtype=dtype)) for a in arrays]
    if dtype == np.float64:
        check(fn, *args, rtol=1e-6, atol=1e-9)
    else:
        check(fn, *args, rtol=2e-4, atol=2e-5)


def test_kl_errors_match_torch():
    mvn3 = lambda m: D(m).MultivariateNormal(m.zeros(3), m.eye(3))  # noqa: E731
    mvn2 = lambda m: D(m).MultivariateNormal(m.zeros(2), m.eye(2))  # noqa: E731
    check(lambda m: kl(m, mvn3(m), mvn2(m)), grad=False)
    check(lambda m: kl(m, D(m).Normal(0.0, 1.0), D(m).Categorical(logits=m.zeros(3))),
          grad=False)
    check(lambda m: kl(m, D(m).Independent(D(m).Normal(m.zeros(2, 3), 1.0), 1),
                       D(m).Independent(D(m).Normal(m.zeros(2, 3), 1.0), 2)), grad=False)
    check(lambda m: kl(m, D(m).Binomial(3, m.tensor([0.5])), D(m).Binomial(5, m.tensor([0.5]))),
          grad=False)


def test_kl_binomial_more_trials_is_infinite():
    value = dist.kl_divergence(dist.Binomial(dg.tensor([5.0, 3.0]), dg.tensor([0.5, 0.5])),
                               dist.Binomial(3, dg.tensor([0.5, 0.5])))
    assert np.isinf(value.numpy()[0]) and value.numpy()[1] == 0


def test_register_kl_prefers_the_most_specific_pair():
    class MyNormal(dist.Normal):
        pass

    @dist.register_kl(MyNormal, dist.Normal)
    def _kl_mine(p, q):
        return dg.zeros(p.batch_shape) + 42.0

    assert float(dist.kl_divergence(MyNormal(0.0, 1.0), dist.Normal(0.0, 2.0))) == 42.0
    # the plain pair still uses the closed form, and the reverse order is not affected
    assert float(dist.kl_divergence(dist.Normal(0.0, 1.0), dist.Normal(0.0, 1.0))) == 0.0
    assert float(dist.kl_divergence(dist.Normal(0.0, 1.0), MyNormal(0.0, 1.0))) == 0.0


def test_register_kl_warns_when_ambiguous():
    class A(dist.Normal):
        pass

    class B(dist.Normal):
        pass

    dist.register_kl(A, dist.Normal)(lambda p, q: dg.tensor(1.0))
    dist.register_kl(dist.Normal, B)(lambda p, q: dg.tensor(2.0))
    with pytest.warns(RuntimeWarning, match="Ambiguous"):
        assert float(dist.kl_divergence(A(0.0, 1.0), B(0.0, 1.0))) == 1.0


def test_register_kl_rejects_non_classes():
    # PyTorch accepts any class (pyro registers its Distribution mixin, which is not a torch
    # Distribution); only a non-class is a TypeError.
    with pytest.raises(TypeError):
        dist.register_kl(3, dist.Normal)


def test_kl_gradient_flows_to_both_arguments():
    loc = dg.tensor([0.3, -0.2], requires_grad=True)
    scale = dg.tensor([1.5, 0.7], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = dist.kl_divergence(dist.Normal(loc, scale), dist.Normal(0.0, 1.0)).sum()
    value.backward()
    # d/dloc KL(N(mu, s) || N(0, 1)) = mu ; d/ds = s - 1/s
    np.testing.assert_allclose(loc.grad.numpy(), [0.3, -0.2], rtol=1e-6)
    np.testing.assert_allclose(scale.grad.numpy(), [1.5 - 1 / 1.5, 0.7 - 1 / 0.7], rtol=1e-6)


def test_kl_bernoulli_broadcasts_where_torch_cannot():
    # PyTorch's in-place masking fails (IndexError) for batch shapes that differ; the closed
    # form broadcasts here and equals PyTorch's on the expanded parameters.
    z, w = real(3), real(2, 3)
    got = dist.kl_divergence(dist.Bernoulli(logits=dg.tensor(z)),
                             dist.Bernoulli(logits=dg.tensor(w)))
    expected = torch.distributions.kl_divergence(
        torch.distributions.Bernoulli(logits=torch.tensor(np.broadcast_to(z, (2, 3)).copy())),
        torch.distributions.Bernoulli(logits=torch.tensor(w)))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)
