"""PyTorch's ``torch.jit``, for programs that script or trace their models: deltagrad runs
every program eagerly, so ``script`` and ``trace`` return what they are given, unchanged, and
the decorators that steer the compiler are identities. Saving a compiled program
(``jit.save`` / ``jit.load``) has no eager equivalent and raises ``NotImplementedError``."""

from __future__ import annotations

import builtins
import importlib
import types
import typing
import warnings
from typing import Any, Final, TypeVar

# `from __future__ import annotations` binds the name `annotations` to a compiler feature flag in
# this namespace; rebinding it to the submodule makes `torch.jit.annotations.List` work as in
# PyTorch (torchkeras reads it so, without importing the submodule). `from . import annotations`
# would find the flag already bound and import nothing.
annotations = importlib.import_module(".annotations", __name__)

__all__ = ["Error", "Final", "ScriptFunction", "ScriptModule", "TracerWarning", "annotate",
           "export", "fork", "freeze", "ignore", "interface", "is_scripting", "is_tracing",
           "isinstance", "load", "optimize_for_inference", "save", "script",
           "script_if_tracing", "script_method", "trace", "trace_module", "unused", "wait"]


class Error(Exception):
    """PyTorch's TorchScript error class (``torch.jit.Error``); deltagrad compiles nothing, so
    it is only ever raised by programs themselves."""


class TracerWarning(Warning):
    """PyTorch's warning about values a trace cannot follow (``torch.jit.TracerWarning``);
    deltagrad never traces, so it never warns it; programs filter it."""

T = TypeVar("T")


class ScriptModule:
    """PyTorch's compiled-module class. ``script`` never makes one here (it returns the module
    itself), so ``isinstance(m, jit.ScriptModule)`` is ``False``, truthfully."""


class ScriptFunction:
    """PyTorch's compiled-function class; never made here (see ``ScriptModule``)."""


def script(obj: T, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None) -> T:
    """``obj`` unchanged: deltagrad has no TorchScript compiler and runs it eagerly, with the
    same results the scripted program would give. Deprecated, as PyTorch 2.13 warns (its
    DeprecationWarning is issued from inside the library, so default filters hide it)."""
    _deprecated("script")
    return obj


def _deprecated(name: str, times: int = 1) -> None:
    for _ in range(times):  # (PyTorch's trace warns twice: its wrapper and the traced call)
        warnings.warn(f"`torch.jit.{name}` is deprecated. Please switch to `torch.compile` or "
                      "`torch.export`.", DeprecationWarning, stacklevel=1)


def trace(func: T, example_inputs=None, *args, **kwargs) -> T:
    """``func`` (a function or module) unchanged: deltagrad runs it eagerly; the example
    inputs are not run and no graph is recorded. Deprecated (see ``script``)."""
    from ..nn.module import Module

    # PyTorch traces a module (or a module's bound method) through trace_module: its warnings
    # name trace once, then trace_method twice (session 29, PR21).
    if isinstance(func if isinstance(func, Module) else getattr(func, "__self__", None), Module):
        _deprecated("trace")
        _deprecated("trace_method", 2)
    else:
        _deprecated("trace", 2)
    return func


def trace_module(mod: T, inputs=None, *args, **kwargs) -> T:
    """``mod`` unchanged (see ``trace``; PyTorch's warnings name ``trace_method``)."""
    _deprecated("trace_method", 2)
    return mod


def script_if_tracing(fn: T) -> T:
    """``fn`` unchanged (there is no tracing)."""
    return fn


_script_if_tracing = script_if_tracing  # PyTorch's older private name (torchvision.ops uses it)


def ignore(drop=False, **kwargs):
    """Mark a function for the compiler to leave in Python: the function itself, as a
    decorator (``@jit.ignore``) or a decorator factory (``@jit.ignore(drop=True)``)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn: T) -> T:
    """``fn`` unchanged (the compiler's "do not compile this method")."""
    return fn


def export(fn: T) -> T:
    """``fn`` unchanged (the compiler's "compile this method too")."""
    return fn


def interface(obj: T) -> T:
    """``obj`` unchanged (the compiler's "this class is an interface type"; monai's DiNTS)."""
    return obj


def isinstance(obj: Any, target_type: Any) -> bool:  # noqa: A001 - PyTorch's name
    """Whether ``obj`` is of ``target_type``, which may be a typing form (``List[int]``,
    ``Dict[str, Tensor]``, ``Optional[Tensor]``, ``Tuple[int, ...]``): TorchScript's refinement
    check, evaluated eagerly (monai's SwinUNETR calls it)."""
    origin = typing.get_origin(target_type)
    arguments = typing.get_args(target_type)
    if origin is None:
        return builtins.isinstance(obj, target_type)
    if origin in (typing.Union, types.UnionType):
        return any(isinstance(obj, option) for option in arguments)
    if not builtins.isinstance(obj, origin):
        return False
    if not arguments:
        return True
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return all(isinstance(item, arguments[0]) for item in obj)
        return len(obj) == len(arguments) and all(map(isinstance, obj, arguments))
    if origin is dict:
        return all(isinstance(k, arguments[0]) and isinstance(v, arguments[1])
                   for k, v in obj.items())
    return all(isinstance(item, arguments[0]) for item in obj)


def _overload(fn: T) -> T:
    """``fn`` unchanged: a TorchScript overload signature (torch_geometric declares its
    dispatch variants with it), which eager Python never consults."""
    return fn


def _overload_method(fn: T) -> T:
    """``fn`` unchanged (``_overload`` for methods)."""
    return fn


def is_scripting() -> bool:
    """``False``: nothing is ever being compiled."""
    return False


def is_tracing() -> bool:
    """``False``: nothing is ever being traced."""
    return False


def annotate(the_type: Any, the_value: T) -> T:
    """``the_value``: a type hint for the compiler, which eager code ignores."""
    return the_value


def save(m, f, _extra_files=None) -> None:
    """Not supported: a TorchScript archive holds a compiled program, which deltagrad does
    not make. Save the ``state_dict()`` with ``deltagrad.save`` instead."""
    raise NotImplementedError("deltagrad.jit.save: TorchScript archives are not supported "
                              "(deltagrad runs eagerly); save the state_dict() with "
                              "deltagrad.save instead")


def load(f, map_location=None, _extra_files=None):
    """Not supported (see ``save``)."""
    raise NotImplementedError("deltagrad.jit.load: TorchScript archives are not supported "
                              "(deltagrad runs eagerly); load a state_dict with deltagrad.load")


def script_method(fn: T) -> T:
    """``fn`` unchanged (the old ``ScriptModule`` method decorator)."""
    return fn


def fork(func, *args, **kwargs):
    """PyTorch's asynchronous task: in eager mode PyTorch runs ``func(*args, **kwargs)`` at
    once, and so does this; the result comes back in a completed ``torch.futures.Future``
    (deprecated, as PyTorch warns)."""
    from ..futures import Future

    warnings.warn("`torch.jit.fork` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=2)
    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def wait(future):
    """The result of a task ``fork`` started (``future.wait()``)."""
    warnings.warn("`torch.jit.wait` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=2)
    return future.wait()


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    """The module itself: freezing inlines a compiled module's weights, and ``script``
    returns the eager module here. As PyTorch, it warns that it is deprecated and refuses a
    module in training mode."""
    warnings.warn("`torch.jit.freeze` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=2)
    if getattr(mod, "training", False):
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``freeze(mod.eval())`` (PyTorch's passes change no value on the CPU); deprecated."""
    warnings.warn("`torch.jit.optimize_for_inference` is deprecated. Please use "
                  "`torch.compile` instead.", DeprecationWarning, stacklevel=2)
    if hasattr(mod, "training"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            mod = freeze(mod.eval())
    return mod


from ._switches import (  # noqa: E402 - the fuser / executor switches, Attribute
    Attribute,
    ScriptWarning,
    enable_onednn_fusion,
    fuser,
    onednn_fusion_enabled,
    optimized_execution,
    set_fusion_strategy,
    strict_fusion,
)

__all__ += ["Attribute", "ScriptWarning", "enable_onednn_fusion", "fuser",
            "onednn_fusion_enabled", "optimized_execution", "set_fusion_strategy",
            "strict_fusion"]
