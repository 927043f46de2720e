"""LU decompositions under PyTorch's names: ``linalg.lu_factor``, ``lu_factor_ex``, ``lu``,
``lu_solve`` and the older ``deltagrad.lu``, ``lu_solve``, ``lu_unpack`` (Tensor methods too).

The factorization is LAPACK's getrf (partial pivoting, ``A = P L U``), computed by deltagrad
itself since NumPy does not offer it: the same pivots as LAPACK's wherever no two candidates
tie to rounding, the same factors up to rounding.
"""

from __future__ import annotations

import numpy as np

from ..errors import warn_once
from ..ops import OPS
from ..ops.linalg_solve import layout, permutation_matrices
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import bool_arg, parts, return_type, tensor_arg
from ._pointwise import torch_name
from .decompositions import empty_of, matrices, no_out
from .linalg import matmul
from .linalg_solve import solve_triangular
from .rearrange import tril, triu

__all__ = ["lu", "lu_solve", "lu_unpack"]

_LU_FACTOR = OPS["linalg_lu_factor"]

LUFactorResult = return_type("linalg_lu_factor", "LU pivots")
LUFactorExResult = return_type("linalg_lu_factor_ex", "LU pivots info")
LUResult = return_type("linalg_lu", "P L U")
LUUnpackResult = return_type("lu_unpack", "P L U")


def _zero_pivot(name: str, info: np.ndarray) -> str:
    flat = info.reshape(-1)
    index = int(np.flatnonzero(flat)[0])
    batch = f"(Batch element {index}): " if info.ndim else ""
    j = int(flat[index])
    return (f"{name}: {batch}U[{j},{j}] is zero and using it on lu_solve would result in a "
            "division by zero. If you still want to perform the factorization, consider calling "
            "linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def _factor(A, pivot: bool, name: str) -> tuple[Tensor, Tensor, np.ndarray]:
    """``(LU, pivots, info)``: the op's ``LU`` (in the graph), the int32 pivots (a leaf) and
    ``info`` as an array, or None where every ``U`` has a nonzero diagonal."""
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    A = matrices(A, name, kernel="lu_cpu")
    m, n = A._data.shape[-2:]
    k = min(m, n)
    packed = apply(_LU_FACTOR, A)
    index_lu, index_pivots = layout(((m, n), (k,)))[2]
    (factors,) = parts(packed, (index_lu,), "F")  # (LAPACK's column-major, as PyTorch's)
    pivots = _leaf(packed._data[index_pivots].astype(np.int32))  # (no gradient: no graph op)
    diagonal = factors._data.diagonal(0, -2, -1)
    if diagonal.all():  # (the common case: no zero on U's diagonal)
        return factors, pivots, None
    zero = diagonal == 0
    info = np.where(zero.any(axis=-1), np.argmax(zero, axis=-1) + 1, 0).astype(np.int32)
    return factors, pivots, info


def lu_factor_ex(A, *, pivot: bool = True, check_errors: bool = False,
                 out=None) -> tuple[Tensor, Tensor, Tensor]:
    """``(LU, pivots, info)``: the LU factorization with partial pivoting, ``A = P L U``.

    Args:
        A: ``[*, m, n]`` float32 or float64.
        pivot: must be True (PyTorch has no unpivoted LU on the CPU either).
        check_errors: raise if a ``U`` has a zero on its diagonal.

    Returns:
        A named tuple: ``LU [*, m, n]`` (``L``'s strict lower part, its unit diagonal implicit,
        and ``U``), ``pivots`` (int32 ``[*, min(m, n)]``, 1-based: row i was swapped with row
        ``pivots[i]``) and ``info`` (int32 ``[*]``: the first j, 1-based, with ``U[j-1, j-1]
        == 0``, else 0). ``LU`` is differentiable (exact where ``A``'s leading blocks are
        invertible).
    """
    no_out(out, "linalg.lu_factor_ex")
    factors, pivots, info = _factor(A, pivot, "torch.linalg.lu_factor_ex")
    if info is None:
        info = np.zeros(factors._data.shape[:-2], dtype=np.int32)
    elif check_errors and info.any():
        raise RuntimeError(_zero_pivot("torch.linalg.lu_factor_ex", info))
    return LUFactorExResult(factors, pivots, _leaf(info))


def lu_factor(A, *, pivot: bool = True, out=None) -> tuple[Tensor, Tensor]:
    """``(LU, pivots)``: ``lu_factor_ex``, raising if a ``U`` has a zero on its diagonal (it
    could not be used to solve), as PyTorch's.

    >>> import deltagrad as dg
    >>> dg.linalg.lu_factor(dg.tensor([[1.0, 2.0], [3.0, 4.0]])).pivots
    tensor([2, 2], dtype=deltagrad.int32)
    """
    no_out(out, "linalg.lu_factor")
    factors, pivots, info = _factor(A, pivot, "torch.linalg.lu_factor_ex")
    if info is not None and info.any():
        raise RuntimeError(_zero_pivot("torch.linalg.lu_factor", info))
    return LUFactorResult(factors, pivots)


def _pivots(pivots, factors: Tensor, name: str) -> np.ndarray:
    pivots = tensor_arg(pivots, "pivots", name)
    if pivots._data.dtype != np.int32:
        raise RuntimeError(f"{name}: LU_pivots is expected to be a tensor of torch.int32 "
                           f"dtype, got {pivots.dtype}")
    k = min(factors.shape[-2:])
    if pivots.ndim < 1 or pivots.shape[-1] != k:
        raise RuntimeError(f"{name}: LU_pivots.size(-1) must be equal to min(LU_data.size(-2), "
                           f"LU_data.size(-1)) = {k}, got shape {tuple(pivots.shape)}")
    values = pivots._data
    rows = factors.shape[-2]
    if values.size and (values.min() < 1 or values.max() > rows):
        raise RuntimeError(f"{name}: pivots must be in the range [1, {rows}]")
    return values


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True, *,  # noqa: N803
              out=None) -> tuple[Tensor, Tensor, Tensor]:
    """``(P, L, U)`` from ``lu_factor``'s ``(LU, pivots)``, with ``A = P L U``.

    Args:
        LU_data: ``[*, m, n]``.
        LU_pivots: int32 ``[*, min(m, n)]``.
        unpack_data: compute ``L [*, m, k]`` and ``U [*, k, n]`` (else they are empty).
        unpack_pivots: compute ``P [*, m, m]`` (else it is empty).

    Returns:
        A named tuple ``(P, L, U)``; ``L`` and ``U`` are differentiable in ``LU_data``.
    """
    no_out(out, "lu_unpack")
    tensor_arg(LU_pivots, "LU_pivots", "lu_unpack")  # (PyTorch's parser, before the dtypes)
    bool_arg(unpack_data, "unpack_data", "lu_unpack")
    bool_arg(unpack_pivots, "unpack_pivots", "lu_unpack")
    factors = matrices(LU_data, "torch.lu_unpack")
    m, n = factors.shape[-2:]
    k, dtype = min(m, n), factors._data.dtype
    lower = upper = empty_of(factors)  # (in the graph, as PyTorch's empty results)
    permutation = _leaf(np.empty((0,), dtype=dtype))
    if unpack_data:
        lower = tril(factors, -1)[..., :, :k] + _leaf(np.eye(m, k, dtype=dtype))
        upper = triu(factors[..., :k, :])  # (a new row-major array, as PyTorch's U)
    if unpack_pivots:
        pivots = _pivots(LU_pivots, factors, "torch.lu_unpack")
        permutation = _leaf(permutation_matrices(pivots, m, dtype))
    return LUUnpackResult(permutation, lower, upper)


def linalg_lu(A, *, pivot: bool = True, out=None) -> tuple[Tensor, Tensor, Tensor]:
    """``(P, L, U)`` with ``A = P L U``: ``P [*, m, m]`` a permutation, ``L [*, m, k]`` unit
    lower triangular, ``U [*, k, n]`` upper triangular (k = min(m, n)); ``L`` and ``U`` are
    differentiable."""
    no_out(out, "linalg.lu")
    factors, pivots, _ = lu_factor_ex(A, pivot=pivot)
    return LUResult(*lu_unpack(factors, pivots))


_LU_DEPRECATED = (
    "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
    "will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\n"
    "should be replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n"
    "LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\n"
    "LU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)")


@tensor_method
def lu(input, pivot: bool = True, get_infos: bool = False, out=None) -> tuple:
    """``torch.lu`` (deprecated there for ``linalg.lu_factor``): ``(LU, pivots)``, and
    ``info`` too when ``get_infos``; a singular matrix does not raise."""
    no_out(out, "lu")
    warn_once("lu", _LU_DEPRECATED)
    get_infos = bool(get_infos)  # (read first, any truth value, as PyTorch's Python lu)
    pivot = bool_arg(pivot, "pivot", "_lu_with_info")
    factors, pivots, info = lu_factor_ex(input, pivot=pivot)
    return (factors, pivots, info) if get_infos else (factors, pivots)


def linalg_lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False,  # noqa: N803
                    out=None) -> Tensor:
    """The solution of ``A X = B`` from ``A``'s ``lu_factor`` (``X A = B`` when not ``left``;
    with ``Aᵀ`` when ``adjoint``).

    Args:
        LU: ``[*, n, n]``; pivots: int32 ``[*, n]``, both from ``lu_factor``.
        B: ``[*, n, k]`` (``[*, k, n]`` when not ``left``); batch dims broadcast.

    Returns:
        ``X``, differentiable in ``LU`` (in the entries that are read) and ``B``.
    """
    no_out(out, "linalg.lu_solve")
    tensor_arg(pivots, "pivots", "linalg_lu_solve")  # (PyTorch's parser, before the dtypes)
    tensor_arg(B, "B", "linalg_lu_solve")
    factors = matrices(LU, "linalg.lu_solve", square=True)
    B = tensor_arg(B, "B", "linalg_lu_solve")
    if B.ndim < 2:
        raise RuntimeError(f"linalg.lu_solve: Expected B to have at least 2 dimensions, but it "
                           f"has {B.ndim} dimensions instead")
    if B._data.dtype != factors._data.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but "
                           f"found LU of type {torch_name(factors._data.dtype)} and B of type "
                           f"{torch_name(B._data.dtype)} instead")
    if not left:  # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
        return linalg_lu_solve(factors, pivots, B.mT, left=True, adjoint=not adjoint).mT
    n = factors.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    if n == 0:  # (0 x 0 systems: the empty solution, batch dims broadcast)
        return matmul(factors, B)
    permutation = _leaf(permutation_matrices(_pivots(pivots, factors, "linalg.lu_solve"), n,
                                             factors._data.dtype))
    if not adjoint:  # X = U⁻¹ L⁻¹ Pᵀ B
        y = solve_triangular(factors, matmul(permutation.mT, B), upper=False,
                             unitriangular=True)
        return solve_triangular(factors, y, upper=True)
    # Aᵀ = Uᵀ Lᵀ Pᵀ, so X = P L⁻ᵀ U⁻ᵀ B.
    y = solve_triangular(factors.mT, B, upper=False)
    y = solve_triangular(factors.mT, y, upper=True, unitriangular=True)
    return matmul(permutation, y)


@tensor_method
def lu_solve(input, LU_data, LU_pivots, *, out=None) -> Tensor:  # noqa: N803
    """``torch.lu_solve(b, LU_data, LU_pivots)``: ``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    no_out(out, "lu_solve")
    tensor_arg(LU_data, "LU_data", "lu_solve")  # (PyTorch's parser, before the dtypes)
    tensor_arg(LU_pivots, "LU_pivots", "lu_solve")
    return linalg_lu_solve(LU_data, LU_pivots, input)
