"""Matrix decompositions: Cholesky, symmetric eigendecomposition, SVD, QR and pseudo-inverse.

A decomposition with several results (``U, S, Vh``) is one op whose forward returns them packed
into one array along a last axis (each result flattened over its matrix dims; batch dims kept);
the api layer slices them apart. One op per decomposition means one LAPACK call per forward and
one rule per backward: the slices' own gradients scatter each result's cotangent back into the
packed one, so the rule sees every cotangent at once (zeros for results not used).

Symmetric inputs (Cholesky, eigh): the forward factors ``(A + Aᵀ) / 2``, which is ``A`` itself,
bit for bit, for a symmetric ``A``. The gradient is then the symmetric one PyTorch returns, and
it is the exact derivative of the op, so the registry can gradcheck it. (The api layer hands a
non-symmetric input over as the symmetric matrix of the triangle PyTorch reads.)

Rules are written against ``F`` so that they are differentiable again (``create_graph=True``).
They hold where the decomposition is differentiable: distinct eigenvalues / singular values,
full rank for QR and the pseudo-inverse (its rank must not change near ``A``).
"""

from __future__ import annotations

import math

import numpy as np

from .linalg_solve import LinAlgError
from .registry import Sample, register

# --------------------------------------------------------------------------------------------
# Shared pieces: packing, masks and the small matrix helpers rules use.


def pack(*arrays, batch: tuple) -> np.ndarray:
    """The arrays (each ``batch + matrix dims``) flattened over their matrix dims, concatenated
    along one last axis."""
    flat = [x.reshape(batch + (math.prod(x.shape[len(batch):]),)) for x in arrays]
    return np.concatenate(flat, axis=-1)


def unpack(F, packed, batch: tuple, shapes: list) -> list:
    """The results ``pack`` joined, each reshaped to ``batch + shape`` (a view for arrays)."""
    parts, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        part = F.getitem(packed, (Ellipsis, slice(start, start + size)))
        parts.append(F.reshape(part, batch + tuple(shape)))
        start += size
    return parts


def _mt(F, x):
    return F.swapaxes(x, -1, -2)


def _symmetric_part(a: np.ndarray) -> np.ndarray:
    # (a + aᵀ) * 0.5 is exactly a when a is symmetric (a + a = 2a and halving are exact).
    return (a + np.swapaxes(a, -1, -2)) * 0.5


def _diag_embed(F, v, dtype):
    """Diagonal matrices with ``v`` (``[*, n]``) on their diagonals."""
    n = v.shape[-1]
    return F.reshape(v, v.shape[:-1] + (1, n)) * F.const(np.eye(n, dtype=dtype))


def _inverse_gaps(F, values, dtype):
    """``E[i, j] = 1 / (values[j] - values[i])`` off the diagonal, 0 on it (``[*, n, n]``)."""
    n = values.shape[-1]
    eye = np.eye(n, dtype=dtype)
    columns = F.reshape(values, values.shape[:-1] + (1, n))
    rows = F.reshape(values, values.shape[:-1] + (n, 1))
    # NOTE: equal values give 1/0 = inf: the decomposition is not differentiable there (as in
    # PyTorch, the gradient is then inf or nan).
    with np.errstate(divide="ignore", invalid="ignore"):
        return F.const(1.0 - eye) / (columns - rows + F.const(eye))


def _solve_upper(F, r, b):
    """``R⁻¹ B`` for upper-triangular ``R`` (a triangular solve, differentiable again)."""
    return F.op("linalg_solve_triangular", r, b, upper=True, unitriangular=False)


def _spd(rng, *shape, noise: float = 0.0):
    """Random symmetric positive-definite matrices (plus a non-symmetric ``noise``, which the
    ops symmetrize, so their gradcheck also covers the entries above the diagonal)."""
    n = shape[-1]
    m = rng.standard_normal(shape)
    a = m @ np.swapaxes(m, -1, -2) / n + np.eye(n)
    return a + noise * rng.standard_normal(shape)


def _distinct_symmetric(rng, *shape):
    """Random symmetric matrices with well separated eigenvalues (1, 2.5, 4, ...)."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    values = 1.0 + 1.5 * np.arange(n) * rng.choice([-1.0, 1.0], size=shape[:-1])
    return (q * values[..., None, :]) @ np.swapaxes(q, -1, -2)


def _distinct_singular(rng, m, n, batch=()):
    """Random m x n matrices with singular values 1, 2, 3, ... (well separated, nonzero)."""
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal(batch + (m, k)))
    v, _ = np.linalg.qr(rng.standard_normal(batch + (n, k)))
    return (u * np.arange(1.0, k + 1)) @ np.swapaxes(v, -1, -2)


# --------------------------------------------------------------------------------------------
# Cholesky: A = L Lᵀ with L lower triangular with a positive diagonal.
#
# dA = dL Lᵀ + L dLᵀ, so L⁻¹ dA L⁻ᵀ = X + Xᵀ with X = L⁻¹ dL lower triangular: X = Φ(L⁻¹ dA L⁻ᵀ),
# Φ taking the lower triangle with the diagonal halved. Then <Ḡ, dL> = <Ḡ, L Φ(...)> gives
# Ā = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹, symmetrized (only the symmetric part of A is read).


def cholesky_partial(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(L, info)`` as LAPACK's unblocked ``potf2`` leaves them, reading the lower triangle.

    ``info`` (int32, per matrix) is the order of the first leading minor that is not positive
    definite (0 if none); there ``L`` holds the columns finished before it, the failing
    diagonal entry before its square root, and the original entries after it.
    """
    lower = np.tril(a).astype(a.dtype, copy=True)
    n = a.shape[-1]
    info = np.zeros(a.shape[:-2], dtype=np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(n):
            active = info == 0
            row = lower[..., j, :j]
            d = lower[..., j, j] - np.sum(row * row, axis=-1)
            bad = active & ~(d > 0)  # (nan fails too, as in LAPACK)
            good = active & ~bad
            root = np.sqrt(np.where(good, d, 1.0))
            info[bad] = j + 1
            lower[..., j, j] = np.where(good, root, np.where(bad, d, lower[..., j, j]))
            dots = (lower[..., j + 1:, :j] @ row[..., :, None])[..., 0]
            below = (lower[..., j + 1:, j] - dots) / root[..., None]
            lower[..., j + 1:, j] = np.where(good[..., None], below, lower[..., j + 1:, j])
    return lower, info


def not_positive_definite(name: str, info: np.ndarray) -> str:
    """PyTorch's message for the first matrix whose Cholesky factorization failed."""
    flat = info.reshape(-1)
    index = int(np.flatnonzero(flat)[0])
    batch = f"(Batch element {index}): " if info.ndim else ""
    return (f"{name}: {batch}The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {flat[index]} is not "
            "positive-definite).")


def _cholesky_forward(a):
    symmetric = _symmetric_part(a)
    try:
        return np.linalg.cholesky(symmetric)
    except np.linalg.LinAlgError:
        info = cholesky_partial(symmetric)[1]
        raise LinAlgError(not_positive_definite("linalg.cholesky", info)) from None


def _cholesky_vjp(F, g, out, a):
    dtype = F.data(g).dtype
    n = out.shape[-1]
    lower_half = np.tril(np.ones((n, n), dtype=dtype)) - 0.5 * np.eye(n, dtype=dtype)
    lt = _mt(F, out)
    phi = F.matmul(lt, g) * F.const(lower_half)
    x = _solve_upper(F, lt, phi)  # L⁻ᵀ Φ
    x = _solve_upper(F, lt, _mt(F, x))  # L⁻ᵀ (L⁻ᵀ Φ)ᵀ = (L⁻ᵀ Φ L⁻¹)ᵀ
    return ((x + _mt(F, x)) * 0.5,)


def _cholesky_samples(rng):
    return [Sample((_spd(rng, 3, 3),)), Sample((_spd(rng, 2, 3, 3, noise=0.05),)),
            Sample((_spd(rng, 1, 1),))]


register("linalg_cholesky", forward=_cholesky_forward, vjp=_cholesky_vjp,
         samples=_cholesky_samples)


# --------------------------------------------------------------------------------------------
# Symmetric eigendecomposition A = V diag(w) Vᵀ (w ascending), packed as [w, V].
#
# Vᵀ dA V = Ω W - W Ω + dW with Ω = Vᵀ dV antisymmetric: dw = diag(Vᵀ dA V) and
# Ω = E ∘ (Vᵀ dA V), E[i, j] = 1 / (w[j] - w[i]). So Ā = V (diag(w̄) + E ∘ (Vᵀ V̄)) Vᵀ,
# symmetrized.


def _eigh_forward(a):
    values, vectors = np.linalg.eigh(_symmetric_part(a))
    return pack(values, vectors, batch=a.shape[:-2])


def _eigh_vjp(F, g, out, a):
    dtype = F.data(g).dtype
    n, batch = a.shape[-1], a.shape[:-2]
    values, vectors = unpack(F, out, batch, [(n,), (n, n)])
    g_values, g_vectors = unpack(F, g, batch, [(n,), (n, n)])
    inner = (F.matmul(_mt(F, vectors), g_vectors) * _inverse_gaps(F, values, dtype)
             + _diag_embed(F, g_values, dtype))
    grad = F.matmul(F.matmul(vectors, inner), _mt(F, vectors))
    return ((grad + _mt(F, grad)) * 0.5,)


def _eigh_samples(rng):
    return [Sample((_distinct_symmetric(rng, 3, 3),)),
            Sample((_distinct_symmetric(rng, 2, 3, 3) + 0.05 * rng.standard_normal((2, 3, 3)),),
                   note="non-symmetric: the symmetric part is read"),
            Sample((_distinct_symmetric(rng, 1, 1),))]


register("linalg_eigh", forward=_eigh_forward, vjp=_eigh_vjp, samples=_eigh_samples)


# --------------------------------------------------------------------------------------------
# Singular value decomposition A = U diag(S) Vh (S descending), packed as [U, S, Vh].
#
# With dP = Uᵀ dA V: dS = diag(dP), Uᵀ dU = F ∘ (dP S + S dPᵀ), Vᵀ dV = F ∘ (S dP + dPᵀ S) with
# F[i, j] = 1 / (s[j]² - s[i]²); the parts of dU, dV outside span(U), span(V) are
# (I - UUᵀ) dA V S⁻¹ and (I - VVᵀ) dAᵀ U S⁻¹. Transposing each term:
# Ā = U [(F ∘ (J - Jᵀ)) S + diag(S̄) + S (F ∘ (K - Kᵀ))] Vh
#     + (I - UUᵀ) Ū S⁻¹ Vh + U S⁻¹ (V̄h - Kᵀ Vh),   J = Uᵀ Ū, K = Vh V̄hᵀ.
# With full_matrices the extra columns of U (rows of Vh) are any orthonormal completion: as
# PyTorch, the rule ignores their cotangents.


def svd_shapes(m: int, n: int, full_matrices: bool) -> list:
    """The shapes of ``[U, S, Vh]``."""
    k = min(m, n)
    return [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]


def _svd_forward(a, *, full_matrices):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return pack(u, s, vh, batch=a.shape[:-2])


def _svd_vjp(F, g, out, a, *, full_matrices):
    dtype = F.data(g).dtype
    (m, n), batch = a.shape[-2:], a.shape[:-2]
    k = min(m, n)
    shapes = svd_shapes(m, n, full_matrices)
    u, s, vh = unpack(F, out, batch, shapes)
    g_u, g_s, g_vh = unpack(F, g, batch, shapes)
    if full_matrices and m != n:
        columns, rows = (Ellipsis, slice(None), slice(0, k)), (Ellipsis, slice(0, k), slice(None))
        u, g_u = F.getitem(u, columns), F.getitem(g_u, columns)
        vh, g_vh = F.getitem(vh, rows), F.getitem(g_vh, rows)
    s_columns = F.reshape(s, batch + (1, k))  # s[j] along a row
    s_rows = F.reshape(s, batch + (k, 1))  # s[i] down a column
    j = F.matmul(_mt(F, u), g_u)
    kk = F.matmul(vh, _mt(F, g_vh))
    gaps = _inverse_gaps(F, s * s, dtype)
    inner = ((gaps * (j - _mt(F, j))) * s_columns + _diag_embed(F, g_s, dtype)
             + s_rows * (gaps * (kk - _mt(F, kk))))
    grad = F.matmul(F.matmul(u, inner), vh)
    if m > k:
        grad = grad + F.matmul((g_u - F.matmul(u, j)) / s_columns, vh)
    if n > k:
        grad = grad + F.matmul(u, (g_vh - F.matmul(_mt(F, kk), vh)) / s_rows)
    return (grad,)


def _svd_samples(rng):
    return [Sample((_distinct_singular(rng, 3, 3),), {"full_matrices": True}),
            Sample((_distinct_singular(rng, 4, 3),), {"full_matrices": False}),
            Sample((_distinct_singular(rng, 2, 4, (2,)),), {"full_matrices": False}),
            Sample((_distinct_singular(rng, 3, 3, (2,)),), {"full_matrices": False})]


register("linalg_svd", forward=_svd_forward, vjp=_svd_vjp, samples=_svd_samples)


# --------------------------------------------------------------------------------------------
# QR: A = Q R, Q with orthonormal columns, R upper triangular; packed as [Q, R] (only R for
# mode 'r').
#
# m >= n: with X = Qᵀ dA R⁻¹, Qᵀ dQ = C (antisymmetric) is X's strict lower triangle minus its
# transpose, dR = (X - C) R and dQ = (I - QQᵀ) dA R⁻¹ + Q C. Collecting the terms of <Q̄, dQ> +
# <R̄, dR>: Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ with M = R R̄ᵀ - Q̄ᵀ Q and copyltu(M) the symmetric
# matrix with M's lower triangle.
# m < n: A = [X | Y] with X = Q U square and Y = Q V, so V̄ adds Y V̄ᵀ to Q̄ and Ȳ = Q V̄.

QR_MODES = ("reduced", "complete", "r")


def qr_shapes(m: int, n: int, mode: str) -> list:
    """The shapes of ``[Q, R]`` (of ``[R]`` for mode ``'r'``)."""
    k = min(m, n)
    if mode == "r":
        return [(k, n)]
    rows = m if mode == "complete" else k
    return [(m, rows), (rows, n)]


def _qr_forward(a, *, mode):
    result = np.linalg.qr(a, mode=mode)
    arrays = (result,) if mode == "r" else tuple(result)
    return pack(*arrays, batch=a.shape[:-2])


def _qr_tall_vjp(F, q, r, g_q, g_r):
    n = r.shape[-1]
    dtype = F.data(r).dtype
    m_matrix = F.matmul(r, _mt(F, g_r)) - F.matmul(_mt(F, g_q), q)
    lower = m_matrix * F.const(np.tril(np.ones((n, n), dtype=dtype)))
    strict = m_matrix * F.const(np.tril(np.ones((n, n), dtype=dtype), -1))
    b = g_q + F.matmul(q, lower + _mt(F, strict))
    return _mt(F, _solve_upper(F, r, _mt(F, b)))  # B R⁻ᵀ = (R⁻¹ Bᵀ)ᵀ


def _qr_vjp(F, g, out, a, *, mode):
    (m, n), batch = a.shape[-2:], a.shape[:-2]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    shapes = qr_shapes(m, n, mode)
    q, r = unpack(F, out, batch, shapes)
    g_q, g_r = unpack(F, g, batch, shapes)
    if m >= n:
        return (_qr_tall_vjp(F, q, r, g_q, g_r),)
    left, right = (Ellipsis, slice(None), slice(0, m)), (Ellipsis, slice(None), slice(m, None))
    g_v = F.getitem(g_r, right)
    g_q = g_q + F.matmul(F.getitem(a, right), _mt(F, g_v))
    grad_x = _qr_tall_vjp(F, q, F.getitem(r, left), g_q, F.getitem(g_r, left))
    return (F.concatenate([grad_x, F.matmul(q, g_v)], -1),)


def _qr_samples(rng):
    return [Sample((_distinct_singular(rng, 4, 3),), {"mode": "reduced"}),
            Sample((_distinct_singular(rng, 3, 3, (2,)),), {"mode": "complete"}),
            Sample((_distinct_singular(rng, 2, 4),), {"mode": "reduced"}, note="wide"),
            Sample((_distinct_singular(rng, 2, 3, (2,)),), {"mode": "complete"}, note="wide")]


register("linalg_qr", forward=_qr_forward, vjp=_qr_vjp, samples=_qr_samples)


# --------------------------------------------------------------------------------------------
# Moore-Penrose pseudo-inverse P = A⁺ (n x m), singular values at most max(atol, rtol * σ₁)
# taken as zero (eigenvalues in absolute value, from the lower triangle, when hermitian).
#
# Where the rank is locally constant, dP = -P dA P + P Pᵀ dAᵀ (I - A P) + (I - P A) dAᵀ Pᵀ P,
# so Ā = -Pᵀ Ḡ Pᵀ + (I - A P) Ḡᵀ P Pᵀ + Pᵀ P Ḡᵀ (I - P A) (A P and P A are symmetric).


def _tolerance(values, atol, rtol, largest):
    """``max(atol, rtol * largest)`` per matrix, as a column for comparing with ``values``."""
    atol = np.asarray(atol, dtype=np.float64)[..., None]
    rtol = np.asarray(rtol, dtype=np.float64)[..., None]
    return np.maximum(atol, rtol * largest)


def _pinv_forward(a, *, atol, rtol, hermitian):
    m, n = a.shape[-2:]
    if a.size == 0 or m == 0 or n == 0:
        return np.zeros(np.broadcast_shapes(a.shape[:-2], np.shape(atol), np.shape(rtol))
                        + (n, m), dtype=a.dtype)
    if hermitian:
        values, vectors = np.linalg.eigh(a)
        magnitude = np.abs(values)
        keep = magnitude > _tolerance(values, atol, rtol, magnitude.max(-1, keepdims=True))
        with np.errstate(divide="ignore"):
            inverse = np.where(keep, 1.0 / values, 0.0).astype(a.dtype)
        return (vectors * inverse[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    keep = s > _tolerance(s, atol, rtol, s[..., :1])
    with np.errstate(divide="ignore"):
        inverse = np.where(keep, 1.0 / s, 0.0).astype(a.dtype)
    return (np.swapaxes(vh, -1, -2) * inverse[..., None, :]) @ np.swapaxes(u, -1, -2)


def _pinv_vjp(F, g, out, a, *, atol, rtol, hermitian):
    p, p_t, g_t = out, _mt(F, out), _mt(F, g)
    grad = -F.matmul(F.matmul(p_t, g), p_t)
    x = F.matmul(F.matmul(g_t, p), p_t)  # Ḡᵀ P Pᵀ, then (I - A P) applied on the left
    grad = grad + x - F.matmul(a, F.matmul(p, x))
    y = F.matmul(p_t, F.matmul(p, g_t))  # Pᵀ P Ḡᵀ, then (I - P A) applied on the right
    return (grad + y - F.matmul(F.matmul(y, p), a),)


def _pinv_samples(rng):
    def sample(a, atol=0.0, rtol=1e-12, note=""):
        return Sample((a,), {"atol": atol, "rtol": rtol, "hermitian": False}, note)

    rank_two = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 3))
    return [sample(_distinct_singular(rng, 3, 3)), sample(_distinct_singular(rng, 4, 2)),
            sample(_distinct_singular(rng, 2, 3, (2,))),
            sample(rank_two, rtol=1e-3, note="rank 2: perturbations stay under the cutoff")]


register("linalg_pinv", forward=_pinv_forward, vjp=_pinv_vjp, samples=_pinv_samples)


# --------------------------------------------------------------------------------------------
# LU with partial pivoting, as LAPACK's getrf stores it: A = P L U, L unit lower
# triangular (trapezoidal when m > n) in the strict lower part of one matrix, U in its upper
# part; pivots (1-based: row j was swapped with row pivots[j]). Packed as [LU, pivots], the
# pivots as floats (exact), locally constant so without gradient.
#
# Square: with X = L⁻¹ Pᵀ dA U⁻¹, L⁻¹ dL is X's strict lower part and dU U⁻¹ its upper part, so
# Ā = P L⁻ᵀ (tril(Lᵀ L̄, -1) + triu(Ū Uᵀ)) U⁻ᵀ. Tall (m > n): the rows below, L₂ = A₂ U⁻¹, add
# Ā₂ = L̄₂ U⁻ᵀ and -L₂ᵀ L̄₂ U⁻ᵀ to Ū. Wide (m < n): the columns right, U₂ = L⁻¹ A₂, add
# Ā₂ = L⁻ᵀ Ū₂ and -L⁻ᵀ Ū₂ U₂ᵀ to L̄.


def lu_factor_arrays(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(LU, pivots, info)`` of each matrix in ``a`` by Gaussian elimination with partial
    pivoting (LAPACK's choice: the first entry of largest magnitude in the column).

    ``pivots`` are int32 and 1-based; ``info`` (int32, per matrix) is the first ``j`` (1-based)
    with ``U[j-1, j-1] == 0``, else 0. Elimination continues past a zero pivot, as LAPACK's.
    """
    (m, n), batch = a.shape[-2:], a.shape[:-2]
    k = min(m, n)
    lu = np.array(a, copy=True, order="C")
    flat = lu.reshape((-1, m, n))
    count = flat.shape[0]
    pivots = np.zeros((count, k), dtype=np.int32)
    info = np.zeros(count, dtype=np.int32)
    rows = np.arange(count)
    for j in range(k):
        p = j + np.argmax(np.abs(flat[:, j:, j]), axis=-1)
        pivots[:, j] = p + 1
        row = flat[rows, j].copy()
        flat[rows, j] = flat[rows, p]
        flat[rows, p] = row
        pivot = flat[:, j, j]
        zero = pivot == 0
        info[(info == 0) & zero] = j + 1
        # NOTE: a zero pivot leaves its column (all zeros below it) unscaled, as LAPACK does.
        flat[:, j + 1:, j] /= np.where(zero, 1, pivot)[:, None]
        flat[:, j + 1:, j + 1:] -= flat[:, j + 1:, j:j + 1] * flat[:, j:j + 1, j + 1:]
    return lu, pivots.reshape(batch + (k,)), info.reshape(batch)


def permutation_matrices(pivots: np.ndarray, m: int, dtype) -> np.ndarray:
    """The ``P`` with ``A = P L U`` from LAPACK's 1-based pivots (``[*, k]`` -> ``[*, m, m]``)."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    flat = pivots.reshape(-1, k).astype(np.int64) - 1
    count = flat.shape[0]
    order = np.tile(np.arange(m), (count, 1))
    rows = np.arange(count)
    for j in range(k):
        p = flat[:, j]
        swapped = order[rows, j].copy()
        order[rows, j] = order[rows, p]
        order[rows, p] = swapped
    # Row i of Pᵀ A is row order[i] of A, so P[order[i], i] = 1.
    permutation = np.zeros((count, m, m), dtype=dtype)
    permutation[rows[:, None], order, np.arange(m)[None, :]] = 1
    return permutation.reshape(batch + (m, m))


def _lu_factor_forward(a):
    lu, pivots, _ = lu_factor_arrays(a)
    return pack(lu, pivots.astype(a.dtype), batch=a.shape[:-2])


def _triangles(n, dtype):
    ones = np.ones((n, n), dtype=dtype)
    return np.tril(ones, -1), np.triu(ones)


def _lu_square_vjp(F, lu, g_lu):
    n = lu.shape[-1]
    strict, upper = (F.const(t) for t in _triangles(n, F.data(lu).dtype))
    lower = lu * strict + F.const(np.eye(n, dtype=F.data(lu).dtype))
    inner = (F.matmul(_mt(F, lower), g_lu * strict) * strict
             + F.matmul(g_lu * upper, _mt(F, lu * upper)) * upper)
    y = F.op("linalg_solve_triangular", _mt(F, lu), inner, upper=True, unitriangular=True)
    return _mt(F, _solve_upper(F, lu, _mt(F, y)))  # L⁻ᵀ inner U⁻ᵀ


def _lu_factor_vjp(F, g, out, a):
    (m, n), batch = a.shape[-2:], a.shape[:-2]
    k, dtype = min(m, n), F.data(g).dtype
    lu, pivots = unpack(F, out, batch, [(m, n), (k,)])
    g_lu, _ = unpack(F, g, batch, [(m, n), (k,)])
    permutation = F.const(permutation_matrices(np.asarray(F.data(pivots)), m, dtype))
    strict, upper = (F.const(t) for t in _triangles(k, dtype))
    if m == n:
        x = _lu_square_vjp(F, lu, g_lu)
    elif m > n:
        top, bottom = (Ellipsis, slice(0, n), slice(None)), (Ellipsis, slice(n, None), slice(None))
        lu_top, lower_rest = F.getitem(lu, top), F.getitem(lu, bottom)
        x_rest = _mt(F, _solve_upper(F, lu_top, _mt(F, F.getitem(g_lu, bottom))))
        g_top = F.getitem(g_lu, top) - F.matmul(_mt(F, lower_rest), x_rest) * upper
        x = F.concatenate([_lu_square_vjp(F, lu_top, g_top), x_rest], -2)
    else:
        left, right = (Ellipsis, slice(None), slice(0, m)), (Ellipsis, slice(None), slice(m, None))
        lu_left, u_rest = F.getitem(lu, left), F.getitem(lu, right)
        x_rest = F.op("linalg_solve_triangular", _mt(F, lu_left), F.getitem(g_lu, right),
                      upper=True, unitriangular=True)
        g_left = F.getitem(g_lu, left) - F.matmul(x_rest, _mt(F, u_rest)) * strict
        x = F.concatenate([_lu_square_vjp(F, lu_left, g_left), x_rest], -1)
    return (F.matmul(permutation, x),)


def _lu_factor_samples(rng):
    return [Sample((rng.standard_normal((3, 3)) + np.diag([0.0, 2.0, -2.0]),)),
            Sample((rng.standard_normal((2, 4, 4)),)),
            Sample((rng.standard_normal((4, 2)),), note="tall"),
            Sample((rng.standard_normal((2, 2, 4)),), note="wide")]


register("linalg_lu_factor", forward=_lu_factor_forward, vjp=_lu_factor_vjp,
         samples=_lu_factor_samples)


# --------------------------------------------------------------------------------------------
# Matrix exponential, by scaling and squaring with the [13/13] Padé approximant (Higham 2005):
# exp(A) = r(A / 2^s)^(2^s) with s the least making ‖A / 2^s‖₁ <= θ₁₃, computed in float64.
#
# d exp(A) = ∫₀¹ e^{tA} dA e^{(1-t)A} dt, so Ā = ∫₀¹ e^{tAᵀ} Ḡ e^{(1-t)Aᵀ} dt: the top-right
# block of exp([[Aᵀ, Ḡ], [0, Aᵀ]]) (itself a matrix_exp, so differentiable again).

_PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
            1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
            33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA_13 = 5.371920351148152


def _matrix_exp_forward(a):
    if a.size == 0:
        return np.array(a, copy=True)
    x = a.astype(np.float64)
    norm = np.abs(x).sum(axis=-2).max(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        squarings = np.ceil(np.log2(norm / _THETA_13))
    # NOTE: a non-finite input skips the scaling (its result is non-finite anyway).
    squarings = np.where(np.isfinite(squarings) & (squarings > 0), squarings, 0.0)
    x = x / (2.0 ** squarings)[..., None, None]
    b, eye = _PADE_13, np.eye(a.shape[-1])
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2
             + b[1] * eye)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * eye
    try:
        result = np.linalg.solve(v - u, v + u)
    except np.linalg.LinAlgError:  # (only for non-finite input)
        result = np.full_like(x, np.nan)
    for step in range(int(squarings.max(initial=0))):
        result = np.where((step < squarings)[..., None, None], result @ result, result)
    return result.astype(a.dtype)


def _matrix_exp_vjp(F, g, out, a):
    n = a.shape[-1]
    a_t = _mt(F, a)
    block = F.concatenate([F.concatenate([a_t, g], -1),
                           F.concatenate([F.zeros_like(g), a_t], -1)], -2)
    return (F.getitem(F.op("matrix_exp", block), (Ellipsis, slice(0, n), slice(n, None))),)


def _matrix_exp_samples(rng):
    return [Sample((rng.standard_normal((3, 3)),)), Sample((rng.standard_normal((2, 2, 2)),)),
            Sample((4.0 * rng.standard_normal((3, 3)),), note="scaled and squared"),
            Sample((rng.standard_normal((1, 1)),))]


register("matrix_exp", forward=_matrix_exp_forward, vjp=_matrix_exp_vjp,
         samples=_matrix_exp_samples)
