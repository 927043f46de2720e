"""``torch.autograd.graph``: ``Node`` (the class of ``grad_fn`` objects, for isinstance
checks) and the saved-tensor hooks, which deltagrad does not offer (see below) beyond
``save_on_cpu``, a no-op where every tensor lives on the CPU."""

from __future__ import annotations

import abc

from .._engine import versions
from .._engine.autograd import _counters
from .._engine.tensor import GradFn, Tensor

__all__ = ["Node", "disable_saved_tensors_hooks", "increment_version", "save_on_cpu",
           "saved_tensors_hooks"]


class Node(abc.ABC):  # noqa: B024 - an interface for isinstance, as PyTorch's
    """The abstract class of graph nodes: ``isinstance(t.grad_fn, Node)`` is True. A node
    offers ``name()``; deltagrad's nodes (``GradFn``) also hold ``inputs`` and ``attrs``."""

    def name(self) -> str:  # pragma: no cover - the interface's signature only
        raise NotImplementedError


Node.register(GradFn)


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
        if not isinstance(hook, _NodePrehook):
            for i, held in enumerate(self):
                if isinstance(held, _NodePrehook):
                    self.insert(i, hook)
                    return
        super().append(hook)


def _register_prehook(self, hook):
    """PyTorch's ``Node.register_prehook``: ``hook(grad_outputs)`` runs before the node's
    backward with the tuple of its output gradients and may return a replacement tuple.

    A deltagrad node has one output, the tensor it made, so this is a hook on that tensor's
    gradient, kept after the hooks registered on the tensor itself (PyTorch's order)."""
    node = self._node
    if not isinstance(node._hooks, _HooksThenNodePrehooks):
        node._hooks = _HooksThenNodePrehooks(node._hooks or ())
    return _NodeHookHandle(node.register_hook(_NodePrehook(hook)))


def _register_hook(self, hook):
    """PyTorch's ``Node.register_hook`` (a post-hook seeing the gradients a node's backward
    produced): not supported, as deltagrad's sweep has no per-node place to call it."""
    raise NotImplementedError(
        f"{type(self).__name__}.register_hook: post-hooks on graph nodes are not supported by "
        "deltagrad; use register_prehook, Tensor.register_hook on the node's inputs, or a "
        "Module full backward hook")


def _metadata(self) -> dict:
    """PyTorch's ``Node.metadata``: a dict a program may store anything in, one per node."""
    return self._node.__dict__.setdefault("_node_metadata", {})


GradFn.register_prehook = _register_prehook
GradFn.register_hook = _register_hook
GradFn.metadata = property(_metadata)

_NO_HOOKS = ("deltagrad's engine keeps the tensors a backward needs as the graph's own "
             "inputs, with no pack/unpack step to hook")


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Not supported: raises NotImplementedError on entry (pack / unpack hooks would never
    run, so silently accepting them would be wrong)."""

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        raise NotImplementedError(f"torch.autograd.graph.saved_tensors_hooks: {_NO_HOOKS}")

    def __exit__(self, *exc) -> bool:
        return False


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Keep the tensors saved for backward on the CPU: where deltagrad keeps them already,
    so inside it everything runs as outside (the saved-tensors tutorial's ``SaveToCpu``).

    PyTorch's hooks copy (``pin_memory=True``) or re-wrap each saved tensor, and skip the
    in-place check on it: a saved tensor modified in place after the forward gives a stale or
    modified value there, and deltagrad's usual RuntimeError here, never a silent difference.
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        super().__init__(None, None)
        self.pin_memory = pin_memory
        self.device_type = device_type

    def __enter__(self) -> None:
        return None


class disable_saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within it saved-tensor hooks are refused; deltagrad has none, so it changes
    nothing."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False


def increment_version(tensor) -> None:
    """Count an in-place change of ``tensor`` (or of each tensor of a sequence) that autograd
    did not see (one written through NumPy, say): a graph that saved it raises in backward,
    as after any in-place op."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        versions.bump(t._data, _counters.created)
