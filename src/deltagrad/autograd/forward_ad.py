"""Forward-mode AD (``torch.autograd.forward_ad``): ``dual_level``, ``make_dual`` and
``unpack_dual``, the Jacobian-vector products of a computation seeded with tangents.

How the tangents are computed: deltagrad's engine is reverse mode, and every registered op's
VJP rule is itself differentiable (and gradchecked in the incoming gradient too:
tests/engine/test_engine_ops_gradcheck.py's second-order cases). A dual tensor is a tensor
that records the graph built on it; ``unpack_dual(out)`` then takes the VJP of ``out`` with a
symbolic cotangent u, ``g(u) = J^T u`` (linear in u), and differentiates ``<g(u), t>`` in u:
that gradient is ``J t``, the tangent (the "double-VJP" trick). It is exact, not a finite
difference, and costs two backward sweeps per ``unpack_dual``.

Limits (checked, with errors naming them): the ops between the dual inputs and ``out`` must
be registered ops with differentiable rules (ctc_loss and custom ``autograd.Function``s are
refused). Under no_grad / set_grad_enabled(False), where no graph is recorded, each op result
that depends on a dual gets its tangent at once (the same double VJP of a recorded twin of its
node) and becomes a dual itself (``_no_grad_tangent``); inference_mode gives none, as PyTorch's.
A dual tensor made from a primal that does not require grad is a leaf that requires grad in
the engine (``_rg``), so that its results are recorded; inside the level it and every result
computed only from such duals report ``requires_grad=False`` as PyTorch's, and backward from
them raises as PyTorch's (``_hidden``; s31 BR26). Their ``grad_fn`` is still the recorded node
(PyTorch's is None). In-place ops on such a dual are allowed, as PyTorch's
(``_dual_leaf_write``). A graph freed by a backward inside the level cannot give tangents:
unpack_dual raises there (PyTorch's tangents were computed as the ops ran).

A tangent keeps a graph where PyTorch's does: when a tangent requires grad, or the output
depends on a tensor that requires grad other than those duals (a module's weights, a primal
that requires grad). Backward through it then reaches them (reverse over forward); the second
sweep is recorded for that (unpack_dual of an MLP 32x64-128-10 whose weights require grad:
0.28 -> 0.30 ms, medians of 30 alternating rounds in one process). Where PyTorch's formula
reads a primal that requires grad and the double VJP's tangent does not depend on it (``d * 2``
for a primal that requires grad), the tangent is linked to it with a zero gradient, as PyTorch's
(``_primal_reads``; s30 BR22: the tangent did not require grad, a backward through it raised).
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

from .. import _engine as dg
from .._engine import grad as _grad
from .._engine.api.write_checks import DUAL_LEAF
from .._engine.autograd import _counters, _GradMode, _InferenceMode, _Recording
from .._engine.node_names import grad_fn_name, name_node
from .._engine.ops import OPS
from .._engine.ops.registry import Op
from .._engine.tensor import Tensor, _result, apply
from .._engine.versions import is_view

__all__ = ["UnpackedDualTensor", "active", "attach_jvp", "dual_level", "enter_dual_level",
           "exit_dual_level", "input_tangents", "make_dual", "refuse_tangents", "unpack_dual"]

_REGISTERED = set(map(id, OPS.values()))
# The library's Functions whose backward is differentiable under grad mode (create_graph): the
# double VJP gives their tangents as it does a registered op's (nn.rnn's fused layer, whose
# create_graph backward replays the recurrence in engine ops).
DOUBLE_VJP_FUNCTIONS: set = set()
_FUNCTION_OP_KEYS = ("_deltagrad_op", "_deltagrad_op_no_output")
_PACKAGE = __name__.rsplit(".", 2)[0] + "."  # (deltagrad.)
_NN_PACKAGE = _PACKAGE + "nn."  # (deltagrad.nn.: the engine ops' modules)


def _registered(op) -> bool:
    """Whether ``op`` is a registered op or one of its twins (the same rule: a node renamed as
    PyTorch's, node_names.rename_node; bfloat16's checked copy; saved-tensor hooks' twin)."""
    if id(op) in _REGISTERED:
        return True
    if any(op is cls.__dict__.get(key) for cls in DOUBLE_VJP_FUNCTIONS
           for key in _FUNCTION_OP_KEYS):
        return True
    base = getattr(op, "unhooked", op)
    registered = OPS.get(getattr(base, "name", None))
    if registered is not None and registered.forward is base.forward:
        return True
    # The library's engine ops kept out of the registry (convolutions, pools, unfold, batch
    # norm's training op: nn/conv2d.py, fold2d.py, _batch_norm_kernels.py) carry the same
    # second_order flag, their rules recorded with differentiable ops at create_graph time
    # (their double backward is swept against PyTorch: tests/parity/test_s15_HG_gradgrad.py).
    # A Function's op is not one of them: a user's backward may be written in NumPy.
    forward = getattr(base, "forward", None)
    return (isinstance(base, Op) and (getattr(forward, "__module__", "") or "").startswith(
        _NN_PACKAGE))


class _Level:
    """One dual level's tangents: id(dual tensor) -> (weak ref, tangent, primal required
    grad)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.duals: dict[int, tuple] = {}
        self.hidden: set[int] = set()  # (the duals made by _no_grad_tangent: _hidden)
        self.memo: dict[int, tuple] = {}  # (_forward_only's)
        self.start = _counters.created  # (graph nodes made before the level reach no dual)

    def lookup(self, tensor: Tensor):
        entry = self.duals.get(id(tensor))
        if entry is not None and entry[0]() is tensor:
            return entry
        return None


_levels: list[_Level] = []


class UnpackedDualTensor(NamedTuple):
    """``unpack_dual``'s result: the primal and its tangent (None where there is none)."""

    primal: Tensor
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Enter a new dual level (``dual_level``'s body) and return its index.

    Raises:
        RuntimeError: when a level is already active (PyTorch supports one at a time).
    """
    if _levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.append(_Level(len(_levels)))
    DUAL_LEAF[0] = _dual_leaf_write
    _Recording.tangents = _no_grad_tangent
    _Recording.hidden = _hidden
    _Recording.tangent_of = _repr_tangent
    return _levels[-1].index


def exit_dual_level(*, level: int | None = None) -> None:
    """Leave the current dual level; its tangents are forgotten."""
    if not _levels or (level is not None and level != _levels[-1].index):
        raise RuntimeError("Trying to exit a forward AD level that was not the last one "
                           "that was created. This is not supported.")
    current = _levels.pop()
    for key in current.hidden:  # (no tangent left to carry: plain tensors, as PyTorch's)
        tensor = current.duals[key][0]()
        if tensor is not None and tensor._op is None:
            tensor._rg = False
    if not _levels:
        DUAL_LEAF[0] = _Recording.tangents = _Recording.hidden = _Recording.tangent_of = None


class dual_level:  # noqa: N801 - PyTorch's name
    """Context manager for one forward-AD level: duals made inside carry their tangents until
    it exits.

    >>> import deltagrad as dg
    >>> import deltagrad.autograd.forward_ad as fwAD
    >>> x = dg.tensor([1.0, 2.0])
    >>> with fwAD.dual_level():
    ...     y = fwAD.make_dual(x, dg.tensor([1.0, 0.0])) ** 2
    ...     fwAD.unpack_dual(y).tangent
    tensor([2., 0.])
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> bool:
        exit_dual_level()
        return False

    def __call__(self, function):
        def wrapped(*args, **kwargs):
            with dual_level():
                return function(*args, **kwargs)
        wrapped.__name__ = getattr(function, "__name__", "wrapped")
        wrapped.__doc__ = getattr(function, "__doc__", None)
        return wrapped


def _current(level: int | None, action: str) -> _Level | None:
    if not _levels:
        return None
    if level is not None and level != _levels[-1].index:
        raise RuntimeError(f"{action}: level {level} is not the current dual level")
    return _levels[-1]


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A dual tensor: ``tensor``'s values carrying ``tangent`` (same shape) as its
    forward gradient inside the current ``dual_level``.

    Raises:
        RuntimeError: outside a dual level, or for a tangent of another shape.
    """
    current = _current(level, "make_dual")
    if current is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError("make_dual(): tensor and tangent must be Tensors")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}.")
    if not tensor.is_floating_point():
        raise ValueError("Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not tangent.is_floating_point():
        raise ValueError("Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if tensor.requires_grad:
        dual = tensor.view_as(tensor)  # (gradients still reach the primal's graph)
    else:
        dual = tensor.detach().requires_grad_(True)
    current.duals[id(dual)] = (weakref.ref(dual), _stored_tangent(tensor, tangent),
                               tensor.requires_grad)
    return dual


def _dual_leaf_write(dual: Tensor):
    """api/write_checks.DUAL_LEAF: for ``dual``, a dual made from a primal that does not
    require grad, with a tangent that does not either, or a view (of views) of one, the function
    that takes an in-place op's result and writes its tangent into the stored tangent (its
    region, for a view). PyTorch's dual is a view of the primal outside any graph:
    ``d.mul_(2)`` writes the primal, and the tensor given to make_dual takes the new tangent in
    place. None for any other tensor (the leaf's error, or the graph's in-place path)."""
    if not _levels or _sweeps:
        return None
    if not dual._rg:  # (a view taken outside the graph: tensor._result's _view links)
        top = dual
        while getattr(top, "_view", None) is not None:
            top = top._view
        if _levels[-1].lookup(top) is not None:  # (its region's tangent is not known here)
            raise NotImplementedError(
                "forward AD: an in-place op on a view of a dual tensor taken under no_grad is "
                "not supported by deltagrad (its tangent would not follow); take the view "
                "with grad mode on")
        return None
    views = []
    node = dual
    while node._op is not None:
        if not is_view(node):
            if not _GradMode.enabled and _carries_tangent(dual):
                raise NotImplementedError(
                    "forward AD: an in-place op under no_grad on a tensor computed from a dual "
                    "tensor with grad mode on is not supported by deltagrad (its tangent would "
                    "not follow the write); compute it under no_grad too, or write a clone")
            return None
        views.append(node)
        node = node._inputs[0]
    entry = _levels[-1].lookup(node)
    if entry is None or entry[2] or entry[1].requires_grad:
        return None  # (PyTorch refuses these too: a view of a leaf / a leaf that requires grad)
    stored = entry[1]
    base = getattr(node, "_view", None)  # (a view taken under no_grad: _no_grad_tangent's)
    below = _levels[-1].lookup(base) if base is not None else None
    if below is not None and not np.shares_memory(stored._data, below[1]._data):
        raise NotImplementedError(
            "forward AD: an in-place op on a view of a dual tensor taken under no_grad whose "
            "tangent is not a view of the dual's (as_strided) is not supported by deltagrad; "
            "take the view with grad mode on, or clone() it first")

    def store(result: Tensor) -> None:
        tangent = unpack_dual(result).tangent
        with dg.no_grad():
            region = stored
            for view in reversed(views):  # (the written view's region of the tangent)
                region = apply(view._op, region, **(view._attrs or {}))
            if region is not stored and not np.shares_memory(region._data, stored._data):
                raise NotImplementedError(
                    "forward AD: an in-place op on a view of a dual tensor whose tangent is "
                    "not laid out as its primal; clone() the view first")
            if tangent is None:  # (a fill: no dual reaches the new value)
                region.zero_()
            else:
                region.copy_(tangent)

    return store


def _carries_tangent(tensor: Tensor) -> bool:
    """Whether ``tensor``'s graph reaches a dual of the current level (s30 BR25: PyTorch's
    ``g.mul_(3)`` under no_grad, g = d * 2, triples g's tangent; deltagrad's kept 2t)."""
    try:
        return bool(_duals_reached(_levels[-1], tensor))
    except NotImplementedError:  # (a dual reached through an op without a rule)
        return True


def _no_grad_tangent(out: Tensor, op, inputs: tuple, attrs) -> None:
    """_Recording.tangents inside a dual level (tensor._result calls it for each op result
    made without a graph): ``out``, made by ``op`` from ``inputs`` where one requires grad,
    becomes a dual carrying its tangent when one of them reaches a dual. PyTorch's forward AD
    does not depend on grad mode: ``with no_grad(): y = d * 2`` gives y the tangent 2t (s30
    BR25: it had none, silently, and unpack_dual under no_grad raised). As PyTorch's there, the
    tangent has no graph, and inference_mode gives none. A view of a dual takes the view of its
    tangent, so that a write through it reaches the dual's tangent as PyTorch's does."""
    if (_sweeps or _IN_RULE[0] or _InferenceMode.enabled or not _levels
            or not _levels[-1].duals):
        return  # (a Function's jvp computes tangents: its results are no primals)
    for x in inputs:
        if isinstance(x, Tensor) and x._rg:
            break
    else:
        return
    context = attrs.get("ctx") if attrs else None
    if context is not None and not _registered(op):
        function = getattr(context, "_function", None)
        if function is not None and (not function.__module__.startswith(_PACKAGE)
                                     or "jvp" in function.__dict__):
            return  # (Function.apply's attach_jvp gives it its jvp's tangent)
    current = _levels[-1]
    _Recording.tangents = None  # (the sweeps below make results without graphs too)
    try:
        tangent = None
        entry = current.lookup(inputs[0]) if getattr(out, "_view", None) is not None else None
        if entry is not None and not entry[1].requires_grad and getattr(
                op, "name", None) != "as_strided":  # (which reaches outside the view)
            try:
                region = apply(op, entry[1], *inputs[1:], **(attrs or {}))
            except Exception:  # noqa: BLE001 - (the general path below gives its values)
                region = None
            if region is not None and np.shares_memory(region._data, entry[1]._data):
                tangent = region
        if tangent is None:
            twin = _result(out._data, op, inputs, attrs, True)  # (the same node, recorded)
            with dg.enable_grad():
                tangent = unpack_dual(twin).tangent
            if tangent is None:
                return
            tangent = tangent.detach()
    finally:
        _Recording.tangents = _no_grad_tangent
    out._rg = True  # (a dual as make_dual's of a primal that does not require grad)
    duals, hidden, key = current.duals, current.hidden, id(out)
    # (forgotten with the result: a loop under no_grad keeps no dead tangents until the exit)
    duals[key] = (weakref.ref(out, lambda _: (duals.pop(key, None), hidden.discard(key))),
                  tangent, False)
    hidden.add(key)


def _hidden(tensor: Tensor, value: bool | None) -> bool:
    """_Recording.hidden inside a dual level, for ``tensor`` with ``_rg`` set. PyTorch's dual
    made from a primal that does not require grad, and any result computed only from such
    duals (``make_dual(p, t) * 2``, under no_grad or not), have requires_grad=False; deltagrad's
    engine records them (its tangents are taken from the graph), so they report False here
    instead (s31 BR26: they said True). ``value`` None: whether ``tensor`` is one (it reports
    False). ``requires_grad_(True)`` on such a leaf: it now requires grad as a primal that does
    (False: the call goes on); ``requires_grad_(False)``: taken here (True), it keeps carrying
    its tangent. The no_grad results' ``_rg`` is cleared at the level's exit."""
    if _sweeps:  # (unpack_dual's own VJPs: the engine's view)
        return False
    current = _levels[-1]
    if value is None:
        return _forward_only(current, tensor)
    entry = current.lookup(tensor) if tensor._op is None else None
    if entry is None or entry[2]:
        return False
    if not value:
        return True
    current.hidden.discard(id(tensor))
    current.duals[id(tensor)] = (entry[0], entry[1], True)
    return False


def _repr_tangent(tensor: Tensor):
    """_Recording.tangent_of: ``tensor``'s tangent, which PyTorch's repr prints as
    ``tangent=``; None where it has none or deltagrad cannot take it (repr does not raise)."""
    if _sweeps:
        return None
    try:
        return unpack_dual(tensor).tangent
    except (NotImplementedError, RuntimeError):
        return None


def _forward_only(current: _Level, tensor: Tensor) -> bool:
    """Whether every leaf that requires grad (``_rg``) behind ``tensor`` is a dual made for a
    primal that did not require grad (make_dual's, _no_grad_tangent's): PyTorch's
    requires_grad is False there. Iterative; graph nodes memoized per level by id and
    ``_serial`` (an in-place op rebinds a tensor to a new node with a new serial)."""
    memo = current.memo
    stack = [tensor]
    while stack:
        node = stack[-1]
        if _known(current, node) is not None:
            stack.pop()
            continue
        parents = [x for x in node._inputs or () if isinstance(x, Tensor) and x._rg]
        pending = [x for x in parents if _known(current, x) is None]
        if pending:
            stack.extend(pending)
            continue
        key = id(node)
        memo[key] = (weakref.ref(node, lambda _, key=key: memo.pop(key, None)), node._serial,
                     all(_known(current, x) for x in parents))
        stack.pop()
    return _known(current, tensor)


def _known(current: _Level, node: Tensor) -> bool | None:
    """_forward_only's answer for ``node`` where it is known without a walk: a leaf or a dual
    (from its entry), or a memoized graph node; None otherwise."""
    entry = current.lookup(node)
    if entry is not None or node._op is None:
        return entry is not None and not entry[2]
    if node._inputs is None:  # (freed by a backward, which a forward-only root refuses)
        return False
    known = current.memo.get(id(node))
    if known is not None and known[0]() is node and known[1] == node._serial:
        return known[2]
    return None


def _stored_tangent(tensor: Tensor, tangent: Tensor) -> Tensor:
    """The tangent kept for ``tensor``: the very object given where its dtype and layout
    match the primal's (PyTorch's ``unpack_dual(make_dual(p, t)).tangent is t``, which the
    forward-AD tutorial asserts), else a copy laid out as the primal."""
    if (tangent.dtype == tensor.dtype and not tangent.requires_grad
            and tangent.stride() == tensor.stride()):
        return tangent
    if tangent.requires_grad:  # (kept in its graph: the tangents computed from it are too)
        return tangent.to(tensor.dtype)
    # NOTE: PyTorch keeps a tangent of another float dtype as given (a float64 tangent of a
    # float32 primal stays float64); deltagrad converts it to the primal's dtype.
    copy = dg.empty_like(tensor)
    copy.copy_(tangent.detach())
    return copy


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``: its tangent is the Jacobian-vector product of the
    computation from the dual tensors it depends on (None outside a level, or where it
    depends on none).

    Raises:
        NotImplementedError: when an op between the duals and ``tensor`` has no
            differentiable rule, or grad mode is off (see the module docstring).
    """
    current = _current(level, "unpack_dual")
    if current is None or not isinstance(tensor, Tensor):
        return UnpackedDualTensor(tensor, None)
    entry = current.lookup(tensor)
    if entry is not None:
        primal = tensor.view_as(tensor) if entry[2] else tensor.detach()
        return UnpackedDualTensor(primal, entry[1])
    if not tensor._rg:  # (a result made under no_grad from a dual is one itself:
        # _no_grad_tangent; s30 BR25, this raised under no_grad)
        return UnpackedDualTensor(tensor, None)
    duals = _duals_reached(current, tensor)
    if not duals:
        return UnpackedDualTensor(tensor, None)
    tangent = _jvp(tensor, duals)
    # (a result computed only from duals: its primal is a plain tensor, as PyTorch's, which
    # also stays one after the level; s31 BR26)
    primal = tensor.detach() if not _sweeps and _forward_only(current, tensor) else tensor
    return UnpackedDualTensor(primal, tangent)


def _duals_reached(current: _Level, output: Tensor) -> list:
    """The dual tensors ``output`` depends on, as (dual, tangent) pairs; checks that every op
    on a path from one of them to ``output`` has a differentiable rule."""
    # Iterative post-order over the graph (no recursion: graphs can be deep), marking which
    # nodes reach a dual.
    reaches: dict[int, bool] = {}
    found: dict[int, tuple] = {}
    nodes: dict[int, Tensor] = {}
    stack = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            entry = current.lookup(node)
            if entry is not None:
                reaches[key] = True
                found[key] = (node, entry[1])
                continue
            inputs = [x for x in (node._inputs or ()) if isinstance(x, Tensor) and x._rg]
            reaches[key] = any(reaches.get(id(x), False) for x in inputs)
            continue
        if key in reaches or key in nodes:
            continue
        nodes[key] = node
        stack.append((node, True))
        if current.lookup(node) is None:
            if node._inputs is None and node._op is not None and node._serial > current.start:
                raise _freed(node)
            for x in node._inputs or ():
                if isinstance(x, Tensor) and x._rg and id(x) not in nodes:
                    stack.append((x, False))
    for key, node in nodes.items():
        if reaches.get(key) and key not in found and node._op is not None:
            op = node._op
            if not _registered(op) or not op.second_order:
                name = getattr(op, "name", type(op).__name__)
                raise NotImplementedError(
                    f"forward AD: deltagrad has no forward-mode rule for '{name}' (only "
                    "registered ops with differentiable gradient rules are supported)")
    return list(found.values())


def _freed(node: Tensor) -> RuntimeError:
    """A node made inside the level whose graph a backward freed: it may lie between a dual and
    the output, and deltagrad takes tangents from that graph (s31 BR26: unpack_dual gave None,
    silently; PyTorch's tangents are computed as the ops run)."""
    return RuntimeError(
        "forward AD: the graph behind this tensor was freed by a backward (op "
        f"'{getattr(node._op, 'name', node._op)}', output shape {tuple(node._data.shape)}); "
        "deltagrad computes tangents from that graph when unpack_dual is called: call "
        "unpack_dual before the backward, or pass retain_graph=True to it")


def _jvp(output: Tensor, duals: list) -> Tensor:
    # NOTE: the cotangent's value does not matter (the VJP is linear in it); ones rather than
    # zeros so that no rule takes a shortcut reserved for a zero incoming gradient.
    cotangent = dg.ones_like(output).requires_grad_(True)
    inputs = [dual for dual, _ in duals]
    # A dual with a graph (a Function's output given its tangent by its jvp, or a dual made
    # from a primal that requires grad) is a leaf here: its tangent already holds what lies
    # upstream, and the VJP to an earlier dual through it would count that path twice
    # (y = Sq.apply(3 * d) + d at d = 1, tangent 1: 37, not 19). Cut for this VJP only.
    # The tangent keeps a graph (as PyTorch's) where a tangent requires grad or the output
    # depends on a tensor that requires grad other than the duals made for forward AD.
    differentiable = _GradMode.enabled and (
        any(t._rg for _, t in duals) or _reaches_outside(output))
    cut = [(d, d._op, d._inputs) for d in inputs if d._op is not None]
    for d, _, _ in cut:
        d._op = d._inputs = None
    try:
        tangent = _cut_jvp(output, duals, inputs, cotangent, differentiable)
    finally:
        for d, op, parents in cut:
            d._op, d._inputs = op, parents
    if not differentiable:
        return tangent
    reads = _primal_reads(output)  # (PyTorch's formula reads them: zero gradients at least)
    if reads and tangent._rg:  # (those its graph reaches already have theirs)
        reached = _graph_ids(tangent)
        reads = [x for x in reads if id(x) not in reached]
    named = tangent if tangent._rg and reads else None
    for read in reads:
        tangent = apply(_ZERO_LINK, tangent, read)
    if named is not None:  # (printed as the tangent's own last node, with its inputs)
        name_node(tangent, grad_fn_name(named)(), named._inputs)
    return tangent


def _graph_ids(tensor: Tensor) -> set:
    """The ids of the tensors ``tensor``'s graph reaches (itself included; iterative)."""
    seen, stack = set(), [tensor]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(x for x in node._inputs or () if isinstance(x, Tensor) and x._rg)
    return seen


# The ops whose PyTorch forward-mode formula reads no primal value that requires grad (it moves,
# sums or masks the tangents: add's self_t + other_t, clamp's where(mask, self_t, 0)); through
# any other op (mul's self_t * other_p + other_t * self_p) PyTorch's tangent requires grad when
# an input's primal does, even where the term is zero (d * 2 for a primal that requires grad:
# backward through the tangent gives the primal a zero gradient). The double VJP's tangent has
# no graph there; _primal_reads gives what PyTorch's reads, linked to it by zero_link.
_TANGENT_ONLY = frozenset(
    "add sub neg sum mean cumsum reshape permute expand getitem diagonal cat stack clone cast "
    "pad repeat gather where clamp clamp_min clamp_max clamp_tensor _fft_c2c _fft_r2c _fft_c2r "
    "index_put index_add_zeros scatter_sum unfold as_strided maximum minimum amax amin lerp "
    "complex view_as_real view_as_complex real imag conj_physical sign floor ceil trunc round "
    "nan_to_num deg2rad rad2deg".split())
_ZERO_LINK = OPS["zero_link"]


def _primal_reads(output: Tensor) -> list:
    """The inputs that require grad (in PyTorch's sense: reaching a leaf that requires grad
    other than make_dual's leaves for primals that did not) of the nodes between the duals and
    ``output`` whose PyTorch formula reads primals (not in ``_TANGENT_ONLY``); iterative."""
    current = _levels[-1]
    dual, outside, order, stack = {}, {}, [], [(output, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        entry = current.lookup(node)
        parents = [x for x in node._inputs or () if isinstance(x, Tensor) and x._rg]
        if expanded:
            dual[key] = entry is not None or any(dual[id(x)] for x in parents)
            outside[key] = (entry is None or entry[2] if node._op is None
                            else any(outside[id(x)] for x in parents))
            order.append(node)
            continue
        if key in dual or key in outside or any(n is node for n, e in stack if e):
            continue
        stack.append((node, True))
        stack.extend((x, False) for x in parents if id(x) not in dual)
    reads, seen = [], set()
    for node in order:
        if (node._op is None or current.lookup(node) is not None or not dual[id(node)]
                or getattr(node._op, "name", None) in _TANGENT_ONLY):
            continue
        for x in node._inputs:
            if (isinstance(x, Tensor) and x._rg and outside.get(id(x)) and dual.get(id(x))
                    and id(x) not in seen):
                seen.add(id(x))
                reads.append(x)
    return reads


def _reaches_outside(output: Tensor) -> bool:
    """Whether ``output``'s graph reaches a leaf that requires grad other than the leaves
    ``make_dual`` made for primals that did not (iterative walk)."""
    current = _levels[-1]
    stack, seen = [output], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node._op is None:
            entry = current.lookup(node)
            if entry is None or entry[2]:
                return True
            continue
        stack.extend(x for x in node._inputs or () if isinstance(x, Tensor) and x._rg)
    return False


# How many of unpack_dual's VJP sweeps are running. A Function applied inside one (a rule's
# own, as max_pool's _Put) belongs to the VJP's graph, not to the user's computation: it takes
# no tangent. Asking for its inputs' tangents there ran unpack_dual on a cotangent that reaches
# the duals, whose sweep applied the Function again: max_pool2d then softplus never returned.
_sweeps = 0


def _cut_jvp(output: Tensor, duals: list, inputs: list, cotangent: Tensor,
             differentiable: bool = False) -> Tensor:
    global _sweeps
    _sweeps += 1
    try:
        return _swept_jvp(output, duals, inputs, cotangent, differentiable)
    finally:
        _sweeps -= 1


def _swept_jvp(output: Tensor, duals: list, inputs: list, cotangent: Tensor,
               differentiable: bool) -> Tensor:
    with dg.enable_grad():
        vjps = _grad(output, inputs, grad_outputs=cotangent, create_graph=True,
                     retain_graph=True, allow_unused=True)
        total = None
        for vjp, (_, tangent) in zip(vjps, duals):
            if vjp is None:
                continue
            if vjp.is_complex() or tangent.is_complex():
                # (the real pairing Re <vjp, t> = Re sum(conj(vjp) t), whose gradient in a
                # complex cotangent is J t under PyTorch's convention)
                term = (vjp.conj() * tangent).real.sum()
            else:
                term = (vjp * tangent).sum()
            total = term if total is None else total + term
    if total is None or not total._rg:
        return dg.zeros_like(output).detach()
    # (retain: the VJP graph runs through the user's nodes, which must survive for backward)
    (tangent,) = _grad(total, [cotangent], retain_graph=True, allow_unused=True,
                       create_graph=differentiable)
    if tangent is None:
        return dg.zeros_like(output).detach()
    return tangent.to(output.dtype) if differentiable else tangent.detach().to(output.dtype)


# ----------------------------------------------------------------------------------------------
# Custom autograd.Functions: their ``jvp`` gives their outputs' tangents, which are then kept
# as the outputs' own (the outputs become duals, so unpack_dual stops there).


def active() -> bool:
    """Whether a dual level holds dual tensors, outside unpack_dual's own sweeps
    (``Function.apply`` asks before each call)."""
    return bool(_levels and _levels[-1].duals) and not _sweeps


_NO_FORMULA = (
    "Trying to use forward AD with {} that does not support it because it has not been "
    "implemented yet.\nPlease file an issue to PyTorch at https://github.com/pytorch/pytorch/"
    "issues/new?template=feature-request.yml so that we can prioritize its implementation or "
    "submit a PR adding the implementation to derivatives.yaml")


def refuse_tangents(name: str, *tensors) -> None:
    """PyTorch's NotImplementedError from an op without a forward-mode formula (``name``, its
    ATen name) when one of ``tensors`` carries a tangent at the current level; deltagrad's
    tangents would exist (two reverse passes), PyTorch refuses them."""
    if not active():
        return
    current = _levels[-1]
    for t in tensors:
        if not isinstance(t, Tensor) or not t._rg:
            continue
        try:
            reached = current.lookup(t) is not None or bool(_duals_reached(current, t))
        except NotImplementedError:  # (a dual reached through an op without a rule)
            reached = True
        if reached:
            raise NotImplementedError(_NO_FORMULA.format(name))


_IN_RULE = [0]  # how many Function jvp rules are running (input_tangents: none inside)


def input_tangents(args: tuple) -> tuple | None:
    """The tangents of a Function's positional arguments, as ``jvp`` receives them (zeros for
    a tensor without one, None for a non-tensor), or None when no argument has one."""
    if _IN_RULE[0]:  # (a Function applied inside a jvp rule: its arguments are tangents,
        # plain tensors, as in PyTorch; CubeGenVmap's jvp of autograd_function_db, NN1 s28)
        return None
    tangents, any_dual = [], False
    for a in args:
        if not isinstance(a, Tensor):
            tangents.append(None)
            continue
        tangent = unpack_dual(a).tangent
        if tangent is None:
            tangent = dg.zeros_like(a).detach()
        else:
            any_dual = True
        tangents.append(tangent)
    return tuple(tangents) if any_dual else None


def attach_jvp(function: type, ctx, result, tangents: tuple) -> None:
    """Run ``function.jvp(ctx, *tangents)`` and keep its tangents as ``result``'s."""
    if function.jvp is _base_jvp(function):
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")
    ctx._in_jvp = True
    _IN_RULE[0] += 1
    try:
        with dg.no_grad():
            out_tangents = function.jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
        _IN_RULE[0] -= 1
    outputs = result if isinstance(result, tuple) else (result,)
    out_tangents = out_tangents if isinstance(out_tangents, tuple) else (out_tangents,)
    if len(out_tangents) != len(outputs):
        raise RuntimeError(f"{function.__name__}.jvp returned {len(out_tangents)} tangents for "
                           f"{len(outputs)} outputs")
    current = _levels[-1]
    for out, tangent in zip(outputs, out_tangents):
        if not isinstance(out, Tensor) or tangent is None:
            continue
        if tuple(tangent.shape) != tuple(out.shape):
            raise RuntimeError(f"{function.__name__}.jvp: a tangent of shape "
                               f"{list(tangent.shape)} for an output of shape {list(out.shape)}")
        current.duals[id(out)] = (weakref.ref(out), _stored_tangent(out, tangent),
                                  out.requires_grad)
        if not out._rg:  # (made under no_grad: a dual as make_dual's, so that ops see it)
            out._rg = True


def _base_jvp(function: type):
    from .function import Function  # (function.py imports this module)

    return Function.jvp
