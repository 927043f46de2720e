"""Capture and replay of a fixed-shape training step: the same arithmetic without per-op overhead.

``step = deltagrad.capture_step(loss_fn)`` runs ``loss_fn(*inputs)`` eagerly once, with its
backward, and records the graph it built (ops, attributes, which leaves are the inputs and which
are parameters) and the order in which backward visited it. Every later ``step(*inputs)`` replays
that recording on raw arrays: the ops' own forwards in order, then their VJP rules in the
recorded backward order, accumulating into the parameters' ``.grad`` exactly as ``backward()``
would. No Tensor objects, no graph and no topological sort are made, so the Python cost per op
drops while the numbers stay bit-identical to the eager step.

Limits (checked where possible): the step must build the same graph every time (same ops and
shapes: a change of input shape raises); tensors made inside the step other than by ops on its
inputs and parameters (constants, and random masks such as dropout's) are frozen at capture, so
pass randomness in as an input; only the loss is returned, as a Tensor without a graph.
"""

from __future__ import annotations

import numpy as np

from .._engine import autograd as _autograd
from .._engine.api.sparse import gradient_leaf
from .._engine.autograd import ShapeError, _accumulate_leaf, _reduce_to
from .._engine.ops import ARRAY
from .._engine.random import get_rng_state, set_rng_state
from .._engine.tensor import Tensor, _float32_unless_float64, _leaf, float64

__all__ = ["CapturedStep", "capture_step"]


def capture_step(loss_fn) -> CapturedStep:
    """Wrap ``loss_fn(*inputs) -> scalar loss`` so that calls after the first replay it.

    Each call computes the loss and accumulates the gradients of every parameter (leaf that
    requires grad) into ``.grad``, like ``loss_fn(*inputs).backward()``; it returns the loss.

    >>> import deltagrad as dg
    >>> w = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> step = dg.capture_step(lambda x: ((w * x).tanh() ** 2).sum())
    >>> x = dg.tensor([0.5, -0.5])
    >>> eager = ((w * x).tanh() ** 2).sum(); eager.backward(); expected = w.grad.clone()
    >>> w.grad = None; _ = step(x)            # the first call captures (and computes)
    >>> w.grad = None; loss = step(x)         # later calls replay
    >>> bool((w.grad.data == expected).all()), loss.item() == eager.item()
    (True, True)
    """
    return CapturedStep(loss_fn)


class CapturedStep:
    """A recorded step; see ``capture_step``."""

    def __init__(self, loss_fn):
        self.loss_fn = loss_fn
        self._nodes = None  # [(op, input slots, attrs, needs)] in forward order
        self._order = None  # node indices in the order backward visited them
        self._leaves = None  # [(slot, tensor)] parameters that take gradients
        self._constants = None  # {slot: array} frozen leaves
        self._inputs = None  # slot of each positional input (None if unused)
        self._signature = None
        self._loss_slot = None

    def __call__(self, *inputs) -> Tensor:
        arrays = [x._data if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
        signature = tuple((a.shape, a.dtype.str) for a in arrays)
        if self._nodes is None:
            return self._capture(arrays, signature)
        if signature != self._signature:
            raise ShapeError(
                f"capture_step: recorded for inputs {self._signature}, called with {signature}; "
                "capture a new step for new shapes"
            )
        return self._replay(arrays)

    # ---------------------------------------------------------------------------- capture

    def _capture(self, arrays, signature) -> Tensor:
        tensors = [_leaf(a) for a in arrays]
        loss = self.loss_fn(*tensors)
        if not isinstance(loss, Tensor) or loss._data.size != 1 or not loss.requires_grad:
            raise ValueError("capture_step: the function must return a one-element Tensor that "
                             "requires grad")
        nodes, slots = _topological(loss)
        input_ids = {id(t): i for i, t in enumerate(tensors)}
        self._inputs = [None] * len(tensors)
        self._constants, self._leaves = {}, []
        for slot, t in enumerate(slots):
            if t._op is not None:
                continue
            if id(t) in input_ids:
                self._inputs[input_ids[id(t)]] = slot
            elif t._rg:
                self._leaves.append((slot, t))
            else:
                self._constants[slot] = t._data
        index = {id(t): i for i, t in enumerate(slots)}
        self._nodes = [(t._op, tuple(index[id(x)] for x in t._inputs), t._attrs or {},
                        tuple(x._rg for x in t._inputs), index[id(t)]) for t in nodes]
        node_of_slot = {record[4]: n for n, record in enumerate(self._nodes)}
        order = []
        recorder = _OrderRecorder(order, index, node_of_slot)
        previous, _autograd.tracer = _autograd.tracer, recorder
        try:
            loss.backward()
        finally:
            _autograd.tracer = previous
        self._order = order
        self._loss_slot = index[id(loss)]
        self._signature = signature
        self._plan(slots)
        self._check_replayable(arrays, slots)
        return loss.detach()

    def _check_replayable(self, arrays, slots) -> None:
        """Refuse a step whose frozen constants depend on its inputs or on randomness.

        The step runs once more on shifted inputs (each input's values rolled by one place,
        which keeps them valid as indices), with the default generator restored afterwards; a
        constant that comes out different would be replayed wrong (targets turned into arrays
        inside a loss, as label smoothing does; dropout masks), so the capture is refused.
        """
        state = get_rng_state()
        try:
            probe = [_leaf(np.roll(a.reshape(-1), 1).reshape(a.shape)) for a in arrays]
            loss = self.loss_fn(*probe)
            nodes, probe_slots = _topological(loss)
        finally:
            set_rng_state(state)
        same = len(nodes) == len(self._nodes) and len(probe_slots) == len(slots) and all(
            t._op is record[0] for t, record in zip(nodes, self._nodes))
        if same:
            for slot, value in self._constants.items():
                other = probe_slots[slot]
                if other._op is not None or not np.array_equal(other._data, value):
                    same = False
                    break
        if not same:
            self._nodes = None
            raise ValueError(
                "capture_step: this step builds tensors outside ops from its inputs or from "
                "randomness (for example targets made into arrays inside a loss, as "
                "cross_entropy with label smoothing or class weights does, or dropout masks); "
                "a replay would freeze them. Run it eagerly, or pass such tensors in as inputs."
            )

    # ---------------------------------------------------------------------------- replay

    def _plan(self, slots) -> None:
        """Precompute what replay needs per node, from the shapes fixed at capture.

        Forward: (forward, input slots, attributes, output slot). Backward, in the recorded
        order: (rule, output slot, input slots, attributes, needs, targets) where each target
        is (position, slot, shape to sum back to or None, dtype to cast to or None): the
        engine's per-gradient shape and dtype checks, settled once.
        """
        self._n_slots = len(slots)
        self._forward = [(op.forward, ins, attrs or None, out)
                         for op, ins, attrs, _needs, out in self._nodes]
        shapes = {i: t._data.shape for i, t in enumerate(slots)}
        dtypes = {i: t._data.dtype for i, t in enumerate(slots)}
        backward = []
        for n in self._order:
            op, ins, attrs, needs, out = self._nodes[n]
            targets = []
            for position, (slot, need) in enumerate(zip(ins, needs)):
                if need:
                    targets.append((position, slot, shapes[slot], dtypes[slot]))
            kwargs = dict(attrs)
            if op.wants_needs:
                kwargs["needs"] = needs
            backward.append((op.vjp, op.name, out, ins, kwargs or None, tuple(targets)))
        self._backward = backward

    def _replay(self, arrays) -> Tensor:
        values = [None] * self._n_slots
        for slot, value in self._constants.items():
            values[slot] = value
        for slot, array in zip(self._inputs, arrays):
            if slot is not None:
                values[slot] = array
        for slot, tensor in self._leaves:
            values[slot] = tensor._data
        for forward, ins, attrs, out in self._forward:
            if attrs is None:
                data = forward(*[values[i] for i in ins])
            else:
                data = forward(*[values[i] for i in ins], **attrs)
            if type(data) is not np.ndarray:
                data = np.asarray(data)
            if data.dtype is float64:
                data = _float32_unless_float64(data, [_Shape(values[i]) for i in ins])
            values[out] = data
        grads = [None] * self._n_slots
        loss_slot = self._loss_slot
        grads[loss_slot] = np.ones_like(values[loss_slot])
        for vjp, name, out, ins, kwargs, targets in self._backward:
            g = grads[out]
            grads[out] = None
            if g is None:
                continue
            if kwargs is None:
                result = vjp(ARRAY, g, values[out], *[values[i] for i in ins])
            else:
                result = vjp(ARRAY, g, values[out], *[values[i] for i in ins], **kwargs)
            for position, slot, shape, dtype in targets:
                gx = result[position]
                if gx is None:
                    continue
                if gx.shape != shape:
                    gx = _reduce_to(ARRAY, gx, shape, name)
                if gx.dtype is not dtype and gx.dtype != dtype:
                    gx = gx.astype(dtype)
                pending = grads[slot]
                grads[slot] = gx if pending is None else pending + gx
        try:
            for slot, tensor in self._leaves:
                g = grads[slot]
                if g is not None:
                    _accumulate_leaf(tensor, g, False, gradient_leaf)
        finally:
            _autograd._stored.clear()
        return _leaf(values[loss_slot])


class _Shape:
    """Stands in for a Tensor where only ``._data.dtype`` is read (the dtype fix-up)."""

    __slots__ = ("_data",)

    def __init__(self, array):
        self._data = array


class _OrderRecorder:
    """A backward tracer that notes the order in which the engine processes op nodes."""

    def __init__(self, order, index, node_of_slot):
        self.order, self.index, self.node_of_slot = order, index, node_of_slot

    def record(self, node, g, grads, create_graph):
        self.order.append(self.node_of_slot[self.index[id(node)]])


def _topological(root):
    """Op nodes reachable from ``root`` in forward (topological) order, and every tensor seen.

    Iterative depth-first post-order: a node is listed after all its inputs.
    """
    order, seen, slots = [], set(), []
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        slots.append(t)
        if t._op is None:
            continue
        if t._inputs is None:
            raise ValueError("capture_step: the graph was already freed by a backward()")
        stack.append((t, True))
        for x in reversed(t._inputs):
            if id(x) not in seen:
                stack.append((x, False))
    return order, slots
