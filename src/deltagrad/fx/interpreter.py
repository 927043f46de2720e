"""``torch.fx.interpreter``: running a graph node by node (``Interpreter``: one overridable
method per op kind) and rewriting one into a new GraphModule the same way (``Transformer``)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from ..nn.module import Module
from . import _symbolic_trace
from .graph import Graph
from .graph_module import GraphModule
from .node import Argument, Node, Target, map_arg
from .proxy import Proxy, TracerBase

__all__ = ["Interpreter", "Transformer"]


class Interpreter:
    """Runs ``module``'s graph (or ``graph``) one node at a time: ``run(*args)`` returns what
    the output node returns. Subclasses override ``run_node`` or the per-op methods
    (``placeholder``, ``get_attr``, ``call_function``, ``call_method``, ``call_module``,
    ``output``), each given the node's target and its evaluated ``args`` / ``kwargs``.

    Args:
        module: the module whose attributes the graph reads (a GraphModule usually).
        garbage_collect_values: drop each value after its last use.
        graph: the graph to run (``module.graph`` by default).
    """

    def __init__(self, module: Module, garbage_collect_values: bool = True,
                 graph: Graph | None = None) -> None:
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = graph if graph is not None else module.graph
        self.env: dict = {}
        self.name = "Interpreter"
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        if garbage_collect_values:
            last_use: dict = {}
            for node in self.graph.nodes:
                for arg in node.all_input_nodes:
                    last_use[arg] = node
            self.user_to_last_uses: dict = {}
            for value, user in last_use.items():
                self.user_to_last_uses.setdefault(user, []).append(value)

    def run(self, *args, initial_env: dict | None = None, enable_io_processing: bool = True
            ) -> Any:
        """Run the graph on ``args`` (``initial_env`` may pre-set node values)."""
        self.env = dict(initial_env) if initial_env is not None else {}
        self.args_iter: Iterator = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue
            try:
                self.env[node] = self.run_node(node)
            except Exception as error:
                if self.extra_traceback and not getattr(error, "_fx_noted", False):
                    note = f"While executing {node.format_node()}"
                    if hasattr(error, "add_note"):
                        error.add_note(note)
                    error._fx_noted = True
                raise
            if self.garbage_collect_values:
                for dead in self.user_to_last_uses.get(node, ()):
                    self.env.pop(dead, None)
            if node.op == "output":
                return self.env[node]
        return None

    def boxed_run(self, args_list: list) -> Any:
        """``run`` on the arguments in ``args_list``, which is emptied (callers that hand
        their references over)."""
        args = list(args_list)
        args_list.clear()
        return self.run(*args)

    def run_node(self, n: Node) -> Any:
        """The value of node ``n``: its arguments fetched, then the method of its op."""
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        return getattr(self, n.op)(n.target, args, kwargs)

    # ------------------------------------------------------------ one method per op

    def placeholder(self, target: Target, args: tuple, kwargs: dict) -> Any:
        """The next argument of ``run`` (the rest as a tuple for ``*args``; the default
        when ``run`` got too few)."""
        if target.startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration:
            if args:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but one "
                               "was not passed in!") from None

    def get_attr(self, target: Target, args: tuple, kwargs: dict) -> Any:
        """The module's attribute at the dotted path ``target``."""
        return self.fetch_attr(target)

    def call_function(self, target: Target, args: tuple, kwargs: dict) -> Any:
        """``target(*args, **kwargs)``."""
        return target(*args, **kwargs)

    def call_method(self, target: Target, args: tuple, kwargs: dict) -> Any:
        """``args[0].target(*args[1:], **kwargs)``."""
        self_obj, *rest = args
        return getattr(self_obj, target)(*rest, **kwargs)

    def call_module(self, target: Target, args: tuple, kwargs: dict) -> Any:
        """The submodule at ``target`` called on ``args`` / ``kwargs``."""
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target: Target, args: tuple, kwargs: dict) -> Any:
        """The graph's result, ``args[0]``."""
        return args[0]

    # ------------------------------------------------------------ helpers

    def fetch_attr(self, target: str) -> Any:
        """The attribute of ``self.module`` at the dotted path ``target``.

        Raises:
            RuntimeError: naming the missing part of the path.
        """
        owner = self.module
        atoms = target.split(".")
        for i, atom in enumerate(atoms):
            if not hasattr(owner, atom):
                raise RuntimeError(f"Node referenced nonexistent target "
                                   f"{'.'.join(atoms[:i + 1])}")
            owner = getattr(owner, atom)
        return owner

    def fetch_args_kwargs_from_env(self, n: Node) -> tuple:
        """``n``'s arguments with each Node replaced by its value."""
        return self.map_nodes_to_values(n.args, n), self.map_nodes_to_values(n.kwargs, n)

    def map_nodes_to_values(self, args: Argument, n: Node) -> Argument:
        """``args`` with each Node replaced by its computed value."""
        def load(node: Node):
            if node not in self.env:
                raise RuntimeError(f"Node {n} referenced nonexistent value {node}! Run "
                                   "Graph.lint() to diagnose such issues")
            return self.env[node]

        return _unfreeze(map_arg(args, load))


def _unfreeze(value):
    """The containers of a node's arguments as the plain lists / dicts callees expect
    (``torch.cat`` may be given a list it then changes)."""
    kind = type(value)
    if kind is tuple:
        return tuple(_unfreeze(v) for v in value)
    if isinstance(value, list):
        return [_unfreeze(v) for v in value]
    if isinstance(value, dict):
        return {k: _unfreeze(v) for k, v in value.items()}
    return value


class _SeenTarget:
    """A traced function as a Transformer's ``call_function`` override sees it during
    ``transform()``: deltagrad's tracing mode is on then, so ``torch.relu`` looked up inside the
    override is a dispatching wrapper, not the function the graph holds. This stand-in compares
    equal to both (``target == torch.relu`` as in PyTorch, and ``target in relus`` with
    ``relus`` captured before), hashes and reads like the function, and calls the wrapper (so a
    call on Proxies is recorded). The Transformer's own methods record the function itself.
    (``target is torch.relu`` stays False here.)"""

    __slots__ = ("original", "wrapper")

    def __init__(self, original, wrapper) -> None:
        self.original, self.wrapper = original, wrapper

    def __eq__(self, other) -> bool:
        if type(other) is _SeenTarget:
            other = other.original
        return other is self.original or other is self.wrapper

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.original)

    def __call__(self, *args, **kwargs):
        return self.wrapper(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.original, name)

    def __repr__(self) -> str:
        return repr(self.original)

    @property
    def __class__(self):  # (isinstance(target, types.FunctionType) as for the function)
        return type(self.original)

    @property
    def __module__(self):
        return self.original.__module__

    @property
    def __doc__(self):
        return self.original.__doc__


def _seen(target):
    """``target`` as a call_function override sees it (``_SeenTarget`` while the wrappers are
    in place)."""
    from .. import overrides

    wrapper = overrides._WRAPPED.get(id(target)) if overrides._ARMED["now"] else None
    return target if wrapper is None or wrapper is target else _SeenTarget(target, wrapper)


def _unseen(target):
    return target.original if type(target) is _SeenTarget else target


class _TransformerTracer(TracerBase):
    """The tracer a Transformer records the new graph with: every module call is a leaf."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.module_stack = {}
        self.tensor_attrs: dict = {}

    def is_leaf_module(self, m: Module, module_qualified_name: str) -> bool:
        return True

    def create_proxy(self, kind, target, args, kwargs, *rest, **options):
        return super().create_proxy(kind, _unseen(target), args, kwargs, *rest, **options)


class Transformer(Interpreter):
    """An Interpreter that builds a new graph instead of computing values: each op method
    records its call on Proxies (override ``call_function`` and friends to change what is
    recorded: ``torch.relu`` to ``gelu``); ``transform()`` returns the new GraphModule."""

    def __init__(self, module: GraphModule) -> None:
        super().__init__(module)
        self.new_graph = Graph()
        self.new_graph._codegen = self.graph._codegen
        self.tracer = _TransformerTracer(self.new_graph)
        self.tracer.root = module

    def run_node(self, n: Node) -> Any:
        """As Interpreter's; a ``call_function`` override gets the target as ``_SeenTarget``."""
        if n.op == "call_function":
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            return self.call_function(_seen(n.target), args, kwargs)
        return super().run_node(n)

    def placeholder(self, target: Target, args: tuple, kwargs: dict) -> Proxy:
        """A placeholder of the new graph (its default kept)."""
        default = args[0] if args else inspect.Signature.empty
        return Proxy(self.new_graph.placeholder(target, default_value=default), self.tracer)

    def get_attr(self, target: Target, args: tuple, kwargs: dict) -> Proxy:
        """A ``get_attr`` node of the new graph."""
        return self.tracer.create_proxy("get_attr", target, args, kwargs)

    def call_module(self, target: Target, args: tuple, kwargs: dict) -> Proxy:
        """A ``call_module`` node of the new graph."""
        return self.tracer.create_proxy("call_module", target, args, kwargs)

    def call_function(self, target: Target, args: tuple, kwargs: dict) -> Proxy:
        """A ``call_function`` node of the new graph."""
        return self.tracer.create_proxy("call_function", target, args, kwargs)

    def call_method(self, target: Target, args: tuple, kwargs: dict) -> Proxy:
        """A ``call_method`` node of the new graph."""
        return self.tracer.create_proxy("call_method", target, args, kwargs)

    def transform(self) -> GraphModule:
        """Run the transformation; returns the new GraphModule (sharing the module's
        attributes)."""
        # (as a trace: deltagrad functions that overriding methods call on Proxies reach the
        # tracing mode, and no Proxy made here arms dispatch for good)
        with _symbolic_trace.tracing_scope():
            result = super().run(enable_io_processing=False)
        if result is not None:
            self.new_graph.output(self.tracer.create_arg(result))
        return GraphModule(self.module, self.new_graph)
