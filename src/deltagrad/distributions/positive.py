"""Distributions on the positive reals and the unit interval built from simpler ones: Pareto,
Weibull, InverseGamma and Kumaraswamy (transformed Exponential / Gamma / Uniform draws) and
FisherSnedecor (a ratio of Gamma draws); all reparameterisable."""

from __future__ import annotations

import math

from .. import _engine as dg
from .._engine.tensor import Tensor
from . import constraints
from ._utils import broadcast_all, is_number
from .continuous import Exponential, Uniform
from .distribution import Distribution
from .gamma import Gamma
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, ExpTransform, PowerTransform

__all__ = ["FisherSnedecor", "InverseGamma", "Kumaraswamy", "Pareto", "Weibull"]

_EULER_GAMMA = 0.57721566490153286061


def _expand_transformed(self, cls, batch_shape, _instance, names):
    """``expand`` for a TransformedDistribution subclass whose parameters ``names`` are kept
    as attributes beside the base distribution."""
    new = self._get_checked_instance(cls, _instance)
    shape = dg.Size(batch_shape)
    for name in names:
        setattr(new, name, getattr(self, name).expand(shape))
    return TransformedDistribution.expand(self, shape, _instance=new)


class Pareto(TransformedDistribution):
    """The Pareto (type I) distribution: values >= ``scale`` with tail index ``alpha``,
    scale * exp(E) for E ~ Exponential(alpha).

    Args:
        scale: the minimum value, > 0.
        alpha: the shape (tail index), > 0; broadcast with ``scale``.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args: bool | None = None) -> None:
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        transforms = [ExpTransform(), AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_transformed(self, Pareto, batch_shape, _instance, ("scale", "alpha"))

    @property
    def mean(self) -> Tensor:
        # Infinite for alpha <= 1 (the clamp makes the denominator 0 there).
        alpha = self.alpha.clamp(min=1)
        return alpha * self.scale / (alpha - 1)

    @property
    def mode(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        # Infinite for alpha <= 2.
        alpha = self.alpha.clamp(min=2)
        return self.scale.pow(2) * alpha / ((alpha - 1).pow(2) * (alpha - 2))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


class Weibull(TransformedDistribution):
    """The Weibull distribution with ``scale`` (lambda) and shape ``concentration`` (k):
    scale * E ** (1 / k) for E ~ Exponential(1).

    Args:
        scale: > 0.
        concentration: > 0; broadcast with ``scale``.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args: bool | None = None) -> None:
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(dg.ones_like(self.scale), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration_reciprocal),
                      AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Weibull, _instance)
        shape = dg.Size(batch_shape)
        new.scale = self.scale.expand(shape)
        new.concentration = self.concentration.expand(shape)
        new.concentration_reciprocal = new.concentration.reciprocal()
        base = self.base_dist.expand(shape)
        transforms = [PowerTransform(exponent=new.concentration_reciprocal),
                      AffineTransform(loc=0, scale=new.scale)]
        TransformedDistribution.__init__(new, base, transforms, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.scale * dg.lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k).pow(k.reciprocal())

    @property
    def variance(self) -> Tensor:
        first = dg.lgamma(1 + self.concentration_reciprocal).exp()
        second = dg.lgamma(1 + 2 * self.concentration_reciprocal).exp()
        return self.scale.pow(2) * (second - first.pow(2))

    def entropy(self):
        return (_EULER_GAMMA * (1 - self.concentration_reciprocal)
                + (self.scale * self.concentration_reciprocal).log() + 1)


class InverseGamma(TransformedDistribution):
    """1 / X for X ~ Gamma(``concentration``, ``rate``).

    Args:
        concentration: the shape, > 0.
        rate: the scale of 1 / X (Gamma's rate), > 0; broadcast with ``concentration``.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        base = Gamma(concentration, rate, validate_args=validate_args)
        minus_one = dg.tensor(-1.0, dtype=base.rate.dtype)
        super().__init__(base, PowerTransform(minus_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(InverseGamma, _instance)
        return TransformedDistribution.expand(self, batch_shape, _instance=new)

    @property
    def concentration(self) -> Tensor:
        return self.base_dist.concentration

    @property
    def rate(self) -> Tensor:
        return self.base_dist.rate

    @property
    def mean(self) -> Tensor:
        finite = self.rate / (self.concentration - 1)
        return dg.where(self.concentration > 1, finite, math.inf)

    @property
    def mode(self) -> Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        c = self.concentration
        finite = self.rate.pow(2) / ((c - 1).pow(2) * (c - 2))
        return dg.where(c > 2, finite, math.inf)

    def entropy(self):
        c = self.concentration
        return c + self.rate.log() + dg.lgamma(c) - (1 + c) * dg.digamma(c)


def _kumaraswamy_moment(a: Tensor, b: Tensor, n: int) -> Tensor:
    """E[X^n] = b B(1 + n / a, b), through log-gammas."""
    shifted = 1 + n / a
    return b * (dg.lgamma(shifted) + dg.lgamma(b) - dg.lgamma(shifted + b)).exp()


class Kumaraswamy(TransformedDistribution):
    """The Kumaraswamy distribution on (0, 1) with density a b x^(a-1) (1 - x^a)^(b-1):
    (1 - U ** (1 / b)) ** (1 / a) for U ~ Uniform(0, 1).

    Args:
        concentration1: a, > 0.
        concentration0: b, > 0; broadcast with ``concentration1``.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(dg.zeros_like(self.concentration0), dg.ones_like(self.concentration0),
                       validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()),
                      AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_transformed(self, Kumaraswamy, batch_shape, _instance,
                                   ("concentration1", "concentration0"))

    @property
    def mean(self) -> Tensor:
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        # ((a - 1) / (a b - 1)) ** (1 / a), defined only for a >= 1 and b >= 1.
        log_mode = ((a - 1).log() - (a * b - 1).log()) / a
        return dg.where((a < 1) | (b < 1), math.nan, log_mode.exp())

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return _kumaraswamy_moment(a, b, 2) - _kumaraswamy_moment(a, b, 1).pow(2)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        # H_b, the harmonic number of b, is digamma(b + 1) + Euler's gamma.
        harmonic = dg.digamma(b + 1) + _EULER_GAMMA
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic - a.log() - b.log()


class FisherSnedecor(Distribution):
    """The F distribution with ``df1`` and ``df2`` degrees of freedom: (X1 / df1) / (X2 / df2)
    for chi-squared X1, X2.

    Args:
        df1, df2: > 0, broadcast together.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args: bool | None = None) -> None:
        self.df1, self.df2 = broadcast_all(df1, df2)
        # X / df for X ~ chi2(df) is Gamma(df / 2, df / 2).
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1 * 0.5)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2 * 0.5)
        scalar = is_number(df1) and is_number(df2)
        super().__init__(() if scalar else self.df1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expanded(FisherSnedecor, batch_shape, _instance, ("df1", "df2"))
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return dg.where(self.df2 > 2, self.df2 / (self.df2 - 2), math.nan)

    @property
    def mode(self) -> Tensor:
        d1, d2 = self.df1, self.df2
        return dg.where(d1 > 2, (d1 - 2) / d1 * d2 / (d2 + 2), math.nan)

    @property
    def variance(self) -> Tensor:
        d1, d2 = self.df1, self.df2
        finite = 2 * d2.pow(2) * (d1 + d2 - 2) / (d1 * (d2 - 2).pow(2) * (d2 - 4))
        return dg.where(d2 > 4, finite, math.nan)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        tiny = dg.finfo(self.df1.dtype).tiny
        numerator = self._gamma1.rsample(sample_shape).reshape(shape).clamp(min=tiny)
        denominator = self._gamma2.rsample(sample_shape).reshape(shape).clamp(min=tiny)
        return (numerator / denominator).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # (summed in PyTorch's order: float32 results round as its do)
        half1, half2 = 0.5 * self.df1, 0.5 * self.df2
        ratio = self.df1 / self.df2
        log_norm = dg.lgamma(half1 + half2) - dg.lgamma(half1) - dg.lgamma(half2)
        body = half1 * ratio.log() + (half1 - 1) * dg.log(value)
        return log_norm + body - (half1 + half2) * dg.log1p(ratio * value)
