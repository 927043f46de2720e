"""Matrix decompositions: Cholesky, symmetric eigendecomposition, SVD, QR and the
pseudo-inverse (LU is in ``linalg_solve``, with the LAPACK layer; the matrix exponential in
``linalg``).

A decomposition with several results (``U, S, Vh``) is one op whose forward returns them packed
into one array (``linalg_solve.pack``: each result a block of rows of a ``[*, rows, width]``
array, a vector one row, narrower blocks padded with zeros on the right), so the api layer
takes each one out with one basic index (a ``packed_part`` node each). One op per
decomposition means one LAPACK call per matrix in the forward and one rule per backward: the
parts' own gradients scatter each result's cotangent back into the packed one, so the rule
sees every cotangent at once (zeros for results not used).

Forwards call LAPACK through SciPy when it is there (one matrix, or a batch of up to
``LOOP_MAX``), else ``np.linalg`` (see ``linalg_solve``: ``USE_SCIPY``, ``lapack``).

Symmetric inputs (Cholesky, eigh): by default the forward factors ``(A + Aᵀ) / 2``, which is
``A`` itself, bit for bit, for a symmetric ``A``. The gradient is then the symmetric one PyTorch
returns, and it is the exact derivative of the op, so the registry can gradcheck it. The api
layer passes ``triangle='L'`` (or ``'U'``): the forward then reads that triangle only, as
PyTorch's (LAPACK itself reads one triangle: no symmetrizing, no check), and the rule still
returns the symmetric gradient, PyTorch's convention, which for a non-symmetric ``A`` is not
the derivative in the unread entries (0); it is the same function and gradient as the default
for symmetric ``A``, where the registry checks it.

Rules are written against ``F`` so that they are differentiable again (``create_graph=True``).
They hold where the decomposition is differentiable: distinct eigenvalues / singular values,
full rank for QR and the pseudo-inverse (its rank must not change near ``A``). Where only the
eigenvalues (singular values) carry a cotangent, the first-order rule takes PyTorch's short
form ``V diag(w̄) Vᵀ``, finite for repeated values too.
"""

from __future__ import annotations

import numpy as np

from .linalg_solve import (
    LinAlgError,
    _by_columns,
    _mt,
    _solve_upper,
    batch_element,
    constant,
    lapack,
    lu_factor_arrays,  # noqa: F401 - re-exported: its tests import it here
    pack,
    packed_each,
    solve_triangular_arrays,
    triangle_mask,
    unpack,
)
from .qr_arrays import QR_MODES, qr_arrays, qr_forward, qr_shapes  # noqa: F401 (moved, s31)
from .registry import ARRAY, Sample, register

# --------------------------------------------------------------------------------------------
# Shared pieces: packing, per-matrix LAPACK calls, masks and the small helpers rules use.


def _symmetric(a: np.ndarray, triangle: str | None) -> np.ndarray:
    """The symmetric matrices the op factors: ``(a + aᵀ) / 2`` (``triangle`` None; exactly
    ``a`` when ``a`` is symmetric: a + a = 2a and halving are exact), or those of ``a``'s lower
    (``'L'``) or upper (``'U'``) triangle."""
    transposed = a.swapaxes(-1, -2)
    if transposed.dtype.kind == "c":  # (Hermitian: the conjugate transpose)
        transposed = np.conj(transposed)
    if triangle is not None:
        return np.where(triangle_mask(a.shape[-1], triangle == "U", False, bool), a, transposed)
    # (the array's own swapaxes and an in-place halving: 1.6 -> 0.8 us on 3 x 3)
    symmetric = a + transposed
    symmetric *= 0.5
    return symmetric


def laid_out(data: np.ndarray, columns: bool, dtype=None, rows: int = 0) -> np.ndarray:
    """``data`` in new memory (cast to ``dtype``), as LAPACK (and PyTorch) leave results: with
    ``columns``, each matrix (last two dims) column-major and the batch row-major over them;
    else row-major. With ``rows`` past the matrices' (vectors') own, the first of that many."""
    shape = data.shape
    if not rows and dtype is None:  # (one copy, no setitem: svd's U of [2, 3, 3] 3.1 ->
        # 1.3 us, of 3 x 3 1.0 -> 0.35, on a loaded machine)
        if not columns or len(shape) < 2:
            return data.copy()
        return data.copy(order="F") if len(shape) == 2 else data.mT.copy().mT
    dtype = dtype or data.dtype
    if columns and len(shape) >= 2:
        made = np.empty(shape[:-2] + (shape[-1], max(rows, shape[-2])), dtype).swapaxes(-1, -2)
        if rows > shape[-2]:
            made = made[..., :shape[-2], :]
    elif shape and rows > shape[-1]:
        made = np.empty(shape[:-1] + (rows,), dtype)[..., :shape[-1]]
    else:
        made = np.empty(shape, dtype)
    made[...] = data
    return made


def part_copied(block: np.ndarray, order: str, rows: int) -> bool:
    """Whether a packed result's block is laid out anew for ``order`` (``'F'`` each matrix
    column-major, ``'C'`` row-major, ``'-'`` a view: see api/_common.py's ``parts``); a
    vector of one matrix is PyTorch's already (a view, as before)."""
    return order != "-" and not (order == "C" and block.ndim < 2 and block.flags.c_contiguous
                                 and not rows)


def _part_forward(packed, *, index, order="-", rows=0):
    block = packed[index]
    return laid_out(block, order == "F", rows=rows) if part_copied(block, order, rows) else block


def _part_vjp(F, g, out, packed, *, index, order="-", rows=0):
    # One result's cotangent in its block of the packed one, zeros elsewhere (results not used
    # send none: the rule of the decomposition sees zeros there).
    out  # noqa: B018 - "read": a result laid out anew (``order``) is no view of the packed
    # one, whose changes the decomposition's rule sees; this node then checks its own, so that
    # `Q.mul_(2)` and a backward raise PyTorch's "modified by an inplace operation"
    if F is ARRAY:
        grad = np.zeros(packed.shape, packed.dtype)
        grad[index] = g
        return (grad,)
    return (F.index_add_zeros(g, index, packed.shape, F.data(packed).dtype),)


def _part_samples(rng):
    packed = rng.standard_normal((2, 4, 3))
    return [Sample((packed,), {"index": (Ellipsis, slice(0, 3), slice(None))}),
            Sample((packed,), {"index": (Ellipsis, 3, slice(0, 2))}, "a padded vector row")]


# One result of a packed decomposition (a block of rows, a basic index): what the api layer
# returns, made by api/_common.py's `parts` without `apply` and with this lean rule (getitem's
# general one checks the index each time). With `parts`: the op table's five linalg ops
# (qr, svd, lu_factor, eigh, logabsdet) 0.936 of their time, engine time over the arrays' own
# forward + VJP 83 -> 59 us (ab.py's ops workload against HEAD, 25 rounds, 1 thread).
register("packed_part", forward=_part_forward, vjp=_part_vjp,
         samples=_part_samples, grads="exact")


def _diag_embed(F, v, dtype):
    """Diagonal matrices with ``v`` (``[*, n]``) on their diagonals."""
    n = v.shape[-1]
    return F.reshape(v, v.shape[:-1] + (1, n)) * F.const(constant("eye", n, dtype))


def _inverse_gaps(F, values, dtype):
    """``E[i, j] = 1 / (values[j] - values[i])`` off the diagonal, 0 on it (``[*, n, n]``)."""
    n = values.shape[-1]
    columns = F.reshape(values, values.shape[:-1] + (1, n))
    rows = F.reshape(values, values.shape[:-1] + (n, 1))
    # NOTE: equal values give 1/0 = inf: the decomposition is not differentiable there (as in
    # PyTorch, the gradient is then inf or nan).
    with np.errstate(divide="ignore", invalid="ignore"):
        return F.const(constant("off", n, dtype)) / (columns - rows
                                                     + F.const(constant("eye", n, dtype)))


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
    complex_ = lower.dtype.kind == "c"  # (zpotf2: rows conjugated, the diagonal's real part)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(n):
            active = info == 0
            row = lower[..., j, :j]
            if complex_:
                row = np.conj(row)  # (the products below take conj(L[j, :j]))
                d = (lower[..., j, j] - np.sum(np.conj(row) * row, axis=-1)).real
            else:
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


def not_positive_definite(name: str, order: int, index: int, batched: bool) -> str:
    """PyTorch's message for the first matrix (``index`` in the batch) whose Cholesky
    factorization failed, at the leading minor of ``order``."""
    return (f"{name}: {batch_element(index, batched)}The factorization could not be completed "
            f"because the input is not positive-definite (the leading minor of order {order} is "
            "not positive-definite).")


def _cholesky_forward(a, *, triangle=None):
    lower = _cholesky_factor(a, triangle)
    total = np.add.reduce(lower, axis=None)  # (nan / inf anywhere in L: a pivot is suspect)
    if not abs(total) < np.inf:
        # OpenBLAS's potrf (and NumPy's) let a nan or inf through where PyTorch's LAPACK
        # stops (a nan pivot fails potf2's test; an inf pivot makes the column below it nan):
        # potf2's own steps decide, the same error at the minor it names, or its factor. The
        # check: linalg.cholesky of 3 x 3, 2.2 -> 3.1 us (one reduction; CPU time, 1 thread)
        partial, info = cholesky_partial(_symmetric(a, triangle))
        flat = info.reshape(-1)
        if flat.any():
            index = int(np.flatnonzero(flat)[0])
            raise LinAlgError(not_positive_definite("linalg.cholesky", int(flat[index]), index,
                                                    info.ndim > 0))
        return partial
    # PyTorch's factor is column-major (LAPACK's): L itself, or U read as a row-major L's
    # transpose (the api layer's view); the same values (s29 BR21)
    return np.ascontiguousarray(lower) if triangle == "U" else _by_columns(lower)


def _cholesky_factor(a, triangle):
    potrf = lapack("potrf", a)
    if potrf is not None and a.ndim == 2:
        # LAPACK reads the lower triangle: a's own ('L'), its transpose's ('U'; Fortran-ordered,
        # no copy), or the symmetric part's
        matrix = a if triangle == "L" else a.T if triangle == "U" else _symmetric(a, None)
        lower, info = potrf(matrix, lower=1, clean=1, overwrite_a=triangle is None)
        if info:
            raise LinAlgError(not_positive_definite("linalg.cholesky", info, 0, False))
        return lower
    symmetric = _symmetric(a, triangle)
    if potrf is not None:
        def into(out, matrix, index, batched):
            # (the transpose of a symmetric matrix is itself, and Fortran-ordered: no copy)
            lower, info = potrf(matrix.T, lower=1, clean=1, overwrite_a=1)
            if info:
                raise LinAlgError(not_positive_definite("linalg.cholesky", info, index, True))
            out[...] = lower

        n = a.shape[-1]
        packed = packed_each(into, symmetric, n, n, False)
        if packed is not None:
            return packed
    try:
        lower = np.linalg.cholesky(symmetric)
        return _by_columns(lower) if lower.dtype.kind == "c" else lower  # (LAPACK's, SL22)
    except np.linalg.LinAlgError:
        info = cholesky_partial(symmetric)[1]
        flat = info.reshape(-1)
        index = int(np.flatnonzero(flat)[0])
        raise LinAlgError(not_positive_definite("linalg.cholesky", int(flat[index]), index,
                                                info.ndim > 0)) from None


def _cholesky_complex_vjp(F, out, g):
    """PyTorch's rule for complex L: Φ = tril(Lᴴ Ḡ), M = (Φ + tril(Φ, -1)ᴴ) / 2, Ā = L⁻ᴴ M L⁻¹
    (M keeps Φ's complex diagonal, so Ā is PyTorch's, not its Hermitian part). CX, s16."""
    n = out.shape[-1]
    lower, strict = np.tri(n, dtype=bool), np.tri(n, k=-1, dtype=bool)
    if F is ARRAY:
        phi = np.where(lower, np.matmul(np.conj(out.swapaxes(-1, -2)), g), 0)
        m = 0.5 * (phi + np.conj(np.where(strict, phi, 0).swapaxes(-1, -2)))
        inverse = np.linalg.inv(out)
        return (np.matmul(np.matmul(np.conj(inverse.swapaxes(-1, -2)), m), inverse),)

    def mh(x):
        return F.op("conj_physical", _mt(F, x))

    lh = mh(out)
    phi = F.matmul(lh, g) * F.const(lower.astype(np.float64))
    m = (phi + mh(phi * F.const(strict.astype(np.float64)))) * 0.5
    x = _solve_upper(F, lh, m)  # L⁻ᴴ M
    return (mh(_solve_upper(F, lh, mh(x))),)  # (L⁻ᴴ (L⁻ᴴ M)ᴴ)ᴴ = L⁻ᴴ M L⁻¹


def _cholesky_vjp(F, g, out, a, *, triangle=None):
    if F.data(out).dtype.kind == "c":
        return _cholesky_complex_vjp(F, out, g)
    if F is ARRAY:
        phi = np.matmul(out.swapaxes(-1, -2), g)
        phi *= constant("half_lower", out.shape[-1], g.dtype)
        if out.ndim == 2:  # two trsm calls with the transposes folded in
            x = solve_triangular_arrays(out, phi, upper=False, transpose=True)  # L⁻ᵀ Φ
            x = solve_triangular_arrays(out, x, upper=False, left=False)  # L⁻ᵀ Φ L⁻¹
        else:  # a batch: one batched inverse, then products (two batched solves cost more)
            inverse = np.linalg.inv(out)
            x = np.matmul(np.matmul(inverse.swapaxes(-1, -2), phi), inverse)
        grad = x + x.swapaxes(-1, -2)
        grad *= 0.5
        return (grad,)
    lt = _mt(F, out)
    phi = F.matmul(lt, g) * F.const(constant("half_lower", out.shape[-1], F.data(g).dtype))
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


def eigh_arrays(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix (its lower triangle read)."""
    syevd = lapack("syevd", a) if a.ndim == 2 else None
    if syevd is None:
        return np.linalg.eigh(a)
    # (LAPACK's upper triangle of the Fortran-ordered transpose: the lower one, no copy)
    values, vectors, info = syevd(a.T, lower=0)
    if info:
        raise _eigh_failed(info)
    return values, vectors


def _eigh_failed(info: int) -> LinAlgError:
    return LinAlgError("linalg.eigh: The algorithm failed to converge because the input matrix "
                       f"is ill-conditioned or has too many repeated eigenvalues (error code: "
                       f"{info}).")


def _eigh_forward(a, *, triangle=None):
    syevd = lapack("syevd", a)
    if syevd is not None and a.ndim == 2:  # (one matrix inline; 3 x 3: 4.4 us, 2.7 with a triangle)
        if triangle is None:
            a = _symmetric(a, None)
        # (LAPACK reads one triangle: a's own with 'L' or 'U', no symmetrizing)
        values, vectors, info = syevd(a, lower=int(triangle != "U"), overwrite_a=triangle is None)
        if info:
            raise _eigh_failed(info)
        packed = np.empty((a.shape[0] + 1, a.shape[0]), dtype=a.dtype)
        packed[0] = values
        packed[1:] = vectors
        return packed
    symmetric = _symmetric(a, triangle)
    if syevd is not None:
        lower = int(triangle != "U")  # (the triangle PyTorch's LAPACK call reads: its signs)

        def into(out, matrix, index, batched):  # (packed: w the first row, V the rows below)
            out[0], out[1:], info = syevd(matrix, lower=lower, overwrite_a=1)
            if info:
                raise _eigh_failed(info)

        n = a.shape[-1]
        packed = packed_each(into, symmetric, n + 1, n, False)
        if packed is not None:
            return packed
    values, vectors = np.linalg.eigh(symmetric)  # (complex: Hermitian, NumPy's heevd)
    # (complex A: the real eigenvalues packed as complex, the api takes their real part back)
    return pack(values.astype(vectors.dtype, copy=False), vectors, batch=a.shape[:-2])


def _eigh_complex_vjp(F, g, out, n):
    """PyTorch's rule for Hermitian A: Ā = V (skew(Vᴴ V̄) ∘ E + diag(Re w̄)) Vᴴ with
    skew(X) = (X - Xᴴ) / 2 and E the real rule's inverse gaps; Hermitian, the complex form of
    the real rule's symmetrizing. w̄'s imaginary part is dropped: w is real (its packed row's
    imaginary part a constant 0). CE, s16."""
    values, vectors = unpack(F, out, [(n,), (n, n)])
    g_values, g_vectors = unpack(F, g, [(n,), (n, n)])
    values, g_values = F.op("real", values), F.op("real", g_values)
    dtype = F.data(values).dtype
    vh = F.op("conj_physical", _mt(F, vectors))
    x = F.matmul(vh, g_vectors)
    # A loss that reads the eigenvectors' phases (Im diag(Vᴴ V̄) not 0) has no gradient: as
    # PyTorch, refuse (its tolerance) rather than return one for a phase LAPACK happened to pick.
    if not np.allclose(np.diagonal(F.data(x), 0, -2, -1).imag, 0, rtol=1e-2, atol=1e-2):
        raise RuntimeError("linalg_eigh_backward: The eigenvectors in the complex case are "
                           "specified up to multiplication by e^{i phi}. The specified loss "
                           "function depends on this quantity, so it is ill-defined.")
    skew = (x - F.op("conj_physical", _mt(F, x))) * 0.5
    inner = skew * _inverse_gaps(F, values, dtype) + _diag_embed(F, g_values, dtype)
    return (F.matmul(F.matmul(vectors, inner), vh),)


def _eigh_vjp(F, g, out, a, *, triangle=None):
    n = a.shape[-1]
    if F.data(out).dtype.kind == "c":
        return _eigh_complex_vjp(F, g, out, n)
    # (np.count_nonzero: 0.3 us where .any() costs 0.8; np.dot on matrices: 0.6 against
    # matmul's 0.8)
    if F is ARRAY and not np.count_nonzero(g[..., 1:, :]):  # (packed: w row 0, V below)
        # Only the eigenvalues are used: V diag(w̄) Vᵀ (symmetric), PyTorch's rule there.
        vectors = out[..., 1:, :]
        if out.ndim == 2:
            return (np.dot(vectors * g[:1], vectors.T),)
        return (np.matmul(vectors * g[..., :1, :], vectors.swapaxes(-1, -2)),)
    dtype = F.data(g).dtype
    values, vectors = unpack(F, out, [(n,), (n, n)])
    g_values, g_vectors = unpack(F, g, [(n,), (n, n)])
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


def svd_arrays(a: np.ndarray, full_matrices: bool) -> tuple:
    """``(U, S, Vh)`` of each matrix (LAPACK's gesdd, as PyTorch's on the CPU)."""
    gesdd = lapack("gesdd", a) if a.ndim == 2 and a.size else None
    if gesdd is not None:
        u, s, vh, info = gesdd(a, full_matrices=int(full_matrices))
        if info:
            raise LinAlgError(_svd_failed(info))
        return u, s, vh
    try:
        return np.linalg.svd(a, full_matrices=full_matrices)
    except np.linalg.LinAlgError:
        raise LinAlgError(_svd_failed(-1)) from None


def _svd_failed(info: int) -> str:
    why = ("contained non-finite values" if info < 0 else "is ill-conditioned or has too many "
           f"repeated singular values (error code: {info})")
    return f"linalg.svd: The algorithm failed to converge because the input matrix {why}."


def _svd_into(out, a, index, batched, gesdd, full_matrices: bool):
    """One matrix's U, S and Vh into its zeroed slice of the packed result (their rows)."""
    m, n = a.shape
    u, s, vh, info = gesdd(a, 1, int(full_matrices))  # (compute_uv, full_matrices)
    if info:
        raise LinAlgError(_svd_failed(info))
    out[:m, :u.shape[1]] = u
    out[m, :s.shape[0]] = s
    out[m + 1:, :n] = vh


def _svd_forward(a, *, full_matrices):
    gesdd = lapack("gesdd", a) if a.size else None
    if gesdd is not None:
        m, n = a.shape[-2:]
        k = min(m, n)
        columns, rows = (m, n) if full_matrices else (k, k)  # U's, Vh's
        shape = (m + 1 + rows, max(columns, n))
        if a.ndim == 2:  # (one matrix: no loop, no closure)
            packed = np.zeros(shape, dtype=a.dtype)
            _svd_into(packed, a, 0, False, gesdd, full_matrices)
            return packed
        packed = packed_each(_svd_into, a, *shape, True, extra=(gesdd, full_matrices))
        if packed is not None:
            return packed
    return pack(*svd_arrays(a, full_matrices), batch=a.shape[:-2])


def _svd_vjp(F, g, out, a, *, full_matrices):
    (m, n), batch = a.shape[-2:], a.shape[:-2]
    k = min(m, n)
    if F is ARRAY and not np.count_nonzero(g[..., :m, :]) and not np.count_nonzero(
            g[..., m + 1:, :]):
        # Only the singular values are used (packed rows: U, S, Vh): U diag(S̄) Vh, PyTorch's
        # rule there.
        u, vh = out[..., :m, :k], out[..., m + 1:m + 1 + k, :n]
        return ((np.dot if u.ndim == 2 else np.matmul)(u * g[..., m, None, :k], vh),)
    dtype = F.data(g).dtype
    shapes = svd_shapes(m, n, full_matrices)
    u, s, vh = unpack(F, out, shapes)
    g_u, g_s, g_vh = unpack(F, g, shapes)
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

def _qr_tall_vjp(F, q, r, g_q, g_r):
    n = r.shape[-1]
    if F is ARRAY:  # copyltu(M) in one np.where, B R⁻ᵀ as one right-hand trsm
        product = np.dot if r.ndim == 2 else np.matmul  # (np.dot: 0.6 against 0.8 us)
        m_matrix = product(r, g_r.swapaxes(-1, -2))
        used_q = np.count_nonzero(g_q)  # (only R used: two products fewer)
        if used_q:
            m_matrix -= product(g_q.swapaxes(-1, -2), q)
        lower = triangle_mask(n, False, False, bool)
        b = product(q, np.where(lower, m_matrix, m_matrix.swapaxes(-1, -2)))
        if used_q:
            b += g_q
        return solve_triangular_arrays(r, b, upper=True, transpose=True, left=False)
    dtype = F.data(r).dtype
    m_matrix = F.matmul(r, _mt(F, g_r)) - F.matmul(_mt(F, g_q), q)
    lower = m_matrix * F.const(triangle_mask(n, False, False, dtype))
    strict = m_matrix * F.const(triangle_mask(n, False, True, dtype))
    b = g_q + F.matmul(q, lower + _mt(F, strict))
    return _mt(F, _solve_upper(F, r, _mt(F, b)))  # B R⁻ᵀ = (R⁻¹ Bᵀ)ᵀ


def _qr_complex_vjp(F, g, out, a, m, n, mode):
    """PyTorch's rule for complex A: N = R̄ Rᴴ - Qᴴ Q̄, S = triu(N) + triu(N)ᴴ with diagonal
    Re diag(N) (R's diagonal is real), Ā = (Q̄ + Q S) R⁻ᴴ; wide A as the real rule, with Y V̄ᴴ
    added to Q̄ and Ȳ = Q V̄. The real rule's copyltu is the same S, transposed. CE, s16."""
    def mh(x):
        return F.op("conj_physical", _mt(F, x))

    q, r = unpack(F, out, qr_shapes(m, n, mode))
    g_q, g_r = unpack(F, g, qr_shapes(m, n, mode))
    if m < n:
        left, right = (Ellipsis, slice(None), slice(0, m)), (Ellipsis, slice(None), slice(m, None))
        g_v = F.getitem(g_r, right)
        g_q = g_q + F.matmul(F.getitem(a, right), mh(g_v))
        r, g_r = F.getitem(r, left), F.getitem(g_r, left)
    k = min(m, n)
    real = F.data(r).real.dtype
    product = F.matmul(g_r, mh(r)) - F.matmul(mh(q), g_q)
    upper = product * F.const(triangle_mask(k, True, False, real))
    diagonal = F.op("real", product * F.const(constant("eye", k, real)))
    b = g_q + F.matmul(q, upper + mh(upper) - diagonal)
    grad = mh(_solve_upper(F, r, mh(b)))  # B R⁻ᴴ = (R⁻¹ Bᴴ)ᴴ
    return (grad if m >= n else F.concatenate([grad, F.matmul(q, g_v)], -1),)


def _qr_vjp(F, g, out, a, *, mode):
    m, n = a.shape[-2:]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    if F.data(out).dtype.kind == "c":
        return _qr_complex_vjp(F, g, out, a, m, n, mode)
    if m >= n:  # (packed: Q the first m rows, R the n below; both n wide)
        top, bottom = (Ellipsis, slice(0, m), slice(None)), (Ellipsis, slice(m, None), slice(None))
        return (_qr_tall_vjp(F, F.getitem(out, top), F.getitem(out, bottom), F.getitem(g, top),
                             F.getitem(g, bottom)),)
    if F is ARRAY:  # the same steps on array views, into one result (no concatenate)
        product = np.dot if a.ndim == 2 else np.matmul
        q, r, g_r = out[..., :m, :m], out[..., m:, :], g[..., m:, :]
        g_v = g_r[..., m:]
        g_q = g[..., :m, :m] + product(a[..., m:], g_v.swapaxes(-1, -2))
        grad = np.empty(g.shape[:-2] + (m, n), dtype=g.dtype)
        grad[..., :m] = _qr_tall_vjp(F, q, r[..., :m], g_q, g_r[..., :m])
        grad[..., m:] = product(q, g_v)
        return (grad,)
    shapes = qr_shapes(m, n, mode)
    q, r = unpack(F, out, shapes)
    g_q, g_r = unpack(F, g, shapes)
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


register("linalg_qr", forward=qr_forward, vjp=_qr_vjp, samples=_qr_samples)


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
        values, vectors = eigh_arrays(a)
        magnitude = np.abs(values)
        keep = magnitude > _tolerance(values, atol, rtol, magnitude.max(-1, keepdims=True))
        with np.errstate(divide="ignore"):
            inverse = np.where(keep, 1.0 / values, 0.0).astype(a.dtype)
        return (vectors * inverse[..., None, :]) @ np.swapaxes(vectors, -1, -2)
    u, s, vh = svd_arrays(a, False)
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


