"""``torch.autograd.graph``: ``Node`` (the class of ``grad_fn`` objects, for isinstance
checks) with its pre- and post-hooks, ``register_multi_grad_hook``, ``increment_version``, the
saved-tensor hooks (``saved_tensors_hooks``, ``save_on_cpu``,
``allow_mutation_on_saved_tensors``; the engine's side is in ``_engine/tensor_hooks.py``) and
``GradientEdge``."""

from __future__ import annotations

import abc
import weakref
from typing import NamedTuple

import numpy as np

from .._engine import modes as _modes
from .._engine import versions
from .._engine.api import backward as _backward
from .._engine.autograd import _counters, _reduce_to
from .._engine.grad_attrs import AccumulateGrad
from .._engine.ops import ARRAY, OPS
from .._engine.printing import grad_fn_name
from .._engine.tensor import GradFn, Tensor

__all__ = ["GradientEdge", "Node", "allow_mutation_on_saved_tensors",
           "disable_saved_tensors_hooks", "get_gradient_edge", "increment_version",
           "region_activation_memory_budget", "register_multi_grad_hook", "save_on_cpu",
           "saved_tensors_hooks"]


class Node(abc.ABC):  # noqa: B024 - an interface for isinstance, as PyTorch's
    """The abstract class of graph nodes: ``isinstance(t.grad_fn, Node)`` is True. A node
    offers ``name()``; deltagrad's nodes (``GradFn``) also hold ``inputs`` and ``attrs``."""

    def name(self) -> str:  # pragma: no cover - the interface's signature only
        raise NotImplementedError


Node.register(GradFn)
Node.register(AccumulateGrad)


class _NodeHookHandle:
    """``remove()`` unregisters a node's pre-hook (PyTorch's RemovableHandle)."""

    def __init__(self, handle) -> None:
        self._handle = handle

    def remove(self) -> None:
        self._handle.remove()


class _NodePrehook:
    """A node pre-hook as a hook on the gradient of the node's output tensor."""

    def __init__(self, hook) -> None:
        self.hook = hook

    def __call__(self, g):
        new = self.hook((g,))
        if new is None:
            return None
        if not isinstance(new, (tuple, list)) or len(new) != 1:
            raise RuntimeError(f"hook '{getattr(self.hook, '__name__', self.hook)}' has returned "
                               "an incorrect number of values (expected a tuple of 1)")
        return new[0]


class _HooksThenNodePrehooks(list):
    """A tensor's hook list that keeps its node's pre-hooks after its tensor hooks, whenever
    each was registered: PyTorch runs a tensor's hooks before its grad_fn's pre-hooks."""

    def append(self, hook) -> None:
        rank = _rank(hook)
        for i, held in enumerate(self):
            if _rank(held) > rank:
                self.insert(i, hook)
                return
        super().append(hook)


def _rank(hook) -> int:
    # Tensor hooks, then node pre-hooks, then node post-hooks (which see what pre-hooks made).
    if not isinstance(hook, _NodePrehook):
        return 0
    return 2 if isinstance(hook.hook, _NodePosthook) else 1


def _register_prehook(self, hook):
    """PyTorch's ``Node.register_prehook``: ``hook(grad_outputs)`` runs before the node's
    backward with the tuple of its output gradients and may return a replacement tuple.

    A deltagrad node has one output, the tensor it made, so this is a hook on that tensor's
    gradient, kept after the hooks registered on the tensor itself (PyTorch's order)."""
    return _prehook_on(self._node, hook)


def _prehook_on(node, hook) -> _NodeHookHandle:
    # ``node``: the tensor whose gradient the node receives (a leaf for AccumulateGrad).
    if not isinstance(node._hooks, _HooksThenNodePrehooks):
        node._hooks = _HooksThenNodePrehooks(node._hooks or ())
    return _NodeHookHandle(node.register_hook(_NodePrehook(hook)))


def node_input_grads(node, g) -> tuple:
    """The gradients ``node``'s backward sends its inputs for ``g``, its output's gradient (an
    ndarray, or a Tensor under create_graph): one Tensor per input (None for an input that
    needs none), summed to the input's shape and cast to its dtype, as the sweep does."""
    op, inputs = node._op, node._inputs
    if inputs is None:
        raise RuntimeError("Trying to backward through the graph a second time (or directly "
                           "access saved tensors after they have already been freed)")
    registered = OPS.get(op.name)
    base = getattr(op, "unhooked", op)  # (saved-tensor hooks' twin)
    if registered is None or registered.forward is not base.forward:  # (or a renamed twin)
        raise NotImplementedError(
            f"{node_name(node)}: post-hooks on a custom autograd.Function's node are not "
            "supported by deltagrad (its backward would run twice); register a hook on its "
            "inputs instead")
    g = g._data if isinstance(g, Tensor) else g
    kwargs = dict(node._attrs or {})
    if op.wants_needs:
        kwargs["needs"] = tuple(x._rg for x in inputs)
    grads = op.vjp(ARRAY, g, node._data, *(x._data for x in inputs), **kwargs)
    result = []
    for x, gx in zip(inputs, grads):
        if gx is None or not x._rg:
            result.append(None)
            continue
        if isinstance(gx, np.ndarray):
            if gx.shape != x._data.shape:
                gx = _reduce_to(ARRAY, gx, x._data.shape, op.name)
            gx = gx.astype(x._data.dtype, copy=False)
        result.append(_backward._wrap(gx))
    return tuple(result)


def node_name(node) -> str:
    return getattr(grad_fn_name(node), "_torch_name", node._op.name)


class _NodePosthook:
    """A node post-hook, run as a pre-hook: it computes the gradients the node's backward is
    about to send (``node_input_grads``) and shows them with the output's gradient."""

    def __init__(self, node, hook) -> None:
        self.node, self.hook = node, hook

    def __call__(self, grad_outputs):
        grad_inputs = node_input_grads(self.node, grad_outputs[0])
        result = self.hook(grad_inputs, tuple(grad_outputs))
        if result is not None:
            raise NotImplementedError(
                f"{node_name(self.node)}: a node post-hook (grad_fn.register_hook, or a Module "
                "backward hook over several graph nodes) that returns new gradients is not "
                "supported by deltagrad; use Tensor.register_hook on the inputs, or "
                "Module.register_full_backward_hook")
        return None


def _register_hook(self, hook):
    """PyTorch's ``Node.register_hook``: ``hook(grad_inputs, grad_outputs)`` runs when the
    node's backward has run, with the gradients it computed for its inputs (one per entry of
    ``next_functions``, None where an input needs none) and its output's gradient.

    deltagrad runs it just before the node's backward, computing those gradients itself, so a
    hook may read them but not replace them (returning anything but None raises
    NotImplementedError). Returns a handle with ``remove()``."""
    return _register_prehook(self, _NodePosthook(self._node, hook))


def _metadata(self) -> dict:
    """PyTorch's ``Node.metadata``: a dict a program may store anything in, one per node."""
    return self._node.__dict__.setdefault("_node_metadata", {})


GradFn.register_prehook = _register_prehook
GradFn.register_hook = _register_hook
GradFn.metadata = property(_metadata)


class _AccumulatePosthook(_NodePosthook):
    """The part of an AccumulateGrad post-hook that runs before accumulation: it keeps the
    incoming gradient for the part that runs after (a post-accumulate-grad hook)."""

    def __init__(self, hook) -> None:
        super().__init__(None, hook)
        self.grad_outputs: tuple = ()

    def __call__(self, grad_outputs):
        self.grad_outputs = tuple(grad_outputs)
        return None

    def after(self, tensor) -> None:
        result = self.hook((), self.grad_outputs)
        if result is not None and tuple(result) != ():
            raise RuntimeError(f"hook '{getattr(self.hook, '__name__', self.hook)}' has "
                               "returned an incorrect number of values (got "
                               f"{len(tuple(result))}, but expected 0)")


class _BothHandles:
    def __init__(self, *handles) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _accumulate_prehook(self, hook):
    """PyTorch's ``AccumulateGrad.register_prehook``: ``hook((grad,))`` before the leaf's
    gradient is accumulated into ``.grad``; it may return a replacement tuple."""
    return _prehook_on(self.variable, hook)


def _accumulate_hook(self, hook):
    """PyTorch's ``AccumulateGrad.register_hook``: ``hook((), (grad,))`` once the gradient has
    been accumulated into the leaf's ``.grad``."""
    part = _AccumulatePosthook(hook)
    return _BothHandles(_prehook_on(self.variable, part),
                        self.variable.register_post_accumulate_grad_hook(part.after))


AccumulateGrad.register_prehook = _accumulate_prehook
AccumulateGrad.register_hook = _accumulate_hook

class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within the block, every tensor an op saves for backward is passed to ``pack_hook`` (in
    forward, grad mode off), and backward reads ``unpack_hook(packed)`` in its place.

    Args:
        pack_hook: ``pack_hook(tensor) -> anything``.
        unpack_hook: ``unpack_hook(packed) -> Tensor`` with the values the tensor had (called
            when the node's backward runs, once per backward through it).

    Nested blocks: the innermost block's hooks apply. What counts as saved: for a registered op,
    the inputs and the output its gradient rule reads (``mul`` its two inputs, as far as each
    other needs a gradient; ``exp`` its output; ``add``, ``sum``, views nothing), as PyTorch's
    for the common ops (tests/autograd/test_s14_AG_saved_tensors_hooks.py counts them); for an
    ``autograd.Function``, what ``ctx.save_for_backward`` got. deltagrad's composites (a loss
    made of several ops) pack what their ops read, which may differ in number from PyTorch's
    one fused node. A packed value is not version-checked (PyTorch's): backward reads what
    unpack returns. The graph still holds the original tensors (its nodes are the tensors), so
    packing to save memory saves none here.
    """

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        _check_enabled()
        _modes.saved_hooks.append((self.pack_hook, self.unpack_hook))
        _modes._refresh()
        return self

    def __exit__(self, *exc) -> bool:
        _modes.saved_hooks.pop()
        _modes._refresh()
        return False


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Saved tensors kept on the CPU (PyTorch's hooks): ``tensor.cpu()``, which is the tensor
    itself here, or a copy with ``pin_memory=True``; unpacked with ``.to(device)``."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            if not pin_memory:
                return tensor.device, tensor.cpu()
            return tensor.device, tensor.detach().clone()

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)
        self.pin_memory = pin_memory
        self.device_type = device_type


_disabled: list = []  # the messages of the disable_saved_tensors_hooks blocks entered


def _check_enabled() -> None:
    if _disabled:
        raise RuntimeError(_disabled[-1])


class disable_saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within it, entering ``saved_tensors_hooks`` (or ``save_on_cpu``) raises RuntimeError
    with ``error_message``, as in PyTorch."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self):
        _disabled.append(self.error_message)
        return self

    def __exit__(self, *exc) -> bool:
        _disabled.pop()
        return False


class _MultiHandle:
    """What ``register_multi_grad_hook`` returns: ``remove()`` unregisters the hook from every
    tensor (also as a context manager, on exit)."""

    def __init__(self, handles: tuple) -> None:
        self.handles = handles
        self._live = True

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        if self._live:
            self._live = False
            _backward.tracking[0] -= 1

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode: str = "all"):
    """Call ``fn`` once per backward call on the gradients of several tensors (PyTorch's).

    ``mode="all"``: ``fn(grads)`` with a list of one gradient per tensor (None for a tensor no
    gradient reached in that call), once the call's gradients are all computed. ``mode="any"``:
    ``fn(grad)`` with the first of the tensors' gradients computed in the call. ``fn``'s result
    is ignored; the gradients flow on unchanged.

    Args:
        tensors: a sequence of Tensors ("all": each must require grad; "any": those that do
            not are skipped).
        fn: the hook.
        mode: "all" or "any".

    Returns:
        A handle whose ``remove()`` unregisters the hook.

    NOTE: PyTorch calls an "all" hook as the last of the gradients is computed, deltagrad when
    the call's sweep ends: the gradients passed are the same, but by then the leaves' ``.grad``
    hold theirs too.
    """
    supported = ("all", "any")
    if mode not in supported:
        raise ValueError(f"Expects mode to be one of {supported} but got {mode}")
    tensors = tuple(tensors)
    if mode == "all":
        buffers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

        def fire(task) -> None:
            fn(buffers.pop(task))

        def inner(i):
            def hook(grad) -> None:
                task = _backward.current_task()
                if task is None:
                    raise AssertionError("expected this hook to be called inside a backward "
                                         "call")
                buffer = buffers.get(task)
                if buffer is None:
                    buffer = buffers[task] = [None] * len(tensors)
                    task.callbacks.append(lambda: fire(task))
                buffer[i] = grad

            return hook

        for t in tensors:
            if not t.requires_grad:  # (PyTorch's check, as it looks for the tensor's node)
                raise AssertionError("Expected gradient function to be set")
        handles = tuple(t.register_hook(inner(i)) for i, t in enumerate(tensors))
    else:
        done: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

        def once(grad) -> None:
            task = _backward.current_task()
            if task is None:
                raise AssertionError("expected this hook to be called inside a backward call")
            if task in done:
                return
            done[task] = True
            fn(grad)

        handles = tuple(t.register_hook(once) for t in tensors if t.requires_grad)
    _backward.tracking[0] += 1
    return _MultiHandle(handles)


class _AllowMutationOnSavedContext:
    """What ``allow_mutation_on_saved_tensors`` yields; ``closed`` once its block has ended."""

    def __init__(self) -> None:
        self.closed = False


class allow_mutation_on_saved_tensors:  # noqa: N801 - PyTorch's name
    """Within the block, a tensor saved for backward may be changed in place afterwards:
    backward reads the value it had when saved (PyTorch's). Backward must run inside the block
    (AssertionError otherwise, as PyTorch's).

    NOTE: PyTorch clones a saved tensor only when an in-place op is about to change it;
    deltagrad clones every saved tensor as it is saved (the same gradients, more memory)."""

    def __enter__(self) -> _AllowMutationOnSavedContext:
        ctx = self._ctx = _AllowMutationOnSavedContext()

        def pack(tensor):
            return tensor.detach().clone()

        def unpack(copy):
            if ctx.closed:
                raise AssertionError("Trying to backward outside of the "
                                     "'allow_mutation_on_saved_tensors' contextin which the graph "
                                     "was originally recorded.")
            return copy

        self._hooks = saved_tensors_hooks(pack, unpack)
        self._hooks.__enter__()
        return ctx

    def __exit__(self, *exc) -> bool:
        self._hooks.__exit__(*exc)
        self._ctx.closed = True
        return False


def increment_version(tensor) -> None:
    """Count an in-place change of ``tensor`` (or of each tensor of a sequence) that autograd
    did not see (one written through NumPy, say): a graph that saved it raises in backward,
    as after any in-place op."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        versions.bump(t._data, _counters.created)


class GradientEdge(NamedTuple):
    """PyTorch's gradient edge: a graph ``node`` and which of its inputs (``output_nr``).
    ``autograd.grad`` takes edges as outputs and inputs; the gradient with respect to an edge
    is the gradient that flows into its node."""

    node: object
    output_nr: int


def get_gradient_edge(tensor) -> GradientEdge:
    """The edge where ``tensor``'s gradient enters the graph: its ``grad_fn`` (a leaf's
    ``AccumulateGrad``), output 0 (a deltagrad node has one output).

    Raises:
        RuntimeError: ``tensor`` does not require grad (PyTorch's message).
    """
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    node = tensor.grad_fn
    if node is None:
        node = AccumulateGrad(tensor)
    return GradientEdge(node, 0)


def region_activation_memory_budget(budget: float):
    """PyTorch's annotation of a compiled region's activation memory budget (a ratio in
    [0, 1] the partitioner of ``torch.compile`` reads). deltagrad compiles nothing, so, as
    PyTorch outside a compiled region, it raises RuntimeError (after the budget's checks)."""
    where = "torch.autograd.graph.region_activation_memory_budget"
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise TypeError(f"{where}: expects a float, got {type(budget).__name__}")
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"{where}: must be in [0, 1], got {budget}")
    raise RuntimeError(f"{where} can only be used inside a torch.compile region; it has no "
                       f"effect in eager mode (and deltagrad runs torch.compile eagerly).")
