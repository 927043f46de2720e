"""Shape functions: reshape / view, permute, transpose, squeeze, expand, cat, stack, split."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ..autograd import ShapeError, _GradMode
from ..ops import OPS
from ..tensor import Tensor, _lift, _resolve_shape, _result, _shape_arg, apply, tensor_method

__all__ = ["cat", "chunk", "concatenate", "flatten", "permute", "reshape", "split", "squeeze",
           "stack", "transpose", "unsqueeze"]

_RESHAPE = OPS["reshape"]


def _t(x) -> Tensor:
    return x if type(x) is Tensor else _lift(x, None)


@tensor_method
def reshape(input, *shape):
    input = _t(input)
    shape = _shape_arg(shape)
    try:
        resolved = _resolve_shape(input._data.size, shape)
    except ValueError as error:
        raise ShapeError(f"reshape: cannot reshape {input.shape} to {shape}: {error}") from None
    if resolved == input._data.shape:
        return input
    # NOTE: the one documented exception to making results through `apply`: the reshape op's
    # forward inlined (the array's own reshape, a view, never float64) with the shape already
    # resolved; reshape 2.2 -> 1.2 us (commit 503b398), on the hot path of every view.
    return _result(input._data.reshape(resolved), _RESHAPE, (input,), {"shape": resolved},
                   _GradMode.enabled and input._rg)


view = tensor_method(reshape, name="view")


@tensor_method
def view_as(input, other):
    return reshape(input, other.shape)


reshape_as = tensor_method(view_as, name="reshape_as")


@tensor_method
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    input = _t(input)
    if input.ndim == 0:
        return reshape(input, 1)
    start, end = start_dim % input.ndim, end_dim % input.ndim
    return reshape(input, input.shape[:start] + (-1,) + input.shape[end + 1:])


@tensor_method
def permute(input, *dims):
    input = _t(input)
    dims = _shape_arg(dims)
    if sorted(d % input.ndim for d in dims) != list(range(input.ndim)):
        raise ShapeError(f"permute: {dims} is not a permutation of the {input.ndim} dims")
    dims = tuple(d % input.ndim for d in dims)
    return apply(OPS["permute"], input, dims=dims)


@tensor_method
def transpose(input, dim0: int, dim1: int):
    input = _t(input)
    dims = list(range(input.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(input, *dims)


@tensor_method
def t(input):
    return transpose(input, 0, 1) if input.ndim == 2 else input


@tensor_method
def unsqueeze(input, dim: int):
    input = _t(input)
    dim = dim % (input.ndim + 1)
    return reshape(input, input.shape[:dim] + (1,) + input.shape[dim:])


@tensor_method
def squeeze(input, dim=None):
    input = _t(input)
    if dim is None:
        return reshape(input, tuple(n for n in input.shape if n != 1))
    dims = {d % max(input.ndim, 1) for d in ((dim,) if isinstance(dim, int) else dim)}
    return reshape(input, tuple(n for i, n in enumerate(input.shape)
                                if not (i in dims and n == 1)))


@tensor_method
def expand(input, *sizes):
    sizes = _shape_arg(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise ShapeError(f"expand: cannot expand shape {input.shape} to {sizes}")
    shape = tuple(input.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
    if shape == input.shape:
        return input
    try:
        np.broadcast_shapes(input.shape, shape)
    except ValueError:
        raise ShapeError(f"expand: cannot expand shape {input.shape} to {sizes}") from None
    return apply(OPS["expand"], input, shape=shape)


@tensor_method
def expand_as(input, other):
    return expand(input, other.shape)


def cat(tensors: Sequence, dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return apply(OPS["cat"], *tensors, dim=dim)


concatenate = cat


def stack(tensors: Sequence, dim: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new dimension."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([unsqueeze(t, dim) for t in tensors], dim)


@tensor_method
def split(input, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of a given size (the last may be smaller) or of the given sizes."""
    input = _t(input)
    dim = dim % input.ndim
    size = input.shape[dim]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        sizes = [min(step, size - i) for i in range(0, size, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise ShapeError(
                f"split: sizes {sizes} do not add up to dimension {dim} of size {size}"
            )
    pieces, start = [], 0
    lead = (slice(None),) * dim
    for n in sizes:
        pieces.append(input[lead + (slice(start, start + n),)])
        start += n
    return tuple(pieces)


@tensor_method
def chunk(input, chunks: int, dim: int = 0):
    size = input.shape[dim]
    return split(input, max(1, -(-size // chunks)), dim)
