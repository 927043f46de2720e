"""The backward pass: grad mode, the iterative reverse-topological sweep, and its errors.

Backpropagation as CS224N Lecture 4 draws it: the error signal δ starts at the output as 1 (or
the given gradient), each node multiplies the upstream gradient by its local gradient (its VJP
rule, in ``_ops``) and sends the result down to its inputs; where a value fans out to several
consumers the gradients arriving from them add up. Every node is visited once, after all its
consumers, so backward costs the same order as forward.

The order is found without recursion, in two passes over the graph (HIPS autograd's scheme):
the first counts, for every node that needs a gradient, how many consumers will send it one; the
second starts from the outputs and processes a node as soon as its count drops to zero. Each
node's pending gradient lives on the node itself and is dropped as soon as it has been used.

The graph nodes are the Tensors themselves (``_op``, ``_inputs``, ``_attrs``); this module only
reads those fields; the tensor module passes in what the sweep makes Tensors with.
"""

from __future__ import annotations

import functools
import itertools
import os
import traceback

import numpy as np

from .buffers import MIN_BYTES as _RECYCLE_MIN_BYTES
from .buffers import give as _recycle
from .ops import ARRAY
from .sparse import add_rows_at
from .versions import _rebound, _tainted, check_saved, latest, resolve

__all__ = [
    "AnomalyError",
    "GraphError",
    "ShapeError",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "run_backward",
    "set_grad_enabled",
    "detect_anomaly",
    "set_detect_anomaly",
    "is_anomaly_enabled",
]


class ShapeError(RuntimeError, ValueError):
    """Shapes that an op cannot combine (broadcasting, matmul, a gradient of the wrong shape)."""


class GraphError(RuntimeError):
    """Misuse of the graph: backward through a freed graph, or on something without one."""


class AnomalyError(FloatingPointError):
    """A NaN or infinity appeared in forward or backward while anomaly detection was on."""


# Tracebacks name the errors where users import them from, not the engine's private module.
ShapeError.__module__ = GraphError.__module__ = AnomalyError.__module__ = "deltagrad"


class _GradMode:
    enabled = True


class _InferenceMode:
    """``enabled`` inside ``inference_mode()`` (autograd/grad_mode.py); ``marking`` from the
    first time it is entered on, so that results that do not require grad are checked by
    ``mark_inference`` (one test each until then)."""

    enabled = False
    marking = False


def mark_inference(out, inputs) -> None:
    """PyTorch's inference tensors (the Tensor slot ``_inference``, read by ``is_inference``):
    inside inference_mode every new tensor but a view of a normal tensor is one; outside, a view
    of one is one. (Nothing that requires grad is made inside, or is a view of one.)"""
    data = out._data
    view = bool(inputs) and (data.base is not None or inputs[0]._data is data)
    if _InferenceMode.enabled:
        if view:
            for x in inputs:
                if not getattr(x, "_inference", False) and np.may_share_memory(data, x._data):
                    return
        out._inference = True
    elif view:
        for x in inputs:
            if getattr(x, "_inference", False) and np.may_share_memory(data, x._data):
                out._inference = True
                return


class _Anomaly:
    enabled = False


class _Recording:
    """While ``capture_step`` records a step, ``notes`` is a dict that every op result which
    does not require grad is noted in (``{id(out): (out, op, inputs, attrs)}``): such results
    (integer ids and targets reshaped or indexed, masks made under no_grad) are otherwise leaves,
    and a replay must recompute them from the step's new inputs. ``None`` otherwise: the ops
    pay one test, in the branch of results that do not require grad."""

    notes = None


class _Counters:
    """Graph nodes created by ops and freed by backward (read by the leak check in _memory).

    One instance, ``_counters``: incrementing an attribute of a class costs about 110 ns (it
    invalidates the type's attribute cache), of a slotted instance about 30, and ops count
    every node they make.
    """

    __slots__ = ("created", "freed")

    def __init__(self):
        self.created = 0
        self.freed = 0


_counters = _Counters()


def is_anomaly_enabled() -> bool:
    """Whether NaN/inf checking (``detect_anomaly``) is on."""
    return _Anomaly.enabled


class _SwitchContext:
    """Sets a switch (``switch.enabled``) for a ``with`` block; also a function decorator."""

    switch = None  # the class whose ``enabled`` flag this context sets
    mode = True

    def __enter__(self):
        self._previous = self.switch.enabled
        self.switch.enabled = self.mode
        return self

    def __exit__(self, *exc):
        self.switch.enabled = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self._copy():
                return function(*args, **kwargs)

        return wrapper

    def _copy(self):
        return self.__class__()


class detect_anomaly(_SwitchContext):  # noqa: N801 - PyTorch's name
    """Raise at the first op whose forward output or backward gradient holds NaN or inf.

    While on, every op also records where in user code it was created, and the error names that
    place. It costs a finiteness check per op (and a stack capture), so it is a debugging mode;
    off, the engine pays one flag test per op.

    >>> import numpy as np
    >>> import deltagrad as dg
    >>> x = dg.tensor([-1.0], requires_grad=True)
    >>> with dg.detect_anomaly(), np.errstate(invalid="ignore"):
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    deltagrad.AnomalyError: forward of op 'log' produced nan ...
    """

    switch = _Anomaly

    def __init__(self, check_nan: bool = True):
        self.mode = check_nan

    def _copy(self):
        return detect_anomaly(self.mode)


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly detection on or off globally (``detect_anomaly`` as a flag)."""
    _Anomaly.enabled = bool(mode)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # deltagrad/


def _user_frames():
    """The call stack outside deltagrad itself, innermost last (where the user made the op)."""
    frames = traceback.extract_stack()
    outside = [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    return outside or frames[-1:]


def _where(frames) -> str:
    if not frames:
        return "  (location unknown)"
    return "".join(traceback.format_list(frames[-3:])).rstrip()


def _bad_values(array) -> str | None:
    data = getattr(array, "values", array) if getattr(array, "is_row_sparse", False) else array
    data = getattr(data, "_data", data) if not isinstance(data, np.ndarray) else data
    data = np.asarray(data)
    if data.dtype.kind not in "fc" or np.isfinite(data).all():
        return None
    return "nan" if np.isnan(data).any() else "inf"


def check_forward(out, op, inputs) -> None:
    """Anomaly mode's forward check; records where ``out`` was created."""
    frames = _user_frames()
    out._origin = frames
    bad = _bad_values(out._data)
    if bad is not None:
        bad_inputs = [i for i, x in enumerate(inputs) if _bad_values(x._data) is not None]
        cause = (f"; input(s) {bad_inputs} already held nan/inf" if bad_inputs
                 else "; its inputs were finite, so this op is where it starts")
        raise AnomalyError(
            f"forward of op '{op.name}' produced {bad} (output shape {out._data.shape}, input "
            f"shapes {', '.join(str(x._data.shape) for x in inputs)}){cause}. Created at:\n"
            f"{_where(frames)}"
        )


def _check_backward(node, grads) -> None:
    for position, gx in enumerate(grads):
        if gx is None:
            continue
        bad = _bad_values(gx)
        if bad is not None:
            raise AnomalyError(
                f"backward of op '{node._op.name}' produced {bad} in the gradient for its input "
                f"{position} (shape {node._inputs[position]._data.shape}). The op was created "
                f"at:\n{_where(getattr(node, '_origin', None))}"
            )


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for differentiation."""
    return _GradMode.enabled


class _GradModeContext(_SwitchContext):
    """Base of the grad-mode context managers."""

    switch = _GradMode

    def __new__(cls, *args):
        # PyTorch also takes the bare class as a decorator: `@no_grad` without parentheses.
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (or decorator) in which operations record no graph.

    >>> import deltagrad as dg
    >>> x = dg.ones(2, requires_grad=True)
    >>> with dg.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (or decorator) that turns recording back on inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Set grad mode on or off; usable as a plain call or as a context manager."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, function):
        raise TypeError("set_grad_enabled is not a decorator; use no_grad or enable_grad")


_generation = itertools.count(1)

# Observers of the backward pass (see deltagrad.trace): None when nobody is watching, so that
# the ordinary path pays one comparison per node.
tracer = None


def _freed_error(node) -> GraphError:
    return GraphError(
        f"trying to backward through the graph a second time: the buffers of op "
        f"'{node._op.name}' (output shape {tuple(node._data.shape)}) were freed after the first "
        "backward. Pass retain_graph=True to the first backward() if you need to call it again."
    )


_running: list = []  # generations of the sweeps in progress (a Function's backward may sweep)


def _count_consumers(roots, generation):
    """Pass 1: mark every node reachable from ``roots`` that needs a gradient; count consumers.

    Returns the nodes an outer sweep had marked, with their state (see _count_nested), or None.
    """
    if _running:
        return _count_nested(roots, generation, set(_running))
    stack = []
    for root in roots:
        if root._mark != generation:
            root._mark = generation
            root._pending = 0
            stack.append(root)
    while stack:
        node = stack.pop()
        inputs = node._inputs
        if inputs is None:
            if node._op is not None:
                raise _freed_error(node)
            continue
        for x in inputs:
            if x._rg:
                if x._mark == generation:
                    x._pending += 1
                else:
                    x._mark = generation
                    x._pending = 1
                    stack.append(x)
    return None


def _count_nested(roots, generation, running):
    """``_count_consumers`` for a sweep inside another (a custom Function whose backward runs
    backward, as activation checkpointing does). The engine keeps a sweep's bookkeeping on the
    nodes, so a node the outer sweep is still working on (a weight used inside and outside)
    has its mark, pending count and partial gradient set aside here and put back when this
    sweep ends; without that, its outer gradient would be lost."""
    displaced = []
    stack = []

    def mark(x, pending):
        if x._mark in running:
            displaced.append((x, x._mark, x._pending, x._g))
            x._g = None
        x._mark = generation
        x._pending = pending

    for root in roots:
        if root._mark != generation:
            mark(root, 0)
            stack.append(root)
    while stack:
        node = stack.pop()
        inputs = node._inputs
        if inputs is None:
            if node._op is not None:
                raise _freed_error(node)
            continue
        for x in inputs:
            if x._rg:
                if x._mark == generation:
                    x._pending += 1
                else:
                    mark(x, 1)
                    stack.append(x)
    return displaced


def _reduce_plan(g_shape, shape, op_name):
    """``(axes, keepdims)`` that sum a gradient of ``g_shape`` back to ``shape`` (then a reshape
    to ``shape`` is free), or a ShapeError naming ``op_name`` when it does not broadcast."""
    lead = len(g_shape) - len(shape)
    if lead < 0:
        raise ShapeError(
            f"{op_name}: gradient of shape {tuple(g_shape)} cannot be reduced to the input shape "
            f"{tuple(shape)}"
        )
    inner = []
    for i, n in enumerate(shape):
        m = g_shape[lead + i]
        if m != n:
            if n != 1:
                raise ShapeError(
                    f"{op_name}: its VJP rule produced a gradient of shape {tuple(g_shape)}, "
                    f"which does not broadcast to the input shape {tuple(shape)}"
                )
            inner.append(lead + i)
    # Leading axes alone: summed without keepdims the result already has ``shape``.
    return tuple(range(lead)) + tuple(inner), bool(inner)


_plans: dict = {}  # (gradient shape, input shape) -> _reduce_plan's result
_PLANS_MAX = 4096  # shapes seen; cleared when full (programs with ever-new shapes)


def _reduce_to(F, g, shape, op_name):
    """Sum a broadcast gradient back to ``shape`` (the engine's one place for this).

    The axes are worked out once per pair of shapes, and on arrays the sum is one
    ``np.add.reduce``: 1.1 against 2.4 us for [8, 8] -> [8], 1.9 against 3.0 for
    [4, 8, 8] -> [8, 1] (W2-model reduces 80 gradients a step).
    """
    g_shape = g.shape
    key = (g_shape, shape)
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) >= _PLANS_MAX:
            _plans.clear()
        plan = _plans[key] = _reduce_plan(g_shape, shape, op_name)
    axes, keepdims = plan
    if F is ARRAY and type(g) is np.ndarray:
        g = np.add.reduce(g, axis=axes, keepdims=keepdims) if axes else g
        return g if g.shape == shape else g.reshape(shape)
    if axes:
        g = F.sum(g, axes, keepdims)
    return g if tuple(g.shape) == tuple(shape) else F.reshape(g, shape)


class _Sweep:
    """How many ``grad()`` sweeps (gradients returned, not accumulated) are running."""

    capturing = 0


def run_backward(roots, seeds, *, wrap, graph_ops, retain_graph=False, create_graph=False,
                 capture=None):
    """Push gradients from ``roots`` down the graph in one reverse-topological sweep.

    Args:
        roots: output Tensors, each requiring grad.
        seeds: their gradients (ndarrays; Tensors when ``create_graph``), shaped like the roots.
        wrap: makes a gradient leaf Tensor from an ndarray, or a sparse one from a
            ``RowSparseGrad`` (what ``.grad`` and hooks receive).
        graph_ops: the Tensor namespace that rules compute with when ``create_graph`` (each of
            its functions records an op, so the backward pass can itself be differentiated).
        retain_graph: keep the graph's links so that backward can run through it again.
        create_graph: record the backward computation itself, for higher derivatives.
        capture: ``None`` to accumulate into the ``.grad`` of leaves (``Tensor.backward``), or a
            dict ``{id(tensor): slot}`` whose gradients are returned in a list instead, leaving
            every ``.grad`` untouched (``deltagrad.grad``).

    Returns:
        The captured gradients (a list, ``None`` where nothing reached the tensor) when
        ``capture`` is given, else ``None``.
    """
    generation = next(_generation)
    if _rebound or _tainted:  # (two dict tests instead of a call: most programs have none)
        roots = resolve(roots)  # consumers of since-rebound tensors get the node they saw
    displaced = _count_consumers(roots, generation)
    # Only nodes made before the newest in-place change can have had a saved value changed:
    # one comparison per node. With the node serial (_result) and the dtype test (_binary):
    # W2 +0.1-0.6% (best of 200 blocks, against the tree without them; ab.py's medians, 0.94-1.03,
    # are within this shared machine's noise).
    stale = latest.stamp
    captured = [None] * len(capture) if capture is not None else None

    if len(roots) == 1:
        # One root (every backward()): no zips or duplicate tests. With backward()'s lean
        # entry: x.sum().backward() on 8 x 8, backward part 4.70 -> 4.25 us (timeit, best of 9).
        root = roots[0]
        root._g = seeds[0] if root._g is None else root._g + seeds[0]
        ready = [root] if root._pending == 0 else []
    else:
        ready = []
        for root, seed in zip(roots, seeds):
            if root._g is None:
                root._g = seed
            else:
                root._g = root._g + seed
        for root in roots:
            if root._pending == 0 and not any(r is root for r in ready):
                ready.append(root)

    F = graph_ops if create_graph else ARRAY
    watched = capture is not None or tracer is not None or _Anomaly.enabled
    ndarray = None if create_graph else np.ndarray  # large consumed gradients are recycled
    freed = 0
    previous_mode = _GradMode.enabled
    _GradMode.enabled = create_graph
    pop, push = ready.pop, ready.append
    if capture is not None:
        _Sweep.capturing += 1  # (read by code that cannot take part in a grad() sweep)
    _running.append(generation)
    try:
        while ready:
            node = pop()
            g = node._g
            node._g = None
            if g is None:  # every consumer sent None: nothing flows through this node
                _release(node, ready)
                continue
            if node._hooks is not None:
                g = _run_hooks(node, g, create_graph, wrap)
            op = node._op
            if watched and capture is not None:
                slot = capture.get(id(node))
                if slot is not None:
                    captured[slot] = g if create_graph else _own(g)
            if op is None:
                if capture is None:
                    _accumulate_leaf(node, g, create_graph, wrap)
                    if post_accumulate_hooks:  # (usually empty: one dict test per leaf)
                        for hook in tuple(post_accumulate_hooks.get(id(node), ())):
                            hook(node)
                continue
            if node._serial <= stale:
                check_saved(node)
            if node._retain and capture is None:
                node.grad = g if create_graph else wrap(_own(g))
            inputs = node._inputs
            attrs = node._attrs
            vjp = op.vjp
            arity = len(inputs)
            if not create_graph and 0 < arity < 3 and not op.wants_needs:
                # The hot cases, first-order rules of one or two inputs: a direct call, with the
                # attributes (reductions, reshape, softmax) or without (arithmetic). Calling
                # the rules with attributes directly too: W2-model's backward 4.37 -> 4.21 us/op.
                if arity == 1:
                    x = inputs[0]._data
                    if attrs is None:
                        grads = vjp(F, g, node._data, x)
                    else:
                        grads = vjp(F, g, node._data, x, **attrs)
                else:
                    a, b = inputs
                    if attrs is None:
                        grads = vjp(F, g, node._data, a._data, b._data)
                    else:
                        grads = vjp(F, g, node._data, a._data, b._data, **attrs)
            else:
                if create_graph:
                    xs = inputs
                    out = node
                else:
                    xs = [x._data for x in inputs]
                    out = node._data
                if op.wants_needs:
                    needs = tuple(x._rg for x in inputs)
                    if attrs:
                        grads = vjp(F, g, out, *xs, needs=needs, **attrs)
                    else:
                        grads = vjp(F, g, out, *xs, needs=needs)
                elif attrs:
                    grads = vjp(F, g, out, *xs, **attrs)
                else:
                    grads = vjp(F, g, out, *xs)
            if watched:
                if tracer is not None:
                    tracer.record(node, g, grads, create_graph)
                if _Anomaly.enabled:
                    _check_backward(node, grads)
            if type(g) is ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
                _recycle(g)  # kept for reuse only if nothing else holds it (see _buffers)
            for x, gx in zip(inputs, grads):
                if not x._rg:
                    continue
                if gx is not None:
                    data = x._data
                    if gx.shape != data.shape:
                        gx = _reduce_to(F, gx, data.shape, op.name)
                    if gx.dtype is not data.dtype and gx.dtype != data.dtype:
                        gx = F.cast(gx, data.dtype)
                    pending_g = x._g
                    x._g = gx if pending_g is None else pending_g + gx
                pending = x._pending - 1
                x._pending = pending
                if not pending:
                    push(x)
            if not retain_graph:
                node._inputs = None
                node._attrs = None
                freed += 1
    except BaseException:
        _clear_pending(roots, generation)
        raise
    finally:
        if capture is not None:
            _Sweep.capturing -= 1
        _running.pop()
        if displaced:  # this sweep ran inside another: give back the nodes it borrowed
            for node, mark, pending, g in displaced:
                node._mark, node._pending, node._g = mark, pending, g
        _GradMode.enabled = previous_mode
        _counters.freed += freed
        if not _running:  # (arrays handed to leaves stay theirs until the outermost ends)
            _stored.clear()
    return captured


def _run_hooks(node, g, create_graph, wrap):
    for hook in node._hooks:
        new = hook(g if create_graph else wrap(g))
        if new is not None:
            g = new if create_graph else new._data
    return g


def _release(node, ready):
    """A node that received no gradient still counts as done for each of its inputs."""
    if node._inputs is None:
        return
    for x in node._inputs:
        if x._rg:
            x._pending -= 1
            if x._pending == 0:
                ready.append(x)


def _own(g):
    """A writeable ndarray that nothing else aliases (broadcast views are read-only)."""
    if type(g) is not np.ndarray:
        return g.to_dense() if getattr(g, "is_row_sparse", False) else np.array(g)
    return g if g.flags.writeable else np.array(g)


_stored: set = set()  # ids of arrays handed to leaves in the current backward

# Tensor.register_post_accumulate_grad_hook (api/autograd_switches.py): {id(leaf): [hook, ...]},
# each hook called with the leaf after its .grad is updated by backward(); entries leave with
# their tensor.
post_accumulate_hooks: dict = {}


def _accumulate_leaf(leaf, g, create_graph, wrap):
    grad = leaf.grad
    if create_graph:
        leaf.grad = g if grad is None else grad + g
    elif type(g) is not np.ndarray and getattr(g, "is_row_sparse", False):
        # .grad is a sparse Tensor (from wrap) over the rows; its _data is the RowSparseGrad.
        stored = None if grad is None else grad._data
        if stored is None or getattr(stored, "is_row_sparse", False):
            # (rows concatenate until coalesced)
            leaf.grad = wrap(g if stored is None else stored + g)
        else:
            add_rows_at(stored, g.indices, g.values)
    elif grad is None:
        # A rule may send one array to several inputs (add sends g to both), and views of it
        # may travel on: a leaf takes a private copy unless the array is its own, so that
        # in-place accumulation or clipping of one .grad never shows in another.
        if type(g) is not np.ndarray or g.base is not None or id(g) in _stored or (
                not g.flags.writeable):  # (the flags object last: it is made on each read)
            g = np.array(g)
        _stored.add(id(g))
        leaf.grad = wrap(g)
    elif getattr(grad._data, "is_row_sparse", False):
        leaf.grad = wrap(g + grad._data)
    elif grad._data.flags.writeable and grad._data.shape == g.shape:
        np.add(grad._data, g, out=grad._data)  # accumulate in place, as PyTorch does
    else:
        grad._data = grad._data + g


def _clear_pending(roots, generation):
    """After an error mid-sweep, drop half-accumulated gradients so nothing stale survives."""
    stack = list(roots)
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        node._g = None
        node._pending = 0
        if node._inputs is not None:
            stack.extend(x for x in node._inputs if x._rg)
