"""The Distribution base class (shapes, argument and sample validation, sample / rsample,
perplexity, repr) and the ExponentialFamily marker class."""

from __future__ import annotations

import warnings

from .. import _engine as dg
from .._engine.tensor import Tensor
from . import constraints
from ._utils import as_size, lazy_property

__all__ = ["Distribution", "ExponentialFamily"]


class Distribution:
    """Base class of probability distributions (PyTorch's ``torch.distributions.Distribution``).

    A distribution has a ``batch_shape`` (independent, differently parameterised copies) and an
    ``event_shape`` (the shape of one draw); a sample of ``sample_shape`` has shape
    ``sample_shape + batch_shape + event_shape``.

    Args:
        batch_shape: the shape over which parameters are batched.
        event_shape: the shape of a single sample.
        validate_args: check parameters (here) and values given to ``log_prob``/``cdf`` against
            their constraints, raising ``ValueError``; default: the class-wide setting
            (``set_default_validate_args``, on unless Python runs with ``-O``).
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for every distribution made afterwards."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected a bool, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None):
        self._batch_shape = as_size(batch_shape)
        self._event_shape = as_size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_arguments()

    def _check_arguments(self) -> None:
        try:
            arg_constraints = self.arg_constraints
        except NotImplementedError:
            arg_constraints = {}
            warnings.warn(f"{type(self)} does not define `arg_constraints`. Please set "
                          "`arg_constraints = {}` or initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=3)
        for param, constraint in arg_constraints.items():
            if constraints.is_dependent(constraint):
                continue  # cannot be checked on its own
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None),
                                                         lazy_property):
                continue  # computed from a parameter that was given (and is checked)
            value = getattr(self, param)
            with dg.no_grad():
                valid = constraint.check(value)
            if not bool(valid.all()):
                raise ValueError(
                    f"Expected parameter {param} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{constraint!r}, but found invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None) -> Distribution:
        """A new distribution with parameters expanded (without copying) to ``batch_shape``.

        Args:
            batch_shape: the new batch shape (the old one must broadcast to it).

        Returns:
            A distribution of the same type; arguments are not validated again.
        """
        raise NotImplementedError

    @property
    def batch_shape(self) -> dg.Size:
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self) -> dg.Size:
        """The shape of a single sample (without batching)."""
        return self._event_shape

    @property
    def arg_constraints(self) -> dict:
        """A dict from parameter names to the constraints they must satisfy."""
        raise NotImplementedError

    @property
    def support(self):
        """The constraint that every sample satisfies."""
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        """The mean of the distribution."""
        raise NotImplementedError

    @property
    def mode(self) -> Tensor:
        """The mode of the distribution."""
        raise NotImplementedError(f"{type(self)} does not implement mode")

    @property
    def variance(self) -> Tensor:
        """The variance of the distribution."""
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        """The standard deviation (the square root of ``variance``)."""
        return self.variance.sqrt()

    def sample(self, sample_shape=()) -> Tensor:
        """Draw a sample of shape ``sample_shape + batch_shape + event_shape`` (no gradient).

        Args:
            sample_shape: leading dimensions of independent draws (a tuple or Size).

        Returns:
            The draws, from the global generator (``deltagrad.manual_seed`` seeds them).
        """
        with dg.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """Draw a reparameterised sample: gradients flow to the parameters (where
        ``has_rsample``)."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        """``sample((n,))`` (deprecated in PyTorch, with the same FutureWarning)."""
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample(dg.Size((n,)))

    def log_prob(self, value: Tensor) -> Tensor:
        """The log density (or log mass) at ``value``, of shape broadcast(value) minus the
        event dimensions."""
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        """The inverse cumulative distribution function at probabilities ``value``."""
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """Every value of a discrete distribution, along dimension 0 (shape
        ``(cardinality,) + batch_shape + event_shape``, or with singleton batch dimensions when
        ``expand`` is False)."""
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """The entropy, one value per batch element (shape ``batch_shape``)."""
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        """``exp(entropy())``."""
        return dg.exp(self.entropy())

    def _extended_shape(self, sample_shape=()) -> dg.Size:
        return dg.Size(tuple(as_size(sample_shape)) + tuple(self._batch_shape)
                       + tuple(self._event_shape))

    def _validate_sample(self, value) -> None:
        """Check that ``value`` broadcasts with the batch and event shapes and lies in the
        support (PyTorch's ValueErrors)."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.shape} vs {self._event_shape}.")
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(tuple(value.shape)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{value.shape} vs {dg.Size(expected)}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{type(self)} does not define `support` to enable sample "
                          "validation. Please initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=3)
            return
        with dg.no_grad():
            valid = support.check(value)
        if not bool(valid.all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}")

    def _expanded(self, cls, batch_shape, _instance, names=(), optional=(), trailing=(),
                  **attributes):
        """``expand``'s common body: a ``cls`` over ``batch_shape`` whose parameters ``names``
        (and those of ``optional`` this instance holds, such as a lazily computed ``probs``) are
        this one's expanded to ``batch_shape + trailing``; ``attributes`` are set as given and
        the event shape is kept."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = dg.Size(batch_shape)
        shape = tuple(batch_shape) + tuple(trailing)
        for name in (*names, *(n for n in optional if n in self.__dict__)):
            setattr(new, name, getattr(self, name).expand(shape))
        for name, value in attributes.items():
            setattr(new, name, value)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        try:
            names = [k for k in self.arg_constraints if k in self.__dict__]
        except NotImplementedError:
            names = []
        parts = []
        for name in names:
            value = self.__dict__[name]
            # (as PyTorch's f-string shows them: a 0-d tensor as its number, a Size by repr)
            shown = value.item() if value.dim() == 0 else value if value.numel() == 1 else None
            parts.append(f"{name}: {value.shape!r}" if shown is None else f"{name}: {shown}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ExponentialFamily(Distribution):
    """Base class of exponential-family distributions (Normal, Bernoulli, Gamma, ...).

    NOTE: PyTorch derives a generic entropy and KL from ``_natural_params`` and
    ``_log_normalizer``; every family here defines its own closed forms instead, so this
    class only groups them (``isinstance`` and KL registration).
    """
