"""Where dense and sparse COO tensors meet: ``Tensor.sparse_mask`` (a dense tensor read at a
sparse tensor's positions), ``index_select`` of a sparse tensor and the ``*_like`` factories
of a sparse tensor."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor, _leaf, tensor_method
from ._common import wrap_dim
from .sparse import SparseTensor
from .sparse_coo import SparseCooTensor, coo

__all__: list = []


@tensor_method
def sparse_mask(input, mask) -> SparseCooTensor:
    """A sparse COO tensor with ``mask``'s positions (its values ignored, its coalesced flag
    kept) holding ``input``'s entries there; differentiable into ``input`` (MADGRAD's and
    Adagrad-style sparse updates read the dense state at a gradient's rows this way)."""
    if type(mask) is SparseTensor:  # (a sparse gradient, Embedding(sparse=True)'s: Cooper's nuPI)
        mask = coo(mask._indices()._data, mask._values(), tuple(mask.shape), mask.is_coalesced())
    if not isinstance(mask, SparseCooTensor):
        raise NotImplementedError("sparse_mask(): mask must be a sparse COO tensor, got "
                                  f"layout {getattr(mask, 'layout', type(mask).__name__)}")
    storage = mask._data
    if tuple(input.shape) != storage.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(input.shape)} but mask has size {list(storage.shape)}.")
    values = input[tuple(_leaf(row) for row in storage.index)]
    return coo(storage.index, values, storage.shape, storage.coalesced)


def _index_select(self, dim, index) -> SparseCooTensor:
    """``index_select`` of a sparse COO tensor, as PyTorch's: along a sparse dim, for each
    position k of ``index`` the entries at ``index[k]`` in their stored order, moved to k
    (not coalesced unless one entry at most); along a dense dim, the values' columns.
    Differentiable into the values (PyTorch's backward raises: no sparse index_add_)."""
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu" or index.ndim > 1:
        raise RuntimeError("index_select(): Expected a 1-D (or 0-d) int64 / int32 index "
                           f"tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    storage = self._data
    shape = list(storage.shape)
    dim = wrap_dim(dim, len(shape))
    picks = index._data.reshape(-1).astype(np.int64)
    if picks.size and not ((-shape[dim] <= picks.min()) and picks.max() < shape[dim]):
        bad = int(picks[(picks < -shape[dim]) | (picks >= shape[dim])][0])
        raise IndexError(f"index_select(): index contains {bad} that is out of range for "
                         f"tensor of size {shape} at dimension {dim}")
    picks = picks % max(shape[dim], 1)
    sparse_dim = self.sparse_dim()
    shape[dim] = picks.size
    if dim >= sparse_dim:
        values = storage.values.index_select(dim - sparse_dim + 1, _leaf(picks))
        return coo(storage.index.copy(), values, tuple(shape), storage.index.shape[1] <= 1)
    position, entry = np.nonzero(picks[:, None] == storage.index[dim][None, :])
    new_index = storage.index[:, entry]
    new_index[dim] = position
    # (PyTorch marks a result of at most one entry coalesced)
    return coo(new_index, storage.values[_leaf(entry)], tuple(shape), entry.size <= 1)


SparseCooTensor.index_select = _index_select


def sparse_like(where: str, input, fill_value, dtype, layout, device, requires_grad: bool):
    """``zeros_like`` / ``empty_like`` of a sparse tensor: an all-zero sparse COO tensor with
    its sparse and dense dims (no entries), as PyTorch's (SM3 keeps its momentum so); other
    fills of a sparse tensor are PyTorch's NotImplementedError. With ``layout=strided``, the
    dense factory's result of that shape and dtype."""
    if layout not in (None, dtypes.sparse_coo):
        from .creation import _like, preserve_format

        return _like(where, input.to_dense(), fill_value, dtype, layout, device, requires_grad,
                     preserve_format)
    if fill_value is not None and fill_value != 0:
        raise NotImplementedError(f"{where}: a sparse tensor cannot be filled with a nonzero "
                                  "value; call .to_dense() first")
    numpy_dtype = input._data.dtype if dtype is None else dtypes.to_numpy(dtype)
    sparse_dim = input.sparse_dim()
    values = _leaf(np.empty((0, *input.shape[sparse_dim:]), numpy_dtype))
    out = coo(np.empty((sparse_dim, 0), np.int64), values, tuple(input.shape), True)
    return out.requires_grad_() if requires_grad else out
