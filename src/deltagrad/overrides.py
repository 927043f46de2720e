"""``deltagrad.overrides``: the part of PyTorch's ``__torch_function__`` protocol that is plain
Python, for library code that checks for and hands calls to tensor-like objects.

deltagrad's own functions do not dispatch to ``__torch_function__`` (a deltagrad op given a
foreign tensor-like raises rather than calling it), and ``Tensor`` has no default
``__torch_function__``; so a ``Tensor`` subclass is not "overloaded" here unless it defines one
(in PyTorch every subclass is). What the protocol needs from the library's own dispatch tables
(``get_overridable_functions``, ``get_testing_overrides``, ``get_ignored_functions``) and
function modes raise ``NotImplementedError`` saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._engine.tensor import Tensor

__all__ = ["TorchFunctionMode", "get_ignored_functions", "get_overridable_functions",
           "get_testing_overrides", "handle_torch_function", "has_torch_function",
           "has_torch_function_unary", "has_torch_function_variadic", "is_tensor_like"]

_NO_DISPATCH = ("deltagrad has no __torch_function__ dispatch: its functions never call "
                "__torch_function__ overrides")


def _overloaded(value: Any) -> bool:
    """Whether ``value``'s type defines ``__torch_function__`` (a plain Tensor never does)."""
    return type(value) is not Tensor and getattr(type(value), "__torch_function__",
                                                 None) is not None


def has_torch_function(relevant_args: Iterable) -> bool:
    """Whether any of ``relevant_args`` has a ``__torch_function__`` override."""
    return any(_overloaded(value) for value in relevant_args)


def has_torch_function_unary(obj: Any) -> bool:
    """Whether ``obj`` has a ``__torch_function__`` override."""
    return _overloaded(obj)


def has_torch_function_variadic(*args: Any) -> bool:
    """Whether any of ``args`` has a ``__torch_function__`` override."""
    return any(_overloaded(value) for value in args)


def _overloaded_args(relevant_args: Iterable) -> list:
    """One argument per overloaded type, in order, each subclass before its base classes."""
    chosen: list = []
    for value in relevant_args:
        kind = type(value)
        if not _overloaded(value) or any(type(seen) is kind for seen in chosen):
            continue
        position = next((i for i, seen in enumerate(chosen) if issubclass(kind, type(seen))),
                        len(chosen))
        chosen.insert(position, value)
    return chosen


def handle_torch_function(public_api: Callable, relevant_args: Iterable, *args: Any,
                          **kwargs: Any) -> Any:
    """Call the ``__torch_function__`` overrides of ``relevant_args`` for ``public_api``, as
    PyTorch does: subclasses first, each called as ``__torch_function__(public_api, types,
    args, kwargs)``; the first result that is not ``NotImplemented`` is returned.

    Raises:
        TypeError: if every override returns ``NotImplemented``.
    """
    overloaded = _overloaded_args(relevant_args)
    types = tuple(type(value) for value in overloaded)
    for value in overloaded:
        result = value.__torch_function__(public_api, types, args, kwargs)
        if result is not NotImplemented:
            return result
    name = f"{public_api.__module__}.{public_api.__name__}"
    raise TypeError(f"no implementation found for '{name}' on types that implement "
                    f"__torch_function__: {[type(value) for value in overloaded]}")


def is_tensor_like(inp: Any) -> bool:
    """True for tensors (subclasses included) and for objects that define
    ``__torch_function__``."""
    return isinstance(inp, Tensor) or hasattr(inp, "__torch_function__")


def get_ignored_functions():
    """Raises ``NotImplementedError``: deltagrad has no override tables (see the module)."""
    raise NotImplementedError(f"deltagrad.overrides.get_ignored_functions: {_NO_DISPATCH}")


def get_overridable_functions():
    """Raises ``NotImplementedError``: deltagrad has no override tables (see the module)."""
    raise NotImplementedError(f"deltagrad.overrides.get_overridable_functions: {_NO_DISPATCH}")


def get_testing_overrides():
    """Raises ``NotImplementedError``: deltagrad has no override tables (see the module)."""
    raise NotImplementedError(f"deltagrad.overrides.get_testing_overrides: {_NO_DISPATCH}")


class TorchFunctionMode:
    """PyTorch's base class of function modes. It can be subclassed, but entering a mode
    raises ``NotImplementedError``: deltagrad's functions would never call it, and a mode that
    silently does nothing would give wrong results."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        raise NotImplementedError(f"deltagrad.overrides.TorchFunctionMode: {_NO_DISPATCH}, so "
                                  "a function mode cannot take effect")

    def __exit__(self, *exc) -> None:
        return None
