"""PyTorch's refusal, inside ``torch.func``'s grad-type transforms (``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``linearize``), of an
in-place change of a tensor the function *captured*: one made before the transform started and
not passed to it as an argument (``captured.add_(x)``, ``c[0] = 1``, ``c.data.zero_()``, a
BatchNorm's running statistics in train mode). PyTorch raises RuntimeError before writing;
deltagrad changed the tensor silently.

PyTorch knows a captured tensor by its level (it was not wrapped by this transform). Here no
tensor is wrapped, so the captured ones are found when the transform starts, by walking what
the function can reach: its closure, defaults, the globals its code names, a bound method's
object, ``functools.partial``'s parts, a Module's parameters and buffers, attributes of plain
objects, lists, tuples and dicts (to a bounded depth and count). The storages (root NumPy
arrays) of those tensors, less the storages of the transform's arguments, are refused while
the function runs. Tensors made inside (factories, clones, op results) and the arguments
stay writable, as in PyTorch; views of a captured tensor (``c[:2]``, ``c.view(-1)``,
``c.data``, ``c.detach()``) share its storage and are refused, as in PyTorch.

Limits (a captured tensor the walk does not reach is written as before): tensors reached only
through Python modules' attributes (``mymodule.buffer``), through deltagrad's own functions,
or deeper than ``_DEPTH`` objects / beyond ``_COUNT`` visited objects. ``vmap`` uses the same
walk and hook to run a change of an unmapped tensor once (``_func_vmap.py``).

Cost: nothing outside transforms. The hook is modes.check_inference_inplace (it calls
modes.check_captured), which every in-place path already calls behind one
``_InferenceMode.marking`` test; ``call`` sets that flag while a transform runs (the walk,
and ``mark_inference`` per op, are paid inside only).
Measured (session 20, 2 loaded cores, medians): ``a.add_(b); a.mul_(0.5); a[0] = 1.0`` on 8
floats outside transforms, per op: HEAD 10.7 / this 11.0 us (marking off: the same bytecode
runs; noise) and 12.9 / 13.0 us once inference_mode was used (one list test added);
``grad(lambda t: mlp(t).sum())`` (Linear 16-32-1, batch 4): 141 -> 171 us (the walk ~20 us,
the rest marking), in-process A/B over 21 alternations.
"""

from __future__ import annotations

import functools
import types

import numpy as np

from ._engine.modes import CAPTURED, _InferenceMode
from ._engine.tensor import Tensor
from ._engine.versions import _root
from .nn.module import Module

__all__ = ["call"]


_DEPTH = 6
_MODULE_STATE = frozenset(("_buffers", "_modules", "_non_persistent", "_parameters"))
_COUNT = 20_000
_SKIP = (type, types.ModuleType, str, bytes, int, float, complex, bool, type(None), np.ndarray,
         np.generic, types.BuiltinFunctionType, types.CodeType)


def _storage(t: Tensor) -> np.ndarray | None:
    data = t._data
    return _root(data) if isinstance(data, np.ndarray) else None


def _names(code: types.CodeType):
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def reachable_storages(func) -> dict[int, np.ndarray]:
    """The storages (id -> root array) of the tensors ``func`` can reach (see the module
    docstring)."""
    found: dict[int, np.ndarray] = {}
    seen: set[int] = set()
    stack = [(func, 0)]
    while stack and len(seen) < _COUNT:
        obj, depth = stack.pop()
        if id(obj) in seen or isinstance(obj, _SKIP):
            continue
        seen.add(id(obj))
        if isinstance(obj, Tensor):
            storage = _storage(obj)
            if storage is not None:
                found[id(storage)] = storage
            continue
        if isinstance(obj, Module):  # (all of its tensors, however deep the tree)
            for module in obj.modules():
                seen.add(id(module))
                for tensors in (module._parameters, module._buffers):
                    for t in tensors.values():
                        if t is not None and (storage := _storage(t)) is not None:
                            found[id(storage)] = storage
                # (a user's own attributes: plain tensors, lists of them, ...)
                stack.extend((v, depth + 1) for k, v in vars(module).items()
                             if k not in _MODULE_STATE and not isinstance(v, _SKIP))
            continue
        if depth >= _DEPTH:
            continue
        depth += 1
        if isinstance(obj, types.FunctionType):
            cells = obj.__closure__ or ()
            for cell in cells:
                try:
                    stack.append((cell.cell_contents, depth))
                except ValueError:  # (an empty cell)
                    pass
            stack.extend((v, depth) for v in obj.__defaults__ or ())
            stack.extend((v, depth) for v in (obj.__kwdefaults__ or {}).values())
            namespace = obj.__globals__
            if namespace.get("__name__", "").startswith("deltagrad"):
                continue  # (the library's globals hold nothing of the user's; a transform's
                # wrapper still leads to the user's function through its closure)
            stack.extend((namespace[n], depth) for n in _names(obj.__code__) if n in namespace)
        elif isinstance(obj, types.MethodType):
            stack.append((obj.__self__, depth))
            stack.append((obj.__func__, depth))
        elif isinstance(obj, functools.partial):
            stack.append((obj.func, depth))
            stack.extend((v, depth) for v in obj.args)
            stack.extend((v, depth) for v in obj.keywords.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend((v, depth) for v in obj)
        elif isinstance(obj, dict):
            stack.extend((v, depth) for v in obj.values())
        else:
            attributes = getattr(obj, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend((v, depth) for v in attributes.values())
            call = next((vars(k)["__call__"] for k in type(obj).__mro__
                         if "__call__" in vars(k)), None)
            if isinstance(call, types.FunctionType):
                stack.append((call, depth))
    return found


def _argument_storages(tree, found: set[int]) -> None:
    if isinstance(tree, Tensor):
        storage = _storage(tree)
        if storage is not None:
            found.add(id(storage))
    elif isinstance(tree, (list, tuple)):
        for item in tree:
            _argument_storages(item, found)
    elif isinstance(tree, dict):
        for item in tree.values():
            _argument_storages(item, found)


def call(func, args: tuple, kwargs: dict | None = None):
    """``func(*args, **kwargs)`` with in-place changes of its captured tensors refused."""
    refused = set(reachable_storages(func))
    if refused:
        arguments: set[int] = set()
        _argument_storages((args, kwargs or {}), arguments)
        refused -= arguments
    if not refused:
        return func(*args, **(kwargs or {}))
    marking = _InferenceMode.marking
    CAPTURED.append(refused)
    _InferenceMode.marking = True
    try:
        return func(*args, **(kwargs or {}))
    finally:
        CAPTURED.pop()
        # (an inference_mode entered inside the transform keeps marking on: ``used``)
        _InferenceMode.marking = marking or bool(CAPTURED) or _InferenceMode.used

