"""``deltagrad.overrides``: PyTorch's ``__torch_function__`` protocol.

Tensor subclasses keep their class through every op, and a class that defines
``__torch_function__`` (a Tensor subclass, as torchvision's ``tv_tensors`` or MONAI's
``MetaTensor``) is called for the ops given its instances, with ``func`` the public function
(``torch.add``) or Tensor method (``torch.Tensor.add``), ``types`` and ``args`` / ``kwargs``, as in
PyTorch. The core (the default ``Tensor.__torch_function__``, the per-subclass method wrappers,
``DisableTorchFunctionSubclass``) lives in ``_engine/subclassing.py``; this module adds the
top-level functions: once the first dispatching subclass is defined, the public functions of
``deltagrad``, ``functional``, ``nn.functional``, ``linalg``, ``special`` and ``fft`` are
replaced by wrappers (one per function, shared by the namespaces that re-export it)
that look for such arguments (programs without one pay nothing; after one, each call pays about
one more Python call: 0.42 us against 0.62 us for a bare call on the same busy machine, about 5%
of a small op such as ``exp`` of 8x8: ``timeit`` of ``_dispatching(noop)`` against ``noop``).
The functions PyTorch never dispatches (factories, settings: ``IGNORED``) stay as they are.

Function modes (``TorchFunctionMode``; ``with Mode(): ...``) see the public functions, the
Tensor methods and the operators called inside them, as PyTorch's do, nested (the innermost
first; a mode is off inside its own handler). While the first mode is entered the wrappers
above are put in place and Tensor's public methods get wrappers too (``_engine/subclassing.py``);
when the last one is left both are taken away again (unless a subclass armed the wrappers for
good), so plain programs pay nothing outside modes: entering and leaving the outermost mode
cost about 1 ms together (50 ms the first time, which makes the wrappers). ``func`` is what the
program knew the function by before the mode: the function itself (thop keys a table by
``torch.matmul`` and ``torch.Tensor.matmul`` at import), or its wrapper once armed for good; so
``func is torch.exp`` evaluated inside a handler is False while the mode has the wrappers in
place (compare names there). Functions a program captured before the mode (``from torch import
exp``, a default argument) run without dispatch. Factories (``torch.ones``) reach modes only.

A class that is no Tensor subclass and defines ``__torch_function__`` (gpytorch's
LinearOperator, kornia's TensorWrapper) arms the wrappers for good when the class statement
runs (``_build_class`` below), and Tensor's methods and operators too (``x.add(op)``,
``x @ op``: ``_engine/subclassing.arm_methods``). From then on each call pays the look: about
0.25 us on a 1.2 us ``torch.add`` / ``x.add`` / ``x + y`` / ``x @ y`` of 8x8 (timeit, one
process each, alternated); before such a class, plain calls pay nothing.

Not covered: such a class made before ``import deltagrad`` or by calling ``type()``; a plain
tensor's method given a Tensor subclass argument while no such class exists (``x.add(s)``;
``x + s`` does dispatch, through ``s.__radd__``); nn.functional's Python functions give the
override the call's own arguments, where PyTorch's pass every parameter by keyword and list
plain tensors among ``types``; metadata queries (``dim``,
``size``, ``shape``, ``dtype``) are not dispatched; under a mode, the mode's own call of a
method of a subclass with a ``__torch_function__`` of its own runs the plain method; function
modes see einsum's one-list form ``einsum(eq, (a, b))`` taken apart (PyTorch's see it as
called; deltagrad's fx tracer is a mode and must record ``einsum(eq, a, b)``).
"""

from __future__ import annotations

import builtins
import functools
import sys
import types as _types
from collections.abc import Callable, Iterable
from typing import Any

from ._engine import subclassing as _sub
from ._engine.api.linalg import _sublist_equation
from ._engine.tensor import Tensor

__all__ = ["BaseTorchFunctionMode", "TorchFunctionMode", "get_ignored_functions",
           "get_overridable_functions", "get_testing_overrides", "handle_torch_function",
           "has_torch_function", "has_torch_function_unary", "has_torch_function_variadic",
           "is_tensor_like", "is_tensor_method_or_property"]

# Public functions PyTorch does not dispatch (torch.overrides.get_ignored_functions(), the names
# deltagrad also has): factories, settings, queries about the library rather than a tensor.
IGNORED = frozenset({
    "arange", "are_deterministic_algorithms_enabled", "as_strided", "as_tensor", "asarray",
    "bartlett_window", "blackman_window", "broadcast_shapes", "can_cast", "compile", "device",
    "dtype", "empty", "empty_permuted", "empty_strided", "enable_grad", "eye", "fill", "finfo",
    "from_file", "from_numpy", "frombuffer", "full", "get_default_device", "get_default_dtype",
    "get_deterministic_debug_mode", "get_device_module", "get_float32_matmul_precision",
    "get_num_interop_threads", "get_num_threads", "get_rng_state", "hamming_window",
    "hann_window", "iinfo", "inference_mode", "init_num_threads", "initial_seed",
    "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_autocast_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "is_grad_enabled",
    "is_inference_mode_enabled", "is_storage", "is_tensor", "is_warn_always_enabled",
    "kaiser_window", "layout", "linspace", "load", "logspace", "manual_seed", "memory_format",
    "no_grad", "normal", "ones", "promote_types", "rand", "rand_like", "randint",
    "randint_like", "randn", "randn_like", "randperm", "range", "result_type", "save",
    "scalar_tensor", "seed", "set_anomaly_enabled", "set_default_device",
    "set_default_tensor_type", "set_deterministic_debug_mode", "set_float32_matmul_precision",
    "set_flush_denormal", "set_grad_enabled", "set_num_interop_threads", "set_num_threads",
    "set_printoptions", "set_rng_state", "set_warn_always", "sparse_bsc_tensor",
    "sparse_bsr_tensor", "sparse_compressed_tensor", "sparse_coo_tensor", "sparse_csc_tensor",
    "sparse_csr_tensor", "sym_constrain_range", "sym_constrain_range_for_size",
    "sym_fresh_size", "tensor", "tril_indices", "triu_indices", "typename",
    "use_deterministic_algorithms", "vander", "vmap", "zeros", "handle_torch_function",
    # (PyTorch also lists nn.functional's sigmoid, tanh, hardswish, ...: they only forward to a
    # torch function that dispatches; deltagrad's are the ops themselves, so they dispatch.)
})
# Of those, the factories and dtype queries PyTorch still hands to function modes (not to
# subclasses: they take no tensor, or only one to copy the shape of).
MODE_ONLY = frozenset({
    "arange", "as_strided", "as_tensor", "asarray", "bartlett_window", "blackman_window",
    "can_cast", "empty", "empty_permuted", "empty_strided", "eye", "full", "hamming_window",
    "hann_window", "kaiser_window", "linspace", "logspace", "normal", "ones", "promote_types",
    "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "randperm", "range",
    "result_type", "scalar_tensor", "tensor", "tril_indices", "triu_indices", "vander", "zeros",
})
# The namespaces whose functions dispatch, by module name.
_NAMESPACES = ("deltagrad", "deltagrad.functional", "deltagrad.nn.functional",
               "deltagrad.linalg", "deltagrad.special", "deltagrad.fft")
_WRAPPED: dict[int, Callable] = _sub.PUBLIC  # id(original) -> its dispatching wrapper
_ORIGINAL: dict[int, Callable] = {}  # id(wrapper) -> original
# (module, name, wrapper, original) for every attribute the wrappers replaced, while in place.
_REPLACED: list = []
# The (module, name, original) sites of the last installation, by the number of modules then.
_SITES: dict = {}
# Whether the wrappers are in place; for good once a Tensor subclass armed them.
_ARMED = {"now": False, "for_good": False}


_PLAIN = frozenset({Tensor, int, float, bool, str, type(None)})  # types that never dispatch


def _dispatching(function: Callable, shown: list | None = None) -> Callable:
    """``function`` behind a check for arguments whose type dispatches and for function
    modes; ``func`` given to a subclass's ``__torch_function__`` is the wrapper itself, the
    object the program sees as ``torch.X`` (or ``shown[0]``, where another wrapper fronts this
    one: einsum's, ``_dispatching_einsum``)."""
    state = _sub._STATE
    overloaded_args = _sub.overloaded_args
    plain = _PLAIN
    modes_on = _sub.MODES
    armed = _ARMED
    fronted = shown is not None
    shown = shown if fronted else []  # (read only on the dispatching paths)

    @functools.wraps(function)
    def public(*args, **kwargs):
        if not modes_on[0]:
            # The common case first, inline: positional plain tensors and numbers, no keywords.
            for value in args:
                if type(value) not in plain:
                    break
            else:
                if not kwargs:
                    return function(*args)
        elif state.modes:
            types = tuple(type(v) for v in overloaded_args(args, kwargs))
            front = shown[0]
            return _sub.call_mode(front if armed["for_good"] else function, front, args,
                                  kwargs, types)
        if not state.disabled:
            overloaded = overloaded_args(args, kwargs)
            if overloaded:
                return _sub.handle_torch_function(shown[0], overloaded, args, kwargs)
        return function(*args, **kwargs)

    if not fronted:
        shown.append(public)
    return public


def _dispatching_einsum(function: Callable) -> Callable:
    """einsum's ``_dispatching``, in PyTorch's order: the sublist form ``einsum(x, [0, 1],
    [1])`` becomes the equation form, and the one-list form ``einsum(eq, (a, b))`` (opt_einsum's
    torch backend passes it) is taken apart, before any override sees the call: overrides see
    ``einsum(eq, a, b)``, as fx graphs record it. (PyTorch's function modes see the one-list
    form as called; deltagrad's fx tracer is a function mode, so its modes see it taken apart
    too.) A wrapper of its own, so that the other functions' wrappers test nothing."""
    shown: list = []
    dispatch = _dispatching(function, shown)

    @functools.wraps(function)
    def public(*args, **kwargs):
        if len(args) > 1 and isinstance(args[0], Tensor):
            equation, operands = _sublist_equation(args)
            args = (equation, *operands)
        if len(args) == 2 and isinstance(args[1], (list, tuple)):
            args = (args[0], *args[1])
        return dispatch(*args, **kwargs)

    shown.append(public)
    return public


def _mode_only(function: Callable) -> Callable:
    """``function`` (a factory) behind a look for function modes only."""
    state = _sub._STATE
    modes_on = _sub.MODES
    armed = _ARMED

    @functools.wraps(function)
    def public(*args, **kwargs):
        if modes_on[0] and state.modes:
            return _sub.call_mode(public if armed["for_good"] else function, public, args,
                                  kwargs)
        return function(*args, **kwargs)

    return public


# Tensor methods a library re-exports into the torch namespace that PyTorch never dispatches
# (fastai sets torch.as_subclass = Tensor.as_subclass; dispatching it made its TensorBase's
# as_subclass(Tensor) come back a TensorBase, and clone() recursed forever).
_NEVER_DISPATCHED = frozenset({"as_subclass"})


def _wrappable(name: str, value: Any) -> bool:
    return (not name.startswith("_") and name not in _NEVER_DISPATCHED
            and (name not in IGNORED or name in MODE_ONLY)
            and isinstance(value, _types.FunctionType | _types.BuiltinFunctionType)
            and id(value) not in _ORIGINAL)


def _replace(module, name: str, original: Callable) -> None:
    wrapper = _WRAPPED.get(id(original))
    if wrapper is None:
        make = (_mode_only if name in MODE_ONLY
                else _dispatching_einsum if getattr(original, "__name__", None) == "einsum"
                else _dispatching)
        wrapper = _WRAPPED[id(original)] = make(original)
        _ORIGINAL[id(wrapper)] = original
    setattr(module, name, wrapper)
    _REPLACED.append((module, name, wrapper, original))


def _install() -> None:
    """Replaces the public functions of the namespaces by dispatching wrappers."""
    if _ARMED["now"]:
        return
    _ARMED["now"] = True
    sites = _SITES.get(len(sys.modules))
    if sites is not None:  # (the same modules as last time: 0.5 ms instead of 2 to 10)
        for module, name, original in sites:
            if vars(module).get(name) is original:
                _replace(module, name, original)
        return
    for module_name in _NAMESPACES:
        module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
        for name, value in list(vars(module).items()):
            if _wrappable(name, value):
                _replace(module, name, value)
    # The same function re-exported elsewhere (nn._torch_forms, the alias's submodules) becomes
    # the same wrapper there, so that `a.f is b.f` holds as before; the engine's own modules keep
    # the originals (their calls are internal: PyTorch's C++ does not dispatch again either).
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("deltagrad.") or module_name.startswith(
                "deltagrad._engine") or module is None:
            continue
        for name, value in list(vars(module).items()):
            if type(value) is _types.FunctionType and id(value) in _WRAPPED:
                _replace(module, name, value)


def _uninstall() -> None:
    """Puts the original functions back (where a program has not replaced the wrapper)."""
    _SITES.clear()
    _SITES[len(sys.modules)] = [(module, name, original)
                                for module, name, _, original in _REPLACED]
    for module, name, wrapper, original in reversed(_REPLACED):
        if vars(module).get(name) is wrapper:
            setattr(module, name, original)
    _REPLACED.clear()
    _ARMED["now"] = False


def _arm(cls: type) -> None:
    """A dispatching Tensor subclass exists: the wrappers stay in place from now on."""
    _ARMED["for_good"] = True
    _install()


def _modes_on(on: bool) -> None:
    """The first function mode is entered (``on``) or the last one left."""
    if on:
        _install()
    elif not _ARMED["for_good"]:
        _uninstall()


_sub.MODE_HOOKS.append(_modes_on)
_sub.ARM_HOOKS.append(_arm)

# PyTorch looks at every argument of every call for ``__torch_function__``, in C; deltagrad's
# plain calls look at nothing, so a class that is no Tensor subclass and defines it (gpytorch's
# LinearOperator, kornia's TensorWrapper) must switch the looks on when it is made. Python has
# no hook for that but ``__build_class__`` (what a ``class`` statement calls), so it is wrapped
# until the first such class comes, then given back: plain programs' calls pay nothing (each
# class statement about 0.1 us, against the 10 us or more it costs anyway).
_BUILD_CLASS = builtins.__build_class__
_PACKAGE = __name__.partition(".")[0]  # ("deltagrad"; benchmarks/ab.py imports a copy renamed)


def _build_class(func, name, /, *bases, **kwds):
    # A body that names __torch_function__ (its code's names) puts the wrappers in place before
    # it runs: tables it builds key the functions as its handler is later given them
    # (linear_operator's @_implements(torch.sum) decorators inside the class; with the
    # originals as keys every torch.sum(op) raised NotImplementedError). Taken back below if
    # the class turns out not to dispatch.
    code = getattr(func, "__code__", None)
    early = (code is not None and "__torch_function__" in code.co_names and not _ARMED["now"]
             and not str(getattr(func, "__module__", "")).startswith(_PACKAGE + ".")
             and not any(isinstance(base, type) and issubclass(base, Tensor | TorchFunctionMode)
                         for base in bases))
    # Tensor's methods too: linear_operator's body keys ``torch.Tensor.mul`` (its handler of
    # ``tensor * op``), which its handler must later be given as the same object.
    methods = early and _sub.arm_methods()
    if early:
        _install()
    made = _BUILD_CLASS(func, name, *bases, **kwds)
    if "__torch_function__" in getattr(made, "__dict__", ()):
        _arm_for_arguments(made)
    if early and not _ARMED["for_good"]:
        _uninstall()
        if methods:
            _sub.disarm_methods()
    return made


# deltagrad's own classes, and real PyTorch's (a test or benchmark that imports both: its
# classes never reach deltagrad's functions, and arming would slow every deltagrad call there)
_NOT_ARMING = frozenset({_PACKAGE, "torch", "functorch"})


def _arm_for_arguments(cls) -> None:
    """``cls`` defines ``__torch_function__``: if its instances are arguments (no Tensor
    subclass, which arms on its own, nor a function mode), the public functions and Tensor's
    methods look for them from now on."""
    module = getattr(cls, "__module__", None) or ""
    if (not isinstance(cls, type) or issubclass(cls, Tensor | TorchFunctionMode)
            or module.partition(".")[0] in _NOT_ARMING or not _sub.overloaded_type(cls)):
        return
    _arm(cls)
    _sub.arm_methods()
    if builtins.__build_class__ is _build_class:
        builtins.__build_class__ = _BUILD_CLASS


def has_torch_function(relevant_args: Iterable) -> bool:
    """Whether a function mode is on here, or any of ``relevant_args`` dispatches (a Tensor
    subclass or a class defining ``__torch_function__``, other than the disabled one) while
    dispatch is enabled."""
    if _sub.MODES[0] and _sub._STATE.modes:
        return True
    return _sub.is_dispatch_enabled() and any(_sub.overloaded_type(type(value))
                                               for value in relevant_args)


def has_torch_function_unary(obj: Any) -> bool:
    """Whether ``obj`` dispatches."""
    return has_torch_function((obj,))


def has_torch_function_variadic(*args: Any) -> bool:
    """Whether any of ``args`` dispatches."""
    return has_torch_function(args)


def handle_torch_function(public_api: Callable, relevant_args: Iterable, *args: Any,
                          **kwargs: Any) -> Any:
    """Call the ``__torch_function__`` overrides of ``relevant_args`` for ``public_api``, as
    PyTorch does: subclasses first, each called as ``__torch_function__(public_api, types,
    args, kwargs)``; the first result that is not ``NotImplemented`` is returned.

    Raises:
        TypeError: if every override returns ``NotImplemented``.
    """
    overloaded = _python_overloaded_args(relevant_args)
    if _sub.MODES[0] and _sub._STATE.modes:
        return _sub.call_mode(public_api, public_api, args, kwargs,
                              tuple(type(value) for value in overloaded))
    try:
        return _sub.handle_torch_function(public_api, overloaded, args, kwargs)
    except _sub._Declined:  # (the message of PyTorch's Python function, not of its C++ ones)
        name = getattr(public_api, "__qualname__", None) or getattr(public_api, "__name__",
                                                                    repr(public_api))
        types = [type(value) for value in overloaded]
        raise TypeError(f"no implementation found for '{name}' on types that implement "
                        f"__torch_function__: {types}") from None


def _python_overloaded_args(relevant_args: Iterable) -> list:
    """PyTorch's ``_get_overloaded_args``, which the Python ``handle_torch_function`` uses:
    unlike the C++ functions' look, plain tensors take part (their default override declines
    a call with other types) and lists are not looked into."""
    chosen: list = []
    for value in relevant_args:
        kind = type(value)
        if (any(type(seen) is kind for seen in chosen)
                or not (kind is Tensor or _sub.overloaded_type(kind))):
            continue
        # (subclasses before their bases, else in order of appearance)
        position = next((i for i, seen in enumerate(chosen) if issubclass(kind, type(seen))),
                        len(chosen))
        chosen.insert(position, value)
    return chosen


def is_tensor_like(inp: Any) -> bool:
    """True for tensors (subclasses included) and for objects that define
    ``__torch_function__``."""
    return isinstance(inp, Tensor) or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func: Callable) -> bool:
    """True for a Tensor method (``Tensor.add``) or a property's getter
    (``Tensor.grad.__get__``); False for the namespace functions (``torch.add``)."""
    if getattr(func, "__name__", None) == "__get__":
        return True
    for name in dir(Tensor):
        value = getattr(Tensor, name, None)
        if value is func and callable(value):
            return True
    return False


def _namespace_functions(ignored: bool) -> dict:
    chosen: dict = {}
    for module_name in _NAMESPACES:
        module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
        for name, value in vars(module).items():
            if name.startswith("_") or (name in IGNORED) != ignored:
                continue
            if isinstance(value, _types.FunctionType | _types.BuiltinFunctionType):
                chosen.setdefault(module, []).append(value)
    return chosen


def get_ignored_functions() -> set:
    """The public functions that never dispatch (factories, settings)."""
    return {f for functions in _namespace_functions(True).values() for f in functions}


def get_overridable_functions() -> dict:
    """The public functions that dispatch, by namespace module."""
    return _namespace_functions(False)


def get_testing_overrides():
    """Raises ``NotImplementedError``: deltagrad keeps no table of dummy overrides."""
    raise NotImplementedError("deltagrad.overrides.get_testing_overrides: deltagrad keeps no "
                              "table of dummy overrides (use get_overridable_functions)")


class TorchFunctionMode:
    """PyTorch's base class of function modes: ``with Mode():`` calls the instance's
    ``__torch_function__(func, types, args, kwargs)`` for the public functions, Tensor methods
    and operators called inside (the mode is off while its own handler runs; the handler
    usually returns ``func(*args, **kwargs)``). Modes nest, per thread.

    >>> import deltagrad as dg
    >>> class Names(TorchFunctionMode):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.seen = []
    ...     def __torch_function__(self, func, types, args=(), kwargs=None):
    ...         self.seen.append(func.__name__)
    ...         return func(*args, **(kwargs or {}))
    >>> with Names() as mode:
    ...     _ = dg.exp(dg.ones(2)) + 1
    >>> mode.seen
    ['ones', 'exp', 'add']
    """

    def __init__(self) -> None:
        pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        _sub.push_mode(self)
        return self

    def __exit__(self, *exc) -> None:
        _sub.pop_mode()

    @classmethod
    def push(cls, *args, **kwargs):
        """An instance, entered by the caller (PyTorch's deprecated spelling)."""
        return cls(*args, **kwargs)


class BaseTorchFunctionMode(TorchFunctionMode):
    """A mode that runs every function unchanged (a base for modes that change a few)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


def _get_current_function_mode():
    """This thread's innermost function mode, or None."""
    modes = _sub._STATE.modes
    return modes[-1] if modes else None


def _get_current_function_mode_stack() -> list:
    """This thread's function modes, outermost first (a copy)."""
    return list(_sub._STATE.modes)


def _push_mode(mode) -> None:
    """Enter ``mode`` without ``with`` (PyTorch's ``torch.overrides._push_mode``)."""
    _sub.push_mode(mode)


def _pop_mode():
    """Leave this thread's innermost mode and return it."""
    return _sub.pop_mode()


class _pop_mode_temporarily:  # noqa: N801 - PyTorch's name
    """``with _pop_mode_temporarily() as mode:``: the innermost mode off, for the block."""

    def __enter__(self):
        self.mode = _sub.pop_mode()
        return self.mode

    def __exit__(self, *exc) -> None:
        _sub.push_mode(self.mode)


def _is_torch_function_mode_enabled() -> bool:
    """Whether a function mode is on in this thread."""
    return bool(_sub._STATE.modes)


if not _ARMED["for_good"]:  # (last: the classes above are deltagrad's own)
    builtins.__build_class__ = _build_class
