"""PyTorch's ``torch.jit``, for programs that script or trace their models: deltagrad runs
every program eagerly, so ``script`` and ``trace`` return what they are given, unchanged, and
the decorators that steer the compiler are identities. Saving a compiled program
(``jit.save`` / ``jit.load``) has no eager equivalent and raises ``NotImplementedError``."""

from __future__ import annotations

from typing import Any, Final, TypeVar

__all__ = ["Final", "ScriptFunction", "ScriptModule", "annotate", "export", "ignore",
           "is_scripting", "is_tracing", "load", "save", "script", "script_if_tracing",
           "trace", "trace_module", "unused"]

T = TypeVar("T")


class ScriptModule:
    """PyTorch's compiled-module class. ``script`` never makes one here (it returns the module
    itself), so ``isinstance(m, jit.ScriptModule)`` is ``False``, truthfully."""


class ScriptFunction:
    """PyTorch's compiled-function class; never made here (see ``ScriptModule``)."""


def script(obj: T, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None) -> T:
    """``obj`` unchanged: deltagrad has no TorchScript compiler and runs it eagerly, with the
    same results the scripted program would give."""
    return obj


def trace(func: T, example_inputs=None, *args, **kwargs) -> T:
    """``func`` (a function or module) unchanged: deltagrad runs it eagerly; the example
    inputs are not run and no graph is recorded."""
    return func


def trace_module(mod: T, inputs=None, *args, **kwargs) -> T:
    """``mod`` unchanged (see ``trace``)."""
    return mod


def script_if_tracing(fn: T) -> T:
    """``fn`` unchanged (there is no tracing)."""
    return fn


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


