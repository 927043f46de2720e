"""The generalized Pareto distribution (``torch.distributions.generalized_pareto``): the
limit law of threshold exceedances, with Exponential (concentration 0), Pareto and Uniform
(concentration -1) as special cases; reparameterised through its inverse CDF."""

from __future__ import annotations

import math

from .. import _engine as dg
from .._engine.tensor import Tensor
from . import constraints
from ._utils import broadcast_all, is_number
from .distribution import Distribution

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """GPD(loc, scale, xi): survival function ``(1 + xi z)^(-1/xi)`` of ``z = (x - loc) /
    scale`` (``exp(-z)`` at xi = 0); support ``[loc, inf)`` for xi >= 0, ``[loc, loc - scale /
    xi]`` for xi < 0.

    Args:
        loc: the location (float or Tensor).
        scale: the scale, > 0.
        concentration: the shape xi (tail index); broadcast with the others.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args: bool | None = None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        scalar = is_number(loc) and is_number(scale) and is_number(concentration)
        super().__init__(() if scalar else self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(GeneralizedPareto, batch_shape, _instance,
                              names=("loc", "scale", "concentration"))

    def _zero_and_safe(self):
        """Where xi is (close to) 0, and xi with 1 there (keeps the unused branch finite)."""
        # NOTE: PyTorch tests xi == 0 with isclose against 0 (atol 1e-8), so tiny xi take the
        # exponential branch too.
        zero = dg.isclose(self.concentration, dg.zeros_like(self.concentration))
        return zero, dg.where(zero, dg.ones_like(self.concentration), self.concentration)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return self.icdf(dg.rand(shape, dtype=self.loc.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, xi = self._zero_and_safe()
        power = 1 / xi + dg.ones_like(z)
        # (the density's exponent is 0 when 1/xi = -1: no log1p term, even where it is inf)
        nonzero = dg.where(power == 0, power, power * dg.log1p(xi * z))
        return -self.scale.log() - dg.where(zero, z, nonzero)

    def log_survival_function(self, value) -> Tensor:
        """log P(X > value)."""
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        zero, xi = self._zero_and_safe()
        return dg.where(zero, -z, -dg.log1p(xi * z) / xi)

    def log_cdf(self, value) -> Tensor:
        """log P(X <= value)."""
        return dg.log1p(-dg.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return dg.exp(self.log_cdf(value))

    def icdf(self, value):
        zero, xi = self._zero_and_safe()
        log_u = dg.log1p(-value)
        nonzero = self.loc + self.scale / xi * dg.expm1(-xi * log_u)
        return dg.where(zero, self.loc - self.scale * log_u, nonzero)

    @property
    def mean(self) -> Tensor:
        valid = self.concentration < 1
        xi = dg.where(valid, self.concentration, 0.5)
        return dg.where(valid, self.loc + self.scale / (1 - xi), math.nan)

    @property
    def variance(self) -> Tensor:
        valid = self.concentration < 0.5
        xi = dg.where(valid, self.concentration, 0.25)
        exact = self.scale.pow(2) / ((1 - xi).pow(2) * (1 - 2 * xi))
        return dg.where(valid, exact, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    def entropy(self):
        return dg.broadcast_to(self.scale.log() + self.concentration + 1, self.batch_shape)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        negative = self.concentration < 0
        xi = dg.where(negative, self.concentration, -1.0)  # (no division by xi = 0)
        upper = dg.where(negative, self.loc - self.scale / xi, math.inf)
        return constraints.interval(self.loc, upper)
