"""Sparse gradients as Tensors: what ``.grad`` of an ``Embedding(sparse=True)`` weight is.

A ``SparseTensor`` is a Tensor (``is_sparse`` true, layout ``sparse_coo``) whose storage, the
``_data`` slot, is the engine's ``RowSparseGrad`` (row indices and their rows) instead of an
ndarray. Users get PyTorch's sparse COO interface (``to_dense``, ``coalesce``, ``_indices`` /
``_values``, ``indices`` / ``values``, ``_nnz``, scalar ``*`` and ``/``, ``+`` of two sparse
gradients, ``norm``); optimizers and gradient clipping work on the storage directly, touching
only the rows. Dense-only methods raise ``NotImplementedError`` naming ``to_dense``. General COO
tensors (``sparse_coo_tensor``, ``to_sparse``) are the subclass ``SparseCooTensor``
(api/sparse_coo.py): one layout, one set of refusals.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes
from ..sparse import RowSparseGrad
from ..tensor import Tensor, _leaf
from .sparse_repr import sparse_repr

__all__: list = []  # nothing public here: sparse gradients come from backward (general COO
# tensors, sparse_coo_tensor and to_sparse, are api/sparse_coo.py's)

# What a sparse gradient supports (beyond the attributes every Tensor has); any other Tensor
# method raises NotImplementedError. PyTorch's sparse tensors support more, densely useless ops.
_SUPPORTED = frozenset({
    "to_dense", "coalesce", "is_coalesced", "indices", "values", "_indices", "_values", "_nnz",
    "sparse_dim", "dense_dim", "mul", "mul_", "div", "div_", "neg", "add", "add_", "sub",
    "sub_", "zero_", "clone", "detach", "detach_", "data", "norm", "sum", "to", "type", "cpu",
    "cuda", "float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte",
    "bool", "size", "dim", "ndimension", "numel", "nelement", "element_size",
    "is_floating_point", "is_complex",
    "is_signed", "requires_grad", "requires_grad_", "is_leaf", "grad", "grad_fn", "shape",
    "dtype", "ndim", "device", "is_cuda", "is_cpu", "is_sparse", "layout", "numpy", "item",
    "tolist", "register_hook", "retain_grad", "to_sparse_csr",
})


# The Tensor methods each sparse class refuses, listed on its first use (see __getattribute__),
# once every api module has attached its methods: those it neither supports nor defines.
_REFUSED: dict = {}


def _refused(cls) -> frozenset:
    own = set().union(*(vars(c) for c in cls.__mro__[:cls.__mro__.index(Tensor)]))
    names = frozenset(n for n in dir(Tensor)
                      if not n.startswith("_") and n not in _SUPPORTED and n not in own
                      and callable(getattr(Tensor, n, None)))
    _REFUSED[cls] = names
    return names


class SparseTensor(Tensor):
    """A sparse COO tensor: built by ``sparse_tensor`` from a ``RowSparseGrad`` (a sparse
    gradient), or, as the subclass ``SparseCooTensor`` (api/sparse_coo.py), by
    ``sparse_coo_tensor`` and ``to_sparse``."""

    __slots__ = ()

    def __getattribute__(self, name: str):
        refused = _REFUSED.get(type(self))
        if refused is None:
            refused = _refused(type(self))
        if name in refused:
            raise NotImplementedError(
                f"{name}() is not supported on a sparse tensor (layout sparse_coo, shape "
                f"{object.__getattribute__(self, '_data').shape}); call .to_dense() first")
        return object.__getattribute__(self, name)

    # ------------------------------------------------------------ what a sparse tensor is

    @property
    def is_sparse(self) -> bool:
        return True

    @property
    def layout(self) -> dtypes.layout:
        return dtypes.sparse_coo

    @property
    def data(self) -> SparseTensor:
        return sparse_tensor(self._data)

    def numel(self) -> int:
        return math.prod(self._data.shape)

    def nelement(self) -> int:  # (Tensor's reads the storage's size, which rows do not keep)
        return self.numel()

    def element_size(self) -> int:
        return self._data.values.itemsize

    def is_coalesced(self) -> bool:
        """Whether each row appears once, sorted (``coalesce`` makes it so)."""
        return self._data._coalesced

    def _nnz(self) -> int:
        """The number of stored rows (repeats included until coalesced)."""
        return int(self._data.indices.shape[0])

    def sparse_dim(self) -> int:
        return 1

    def dense_dim(self) -> int:
        return len(self._data.shape) - 1

    def _indices(self) -> Tensor:
        """The stored row numbers as a [1, nnz] int64 tensor (repeats included)."""
        return _leaf(self._data.indices.reshape(1, -1))

    def _values(self) -> Tensor:
        """The stored rows, [nnz, *row_shape] (sharing memory)."""
        return _leaf(self._data.values)

    def indices(self) -> Tensor:
        """``_indices()`` of a coalesced tensor (PyTorch refuses uncoalesced ones)."""
        self._require_coalesced("indices")
        return self._indices()

    def values(self) -> Tensor:
        """``_values()`` of a coalesced tensor (PyTorch refuses uncoalesced ones)."""
        self._require_coalesced("values")
        return self._values()

    def _require_coalesced(self, name: str) -> None:
        if not self._data._coalesced:
            raise RuntimeError(f"Cannot get {name} on an uncoalesced tensor, please call "
                               ".coalesce() first")

    def to_dense(self, dtype=None) -> Tensor:
        """The dense gradient (a new array; repeated rows summed)."""
        dense = _leaf(self._data.to_dense())
        return dense if dtype is None else dense.to(dtype)

    def coalesce(self) -> SparseTensor:
        """Repeated rows summed, rows sorted (this tensor if it already is so)."""
        merged = self._data.coalesce()
        return self if merged is self._data else sparse_tensor(merged)

    # ------------------------------------------------------------ arithmetic with scalars

    def mul(self, other) -> SparseTensor:
        return sparse_tensor(self._data * _scalar(other, "mul"))

    def mul_(self, other) -> SparseTensor:
        storage = self._data
        factor = _scalar(other, "mul_")
        if storage.values.flags.writeable:
            np.multiply(storage.values, factor, out=storage.values, casting="unsafe")
        else:
            storage.values = (storage.values * factor).astype(storage.values.dtype)
        return self

    def div(self, other) -> SparseTensor:
        return self.mul(1.0 / _scalar(other, "div"))

    def div_(self, other) -> SparseTensor:
        return self.mul_(1.0 / _scalar(other, "div_"))

    def neg(self) -> SparseTensor:
        return sparse_tensor(-self._data)

    def add(self, other, alpha=1) -> SparseTensor:
        if not isinstance(other, SparseTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        if type(other) is not SparseTensor:  # a general COO tensor (api/sparse_coo.py)
            return (other if alpha == 1 else other * alpha).add(self)
        return sparse_tensor(self._data + (other._data if alpha == 1 else other._data * alpha))

    def add_(self, other, alpha=1) -> SparseTensor:
        self._data = self.add(other, alpha)._data
        return self

    def sub(self, other, alpha=1) -> SparseTensor:
        return self.add(other, -alpha)

    def sub_(self, other, alpha=1) -> SparseTensor:
        return self.add_(other, -alpha)

    def zero_(self) -> SparseTensor:
        """Drop every row (the tensor becomes all zeros, nnz 0)."""
        storage = self._data
        values = np.empty((0,) + tuple(storage.shape[1:]), dtype=storage.values.dtype)
        self._data = RowSparseGrad(np.empty(0, dtype=np.int64), values, storage.shape,
                                   coalesced=True)
        return self

    __mul__ = __rmul__ = mul
    __truediv__ = div
    __neg__ = neg
    __add__ = add
    __sub__ = sub
    # S += T etc. in place, as PyTorch's add_ (Tensor's dense in-place path got the storage);
    # through the methods so that the COO subclass's own mul_ / div_ serve.
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __radd__(self, other):
        # dense + sparse: a dense result (``ndarray + RowSparseGrad`` adds the rows).
        if isinstance(other, Tensor):
            return _leaf(other._data + self._data)
        return NotImplemented

    # ------------------------------------------------------------ reductions, copies, dtypes

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        """The norm of all entries (repeated rows summed first), a 0-d dense tensor."""
        if dim is not None:
            raise NotImplementedError("norm(dim=...) of a sparse gradient: call .to_dense()")
        values = self._data.coalesce().values.reshape(-1)
        order = 2 if p in ("fro", None) else p
        norm = np.linalg.norm(values, ord=order) if values.size else 0.0
        return _leaf(np.asarray(norm, dtype=values.dtype))

    def sum(self, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        if dim is not None:
            raise NotImplementedError("sum(dim=...) of a sparse gradient: call .to_dense()")
        return _leaf(np.asarray(self._data.values.sum(), dtype=self._data.values.dtype))

    def clone(self, memory_format=None) -> SparseTensor:
        return sparse_tensor(self._data.copy())

    def detach(self) -> SparseTensor:
        return sparse_tensor(self._data)

    def cast(self, numpy_dtype) -> SparseTensor:
        """This tensor's rows in another dtype (``to`` and ``float()`` & co. come here)."""
        if numpy_dtype == self._data.dtype:
            return self
        return sparse_tensor(self._data.astype(numpy_dtype))

    def numpy(self, force: bool = False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def item(self):
        raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to "
                           "Scalar")

    def tolist(self):
        raise RuntimeError("tolist() of a sparse tensor: call .to_dense() first")

    def __getitem__(self, index):
        return self.to_dense()[index]

    def __len__(self) -> int:
        return self._data.shape[0]

    def __repr__(self) -> str:
        storage = self._data
        return sparse_repr([("indices", storage.indices.reshape(1, -1)),
                            ("values", storage.values)], storage.shape,
                           storage.indices.shape[0], storage.values, dtypes.sparse_coo, None,
                           True)


def _dense_only_operator(name: str):
    def refuse(self, *args):
        raise NotImplementedError(f"{name} is not supported on a sparse tensor; call "
                                  ".to_dense() first")

    return refuse


for _name in ("__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__rsub__", "__rtruediv__",
              "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__abs__",
              "__invert__", "__and__", "__or__", "__xor__", "__iter__", "__float__", "__int__",
              "__bool__", "__index__"):
    setattr(SparseTensor, _name, _dense_only_operator(_name.strip("_")))
SparseTensor.__hash__ = Tensor.__hash__


def _scalar(value, name: str):
    if isinstance(value, Tensor) and not isinstance(value, SparseTensor) and value.ndim == 0:
        return value._data[()]
    if isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    raise NotImplementedError(f"{name}: a sparse gradient can be scaled by a number only, got "
                              f"{type(value).__name__}")


_EMPTY = np.empty(0)


def sparse_tensor(storage: RowSparseGrad) -> SparseTensor:
    """A leaf ``SparseTensor`` over ``storage`` (shared, not copied)."""
    out = _leaf(_EMPTY)  # every slot set as for any leaf, whatever slots Tensor gains
    out.__class__ = SparseTensor  # (the same slots: SparseTensor adds none)
    out._data = storage
    return out


def gradient_leaf(g) -> Tensor:
    """What ``.grad`` holds for an engine gradient: a Tensor over an ndarray, or a
    ``SparseTensor`` over a ``RowSparseGrad``."""
    if type(g) is RowSparseGrad:
        return sparse_tensor(g)
    return _leaf(g)

