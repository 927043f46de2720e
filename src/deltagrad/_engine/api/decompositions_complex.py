"""Complex matrices for the decompositions whose real forms are differentiable ops written for
real matrices (``pinv``, ``householder_product``, ``cholesky_solve``, ``cholesky_inverse``):
the values from NumPy's complex LAPACK, as leaves. An input that requires grad in grad mode
raises NotImplementedError naming the op (as ``complex_values``), never a result silently cut
from the graph. (s28 DX1: these raised for every complex input, PyTorch's own examples
included.)
"""

from __future__ import annotations

import numpy as np

from ..autograd import _GradMode
from ..tensor import Tensor, _leaf
from ._common import laid_out

__all__ = ["complex_cholesky_inverse", "complex_cholesky_solve", "complex_householder",
           "complex_pinv", "refuse_grad"]


def refuse_grad(name: str, *tensors: Tensor) -> None:
    """NotImplementedError where a complex input requires grad in grad mode."""
    if _GradMode.enabled and any(t._rg for t in tensors):
        dtype = next(t._data.dtype for t in tensors if t._data.dtype.kind == "c")
        raise NotImplementedError(
            f"{name}: gradients through complex tensors are not supported for this op yet (got "
            f"{dtype}; values are computed under no_grad or for inputs that do not require "
            "grad)")


def _hermitian_product(factor: np.ndarray, upper: bool) -> np.ndarray:
    """``L Lᴴ`` (``Uᴴ U`` when ``upper``) of the factor's triangle."""
    if upper:
        u = np.triu(factor)
        return np.conj(u.swapaxes(-1, -2)) @ u
    lower = np.tril(factor)
    return lower @ np.conj(lower.swapaxes(-1, -2))


def complex_cholesky_solve(factor: Tensor, B: Tensor, upper: bool) -> Tensor:
    """``cholesky_solve`` of a complex factor: the solution of ``L Lᴴ X = B``."""
    refuse_grad("cholesky_solve", factor, B)
    product = _hermitian_product(factor._data, upper)
    batch = np.broadcast_shapes(product.shape[:-2], B._data.shape[:-2])
    product = np.broadcast_to(product, batch + product.shape[-2:])
    rhs = np.broadcast_to(B._data, batch + B._data.shape[-2:])
    return _leaf(laid_out(np.linalg.solve(product, rhs), True))  # (PyTorch's: column-major)


def complex_cholesky_inverse(factor: Tensor, upper: bool) -> Tensor:
    """``cholesky_inverse`` of a complex factor: the inverse of ``L Lᴴ``."""
    refuse_grad("cholesky_inverse", factor)
    return _leaf(laid_out(np.linalg.inv(_hermitian_product(factor._data, upper)), True))


def complex_pinv(A: Tensor, atol, rtol, hermitian: bool) -> Tensor:
    """``linalg.pinv`` of complex matrices: values at most ``max(atol, rtol * largest)`` count
    as zero; singular values, or (``hermitian``) the eigenvalues of the lower triangle."""
    refuse_grad("linalg.pinv", A)
    a = A._data
    if hermitian:
        w, v = np.linalg.eigh(a, UPLO="L")
        size = np.abs(w)
    else:
        u, w, vh = np.linalg.svd(a, full_matrices=False)
        size = w
    largest = size.max(axis=-1, initial=0.0)
    cutoff = np.maximum(np.asarray(atol), np.asarray(rtol) * largest)[..., None]
    with np.errstate(divide="ignore"):
        inverse = np.where(size > cutoff, 1 / np.where(size > cutoff, w, 1), 0).astype(a.dtype)
    if hermitian:
        result = (v * inverse[..., None, :]) @ np.conj(v.swapaxes(-1, -2))
    else:
        result = (np.conj(vh.swapaxes(-1, -2)) * inverse[..., None, :]) @ np.conj(
            u.swapaxes(-1, -2))
    return _leaf(np.ascontiguousarray(result.astype(a.dtype)))


def complex_householder(A: Tensor, tau: Tensor) -> Tensor:
    """``linalg.householder_product`` of complex reflectors: the first n columns of
    ``H₁ ... Hₖ``, ``Hᵢ = I - τᵢ vᵢ vᵢᴴ`` (LAPACK's ungqr)."""
    refuse_grad("linalg.householder_product", A, tau)
    a, t = A._data, tau._data
    m, n = a.shape[-2:]
    vectors = np.tril(a, -1) + np.eye(m, n, dtype=a.dtype)
    result = np.broadcast_to(np.eye(m, n, dtype=a.dtype), a.shape).copy()
    for i in reversed(range(t.shape[-1])):
        v = vectors[..., :, i:i + 1]
        result = result - t[..., i, None, None] * (v @ (np.conj(v.swapaxes(-1, -2)) @ result))
    return _leaf(np.ascontiguousarray(result.astype(a.dtype)))
