"""What a captured step changes besides gradients: found and checked by ``capture_step``.

A replay runs the recorded ops' forwards and VJP rules and nothing else, so Python that the
step runs outside ops would be skipped: a module counting its calls, a buffer changed in place
(``self.count += 1``), random draws, hooks, and branches on Python values such as the
``training`` flag. ``StepWatch`` looks at the modules the step can reach (from the step
function's closure, globals, bound ``self`` and defaults) before and after the captured call
and names any such change, so that the capture is refused instead of replayed wrong; the
training flags are read again before every replay, which then captures afresh.

State that ops change on purpose is declared by the node that changes it: an attribute of the
node with a ``mutated_tensors()`` method (the batch norms' running statistics,
``nn.normalization._RunningStats``) is updated by the node's forward in every replay, and
``declared_state`` finds those tensors so that the capture's checking runs leave them as the
eager call left them.
"""

from __future__ import annotations

import inspect
import sys
import types

import numpy as np

from .._engine import versions
from .._engine.random import default_generator, state_bytes
from . import function as _function
from .function import FunctionCtx

__all__ = ["StepWatch", "ValueReads", "declared_state", "restoring"]

_SIMPLE = (bool, int, float, complex, str, bytes, type(None))
_DEPTH = 4  # how far from the step function modules are looked for (closures, objects)
_ITEMS = 256  # containers longer than this are not looked into


def _is_module(obj) -> bool:
    """Module-like (nn sits above autograd, so it is recognised by what it has)."""
    return (not isinstance(obj, type) and "_buffers" in getattr(obj, "__dict__", ())
            and hasattr(obj, "named_modules") and hasattr(obj, "training"))


def _functions_names(code) -> set:
    """The global names a code object and the functions defined in it read."""
    names, stack = set(), [code]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return names


def reachable_modules(fn) -> list:
    """``[(dotted name, module)]`` of every module ``fn`` can reach, each once."""
    found, seen = {}, set()
    stack = [(fn, "step", 0)]
    while stack:
        obj, name, depth = stack.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type) + _SIMPLE):
            continue
        seen.add(id(obj))
        if _is_module(obj):
            for sub, module in obj.named_modules():
                found.setdefault(id(module), (f"{name}.{sub}" if sub else name, module))
            continue
        if depth >= _DEPTH or isinstance(obj, np.ndarray) or isinstance(
                getattr(obj, "_data", None), np.ndarray):  # (arrays and tensors hold none)
            continue
        nxt = depth + 1
        if inspect.ismethod(obj):
            stack.append((obj.__self__, "self", nxt))
            stack.append((obj.__func__, name, nxt))
        elif inspect.isfunction(obj):
            code = obj.__code__
            for var, cell in zip(code.co_freevars, obj.__closure__ or ()):
                try:
                    stack.append((cell.cell_contents, var, nxt))
                except ValueError:  # an empty cell
                    pass
            for var in _functions_names(code):
                if var in obj.__globals__:
                    stack.append((obj.__globals__[var], var, nxt))
            for value in (obj.__defaults__ or ()) + tuple((obj.__kwdefaults__ or {}).values()):
                stack.append((value, name, nxt))
        elif isinstance(obj, (list, tuple, set, frozenset)):
            if len(obj) <= _ITEMS:  # (not a data set's rows)
                stack.extend((item, f"{name}[{i}]", nxt) for i, item in enumerate(obj))
        elif isinstance(obj, dict):
            if len(obj) <= _ITEMS:
                stack.extend((item, f"{name}[{key!r}]", nxt) for key, item in obj.items())
        elif hasattr(obj, "__dict__"):
            if hasattr(obj, "func") and callable(obj.func):  # functools.partial
                stack.append((obj.func, name, nxt))
                stack.extend((item, name, nxt) for item in getattr(obj, "args", ()))
            stack.extend((item, f"{name}.{key}", nxt) for key, item in vars(obj).items())
    return list(found.values())


def declared_state(records) -> list:
    """The tensors that the recorded nodes' forwards change in place, by declaration."""
    tensors, seen = [], set()
    for record in records:
        for value in record[2].values():
            holders = value._kwargs.values() if isinstance(value, FunctionCtx) else (value,)
            for holder in holders:
                mutated = getattr(holder, "mutated_tensors", None)
                if mutated is None or isinstance(holder, type):
                    continue
                for t in mutated():
                    if id(t) not in seen:
                        seen.add(id(t))
                        tensors.append(t)
    return tensors


class restoring:  # noqa: N801 - used like a function: `with restoring(tensors):`
    """Puts the arrays of ``tensors`` back as they were on leaving the block."""

    def __init__(self, tensors) -> None:
        self.saved = [(t._data, t._data.copy()) for t in tensors]

    def __enter__(self) -> restoring:
        return self

    def __exit__(self, *exc) -> None:
        for array, copy in self.saved:
            np.copyto(array, copy)


def _attributes(module) -> dict:
    """A module's plain Python attributes (flags, counters, hyperparameters)."""
    return {key: value for key, value in vars(module).items() if type(value) in _SIMPLE}


def _inside_function_forward() -> bool:
    """Whether the caller runs inside a ``Function``'s forward, which every replay runs again
    (its reads are not frozen). Walks the stack: only when a value is read, which is rare."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _FORWARD_CODE:
            return True
        frame = frame.f_back
    return False


_FORWARD_CODE = _function._forward.__code__


def _same_values(array: np.ndarray, before: np.ndarray) -> bool:
    return (array.shape == before.shape and array.dtype == before.dtype
            and np.array_equal(array, before, equal_nan=array.dtype.kind in "fc"))


def _hooked(module) -> bool:
    hooks = vars(module).get("_hooks")
    return hooks is not None and any(len(kind) for kind in vars(hooks).values())


class StepWatch:
    """The modules a step can reach and their state, noted before the captured call.

    ``changes(declared)`` lists, after the call, what the call changed outside its ops and
    not by a declared node: buffers and parameters (by value, and by version), plain
    attributes, the default generator's state, and ``max_norm`` renormalization (which
    changes nothing when no looked-up row is too long, as at capture perhaps); ``hooks()``
    the modules with hooks; ``modes_changed()`` whether a module's ``training`` flag differs
    from the capture's.
    """

    def __init__(self, fn) -> None:
        self.modules = reachable_modules(fn)
        self.buffers = [(f"{name}.{key}", t, t._data.copy())
                        for name, module in self.modules
                        for key, t in vars(module)["_buffers"].items() if t is not None]
        # (copied once per capture: a write through ``_data`` bumps no version)
        self.parameters = [(f"{name}.{key}", t, versions.version(t._data), t._data.copy())
                           for name, module in self.modules
                           for key, t in vars(module).get("_parameters", {}).items()
                           if t is not None]
        self.attributes = [(name, module, _attributes(module)) for name, module in self.modules]
        self.modes = tuple((module, module.training) for _, module in self.modules)
        self.rng = state_bytes(default_generator).tobytes()

    def changes(self, declared) -> list:
        """What the call changed that a replay would not change again (descriptions)."""
        declared = {id(t) for t in declared}
        found = []
        for label, t, before in self.buffers:
            if id(t) not in declared and not _same_values(t._data, before):
                found.append(f"buffer {label}")
        for label, t, version, before in self.parameters:
            if versions.version(t._data) != version or not _same_values(t._data, before):
                found.append(f"parameter {label} (in place)")
        for name, module in self.modules:
            if getattr(module, "max_norm", None) is not None and hasattr(module, "weight"):
                found.append(f"the rows of {name}.weight, renormalized to max_norm by "
                             f"{type(module).__name__} (when a replay's rows exceed it)")
        for name, module, before in self.attributes:
            after = _attributes(module)
            for key in sorted(before.keys() | after.keys()):
                if key not in before or key not in after or before[key] != after[key]:
                    found.append(f"attribute {name}.{key} of {type(module).__name__}")
        if state_bytes(default_generator).tobytes() != self.rng:
            found.append("the default generator's state (random numbers were drawn)")
        return found

    def state_arrays(self) -> frozenset:
        """Ids of the modules' buffers' arrays (as now): ops on them are replayed, not frozen,
        since training, ``load_state_dict`` or the user may change them between steps."""
        return frozenset(id(t._data) for _, t, _ in self.buffers)

    def hooks(self) -> list:
        """The modules with forward or backward hooks (Python a replay would skip)."""
        return [f"{name} ({type(module).__name__})" for name, module in self.modules
                if _hooked(module)]

    def modes_changed(self) -> bool:
        """Whether a module's ``training`` flag differs from the one at capture."""
        for module, training in self.modes:
            if module.training is not training:
                return True
        return False


class ValueReads:
    """While a step is recorded, notes the Python values read from tensors (``loss.item()``,
    ``bool(x.sum() > 0)``, ``float(t)``): a branch or a number taken from one is frozen by a
    replay, which runs no Python of the step's.

    Every read counts, not only those of tensors that depend on the step's inputs: masks and
    comparisons are made as plain leaves, so that dependence cannot be followed, and a
    buffer read can change between replays too. Used as a ``with`` block around the recorded
    call, it wraps Tensor's conversion methods for the block's length only.
    """

    NAMES = ("item", "tolist", "__bool__", "__float__", "__int__", "__index__")

    def __init__(self, tensor_class) -> None:
        self.tensor_class = tensor_class
        self.found: list = []
        self.saved: dict = {}

    def _wrap(self, name, method):
        def watched(tensor, *args, **kwargs):
            if not _inside_function_forward():
                self.found.append(f"{name}() of a tensor of shape {tuple(tensor._data.shape)}")
            return method(tensor, *args, **kwargs)

        return watched

    def __enter__(self) -> ValueReads:
        for name in self.NAMES:
            self.saved[name] = self.tensor_class.__dict__.get(name)
            setattr(self.tensor_class, name, self._wrap(name, getattr(self.tensor_class, name)))
        return self

    def __exit__(self, *exc) -> None:
        for name, method in self.saved.items():
            if method is None:
                delattr(self.tensor_class, name)
            else:
                setattr(self.tensor_class, name, method)
