"""``torch.fx._symbolic_trace``: the symbolic tracer. ``Tracer.trace`` runs a module's
``forward`` (or a function) on Proxies and returns the Graph of what it did; ``symbolic_trace``
wraps the graph in a GraphModule.

How calls reach the tracer: operators, methods and attribute reads of a Proxy record
themselves (``proxy.py``); deltagrad's public functions and Tensor methods given a Proxy
(``deltagrad.cat([buffer, x])``, ``buffer + x``) reach a function mode entered for the trace
(``deltagrad.overrides``), which records them; submodule calls and parameter reads reach
patched ``Module.__call__`` / ``Module.__getattr__``; functions marked with ``wrap`` (and those
of ``autowrap_modules``, ``math`` by default) are swapped in the traced code's globals for
recording stand-ins while the trace runs.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import inspect
import math
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

from ..nn.module import Module, Parameter
from .graph import Graph
from .node import Argument, map_aggregate
from .proxy import ParameterProxy, Proxy, TracerBase, record_call

__all__ = ["PH", "Tracer", "is_fx_tracing", "symbolic_trace", "wrap"]

_TRACING = [False]
# (id(globals dict), name) -> the globals dict: functions ``wrap`` marked, patched while tracing.
_WRAPPED_FNS: dict = {}


def is_fx_tracing() -> bool:
    """Whether a symbolic trace is running (libraries skip checks on traced values)."""
    return _TRACING[0]


@contextlib.contextmanager
def tracing_scope():
    """``is_fx_tracing()`` true and the tracing function mode on, for the block (a trace, or
    a Transformer building its graph)."""
    was_tracing = _TRACING[0]
    _TRACING[0] = True
    try:
        with _mode_class()():
            yield
    finally:
        _TRACING[0] = was_tracing


class PHBase:
    """A concrete argument that stays a placeholder (``concrete_args={"x": PH}``)."""

    def __repr__(self) -> str:
        return "PH"


PH = PHBase()


def _assert_is_none(value, msg: str) -> None:
    """The check a trace specialised on ``None`` leaves in the graph."""
    assert value is None, msg


class _Patcher:
    """Sets attributes and globals for the trace and puts every one back afterwards."""

    def __init__(self) -> None:
        self._undo: list = []
        self._seen: set = set()

    def patch(self, frame_dict: dict, name: str, new_fn: Any) -> None:
        key = (id(frame_dict), name)
        if key in self._seen:
            return
        self._seen.add(key)
        missing = name not in frame_dict
        old = frame_dict.get(name)
        self._undo.append(lambda: frame_dict.pop(name, None) if missing
                          else frame_dict.__setitem__(name, old))
        frame_dict[name] = new_fn

    def patch_method(self, cls: type, name: str, new_fn: Any) -> None:
        old = vars(cls).get(name)
        self._undo.append(lambda: setattr(cls, name, old) if old is not None
                          else delattr(cls, name))
        setattr(cls, name, new_fn)

    def __enter__(self) -> _Patcher:
        return self

    def __exit__(self, *exc) -> None:
        while self._undo:
            self._undo.pop()()


def _recording(orig_fn: Callable) -> Callable:
    """``orig_fn`` as the trace sees it: a call given a Proxy becomes a ``call_function``
    node of ``orig_fn``; other calls run it."""
    @functools.wraps(orig_fn)
    def wrapped(*args, **kwargs):
        found: list = []
        map_aggregate((args, kwargs), lambda x: found.append(x) if isinstance(x, Proxy) else x)
        if found:
            proxy = found[0].tracer.create_proxy("call_function", orig_fn, args, kwargs)
            proxy.node.meta["is_wrapped"] = True
            return proxy
        return orig_fn(*args, **kwargs)

    return wrapped


class _TracingMode:
    """The function mode of a trace: deltagrad functions and Tensor methods given a Proxy
    are recorded; the others run (constants computed during tracing)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        found: list = []
        map_aggregate((args, kwargs or {}),
                      lambda x: found.append(x) if isinstance(x, Proxy) else x)
        if found:
            return record_call(found[0].tracer, func, args, kwargs or {})
        return func(*args, **(kwargs or {}))


_MODE_CLASS: list = []


def _mode_class():
    """The tracing mode's class, made on first use (overrides imports the whole library)."""
    if not _MODE_CLASS:
        from ..overrides import TorchFunctionMode

        _MODE_CLASS.append(type("_FxTracingMode", (_TracingMode, TorchFunctionMode), {}))
    return _MODE_CLASS[0]


class Tracer(TracerBase):
    """PyTorch's symbolic tracer: ``Tracer().trace(module)`` is the module's Graph.

    Args:
        autowrap_modules: modules whose functions are recorded as calls when given a Proxy
            (``math`` by default: ``math.sqrt(x.size(-1))`` becomes a node).
        autowrap_functions: single functions treated the same way.
        param_shapes_constant: read parameters' ``shape`` / ``size()`` from the real
            parameters instead of recording them.

    Subclasses change what becomes a node by overriding ``is_leaf_module`` (deltagrad.nn's
    modules, but Sequential, are leaves: recorded as ``call_module``, not traced into),
    ``call_module``, ``create_proxy``, ``create_arg`` or ``getattr``.
    """

    def __init__(self, autowrap_modules: tuple = (math,), autowrap_functions: tuple = (),
                 param_shapes_constant: bool = False) -> None:
        self._autowrap_function_ids = {
            id(value) for module in autowrap_modules for name, value in vars(module).items()
            if not name.startswith("_") and callable(value)}
        self._autowrap_function_ids.update(id(f) for f in autowrap_functions)
        self._autowrap_search = list(autowrap_modules)  # (math.sqrt is patched in math)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths: dict | None = None
        self.root: Module | None = None
        self.tensor_attrs: dict = {}
        self.module_stack: dict = {}
        self.scope = None
        self.graph = Graph()

    # ------------------------------------------------------------ what becomes a node

    def is_leaf_module(self, m: Module, module_qualified_name: str) -> bool:
        """Whether ``m`` is recorded as one ``call_module`` node (True for deltagrad.nn's own
        modules but Sequential, as PyTorch's rule for torch.nn) or traced into."""
        from ..nn import Sequential

        module = type(m).__module__ or ""
        return module.startswith(("deltagrad.nn", "torch.nn", "torch.ao.nn")) \
            and not isinstance(m, Sequential)

    def path_of_module(self, mod: Module) -> str:
        """The qualified name of ``mod`` in the root module.

        Raises:
            NameError: if ``mod`` is not a submodule of the root.
        """
        if self.submodule_paths is not None:
            path = self.submodule_paths.get(id(mod))
            if path is not None:
                return path
        for name, candidate in self.root.named_modules():
            if candidate is mod:
                return name
        raise NameError("module is not installed as a submodule")

    def call_module(self, m: Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        """A call of submodule ``m`` during the trace: a ``call_module`` node for a leaf,
        else its ``forward`` traced through."""
        name = self.path_of_module(m)
        self.module_stack[name] = type(m)
        try:
            if not self.is_leaf_module(m, name):
                return forward(*args, **kwargs)
            return self.create_proxy("call_module", name, args, kwargs)
        finally:
            self.module_stack.pop(name, None)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict) -> Any:
        """A module attribute read during the trace: parameters become ``get_attr`` Proxies
        (one per parameter), everything else is the value itself."""
        if isinstance(attr_val, Parameter):
            for name, param in self.root.named_parameters():
                if param is attr_val:
                    if name not in parameter_proxy_cache:
                        # (as PyTorch: a subclass's create_proxy may not take the factory,
                        # as torchvision's NodePathTracer's does not)
                        if self.param_shapes_constant and "proxy_factory_fn" in \
                                inspect.signature(self.create_proxy).parameters:
                            proxy = self.create_proxy(
                                "get_attr", name, (), {},
                                proxy_factory_fn=lambda n, name=name, p=param:
                                ParameterProxy(self, n, name, p))
                        else:
                            proxy = self.create_proxy("get_attr", name, (), {})
                        parameter_proxy_cache[name] = proxy
                    return parameter_proxy_cache[name]
        return attr_val

    def create_arg(self, a: Any) -> Argument:
        """As ``TracerBase.create_arg``, plus tensors: the root's parameters and buffers (and
        tensor attributes) become ``get_attr`` nodes; other tensors are stored on the root as
        ``_tensor_constant<i>`` and read from there."""
        from .._engine.tensor import Tensor

        if isinstance(a, Parameter):
            for name, param in self.root.named_parameters():
                if param is a:
                    return self.create_node("get_attr", name, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, Tensor):
            for name, buffer in self.root.named_buffers():
                if buffer is a:
                    return self.create_node("get_attr", name, (), {})
            entry = self.tensor_attrs.get(id(a))
            if entry is not None and entry[0] is a:
                return self.create_node("get_attr", entry[1], (), {})
            i = 0
            while hasattr(self.root, f"_tensor_constant{i}"):
                i += 1
            name = f"_tensor_constant{i}"
            setattr(self.root, name, a)
            self.tensor_attrs[id(a)] = (a, name)
            return self.create_node("get_attr", name, (), {})
        if isinstance(a, Module):
            raise NotImplementedError(f"argument of type: {type(a)} (modules cannot be "
                                      "arguments of traced calls)")
        return super().create_arg(a)

    # ------------------------------------------------------------ the trace

    def _collect_tensor_attrs(self, root: Module) -> None:
        from .._engine.tensor import Tensor

        self.tensor_attrs = {}
        for prefix, module in root.named_modules():
            for key, value in vars(module).items():
                if isinstance(value, Tensor):
                    name = f"{prefix}.{key}" if prefix else key
                    self.tensor_attrs.setdefault(id(value), (value, name))

    def create_args_for_root(self, root_fn: Callable, is_module: bool,
                             concrete_args: dict | tuple | None = None) -> tuple:
        """The placeholders of ``root_fn``'s parameters (concrete ones stay values, with a
        check node that the graph is called with the same value); returns the function to
        run (``*args`` / ``**kwargs`` taken as single values) and its arguments."""
        fn = inspect.unwrap(root_fn)
        code = fn.__code__
        total = code.co_argcount + code.co_kwonlyargcount
        names = iter(code.co_varnames)
        args: list = []
        skip = 0
        if is_module:
            if total == 0:
                raise RuntimeError("``self`` argument cannot be part of *args expansion!")
            skip = 1
            next(names)
            args.append(self.root)
        sig = inspect.signature(fn)
        arg_names = [next(names) for _ in range(skip, total)]
        if isinstance(concrete_args, tuple):
            if len(arg_names) != len(concrete_args):
                raise RuntimeError(f"Tracing expected {len(arg_names)} arguments but got "
                                   f"{len(concrete_args)} concrete arguments")
            concrete_args = dict(zip(arg_names, concrete_args))
        for name in arg_names:
            args.append(self._proxy_placeholder(name, concrete_args, sig, fn))
        flags = code.co_flags
        if flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
            if flags & inspect.CO_VARARGS:
                args.append(self._proxy_placeholder("*" + next(names), None, sig, fn))
            if flags & inspect.CO_VARKEYWORDS:
                args.append(self._proxy_placeholder("**" + next(names), None, sig, fn))
            root_fn = _flattened(root_fn, len(args))
        return root_fn, args

    def _proxy_placeholder(self, name: str, concrete_args: dict | None, sig, fn) -> Any:
        import deltagrad

        if concrete_args is not None and name in concrete_args:
            value = concrete_args[name]
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
            out = self.create_proxy("placeholder", f"{name}_1", default, {})
            if isinstance(value, PHBase):
                return out
            message = f"{name} has been specialized to have value {value} but got another value"
            if type(value) in (bool, int, float, str, complex):
                self.create_proxy("call_function", deltagrad._assert, (out == value, message),
                                  {})
            elif value is None:
                self.create_proxy("call_function", _assert_is_none, (out, message), {})
            else:
                warnings.warn(f"Was not able to add assertion to guarantee correct input {name} "
                              "to specialized function. It is up to the user to make sure that "
                              "your inputs match the inputs you specialized the function with.",
                              stacklevel=3)
            return value
        if name.startswith("*"):
            default = ()
        else:
            param = sig.parameters[name]
            default = () if param.default is inspect.Parameter.empty else (param.default,)
        return self.create_proxy("placeholder", name, default, {},
                                 type_expr=fn.__annotations__.get(name))

    def _autowrap_check(self, patcher: _Patcher, frame_dict: dict) -> None:
        """Swap, in the globals ``frame_dict`` of traced code, the functions to record
        (autowrap ones) and deltagrad functions captured by name before the trace (``from
        deltagrad import relu``), which would otherwise run on Proxies."""
        from .. import overrides

        wrappers = overrides._WRAPPED
        for name, value in list(frame_dict.items()):
            if name.startswith("_") or not callable(value):
                continue
            if id(value) in self._autowrap_function_ids:
                patcher.patch(frame_dict, name, _recording(value))
            elif type(value) is types.FunctionType and id(value) in wrappers \
                    and wrappers[id(value)] is not value:
                patcher.patch(frame_dict, name, wrappers[id(value)])

    def trace(self, root: Module | Callable, concrete_args: dict | None = None) -> Graph:
        """Run ``root`` (a module's ``forward``, or a function) on Proxies; returns the
        Graph of what it did (also kept as ``self.graph``; ``self.root`` is the module, a
        new empty one for a function).

        Raises:
            TraceError: where the program needs a traced value's contents (``if x.sum():``).
        """
        was_tracing = _TRACING[0]
        _TRACING[0] = True
        try:
            if isinstance(root, Module):
                self.root = root
                fn = getattr(type(root), self.traced_func_name)
                self.submodule_paths = {id(mod): name for name, mod in root.named_modules()}
            else:
                self.root = Module()
                fn = root
                self.submodule_paths = {}
            self.graph = Graph(tracer_cls=getattr(self, "__class__", None))
            self._collect_tensor_attrs(self.root)
            self.module_stack = {}
            fn_globals = fn.__globals__
            fn, args = self.create_args_for_root(fn, isinstance(root, Module), concrete_args)
            parameter_proxy_cache: dict = {}
            orig_call = Module.__call__
            orig_getattr = Module.__getattr__

            def module_getattr_wrapper(mod, attr):
                return self.getattr(attr, orig_getattr(mod, attr), parameter_proxy_cache)

            def module_call_wrapper(mod, *args, **kwargs):
                def forward(*args, **kwargs):
                    return orig_call(mod, *args, **kwargs)

                self._autowrap_check(patcher, getattr(getattr(mod, "forward", mod),
                                                      "__globals__", {}))
                return self.call_module(mod, forward, args, kwargs)

            # (the mode first: entering it puts deltagrad's dispatching wrappers in place,
            # which the patches below hand to code that captured the plain functions)
            with _mode_class()(), _Patcher() as patcher:
                patcher.patch_method(Module, "__getattr__", module_getattr_wrapper)
                patcher.patch_method(Module, "__call__", module_call_wrapper)
                for (_, name), frame_dict in list(_WRAPPED_FNS.items()):
                    original = frame_dict.get(name, getattr(builtins, name, None))
                    if original is not None:
                        patcher.patch(frame_dict, name, _recording(original))
                self._autowrap_check(patcher, fn_globals)
                if isinstance(root, Module):
                    # (functions kept as attributes, ``self.activation = F.relu``)
                    for module in root.modules():
                        self._autowrap_check(patcher, vars(module))
                for module in self._autowrap_search:
                    self._autowrap_check(patcher, vars(module))
                result = fn(*args)
                self.create_node("output", "output", (self.create_arg(result),), {},
                                 type_expr=fn.__annotations__.get("return"))
            self.submodule_paths = None
        finally:
            _TRACING[0] = was_tracing
        return self.graph

    def __deepcopy__(self, memo) -> Tracer:
        import copy

        copied = type(self).__new__(type(self))
        memo[id(self)] = copied
        for key, value in vars(self).items():
            keep = key in ("root", "_autowrap_search")  # (modules cannot be deep-copied)
            setattr(copied, key, copy.copy(value) if keep else copy.deepcopy(value, memo))
        return copied


def _flattened(fn: Callable, nargs: int) -> Callable:
    """``fn`` with its ``*args`` / ``**kwargs`` turned into plain parameters, so that the
    trace passes each one Proxy."""
    code = fn.__code__
    flags = code.co_flags & ~(inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    # (keyword-only parameters become positional too: the trace passes everything in order)
    new_code = code.replace(co_flags=flags, co_argcount=nargs, co_kwonlyargcount=0)
    return types.FunctionType(new_code, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)


def symbolic_trace(root: Module | Callable, concrete_args: dict | None = None):
    """Trace ``root`` (a module or a function) into a GraphModule whose ``forward`` does
    what ``root`` did.

    Args:
        root: the module (its ``forward``) or function to trace.
        concrete_args: parameters to specialise (``{"flag": True}``: the graph takes the
            path that value takes, and checks it when called); ``PH`` keeps one a
            placeholder.

    Returns:
        The GraphModule (``.graph``, ``.code``), sharing ``root``'s parameters.

    >>> import deltagrad as dg
    >>> gm = symbolic_trace(dg.nn.Sequential(dg.nn.Linear(2, 2), dg.nn.ReLU()))
    >>> [n.op for n in gm.graph.nodes]
    ['placeholder', 'call_module', 'call_module', 'output']
    """
    from .graph_module import GraphModule

    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)


def wrap(fn_or_name: str | Callable) -> str | Callable:
    """Mark a module-level function (or a builtin, by name: ``wrap("len")``) so that calls
    of it given a Proxy are recorded as one ``call_function`` node instead of traced
    through. Called at the top level of the module that uses the function; returns its
    argument (usable as a decorator).

    Raises:
        NotImplementedError: when not called at module scope.
    """
    if not callable(fn_or_name) and not isinstance(fn_or_name, str):
        raise AssertionError("Unsupported type for global function! Must be either a callable "
                             "or string name")
    name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    frame = sys._getframe(1)
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    _WRAPPED_FNS[(id(frame.f_globals), name)] = frame.f_globals
    return fn_or_name

