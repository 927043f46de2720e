"""Helpers shared by the distributions: parameter broadcasting, probs <-> logits, lazily
computed parameters, summing event dimensions and the seeded NumPy generator."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _engine as dg
from .._engine.random import numpy_generator
from .._engine.tensor import Tensor

# (a Number in PyTorch's sense: bool, int or float; complex parameters are not supported)
_NUMBER = (bool, int, float, np.integer, np.floating)


def is_number(value: Any) -> bool:
    """True for a Python or NumPy real number (not a Tensor)."""
    return isinstance(value, _NUMBER) and isinstance(value, numbers.Real)


def broadcast_all(*values) -> tuple[Tensor, ...]:
    """Broadcast numbers and tensors together, as ``torch.distributions.utils.broadcast_all``.

    Numbers become tensors of the first tensor's dtype (the default dtype when all are
    numbers); tensors keep their dtypes.

    Raises:
        ValueError: when a value is neither a Tensor nor a number.
    """
    if not all(isinstance(v, Tensor) or is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number or Tensor, got "
                         + ", ".join(type(v).__name__ for v in values))
    if not all(isinstance(v, Tensor) for v in values):
        dtype = next((v.dtype for v in values if isinstance(v, Tensor)), dg.get_default_dtype())
        values = tuple(v if isinstance(v, Tensor) else dg.tensor(float(v), dtype=dtype)
                       for v in values)
    return tuple(dg.broadcast_tensors(*values))


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into [eps, 1 - eps] of their dtype (keeps logs finite)."""
    eps = dg.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-probabilities (categorical) or log-odds (``is_binary``) of clamped ``probs``."""
    clamped = clamp_probs(probs)
    if is_binary:
        return dg.log(clamped) - dg.log1p(-clamped)
    return dg.log(clamped)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Softmax over the last dimension, or the sigmoid of log-odds (``is_binary``)."""
    if is_binary:
        return dg.sigmoid(logits)
    return dg.softmax(logits, dim=-1)


def sum_rightmost(value, dim: int):
    """Sum the ``dim`` rightmost dimensions of ``value`` (a no-op for ``dim == 0``)."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def numpy_rng() -> np.random.Generator:
    """The NumPy generator behind the global seeded generator (``deltagrad.manual_seed``)."""
    return numpy_generator(None)


def standard_normal(shape, dtype) -> Tensor:
    """Standard normal draws of ``shape`` and ``dtype`` from the global generator."""
    return dg.randn(tuple(shape), dtype=dtype)


def as_size(shape) -> dg.Size:
    """``shape`` as a Size (``torch.Size(shape)``'s TypeError for a bare int)."""
    return shape if isinstance(shape, dg.Size) else dg.Size(shape)


class lazy_property:  # noqa: N801 - PyTorch's name
    """A parameter computed on first access (under grad mode) and then cached on the instance.

    Lets a distribution given ``probs`` compute ``logits`` only when asked (and the reverse);
    ``name in instance.__dict__`` tells which parameters were given or already computed.
    """

    def __init__(self, wrapped: Callable) -> None:
        self.wrapped = wrapped
        self.__name__ = wrapped.__name__
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with dg.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
