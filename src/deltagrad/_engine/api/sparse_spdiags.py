"""PyTorch's ``torch.sparse.spdiags``: a sparse matrix from rows of diagonals (SciPy's
``spdiags``): ``out[j - offset_k, j] = diagonals[k, j]`` for each diagonal k and column j
inside the matrix."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .creation import tensor as _tensor
from .sparse_coo import sparse_coo_tensor
from .sparse_csr import sparse_csr


def spdiags(diagonals, offsets, shape, layout=None) -> Tensor:
    """A sparse ``shape`` matrix with ``diagonals[k]`` on diagonal ``offsets[k]`` (positive
    above the main one), each diagonal's element j in column j, as PyTorch's: the entries
    diagonal by diagonal, column by column, not coalesced. ``layout`` is ``sparse_coo``
    (the default) or ``sparse_csr``; PyTorch's ``sparse_csc`` has no deltagrad tensor.
    The values are taken from ``diagonals`` in the graph (PyTorch's have no derivative)."""
    if not isinstance(offsets, Tensor) or offsets.dtype != dtypes.int64:
        got = offsets.dtype if isinstance(offsets, Tensor) else type(offsets).__name__
        raise RuntimeError(f"Offset Tensor must have dtype Long but got {got}")
    if offsets.ndim > 1:
        raise RuntimeError("Offsets must be scalar or vector")
    if diagonals.ndim > 2:
        raise RuntimeError("Diagonals must be vector or matrix")
    shape = tuple(int(n) for n in shape)
    if len(shape) != 2:
        raise RuntimeError("Output shape must be 2d")
    if layout not in (None, dtypes.sparse_coo, sparse_csr):
        if layout is dtypes.sparse_csc:
            raise NotImplementedError("spdiags: deltagrad has no sparse CSC tensors; use "
                                      "layout=torch.sparse_coo or torch.sparse_csr")
        raise RuntimeError(f"Only output layouts (Sparse, SparseCsc, SparseCsr) are "
                           f"supported, got {layout}")
    offs = np.atleast_1d(np.asarray(offsets.numpy()))
    rows2d = diagonals.reshape(1, -1) if diagonals.ndim < 2 else diagonals
    if rows2d.shape[0] != len(offs):
        raise RuntimeError(f"Number of diagonals ({rows2d.shape[0]}) does not match the "
                           f"number of offsets ({len(offs)})")
    if len(np.unique(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    n_rows, n_cols = shape
    rows, cols, picks = [], [], []
    for k, off in enumerate(offs.tolist()):
        first, stop = max(0, off), min(n_cols, n_rows + off, rows2d.shape[1])
        if stop - first < 0:  # (PyTorch: a negative-dimension RuntimeError, or a crash)
            raise RuntimeError(f"spdiags: offset {off} lies outside the {n_rows}x{n_cols} "
                               f"matrix (Trying to create tensor with negative dimension "
                               f"{stop - first})")
        j = np.arange(first, stop)
        rows.append(j - off)
        cols.append(j)
        picks.append(k * rows2d.shape[1] + j)
    index = np.stack([np.concatenate(rows), np.concatenate(cols)]).astype(np.int64)
    values = rows2d.reshape(-1)[_tensor(np.concatenate(picks).astype(np.int64))]
    out = sparse_coo_tensor(_tensor(index), values, shape, check_invariants=False)
    return out.to_sparse_csr() if layout == sparse_csr else out
