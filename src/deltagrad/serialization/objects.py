"""Python objects in checkpoints as data: classes and functions by reference, state as JSON.

``save`` writes an object that is not plain data (an ``argparse.Namespace``, a dataclass, an
``nn.Module``, an enum member, a ``defaultdict``, ...) the way pickle's protocol 2 describes it
(``__reduce_ex__(2)``), but as JSON nodes, never as pickle bytes:

- ``{"$global": "module:qualname"}``: a class or function, imported back by name;
- ``{"$object": "module:qualname", "args": [...], "state": ...}``: ``cls.__new__(cls, *args)``,
  then its state (``__setstate__``, or the ``__dict__`` / ``__slots__`` values);
- ``{"$reduce": "module:qualname", "args": [...], "state": ...}``: ``func(*args)``, then its
  state; both may carry ``"items"`` (appended) and ``"entries"`` (``obj[key] = value``).

Arguments and state go through the same encoder as everything else (tensors to safetensors,
shared references kept). Loading such nodes imports and calls the named globals, which is why
``load(weights_only=True)`` (PyTorch's default) refuses every global not on the allow-list, as
PyTorch's weights-only unpickler does.
"""

from __future__ import annotations

import copyreg
import importlib
import pickle  # PyTorch's exception classes (and the class of pickle's error for a reference)
import sys
import types
from collections import Counter, OrderedDict

# The globals PyTorch's weights-only load accepts without an allow-list (the rest of its list,
# tensors, dtypes, devices, sets, bytes, complex numbers, has nodes of its own here).
DEFAULT_SAFE = {"collections.OrderedDict": OrderedDict, "collections.Counter": Counter}


def global_name(obj) -> str | None:
    """``"module:qualname"`` under which ``obj`` (a class, a function) imports back as itself,
    or None (a lambda, a function defined inside another, a class not reachable by name)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    try:
        found = _lookup(module, qualname)
    except Exception:  # any import or attribute failure means: not reachable by name
        return None
    return f"{module}:{qualname}" if found is obj else None


def _lookup(module: str, qualname: str):
    target = sys.modules.get(module) or importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def dotted(name: str) -> str:
    """PyTorch's spelling of a global in its messages and allow-list: ``module.qualname``."""
    return name.replace(":", ".", 1)


_MIRRORS: dict[type, type] = {}


def _pickle_error_class(target) -> type:
    """The class of the error pickle (torch.save) raises for ``target``, a class or function
    that does not import back by name (PicklingError for a lambda or a class pickle cannot
    find, AttributeError for a local object), joined with TypeError (deltagrad's error before:
    ``except TypeError`` still catches it). Only the reference is pickled, never an object."""
    try:
        pickle.dumps(target, protocol=2)
    except Exception as error:  # noqa: BLE001 - its class is the answer
        base = type(error)
    else:
        return TypeError
    if issubclass(base, TypeError):
        return base
    if base not in _MIRRORS:
        try:
            _MIRRORS[base] = type(f"Unsaveable{base.__name__}", (base, TypeError),
                                  {"__module__": __name__})
        except TypeError:  # (a layout conflict)
            _MIRRORS[base] = TypeError
    return _MIRRORS[base]


def _unsupported(path_text: str, value, why: str, like=None) -> TypeError:
    """The error for ``value``; ``like``: the class or function that does not import back, whose
    pickle error class it takes (s29 SL21)."""
    cls = TypeError if like is None else _pickle_error_class(like)
    return cls(f"save: {path_text} is a {type(value).__name__} ({why}); checkpoints hold "
                     "data (dict, list, tuple, set, str, numbers, None, bytes, Tensor, ndarray, "
                     "dtype, device) and objects whose class, state and references are importable "
                     "by name (as torch.save's pickle needs)")


def encode_global(value, path_text: str) -> dict:
    """The node of a class or function saved by reference."""
    name = global_name(value)
    if name is None:
        qualname = getattr(value, "__qualname__", repr(value))
        raise _unsupported(path_text, value, f"{qualname} in module "
                           f"{getattr(value, '__module__', None)} cannot be imported back by "
                           "name: only module-level classes and functions can be saved",
                           like=value)
    return {"$global": name}


def encode_object(encoder, value, path: str, path_text: str) -> dict:
    """The node of any other object, from its ``__reduce_ex__(2)`` (as pickle's protocol 2)."""
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return encode_global(value, path_text)
    try:
        reducer = copyreg.dispatch_table.get(type(value))
        reduced = reducer(value) if reducer is not None else value.__reduce_ex__(2)
    except Exception as error:  # TypeError("cannot pickle '_io.TextIOWrapper' object"), ...
        raise _unsupported(path_text, value, f"{type(error).__name__}: {error}") from None
    if isinstance(reduced, str):  # a module-level singleton, saved by name
        module = getattr(value, "__module__", None) or type(value).__module__
        name = f"{module}:{reduced}"
        try:
            if _lookup(module, reduced) is value:
                return {"$global": name}
        except Exception:
            pass
        raise _unsupported(path_text, value, f"it reduces to the name {dotted(name)}, which does "
                           "not import back as it")
    if not isinstance(reduced, tuple) or not 2 <= len(reduced) <= 5:
        raise _unsupported(path_text, value, f"its __reduce_ex__ returned {type(reduced).__name__}")
    func, args, state, list_items, dict_items = (tuple(reduced) + (None,) * 3)[:5]
    encoder.building.add(id(value))  # the arguments cannot refer back to the object
    try:
        if func is copyreg.__newobj__:
            node = {"$object": _reference(args[0], path_text, value),
                    "args": [encoder.encode(a, f"{path}/args/{i}") for i, a in
                             enumerate(args[1:])]}
        elif func is getattr(copyreg, "__newobj_ex__", None):
            cls, positional, keywords = args
            node = {"$object": _reference(cls, path_text, value),
                    "args": [encoder.encode(a, f"{path}/args/{i}") for i, a in
                             enumerate(positional)],
                    "kwargs": encoder.encode(dict(keywords), f"{path}/kwargs")}
        else:
            node = {"$reduce": _reference(func, path_text, value),
                    "args": [encoder.encode(a, f"{path}/args/{i}") for i, a in enumerate(args)]}
    finally:
        encoder.building.discard(id(value))
    encoder.remember(value)  # from here on, references to it (cycles included) are "$ref"s
    if state is not None:
        node["state"] = encoder.encode(state, path)
    if list_items is not None:
        node["items"] = [encoder.encode(item, f"{path}/{i}") for i, item in enumerate(list_items)]
    if dict_items is not None:
        node["entries"] = [[encoder.encode_key(key, path), encoder.encode(item, f"{path}/{key}")]
                           for key, item in dict_items]
    return node


def _reference(target, path_text: str, value) -> str:
    name = global_name(target)
    if name is None:
        raise _unsupported(path_text, value, f"it is rebuilt by {target!r}, which cannot be "
                           "imported back by name", like=target)
    return name


class WeightsOnlyGate:
    """Which globals a load may import: all with ``weights_only=False``; else PyTorch's default
    list and the allow-list (``add_safe_globals`` / ``safe_globals``)."""

    def __init__(self, file: str, weights_only: bool, allowed: list):
        self.file = file
        self.weights_only = weights_only
        self.allowed = dict(DEFAULT_SAFE)
        for entry in allowed:
            if isinstance(entry, tuple):
                self.allowed[entry[1]] = entry[0]
            else:
                self.allowed[f"{entry.__module__}.{entry.__qualname__}"] = entry

    def resolve(self, name) -> object:
        if not isinstance(name, str) or ":" not in name:
            raise ValueError(f"a global reference {name!r} is not 'module:qualname'")
        if self.weights_only:
            found = self.allowed.get(dotted(name))
            if found is None:
                raise self.refusal(dotted(name))
            return found
        module, _, qualname = name.partition(":")
        return _lookup(module, qualname)

    def refusal(self, name: str) -> pickle.UnpicklingError:
        shown = name[len("builtins."):] if name.startswith("builtins.") else name
        return pickle.UnpicklingError(
            "Weights only load failed. This file can still be loaded, to do so you have two "
            "options, \x1b[1mdo those steps only if you trust the source of the "
            "checkpoint\x1b[0m. "
            f"{self.file} holds {shown}, which load(weights_only=True) "
            "(the default) does not import. If you trust the file, load it with "
            f"weights_only=False (that imports and calls {shown}), or allow it with "
            f"torch.serialization.add_safe_globals([{shown}]) or the "
            f"torch.serialization.safe_globals([{shown}]) context manager. "
            f"[WeightsUnpickler error: Unsupported global: GLOBAL {shown} was not an allowed "
            "global by default.]")


def build(decoder, node: dict):
    """Rebuild an ``$object`` / ``$reduce`` node (its arguments first, then the object is
    remembered, so its state may refer back to it, then its state and items)."""
    gate = decoder.gate
    if "$object" in node:
        cls = gate.resolve(node["$object"])
        args = [decoder.decode(a) for a in node.get("args", [])]
        kwargs = decoder.decode(node["kwargs"]) if "kwargs" in node else {}
        obj = cls.__new__(cls, *args, **kwargs)
    else:
        func = gate.resolve(node["$reduce"])
        obj = func(*[decoder.decode(a) for a in node.get("args", [])])
    decoder.memo.append(obj)
    if "state" in node:
        set_state(obj, decoder.decode(node["state"]))
    if "items" in node:
        items = [decoder.decode(item) for item in node["items"]]
        if hasattr(obj, "extend"):
            obj.extend(items)
        else:
            for item in items:
                obj.append(item)
    for key, item in node.get("entries", []):
        key = decoder.decode(key)
        obj[key] = decoder.decode(item)
    return obj


def set_state(obj, state) -> None:
    """Give a rebuilt object its state as pickle does: ``__setstate__``, or the ``__dict__``
    entries and the ``__slots__`` values of a ``(dict, slots)`` pair."""
    # (looked up on the class: an instance's __getattr__ may not work before it has its state)
    if getattr(type(obj), "__setstate__", None) is not None:
        obj.__setstate__(state)
        return
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    if state:
        obj.__dict__.update(state)
    if slots:
        for key, value in slots.items():
            setattr(obj, key, value)
