"""The scatters into a view: ``input`` with one slice, one index or one diagonal replaced by
``src`` (slice_scatter, select_scatter, diagonal_scatter): a new tensor, differentiable in both
through index_put. Re-exported by indexing.py."""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd import ShapeError
from ..ops import OPS
from ..tensor import Tensor, apply, tensor_method
from ._common import int_arg, tensor_arg, tensor_input
from .rearrange import function_with_out
from .shape import _wrap_dim

__all__ = ["diagonal_scatter", "select_scatter", "slice_scatter"]

_INDEX_PUT = OPS["index_put"]


def _embedded(input: Tensor, src, index: tuple, name: str) -> Tensor:
    """``input`` with ``input[index]`` replaced by ``src``, which must have exactly that part's
    shape (no broadcasting, as in PyTorch); src is cast to the input's dtype."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}(): argument 'src' (position 2) must be Tensor, not "
                        f"{type(src).__name__}")
    target = input._data[index].shape
    if tuple(src.shape) != target:
        raise ShapeError(f"expected src to have a size equal to the slice of self. src size = "
                         f"{list(src.shape)}, slice size = {list(target)}")
    if src._data.dtype != input._data.dtype:
        src = src.to(input._data.dtype)
    return apply(_INDEX_PUT, input, src, index=index)


@tensor_method
def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``.

    Args:
        input: any tensor with at least 1 dim.
        src: a tensor of exactly the slice's shape (cast to input's dtype).
        dim: the sliced dim.
        start, end, step: the slice, as Python's (``step`` > 0).

    Returns:
        A new tensor; the gradient goes to ``src`` for the slice and to ``input`` elsewhere.
    """
    input, src = tensor_input(input), tensor_arg(src, "src", "slice_scatter")
    dim, step = int_arg(dim, "dim", "slice_scatter"), int_arg(step, "step", "slice_scatter")
    start = None if start is None else int_arg(start, "start", "slice_scatter")
    end = None if end is None else int_arg(end, "end", "slice_scatter")
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, input.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    index = (slice(None),) * dim + (slice(start, end, step),)
    return _embedded(input, src, index, "slice_scatter")


slice_scatter = function_with_out(slice_scatter, "slice_scatter")


@tensor_method
def select_scatter(input, src, dim: int, index: int) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src`` (its shape: input's
    without ``dim``); ``index`` may be negative. Gradients as ``slice_scatter``."""
    input, src = tensor_input(input), tensor_arg(src, "src", "select_scatter")
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return _embedded(input, src, (slice(None),) * dim + (index % size,), "select_scatter")


@tensor_method
def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input`` with its diagonal ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``.

    Args:
        input: a tensor with at least 2 dims.
        src: the diagonal's shape: the other dims, then the diagonal's length.
        offset: 0 for the main diagonal, > 0 above it, < 0 below.
        dim1, dim2: the two dims the diagonal runs over (distinct).

    Returns:
        A new tensor; gradients as ``slice_scatter``.
    """
    input, src = tensor_input(input), tensor_arg(src, "src", "diagonal_scatter")
    offset = int_arg(offset, "offset", "diagonal_scatter")
    shape = input._data.shape
    dim1, dim2 = _wrap_dim(dim1, input.ndim), _wrap_dim(dim2, input.ndim)
    if dim1 == dim2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    length = builtins.max(0, builtins.min(shape[dim1] - builtins.max(-offset, 0),
                                          shape[dim2] - builtins.max(offset, 0)))
    others = [d for d in range(input.ndim) if d not in (dim1, dim2)]
    rank = len(others) + 1
    index = [None] * input.ndim
    for position, d in enumerate(others):
        sizes = [1] * rank
        sizes[position] = shape[d]
        index[d] = np.arange(shape[d]).reshape(sizes)
    steps = np.arange(length).reshape((1,) * (rank - 1) + (length,))
    index[dim1] = steps + builtins.max(-offset, 0)
    index[dim2] = steps + builtins.max(offset, 0)
    return _embedded(input, src, tuple(index), "diagonal_scatter")
