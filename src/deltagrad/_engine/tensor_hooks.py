"""Running a tensor's gradient hooks in backward (``register_hook``, and the node pre-hooks
``grad_fn.register_prehook`` keeps after them): PyTorch's order and its checks of what a hook
returns. The sweeps in autograd.py call these."""

from __future__ import annotations

__all__ = ["prehooks_start", "run_hooks"]


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
    if new.dtype != old.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {old.dtype} got "
                           f"{new.dtype})")
    if tuple(new.shape) != tuple(old.shape):
        raise RuntimeError(f"hook '{name}' has changed the size of value (was "
                           f"{list(old.shape)} got {list(new.shape)})")
