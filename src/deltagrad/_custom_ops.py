"""``torch._custom_ops``: PyTorch's older custom-operator API, as far as deltagrad can answer it.

Libraries import it for ``get_ctx`` inside their fake (meta) kernels (torchvision's
``_meta_registrations``); deltagrad runs eagerly and never calls fake kernels, so there is no
context to give. Registration goes through deltagrad.library (``custom_op``, ``register_fake``).
"""

from __future__ import annotations

from collections.abc import Callable

from .library import custom_op, register_fake

__all__ = ["custom_op", "get_ctx", "impl_abstract"]


def impl_abstract(qualname: str, func: Callable | None = None, *, lib=None,
                  _stacklevel: int = 1):
    """The older name of ``torch.library.register_fake`` (deltagrad records, never calls it)."""
    return register_fake(qualname, func) if func is not None else register_fake(qualname)


def get_ctx():
    """Raises RuntimeError: the context exists only inside a fake kernel run by a tracing
    compiler, and deltagrad has none."""
    raise RuntimeError("torch._custom_ops.get_ctx() is only valid inside a fake kernel run "
                       "by a tracing compiler; deltagrad runs eagerly and has none")
