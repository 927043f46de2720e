"""Row-sparse gradients: the gradient of an embedding lookup, as (row indices, row values).

An embedding table of V rows touched by a batch of n words has a gradient that is zero except on
at most n rows. Keeping it as the n touched rows (possibly repeated) instead of a dense V x d
array is what makes training with large vocabularies cheap: optimizers update only those rows.
This is PyTorch's sparse COO gradient of ``Embedding(sparse=True)``, restricted to rows.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RowSparseGrad", "add_rows_at", "sort_rows"]


def add_rows_at(dense: np.ndarray, indices: np.ndarray, values: np.ndarray) -> None:
    """``dense[indices[k]] += values[k]`` for every k, repeated indices accumulating in order.

    The same sums as ``np.add.at(dense, indices, values)``, bit for bit, but through one flat
    index when rows have more than one element: ``ufunc.at`` is about 4 times faster on a 1-D
    index of scalars than on whole rows (measured on a 25,000 x 50 float32 table and 1,280
    rows: 0.25 ms against 0.94 ms, zeros included). Rows of an even number of float32 (float64)
    are added as half as many complex64 (complex128) pairs: a complex sum is two independent
    float sums, so the results are the same bits, with half the index to build and to walk
    (507 rows of 50 float32: 26 us against 41, index included).
    """
    width = math.prod(dense.shape[1:])
    if width == 1 or dense.ndim < 2 or not dense.flags.c_contiguous:
        np.add.at(dense, indices, values)
        return
    shape = (indices.size,) + dense.shape[1:]
    if values.shape != shape:
        values = np.broadcast_to(values, shape)
    flat_dense, flat_values = dense.reshape(-1), values.reshape(-1)
    pair = _PAIRS.get(dense.dtype)
    if (pair is not None and width % 2 == 0 and values.dtype == dense.dtype
            and flat_values.flags.c_contiguous):
        flat_dense, flat_values = flat_dense.view(pair), flat_values.view(pair)
        width //= 2
    flat = indices.reshape(-1, 1) * width + np.arange(width)
    np.add.at(flat_dense, flat.reshape(-1), flat_values)


# A real dtype and the complex dtype made of two of it (see add_rows_at).
_PAIRS = {np.dtype(np.float32): np.dtype(np.complex64),
          np.dtype(np.float64): np.dtype(np.complex128)}


def sort_rows(indices: np.ndarray) -> np.ndarray:
    """The stable order that sorts ``indices`` (int64, 1-D): ``indices.argsort(kind="stable")``.

    When the indices span fewer than 2**16 values (a batch's word ids in a vocabulary of that
    size, or any batch whose ids happen to be close), they are sorted as uint16 offsets from
    the smallest, which NumPy sorts with a radix sort: the same order, in 5 us instead of 28
    for 1,280 ids (W1's batch).
    """
    if indices.size > 16:
        low, high = int(indices.min()), int(indices.max())
        if high - low < 1 << 16:
            offsets = indices - low if low else indices
            return offsets.astype(np.uint16).argsort(kind="stable")
    return indices.argsort(kind="stable")


class RowSparseGrad:
    """A gradient that is zero except on some rows: ``dense[indices[k]] += values[k]``.

    Args:
        indices: int64 [n], row numbers (may repeat until ``coalesce``).
        values: [n, *row_shape], the rows' gradients.
        shape: the dense shape, ``(num_rows, *row_shape)``.
    """

    __slots__ = ("indices", "values", "shape", "_coalesced")
    __array_ufunc__ = None  # `ndarray + RowSparseGrad` defers to __radd__
    is_sparse = True
    is_row_sparse = True

    def __init__(self, indices, values, shape, coalesced: bool = False):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.values = values
        self.shape = tuple(shape)
        self._coalesced = coalesced

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def _data(self):
        """So that ``param.grad._data`` works as for dense gradients (returns self)."""
        return self

    def coalesce(self) -> RowSparseGrad:
        """Sum repeated rows: sorted unique indices, one values row each.

        Each row's first occurrence is gathered, then only the repeats are added, in the order
        they were recorded (so the sums match a dense ``np.add.at`` bit for bit), with
        ``add_rows_at``.
        """
        if self._coalesced:
            return self
        indices, values = self.indices, self.values
        if indices.size == 0:
            return RowSparseGrad(indices, values, self.shape, coalesced=True)
        # Each row's first occurrence is gathered, then only the repeats are added (W1's batch:
        # 1,280 ids, 773 distinct; summing all from -0.0 through a mask over the rows, as the
        # NumPy floor does, took 1.15 times as long). (Array methods rather than np.argsort /
        # np.take / ...: the same calls without NumPy's Python-level dispatch, which costs as
        # much as the work on a batch's few rows.)
        order = sort_rows(indices)
        rows = indices[order]
        first = np.empty(rows.size, dtype=bool)
        first[0] = True
        np.not_equal(rows[1:], rows[:-1], out=first[1:])
        starts = first.nonzero()[0]
        summed = values.take(order[starts], axis=0)  # a new array
        if starts.size < rows.size:
            repeats = (~first).nonzero()[0]
            segment = first.cumsum()[repeats]
            segment -= 1
            add_rows_at(summed, segment, values.take(order[repeats], axis=0))
        return RowSparseGrad(rows[starts], summed, self.shape, coalesced=True)

    def coalesce_(self) -> RowSparseGrad:
        """``coalesce`` in place: this object takes the summed rows, and is marked coalesced so
        that later calls (an optimizer's, after clipping) do not sort the rows again."""
        merged = self.coalesce()
        if merged is not self:
            self.indices, self.values, self._coalesced = merged.indices, merged.values, True
        return self

    def to_dense(self) -> np.ndarray:
        dense = np.zeros(self.shape, dtype=self.values.dtype)
        add_rows_at(dense, self.indices, self.values)
        return dense

    def astype(self, dtype, copy=True) -> RowSparseGrad:
        return RowSparseGrad(self.indices, self.values.astype(dtype), self.shape, self._coalesced)

    def copy(self) -> RowSparseGrad:
        return RowSparseGrad(self.indices.copy(), self.values.copy(), self.shape, self._coalesced)

    def __mul__(self, scalar) -> RowSparseGrad:
        if not np.isscalar(scalar) and np.ndim(scalar) != 0:
            return NotImplemented
        return RowSparseGrad(self.indices, self.values * scalar, self.shape, self._coalesced)

    __rmul__ = __mul__

    def __add__(self, other):
        if isinstance(other, RowSparseGrad):
            if other.shape != self.shape:
                raise ValueError(f"cannot add sparse gradients of shapes {self.shape} and "
                                 f"{other.shape}")
            # (inside a backward, fan-out sums concatenate: the optimizer or coalesce() sums
            # the rows; PyTorch's merge walk (_merged) is what a .grad accumulated over two
            # backward calls shows, leaf_grads: walked here, the main job's steps took 4.4 ->
            # 5.1 s an epoch and summed rows in another order, s29)
            return RowSparseGrad(np.concatenate([self.indices, other.indices]),
                                 np.concatenate([self.values, other.values]), self.shape)
        dense = np.array(other, copy=True)
        add_rows_at(dense, self.indices, self.values)
        return dense

    __radd__ = __add__

    def __rsub__(self, other) -> np.ndarray:
        """``dense - sparse`` (so ``p._data - lr * p.grad`` works): a new dense array."""
        dense = np.array(other, copy=True)
        np.subtract.at(dense, self.indices, self.values)
        return dense

    def __neg__(self) -> RowSparseGrad:
        return RowSparseGrad(self.indices, -self.values, self.shape, self._coalesced)

    def __repr__(self) -> str:
        return (f"RowSparseGrad(rows={self.indices.size}, shape={self.shape}, "
                f"dtype={self.values.dtype})")


def rows_of_coo(storage) -> RowSparseGrad:
    """A COO gradient's storage (``CooStorage``: index ``[sparse_dim, nnz]``, values a Tensor
    ``[nnz, *dense_shape]``) as the row-sparse gradient the optimizers' sparse updates take:
    its distinct rows, sorted, each the sum of its entries (as PyTorch's coalesce). A
    ``RowSparseGrad`` is returned as it is."""
    if isinstance(storage, RowSparseGrad):
        return storage
    index = np.asarray(storage.index)
    values = np.asarray(storage.values._data)
    rows, inverse = np.unique(index[0], return_inverse=True)
    dense_rows = np.zeros((rows.size, *storage.shape[1:]), dtype=values.dtype)
    np.add.at(dense_rows, (inverse.reshape(-1), *index[1:]), values)
    return RowSparseGrad(rows, dense_rows, storage.shape, coalesced=True)


def accumulated(a: RowSparseGrad, b: RowSparseGrad) -> RowSparseGrad:
    """A sparse ``.grad`` ``a`` plus the next backward's ``b``, as PyTorch's sparse add."""
    if b.shape != a.shape:
        raise ValueError(f"cannot add sparse gradients of shapes {a.shape} and {b.shape}")
    return _merged(a, b)


def _merged(a: RowSparseGrad, b: RowSparseGrad) -> RowSparseGrad:
    """``a + b`` as PyTorch's CPU sparse add makes it (an accumulated ``.grad``): one walk
    over both index lists as they are stored, taking the smaller row first and adding the two
    values where the rows are equal, then what is left of either; coalesced when both were.
    (Concatenating instead gave another nnz / order and is_coalesced False where PyTorch's is
    True: Embedding(sparse=True) gradients of two backward calls.) Lists that are each
    strictly increasing merge as a sorted union; others walk in Python."""
    ia, ib = a.indices, b.indices
    coalesced = a._coalesced and b._coalesced
    if not ib.size or not ia.size:
        kept = b if ib.size else a
        return RowSparseGrad(kept.indices.copy(), kept.values.copy(), a.shape, coalesced)
    if (ia.size < 2 or (ia[1:] > ia[:-1]).all()) and (ib.size < 2 or (ib[1:] > ib[:-1]).all()):
        rows, where = np.unique(np.concatenate([ia, ib]), return_inverse=True)
        values = np.zeros((rows.size,) + a.values.shape[1:], np.result_type(a.values, b.values))
        values[where[:ia.size]] = a.values
        pos = where[ia.size:]
        shared = np.isin(ib, ia)
        values[pos[shared]] += b.values[shared]
        values[pos[~shared]] = b.values[~shared]
        return RowSparseGrad(rows, values, a.shape, coalesced)
    order, i, j = [], 0, 0  # (per output row: 0 a's row, 1 b's row, 2 their sum; positions)
    rows, sums = [], []
    while i < ia.size and j < ib.size:
        if ia[i] == ib[j]:
            rows.append(ia[i])
            order.append((2, i, j))
            i, j = i + 1, j + 1
        elif ia[i] < ib[j]:
            rows.append(ia[i])
            order.append((0, i, 0))
            i += 1
        else:
            rows.append(ib[j])
            order.append((1, j, 0))
            j += 1
    order += [(0, k, 0) for k in range(i, ia.size)] + [(1, k, 0) for k in range(j, ib.size)]
    rows += list(ia[i:]) + list(ib[j:])
    for kind, x, y in order:
        sums.append(a.values[x] + b.values[y] if kind == 2 else
                    (a.values[x] if kind == 0 else b.values[x]))
    return RowSparseGrad(np.asarray(rows, np.int64), np.stack(sums), a.shape, coalesced)
