"""Session 6: torch.distributions' submodule import paths, biject_to / transform_to, the
added transforms, RelaxedOneHotCategorical and GeneralizedPareto, against PyTorch."""

import importlib

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.distributions as D
from deltagrad.distributions import constraints as C
from deltagrad.distributions import transforms as T

torch = pytest.importorskip("torch")
TD = torch.distributions


def _pair(array, grad=False):
    array = np.asarray(array, dtype=np.float64)
    return (dg.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad))


def _close(ours, theirs, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)
    assert tuple(ours.shape) == tuple(theirs.shape)


SUBMODULES = ["bernoulli", "beta", "binomial", "categorical", "cauchy", "chi2",
              "constraint_registry", "constraints", "continuous_bernoulli", "dirichlet",
              "distribution", "exp_family", "exponential", "fishersnedecor", "gamma",
              "generalized_pareto", "geometric", "gumbel", "half_cauchy", "half_normal",
              "independent", "inverse_gamma", "kl", "kumaraswamy", "laplace", "lkj_cholesky",
              "log_normal", "logistic_normal", "lowrank_multivariate_normal",
              "mixture_same_family", "multinomial", "multivariate_normal", "negative_binomial",
              "normal", "one_hot_categorical", "pareto", "poisson", "relaxed_bernoulli",
              "relaxed_categorical", "studentT", "transformed_distribution", "transforms",
              "uniform", "utils", "von_mises", "weibull", "wishart"]


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodule_exports_what_torch_does(name):
    ours = importlib.import_module(f"deltagrad.distributions.{name}")
    theirs = importlib.import_module(f"torch.distributions.{name}")
    public = getattr(theirs, "__all__", None) or [
        n for n in dir(theirs) if n[0].isupper() and getattr(getattr(theirs, n), "__module__",
                                                             "") == theirs.__name__]
    missing = [n for n in public if not hasattr(ours, n)]
    assert not missing, missing


def test_top_level_names_match_torch():
    theirs = {n for n in dir(TD) if not n.startswith("_")}
    assert theirs - set(dir(D)) == set()


def test_mixture_same_family_constraint():
    value = np.array([[0.5, -1.0], [2.0, 3.0]])
    ours = C.MixtureSameFamilyConstraint(C.positive).check(dg.tensor(value))
    theirs = TD.constraints.MixtureSameFamilyConstraint(TD.constraints.positive).check(
        torch.tensor(value))
    assert ours.numpy().tolist() == theirs.numpy().tolist()
    ours = C.MixtureSameFamilyConstraint(C.simplex).check(dg.tensor(value))
    theirs = TD.constraints.MixtureSameFamilyConstraint(TD.constraints.simplex).check(
        torch.tensor(value))
    assert ours.numpy().tolist() == theirs.numpy().tolist()


def test_import_statements_as_programs_write_them():
    from deltagrad.distributions.categorical import Categorical
    from deltagrad.distributions.kl import kl_divergence, register_kl  # noqa: F401
    from deltagrad.distributions.normal import Normal
    from deltagrad.distributions.utils import logits_to_probs, probs_to_logits  # noqa: F401
    assert Normal is D.Normal and Categorical is D.Categorical


@pytest.mark.parametrize("diag", [-2, -1, 0, 1])
def test_tril_vec_round_trip(diag):
    from torch.distributions.utils import tril_matrix_to_vec as t_tm
    from torch.distributions.utils import vec_to_tril_matrix as t_vt

    from deltagrad.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix
    a = np.random.default_rng(0).normal(size=(2, 4, 4))
    ours, theirs = _pair(a, grad=True)
    v, tv = tril_matrix_to_vec(ours, diag), t_tm(theirs, diag)
    _close(v, tv)
    m, tm = vec_to_tril_matrix(v, diag), t_vt(tv, diag)
    _close(m, tm)
    (m * m).sum().backward()
    (tm * tm).sum().backward()
    _close(ours.grad, theirs.grad)
    with pytest.raises(ValueError):
        vec_to_tril_matrix(dg.zeros(5))
    with pytest.raises(ValueError):
        tril_matrix_to_vec(ours, 4)


CONSTRAINTS = [
    (lambda c: c.real, (3,)), (lambda c: c.positive, (3,)), (lambda c: c.nonnegative, (3,)),
    (lambda c: c.greater_than(2.0), (3,)), (lambda c: c.less_than(-1.0), (3,)),
    (lambda c: c.unit_interval, (3,)), (lambda c: c.interval(-1.0, 3.0), (3,)),
    (lambda c: c.half_open_interval(0.0, 1.0), (3,)), (lambda c: c.simplex, (2, 3)),
    (lambda c: c.corr_cholesky, (2, 6)), (lambda c: c.real_vector, (2, 3)),
    (lambda c: c.independent(c.positive, 1), (2, 3)),
    (lambda c: c.cat([c.real, c.positive], dim=-1, lengths=[2, 1]), (2, 3)),
    (lambda c: c.stack([c.real, c.positive, c.unit_interval], dim=-1), (2, 3)),
]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("make,shape", CONSTRAINTS)
def test_constraint_registry_matches_torch(registry, make, shape):
    x = np.random.default_rng(1).normal(size=shape)
    ours_t = getattr(D, registry)(make(C))
    theirs_t = getattr(TD, registry)(make(TD.constraints))
    ours_x, theirs_x = _pair(x, grad=True)
    y, ty = ours_t(ours_x), theirs_t(theirs_x)
    _close(y, ty)
    assert bool(make(C).check(y).all())
    _close(ours_t.inv(y), theirs_t.inv(ty), rtol=1e-8, atol=1e-10)
    if registry == "biject_to":
        lad, tlad = ours_t.log_abs_det_jacobian(ours_x, y), theirs_t.log_abs_det_jacobian(
            theirs_x, ty)
        _close(lad, tlad, rtol=1e-9, atol=1e-10)
        (lad.sum() + y.sum()).backward()
        (tlad.sum() + ty.sum()).backward()
        _close(ours_x.grad, theirs_x.grad, rtol=1e-8, atol=1e-10)


def test_registry_errors_and_matrix_transforms():
    with pytest.raises(NotImplementedError, match="Cannot transform _LowerCholesky"):
        D.biject_to(C.lower_cholesky)
    x = np.random.default_rng(2).normal(size=(2, 3, 3))
    for name in ("lower_cholesky", "positive_definite"):
        ours_t, theirs_t = D.transform_to(getattr(C, name)), TD.transform_to(
            getattr(TD.constraints, name))
        assert type(ours_t).__name__ == type(theirs_t).__name__
        ours_x, theirs_x = _pair(x)
        y, ty = ours_t(ours_x), theirs_t(theirs_x)
        _close(y, ty)
        _close(ours_t.inv(y), theirs_t.inv(ty), rtol=1e-8, atol=1e-10)


def test_reshape_independent_abs_cdf_transforms():
    x = np.random.default_rng(3).normal(size=(2, 6))
    ours_x, theirs_x = _pair(x)
    pairs = [(T.ReshapeTransform((6,), (2, 3)), TD.transforms.ReshapeTransform((6,), (2, 3))),
             (T.IndependentTransform(T.ExpTransform(), 1),
              TD.transforms.IndependentTransform(TD.transforms.ExpTransform(), 1)),
             (T.CumulativeDistributionTransform(D.Normal(0.5, 2.0)),
              TD.transforms.CumulativeDistributionTransform(TD.Normal(0.5, 2.0)))]
    for ours_t, theirs_t in pairs:
        y, ty = ours_t(ours_x), theirs_t(theirs_x)
        _close(y, ty)
        _close(ours_t.log_abs_det_jacobian(ours_x, y), theirs_t.log_abs_det_jacobian(theirs_x, ty))
        assert ours_t.forward_shape((5, 6)) == theirs_t.forward_shape((5, 6))
    _close(T.AbsTransform()(ours_x), TD.transforms.AbsTransform()(theirs_x))
    _close(T.SoftmaxTransform()(ours_x), TD.transforms.SoftmaxTransform()(theirs_x))
    with pytest.raises(ValueError):
        T.ReshapeTransform((6,), (4,))
    corr = T.CorrCholeskyTransform()
    assert corr.forward_shape((6,)) == (4, 4) and corr.inverse_shape((4, 4)) == (6,)
    with pytest.raises(ValueError):
        corr.forward_shape((5,))


@pytest.mark.parametrize("param", ["probs", "logits"])
def test_relaxed_one_hot_categorical(param):
    rng = np.random.default_rng(4)
    raw = rng.uniform(0.1, 1.0, size=(2, 4)) if param == "probs" else rng.normal(size=(2, 4))
    ours_p, theirs_p = _pair(raw, grad=True)
    ours_t, theirs_t = _pair(0.7, grad=True)
    ours = D.RelaxedOneHotCategorical(ours_t, **{param: ours_p})
    theirs = TD.RelaxedOneHotCategorical(theirs_t, **{param: theirs_p})
    assert ours.batch_shape == theirs.batch_shape and ours.event_shape == theirs.event_shape
    value = rng.dirichlet(np.ones(4), size=(3, 2))
    lp, tlp = ours.log_prob(dg.tensor(value)), theirs.log_prob(torch.tensor(value))
    _close(lp, tlp, rtol=1e-9)
    lp.sum().backward()
    tlp.sum().backward()
    _close(ours_p.grad, theirs_p.grad, rtol=1e-8, atol=1e-10)
    _close(ours_t.grad, theirs_t.grad, rtol=1e-8, atol=1e-10)
    dg.manual_seed(0)
    sample = ours.rsample((5,))
    assert tuple(sample.shape) == (5, 2, 4)
    np.testing.assert_allclose(sample.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    assert sample.requires_grad


def test_relaxed_one_hot_rsample_gradient_is_the_reparameterisation():
    # With the Gumbel noise recovered from the sample, d sample / d logits is softmax's
    # Jacobian over the temperature: checked against torch's autograd of the same formula.
    logits_np = np.array([0.3, -1.0, 0.5])
    ours_l = dg.tensor(logits_np, requires_grad=True)
    dg.manual_seed(3)
    sample = D.RelaxedOneHotCategorical(dg.tensor(0.5), logits=ours_l).rsample()
    weights = np.array([1.0, 2.0, -1.0])
    (sample * dg.tensor(weights)).sum().backward()
    y = sample.detach().numpy()
    expected = (y * weights - y * (y @ weights)) / 0.5
    np.testing.assert_allclose(ours_l.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_generalized_pareto_against_torch():
    # NOTE: float32, because PyTorch 2.13's log_prob raises "Double did not match Float" for
    # float64 parameters (its isclose against a float32 zero); ours computes them.
    loc, scale, conc = [0.0, 0.5, -1.0], [1.0, 2.0, 0.5], [0.0, 0.4, -0.3]
    ours_args = [dg.tensor(np.array(a, np.float32), requires_grad=True)
                 for a in (loc, scale, conc)]
    theirs_args = [torch.tensor(np.array(a, np.float32), requires_grad=True)
                   for a in (loc, scale, conc)]
    ours, theirs = D.GeneralizedPareto(*ours_args), TD.GeneralizedPareto(*theirs_args)
    value = np.array([[0.3, 1.0, -0.8], [2.0, 0.6, -0.5]], np.float32)
    for method in ("log_prob", "cdf", "log_survival_function"):
        _close(getattr(ours, method)(dg.tensor(value)),
               getattr(theirs, method)(torch.tensor(value)), rtol=2e-6, atol=1e-6)
    u = np.array([0.1, 0.5, 0.9], np.float32)
    _close(ours.icdf(dg.tensor(u)), theirs.icdf(torch.tensor(u)), rtol=1e-6)
    for attr in ("mean", "variance", "entropy"):
        a, b = getattr(ours, attr), getattr(theirs, attr)
        _close(a() if callable(a) else a, b() if callable(b) else b, rtol=2e-6)
    total = ours.log_prob(dg.tensor(value)).sum() + ours.icdf(dg.tensor(u)).sum()
    ttotal = theirs.log_prob(torch.tensor(value)).sum() + theirs.icdf(torch.tensor(u)).sum()
    total.backward()
    ttotal.backward()
    for a, b in zip(ours_args, theirs_args):
        _close(a.grad, b.grad, rtol=2e-5, atol=1e-6)
    assert ours.log_prob(dg.tensor(value)).dtype == dg.float32
    as64 = D.GeneralizedPareto(*[dg.tensor(np.array(a)) for a in (loc, scale, conc)])
    np.testing.assert_allclose(as64.log_prob(dg.tensor(value.astype(np.float64))).numpy(),
                               theirs.log_prob(torch.tensor(value)).detach().numpy(), rtol=1e-5)
    dg.manual_seed(0)
    assert tuple(ours.rsample((4,)).shape) == (4, 3)
    assert type(ours.support).__name__ == "_Interval"
