"""Pictures of computation graphs: Graphviz DOT text (``to_dot``) and rendered files (``render``).

The picture is the lecture's: tensor nodes (boxes: name, shape, dtype, optionally values and
gradients) and op nodes (ellipses) joined in the direction data flows. Given a ``trace``, each
edge is labelled with the gradient that flowed back along it (after any sum that undid
broadcasting) and each tensor with the upstream gradient it received, fan-out sums included.

Everything is iterative (an explicit stack, never recursion), so a graph of 100,000 ops exports;
long chains of single-input ops can be collapsed into one node that names the repeated pattern.
Rendering needs the optional ``graphviz`` package (or Graphviz's ``dot`` program); producing
DOT text needs nothing.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

from .._engine.autograd import GraphError
from .._engine.tensor import Tensor
from ._format import Summary, dtype_name, format_value

__all__ = ["GraphvizUnavailable", "render", "to_dot"]


class GraphvizUnavailable(RuntimeError):
    """Rendering was asked for but neither the ``graphviz`` package nor ``dot`` is usable."""


@dataclass(slots=True)
class _Node:
    """One tensor of the picture, with the op that produced it (if any)."""

    key: int
    op: str | None
    name: str | None
    shape: tuple
    dtype: str
    requires_grad: bool
    inputs: list = field(default_factory=list)  # keys of the op's inputs, in order
    attrs: dict | None = None
    value: object = None  # ndarray, when values are wanted
    grad: object = None  # ndarray or Summary, when gradients are wanted
    note: str | None = None  # why an op shows no inputs ("graph freed", ...)


def to_dot(tensor: Tensor | None = None, *, trace=None, names: dict | None = None,
           show_values: bool = False, show_grad: bool = False, max_values: int = 16,
           collapse: int | None = None, rankdir: str = "LR", title: str | None = None) -> str:
    r"""Graphviz DOT text for the graph that produced ``tensor``.

    Args:
        tensor: the graph's output. May be ``None`` (or have a freed graph) when ``trace`` is
            given: the graph is then rebuilt from what the trace recorded.
        trace: a finished ``deltagrad.trace``; edges are labelled with the gradient sent along
            them ("grad"), broadcast sums and fan-out sums are shown.
        names: ``{"x": tensor, ...}`` to name tensors in the picture.
        show_values: print values of tensors with at most ``max_values`` elements, and a
            summary (norm, mean, min, max) of larger ones.
        show_grad: print the ``.grad`` of leaves (same small/large rule).
        max_values: the size up to which arrays are printed whole.
        collapse: collapse every run of at least this many chained single-input ops (each
            feeding only the next) into one node naming the repeated pattern, e.g.
            ``(mul -> add) x 500``; ``None`` keeps every op.
        rankdir: Graphviz layout direction ("LR": inputs left, output right; "BT", ...).
        title: an optional graph label.

    Returns:
        The DOT source, deterministic for a given graph (node ids follow discovery order).

    >>> import deltagrad as dg
    >>> x = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> print(dg.viz.to_dot((x * x).sum(), names={"x": x}))
    digraph deltagrad {
      rankdir=LR;
      node [fontname="Helvetica", fontsize=10];
      edge [fontname="Helvetica", fontsize=9];
      t0 [shape=box, label="() float32"];
      op0 [shape=ellipse, style=filled, fillcolor="#dde8f5", label="sum"];
      op0 -> t0;
      t1 -> op0;
      t1 [shape=box, label="(2,) float32"];
      op1 [shape=ellipse, style=filled, fillcolor="#dde8f5", label="mul"];
      op1 -> t1;
      t2 -> op1;
      t2 -> op1;
      t2 [shape=box, style=filled, fillcolor="#fff2cc", label="x\n(2,) float32"];
    }
    """
    label_of = {id(t): n for n, t in (names or {}).items()}
    if tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    from_trace = trace is not None and (
        tensor is None or (tensor._op is not None and tensor._inputs is None))
    if from_trace:
        nodes, annotations = _nodes_from_trace(trace, show_values, max_values)
        by_key = {node.key: node for node in nodes}
        for name, t in (names or {}).items():  # names given here win over the trace's
            node = by_key.get(trace.id_of(t))
            if node is not None:
                node.name = name
    elif tensor is None:
        raise TypeError("to_dot: give a tensor, or a trace to rebuild the graph from")
    else:
        nodes, live = _nodes_from_graph(tensor, label_of, show_values, show_grad, max_values)
        annotations = _annotations(trace, live) if trace is not None else {}
    return _emit(nodes, annotations, collapse, rankdir, title)


def render(tensor: Tensor | None, path, format: str | None = None, **options) -> pathlib.Path:
    """Draw the graph of ``tensor`` into ``path`` (SVG, PNG, PDF, ... or DOT text).

    Args:
        tensor: as for ``to_dot``.
        path: the file to write.
        format: "svg", "png", "pdf", ... or "dot" for the DOT text itself; defaults to the
            path's suffix (else "svg").
        **options: passed to ``to_dot`` (``trace``, ``names``, ``show_values``, ``collapse``...).

    Returns:
        The path written.

    Raises:
        GraphvizUnavailable: an image was asked for but neither the ``graphviz`` Python
            package (``pip install graphviz``) with Graphviz's ``dot`` program, nor ``dot``
            alone, is installed. ``format="dot"`` always works.
    """
    path = pathlib.Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    dot = to_dot(tensor, **options)
    if fmt in ("dot", "gv"):
        path.write_text(dot, encoding="utf-8")
        return path
    path.write_bytes(_run_graphviz(dot, fmt))
    return path


# ---------------------------------------------------------------------- building the picture


def _nodes_from_graph(root, label_of, show_values, show_grad, max_values):
    """Walk the live graph from ``root`` breadth first; keys number tensors as they are found.

    The list of tensors found so far is also the queue still to visit: no recursion, and the
    keys (hence the DOT text) are the same for the same graph.
    """
    keys = {id(root): 0}
    live = [root]
    nodes = []
    for t in live:  # `live` grows while we walk it
        op = t._op
        node = _Node(len(nodes), op.name if op is not None else None, label_of.get(id(t)),
                     t._data.shape, dtype_name(t._data.dtype), t._rg, attrs=t._attrs,
                     note="graph freed" if op is not None and t._inputs is None else None)
        if show_values:
            node.value = _shown(t._data, max_values)
        if show_grad and t._grad is not None:  # (the slot: .grad of a non-leaf warns)
            node.grad = _shown(_grad_array(t._grad), max_values)
        inputs = node.inputs
        for x in t._inputs or ():
            key = keys.get(id(x))
            if key is None:
                key = keys[id(x)] = len(live)
                live.append(x)
            inputs.append(key)
        nodes.append(node)
    return nodes, live


def _nodes_from_trace(trace, show_values, max_values):
    """Rebuild the graph of the trace's last sweep from its records."""
    if not trace.records:
        raise GraphError("to_dot: the trace recorded nothing (was backward run inside it?)")
    last = trace.records[-1].sweep
    records = [r for r in trace.records if r.sweep == last]
    by_id = {}
    order = []

    def add(node):
        if node.key not in by_id:
            order.append(node.key)
        by_id[node.key] = node

    annotations = {}
    seen_inputs = {}
    for r in records:
        if r.is_leaf:
            add(_Node(r.node_id, None, r.name, r.shape, r.dtype, True))
            annotations[("node", r.node_id)] = r
            continue
        node = _Node(r.node_id, r.op, r.name, r.shape, r.dtype, True)
        node.inputs = [e.input_id for e in r.edges]
        add(node)
        annotations[("node", r.node_id)] = r
        for e in r.edges:
            annotations[("edge", r.node_id, e.position)] = e
            if e.input_id not in by_id and e.input_id not in seen_inputs:
                seen_inputs[e.input_id] = e
    for input_id, e in seen_inputs.items():
        if input_id in by_id:
            continue
        node = _Node(input_id, e.input_op, trace._id_names.get(input_id), e.input_shape,
                     e.input_dtype, e.requires_grad)
        if e.input_op is not None:
            node.note = "no gradient reached it"  # so the sweep never visited it
        if show_values and e.input_value is not None:
            node.value = _shown(np.asarray(e.input_value), max_values)
        add(node)
    return [by_id[k] for k in sorted(order)], annotations


def _annotations(trace, live):
    """Map the trace's records onto the live graph's keys (by tensor identity)."""
    last = {}
    for r in trace.records:
        last[r.node_id] = r
    annotations = {}
    for key, t in enumerate(live):
        node_id = trace.id_of(t)
        record = last.get(node_id) if node_id is not None else None
        if record is None:
            continue
        annotations[("node", key)] = record
        for e in record.edges:
            annotations[("edge", key, e.position)] = e
    return annotations


def _shown(array, max_values):
    array = np.asarray(array)
    return array if array.size <= max_values else Summary.of(array)


def _grad_array(grad):
    if getattr(grad, "is_row_sparse", False):
        return grad.to_dense()
    data = grad._data
    return data.to_dense() if getattr(data, "is_row_sparse", False) else data


# ---------------------------------------------------------------------- writing DOT


_OP_STYLE = 'shape=ellipse, style=filled, fillcolor="#dde8f5"'
_LEAF_STYLE = 'shape=box, style=filled, fillcolor="#fff2cc"'
_CONST_STYLE = 'shape=box, style=dashed, color="#888888", fontcolor="#555555"'
_CHAIN_STYLE = 'shape=box3d, style=filled, fillcolor="#e8e8e8"'


def _emit(nodes, annotations, collapse, rankdir, title) -> str:
    by_key = {n.key: n for n in nodes}
    hidden, chains = _chains(nodes, by_key, collapse) if collapse else (set(), {})
    lines = ["digraph deltagrad {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    if title:
        lines.append(f'  label="{_escape(title)}"; labelloc=t;')
    for node in nodes:
        key = node.key
        if key in hidden:
            continue
        label = _tensor_label(node, annotations)
        lines.append(f'  t{key} [{_tensor_style(node)}, label="{label}"];')
        if node.op is None:
            continue
        chain = chains.get(key)
        if chain is not None:
            label = _escape(_chain_label(chain, by_key))
            lines.append(f'  op{key} [{_CHAIN_STYLE}, label="{label}"];')
            lines.append(f"  op{key} -> t{key};")
            first = by_key[chain[0]]
            for position, input_key in enumerate(first.inputs):
                if by_key[input_key].requires_grad:
                    lines.append(f"  t{input_key} -> op{key}"
                                 f"{_edge_attrs(annotations.get(('edge', first.key, position)))};")
            continue
        op_label = node.op + _attrs_text(node.attrs)
        if node.note:
            op_label += f"\n({node.note})"
        lines.append(f'  op{key} [{_OP_STYLE}, label="{_escape(op_label)}"];')
        lines.append(f"  op{key} -> t{key};")
        for position, input_key in enumerate(node.inputs):
            edge = annotations.get(("edge", key, position))
            lines.append(f"  t{input_key} -> op{key}{_edge_attrs(edge)};")
    lines.append("}")
    return "\n".join(lines)


def _tensor_style(node) -> str:
    if node.op is not None:
        return "shape=box"
    return _LEAF_STYLE if node.requires_grad else _CONST_STYLE


def _tensor_label(node, annotations) -> str:
    lines = []
    if node.name:
        lines.append(node.name)
    lines.append(f"{node.shape} {node.dtype}")
    if node.value is not None:
        lines.append(f"value {format_value(node.value)}")
    if node.grad is not None:
        lines.append(f"grad {format_value(node.grad)}")
    record = annotations.get(("node", node.key))
    if record is not None:
        text = format_value(record.upstream)
        if record.fan_out:
            parts = " + ".join(format_value(c.value) for c in record.contributions)
            text = f"{parts} = {text} (fan-out)"
        lines.append(("grad += " if record.is_leaf else "upstream ") + text)
    return _escape("\n".join(lines))


def _edge_attrs(edge) -> str:
    if edge is None or not edge.requires_grad or edge.sent is None:
        return ""
    text = f"grad {format_value(edge.sent)}"
    if edge.summed_axes:
        text = (f"grad {format_value(edge.gradient)}\nsum axes {edge.summed_axes}"
                f"\n= {format_value(edge.sent)}")
    return f' [label="{_escape(text)}", fontcolor="#c0392b", color="#c0392b"]'


def _attrs_text(attrs) -> str:
    """Short static attributes (dim=1, keepdim=True); arrays and contexts are left out."""
    if not attrs:
        return ""
    parts = []
    for k, v in attrs.items():
        if v is None or v is False:
            continue  # defaults, mostly: dim=None, keepdim=False
        if isinstance(v, (bool, int, float, str, type(None))) or (
                isinstance(v, tuple) and all(isinstance(i, (int, type(None))) for i in v)):
            text = f"{k}={v!r}"
            if len(text) <= 30:
                parts.append(text)
    return ("\n" + ", ".join(parts)) if parts else ""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


# ---------------------------------------------------------------------- collapsing chains


def _chains(nodes, by_key, min_length):
    """Runs of >= min_length ops, each with one input needing grad and one consumer (the next).

    Returns the keys to hide and, for the last op of each run (the one left standing), the
    run's keys in forward order.
    """
    consumers = {}
    sole_input = {}  # op key -> its one input that needs grad, for ops that have exactly one
    for node in nodes:
        for input_key in set(node.inputs):
            consumers.setdefault(input_key, []).append(node.key)
        if node.op is not None:
            needing = [k for k in node.inputs if by_key[k].requires_grad]
            if len(needing) == 1:
                sole_input[node.key] = needing[0]

    def continues(key):  # the single consumer of `key`, if it extends the chain
        users = consumers.get(key, ())
        if len(users) == 1 and users[0] in sole_input:
            return users[0]
        return None

    hidden, chains = set(), {}
    for node in nodes:
        if node.key not in sole_input:
            continue
        previous = sole_input[node.key]
        if previous in sole_input and continues(previous) == node.key:
            continue  # not the start of a run
        run = [node.key]
        while True:
            nxt = continues(run[-1])
            if nxt is None:
                break
            run.append(nxt)
        if len(run) >= min_length:
            chains[run[-1]] = run
            for key in run[:-1]:
                hidden.add(key)
                node_inputs = by_key[key].inputs
                hidden.update(k for k in node_inputs if not by_key[k].requires_grad
                              and len(consumers.get(k, [])) == 1)
            last = by_key[run[-1]]
            hidden.update(k for k in last.inputs if not by_key[k].requires_grad
                          and len(consumers.get(k, [])) == 1)
    return hidden, chains


def _chain_label(run, by_key) -> str:
    names = [by_key[k].op for k in run]
    parts = _repeats(names)
    if len(parts) <= 6:
        pattern = " -> ".join(parts)
    else:  # no short description: count the ops instead
        counts = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        pattern = ", ".join(f"{name} x {n}" for name, n in counts.items())
    return f"chain of {len(names)} ops\n{pattern}"


def _repeats(names: list, longest: int = 8) -> list:
    """Describe a sequence by its repeated blocks, greedily: ['(mul -> add) x 3', 'sum'].

    >>> _repeats(["mul", "add", "mul", "add", "mul", "add", "sum"])
    ['(mul -> add) x 3', 'sum']
    """
    parts = []
    i, n = 0, len(names)
    while i < n:
        best_period, best_repeats = 1, 1
        for period in range(1, longest + 1):
            if i + 2 * period > n:
                break
            block = names[i:i + period]
            repeats = 1
            while names[i + repeats * period:i + (repeats + 1) * period] == block:
                repeats += 1
            if repeats >= 2 and period * repeats > best_period * best_repeats:
                best_period, best_repeats = period, repeats
        block = " -> ".join(names[i:i + best_period])
        if best_repeats == 1:
            parts.append(block)
        elif best_period == 1:
            parts.append(f"{block} x {best_repeats}")
        else:
            parts.append(f"({block}) x {best_repeats}")
        i += best_period * best_repeats
    return parts


# ---------------------------------------------------------------------- rendering


def _run_graphviz(dot: str, fmt: str) -> bytes:
    """DOT text -> image bytes, with the graphviz package, else the ``dot`` program."""
    try:
        import graphviz  # optional: never imported by `import deltagrad`
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(dot).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise GraphvizUnavailable(
                "rendering needs Graphviz's `dot` program, which the graphviz Python package "
                "could not find: install Graphviz (e.g. `apt-get install graphviz` or "
                "`brew install graphviz`), or write DOT text with format='dot'"
            ) from None
    executable = shutil.which("dot")
    if executable is None:
        raise GraphvizUnavailable(
            "rendering graphs needs Graphviz: `pip install graphviz` and Graphviz's `dot` "
            "program (e.g. `apt-get install graphviz`). Without them, deltagrad.viz.to_dot(...) "
            "or render(..., format='dot') still give the DOT text."
        )
    result = subprocess.run([executable, f"-T{fmt}"], input=dot.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise GraphvizUnavailable(
            f"dot -T{fmt} failed: {result.stderr.decode('utf-8', 'replace').strip()}")
    return result.stdout
