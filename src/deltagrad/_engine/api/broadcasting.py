"""``broadcast_shapes``: the shape that shapes broadcast to, with PyTorch's error naming the
first dimension and argument that do not fit (moved here from shape.py, at its length limit,
in s27 LE16)."""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd import ShapeError
from ..tensor import Tensor


def broadcast_shapes(*shapes) -> tuple:
    """The shape that ``shapes`` broadcast to."""
    for s in shapes:
        if isinstance(s, Tensor):  # (PyTorch: ints or sequences of them, not a tensor)
            raise RuntimeError(f"Input shapes should be of type ints, a tuple of ints, or a list "
                               f"of ints, got {s}")
    sizes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    from .attributes import Size  # (attributes imports shape.py, which imports this module)

    try:
        return Size(np.broadcast_shapes(*sizes))  # (a Size, as PyTorch's: gpytorch calls
    except ValueError:  # .numel() on it)
        raise ShapeError(_mismatch(shapes, sizes)) from None


def _mismatch(shapes: tuple, sizes: list) -> str:
    """PyTorch's message for ``shapes`` (as given; ``sizes``: as tuples) that do not broadcast:
    the first argument, from the last dimension back, whose length differs from the common
    shape's so far (scipy's tests match its words)."""
    common = [1] * max(len(size) for size in sizes)
    for index, (shape, size) in enumerate(zip(shapes, sizes)):
        for dim in range(-1, -1 - len(size), -1):
            if common[dim] == 1:
                common[dim] = size[dim]
            elif size[dim] != 1 and size[dim] != common[dim]:
                given = size if isinstance(shape, numbers.Integral) else shape
                return (f"Attempting to broadcast a dimension of length {size[dim]} at {dim}! "
                        f"Mismatching argument at index {index} had {given!r}; but expected "
                        f"shape should be broadcastable to {common}")
    return f"broadcast_shapes: shapes {sizes} cannot be broadcast"  # (a negative length)
