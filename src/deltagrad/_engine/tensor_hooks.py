"""Running a tensor's gradient hooks in backward (``register_hook``, and the node pre-hooks
``grad_fn.register_prehook`` keeps after them): PyTorch's order and its checks of what a hook
returns; the sweeps in autograd.py call these. And the saved-tensor hooks' packing of what a
node's backward reads, with the op twins that unpack it."""

from __future__ import annotations

from . import modes
from .modes import _GradMode
from .ops import ARRAY
from .ops.registry import Op
from .versions import saved

__all__ = ["SAVED_KEY", "HookedOp", "hooked", "pack_node", "prehooks_start", "run_hooks"]


def prehooks_start(hooks) -> int:
    """Where the node pre-hooks begin in a tensor's hook list (its length if none).

    autograd/graph.py keeps a node's pre-hooks (its ``_NodePrehook`` wrappers) after the
    tensor's own hooks; the retained ``.grad`` is stored between the two, as PyTorch stores it
    after the tensor hooks and before the node's pre-hooks. (Recognised by class name: the
    engine cannot import that module, a layer above it.)"""
    for i, hook in enumerate(hooks):
        if type(hook).__name__ == "_NodePrehook":
            return i
    return len(hooks)


def run_hooks(hooks, g, create_graph, wrap):
    """Call ``hooks`` in order on the gradient ``g`` (an array; a Tensor under
    ``create_graph``); a hook's returned Tensor replaces it. Returns the final gradient."""
    # Every hook of a node gets the same Tensor object until one returns a new one, as in
    # PyTorch (captum's LRP hands state from one hook to the next as an attribute of it).
    if create_graph:
        for hook in hooks:
            new = hook(g)
            if new is not None:
                _check_result(hook, g, new)
                g = new
        return g
    held = None
    for hook in hooks:
        if held is None:
            held = wrap(g)
        new = hook(held)
        if new is not None:
            _check_result(hook, held, new)
            held, g = new, new._data
    return g


def _check_result(hook, old, new) -> None:
    # PyTorch's checks of a hook's returned gradient: a Tensor, of the same dtype and size.
    if not hasattr(new, "_data"):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
    name = getattr(getattr(hook, "hook", hook), "__name__", repr(hook))
    if new.dtype != old.dtype and type(hook).__name__ != "_GradDtypeCast":  # (grad_dtype's)
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {old.dtype} got "
                           f"{new.dtype})")
    if tuple(new.shape) != tuple(old.shape):
        raise RuntimeError(f"hook '{name}' has changed the size of value (was "
                           f"{list(old.shape)} got {list(new.shape)})")


# ---------------------------------------------------------------------------------------------
# Saved-tensor hooks (``torch.autograd.graph.saved_tensors_hooks``).
#
# A node's backward reads its inputs and output where the graph holds them (the node is the
# output tensor; ``_inputs`` the inputs). Inside a hooks block, a node made by a registered op
# packs the values its rule reads (``versions.saved``: the same analysis that decides which
# values the in-place check guards) and takes its op's hooked twin, whose rule unpacks them
# and reads what the unpack hook returned in their place. The packed objects live in the
# node's attributes (under SAVED_KEY), which backward drops with the graph, as PyTorch frees
# its saved variables. An autograd.Function packs what ``ctx.save_for_backward`` got instead
# (autograd/function.py).

SAVED_KEY = "saved_tensors_hooks"
_HOOKED: dict = {}  # op -> its twin whose rule unpacks


class HookedOp(Op):
    """A registered op's twin for the nodes whose saved values were packed (``unhooked``: the
    op itself, which names the node)."""

    __slots__ = ("unhooked",)


class _Packed:
    """One node's packed values: the unpack hook, the packed output (when the rule reads it)
    and ``(position, packed)`` per input read."""

    __slots__ = ("unpack", "reads_out", "out", "inputs")

    def __init__(self, unpack, reads_out, out, inputs) -> None:
        self.unpack, self.reads_out, self.out, self.inputs = unpack, reads_out, out, inputs

    def __repr__(self) -> str:
        return f"<saved tensors: {int(self.reads_out) + len(self.inputs)} packed>"


# PyTorch's binary nodes that save ``other`` before ``self`` (packed, and unpacked in backward,
# in that order: its docs' saved_tensors_hooks example prints it); mm too (``matmul`` of two
# matrices here). Found with both inputs requiring grad, s28 DX2.
_OTHER_FIRST = frozenset({"mul", "div", "atan2", "pow", "maximum", "minimum", "hypot", "fmod",
                          "remainder", "xlogy", "logaddexp", "logaddexp2", "fmax", "fmin"})


def pack_node(node, pack, unpack) -> None:
    """Pack what ``node``'s backward reads with ``pack`` (grad mode off, as PyTorch calls
    it); called by ``modes.check_forward`` for each node made inside a hooks block."""
    attrs = node._attrs
    if attrs is not None and ("ctx" in attrs or SAVED_KEY in attrs):
        return  # an autograd.Function (it packs its saved tensors), or packed already
    op = node._op
    reads_out, positions = saved(node)
    inputs = node._inputs
    # A Python number met by an op is a 0-d constant leaf here, a wrapped scalar in PyTorch,
    # which packs none: 0-d constants are not packed (`x * 2.0` packs nothing).
    positions = [i for i in sorted(positions)
                 if inputs[i]._rg or inputs[i]._op is not None or inputs[i]._data.ndim]
    if not reads_out and not positions:
        return  # (add, reshape, sum: PyTorch's save nothing either)
    if positions == [0, 1] and (op.name in _OTHER_FIRST or (
            op.name == "matmul" and inputs[0]._data.ndim == inputs[1]._data.ndim == 2)):
        positions = [1, 0]
    previous = _GradMode.enabled
    _GradMode.enabled = False
    try:
        packed = tuple((i, pack(inputs[i])) for i in positions)
        out = pack(node) if reads_out else None
    finally:
        _GradMode.enabled = previous
    node._op = hooked(op)
    node._attrs = {**(attrs or {}), SAVED_KEY: _Packed(unpack, reads_out, out, packed)}


def hooked(op):
    """``op``'s twin whose rule reads the unpacked values (made once per op)."""
    twin = _HOOKED.get(op)
    if twin is not None:
        return twin
    rule, forward = op.vjp, op.forward

    def vjp(F, g, out, *xs, **attrs):
        packed = attrs.pop(SAVED_KEY)
        out, xs = _unpacked(packed, F, out, xs)
        return rule(F, g, out, *xs, **attrs)

    def forward_without_hooks(*arrays, **attrs):  # (capture_step replays a node's forward)
        attrs.pop(SAVED_KEY, None)
        return forward(*arrays, **attrs)

    twin = HookedOp(op.name, forward_without_hooks, vjp, op.samples, op.wants_needs,
                    op.second_order)
    twin.unhooked = op  # (versions.saved: PyTorch checks no version of a packed value)
    _HOOKED[op] = twin
    return twin


def _unpacked(packed, F, out, xs):
    """``(out, xs)`` with each packed value replaced by what the unpack hook returns: its array
    in a first-order sweep, a Tensor joined to the original's graph under create_graph."""
    unpack = packed.unpack
    graph = None if F is ARRAY else F
    xs = list(xs)
    for i, value in packed.inputs:
        xs[i] = _value(unpack(value), xs[i], graph)
    if packed.reads_out:
        out = _value(unpack(packed.out), out, graph)
    return out, xs


def _value(result, original, graph):
    if not hasattr(result, "_data") or not hasattr(result, "_rg"):
        raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                        f"result of type {type(result).__name__}")
    if graph is None:
        return result._data
    if result is original or not getattr(original, "_rg", False):
        return result
    # PyTorch gives the unpacked value the original's place in the graph (its grad_fn), so
    # that double backward reaches the original's inputs: a clone node of the original (its
    # rule passes the gradient on and reads no value) that holds the unpacked values.
    joined = graph.op("clone", original)
    joined._data = result._data
    return joined


modes.packer[0] = pack_node  # (modes, a layer below, calls it through this slot)
