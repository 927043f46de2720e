"""PyTorch's runtime assertions, ``torch._check`` and its family: a condition that must hold,
else an error of a given type whose message a callable makes (transformers calls them in its
models' forward passes)."""

from __future__ import annotations

import builtins

from ._engine.dtypes import bool as _bool_dtype
from ._engine.tensor import Tensor

__all__ = ["_check", "_check_index", "_check_not_implemented", "_check_tensor_all",
           "_check_tensor_all_with", "_check_type", "_check_value", "_check_with"]

_DEFAULT = ("Expected cond to be True, but got False. (Could this error message be improved? "
            "If so, please report an enhancement request to PyTorch.)")


def _check_with(error_type, cond, message=None) -> None:
    """Raise ``error_type(message())`` unless ``cond`` (a Python bool) is True."""
    if not isinstance(cond, builtins.bool):
        if isinstance(cond, Tensor):
            raise TypeError("cond must be a bool, but got a Tensor. For tensor conditions, use "
                            "torch._check_tensor_all() to assert that all elements are true.")
        raise TypeError(f"cond must be a bool, but got {type(cond)}")
    if cond:
        return
    if not issubclass(error_type, Exception) or issubclass(error_type, Warning):
        raise AssertionError("error_type must be a subclass of Exception but not Warning, "
                             f"got {error_type}")
    if message is None:
        raise error_type(_DEFAULT)
    if not callable(message):
        raise TypeError("message must be a callable")
    raise error_type(str(message()))


def _check(cond, message=None) -> None:
    """RuntimeError unless ``cond``."""
    _check_with(RuntimeError, cond, message)


def _check_index(cond, message=None) -> None:
    """IndexError unless ``cond``."""
    _check_with(IndexError, cond, message)


def _check_value(cond, message=None) -> None:
    """ValueError unless ``cond``."""
    _check_with(ValueError, cond, message)


def _check_type(cond, message=None) -> None:
    """TypeError unless ``cond``."""
    _check_with(TypeError, cond, message)


def _check_not_implemented(cond, message=None) -> None:
    """NotImplementedError unless ``cond``."""
    _check_with(NotImplementedError, cond, message)


def _check_tensor_all_with(error_type, cond, message=None) -> None:
    """Raise ``error_type(message())`` unless every element of the bool tensor ``cond`` is
    True (an empty one holds)."""
    if not isinstance(cond, Tensor):
        raise TypeError(f"cond must be a tensor, but got {type(cond)}")
    if cond.dtype != _bool_dtype:
        raise TypeError(f"cond tensor must have dtype torch.bool, but got {cond.dtype}")
    _check_with(error_type, builtins.bool(cond.numpy().all()), message)


def _check_tensor_all(cond, message=None) -> None:
    """RuntimeError unless every element of the bool tensor ``cond`` is True."""
    _check_tensor_all_with(RuntimeError, cond, message)
