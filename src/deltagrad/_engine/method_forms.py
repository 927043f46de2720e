"""The Tensor method form of a public function that takes ``out=``: the same code without it.

PyTorch's ``torch.add(x, 1, out=y)`` writes into ``y``, but its methods take no ``out``:
``x.add(1, out=y)`` is a TypeError. ``tensor_method`` attaches each public function as the method
too; for one with a keyword-only ``out`` (and no ``**kwargs``), the method is a copy of the
function whose ``out`` parameter is renamed ``_out``: Python itself then refuses ``out=``
("add() got an unexpected keyword argument 'out'"), and the method runs the very same code at
the same speed (no wrapper, no check per call).
"""

from __future__ import annotations

import inspect
import types

__all__ = ["method_form"]

# The parameter's name in the method's copy (a keyword nobody passes; its default, None, stays).
_HIDDEN = "_out"


def method_form(function):
    """``function`` itself, or, when it takes a keyword-only ``out``, its copy without one (a
    decorator's wrapper of such a function: a copy of the wrapper calling the copy)."""
    code = getattr(function, "__code__", None)
    if type(function) is not types.FunctionType or code is None:
        return function
    names = code.co_varnames
    positional = code.co_argcount
    keyword = names[positional:positional + code.co_kwonlyargcount]
    if "out" not in keyword or code.co_flags & inspect.CO_VARKEYWORDS or _HIDDEN in names:
        return _rewrapped(function)
    at = names.index("out", positional)
    method = types.FunctionType(
        code.replace(co_varnames=names[:at] + (_HIDDEN,) + names[at + 1:]), function.__globals__,
        function.__name__, function.__defaults__, function.__closure__)
    defaults = dict(function.__kwdefaults__ or {})
    if "out" in defaults:
        defaults[_HIDDEN] = defaults.pop("out")
    method.__kwdefaults__ = defaults
    method.__dict__.update(function.__dict__)
    method.__doc__, method.__qualname__ = function.__doc__, function.__qualname__
    method.__module__ = function.__module__
    method.__annotations__ = {k if k != "out" else _HIDDEN: v
                              for k, v in function.__annotations__.items()}
    method.__wrapped_function__ = function  # (the public function it is the method form of)
    return method


def _cell_holds(cell, value) -> bool:
    try:
        return cell.cell_contents is value
    except ValueError:  # (an empty cell)
        return False


def _rewrapped(wrapper):
    """``wrapper`` (``functools.wraps``' of a function in its closure) calling the method form
    of what it wraps, or ``wrapper`` itself where that has none."""
    inner = getattr(wrapper, "__wrapped__", None)
    cells = wrapper.__closure__
    if inner is None or not cells or not any(_cell_holds(cell, inner) for cell in cells):
        return wrapper
    form = method_form(inner)
    if form is inner:
        return wrapper
    method = types.FunctionType(
        wrapper.__code__, wrapper.__globals__, wrapper.__name__, wrapper.__defaults__,
        tuple(types.CellType(form) if _cell_holds(cell, inner) else cell for cell in cells))
    method.__kwdefaults__ = wrapper.__kwdefaults__
    method.__dict__.update(wrapper.__dict__)
    method.__doc__, method.__qualname__ = wrapper.__doc__, wrapper.__qualname__
    method.__module__, method.__annotations__ = wrapper.__module__, wrapper.__annotations__
    method.__wrapped__ = form
    method.__wrapped_function__ = wrapper
    return method
