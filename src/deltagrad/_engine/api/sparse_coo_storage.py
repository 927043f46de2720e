"""The storage of a sparse COO tensor (``CooStorage``: index matrix, values Tensor, dense
shape) and the grouping of its positions (``_plan``, ``_sum_segments``: what coalescing and the
reductions sum over). Moved out of ``api.sparse_coo`` (session 27, FS1) to keep it under the
800-line limit; ``api.sparse_coo`` imports them back, so its names are unchanged.
"""

from __future__ import annotations

import numpy as np

from ..ops import OPS
from ..ops.sparse_ops import Pattern
from ..tensor import Tensor, apply
from .sparse_checks import _dense_kernel_error

_INDEX_ADD_ZEROS = OPS["index_add_zeros"]


class CooStorage:
    """What a ``SparseCooTensor`` holds: ``dense[tuple(index[:, k])] += values[k]`` for each k.

    Args:
        index: int64 [sparse_dim, nnz] (positions may repeat until coalesced).
        values: a Tensor [nnz, *dense_shape] (in the graph when it requires grad).
        shape: the dense shape, ``sparse_shape + dense_shape``.
        coalesced: whether the positions are sorted and distinct.
    """

    __slots__ = ("index", "values", "shape", "coalesced", "_pattern", "anchor", "extra",
                 "source")
    is_sparse = True
    is_row_sparse = False

    def __init__(self, index: np.ndarray, values: Tensor, shape: tuple, coalesced: bool):
        self.index = index
        self.values = values
        self.shape = tuple(int(n) for n in shape)
        self.coalesced = coalesced
        self._pattern = None
        self.anchor = None  # a leaf's dense gradient's holder (see _with_dense_grad)
        self.extra = None  # a Function's gradient off a leaf's pattern (keep_off_pattern)
        # to_sparse's dense input when it requires grad: where a dense gradient of the sparse
        # tensor goes whole (PyTorch's ToSparseBackward0 densifies it; the values mask it)
        self.source = None

    def pattern(self) -> Pattern:
        """The 2-d positions with their CSR order (ops/sparse_ops.py), made on first use."""
        if self._pattern is None:
            self._pattern = Pattern(self.index[0], self.index[1], self.shape[:2])
        return self._pattern

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # A function form (torch.sum(S), torch.relu(S), ...) that reached a dense kernel.
        raise _dense_kernel_error(f"{ufunc.__name__}.{method}", self.shape)

    def __array_function__(self, function, types, args, kwargs):
        raise _dense_kernel_error(function.__name__, self.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.values._data.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def __repr__(self) -> str:
        return (f"CooStorage(nnz={self.index.shape[1]}, shape={self.shape}, "
                f"dtype={self.dtype})")


def _plan(index: np.ndarray, sparse_shape: tuple):
    """Group equal positions: (segment of each entry, the distinct positions sorted, count).

    Entries are sorted stably (so repeats are summed in the order they were stored, as
    PyTorch's coalesce does) by their row-major linear position, or by ``lexsort`` when the
    sparse shape is too large for a linear index.
    """
    nnz = index.shape[1]
    if nnz == 0:
        return np.empty(0, np.int64), index, 0
    try:
        linear = np.ravel_multi_index(tuple(index), sparse_shape)
        order = linear.argsort(kind="stable")
        ordered = linear[order]
        first = np.empty(nnz, dtype=bool)
        first[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    except ValueError:  # (a sparse shape with more than 2**63 positions)
        order = np.lexsort(index[::-1])
        ordered = index[:, order]
        first = np.empty(nnz, dtype=bool)
        first[0] = True
        np.any(ordered[:, 1:] != ordered[:, :-1], axis=0, out=first[1:])
    segment = np.empty(nnz, dtype=np.int64)
    segment[order] = first.cumsum() - 1
    return segment, index[:, order[first]], int(first.sum())


def _sum_segments(values: Tensor, segment: np.ndarray, count: int) -> Tensor:
    """Row ``s`` of the result is the sum of the values rows whose segment is ``s``."""
    return apply(_INDEX_ADD_ZEROS, values, index=(segment,),
                 shape=(count,) + tuple(values.shape[1:]), dtype=values._data.dtype)
