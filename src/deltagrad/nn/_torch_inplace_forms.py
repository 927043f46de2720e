"""PyTorch's top-level in-place forms of nn functions (``torch.celu_``, ``torch.dropout_(input,
p, train)``, ...). The engine has the other top-level in-place functions but cannot import nn,
so these live here and ``deltagrad/__init__`` re-exports them."""

from __future__ import annotations

from .._engine.tensor import Tensor
from . import _foreach
from . import functional as F
from ._foreach import *  # noqa: F403 - torch._foreach_* (listed in its __all__)

__all__ = ["alpha_dropout_", "celu_", "dropout_", "feature_alpha_dropout_", "rrelu_", "selu_",
           "threshold_", *_foreach.__all__]


def _tensor(name: str, input) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def celu_(input, alpha: float = 1.0) -> Tensor:
    """``nn.functional.celu`` in place; returns ``input``."""
    _tensor("celu_", input)
    return F.celu(input, alpha, inplace=True)


def selu_(input) -> Tensor:
    """``nn.functional.selu`` in place; returns ``input``."""
    _tensor("selu_", input)
    return F.selu(input, inplace=True)


def threshold_(input, threshold: float, value: float) -> Tensor:
    """``nn.functional.threshold`` in place; returns ``input``."""
    _tensor("threshold_", input)
    return F.threshold(input, threshold, value, inplace=True)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator=None) -> Tensor:
    """``nn.functional.rrelu`` in place (slopes drawn from ``generator`` in training)."""
    _tensor("rrelu_", input)
    return F.rrelu(input, lower, upper, training, inplace=True, generator=generator)


def dropout_(input, p: float, train: bool) -> Tensor:
    """``nn.functional.dropout(input, p, train, inplace=True)`` (ATen's positional ``train``)."""
    _tensor("dropout_", input)
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout_(input, p: float, train: bool) -> Tensor:
    """``nn.functional.alpha_dropout`` in place (ATen's positional ``train``)."""
    _tensor("alpha_dropout_", input)
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input, p: float, train: bool) -> Tensor:
    """``nn.functional.feature_alpha_dropout`` in place (ATen's positional ``train``)."""
    _tensor("feature_alpha_dropout_", input)
    return F.feature_alpha_dropout(input, p, train, inplace=True)
