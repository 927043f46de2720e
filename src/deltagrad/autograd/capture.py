"""Capture and replay of a fixed-shape training step: the same arithmetic without per-op overhead.

``step = deltagrad.capture_step(loss_fn)`` runs ``loss_fn(*inputs)`` eagerly once, with its
backward, and records the graph it built (ops, attributes, which leaves are the inputs and which
are parameters) and the order in which backward visited it. Every later ``step(*inputs)`` replays
that recording on raw arrays: the ops' own forwards in order, then their VJP rules in the
recorded backward order, accumulating into the parameters' ``.grad`` exactly as ``backward()``
would. No Tensor objects, no graph and no topological sort are made, so the Python cost per op
drops while the numbers stay bit-identical to the eager step.

Inputs may be integer tensors (token ids, class targets): while it records, the engine also
notes the ops whose results do not require grad (``ids.reshape(-1)``, ``targets[:, 1:]``), and
those that depend on an input or a parameter are replayed; index arrays in attributes
(``E[ids]``) are taken from the step's inputs.

Limits (checked): the step must build the same graph every time (same ops and shapes: a change
of input shape raises); tensors made inside the step other than by ops (constants, random masks
such as dropout's) are frozen at capture, so a capture whose frozen values depend on the inputs
or on randomness is refused, and so is one whose replay does not reproduce the eager step bit
for bit (checked once, on the first call's inputs). Only the loss is returned, as a Tensor
without a graph.

A replay runs no Python of the step's, so the capture also refuses (capture_state.py) a step
that reads Python values from tensors (``.item()``, ``if x.sum() > 0``), draws random numbers,
changes the buffers, parameters or plain attributes of the modules it reaches outside ops
(``self.count += 1``), or has hooks; each error names what it found. State that a node changes
on purpose (the batch norms' running statistics and ``num_batches_tracked``, with the
cumulative-average factor recomputed each time) is updated by every replay as by the eager
step. Ops on module buffers are replayed, not frozen (buffers change between steps), and a
step whose modules switched between ``train()`` and ``eval()`` since the capture is captured
again. Optimizers, schedulers and gradient clipping run outside the step, as eagerly.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np

from .._engine import autograd as _autograd
from .._engine.api.sparse import gradient_leaf
from .._engine.autograd import ShapeError, _accumulate_leaf, _GradMode, _Recording, _reduce_to
from .._engine.ops import ARRAY, OPS
from .._engine.ops.registry import ELEMENTWISE, EXACT
from .._engine.promotion import common
from .._engine.random import get_rng_state, set_rng_state
from .._engine.tensor import Tensor, _float32_unless_float64, _leaf, float64
from .capture_state import StepWatch, ValueReads, declared_state, restoring
from .function import FunctionCtx

__all__ = ["CapturedStep", "capture_step"]

# The ops the arithmetic operators apply after PyTorch's promotion (tensor._binary): a replay
# promotes their inputs the same way where the recorded dtypes differ.
_PROMOTED = frozenset(OPS[name] for name in ("add", "sub", "mul", "div", "pow"))
_CAST = OPS["cast"]  # its float64 result stays float64 (apply skips the float32 fix-up)


def capture_step(loss_fn) -> CapturedStep:
    """Wrap ``loss_fn(*inputs) -> scalar loss`` so that calls after the first replay it.

    Each call computes the loss and accumulates the gradients of every parameter (leaf that
    requires grad) into ``.grad``, like ``loss_fn(*inputs).backward()``; it returns the loss.

    Args:
        loss_fn: the step, a function of tensors (or arrays) of fixed shapes and dtypes; its
            parameters are the leaves that require grad it reaches.

    Returns:
        A ``CapturedStep``: call it as ``loss_fn``.

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
        # [(op, input slots, attrs, needs, output slot, refs)] in forward order; refs are
        # (attribute, position in it or None, slot) for arrays taken from the step's values
        self._nodes = None
        self._order = None  # node indices in the order backward visited them
        self._leaves = None  # [(slot, tensor)] parameters that take gradients
        self._constants = None  # {slot: array} frozen leaves
        self._inputs = None  # slot of each positional input (None if unused)
        self._signature = None
        self._loss_slot = None
        self._watch = None  # the reachable modules and their state (capture_state.StepWatch)
        self._watch_arrays = frozenset()  # ids of their buffers' arrays

    def __call__(self, *inputs) -> Tensor:
        arrays = [x._data if isinstance(x, Tensor) else np.asarray(x) for x in inputs]
        signature = tuple((a.shape, a.dtype.str) for a in arrays)
        if self._nodes is None or self._watch.modes_changed():  # (train/eval: a new graph)
            return self._capture(arrays, signature)
        if signature != self._signature:
            raise ShapeError(
                f"capture_step: recorded for inputs {self._signature}, called with {signature}; "
                "capture a new step for new shapes"
            )
        return self._replay(arrays)

    # ---------------------------------------------------------------------------- capture

    def _capture(self, arrays, signature) -> Tensor:
        self._nodes = None
        watch = StepWatch(self.loss_fn)
        tensors = [_leaf(a) for a in arrays]
        reads = []
        loss, notes = _record(self.loss_fn, tensors, reads)
        self._watch_arrays = watch.state_arrays()
        if not isinstance(loss, Tensor) or loss._data.size != 1 or not loss.requires_grad:
            raise ValueError("capture_step: the function must return a one-element Tensor that "
                             "requires grad")
        nodes, slots = _walk(loss, tensors, notes, watch.state_arrays())
        records = _records(nodes, slots)
        node_ids = {id(node[0]) for node in nodes}
        input_ids = {id(t): i for i, t in enumerate(tensors)}
        self._inputs = [None] * len(tensors)
        self._constants, self._leaves = {}, []
        for slot, t in enumerate(slots):
            if id(t) in node_ids:
                continue
            if id(t) in input_ids:
                self._inputs[input_ids[id(t)]] = slot
            elif t._rg:
                self._leaves.append((slot, t))
            else:
                self._constants[slot] = t._data
        self._nodes = records
        self._loss_slot = 0  # the walk starts at the loss
        self._signature = signature
        try:
            eager = self._eager_backward(loss, slots)
            _check_reads(reads)
            state = declared_state(records)  # changed by nodes, in every replay too
            _check_state(watch, state)
            self._plan(slots)
            with restoring(state):  # (the checking runs leave the state as eager left it)
                self._check_replayable(arrays, slots)
            with restoring(state):
                self._check_bit_identical(arrays, loss, eager)
            _check_hooks(watch, slots)
        except BaseException:
            self._nodes = None
            raise
        self._watch = watch
        return loss.detach()

    def _eager_backward(self, loss, slots) -> dict:
        """``loss.backward()``, noting the order it visits the nodes; returns the parameters'
        gradients from this backward alone ({slot: Tensor}), which are also accumulated into
        ``.grad`` as the eager step would."""
        index = {id(t): i for i, t in enumerate(slots)}
        node_of_slot = {record[4]: n for n, record in enumerate(self._nodes)}
        order = []
        recorder = _OrderRecorder(order, index, node_of_slot)
        before = [(tensor, tensor.grad) for _, tensor in self._leaves]
        for tensor, _ in before:
            tensor.grad = None
        previous, _autograd.tracer = _autograd.tracer, recorder
        fresh = {}
        try:
            loss.backward()
            fresh = {slot: tensor.grad for slot, tensor in self._leaves}
        finally:
            _autograd.tracer = previous
            try:  # put back what .grad held, plus this backward's gradient, as eager does
                for (tensor, old), slot in zip(before, [slot for slot, _ in self._leaves]):
                    new = fresh.get(slot)
                    tensor.grad = old if old is not None else new
                    if old is not None and new is not None:
                        _accumulate_leaf(tensor, new._data, False, gradient_leaf)
            finally:
                _autograd._stored.clear()
        self._order = order
        return fresh

    def _check_replayable(self, arrays, slots) -> None:
        """Refuse a step whose frozen values depend on its inputs or on randomness.

        The step runs once more on shifted inputs (each input's values rolled by one place,
        which keeps them valid as indices), with the default generator restored afterwards; a
        constant or an attribute that comes out different would be replayed wrong (targets
        turned into arrays inside a loss, as label smoothing does; dropout masks), so the
        capture is refused.
        """
        state = get_rng_state()
        try:
            probe = [_leaf(np.roll(a.reshape(-1), 1).reshape(a.shape)) for a in arrays]
            loss, notes = _record(self.loss_fn, probe)
            nodes, probe_slots = _walk(loss, probe, notes, self._watch_arrays)
        finally:
            set_rng_state(state)
        records = _records(nodes, probe_slots)
        same = len(records) == len(self._nodes) and len(probe_slots) == len(slots) and all(
            _same_node(mine, theirs) for mine, theirs in zip(self._nodes, records))
        if same:
            node_ids = {id(node[0]) for node in nodes}
            for slot, value in self._constants.items():
                other = probe_slots[slot]
                if id(other) in node_ids or other._rg or not _same(other._data, value):
                    same = False
                    break
        if not same:
            raise ValueError(
                "capture_step: this step builds tensors outside ops from its inputs or from "
                "randomness (for example targets made into arrays inside a loss, as "
                "cross_entropy with label smoothing or class weights does, or dropout masks); "
                "a replay would freeze them. Run it eagerly, or pass such tensors in as inputs."
            )

    def _check_bit_identical(self, arrays, loss, eager) -> None:
        """Replay the captured call's own inputs and refuse the capture unless the loss and
        every gradient equal the eager step's bit for bit."""
        value, grads = self._run(arrays)
        wrong = [] if _same_bits(value, loss._data) else ["the loss"]
        for slot, tensor in self._leaves:
            got, want = grads[slot], eager.get(slot)
            if (got is None) != (want is None) or (
                    got is not None and not _same_bits(_dense(got), _dense(want._data))):
                wrong.append(f"the gradient of a parameter of shape {tuple(tensor.shape)}")
        if wrong:
            raise ValueError(
                f"capture_step: a replay of this step does not reproduce {', '.join(wrong)} bit "
                "for bit (an op whose result depends on how it was called, or a hook that "
                "changes gradients); run it eagerly"
            )

    # ---------------------------------------------------------------------------- replay

    def _plan(self, slots) -> None:
        """Precompute what replay needs per node, from the shapes fixed at capture.

        Forward: (forward, take, attributes, output slot, op, extra), where ``take`` gets the
        node's inputs from the step's values (``_taker``) and extra is None for most nodes,
        else (node, input slots, refs, promote): attributes that take this step's arrays, and
        PyTorch's promotion of the inputs (as the arithmetic operators do).
        Backward, in the recorded order: (rule, op name, output slot, take, attributes,
        targets, dynamic) where each target is (position, slot, shape to sum back to, dtype to
        cast to, whether to check): the engine's per-gradient shape and dtype checks, settled
        once (none where the op promises them, ``Op.exact``, as in the eager sweep); dynamic
        is (node, needs) for nodes whose attributes come from the forward pass of the replay.
        """
        self._n_slots = len(slots)
        shapes = {i: t._data.shape for i, t in enumerate(slots)}
        dtypes = {i: t._data.dtype for i, t in enumerate(slots)}
        forward = []
        for n, (op, ins, attrs, _needs, out, refs) in enumerate(self._nodes):
            promote = (op in _PROMOTED and len(ins) == 2
                       and dtypes[ins[0]] != dtypes[ins[1]])
            extra = (n, ins, refs, promote) if refs or promote else None
            forward.append((op.forward, _taker(ins), attrs or None, out, op, extra))
        self._forward = forward
        backward = []
        for n in self._order:
            op, ins, attrs, needs, out, refs = self._nodes[n]
            exact = op.exact == EXACT or (
                op.exact == ELEMENTWISE and len(ins) == 2 and shapes[ins[0]] == shapes[ins[1]]
                and dtypes[ins[0]] == dtypes[ins[1]])
            targets = []
            for position, (slot, need) in enumerate(zip(ins, needs)):
                if need:
                    targets.append((position, slot, shapes[slot], dtypes[slot], not exact))
            kwargs = dict(attrs)
            if op.wants_needs:
                kwargs["needs"] = needs
            dynamic = (n, needs if op.wants_needs else None) if refs else None
            backward.append((op.vjp, op.name, out, _taker(ins), kwargs or None, tuple(targets),
                             dynamic))
        self._backward = backward

    def _run(self, arrays) -> tuple:
        """The step on arrays: (the loss array, the gradients by slot), with grad mode off as
        in the eager backward (Function rules compute with tensors)."""
        previous = _GradMode.enabled
        _GradMode.enabled = False
        try:
            return self._run_arrays(arrays)
        finally:
            _GradMode.enabled = previous

    def _run_arrays(self, arrays) -> tuple:
        values = [None] * self._n_slots
        for slot, value in self._constants.items():
            values[slot] = value
        for slot, array in zip(self._inputs, arrays):
            if slot is not None:
                values[slot] = array
        for slot, tensor in self._leaves:
            values[slot] = tensor._data
        dynamic = {}  # node -> its attributes with this step's arrays in place
        for forward, take, attrs, out, op, extra in self._forward:
            if extra is None:
                if attrs is None:
                    data = forward(*take(values))
                else:
                    data = forward(*take(values), **attrs)
            else:
                n, ins, refs, promote = extra
                xs = [values[i] for i in ins]
                if refs:
                    attrs = dynamic[n] = _substitute(attrs, refs, values)
                if promote:
                    xs = common(*xs)
                data = forward(*xs, **attrs) if attrs else forward(*xs)
            if type(data) is not np.ndarray:
                data = np.asarray(data)
            if data.dtype is float64 and op is not _CAST:
                data = _float32_unless_float64(data, [_Shape(x) for x in take(values)])
            values[out] = data
        grads = [None] * self._n_slots
        loss_slot = self._loss_slot
        grads[loss_slot] = np.ones_like(values[loss_slot])
        for vjp, name, out, take, kwargs, targets, node in self._backward:
            g = grads[out]
            grads[out] = None
            if g is None:
                continue
            if node is not None:
                kwargs = dict(dynamic[node[0]])
                if node[1] is not None:
                    kwargs["needs"] = node[1]
            if kwargs is None:
                result = vjp(ARRAY, g, values[out], *take(values))
            else:
                result = vjp(ARRAY, g, values[out], *take(values), **kwargs)
            for position, slot, shape, dtype, check in targets:
                gx = result[position]
                if gx is None:
                    continue
                if check:
                    if gx.shape != shape:
                        gx = _reduce_to(ARRAY, gx, shape, name)
                    if gx.dtype is not dtype and gx.dtype != dtype:
                        gx = gx.astype(dtype)
                pending = grads[slot]
                grads[slot] = gx if pending is None else pending + gx
        return values[loss_slot], grads

    def _replay(self, arrays) -> Tensor:
        loss, grads = self._run(arrays)
        try:
            for slot, tensor in self._leaves:
                g = grads[slot]
                if g is not None:
                    _accumulate_leaf(tensor, g, False, gradient_leaf)
        finally:
            _autograd._stored.clear()
        return _leaf(loss)


def _check_state(watch, declared) -> None:
    """Refuse a step that changed what its ops do not (a replay would not change it again)."""
    changed = watch.changes(declared)
    if changed:
        raise ValueError(
            "capture_step: this step changes state outside ops, which a replay (its ops "
            f"alone) would not change again: {'; '.join(changed)}. Run it eagerly (or make "
            "the change outside the step)."
        )


def _check_reads(reads) -> None:
    """Refuse a step that reads Python values from tensors (they may change between steps)."""
    if reads:
        raise ValueError(
            "capture_step: this step reads Python values from tensors "
            f"({', '.join(dict.fromkeys(reads))}); a replay runs no Python of the step's, so a "
            "branch or number taken from them would stay as it was at capture. Run it "
            "eagerly, or keep such reads out of the step."
        )


def _check_hooks(watch, slots) -> None:
    """Refuse a step with hooks: a replay runs no Python of the step's, hooks included."""
    found = [f"module {name}" for name in watch.hooks()]
    if any(t._hooks is not None for t in slots):
        found.append("a tensor of the step (register_hook or retain_grad)")
    if _autograd.post_accumulate_hooks and any(
            id(t) in _autograd.post_accumulate_hooks for t in slots):
        found.append("a parameter (register_post_accumulate_grad_hook)")
    if found:
        raise ValueError(
            f"capture_step: hooks on {', '.join(found)} would not run in a replay; remove them "
            "or run the step eagerly"
        )


def _taker(slots):
    """A function of the step's values giving the values at ``slots``, as a tuple
    (``operator.itemgetter``: 0.11 against 0.27 us for a list comprehension, twice a node)."""
    if len(slots) == 1:
        get = itemgetter(slots[0])
        return lambda values: (get(values),)
    if not slots:
        return lambda values: ()
    return itemgetter(*slots)


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


def _record(loss_fn, tensors, reads: list | None = None) -> tuple:
    """``loss_fn(*tensors)`` with the engine noting the results that do not require grad;
    with a list ``reads``, the Python values read from tensors are noted in it."""
    previous = _Recording.notes
    notes = _Recording.notes = {}
    try:
        if reads is None:
            loss = loss_fn(*tensors)
        else:
            with ValueReads(Tensor) as watch:
                loss = loss_fn(*tensors)
            reads.extend(watch.found)
    finally:
        _Recording.notes = previous
    return loss, notes


def _attr_arrays(attrs):
    """(attribute, position in a tuple or None, array) for each array among ``attrs``."""
    for key, value in attrs.items():
        if type(value) is np.ndarray:
            yield key, None, value
        elif type(value) is tuple:
            for position, item in enumerate(value):
                if type(item) is np.ndarray:
                    yield key, position, item


def _walk(root, inputs, notes, state=frozenset()):
    """The step's dataflow from ``root``: (nodes, slots).

    ``nodes`` in forward (topological) order, each ``(tensor, op, inputs, attrs, refs)`` with
    refs ``[(attribute, position, tensor)]`` for attribute arrays that are a varying tensor's
    values; ``slots`` lists every tensor seen. Nodes are the graph's op nodes and the noted
    results that depend on an input, a parameter, a node or a module's state (``state``: ids
    of buffers' arrays, which change between steps; the rest stay frozen leaves).
    Iterative depth-first post-order: a node is listed after everything it reads.
    """
    input_ids = {id(t) for t in inputs}
    by_data = {}  # id(array) -> the varying tensor holding it (inputs, live noted results)
    live = {}
    for key, (out, op, ins, attrs) in notes.items():  # (in creation order)
        if attrs:
            refs = [(k, p, by_data[id(a)]) for k, p, a in _attr_arrays(attrs) if id(a) in by_data]
        else:
            refs = []
        if refs or any(id(x) in input_ids or x._rg or id(x) in live or id(x._data) in state
                       for x in ins):
            live[key] = (op, ins, attrs or {}, refs)
            by_data.setdefault(id(out._data), out)
    for t in inputs:
        by_data[id(t._data)] = t

    def node_of(t):
        if t._op is not None:
            if t._inputs is None:
                raise ValueError("capture_step: the graph was already freed by a backward()")
            attrs = t._attrs or {}
            refs = [(k, p, by_data[id(a)]) for k, p, a in _attr_arrays(attrs)
                    if id(a) in by_data] if attrs else []
            return t._op, t._inputs, attrs, refs
        return live.get(id(t))

    order, seen, slots = [], set(), []
    stack = [(root, None)]
    while stack:
        t, spec = stack.pop()
        if spec is not None:
            order.append((t, *spec))
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        slots.append(t)
        spec = node_of(t)
        if spec is None:
            continue
        stack.append((t, spec))
        for x in reversed([*spec[1], *(ref[2] for ref in spec[3])]):
            if id(x) not in seen:
                stack.append((x, None))
    return order, slots


def _records(nodes, slots) -> list:
    """The nodes by slot: [(op, input slots, attrs, needs, output slot, refs by slot)]."""
    index = {id(t): i for i, t in enumerate(slots)}
    return [(op, tuple(index[id(x)] for x in ins), attrs, tuple(x._rg for x in ins), index[id(t)],
             tuple((k, p, index[id(x)]) for k, p, x in refs))
            for t, op, ins, attrs, refs in nodes]


def _substitute(attrs, refs, values) -> dict:
    """``attrs`` with the referenced arrays replaced by this step's ``values``."""
    attrs = dict(attrs)
    for key, position, slot in refs:
        if position is None:
            attrs[key] = values[slot]
        else:
            items = list(attrs[key])
            items[position] = values[slot]
            attrs[key] = tuple(items)
    return attrs


def _same_node(mine, theirs) -> bool:
    """Whether two recordings of a node agree (attributes compared where not taken from the
    step's values)."""
    op, ins, attrs, needs, out, refs = mine
    if (op is not theirs[0] or ins != theirs[1] or needs != theirs[3] or out != theirs[4]
            or refs != theirs[5]):
        return False
    blank = [(key, position, 0) for key, position, _ in refs]
    return _same(_substitute(attrs, blank, [None]), _substitute(theirs[2], blank, [None]))


def _same(a, b) -> bool:
    """Structural equality of recorded values (arrays by dtype, shape and values)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, FunctionCtx):  # one per call of a Function: the same call, recorded again
        return a._function is b._function and _same(
            (a._template, a._kwargs, a.needs_input_grad),
            (b._template, b._kwargs, b.needs_input_grad))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _dense(g):
    return g.to_dense() if getattr(g, "is_row_sparse", False) else np.asarray(g)


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
