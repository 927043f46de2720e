"""The distributions of distributions/more.py against PyTorch (values, dtypes and gradients in
every parameter, float64 and float32), their KL divergences, shapes of their samples, and
a Gaussian mixture fitted by gradient descent."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from dist_helpers import Arg, D, Draws, cast, check, fixed, stat_cases  # noqa: E402

RNG = np.random.default_rng(55)
_draws = Draws(RNG)
real, pos, unit = _draws.real, _draws.pos, _draws.unit


def counts(*shape, high=4):
    return fixed(RNG.integers(0, high, shape))


CASES = []


def add(case_id, fn, *arrays):
    CASES.append((case_id, fn, arrays))


def add_all(name, make, params, value, *, stats=("entropy", "mean", "variance", "stddev",
                                                  "mode"), cdf=True, icdf=True):
    """log_prob (and cdf / icdf) at ``value`` and the listed statistics of ``make(m, *p)``."""
    add(f"{name}-log_prob", lambda m, x, *p: make(m, *p).log_prob(x), value, *params)
    if cdf:
        add(f"{name}-cdf", lambda m, x, *p: make(m, *p).cdf(x), value, *params)
    if icdf:
        add(f"{name}-icdf", lambda m, u, *p: make(m, *p).icdf(u), unit(2, 3), *params)
    for case_id, fn in stat_cases(name, make, stats):
        add(case_id, fn, *params)


add_all("cauchy", lambda m, a, b: D(m).Cauchy(a, b), (real(3), pos(3)), real(2, 3),
        stats=("entropy", "mode"))
add_all("gumbel", lambda m, a, b: D(m).Gumbel(a, b), (real(3), pos(3)), real(2, 3))
add_all("halfnormal", lambda m, s: D(m).HalfNormal(s), (pos(3),), pos(2, 3))
add_all("halfcauchy", lambda m, s: D(m).HalfCauchy(s), (pos(3),), pos(2, 3),
        stats=("entropy", "mode"))
add_all("studentt", lambda m, df, a, b: D(m).StudentT(df, a, b),
        (pos(3, low=2.5, high=6.0), real(3), pos(3)), real(2, 3), cdf=False, icdf=False)
add("studentt-variance-small-df", lambda m, df: D(m).StudentT(df).variance,
    Arg(np.array([0.5, 1.5, 3.0]), requires_grad=False))
add_all("geometric-probs", lambda m, p: D(m).Geometric(probs=p), (unit(3),), counts(2, 3),
        cdf=False, icdf=False, stats=("entropy", "mean", "variance", "mode"))
add_all("geometric-logits", lambda m, z: D(m).Geometric(logits=z), (real(3),), counts(2, 3),
        cdf=False, icdf=False, stats=("entropy", "mean", "variance"))
add("multinomial-log_prob", lambda m, x, z: D(m).Multinomial(3, logits=z).log_prob(x),
    Arg(np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]), requires_grad=False), real(2, 3))
add("multinomial-entropy", lambda m, p: D(m).Multinomial(4, probs=p).entropy(), pos(2, 3))
add("multinomial-moments", lambda m, p: (D(m).Multinomial(4, probs=p).mean,
                                         D(m).Multinomial(4, probs=p).variance), pos(2, 3))


def gmm(m, logits, loc, scale):
    return D(m).MixtureSameFamily(D(m).Categorical(logits=logits), D(m).Normal(loc, scale))


def gmm_2d(m, logits, loc, scale):
    components = D(m).Independent(D(m).Normal(loc, scale), 1)
    return D(m).MixtureSameFamily(D(m).Categorical(logits=logits), components)


add("mixture-log_prob", lambda m, x, *p: gmm(m, *p).log_prob(x), real(4, 1), real(2, 3),
    real(2, 3), pos(2, 3))
add("mixture-cdf", lambda m, x, *p: gmm(m, *p).cdf(x), real(4, 1), real(2, 3), real(2, 3),
    pos(2, 3))
add("mixture-moments", lambda m, *p: (gmm(m, *p).mean, gmm(m, *p).variance), real(3), real(3),
    pos(3))
add("mixture-2d-log_prob", lambda m, x, *p: gmm_2d(m, *p).log_prob(x), real(5, 2), real(3),
    real(3, 2), pos(3, 2))
add("mixture-2d-moments", lambda m, *p: (gmm_2d(m, *p).mean, gmm_2d(m, *p).variance), real(3),
    real(3, 2), pos(3, 2))

KL = [
    ("geometric", lambda m, p, q: (D(m).Geometric(p), D(m).Geometric(q)), unit(3), unit(3)),
    ("exponential-gamma", lambda m, r, c, s: (D(m).Exponential(r), D(m).Gamma(c, s)), pos(3),
     pos(3), pos(3)),
    ("uniform-normal", lambda m, lo, w, a, b: (D(m).Uniform(lo, lo + w), D(m).Normal(a, b)),
     real(3), pos(3), real(3), pos(3)),
    ("gumbel", lambda m, a, b, c, d: (D(m).Gumbel(a, b), D(m).Gumbel(c, d)), real(3), pos(3),
     real(3), pos(3)),
    ("cauchy", lambda m, a, b, c, d: (D(m).Cauchy(a, b), D(m).Cauchy(c, d)), real(3), pos(3),
     real(3), pos(3)),
    ("halfnormal", lambda m, a, b: (D(m).HalfNormal(a), D(m).HalfNormal(b)), pos(3), pos(3)),
]
for name, pair, *arrays in KL:
    add(f"kl-{name}", lambda m, *p, pair=pair: D(m).kl_divergence(*pair(m, *p)), *arrays)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case_id,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(case_id, fn, arrays, dtype):
    args = cast(arrays, dtype)
    if dtype == np.float64:
        check(fn, *args, rtol=1e-6, atol=1e-9)
    else:
        check(fn, *args, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("make", [
    lambda m: D(m).Cauchy(m.zeros(3), 1.0), lambda m: D(m).Gumbel(m.zeros(3), 2.0),
    lambda m: D(m).HalfNormal(m.ones(3)), lambda m: D(m).HalfCauchy(m.ones(3)),
    lambda m: D(m).StudentT(m.full((3,), 4.0)), lambda m: D(m).Geometric(m.full((3,), 0.3)),
    lambda m: D(m).Multinomial(5, probs=m.ones(2, 3)),
    lambda m: gmm_2d(m, m.zeros(3), m.zeros(3, 2), m.ones(3, 2)),
], ids=["cauchy", "gumbel", "halfnormal", "halfcauchy", "studentt", "geometric",
        "multinomial", "mixture"])
def test_shapes_and_samples(make):
    ours, theirs = make(dg), make(torch)
    for attribute in ("batch_shape", "event_shape"):
        assert tuple(getattr(ours, attribute)) == tuple(getattr(theirs, attribute))
    assert ours.has_rsample == theirs.has_rsample
    dg.manual_seed(0)
    sample = ours.sample((4,))
    assert tuple(sample.shape) == tuple(theirs.sample((4,)).shape)
    assert sample.dtype == dg.float32 and bool(ours.log_prob(sample).isfinite().all())
    expanded = ours.expand((2,) + tuple(ours.batch_shape))
    assert tuple(expanded.sample().shape) == tuple(theirs.expand(
        (2,) + tuple(theirs.batch_shape)).sample().shape)


def test_sample_moments():
    # Large samples agree with the closed forms (seeded, so the test is deterministic).
    dg.manual_seed(1)
    n = 20000
    gumbel = D(dg).Gumbel(dg.tensor(1.0), dg.tensor(2.0))
    assert abs(gumbel.sample((n,)).mean().item() - gumbel.mean.item()) < 0.06
    geometric = D(dg).Geometric(dg.tensor(0.25))
    assert abs(geometric.sample((n,)).mean().item() - 3.0) < 0.1
    student = D(dg).StudentT(dg.tensor(5.0))
    assert abs(student.sample((n,)).var().item() - 5 / 3) < 0.1
    counts = D(dg).Multinomial(10, probs=dg.tensor([0.2, 0.8])).sample((n,))
    assert bool((counts.sum(-1) == 10).all()) and abs(counts[:, 0].mean().item() - 2.0) < 0.05
    mixture = gmm(dg, dg.tensor([0.0, 1.0]), dg.tensor([-2.0, 3.0]), dg.tensor([0.5, 0.5]))
    assert abs(mixture.sample((n,)).mean().item() - mixture.mean.item()) < 0.05


def test_mixture_validates_its_parts():
    normal = D(dg).Normal(dg.zeros(3), dg.ones(3))
    with pytest.raises(ValueError):
        D(dg).MixtureSameFamily(normal, normal)
    with pytest.raises(ValueError):
        D(dg).MixtureSameFamily(D(dg).Categorical(logits=dg.zeros(2)), normal)
