"""The distributions added for the program probe (Pareto, Weibull, Kumaraswamy, InverseGamma,
FisherSnedecor, NegativeBinomial, VonMises, ContinuousBernoulli, (Logit)RelaxedBernoulli,
LogisticNormal, LowRankMultivariateNormal) against PyTorch: values, dtypes and gradients of
log_prob / entropy / moments in every parameter (float64 and float32), sample shapes and
dtypes, rsample gradients, expand, supports and validation errors."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from dist_helpers import D, Draws, cast, check, fixed, stat_cases  # noqa: E402

RNG = np.random.default_rng(57)
_draws = Draws(RNG)
real, pos, unit = _draws.real, _draws.pos, _draws.unit


CASES = []


def add(case_id, fn, *arrays):
    CASES.append((case_id, fn, arrays))


def add_all(name, make, params, value, stats=("mean", "variance", "entropy")):
    add(f"{name}-log_prob", lambda m, x, *p: make(m, *p).log_prob(x), value, *params)
    for case_id, fn in stat_cases(name, make, stats):
        add(case_id, fn, *params)


add_all("pareto", lambda m, s, a: D(m).Pareto(s, a), (pos(3, low=0.5, high=1.0),
                                                       pos(3, low=2.5, high=4.0)),
        fixed(pos(2, 3, low=1.0, high=3.0)), stats=("mean", "variance", "entropy", "mode"))
add("pareto-infinite-moments", lambda m, a: (D(m).Pareto(1.0, a).mean,
                                             D(m).Pareto(1.0, a).variance),
    fixed([0.5, 1.5, 3.0]))
add_all("weibull", lambda m, s, k: D(m).Weibull(s, k), (pos(3), pos(3, low=1.2)), pos(2, 3),
        stats=("mean", "variance", "entropy", "mode"))
add_all("kumaraswamy", lambda m, a, b: D(m).Kumaraswamy(a, b), (pos(3), pos(3)), unit(2, 3))
add_all("inversegamma", lambda m, c, r: D(m).InverseGamma(c, r), (pos(3, low=2.5, high=4.0),
                                                                   pos(3)), pos(2, 3),
        stats=("mean", "variance", "entropy", "mode"))
add("inversegamma-infinite-moments", lambda m, c: (D(m).InverseGamma(c, 1.0).mean,
                                                   D(m).InverseGamma(c, 1.0).variance),
    fixed([0.5, 1.5, 3.0]))
add_all("fishersnedecor", lambda m, a, b: D(m).FisherSnedecor(a, b),
        (pos(3, low=2.5, high=6.0), pos(3, low=4.5, high=8.0)), pos(2, 3),
        stats=("mean", "variance", "mode"))
add("fishersnedecor-undefined-moments", lambda m, a, b: (
    D(m).FisherSnedecor(a, b).mean, D(m).FisherSnedecor(a, b).variance,
    D(m).FisherSnedecor(a, b).mode), fixed([1.0, 3.0, 5.0]), fixed([1.5, 3.0, 5.0]))
add_all("negbinomial-probs", lambda m, r, p: D(m).NegativeBinomial(r, probs=p),
        (pos(3), unit(3)), fixed(RNG.integers(0, 5, (2, 3))), stats=("mean", "variance", "mode"))
add_all("negbinomial-logits", lambda m, r, z: D(m).NegativeBinomial(r, logits=z),
        (pos(3), real(3)), fixed(RNG.integers(0, 5, (2, 3))), stats=("mean", "variance"))
add("negbinomial-zero-count", lambda m, p: D(m).NegativeBinomial(
    m.tensor([0.0, 1.0], dtype=p.dtype), probs=p).log_prob(m.zeros(2, dtype=p.dtype)), unit(2))
add_all("vonmises", lambda m, a, k: D(m).VonMises(a, k), (real(3), pos(3, low=0.2, high=30.0)),
        real(2, 3), stats=("mean", "variance", "mode"))
# Probabilities on both sides of 1/2 and inside the Taylor window around it.
CB_PROBS = np.array([0.2, 0.4995, 0.5004, 0.7])
add_all("contbernoulli-probs", lambda m, p: D(m).ContinuousBernoulli(probs=p), (CB_PROBS,),
        unit(2, 4))
add_all("contbernoulli-logits", lambda m, z: D(m).ContinuousBernoulli(logits=z), (real(4),),
        unit(2, 4))
add("contbernoulli-cdf", lambda m, x, p: D(m).ContinuousBernoulli(probs=p).cdf(x),
    np.array([[0.3, 0.5, 0.7, 0.9], [0.1, 0.2, 0.0, 1.0]]), CB_PROBS)
add("contbernoulli-icdf", lambda m, u, p: D(m).ContinuousBernoulli(probs=p).icdf(u),
    unit(2, 4), CB_PROBS)
add("logitrelaxedbernoulli-log_prob", lambda m, x, t, z: D(m).RelaxedBernoulli(
    t, logits=z).base_dist.log_prob(x), real(2, 3), pos(3), real(3))
add("relaxedbernoulli-log_prob", lambda m, x, t, p: D(m).RelaxedBernoulli(
    t, probs=p).log_prob(x), unit(2, 3), pos(3), unit(3))
add("logisticnormal-log_prob", lambda m, x, a, s: D(m).LogisticNormal(a, s).log_prob(x),
    fixed(RNG.dirichlet(np.ones(4), size=2)), real(3), pos(3))
add("stickbreaking-roundtrip", lambda m, x: (
    D(m).transforms.StickBreakingTransform()(x),
    D(m).transforms.StickBreakingTransform().inv(D(m).transforms.StickBreakingTransform()(x))),
    real(2, 3))


def lowrank(m, loc, w, d):
    return D(m).LowRankMultivariateNormal(loc, w, d)


add("lowrank-log_prob", lambda m, x, *p: lowrank(m, *p).log_prob(x), real(4, 3), real(3),
    real(3, 2), pos(3))
add("lowrank-log_prob-batched", lambda m, x, *p: lowrank(m, *p).log_prob(x), real(4, 2, 3),
    real(2, 3), real(3, 2), pos(2, 3))
add("lowrank-entropy-variance", lambda m, *p: (lowrank(m, *p).entropy(),
                                               lowrank(m, *p).variance), real(3), real(3, 2),
    pos(3))
add("lowrank-matrices", lambda m, *p: (lowrank(m, *p).covariance_matrix,
                                       lowrank(m, *p).precision_matrix,
                                       lowrank(m, *p).scale_tril), real(3), real(3, 2), pos(3))


SPD = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.2], [0.1, -0.2, 1.5]])
VALUE = np.array([[3.0, 1.0, 0.2], [1.0, 2.0, 0.1], [0.2, 0.1, 2.5]])


def wishart(m, df, cov):
    return D(m).Wishart(df, covariance_matrix=cov)


add("wishart-log_prob", lambda m, x, df, cov: wishart(m, df, cov).log_prob(x), fixed(VALUE),
    np.array([4.5, 6.0]), fixed(SPD))
add("wishart-log_prob-grad-value", lambda m, x, df, cov: wishart(m, df, cov).log_prob(x),
    VALUE, fixed(5.0), fixed(SPD))
add("wishart-scale_tril", lambda m, x, df, tril: D(m).Wishart(df, scale_tril=tril).log_prob(x),
    fixed(VALUE), np.array(4.5), fixed(np.linalg.cholesky(SPD)))
add("wishart-precision", lambda m, x, df, p: D(m).Wishart(df, precision_matrix=p).log_prob(x),
    fixed(VALUE), np.array(4.5), fixed(np.linalg.inv(SPD)))
add("wishart-moments", lambda m, df, cov: (wishart(m, df, cov).mean,
                                           wishart(m, df, cov).variance,
                                           wishart(m, df, cov).mode,
                                           wishart(m, df, cov).entropy()),
    np.array([4.5, 2.5]), fixed(SPD))
CORR = np.linalg.cholesky(np.array([[1.0, 0.3, 0.2], [0.3, 1.0, -0.1], [0.2, -0.1, 1.0]]))
add("lkj-log_prob", lambda m, x, eta: D(m).LKJCholesky(3, eta).log_prob(x), fixed(CORR),
    np.array([0.5, 1.0, 2.5]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case_id, fn, arrays, dtype):
    args = cast(arrays, dtype)
    if dtype == np.float64:
        # PyTorch's VonMises evaluates log I0 / I1 with polynomial fits (~1e-6 relative).
        check(fn, *args, rtol=1e-5 if case_id.startswith("vonmises") else 1e-6, atol=1e-9)
    else:
        check(fn, *args, rtol=5e-4, atol=5e-5)


MAKERS = {
    "pareto": lambda m: D(m).Pareto(m.ones(3), m.full((3,), 3.0)),
    "weibull": lambda m: D(m).Weibull(m.ones(3), m.full((3,), 2.0)),
    "kumaraswamy": lambda m: D(m).Kumaraswamy(m.ones(3), m.full((3,), 2.0)),
    "inversegamma": lambda m: D(m).InverseGamma(m.full((3,), 3.0), m.ones(3)),
    "fishersnedecor": lambda m: D(m).FisherSnedecor(m.full((3,), 3.0), m.full((3,), 5.0)),
    "negbinomial": lambda m: D(m).NegativeBinomial(m.full((3,), 3.0), probs=m.full((3,), 0.4)),
    "vonmises": lambda m: D(m).VonMises(m.zeros(3), m.full((3,), 2.0)),
    "contbernoulli": lambda m: D(m).ContinuousBernoulli(probs=m.full((3,), 0.3)),
    "logitrelaxed": lambda m: D(m).RelaxedBernoulli(m.tensor(0.5),
                                                    probs=m.full((3,), 0.3)).base_dist,
    "relaxed": lambda m: D(m).RelaxedBernoulli(m.tensor(0.5), probs=m.full((3,), 0.3)),
    "logisticnormal": lambda m: D(m).LogisticNormal(m.zeros(3), m.ones(3)),
    "lowrank": lambda m: D(m).LowRankMultivariateNormal(m.zeros(3), m.ones(3, 2), m.ones(3)),
    "pareto-scalar": lambda m: D(m).Pareto(1.0, 2.0),
    "wishart": lambda m: D(m).Wishart(m.tensor([4.0, 5.0]), m.eye(3)),
    "lkj": lambda m: D(m).LKJCholesky(3, m.tensor([0.5, 2.0])),
    "lkj-scalar": lambda m: D(m).LKJCholesky(4, 1.5),
    "logisticnormal-scalar": lambda m: D(m).LogisticNormal(0.0, 1.0),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_shapes_samples_and_expand(name):
    ours, theirs = MAKERS[name](dg), MAKERS[name](torch)
    for attribute in ("batch_shape", "event_shape"):
        assert tuple(getattr(ours, attribute)) == tuple(getattr(theirs, attribute))
    assert ours.has_rsample == theirs.has_rsample
    assert repr(ours.support) == repr(theirs.support)
    assert sorted(ours.arg_constraints) == sorted(theirs.arg_constraints)
    dg.manual_seed(0)
    sample = ours.sample((4,))
    assert tuple(sample.shape) == tuple(theirs.sample((4,)).shape)
    assert sample.dtype == dg.float32 and not sample.requires_grad
    assert bool(ours.support.check(sample).all())
    assert bool(ours.log_prob(sample).isfinite().all())
    new_batch = (2,) + tuple(ours.batch_shape)
    expanded, theirs_expanded = ours.expand(new_batch), theirs.expand(new_batch)
    assert type(expanded) is type(ours)
    assert tuple(expanded.sample().shape) == tuple(theirs_expanded.sample().shape)
    value = theirs_expanded.sample()
    np.testing.assert_allclose(expanded.log_prob(dg.tensor(value.numpy())).numpy(),
                               theirs_expanded.log_prob(value).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["pareto", "weibull", "kumaraswamy", "inversegamma",
                                  "fishersnedecor", "contbernoulli", "relaxed",
                                  "logisticnormal", "lowrank", "wishart"])
def test_rsample_carries_gradients(name):
    assert MAKERS[name](torch).has_rsample
    dist, *leaves = make_with_grad(name)
    dg.manual_seed(2)
    draw = dist.rsample((5,))
    assert tuple(draw.shape) == (5,) + tuple(dist.batch_shape) + tuple(dist.event_shape)
    assert draw.requires_grad
    draw.sum().backward()
    for leaf in leaves:
        assert leaf.grad is not None and bool(leaf.grad.isfinite().all()), name
        assert bool((leaf.grad != 0).any()), name


def make_with_grad(name):
    a = dg.full((3,), 3.0, requires_grad=True)
    b = dg.full((3,), 2.0, requires_grad=True)
    p = dg.full((3,), 0.3, requires_grad=True)
    w = dg.ones(3, 2, requires_grad=True)
    made = {
        "pareto": lambda: (D(dg).Pareto(b, a), b, a),
        "weibull": lambda: (D(dg).Weibull(b, a), b, a),
        "kumaraswamy": lambda: (D(dg).Kumaraswamy(b, a), b, a),
        "inversegamma": lambda: (D(dg).InverseGamma(a, b), a, b),
        "fishersnedecor": lambda: (D(dg).FisherSnedecor(a, b), a, b),
        "contbernoulli": lambda: (D(dg).ContinuousBernoulli(probs=p), p),
        "relaxed": lambda: (D(dg).RelaxedBernoulli(dg.tensor(0.5), probs=p), p),
        "logisticnormal": lambda: (D(dg).LogisticNormal(a, b), a, b),
        "lowrank": lambda: (D(dg).LowRankMultivariateNormal(a, w, b), a, w, b),
        "wishart": lambda: (D(dg).Wishart(a, scale_tril=dg.eye(3) * b), a, b),
    }
    return made[name]()


def test_kumaraswamy_mode_is_the_density_peak():
    # NOTE: PyTorch 2.13's Kumaraswamy.mode is nan for every parameter (log1p(-b) of b > 1);
    # deltagrad returns the true mode ((a - 1) / (a b - 1)) ** (1 / a), nan where a or b < 1.
    a, b = dg.tensor([1.5, 2.0, 0.5]), dg.tensor([2.0, 3.0, 2.0])
    mode = D(dg).Kumaraswamy(a, b).mode.numpy()
    grid = dg.linspace(0.001, 0.999, 9999).unsqueeze(-1)
    peak = grid[D(dg).Kumaraswamy(a, b).log_prob(grid).argmax(0), 0].numpy()
    np.testing.assert_allclose(mode[:2], peak[:2], atol=2e-4)
    assert np.isnan(mode[2])


def test_sample_moments():
    # Large seeded samples agree with the closed forms.
    dg.manual_seed(3)
    n = 20000
    for dist, tolerance in [(D(dg).Weibull(dg.tensor(1.5), dg.tensor(2.0)), 0.03),
                            (D(dg).Kumaraswamy(dg.tensor(2.0), dg.tensor(3.0)), 0.01),
                            (D(dg).InverseGamma(dg.tensor(4.0), dg.tensor(3.0)), 0.03),
                            (D(dg).NegativeBinomial(dg.tensor(3.0), probs=dg.tensor(0.4)), 0.05),
                            (D(dg).ContinuousBernoulli(probs=dg.tensor(0.8)), 0.01),
                            (D(dg).FisherSnedecor(dg.tensor(6.0), dg.tensor(12.0)), 0.05)]:
        assert abs(dist.sample((n,)).mean().item() - dist.mean.item()) < tolerance, dist
    von_mises = D(dg).VonMises(dg.tensor(0.5), dg.tensor(4.0))
    angles = von_mises.sample((n,))
    assert abs(angles.mean().item() - 0.5) < 0.02
    assert abs((1 - dg.cos(angles - 0.5).mean()).item() - von_mises.variance.item()) < 0.01
    scatter = D(dg).Wishart(dg.tensor(5.0), covariance_matrix=dg.tensor([[2.0, 0.5],
                                                                        [0.5, 1.0]]))
    np.testing.assert_allclose(scatter.sample((n,)).mean(0).numpy(), scatter.mean.numpy(),
                               rtol=0.03)
    # LKJ(eta) in 2-d: the correlation r has r^2 ~ Beta(1/2, eta), E[r^2] = 1 / (1 + 2 eta).
    lkj = D(dg).LKJCholesky(2, dg.tensor([0.5, 3.0])).sample((n,))
    np.testing.assert_allclose(lkj[..., 1, 0].pow(2).mean(0).numpy(), [1 / 2, 1 / 7], atol=0.01)
    lkj4 = D(dg).LKJCholesky(4, 2.0).sample((n,))
    correlations = lkj4.matmul(lkj4.transpose(-2, -1))
    # Every off-diagonal correlation has the marginal Beta(eta - 1 + d/2, same) on (-1, 1):
    # variance 1 / (2 eta + d - 1).
    np.testing.assert_allclose(correlations[:, 3, 0].var().item(), 1 / 7, atol=0.01)
    np.testing.assert_allclose(correlations[:, 2, 1].var().item(), 1 / 7, atol=0.01)
    lowrank = D(dg).LowRankMultivariateNormal(dg.zeros(2), dg.tensor([[1.0], [2.0]]),
                                              dg.ones(2))
    draws = lowrank.sample((n,)).numpy()
    # (the variance 5 estimated from 20000 draws has a standard error of ~0.05: 4 of them)
    np.testing.assert_allclose(np.cov(draws.T), lowrank.covariance_matrix.numpy(), atol=0.2)


@pytest.mark.parametrize("make", [
    lambda m: D(m).Pareto(m.tensor([1.0]), m.tensor([-1.0]), validate_args=True),
    lambda m: D(m).Weibull(m.tensor([0.0]), m.tensor([1.0]), validate_args=True),
    lambda m: D(m).Kumaraswamy(m.tensor([1.0]), m.tensor([-2.0]), validate_args=True),
    lambda m: D(m).InverseGamma(m.tensor([-1.0]), m.tensor([1.0]), validate_args=True),
    lambda m: D(m).FisherSnedecor(m.tensor([1.0]), m.tensor([0.0]), validate_args=True),
    lambda m: D(m).NegativeBinomial(m.tensor([1.0]), probs=m.tensor([1.0]),
                                    validate_args=True),
    lambda m: D(m).VonMises(m.tensor([0.0]), m.tensor([-1.0]), validate_args=True),
    lambda m: D(m).ContinuousBernoulli(probs=m.tensor([1.5]), validate_args=True),
    lambda m: D(m).RelaxedBernoulli(m.tensor(1.0), probs=m.tensor([1.5]), validate_args=True),
    lambda m: D(m).LogisticNormal(m.zeros(2), -m.ones(2), validate_args=True),
    lambda m: D(m).LowRankMultivariateNormal(m.zeros(2), m.ones(2, 1), -m.ones(2),
                                             validate_args=True),  # (LinAlgError first)
    lambda m: D(m).LowRankMultivariateNormal(m.zeros(2), m.ones(2, 1), m.full((2,), -10.0),
                                             validate_args=True),
    lambda m: D(m).NegativeBinomial(1.0, probs=0.5, logits=0.0),
    lambda m: D(m).LowRankMultivariateNormal(m.zeros(2), m.ones(3, 1), m.ones(2)),
    lambda m: D(m).Pareto(1.0, 2.0, validate_args=True).log_prob(m.tensor(0.5)),
    lambda m: D(m).Kumaraswamy(1.0, 2.0, validate_args=True).log_prob(m.tensor(1.5)),
    lambda m: D(m).NegativeBinomial(2.0, probs=0.5, validate_args=True).log_prob(
        m.tensor(1.5)),
    lambda m: D(m).LogisticNormal(m.zeros(2), m.ones(2), validate_args=True).log_prob(
        m.tensor([0.5, 0.6, 0.2])),
    lambda m: D(m).Pareto(1.0, 2.0, validate_args=True).log_prob(1.5),
    lambda m: D(m).Wishart(m.tensor(1.5), m.eye(3)),
    lambda m: D(m).Wishart(m.tensor(4.0), m.eye(2), precision_matrix=m.eye(2)),
    lambda m: D(m).Wishart(m.tensor(4.0), m.eye(2), validate_args=True).log_prob(-m.eye(2)),
    lambda m: D(m).LKJCholesky(1, 1.0),
    lambda m: D(m).LKJCholesky(3, m.tensor([-1.0]), validate_args=True),
    lambda m: D(m).LKJCholesky(2, 1.0, validate_args=True).log_prob(m.eye(2) * 2),
], ids=lambda _: "")
def test_validation_errors_match(make):
    with pytest.raises(Exception) as theirs:
        make(torch)
    with pytest.raises(Exception) as ours:
        make(dg)
    # (torch._C._LinAlgError and deltagrad's LinAlgError: the same name, both RuntimeErrors)
    assert type(ours.value).__name__ == type(theirs.value).__name__.lstrip("_")
    assert isinstance(ours.value, type(theirs.value).__mro__[1])
