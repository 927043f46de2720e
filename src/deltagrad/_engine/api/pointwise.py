"""Elementwise functions: exp, log, the nonlinearities, clamp, maximum / minimum, where."""

from __future__ import annotations

import numpy as np

from ..ops import OPS
from ..tensor import Tensor, _leaf, _lift, _unary, apply, tensor_method

__all__ = ["abs", "clamp", "clip", "cos", "exp", "log", "masked_fill", "maximum", "minimum",
           "pow", "relu", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "tanh", "where"]

_EXP, _LOG, _TANH = OPS["exp"], OPS["log"], OPS["tanh"]
_SIGMOID, _RELU, _POW_SCALAR = OPS["sigmoid"], OPS["relu"], OPS["pow_scalar"]


def _t(x, like=None) -> Tensor:
    return x if type(x) is Tensor else _lift(x, like)


@tensor_method
def exp(input):
    return _unary(_EXP, _t(input))


@tensor_method
def log(input):
    return _unary(_LOG, _t(input))


@tensor_method
def tanh(input):
    return _unary(_TANH, _t(input))


@tensor_method
def sigmoid(input):
    return _unary(_SIGMOID, _t(input))


@tensor_method
def relu(input):
    return _unary(_RELU, _t(input))


@tensor_method
def sqrt(input):
    return apply(OPS["sqrt"], input)


@tensor_method
def rsqrt(input):
    return 1.0 / sqrt(input)


@tensor_method
def abs(input):  # noqa: A001 - PyTorch's name
    return apply(OPS["abs"], input)


@tensor_method
def sin(input):
    return apply(OPS["sin"], input)


@tensor_method
def cos(input):
    return apply(OPS["cos"], input)


@tensor_method
def square(input):
    return apply(_POW_SCALAR, input, exponent=2)


@tensor_method
def pow(input, exponent):  # noqa: A001 - PyTorch's name
    return _t(input) ** exponent


@tensor_method
def sign(input):
    return _leaf(np.sign(_t(input)._data))


@tensor_method
def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Clip to [min, max]; the gradient passes where min <= x <= max (bounds included)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clamp: min ({min}) is greater than max ({max})")
    return apply(OPS["clamp"], _t(input), min=min, max=max)


clip = tensor_method(clamp, name="clip")


@tensor_method
def maximum(input, other) -> Tensor:
    input = _t(input)
    return apply(OPS["maximum"], input, _t(other, input))


@tensor_method
def minimum(input, other) -> Tensor:
    input = _t(input)
    return apply(OPS["minimum"], input, _t(other, input))


def where(condition, input, other) -> Tensor:
    """Elementwise ``input`` where ``condition`` else ``other`` (broadcast); no gradient to the
    mask."""
    condition = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != np.bool_:
        condition = condition.astype(bool)
    like = input if isinstance(input, Tensor) else (other if isinstance(other, Tensor) else None)
    return apply(OPS["where"], _leaf(condition), _t(input, like), _t(other, like))


@tensor_method(name="where")
def _where_method(input, condition, other) -> Tensor:
    return where(condition, input, other)


@tensor_method
def masked_fill(input, mask, value):
    mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    return where(mask, _lift(value, input), input)
