"""Watch backpropagation happen: ``with deltagrad.trace() as t: loss.backward()``.

While a ``trace`` is active it is the engine's observer (``_autograd.tracer``) and gets, for
every node the backward sweep visits, the upstream gradient and the gradients the node's VJP
rule produced for its inputs. From those it records what CS224N Lecture 4 draws at each node:

- the upstream gradient δ arriving (downstream = upstream × local gradient),
- the downstream gradient sent to each input, as the rule produced it,
- the axes summed to undo broadcasting, and the gradient after that sum,
- fan-out: where a tensor fed several consumers, the gradients that arrived from each and
  their sum,
- leaves: what reached them in this sweep, and their ``.grad`` when the trace ends.

Nothing is recorded, and nothing is paid beyond one comparison per node, when no trace is
active. Traces nest: an inner trace passes every node on to the outer one too.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field

import numpy as np

from .._engine import autograd as _autograd
from .._engine.tensor import Tensor
from ._format import Summary, Value, dtype_name, format_value
from .viz import to_dot as _to_dot

__all__ = ["Contribution", "Edge", "NodeRecord", "Summary", "trace"]




@dataclass
class Contribution:
    """One gradient added into a tensor's total: from which node (None: the seed) and input."""

    source: int | None
    position: int | None
    value: Value


@dataclass
class Edge:
    """What a node sent to one of its inputs during backward."""

    position: int
    input_id: int
    input_op: str | None  # the op that produced the input; None for a leaf or constant
    input_shape: tuple
    input_dtype: str
    requires_grad: bool
    gradient: Value = None  # as the VJP rule produced it (possibly broadcast-shaped)
    summed_axes: tuple = ()  # summed to reduce it to the input's shape
    sent: Value = None  # what was added into the input's gradient
    input_value: Value = None  # the value of a small constant input, for pictures


@dataclass
class NodeRecord:
    """Everything backward did at one node (an op, or a leaf receiving its gradient)."""

    step: int
    sweep: int
    node_id: int
    op: str  # the op's name, or "leaf"
    name: str | None
    shape: tuple
    dtype: str
    upstream: Value  # δ arriving at the node (for a leaf: what this sweep adds to .grad)
    contributions: list[Contribution] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    grad: Value = None  # a leaf's .grad when the trace ended

    @property
    def is_leaf(self) -> bool:
        return self.op == "leaf"

    @property
    def fan_out(self) -> bool:
        """Whether gradients from several consumers were added to make ``upstream``."""
        return len(self.contributions) > 1

    @property
    def input_shapes(self) -> list[tuple]:
        return [e.input_shape for e in self.edges]

    def label(self) -> str:
        return f"#{self.node_id}" + (f" {self.name}" if self.name else "")

    def to_dict(self) -> dict:
        return {
            "step": self.step, "sweep": self.sweep, "node": self.node_id, "op": self.op,
            "name": self.name, "shape": list(self.shape), "dtype": self.dtype,
            "upstream": _jsonable(self.upstream),
            "fan_out": self.fan_out,
            "contributions": [{"from": c.source, "input": c.position,
                               "value": _jsonable(c.value)} for c in self.contributions],
            "inputs": [{"position": e.position, "node": e.input_id, "op": e.input_op,
                        "shape": list(e.input_shape), "dtype": e.input_dtype,
                        "requires_grad": e.requires_grad,
                        "gradient": _jsonable(e.gradient),
                        "summed_axes": list(e.summed_axes), "sent": _jsonable(e.sent)}
                       for e in self.edges],
            "grad": _jsonable(self.grad),
        }


class trace:  # noqa: N801 - used like a function: `with deltagrad.trace() as t:`
    """Record every node the backward sweep visits, in the order it visits them.

    Args:
        names: optional ``{"x": tensor, ...}`` naming tensors in the printout.
        max_values: arrays with at most this many elements are kept whole; larger ones are
            kept as a ``Summary`` (shape, norm, mean, min, max). ``None`` keeps every array.

    Node ids are small integers given in the order tensors are first met, stable within the
    trace. A leaf's record comes where the engine visits it, after its last consumer.

    >>> import deltagrad as dg
    >>> x = dg.tensor(3.0, requires_grad=True)
    >>> with dg.trace(names={"x": x}) as t:
    ...     (x * x).backward()
    >>> print(t.table())
    step  node  op    shape  upstream             input  gradient
    1     #0    mul   ()     1                    #1 x   3
                                                  #1 x   3
    2     #1 x  leaf  ()     3 + 3 = 6 (fan-out)

    ``deltagrad.trace(A)`` with a tensor is PyTorch's ``torch.trace``, the sum of the main
    diagonal (``A.trace()``), so that PyTorch programs get the number they expect:

    >>> float(dg.trace(dg.tensor([[1.0, 2.0], [3.0, 4.0]])))
    5.0
    """

    def __new__(cls, names=None, *args, **kwargs):
        # NOTE: PyTorch's torch.trace(input) shares this name; given a tensor, answer it (a
        # result of another type, so __init__ is not called) rather than start a tracer.
        if isinstance(names, Tensor):
            if args or kwargs:
                raise TypeError("trace(input) takes no other arguments")
            return names.trace()
        if names is not None and not isinstance(names, dict):
            # (torch.trace([[1., 2.], [3., 4.]]): PyTorch's argument error, not a tracer)
            raise TypeError(f"trace(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(names).__name__}")
        return super().__new__(cls)

    def __init__(self, names: dict | None = None, max_values: int | None = 64) -> None:
        self.max_values = max_values
        self.records: list[NodeRecord] = []
        self._names = {id(t): name for name, t in (names or {}).items()}
        self._named = list((names or {}).values())  # keeps named tensors (and their ids) alive
        self._ids: dict[int, tuple] = {}  # id(tensor) -> (weakref, trace id)
        self._generations: dict[int, int] = {}
        self._generation = None
        self._incoming: dict[int, list[Contribution]] = {}  # this sweep: trace id -> arrivals
        self._leaf_sums: dict[int, np.ndarray] = {}
        self._stack: list[tuple] = []  # mirror of the engine's ready stack: (trace id, leaf)
        self._stacked: dict[int, int] = {}  # how often each trace id is on the mirror stack
        self._leaf_refs: dict[int, weakref.ref] = {}
        self._labels: list[str] = []  # trace id -> name, else op name, else leaf / const
        self._id_names: dict[int, str] = {}  # trace id -> the name given in `names`
        self._steps = 0  # records in the current sweep
        self._previous = None
        self._active = False

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> trace:
        if self._active:
            raise RuntimeError("this trace is already active")
        self._active = True
        self._previous = _autograd.tracer
        _autograd.tracer = self
        return self

    def __exit__(self, *exc) -> bool:
        _autograd.tracer = self._previous
        self._previous = None
        self._active = False
        self._finish_sweep()
        for record in self.records:
            if record.is_leaf:
                leaf = self._leaf_refs.get(record.node_id)
                leaf = leaf() if leaf is not None else None
                if leaf is not None and leaf.grad is not None:
                    record.grad = self._keep(_array(leaf.grad))
        return False

    # ------------------------------------------------------------------ the engine's hook

    def record(self, node, g, grads, create_graph: bool) -> None:
        """Called by the engine right after ``node``'s VJP rule ran (not meant for users)."""
        if self._generation != node._mark:
            self._finish_sweep()
            self._generation = node._mark
            self._steps = 0
            self._generations.setdefault(node._mark, len(self._generations))
        node_id = self._id_of(node)
        self._visit_until(node_id)
        upstream = _array(g)
        contributions = self._incoming.pop(node_id, None)
        if contributions is None:  # nothing arrived from a consumer: this is a root
            contributions = [Contribution(None, None, self._keep(upstream))]
        record = self._new_record(node, node_id, self._keep(upstream), contributions)
        inputs = node._inputs
        seen: dict[int, int] = {}
        ready = []
        for position, (x, gx) in enumerate(zip(inputs, grads)):
            edge = self._edge(position, x)
            record.edges.append(edge)
            if not x._rg:
                continue
            input_id = edge.input_id
            seen[input_id] = seen.get(input_id, 0) + 1
            if x._pending == seen[input_id]:
                ready.append((input_id, x._op is None))
            if gx is None:
                continue
            gx = _array(gx)
            edge.gradient = self._keep(gx)
            edge.summed_axes = summed_axes(gx.shape, x._data.shape)
            sent = _reduce(gx, edge.summed_axes, x._data.shape)
            if sent is None:
                continue  # the shapes do not fit: the engine raises its own error next
            edge.sent = self._keep(sent) if edge.summed_axes else edge.gradient
            self._incoming.setdefault(input_id, []).append(
                Contribution(node_id, position, edge.sent))
            if x._op is None:
                self._leaf_refs[input_id] = weakref.ref(x)
                total = self._leaf_sums.get(input_id)
                self._leaf_sums[input_id] = sent if total is None else total + sent
        for entry in ready:
            self._stack.append(entry)
            self._stacked[entry[0]] = self._stacked.get(entry[0], 0) + 1
        if self._previous is not None:
            self._previous.record(node, g, grads, create_graph)

    # ------------------------------------------------------------------ reading the trace

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def ops(self) -> list[NodeRecord]:
        """The records of op nodes (leaves left out): one per op backward ran through."""
        return [r for r in self.records if not r.is_leaf]

    @property
    def leaves(self) -> list[NodeRecord]:
        return [r for r in self.records if r.is_leaf]

    def id_of(self, tensor) -> int | None:
        """The trace id of ``tensor``, or None when backward never met it in this trace."""
        entry = self._ids.get(id(tensor))
        if entry is None or entry[0]() is not tensor:
            return None
        return entry[1]

    def record_of(self, tensor) -> NodeRecord | None:
        """The (last) record of ``tensor``, or None when backward did not visit it."""
        node_id = self.id_of(tensor)
        found = None
        for record in self.records:
            if record.node_id == node_id:
                found = record
        return found

    def table(self) -> str:
        """The records as a text table, one row per node and one per gradient sent."""
        rows = [("step", "node", "op", "shape", "upstream", "input", "gradient")]
        for r in self.records:
            sweep = f"{r.sweep + 1}." if self._many_sweeps() else ""
            head = [f"{sweep}{r.step}", r.label(), r.op, _shape(r.shape), _upstream_text(r)]
            if not r.edges:
                rows.append(tuple(head + ["", ""]))
            for i, e in enumerate(r.edges):
                target = f"#{e.input_id} {self._labels[e.input_id]}"
                cells = head if i == 0 else [""] * 5
                rows.append(tuple(cells + [target, _edge_text(e)]))
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return f"<trace: {len(self.ops)} ops, {len(self.leaves)} leaves>"

    def to_dict(self) -> dict:
        return {"records": [r.to_dict() for r in self.records]}

    def to_json(self, indent: int | None = None) -> str:
        """The records as JSON (arrays as nested lists, large ones as summaries)."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_dot(self, tensor=None, **options) -> str:
        """Graphviz DOT text of the traced graph, edges labelled with the gradients sent.

        With ``tensor`` whose graph still exists (``retain_graph=True``), that graph is drawn;
        otherwise the graph is rebuilt from the records. See ``deltagrad.viz.to_dot``.
        """
        return _to_dot(tensor, trace=self, **options)  # viz draws; the trace records

    # ------------------------------------------------------------------ internals

    def _many_sweeps(self) -> bool:
        return len(self._generations) > 1

    def _keep(self, array: np.ndarray) -> Value:
        if self.max_values is None or array.size <= self.max_values:
            return np.array(array, copy=True)
        return Summary.of(array)

    def _id_of(self, tensor) -> int:
        entry = self._ids.get(id(tensor))
        if entry is not None and entry[0]() is tensor:
            return entry[1]
        # A dead weak reference means the id was reused by a new tensor: give it a new id.
        node_id = len(self._labels)
        self._ids[id(tensor)] = (weakref.ref(tensor), node_id)
        name = self._names.get(id(tensor))
        if name is not None:
            self._id_names[node_id] = name
        op = tensor._op.name if tensor._op is not None else None
        self._labels.append(name or op or ("leaf" if tensor._rg else "const"))
        return node_id

    def _new_record(self, tensor, node_id, upstream, contributions) -> NodeRecord:
        record = NodeRecord(
            step=self._steps + 1, sweep=self._sweep(), node_id=node_id,
            op=tensor._op.name if tensor._op is not None else "leaf",
            name=self._id_names.get(node_id), shape=tuple(tensor._data.shape),
            dtype=dtype_name(tensor._data.dtype), upstream=upstream, contributions=contributions)
        self._steps += 1
        self.records.append(record)
        return record

    def _sweep(self) -> int:
        return self._generations.get(self._generation, 0)

    def _edge(self, position, x) -> Edge:
        value = None
        if not x._rg and (self.max_values is None or x._data.size <= self.max_values):
            value = np.array(x._data, copy=True)
        return Edge(position=position, input_id=self._id_of(x),
                    input_op=x._op.name if x._op is not None else None,
                    input_shape=tuple(x._data.shape), input_dtype=dtype_name(x._data.dtype),
                    requires_grad=bool(x._rg), input_value=value)

    def _visit_until(self, node_id) -> None:
        """Replay the engine's pops: leaves above ``node_id`` on its stack were visited first."""
        if not self._stacked.get(node_id):
            if self._incoming.get(node_id):
                return  # reached by a path this mirror did not see; leave the stack be
            target = None  # a root: everything still stacked was visited before it
        else:
            target = node_id
        while self._stack:
            entry_id, is_leaf = self._pop()
            if entry_id == target:
                return
            if is_leaf:
                self._visit_leaf(entry_id)

    def _pop(self) -> tuple:
        entry = self._stack.pop()
        self._stacked[entry[0]] -= 1
        return entry

    def _visit_leaf(self, leaf_id) -> None:
        contributions = self._incoming.pop(leaf_id, None)
        total = self._leaf_sums.pop(leaf_id, None)
        if contributions is None or total is None:
            return
        ref = self._leaf_refs.get(leaf_id)
        leaf = ref() if ref is not None else None
        if leaf is None:
            return
        self._new_record(leaf, leaf_id, self._keep(total), contributions)

    def _finish_sweep(self) -> None:
        """Leaves still waiting when a sweep ends (or a consumer sent nothing) are done now."""
        while self._stack:
            entry_id, is_leaf = self._pop()
            if is_leaf:
                self._visit_leaf(entry_id)
        for leaf_id in list(self._leaf_sums):
            self._visit_leaf(leaf_id)
        self._incoming.clear()


# ---------------------------------------------------------------------- helpers


def summed_axes(gradient_shape: tuple, input_shape: tuple) -> tuple:
    """Axes of a broadcast gradient to sum so that it has ``input_shape`` again.

    Leading axes the input did not have, plus axes where the input has size 1.

    >>> summed_axes((3, 4), (4,))
    (0,)
    >>> summed_axes((2, 3, 4), (3, 1))
    (0, 2)
    """
    lead = len(gradient_shape) - len(input_shape)
    if lead < 0:
        return ()
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(input_shape)
        if n == 1 and gradient_shape[lead + i] != 1
    )




def _reduce(g: np.ndarray, axes: tuple, shape: tuple):
    try:
        if axes:
            g = np.sum(g, axis=axes, keepdims=True)
        return g.reshape(shape)
    except ValueError:
        return None


def _array(g) -> np.ndarray:
    """The ndarray behind an engine gradient (a Tensor under create_graph, maybe row-sparse)."""
    if getattr(g, "is_row_sparse", False):
        return np.asarray(g.to_dense())
    data = getattr(g, "_data", g)
    if getattr(data, "is_row_sparse", False):
        return np.asarray(data.to_dense())
    return np.asarray(data)


def _shape(shape: tuple) -> str:
    return str(tuple(shape))


def _upstream_text(record: NodeRecord) -> str:
    if record.fan_out:
        parts = " + ".join(format_value(c.value) for c in record.contributions)
        return f"{parts} = {format_value(record.upstream)} (fan-out)"
    return format_value(record.upstream)


def _edge_text(edge: Edge) -> str:
    if not edge.requires_grad:
        return "(no grad)"
    if edge.gradient is None:
        return "None"
    text = format_value(edge.gradient)
    if edge.summed_axes:
        text += f" -> sum over axes {edge.summed_axes} -> {format_value(edge.sent)}"
    return text


def _jsonable(value: Value):
    if value is None:
        return None
    if isinstance(value, Summary):
        return {"summary": value.to_dict()}
    array = np.asarray(value)
    if array.dtype.kind in "fc":
        array = array.astype(np.float64)
    return array.tolist()
