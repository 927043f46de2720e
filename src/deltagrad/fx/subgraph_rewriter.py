"""``torch.fx.subgraph_rewriter``: ``replace_pattern`` finds every occurrence of one traced
function's graph in a GraphModule and puts another function's graph in its place."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .graph import Graph
from .graph_module import GraphModule
from .node import Node

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    """One replaced occurrence: the node that produced the pattern's output (``anchor``)
    and the pattern's nodes mapped to the matched ones (``nodes_map``)."""

    anchor: Node
    nodes_map: dict


def _graph_of(fn: Callable | GraphModule) -> Graph:
    from ._symbolic_trace import symbolic_trace

    return fn.graph if isinstance(fn, GraphModule) else symbolic_trace(fn).graph


def _same_literal(a, b) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_arg(x, y) for x, y in zip(a, b))
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # (values whose == is no bool)
        return a is b


class _Matcher:
    def __init__(self, pattern: Graph) -> None:
        self.placeholders = [n for n in pattern.nodes if n.op == "placeholder"]
        outputs = [n for n in pattern.nodes if n.op == "output"]
        if len(outputs) != 1 or not isinstance(outputs[0].args[0], Node):
            raise NotImplementedError("replace_pattern: the pattern must return one value")
        self.anchor = outputs[0].args[0]

    def match(self, node: Node) -> dict | None:
        mapping: dict = {}
        return mapping if self._match(self.anchor, node, mapping) else None

    def _match(self, pn: Node, gn: Node, mapping: dict) -> bool:
        if pn in mapping:
            return mapping[pn] is gn
        if pn.op == "placeholder":
            if any(value is gn for value in mapping.values()):
                return False
            mapping[pn] = gn
            return True
        if pn.op != gn.op or pn.target != gn.target or len(pn.args) != len(gn.args) \
                or set(pn.kwargs) != set(gn.kwargs):
            return False
        if pn is not self.anchor and len(gn.users) != len(pn.users):
            return False  # (an inner value used outside the pattern must stay)
        mapping[pn] = gn
        pairs = list(zip(pn.args, gn.args)) + [(pn.kwargs[k], gn.kwargs[k]) for k in pn.kwargs]
        for p_arg, g_arg in pairs:
            if isinstance(p_arg, Node) and p_arg.op == "placeholder" \
                    and not isinstance(g_arg, Node):
                # (a pattern input matches a literal too: ``relu(a) + 1`` for ``relu(x) + y``)
                if p_arg in mapping and not _same_literal(mapping[p_arg], g_arg):
                    return False
                mapping[p_arg] = g_arg
            elif isinstance(p_arg, Node):
                if not isinstance(g_arg, Node) or not self._match(p_arg, g_arg, mapping):
                    return False
            elif not _same_arg(p_arg, g_arg):
                return False
        return True


def _same_arg(a, b) -> bool:
    if isinstance(a, Node) or isinstance(b, Node):
        return False  # (nested Nodes inside containers are not matched structurally)
    return _same_literal(a, b)


def replace_pattern(gm: GraphModule, pattern: Callable | GraphModule,
                    replacement: Callable | GraphModule) -> list[Match]:
    """Replace each non-overlapping occurrence of ``pattern``'s graph in ``gm`` by
    ``replacement``'s (both traced; their parameters correspond in order) and recompile
    ``gm``.

    Returns:
        One ``Match`` per replaced occurrence, in graph order.

    >>> import deltagrad as dg
    >>> def f(x):
    ...     return dg.relu(x) + 1
    >>> gm = dg.fx.symbolic_trace(f)
    >>> len(replace_pattern(gm, lambda x: dg.relu(x), lambda x: dg.sigmoid(x)))
    1
    >>> [n.target.__name__ for n in gm.graph.nodes if n.op == "call_function"]
    ['sigmoid', 'add']
    """
    pattern_graph = _graph_of(pattern)
    replacement_graph = _graph_of(replacement)
    matcher = _Matcher(pattern_graph)
    graph = gm.graph
    taken: set = set()
    matches: list = []
    for node in list(graph.nodes):
        if node.op in ("placeholder", "output") or node in taken:
            continue
        mapping = matcher.match(node)
        if mapping is None:
            continue
        inner = [gn for pn, gn in mapping.items() if pn.op != "placeholder"]
        if any(gn in taken for gn in inner):
            continue
        taken.update(inner)
        matches.append(Match(node, mapping))
    replacement_inputs = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    if len(replacement_inputs) != len(matcher.placeholders):
        raise ValueError("replace_pattern: the pattern and the replacement must take the same "
                         "number of inputs")
    replaced: dict = {}  # an earlier match's anchor -> what took its place

    def current(value):
        while isinstance(value, Node) and value in replaced:
            value = replaced[value]
        return value

    for match in matches:
        val_map = {rn: current(match.nodes_map[pn])
                   for rn, pn in zip(replacement_inputs, matcher.placeholders)}
        with graph.inserting_before(match.anchor):
            result = graph.graph_copy(replacement_graph, val_map)
        if not isinstance(result, Node):
            raise NotImplementedError("replace_pattern: the replacement must return one value")
        match.anchor.replace_all_uses_with(result)
        replaced[match.anchor] = result
        # (the map runs from the anchor to the inputs: each node's users go before it)
        for gn in [gn for pn, gn in match.nodes_map.items() if pn.op != "placeholder"]:
            if not gn.users:
                graph.erase_node(gn)
    gm.recompile()
    return matches
