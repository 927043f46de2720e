"""Parameter initialisation (PyTorch's ``torch.nn.init``): Xavier, Kaiming, normal, uniform, ...

Every function fills its tensor in place, outside the graph, and returns it. Random ones draw
from ``generator`` (a ``deltagrad.Generator`` or a NumPy Generator), by default deltagrad's
global generator, which ``deltagrad.manual_seed`` seeds.
"""

from __future__ import annotations

import math
import numbers
import warnings

from .._engine.random import numpy_generator
from .._engine.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of weights feeding ``nonlinearity`` (PyTorch's table).

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope²))
    with ``param`` the negative slope (default 0.01); selu: 3/4.

    >>> round(calculate_gain("leaky_relu", 0.2), 4), calculate_gain("tanh")
    (1.3868, 1.6666666666666667)
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight ``[out, in, *kernel]``: in (out) times the kernel size.

    >>> import deltagrad as dg
    >>> _calculate_fan_in_and_fan_out(dg.zeros(8, 3, 5, 5))
    (75, 200)
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (shape {shape})")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    # Writing into ._data fills the same array (views and optimizers keep seeing it) and records
    # nothing in the graph, which is what PyTorch's no_grad-wrapped init does.
    array = tensor._data if isinstance(tensor, Tensor) else tensor
    array[...] = values
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples of U(a, b).

    Args:
        tensor: any shape (a Tensor or ndarray), filled in place.
        a, b: the bounds.
        generator: the source of randomness (default: the global generator).

    Returns:
        ``tensor``.
    """
    return _fill(tensor, numpy_generator(generator).uniform(a, b, tuple(tensor.shape)))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples of N(mean, std²); returns ``tensor``."""
    return _fill(tensor, numpy_generator(generator).normal(mean, std, tuple(tensor.shape)))


def constant_(tensor, val: float):
    """Fill with ``val``; returns ``tensor``."""
    return _fill(tensor, val)


def ones_(tensor):
    """Fill with 1; returns ``tensor``."""
    return _fill(tensor, 1)


def zeros_(tensor):
    """Fill with 0; returns ``tensor``."""
    return _fill(tensor, 0)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot/Xavier uniform: U(-a, a) with a = gain · sqrt(6 / (fan_in + fan_out)).

    Args:
        tensor: at least 2-D, ``[fan_out, fan_in, *kernel]``.
        gain: scale (see ``calculate_gain``).
        generator: the source of randomness.

    Returns:
        ``tensor``.

    >>> import deltagrad as dg
    >>> w = xavier_uniform_(dg.zeros(100, 200), generator=dg.Generator(0))
    >>> bool(abs(w.data).max() <= (6 / 300) ** 0.5)
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot/Xavier normal: N(0, std²) with std = gain · sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity) -> float | None:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """He/Kaiming uniform: U(-b, b) with b = gain · sqrt(3 / fan).

    Args:
        tensor: at least 2-D, ``[fan_out, fan_in, *kernel]``.
        a: the negative slope of the leaky ReLU that follows (used by ``calculate_gain``).
        mode: ``'fan_in'`` (preserves the forward variance) or ``'fan_out'`` (the backward).
        nonlinearity: ``'relu'`` or ``'leaky_relu'`` (or any name ``calculate_gain`` knows).
        generator: the source of randomness.

    Returns:
        ``tensor``.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """He/Kaiming normal: N(0, std²) with std = gain / sqrt(fan); arguments as
    ``kaiming_uniform_``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)
