"""Inverses, determinants and linear solves of (batches of) square matrices.

Each forward works on the last two axes (NumPy's LAPACK wrappers broadcast the batch axes, and
the engine sums broadcast gradients back). A singular matrix raises ``LinAlgError`` (a
RuntimeError, as PyTorch's ``torch.linalg.LinAlgError``), not NumPy's ValueError.
"""

from __future__ import annotations

import numpy as np

from .registry import Sample, register


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (a singular matrix), as
    ``torch.linalg.LinAlgError``."""


def _lapack(function, name: str):
    def call(*arrays, **attrs):
        try:
            return function(*arrays, **attrs)
        except np.linalg.LinAlgError as error:
            raise LinAlgError(f"{name}: the input matrix is singular ({error}), so the "
                              "operation could not be completed") from None

    return call


def _well_conditioned(rng, *shape):
    """Random square matrices near the identity (their inverses and logs stay tame)."""
    n = shape[-1]
    return rng.standard_normal(shape) * 0.3 + np.eye(n) * 2.0


# --------------------------------------------------------------------------------------------
# Inverse: d(A⁻¹) = -A⁻¹ dA A⁻¹, so Ā = -A⁻ᵀ Ḡ A⁻ᵀ.


def _inv_vjp(F, g, out, a):
    out_t = F.swapaxes(out, -1, -2)
    return (-F.matmul(F.matmul(out_t, g), out_t),)


def _inv_samples(rng):
    return [Sample((_well_conditioned(rng, 3, 3),)), Sample((_well_conditioned(rng, 2, 3, 3),)),
            Sample((_well_conditioned(rng, 1, 1),))]


register("linalg_inv", forward=_lapack(np.linalg.inv, "linalg.inv"), vjp=_inv_vjp,
         samples=_inv_samples)


# --------------------------------------------------------------------------------------------
# Determinant: d det = det · tr(A⁻¹ dA), so Ā = ḡ det A⁻ᵀ (the transposed adjugate).


def _adjugate_t(a: np.ndarray) -> np.ndarray:
    """The transposed adjugate of each matrix, through its SVD (defined for singular ones)."""
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    # adj(A) = det(U) det(Vᵀ) V diag(∏_{j≠i} s_j) Uᵀ; its transpose:
    return sign[..., None, None] * np.matmul(u * others[..., None, :], vt)


def _det_vjp(F, g, out, a):
    scale = F.reshape(g * out, g.shape + (1, 1))
    out_array = F.data(out)
    if np.all(out_array != 0):
        return (scale * F.swapaxes(F.op("linalg_inv", a), -1, -2),)
    # NOTE: a singular matrix has no inverse but a gradient all the same: g · adj(A)ᵀ, from
    # the SVD. It is a constant to a second derivative (exact first derivatives only there).
    adj_t = F.const(_adjugate_t(F.data(a)))
    return (F.reshape(g, g.shape + (1, 1)) * adj_t,)


def _det_samples(rng):
    singular = rng.standard_normal((3, 2)) @ rng.standard_normal((2, 3))
    return [Sample((_well_conditioned(rng, 3, 3),)), Sample((_well_conditioned(rng, 2, 2, 2),)),
            Sample((singular,), note="rank 2: gradient from the adjugate",
                   second_order=False)]


register("linalg_det", forward=np.linalg.det, vjp=_det_vjp, samples=_det_samples)


# --------------------------------------------------------------------------------------------
# log |det A|: d log|det| = tr(A⁻¹ dA), so Ā = ḡ A⁻ᵀ.


def _logabsdet_forward(a):
    return np.linalg.slogdet(a)[1]


def _logabsdet_vjp(F, g, out, a):
    return (F.reshape(g, g.shape + (1, 1)) * F.swapaxes(F.op("linalg_inv", a), -1, -2),)


def _logabsdet_samples(rng):
    return [Sample((_well_conditioned(rng, 3, 3),)), Sample((-_well_conditioned(rng, 2, 3, 3),))]


register("linalg_logabsdet", forward=_logabsdet_forward, vjp=_logabsdet_vjp,
         samples=_logabsdet_samples)


# --------------------------------------------------------------------------------------------
# Solve A X = B (B a batch of matrices; the api layer turns vectors into one-column matrices):
# B̄ = A⁻ᵀ Ḡ (another solve) and Ā = -B̄ Xᵀ.


def _solve_vjp(F, g, out, a, b, needs):
    grad_b = F.op("linalg_solve", F.swapaxes(a, -1, -2), g)
    grad_a = -F.matmul(grad_b, F.swapaxes(out, -1, -2)) if needs[0] else None
    return grad_a, (grad_b if needs[1] else None)


def _solve_samples(rng):
    return [Sample((_well_conditioned(rng, 3, 3), rng.standard_normal((3, 2)))),
            Sample((_well_conditioned(rng, 2, 3, 3), rng.standard_normal((3, 1)))),
            Sample((_well_conditioned(rng, 3, 3), rng.standard_normal((2, 3, 4))))]


register("linalg_solve", forward=_lapack(np.linalg.solve, "linalg.solve"), vjp=_solve_vjp,
         wants_needs=True, samples=_solve_samples)


# --------------------------------------------------------------------------------------------
# Triangular solve T X = B, where T is A's upper (or lower) triangle, with ones on the diagonal
# when unitriangular: only those entries of A are read, so only they get a gradient.


def _triangle(n: int, upper: bool, unitriangular: bool) -> np.ndarray:
    mask = np.triu(np.ones((n, n))) if upper else np.tril(np.ones((n, n)))
    if unitriangular:
        np.fill_diagonal(mask, 0.0)
    return mask


def _solve_triangular_forward(a, b, *, upper, unitriangular):
    t = a * _triangle(a.shape[-1], upper, unitriangular).astype(a.dtype)
    if unitriangular:
        t = t + np.eye(a.shape[-1], dtype=a.dtype)
    return _lapack(np.linalg.solve, "linalg.solve_triangular")(t, b)


def _solve_triangular_vjp(F, g, out, a, b, needs, *, upper, unitriangular):
    grad_b = F.op("linalg_solve_triangular", F.swapaxes(a, -1, -2), g, upper=not upper,
                  unitriangular=unitriangular)
    grad_a = None
    if needs[0]:
        mask = _triangle(a.shape[-1], upper, unitriangular).astype(F.data(g).dtype)
        grad_a = -F.matmul(grad_b, F.swapaxes(out, -1, -2)) * F.const(mask)
    return grad_a, (grad_b if needs[1] else None)


def _solve_triangular_samples(rng):
    a = _well_conditioned(rng, 3, 3)
    return [Sample((a, rng.standard_normal((3, 2))), {"upper": True, "unitriangular": False}),
            Sample((a, rng.standard_normal((3, 2))), {"upper": False, "unitriangular": False}),
            Sample((_well_conditioned(rng, 2, 3, 3), rng.standard_normal((3, 1))),
                   {"upper": False, "unitriangular": True})]


register("linalg_solve_triangular", forward=_solve_triangular_forward,
         vjp=_solve_triangular_vjp, wants_needs=True, samples=_solve_triangular_samples)
