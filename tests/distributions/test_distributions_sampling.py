"""Sampling: seeded determinism, the statistics of large samples (means, variances,
frequencies) against the distributions' own moments, and reparameterised gradients (exact
where the path is explicit; the implicit Gamma gradient against PyTorch's, finite differences
and its expectation)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import distributions as dist

N = 20_000


def _stats_cases():
    t = dg.tensor
    return [
        ("normal", lambda: dist.Normal(t([0.5, -2.0]), t([1.5, 0.3]))),
        ("uniform", lambda: dist.Uniform(t([0.0, -3.0]), t([1.0, 5.0]))),
        ("laplace", lambda: dist.Laplace(t([0.5, -1.0]), t([2.0, 0.5]))),
        ("exponential", lambda: dist.Exponential(t([0.5, 4.0]))),
        ("gamma", lambda: dist.Gamma(t([0.3, 2.0, 50.0]), t([1.0, 2.0, 5.0]))),
        ("chi2", lambda: dist.Chi2(t([1.0, 6.0]))),
        ("beta", lambda: dist.Beta(t([0.5, 2.0, 8.0]), t([0.5, 5.0, 1.0]))),
        ("dirichlet", lambda: dist.Dirichlet(t([[0.3, 1.0, 4.0], [2.0, 2.0, 2.0]]))),
        ("bernoulli", lambda: dist.Bernoulli(probs=t([0.1, 0.5, 0.95]))),
        ("bernoulli-logits", lambda: dist.Bernoulli(logits=t([-2.0, 3.0]))),
        ("onehot", lambda: dist.OneHotCategorical(probs=t([[0.1, 0.0, 0.6, 0.3]]))),
        ("poisson", lambda: dist.Poisson(t([0.5, 3.0, 40.0]))),
        ("binomial", lambda: dist.Binomial(t([1.0, 10.0, 30.0]), t([0.3, 0.5, 0.9]))),
        ("lognormal", lambda: dist.LogNormal(t([0.0, 1.0]), t([0.5, 0.25]))),
        ("mvn", lambda: dist.MultivariateNormal(t([1.0, -1.0]),
                                                t([[2.0, 0.6], [0.6, 0.5]]))),
        ("independent", lambda: dist.Independent(dist.Normal(t([[0.0, 1.0]]), 2.0), 1)),
    ]


CASES = _stats_cases()


@pytest.mark.parametrize("case_id,make", CASES, ids=[c[0] for c in CASES])
def test_sample_statistics(case_id, make):
    dg.manual_seed(0)
    d = make()
    x = d.sample((N,)).numpy().astype(np.float64)
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    # 6 standard errors of the mean; the sample variance within 6 of its own (via 4th moment)
    se_mean = np.sqrt(var / N)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 6 * se_mean + 1e-12)
    centred = x - mean
    se_var = np.sqrt(np.maximum((centred**4).mean(0) - var**2, 0) / N)
    # (+ the estimated mean's own error, which dominates where the 4th moment term vanishes)
    np.testing.assert_array_less(np.abs(x.var(0) - var), 6 * se_var + 40 * var / N + 1e-12)
    assert bool(d.support.check(dg.tensor(x, dtype=d.sample().dtype)).all())


def test_mvn_sample_covariance():
    dg.manual_seed(1)
    cov = np.array([[2.0, 0.6, 0.1], [0.6, 0.5, 0.0], [0.1, 0.0, 1.0]])
    for kind in ("covariance_matrix", "precision_matrix", "scale_tril"):
        given = {"covariance_matrix": cov, "precision_matrix": np.linalg.inv(cov),
                 "scale_tril": np.linalg.cholesky(cov)}[kind]
        d = dist.MultivariateNormal(dg.zeros(3, dtype=dg.float64),
                                    **{kind: dg.tensor(given, dtype=dg.float64)})
        x = d.sample((N,)).numpy()
        np.testing.assert_allclose(np.cov(x.T), cov, atol=0.06)
        np.testing.assert_allclose(d.covariance_matrix.numpy(), cov, atol=1e-12)


def test_categorical_frequencies_and_zero_probabilities():
    dg.manual_seed(2)
    probs = np.array([[0.0, 0.1, 0.6, 0.3, 0.0], [0.25, 0.25, 0.0, 0.25, 0.25]])
    draws = dist.Categorical(probs=dg.tensor(probs)).sample((N,)).numpy()
    assert draws.dtype == np.int64 and draws.shape == (N, 2)
    for row in range(2):
        freq = np.bincount(draws[:, row], minlength=5) / N
        assert np.all(freq[probs[row] == 0] == 0)
        np.testing.assert_allclose(freq, probs[row], atol=6 * np.sqrt(0.25 / N))


def test_categorical_large_batch_rows_stay_in_their_row():
    # The inverse CDF shares one sorted array between rows: each draw must come from its row.
    dg.manual_seed(3)
    k = 7
    hot = np.arange(1000) % k
    probs = np.full((1000, k), 1e-12)
    probs[np.arange(1000), hot] = 1.0
    draws = dist.Categorical(probs=dg.tensor(probs)).sample((5,)).numpy()
    assert np.all(draws == hot)


def test_seeded_sampling_is_deterministic():
    for _, make in CASES:
        dg.manual_seed(7)
        a = make().sample((3,)).numpy()
        dg.manual_seed(7)
        b = make().sample((3,)).numpy()
        np.testing.assert_array_equal(a, b)
    dg.manual_seed(7)
    c = dist.Categorical(logits=dg.zeros(4)).sample((3,)).numpy()
    dg.manual_seed(7)
    assert np.array_equal(c, dist.Categorical(logits=dg.zeros(4)).sample((3,)).numpy())


def test_sample_has_no_gradient_but_rsample_does():
    loc = dg.tensor([0.0, 1.0], requires_grad=True)
    d = dist.Normal(loc, 1.0)
    assert not d.sample((2,)).requires_grad and d.rsample((2,)).requires_grad
    conc = dg.tensor([1.0, 2.0], requires_grad=True)
    assert not dist.Gamma(conc, 1.0).sample().requires_grad
    assert dist.Beta(conc, 1.0).rsample().requires_grad
    assert not dist.Categorical(logits=loc).sample().requires_grad


def _leaf(values):
    return dg.tensor(values, dtype=dg.float64, requires_grad=True)


def test_explicit_reparameterisations_have_exact_gradients():
    dg.manual_seed(4)
    loc, scale = _leaf([0.5, -1.0]), _leaf([2.0, 0.5])
    x = dist.Normal(loc, scale).rsample((50,))
    x.sum().backward()
    eps = (x.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
    np.testing.assert_allclose(loc.grad.numpy(), [50, 50])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-12)

    for make in (lambda a, b: dist.Laplace(a, b), lambda a, b: dist.LogNormal(a, b)):
        loc, scale = _leaf([0.5, -1.0]), _leaf([2.0, 0.5])
        d = make(loc, scale)
        x = d.rsample((50,))
        x.sum().backward()
        base = d.base_dist if isinstance(d, dist.LogNormal) else None
        if base is None:  # Laplace: x = loc + scale * e
            e = (x.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
            np.testing.assert_allclose(loc.grad.numpy(), [50, 50])
        else:  # LogNormal: x = exp(loc + scale * e)
            e = (np.log(x.detach().numpy()) - loc.detach().numpy()) / scale.detach().numpy()
            np.testing.assert_allclose(loc.grad.numpy(), x.detach().numpy().sum(0), rtol=1e-12)
            e = e * x.detach().numpy()
        np.testing.assert_allclose(scale.grad.numpy(), e.sum(0), rtol=1e-10)

    rate = _leaf([0.5, 3.0])
    x = dist.Exponential(rate).rsample((50,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), (-x.detach().numpy() / rate.detach().numpy())
                               .sum(0), rtol=1e-12)

    low, high = _leaf([0.0, -2.0]), _leaf([1.0, 3.0])
    x = dist.Uniform(low, high).rsample((50,))
    x.sum().backward()
    u = (x.detach().numpy() - low.detach().numpy()) / (high - low).detach().numpy()
    np.testing.assert_allclose(high.grad.numpy(), u.sum(0), rtol=1e-10)
    np.testing.assert_allclose(low.grad.numpy(), (1 - u).sum(0), rtol=1e-10)

    loc = _leaf([1.0, 2.0])
    tril = _leaf([[1.0, 0.0], [0.5, 2.0]])
    x = dist.MultivariateNormal(loc, scale_tril=tril).rsample((50,))
    x.sum().backward()
    eps = np.linalg.solve(tril.detach().numpy(), (x.detach().numpy() - [1.0, 2.0]).T).T
    np.testing.assert_allclose(loc.grad.numpy(), [50, 50])
    # (the product reads the whole matrix, so its upper zeros get gradients too, as in PyTorch)
    np.testing.assert_allclose(tril.grad.numpy(), np.ones((2, 1)) * eps.sum(0), rtol=1e-10)


def test_gamma_rsample_gradient_matches_torch_at_the_same_draws():
    torch = pytest.importorskip("torch")
    if not hasattr(torch, "_standard_gamma_grad"):
        pytest.skip("this PyTorch has no _standard_gamma_grad")
    dg.manual_seed(5)
    conc = _leaf(np.array([0.05, 0.4, 1.0, 3.0, 12.0, 150.0]))
    x = dist.Gamma(conc, 1.0).rsample((40,))
    x.sum().backward()
    draws = x.detach().numpy()
    expected = torch._standard_gamma_grad(torch.tensor(np.broadcast_to(
        conc.detach().numpy(), draws.shape).copy()), torch.tensor(draws)).sum(0).numpy()
    # PyTorch evaluates the same derivative with approximations good to ~1e-4.
    np.testing.assert_allclose(conc.grad.numpy(), expected, rtol=2e-3)


def test_gamma_rsample_gradient_against_finite_differences():
    special = pytest.importorskip("scipy.special")
    from deltagrad.distributions._gamma_numerics import standard_gamma_grad

    rng = np.random.default_rng(6)
    alpha = np.concatenate([rng.uniform(0.01, 3, 100), rng.uniform(3, 500, 100)])
    x = np.maximum(rng.standard_gamma(alpha), 1e-300)
    h = 1e-6 * alpha
    d_cdf = (special.gammainc(alpha + h, x) - special.gammainc(alpha - h, x)) / (2 * h)
    density = np.exp((alpha - 1) * np.log(x) - x - special.gammaln(alpha))
    np.testing.assert_allclose(standard_gamma_grad(alpha, x), -d_cdf / density, rtol=1e-5,
                               atol=1e-12)


def test_gamma_rsample_gradient_is_unbiased():
    # d/dalpha E[x] = 1 / rate for x ~ Gamma(alpha, rate)
    dg.manual_seed(8)
    conc, rate = _leaf([0.3, 2.0, 20.0]), _leaf([1.0, 2.0, 0.5])
    x = dist.Gamma(conc, rate).rsample((N,))
    x.mean(0).sum().backward()
    np.testing.assert_allclose(conc.grad.numpy(), 1 / rate.detach().numpy(), rtol=0.05)
    # d/drate E[x] = -alpha / rate^2
    np.testing.assert_allclose(rate.grad.numpy(),
                               -(conc / rate**2).detach().numpy(), rtol=0.05)


def test_beta_and_dirichlet_rsample_gradients_are_unbiased():
    dg.manual_seed(9)
    a, b = _leaf([0.7, 3.0]), _leaf([2.0, 1.5])
    dist.Beta(a, b).rsample((N,)).mean(0).sum().backward()
    av, bv = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_allclose(a.grad.numpy(), bv / (av + bv) ** 2, rtol=0.06)
    np.testing.assert_allclose(b.grad.numpy(), -av / (av + bv) ** 2, rtol=0.06)

    conc = _leaf([0.5, 1.0, 3.0])
    weights = np.array([1.0, -2.0, 0.5])
    x = dist.Dirichlet(conc).rsample((N,))
    (x * dg.tensor(weights)).sum(-1).mean().backward()
    c = conc.detach().numpy()
    total = c.sum()
    # d/dc_j sum_i w_i c_i / total = w_j / total - sum_i w_i c_i / total^2
    expected = weights / total - (weights * c).sum() / total**2
    np.testing.assert_allclose(conc.grad.numpy(), expected, rtol=0.08, atol=0.004)


def test_gamma_cdf_gradient_in_the_concentration():
    # PyTorch has none; check against finite differences of the value itself.
    a = _leaf([0.5, 2.0, 30.0])
    x = dg.tensor([0.3, 2.5, 28.0], dtype=dg.float64)
    assert dg.gradcheck(lambda c: dist.Gamma(c, 1.0).cdf(x), (a,))
