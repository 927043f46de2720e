"""PyTorch's ``torch.linalg.ldl_factor`` / ``ldl_factor_ex`` / ``ldl_solve``: the
Bunch-Kaufman factorization of a symmetric matrix, ``A = P L D L^T P^T`` with ``D`` of 1x1
and 2x2 blocks, in LAPACK's compact form (its ``sytf2`` on the lower triangle, the
algorithm LAPACK's ``sytrf`` runs on matrices narrower than its block size), and the solve
with it (LAPACK's ``sytrs``). As PyTorch's, neither has a derivative: inputs requiring grad
give results that do not (PyTorch's raise when backward reaches them)."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..tensor import Tensor, _leaf
from ._common import return_type

LDLFactorResult = return_type("linalg_ldl_factor", "LD pivots")
LDLFactorExResult = return_type("linalg_ldl_factor_ex", "LD pivots info")

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0  # Bunch-Kaufman's growth bound


def _square_floats(A, name: str) -> np.ndarray:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}(): argument 'A' must be Tensor, not {type(A).__name__}")
    a = A.detach().numpy()
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2] if a.ndim > 1 else 1} by {a.shape[-1]} matrices")
    if a.dtype not in (np.float32, np.float64):
        raise NotImplementedError(f"{name}: only float32 and float64 matrices are supported "
                                  f"here, got {A.dtype}")
    return a


_LOWER: dict = {}


def _lower_mask(n: int) -> np.ndarray:
    """The lower triangle of an n x n matrix, diagonal included (cached: np.tril builds it
    again each call, a third of a small factorization's time; its trailing blocks are the
    trailing submatrices' masks). np.where with it gives np.tril's values bit for bit;
    ldl_factor / ldl_factor_ex on OpInfo's [5, 5] and [2, 5, 5] float32 samples 0.71-0.82 x
    the time before (against HEAD's copy in one process, alternated, medians of 11-40
    rounds, thread time, load 9-12)."""
    mask = _LOWER.get(n)
    if mask is None:
        mask = _LOWER[n] = np.tri(n, dtype=bool)
        mask.flags.writeable = False
    return mask


def _sytf2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """One matrix's factorization in place of a copy of its lower triangle: (LD, 1-based
    int32 pivots, negative for 2x2 blocks, info: the first zero block's 1-based index)."""
    n = a.shape[0]
    lower = _lower_mask(n)
    a = np.where(lower, a, 0)  # (np.tril's values, a new array)
    pivots = np.zeros(n, dtype=np.int32)
    info, k = 0, 0
    while k < n:
        step, absakk = 1, abs(a[k, k])
        imax, colmax = k, 0.0
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            info, kp = info or k + 1, k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = np.abs(a[imax, k:imax]).max()
                if imax < n - 1:
                    rowmax = max(rowmax, np.abs(a[imax + 1:, imax]).max())
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, step = imax, 2
            kk = k + step - 1
            if kp != kk:  # rows and columns kk and kp of the trailing matrix swapped
                if kp < n - 1:
                    a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                segment = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = segment
                a[[kk, kp], [kk, kp]] = a[[kp, kk], [kp, kk]]
                if step == 2:
                    a[[k + 1, kp], k] = a[[kp, k + 1], k]
            if step == 1 and k < n - 1:
                x = a[k + 1:, k].copy()
                # (sytf2's rank-1 update, a[i, j] + x[i] * (-x[j] / d), lower part only)
                a[k + 1:, k + 1:] += np.where(lower[k + 1:, k + 1:], np.multiply.outer(
                    x, -(1 / a[k, k]) * x), 0)
                a[k + 1:, k] = x * (1 / a[k, k])
            elif step == 2 and k < n - 2:
                d21 = a[k + 1, k]
                d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                d21 = (1 / (d11 * d22 - 1)) / d21
                first, second = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
                wk = d21 * (d11 * first - second)
                wkp1 = d21 * (d22 * second - first)
                update = (np.multiply.outer(first, wk), np.multiply.outer(second, wkp1))
                a[k + 2:, k + 2:] -= np.where(lower[k + 2:, k + 2:], update[0], 0)
                a[k + 2:, k + 2:] -= np.where(lower[k + 2:, k + 2:], update[1], 0)
                a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
        if step == 1:
            pivots[k] = kp + 1
        else:
            pivots[k] = pivots[k + 1] = -(kp + 1)
        k += step
    return a, pivots, info


def ldl_factor_ex(A, *, hermitian: bool = False, check_errors: bool = False,
                  out=None) -> tuple[Tensor, Tensor, Tensor]:
    """``(LD, pivots, info)`` of symmetric ``[*, n, n]`` float matrices (their lower
    triangles are read): ``LD`` holds ``L``'s strict lower part and ``D``'s blocks, ``pivots``
    (int32, 1-based, a 2x2 block's both negative) LAPACK's, ``info`` the first zero diagonal
    block (1-based), 0 when none. ``hermitian`` means nothing for real matrices."""
    if out is not None:
        raise NotImplementedError("torch.linalg.ldl_factor_ex: out= is not supported")
    a = _square_floats(A, "torch.linalg.ldl_factor_ex")
    batch, n = a.shape[:-2], a.shape[-1]
    factors = np.zeros(a.shape, a.dtype).swapaxes(-1, -2)  # (column-major, LAPACK's: PyTorch's)
    pivots = np.zeros((*batch, n), dtype=np.int32)
    info = np.zeros(batch, dtype=np.int32)
    for index in np.ndindex(*batch):
        factors[index], pivots[index], info[index] = _sytf2(a[index])
    if check_errors and info.any():
        raise RuntimeError(f"torch.linalg.ldl_factor_ex: the factorization could not be "
                           f"completed because the input is singular (info = "
                           f"{int(info.max())})")
    return LDLFactorExResult(_leaf(factors), _leaf(pivots), _leaf(info))


def ldl_factor(A, *, hermitian: bool = False, out=None) -> tuple[Tensor, Tensor]:
    """``(LD, pivots)`` of ``ldl_factor_ex``; a singular matrix (a zero diagonal block) raises
    RuntimeError, as PyTorch's."""
    if out is not None:
        raise NotImplementedError("torch.linalg.ldl_factor: out= is not supported")
    factors, pivots, info = ldl_factor_ex(A, hermitian=hermitian)
    if info.numpy().any():
        raise RuntimeError(f"torch.linalg.ldl_factor: the factorization could not be "
                           f"completed because the input is singular (info = "
                           f"{int(info.numpy().max())})")
    return LDLFactorResult(factors, pivots)


def _sytrs(a: np.ndarray, pivots: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``X`` with ``A X = B`` from one matrix's factors (LAPACK's sytrs, lower)."""
    n, b = a.shape[0], b.copy()
    k = 0
    while k < n:  # L D Y = B
        if pivots[k] > 0:
            kp = pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            if k < n - 1:
                b[k + 1:] -= np.multiply.outer(a[k + 1:, k], b[k])
            b[k] *= 1 / a[k, k]
            k += 1
        else:
            kp = -pivots[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            if k < n - 2:
                b[k + 2:] -= np.multiply.outer(a[k + 2:, k], b[k])
                b[k + 2:] -= np.multiply.outer(a[k + 2:, k + 1], b[k + 1])
            akm1k = a[k + 1, k]
            akm1, ak = a[k, k] / akm1k, a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = Y
        if pivots[k] > 0:
            if k < n - 1:
                b[k] -= a[k + 1:, k] @ b[k + 1:]
            kp = pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            if k < n - 1:
                b[k] -= a[k + 1:, k] @ b[k + 1:]
                b[k - 1] -= a[k + 1:, k - 1] @ b[k + 1:]
            kp = -pivots[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


def ldl_solve(LD, pivots, B, *, hermitian: bool = False, out=None) -> Tensor:  # noqa: N803
    """``X`` with ``A X = B`` from ``ldl_factor``'s ``(LD, pivots)`` of ``A``; ``B``
    ``[*, n, k]``, the batch dimensions broadcast."""
    if out is not None:
        raise NotImplementedError("torch.linalg.ldl_solve: out= is not supported")
    a = _square_floats(LD, "torch.linalg.ldl_solve")
    if not isinstance(pivots, Tensor) or pivots.dtype != dtypes.int32:
        raise RuntimeError("torch.linalg.ldl_solve: Expected pivots to be integers. Got "
                           f"{getattr(pivots, 'dtype', type(pivots).__name__)}")
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise RuntimeError("torch.linalg.ldl_solve: B must have at least 2 dimensions")
    b = B.detach().numpy()
    if b.shape[-2] != a.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for torch.linalg.ldl_solve: each A "
                           f"matrix is {a.shape[-1]} by {a.shape[-1]} but each b matrix is "
                           f"{b.shape[-2]} by {b.shape[-1]}")
    if b.dtype != a.dtype:
        raise RuntimeError(f"torch.linalg.ldl_solve: Expected LD and B to have the same "
                           f"dtype, but found LD of type {LD.dtype} and B of type {B.dtype} "
                           f"instead")
    p = pivots.numpy()
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], p.shape[:-1])
    a = np.broadcast_to(a, (*batch, *a.shape[-2:]))
    p = np.broadcast_to(p, (*batch, p.shape[-1]))
    b = np.broadcast_to(b, (*batch, *b.shape[-2:]))
    result = np.empty(b.shape, dtype=b.dtype)
    for index in np.ndindex(*batch):
        result[index] = _sytrs(a[index], p[index], b[index])
    return _leaf(result)
