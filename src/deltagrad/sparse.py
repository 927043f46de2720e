"""``torch.sparse``: products, sums and softmaxes of sparse COO tensors.

The tensors themselves (``deltagrad.sparse_coo_tensor``, ``Tensor.to_sparse``) live in the
engine (``_engine/api/sparse_coo.py``); this module is PyTorch's namespace of functions on them.
"""

from __future__ import annotations

import numpy as np

from ._engine.api.sparse import SparseTensor
from ._engine.api.sparse_coo import SparseCooTensor, coo, sparse_matmul, sparse_mm
from ._engine.api.sparse_csr import SparseCsrTensor, _csr
from ._engine.api.sparse_reductions import sparse_softmax
from ._engine.api.sparse_reductions import sparse_sum as _sparse_sum
from ._engine.api.sparse_spdiags import spdiags
from ._engine.node_names import rename_node
from ._engine.ops import OPS
from ._engine.tensor import Tensor, apply
from ._sparse_gradcheck import as_sparse_gradcheck

__all__ = ["addmm", "as_sparse_gradcheck", "check_sparse_tensor_invariants", "log_softmax", "mm",
           "sampled_addmm", "softmax", "spdiags", "spsolve", "sum"]


def mm(mat1, mat2, reduce=None) -> Tensor:
    """``mat1 @ mat2`` for a sparse COO ``mat1`` and a dense ``mat2``: a dense result whose
    gradient reaches ``mat2`` and, as a sparse gradient on ``mat1``'s pattern, ``mat1``.

    >>> import deltagrad as dg
    >>> adj = dg.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2))
    >>> dg.sparse.mm(adj, dg.tensor([[1.0], [10.0]]))
    tensor([[20.],
            [ 3.]])
    """
    if reduce is not None:
        return _mm_reduce(mat1, mat2, reduce)
    if not isinstance(mat1, SparseTensor):
        if isinstance(mat2, SparseTensor):
            return sparse_matmul(mat1, mat2)
        return mat1.mm(mat2)
    out = sparse_mm(mat1, mat2, name="torch.sparse.mm")
    # (PyTorch's node for a sparse @ dense torch.sparse.mm, COO or CSR)
    return out if isinstance(out, SparseTensor) else rename_node(out, "SparseAddmmBackward0")


_REDUCES = ("sum", "mean", "amax", "amin", "max", "min")


def _mm_reduce(mat1, mat2, reduce: str) -> Tensor:
    """``torch.sparse.mm(csr, dense, reduce)``: row ``i`` of the result reduces
    ``mat1[i, k] * mat2[k]`` over the entries ``k`` row ``i`` stores (an empty row gives 0);
    amax / amin pass their gradient to the first extreme entry, as PyTorch's kernel. The
    gradient reaches ``mat2`` (into a CSR ``mat1`` that requires grad it raises)."""
    if not isinstance(mat1, SparseCsrTensor):
        raise NotImplementedError("Could not run 'aten::_sparse_mm_reduce_impl' with arguments "
                                  "from the 'SparseCPU' backend (reduce takes a sparse CSR mat1)")
    if reduce not in _REDUCES:
        if reduce == "prod":
            raise RuntimeError("sparse_mm_reduce: reduce type of prod has not been enabled.")
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if mat1.requires_grad:
        raise NotImplementedError("torch.sparse.mm(..., reduce): deltagrad computes no gradient "
                                  "into the sparse CSR mat1; detach it")
    if not isinstance(mat2, Tensor) or isinstance(mat2, SparseTensor) or mat2.ndim != 2:
        raise RuntimeError("torch.sparse.mm(..., reduce): expected a 2-d dense mat2")
    m, k = mat1.shape
    if mat2.shape[0] != k:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    crow = mat1.crow_indices()._data.astype(np.int64)
    rows = np.repeat(np.arange(m), np.diff(crow))
    cols = mat1.col_indices()._data.astype(np.int64)
    products = mat1.values().detach().unsqueeze(1) * mat2[cols]  # [nnz, n]
    n, nnz = mat2.shape[1], rows.size
    if reduce in ("sum", "mean"):
        out = products.new_zeros((m, n)).index_add(0, _index(rows), products)
        if reduce == "mean":
            out = out / _index(np.maximum(np.diff(crow), 1)).to(out.dtype).unsqueeze(1)
    else:
        values = products.detach()._data
        first = np.full((m, n), nnz, dtype=np.int64)
        if nnz:
            ufunc = np.maximum if reduce in ("amax", "max") else np.minimum
            best = np.full((m, n), values[0, 0] if values.size else 0, dtype=values.dtype)
            best[rows] = values  # (a start each row holds; then the row's extreme)
            ufunc.at(best, rows, values)
            hit = values == best[rows]
            entry = np.where(hit, np.arange(nnz)[:, None], nnz)
            np.minimum.at(first, rows, entry)
        empty = first == nnz
        pick = _index(np.where(empty, 0, first))
        padded = products if nnz else products.new_zeros((1, n))
        out = padded.gather(0, pick).masked_fill(_index(empty), 0)
    return rename_node(out, "SparseMmReduceImplBackward0")


def _index(array) -> Tensor:
    from ._engine.api.creation import tensor

    return tensor(array)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` for a sparse ``mat1`` (dense ``mat`` and
    ``mat2``); ``mat`` is ignored when ``beta`` is 0."""
    product = mm(mat1, mat2)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return (mat if beta == 1 else mat * beta) + product


def sampled_addmm(input, mat1, mat2, *, beta=1.0, alpha=1.0) -> SparseCsrTensor:
    """``beta * input + alpha * (mat1 @ mat2)`` computed only at the positions ``input`` (a 2-d
    sparse CSR tensor) stores: a CSR tensor of ``input``'s pattern, differentiable into
    ``mat1``, ``mat2`` and ``input``'s values.

    Args:
        input: sparse CSR [m, n]; its pattern is where the product is read.
        mat1: dense [m, k]; mat2: dense [k, n], of ``input``'s dtype.

    >>> import deltagrad as dg
    >>> pattern = dg.sparse_csr_tensor([0, 1, 2], [1, 0], [0.0, 0.0], (2, 2))
    >>> dg.sparse.sampled_addmm(pattern, dg.eye(2), dg.tensor([[1.0, 2.0], [3.0, 4.0]])).values()
    tensor([2., 3.])
    """
    if not isinstance(input, SparseCsrTensor):
        raise NotImplementedError("sampled_addmm: expected a sparse CSR 'input' (the only "
                                  "layout PyTorch's CPU kernel takes)")
    for name, mat in (("mat1", mat1), ("mat2", mat2)):
        if not isinstance(mat, Tensor) or isinstance(mat, SparseTensor) or mat.ndim != 2:
            raise RuntimeError(f"sampled_addmm: expected {name} to be a 2-d dense tensor")
    storage = input._data
    m, n = storage.shape
    if mat1.shape[0] != m or mat2.shape[1] != n or mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"sampled_addmm: input {list(storage.shape)}, mat1 "
                           f"{list(mat1.shape)} and mat2 {list(mat2.shape)} do not match")
    if not storage.dtype == mat1._data.dtype == mat2._data.dtype:
        raise RuntimeError(f"sampled_addmm: expected input, mat1 and mat2 of one dtype, got "
                           f"{input.dtype}, {mat1.dtype} and {mat2.dtype}")
    values = apply(OPS["sparse_sampled"], mat1, mat2.t(), pattern=storage.pattern())
    if alpha != 1:
        values = values * alpha
    # (beta = 0 still multiplies: PyTorch's result carries the input's nan there)
    values = values + (storage.values if beta == 1 else storage.values * beta)
    return _csr(coo(storage.index, values, storage.shape, True))


def spsolve(input, other, *, left: bool = True) -> Tensor:
    """``torch.sparse.spsolve``: PyTorch's CPU build has no kernel for it (a CUDA cuDSS
    solver), so it raises as there, whatever the layout; ``torch.linalg.solve(A.to_dense(),
    B)`` solves the same system here."""
    backend = ("SparseCPU" if getattr(input, "is_sparse", False) else
               "SparseCsrCPU" if getattr(input, "layout", None) is not None
               and input.layout.name.startswith("sparse_") else "CPU")
    raise NotImplementedError(f"Could not run 'aten::_spsolve' with arguments from the "
                              f"'{backend}' backend")


def sum(input, dim=None, dtype=None):  # noqa: A001 - PyTorch's name
    """The sum of a sparse tensor's entries: all of them (a 0-d dense tensor), or over ``dim``
    (a dense tensor when every sparse dim is summed, else a coalesced sparse tensor)."""
    return _sparse_sum(input, dim, dtype=dtype)


_KERNEL_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "int64": "Long", "int32": "Int",
                 "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                 "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def _softmax_kernel(name: str, input, dtype) -> None:
    # PyTorch's sparse (log-)softmax kernels exist for float32 / float64 only (the result's
    # dtype: ``dtype`` or the input's): NotImplementedError otherwise (deltagrad computed a
    # float16 result; the others raised RuntimeError)
    target = str(dtype if dtype is not None else getattr(input, "dtype", "")).rsplit(".", 1)[-1]
    if target in _KERNEL_NAMES:
        raise NotImplementedError(f'"{name}" not implemented for \'{_KERNEL_NAMES[target]}\'')


def softmax(input, dim: int, dtype=None) -> SparseCooTensor:
    """Softmax over ``dim`` among the stored entries (unstored ones count as -inf)."""
    _softmax_kernel("softmax", input, dtype)
    return sparse_softmax(input, dim, dtype)


def log_softmax(input, dim: int, dtype=None) -> SparseCooTensor:
    """Log-softmax over ``dim`` among the stored entries (unstored ones count as -inf)."""
    _softmax_kernel("log_softmax", input, dtype)
    return sparse_softmax(input, dim, dtype, log=True)


class check_sparse_tensor_invariants:  # noqa: N801 - PyTorch's name
    """PyTorch's switch of sparse index checks: deltagrad always checks the index range when a
    sparse tensor is built, so enabling or disabling it changes nothing."""

    def __init__(self, enable: bool = True):
        self._enable = enable

    @staticmethod
    def _set() -> None:
        # The program chose: PyTorch's "implicitly disabled" warning no longer applies.
        from ._engine.api.sparse_checks import EXPLICIT

        EXPLICIT[0] = True

    @staticmethod
    def is_enabled() -> bool:
        return True

    @staticmethod
    def enable() -> None:
        """Index checks are always on in deltagrad."""
        check_sparse_tensor_invariants._set()

    @staticmethod
    def disable() -> None:
        """Index checks cannot be turned off in deltagrad (a bad index is never silent)."""
        check_sparse_tensor_invariants._set()

    def __enter__(self):
        self._set()
        return self

    def __exit__(self, *exc) -> None:
        return None


class _LegacySparseType(type):
    """``isinstance(x, torch.sparse.FloatTensor)``: a sparse COO tensor of that dtype."""

    def __instancecheck__(cls, value) -> bool:
        from ._engine import dtypes

        return isinstance(value, SparseCooTensor) and value.dtype == getattr(dtypes, cls._dtype)


def _legacy_type(name: str, dtype: str):
    def construct(cls, indices, values, size=None):
        # PyTorch's legacy constructor ``torch.sparse.FloatTensor(indices, values, size)``
        # (linear_operator's interpolation matrices are made with it); as PyTorch 2.13's, it
        # keeps the values' dtype.
        from ._engine.api.sparse_coo import sparse_coo_tensor
        from ._engine.errors import warn_once

        # PyTorch's deprecation, once per process for each form (session 29, PR21)
        shape = "" if size is None else " shape,"
        warn_once(f"sparse_legacy_constructor{shape}",
                  f"torch.sparse.SparseTensor(indices, values,{shape} *, device=) is "
                  f"deprecated.  Please use torch.sparse_coo_tensor(indices, values,{shape} "
                  f"dtype=, device=).")
        return sparse_coo_tensor(indices, values, size, check_invariants=False)  # (no warning)

    return _LegacySparseType(name, (), {"__new__": construct, "_dtype": dtype,
                                        "__module__": __name__})


FloatTensor = _legacy_type("FloatTensor", "float32")
DoubleTensor = _legacy_type("DoubleTensor", "float64")
LongTensor = _legacy_type("LongTensor", "int64")
# (the rest of PyTorch's legacy sparse types, BN3)
BFloat16Tensor = _legacy_type("BFloat16Tensor", "bfloat16")
ByteTensor = _legacy_type("ByteTensor", "uint8")
CharTensor = _legacy_type("CharTensor", "int8")
HalfTensor = _legacy_type("HalfTensor", "float16")
IntTensor = _legacy_type("IntTensor", "int32")
ShortTensor = _legacy_type("ShortTensor", "int16")
