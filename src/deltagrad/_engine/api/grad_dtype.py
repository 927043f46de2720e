"""``Tensor.grad_dtype`` (PyTorch 2.13): the dtype a leaf's gradient is cast to.

By default a leaf's ``grad_dtype`` is its dtype and changes nothing. Set to another dtype, the
gradients reaching the leaf are cast to it before its hooks, ``.grad`` and ``autograd.grad``
see them, through a ``_GradDtypeCast`` hook kept first in the leaf's hook list (hidden from
``_backward_hooks``; tensor_hooks.py lets it change the dtype). Set to None, any gradient dtype
may be assigned to ``.grad``. Only leaves have one, as in PyTorch; it is not copied by
``detach`` or ``clone``.
"""

from __future__ import annotations

from .. import dtypes
from ..tensor import Tensor

__all__: list = []

_UNSET = object()


class _GradDtypeCast:
    """A leaf's gradient hook casting the gradient to its ``grad_dtype``."""

    __slots__ = ("dtype",)

    def __init__(self, dtype) -> None:
        self.dtype = dtype

    def __call__(self, g):
        return g.to(self.dtype) if g.dtype != self.dtype else None


def grad_dtype_of(tensor):
    """``tensor``'s grad_dtype (its dtype unless set; None allows any)."""
    value = tensor.__dict__.get("_grad_dtype", _UNSET)
    return tensor.dtype if value is _UNSET else value


def _get(self):
    if self._op is not None:
        raise RuntimeError("grad_dtype can only be accessed on leaf tensors.")
    return grad_dtype_of(self)


def _set(self, value) -> None:
    if self._op is not None:
        raise RuntimeError("grad_dtype can only be set on leaf tensors.")
    if value is not None and not isinstance(value, dtypes.dtype):
        raise RuntimeError(f"grad_dtype must be a torch.dtype or None, but got "
                           f"{type(value).__name__}")
    self.__dict__["_grad_dtype"] = value
    hooks = [h for h in (self._hooks or ()) if type(h) is not _GradDtypeCast]
    if value is not None and value != self.dtype:
        hooks.insert(0, _GradDtypeCast(value))
    self._hooks = hooks or None


Tensor.grad_dtype = property(_get, _set, doc="""The dtype a leaf's gradient is cast to (its
dtype by default; None allows a ``.grad`` of any dtype). Leaves only.""")
