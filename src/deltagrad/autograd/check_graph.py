"""Gradient bisection: gradcheck every node's VJP rule at the inputs it saw in a real graph.

``check_graph(loss)`` walks the graph that produced ``loss`` from its inputs upwards and, for
each op node, compares the op's VJP rule with central finite differences of the op's forward,
in float64, at that node's own inputs. Each rule is checked on its own, so a wrong rule is
found where it is, not where its error shows up: the first failing node names the culprit.

Small tensors get their whole Jacobian checked; for large ones the check is a few random
projections, comparing <v, J u> from finite differences with <J^T v, u> from the rule, for
random unit vectors u (input side) and v (output side). At a kink (relu at 0, a tie in max)
the central difference means nothing; there the rule passes if its value lies between the
one-sided derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._engine.autograd import GraphError, ShapeError, _reduce_to, no_grad
from .._engine.ops import ARRAY
from .._engine.tensor import Tensor
from .function import FunctionCtx
from .gradcheck import GradcheckError

__all__ = ["GraphCheck", "NodeCheck", "check_graph"]


@dataclass
class NodeCheck:
    """The check of one node's rule.

    Attributes:
        index: the node's position in topological order from the inputs (0 = first op run).
        op: the op's name.
        input_shapes, output_shape: the node's shapes.
        status: ``"ok"``, ``"failed"`` or ``"skipped"``.
        method: ``"jacobian"`` (every entry) or ``"projection"`` (random projections), per
            checked input.
        max_error: the largest |analytic - numeric| over the compared entries.
        analytic, numeric: for the first input that failed (else the last checked), the
            compared matrices: rows are output directions, columns input directions (both unit
            vectors for a full Jacobian, so entry [i, j] is d out_i / d in_j).
        message: what failed and where, with the numbers.
    """

    index: int
    op: str
    input_shapes: list
    output_shape: tuple
    status: str = "ok"
    method: list = field(default_factory=list)
    max_error: float = 0.0
    analytic: np.ndarray | None = None
    numeric: np.ndarray | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class GraphCheck:
    """The report of ``check_graph``: one ``NodeCheck`` per op node, inputs first."""

    checks: list[NodeCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[NodeCheck]:
        return [c for c in self.checks if c.status == "failed"]

    @property
    def first_failure(self) -> NodeCheck | None:
        """The failing node nearest the inputs: the rule to look at first."""
        failures = self.failures
        return failures[0] if failures else None

    def __bool__(self) -> bool:
        return self.ok

    def __len__(self) -> int:
        return len(self.checks)

    def __str__(self) -> str:
        lines = []
        width = max([len(c.op) for c in self.checks] + [2])
        for c in self.checks:
            shapes = ", ".join(str(s) for s in c.input_shapes)
            line = f"{c.index:>4}  {c.op.ljust(width)}  {c.status:<7}  {shapes} -> {c.output_shape}"
            if c.status == "skipped":
                line += f"  [{c.message}]"
            lines.append(line)
        first = self.first_failure
        if first is None:
            lines.append(f"all {len(self.checks)} nodes agree with finite differences")
        else:
            lines.append(f"first failing op: {first.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        first = self.first_failure
        verdict = "ok" if first is None else f"first failure: {first.op!r} (node {first.index})"
        return f"<GraphCheck: {len(self.checks)} nodes, {verdict}>"


def check_graph(loss: Tensor, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                full_up_to: int = 64, projections: int = 3, seed: int = 0,
                raise_exception: bool = False) -> GraphCheck:
    """Gradcheck every node of the graph that produced ``loss``, each at its own inputs.

    Call it before ``backward()`` (which frees the graph) or after ``backward(retain_graph=
    True)``. Inputs are converted to float64; the graph and its gradients are left untouched.

    Args:
        loss: a Tensor that requires grad (any shape).
        eps: the finite-difference step (along unit-norm directions).
        atol, rtol: an entry passes when |analytic - numeric| <= atol + rtol * |numeric|.
        full_up_to: inputs and outputs with at most this many elements get every Jacobian
            entry checked; larger ones get ``projections`` random projections.
        projections: how many random directions on each side for large tensors.
        seed: seeds the random directions, so that the report is reproducible.
        raise_exception: raise ``GradcheckError`` naming the first failing op instead of
            returning a report that says so.

    Returns:
        A ``GraphCheck``: ``.ok``, ``.first_failure`` and one ``NodeCheck`` per op node in
        topological order (inputs first).

    >>> import deltagrad as dg
    >>> x = dg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    >>> report = dg.check_graph((x.tanh() * x).sum())
    >>> report.ok, [c.op for c in report.checks]
    (True, ['tanh', 'mul', 'sum'])
    """
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        raise GraphError("check_graph: expected a Tensor that requires grad (the end of a graph)")
    rng = np.random.default_rng(seed)
    checks = []
    with no_grad():
        for index, node in enumerate(_topological(loss)):
            check = _check_node(node, index, rng, eps, atol, rtol, full_up_to, projections)
            checks.append(check)
    report = GraphCheck(checks)
    if raise_exception and not report.ok:
        raise GradcheckError(f"check_graph: {report.first_failure.message}")
    return report


def _topological(root):
    """Op nodes that require grad, each after all of its inputs, without recursion."""
    order = []
    done = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        if node._inputs is None:
            raise GraphError(
                f"check_graph: the graph was freed at op '{node._op.name}' (output shape "
                f"{node.shape}) by an earlier backward(); call check_graph before backward(), "
                "or pass retain_graph=True to backward()"
            )
        stack.append((node, True))
        for x in reversed(node._inputs):
            if x._rg and x._op is not None and id(x) not in done:
                stack.append((x, False))
    return order


def _fresh_attrs(attrs: dict) -> dict:
    """The node's attributes, with a new context for custom Functions (their forward fills it)."""
    return {k: (v._fresh() if isinstance(v, FunctionCtx) else v) for k, v in attrs.items()}


def _to_float64(array: np.ndarray) -> np.ndarray:
    return np.array(array, dtype=np.float64) if array.dtype.kind == "f" else array


def _dense(g):
    return g.to_dense() if getattr(g, "is_row_sparse", False) else g


def _directions(size: int, full_up_to: int, projections: int, rng) -> np.ndarray:
    """Rows are unit vectors: the standard basis for small sizes, random ones otherwise."""
    if size <= full_up_to:
        return np.eye(size)
    u = rng.standard_normal((projections, size))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def _check_node(node, index, rng, eps, atol, rtol, full_up_to, projections) -> NodeCheck:
    op = node._op
    inputs = node._inputs
    check = NodeCheck(index, op.name, [tuple(x.shape) for x in inputs], tuple(node.shape))
    attrs = node._attrs or {}
    xs = [_to_float64(x._data) for x in inputs]
    wrt = [i for i, x in enumerate(inputs) if x._rg and x._data.dtype.kind == "f"]
    needs = tuple(x._rg for x in inputs)

    def forward(arrays):
        fresh = _fresh_attrs(attrs)
        return np.asarray(op.forward(*arrays, **fresh)), fresh

    try:
        out, fresh = forward(xs)
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        check.status, check.message = "failed", f"{op.name}: forward raised {error!r}"
        return check
    if out.dtype != np.float64:
        check.status = "skipped"
        check.message = f"output is {out.dtype} even from float64 inputs"
        return check

    # Analytic side: one VJP per output direction v, reduced to input shapes as the engine does.
    vs = _directions(out.size, full_up_to, projections, rng)
    rule_grads = {i: [] for i in wrt}
    for v in vs:
        kwargs = dict(fresh)
        if op.wants_needs:
            kwargs["needs"] = needs
        try:
            grads = op.vjp(ARRAY, v.reshape(out.shape), out, *xs, **kwargs)
            for i in wrt:
                g = grads[i]
                g = np.zeros(xs[i].shape) if g is None else np.asarray(_dense(g), np.float64)
                if g.shape != xs[i].shape:
                    g = _reduce_to(ARRAY, g, xs[i].shape, op.name)
                rule_grads[i].append(g.reshape(-1))
        except (ShapeError, ValueError, TypeError, IndexError) as error:
            check.status, check.message = "failed", f"{op.name}: its VJP rule raised {error}"
            return check

    # Numeric side: central and one-sided differences along each input direction u.
    for i in wrt:
        us = _directions(xs[i].size, full_up_to, projections, rng)
        check.method.append("jacobian" if xs[i].size <= full_up_to else "projection")
        analytic = np.stack(rule_grads[i]) @ us.T  # [v, u] = <J^T v, u>
        central, plus, minus = (np.empty_like(analytic) for _ in range(3))
        for c, u in enumerate(us):
            shifted = list(xs)
            shifted[i] = xs[i] + eps * u.reshape(xs[i].shape)
            f_plus = forward(shifted)[0].reshape(-1)
            shifted[i] = xs[i] - eps * u.reshape(xs[i].shape)
            f_minus = forward(shifted)[0].reshape(-1)
            f0 = out.reshape(-1)
            central[:, c] = vs @ ((f_plus - f_minus) / (2 * eps))
            plus[:, c] = vs @ ((f_plus - f0) / eps)
            minus[:, c] = vs @ ((f0 - f_minus) / eps)
        tolerance = atol + rtol * np.abs(central)
        error = np.abs(analytic - central)
        low, high = np.minimum(plus, minus), np.maximum(plus, minus)
        kink = np.abs(plus - minus) > tolerance
        between = (analytic >= low - tolerance) & (analytic <= high + tolerance)
        bad = (error > tolerance) & ~(kink & between)
        check.max_error = max(check.max_error, float(np.max(error, initial=0.0)))
        if check.analytic is None or (bad.any() and check.status != "failed"):
            check.analytic, check.numeric = analytic, central
        if bad.any() and check.status != "failed":
            check.status = "failed"
            check.message = _failure_message(op.name, check, i, xs[i], out, bad, analytic,
                                             central, full_up_to)
    return check


def _failure_message(name, check, position, x, out, bad, analytic, numeric, full_up_to) -> str:
    row, col = (int(v[0]) for v in np.nonzero(bad))
    if x.size <= full_up_to and out.size <= full_up_to:
        where = (f"d out{_index(row, out.shape)} / d input{position}{_index(col, x.shape)}")
    else:
        where = f"projection <v{row}, J u{col}> on input {position}"
    shapes = ", ".join(str(s) for s in check.input_shapes)
    return (
        f"op '{name}' (node {check.index}, inputs {shapes} -> {check.output_shape}): "
        f"{where}: analytic {analytic[row, col]:.8g} vs numeric {numeric[row, col]:.8g} "
        f"({int(bad.sum())} of {bad.size} compared entries disagree)"
    )


def _index(flat: int, shape: tuple) -> str:
    if not shape:
        return ""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"
