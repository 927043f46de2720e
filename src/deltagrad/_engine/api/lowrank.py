"""Randomized low-rank factorizations: ``torch.svd_lowrank`` and ``torch.pca_lowrank``.

PyTorch's algorithm (Halko, Martinsson and Tropp 2009, algorithm 4.4): a Gaussian test matrix
drawn from the global generator, ``niter`` subspace iterations re-orthonormalized by QR, then
the SVD of the small projected matrix. The same draws in the same order, so a program's random
stream after the call is PyTorch's, and so are the values where the approximation is not exact
(rank of ``A`` above ``q``). Differentiable through matmul, QR and SVD.
"""

from __future__ import annotations

import builtins

from ..dtypes import float16, float32, float64
from ..tensor import Tensor
from ._common import tensor_input
from .decompositions import linalg_qr, linalg_svd
from .linalg import matmul
from .random import randn
from .reductions import mean

__all__ = ["pca_lowrank", "svd_lowrank"]


def _basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """``q`` orthonormal columns ``Q`` with ``Q Qᴴ (A - M)`` close to ``A - M``."""
    # the test matrix's dtype as PyTorch's: A's for float16 / 32 / 64 and complex, else float32
    dtype = A.dtype if A.dtype in (float16, float32, float64) or A.dtype.is_complex else float32
    test = randn(A.shape[-1], q, dtype=dtype)
    X = matmul(A, test)
    if M is not None:
        X = X - matmul(M, test)
    Q = linalg_qr(X).Q
    for _ in range(niter):
        X = matmul(A.mH, Q)
        if M is not None:
            X = X - matmul(M.mH, Q)
        Q = linalg_qr(X).Q
        X = matmul(A, Q)
        if M is not None:
            X = X - matmul(M, Q)
        Q = linalg_qr(X).Q
    return Q


def svd_lowrank(A, q: int | None = 6, niter: int | None = 2,
                M=None) -> tuple[Tensor, Tensor, Tensor]:  # noqa: N803
    """``(U, S, V)`` approximating the ``q`` largest singular triplets of ``A - M``.

    Args:
        A: ``[*, m, n]``.
        q: the rank of the approximation (default 6).
        niter: subspace iterations (default 2).
        M: subtracted from ``A`` (broadcast to its shape), or None.

    Draws one ``[n, q]`` (``[m, q]`` when ``m < n``) standard normal matrix from the global
    generator, as PyTorch does.
    """
    A = tensor_input(A)
    q = 6 if q is None else int(q)
    niter = 2 if niter is None else int(niter)
    if M is not None:
        M = tensor_input(M).broadcast_to(A.shape)
    m, n = A.shape[-2:]
    wide = m < n
    if wide:
        A = A.mH
        M = None if M is None else M.mH
    Q = _basis(A, q, niter, M)
    projected = matmul(Q.mH, A)
    if M is not None:
        projected = projected - matmul(Q.mH, M)
    U, S, Vh = linalg_svd(projected, full_matrices=False)
    U, V = matmul(Q, U), Vh.mH
    return (V, S, U) if wide else (U, S, V)


def pca_lowrank(A, q: int | None = None, center: bool = True,
                niter: int = 2) -> tuple[Tensor, Tensor, Tensor]:
    """``(U, S, V)`` of the ``q`` (default min(6, m, n)) principal directions of the rows of
    ``A`` (``[*, m, n]``), centred first unless ``center`` is False: ``svd_lowrank`` of the
    centred matrix, randomized as PyTorch's."""
    A = tensor_input(A)
    m, n = A.shape[-2:]
    q = builtins.min(6, m, n) if q is None else q
    if not 0 <= q <= builtins.min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={builtins.min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        A = A - mean(A, dim=-2, keepdim=True)
    return svd_lowrank(A, q, niter=niter)
