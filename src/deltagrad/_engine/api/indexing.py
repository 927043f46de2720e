"""Indexing functions: gather, index_select, take_along_dim (``x[index]`` is Tensor's own)."""

from __future__ import annotations

import numpy as np

from ..autograd import ShapeError
from ..ops import OPS
from ..tensor import Tensor, _leaf, _lift, apply, tensor_method

__all__ = ["gather", "index_select", "take_along_dim"]


@tensor_method
def gather(input, dim: int, index) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (PyTorch's gather)."""
    input = input if type(input) is Tensor else _lift(input, None)
    index = index._data if isinstance(index, Tensor) else np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {index.dtype}")
    if index.ndim != input.ndim:
        raise ShapeError(f"gather: index has {index.ndim} dims but input has {input.ndim}")
    return apply(OPS["gather"], input, _leaf(index), dim=dim % input.ndim)


@tensor_method
def index_select(input, dim: int, index) -> Tensor:
    input = input if type(input) is Tensor else _lift(input, None)
    index = index._data if isinstance(index, Tensor) else np.asarray(index)
    if index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    return input[(slice(None),) * (dim % input.ndim) + (index,)]


@tensor_method
def take_along_dim(input, indices, dim):
    return gather(input, dim, indices)
