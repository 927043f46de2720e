"""``deltagrad.utils._pytree``: nested containers of leaves (PyTorch's pytrees), flattened to a
list of leaves and a ``TreeSpec`` that rebuilds the structure.

Containers ("nodes") are lists, tuples, dicts, named tuples, ``OrderedDict``, ``defaultdict``
and ``deque``, plus the result tuples of functions such as ``max(dim=...)`` and every class
given to ``register_pytree_node``; anything else (``None`` included, as in PyTorch 2.13) is a
leaf. Dicts flatten in insertion order. A subclass of a node type is a leaf unless registered.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

__all__ = ["GetAttrKey", "LeafSpec", "MappingKey", "PyTree", "SequenceKey", "TreeSpec",
           "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance", "is_structseq",
           "is_structseq_class", "is_structseq_instance", "key_get", "keystr",
           "register_pytree_node", "tree_all", "tree_all_only", "tree_any", "tree_any_only",
           "tree_flatten", "tree_flatten_with_path", "tree_is_leaf", "tree_iter", "tree_leaves",
           "tree_leaves_with_path", "tree_map", "tree_map_", "tree_map_only", "tree_map_only_",
           "tree_map_with_path", "tree_structure", "tree_unflatten"]

PyTree = Any
Context = Any


# ----------------------------------------------------------------------------------------------
# Key paths (tree_flatten_with_path): how to reach a leaf from the root.

@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """The position of a child in a sequence node."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

    def get(self, sequence):
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True)
class MappingKey:
    """The key of a child in a mapping node."""

    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"

    def get(self, mapping):
        return mapping[self.key]


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """The attribute holding a child (a named tuple's field)."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"

    def get(self, obj):
        return getattr(obj, self.name)


def keystr(kp: tuple) -> str:
    """A key path as the Python accessor text, e.g. ``['a'][1].y``."""
    return "".join(str(key) for key in kp)


def key_get(obj, kp: tuple):
    """The value reached from ``obj`` by the key path ``kp``."""
    for key in kp:
        obj = key.get(obj)
    return obj


# ----------------------------------------------------------------------------------------------
# Node types.

class _NodeDef(NamedTuple):
    flatten: Callable  # node -> (children, context)
    unflatten: Callable  # (children, context) -> node
    keys: Callable | None  # (node, context) -> list of key entries, or None if unknown

    # PyTorch's NodeDef field names (Lightning reads SUPPORTED_NODES[list].flatten_fn).
    @property
    def flatten_fn(self) -> Callable:
        return self.flatten

    @property
    def unflatten_fn(self) -> Callable:
        return self.unflatten


SUPPORTED_NODES: dict[type, _NodeDef] = {}


def register_pytree_node(cls: type, flatten_fn: Callable, unflatten_fn: Callable, *,
                         serialized_type_name: str | None = None,
                         to_dumpable_context: Callable | None = None,
                         from_dumpable_context: Callable | None = None,
                         flatten_with_keys_fn: Callable | None = None) -> None:
    """Make ``cls`` a node: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``; ``flatten_with_keys_fn(obj) ->
    ([(key, child), ...], context)`` enables ``tree_flatten_with_path``.

    Raises:
        ValueError: if ``cls`` is already registered.
    """
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    keys = None
    if flatten_with_keys_fn is not None:
        def keys(node, context, fn=flatten_with_keys_fn):
            return [key for key, _ in fn(node)[0]]
    SUPPORTED_NODES[cls] = _NodeDef(flatten_fn, unflatten_fn, keys)


def _register_pytree_node(cls: type, flatten_fn: Callable, unflatten_fn: Callable,
                          to_str_fn=None, maybe_from_str_fn=None, **kwargs) -> None:
    """PyTorch's older (deprecated) name of ``register_pytree_node``."""
    register_pytree_node(cls, flatten_fn, unflatten_fn, **kwargs)


def is_namedtuple_class(cls: type) -> bool:
    """Whether ``cls`` is a class made by ``collections.namedtuple`` or ``typing.NamedTuple``."""
    return (isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")
            and hasattr(cls, "_make") and not is_structseq_class(cls))


def is_namedtuple_instance(obj) -> bool:
    """Whether ``obj`` is a named tuple."""
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj) -> bool:
    """Whether ``obj`` is a named tuple or a named-tuple class."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_structseq_class(cls: type) -> bool:
    """Whether ``cls`` is one of the library's result tuples (``deltagrad.return_types``),
    PyTorch's "structseq"s."""
    return isinstance(cls, type) and cls.__module__ == "deltagrad.return_types"


def is_structseq_instance(obj) -> bool:
    """Whether ``obj`` is one of the library's result tuples (``max(x, dim)``'s, ...)."""
    return is_structseq_class(type(obj))


def is_structseq(obj) -> bool:
    """Whether ``obj`` is a result tuple or a result-tuple class."""
    return is_structseq_class(obj if isinstance(obj, type) else type(obj))


class _StructSeq:
    """The node type of every result tuple (its context is the class)."""


def _node_type(tree) -> type:
    if is_namedtuple_instance(tree):
        return namedtuple
    if is_structseq_instance(tree):
        return _StructSeq
    return type(tree)


def _get_node_type(tree) -> type:
    """The type a node is registered under (PyTorch's private helper: a namedtuple's is
    ``namedtuple``)."""
    return _node_type(tree)


def _dict_flatten_with_keys(d: dict) -> tuple[list, list]:
    """A dict's ``[(MappingKey(key), value), ...]`` and its keys as context (PyTorch's helper:
    libraries register dict-like classes with it, as transformers' ModelOutput)."""
    return [(MappingKey(key), value) for key, value in d.items()], list(d)


def _dict_flatten(d: dict) -> tuple[list, list]:
    """A dict's values and its keys as context (PyTorch's helper: diffusers registers its
    BaseOutput with it)."""
    return list(d.values()), list(d)


def _dict_unflatten(values: Iterable, context: list) -> dict:
    """The dict ``_dict_flatten`` took apart (keys and values must pair up)."""
    return dict(zip(context, values, strict=True))


def _list_flatten_with_keys(items: list) -> tuple[list, None]:
    """A list's ``[(SequenceKey(i), item), ...]`` (PyTorch's helper)."""
    return [(SequenceKey(i), item) for i, item in enumerate(items)], None


def _sequence_keys(node, context) -> list:
    return [SequenceKey(i) for i in range(len(node))]


def _mapping_keys(node, context) -> list:
    return [MappingKey(key) for key in node]


SUPPORTED_NODES.update({
    tuple: _NodeDef(lambda t: (list(t), None), lambda v, c: tuple(v), _sequence_keys),
    list: _NodeDef(lambda t: (list(t), None), lambda v, c: list(v), _sequence_keys),
    dict: _NodeDef(lambda t: (list(t.values()), list(t)), lambda v, c: dict(zip(c, v)),
                   _mapping_keys),
    OrderedDict: _NodeDef(lambda t: (list(t.values()), list(t)),
                          lambda v, c: OrderedDict(zip(c, v)), _mapping_keys),
    defaultdict: _NodeDef(lambda t: (list(t.values()), [t.default_factory, list(t)]),
                          lambda v, c: defaultdict(c[0], zip(c[1], v)), _mapping_keys),
    deque: _NodeDef(lambda t: (list(t), t.maxlen), lambda v, c: deque(v, maxlen=c),
                    _sequence_keys),
    namedtuple: _NodeDef(lambda t: (list(t), type(t)), lambda v, c: c(*v),
                         lambda t, c: [GetAttrKey(name) for name in c._fields]),
    _StructSeq: _NodeDef(lambda t: (list(t), type(t)), lambda v, c: c(v) if not hasattr(
        c, "_make") else c._make(v), _sequence_keys),
})


# ----------------------------------------------------------------------------------------------
# TreeSpec.

class TreeSpec:
    """The structure of a pytree: its node type, the node's context (dict keys, a named
    tuple's class, ...) and one spec per child; a leaf's spec is ``LeafSpec()`` (``*``)."""

    def __init__(self, type: Any, context: Context, children_specs: list) -> None:  # noqa: A002
        self.type, self.context, self.children_specs = type, context, list(children_specs)
        self.num_children = len(self.children_specs)
        self.num_leaves = sum(child.num_leaves for child in self.children_specs)
        self.num_nodes = 1 + sum(child.num_nodes for child in self.children_specs)

    def is_leaf(self) -> bool:
        return self.type is None

    def child(self, index: int) -> TreeSpec:
        return self.children_specs[index]

    def children(self) -> list:
        return list(self.children_specs)

    def _type_name(self) -> str:
        if self.type is _StructSeq:
            return self.context.__name__
        return self.type.__name__

    def _repr(self, indent: int) -> str:
        if self.is_leaf():
            return "*"
        context = None if self.type is _StructSeq else self.context
        inner = f",\n{' ' * (indent + 2)}".join(child._repr(indent + 2)
                                               for child in self.children_specs)
        return f"TreeSpec({self._type_name()}, {context!r}, [{inner}])"

    def __repr__(self) -> str:
        return self._repr(0)

    def __eq__(self, other) -> bool:
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (self.type is other.type and self.context == other.context
                and self.children_specs == other.children_specs)

    def __hash__(self) -> int:
        context = self.context
        try:
            hash(context)
        except TypeError:
            context = repr(context)
        return hash((self.type, context, tuple(self.children_specs)))

    def unflatten(self, leaves: Iterable) -> PyTree:
        """The pytree of this structure holding ``leaves`` (in flattening order).

        Raises:
            ValueError: if the number of leaves is not ``num_leaves``.
        """
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} "
                             f"but the spec refers to a pytree that holds {self.num_leaves} "
                             f"items ({self}).")
        return self._build(iter(leaves))

    def _build(self, leaves: Iterator) -> PyTree:
        if self.is_leaf():
            return next(leaves)
        values = [child._build(leaves) for child in self.children_specs]
        return SUPPORTED_NODES[self.type].unflatten(values, self.context)

    def flatten_up_to(self, tree: PyTree) -> list:
        """``tree``'s subtrees at this spec's leaves (``tree`` may be deeper there).

        Raises:
            ValueError: if ``tree``'s nodes differ from this spec's in type, arity or keys.
        """
        out: list = []
        stack = [(self, tree)]
        while stack:
            spec, node = stack.pop()
            if spec.is_leaf():
                out.append(node)
                continue
            kind = _node_type(node)
            if kind is not spec.type:
                expected = spec.context if spec.type is _StructSeq else spec.type
                raise ValueError(f"Node type mismatch; expected {expected}, but got "
                                 f"{type(node)}.")
            children, context = SUPPORTED_NODES[kind].flatten(node)
            if kind in (dict, OrderedDict, defaultdict):
                keys = context if kind is not defaultdict else context[1]
                wanted = spec.context if kind is not defaultdict else spec.context[1]
                if set(keys) != set(wanted):
                    missing, extra = set(wanted) - set(keys), set(keys) - set(wanted)
                    raise ValueError(f"Node keys mismatch; missing key(s): {missing}; extra "
                                     f"key(s): {extra}.")
                children = [node[key] for key in wanted]
            elif len(children) != spec.num_children:
                raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got "
                                 f"{len(children)}.")
            elif context != spec.context:
                raise ValueError(f"Node context mismatch for custom node type; expected "
                                 f"{spec.context!r}, but got {context!r}.")
            stack.extend(reversed(list(zip(spec.children_specs, children))))
        return out


class LeafSpec(TreeSpec):
    """The spec of a leaf, shown as ``*``."""

    def __init__(self) -> None:
        super().__init__(None, None, [])
        self.num_leaves = 1


# ----------------------------------------------------------------------------------------------
# Flattening and mapping.

def _is_node(tree, is_leaf: Callable | None) -> bool:
    if is_leaf is not None and is_leaf(tree):
        return False
    return _node_type(tree) in SUPPORTED_NODES


def tree_is_leaf(tree: PyTree, is_leaf: Callable | None = None) -> bool:
    """Whether ``tree`` is a leaf (not a node type, or ``is_leaf(tree)`` is true)."""
    return not _is_node(tree, is_leaf)


def _flatten(tree: PyTree, is_leaf: Callable | None, leaves: list) -> TreeSpec:
    if not _is_node(tree, is_leaf):
        leaves.append(tree)
        return LeafSpec()
    kind = _node_type(tree)
    children, context = SUPPORTED_NODES[kind].flatten(tree)
    return TreeSpec(kind, context, [_flatten(child, is_leaf, leaves) for child in children])


def tree_flatten(tree: PyTree, is_leaf: Callable | None = None) -> tuple[list, TreeSpec]:
    """The leaves of ``tree`` (depth first, left to right) and its ``TreeSpec``.

    >>> leaves, spec = tree_flatten({"a": [1, 2], "b": (3, None)})
    >>> leaves
    [1, 2, 3, None]
    >>> tree_unflatten([10, 20, 30, 40], spec)
    {'a': [10, 20], 'b': (30, 40)}
    """
    leaves: list = []
    spec = _flatten(tree, is_leaf, leaves)
    return leaves, spec


def tree_unflatten(leaves: Iterable, treespec: TreeSpec) -> PyTree:
    """The pytree of structure ``treespec`` holding ``leaves``.

    Raises:
        TypeError: if ``treespec`` is not a ``TreeSpec``.
        ValueError: if the number of leaves does not match.
    """
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"tree_unflatten(leaves, treespec): Expected `treespec` to be instance "
                        f"of TreeSpec but got item of type {type(treespec)}.")
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: Callable | None = None) -> Iterator:
    """An iterator over ``tree``'s leaves."""
    return iter(tree_flatten(tree, is_leaf)[0])


def tree_leaves(tree: PyTree, is_leaf: Callable | None = None) -> list:
    """``tree``'s leaves, as ``tree_flatten``'s first result."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: PyTree, is_leaf: Callable | None = None) -> TreeSpec:
    """``tree``'s ``TreeSpec``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func: Callable, tree: PyTree, *rests: PyTree, is_leaf: Callable | None = None):
    """A pytree of ``tree``'s structure holding ``func(leaf, *corresponding leaves of rests)``.

    Each of ``rests`` must have ``tree``'s structure (it may hold subtrees where ``tree`` has
    leaves; they reach ``func`` whole); dicts are matched by key.

    Raises:
        ValueError: if a tree in ``rests`` differs in node type, arity or keys.
    """
    leaves, spec = tree_flatten(tree, is_leaf)
    columns = [leaves] + [spec.flatten_up_to(rest) for rest in rests]
    return spec.unflatten(map(func, *columns))


def tree_map_(func: Callable, tree: PyTree, *rests: PyTree, is_leaf: Callable | None = None):
    """Call ``func`` on the leaves for its side effects (as ``tree_map``); returns ``tree``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    columns = [leaves] + [spec.flatten_up_to(rest) for rest in rests]
    for values in zip(*columns):
        func(*values)
    return tree


def _predicate(type_or_types_or_pred) -> Callable:
    if isinstance(type_or_types_or_pred, (type, tuple)) or hasattr(type_or_types_or_pred,
                                                                    "__args__"):
        return lambda value: isinstance(value, type_or_types_or_pred)
    if callable(type_or_types_or_pred):
        return type_or_types_or_pred
    raise TypeError(f"expected a type, a tuple of types or a predicate, got "
                    f"{type_or_types_or_pred!r}")


def _only(type_or_types_or_pred, func: Callable) -> Callable:
    matches = _predicate(type_or_types_or_pred)
    return lambda value: func(value) if matches(value) else value


def tree_map_only(type_or_types_or_pred, /, func: Callable, tree: PyTree,
                  is_leaf: Callable | None = None):
    """``tree_map`` applying ``func`` only to the leaves of the given type(s) (or for which
    the predicate is true); other leaves are kept as they are."""
    return tree_map(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func: Callable, tree: PyTree,
                   is_leaf: Callable | None = None):
    """``tree_map_`` calling ``func`` only on the leaves of the given type(s)."""
    return tree_map_(_only(type_or_types_or_pred, func), tree, is_leaf=is_leaf)


def tree_all(pred: Callable, tree: PyTree, is_leaf: Callable | None = None) -> bool:
    """Whether ``pred`` holds for every leaf (True for no leaves)."""
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred: Callable, tree: PyTree, is_leaf: Callable | None = None) -> bool:
    """Whether ``pred`` holds for some leaf."""
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred: Callable, tree: PyTree,
                  is_leaf: Callable | None = None) -> bool:
    """Whether ``pred`` holds for every leaf of the given type(s)."""
    matches = _predicate(type_or_types)
    return all(pred(leaf) for leaf in tree_iter(tree, is_leaf) if matches(leaf))


def tree_any_only(type_or_types, /, pred: Callable, tree: PyTree,
                  is_leaf: Callable | None = None) -> bool:
    """Whether ``pred`` holds for some leaf of the given type(s)."""
    matches = _predicate(type_or_types)
    return any(pred(leaf) for leaf in tree_iter(tree, is_leaf) if matches(leaf))


def _with_path(tree: PyTree, is_leaf: Callable | None, path: tuple, out: list) -> None:
    if not _is_node(tree, is_leaf):
        out.append((path, tree))
        return
    kind = _node_type(tree)
    node = SUPPORTED_NODES[kind]
    children, context = node.flatten(tree)
    if node.keys is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {kind}. Please pass a "
                         "flatten_with_keys_fn argument to register_pytree_node.")
    for key, child in zip(node.keys(tree, context), children):
        _with_path(child, is_leaf, (*path, key), out)


def tree_flatten_with_path(tree: PyTree, is_leaf: Callable | None = None):
    """``tree_flatten`` whose leaves come as ``(key_path, leaf)`` pairs.

    >>> tree_flatten_with_path({"a": [1]})[0]
    [((MappingKey(key='a'), SequenceKey(idx=0)), 1)]
    """
    pairs: list = []
    _with_path(tree, is_leaf, (), pairs)
    return pairs, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree: PyTree, is_leaf: Callable | None = None) -> list:
    """``tree``'s ``(key_path, leaf)`` pairs."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(func: Callable, tree: PyTree, *rests: PyTree,
                       is_leaf: Callable | None = None):
    """``tree_map`` whose ``func`` gets each leaf's key path first."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    columns = [spec.flatten_up_to(rest) for rest in rests]
    return spec.unflatten(func(path, leaf, *others) for (path, leaf), *others
                          in zip(pairs, *columns))
