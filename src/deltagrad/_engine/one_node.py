"""Two shortcuts of ``backward()`` (``autograd.backward_one``): one-node graphs, kept graphs.

**One-node graphs**, one op applied to leaves (``op(x, w).backward(g)``): most backward()
calls of small programs, every case of the op-overhead table (benchmarks/op_overhead.py).
``backward_one`` skips the count pass, the sweep's loop and the list of leaves: the node's rule
runs here with the seed, exactly as the plain sweep (``autograd._sweep``) runs it (the same
folds of sub / add / mul / reshape / permute, the same shape and dtype fitting, the same
recycling of the consumed gradient), and each input's gradient goes to its leaf as the sweep's
``_finish_leaves`` hands it over, in the inputs' order. Graphs of one node with hooks, a
repeated input (``x * x``), an input that is not a leaf or a leaf with hooks, any live
post-accumulate hook, and every case ``backward_one`` passes on (anomaly mode, a tracer, a
nested sweep, rebound tensors, meta graphs) take the general sweep. Values,
dtypes, layouts, errors and the freed-node count are the sweep's (tests/engine/
test_s27_SP36_one_node.py compares both bit for bit on every registered op's samples). The
engine's own cost of x.exp().backward(g) on 8 x 8 2.68 -> 2.32 us, relu's 4.89 -> 4.23,
clone's 3.29 -> 2.68 (fwd+bwd less fwd, timeit, thread time). With the kept graphs' count
below: the op table's sweep 0.90-0.94 of its time (benchmarks/ab.py --workload ops --cpu, 15
rounds, against the tree without both); the median over ops of the per-op ratio 0.93, against
PyTorch 0.56 -> 0.52 (both trees imported as copies, alternated with PyTorch in rotating
order, thread time, 7 rounds; a busy machine, load 6-8). W2 / W2-model unchanged (1.00-1.01).

**Kept graphs** (``versions.unsaved_graph``: no node reads a saved value) are not freed by
backward, and their nodes count as freed once for the leak check (``newly_kept``).
"""

from __future__ import annotations

import weakref

import numpy as np

from .broadcast_grads import _cast, _dots, _fit, _reduce_to
from .buffers import MIN_BYTES as _RECYCLE_MIN_BYTES
from .buffers import give as _recycle
from .leaf_grads import _finish_leaves
from .ops import ARRAY, OPS
from .ops.registry import ELEMENTWISE, EXACT
from .ops.shape import _INVERSE as _PERMUTE_INVERSE
from .versions import _SAVES_NOTHING, _has_arrays, _rule_saves_nothing, check_saved

__all__ = ["keep_base", "kept_one", "leaf_inputs", "newly_kept", "sweep_one"]

_ndarray = np.ndarray
_SUB, _ADD, _MUL, _RESHAPE = OPS["sub"], OPS["add"], OPS["mul"], OPS["reshape"]
_PERMUTE = OPS["permute"]


def leaf_inputs(inputs) -> bool:
    """Whether a node with these inputs is one ``sweep_one`` runs: distinct inputs, each a leaf
    without hooks or a tensor that needs no gradient, at least one needing one."""
    if len(inputs) == 1:
        a = inputs[0]
        return a._rg and a._op is None and a._hooks is None
    if len(inputs) != 2:
        return _leaf_inputs_many(inputs)
    a, b = inputs
    if a is b:
        return False
    if a._rg:
        if a._op is not None or a._hooks is not None:
            return False
        return not b._rg or b._op is None and b._hooks is None
    return b._rg and b._op is None and b._hooks is None


def _leaf_inputs_many(inputs) -> bool:
    """``leaf_inputs`` for three or more inputs (layer_norm's x, weight and bias; where; lerp;
    cat and stack of three)."""
    wanted = False
    for x in inputs:
        if x._rg:
            if x._op is not None or x._hooks is not None:
                return False
            wanted = True
    return wanted and len({id(x) for x in inputs}) == len(inputs)


def sweep_one(node, g, stale, wrap, retain_graph) -> None:
    """Run ``node``'s rule on its gradient ``g`` and hand its inputs' gradients to their
    ``.grad`` (``leaf_inputs(node._inputs)`` holds, ``node`` has no hooks; grad mode is off and
    NumPy's warnings are quiet, as in the sweep). The node is freed unless ``retain_graph``
    (the caller counts it)."""
    F = ARRAY
    op = node._op
    exact = op.exact
    if node._serial <= stale:
        check_saved(node)
    inputs = node._inputs
    if len(inputs) == 2:
        a, b = inputs
        x, y = a._data, b._data
        minus = False
        if op.wants_needs:  # (matmul, the losses)
            attrs = node._attrs
            if attrs is None:
                ga, gb = op.vjp(F, g, node._data, x, y, needs=(a._rg, b._rg))
            else:
                ga, gb = op.vjp(F, g, node._data, x, y, needs=(a._rg, b._rg), **attrs)
        elif op is _SUB:
            ga = gb = g
            minus = b._rg
        elif op is _ADD:
            ga = gb = g
        elif op is _MUL:
            ga = g * y if a._rg else None
            gb = g * x if b._rg else None
        elif (attrs := node._attrs) is None:
            ga, gb = op.vjp(F, g, node._data, x, y)
        else:
            ga, gb = op.vjp(F, g, node._data, x, y, **attrs)
        if exact is ELEMENTWISE:
            exact = x.shape == y.shape and x.dtype is y.dtype
        if type(g) is _ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
            _recycle(g)
        if a._rg and ga is not None and not exact:
            if (shape := ga.shape) != (x_shape := x.shape):
                dot = _dots.get((shape, x_shape, ga.dtype))
                ga = (dot(ga) if dot is not None and type(ga) is _ndarray
                      else _reduce_to(F, ga, x_shape, op.name))
            if ga.dtype is not x.dtype and ga.dtype != x.dtype:
                ga = _cast(ga, x.dtype)
        if b._rg and gb is not None:
            if not exact:
                if (shape := gb.shape) != (y_shape := y.shape):
                    dot = _dots.get((shape, y_shape, gb.dtype))
                    gb = (dot(gb) if dot is not None and type(gb) is _ndarray
                          else _reduce_to(F, gb, y_shape, op.name))
                if gb.dtype is not y.dtype and gb.dtype != y.dtype:
                    gb = _cast(gb, y.dtype)
            if minus:
                gb = -gb
        if not retain_graph:  # (the sweep's freeing, inline: 0.05 us)
            node._inputs = None
            if not op.keeps:
                node._attrs = None
            elif op.keeps == 2:
                keep_base(node, a)
        if a._rg and ga is not None:
            _finish_leaves((a,), wrap, ga)
        if b._rg and gb is not None:
            _finish_leaves((b,), wrap, gb)
        return
    if len(inputs) > 2:
        _sweep_many(node, g, wrap, retain_graph, op, exact, inputs)
        return
    a = inputs[0]
    x = a._data
    if op is _RESHAPE and type(g) is _ndarray:  # (view, flatten, unsqueeze too)
        ga = g.reshape(x.shape)
    elif (op is _PERMUTE and type(g) is _ndarray
          and type(dims := node._attrs["dims"]) is tuple
          and (inverse := _PERMUTE_INVERSE.get(dims)) is not None):
        ga = g.transpose(inverse)
    elif op.wants_needs:
        if (attrs := node._attrs) is None:
            (ga,) = op.vjp(F, g, node._data, x, needs=(True,))
        else:
            (ga,) = op.vjp(F, g, node._data, x, needs=(True,), **attrs)
    elif (attrs := node._attrs) is None:
        (ga,) = op.vjp(F, g, node._data, x)
    else:
        (ga,) = op.vjp(F, g, node._data, x, **attrs)
    if type(g) is _ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
        _recycle(g)
    if ga is not None and exact is not EXACT:
        ga = _fit(ga, x, op.name)
    if not retain_graph:
        node._inputs = None
        if not op.keeps:  # (Op.keeps: attributes a name reads, a view's base kept)
            node._attrs = None
        elif op.keeps == 2:
            keep_base(node, a)
    if ga is not None:
        _finish_leaves((a,), wrap, ga)


def _sweep_many(node, g, wrap, retain_graph, op, exact, inputs) -> None:
    """``sweep_one`` of a node of three or more inputs: the rule as the sweep's branch for them
    runs it (autograd._sweep), each gradient fitted and handed to its leaf in the inputs'
    order. With it, the engine's count pass, sweep and leaf list skipped for these nodes too:
    fwd + bwd on op_overhead.py's cases, stack / cat of three 0.85-0.89, linear with a bias
    0.90-0.95, layer_norm with weight and bias 0.94-0.97, lerp / clamp_tensor / where
    0.95-0.98 of their time (alternated against HEAD in one process, thread time, 41 rounds,
    two runs, load 5-8; s30 SP50). W2 / W2-model unchanged (ab.py: 0.998 / 0.983)."""
    F = ARRAY
    xs = [x._data for x in inputs]
    attrs = node._attrs
    if op.wants_needs:
        needs = tuple([x._rg for x in inputs])
        if attrs:
            grads = op.vjp(F, g, node._data, *xs, needs=needs, **attrs)
        else:
            grads = op.vjp(F, g, node._data, *xs, needs=needs)
    elif attrs:
        grads = op.vjp(F, g, node._data, *xs, **attrs)
    else:
        grads = op.vjp(F, g, node._data, *xs)
    if type(g) is _ndarray and g.nbytes >= _RECYCLE_MIN_BYTES:
        _recycle(g)
    if not retain_graph:
        node._inputs = None
        if not op.keeps:
            node._attrs = None
        elif op.keeps == 2:
            keep_base(node, inputs[0])
    for a, ga in zip(inputs, grads):
        if a._rg and ga is not None:
            if exact is not EXACT:
                ga = _fit(ga, a._data, op.name)
            _finish_leaves((a,), wrap, ga)


def keep_base(node, base):
    """A view's node being freed keeps the tensor it views (PyTorch's ``_base`` outlives the
    graph); a reshape that copied keeps nothing (its input's memory is not held for it). The
    test is versions.shares_input's, inline: 80 ns a call against 410 ns with two `_root`
    walks (timeit, [8, 4, 2] transpose, busy machine); W2-model calls it 61 times a step
    (attributes.py's `_base` checks the roots when asked)."""
    try:
        owner = node._data.base
        if owner is not None and (owner is base._data or owner is base._data.base):
            node._view_base = base
    except AttributeError:  # (a storage object without one: no view kept)
        pass


# The nodes of kept graphs (versions.unsaved_graph) already counted as freed: a Tensor's own
# ``_counted`` slot, set once; for a subclass with its own attribute lookup (whose __getattr__
# an unset slot would call), id -> weak reference (the entry goes with its node). Nodes of
# kept graphs (ops whose rule reads no value: add, sub, sum, mean, expand, clone, floor, ...)
# counted through the slot rather than a weak reference with a callback each:
# dg.add(x, y).backward(g) on 8 x 8 5.75 -> 5.05 us (timeit, thread time).
_COUNTED: dict[int, weakref.ref] = {}
_PLAIN: dict = {}  # type -> whether an unset slot reads as missing without Python code


def kept_one(root) -> int:
    """``unsaved_graph(root)`` and, where it holds, ``newly_kept(root)`` in one test, for a node
    over leaves (``leaf_inputs(root._inputs)``: the graph is the node alone): -1 where the
    graph is not kept (the node's rule reads a saved value), else how many of its nodes no
    earlier backward counted (0 or 1). The same answers as the two calls (without the walk,
    the loop over the inputs or a stack): fwd + bwd of the ops that save nothing on
    op_overhead.py's cases (sum, mean, expand, diagonal, cumsum, round) 0.96 of their time,
    0.2-0.3 us less (the tree with and without it alternated, thread time; s29 SP46)."""
    op = root._op
    keep = _SAVES_NOTHING.get(op)
    if keep is None:
        keep = _rule_saves_nothing(op)
    attrs = root._attrs
    if not keep or attrs and (_has_arrays(attrs) or "ctx" in attrs):
        return -1
    if _PLAIN.get(type(root)) is not True:  # (a subclass, or the first call: the walk's test)
        return newly_kept(root)
    if root._mark:  # (as newly_kept's: a node never marked was never counted)
        if getattr(root, "_counted", False):
            return 0
    else:
        root._mark = -1
    root._counted = True
    return 1


def newly_kept(root) -> int:
    """How many distinct nodes of ``root``'s kept graph (``unsaved_graph``) no earlier backward
    counted; the engine counts each as freed once (the leak check compares nodes created with
    nodes freed: counted at every backward and once per path, a graph run backward twice, or
    a diamond, hid a leak of as many nodes). At most ``_WALK_MAX`` nodes: a rare path."""
    stack, count = [root], 0
    while stack:
        node = stack.pop()
        cls = type(node)
        plain = _PLAIN.get(cls)
        if plain is None:
            plain = _PLAIN[cls] = (cls.__getattribute__ is object.__getattribute__
                                   and not hasattr(cls, "__getattr__"))
        if plain:
            # (a node no count pass has marked, as every new one, was never counted: a counted
            # node is marked -1 here, then by the pass that follows, and marks never go back
            # to 0; this spares the unset slot's read, an AttributeError made and dropped:
            # 0.24 us. A marked node keeps its mark: an outer sweep's, in a nested one.)
            if node._mark:
                if getattr(node, "_counted", False):
                    continue
            else:
                node._mark = -1  # (no generation: a second path to it here reads the slot)
            node._counted = True
        else:
            key = id(node)
            seen = _COUNTED.get(key)
            if seen is not None and seen() is node:
                continue
            _COUNTED[key] = weakref.ref(node, lambda _, key=key: _COUNTED.pop(key, None))
        count += 1
        for x in node._inputs or ():
            if x._op is not None:
                stack.append(x)
    return count
