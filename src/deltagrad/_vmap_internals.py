"""``torch._vmap_internals``: the older vmap entry point that libraries still import.

pytorch-minimize and PyTorch's own ``autograd.functional`` (``vectorize=True``) call
``_vmap(func, in_dims, out_dims, allow_none_pass_through)``; it is ``torch.func.vmap`` here,
plus the one behaviour the older API adds: with ``allow_none_pass_through=True`` an output of
``func`` that is None (a gradient that does not exist) comes back as None instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable

from . import _engine as dg
from .func import vmap

__all__ = ["vmap"]


def _vmap(func: Callable, in_dims=0, out_dims=0,
          allow_none_pass_through: bool = False) -> Callable:
    """``vmap`` over ``func``; None outputs pass through when ``allow_none_pass_through``.

    >>> import deltagrad as dg
    >>> _vmap(lambda x: (x * 2, None), allow_none_pass_through=True)(dg.ones(2, 3))[1] is None
    True
    """
    if not allow_none_pass_through:
        return vmap(func, in_dims, out_dims)
    layout: dict = {}

    def placeholders(*args):
        out = func(*args)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        layout["single"], layout["none"] = single, [item is None for item in outs]
        # (a stand-in that vmap can stack; its place is given back to None below)
        return tuple(dg.zeros(()) if item is None else item for item in outs)

    def mapped(*args):
        stacked = vmap(placeholders, in_dims, out_dims)(*args)
        outs = tuple(None if none else item for item, none in zip(stacked, layout["none"]))
        return outs[0] if layout["single"] else outs

    return mapped
