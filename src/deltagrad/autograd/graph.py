"""``torch.autograd.graph``: ``Node`` (the class of ``grad_fn`` objects, for isinstance
checks) and the saved-tensor hooks, which deltagrad does not offer (see below) beyond
``save_on_cpu``, a no-op where every tensor lives on the CPU."""

from __future__ import annotations

import abc

from .._engine.tensor import GradFn

__all__ = ["Node", "disable_saved_tensors_hooks", "save_on_cpu", "saved_tensors_hooks"]


class Node(abc.ABC):  # noqa: B024 - an interface for isinstance, as PyTorch's
    """The abstract class of graph nodes: ``isinstance(t.grad_fn, Node)`` is True. A node
    offers ``name()``; deltagrad's nodes (``GradFn``) also hold ``inputs`` and ``attrs``."""

    def name(self) -> str:  # pragma: no cover - the interface's signature only
        raise NotImplementedError


Node.register(GradFn)

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
