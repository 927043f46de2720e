"""``torch._tensor`` under the alias: ``Tensor`` and ``_rebuild_from_type_v2``, by which a plain
pickle of PyTorch's tensor subclass (or of a tensor with attributes) is rebuilt."""

from __future__ import annotations

from ._engine.tensor import Tensor

__all__ = ["Tensor"]


def _rebuild_from_type_v2(func, new_type, args, state):
    """``func(*args)`` as a ``new_type`` (``as_subclass``), its attributes set from ``state``
    (the class's own ``__setstate__`` when it has one, as PyTorch's)."""
    from .serialization import torch_files
    out = func(*args)
    if type(out) is not new_type:
        out = out.as_subclass(new_type)
    setstate = getattr(type(out), "__setstate__", None)
    if setstate is not None:
        setstate(out, state)
    elif state:
        torch_files._set_attributes(out, state, torch_files._PICKLE)
    return out
