"""Joins and reductions of sparse COO tensors: ``torch.cat`` of sparse tensors (api/shape.py's
``cat`` sends them here), ``torch.sparse.sum`` and ``torch.sparse.softmax`` / ``log_softmax``.
(Split out of sparse_coo.py, whose class and helpers they build on.)"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..modes import is_grad_enabled
from ..node_names import rename_node
from ..tensor import _leaf
from ._common import wrap_dim
from .shape import cat
from .sparse import SparseTensor
from .sparse_coo import (
    SparseCooTensor,
    _as_coo,
    _own_values,
    _plan,
    _sum_segments,
    coo,
)
from .sparse_links import leaf_anchor

__all__ = ["sparse_cat", "sparse_softmax", "sparse_sum"]


def sparse_cat(tensors: list, dim: int) -> SparseCooTensor:
    """``torch.cat`` of sparse COO tensors (api/shape.py's ``cat`` sends them here).

    Along a sparse dim the positions are shifted by the sizes before them; along a dense dim
    each tensor's values are padded with zeros to the joined size (its entries keep their
    positions), as PyTorch. The entries are listed tensor after tensor, uncoalesced (PyTorch's
    flag); the values stay in the graph."""
    for position, x in enumerate(tensors):
        if not isinstance(x, SparseTensor):  # (PyTorch's message for a dense one after the first)
            raise RuntimeError(f"Concatenating sparse tensors, but a dense tensor was found at "
                               f"position {position}.")
        if x.layout is not tensors[0].layout:
            raise NotImplementedError(f"cat of sparse tensors of layouts {tensors[0].layout} "
                                      f"and {x.layout} is not supported")
    if tensors[0].layout is not dtypes.sparse_coo:
        raise NotImplementedError(f"cat of {tensors[0].layout} tensors is not supported")
    parts = [_as_coo(x)._data for x in tensors]
    first = parts[0]
    dim = wrap_dim(dim, len(first.shape))
    for position, storage in enumerate(parts):
        same = len(storage.shape) == len(first.shape) and all(
            a == b for d, (a, b) in enumerate(zip(storage.shape, first.shape)) if d != dim)
        if not same or storage.index.shape[0] != first.index.shape[0]:
            raise RuntimeError(f"All tensors must have the same shape: {list(first.shape)} "
                               f"(except in the concatenating dimension), but found shape: "
                               f"{list(storage.shape)} at position {position}.")
    sparse_dim = first.index.shape[0]
    shape = list(first.shape)
    shape[dim] = sum(storage.shape[dim] for storage in parts)
    indices, values, offset = [], [], 0
    for storage in parts:
        index, value = storage.index, storage.values
        if dim < sparse_dim:
            index = index.copy()
            index[dim] += offset
        else:  # (a dense dim: zeros before and after this tensor's block of the values)
            axis = dim - sparse_dim + 1
            blocks = []
            for width in (offset, shape[dim] - offset - storage.shape[dim]):
                pad_shape = list(value.shape)
                pad_shape[axis] = width
                blocks.append(_leaf(np.zeros(pad_shape, value._data.dtype)))
            value = cat([blocks[0], value, blocks[1]], axis)
        offset += storage.shape[dim]
        indices.append(index)
        values.append(value)
    joined = cat(values, 0)
    return coo(np.concatenate(indices, axis=1), _own_values(joined), tuple(shape), False)


# ---------------------------------------------------------------------------- reductions


def sparse_sum(input, dim=None, *, dtype=None, keepdim: bool = False):
    """``torch.sparse.sum``: all entries (a 0-d dense tensor), or over ``dim``: a dense tensor
    when every sparse dim is summed, else a coalesced sparse tensor.

    ``keepdim`` (``Tensor.sum``'s) keeps each summed dim with size 1, as PyTorch: a dense
    result reshaped; a sparse one keeps every sparse dim (index 0 in the summed ones), summed
    dense dims becoming sparse dims too, and is marked uncoalesced (PyTorch's flag)."""
    sparse = _as_coo(input)
    storage = sparse._data
    values = storage.values if dtype is None else storage.values.to(dtype)
    if values._data.dtype.kind in "biu" and dtype is None:
        values = values.to(dtypes.int64)  # (integer sums are int64, as PyTorch's)
    if dim is None:
        return values.sum()
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    ndim, sparse_dim = storage.ndim, sparse.sparse_dim()
    wrapped = set()
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {d})")
        if d % ndim in wrapped:
            raise RuntimeError(f"dim {d % ndim} appears multiple times in the list of dims")
        wrapped.add(d % ndim)
    dense_axes = tuple(d - sparse_dim + 1 for d in sorted(wrapped) if d >= sparse_dim)
    if dense_axes:
        values = values.sum(dense_axes)
    kept = [d for d in range(sparse_dim) if d not in wrapped]
    dense_shape = tuple(n for d, n in enumerate(storage.shape)
                        if d >= sparse_dim and d not in wrapped)
    if not kept:
        total = values.sum(0)
        if keepdim:
            total = total.reshape(tuple(1 if d in wrapped else n
                                        for d, n in enumerate(storage.shape)))
        return total
    sparse_shape = tuple(storage.shape[d] for d in kept)
    segment, index, count = _plan(storage.index[kept], sparse_shape)
    values = _sum_segments(values, segment, count)
    if not keepdim:
        return coo(index, values, sparse_shape + dense_shape, True)
    if dense_axes and max(dense_axes) != len(dense_axes):
        raise NotImplementedError("sum(keepdim=True) of a sparse tensor over a dense dim that "
                                  "follows a kept dense dim is not supported")
    shape = tuple(1 if d in wrapped else n for d, n in enumerate(storage.shape))
    full = np.zeros((sparse_dim + len(dense_axes), count), dtype=np.int64)
    full[kept] = index
    return coo(full, values, shape, False)


def sparse_softmax(input, dim: int, dtype=None, *, log: bool = False) -> SparseCooTensor:
    """``torch.sparse.softmax`` / ``log_softmax``: over ``dim`` among the stored entries only
    (unstored positions count as -inf); a coalesced sparse tensor of the same pattern."""
    sparse = SparseCooTensor.coalesce(_as_coo(input))  # (CSR's own coalesce refuses)
    storage = sparse._data
    ndim, sparse_dim = storage.ndim, sparse.sparse_dim()
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    dim %= ndim
    values = storage.values if dtype is None else storage.values.to(dtype)
    if values._data.dtype.kind != "f":
        raise RuntimeError(f"softmax: expected a floating-point sparse tensor, got "
                           f"{values.dtype}")
    if dim >= sparse_dim:  # a dense dim: each entry's values, as a dense softmax
        axis = dim - sparse_dim + 1
        out = values.log_softmax(axis) if log else values.softmax(axis)
        return coo(storage.index, out, storage.shape, True)
    others = [d for d in range(sparse_dim) if d != dim]
    if others:
        group, _, count = _plan(storage.index[others],
                                tuple(storage.shape[d] for d in others))
    else:
        group, count = np.zeros(storage.index.shape[1], np.int64), 1
    # NOTE: the shift by each group's max only keeps exp in range (softmax does not depend on
    # it), so it is a constant to autograd.
    peak = np.full((count,) + values._data.shape[1:], -np.inf, dtype=values._data.dtype)
    np.maximum.at(peak, group, values._data)
    shifted = values - _leaf(peak[group])
    exp = shifted.exp()
    total = _sum_segments(exp, group, count)[group]
    out = shifted - total.log() if log else exp / total
    return coo(storage.index, out, storage.shape, True)


def summed_dims(sparse, dim) -> int:
    """How many distinct dims ``dim`` (an int or a sequence, checked by ``sparse_sum``) names."""
    dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    ndim = sparse._data.ndim
    return len({int(d) % ndim for d in dims if -ndim <= int(d) < ndim}) if ndim else 0


def whole_sum(sparse, dtype):
    """``Tensor.sum()`` of a sparse tensor still holding ``to_sparse``'s dense input's entries
    (its ``source``, transposes too), where that input takes the dense gradient whole
    (PyTorch's SumBackward0 then ToSparseBackward0; ``torch.sparse.sum``'s stays on the
    entries): the value from the entries, less the sum of zeros linked to that input (the
    gradient); of a sparse leaf, its anchor's zeros (sparse_links.leaf_anchor). None where it
    holds other values, or grad is off."""
    storage = sparse._data
    source = storage.source
    anchor = leaf_anchor(storage) if source is None else None
    if anchor is not None:  # (a sparse leaf: its anchor takes the dense gradient, see there)
        zeros = 0 - anchor  # (+0.0 each: the value - 0 keeps a -0.0 sum)
        total = sparse_sum(sparse.detach(), None, dtype=dtype) - zeros.sum(dtype=dtype)
        return rename_node(total, "SumBackward0")
    if (source is None or not storage.values._rg
            or tuple(source.shape) != tuple(storage.shape)):
        return None
    at = source._data[tuple(storage.index)]
    if at.dtype != storage.values._data.dtype or at.tobytes() != storage.values._data.tobytes():
        return None  # (written in place since: the entries' own gradient)
    if not is_grad_enabled() or not np.isfinite(source._data).all():
        return None  # (as dense_link: inf - inf would make the zeros nan)
    zeros = source.detach() - source  # (+0.0 each: the value - 0 keeps a -0.0 sum)
    total = sparse_sum(sparse.detach(), None, dtype=dtype) - zeros.sum(dtype=dtype)
    return rename_node(total, "SumBackward0")  # (PyTorch's node)
