"""Continuous stand-ins for a Bernoulli variable: ContinuousBernoulli (a density on [0, 1]
proportional to p^x (1-p)^(1-x)) and the Concrete / Gumbel-softmax relaxation
(LogitRelaxedBernoulli on the logit scale, RelaxedBernoulli on (0, 1)); all reparameterisable."""

from __future__ import annotations

import math

from .. import _engine as dg
from .._engine.tensor import Tensor
from ..nn import functional as F
from . import constraints
from ._utils import broadcast_all, clamp_probs, is_number
from .discrete import _BinaryParameters, _one_of, _set_probs_or_logits, _with_param
from .distribution import Distribution, ExponentialFamily
from .transformed_distribution import TransformedDistribution
from .transforms import SigmoidTransform

__all__ = ["ContinuousBernoulli", "LogitRelaxedBernoulli", "RelaxedBernoulli"]


class ContinuousBernoulli(_BinaryParameters, ExponentialFamily):
    """The continuous Bernoulli distribution on [0, 1] with density C(p) p^x (1 - p)^(1 - x).

    Args:
        probs: p in [0, 1] (clamped away from 0 and 1); or ``logits``, its log-odds.
        lims: near p = 1/2 the closed forms cancel catastrophically; inside (lims[0], lims[1])
            they are replaced by Taylor expansions around 1/2.
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501),
                 validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            (probs_tensor,) = broadcast_all(probs)
            # Checked before the clamp below would hide invalid values.
            if validate_args is not None and not bool(
                    self.arg_constraints["probs"].check(probs_tensor).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(probs_tensor)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        self._lims = lims
        scalar = is_number(probs if probs is not None else logits)
        super().__init__(() if scalar else self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _with_param(self._expanded(ContinuousBernoulli, batch_shape, _instance,
                                          optional=("probs", "logits"), _lims=self._lims))

    def _stable(self) -> Tensor:
        """Where p is far enough from 1/2 for the closed forms."""
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _safe_probs(self) -> Tensor:
        """p where the closed forms are used, a harmless stand-in elsewhere (so that their
        unused branch, and its gradient, stays finite)."""
        return dg.where(self._stable(), self.probs, self._lims[0])

    def _log_normalizer(self) -> Tensor:
        # C(p) = 2 artanh(1 - 2p) / (1 - 2p) = |log(1 - p) - log p| / |1 - 2p|.
        p = self._safe_probs()
        log_gap = (dg.log1p(-p) - p.log()).abs().log()
        below = dg.where(p <= 0.5, p, 0.0)
        above = dg.where(p >= 0.5, p, 1.0)
        log_width = dg.where(p <= 0.5, dg.log1p(-2.0 * below), (2.0 * above - 1.0).log())
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return dg.where(self._stable(), log_gap - log_width, taylor)

    @property
    def mean(self) -> Tensor:
        p = self._safe_probs()
        exact = p / (2.0 * p - 1.0) + 1.0 / (dg.log1p(-p) - p.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return dg.where(self._stable(), exact, taylor)

    @property
    def variance(self) -> Tensor:
        p = self._safe_probs()
        exact = (p * (p - 1.0) / (1.0 - 2.0 * p).pow(2)
                 + (dg.log1p(-p) - p.log()).pow(-2))
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return dg.where(self._stable(), exact, taylor)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return self.icdf(dg.rand(shape, dtype=self.probs.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        bce = F.binary_cross_entropy_with_logits(logits, value, reduction="none")
        return self._log_normalizer() - bce

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        p = self._safe_probs()
        exact = (p.pow(value) * (1.0 - p).pow(1.0 - value) + p - 1.0) / (2.0 * p - 1.0)
        inside = dg.where(self._stable(), exact, value)
        return dg.where(value <= 0.0, 0.0, dg.where(value >= 1.0, 1.0, inside))

    def icdf(self, value):
        p = self._safe_probs()
        exact = ((dg.log1p(-p + value * (2.0 * p - 1.0)) - dg.log1p(-p))
                 / (p.log() - dg.log1p(-p)))
        return dg.where(self._stable(), exact, value)

    def entropy(self):
        log_q, log_p = dg.log1p(-self.probs), self.probs.log()
        return self.mean * (log_q - log_p) - self._log_normalizer() - log_q


def _temperature(temperature, like: Tensor):
    # Kept as given, as PyTorch: a Python number stays one (sampling divides by it; log_prob,
    # which reads it as a tensor, raises PyTorch's TypeError / AttributeError for it).
    return temperature


class LogitRelaxedBernoulli(_BinaryParameters, Distribution):
    """The logit of a RelaxedBernoulli: (logit(U) + logits) / temperature, U ~ Uniform(0, 1).

    Args:
        temperature: the relaxation temperature, > 0 (small: close to 0/1 decisions).
        probs: the probability of 1; or ``logits``, its log-odds (exactly one).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    # NOTE: PyTorch's class leaves has_rsample False although rsample is reparameterised
    # (RelaxedBernoulli sets it); kept so that code branching on it behaves the same.
    has_rsample = False

    def __init__(self, temperature, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        self._param, batch_shape = _set_probs_or_logits(self, probs, logits)
        self.temperature = _temperature(temperature, self._param)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _with_param(self._expanded(LogitRelaxedBernoulli, batch_shape, _instance,
                                          optional=("probs", "logits"),
                                          temperature=self.temperature))

    def rsample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        probs = clamp_probs(self.probs.expand(shape))
        u = clamp_probs(dg.rand(shape, dtype=probs.dtype))
        logistic = u.log() - dg.log1p(-u)
        return (logistic + probs.log() - dg.log1p(-probs)) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # The logistic density of (value * temperature) around logits, times temperature.
        shifted = logits - value * self.temperature
        return self.temperature.log() + shifted - 2 * dg.log1p(shifted.exp())


class _RelaxedTransformed(TransformedDistribution):
    """What the Concrete relaxations on a bounded set share (RelaxedBernoulli,
    RelaxedOneHotCategorical): a transform of a relaxed base distribution whose temperature and
    parameters they expose as their own."""

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs


class RelaxedBernoulli(_RelaxedTransformed):
    """The Concrete (Gumbel-softmax) relaxation of Bernoulli(``probs``) on (0, 1): the sigmoid
    of a LogitRelaxedBernoulli.

    Args:
        temperature: the relaxation temperature, > 0.
        probs: the probability of 1; or ``logits``, its log-odds (exactly one).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return TransformedDistribution.expand(self, batch_shape, _instance=new)
