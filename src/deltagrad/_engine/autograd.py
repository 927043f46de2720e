"""The backward pass: the iterative reverse-topological sweep and its errors.

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
reads those fields; the tensor module passes in what the sweep makes Tensors with. Grad mode,
anomaly mode and the other switches live in ``modes`` and are re-exported here.
"""

from __future__ import annotations

import itertools
from heapq import heappop, heappush

import numpy as np

from .broadcast_grads import (  # noqa: F401 - re-exported (capture, check_graph, tests)
    _DOT_MAX,
    _PLANS_MAX,
    _cast,
    _dots,
    _fit,
    _plans,
    _reduce_to,
)
from .buffers import MIN_BYTES as _RECYCLE_MIN_BYTES
from .buffers import give as _recycle
from .errors import DTypeError, GraphError, ShapeError  # noqa: F401 - re-exported
from .errors import freed_error as _freed_error
from .graph_walks import _clear_pending, _count_for_grad, _count_nested, _on_paths
from .leaf_grads import (  # noqa: F401 - re-exported (capture, api/backward, switches)
    _accumulate_leaf,
    _finish_leaves,
    _node_hooks,
    _own,
    _retained,
    _stored,
    post_accumulate_hooks,
)
from .meta import MetaArray, meta_vjp
from .modes import (  # noqa: F401 - re-exported: the engine imports the switches from here
    AnomalyError,
    _Anomaly,
    _check_backward,
    _GradMode,
    _GradModeContext,
    _InferenceMode,
    _Recording,
    _SwitchContext,
    check_forward,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    mark_inference,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .one_node import keep_base as _keep_base
from .one_node import kept_one, leaf_inputs, newly_kept, sweep_one
from .ops import ARRAY, OPS
from .ops.elementwise_math import ERR_STATE, IGNORE_ALL
from .ops.registry import CHECKED, ELEMENTWISE, EXACT
from .ops.shape import _INVERSE as _PERMUTE_INVERSE
from .tensor_hooks import prehooks_start, run_hooks
from .versions import (
    _SAVES_NOTHING,
    _rebound,
    _tainted,
    check_saved,
    latest,
    resolve,
    unsaved_graph,
)

__all__ = ["AnomalyError", "GraphError", "ShapeError", "enable_grad", "is_grad_enabled", "no_grad",
           "run_backward", "set_grad_enabled", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled"]

# NumPy's floating-point warnings off around each sweep (bound once: 0.02 us a call less).
_quiet, _unquiet = ERR_STATE.set, ERR_STATE.reset


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


_generation = itertools.count(1)
_ndarray = np.ndarray

# Observers of the backward pass (see deltagrad.trace): None when nobody is watching, so that
# the ordinary path pays one comparison per node.
tracer = None


_running: list = []  # generations of the sweeps in progress (a Function's backward may sweep)

# Five rules the plain sweep (`_sweep`) applies itself, without calling them:
# - `x - y`: g goes to x and is subtracted from y's pending gradient instead of making -g
#   first (pending + (-g) and pending - g are the same IEEE number, and a sum of negated
#   terms is the negated sum, so a broadcast y's gradient is the same too): one ufunc and one
#   array fewer a subtraction. W2 (50 a step) 0.964 of its time (ab.py w2 --cpu, 20 rounds);
#   the NaN sign bit of a NaN gradient is the only difference (not a value PyTorch fixes).
# - `x + y`: (g, g) without the rule's call: W2 0.995 (within noise; 50 a step).
# - `x * y`: the rule's two products without its call, and none for an input that needs no
#   gradient (`x * 0.5`'s constant): W2's backward (50 a step) 0.963 of its time, W2-model's
#   1.004 (real rules, thread time, alternated with the tree without it, 41 rounds); W2 as a
#   whole 0.992 (ab.py --cpu, 40 rounds).
# - reshape (view, flatten, unsqueeze): g.reshape(x.shape) without the call and its
#   **attrs: W2-model's backward (40 a step) 0.979 of its time (real rules, thread time,
#   alternated with the tree without it).
# - permute (transpose, t, movedim): g.transpose of the inverse dims that the rule cached on
#   its first call (ops/shape.py), without the call and its **attrs; and the node's attributes
#   and rule read only where a rule is called (not for these folds); with the shapes of a
#   broadcast gradient read once (below): W2-model's backward 0.983-0.993 of its time (medians
#   of 1,500 paired backwards, thread time, against session 23's tree), its whole step 0.986
#   (ab.py w2-model --cpu, 150 rounds), W2's 0.994 (100 rounds); a busy machine (load 9-10).
# `_sweep_watched` (and so capture_step's recording) calls the rules as written; the folds
# give the same values (tests/engine/test_s12_PC_sweep_folds.py compares both bit for bit).
_SUB, _ADD, _MUL, _RESHAPE = OPS["sub"], OPS["add"], OPS["mul"], OPS["reshape"]
_PERMUTE = OPS["permute"]


def _count_consumers(roots, generation, leaves=None):
    """Pass 1: mark every node reachable from ``roots`` that needs a gradient; count consumers.

    With a list ``leaves`` (the plain sweep's), the leaves reached are appended to it and their
    pending count is one more than their consumers, so that the sweep never makes them ready:
    it finishes them all once the graph is done (``_finish_leaves``). A node that
    finds one new input visits it next, without the stack (W2's count 27 -> 22 us a step).

    Returns the nodes an outer sweep had marked, with their state (see _count_nested), or None.
    """
    if _running:
        return _count_nested(roots, generation, set(_running))
    stack = []
    pop, push = stack.pop, stack.append
    for root in roots:
        if root._mark != generation:
            root._mark = generation
            root._pending = 0
            root._g = None
            push(root)
    defer = leaves is not None
    after = None  # the next node to visit, when the last one found it (no push and pop)
    while True:
        if after is not None:
            node = after
            after = None
        elif stack:
            node = pop()
        else:
            return None
        inputs = node._inputs
        if inputs is None:
            if node._op is not None:
                raise _freed_error(node)
            if defer and node._hooks is None and not post_accumulate_hooks:
                # A leaf (or a root that is one) finished after the sweep; one whose hooks
                # would see when it runs (tensor hooks, post-accumulate hooks) is made ready
                # instead, and runs as soon as it is, as PyTorch's AccumulateGrad does.
                node._pending += 1  # (a count, never reaching 0, that stays a small int)
                leaves.append(node)
            continue
        for x in inputs:
            if x._rg:
                if x._mark == generation:
                    x._pending += 1
                else:
                    x._mark = generation
                    x._g = None  # (results leave `_g` and `_pending` unset until here)
                    if (x._inputs is None and defer and x._op is None and x._hooks is None
                            and not post_accumulate_hooks):
                        # A leaf to finish after the sweep, listed where it is found rather
                        # than visited (as a hooked one is, below): W2-model's step (81
                        # leaves) 0.979 of its time (ab.py --cpu, 150 rounds, busy machine).
                        x._pending = 2  # (this consumer, plus the one that keeps it > 0)
                        leaves.append(x)
                        continue
                    x._pending = 1
                    if after is not None:
                        push(after)
                    after = x


class _Sweep:
    """How many ``grad()`` sweeps (gradients returned, not accumulated) are running."""

    capturing = 0


def run_backward(roots, seeds, *, wrap, graph_ops, retain_graph=False, create_graph=False,
                 capture=None, lent=False, requested=()):
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
            every ``.grad`` untouched (``deltagrad.grad``); ``requested``: those tensors.
        lent: the seeds are the caller's arrays, not copies: whatever would keep one (a leaf's
            ``.grad``, a retained gradient) copies it instead.

    Returns:
        The captured gradients (a list, ``None`` where nothing reached the tensor) when
        ``capture`` is given, else ``None``.
    """
    generation = next(_generation)
    if _rebound or _tainted:  # (two dict tests instead of a call: most programs have none)
        roots, capture = resolve(roots, capture)  # (consumers of rebound tensors: what they saw)
    if not retain_graph and len(roots) == 1 and unsaved_graph(roots[0]):
        # (a graph that saved nothing is kept, as PyTorch's: versions; its nodes count as
        # freed, once, for the leak check: the program's references hold them, not backward)
        _counters.freed += newly_kept(roots[0])
        retain_graph = True
    watched = (create_graph or capture is not None or tracer is not None or _Anomaly.enabled
               or type(roots[0]._data) is MetaArray)  # (meta graphs: _sweep_watched)
    leaves = None if watched else []
    # grad() whose graph holds only what backward() handles (graph_walks._count_for_grad):
    # the plain sweep, its leaves' gradients read after it, the same arithmetic in the same
    # order as the watched sweep's (tests/engine/test_s13_PS_grad_plain.py).
    grad_leaves = None
    freed = None  # freed nodes behind the requested tensors (_count_for_grad)
    if (capture is not None and not (tracer is not None or _Anomaly.enabled
                                     or _running or type(roots[0]._data) is MetaArray)):
        displaced = None
        freed = []
        grad_leaves = _count_for_grad(roots, generation, capture, freed, requested)
        if create_graph and grad_leaves is not None:  # (the watched sweep records the graph;
            for leaf in grad_leaves:  # freed nodes off the paths are passed, as without it)
                leaf._pending -= 1
            grad_leaves = None
    else:
        displaced = _count_consumers(roots, generation, leaves)
    # Only nodes made before the newest in-place change can have had a saved value changed:
    # one comparison per node. With the node serial (_result) and the dtype test (_binary):
    # W2 +0.1-0.6% (best of 200 blocks, against the tree without them; ab.py's medians, 0.94-1.03,
    # are within this shared machine's noise).
    stale = latest.stamp
    captured = [None] * len(capture) if capture is not None else None
    if lent:
        for seed in seeds:
            _stored.add(id(seed))

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

    previous_mode = _GradMode.enabled
    _GradMode.enabled = create_graph
    if capture is not None:
        _Sweep.capturing += 1  # (read by code that cannot take part in a grad() sweep)
    _running.append(generation)
    # NumPy's floating-point warnings off for the sweep (g * 0 of an inf gradient, sums to
    # shape that overflow): PyTorch's backward gives those inf / nan silently. 0.2 us a sweep
    # (set + reset, thread time); W2 1.008, W2-model 0.999 of their time with all of s8 L1.
    quiet = _quiet(IGNORE_ALL)
    try:
        if grad_leaves is not None:
            _sweep(ready, stale, wrap, retain_graph)
            for leaf in grad_leaves:
                g = leaf._g
                if g is not None:
                    leaf._g = None
                    captured[capture[id(leaf)]] = _own(g)
        elif watched:
            _sweep_watched(ready, stale, wrap, graph_ops, retain_graph, create_graph, capture,
                           captured)
        else:
            _sweep(ready, stale, wrap, retain_graph)
            if leaves:
                _finish_leaves(leaves, wrap)
    except BaseException as error:
        _clear_pending(roots, generation)
        raise _Anomaly.failed(error)  # noqa: B904 - itself (anomaly mode warns first)
    finally:
        _unquiet(quiet)
        if capture is not None:
            _Sweep.capturing -= 1
        _running.pop()
        if displaced:  # this sweep ran inside another: give back the nodes it borrowed
            for node, mark, pending, g in displaced:
                node._mark, node._pending, node._g = mark, pending, g
        _GradMode.enabled = previous_mode
        if not _running:  # (arrays handed to leaves stay theirs until the outermost ends)
            _stored.clear()
    return captured


def backward_one(root, seed, wrap, retain_graph, lent):
    """``run_backward((root,), (seed,), ...)`` for ``loss.backward()``, the usual call: one
    root, first order, into the leaves' ``.grad``, no sweep running, no tracer, anomaly mode or
    rebound tensor (any of which takes ``run_backward``). No keyword arguments to parse and
    none of the cases to test: with api/backward._wrap's inline leaves, the engine's own cost
    of layer_norm's backward (three leaves, its rule made free) 7.1 -> 5.9 us, and small
    fwd+bwd (x * 2, x.sum(), layer_norm, x * w + b) 0.93-0.95 of their time (/tmp A/B,
    alternated, thread time)."""
    if (_running or _rebound or _tainted or tracer is not None or _Anomaly.enabled
            or type(root._data) is MetaArray):  # (a meta graph: meta.py's meta_vjp)
        return run_backward((root,), (seed,), wrap=wrap, graph_ops=None,
                            retain_graph=retain_graph, lent=lent)
    inputs = root._inputs
    if (inputs is not None and root._hooks is None and not post_accumulate_hooks
            and leaf_inputs(inputs)):
        # One op applied to leaves: its rule and the leaves' .grad without the count pass,
        # the sweep's loop or a list of leaves (one_node.py); a kept graph told by kept_one.
        if not retain_graph and _SAVES_NOTHING.get(root._op) is not False and (
                (kept := kept_one(root)) >= 0):
            _counters.freed += kept  # (as below)
            retain_graph = True
        generation = next(_generation)
        root._mark = generation  # (what the count pass marks: newly_kept reads it)
        stale = latest.stamp
        if lent:
            _stored.add(id(seed))
        previous_mode = _GradMode.enabled
        _GradMode.enabled = False
        _running.append(generation)
        quiet = _quiet(IGNORE_ALL)
        try:
            sweep_one(root, seed, stale, wrap, retain_graph)
        finally:
            _unquiet(quiet)
            _running.pop()
            _GradMode.enabled = previous_mode
            if not _running:
                _stored.clear()
            if not retain_graph and root._inputs is None:  # (as _sweep counts, error or not)
                _counters.freed += 1
        return
    if not retain_graph and unsaved_graph(root):
        _counters.freed += newly_kept(root)  # (as in run_backward)
        retain_graph = True
    generation = next(_generation)
    leaves = []
    _count_consumers((root,), generation, leaves)
    stale = latest.stamp
    if lent:
        _stored.add(id(seed))
    root._g = seed  # (the count has just set it to None)
    previous_mode = _GradMode.enabled
    _GradMode.enabled = False
    _running.append(generation)
    quiet = _quiet(IGNORE_ALL)  # (PyTorch's backward never warns: see run_backward)
    try:
        # A root that is a leaf is among the leaves (pending 1): nothing to sweep.
        if root._pending == 0:
            _sweep((), stale, wrap, retain_graph, root)
        if leaves:
            _finish_leaves(leaves, wrap)
    except BaseException:
        _clear_pending((root,), generation)
        raise
    finally:
        _unquiet(quiet)
        _running.pop()
        _GradMode.enabled = previous_mode
        if not _running:
            _stored.clear()


# The sweep proper, in two forms that visit the nodes in the same order and do the same
# arithmetic (capture_step records with the second and replays what the first computes):
#
# - `_sweep`: the common case, `loss.backward()`: first order, gradients accumulated into
#   leaves, no tracer or anomaly mode. Hooks and retain_grad share one per-node test (both
#   set `_hooks`), the rules of ops that promise their gradients' shapes and dtypes
#   (`Op.exact`, ops/registry.py) skip the per-gradient checks, and rules of one or two inputs
#   hand their gradients on without zip or loop. W2's backward 1.53 -> 1.20 us/op (CPU time,
#   best decile, tree before and after), W2 as a whole 0.84 of its time before (ab.py).
#   Leaves without hooks are finished after the graph (`_finish_leaves`), in count order;
#   the non-leaf nodes are visited in the same order as `_sweep_watched` visits them.
# - `_sweep_watched`: everything else (create_graph, grad()'s capture, a tracer, anomaly mode),
#   checking every gradient.


def _sweep(roots, stale, wrap, retain_graph, first=None):
    # ``first``: one ready root (backward_one's), visited first without the heap: 0.4-0.7 us
    # (a heap made, pushed and popped) off every loss.backward(); ops' fwd + bwd 0.975 of their
    # time (benchmarks/ab.py --workload ops).
    F = ARRAY
    ready = _heap(roots) if roots else []
    push = _push_ready
    freed = 0
    ga = gb = grads = None
    minus = False  # (a subtraction's second gradient is still to be negated: _SUB)
    # The node to visit next when the last one made it ready, with its gradient, unless a
    # node in the heap was made after it: no push and pop (a chain never uses the heap), and
    # the gradient not stored on the node and read back. W2's backward 0.967 of its time with
    # the push and pop, 0.987 with the gradient stored (alternated, thread time).
    after = after_g = None
    if first is not None:
        after, after_g = first, first._g
        first._g = None
    try:
        while True:
            if after is not None and ready and (
                    ready[0][0] < -after._serial if after._op is not None
                    else ready[0][0] == _LEAF_FIRST):  # (a node made later is ready)
                after._g = after_g
                push(ready, after)
                after = None
            if after is not None:
                node = after
                g = after_g
                after = after_g = None
            elif ready:
                node = heappop(ready)[2]
                g = node._g
                node._g = None
            else:
                break
            op = node._op
            if op is None:  # a leaf made ready (only in a sweep nested in another)
                if g is not None:
                    _finish_leaves((node,), wrap, g)
                continue
            if g is None:  # every consumer sent None: nothing flows through this node
                _release(node, ready)
                continue
            exact = op.exact
            if node._hooks is not None:  # hooks or retain_grad
                g = _node_hooks(node, g, wrap)
                exact = CHECKED  # (a hook may return another shape or dtype)
            if node._serial <= stale:
                check_saved(node)
            inputs = node._inputs
            arity = len(inputs)
            if arity == 2:
                a, b = inputs
                x, y = a._data, b._data
                if op.wants_needs:  # (matmul, the losses)
                    attrs = node._attrs
                    vjp = op.vjp
                    if attrs is None:
                        ga, gb = vjp(F, g, node._data, x, y, needs=(a._rg, b._rg))
                    else:
                        ga, gb = vjp(F, g, node._data, x, y, needs=(a._rg, b._rg), **attrs)
                elif op is _SUB:  # (the rule's (g, -g), with -g folded in below)
                    ga = gb = g
                    minus = b._rg  # (reset where b's gradient is made, below)
                elif op is _ADD:  # (the rule's (g, g) without its call)
                    ga = gb = g
                elif op is _MUL:  # (the rule's products, each only where it is needed)
                    ga = g * y if a._rg else None
                    gb = g * x if b._rg else None
                elif (attrs := node._attrs) is None:
                    ga, gb = op.vjp(F, g, node._data, x, y)
                else:
                    ga, gb = op.vjp(F, g, node._data, x, y, **attrs)
                if exact is ELEMENTWISE:  # exact if nothing was broadcast or promoted
                    exact = x.shape == y.shape and x.dtype is y.dtype
                if type(g) is _ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
                    # Kept for reuse only if nothing else holds it (buffers.give counts the
                    # references): first the names an earlier node left holding its gradients.
                    grads = None
                    _recycle(g)
                if a._rg:
                    if ga is not None and not exact:  # (_fit, inline: a bias's gradient)
                        if (shape := ga.shape) != (x_shape := x.shape):  # (each read once)
                            dot = _dots.get((shape, x_shape, ga.dtype))
                            ga = (dot(ga) if dot is not None and type(ga) is _ndarray
                                  else _reduce_to(F, ga, x_shape, op.name))
                        if ga.dtype is not x.dtype and ga.dtype != x.dtype:
                            ga = _cast(ga, x.dtype)
                    # (Summing into an arriving array that only the sweep holds, np.add with
                    # out=, measured slower: W2 1.05 of its time, W2-model 1.02, as 8 x 8
                    # arrays allocate cheaply; paired A/B in one process, thread time.)
                    pending_g = a._g  # (what other consumers sent: added first, as always)
                    if pending_g is not None:
                        ga = pending_g if ga is None else pending_g + ga
                    pending = a._pending - 1
                    a._pending = pending
                    if pending:
                        a._g = ga
                    else:
                        if pending_g is not None:
                            a._g = None
                        after = a
                        after_g = ga
                if b._rg:
                    if gb is not None and not exact:
                        if (shape := gb.shape) != (y_shape := y.shape):
                            dot = _dots.get((shape, y_shape, gb.dtype))
                            gb = (dot(gb) if dot is not None and type(gb) is _ndarray
                                  else _reduce_to(F, gb, y_shape, op.name))
                        if gb.dtype is not y.dtype and gb.dtype != y.dtype:
                            gb = _cast(gb, y.dtype)
                    pending_g = b._g
                    if minus:
                        minus = False
                        gb = -gb if pending_g is None else pending_g - gb
                    elif pending_g is not None:
                        gb = pending_g if gb is None else pending_g + gb
                    pending = b._pending - 1
                    b._pending = pending
                    if pending:
                        b._g = gb
                    else:
                        if pending_g is not None:
                            b._g = None
                        if after is not None:
                            after._g = after_g
                            push(ready, after)
                        after = b
                        after_g = gb
            elif arity == 1:
                a = inputs[0]
                x = a._data
                if op is _RESHAPE and type(g) is _ndarray:  # (view, flatten, unsqueeze too)
                    ga = g.reshape(x.shape)  # (the rule, without its call and **attrs)
                elif (op is _PERMUTE and type(g) is _ndarray
                      and type(dims := node._attrs["dims"]) is tuple
                      and (inverse := _PERMUTE_INVERSE.get(dims)) is not None):
                    ga = g.transpose(inverse)  # (the rule's, with the inverse it cached)
                elif op.wants_needs:
                    if (attrs := node._attrs) is None:
                        (ga,) = op.vjp(F, g, node._data, x, needs=(a._rg,))
                    else:
                        (ga,) = op.vjp(F, g, node._data, x, needs=(a._rg,), **attrs)
                elif (attrs := node._attrs) is None:
                    (ga,) = op.vjp(F, g, node._data, x)
                else:
                    (ga,) = op.vjp(F, g, node._data, x, **attrs)
                if type(g) is _ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
                    gb = grads = None
                    _recycle(g)
                if a._rg:
                    if ga is not None and exact is not EXACT:
                        ga = _fit(ga, x, op.name)
                    pending_g = a._g
                    if pending_g is not None:
                        ga = pending_g if ga is None else pending_g + ga
                    pending = a._pending - 1
                    a._pending = pending
                    if pending:
                        a._g = ga
                    else:
                        if pending_g is not None:
                            a._g = None
                        after = a
                        after_g = ga
            else:
                if arity == 3:  # (linear, layer_norm, where: no comprehensions, 0.4 us a node)
                    a, b, c = inputs
                    xs = (a._data, b._data, c._data)
                else:
                    xs = [x._data for x in inputs]
                attrs = node._attrs
                vjp = op.vjp
                if op.wants_needs:
                    needs = ((a._rg, b._rg, c._rg) if arity == 3
                             else tuple([x._rg for x in inputs]))
                    if attrs:
                        grads = vjp(F, g, node._data, *xs, needs=needs, **attrs)
                    else:
                        grads = vjp(F, g, node._data, *xs, needs=needs)
                elif attrs:
                    grads = vjp(F, g, node._data, *xs, **attrs)
                else:
                    grads = vjp(F, g, node._data, *xs)
                if type(g) is _ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
                    ga = gb = None
                    _recycle(g)
                for a, ga in zip(inputs, grads):
                    if not a._rg:
                        continue
                    if ga is not None:
                        if exact is not EXACT:
                            ga = _fit(ga, a._data, op.name)
                        pending_g = a._g
                        a._g = ga if pending_g is None else pending_g + ga
                    pending = a._pending - 1
                    a._pending = pending
                    if not pending:
                        if after is not None:
                            after._g = after_g
                            push(ready, after)
                        after = a
                        after_g = a._g
                        a._g = None
            if not retain_graph:
                node._inputs = None
                if not op.keeps:  # (Op.keeps: attributes a name reads, a view's base kept)
                    node._attrs = None
                elif op.keeps == 2:
                    _keep_base(node, inputs[0])
                freed += 1
    finally:
        _counters.freed += freed


def _sweep_watched(roots, stale, wrap, graph_ops, retain_graph, create_graph, capture, captured):
    F = graph_ops if create_graph else ARRAY
    ndarray = None if create_graph else _ndarray  # large consumed gradients are recycled
    ready = _heap(roots)
    freed = 0
    # grad(): only the nodes on a path to a requested tensor run (and free their buffers), as
    # in PyTorch; the graph below an intermediate input stays whole for a later backward.
    need = _on_paths(roots, capture) if capture is not None else None
    try:
        while ready:
            node = heappop(ready)[2]
            g = node._g
            node._g = None
            if g is None:  # every consumer sent None: nothing flows through this node
                _release(node, ready)
                continue
            if node._hooks is not None:
                hooks = node._hooks
                split = prehooks_start(hooks)  # (the retained .grad: before node pre-hooks)
                if split:
                    g = run_hooks(hooks[:split], g, create_graph, wrap)
                if node._retain and node._op is not None:
                    _retained(node, g, create_graph, wrap)
                if split < len(hooks):
                    g = run_hooks(hooks[split:], g, create_graph, wrap)
            op = node._op
            if capture is not None:
                slot = capture.get(id(node))
                if slot is not None:
                    captured[slot] = g if create_graph else _own(g)
            if op is None:
                if capture is None:
                    _accumulate_leaf(node, g, create_graph, wrap)
                    if post_accumulate_hooks:
                        for hook in tuple(post_accumulate_hooks.get(id(node), ())):
                            hook(node)
                continue
            inputs = node._inputs
            if inputs is None:  # (freed, requested itself: nothing below it is run)
                continue
            if need is not None and not any([id(x) in need for x in inputs]):
                continue
            if node._serial <= stale:
                check_saved(node)
            attrs = node._attrs
            vjp = op.vjp
            if type(node._data) is MetaArray and not create_graph:
                vjp = meta_vjp(vjp)  # (meta.py: meta gradients, from zeros where a rule reads)
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
            if tracer is not None:
                tracer.record(node, g, grads, create_graph)
            if _Anomaly.enabled:
                _check_backward(node, grads)
            if type(g) is ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
                _recycle(g)
            for x, gx in zip(inputs, grads):
                if not x._rg or need is not None and id(x) not in need:
                    continue
                if gx is not None:
                    data = x._data
                    if gx.shape != data.shape:
                        gx = _reduce_to(F, gx, data.shape, op.name)
                    # (NumPy's == first: gx may be a Tensor, whose dtype equals no NumPy's)
                    if gx.dtype is not data.dtype and data.dtype != gx.dtype:
                        gx = F.cast(gx, data.dtype)
                    pending_g = x._g
                    x._g = gx if pending_g is None else pending_g + gx
                pending = x._pending - 1
                x._pending = pending
                if not pending:
                    _push_ready(ready, x)
            if not retain_graph:
                node._inputs = None
                if not op.keeps:
                    node._attrs = None
                elif op.keeps == 2:
                    _keep_base(node, inputs[0])
                freed += 1
    finally:
        _counters.freed += freed


def _release(node, ready):
    """A node that received no gradient still counts as done for each of its inputs."""
    if node._inputs is None:
        return
    for x in node._inputs:
        if x._rg:
            x._pending -= 1
            if x._pending == 0:
                _push_ready(ready, x)


# PyTorch's visiting order: the ready node made last first (its engine's priority queue by
# sequence number), which is the reachable nodes in decreasing creation order (the last made
# unvisited node is ready: its consumers were made after it). Backward hooks fire in it (opacus
# pairs saved inputs with gradients by it), fan-out gradients are summed in it. A ready leaf
# (hooked, or in a nested sweep) goes first, as AccumulateGrad; ticks keep ties in order.
# Against the LIFO stack: W2 1.005-1.010, W2-model 0.995 of its time (ab.py --cpu, 1 thread).
_LEAF_FIRST = float("-inf")
_ticks = itertools.count()


def _push_ready(ready, node):
    heappush(ready, (-node._serial if node._op is not None else _LEAF_FIRST, next(_ticks), node))


def _heap(roots):
    ready = []
    for root in roots:
        _push_ready(ready, root)
    return ready
