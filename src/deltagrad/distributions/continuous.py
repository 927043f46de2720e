"""Univariate continuous distributions with closed forms: Normal, Uniform, Laplace and
Exponential (all reparameterisable)."""

from __future__ import annotations

import math

from .. import _engine as dg
from .._engine.tensor import Tensor
from . import constraints
from ._utils import broadcast_all, is_number, standard_normal
from .distribution import Distribution, ExponentialFamily

__all__ = ["Exponential", "Laplace", "Normal", "Uniform"]

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


def _scalar_batch(*params) -> bool:
    return all(is_number(p) for p in params)


class _CentredAtLoc:
    """mean = mode = ``loc``: the symmetric, unimodal families (and VonMises' mean angle)."""

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc


class _LocScale(_CentredAtLoc, Distribution):
    """What the (loc, scale) families share: real support, their parameters' constraints, the
    constructor, ``expand``'s body, and mean = mode = loc."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        batch_shape = () if _scalar_batch(loc, scale) else self.loc.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def _expand_to(self, cls, batch_shape, _instance):
        return self._expanded(cls, batch_shape, _instance, ("loc", "scale"))


class Normal(_LocScale, ExponentialFamily):
    """The normal (Gaussian) distribution N(loc, scale**2).

    Args:
        loc: the mean (number or floating tensor).
        scale: the standard deviation, > 0; broadcast with ``loc``.
        validate_args: as ``Distribution``.

    >>> import deltagrad as dg
    >>> from deltagrad.distributions import Normal
    >>> Normal(dg.tensor([0.0, 1.0]), 2.0).log_prob(dg.tensor([0.0, 1.0]))
    tensor([-1.6121, -1.6121])
    """

    def expand(self, batch_shape, _instance=None):
        return self._expand_to(Normal, batch_shape, _instance)

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def sample(self, sample_shape=()) -> Tensor:
        with dg.no_grad():
            if self.loc.dtype == self.scale.dtype:
                return self.rsample(sample_shape)
            # PyTorch's sample is torch.normal: in loc's dtype, the scaled draw rounded to it
            # before loc is added (rsample promotes)
            shape = self._extended_shape(sample_shape)
            draw = (standard_normal(shape, self.loc.dtype) * self.scale).to(self.loc.dtype)
            return draw + self.loc

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return self.loc + standard_normal(shape, self.loc.dtype) * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale**2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + dg.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * dg.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + dg.log(self.scale)


class Laplace(_LocScale):
    """The Laplace (double exponential) distribution with location ``loc`` and scale
    ``scale`` > 0."""

    def expand(self, batch_shape, _instance=None):
        return self._expand_to(Laplace, batch_shape, _instance)

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return 2**0.5 * self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = dg.finfo(self.loc.dtype).eps
        # u uniform on [eps - 1, 1): the lower end keeps log1p(-|u|) finite.
        u = dg.empty(tuple(shape), dtype=self.loc.dtype).uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * dg.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -dg.log(2 * self.scale) - dg.abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        centred = value - self.loc
        return 0.5 - 0.5 * centred.sign() * dg.expm1(-centred.abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * dg.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + dg.log(2 * self.scale)


class Uniform(Distribution):
    """The continuous uniform distribution on the half-open interval [low, high).

    Args:
        low: the lower bound (inclusive).
        high: the upper bound (exclusive), > low; broadcast with ``low``.
        validate_args: as ``Distribution``.
    """

    has_rsample = True

    def __init__(self, low, high, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        batch_shape = () if _scalar_batch(low, high) else self.low.shape
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def arg_constraints(self) -> dict:
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Uniform, batch_shape, _instance, ("low", "high"))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return math.nan * self.high

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = dg.rand(tuple(shape), dtype=self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value).type_as(self.low) * (self.high > value).type_as(self.low)
        return dg.log(inside) - dg.log(self.high - self.low)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return dg.log(self.high - self.low)


class Exponential(ExponentialFamily):
    """The exponential distribution with rate ``rate`` > 0 (mean ``1 / rate``)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = () if is_number(rate) else self.rate.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Exponential, batch_shape, _instance, ("rate",))

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return dg.zeros_like(self.rate)

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        # Exponential(1) draws (PyTorch's on its stream), scaled by the rate.
        return dg.empty(tuple(shape), dtype=self.rate.dtype).exponential_() / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - dg.exp(-self.rate * value)

    def icdf(self, value):
        return -dg.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - dg.log(self.rate)
