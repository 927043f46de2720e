"""``torch.fx.node``: one operation of an FX graph (``Node``) and the helpers that walk the
nested arguments nodes take (``map_arg``, ``map_aggregate``)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from .immutable_collections import immutable_dict, immutable_list

__all__ = ["Argument", "Node", "Target", "has_side_effect", "map_aggregate", "map_arg"]

Target = Any  # a callable (call_function) or a str (every other op)
Argument = Any  # a Node, a base value, or tuples / lists / dicts / slices of them

_OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output",
        "root")


def map_aggregate(a: Argument, fn: Callable[[Argument], Argument]) -> Argument:
    """``fn`` applied to every leaf of ``a`` (tuples, lists, dicts and slices are walked;
    lists and dicts come back immutable, as the arguments of a Node are)."""
    kind = type(a)
    if kind is tuple:
        return tuple(map_aggregate(x, fn) for x in a)
    if isinstance(a, tuple) and hasattr(a, "_fields"):  # a named tuple keeps its class
        return kind(*(map_aggregate(x, fn) for x in a))
    if isinstance(a, list):
        return immutable_list(map_aggregate(x, fn) for x in a)
    if isinstance(a, dict):
        return immutable_dict((k, map_aggregate(v, fn)) for k, v in a.items())
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn),
                     map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a: Argument, fn: Callable[[Node], Argument]) -> Argument:
    """``fn`` applied to every Node inside ``a`` (other leaves are kept)."""
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _input_nodes(args, kwargs) -> dict:
    found: dict = {}
    map_arg((args, kwargs), lambda n: found.setdefault(n, None))
    return found


def _qualified_name(target) -> str:
    """``module.name`` of a function target, as the graph prints it."""
    if getattr(target, "__module__", None) in ("_operator", "operator"):
        return f"operator.{target.__name__}"
    if target is getattr(builtins, getattr(target, "__name__", ""), None):
        return f"builtins.{target.__name__}"
    from .graph import public_name  # (graph imports this module)

    public = public_name(target)
    if public is not None:
        return public
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target))
    return f"{getattr(target, '__module__', None) or '?'}.{name}"


def _format_arg(a, max_items: int = 10) -> str:
    if isinstance(a, Node):
        return "%" + a.name
    if isinstance(a, tuple):
        items = ", ".join(_format_arg(x) for x in a[:max_items])
        more = "..." if len(a) > max_items else ""
        return f"({items}{more}{',' if len(a) == 1 else ''})"
    if isinstance(a, list):
        items = ", ".join(_format_arg(x) for x in a[:max_items])
        return f"[{items}{'...' if len(a) > max_items else ''}]"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in a.items()) + "}"
    return str(a)


class Node:
    """One operation of a ``Graph``: its kind (``op``), what it calls (``target``), its
    arguments (``args`` / ``kwargs``, where other Nodes stand for their values) and the nodes
    that use its value (``users``). Made by the graph (``graph.create_node``), never directly
    by programs; ``repr`` is its name, as in generated code."""

    def __init__(self, graph, name: str, op: str, target: Target, args: tuple, kwargs: dict,
                 return_type: Any = None) -> None:
        if op not in _OPS:
            raise ValueError(f"fx.Node: unknown op {op!r} (one of {', '.join(_OPS[:-1])})")
        if op == "call_function" and not callable(target):
            raise ValueError(f"fx.Node: call_function target {target!r} is not callable")
        if op in ("placeholder", "call_method", "call_module", "get_attr") and \
                not isinstance(target, str):
            raise ValueError(f"fx.Node: {op} target must be a str, got {type(target).__name__}")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes: dict = {}
        self.users: dict = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self.meta: dict = {}
        self._args: tuple = ()
        self._kwargs: dict = immutable_dict()
        self._update_args_kwargs(args, kwargs)

    # ------------------------------------------------------------ the linked list

    @property
    def next(self) -> Node:
        """The node after this one in the graph (the graph's root sentinel after the last)."""
        return self._next

    @property
    def prev(self) -> Node:
        """The node before this one."""
        return self._prev

    def _remove_from_list(self) -> None:
        before, after = self._prev, self._next
        before._next, after._prev = after, before

    def prepend(self, x: Node) -> None:
        """Move ``x`` (a node of the same graph) to just before this node."""
        if x is self:
            raise RuntimeError("fx.Node.prepend: cannot prepend a node to itself")
        if x.graph is not self.graph:
            raise RuntimeError("fx.Node.prepend: the node belongs to another graph")
        x._remove_from_list()
        before = self._prev
        before._next, x._prev = x, before
        x._next, self._prev = self, x

    def append(self, x: Node) -> None:
        """Move ``x`` to just after this node."""
        self._next.prepend(x)

    # ------------------------------------------------------------ arguments and users

    @property
    def args(self) -> tuple:
        """The positional arguments (a tuple; Nodes stand for values)."""
        return self._args

    @args.setter
    def args(self, value) -> None:
        self._update_args_kwargs(value, self._kwargs)

    @property
    def kwargs(self) -> dict:
        """The keyword arguments (an immutable dict)."""
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value) -> None:
        self._update_args_kwargs(self._args, value)

    @property
    def all_input_nodes(self) -> list:
        """The Nodes this node's arguments use, each once, in order of appearance."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, args, kwargs) -> None:
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._args = map_aggregate(tuple(args), lambda x: x)
        self._kwargs = map_aggregate(dict(kwargs), lambda x: x)
        self._input_nodes = _input_nodes(self._args, self._kwargs)
        for node in self._input_nodes:
            node.users.setdefault(self, None)

    def update_arg(self, idx: int, arg: Argument) -> None:
        """Set positional argument ``idx`` to ``arg``."""
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg: Argument) -> None:
        """Set keyword argument ``key`` to ``arg``."""
        self.kwargs = {**self.kwargs, key: arg}

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Use ``new_input`` wherever this node's arguments use ``old_input``."""
        def swap(n):
            return new_input if n is old_input else n

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(self, replace_with: Node,
                              delete_user_cb: Callable[[Node], bool] = lambda user: True, *,
                              propagate_meta: bool = False) -> list:
        """Make every user of this node use ``replace_with`` instead (those for which
        ``delete_user_cb`` is true); returns the users changed."""
        if propagate_meta:
            for key, value in self.meta.items():
                replace_with.meta.setdefault(key, value)
        changed = [user for user in list(self.users) if delete_user_cb(user)]
        for user in changed:
            user.replace_input_with(self, replace_with)
        return changed

    # ------------------------------------------------------------ queries and printing

    def is_impure(self) -> bool:
        """Whether dead-code elimination must keep this node although nothing uses it:
        placeholders, outputs, calls of functions with side effects (``_assert``), in-place
        methods and modules marked ``_is_impure``."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_function":
            return getattr(self.target, "__name__", "") in _SIDE_EFFECTS \
                or id(self.target) in _MARKED_SIDE_EFFECTS \
                or getattr(self.target, "_is_impure", False)
        if self.op == "call_method":
            return self.target.endswith("_") and not self.target.endswith("__")
        if self.op == "call_module":
            root = self.graph.owning_module
            if root is None:
                return False
            return bool(getattr(root.get_submodule(self.target), "_is_impure", False))
        return False

    @property
    def stack_trace(self) -> str | None:
        """Where the traced program made this node (not recorded by deltagrad: None)."""
        return self.meta.get("stack_trace")

    def format_node(self, placeholder_names: list | None = None,
                    maybe_return_typename: list | None = None) -> str | None:
        """The node as ``str(graph)`` prints it: ``%name : [num_users=N] = op[target=...](...)``."""
        if self.op == "placeholder":
            default = f"(default={self.args[0]})" if self.args else ""
            if placeholder_names is not None:
                placeholder_names.append(self.target)
                return None
            return f"%{self.name} : [num_users={len(self.users)}] = " \
                   f"placeholder[target={self.target}]{default}"
        if self.op == "get_attr":
            return f"%{self.name} : [num_users={len(self.users)}] = " \
                   f"get_attr[target={self.target}]"
        if self.op == "output":
            return f"return {self.args[0]!r}"
        target = _qualified_name(self.target) if callable(self.target) else self.target
        return (f"%{self.name} : [num_users={len(self.users)}] = {self.op}[target={target}]"
                f"(args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})")

    def __repr__(self) -> str:
        return self.name


# Functions whose calls are kept by eliminate_dead_code although their results are unused.
_SIDE_EFFECTS = frozenset({"_assert", "_assert_is_none", "print", "manual_seed", "setitem",
                           "_assert_async", "record_function"})
_MARKED_SIDE_EFFECTS: dict = {}  # id(function) -> function, marked by has_side_effect


def has_side_effect(fn: Callable) -> Callable:
    """Mark ``fn`` as having side effects: dead-code elimination keeps its calls. Returns
    ``fn`` (usable as a decorator)."""
    _MARKED_SIDE_EFFECTS[id(fn)] = fn
    return fn
