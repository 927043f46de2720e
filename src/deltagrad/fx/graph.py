"""``torch.fx.graph``: the ``Graph`` (a list of Nodes), its editing API (``create_node``,
``erase_node``, insertion points, ``lint``, ``eliminate_dead_code``) and the Python code it
becomes (``python_code``: a ``forward`` that calls deltagrad)."""

from __future__ import annotations

import builtins
import inspect
import keyword
import math
import operator
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .node import Argument, Node, Target, map_arg

__all__ = ["Graph", "PythonCode", "magic_methods", "reflectable_magic_methods"]

# Binary operators the code writes inline (``add = x + y``), with their reflected forms traced.
reflectable_magic_methods = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}",
    "truediv": "{} / {}", "div": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}",
    "lshift": "{} << {}", "rshift": "{} >> {}", "and_": "{} & {}", "or_": "{} | {}",
    "xor": "{} ^ {}", "getitem": "{}[{}]", "matmul": "{} @ {}",
}
magic_methods = dict(reflectable_magic_methods, **{
    "eq": "{} == {}", "ne": "{} != {}", "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}",
    "ge": "{} >= {}", "pos": "+{}", "neg": "-{}", "invert": "~{}",
})

# Names the generated code cannot use for values: keywords, builtins and its own globals.
_ILLEGAL = set(keyword.kwlist) | set(vars(builtins)) | {"deltagrad", "torch", "inf", "nan",
                                                         "NoneType", "device"}
_NAME = re.compile(r"^([a-zA-Z_][0-9a-zA-Z_]*?)(?:_(\d+))?$")
_NOT_IDENTIFIER = re.compile("[^0-9a-zA-Z_]+")
_CAMEL = re.compile(r"(?<=[a-z])([A-Z])")

# The namespaces whose functions generated code names by their public path.
_PUBLIC_MODULES = ("deltagrad", "deltagrad.nn.functional", "deltagrad.linalg",
                   "deltagrad.special", "deltagrad.fft", "deltagrad.functional")
_PUBLIC: dict = {}  # id(function) -> "deltagrad.nn.functional.relu"


def in_namespace(target, module_name: str) -> bool:
    """Whether the public namespace ``module_name`` holds ``target`` (itself, its
    dispatching wrapper, or the function the wrapper wraps)."""
    from .. import overrides

    module = sys.modules.get(module_name)
    name = getattr(target, "__name__", None)
    if module is None or not isinstance(name, str):
        return False
    held = vars(module).get(name)
    return held is not None and any(held is f for f in (
        target, overrides._WRAPPED.get(id(target)), overrides._ORIGINAL.get(id(target))))


def public_name(target) -> str | None:
    """``deltagrad.<path>.<name>`` where ``target`` is a public deltagrad function, else None
    (the first namespace that has it wins: ``deltagrad.relu`` before ``nn.functional``'s)."""
    name = getattr(target, "__name__", None)
    if not isinstance(name, str):
        return None
    # (the function, its dispatching wrapper and the function behind a wrapper are one name:
    # which of them a namespace holds depends on whether the wrappers are in place)
    for module_name in _PUBLIC_MODULES:
        if in_namespace(target, module_name):
            return f"{_shown(module_name)}.{name}"
    return None


def _shown(module_name: str) -> str:
    """``module_name`` as programs spell it: ``torch.<path>`` while deltagrad runs as torch
    (the generated code and the printed graph then read as PyTorch's: ``torch.mul(x, y)``;
    the code's globals bind both names)."""
    from .. import torch_alias

    if torch_alias.installed():
        return "torch" + module_name[len("deltagrad"):]
    return module_name


def _snake_case(text: str) -> str:
    return _CAMEL.sub(r"_\1", text).lower()


class _Namespace:
    """Unique Python names for a graph's values: ``relu``, ``relu_1``, ... (as PyTorch)."""

    def __init__(self) -> None:
        self._used: set = set()
        self._base_count: dict = {}

    def create_name(self, candidate: str) -> str:
        match = _NAME.match(candidate)
        if match is None:
            candidate = _NOT_IDENTIFIER.sub("_", candidate) or "_unnamed"
            if candidate[0].isdigit():
                candidate = "_" + candidate
            match = _NAME.match(candidate)
        base, num = match.group(1, 2)
        if num is None or candidate in self._used:
            num = self._base_count.get(base, 0)
            if candidate in _ILLEGAL:
                num += 1
                candidate = f"{base}_{num}"
        else:
            num = int(num)
        while candidate in self._used:
            num += 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        self._base_count[base] = num
        return candidate

    def release(self, name: str) -> None:
        self._used.discard(name)


class _NodeList:
    """``graph.nodes``: iterable forwards and backwards; nodes erased during the walk are
    skipped, and the walk goes on past them."""

    def __init__(self, graph: Graph, reverse: bool = False) -> None:
        self._graph = graph
        self._reverse = reverse

    def __len__(self) -> int:
        return self._graph._len

    def __iter__(self) -> Iterator[Node]:
        root = self._graph._root
        step = "_prev" if self._reverse else "_next"
        node = getattr(root, step)
        while node is not root:
            if not node._erased:
                yield node
            node = getattr(node, step)

    def __reversed__(self) -> Iterator[Node]:
        return iter(_NodeList(self._graph, not self._reverse))

    def __repr__(self) -> str:
        return repr(list(self))


class _InsertPoint:
    """``with graph.inserting_before(node):``: new nodes go there inside the block (the
    previous insertion point comes back after it)."""

    def __init__(self, graph: Graph, new_insert: Callable) -> None:
        self.graph = graph
        self.orig_insert, graph._insert = graph._insert, new_insert

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        self.graph._insert = self.orig_insert


class PythonCode(NamedTuple):
    """The source of a graph's ``forward`` and the globals it runs with."""

    src: str
    globals: dict


class Graph:
    """A program as a list of Nodes: placeholders (the inputs), ``get_attr`` /
    ``call_function`` / ``call_method`` / ``call_module`` operations and one ``output``.

    >>> import operator
    >>> g = Graph()
    >>> x = g.placeholder("x")
    >>> y = g.call_function(operator.add, (x, 1))
    >>> _ = g.output(y)
    >>> print(g.python_code("self").src.strip())
    def forward(self, x):
        add = x + 1;  x = None
        return add
    """

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras: dict | None = None
                 ) -> None:
        self._root = Node(self, "", "root", "", (), {})
        self._namespace = _Namespace()
        self._len = 0
        self._insert = self._root.prepend
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls
        self._tracer_extras = tracer_extras
        self._codegen = None

    @property
    def owning_module(self):
        """The GraphModule this graph belongs to (None for a free graph)."""
        return self._owning_module

    @owning_module.setter
    def owning_module(self, module) -> None:
        self._owning_module = module

    @property
    def nodes(self) -> _NodeList:
        """The nodes in order (``reversed(graph.nodes)`` walks them backwards)."""
        return _NodeList(self)

    def find_nodes(self, *, op: str, target: Target = None, sort: bool = True) -> list:
        """The nodes of kind ``op`` (and ``target`` where given), in graph order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    def __deepcopy__(self, memo) -> Graph:
        """A copy made node by node (a recursive copy of the linked list would overflow the
        stack on long graphs); names are kept."""
        copied = Graph(tracer_cls=self._tracer_cls, tracer_extras=self._tracer_extras)
        memo[id(self)] = copied
        val_map: dict = {}
        result = copied.graph_copy(self, val_map, return_output_node=True)
        if result is not None:
            value, output = result
            copied.output(value, output.type).meta = dict(output.meta)
        return copied

    def __reduce__(self):
        """Pickled as a flat list of node records (a pickle of the linked nodes would recurse
        once per node); deltagrad's functions by their public name (whether the name holds
        the function or its dispatching wrapper changes while a program runs)."""
        records = []
        for node in self.nodes:
            target = node.target
            if callable(target) and public_name(target) is not None:
                target = _PublicRef(public_name(target))
            records.append((node.name, node.op, target,
                            map_arg(node.args, lambda n: _NodeRef(n.name)),
                            map_arg(node.kwargs, lambda n: _NodeRef(n.name)), node.type,
                            node.meta))
        return _rebuild_graph, (records, self._tracer_cls)

    # ------------------------------------------------------------ making nodes

    def create_node(self, op: str, target: Target, args: tuple | None = None,
                    kwargs: dict | None = None, name: str | None = None,
                    type_expr: Any = None) -> Node:
        """A new node at the insertion point (the end of the graph unless
        ``inserting_before`` / ``inserting_after`` says otherwise), named ``name`` or after
        its target (made unique)."""
        candidate = name if name is not None else self._target_to_str(target)
        node = Node(self, self._namespace.create_name(candidate), op, target, args or (),
                    kwargs or {}, type_expr)
        self._insert(node)
        self._len += 1
        return node

    @staticmethod
    def _target_to_str(target: Target) -> str:
        if callable(target):
            text = target.__name__
        else:
            text = str(target)
            if text.startswith("__") and text.endswith("__"):
                text = text[2:-2]
        return _snake_case(text)

    def placeholder(self, name: str, type_expr: Any = None,
                    default_value: Any = inspect.Signature.empty) -> Node:
        """An input of the graph named ``name`` (with a default when given)."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, {}, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr: Any = None) -> Node:
        """Reading the attribute at ``qualified_name`` (``"layer1.0.weight"``) of the root."""
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name: str, args: tuple | None = None,
                    kwargs: dict | None = None, type_expr: Any = None) -> Node:
        """Calling the submodule at ``module_name``."""
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args: tuple | None = None,
                    kwargs: dict | None = None, type_expr: Any = None) -> Node:
        """Calling method ``method_name`` of ``args[0]``."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function: Callable, args: tuple | None = None,
                      kwargs: dict | None = None, type_expr: Any = None) -> Node:
        """Calling ``the_function``."""
        return self.create_node("call_function", the_function, args, kwargs,
                                type_expr=type_expr)

    def output(self, result: Argument, type_expr: Any = None) -> Node:
        """The graph's result."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node: Node, arg_transform: Callable[[Node], Argument] = lambda x: x
                  ) -> Node:
        """A copy of ``node`` (of any graph) here, its argument Nodes mapped through
        ``arg_transform``."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        copied = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        copied.meta = dict(node.meta)
        return copied

    def graph_copy(self, g: Graph, val_map: dict, return_output_node: bool = False):
        """Copy every node of ``g`` but its output here (``val_map`` maps ``g``'s nodes to
        the copies, and may come pre-filled); returns the copied output value."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                result = map_arg(node.args[0], lambda n: val_map[n])
                return (result, node) if return_output_node else result
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def inserting_before(self, n: Node | None = None) -> _InsertPoint:
        """Context manager: new nodes go before ``n`` (the start of the graph when None)."""
        if n is None:
            return self.inserting_after(self._root)
        if n.graph is not self:
            raise ValueError("fx.Graph.inserting_before: the node belongs to another graph")
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n: Node | None = None) -> _InsertPoint:
        """Context manager: new nodes go after ``n`` (the end of the graph when None)."""
        if n is None:
            return self.inserting_before(self._root)
        if n.graph is not self:
            raise ValueError("fx.Graph.inserting_after: the node belongs to another graph")
        return _InsertPoint(self, n.append)

    # ------------------------------------------------------------ removing nodes

    def erase_node(self, to_erase: Node) -> None:
        """Remove ``to_erase``, which nothing may use any more.

        Raises:
            RuntimeError: if the node still has users, or belongs to another graph.
        """
        if to_erase.users:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had "
                               f"{len(to_erase.users)} users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        to_erase._remove_from_list()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})  # (its inputs lose it as a user)

    def eliminate_dead_code(self, is_impure_node: Callable[[Node], bool] | None = None
                            ) -> bool:
        """Erase the nodes whose values nothing uses (impure ones stay: ``Node.is_impure``),
        from the end backwards so that chains go at once; returns whether any went."""
        self.lint()
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not node.users and not impure:
                self.erase_node(node)
                changed = True
        return changed

    # ------------------------------------------------------------ checks

    def lint(self) -> None:
        """Check the graph: every node's arguments are earlier nodes of this graph, names are
        unique, ops are known, and ``get_attr`` / ``call_module`` targets exist on the owning
        module.

        Raises:
            RuntimeError: naming the first broken node.
        """
        seen: set = set()
        names: set = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"fx.Graph.lint: node {node} does not belong to this graph")
            if node.name in names:
                raise RuntimeError(f"fx.Graph.lint: node name {node.name!r} is not unique")
            names.add(node.name)
            for arg in node.all_input_nodes:
                if arg.graph is not self:
                    raise RuntimeError(f"fx.Graph.lint: argument {arg} of {node} belongs to "
                                       "another graph")
                if arg not in seen:
                    raise RuntimeError(f"fx.Graph.lint: argument {arg} of {node} is used "
                                       "before it is defined")
                if node not in arg.users:
                    raise RuntimeError(f"fx.Graph.lint: {node} is missing from the users of "
                                       f"{arg}")
            seen.add(node)
        root = self._owning_module
        if root is None:
            return
        for node in self.nodes:
            if node.op not in ("get_attr", "call_module"):
                continue
            owner = root
            for i, atom in enumerate(node.target.split(".")):
                if not hasattr(owner, atom):
                    path = ".".join(node.target.split(".")[:i])
                    raise RuntimeError(f"Node {node} target {node.target} references "
                                       f"nonexistent attribute {atom} of {path or 'root'}")
                owner = getattr(owner, atom)
            if node.op == "call_module" and not hasattr(owner, "forward"):
                raise RuntimeError(f"Node {node} target {node.target} is not a module")

    # ------------------------------------------------------------ printing and code

    def __str__(self) -> str:
        return "graph():\n" + "\n".join("    " + node.format_node() for node in self.nodes)

    def __repr__(self) -> str:
        return f"<deltagrad.fx.Graph with {len(self.nodes)} nodes>"

    def print_tabular(self) -> None:
        """Print the nodes as a table (opcode, name, target, args, kwargs)."""
        rows = [(n.op, n.name, str(n.target), str(n.args), str(n.kwargs)) for n in self.nodes]
        header = ("opcode", "name", "target", "args", "kwargs")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())

    def python_code(self, root_module: str, *, verbose: bool = False, **_: Any) -> PythonCode:
        """The graph as the source of ``def forward(root_module, ...)`` and its globals."""
        return _CodeWriter(self, root_module).write()


class _NodeRef(NamedTuple):
    """A node by name, inside a pickled graph's records."""

    name: str


class _PublicRef(NamedTuple):
    """A deltagrad function by its public name (``deltagrad.nn.functional.relu``), inside a
    pickled graph's records."""

    path: str


def _resolve_public(path: str):
    module_name, name = path.rsplit(".", 1)
    __import__(module_name)
    return getattr(sys.modules[module_name], name)


def _rebuild_graph(records: list, tracer_cls) -> Graph:
    graph = Graph(tracer_cls=tracer_cls)
    made: dict = {}

    def resolve(value):
        if isinstance(value, _NodeRef):
            return made[value.name]
        if type(value) in (tuple, list):
            return type(value)(resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, slice):
            return slice(resolve(value.start), resolve(value.stop), resolve(value.step))
        return value

    for name, op, target, args, kwargs, type_expr, meta in records:
        if isinstance(target, _PublicRef):
            target = _resolve_public(target.path)
        node = graph.create_node(op, target, resolve(args), resolve(kwargs), name, type_expr)
        node.meta = meta
        made[name] = node
    return graph


class _CodeWriter:
    """Writes a graph's ``forward``: each node one line, values freed (``x = None``) after
    their last use as PyTorch's generated code does."""

    def __init__(self, graph: Graph, root_module: str) -> None:
        import deltagrad

        self.graph = graph
        self.root = root_module
        self.globals: dict = {"deltagrad": deltagrad, "torch": deltagrad, "inf": math.inf,
                              "nan": math.nan,
                              "NoneType": type(None), "device": deltagrad.device}
        self.global_names = _Namespace()
        self.wrapped: dict = {}  # global names of functions fx.wrap marked (kept marked)
        for name in self.globals:
            self.global_names._used.add(name)
        for node in graph.nodes:  # (a global must not share a name with a local value)
            self.global_names._used.add(node.name)

    def add_global(self, name_hint: str, obj: Any) -> str:
        for name, value in self.globals.items():
            if value is obj:
                return name
        if getattr(builtins, name_hint, None) is obj:
            return name_hint
        name = self.global_names.create_name(_NOT_IDENTIFIER.sub("_", name_hint))
        self.globals[name] = obj
        return name

    def _function_name(self, target) -> str:
        public = public_name(target)
        if public is not None:
            return public
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", "fn")
        module = getattr(target, "__module__", None)
        if module and module != "builtins" and "<" not in name:
            name = f"{module}.{name}"
        return self.add_global(name, target)

    def repr_arg(self, a) -> str:
        kind = type(a)
        if isinstance(a, Node):
            return a.name
        if kind is tuple or (isinstance(a, tuple) and not hasattr(a, "_fields")):
            inner = ", ".join(self.repr_arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, tuple):  # a named tuple
            name = self.add_global(kind.__name__, kind)
            return f"{name}(" + ", ".join(self.repr_arg(x) for x in a) + ")"
        if isinstance(a, list):
            return "[" + ", ".join(self.repr_arg(x) for x in a) + "]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{self.repr_arg(k)}: {self.repr_arg(v)}"
                                   for k, v in a.items()) + "}"
        if isinstance(a, slice):
            return f"slice({self.repr_arg(a.start)}, {self.repr_arg(a.stop)}, " \
                   f"{self.repr_arg(a.step)})"
        if kind is float:
            if math.isnan(a):
                return "nan"
            if math.isinf(a):
                return "inf" if a > 0 else "-inf"
            return repr(a)
        if kind in (int, bool, str, type(None)) or a is Ellipsis:
            return repr(a)
        import deltagrad

        if isinstance(a, deltagrad.dtype) and getattr(deltagrad, str(a).split(".")[-1],
                                                        None) is a:
            return f"{_shown('deltagrad')}.{str(a).split('.')[-1]}"
        if isinstance(a, deltagrad.device):
            return repr(a)
        return self.add_global(_snake_case(kind.__name__), a)

    def _call_args(self, args, kwargs) -> str:
        parts = [self.repr_arg(a) for a in args]
        parts += [f"{k} = {self.repr_arg(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def _attribute_path(self, target: str) -> str:
        text = self.root
        for atom in target.split("."):
            text = f"{text}.{atom}" if atom.isidentifier() and not keyword.iskeyword(atom) \
                else f'getattr({text}, "{atom}")'
        return text

    def _line(self, node: Node) -> str:
        name = node.name
        if node.op == "get_attr":
            return f"{name} = {self._attribute_path(node.target)}"
        if node.op == "call_module":
            call = self._call_args(node.args, node.kwargs)
            return f"{name} = {self._attribute_path(node.target)}({call})"
        if node.op == "call_method":
            receiver = self.repr_arg(node.args[0])
            return f"{name} = {receiver}.{node.target}" \
                   f"({self._call_args(node.args[1:], node.kwargs)})"
        if node.op == "output":
            return f"return {self.repr_arg(node.args[0])}"
        target = node.target  # call_function
        fname = getattr(target, "__name__", "")
        if getattr(target, "__module__", None) == "_operator" and fname in magic_methods \
                and not node.kwargs and target is getattr(operator, fname, None):
            return f"{name} = " + magic_methods[fname].format(
                *(self.repr_arg(a) for a in node.args))
        if target is getattr and len(node.args) == 2 and isinstance(node.args[1], str) \
                and node.args[1].isidentifier() and not node.kwargs:
            return f"{name} = {self.repr_arg(node.args[0])}.{node.args[1]}"
        function_name = self._function_name(target)
        if node.meta.get("is_wrapped", False):
            self.wrapped.setdefault(function_name)
        return f"{name} = {function_name}({self._call_args(node.args, node.kwargs)})"

    def write(self) -> PythonCode:
        nodes = list(self.graph.nodes)
        last_use: dict = {}
        for node in nodes:
            for arg in node.all_input_nodes:
                last_use[arg] = node
        freed_at: dict = {}
        for value, user in last_use.items():
            freed_at.setdefault(user, []).append(value)
        params = []
        body = []
        for node in nodes:
            if node.op == "placeholder":
                bare = node.target.lstrip("*")
                if bare != node.target:  # (*args / **kwargs keep their names in the signature)
                    params.append(node.target)
                    if bare != node.name:
                        body.append(f"    {node.name} = {bare}")
                    continue
                default = f" = {self.repr_arg(node.args[0])}" if node.args else ""
                params.append(f"{node.name}{default}")
                continue
            line = self._line(node)
            dead = [v.name for v in freed_at.get(node, ())]
            if node.op != "output":
                if not node.users:
                    dead.append(node.name)
                if dead:
                    line += ";  " + " = ".join(dead) + " = None"
            body.append("    " + line)
        if not body or not body[-1].lstrip().startswith("return"):
            body.append("    return None")
        signature = ", ".join([self.root, *params])
        # (re-tracing the generated module keeps wrapped functions as single nodes)
        prelude = "".join(f'deltagrad.fx.wrap("{name}")\n' for name in self.wrapped)
        src = f"\n\n{prelude}\ndef forward({signature}):\n" + "\n".join(body) + "\n    "
        return PythonCode(src, self.globals)
