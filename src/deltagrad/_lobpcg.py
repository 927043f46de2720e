"""``torch.lobpcg``: a few extreme eigenpairs of a symmetric (generalized) eigenproblem
``A x = lambda B x`` by the locally optimal block preconditioned conjugate gradient method.

Each step takes the Rayleigh-Ritz pairs of the span of the current vectors X, their
(preconditioned) residuals W and the previous directions P, the basis B-orthonormalized through
the eigendecomposition of its Gram matrix (directions that have become dependent are dropped, so
the step never needs a Cholesky factor of a singular matrix: PyTorch's "ortho" method serves
the same end). It stops when the first ``k`` pairs' backward errors
``|A x - lambda B x| / ((|A| + |lambda| |B|) |x|)`` are under ``tol`` or after ``niter`` steps.
The arithmetic is float64 NumPy; results have ``A``'s floating dtype.

The gradient (``A`` dense, ``B`` None) is the derivative of the k eigenpairs: ``X diag(gE) X^T``
plus, for the vectors, ``sum_j v_j (v_j^T gX_i) x_i^T / (E_i - w_j)`` over the other
eigenpairs ``(w_j, v_j)`` of ``A`` (one full eigendecomposition in the backward); as PyTorch,
``A`` is symmetrized first when it requires grad, so ``A.grad`` is symmetric.
"""

from __future__ import annotations

import numpy as np

from ._engine import dtypes
from ._engine.api.random import randn
from ._engine.tensor import Tensor, _leaf
from .autograd import Function

__all__ = ["lobpcg"]

_FEPS = {dtypes.float32: 1.2e-07, dtypes.float64: 2.23e-16}  # (default tol: feps ** 0.5)


def _array(tensor) -> np.ndarray:
    if tensor is None:
        return None
    if getattr(tensor, "layout", dtypes.strided) != dtypes.strided:
        tensor = tensor.to_dense()
    return np.asarray(tensor.detach()._data, dtype=np.float64)


class _Worker:
    """The state a ``tracker`` sees at each step (PyTorch's LOBPCG instance's names)."""

    def __init__(self, A, B, iK, iparams, fparams, bparams, method):
        self.A, self.B, self.iK = A, B, iK
        self.iparams, self.fparams, self.bparams, self.method = iparams, fparams, bparams, method
        self.ivars = {"istep": 0, "converged_count": 0, "converged_end": 0}
        self.fvars = {}
        self.bvars = {"force_stop": False}
        self.tvars = {}
        self.E = self.X = self.R = self.S = None


def _orthonormal(S: np.ndarray, Bm) -> np.ndarray:
    """A B-orthonormal basis of S's columns (dependent directions dropped)."""
    gram = S.T @ (S if Bm is None else Bm @ S)
    gram = (gram + gram.T) / 2
    w, U = np.linalg.eigh(gram)
    keep = w > max(w.max(initial=0.0), 0.0) * 1e-13
    return S @ (U[:, keep] / np.sqrt(w[keep]))


def _ritz(Q: np.ndarray, Am, n: int, largest: bool):
    H = Q.T @ (Am @ Q)
    theta, Z = np.linalg.eigh((H + H.T) / 2)
    order = np.argsort(-theta if largest else theta, kind="stable")[:n]
    return theta[order], Q @ Z[:, order]


def _solve(Am, Bm, Tm, X, k: int, niter: int, tol: float, largest: bool, worker, tracker):
    """The LOBPCG iteration on float64 arrays: (E [n], X [m, n])."""
    n = X.shape[1]
    E, X = _ritz(_orthonormal(X, Bm), Am, n, largest)
    x_norm = np.linalg.norm(X)
    a_norm = np.linalg.norm(Am @ X) / x_norm
    b_norm = 1.0 if Bm is None else np.linalg.norm(Bm @ X) / x_norm
    worker.fvars.update(A_norm=a_norm, B_norm=b_norm)
    P = None
    step = 0
    while True:
        BX = X if Bm is None else Bm @ X
        R = Am @ X - BX * E
        rerr = np.linalg.norm(R, axis=0) / (np.linalg.norm(X, axis=0)
                                            * (a_norm + np.abs(E) * b_norm))
        count = int(np.argmin(np.append(rerr < tol, False)))  # (leading converged pairs)
        worker.E, worker.X, worker.R = E, X, R
        worker.ivars.update(istep=step, converged_count=count)
        worker.tvars["rerr"] = rerr
        if tracker is not None:
            tracker(worker)
        if count >= k or worker.bvars["force_stop"] or (0 <= niter <= step):
            return E, X
        W = R if Tm is None else Tm @ R
        W = W - X @ (BX.T @ W)  # (B-orthogonal to X: the Gram matrix stays well scaled)
        blocks = [X, W] if P is None else [X, W, P]
        Q = _orthonormal(np.concatenate(blocks, axis=1), Bm)
        E, X_new = _ritz(Q, Am, n, largest)
        # the new directions: what the new vectors gained outside the old ones' span
        P = X_new - X @ (BX.T @ X_new)
        X = X_new
        step += 1


class LOBPCGAutogradFunction(Function):
    """``lobpcg`` in the graph (PyTorch's node name): gradients into a dense ``A``."""

    @staticmethod
    def forward(ctx, A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                ortho_fparams, ortho_bparams):
        E, V = _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                       ortho_fparams, ortho_bparams)
        ctx.save_for_backward(A, E, V)
        ctx.has_B = B is not None
        return E, V

    @staticmethod
    def backward(ctx, gE, gX):
        A, E, V = ctx.saved_tensors
        if ctx.has_B:
            raise ValueError("lobpcg.backward does not support backward with B != I yet.")
        if A.ndim > 2:
            raise NotImplementedError("lobpcg.backward of a batch of matrices is not supported")
        a, e, x = _array(A), _array(E), _array(V)
        w, U = np.linalg.eigh((a + a.T) / 2)
        grad = np.zeros_like(a)
        if gE is not None:
            grad += (x * _array(gE)) @ x.T
        if gX is not None:
            gap = e[None, :] - w[:, None]  # [m, k]: E_i - w_j
            # each computed pair's own eigenvalue in the full spectrum drops out of its sum
            own = np.argmin(np.abs(gap), axis=0)
            gap[own, np.arange(e.size)] = np.inf
            grad += U @ ((U.T @ _array(gX)) / gap) @ x.T
        out = _leaf(grad.astype(A._data.dtype))
        return (out,) + (None,) * 13


def _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
            ortho_fparams, ortho_bparams):
    if A.shape[-2] != A.shape[-1]:
        raise AssertionError(f"A must be square, got shape {A.shape}")
    if B is not None and tuple(A.shape) != tuple(B.shape):
        raise AssertionError(f"A and B must have same shape, got {A.shape} vs {B.shape}")
    dtype = A.dtype if A.dtype in (dtypes.float32, dtypes.float64) else dtypes.float32
    if tol is None:
        tol = _FEPS[dtype] ** 0.5
    m = A.shape[-1]
    k = (1 if X is None else X.shape[-1]) if k is None else k
    n = (k if n is None else n) if X is None else X.shape[-1]
    if m < 3 * n:
        raise ValueError(f"LOBPCG algorithm is not applicable when the number of A rows (={m})"
                         f" is smaller than 3 x the number of requested eigenpairs (={n})")
    method = "ortho" if method is None else method
    if method not in ("ortho", "basic"):
        raise ValueError(f"Unknown LOBPCG method: {method}")
    iparams = {"m": m, "n": n, "k": k, "niter": 1000 if niter is None else niter}
    fparams = {"tol": tol}
    bparams = {"largest": True if largest is None else largest}
    if method == "ortho":
        iparams.update(ortho_iparams or {})
        fparams.update(ortho_fparams or {})
        bparams.update(ortho_bparams or {})
    batch = tuple(A.shape[:-2])
    a = _array(A).reshape(-1, m, m)
    b = None if B is None else _array(B).reshape(-1, m, m)
    t = None if iK is None else _array(iK)
    xs = None if X is None else _array(X).reshape(-1, m, n)
    values, vectors = [], []
    for i in range(a.shape[0]):
        start = randn((m, n), dtype=dtype)._data if xs is None else xs[i]
        worker = _Worker(A, B, iK, dict(iparams, batch_index=i) if batch else iparams, fparams,
                         bparams, method)
        E, V = _solve(a[i], None if b is None else b[i], t, np.asarray(start, np.float64), k,
                      iparams["niter"], tol, bparams["largest"], worker, tracker)
        values.append(E[:k])
        vectors.append(V[:, :k])
    numpy_dtype = np.float64 if dtype == dtypes.float64 else np.float32
    E = np.stack(values).reshape(batch + (k,)).astype(numpy_dtype)
    V = np.stack(vectors).reshape(batch + (m, k)).astype(numpy_dtype)
    return _leaf(E), _leaf(V)


def lobpcg(A: Tensor, k: int | None = None, B: Tensor | None = None, X: Tensor | None = None,
           n: int | None = None, iK: Tensor | None = None, niter: int | None = None,
           tol: float | None = None, largest: bool | None = None, method: str | None = None,
           tracker=None, ortho_iparams: dict | None = None, ortho_fparams: dict | None = None,
           ortho_bparams: dict | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` largest (``largest=False``: smallest) eigenpairs of the symmetric positive
    definite problem ``A x = lambda B x`` (``B`` the identity when None).

    Args:
        A: [*, m, m] symmetric (dense or sparse; dense for gradients).
        k: pairs returned (default: X's columns, or 1); n: vectors iterated (default k;
            X's columns when X is given), with ``m >= 3 n``.
        B: [*, m, m] symmetric positive definite, or None. X: [*, m, n] starting vectors
            (default ``randn``, drawn from the global generator as PyTorch's).
        iK: [m, m] preconditioner applied to the residuals. niter: step limit (default
            1000; -1: none). tol: backward-error tolerance (default ``feps ** 0.5``).
        tracker: called with the iteration state each step (``ivars["istep"]``, ``E``, ``X``,
            ``R``, ``tvars["rerr"]``; ``bvars["force_stop"] = True`` stops it).

    Returns:
        E [*, k], X [*, m, k]: the eigenvalues (largest first, or smallest first) and their
        B-orthonormal eigenvectors (each one's sign is arbitrary).
    """
    if isinstance(A, Tensor) and (A.requires_grad or (B is not None and B.requires_grad)):
        A_sym = (A + A.mT) / 2
        B_sym = (B + B.mT) / 2 if B is not None else None
        return LOBPCGAutogradFunction.apply(A_sym, k, B_sym, X, n, iK, niter, tol, largest,
                                            method, tracker, ortho_iparams, ortho_fparams,
                                            ortho_bparams)
    return _lobpcg(A, k, B, X, n, iK, niter, tol, largest, method, tracker, ortho_iparams,
                   ortho_fparams, ortho_bparams)
