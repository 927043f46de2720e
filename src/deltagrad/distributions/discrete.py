"""Discrete distributions: Bernoulli, Categorical, OneHotCategorical (and its straight-through
form), Poisson and Binomial."""

from __future__ import annotations

import math

import numpy as np

from .. import _engine as dg
from .._engine import stream
from .._engine.random import torch_source
from .._engine.tensor import Tensor
from ..nn import functional as F
from . import constraints
from ._utils import (
    broadcast_all,
    is_number,
    lazy_property,
    logits_to_probs,
    numpy_rng,
    probs_to_logits,
)
from .distribution import Distribution, ExponentialFamily
from .gamma import Gamma

__all__ = ["Bernoulli", "Binomial", "Categorical", "OneHotCategorical",
           "NegativeBinomial", "OneHotCategoricalStraightThrough", "Poisson"]


def _one_of(probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _set_probs_or_logits(dist, probs, logits) -> tuple[Tensor, tuple]:
    """Broadcast whichever of ``probs`` / ``logits`` is given (exactly one) onto ``dist``;
    returns it and the batch shape it implies (() for a number)."""
    _one_of(probs, logits)
    if probs is not None:
        (dist.probs,) = broadcast_all(probs)
        param = dist.probs
    else:
        (dist.logits,) = broadcast_all(logits)
        param = dist.logits
    return param, (() if is_number(probs if probs is not None else logits) else param.shape)


def _enumerate(count: int, dtype, batch_shape, expand: bool) -> Tensor:
    values = dg.arange(count, dtype=dtype).reshape((-1,) + (1,) * len(batch_shape))
    return values.expand((-1,) + tuple(batch_shape)) if expand else values


def _with_param(new):
    """An expanded copy's ``_param``: its logits when it holds them, else its probs."""
    new._param = new.logits if "logits" in new.__dict__ else new.probs
    return new


class _BinaryParameters:
    """Bernoulli's and Binomial's parameter: ``probs`` or ``logits`` (log-odds), the other
    derived on first use; ``_param`` is whichever was given."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> dg.Size:
        return self._param.shape


class Bernoulli(_BinaryParameters, ExponentialFamily):
    """A 0/1 variable that is 1 with probability ``probs`` (or ``sigmoid(logits)``).

    Args:
        probs: the probability of 1, in [0, 1] (number or floating tensor).
        logits: the log-odds instead (exactly one of ``probs`` and ``logits``).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._param, batch_shape = _set_probs_or_logits(self, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _with_param(self._expanded(Bernoulli, batch_shape, _instance,
                                          optional=("probs", "logits")))

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return dg.where(self.probs == 0.5, math.nan, mode)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with dg.no_grad():
            return dg.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        return _enumerate(2, self._param.dtype, self._batch_shape, expand)


def _draw_categories(probs: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws for each row of ``probs`` (rows, K) by inverse CDF: indices (n, rows).

    One searchsorted over all rows: row r's CDF is shifted into [r, r + 1], so a single sorted
    array serves every row; zero-probability categories have empty intervals and never come.
    """
    rows, k = probs.shape
    cdf = np.cumsum(probs, axis=-1)
    cdf = cdf / cdf[:, -1:]
    offsets = np.arange(rows, dtype=np.float64)
    u = numpy_rng().random((n, rows))
    index = np.searchsorted((cdf + offsets[:, None]).ravel(), u + offsets, side="right")
    index = index - (np.arange(rows) * k)
    # NOTE: rounding can put u + r on the row's upper end; the last category with a positive
    # probability takes it.
    last = k - 1 - np.argmax(probs[:, ::-1] > 0, axis=-1)
    return np.clip(index, 0, last)


class Categorical(Distribution):
    """A category index in {0, ..., K-1} with probabilities ``probs`` (or
    ``softmax(logits)``) along the last dimension.

    Args:
        probs: non-negative weights (K,) or (*batch, K), normalised to sum to 1.
        logits: unnormalised log-probabilities instead (exactly one of the two); stored
            normalised (``logits - logits.logsumexp(-1)``).
        validate_args: as ``Distribution``.

    >>> import deltagrad as dg
    >>> from deltagrad.distributions import Categorical
    >>> Categorical(probs=dg.tensor([1.0, 3.0])).probs
    tensor([0.2500, 0.7500])
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = self.probs
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self._param = self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else ()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _with_param(self._expanded(Categorical, batch_shape, _instance,
                                          optional=("probs", "logits"),
                                          trailing=(self._num_events,),
                                          _num_events=self._num_events))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> dg.Size:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return dg.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        return dg.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        n = math.prod(shape[: len(shape) - len(self._batch_shape)])
        if n <= 0:
            # (PyTorch draws through multinomial, which refuses zero draws)
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        probs = self.probs.detach().numpy().reshape(-1, self._num_events)
        source = torch_source(None)
        if source is not None:  # PyTorch's draws: multinomial(probs_2d, n, True).T
            draws = stream.multinomial(source._bits, probs, n, True).T
        else:
            draws = _draw_categories(probs.astype(np.float64), n)
        return dg.tensor(draws.astype(np.int64).reshape(tuple(shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = dg.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = dg.clamp(self.logits, min=dg.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        return _enumerate(self._num_events, dg.int64, self._batch_shape, expand)


class _CategoricalView:
    """The parameters of a distribution built on a Categorical ``_categorical`` (its probs,
    logits and their shape), read through to it."""

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> dg.Size:
        return self._categorical.param_shape


class OneHotCategorical(_CategoricalView, Distribution):
    """A one-hot vector of length K whose hot index is Categorical(probs / logits).

    Args:
        probs, logits, validate_args: as ``Categorical``; samples have event shape (K,).
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(OneHotCategorical, batch_shape, _instance,
                              _categorical=self._categorical.expand(batch_shape))

    @property
    def _param(self) -> Tensor:
        return self._categorical._param

    @property
    def mean(self) -> Tensor:
        return self._categorical.probs

    @property
    def mode(self) -> Tensor:
        probs = self._categorical.probs
        return F.one_hot(probs.argmax(dim=-1), num_classes=probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self._categorical.probs * (1 - self._categorical.probs)

    def sample(self, sample_shape=()) -> Tensor:
        indices = self._categorical.sample(sample_shape)
        num_events = self._categorical._num_events
        return F.one_hot(indices, num_events).to(self._categorical.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.event_shape[0]
        values = dg.eye(n, dtype=self._param.dtype)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + tuple(self.batch_shape) + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical whose ``rsample`` passes gradients straight through: the value is the
    one-hot draw, the gradient that of ``probs``."""

    has_rsample = True

    def rsample(self, sample_shape=()) -> Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())


class Poisson(ExponentialFamily):
    """Counts with rate ``rate`` >= 0 (mean and variance ``rate``)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(() if is_number(rate) else self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expanded(Poisson, batch_shape, _instance, ("rate",))

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with dg.no_grad():
            return dg.poisson(self.rate.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return dg.xlogy(value, rate) - rate - dg.lgamma(value + 1)


def _clamp_by_zero(x: Tensor) -> Tensor:
    # max(x, 0) whose gradient at x == 0 is 1/2 (as PyTorch's Binomial computes it).
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(_BinaryParameters, Distribution):
    """The number of successes in ``total_count`` Bernoulli(probs) trials.

    Args:
        total_count: the number of trials (non-negative integers, number or tensor).
        probs: the success probability; or ``logits``, its log-odds (exactly one).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self._param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self._param = self.logits
        self.total_count = self.total_count.type_as(self._param)
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _with_param(self._expanded(Binomial, batch_shape, _instance, ("total_count",),
                                          optional=("probs", "logits")))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with dg.no_grad():
            if torch_source(None) is not None:  # PyTorch's stream: its binomial kernel
                return dg.binomial(self.total_count.expand(shape), self.probs.expand(shape))
            counts = np.broadcast_to(self.total_count.detach().numpy(), shape)
            probs = np.broadcast_to(self.probs.detach().numpy(), shape)
            draws = numpy_rng().binomial(counts.astype(np.int64), probs.astype(np.float64))
        return dg.tensor(draws, dtype=self._param.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_factorial_n = dg.lgamma(self.total_count + 1)
        log_factorial_k = dg.lgamma(value + 1)
        log_factorial_nmk = dg.lgamma(self.total_count - value + 1)
        # n * log(1 + exp(logits)), written to stay finite for large |logits|
        normalizer = (self.total_count * _clamp_by_zero(self.logits)
                      + self.total_count * dg.log1p(dg.exp(-dg.abs(self.logits)))
                      - log_factorial_n)
        return value * self.logits - log_factorial_k - log_factorial_nmk - normalizer

    def _homogeneous_count(self, what: str) -> int:
        total = int(self.total_count.max())
        if not int(self.total_count.min()) == total:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return total

    def entropy(self):
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(dg.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        total = self._homogeneous_count("enumerate_support")
        return _enumerate(1 + total, self._param.dtype, self._batch_shape, expand)


class NegativeBinomial(_BinaryParameters, Distribution):
    """The number of successes before ``total_count`` failures in Bernoulli(``probs``) trials
    (a Gamma-Poisson mixture; ``total_count`` may be any positive real).

    Args:
        total_count: > 0 (number or tensor).
        probs: the success probability, in [0, 1); or ``logits``, its log-odds (exactly one).
        validate_args: as ``Distribution``.
    """

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
            self._param = self.probs
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
            self._param = self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _with_param(self._expanded(NegativeBinomial, batch_shape, _instance,
                                          ("total_count",), optional=("probs", "logits")))

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / dg.sigmoid(-self.logits)

    def sample(self, sample_shape=()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with dg.no_grad():
            # A Poisson whose rate is Gamma(total_count, rate = (1 - p) / p).
            rate = Gamma(self.total_count, (-self.logits).exp(), validate_args=False)
            return dg.poisson(rate.sample(sample_shape).expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # log C(k + r - 1, k) + r log(1 - p) + k log p, with C through log-gammas.
        log_mass = (self.total_count * F.logsigmoid(-self.logits)
                    + value * F.logsigmoid(self.logits))
        log_choose = (dg.lgamma(self.total_count + value) - dg.lgamma(1.0 + value)
                      - dg.lgamma(self.total_count))
        # NOTE: r = k = 0 has probability 1 (the lgamma terms would give nan).
        log_choose = dg.where(self.total_count + value == 0.0, 0.0, log_choose)
        return log_mass + log_choose
