"""The output of a custom Function whose forward changed an input in place (``mark_dirty``),
moved out of function.py (session 27, PR13) with the re-count of its saved versions."""

from __future__ import annotations

from .._engine import versions
from .._engine.api.inplace import _become, _old_node
from .._engine.api.view_joins import join_views
from .._engine.autograd import _counters, _GradMode
from .._engine.ops import Op
from .._engine.tensor import _result
from .._engine.versions import version

_VALUE = "value"  # (function.py's kind of a saved intermediate: the spec holds the tensor)


def _dirty_result(cls: type, op: Op, ctx, tensors: tuple, returned, requires_grad: bool):
    """The output of a forward that changed its input in place (``mark_dirty``) and returned
    it: that very Tensor, made the op's node, its old node (the value before) the op's input,
    as an in-place op of the engine does."""
    dirty = ctx._dirty
    outputs = returned if isinstance(returned, tuple) else (returned,)
    if not all(any(d is out for out in outputs) for d in dirty):
        raise RuntimeError("Some elements marked as dirty during the forward method were not "
                           "returned as output. The inputs that are modified inplace must all "
                           "be outputs of the Function.")
    if ctx._layout is not None or len(dirty) != 1 or returned is not dirty[0]:
        raise NotImplementedError(
            f"{cls.__name__}.forward: ctx.mark_dirty is supported for one input that forward "
            "changes in place and returns as its only output")
    target = returned
    position = next((i for i, t in enumerate(tensors) if t is target), None)
    if position is None:
        raise RuntimeError(f"{cls.__name__}.forward: ctx.mark_dirty was given a tensor that is "
                           "not an input of forward")
    if _GradMode.enabled and target._rg and target._op is None:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                           "operation.")
    versions.bump(target._data, _counters.created)  # (PyTorch's apply counts it once more)
    if ctx._saved_versions:
        # PyTorch saves the tensors after that count: a saved dirty input (or anything sharing
        # its storage) is expected at its version after forward, not at save_for_backward's
        ctx._saved_versions = tuple(
            None if t is None else version(t._data)
            for t in (value if kind == _VALUE else value[1] for kind, value in ctx._saved_specs))
    if not requires_grad:
        return target
    old = _old_node(target)
    node = _result(target._data, op, tensors[:position] + (old,) + tensors[position + 1:],
                   {"ctx": ctx}, True)
    joins = not target._rg  # (its views taken outside the graph join with it: view_joins.py)
    _become(target, node)
    if joins:
        join_views(target)
    return target
