"""Stacking helpers on cat: atleast_1d / 2d / 3d, hstack, vstack (row_stack), dstack,
column_stack (moved out of shape.py, at its 800-line limit)."""

from __future__ import annotations

from collections.abc import Sequence

from ..node_names import rename_node
from ..tensor import Tensor
from .shape import _reshape, _tensor_list, cat

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "column_stack", "dstack", "hstack",
           "row_stack", "vstack"]


# The shape each rank takes when padded to at least n dims (NumPy's and PyTorch's rule: a
# vector (k,) becomes the row (1, k), and (1, k, 1) in 3-d; a matrix gains a last dim).
_ATLEAST = {
    1: {0: lambda s: (1,)},
    2: {0: lambda s: (1, 1), 1: lambda s: (1, s[0])},
    3: {0: lambda s: (1, 1, 1), 1: lambda s: (1, s[0], 1), 2: lambda s: s + (1,)},
}


def _atleast(n: int, tensors):
    single = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and not single else tensors
    out = []
    for i, x in enumerate(items):
        if not isinstance(x, Tensor):  # (PyTorch's TypeError; no numbers lifted)
            raise TypeError(f"atleast_{n}d(): expected Tensor as element {i}, but got "
                            f"{type(x).__name__}")
        if x.ndim < n:
            # (PyTorch unsqueezes a tensor of 1 dim or more: its node's name; s28 SL17)
            wider = _reshape(x, _ATLEAST[n][x.ndim](x.shape))
            x = rename_node(wider, "UnsqueezeBackward0") if x.ndim else wider
        out.append(x)
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a tuple when given several)."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (a tuple when given several)."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (a tuple when given several)."""
    return _atleast(3, tensors)


def hstack(tensors: Sequence) -> Tensor:
    """Join along dim 1 (dim 0 when all are 1-d); 0-d tensors count as 1-d."""
    tensors = [atleast_1d(x) for x in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence) -> Tensor:
    """Join along dim 0 after making each at least 2-d."""
    return cat([atleast_2d(x) for x in _tensor_list(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors: Sequence) -> Tensor:
    """Join along dim 2 after making each at least 3-d."""
    return cat([atleast_3d(x) for x in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors: Sequence) -> Tensor:
    """Join columns: 0-d and 1-d tensors become columns (n, 1), then join along dim 1."""
    tensors = _tensor_list(tensors, "column_stack")
    return cat([_reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in tensors], 1)
