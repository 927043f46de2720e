"""Regression tests for what session 29's torch.distributions fuzzer family
(``s29_SL20_distributions.py``) found: each runs the same code on deltagrad and on PyTorch and
compares the outcome (values, dtypes, shapes, strides, gradients, exception classes,
warnings)."""

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _plain(value):
    """A value as comparable data: tensors by dtype name, shape and values (nan kept)."""
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        v = value.detach().double().numpy()
        return ["T", str(value.dtype).rsplit(".", 1)[-1], tuple(value.shape),
                np.where(np.isnan(v), 1e300, np.round(v, 9)).tolist()]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__] + [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _outcome(lib, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = ["ok", _plain(fn(lib))]
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            out = [[k.__name__ for k in type(exc).__mro__ if k.__module__ == "builtins"][0]]
    return out + [sorted({w.category.__name__ for w in caught})]


def _same(fn):
    ours, theirs = _outcome(dg, fn), _outcome(torch, fn)
    assert ours == theirs
    return theirs


def _t(lib, values, dtype="float64", grad=False):
    return lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=grad)


_COV = [[2.0, 0.5], [0.5, 1.0]]


# -- Wishart ----------------------------------------------------------------------------------

def test_wishart_number_df_stays_0d_and_its_batched_mean_raises():
    def run(lib):
        d = lib.distributions.Wishart(2.5, precision_matrix=_t(lib, [_COV, _COV]))
        return [d.df, repr(d).replace("deltagrad.", "torch."), tuple(d.batch_shape)]
    assert _same(run)[0] == "ok"
    mean = _same(lambda lib: lib.distributions.Wishart(3.0, covariance_matrix=_t(
        lib, [_COV, _COV])).mean)
    assert mean[0] == "RuntimeError"
    _same(lambda lib: lib.distributions.Wishart(3.0, covariance_matrix=_t(lib, _COV)).mean)


def test_wishart_float32_df_samples_in_the_matrix_dtype():
    def run(lib):
        d = lib.distributions.Wishart(_t(lib, [3.0, 4.0], "float32"),
                                      scale_tril=_t(lib, [[1.5, 0.0], [0.5, 1.0]]))
        lib.manual_seed(7)
        return d.rsample((2,))
    assert _same(run)[0] == "ok"


def test_wishart_low_df_warns_and_validates_before_factoring():
    low = _same(lambda lib: lib.distributions.Wishart(1.5, covariance_matrix=_t(lib, _COV)).df)
    assert low[-1] == ["UserWarning"]
    bad = [[1.0, 2.0], [2.0, 1.0]]
    assert _same(lambda lib: lib.distributions.Wishart(
        3.0, covariance_matrix=_t(lib, bad), validate_args=True))[0] == "ValueError"


def test_wishart_kl_is_pytorchs_bregman_divergence():
    def run(lib):
        D = lib.distributions
        a = D.Wishart(3.0, scale_tril=_t(lib, [[1.5, 0.0], [0.5, 1.0]]))
        b = D.Wishart(_t(lib, [4.0, 5.0]), covariance_matrix=_t(lib, _COV))
        c = D.Wishart(_t(lib, [3.5, 5.0]), covariance_matrix=_t(lib, [[1.0, 0.3], [0.3, 1.0]]))
        return [D.kl_divergence(a, a), D.kl_divergence(a, b), D.kl_divergence(b, c)]
    assert _same(run)[0] == "ok"


def test_cross_family_kl_between_exponential_families_still_refused():
    def run(lib):
        D = lib.distributions
        return D.kl_divergence(D.Wishart(3.0, covariance_matrix=_t(lib, _COV)),
                               D.Normal(0.0, 1.0))
    assert _same(run)[0] == "NotImplementedError"


# -- relaxed distributions: a Python-number temperature ---------------------------------------

@pytest.mark.parametrize("name", ["RelaxedOneHotCategorical", "RelaxedBernoulli"])
def test_a_number_temperature_is_kept_and_log_prob_refuses_it(name):
    probs = [0.2, 0.3, 0.5]

    def build(lib):
        return getattr(lib.distributions, name)(1.0, probs=_t(lib, probs))

    def sample(lib):
        lib.manual_seed(3)
        return [build(lib).temperature, build(lib).rsample()]
    assert _same(sample)[0] == "ok"

    def log_prob(lib):
        d = build(lib)
        lib.manual_seed(3)
        return d.log_prob(d.sample())
    assert _same(log_prob)[0] in ("TypeError", "AttributeError")
    assert _same(lambda lib: getattr(lib.distributions, name)(
        _t(lib, 1.0), probs=_t(lib, probs)).log_prob(_t(lib, probs)))[0] == "ok"


# -- constraints ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [[0, 1, 3], [[0.0, 1.0, 0.0]], [[1.0], [-1.0]]],
                         ids=["three", "row", "one"])
def test_stack_constraint_pairs_slices_as_far_as_both_go(value):
    def run(lib):
        C = lib.distributions.constraints
        return C.stack([C.real, C.positive], dim=-1).check(lib.tensor(value))
    assert _same(run)[0] == "ok"


@pytest.mark.parametrize("name", ["square", "symmetric", "positive_definite",
                                  "positive_semidefinite", "lower_cholesky", "lower_triangular",
                                  "corr_cholesky"])
def test_matrix_constraints_of_a_vector_raise_pytorchs_error(name):
    outcome = _same(lambda lib: getattr(lib.distributions.constraints, name).check(
        lib.tensor([1.0, 2.0, 0.0])))
    assert outcome[0] in ("IndexError", "RuntimeError")


# -- values and dtypes ------------------------------------------------------------------------

def test_half_cauchy_log_prob_reads_the_value_in_the_scales_dtype():
    def run(lib):
        d = lib.distributions.HalfCauchy(_t(lib, [[0.75], [1.5]], "float32"),
                                         validate_args=False)
        return [d.log_prob(_t(lib, [3.0, -1.0])),
                lib.distributions.HalfNormal(_t(lib, [0.5], "float32")).log_prob(
                    _t(lib, [1.0]))]
    assert _same(run)[0] == "ok"


def test_gamma_cdf_below_zero_is_nan_with_pytorchs_gradient():
    def run(lib):
        x = _t(lib, [-0.5, 0.0, 0.0, 1.0], grad=True)
        y = lib.distributions.Gamma(_t(lib, [2.0, 1.0, 2.0, 0.5]), 1.0,
                                    validate_args=False).cdf(x)
        y.sum().backward()
        return [y, x.grad]
    assert _same(run)[0] == "ok"


def test_gamma_cdf_promotes_its_parameters_and_value():
    def run(lib):
        d = lib.distributions.Gamma(_t(lib, 3.0, "float32"), _t(lib, [3.0, 3.0, 1.0]))
        return [d.cdf(_t(lib, [0.5, 1.0, 2.0])), d.cdf(_t(lib, [0.5, 1.0, 2.0], "float32")),
                lib.distributions.Chi2(_t(lib, 3.0, "float32")).cdf(_t(lib, 1.5))]
    assert _same(run)[0] == "ok"


def test_student_t_rsample_rounds_its_draw_in_dfs_dtype():
    def run(lib):
        d = lib.distributions.StudentT(_t(lib, [1.0, 1.0, 1.0], "float32"),
                                       _t(lib, [[-1.5, 1.0, -0.5], [0.0, -0.5, 0.0]]), 1.5)
        lib.manual_seed(8)
        x = d.rsample((2,))
        return [x.dtype == lib.float64, x.detach().double().numpy().tolist()]
    ours, theirs = _outcome(dg, run), _outcome(torch, run)
    assert ours == theirs  # (bit for bit: exp(exp(x)) of such draws magnified the last bit)


def test_gather_output_is_contiguous_whatever_the_index_layout():
    def run(lib):
        x = lib.arange(16.0).reshape(4, 4)
        i = lib.tensor([[0, 1, 2, 3], [1, 1, 1, 1], [0, 0, 0, 0], [3, 2, 1, 0]]).T
        logits = _t(lib, [[[-2.0, 0.0, 1.5], [0.5, 0.0, -0.5], [1.5, 1.5, -0.5]]])
        lib.manual_seed(4)
        c = lib.distributions.Categorical(logits=logits)
        lp = c.log_prob(c.sample((2,)))
        return [x.gather(1, i).stride(), x.T.gather(0, i).stride(), lp.is_contiguous(),
                lib.take_along_dim(x, i, 1).stride(), lp]
    assert _same(run)[0] == "ok"


def test_normal_sample_is_in_locs_dtype_and_rsample_promotes():
    def run(lib):
        d = lib.distributions.Normal(_t(lib, [2.0, 1.2345678], "float32"), _t(lib, 1.1))
        lib.manual_seed(0)
        a = d.sample((3,))
        lib.manual_seed(0)
        b = d.expand((4, 2)).sample()
        lib.manual_seed(0)
        return [a, b, d.rsample()]
    assert _same(run)[0] == "ok"


def test_wishart_expand_expands_its_factor_as_pytorch():
    def run(lib):
        d = lib.distributions.Wishart(_t(lib, [3.0, 4.0], "float32"),
                                      precision_matrix=_t(lib, _COV))
        # (float32, then float64; values to float32's precision)
        return [[str(e.dtype).rsplit(".", 1)[-1], np.round(e.detach().double().numpy(), 4).tolist()]
                for e in (d.entropy(), d.expand((2, 2)).entropy())]
    assert _same(run)[0] == "ok"


def test_mahalanobis_result_has_pytorchs_layout():
    def run(lib):
        d = lib.distributions.MultivariateNormal(_t(lib, [2.0, 0.0]),
                                                 covariance_matrix=_t(lib, [_COV, _COV]))
        out = []
        for shape in [(2,), (3, 2), ()]:
            lib.manual_seed(0)
            lp = d.log_prob(d.sample(shape))
            out += [lp, lp.is_contiguous(), [s for s, n in zip(lp.stride(), lp.shape) if n > 1]]
        return out
    assert _same(run)[0] == "ok"


@pytest.mark.parametrize("what", ["stack_check", "cat_check", "stack_transform",
                                  "cat_transform", "cat_lengths", "stack_size"])
def test_cat_and_stack_checks_raise_assertion_error(what):
    def run(lib):
        D = lib.distributions
        C, T = D.constraints, D.transforms
        x = lib.tensor(-1.5, dtype=lib.float64)
        if what == "stack_check":
            return C.stack([C.real, C.positive], dim=-1).check(lib.tensor(3.0))
        if what == "cat_check":
            return C.cat([C.real, C.positive], dim=1).check(lib.tensor([1.0, 2.0]))
        if what == "stack_transform":
            return D.transform_to(C.stack([C.real, C.positive], dim=-1))(x)
        if what == "cat_transform":
            return T.CatTransform([T.ExpTransform(), T.ExpTransform()], dim=0)(x)
        if what == "cat_lengths":
            return T.CatTransform([T.ExpTransform()], lengths=[1, 2])
        return T.StackTransform([T.ExpTransform()])(lib.tensor([1.0, 2.0]))
    assert _same(run)[0] == "AssertionError"


def test_stick_breaking_shapes_keep_the_given_type():
    def run(lib):
        t = lib.distributions.transforms.StickBreakingTransform()
        return [type(t.forward_shape((4,))).__name__, t.forward_shape((4,)),
                t.inv.forward_shape((2, 4)), t.inverse_shape((4,))]
    assert _same(run)[0] == "ok"


@pytest.mark.parametrize("matrix", [[[math.nan, 0.0], [0.0, 1.0]], [[1.0, 0.0], [math.nan, 1.0]],
                                    [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [math.nan, 1.0]]],
                                    [[1.0, math.nan], [0.0, 1.0]],
                                    [[math.inf, math.inf], [math.inf, math.inf]],
                                    [[4.0, 0.0], [math.inf, 1.0]], [[1.0, 0.0], [0.0, math.inf]]],
                         ids=["diagonal", "below", "batch", "upper_unread", "all_inf", "inf_below",
                              "inf_pivot"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cholesky_of_a_nan_matrix_raises_as_pytorchs(matrix, dtype):
    _same(lambda lib: lib.linalg.cholesky(_t(lib, matrix, dtype)))
    _same(lambda lib: list(lib.linalg.cholesky_ex(_t(lib, matrix, dtype))))


def test_low_rank_mvn_with_a_nan_diagonal_fails_factoring_first():
    def run(lib):
        return lib.distributions.LowRankMultivariateNormal(
            _t(lib, [2.0, 0.25], "float32"), _t(lib, [[0.0], [1.0]], "float32"),
            _t(lib, [math.nan, 1.0], "float32"), validate_args=True)
    assert _same(run)[0] == "RuntimeError"


@pytest.mark.parametrize("name", ["positive_definite", "positive_semidefinite"])
def test_definite_checks_of_integer_matrices_raise_pytorchs_error(name):
    def run(lib):
        c = getattr(lib.distributions.constraints, name)
        return c.check(lib.full((2, 2, 2), -1))
    assert _same(run)[0] in ("RuntimeError", "NotImplementedError")
    assert _same(lambda lib: lib.distributions.Wishart(3.0, covariance_matrix=_t(lib, _COV))
                 .log_prob(lib.full((2, 2), -1)))[0] == "RuntimeError"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_draws_of_nan_and_negative_concentrations_follow_pytorchs_sampler(dtype):
    def run(lib):
        D = lib.distributions
        conc = _t(lib, [math.nan, 1.0, -0.5, -1.0, -2 / 3, -2.0, 0.0, 2.5], dtype)
        lib.manual_seed(12)
        gamma = D.Gamma(conc, 1.0, validate_args=False).rsample((2,))
        lib.manual_seed(12)
        beta = D.Beta(_t(lib, [[0.5, 2.0, 2.0]], dtype), math.nan, validate_args=False).rsample()
        return [gamma.detach().double().numpy().tolist(), beta]  # (tiny: exactly)
    assert _same(run)[0] == "ok"


@pytest.mark.parametrize("concentration", [-1.0, 0.2, -0.4, math.nan], ids=str)
@pytest.mark.parametrize("dim", [2, 3])
def test_lkj_refuses_what_its_beta_would_even_without_validation(concentration, dim):
    _same(lambda lib: lib.distributions.LKJCholesky(dim, concentration, validate_args=False)
          .concentration)


def test_low_rank_mvn_with_a_zero_diagonal_fails_factoring_first():
    def run(lib):
        return lib.distributions.LowRankMultivariateNormal(
            _t(lib, [1.0, 0.0]), _t(lib, [[2.0, 2.0], [1.0, 2.0]]), _t(lib, [0.0, 0.75]))
    assert _same(run)[0] == "RuntimeError"


def test_corr_cholesky_check_of_integers_is_pytorchs_type_error():
    assert _same(lambda lib: lib.distributions.LKJCholesky(2, 0.5).log_prob(
        lib.full((2, 2), 2)))[0] == "TypeError"


def test_positive_definite_check_is_pytorchs_cholesky_question():
    def run(lib):
        C = lib.distributions.constraints
        values = [lib.full((2, 2), 2.0), lib.full((2, 2), 2.0, dtype=lib.float64),
                  lib.tensor([[1.0, 0.0], [0.0, -1.0]]), lib.zeros(0, 0),
                  _t(lib, [[3.0, 1.0, 1.0], [1.0, 3.0, 1.0], [1.0, 1.0, 1e-9]]),
                  lib.tensor([[math.nan, 0.0], [0.0, 1.0]])]
        checks = [C.positive_definite.check(v) for v in values]
        d = lib.distributions.Wishart(3.0, scale_tril=lib.tensor([[1.0, 0.0], [-0.3, 0.7]]))
        return checks + [lib.isnan(d.log_prob(lib.full((2, 2), 2.0))).all()]
    assert _same(run)[0] == "ok"
