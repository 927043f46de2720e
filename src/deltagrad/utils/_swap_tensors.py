"""``torch.utils.swap_tensors``: two tensors exchange their contents (values, dtype, shape,
requires_grad, grad, graph node, Python attributes and class) while each keeps its identity."""

from __future__ import annotations

import copyreg
import weakref

from .._engine.tensor import Tensor
from ..nn import buffer as _buffer
from ..nn import module as _module

__all__ = ["swap_tensors"]


def _own_marks(t) -> list:
    """The weak references deltagrad itself keeps to ``t``: its Parameter and buffer marks
    (PyTorch marks by class, which the swap exchanges; here the marks move instead)."""
    marks = []
    parameter = _module._MARKED.get(id(t))
    if parameter is not None and parameter() is t:
        marks.append(parameter)
    entry = _buffer._MARKED.get(id(t))
    if entry is not None and entry[0]() is t:
        marks.append(entry[0])
    return marks


def swap_tensors(t1, t2) -> None:
    """Swap the contents of ``t1`` and ``t2`` in place, as PyTorch's: afterwards ``t1`` has
    what ``t2`` had (its values, dtype, shape, requires_grad, ``.grad``, node, ``__dict__``,
    class and Parameter / buffer mark) and the other way round; references to either object
    still reach the same object.

    Args:
        t1, t2: tensors of classes with the same slots, with no weak references to them (a
            RuntimeError otherwise, as PyTorch's).

    NOTE: PyTorch also refuses a tensor that something else holds (a saved tensor of a live
    graph, by its C++ use count); deltagrad cannot count those and swaps: a graph recorded
    before the swap then reads the swapped contents.

    >>> import deltagrad as dg
    >>> a, b = dg.tensor([1.0, 2.0]), dg.tensor([3], dtype=dg.int64)
    >>> dg.utils.swap_tensors(a, b)
    >>> a, b
    (tensor([3]), tensor([1., 2.]))
    """
    if not isinstance(t1, Tensor) or not isinstance(t2, Tensor):
        raise TypeError(f"swap_tensors: expected two Tensors, got {type(t1).__name__} and "
                        f"{type(t2).__name__}")
    marks1, marks2 = _own_marks(t1), _own_marks(t2)
    if any(ref not in marks1 for ref in weakref.getweakrefs(t1)):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if any(ref not in marks2 for ref in weakref.getweakrefs(t2)):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    slots = set(copyreg._slotnames(type(t1)))
    if slots != set(copyreg._slotnames(type(t2))):
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")
    if t1 is t2:
        return
    t1.__class__, t2.__class__ = type(t2), type(t1)
    t1.__dict__, t2.__dict__ = t2.__dict__, t1.__dict__
    # deltagrad's Tensor keeps all its state (PyTorch's TensorImpl) in slots: swapping them
    # is PyTorch's _swap_tensor_impl
    missing = object()
    for slot in slots:
        value1, value2 = getattr(t1, slot, missing), getattr(t2, slot, missing)
        for target, value in ((t1, value2), (t2, value1)):
            if value is missing:
                if hasattr(target, slot):
                    delattr(target, slot)
            else:
                setattr(target, slot, value)
    _swap_marks(t1, t2)


def _swap_marks(t1, t2) -> None:
    """The Parameter and buffer marks change places with the contents (PyTorch's classes)."""
    parameter1 = _module._MARKED.get(id(t1))
    parameter1 = parameter1 is not None and parameter1() is t1
    parameter2 = _module._MARKED.get(id(t2))
    parameter2 = parameter2 is not None and parameter2() is t2
    buffers = {}
    for t in (t1, t2):
        entry = _buffer._MARKED.get(id(t))
        buffers[id(t)] = entry[1] if entry is not None and entry[0]() is t else None
    for t in (t1, t2):
        _module._MARKED.pop(id(t), None)
        _buffer._MARKED.pop(id(t), None)
    if parameter2:
        _module._mark_parameter(t1)
    if parameter1:
        _module._mark_parameter(t2)
    if buffers[id(t2)] is not None:
        _buffer.mark_buffer(t1, buffers[id(t2)])
    if buffers[id(t1)] is not None:
        _buffer.mark_buffer(t2, buffers[id(t1)])
