"""nn.Buffer: PyTorch 2.5's marker that makes ``module.name = Buffer(t)`` register a buffer."""

from __future__ import annotations

import weakref

import numpy as np

from .._engine.dtypes import _Default
from .._engine.tensor import Tensor, _leaf

__all__ = ["Buffer"]

# As for parameters (module.py), the mark lives in a registry keyed by id(), not in a Tensor
# subclass: a subclass instance would leave the engine's `type(x) is Tensor` fast path. The value
# is (weak reference, persistent).
_MARKED: dict[int, tuple[weakref.ref, bool]] = {}


def mark_buffer(tensor: Tensor, persistent: bool) -> Tensor:
    """Mark ``tensor`` as a buffer (persistent or not) and return it."""
    key = id(tensor)

    def forget(ref, key=key):
        entry = _MARKED.get(key)
        if entry is not None and entry[0] is ref:
            del _MARKED[key]

    _MARKED[key] = (weakref.ref(tensor, forget), bool(persistent))
    return tensor


def buffer_persistence(obj) -> bool | None:
    """``persistent`` of a tensor marked by ``Buffer`` (or ``UninitializedBuffer``), else None."""
    entry = _MARKED.get(id(obj))
    if entry is None or entry[0]() is not obj:
        return None
    return entry[1]


class _BufferType(type):
    # NOTE: `isinstance(t, nn.Buffer)` answers from the mark (see above), as PyTorch's answers
    # from the tensor's `_is_buffer` attribute.
    def __instancecheck__(cls, obj) -> bool:
        return buffer_persistence(obj) is not None


class Buffer(Tensor, metaclass=_BufferType):
    """A tensor that becomes a buffer when assigned to a Module attribute (PyTorch's
    ``nn.Buffer``): ``self.running = nn.Buffer(t)`` is ``self.register_buffer("running", t)``.

    ``Buffer(data)`` returns ``data.detach()`` (sharing its memory, keeping its
    ``requires_grad``), marked so that ``isinstance(b, nn.Buffer)`` is true. The result is a plain
    ``Tensor``; PyTorch's ``b.persistent`` attribute is not kept on it (Tensors here take no
    attributes), but the persistence is, and assignment honours it.

    Args:
        data: the buffer's value (a Tensor); ``None`` gives an empty tensor of the default dtype.
        persistent: whether the buffer is saved in the module's ``state_dict``.

    Returns:
        The marked Tensor.

    >>> import deltagrad as dg
    >>> class Counter(dg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.count = dg.nn.Buffer(dg.zeros(1))
    ...         self.cache = dg.nn.Buffer(dg.zeros(2), persistent=False)
    >>> list(Counter().state_dict())
    ['count']
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = _leaf(np.empty(0, dtype=_Default.float))
        tensor = data.detach()
        if data.requires_grad:
            tensor.requires_grad_(True)
        return mark_buffer(tensor, persistent)
