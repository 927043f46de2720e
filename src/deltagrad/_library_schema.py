"""``torch.library.infer_schema``: an operator schema string from a function's type hints, as
PyTorch writes it (``(Tensor x, SymInt n=2) -> Tensor``)."""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing

from ._engine import dtypes
from ._engine.device import device as _device
from ._engine.tensor import Tensor
from .types import Number

__all__ = ["infer_schema"]

_SCALARS = {int: "SymInt", float: "float", bool: "bool", str: "str"}
_SEQUENCES = (list, tuple, collections.abc.Sequence, typing.List, typing.Sequence)  # noqa: UP006


def _fail(function, what: str):
    raise ValueError(f"infer_schema(func): {what} Got func with signature "
                     f"{inspect.signature(function)})")


def _type(annotation, function, where: str) -> str:
    if isinstance(annotation, type) and issubclass(annotation, Tensor):
        return "Tensor"
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is dtypes.dtype:
        return "ScalarType"
    if annotation is _device:
        return "Device"
    if annotation == Number:
        return "Scalar"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = args[0] if args[1] is type(None) else args[1]
        return _type(inner, function, where) + "?"
    if origin in _SEQUENCES and len(args) == 1:
        return _type(args[0], function, where) + "[]"
    _fail(function, f"{where} has unsupported type {annotation}.")


def _default(value, function, name: str) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (bool, int, float)):
        return repr(value)
    _fail(function, f"Parameter {name} has an unsupported default value type {type(value)}. "
                    f"Please file an issue on GitHub so we can prioritize this.")


def _returns(annotation, function) -> str:
    if annotation is None or annotation is type(None):
        return "()"
    if annotation is inspect.Parameter.empty:
        _fail(function, "No return type annotation was provided. Please add one.")
    if typing.get_origin(annotation) is tuple:
        return "(" + ", ".join(_type(a, function, "Return") for a in typing.get_args(
            annotation)) + ")"
    return _type(annotation, function, "Return")


def infer_schema(prototype_function, /, *, mutates_args, op_name: str | None = None,
                 tags=()) -> str:
    """The schema of ``prototype_function``'s signature; the arguments named in
    ``mutates_args`` (or every Tensor, for ``"unknown"``) are marked mutable (``Tensor(aN!)``,
    N the argument's position)."""
    try:
        signature = inspect.signature(prototype_function, eval_str=True)
    except (NameError, TypeError):
        signature = inspect.signature(prototype_function)
    names = list(signature.parameters)
    if mutates_args != "unknown":
        missing = set(mutates_args) - set(names)
        if missing:
            _fail(prototype_function, f"{missing} in mutates_args were not found in the custom "
                                      f"op's signature. mutates_args should contain the names "
                                      f"of all args that the custom op mutates.")
    parts, keyword_seen = [], False
    for index, (name, parameter) in enumerate(signature.parameters.items()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD,
                              parameter.POSITIONAL_ONLY):
            _fail(prototype_function, "We do not support positional-only args, varargs, or "
                                      "varkwargs.")
        if parameter.annotation is inspect.Parameter.empty:
            _fail(prototype_function, f"Parameter {name} must have a type annotation.")
        if parameter.kind is parameter.KEYWORD_ONLY and not keyword_seen:
            parts.append("*")
            keyword_seen = True
        kind = _type(parameter.annotation, prototype_function, f"Parameter {name}")
        mutated = mutates_args == "unknown" or name in mutates_args
        if mutated and kind.startswith("Tensor"):
            kind = kind.replace("Tensor", f"Tensor(a{index}!)", 1)
        text = f"{kind} {name}"
        if parameter.default is not inspect.Parameter.empty:
            text += "=" + _default(parameter.default, prototype_function, name)
        parts.append(text)
    schema = f"({', '.join(parts)}) -> {_returns(signature.return_annotation, prototype_function)}"
    return schema if op_name is None else op_name + schema
