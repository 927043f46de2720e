"""KL divergences between different families (PyTorch's cross-family table): closed forms
written as KL(p || q) = -H(p) - E_p[log q(x)], and inf where p puts mass outside q's support.
Listed in ``CROSS_KL``, which ``kl.py`` registers."""

from __future__ import annotations

import math
from collections.abc import Callable

from .. import _engine as dg
from .._engine.tensor import Tensor
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Poisson
from .gamma import Beta, Gamma
from .more import Gumbel
from .positive import Pareto
from .relaxed import ContinuousBernoulli

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)

CROSS_KL: list[tuple[type, type, Callable]] = []


def register_kl(type_p: type, type_q: type) -> Callable:
    """Adds ``fn`` to ``CROSS_KL`` for the pair (kl.py registers the list)."""
    def add(fn: Callable) -> Callable:
        CROSS_KL.append((type_p, type_q, fn))
        return fn
    return add


def _infinite(like: Tensor) -> Tensor:
    return dg.full_like(like, math.inf)


def _inf_where(condition: Tensor, value: Tensor) -> Tensor:
    return dg.where(condition, math.inf, value)


# Pairs whose p reaches outside q's support everywhere (PyTorch's list).
_INFINITE = {
    Beta: ((Pareto,), "concentration1"),
    ContinuousBernoulli: ((Pareto,), "probs"),
    Exponential: ((Beta, ContinuousBernoulli, Pareto, Uniform), "rate"),
    Gamma: ((Beta, ContinuousBernoulli, Pareto, Uniform), "concentration"),
    Gumbel: ((Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform), "loc"),
    Laplace: ((Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform), "loc"),
    Normal: ((Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform), "loc"),
    Pareto: ((Beta, ContinuousBernoulli, Uniform), "scale"),
    Poisson: ((Bernoulli, Binomial), "rate"),
}


def _make_infinite(attribute: str):
    def kl(p, q):
        return _infinite(getattr(p, attribute))
    return kl


for _p_type, (_q_types, _attribute) in _INFINITE.items():
    for _q_type in _q_types:
        register_kl(_p_type, _q_type)(_make_infinite(_attribute))


# Expectations of log q(x) under p, for each q family, from p's moments.
def _normal_cross(p, q, mean=None, variance=None) -> Tensor:
    # E[(x - mu)^2] = var_p + (mean_p - mu)^2
    mean = p.mean if mean is None else mean
    variance = p.variance if variance is None else variance
    squared = variance + (mean - q.loc).pow(2)
    return -p.entropy() + q.scale.log() + _HALF_LOG_2PI + squared / (2 * q.scale.pow(2))


def _exponential_cross(p, q, mean=None) -> Tensor:
    return -p.entropy() - q.rate.log() + q.rate * (p.mean if mean is None else mean)


def _gamma_cross(p, q, mean_log: Tensor, mean=None) -> Tensor:
    alpha, beta = q.concentration, q.rate
    return (-p.entropy() - alpha * beta.log() + dg.lgamma(alpha) - (alpha - 1) * mean_log
            + beta * (p.mean if mean is None else mean))


def _gumbel_cross(p, q, mean_exp: Tensor) -> Tensor:
    # log q = -log b - z - exp(-z) with z = (x - mu) / b; mean_exp = E[exp(-x / b)].
    b = q.scale
    return -p.entropy() + b.log() + (p.mean - q.loc) / b + (q.loc / b).exp() * mean_exp


def _continuous_bernoulli_log_prob(q, x: Tensor) -> Tensor:
    # log q(x) is affine in x, so E_p[log q(x)] = log q(E_p[x]); computed without validation.
    return x * q.logits + dg.log1p(-q.probs) + q._log_normalizer()


for _p_type in (Beta, ContinuousBernoulli, Exponential, Gamma, Gumbel, Laplace):
    register_kl(_p_type, Normal)(_normal_cross)
for _p_type in (Beta, ContinuousBernoulli, Gamma):
    register_kl(_p_type, Exponential)(_exponential_cross)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - p.probs * q.rate.log() + q.rate


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() - _continuous_bernoulli_log_prob(q, p.mean)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    a, b = p.concentration1, p.concentration0
    return _gamma_cross(p, q, dg.digamma(a) - dg.digamma(a + b))


def _unit_interval_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _inf_where((q.low > 0) | (q.high < 1), result)


register_kl(Beta, Uniform)(_unit_interval_uniform)
register_kl(ContinuousBernoulli, Uniform)(_unit_interval_uniform)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    mean = p.mean
    return _continuous_bernoulli_log_prob(p, mean) - _continuous_bernoulli_log_prob(q, mean)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    # E[exp(-x / b)] for x ~ Exponential(rate) is rate / (rate + 1 / b).
    return _gumbel_cross(p, q, p.rate / (p.rate + q.scale.reciprocal()))


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    return _normal_cross(p, q)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    # The Gamma's moment generating function at -1 / b.
    ratio = p.rate / (p.rate + q.scale.reciprocal())
    return _gumbel_cross(p, q, ratio.pow(p.concentration))


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    b = q.scale
    mean_exp = (-p.loc / b + 0.5 * (p.scale / b).pow(2)).exp()
    return _gumbel_cross(p, q, mean_exp)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # E|x - mu_q| for x ~ Normal: the folded normal's mean.
    shift, sigma = p.loc - q.loc, p.scale
    mean_abs = (sigma * math.sqrt(2 / math.pi) * (-0.5 * (shift / sigma).pow(2)).exp()
                + shift * dg.erf(shift / (sigma * math.sqrt(2))))
    return -p.entropy() + (2 * q.scale).log() + mean_abs / q.scale


def _pareto_mean_log(p) -> Tensor:
    return p.scale.log() + p.alpha.reciprocal()


# NOTE: the moments' closed forms continued past alpha <= 1 (mean) and alpha <= 2 (variance),
# where the KL is set to inf anyway: finite there, so the masked entries get gradient 0 (as
# PyTorch's) rather than 0 * inf = nan.
def _pareto_raw_mean(p) -> Tensor:
    return p.alpha * p.scale / (p.alpha - 1)


def _pareto_raw_variance(p) -> Tensor:
    a = p.alpha
    return p.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    return _inf_where(p.alpha <= 1, _exponential_cross(p, q, _pareto_raw_mean(p)))


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    result = _gamma_cross(p, q, _pareto_mean_log(p), _pareto_raw_mean(p))
    return _inf_where(p.alpha <= 1, result)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    result = _normal_cross(p, q, _pareto_raw_mean(p), _pareto_raw_variance(p))
    return _inf_where(p.alpha <= 2, result)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    a = q.alpha
    result = (-p.entropy() - a.log() - a * q.scale.log()
              + (a + 1) * _pareto_mean_log(p))
    return _inf_where(p.support.lower_bound < q.support.lower_bound, result)


def _uniform_mean_log(low: Tensor, high: Tensor) -> Tensor:
    # E[log x] for x ~ Uniform(low, high), low >= 0: [x log x - x] / (high - low).
    return (dg.xlogy(high, high) - dg.xlogy(low, low)) / (high - low) - 1


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    low, high = p.low, p.high
    a, b = q.concentration1, q.concentration0
    log_beta = dg.lgamma(a) + dg.lgamma(b) - dg.lgamma(a + b)
    mean_log = _uniform_mean_log(low, high)
    mean_log1m = _uniform_mean_log(1 - high, 1 - low)
    result = -(high - low).log() - (a - 1) * mean_log - (b - 1) * mean_log1m + log_beta
    return _inf_where((low < 0) | (high > 1), result)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    result = -p.entropy() - _continuous_bernoulli_log_prob(q, p.mean)
    return _inf_where((p.low < 0) | (p.high > 1), result)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    return _inf_where(p.low < 0, _exponential_cross(p, q))


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    return _inf_where(p.low < 0, _gamma_cross(p, q, _uniform_mean_log(p.low, p.high)))


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    b = q.scale
    mean_exp = b * ((-p.low / b).exp() - (-p.high / b).exp()) / (p.high - p.low)
    return _gumbel_cross(p, q, mean_exp)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    a = q.alpha
    result = (-p.entropy() - a.log() - a * q.scale.log()
              + (a + 1) * _uniform_mean_log(p.low, p.high))
    return _inf_where(p.low < q.scale, result)
