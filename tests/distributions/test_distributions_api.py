"""The Distribution surface against PyTorch: validation errors (types), batch / event / sample
shapes and dtypes, expand, enumerate_support, repr, flags and constraints."""

import pathlib
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "parity"))

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad import distributions as dist  # noqa: E402


def D(m):
    return m.distributions


def t(m, value, dtype=None):
    return m.tensor(value, dtype=dtype)


ERRORS = [
    ("normal-negative-scale", lambda m: D(m).Normal(t(m, [0.0, 1.0]), t(m, [1.0, -1.0]))),
    ("normal-nan-loc", lambda m: D(m).Normal(t(m, [float("nan")]), 1.0)),
    ("normal-list-param", lambda m: D(m).Normal([0.0], 1.0)),
    ("normal-value-not-tensor", lambda m: D(m).Normal(0.0, 1.0).log_prob(0.5)),
    ("normal-value-shape", lambda m: D(m).Normal(m.zeros(3), 1.0).log_prob(m.zeros(2))),
    ("categorical-both", lambda m: D(m).Categorical(probs=t(m, [0.5, 0.5]),
                                                    logits=t(m, [0.0, 0.0]))),
    ("categorical-neither", lambda m: D(m).Categorical()),
    ("categorical-0d", lambda m: D(m).Categorical(logits=t(m, 1.0))),
    ("categorical-negative", lambda m: D(m).Categorical(probs=t(m, [-0.5, 1.5]))),
    ("categorical-outside", lambda m: D(m).Categorical(logits=m.zeros(3)).log_prob(t(m, 3))),
    ("categorical-fraction", lambda m: D(m).Categorical(logits=m.zeros(3)).log_prob(t(m, 0.5))),
    ("bernoulli-probs", lambda m: D(m).Bernoulli(probs=t(m, [0.5, 1.5]))),
    ("bernoulli-value", lambda m: D(m).Bernoulli(probs=t(m, 0.5)).log_prob(t(m, 0.5))),
    ("uniform-reversed", lambda m: D(m).Uniform(t(m, [1.0]), t(m, [0.0]))),
    ("uniform-outside", lambda m: D(m).Uniform(0.0, 1.0).log_prob(t(m, 1.5))),
    ("gamma-negative-value", lambda m: D(m).Gamma(2.0, 1.0).log_prob(t(m, -1.0))),
    ("gamma-zero-rate", lambda m: D(m).Gamma(t(m, [2.0]), t(m, [0.0]))),
    ("beta-negative", lambda m: D(m).Beta(t(m, [-1.0]), t(m, [1.0]))),
    ("beta-outside", lambda m: D(m).Beta(2.0, 2.0).log_prob(t(m, 1.5))),
    ("dirichlet-0d", lambda m: D(m).Dirichlet(t(m, 1.0))),
    ("dirichlet-negative", lambda m: D(m).Dirichlet(t(m, [1.0, -1.0]))),
    ("dirichlet-not-simplex", lambda m: D(m).Dirichlet(t(m, [1.0, 2.0])).log_prob(
        t(m, [0.5, 0.6]))),
    ("exponential-negative", lambda m: D(m).Exponential(t(m, [-1.0]))),
    ("laplace-zero-scale", lambda m: D(m).Laplace(0.0, t(m, [0.0]))),
    ("poisson-negative", lambda m: D(m).Poisson(t(m, [-1.0]))),
    ("poisson-fraction", lambda m: D(m).Poisson(t(m, [1.0])).log_prob(t(m, [0.5]))),
    ("binomial-fraction-count", lambda m: D(m).Binomial(t(m, [2.5]), t(m, [0.5]))),
    ("binomial-above-count", lambda m: D(m).Binomial(3, t(m, [0.5])).log_prob(t(m, [4.0]))),
    ("binomial-inhomogeneous-entropy", lambda m: D(m).Binomial(
        t(m, [2.0, 3.0]), t(m, [0.5, 0.5])).entropy()),
    ("onehot-not-onehot", lambda m: D(m).OneHotCategorical(logits=m.zeros(3)).log_prob(
        t(m, [1.0, 1.0, 0.0]))),
    ("lognormal-negative", lambda m: D(m).LogNormal(0.0, 1.0).log_prob(t(m, -1.0))),
    ("mvn-0d-loc", lambda m: D(m).MultivariateNormal(t(m, 0.0), m.eye(2))),
    ("mvn-two-matrices", lambda m: D(m).MultivariateNormal(m.zeros(2), m.eye(2),
                                                           scale_tril=m.eye(2))),
    ("mvn-none", lambda m: D(m).MultivariateNormal(m.zeros(2))),
    ("mvn-1d-matrix", lambda m: D(m).MultivariateNormal(m.zeros(2), m.ones(2))),
    ("mvn-not-pd", lambda m: D(m).MultivariateNormal(m.zeros(2), t(m, [[1.0, 2.0], [2.0, 1.0]]))),
    ("mvn-not-symmetric", lambda m: D(m).MultivariateNormal(
        m.zeros(2), t(m, [[1.0, 0.5], [0.0, 1.0]]))),
    ("mvn-tril-upper", lambda m: D(m).MultivariateNormal(
        m.zeros(2), scale_tril=t(m, [[1.0, 0.5], [0.0, 1.0]]))),
    ("mvn-tril-zero-diag", lambda m: D(m).MultivariateNormal(
        m.zeros(2), scale_tril=t(m, [[1.0, 0.0], [0.5, 0.0]]))),
    ("mvn-event-shape", lambda m: D(m).MultivariateNormal(m.zeros(3), m.eye(3)).log_prob(
        m.zeros(2))),
    ("mvn-no-validate-not-pd", lambda m: D(m).MultivariateNormal(
        m.zeros(2), t(m, [[1.0, 2.0], [2.0, 1.0]]), validate_args=False)),
    ("independent-too-many", lambda m: D(m).Independent(D(m).Normal(m.zeros(3), 1.0), 2)),
    ("independent-enumerate", lambda m: D(m).Independent(
        D(m).Bernoulli(probs=m.ones(2, 3) / 2), 1).enumerate_support()),
    ("sample-int-shape", lambda m: D(m).Normal(0.0, 1.0).sample(5)),
    ("rsample-discrete", lambda m: D(m).Categorical(logits=m.zeros(3)).rsample()),
    ("transformed-bad", lambda m: D(m).TransformedDistribution(D(m).Normal(0.0, 1.0), 3)),
    ("transformed-bad-list", lambda m: D(m).TransformedDistribution(D(m).Normal(0.0, 1.0),
                                                                    [3])),
    ("poisson-entropy", lambda m: D(m).Poisson(t(m, [1.0])).entropy()),
    ("uniform-mode-ok", lambda m: D(m).Uniform(0.0, 1.0).mode),
]


@pytest.mark.parametrize("case_id,fn", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case_id, fn):
    check(fn, grad=False)


def test_value_errors_name_the_parameter_and_constraint():
    with pytest.raises(ValueError, match=r"Expected parameter scale .* GreaterThan\(lower_bound"):
        dist.Normal(0.0, dg.tensor([-1.0]))
    with pytest.raises(ValueError, match="to be within the support"):
        dist.Uniform(0.0, 1.0).log_prob(dg.tensor(2.0))


def test_validation_can_be_switched_off():
    d = dist.Normal(0.0, dg.tensor([-1.0]), validate_args=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(d.log_prob(dg.tensor([0.0])).numpy()).all()
        outside = dist.Uniform(0.0, 1.0, validate_args=False).log_prob(dg.tensor(2.0))
    assert float(outside) == -np.inf
    try:
        dist.Distribution.set_default_validate_args(False)
        dist.Normal(0.0, dg.tensor([-1.0]))
    finally:
        dist.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        dist.Normal(0.0, dg.tensor([-1.0]))
    with pytest.raises(ValueError):
        dist.Distribution.set_default_validate_args("yes")


def _shape_and_dtype(value):
    return [*value.shape, str(value.dtype).rsplit(".", 1)[-1]]


SAMPLES = [
    ("normal", lambda m: D(m).Normal(m.zeros(2, 3), 1.0), (4,)),
    ("normal-scalar", lambda m: D(m).Normal(0.0, 1.0), ()),
    ("normal-float64", lambda m: D(m).Normal(m.zeros(3, dtype=m.float64), 1.0), (2, 2)),
    ("uniform", lambda m: D(m).Uniform(m.zeros(3), 2.0), (5,)),
    ("laplace", lambda m: D(m).Laplace(0.0, m.ones(2)), (3,)),
    ("exponential", lambda m: D(m).Exponential(m.ones(2)), (3,)),
    ("gamma", lambda m: D(m).Gamma(m.ones(2), 2.0), (3,)),
    ("beta", lambda m: D(m).Beta(m.ones(2), 2.0), (3,)),
    ("beta-scalar", lambda m: D(m).Beta(1.0, 2.0), (3,)),
    ("dirichlet", lambda m: D(m).Dirichlet(m.ones(2, 4)), (3,)),
    ("chi2", lambda m: D(m).Chi2(m.ones(2)), (3,)),
    ("bernoulli", lambda m: D(m).Bernoulli(probs=m.ones(2) / 2), (3, 1)),
    ("categorical", lambda m: D(m).Categorical(logits=m.zeros(2, 5)), (3,)),
    ("categorical-1d", lambda m: D(m).Categorical(probs=m.ones(5)), ()),
    ("categorical-empty-sample", lambda m: D(m).Categorical(probs=m.ones(2, 5)), (0,)),
    ("onehot", lambda m: D(m).OneHotCategorical(logits=m.zeros(2, 5)), (3,)),
    ("poisson", lambda m: D(m).Poisson(m.ones(2) * 3), (3,)),
    ("binomial", lambda m: D(m).Binomial(10, m.ones(2) / 3), (3,)),
    ("lognormal", lambda m: D(m).LogNormal(m.zeros(2), 1.0), (3,)),
    ("mvn", lambda m: D(m).MultivariateNormal(m.zeros(2, 3), m.eye(3)), (4,)),
    ("independent", lambda m: D(m).Independent(D(m).Normal(m.zeros(2, 3), 1.0), 1), (4,)),
]


@pytest.mark.parametrize("case_id,make,shape", SAMPLES, ids=[c[0] for c in SAMPLES])
def test_shapes_and_dtypes_match_torch(case_id, make, shape):
    def describe(m):
        d = make(m)
        out = [list(d.batch_shape), list(d.event_shape), _shape_and_dtype(d.sample(shape)),
               d.has_rsample, d.has_enumerate_support]
        if d.has_rsample:
            out.append(_shape_and_dtype(d.rsample(shape)))
        out.append(_shape_and_dtype(d.log_prob(d.sample(shape))))
        return out
    check(describe, grad=False)


EXPANDS = [
    ("normal", lambda m: D(m).Normal(m.zeros(3), m.ones(3)), (4, 3), lambda m: m.ones(4, 3)),
    ("uniform", lambda m: D(m).Uniform(m.zeros(3), 1.0), (2, 3), lambda m: m.ones(2, 3) / 2),
    ("bernoulli", lambda m: D(m).Bernoulli(logits=m.zeros(3)), (2, 3), lambda m: m.ones(2, 3)),
    ("categorical", lambda m: D(m).Categorical(probs=m.ones(3, 4)), (2, 3),
     lambda m: m.ones(2, 3, dtype=m.int64)),
    ("onehot", lambda m: D(m).OneHotCategorical(probs=m.ones(3, 4)), (2, 3),
     lambda m: m.eye(4)[m.zeros(2, 3, dtype=m.int64)]),
    ("gamma", lambda m: D(m).Gamma(m.ones(3), 2.0), (2, 3), lambda m: m.ones(2, 3)),
    ("beta", lambda m: D(m).Beta(m.ones(3), 2.0), (2, 3), lambda m: m.ones(2, 3) / 2),
    ("dirichlet", lambda m: D(m).Dirichlet(m.ones(4) + 1), (2, 3), lambda m: m.ones(2, 3, 4) / 4),
    ("poisson", lambda m: D(m).Poisson(m.ones(3)), (2, 3), lambda m: m.ones(2, 3)),
    ("binomial", lambda m: D(m).Binomial(4, m.ones(3) / 3), (2, 3), lambda m: m.ones(2, 3)),
    ("lognormal", lambda m: D(m).LogNormal(m.zeros(3), 1.0), (2, 3), lambda m: m.ones(2, 3)),
    ("mvn", lambda m: D(m).MultivariateNormal(m.zeros(2), m.eye(2) * 2), (3,),
     lambda m: m.ones(3, 2)),
    ("independent", lambda m: D(m).Independent(D(m).Normal(m.zeros(3), 1.0), 1), (2,),
     lambda m: m.ones(2, 3)),
    ("laplace", lambda m: D(m).Laplace(m.zeros(3), 1.0), (2, 3), lambda m: m.ones(2, 3)),
    ("exponential", lambda m: D(m).Exponential(m.ones(3)), (2, 3), lambda m: m.ones(2, 3)),
]


@pytest.mark.parametrize("case_id,make,shape,value", EXPANDS, ids=[c[0] for c in EXPANDS])
def test_expand_matches_torch(case_id, make, shape, value):
    def expanded(m):
        d = make(m).expand(shape)
        return [list(d.batch_shape), list(d.event_shape), d.log_prob(value(m)),
                list(d.sample().shape)]
    check(expanded, grad=False)


def test_expand_rejects_bad_shapes_like_torch():
    check(lambda m: D(m).Normal(m.zeros(3), 1.0).expand((2,)), grad=False)


ENUMERATES = [
    ("bernoulli", lambda m: D(m).Bernoulli(probs=m.ones(2, 3) / 2)),
    ("categorical", lambda m: D(m).Categorical(logits=m.zeros(2, 4))),
    ("onehot", lambda m: D(m).OneHotCategorical(logits=m.zeros(2, 4))),
    ("binomial", lambda m: D(m).Binomial(3, m.ones(2) / 2)),
    ("independent-0", lambda m: D(m).Independent(D(m).Bernoulli(probs=m.ones(2) / 2), 0)),
]


@pytest.mark.parametrize("expand", [True, False])
@pytest.mark.parametrize("case_id,make", ENUMERATES, ids=[c[0] for c in ENUMERATES])
def test_enumerate_support_matches_torch(case_id, make, expand):
    check(lambda m: make(m).enumerate_support(expand=expand), grad=False)


def test_repr_matches_torch():
    def shown(m):
        names = [repr(D(m).Normal(m.zeros(2), 1.0)), repr(D(m).Normal(0.0, 1.0)),
                 repr(D(m).Categorical(logits=m.zeros(3))),
                 repr(D(m).Independent(D(m).Normal(m.zeros(2, 3), 1.0), 1)),
                 repr(D(m).constraints.interval(0.0, 1.0)), repr(D(m).constraints.positive),
                 repr(D(m).constraints.real_vector), repr(D(m).Normal(0.0, 1.0).support)]
        return [n.replace("torch.Size", "Size").replace("deltagrad.Size", "Size") for n in names]
    check(shown, grad=False)


def test_sample_n_warns_and_samples():
    with pytest.warns(FutureWarning):
        assert dist.Normal(dg.zeros(2), 1.0).sample_n(3).shape == (3, 2)


def test_default_dtypes_match_torch():
    def dtypes(m):
        return [str(D(m).Normal(0.0, 1.0).loc.dtype).rsplit(".", 1)[-1],
                str(D(m).Normal(m.zeros(1, dtype=m.float64), 1.0).scale.dtype).rsplit(".")[-1],
                str(D(m).Beta(1.0, 2.0).concentration1.dtype).rsplit(".")[-1],
                str(D(m).Binomial(3, m.ones(1, dtype=m.float64) / 2).total_count.dtype
                    ).rsplit(".")[-1]]
    check(dtypes, grad=False)


def test_lazy_parameters_are_cached_and_keep_the_graph():
    logits = dg.tensor([0.5, -0.5], requires_grad=True)
    d = dist.Categorical(logits=logits)
    assert "probs" not in d.__dict__
    with dg.no_grad():
        probs = d.probs  # computed under enable_grad, as in PyTorch
    assert d.probs is probs and probs.requires_grad


CONSTRAINTS = [
    ("real", lambda m, c: c.real, [0.0, float("inf"), float("nan")]),
    ("positive", lambda m, c: c.positive, [-1.0, 0.0, 1.0]),
    ("nonnegative", lambda m, c: c.nonnegative, [-1.0, 0.0, 1.0]),
    ("unit_interval", lambda m, c: c.unit_interval, [-0.1, 0.0, 1.0, 1.1]),
    ("interval", lambda m, c: c.interval(-1.0, 2.0), [-1.5, -1.0, 2.0, 2.5]),
    ("half_open", lambda m, c: c.half_open_interval(-1.0, 2.0), [-1.0, 2.0]),
    ("greater_than", lambda m, c: c.greater_than(1.0), [0.0, 1.0, 2.0]),
    ("greater_than_eq", lambda m, c: c.greater_than_eq(1.0), [0.0, 1.0, 2.0]),
    ("less_than", lambda m, c: c.less_than(1.0), [0.0, 1.0, 2.0]),
    ("boolean", lambda m, c: c.boolean, [0.0, 1.0, 0.5]),
    ("nonnegative_integer", lambda m, c: c.nonnegative_integer, [-1.0, 0.0, 2.0, 2.5]),
    ("positive_integer", lambda m, c: c.positive_integer, [0.0, 1.0, 2.5]),
    ("integer_interval", lambda m, c: c.integer_interval(0, 3), [-1.0, 0.0, 3.0, 4.0, 1.5]),
    ("simplex", lambda m, c: c.simplex, [[0.2, 0.8], [0.5, 0.6], [-0.1, 1.1]]),
    ("one_hot", lambda m, c: c.one_hot, [[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]),
    ("real_vector", lambda m, c: c.real_vector, [[0.0, 1.0], [float("nan"), 0.0]]),
    ("independent", lambda m, c: c.independent(c.positive, 1), [[1.0, 2.0], [1.0, -2.0]]),
    ("lower_triangular", lambda m, c: c.lower_triangular,
     [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]]),
    ("lower_cholesky", lambda m, c: c.lower_cholesky,
     [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 0.0], [2.0, -3.0]]]),
    ("positive_definite", lambda m, c: c.positive_definite,
     [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.5], [0.0, 1.0]]]),
    ("positive_semidefinite", lambda m, c: c.positive_semidefinite,
     [[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    ("symmetric", lambda m, c: c.symmetric, [[[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [0.0, 1.0]]]),
    ("square", lambda m, c: c.square, [[[1.0, 2.0], [2.0, 1.0]]]),
]


@pytest.mark.parametrize("case_id,make,values", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
def test_constraints_match_torch(case_id, make, values):
    def checked(m, v):
        c = make(m, D(m).constraints)
        return [c.check(v), c.event_dim, c.is_discrete]
    check(checked, Arg(np.array(values)), grad=False)


def test_dependent_constraints():
    c = dist.constraints
    assert c.is_dependent(c.dependent) and not c.is_dependent(c.real)
    assert c.is_dependent(dist.Uniform.support)  # a dependent property, read on the class
    assert float(dist.Uniform(0.0, 2.0).support.upper_bound) == 2.0
    with pytest.raises(ValueError):
        c.dependent.check(dg.zeros(1))
    with pytest.raises(NotImplementedError):
        _ = c.dependent.event_dim
    assert c.dependent(event_dim=1).event_dim == 1
