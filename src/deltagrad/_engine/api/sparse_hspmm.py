"""PyTorch's ``torch.hspmm`` (a sparse COO matrix times a dense one, as a hybrid COO tensor:
one sparse dimension, the rows; dense rows of values) and ``torch.sspaddmm`` / ``saddmm``."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .creation import tensor as _tensor
from .shape import cat
from .sparse_coo import SparseCooTensor, sparse_coo_tensor


def hspmm(mat1, mat2) -> Tensor:
    """``mat1 @ mat2`` for a 2-d sparse COO ``mat1`` and a dense ``mat2``: a ``[m, n]``
    COO tensor whose indices are the rows of ``mat1`` holding an entry (sorted) and whose
    values are those rows of the product, ``[rows, n]`` (not marked coalesced, as
    PyTorch's). The values stay in the graph (PyTorch's hspmm has no derivative)."""
    if not isinstance(mat1, SparseCooTensor):
        raise NotImplementedError("Could not run 'aten::hspmm' with a dense (strided) mat1: "
                                  "it takes a sparse COO mat1 and a dense mat2")
    if isinstance(mat2, SparseCooTensor) or not isinstance(mat2, Tensor):
        raise RuntimeError("hspmm: expected a dense (strided) mat2")
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"hspmm: expected 2-D matrices, got {mat1.ndim}-D and "
                           f"{mat2.ndim}-D")
    if mat2.shape[0] != mat1.shape[1]:
        raise RuntimeError(f"hspmm: Argument #3: Expected dim 0 size {mat1.shape[1]}, got "
                           f"{mat2.shape[0]}")
    if mat1.dtype != mat2.dtype:
        raise RuntimeError(f"expected scalar type {mat1.dtype} but found {mat2.dtype}")
    rows = np.unique(np.asarray(mat1._indices().numpy()[0], dtype=np.int64))
    values = (mat1 @ mat2)[_tensor(rows)]
    return sparse_coo_tensor(_tensor(rows[None]), values, (mat1.shape[0], mat2.shape[1]),
                             check_invariants=False)


def sspaddmm(input, mat1, mat2, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for sparse COO ``input`` and ``mat1`` and a
    dense ``mat2``, kept sparse and not summed, as PyTorch's: ``input``'s entries (times
    ``beta``) first, then every column of each row of ``mat1`` that holds an entry."""
    if out is not None:
        raise NotImplementedError("sspaddmm: out= is not supported")
    if not isinstance(input, SparseCooTensor) or input.ndim != 2:
        raise RuntimeError("sspaddmm: expected a 2-D sparse COO input")
    if tuple(input.shape) != (mat1.shape[0], mat2.shape[-1]):
        raise RuntimeError(f"sspaddmm: Argument #1 (input): Expected size "
                           f"{[mat1.shape[0], mat2.shape[-1]]}, got {list(input.shape)}")
    product = hspmm(mat1, mat2)
    rows = np.asarray(product._indices().numpy()[0])
    n = mat2.shape[1]
    added = np.stack([np.repeat(rows, n), np.tile(np.arange(n, dtype=np.int64), len(rows))])
    indices = np.concatenate([np.asarray(input._indices().numpy(), dtype=np.int64), added], 1)
    values = cat([input._values() * beta, (product._values() * alpha).reshape(-1)])
    return sparse_coo_tensor(_tensor(indices), values, tuple(input.shape),
                             check_invariants=False)


saddmm = sspaddmm  # (PyTorch's older name of the same kernel)
