"""Distributions against PyTorch: the same parameters give the same log_prob, entropy, moments,
cdf / icdf and gradients with respect to every parameter, in float64 and float32, with
broadcast and scalar parameters."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dist_helpers import Arg, D, Draws, check, stat_cases  # noqa: E402

RNG = np.random.default_rng(0)
_draws = Draws(RNG)
real, pos, unit, spd = _draws.real, _draws.pos, _draws.unit, _draws.spd


def simplex(*shape):
    w = RNG.uniform(0.1, 1.0, shape)
    return w / w.sum(-1, keepdims=True)


def tril(n, *batch):
    lower = np.tril(RNG.standard_normal(batch + (n, n)), -1)
    return lower + np.eye(n) * RNG.uniform(0.5, 1.5, batch + (n,))[..., None]


# (id, fn(m, *tensors), list of arrays [float64]); each runs in float64 and float32.
CASES = []


def add(case_id, fn, *arrays, grad=True):
    CASES.append((case_id, fn, arrays, grad))


def add_stats(name, make, *arrays, skip=()):
    for case_id, fn in stat_cases(name, make, ("entropy", "mean", "variance", "stddev")):
        if not any(case_id.endswith(s) for s in skip):
            add(case_id, fn, *arrays)


# Normal
normal = lambda m, loc, scale: D(m).Normal(loc, scale)  # noqa: E731
add("normal-log_prob", lambda m, a, b, x: normal(m, a, b).log_prob(x), real(3), pos(3), real(2, 3))
add("normal-log_prob-broadcast", lambda m, a, b, x: normal(m, a, b).log_prob(x),
    real(2, 1), pos(3), real(4, 2, 3))
add("normal-number-loc", lambda m, b, x: D(m).Normal(0.5, b).log_prob(x), pos(3), real(3))
add("normal-cdf", lambda m, a, b, x: normal(m, a, b).cdf(x), real(3), pos(3), real(2, 3))
add("normal-icdf", lambda m, a, b, u: normal(m, a, b).icdf(u), real(3), pos(3), unit(2, 3))
add("normal-0d", lambda m, a, b, x: normal(m, a, b).log_prob(x), real(), pos(), real(5))
add_stats("normal", normal, real(2, 3), pos(2, 3))
add("normal-mode", lambda m, a, b: normal(m, a, b).mode, real(3), pos(3))
add("normal-perplexity", lambda m, a, b: normal(m, a, b).perplexity(), real(3), pos(3))

# Uniform
uniform = lambda m, low, width: D(m).Uniform(low, low + width)  # noqa: E731
add("uniform-log_prob", lambda m, lo, w, u: uniform(m, lo, w).log_prob(lo + w * u),
    real(3), pos(3), unit(2, 3))
add("uniform-cdf", lambda m, lo, w, x: uniform(m, lo, w).cdf(x), real(3), pos(3), real(2, 3))
add("uniform-icdf", lambda m, lo, w, u: uniform(m, lo, w).icdf(u), real(3), pos(3), unit(2, 3))
add_stats("uniform", uniform, real(3), pos(3))

# Laplace
laplace = lambda m, loc, scale: D(m).Laplace(loc, scale)  # noqa: E731
add("laplace-log_prob", lambda m, a, b, x: laplace(m, a, b).log_prob(x),
    real(3), pos(3), real(2, 3))
add("laplace-cdf", lambda m, a, b, x: laplace(m, a, b).cdf(x), real(3), pos(3), real(2, 3))
add("laplace-icdf", lambda m, a, b, u: laplace(m, a, b).icdf(u), real(3), pos(3), unit(2, 3))
add_stats("laplace", laplace, real(3), pos(3))

# Exponential
exponential = lambda m, rate: D(m).Exponential(rate)  # noqa: E731
add("exponential-log_prob", lambda m, r, x: exponential(m, r).log_prob(x), pos(3), pos(2, 3))
add("exponential-cdf", lambda m, r, x: exponential(m, r).cdf(x), pos(3), pos(2, 3))
add("exponential-icdf", lambda m, r, u: exponential(m, r).icdf(u), pos(3), unit(2, 3))
add_stats("exponential", exponential, pos(3))

# Gamma, Chi2, Beta, Dirichlet
gamma = lambda m, c, r: D(m).Gamma(c, r)  # noqa: E731
add("gamma-log_prob", lambda m, c, r, x: gamma(m, c, r).log_prob(x), pos(3), pos(3), pos(2, 3))
add("gamma-mode", lambda m, c, r: gamma(m, c, r).mode, pos(3, low=0.5, high=3.0), pos(3))
add_stats("gamma", gamma, pos(3), pos(3))
# (PyTorch has no gradient of gammainc in the concentration: only the rate and x get one)
add("gamma-cdf", lambda m, c, r, x: gamma(m, c, r).cdf(x),
    Arg(pos(3), requires_grad=False), pos(3), pos(2, 3))
add("gamma-cdf-large-x", lambda m, c, r, x: gamma(m, c, r).cdf(x),
    Arg(pos(3), requires_grad=False), pos(3), pos(2, 3, low=3, high=20))
add("chi2-log_prob", lambda m, df, x: D(m).Chi2(df).log_prob(x), pos(3), pos(2, 3))
add("chi2-entropy", lambda m, df: D(m).Chi2(df).entropy(), pos(3))
beta = lambda m, a, b: D(m).Beta(a, b)  # noqa: E731
add("beta-log_prob", lambda m, a, b, x: beta(m, a, b).log_prob(x), pos(3), pos(3), unit(2, 3))
add("beta-mode", lambda m, a, b: beta(m, a, b).mode, pos(3, low=1.5, high=3), pos(3))
add_stats("beta", beta, pos(3), pos(3))
dirichlet = lambda m, c: D(m).Dirichlet(c)  # noqa: E731
add("dirichlet-log_prob", lambda m, c, x: dirichlet(m, c).log_prob(x), pos(2, 4), simplex(3, 2, 4))
add("dirichlet-mode", lambda m, c: dirichlet(m, c).mode, pos(2, 4, low=1.5, high=3))
add_stats("dirichlet", dirichlet, pos(2, 4))

# Bernoulli
add("bernoulli-probs-log_prob", lambda m, p, x: D(m).Bernoulli(probs=p).log_prob(x),
    unit(3), Arg(RNG.integers(0, 2, (2, 3)).astype(float), requires_grad=False))
add("bernoulli-logits-log_prob", lambda m, z, x: D(m).Bernoulli(logits=z).log_prob(x),
    np.array([-2.0, 0.0, 3.0]), Arg(RNG.integers(0, 2, (2, 3)).astype(float),
                                    requires_grad=False))
add("bernoulli-logits-of-probs", lambda m, p: D(m).Bernoulli(probs=p).logits, unit(3))
add("bernoulli-probs-of-logits", lambda m, z: D(m).Bernoulli(logits=z).probs, real(3))
add_stats("bernoulli-probs", lambda m, p: D(m).Bernoulli(probs=p), unit(3))
add_stats("bernoulli-logits", lambda m, z: D(m).Bernoulli(logits=z), real(3))
add("bernoulli-mode", lambda m, p: D(m).Bernoulli(probs=p).mode, np.array([0.2, 0.5, 0.7]),
    grad=False)

# Categorical and OneHotCategorical
labels = Arg(RNG.integers(0, 4, (5, 2)))
add("categorical-logits-log_prob", lambda m, z, v: D(m).Categorical(logits=z).log_prob(v),
    real(2, 4), labels)
add("categorical-probs-log_prob", lambda m, p, v: D(m).Categorical(probs=p).log_prob(v),
    pos(2, 4), labels)
add("categorical-float-value", lambda m, z, v: D(m).Categorical(logits=z).log_prob(v),
    real(4), Arg(np.array([0.0, 3.0, 2.0]), requires_grad=False))
add("categorical-logits-entropy", lambda m, z: D(m).Categorical(logits=z).entropy(), real(2, 4))
add("categorical-probs-entropy", lambda m, p: D(m).Categorical(probs=p).entropy(), pos(2, 4))
add("categorical-probs", lambda m, z: D(m).Categorical(logits=z).probs, real(2, 4))
add("categorical-logits", lambda m, p: D(m).Categorical(probs=p).logits, pos(2, 4))
add("categorical-zero-prob-entropy", lambda m, p: D(m).Categorical(probs=p).entropy(),
    np.array([0.0, 0.3, 0.7]))
add("categorical-mode", lambda m, z: D(m).Categorical(logits=z).mode, real(2, 4), grad=False)
add("categorical-mean", lambda m, z: D(m).Categorical(logits=z).mean, real(2, 4))
onehot = np.eye(4)[RNG.integers(0, 4, (5, 2))]
add("onehot-log_prob", lambda m, z, v: D(m).OneHotCategorical(logits=z).log_prob(v),
    real(2, 4), Arg(onehot, requires_grad=False))
add("onehot-entropy", lambda m, p: D(m).OneHotCategorical(probs=p).entropy(), pos(2, 4))
add("onehot-mean", lambda m, p: D(m).OneHotCategorical(probs=p).mean, pos(2, 4))
add("onehot-variance", lambda m, p: D(m).OneHotCategorical(probs=p).variance, pos(2, 4))
add("onehot-mode", lambda m, p: D(m).OneHotCategorical(probs=p).mode, pos(2, 4), grad=False)

# Poisson and Binomial
counts = Arg(RNG.integers(0, 6, (2, 3)).astype(float), requires_grad=False)
add("poisson-log_prob", lambda m, r, k: D(m).Poisson(r).log_prob(k), pos(3), counts)
add("poisson-mean", lambda m, r: D(m).Poisson(r).mean, pos(3))
add("poisson-mode", lambda m, r: D(m).Poisson(r).mode, pos(3, low=0.5, high=5), grad=False)
add("binomial-probs-log_prob",
    lambda m, p, k: D(m).Binomial(total_count=6, probs=p).log_prob(k), unit(3), counts)
add("binomial-logits-log_prob",
    lambda m, z, k: D(m).Binomial(total_count=6, logits=z).log_prob(k),
    np.array([-1.0, 0.0, 2.0]), counts)
add("binomial-tensor-count",
    lambda m, n, p, k: D(m).Binomial(total_count=n, probs=p).log_prob(k),
    Arg(np.array([6.0, 7.0, 9.0]), requires_grad=False), unit(3), counts)
add("binomial-entropy", lambda m, p: D(m).Binomial(total_count=5, probs=p).entropy(), unit(3))
add("binomial-mean", lambda m, p: D(m).Binomial(total_count=5, probs=p).mean, unit(3))
add("binomial-variance", lambda m, p: D(m).Binomial(total_count=5, probs=p).variance, unit(3))
add("binomial-mode", lambda m, p: D(m).Binomial(total_count=5, probs=p).mode, unit(3),
    grad=False)

# LogNormal and TransformedDistribution
lognormal = lambda m, a, b: D(m).LogNormal(a, b)  # noqa: E731
add("lognormal-log_prob", lambda m, a, b, x: lognormal(m, a, b).log_prob(x),
    real(3), pos(3), pos(2, 3))
add("lognormal-cdf", lambda m, a, b, x: lognormal(m, a, b).cdf(x), real(3), pos(3), pos(2, 3))
add("lognormal-icdf", lambda m, a, b, u: lognormal(m, a, b).icdf(u), real(3), pos(3), unit(2, 3))
add("lognormal-mode", lambda m, a, b: lognormal(m, a, b).mode, real(3), pos(3))
add_stats("lognormal", lognormal, real(3), pos(3))


def squashed(m, loc, scale, low, width):
    # A SAC-style action distribution: tanh of a Normal, affinely mapped to [low, low + width].
    t = D(m).transforms
    return D(m).TransformedDistribution(
        D(m).Normal(loc, scale), [t.TanhTransform(), t.AffineTransform(low, width / 2)])


add("tanh-affine-log_prob", lambda m, a, b, lo, w, u: squashed(m, a, b, lo, w).log_prob(
    lo + w / 2 * (2 * u - 1)), real(3), pos(3), real(3), pos(3), unit(2, 3))
add("sigmoid-log_prob", lambda m, a, b, u: D(m).TransformedDistribution(
    D(m).Normal(a, b), D(m).transforms.SigmoidTransform()).log_prob(u), real(3), pos(3), unit(3))
add("softplus-log_prob", lambda m, a, b, x: D(m).TransformedDistribution(
    D(m).Normal(a, b), D(m).transforms.SoftplusTransform()).log_prob(x), real(3), pos(3), pos(3))
add("affine-event-log_prob", lambda m, a, b, s, x: D(m).TransformedDistribution(
    D(m).Independent(D(m).Normal(a, b), 1),
    D(m).transforms.AffineTransform(0.5, s, event_dim=1)).log_prob(x),
    real(2, 3), pos(2, 3), pos(3), real(4, 2, 3))

# Independent
add("independent-log_prob", lambda m, a, b, x: D(m).Independent(
    D(m).Normal(a, b), 1).log_prob(x), real(2, 3), pos(2, 3), real(4, 2, 3))
add("independent-entropy", lambda m, a, b: D(m).Independent(D(m).Normal(a, b), 2).entropy(),
    real(2, 3), pos(2, 3))
add("independent-mean", lambda m, a, b: D(m).Independent(D(m).Normal(a, b), 1).mean,
    real(2, 3), pos(2, 3))

# MultivariateNormal
mvn = D  # (readability below)
add("mvn-cov-log_prob", lambda m, mu, cov, x: D(m).MultivariateNormal(
    mu, covariance_matrix=cov).log_prob(x), real(3), spd(3), real(4, 3))
add("mvn-tril-log_prob", lambda m, mu, low, x: D(m).MultivariateNormal(
    mu, scale_tril=low).log_prob(x), real(2, 3), tril(3), real(4, 2, 3))
add("mvn-precision-log_prob", lambda m, mu, prec, x: D(m).MultivariateNormal(
    mu, precision_matrix=prec).log_prob(x), real(3), spd(3), real(4, 3))
add("mvn-batched-cov-log_prob", lambda m, mu, cov, x: D(m).MultivariateNormal(
    mu, covariance_matrix=cov).log_prob(x), real(3), spd(3, 2), real(5, 1, 3))
add("mvn-cov-entropy", lambda m, mu, cov: D(m).MultivariateNormal(
    mu, covariance_matrix=cov).entropy(), real(2, 3), spd(3))
add("mvn-tril-variance", lambda m, mu, low: D(m).MultivariateNormal(
    mu, scale_tril=low).variance, real(3), tril(3, 2))
add("mvn-tril-covariance", lambda m, mu, low: D(m).MultivariateNormal(
    mu, scale_tril=low).covariance_matrix, real(3), tril(3))
add("mvn-cov-scale_tril", lambda m, mu, cov: D(m).MultivariateNormal(
    mu, covariance_matrix=cov).scale_tril, real(3), spd(3))
# NOTE: PyTorch's cholesky_inverse gives gradients to the upper triangle of scale_tril, which
# its value never reads; here they are zero (README: deliberate divergence), so the factor goes
# through tril() in both libraries.
add("mvn-tril-precision", lambda m, mu, low: D(m).MultivariateNormal(
    mu, scale_tril=m.tril(low)).precision_matrix, real(3), tril(3))
add("mvn-precision-covariance", lambda m, mu, prec: D(m).MultivariateNormal(
    mu, precision_matrix=prec).covariance_matrix, real(3), spd(3))
add("mvn-1d", lambda m, mu, cov, x: D(m).MultivariateNormal(
    mu, covariance_matrix=cov).log_prob(x), real(1), spd(1), real(2, 1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id,fn,arrays,grad", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case_id, fn, arrays, grad, dtype):
    args = []
    for a in arrays:
        if isinstance(a, Arg):
            array = a.array.astype(dtype) if a.array.dtype == np.float64 else a.array
            args.append(Arg(array, requires_grad=a.requires_grad))
        else:
            args.append(Arg(np.asarray(a, dtype=dtype)))
    if dtype == np.float64:
        check(fn, *args, grad=grad, rtol=1e-6, atol=1e-9)
    else:
        check(fn, *args, grad=grad, rtol=2e-4, atol=2e-5)
