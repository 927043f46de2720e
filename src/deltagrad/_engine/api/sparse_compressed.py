"""2-d sparse CSC, BSR and BSC tensors: ``sparse_csc_tensor`` / ``sparse_bsr_tensor`` /
``sparse_bsc_tensor`` / ``sparse_compressed_tensor``, ``Tensor.to_sparse_csc`` / ``_bsr`` /
``_bsc``, their ``ccol_indices`` / ``row_indices`` / ``crow_indices`` / ``col_indices`` /
``values`` accessors and the ``*_indices_copy`` functions.

As CSR (api/sparse_csr.py), each is a coalesced ``SparseCooTensor`` (row-major entries) seen
through PyTorch's compressed interface: a block layout stores every element of each stored
block (its zeros too), and ``values()`` gathers the entries into the layout's order (in the
graph), so ``to_dense``, products, sums and gradients are the COO tensor's. The accessors are
computed on use. Batched and hybrid (dense-dim) compressed tensors are refused.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..node_names import rename_node
from ..tensor import Tensor, _leaf, tensor_method
from .creation import tensor as _make_tensor
from .sparse import SparseTensor
from .sparse_checks import implicit_check_warning
from .sparse_coo import CooStorage, SparseCooTensor, _as_coo, _own_values, coo, dense_link
from .sparse_csr import (
    SparseCsrTensor,
    _csr,
    beta_warning,
    renamed_values,
    sparse_csr,
    sparse_csr_tensor,
)
from .sparse_repr import grad_suffix, sparse_repr

__all__ = ["ccol_indices_copy", "col_indices_copy", "crow_indices_copy", "indices_copy",
           "row_indices_copy", "sparse_bsc_tensor", "sparse_bsr_tensor",
           "sparse_compressed_tensor", "sparse_csc_tensor"]

sparse_csc, sparse_bsr, sparse_bsc = dtypes.sparse_csc, dtypes.sparse_bsr, dtypes.sparse_bsc

# PyTorch's layout names in its messages.
_NAMES = {sparse_csr: "SparseCsr", sparse_csc: "SparseCsc", sparse_bsr: "SparseBsr",
          sparse_bsc: "SparseBsc", dtypes.sparse_coo: "Sparse", dtypes.strided: "Strided"}
_FLOATS = {"f", "c"}  # (the dtypes PyTorch's CPU sparse compressed products take: MKL's)
_C_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}


def _name(tensor) -> str:
    return _NAMES.get(getattr(tensor, "layout", None), "Strided")


class BlockStorage(CooStorage):
    """A ``CooStorage`` that also knows its blocks' size ((1, 1) for CSC)."""

    __slots__ = ("blocksize",)


def _wrap(tensor: SparseCooTensor, cls, blocksize) -> SparseCooTensor:
    """A new coalesced 2-d COO tensor (not shared: its class changes) seen in ``cls``'s layout."""
    beta_warning(cls.LAYOUT.name[len("sparse_"):].upper())
    old = tensor._data
    storage = BlockStorage(old.index, old.values, old.shape, True)
    storage.source, storage.anchor, storage.extra = old.source, old.anchor, old.extra
    storage.blocksize = tuple(blocksize)
    tensor._data = storage
    tensor.__class__ = cls
    return tensor


def _shared(tensor) -> SparseCooTensor:
    """A new COO tensor over ``tensor``'s (coalesced) storage, values shared (in the graph)."""
    storage = tensor._data
    out = coo(storage.index, storage.values, storage.shape, True)
    out._data.source = storage.source
    return out


def _column_major(tensor) -> SparseCooTensor:
    """A CSC tensor's COO form as PyTorch's: its entries in column-major order, marked
    coalesced only with one entry (the coalesced row-major form before: values() and nnz order
    differed, values() refused in PyTorch)."""
    storage = tensor._data
    order = np.lexsort((storage.index[0], storage.index[1]))
    values = storage.values[_make_tensor(order)] if order.size else storage.values
    out = coo(storage.index[:, order], values, storage.shape, order.size == 1)
    out._data.source = storage.source
    return out


class _Compressed(SparseCooTensor):
    """What CSC, BSR and BSC share; ``COLUMNS``: compressed along columns; ``BLOCKED``: values
    [nblocks, *blocksize]."""

    __slots__ = ()
    LAYOUT = sparse_csc
    COLUMNS = True
    BLOCKED = False

    @property
    def layout(self) -> dtypes.layout:
        return self.LAYOUT

    @property
    def is_sparse(self) -> bool:
        return False  # (PyTorch's: is_sparse means the COO layout)

    @property
    def is_sparse_csr(self) -> bool:
        return False

    # ------------------------------------------------------------ accessors

    def _order(self) -> np.ndarray:
        """The stored (row-major) entries' positions in this layout's order."""
        storage = self._data
        rows, cols = storage.index
        bh, bw = storage.blocksize
        block_rows, block_cols = rows // bh, cols // bw
        first, second = (block_cols, block_rows) if self.COLUMNS else (block_rows, block_cols)
        return np.lexsort((cols % bw, rows % bh, second, first))

    def _blocks(self):
        """(compressed pointers, plain indices) of the stored blocks, int64."""
        storage = self._data
        bh, bw = storage.blocksize
        order = self._order()[::bh * bw]  # (each block's first element)
        rows, cols = storage.index[0][order] // bh, storage.index[1][order] // bw
        compressed, plain = (cols, rows) if self.COLUMNS else (rows, cols)
        count = storage.shape[1] // bw if self.COLUMNS else storage.shape[0] // bh
        pointers = np.bincount(compressed, minlength=count).cumsum()
        return np.concatenate([[0], pointers]).astype(np.int64), plain.astype(np.int64)

    def _refuse(self, name: str, wanted: str):
        raise RuntimeError(f"{name} expected {wanted} layout but got {_name(self)}")

    def crow_indices(self) -> Tensor:
        if self.COLUMNS:
            self._refuse("crow_indices", "sparse row compressed tensor")
        return _leaf(self._blocks()[0])

    def col_indices(self) -> Tensor:
        if self.COLUMNS:
            self._refuse("col_indices", "sparse row compressed tensor")
        return _leaf(self._blocks()[1])

    def ccol_indices(self) -> Tensor:
        if not self.COLUMNS:
            self._refuse("ccol_indices", "sparse column compressed tensor")
        return _leaf(self._blocks()[0])

    def row_indices(self) -> Tensor:
        if not self.COLUMNS:
            self._refuse("row_indices", "sparse column compressed tensor")
        return _leaf(self._blocks()[1])

    def values(self) -> Tensor:
        """The stored values in this layout's order ([nnz], or [nblocks, *blocksize] for a
        block layout), in the graph."""
        storage = self._data
        values, order = storage.values, self._order()
        if order.size and (order[1:] < order[:-1]).any():
            values = values[_leaf(order)]
        elif values.requires_grad:
            values = values.view(values.shape)  # (a new node each call, as PyTorch's)
        if self.BLOCKED:
            values = values.reshape(-1, *storage.blocksize)
        return rename_node(values, "ValuesBackward0")  # (PyTorch's node; none without grad)

    def _nnz(self) -> int:
        bh, bw = self._data.blocksize
        return int(self._data.index.shape[1]) // (bh * bw)

    def _indices(self):
        self._refuse("indices", "sparse coordinate tensor")

    indices = _indices

    def coalesce(self):
        self._refuse("coalesce", "sparse coordinate tensor")

    def is_coalesced(self) -> bool:
        self._refuse("is_coalesced", "sparse coordinate tensor")

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_csr_to_dense")
        return SparseCooTensor.to_dense(_shared(self))

    def unsqueeze(self, dim: int):
        raise RuntimeError(f"Sparse {_name(self)[6:].upper()} tensors do not have strides")

    def __getitem__(self, index):
        """An integer picks a row (a 1-d COO tensor, as PyTorch's select of CSC); two pick an
        element (dense 0-d); a slice raises, as PyTorch's (no strides). Block layouts: their
        rows through the dense tensor."""
        if isinstance(index, int) and not self.BLOCKED:
            size = self._data.shape[0]
            if not -size <= index < size:
                raise IndexError(f"index {index} is out of bounds for dimension 0 with size "
                                 f"{size}")
            return SparseCooTensor.select(_shared(self), 0, index % size)
        if isinstance(index, slice) or (isinstance(index, tuple) and any(
                isinstance(i, slice) for i in index)):
            raise RuntimeError(f"Sparse {_name(self)[6:].upper()} tensors do not have strides")
        return self.to_dense()[index]

    # ------------------------------------------------------------ conversions

    def _like(self, tensor: SparseCooTensor, blocksize=None):
        """``tensor`` (a new coalesced COO of this shape) in this layout."""
        return _wrap(tensor, type(self), blocksize or self._data.blocksize)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        """The entries as a (coalesced) COO tensor, or in ``layout``."""
        if layout is not None and layout != dtypes.sparse_coo:
            return _named(_convert(self, layout, blocksize, "to_sparse"), self,
                          "ToSparseBackward1")
        if self.LAYOUT is sparse_csc:
            return _column_major(self)
        return _shared(self)

    def to_sparse_csr(self, dense_dim=None) -> SparseCsrTensor:
        return _named(_convert(self, sparse_csr, None, "to_sparse_csr"), self,
                      "ToSparseCsrBackward0")

    def to_sparse_csc(self, dense_dim=None):
        return _named(_convert(self, sparse_csc, None, "to_sparse_csc"), self,
                      "ToSparseCscBackward0")

    def to_sparse_bsr(self, blocksize, dense_dim=None):
        return _named(_convert(self, sparse_bsr, blocksize, "to_sparse_bsr"), self,
                      "ToSparseBsrBackward0")

    def to_sparse_bsc(self, blocksize, dense_dim=None):
        return _named(_convert(self, sparse_bsc, blocksize, "to_sparse_bsc"), self,
                      "ToSparseBscBackward0")

    def t(self):
        """The transpose: CSC <-> CSR, BSR <-> BSC (blocks transposed)."""
        flipped = _flipped(self)
        bh, bw = self._data.blocksize
        if not self.BLOCKED:
            return _csr(flipped)
        return _wrap(flipped, SparseBscTensor if not self.COLUMNS else SparseBsrTensor, (bw, bh))

    def transpose(self, dim0: int, dim1: int):
        _check_dims(dim0, dim1)
        return self if dim0 % 2 == dim1 % 2 else self.t()

    def detach(self):
        return self._like(SparseCooTensor.detach(self))

    def clone(self, memory_format=None):
        return self._like(SparseCooTensor.clone(self))

    def cast(self, numpy_dtype):
        out = SparseCooTensor.cast(self, numpy_dtype)
        return self if out is self else self._like(out)

    # ------------------------------------------------------------ arithmetic

    def _unsupported(self, *args, **kwargs):
        raise RuntimeError(f"unsupported tensor layout: {_name(self)}")

    div = pow = __truediv__ = __pow__ = _unsupported

    def mul(self, other):
        """The product with a number or a 0-d tensor (PyTorch's compressed layouts take no
        other factor on the CPU)."""
        if isinstance(other, Tensor) and (other.ndim or isinstance(other, SparseTensor)):
            raise RuntimeError("Expected result Tensor to be of format CSR")  # (PyTorch's)
        return self._like(SparseCooTensor.mul(_shared(self), other))

    def neg(self):
        return self._like(SparseCooTensor.neg(_shared(self)))

    def abs(self):
        return self._like(SparseCooTensor.abs(_shared(self)))

    def relu(self):
        return self._like(SparseCooTensor.relu(_shared(self)))

    __mul__ = __rmul__ = mul
    __neg__ = neg
    __abs__ = abs

    def add(self, other, alpha=1):
        """This tensor plus a dense one (dense); PyTorch's CPU build adds no two of these."""
        if not isinstance(other, SparseTensor):
            return other * alpha + self.to_dense() if alpha != 1 else other + self.to_dense()
        raise RuntimeError(f"add of {_name(self)} and {_name(other)} tensors is not supported "
                           f"on the CPU")

    __add__ = add

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        if dim is not None:
            raise RuntimeError(f"Currently the only compressed sparse format supported for "
                               f"sum.dim_IntList is CSR, but got layout {_name(self)}")
        return SparseCooTensor.sum(_shared(self), None, keepdim, dtype)

    def _check_product(self, dense_first: bool) -> None:
        # PyTorch's CPU products, in its order: MKL's dtypes; BSR @ dense and dense @ BSC
        # (the transposed BSR) with square blocks; BSC @ dense and dense @ BSR not at all.
        if self._data.dtype.kind not in _FLOATS:
            kind = _C_NAMES.get(self._data.dtype.name, self._data.dtype.name)
            raise NotImplementedError(f'"addmm_out_sparse_csr_impl_mkl" not implemented for '
                                      f"'{kind}'")
        if self.BLOCKED and self.COLUMNS != dense_first:
            order = "Strided @ " + _name(self) if dense_first else _name(self) + " @ Strided"
            raise RuntimeError(f"addmm: computation on CPU is not implemented for Strided + "
                               f"{order}")
        bh, bw = self._data.blocksize
        if bh != bw:
            raise RuntimeError("MKL Sparse doesn't support matrices with non-square blocks.")

    def mm(self, mat2) -> Tensor:
        self._check_product(False)
        return SparseCooTensor.mm(_shared(self), mat2)

    def matmul(self, other) -> Tensor:
        self._check_product(False)
        return SparseCooTensor.matmul(_shared(self), other)

    def __matmul__(self, other):
        self._check_product(False)
        return SparseCooTensor.__matmul__(_shared(self), other)

    def __rmatmul__(self, other):
        if isinstance(other, Tensor):
            self._check_product(True)
        return SparseCooTensor.__rmatmul__(_shared(self), other)

    def __repr__(self) -> str:
        storage = self._data
        compressed, plain = self._blocks()
        names = ("ccol_indices", "row_indices") if self.COLUMNS else ("crow_indices",
                                                                      "col_indices")
        parts = [(names[0], compressed), (names[1], plain),
                 ("values", self.values().detach()._data)]
        return sparse_repr(parts, storage.shape, self._nnz(), storage.values._data, self.LAYOUT,
                           grad_suffix(self, storage.values._rg), False)


def _check_dims(dim0: int, dim1: int) -> None:
    for d in (dim0, dim1):
        if not -2 <= d < 2:
            raise IndexError(f"Dimension out of range (expected to be in range of [-2, 1], but "
                             f"got {d})")


def transpose_csr(tensor: SparseCsrTensor, dim0: int, dim1: int):
    """A CSR tensor's ``transpose`` (``t``): CSC, as PyTorch's."""
    _check_dims(dim0, dim1)
    if dim0 % 2 == dim1 % 2:
        return tensor
    return _wrap(_flipped(tensor), SparseCscTensor, (1, 1))


def _flipped(tensor) -> SparseCooTensor:
    """A compressed tensor's transpose as a new coalesced COO tensor; a dense input of
    ``to_sparse_*`` still takes a dense gradient whole (its transpose is the source)."""
    flipped = SparseCooTensor.transpose(_shared(tensor), 0, 1).coalesce()
    source = tensor._data.source
    flipped._data.source = None if source is None else source.t()
    return flipped


class SparseCscTensor(_Compressed):
    """A 2-d sparse tensor in compressed sparse column layout (``layout == sparse_csc``)."""

    __slots__ = ()


class SparseBsrTensor(_Compressed):
    """A 2-d sparse tensor of blocks, compressed by block rows (``layout == sparse_bsr``)."""

    __slots__ = ()
    LAYOUT, COLUMNS, BLOCKED = sparse_bsr, False, True


class SparseBscTensor(_Compressed):
    """A 2-d sparse tensor of blocks, compressed by block columns (``layout == sparse_bsc``)."""

    __slots__ = ()
    LAYOUT, COLUMNS, BLOCKED = sparse_bsc, True, True


_CLASSES = {sparse_csc: SparseCscTensor, sparse_bsr: SparseBsrTensor,
            sparse_bsc: SparseBscTensor}


def _converted(name: str):
    # (dtype conversions run on the COO view, as CSR's, then come back to this layout)
    def convert(self, *args, **kwargs):
        out = getattr(_shared(self), name)(*args, **kwargs)
        return self._like(out) if isinstance(out, SparseCooTensor) else out

    convert.__name__ = name
    return convert


for _method in ("to", "type", "cpu", "float", "double", "half", "bfloat16", "long", "int",
                "short", "char", "byte", "bool"):
    setattr(_Compressed, _method, _converted(_method))


# ---------------------------------------------------------------------------- conversions


def _blocksize(blocksize, layout, name: str) -> tuple:
    if layout in (sparse_csr, sparse_csc):
        if blocksize is not None:
            raise RuntimeError(f"{name}: blocksize is not used by the {_NAMES[layout]} layout")
        return (1, 1)
    if blocksize is None:
        raise RuntimeError(f"{name}: conversion to {_NAMES[layout]} without blocksize "
                           f"argument given is not supported")
    if isinstance(blocksize, int):
        blocksize = (blocksize, blocksize)
    blocksize = tuple(int(b) for b in blocksize)
    if len(blocksize) != 2:
        raise RuntimeError(f"{name}: blocksize needs to be a tuple of size 2, but got "
                           f"{len(blocksize)}")
    if min(blocksize) < 1:
        raise RuntimeError(f"{name}: blocksize must be positive, got {blocksize}")
    return blocksize


def _check_2d(input, name: str) -> None:
    if input.ndim < 2:  # (PyTorch's class: its IndexError from selecting a missing dimension)
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got "
                         f"1) ({name} of a {input.ndim}-d tensor)")
    if input.ndim != 2:
        raise NotImplementedError(f"{name}: expected a 2-d tensor, got {input.ndim}-d "
                                  f"(batched compressed sparse tensors are not supported)")


def _convert(input, layout, blocksize, name: str):
    """``input`` (dense, COO or compressed) in the compressed ``layout``."""
    if layout == dtypes.sparse_coo:
        return input.to_sparse()
    source = getattr(input, "layout", dtypes.strided)
    if layout not in _CLASSES and layout != sparse_csr:
        raise RuntimeError(f"{name}: unsupported layout {layout}")
    blocked = layout in (sparse_bsr, sparse_bsc)
    if source in (sparse_bsr, sparse_bsc) and not blocked:
        raise RuntimeError(f"sparse_compressed_{name}: expected SparseCsr or SparseCsc layout "
                           f"but got {_NAMES[source]}")
    if source in (sparse_bsr, sparse_bsc) and blocksize is not None:
        size = (blocksize, blocksize) if isinstance(blocksize, int) else tuple(blocksize)
        if size != input._data.blocksize:
            raise RuntimeError(
                f"{name}: conversion from {_NAMES[source]} to {_NAMES[layout]} with blocksize "
                f"changed from {list(input._data.blocksize)} to {list(size)} is not supported")
        blocksize = None
    if source == layout:
        return input
    if source in (sparse_bsr, sparse_bsc):  # (the same blocks, compressed the other way)
        return _wrap(_shared(input), _CLASSES[layout], input._data.blocksize)
    blocksize = _blocksize(blocksize, layout, name)
    _check_2d(input, name)
    rows, cols = input.shape
    bh, bw = blocksize
    if rows % bh or cols % bw:
        prefix = "" if isinstance(input, SparseTensor) else "dense_"
        raise RuntimeError(f"{prefix}{name}: tensor sparse size ({rows},{cols}) must be "
                           f"divisible by given blocksize ({bh},{bw})")
    if isinstance(input, SparseTensor):
        # (a compressed tensor's COO view is coalesced; its own coalesce() refuses, as PyTorch)
        sparse = _shared(input) if input.layout != dtypes.sparse_coo else _as_coo(
            input).coalesce()
        if sparse.sparse_dim() != 2:
            raise NotImplementedError(f"{name} of a hybrid sparse tensor is not supported")
        if blocksize == (1, 1):
            out = _shared(sparse)
        else:  # every element of each block holding an entry, zeros too
            mask = np.zeros(input.shape, dtype=bool)
            mask[tuple(sparse._data.index)] = True
            # (to_sparse's dense input takes a gradient whole, as PyTorch's ToSparseBackward0:
            # through the link alone, the values being that input's entries)
            link = dense_link(sparse)
            dense = sparse.to_dense() if link is None else sparse.detach().to_dense() + link
            out = _gather(dense, mask, blocksize, sparse._data.source)
    else:
        out = _gather(input, input._data != 0, blocksize, input)
    return _csr(out) if layout == sparse_csr else _wrap(out, _CLASSES[layout], blocksize)


def _gather(dense: Tensor, mask: np.ndarray, blocksize, source) -> SparseCooTensor:
    """The elements of ``dense`` in every block where ``mask`` holds, as a coalesced COO tensor
    (gathered in the graph; ``source``: the dense input a dense gradient reaches whole)."""
    bh, bw = blocksize
    rows, cols = mask.shape
    if (bh, bw) != (1, 1):
        blocks = mask.reshape(rows // bh, bh, cols // bw, bw).any(axis=(1, 3))
        mask = np.repeat(np.repeat(blocks, bh, axis=0), bw, axis=1)
    where = [p.astype(np.int64) for p in mask.nonzero()]
    values = dense[_leaf(where[0]), _leaf(where[1])]
    out = coo(np.stack(where), values, tuple(dense.shape), True)
    out._data.source = source if source is not None and values._rg else None
    return out


def _named(out, input, name: str):
    """A conversion's result with PyTorch's node (``ToSparseCscBackward0``, ...): a dense
    input's gathered values renamed, a sparse input's shared ones aliased first."""
    if out is input:
        return out
    if isinstance(input, SparseTensor):
        return renamed_values(out, name)
    rename_node(out._data.values, name)
    return out


@tensor_method(name="to_sparse_csc")
def _to_sparse_csc(input, dense_dim=None):
    """``input`` (2-d, dense or sparse) in CSC layout; differentiable into it."""
    _no_dense_dim(dense_dim, "to_sparse_csc")
    return _named(_convert(input, sparse_csc, None, "to_sparse_csc"), input,
                  "ToSparseCscBackward0")


@tensor_method(name="to_sparse_bsr")
def _to_sparse_bsr(input, blocksize, dense_dim=None):
    """``input`` (2-d, dense or sparse) in BSR layout of ``blocksize`` blocks (every block
    holding a nonzero stored whole); differentiable into it."""
    _no_dense_dim(dense_dim, "to_sparse_bsr")
    prefix = "" if isinstance(input, SparseTensor) else "dense_"
    blocksize = _blocksize(blocksize, sparse_bsr, prefix + "to_sparse_bsr")
    return _named(_convert(input, sparse_bsr, blocksize, "to_sparse_bsr"), input,
                  "ToSparseBsrBackward0")


@tensor_method(name="to_sparse_bsc")
def _to_sparse_bsc(input, blocksize, dense_dim=None):
    """``input`` in BSC layout (``to_sparse_bsr``'s blocks, compressed by block columns)."""
    _no_dense_dim(dense_dim, "to_sparse_bsc")
    prefix = "" if isinstance(input, SparseTensor) else "dense_"
    blocksize = _blocksize(blocksize, sparse_bsc, prefix + "to_sparse_bsc")
    return _named(_convert(input, sparse_bsc, blocksize, "to_sparse_bsc"), input,
                  "ToSparseBscBackward0")


def _no_dense_dim(dense_dim, name: str) -> None:
    if dense_dim:
        raise NotImplementedError(f"{name}(dense_dim > 0): hybrid compressed sparse tensors "
                                  f"are not supported")


def to_compressed(input, layout, blocksize=None):
    """``Tensor.to_sparse(layout=...)`` for a compressed layout (api/sparse_csr.py's hook)."""
    if layout in (sparse_bsr, sparse_bsc):
        if blocksize is None:
            raise RuntimeError(f"dense_to_sparse: conversion from Strided to {_NAMES[layout]} "
                               f"without blocksize argument given is not supported")
        blocksize = _blocksize(blocksize, layout, "to_sparse")
    return _named(_convert(input, layout, blocksize, "to_sparse"), input, "ToSparseBackward1")


# Sparse COO and CSR tensors convert too (their classes refuse unknown Tensor methods).
for _cls in (SparseCooTensor, SparseCsrTensor):
    _cls.to_sparse_csc, _cls.to_sparse_bsr = _to_sparse_csc, _to_sparse_bsr
    _cls.to_sparse_bsc = _to_sparse_bsc
for _name_, _wanted in (("ccol_indices", "sparse column compressed tensor"),
                        ("row_indices", "sparse column compressed tensor")):
    setattr(SparseCsrTensor, _name_, lambda self, _n=_name_, _w=_wanted: _Compressed._refuse(
        self, _n, _w))


# ---------------------------------------------------------------------------- factories


def _int_array(value) -> np.ndarray:
    return np.asarray(value._data if isinstance(value, Tensor) else value).astype(np.int64)


def _check_invariants(compressed, plain, size, blocksize, columns: bool, nnz: int) -> None:
    """PyTorch's compressed invariants (``check_invariants=True``): always checked here, so a
    bad index is never silent (PyTorch skips them by default)."""
    c, p = ("ccol", "row") if columns else ("crow", "col")
    count = size[1] // blocksize[1] if columns else size[0] // blocksize[0]
    plain_count = size[0] // blocksize[0] if columns else size[1] // blocksize[1]
    what = "columns" if columns else "rows"
    if compressed.size != count + 1:
        raise RuntimeError(f"{c}_indices.shape[-1] must be equal to the number of {what} + 1 "
                           f"(={count + 1}), but got {compressed.size}")
    if compressed[0] != 0:
        raise RuntimeError(f"`{c}_indices[..., 0] == 0` is not satisfied.")
    if compressed[-1] != nnz:
        raise RuntimeError(f"`{c}_indices[..., -1] == nnz` is not satisfied.")
    if (np.diff(compressed) < 0).any():
        raise RuntimeError(f"`0 <= {c}_indices[..., 1:] - {c}_indices[..., :-1] <= "
                           f"{'nrows' if columns else 'ncols'}` is not satisfied.")
    if nnz and (plain.min() < 0 or plain.max() >= plain_count):
        other = "nrows" if columns else "ncols"
        raise RuntimeError(f"`0 <= {p}_indices < {other}` is not satisfied.")
    segment = np.repeat(np.arange(count), np.diff(compressed))
    if nnz > 1 and ((plain[1:] <= plain[:-1]) & (segment[1:] == segment[:-1])).any():
        raise RuntimeError(f"`{p}_indices[..., {c}_indices[..., i - 1]:{c}_indices[..., i]] "
                           f"for all i = 1, ..., {'ncols' if columns else 'nrows'} are sorted "
                           f"and distinct along the last dimension values` is not satisfied.")


def sparse_compressed_tensor(compressed_indices, plain_indices, values, size=None, *,
                             dtype=None, layout=None, device=None, pin_memory: bool = False,
                             requires_grad: bool = False, check_invariants=None):
    """A 2-d sparse tensor in a compressed ``layout`` (``sparse_csr``, ``sparse_csc``,
    ``sparse_bsr`` or ``sparse_bsc``) from its compressed pointers, plain indices and values
    ([nnz], or [nblocks, bh, bw] for the block layouts); a values Tensor keeps its graph.

    >>> import deltagrad as dg
    >>> dg.sparse_csc_tensor([0, 1, 3], [1, 0, 1], [5.0, 2.0, 3.0], (2, 2)).to_dense()
    tensor([[0., 2.],
            [5., 3.]])
    """
    implicit_check_warning(check_invariants)
    if layout is None or (layout not in _CLASSES and layout != sparse_csr):
        raise RuntimeError(f"sparse_compressed_tensor expected sparse compressed tensor layout "
                           f"but got {'none' if layout is None else layout}")
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"sparse tensors: only the cpu device is supported, got {device}")
    if layout == sparse_csr:
        return sparse_csr_tensor(compressed_indices, plain_indices, values, size, dtype=dtype,
                                 device=device, requires_grad=requires_grad,
                                 check_invariants=False)
    compressed, plain = _int_array(compressed_indices), _int_array(plain_indices)
    if compressed.ndim != 1 or plain.ndim != 1:
        raise NotImplementedError("batched compressed sparse tensors are not supported")
    if not isinstance(values, Tensor):
        values = _make_tensor(values, dtype=dtype)
    elif dtype is not None:
        values = values.to(dtype)
    columns, blocked = layout in (sparse_csc, sparse_bsc), layout == sparse_bsr or (
        layout == sparse_bsc)
    nnz = plain.size
    if values.ndim != (3 if blocked else 1):
        if values.ndim > (3 if blocked else 1):
            raise NotImplementedError("hybrid compressed sparse tensors (values with dense "
                                      "dims) are not supported")
        wanted = "[nnz, blocksize[0], blocksize[1]]" if blocked else "[nnz]"
        raise RuntimeError(f"values must be {wanted}, got {list(values.shape)}")
    if values.shape[0] != nnz:
        raise RuntimeError(f"values.shape[0] must be equal to the number of plain indices "
                           f"(={nnz}), but got {values.shape[0]}")
    blocksize = tuple(values.shape[1:]) if blocked else (1, 1)
    bh, bw = blocksize
    if size is None:
        count, extent = compressed.size - 1, int(plain.max()) + 1 if nnz else 0
        size = (extent * bh, count * bw) if columns else (count * bh, extent * bw)
    size = tuple(int(n) for n in size)
    if len(size) != 2:
        raise NotImplementedError(f"compressed sparse tensors of {len(size)} dims: only 2-d "
                                  f"ones are supported")
    if size[0] % bh or size[1] % bw:
        raise RuntimeError(f"tensor sparse size {size} must be divisible by the blocksize "
                           f"{blocksize}")
    _check_invariants(compressed, plain, size, blocksize, columns, nnz)
    block_compressed = np.repeat(np.arange(compressed.size - 1), np.diff(compressed))
    block_rows, block_cols = (plain, block_compressed) if columns else (block_compressed, plain)
    rows = (block_rows[:, None, None] * bh + np.arange(bh)[:, None]) + np.zeros(bw, np.int64)
    cols = (block_cols[:, None, None] * bw + np.arange(bw)) + np.zeros((bh, 1), np.int64)
    order = np.lexsort((cols.reshape(-1), rows.reshape(-1)))
    index = np.stack([rows.reshape(-1)[order], cols.reshape(-1)[order]])
    flat = values.reshape(-1) if blocked else values
    if (order[1:] < order[:-1]).any():
        flat = flat[_leaf(order)] if flat.requires_grad else _leaf(flat._data[order])
    flat = _own_values(flat)
    if requires_grad:
        flat = _leaf(flat._data).requires_grad_(True)
    return _wrap(coo(index, flat, size, True), _CLASSES[layout], blocksize)


def sparse_csc_tensor(ccol_indices, row_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants=None):
    """A 2-d sparse CSC tensor: column c holds ``values[ccol[c]:ccol[c + 1]]`` at rows
    ``row_indices[ccol[c]:ccol[c + 1]]``."""
    return sparse_compressed_tensor(ccol_indices, row_indices, values, size, dtype=dtype,
                                    layout=sparse_csc, device=device,
                                    requires_grad=requires_grad,
                                    check_invariants=check_invariants)


def sparse_bsr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants=None):
    """A 2-d sparse BSR tensor: block row r holds the blocks ``values[crow[r]:crow[r + 1]]``
    ([nblocks, bh, bw]) at block columns ``col_indices[crow[r]:crow[r + 1]]``."""
    return sparse_compressed_tensor(crow_indices, col_indices, values, size, dtype=dtype,
                                    layout=sparse_bsr, device=device,
                                    requires_grad=requires_grad,
                                    check_invariants=check_invariants)


def sparse_bsc_tensor(ccol_indices, row_indices, values, size=None, *, dtype=None,
                      device=None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants=None):
    """A 2-d sparse BSC tensor: block column c holds the blocks ``values[ccol[c]:ccol[c + 1]]``
    at block rows ``row_indices[ccol[c]:ccol[c + 1]]``."""
    return sparse_compressed_tensor(ccol_indices, row_indices, values, size, dtype=dtype,
                                    layout=sparse_bsc, device=device,
                                    requires_grad=requires_grad,
                                    check_invariants=check_invariants)


# ---------------------------------------------------------------------------- copies


def _copy(name: str):
    def copy(input, *, out=None) -> Tensor:
        result = getattr(input, name)().clone()
        if out is not None:
            out.resize_(result.shape).copy_(result)
            return out
        return result

    copy.__name__ = copy.__qualname__ = f"{name}_copy"
    copy.__doc__ = f"``input.{name}()``, copied (``torch.{name}_copy``)."
    return copy


ccol_indices_copy = _copy("ccol_indices")
col_indices_copy = _copy("col_indices")
crow_indices_copy = _copy("crow_indices")


def indices_copy(input, *, out=None) -> Tensor:
    """``torch.indices_copy``: PyTorch's CPU build has no kernel for a sparse COO tensor (a
    dense one has no indices); both raise, as there."""
    if getattr(input, "is_sparse", False):
        raise NotImplementedError("Could not run 'aten::indices_copy' with arguments from the "
                                  "'SparseCPU' backend")
    return input.indices()


row_indices_copy = _copy("row_indices")
