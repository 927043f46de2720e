"""2-d sparse CSR tensors: ``to_sparse_csr``, ``sparse_csr_tensor``, ``crow_indices`` /
``col_indices`` / ``values``.

A ``SparseCsrTensor`` is a ``SparseCooTensor`` (api/sparse_coo.py) whose entries are kept in
row-major order, seen through PyTorch's CSR interface: its row pointers are computed from the
row indices when asked for, and every product, sum and conversion is the COO tensor's (so
gradients reach the values the same way).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import warn_once
from ..node_names import rename_node
from ..tensor import Tensor, _leaf, tensor_method
from ._common import int_arg
from .sparse import SparseTensor
from .sparse_checks import implicit_check_warning
from .sparse_coo import SparseCooTensor, _as_coo, coo, sparse_coo_tensor, to_sparse
from .sparse_repr import grad_suffix, sparse_repr

__all__ = ["sparse_csr", "sparse_csr_tensor"]

sparse_csr = dtypes.layout("sparse_csr")


class SparseCsrTensor(SparseCooTensor):
    """A 2-d sparse tensor in compressed sparse row layout (``layout == sparse_csr``)."""

    __slots__ = ()

    @property
    def layout(self) -> dtypes.layout:
        return sparse_csr

    @property
    def is_sparse(self) -> bool:
        return False  # (PyTorch's: is_sparse means the COO layout)

    @property
    def is_sparse_csr(self) -> bool:
        return True

    def crow_indices(self) -> Tensor:
        """The row pointers, [rows + 1] int64: row r's entries are ``crow[r]:crow[r + 1]``."""
        storage = self._data
        counts = np.bincount(storage.index[0], minlength=storage.shape[0])
        return _leaf(np.concatenate([[0], counts.cumsum()]).astype(np.int64))

    def col_indices(self) -> Tensor:
        """The column of each entry, [nnz] int64, row by row."""
        return _leaf(self._data.index[1])

    def values(self) -> Tensor:
        """The entries' values, [nnz], row by row (in the graph: a new ValuesBackward0 node
        each call, as PyTorch's)."""
        values = self._data.values
        if values._rg:
            return rename_node(values.view(tuple(values.shape)), "ValuesBackward0")
        return values

    def _indices(self):
        raise RuntimeError("indices expected sparse coordinate tensor layout but got SparseCsr")

    indices = _indices

    # PyTorch's refusals (deltagrad answered: True, itself, a COO tensor; session 26, BR13)
    def coalesce(self):
        raise RuntimeError("coalesce expected sparse coordinate tensor layout but got SparseCsr")

    def is_coalesced(self) -> bool:
        raise RuntimeError("is_coalesced expected sparse coordinate tensor layout but got "
                           "SparseCsr")

    def unsqueeze(self, dim: int):
        raise RuntimeError("Sparse CSR tensors do not have strides")

    def __getitem__(self, index):
        """Integers (and full slices / ``...`` beside one) select, as PyTorch's: a row or a
        column is a 1-d COO tensor, an element a dense 0-d one; any other index raises
        PyTorch's error (no strides). deltagrad indexed the dense tensor."""
        index = list(index) if isinstance(index, tuple) else [index]
        if any(i is Ellipsis for i in index):
            at = [i is Ellipsis for i in index].index(True)
            index[at:at + 1] = [slice(None)] * (2 - len(index) + 1)
        full = [type(i) is slice and i == slice(None) for i in index]
        picks = [(dim, _as_int(i)) for dim, i in enumerate(index) if not full[dim]]
        if sum(i is not None for i in index) > 2:
            raise IndexError("too many indices for tensor of dimension 2")
        if not picks or any(i is None for _, i in picks):
            raise RuntimeError("Sparse CSR tensors do not have strides")
        out = self
        for dim, i in reversed(picks):
            size = self._data.shape[dim]
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for dimension {dim} with size "
                                 f"{size}")
            out = out.select(dim, i % size)
        return out

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """The same entries as a (coalesced) sparse COO tensor, or this tensor for
        ``layout=sparse_csr`` (CSC / BSR / BSC: api/sparse_compressed.py)."""
        if layout == sparse_csr:
            return self
        if layout is not None and layout != dtypes.sparse_coo:
            from .sparse_compressed import to_compressed  # (it builds on this module)

            return to_compressed(self, layout, blocksize)
        storage = self._data
        out = coo(storage.index, storage.values, storage.shape, True)
        out._data.source = storage.source  # (a dense gradient still reaches it whole)
        return out

    def to_sparse_csr(self, dense_dim=None) -> SparseCsrTensor:
        return self

    def t(self):
        """The transpose, in CSC layout (api/sparse_compressed.py), as PyTorch's."""
        from .sparse_compressed import transpose_csr  # (it builds on this module)

        return transpose_csr(self, 0, 1)

    def transpose(self, dim0: int, dim1: int):
        from .sparse_compressed import transpose_csr

        return transpose_csr(self, dim0, dim1)

    def mul(self, other) -> SparseCsrTensor:
        return _csr(SparseCooTensor.mul(self, other))

    def div(self, other):
        raise RuntimeError("unsupported tensor layout: SparseCsr")  # (PyTorch's: it divided)

    def neg(self) -> SparseCsrTensor:
        return _csr(SparseCooTensor.neg(self))

    def abs(self) -> SparseCsrTensor:
        return _csr(SparseCooTensor.abs(self))

    def relu(self) -> SparseCsrTensor:
        return _csr(SparseCooTensor.relu(self))

    def pow(self, exponent):
        raise RuntimeError("unsupported tensor layout: SparseCsr (pow of a sparse CSR tensor; "
                           "convert it with .to_sparse() first)")  # (PyTorch's error)

    __mul__ = __rmul__ = mul
    __truediv__ = div
    __neg__ = neg
    __abs__ = abs
    __pow__ = pow

    def add(self, other, alpha=1):
        raise NotImplementedError("add of sparse CSR tensors is not supported; convert them "
                                  "with .to_sparse() first")

    __add__ = add

    def detach(self) -> SparseCsrTensor:
        return _csr(SparseCooTensor.detach(self))

    def clone(self, memory_format=None) -> SparseCsrTensor:
        return _csr(SparseCooTensor.clone(self))

    def cast(self, numpy_dtype) -> SparseCsrTensor:
        return _csr(SparseCooTensor.cast(self, numpy_dtype))

    def __repr__(self) -> str:
        storage = self._data
        parts = [("crow_indices", self.crow_indices()._data),
                 ("col_indices", self.col_indices()._data), ("values", storage.values._data)]
        return sparse_repr(parts, storage.shape, storage.index.shape[1], storage.values._data,
                           sparse_csr, grad_suffix(self, storage.values._rg), False)


def _converted_as_csr(name: str):
    # (the dtype conversions read `is_sparse`, false here: they run on the COO view instead)
    def convert(self, *args, **kwargs):
        out = getattr(self.to_sparse(), name)(*args, **kwargs)
        return _csr(out) if isinstance(out, SparseCooTensor) else out  # (type() is a name)

    convert.__name__ = name
    return convert


for _name in ("to", "type", "cpu", "float", "double", "half", "bfloat16", "long", "int", "short",
              "char", "byte", "bool"):
    setattr(SparseCsrTensor, _name, _converted_as_csr(_name))


def _as_int(index):
    """An index PyTorch reads as one integer (an int, a NumPy integer, a 0-d integer tensor),
    or None."""
    if isinstance(index, Tensor):
        return int(index) if index.ndim == 0 and index._data.dtype.kind in "iu" else None
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        return None
    return int(index)


def _csr(tensor: SparseCooTensor) -> SparseCsrTensor:
    """A coalesced 2-d COO tensor seen as CSR (the same object, its class swapped)."""
    beta_warning("CSR")
    tensor.__class__ = SparseCsrTensor
    return tensor


def beta_warning(name: str) -> None:
    """PyTorch's warning at the first compressed sparse tensor (CSR, CSC, BSR or BSC) a process
    makes (one C++ TORCH_WARN_ONCE for all four; deltagrad said nothing: session 26, PR12)."""
    warn_once("sparse_compressed_beta",
              f"Sparse {name} tensor support is in beta state. If you miss a functionality in "
              "the sparse tensor support, please submit a feature request to "
              "https://github.com/pytorch/pytorch/issues.")


def to_sparse_csr(input, dense_dim=None) -> SparseCsrTensor:
    """A 2-d dense or sparse COO tensor in CSR layout (explicit zeros of a dense one dropped);
    differentiable into the values."""
    if dense_dim is not None:
        dense_dim = int_arg(dense_dim, "dense_dim (position 1)", "to_sparse_csr")
        if not 0 <= dense_dim <= input.ndim - 2:  # (PyTorch's check and message)
            raise RuntimeError(f"dense_to_sparse_csr: dense_dim argument must be in "
                               f"[0,{input.ndim - 2}] range, but {dense_dim} is given")
        if dense_dim:
            raise NotImplementedError("to_sparse_csr(dense_dim > 0): hybrid CSR tensors are "
                                      "not supported")
    if input.ndim < 2:  # (PyTorch's class: its IndexError from selecting a missing dimension)
        raise IndexError(f"to_sparse_csr: expected a 2-d tensor, got {input.ndim}-d")
    if input.ndim != 2:
        raise NotImplementedError(f"to_sparse_csr: expected a 2-d tensor, got {input.ndim}-d "
                                  f"(batched CSR tensors are not supported)")
    if isinstance(input, SparseTensor):
        sparse = SparseCooTensor.coalesce(_as_coo(input))
        if sparse.sparse_dim() != 2:
            raise NotImplementedError("to_sparse_csr of a hybrid sparse tensor")
    else:
        sparse = to_sparse(input)
        rename_node(sparse._data.values, "ToSparseCsrBackward0")  # (PyTorch's node)
    storage = sparse._data
    out = coo(storage.index, storage.values, storage.shape, True)
    out._data.source = storage.source  # (to_sparse's dense input, see CooStorage.source)
    if isinstance(input, SparseTensor):
        renamed_values(out, "ToSparseCsrBackward0")
    return _csr(out)


def renamed_values(out, name: str):
    """``out``, a new sparse tensor sharing its values with its input, with an alias of them
    named PyTorch's ``name`` (its own node; the input's keeps its name)."""
    values = out._data.values
    if values._rg:
        out._data.values = rename_node(values.view(tuple(values.shape)), name)
    return out


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants=None) -> SparseCsrTensor:
    """A 2-d sparse CSR tensor: row r holds ``values[crow[r]:crow[r + 1]]`` at columns
    ``col_indices[crow[r]:crow[r + 1]]``.

    >>> import deltagrad as dg
    >>> dg.sparse_csr_tensor([0, 1, 3], [2, 0, 2], [5.0, 2.0, 3.0], (2, 3)).to_dense()
    tensor([[0., 0., 5.],
            [2., 0., 3.]])
    """
    implicit_check_warning(check_invariants)
    crow = np.asarray(crow_indices._data if isinstance(crow_indices, Tensor) else crow_indices)
    columns = np.asarray(col_indices._data if isinstance(col_indices, Tensor) else col_indices)
    crow, columns = crow.astype(np.int64), columns.astype(np.int64)
    if crow.ndim != 1 or columns.ndim != 1:
        raise RuntimeError("sparse_csr_tensor: crow_indices and col_indices must be 1-d "
                           "(batched CSR tensors are not supported)")
    counts = np.diff(crow)
    if crow.size == 0 or crow[0] != 0 or crow[-1] != columns.size or (counts < 0).any():
        raise RuntimeError("`crow_indices[..., 0] == 0` and `crow_indices[..., -1] == nnz` "
                           "must hold, with crow_indices non-decreasing")
    rows = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    if size is None:
        size = (counts.size, int(columns.max()) + 1 if columns.size else 0)
    elif len(size) != 2 or size[0] != counts.size:
        raise RuntimeError(f"sparse_csr_tensor: size {tuple(size)} does not match "
                           f"{counts.size} rows of crow_indices (only 2-d CSR is supported)")
    sparse = sparse_coo_tensor(np.stack([rows, columns]), values, size, dtype=dtype,
                               device=device, requires_grad=requires_grad,
                               check_invariants=False)
    # Entries must be in order within each row for the COO view to be coalesced.
    if columns.size > 1:
        step = (rows[1:] - rows[:-1]) * size[1] + columns[1:] - columns[:-1]
        if (step <= 0).any():
            raise RuntimeError("sparse_csr_tensor: column indices must be strictly increasing "
                               "within each row")
    sparse._data.coalesced = True
    return _csr(sparse)


@tensor_method(name="to_sparse_csr")
def _to_sparse_csr_method(input, dense_dim=None) -> SparseCsrTensor:
    return to_sparse_csr(input, dense_dim)


@tensor_method(name="to_sparse")
def _to_sparse_method(input, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    # (sparse_coo's to_sparse, which cannot import this module, with the CSR layout added)
    if blocksize is not None and layout not in (dtypes.sparse_bsr, dtypes.sparse_bsc):
        kind = {sparse_csr: "SparseCsr", dtypes.sparse_csc: "SparseCsc"}.get(layout, "Sparse")
        raise RuntimeError(f"dense_to_sparse: conversion from Strided to {kind} with blocksize "
                           "argument given is not supported")  # (s28 DX1: csr took it)
    if layout == sparse_csr:
        return to_sparse_csr(input, dense_dim)
    if layout in (dtypes.sparse_csc, dtypes.sparse_bsr, dtypes.sparse_bsc):
        from .sparse_compressed import to_compressed  # (it builds on this module)

        return to_compressed(input, layout, blocksize)
    return to_sparse(input, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)


# A dense (or COO) tensor is not CSR (Tensor has no such attribute otherwise).
Tensor.is_sparse_csr = property(lambda self: False)
