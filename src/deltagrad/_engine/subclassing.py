"""Tensor subclasses and PyTorch's ``__torch_function__`` protocol.

A subclass keeps its class through methods and operators, as PyTorch's default
``Tensor.__torch_function__`` makes it: ``S(Tensor)`` instances give ``S`` results (``s + 1``,
``x * s``, ``s.sum()``, ``s[0]``, ``s.T``, ``s.max(0).values``). Done per subclass, when it is
defined: its class gets wrappers of Tensor's methods that convert the results, so plain tensors
pay nothing. A subclass that defines its own ``__torch_function__`` gets wrappers that call it
instead (``func`` is the plain ``Tensor`` method, as in PyTorch); one that sets it to
``_C._disabled_torch_function_impl`` (Parameter, torch_geometric's) gets neither: its results
are plain tensors. Top-level functions (``deltagrad.exp(s)``) dispatch through
``deltagrad.overrides``, which wraps the public namespaces once the first such subclass exists.

Pickle and deepcopy rebuild a user's subclass (its own ``__new__`` may need arguments) from a
plain tensor, its class and ``__dict__``, as PyTorch's ``_rebuild_from_type_v2``.

Left alone: deltagrad's own subclasses (Parameter, sparse tensors) and subclasses with
``__slots__`` of their own.
"""

from __future__ import annotations

import functools
import threading

from . import tensor as _tensor

Tensor = _tensor.Tensor

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass",
           "disabled_torch_function_impl", "dispatch",
           "handle_torch_function", "is_dispatch_enabled", "keep_subclass", "overloaded_args",
           "overloaded_type"]


class _DispatchState(threading.local):
    """Per thread, as PyTorch's: how many DisableTorchFunctionSubclass contexts are open, and
    the stack of function modes entered (innermost last)."""

    disabled = 0

    def __init__(self) -> None:
        self.modes: list = []


_STATE = _DispatchState()
# How many function modes are entered and not yet left, in all threads together: the public
# functions' wrappers and Tensor's methods look at their thread's stack only when it is not 0.
MODES = [0]
# Called with True when the first mode is entered and False when the last one is left (in any
# thread): overrides.py puts the namespaces' dispatching wrappers in place for that time.
MODE_HOOKS: list = []
# Called with each user subclass that dispatches (overrides.py wraps the public namespaces).
ARM_HOOKS: list = []
# id(public function) -> its dispatching wrapper, the ``torch.X`` a program sees (overrides.py
# fills it when armed), for lower layers that call a public function on a user's tensors.
PUBLIC: dict = {}


class _DisabledImpl:
    """``func(*args, **kwargs)``: the ``__torch_function__`` of a subclass that opts out of the
    protocol (``torch._C._disabled_torch_function_impl``; Parameter uses it). An object, not a
    function, so that as a class attribute it does not bind to instances (PyTorch's is a
    builtin)."""

    def __call__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))

    def __repr__(self) -> str:
        return "<built-in function _disabled_torch_function_impl>"


disabled_torch_function_impl = _DisabledImpl()


class DisableTorchFunctionSubclass:
    """Context manager: inside it, Tensor subclasses' ``__torch_function__`` is not called
    (``torch._C.DisableTorchFunctionSubclass``; the default handler runs ``func`` in one)."""

    def __enter__(self) -> DisableTorchFunctionSubclass:
        _STATE.disabled += 1
        return self

    def __exit__(self, *exc) -> None:
        _STATE.disabled -= 1


class DisableTorchFunction:
    """Context manager: inside it neither subclasses' ``__torch_function__`` nor function modes
    are called (``torch._C.DisableTorchFunction``; ``DisableTorchFunctionSubclass`` leaves the
    modes on)."""

    def __enter__(self) -> DisableTorchFunction:
        _STATE.disabled += 1
        self.modes, _STATE.modes = _STATE.modes, []
        return self

    def __exit__(self, *exc) -> None:
        _STATE.disabled -= 1
        _STATE.modes = self.modes


def push_mode(mode) -> None:
    """Enter the function mode ``mode`` in this thread (``with mode:``): from now on the
    public functions and Tensor's methods called here go to its ``__torch_function__``."""
    if not MODES[0]:
        for hook in MODE_HOOKS:
            hook(True)
        _swap_methods(True)
    MODES[0] += 1
    _STATE.modes.append(mode)


def pop_mode():
    """Leave this thread's innermost function mode; returns it."""
    if not _STATE.modes:
        raise RuntimeError("pop_mode: no function mode is active in this thread")
    mode = _STATE.modes.pop()
    MODES[0] -= 1
    if not MODES[0]:
        _swap_methods(False)
        for hook in MODE_HOOKS:
            hook(False)
    return mode


def call_mode(func, chained, args, kwargs, types=()):
    """The innermost mode's ``__torch_function__(func, types, args, kwargs)``, run with that
    mode off (its own calls go to the modes below it, then to the subclasses, as PyTorch's).

    ``func`` is the object the program knows the function by (what ``torch.X`` or
    ``torch.Tensor.X`` was when it looked it up: thop keys a table by them at import), and
    ``chained`` its wrapper that dispatches again: given to the inner modes when several are
    on, so that their call of ``func`` reaches the outer ones. A mode that returns
    ``NotImplemented`` hands the call on to the arguments' subclasses."""
    modes = _STATE.modes
    mode = modes.pop()
    try:
        result = mode.__torch_function__(func if not modes else chained, types, args,
                                         kwargs or {})
    finally:
        modes.append(mode)
    if result is NotImplemented:
        modes.pop()
        try:
            return dispatch(chained, args, kwargs or {})
        finally:
            modes.append(mode)
    return result


def is_dispatch_enabled() -> bool:
    """Whether ``__torch_function__`` overrides are called here (``torch._C._is_torch_function_
    enabled``)."""
    return not _STATE.disabled


def overloaded_type(kind: type) -> bool:
    """Whether instances of ``kind`` take part in dispatch: a Tensor subclass (or any class)
    whose ``__torch_function__`` is not the disabled one; plain Tensor never does."""
    if kind is Tensor:
        return False
    handler = getattr(kind, "__torch_function__", None)
    return handler is not None and getattr(handler, "__func__", handler) \
        is not disabled_torch_function_impl


def _collect(values, found: list) -> None:
    for value in values:
        kind = type(value)
        if kind is Tensor or kind in (int, float, bool, str, type(None)):
            continue
        if kind in (list, tuple):  # cat / stack's sequence of tensors
            _collect(value, found)
        elif overloaded_type(kind):
            found.append(value)


def overloaded_args(args, kwargs=None) -> list:
    """The arguments whose types dispatch (one per type, subclasses before their bases, else
    in order of appearance), looking one level into lists and tuples, as PyTorch's parser."""
    found: list = []
    _collect(args, found)
    if kwargs:
        _collect(kwargs.values(), found)
    chosen: list = []
    for value in found:
        kind = type(value)
        if any(type(seen) is kind for seen in chosen):
            continue
        position = next((i for i, seen in enumerate(chosen) if issubclass(kind, type(seen))),
                        len(chosen))
        chosen.insert(position, value)
    return chosen


class _Declined(TypeError):
    """Every ``__torch_function__`` override returned NotImplemented (PyTorch's TypeError)."""


def handle_torch_function(func, overloaded, args, kwargs):
    """Calls the overrides of ``overloaded`` for ``func`` in order; the first result that is
    not ``NotImplemented`` is returned (TypeError if every one declines)."""
    types = tuple(type(value) for value in overloaded)
    for value in overloaded:
        result = type(value).__torch_function__(func, types, args, kwargs)
        if result is not NotImplemented:
            return result
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    name = name if name.startswith("torch.") else f"torch.{name}"
    listed = "".join(f"\n  - tensor subclass {kind}" for kind in types)
    raise _Declined(f"Multiple dispatch failed for '{name}'; all __torch_function__ handlers "
                    f"returned NotImplemented:\n{listed}")


def dispatch(func, args, kwargs):
    """``func(*args, **kwargs)``, through the arguments' ``__torch_function__`` if any
    dispatches (and dispatch is not disabled here)."""
    if not _STATE.disabled:
        overloaded = overloaded_args(args, kwargs)
        if overloaded:
            return handle_torch_function(func, overloaded, args, kwargs)
    return func(*args, **kwargs)


def dispatch_public(function, args, kwargs):
    """``dispatch`` for the public ``function`` (``deltagrad.stack``), with ``func`` the
    object programs see as it (its wrapper once armed), as PyTorch's own Python code calls
    ``torch.stack``."""
    return dispatch(PUBLIC.get(id(function), function), args, kwargs)


def _convert(value, cls):
    """PyTorch's default conversion of a result to the subclass ``cls``."""
    if isinstance(value, Tensor):
        return value if isinstance(value, cls) else value.as_subclass(cls)
    if type(value) in (tuple, list):
        return type(value)(_convert(v, cls) for v in value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # max's (values, indices)
        return type(value)(*(_convert(v, cls) for v in value))
    return value


def _from_pytorch(func) -> bool:
    """Whether ``func`` is PyTorch's own (a function of the real ``torch`` package)."""
    module = getattr(func, "__module__", None)
    if module is None:  # (a method descriptor of torch._C.TensorBase)
        module = getattr(getattr(func, "__objclass__", None), "__module__", None) or ""
    return module == "torch" or module.startswith(("torch.", "torch._C"))


def _default_torch_function(cls, func, types, args=(), kwargs=None):
    """``Tensor.__torch_function__``: runs ``func`` with dispatch off and makes its tensor
    results ``cls`` (declines, with NotImplemented, when a type is not a base of ``cls``)."""
    if not all(issubclass(cls, kind) for kind in types) or _from_pytorch(func):
        # (PyTorch itself asks when one of its functions meets a deltagrad tensor: calling
        # its function again would ask again, without end; declining makes PyTorch raise its
        # TypeError naming the function and the type)
        return NotImplemented
    # (the conversion too runs with dispatch off, as PyTorch's: fastai patches
    # Tensor.as_subclass to a function that calls tensor methods, which would dispatch again)
    with DisableTorchFunctionSubclass():
        result = func(*args, **(kwargs or {}))
        return _convert(result, cls)


# The protocol's entry point on every tensor class; subclasses override it.
Tensor.__torch_function__ = classmethod(_default_torch_function)

# Methods whose results are no tensors of the subclass (or are set up by Python itself).
_SKIP = frozenset({
    "__init__", "__new__", "__init_subclass__", "__getstate__", "__setstate__", "__reduce__",
    "__reduce_ex__", "__repr__", "__str__", "__format__", "__hash__", "__bool__", "__len__",
    "__iter__", "__contains__", "__index__", "__int__", "__float__", "__complex__", "__array__",
    "__array_wrap__", "__array_ufunc__", "__array_function__", "__setitem__", "__delitem__",
    "__getattribute__", "__getattr__", "__setattr__", "__delattr__", "__dir__", "__sizeof__",
    "__copy__", "__deepcopy__", "__class_getitem__", "__subclasshook__", "__instancecheck__",
    "__dlpack__", "__dlpack_device__", "as_subclass", "register_hook", "backward", "numpy",
    "tolist", "item", "size", "dim", "numel", "element_size", "data_ptr", "storage",
    "untyped_storage", "stride", "storage_offset", "retain_grad",
    "register_post_accumulate_grad_hook", "__torch_function__",
})
# Properties whose values are tensors of the subclass in PyTorch.
_PROPERTIES = ("T", "mT", "H", "mH", "real", "imag", "data")


def _converted(value, cls, args):
    if type(value) is Tensor:
        if any(value is a for a in args):  # an argument returned: a new object, as PyTorch
            return value.as_subclass(cls)
        value.__class__ = cls
    elif isinstance(value, (tuple, list)):  # (split's tuple, max's values and indices)
        for v in value:
            if type(v) is Tensor and not any(v is a for a in args):
                v.__class__ = cls
    return value


def _method(function):
    modes_on = MODES

    @functools.wraps(function)
    def method(self, *args, **kwargs):
        if modes_on[0] and _STATE.modes:
            result = call_mode(function, method, (self, *args), kwargs)
            return _converted(result, type(self), args)
        return _converted(function(self, *args, **kwargs), type(self), args)

    return method


def _property(prop):
    def get(self):
        return _converted(prop.fget(self), type(self), ())

    return property(get, prop.fset, prop.fdel, prop.__doc__)


# The method PyTorch names as ``func`` for an operator (``s * 2`` and ``2 * s`` both pass
# ``Tensor.mul``); other dunders pass themselves.
_OPERATOR_FUNCS = {"__add__": "add", "__radd__": "add", "__mul__": "mul", "__rmul__": "mul",
                   "__sub__": "sub", "__truediv__": "div", "__rtruediv__": "__rdiv__",
                   "__matmul__": "matmul", "__neg__": "neg", "__pow__": "pow", "__abs__": "abs",
                   "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
                   "__ne__": "ne"}
# Methods PyTorch dispatches that are skipped for plain subclasses (nothing to convert).
_DISPATCHED_ONLY = frozenset({"backward"})


def _dispatching_method(name, function):
    func = getattr(Tensor, _OPERATOR_FUNCS.get(name, name), function)

    modes_on = MODES

    @functools.wraps(function)
    def method(self, *args, **kwargs):
        if modes_on[0] and _STATE.modes:
            # (the mode's own call of func runs the plain method: its subclass's handler is
            # not called for it)
            return call_mode(func, method, (self, *args), kwargs,
                             tuple(type(v) for v in overloaded_args((self, *args), kwargs)))
        if _STATE.disabled:
            return function(self, *args, **kwargs)
        return handle_torch_function(func, overloaded_args((self, *args), kwargs),
                                     (self, *args), kwargs)

    return method


# Tensor's methods that modes see while one is on: the public ones and the operators, not the
# engine's own helpers (``_reshape``) nor the queries not dispatched here (``dim``, ``size``).
_MODE_OPERATORS = frozenset(_OPERATOR_FUNCS) | {
    "__getitem__", "__setitem__", "__rsub__", "__rmatmul__", "__rpow__", "__floordiv__",
    "__mod__", "__and__", "__or__", "__xor__", "__invert__", "__iadd__", "__isub__",
    "__imul__", "__itruediv__"}
_SWAPPED: dict = {}  # name -> Tensor's own method, while modes are on
_MODE_WRAPPERS: dict = {}  # name -> (Tensor's own method, its mode-aware wrapper)


def _mode_method(function, func):
    """``function`` (a method of Tensor) behind a look at this thread's mode stack; the mode
    gets ``func``, the method PyTorch names for it (``Tensor.add`` for ``+``)."""
    state = _STATE
    name = getattr(func, "__name__", None)

    @functools.wraps(function)
    def method(*args, **kwargs):
        if state.modes:
            # (the outer modes of several get ``func``'s own wrapper: ``Tensor.add`` for +)
            return call_mode(func, vars(Tensor).get(name, method), args, kwargs)
        return function(*args, **kwargs)

    return method


def _swap_methods(on: bool) -> None:
    """Put the mode-aware wrappers of Tensor's methods in place (``on``) or take them away:
    a plain program pays nothing for modes while none is entered (0.3 ms each way once the
    wrappers are made)."""
    if not on:
        for name, function in _SWAPPED.items():
            setattr(Tensor, name, function)
        _SWAPPED.clear()
        return
    own = dict(vars(Tensor))
    for name, function in own.items():
        if ((name.startswith("_") and name not in _MODE_OPERATORS) or name in _SKIP
                or not callable(function)
                or isinstance(function, (type, staticmethod, classmethod, property))):
            continue
        _SWAPPED[name] = function
        made = _MODE_WRAPPERS.get(name)
        if made is None or made[0] is not function:  # (made once: 6 ms for the 600)
            func = own.get(_OPERATOR_FUNCS.get(name, name), function)
            made = _MODE_WRAPPERS[name] = (function, _mode_method(function, func))
        setattr(Tensor, name, made[1])


# The types whose arguments never dispatch: Tensor's methods given only these skip the look.
_PLAIN = frozenset({Tensor, int, float, bool, str, type(None)})
PLAIN_MATMUL: list = [None]  # Tensor.matmul as defined (api/linalg.py sets it)
_ARGUMENT_METHODS: list = []  # the names given argument-dispatching wrappers, once armed
_UNARMED_MATMUL: list = [None]  # PLAIN_MATMUL before arming (disarm_methods puts it back)


def _argument_method(name, function):
    """Tensor's method ``function`` behind a look for arguments that dispatch (``x.add(op)``,
    ``x @ op`` for a class that is no Tensor but defines ``__torch_function__``), as PyTorch's
    methods: the override gets ``Tensor.add`` for both. An operator whose overrides all decline
    returns NotImplemented (Python then asks the other operand), as PyTorch's."""
    plain = _PLAIN
    state = _STATE
    func_name = _OPERATOR_FUNCS.get(name, name)
    operator = name.startswith("__")

    @functools.wraps(function)
    def method(*args, **kwargs):
        for value in args:
            if type(value) not in plain:
                break
        else:
            if not kwargs:
                return function(*args)
        if not state.disabled:
            overloaded = overloaded_args(args, kwargs)
            if overloaded:
                # (func is what Tensor.add is now: this wrapper, or a mode's in front of it)
                func = getattr(Tensor, func_name, method)
                if not operator:
                    return handle_torch_function(func, overloaded, args, kwargs)
                try:
                    return handle_torch_function(func, overloaded, args, kwargs)
                except _Declined:
                    return NotImplemented
        return function(*args, **kwargs)

    return method


_WRAPPER_CODE = _argument_method("add", len).__code__  # (every wrapper's code)


def arm_methods() -> bool:
    """Give Tensor's public methods and operators argument-dispatching wrappers, for good: a
    class that is no Tensor subclass defines ``__torch_function__`` (only then: a plain
    program's methods stay as they are). Whether this call armed them (False: already were)."""
    if _ARGUMENT_METHODS:
        return False
    _UNARMED_MATMUL[0] = PLAIN_MATMUL[0]
    # (while a function mode is on Tensor's attributes are the mode's wrappers: wrap the
    # methods below them, which the mode puts back when it is left)
    own = dict(vars(Tensor))
    own.update(_SWAPPED)
    for name, function in own.items():
        if ((name.startswith("_") and name not in _MODE_OPERATORS) or name in _SKIP
                or not callable(function)
                or isinstance(function, (type, staticmethod, classmethod, property))):
            continue
        wrapper = _argument_method(name, function)
        if name in _SWAPPED:
            _SWAPPED[name] = wrapper
        else:
            setattr(Tensor, name, wrapper)
        _ARGUMENT_METHODS.append(name)
    if PLAIN_MATMUL[0] is own.get("matmul"):
        # (``a @ b``'s fast path, taken for two plain tensors only, stays on with the wrapper:
        # 8x8 @ 8x8 armed 3.0-4.0 -> 1.6 us, plain 1.3, timeit)
        PLAIN_MATMUL[0] = _SWAPPED.get("matmul", vars(Tensor)["matmul"])
    return True


def disarm_methods() -> None:
    """Undo ``arm_methods`` (a class statement armed them before its body ran, and the class
    turned out not to dispatch): each wrapper still in place gives way to its method."""
    for name in _ARGUMENT_METHODS:
        table = _SWAPPED if name in _SWAPPED else vars(Tensor)
        wrapper = table[name]
        original = getattr(wrapper, "__wrapped__", None)
        if original is None or getattr(wrapper, "__code__", None) is not _WRAPPER_CODE:
            continue  # (a program's own replacement: kept)
        if table is _SWAPPED:
            _SWAPPED[name] = original
        else:
            setattr(Tensor, name, original)
    _ARGUMENT_METHODS.clear()
    PLAIN_MATMUL[0] = _UNARMED_MATMUL[0]


def _rebuild_subclass(plain, cls, state):
    """Unpickling (and deepcopy) of a user's Tensor subclass: ``plain`` made ``cls``, then its
    attributes (``__setstate__`` where the subclass defines one), as PyTorch's
    ``_rebuild_from_type_v2``."""
    value = plain.as_subclass(cls)
    if state:
        if any("__setstate__" in vars(k) for k in cls.__mro__ if k is not Tensor):
            value.__setstate__(state)
        else:
            value.__dict__.update(state)
    return value


def _reduce_subclass(self, protocol=2):
    """Pickle / deepcopy of a user's subclass, whose own ``__new__`` may need arguments (MONAI's
    MetaTensor, tv_tensors): the values as a plain leaf (``requires_grad`` kept, as PyTorch's
    pickle), the class and the instance's ``__dict__``."""
    plain = Tensor.detach(self)
    if type(plain) is not Tensor:
        plain.__class__ = Tensor
    if self.requires_grad:
        plain.requires_grad_(True)
    return _rebuild_subclass, (plain, type(self), dict(vars(self)))


def _made_by_new(self, *args, **kwargs) -> None:
    """The __init__ of a subclass whose own __new__ built the tensor: nothing left to do."""


def keep_subclass(cls) -> None:
    """Give the Tensor subclass ``cls`` wrappers that make its methods' results ``cls``, or,
    when it defines its own ``__torch_function__``, that call it."""
    if cls.__module__.startswith("deltagrad."):
        if "__torch_function__" not in vars(cls):  # deltagrad's own: results are plain
            cls.__torch_function__ = disabled_torch_function_impl
        return
    below = [k for k in cls.__mro__ if k is not Tensor and issubclass(k, Tensor)]
    if any("__new__" in vars(k) for k in below) and not any("__init__" in vars(k)
                                                            for k in below):
        # A subclass whose __new__ makes the tensor (``BoundingBoxes(data, format=...)``):
        # Python then calls __init__ with the same arguments, which in PyTorch does nothing.
        cls.__init__ = _made_by_new
    if cls.__dictoffset__ and not any(name in vars(k) for k in below
                                      for name in ("__reduce_ex__", "__reduce__")):
        cls.__reduce_ex__ = _reduce_subclass
    if cls.__basicsize__ != Tensor.__basicsize__ or not overloaded_type(cls):
        return
    for hook in ARM_HOOKS:
        hook(cls)
    custom = any("__torch_function__" in vars(k) for k in below)
    own = set().union(*(vars(k) for k in below))
    for name, value in vars(Tensor).items():
        if name in own or (name in _SKIP and not (custom and name in _DISPATCHED_ONLY)):
            continue
        if isinstance(value, property):
            if name in _PROPERTIES and not custom:
                setattr(cls, name, _property(value))
        elif (callable(value) and not isinstance(value, (type, staticmethod, classmethod))
              and getattr(value, "__module__", "deltagrad").startswith("deltagrad")):
            # (not functions a library patched onto Tensor, fastai's set_meta: in PyTorch those
            # are plain Python methods, which neither dispatch nor convert)
            setattr(cls, name, _dispatching_method(name, value) if custom else _method(value))


_tensor._SUBCLASS_HOOK.append(keep_subclass)
