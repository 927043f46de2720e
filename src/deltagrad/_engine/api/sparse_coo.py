"""General sparse COO tensors: ``sparse_coo_tensor``, ``to_sparse``, products and reductions.

A ``SparseCooTensor`` is a ``SparseTensor`` (the class of sparse gradients, api/sparse.py) whose
storage is a ``CooStorage``: an int64 index matrix [sparse_dim, nnz], a values Tensor
[nnz, *dense_shape] and the dense shape. The values are an ordinary Tensor in the graph, so every
operation on a sparse tensor is written with the engine's ops on its values (gathers and
``index_add_zeros`` scatters, all vectorized; the 2-d products with dense matrices are the
registered ops of ops/sparse_ops.py, see api/sparse_products.py): gradients reach the values,
and the tensors the
values came from, without any sparse object travelling through the backward sweep. A leaf sparse
tensor that requires grad owns a private leaf values Tensor; its ``.grad`` is that leaf's gradient
laid on the tensor's (coalesced) pattern, which is PyTorch's sparse gradient.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..modes import is_grad_enabled
from ..node_names import rename_node
from ..ops import OPS
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import int_arg
from .creation import tensor as _make_tensor
from .recorded_steps import recorded_step
from .shape import cat
from .sparse import SparseTensor
from .sparse_checks import _check_index, check_same_layout, implicit_check_warning  # (re-exported)
from .sparse_coo_storage import CooStorage, _plan, _sum_segments  # (moved out: session 27, FS1)
from .sparse_links import dense_link, keep_off_pattern, linear_source  # noqa: F401 (re-exported)
from .sparse_repr import grad_suffix, sparse_repr

__all__ = ["dsmm", "smm", "sparse_coo_tensor", "spmm"]

_INDEX_ADD_ZEROS = OPS["index_add_zeros"]
_EMPTY = np.empty(0)


def coo(index: np.ndarray, values: Tensor, shape, coalesced: bool) -> SparseCooTensor:
    """A ``SparseCooTensor`` over ``index`` and the ``values`` Tensor (both shared)."""
    out = _leaf(_EMPTY)  # every slot set as for any leaf, then the class and storage swapped
    out.__class__ = SparseCooTensor  # (the same slots: the subclasses add none)
    out._data = CooStorage(index, values, shape, coalesced)
    return out


def _own_values(values: Tensor) -> Tensor:
    """The values a new sparse tensor holds: a differentiable alias of ``values`` when it
    requires grad (so the sparse tensor is not a leaf), else a new leaf sharing memory (so
    ``requires_grad_()`` on the sparse tensor never changes the caller's tensor)."""
    if values._rg:
        return values.view(tuple(values.shape))
    return _leaf(values._data)


def sparse_coo_tensor(indices=None, values=None, size=None, *, dtype=None, device=None,
                      pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants=None, is_coalesced=None) -> SparseCooTensor:
    """A sparse COO tensor: ``values[k]`` at position ``indices[:, k]`` (repeats add up).

    Args:
        indices: integer [sparse_dim, nnz] (a Tensor or anything ``tensor`` takes).
        values: [nnz, *dense_shape]; a Tensor keeps its graph (gradients reach it).
        size: the dense shape; inferred from the largest indices when omitted.
        dtype: the values' dtype (default: that of ``values``).
        requires_grad: make the sparse tensor a leaf that requires grad.
        check_invariants: accepted; the index range is always checked.
        is_coalesced: declare the positions sorted and distinct.

    Returns:
        A ``SparseCooTensor`` (layout ``sparse_coo``).

    >>> import deltagrad as dg
    >>> dg.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3)).to_dense()
    tensor([[0., 0., 3.],
            [4., 0., 5.]])
    """
    implicit_check_warning(check_invariants)
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"sparse tensors: only the cpu device is supported, got {device}")
    if values is None:  # (PyTorch's other form, sparse_coo_tensor(size): no entries)
        size = indices if size is None else size
        if size is None or isinstance(indices, Tensor):
            raise TypeError("sparse_coo_tensor() needs indices and values, or a size alone")
        indices = np.zeros((len(size), 0), dtype=np.int64)
        values = _make_tensor(np.zeros(0), dtype=dtype or dtypes.get_default_dtype())
    index = (indices._data if isinstance(indices, Tensor) else np.asarray(indices))
    index = np.asarray(index).astype(np.int64, copy=False)
    if index.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(index.shape)}")
    if not isinstance(values, Tensor):
        values = _make_tensor(values, dtype=dtype)
    elif dtype is not None:
        values = values.to(dtype)
    if values.ndim == 0:
        raise RuntimeError("values must have at least one dimension (nnz)")
    sparse_dim, nnz = index.shape
    if values.shape[0] != nnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {values.shape[0]}")
    dense_shape = tuple(values.shape[1:])
    if size is None:
        sparse_shape = tuple(int(n) + 1 for n in index.max(axis=1)) if nnz else (0,) * sparse_dim
        shape = sparse_shape + dense_shape
    else:
        shape = tuple(int(n) for n in size)
        if len(shape) != sparse_dim + len(dense_shape):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: "
                               f"len(size) = {len(shape)}, sparse_dim = {sparse_dim}, "
                               f"dense_dim = {len(dense_shape)}")
        if shape[sparse_dim:] != dense_shape:
            raise RuntimeError(f"values has incorrect size, expected "
                               f"{[nnz, *shape[sparse_dim:]]}, got {list(values.shape)}")
    if sparse_dim == 0:
        raise NotImplementedError("sparse COO tensors with sparse_dim 0 are not supported")
    _check_index(index, shape)
    values = _own_values(values)
    if requires_grad:
        values = _leaf(values._data).requires_grad_(True)
    return coo(index, values, shape, bool(is_coalesced) or nnz < 2)  # (PyTorch's flag)


# ---------------------------------------------------------------------------- the class


class SparseCooTensor(SparseTensor):
    """A sparse COO tensor (``sparse_coo_tensor``, ``Tensor.to_sparse``): ``CooStorage``."""

    __slots__ = ()

    # ------------------------------------------------------------ autograd (the values')

    @property
    def requires_grad(self) -> bool:
        return self._data.values._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> SparseCooTensor:
        """Make this (leaf) sparse tensor record operations on it; returns self."""
        self._data.values.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._data.values._op is None

    @property
    def grad_fn(self):
        return self._data.values.grad_fn

    @property
    def grad(self):
        """A leaf's gradient: sparse, on the coalesced positions of this tensor (PyTorch's);
        dense where ``@`` / ``torch.mm`` reached it (PyTorch's too, see _with_dense_grad)."""
        storage = self._data
        g = storage.values.grad
        anchor = storage.anchor
        if anchor is not None and anchor.grad is not None:
            dense = anchor.grad
            dense = dense if g is None else dense + self._sparse_grad(g).to_dense()
            return dense if storage.extra is None else dense + _leaf(storage.extra)
        if g is None:
            return None
        grad = self._sparse_grad(g)
        if storage.extra is not None:  # (after the pattern's entries: the same dense sum)
            where = np.nonzero(storage.extra.reshape(storage.shape[:self.sparse_dim()] + (-1,))
                               .any(-1))
            index = np.concatenate([grad._data.index, np.stack(where).astype(np.int64)], 1)
            values = np.concatenate([grad._data.values._data, storage.extra[where]])
            grad = coo(index, _leaf(values), storage.shape, False)
        return grad

    def _sparse_grad(self, g: Tensor) -> SparseCooTensor:
        storage = self._data
        # NOTE: PyTorch marks the gradients of sparse.mm and to_dense (masks of a dense
        # gradient) uncoalesced though their positions are distinct, that of sparse.sum
        # coalesced; deltagrad marks all of them uncoalesced.
        if storage.coalesced:
            return coo(storage.index, g, storage.shape, False)
        # Every op here gives each stored entry the gradient of its position, so a repeated
        # position's gradient is read once (not summed over its repeats).
        segment, index, count = _plan(storage.index, storage.shape[:self.sparse_dim()])
        first = np.zeros(count, dtype=np.int64)
        first[segment[::-1]] = np.arange(segment.size - 1, -1, -1)
        return coo(index, _leaf(g._data[first]), storage.shape, False)

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            if isinstance(self._data, CooStorage):
                self._data.values.grad = None
                self._data.extra = None
                if self._data.anchor is not None:
                    self._data.anchor.grad = None
            return
        raise NotImplementedError("assigning .grad of a sparse COO tensor is not supported")

    def detach_(self) -> SparseCooTensor:
        self._data = self.detach()._data
        return self

    def register_hook(self, hook):
        raise NotImplementedError("hooks on a sparse COO tensor are not supported; register "
                                  "them on the tensor its values come from")

    def retain_grad(self) -> None:
        raise NotImplementedError("retain_grad() of a sparse COO tensor is not supported")

    def backward(self, *args, **kwargs):
        raise NotImplementedError("backward() from a sparse tensor is not supported; call "
                                  ".to_dense() or torch.sparse.sum first")

    # ------------------------------------------------------------ what it is

    @property
    def data(self) -> SparseCooTensor:
        return self.detach()

    def numel(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def is_coalesced(self) -> bool:
        """Whether the positions are sorted and distinct (``coalesce`` makes them so)."""
        return self._data.coalesced

    def _nnz(self) -> int:
        """The number of stored entries (repeats included until coalesced)."""
        return int(self._data.index.shape[1])

    def sparse_dim(self) -> int:
        return int(self._data.index.shape[0])

    def dense_dim(self) -> int:
        return len(self._data.shape) - self.sparse_dim()

    def _indices(self) -> Tensor:
        """The positions, [sparse_dim, nnz] int64 (repeats included)."""
        return _leaf(self._data.index)

    def _values(self) -> Tensor:
        """The stored values, [nnz, *dense_shape], sharing memory and outside the graph
        (PyTorch's ``_values`` is not differentiable: ``values()`` is)."""
        return self._data.values.detach()

    def values(self) -> Tensor:
        """The stored values of a coalesced tensor (PyTorch refuses uncoalesced ones), in the
        graph."""
        self._require_coalesced("values")
        values = self._data.values
        # (PyTorch's is a new ValuesBackward0 node each call: never a leaf with grad)
        return rename_node(values.view(values.shape), "ValuesBackward0") if values._rg else values

    def _require_coalesced(self, name: str) -> None:
        if not self._data.coalesced:
            raise RuntimeError(f"Cannot get {name} on an uncoalesced tensor, please call "
                               ".coalesce() first")

    # ------------------------------------------------------------ conversions

    def coalesce(self) -> SparseCooTensor:
        """Repeated positions summed, positions sorted (this tensor if it already is so)."""
        storage = self._data
        if storage.coalesced:
            return self
        segment, index, count = _plan(storage.index, storage.shape[:self.sparse_dim()])
        return coo(index, _sum_segments(storage.values, segment, count), storage.shape, True)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor (repeated positions summed); differentiable into the values."""
        storage = self._data
        values = storage.values
        dense = apply(_INDEX_ADD_ZEROS, values, index=tuple(storage.index),
                      shape=storage.shape, dtype=values._data.dtype)
        return dense if dtype is None else dense.to(dtype)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
        if layout is not None and layout != dtypes.sparse_coo:
            from .sparse_compressed import to_compressed  # (it builds on this module)

            return to_compressed(self, layout, blocksize)
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise NotImplementedError("to_sparse(sparse_dim) of a sparse COO tensor with "
                                      "another sparse_dim")
        return self

    def new(self, *args, device=None) -> SparseCooTensor:
        """PyTorch's legacy ``S.new(indices, values[, size])``: a new sparse COO tensor from
        those (SM3's sparse update builds its step so); other forms are not supported."""
        if len(args) in (2, 3) and isinstance(args[0], Tensor) and isinstance(args[1], Tensor):
            return sparse_coo_tensor(*args, device=device, check_invariants=False)
        raise NotImplementedError("new() of a sparse tensor takes (indices, values[, size]) "
                                  "here; call .to_dense() first for the other forms")

    def detach(self) -> SparseCooTensor:
        storage = self._data
        return coo(storage.index, _leaf(storage.values._data), storage.shape, storage.coalesced)

    def clone(self, memory_format=None) -> SparseCooTensor:
        storage = self._data
        return coo(storage.index.copy(), storage.values.clone(), storage.shape,
                   storage.coalesced)

    def cast(self, numpy_dtype) -> SparseCooTensor:
        """The values in another dtype (``to`` and ``float()`` & co. come here)."""
        storage = self._data
        if numpy_dtype == storage.dtype:
            return self
        return coo(storage.index, storage.values.to(dtypes.of(np.dtype(numpy_dtype))),
                   storage.shape, storage.coalesced)

    def t(self) -> SparseCooTensor:
        """The transpose of a 2-d sparse tensor (0-d and 1-d: itself)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    def transpose(self, dim0: int, dim1: int) -> SparseCooTensor:
        """Two sparse dims swapped (positions no longer sorted)."""
        storage, ndim = self._data, self.ndim
        for d in (dim0, dim1):
            if not -ndim <= d < ndim:
                raise IndexError(f"Dimension out of range (expected to be in range of "
                                 f"[{-ndim}, {ndim - 1}], but got {d})")
        dim0, dim1 = dim0 % ndim, dim1 % ndim
        if dim0 == dim1:
            return self
        if max(dim0, dim1) >= self.sparse_dim():
            raise NotImplementedError("transpose of a sparse tensor's dense dims is not "
                                      "supported")
        order = list(range(self.sparse_dim()))
        order[dim0], order[dim1] = dim1, dim0
        shape = list(storage.shape)
        shape[dim0], shape[dim1] = shape[dim1], shape[dim0]
        # (a new node when it requires grad, as PyTorch's: not a leaf, whatever this one is)
        # (PyTorch's flag: uncoalesced, except an empty tensor, which stays coalesced)
        out = coo(storage.index[order], _own_values(storage.values), shape,
                  not storage.index.shape[1])
        if storage.source is not None:  # (to_sparse's dense input, transposed: whole_sum)
            out._data.source = storage.source.transpose(dim0, dim1)
        return out

    # ------------------------------------------------------------ arithmetic

    def mul(self, other) -> SparseCooTensor:
        """The product with a number, a dense tensor that broadcasts to this shape (read at
        the entries: the pattern is kept) or a sparse tensor (the common positions)."""
        storage = self._data
        if isinstance(other, Tensor) and (other.ndim or isinstance(other, SparseTensor)):
            from .sparse_products import mul_tensor  # (it builds on this module)

            return mul_tensor(self, other)
        factor = _factor(other, "mul")
        return linear_source(coo(storage.index, storage.values * factor, storage.shape,
                           storage.coalesced), storage, lambda dense: dense * factor)

    def select(self, dim: int, index: int):
        """The slice at ``index`` of ``dim``: a sparse tensor one dim smaller (the entries of
        that position, listed in their order), or, from a 1-d tensor, the dense 0-d value."""
        storage, ndim, sparse_dim = self._data, self.ndim, self.sparse_dim()
        if not -ndim <= dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {dim})")
        dim %= ndim
        size = storage.shape[dim]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size "
                             f"{list(storage.shape)} at dimension {dim}")
        index %= size
        shape = storage.shape[:dim] + storage.shape[dim + 1:]
        if dim >= sparse_dim:  # (a dense dim: every entry keeps its position)
            values = storage.values.select(dim - sparse_dim + 1, index)
            return coo(storage.index, values, shape, storage.index.shape[1] < 2)  # (PyTorch's)
        keep = np.flatnonzero(storage.index[dim] == index)
        values = storage.values[_make_tensor(keep)]
        if sparse_dim == 1:  # (PyTorch's: a dense result, the sum of the repeats)
            return values.sum(0)
        rest = np.delete(storage.index[:, keep], dim, axis=0)
        return coo(rest, values, shape, keep.size < 2)  # (PyTorch's flag)

    def __getitem__(self, index):
        """PyTorch's sparse subscripts: integers (and 0-d integer tensors) select along the
        leading dims, a sparse result while sparse dims remain (``to_dense()[index]`` before:
        a dense result, silently another layout); slices, index lists, masks refuse with
        NotImplementedError, as PyTorch's sparse backend does (None / ``...`` refuse too,
        where PyTorch takes them: loud)."""
        parts = index if isinstance(index, tuple) else (index,)
        out = self
        for k, part in enumerate(parts):
            if isinstance(part, Tensor) and part.ndim == 0 and not part.is_floating_point() \
                    and not part.is_complex() and part.dtype is not dtypes.bool:
                part = int(part.item())
            if isinstance(part, bool) or not isinstance(part, (int, np.integer)):
                raise NotImplementedError(
                    f"indexing a sparse tensor (layout sparse_coo, shape {tuple(self.shape)}) "
                    f"with {part!r}: only integer subscripts are supported; call .to_dense() "
                    f"first")
            if not isinstance(out, SparseTensor):
                return out[parts[k:]]
            out = out.select(0, int(part))
        return out

    def unbind(self, dim: int = 0) -> tuple:
        """Every ``select(dim, i)`` (iterating a sparse tensor gives those of dim 0)."""
        if not -self.ndim <= dim < self.ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-self.ndim}, {self.ndim - 1}], but got {dim})")
        return tuple(self.select(dim, i) for i in range(self._data.shape[dim]))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def unsqueeze(self, dim: int) -> SparseCooTensor:
        """A new size-1 dim at ``dim``: a sparse dim (all positions 0) when it comes at or
        before the last sparse dim, else a dense one of the values."""
        storage, ndim, sparse_dim = self._data, self.ndim, self.sparse_dim()
        if not -ndim - 1 <= dim <= ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim - 1}, {ndim}], but got {dim})")
        dim %= ndim + 1
        shape = storage.shape[:dim] + (1,) + storage.shape[dim:]
        if dim > sparse_dim:
            values = storage.values.unsqueeze(dim - sparse_dim + 1)
            return coo(storage.index, values, shape, storage.index.shape[1] < 2)
        index = np.insert(storage.index, dim, 0, axis=0)
        return coo(index, storage.values, shape, index.shape[1] < 2)  # (PyTorch's flag)

    def _coalesced_map(self, function) -> SparseCooTensor:
        # Ops with f(0) = 0 that do not distribute over a sum: repeated positions summed first
        # (as PyTorch's), the result coalesced.
        sparse = SparseCooTensor.coalesce(self)  # (CSR's own coalesce refuses, as PyTorch's)
        storage = sparse._data
        return coo(storage.index, function(storage.values), storage.shape, True)

    def abs(self) -> SparseCooTensor:
        """``|x|`` at the stored positions (coalesced first)."""
        if self._data.dtype.kind == "b":
            raise NotImplementedError('"abs_cpu" not implemented for \'Bool\'')
        return self._coalesced_map(lambda values: values.abs())

    def relu(self) -> SparseCooTensor:
        """``max(x, 0)`` at the stored positions (coalesced first; zeros stay stored)."""
        return self._coalesced_map(lambda values: values.relu())

    def pow(self, exponent) -> SparseCooTensor:
        """``x ** exponent`` for a number ``exponent`` other than 0, at the stored positions
        (coalesced first)."""
        if isinstance(exponent, Tensor):
            raise NotImplementedError("pow of a sparse tensor by a tensor exponent is not "
                                      "supported (as in PyTorch): use a number")
        if exponent == 0:
            raise RuntimeError("pow: cannot raise to zeroth power on sparse tensor; it would "
                               "make the result tensor dense")
        return self._coalesced_map(lambda values: values.pow(exponent))

    __abs__ = abs
    __pow__ = pow

    def div(self, other) -> SparseCooTensor:
        storage, factor = self._data, _factor(other, "div")
        return linear_source(coo(storage.index, storage.values / factor, storage.shape,
                           storage.coalesced), storage, lambda dense: dense / factor)

    def neg(self) -> SparseCooTensor:
        storage = self._data
        return linear_source(coo(storage.index, -storage.values, storage.shape, storage.coalesced),
                       storage, lambda dense: -dense)

    def mul_(self, other) -> SparseCooTensor:
        self._data = self.mul(other)._data
        return self

    def div_(self, other) -> SparseCooTensor:
        self._data = self.div(other)._data
        return self

    def add(self, other, alpha=1) -> SparseCooTensor:
        """The sum of two sparse tensors of one shape: merged when both are coalesced, as
        PyTorch; else the entries concatenated (NOTE: PyTorch merges uncoalesced entry lists
        pairwise in one sequential pass, which can give fewer entries in another order: the
        same tensor, equal after ``coalesce`` or ``to_dense``)."""
        if not isinstance(other, SparseTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        other = _as_coo(other)
        a, b = self._data, other._data
        check_same_layout("add", a, b)
        right = b.values if alpha == 1 else b.values * alpha
        if a.index.shape == b.index.shape and np.array_equal(a.index, b.index):
            out = coo(a.index, a.values + right, a.shape, a.coalesced)
        else:
            out = coo(np.concatenate([a.index, b.index], axis=1), cat([a.values, right], 0),
                      a.shape, False)
            out = out.coalesce() if a.coalesced and b.coalesced else out
        if a.source is None and b.source is None:
            return out
        # (a side without to_sparse's input: its entries densified, their gradient masked)
        da, db = (s.source if s.source is not None else t.to_dense() for s, t in
                  ((a, self), (b, other)))
        return linear_source(out, a if a.source is not None else b,
                       lambda dense: da + (db if alpha == 1 else db * alpha))

    # add_, sub and sub_ are SparseTensor's (through this add).

    def zero_(self) -> SparseCooTensor:
        """Drop every entry (the tensor becomes all zeros, nnz 0)."""
        storage = self._data
        values = _leaf(np.empty((0,) + storage.shape[self.sparse_dim():], storage.dtype))
        values._rg = storage.values._rg and storage.values._op is None
        self._data = CooStorage(np.empty((self.sparse_dim(), 0), np.int64), values,
                                storage.shape, True)
        return self

    __mul__ = __rmul__ = mul
    __truediv__ = div
    __neg__ = neg
    __add__ = add  # (__sub__ is SparseTensor's: sub through this add)

    def __radd__(self, other):
        # dense + sparse: a dense result, differentiable into both.
        if isinstance(other, Tensor) and not isinstance(other, SparseTensor):
            link = dense_link(self, leaf=True)
            return other + (self.to_dense() if link is None else self.detach().to_dense() + link)
        return NotImplemented

    def __rsub__(self, other):
        # dense - sparse: a dense result, as PyTorch's (SparseTensor's __rsub__ refuses).
        if isinstance(other, Tensor) and not isinstance(other, SparseTensor):
            link = dense_link(self, leaf=True)
            return other - (self.to_dense() if link is None else self.detach().to_dense() + link)
        return NotImplemented

    def __matmul__(self, other):
        return sparse_matmul(self, other)

    def __rmatmul__(self, other):
        if isinstance(other, Tensor):
            return sparse_matmul(other, self)
        return NotImplemented

    def matmul(self, other) -> Tensor:
        return sparse_matmul(self, other)

    def mm(self, mat2) -> Tensor:
        return sparse_mm(self, mat2)

    # ------------------------------------------------------------ reductions

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        """The sum of all entries (a 0-d dense tensor), or over ``dim`` as
        ``torch.sparse.sum``; ``keepdim`` keeps the summed dims with size 1 (see
        ``sparse_sum``)."""
        if keepdim and dim is None:
            raise TypeError("sum() received an invalid combination of arguments: keepdim "
                            "needs dim")
        from .sparse_reductions import sparse_sum, summed_dims, whole_sum  # (they build on this)
        every = dim is None or summed_dims(self, dim) == self.ndim
        total = whole_sum(self, dtype) if every else None  # (to_sparse's input / a leaf: whole)
        if total is not None:
            if dim is None:
                return total
            return rename_node(total.reshape((1,) * self.ndim) if keepdim else total,
                               "SumBackward1")
        out = sparse_sum(self, dim, dtype=dtype, keepdim=keepdim)
        storage = self._data
        if isinstance(out, SparseTensor) and storage.values._rg and is_grad_enabled() and (
                storage.source is not None or storage.values._op is None):
            # PyTorch's SumBackward1 expands a sparse gradient and raises; to_sparse's input or
            # a sparse leaf (whose gradients PyTorch would make dense) got the values' masked
            # one, silently. (Values in the graph keep theirs: the sum's own derivative, which
            # PyTorch cannot give; torch.sparse.sum's is PyTorch's: not hooked.)
            out._data.values.register_hook(_refuse_expand)
        return out

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        """The norm of all entries (repeated positions summed first), a 0-d dense tensor."""
        if dim is not None:
            raise NotImplementedError("norm(dim=...) of a sparse tensor: call .to_dense()")
        return SparseCooTensor.coalesce(self)._data.values.norm(2 if p in ("fro", None) else p)

    def __len__(self) -> int:
        return self._data.shape[0]

    def __repr__(self) -> str:
        storage = self._data
        return sparse_repr([("indices", storage.index), ("values", storage.values._data)],
                           storage.shape, storage.index.shape[1], storage.values._data,
                           dtypes.sparse_coo, grad_suffix(self, storage.values._rg), True)


def _refuse_expand(grad):
    raise RuntimeError("expand is unsupported for Sparse tensors")


def _factor(value, name: str):
    """A number or 0-d dense tensor to scale by (a Tensor stays one, so it is differentiable)."""
    if isinstance(value, Tensor) and not isinstance(value, SparseTensor) and value.ndim == 0:
        return value
    if isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    raise NotImplementedError(f"{name}: a sparse tensor can be scaled by a number or a 0-d "
                              f"tensor only, got {type(value).__name__}")


def _as_coo(tensor: SparseTensor) -> SparseCooTensor:
    """A row-sparse gradient (``SparseTensor`` over ``RowSparseGrad``) as a COO tensor."""
    if isinstance(tensor, SparseCooTensor):
        return tensor
    storage = tensor._data
    return coo(storage.indices.reshape(1, -1), _leaf(storage.values), storage.shape,
               storage._coalesced)


# ---------------------------------------------------------------------------- products


def spmm(input, mat2) -> Tensor:
    """``torch.spmm``: the product of a sparse (or dense) matrix and a dense one, dense."""
    if isinstance(input, SparseTensor):
        return sparse_matmul(input, mat2)
    return input.mm(mat2)


def dsmm(input, mat2) -> Tensor:
    """``torch.dsmm``: ``spmm`` under its older name (a sparse or dense matrix times a dense one,
    dense; linear_operator's ``bdsmm`` calls it for 2-d sparse interpolation matrices)."""
    return spmm(input, mat2)


def smm(input, mat2) -> SparseCooTensor:
    """``torch.smm``: sparse @ dense as a sparse tensor holding every column of each row that
    has an entry in ``input``; recorded without a derivative, as PyTorch's (it requires grad
    where an input does and its backward raises; was a leaf that did not, s29 BR19)."""
    for position, (name, value) in enumerate((("input", input), ("mat2", mat2)), 1):
        if not isinstance(value, Tensor):  # (PyTorch's parser: before the layout check)
            raise TypeError(f"smm(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")
    if not isinstance(input, SparseTensor):
        raise RuntimeError("smm: expected a sparse COO 'self'")
    if str(input.layout).rsplit(".", 1)[-1] in ("sparse_csr", "sparse_csc", "sparse_bsr",
                                                "sparse_bsc"):  # (PyTorch's smm of a
        # compressed tensor fails making its result, whatever the shapes: SL8's soak, s31)
        raise RuntimeError("torch.empty: Only batched sparse compressed (non-block) tensors "
                           "are supported, but got size [0]")
    sparse = _as_coo(input)
    product = sparse_mm(sparse, mat2, name="smm").detach()
    rows = np.unique(sparse._data.index[0])
    columns = product.shape[1]
    index = np.stack([np.repeat(rows, columns), np.tile(np.arange(columns), rows.size)])
    values = recorded_step(product._data[rows].reshape(-1), (sparse._data.values, mat2),
                           "NotImplemented", RuntimeError,
                           "derivative for aten::sspaddmm is not implemented")
    return coo(index, values, product.shape, False)  # (PyTorch's flag, positions distinct)


# ---------------------------------------------------------------------------- dense side


@tensor_method
def to_sparse(input, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The nonzero entries of a dense tensor as a coalesced sparse COO tensor (the first
    ``sparse_dim`` dims sparse, default all); differentiable into ``input``."""
    if layout is not None and layout != dtypes.sparse_coo:
        raise NotImplementedError(f"to_sparse(layout={layout}) is not supported")
    if blocksize is not None:
        raise NotImplementedError("to_sparse(blocksize=...) is not supported")
    ndim, name = input.ndim, f"ToSparseBackward{int(sparse_dim is None)}"  # (the overload's)
    sparse_dim = ndim - dense_dim if dense_dim is not None else sparse_dim
    # (a bool, float or bool tensor sparse_dim is PyTorch's TypeError, not an int)
    sparse_dim = ndim if sparse_dim is None else int_arg(sparse_dim, "sparse_dim", "to_sparse")
    if not 0 < sparse_dim <= ndim:
        if ndim == 0 or sparse_dim == 0:
            raise NotImplementedError("to_sparse with sparse_dim 0 is not supported")
        raise RuntimeError(f"sparse_dim must be in [0, {ndim}], got {sparse_dim}")
    if input._data.dtype.kind == "c" and input._rg and is_grad_enabled():  # (PyTorch's refusal)
        raise RuntimeError("_to_sparse does not support automatic differentiation for outputs "
                           "with complex dtype.")
    mask = input._data != 0
    if sparse_dim < ndim:
        mask = mask.any(axis=tuple(range(sparse_dim, ndim)))
    position = mask.nonzero()
    index = np.stack(position).astype(np.int64) if position else np.empty((0, 0), np.int64)
    values = rename_node(input[tuple(_leaf(p.astype(np.int64)) for p in position)], name)
    out = coo(index, values, tuple(input.shape), True)
    out._data.source = input if values._rg else None
    return out


@tensor_method
def to_dense(input, dtype=None, *, masked_grad=None) -> Tensor:
    """A dense tensor's ``to_dense`` is itself (converted to ``dtype`` if given).

    ``dtype`` is a ``deltagrad.dtype`` or Python's ``float`` / ``int`` / ``bool`` / ``complex``
    as PyTorch's parser takes (NumPy dtypes too, as deltagrad's ``to``); anything else, and a
    ``masked_grad`` that is not a bool, is PyTorch's TypeError.
    """
    if masked_grad is not None and type(masked_grad) is not bool:
        raise TypeError(f"to_dense(): argument 'masked_grad' must be bool, not "
                        f"{type(masked_grad).__name__}")
    if dtype is None:
        return input
    if not (isinstance(dtype, (dtypes.dtype, np.dtype)) or (isinstance(dtype, type) and (
            dtype in (float, int, bool, complex) or issubclass(dtype, np.generic)))):
        raise TypeError(f"to_dense(): argument 'dtype' (position 1) must be torch.dtype, not "
                        f"{type(dtype).__name__}")
    return input.to(dtype)


# The products live in api/sparse_products.py, which builds on this module (so they are
# imported on use: the module graph stays acyclic).


def sparse_mm(sparse, dense, *, name: str = "mm") -> Tensor:
    """``sparse @ dense`` (2-d sparse COO and dense): see ``sparse_products.sparse_mm``."""
    from .sparse_products import sparse_mm as product

    return product(sparse, dense, name=name)


def sparse_matmul(input, other) -> Tensor:
    """``input @ other`` with a sparse operand (the hook of ``matmul``): see
    ``sparse_products.sparse_matmul``."""
    from .sparse_products import sparse_matmul as product

    return product(input, other)
