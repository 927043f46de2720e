"""More of PyTorch's distributions, as teaching code uses them: Cauchy, HalfNormal, HalfCauchy,
Gumbel and StudentT (continuous), Geometric and Multinomial (discrete), and
MixtureSameFamily (Gaussian mixtures), with their KL divergences in ``kl.py``."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine.tensor import Tensor
from ..nn import functional as F
from . import constraints
from ._utils import (
    broadcast_all,
    is_number,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
    standard_normal,
)
from .continuous import Normal, _LocScale
from .discrete import Binomial, Categorical, _CategoricalView, _set_probs_or_logits
from .distribution import Distribution
from .gamma import Chi2
from .transformed_distribution import TransformedDistribution
from .transforms_extra import AbsTransform

__all__ = ["Cauchy", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal", "MixtureSameFamily",
           "Multinomial", "StudentT"]

_EULER_GAMMA = 0.57721566490153286061
_LOG_2 = math.log(2.0)


def _open_unit(shape, dtype) -> Tensor:
    """Uniform draws in the open interval (0, 1) (the ends would make logs infinite)."""
    info = dg.finfo(dtype)
    return dg.rand(tuple(shape), dtype=dtype).clamp(min=info.tiny, max=1 - info.eps)


class Cauchy(_LocScale):
    """The Cauchy (Lorentz) distribution with median ``loc`` and half-width ``scale`` > 0;
    its mean is undefined (nan) and its variance infinite, as in PyTorch."""

    def expand(self, batch_shape, _instance=None):
        return self._expand_to(Cauchy, batch_shape, _instance)

    @property
    def mean(self) -> Tensor:
        return dg.full_like(self.loc, math.nan)

    @property
    def variance(self) -> Tensor:
        return dg.full_like(self.loc, math.inf)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return self.loc + dg.empty(shape, dtype=self.loc.dtype).cauchy_() * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - dg.log1p(z * z)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return dg.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return dg.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class Gumbel(_LocScale):
    """The Gumbel (type-I extreme value) distribution with location ``loc`` and scale
    ``scale`` > 0."""

    def expand(self, batch_shape, _instance=None):
        return self._expand_to(Gumbel, batch_shape, _instance)

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER_GAMMA

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def _unit(self, value) -> Tensor:
        # PyTorch's Gumbel transforms a Uniform(tiny, 1 - eps) (of loc's dtype): its draws and
        # icdf map [0, 1] into that interval (icdf(0) is finite).
        info = dg.finfo(self.loc.dtype)
        low, high = dg.full_like(self.loc, info.tiny), dg.full_like(self.loc, 1 - info.eps)
        return low + value * (high - low)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        u = self._unit(dg.rand(shape, dtype=self.loc.dtype))
        return self.loc - self.scale * dg.log(-dg.log(u))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -(z + dg.exp(-z)) - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        u = dg.exp(-dg.exp(-(value - self.loc) / self.scale))
        info = dg.finfo(self.loc.dtype)
        if self._validate_args:  # (PyTorch's base Uniform checks where the value maps)
            if not bool(((u >= info.tiny) & (u <= 1 - info.eps)).all()):
                raise ValueError(f"Expected value argument (Tensor of shape "
                                 f"{tuple(value.shape)}) to be within the support of the "
                                 f"Gumbel's base Uniform({info.tiny}, {1 - info.eps}) after "
                                 f"its transforms, but found invalid values:\n{value}")
        return ((u - info.tiny) / ((1 - info.eps) - info.tiny)).clamp(0, 1)

    def icdf(self, value):
        return self.loc - self.scale * dg.log(-dg.log(self._unit(value)))

    def entropy(self):
        return self.scale.log() + (1 + _EULER_GAMMA)


class _HalfOf(TransformedDistribution):
    """|X| for X symmetric about 0 with scale ``scale`` (``_base`` builds X). A
    TransformedDistribution as PyTorch's, for code that tells them apart by it (gpytorch's
    priors keep a TransformedDistribution's parameters as ``_buffered_<name>`` buffers); its
    base and transforms are built when asked for."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args: bool | None = None) -> None:
        (self.scale,) = broadcast_all(scale)
        batch_shape = () if is_number(scale) else self.scale.shape
        Distribution.__init__(self, batch_shape, validate_args=validate_args)

    def _base(self):
        raise NotImplementedError

    def __repr__(self) -> str:
        # PyTorch's are TransformedDistributions whose ``scale`` is a property, not in __dict__,
        # so its repr lists no parameters.
        return f"{type(self).__name__}()"

    # PyTorch builds these as TransformedDistribution(base, AbsTransform()); code written
    # against that (pyro patches HalfCauchy.log_prob to call self.base_dist) reads these two.
    @property
    def base_dist(self) -> Distribution:
        return self._base()

    @property
    def transforms(self) -> list:
        return [AbsTransform()]

    def expand(self, batch_shape, _instance=None):
        return self._expanded(type(self), batch_shape, _instance, ("scale",))

    @property
    def mode(self) -> Tensor:
        return dg.zeros_like(self.scale)

    def rsample(self, sample_shape=()) -> Tensor:
        return self._base().rsample(sample_shape).abs()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # The density of X folded onto [0, inf): twice X's; -inf below 0 (as PyTorch).
        log_prob = self._base().log_prob(value) + _LOG_2
        return dg.where(value >= 0, log_prob, -math.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self._base().cdf(value) - 1

    def icdf(self, prob):
        return self._base().icdf((prob + 1) / 2)

    def entropy(self):
        return self._base().entropy() - _LOG_2


class HalfNormal(_HalfOf):
    """|X| for X ~ Normal(0, ``scale``)."""

    def _base(self):
        return Normal(dg.zeros_like(self.scale), self.scale, validate_args=False)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)


class HalfCauchy(_HalfOf):
    """|X| for X ~ Cauchy(0, ``scale``); mean and variance are infinite."""

    def _base(self):
        return Cauchy(dg.zeros_like(self.scale), self.scale, validate_args=False)

    def log_prob(self, value):
        # (PyTorch's HalfCauchy, not its HalfNormal, reads the value in the scale's dtype)
        if self._validate_args:
            self._validate_sample(value)
        return super().log_prob(dg.as_tensor(value, dtype=self.scale.dtype))

    @property
    def mean(self) -> Tensor:
        return dg.full_like(self.scale, math.inf)

    @property
    def variance(self) -> Tensor:
        return dg.full_like(self.scale, math.inf)


class StudentT(Distribution):
    """Student's t distribution with ``df`` > 0 degrees of freedom, location ``loc`` and scale
    ``scale`` > 0."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df, loc=0.0, scale=1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        batch_shape = () if all(is_number(v) for v in (df, loc, scale)) else self.df.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expanded(StudentT, batch_shape, _instance, ("df", "loc", "scale"))
        new._chi2 = Chi2(new.df)
        return new

    @property
    def mean(self) -> Tensor:
        return dg.where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        finite = self.scale.pow(2) * self.df / (self.df - 2)
        return dg.where(self.df > 2, finite, dg.where(self.df > 1, math.inf, math.nan))

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def rsample(self, sample_shape=()) -> Tensor:
        # t = Z / sqrt(V / df) with Z standard normal and V ~ chi-squared(df).
        shape = self._extended_shape(sample_shape)
        z = standard_normal(shape, self.df.dtype)
        v = self._chi2.rsample(sample_shape)
        # (PyTorch's order: the t draw in df's dtype, then scaled and shifted)
        return self.loc + self.scale * (z * dg.rsqrt(v / self.df))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        log_norm = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
                    + dg.lgamma(0.5 * self.df) - dg.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * dg.log1p(y.pow(2) / self.df) - log_norm

    def entropy(self):
        half = 0.5 * self.df
        log_beta = dg.lgamma(half) + math.lgamma(0.5) - dg.lgamma(half + 0.5)
        return (self.scale.log() + (half + 0.5) * (dg.digamma(half + 0.5) - dg.digamma(half))
                + 0.5 * self.df.log() + log_beta)


class Geometric(Distribution):
    """The number of failures before the first success in Bernoulli(``probs``) trials.

    Args:
        probs: the success probability, in (0, 1] (or ``logits``, its log-odds).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _, batch_shape = _set_probs_or_logits(self, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)
        # As PyTorch: probs = 0 passes unit_interval but has no distribution (mean inf).
        if self._validate_args and probs is not None:
            valid = self.probs > 0
            if not bool(valid.all()):
                raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of "
                                 f"shape {tuple(self.probs.shape)}) of distribution "
                                 f"{self!r} to be positive but found invalid values:\n"
                                 f"{self.probs.detach()[~valid]}")

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Geometric, batch_shape, _instance, optional=("probs", "logits"))

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return dg.zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with dg.no_grad():
            u = dg.empty(tuple(shape), dtype=self.probs.dtype).uniform_(
                dg.finfo(self.probs.dtype).tiny, 1)
            return (u.log() / dg.log1p(-self.probs)).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # NOTE: at probs == 1 a value of 0 has probability 1: 0 * log(0) is taken as 0.
        failures = dg.where((probs == 1) & (value == 0), 0.0, value * dg.log1p(-probs))
        return failures + self.probs.log()

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                  reduction="none") / self.probs


class Multinomial(_CategoricalView, Distribution):
    """Counts of ``total_count`` draws from Categorical(``probs``) over the last dimension.

    Args:
        total_count: the number of draws (an int).
        probs: event probabilities (normalised over the last dim), or ``logits``.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, (int, np.integer)):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=self.total_count, probs=self.probs)
        param = self._categorical.param_shape
        super().__init__(param[:-1], param[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        categorical = self._categorical.expand(batch_shape)
        return self._expanded(Multinomial, batch_shape, _instance, total_count=self.total_count,
                              _categorical=categorical,
                              _binomial=Binomial(total_count=self.total_count,
                                                 probs=categorical.probs))

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        # PyTorch's draws: total_count categorical draws per sample (one Categorical.sample of
        # shape (total_count, *sample_shape)), counted per category.
        shape = tuple(self._extended_shape(sample_shape))
        draws = self._categorical.sample((self.total_count,) + tuple(sample_shape))
        categories = np.moveaxis(draws.numpy(), 0, -1).reshape(-1, self.total_count)
        counts = np.zeros((categories.shape[0], shape[-1]), dtype=np.int64)
        np.add.at(counts, (np.arange(categories.shape[0])[:, None], categories), 1)
        return dg.tensor(counts.reshape(shape), dtype=self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # NOTE: a zero count of an impossible category (logit -inf) contributes 0, not nan.
        logits = dg.where((value == 0) & dg.isinf(logits), 0.0, logits)
        log_factorials = dg.lgamma(value.sum(-1) + 1) - dg.lgamma(value + 1).sum(-1)
        return log_factorials + (logits * value).sum(-1)

    def entropy(self):
        n = self.total_count
        # H = n H(categorical) - log n! + sum_k E[log x_k!] with x_k ~ Binomial(n, p_k).
        support = self._binomial.enumerate_support()
        binomial_probs = self._binomial.log_prob(support).exp()
        weights = dg.lgamma(support + 1)
        return (n * self._categorical.entropy() - math.lgamma(n + 1)
                + (binomial_probs * weights).sum([0, -1]))


class MixtureSameFamily(Distribution):
    """A mixture whose components are the last batch dimension of ``component_distribution``,
    weighted by ``mixture_distribution`` (a Categorical over that dimension).

    >>> import deltagrad as dg
    >>> from deltagrad.distributions import Categorical, MixtureSameFamily, Normal
    >>> gmm = MixtureSameFamily(Categorical(probs=dg.tensor([0.3, 0.7])),
    ...                         Normal(dg.tensor([0.0, 2.0]), dg.tensor([1.0, 0.5])))
    >>> round(gmm.mean.item(), 4)
    1.4
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of "
                             "torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of "
                             "torch.distributions.Distribution")
        mix_batch = tuple(mixture_distribution.batch_shape)
        comp_batch = tuple(component_distribution.batch_shape)
        if len(comp_batch) < 1:
            raise ValueError("`component_distribution` must have a batch dimension")
        for m, c in zip(reversed(mix_batch), reversed(comp_batch[:-1])):
            if m != 1 and c != 1 and m != c:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mix_batch}) is not "
                                 f"compatible with `component_distribution.batch_shape` "
                                 f"({comp_batch})")
        k = mixture_distribution.logits.shape[-1]
        if k != comp_batch[-1]:
            raise ValueError(f"`mixture_distribution component` ({k}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({comp_batch[-1]})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = k
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(comp_batch[:-1], component_distribution.event_shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = tuple(batch_shape)
        return self._expanded(
            MixtureSameFamily, batch_shape, _instance,
            _component_distribution=self._component_distribution.expand(
                batch_shape + (self._num_component,)),
            _mixture_distribution=self._mixture_distribution.expand(batch_shape),
            _num_component=self._num_component, _event_ndims=self._event_ndims)

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    def _weights(self) -> Tensor:
        """The mixture probabilities, with trailing unit dims for the event."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        # The law of total variance: E[Var(X | k)] + Var(E[X | k]).
        weights, dim = self._weights(), -1 - self._event_ndims
        within = (weights * self._component_distribution.variance).sum(dim)
        centred = self._component_distribution.mean - self.mean.unsqueeze(dim)
        return within + (weights * centred.pow(2)).sum(dim)

    def _pad(self, x: Tensor) -> Tensor:
        return x.unsqueeze(-1 - self._event_ndims)

    def cdf(self, value):
        value = self._pad(value)
        cdf_x = self._component_distribution.cdf(value)
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):  # PyTorch names this one's value x
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))
        log_mix = dg.log_softmax(self._mixture_distribution.logits, dim=-1)
        return dg.logsumexp(log_prob_x + log_mix, dim=-1)

    def sample(self, sample_shape=()) -> Tensor:
        with dg.no_grad():
            sample_shape = tuple(sample_shape)
            index = self._mixture_distribution.sample(sample_shape)
            components = self._component_distribution.sample(sample_shape)
            # Pick each draw's component: the index broadcast over the event dims.
            gather_dim = len(sample_shape) + len(self.batch_shape)
            index = index.reshape(tuple(index.shape) + (1,) * (1 + self._event_ndims))
            index = index.expand(tuple(index.shape[:gather_dim + 1])
                                 + tuple(self.event_shape))
            return components.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self) -> str:
        return (f"MixtureSameFamily(\n  {self._mixture_distribution},\n"
                f"  {self._component_distribution})")
