"""Matrix products (matmul, einsum), the matrix exponential and singular values."""

from __future__ import annotations

import numpy as np

from .linalg_solve import LinAlgError, lapack
from .registry import ARRAY, Sample, einsum_optimize, register

# --------------------------------------------------------------------------------------------
# Matrix product: 1-D, 2-D and batched, with NumPy's (= PyTorch's) broadcasting of batch dims.


def _matmul_forward(x, y):
    # Two matrices: ndarray.dot is the same product (BLAS gemm for float32 / float64, on
    # transposed views too) with less dispatch than np.matmul: 0.44 against 0.77 us on 8 x 8.
    if x.ndim == 2 and y.ndim == 2:
        if x.dtype.kind == "b":  # (operands share a dtype here; PyTorch has no bool kernel)
            raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
        return x.dot(y)
    if x.dtype.kind == "b" == y.dtype.kind:
        raise NotImplementedError("\"matmul\" not implemented for 'Bool'")
    return np.matmul(x, y)


def _matmul_vjp(F, g, out, x, y, needs):
    if F is ARRAY and x.ndim == 2 and y.ndim == 2 and type(g) is np.ndarray:
        # The general rule's products on transposed views, with ndarray.dot (above): the rule
        # on 8 x 8 with both gradients 1.95 -> 1.0 us.
        return (g.dot(y.T) if needs[0] else None), (x.T.dot(g) if needs[1] else None)
    if x.ndim == 1 and y.ndim == 1:
        return (g * y if needs[0] else None), (g * x if needs[1] else None)
    # Promote 1-D operands to matrices, as matmul itself does, then undo it.
    x2 = F.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    y2 = F.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    g2 = g
    if x.ndim == 1:
        g2 = F.reshape(g2, g.shape[:-1] + (1,) + g.shape[-1:])
    if y.ndim == 1:
        g2 = F.reshape(g2, g2.shape + (1,))
    gx = gy = None
    if needs[0]:
        gx = F.matmul(g2, F.swapaxes(y2, -1, -2))
        if x.ndim == 1:
            gx = F.reshape(_sum_leading(F, gx, 2), x.shape)
    if needs[1]:
        gy = F.matmul(F.swapaxes(x2, -1, -2), g2)
        if y.ndim == 1:
            gy = F.reshape(_sum_leading(F, gy, 2), y.shape)
    return gx, gy


def _sum_leading(F, t, keep):
    """Sum all but the last ``keep`` axes (batch axes a 1-D operand was broadcast over)."""
    lead = t.ndim - keep
    return F.sum(t, tuple(range(lead))) if lead > 0 else t


def _matmul_samples(rng):
    pairs = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
             ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
             ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]
    return [Sample((rng.standard_normal(a), rng.standard_normal(b))) for a, b in pairs]


register("matmul", forward=_matmul_forward, vjp=_matmul_vjp, wants_needs=True,
         samples=_matmul_samples)


# --------------------------------------------------------------------------------------------
# Einstein summation over a normalised equation: an explicit output, no ellipsis, every label
# with one size (the api layer expands broadcast size-1 axes before it gets here).


def _einsum_forward(*xs, equation):
    if xs[0].dtype == np.float16 and len(xs) <= 2:
        # PyTorch's half bmm / sum accumulate in float32 and round once; NumPy's float16
        # einsum rounds its partial sums (ij,jk->ik: an fp16 ulp off in some entries). Chains
        # of three or more stay NumPy's (PyTorch rounds each pairwise product: optimize=True's
        # tensordot steps do the same).
        wide = np.einsum(equation, *(x.astype(np.float32) for x in xs))
        return wide.astype(np.float16)
    return np.einsum(equation, *xs, optimize=einsum_optimize(xs))


def _einsum_vjp(F, g, out, *xs, equation):
    # The gradient of operand i is the einsum of g with the other operands, onto i's labels.
    # Two cases need more than that einsum: a label only operand i has (summed in the
    # forward, so broadcast back) and a label repeated in i (a diagonal, placed back).
    key = (equation, tuple(x.shape for x in xs))
    plan = _EINSUM_VJP_PLANS.get(key)
    if plan is None:
        plan = _einsum_vjp_plan(*key)
        if len(_EINSUM_VJP_PLANS) >= 512:  # (bounded: a loop over ever new shapes)
            _EINSUM_VJP_PLANS.clear()
        _EINSUM_VJP_PLANS[key] = plan
    grads = []
    for i, (x, (contraction, kept_shape, full_shape, index)) in enumerate(zip(xs, plan)):
        t = F.einsum(contraction, g, *(y for j, y in enumerate(xs) if j != i))
        if kept_shape is not None:
            t = F.expand(F.reshape(t, kept_shape), full_shape)
        if index is not None:
            # out[index] = t, where axis a of x takes the coordinate of its label in t.
            t = F.index_add_zeros(t, index, x.shape, F.data(t).dtype)
        grads.append(t)
    return tuple(grads)


# Each (equation, shapes)'s rule, worked out once: the planning is Python string work that
# costs more than the small contractions themselves (einsum's rule alone on [2, 3] @ [3, 4]:
# 14.9 -> 6.5 us; with its forward 13.2 -> 9.0 us, paired against the code before).
_EINSUM_VJP_PLANS: dict = {}


def _einsum_vjp_plan(equation, shapes):
    """Per operand: the contraction that gives its gradient, the shapes to reshape and expand
    it to where the operand has labels of its own (None if not), and the index that places a
    diagonal back (None if no label repeats)."""
    inputs, output = equation.split("->")
    terms = inputs.split(",")
    plan = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        others = [t for j, t in enumerate(terms) if j != i]
        present = set(output).union(*others)
        labels = list(dict.fromkeys(term))  # unique, in order of first appearance
        kept = "".join(label for label in labels if label in present)
        sizes = {label: n for label, n in zip(term, shape)}
        kept_shape = full_shape = index = None
        if len(kept) < len(labels):
            kept_shape = tuple(sizes[label] if label in kept else 1 for label in labels)
            full_shape = tuple(sizes[label] for label in labels)
        if len(labels) < len(term):
            grid = np.indices(tuple(sizes[label] for label in labels), sparse=True)
            index = tuple(grid[labels.index(label)] for label in term)
        plan.append((",".join([output, *others]) + "->" + kept, kept_shape, full_shape, index))
    return tuple(plan)


def _einsum_samples(rng):
    def s(equation, *shapes):
        return Sample(tuple(rng.standard_normal(shape) for shape in shapes),
                      {"equation": equation}, equation)

    return [s("ij,jk->ik", (2, 3), (3, 4)), s("bij,bjk->bik", (2, 2, 3), (2, 3, 2)),
            s("ii->i", (3, 3)), s("ii->", (3, 3)), s("ij->", (2, 3)), s("i,j->ij", (2,), (3,)),
            s("ij,ij->i", (2, 3), (2, 3)), s("iji->j", (2, 3, 2)), s(",ij->ij", (), (2, 2)),
            s("ij,jk,kl->il", (2, 3), (3, 2), (2, 2)), s("ab,cd->b", (2, 3), (2, 2))]


register("einsum", forward=_einsum_forward, vjp=_einsum_vjp, samples=_einsum_samples)


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
    x = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
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
    a_t = F.swapaxes(a, -1, -2)
    block = F.concatenate([F.concatenate([a_t, g], -1),
                           F.concatenate([F.zeros_like(g), a_t], -1)], -2)
    return (F.getitem(F.op("matrix_exp", block), (Ellipsis, slice(0, n), slice(n, None))),)


def _matrix_exp_samples(rng):
    return [Sample((rng.standard_normal((3, 3)),)), Sample((rng.standard_normal((2, 2, 2)),)),
            Sample((4.0 * rng.standard_normal((3, 3)),), note="scaled and squared"),
            Sample((rng.standard_normal((1, 1)),))]


register("matrix_exp", forward=_matrix_exp_forward, vjp=_matrix_exp_vjp,
         samples=_matrix_exp_samples)


# --------------------------------------------------------------------------------------------
# Singular values of (batches of) matrices, for the spectral and nuclear matrix norms.


def _svdvals_forward(x, *, scratch=None):
    # With a slot (the input requires grad) the forward keeps U and Vh for the rule, which
    # would otherwise make a second, full SVD; one matrix goes straight to LAPACK's gesdd
    # (np.linalg.svd's own routine, without its 4 us of Python). Forward + rule on [3, 4]:
    # 21.9 -> 7 us (op_overhead.py's floor columns).
    gesdd = lapack("gesdd", x) if x.ndim == 2 and x.size else None
    if gesdd is not None:
        u, s, vh, info = gesdd(x, int(scratch is not None), 0)  # (compute_uv, full_matrices)
        if info:
            raise LinAlgError(_svdvals_failed(x, info))
        if scratch is not None:
            scratch.value = (x, u, vh)
        return s
    try:
        if scratch is None:
            return np.linalg.svd(x, compute_uv=False)
        u, s, vh = np.linalg.svd(x, full_matrices=False)
    except np.linalg.LinAlgError:
        raise LinAlgError(_svdvals_failed(x, 1)) from None
    scratch.value = (x, u, vh)
    return s


def _svdvals_failed(x, info: int) -> str:
    """PyTorch's message (and, raised as LinAlgError, its error type) for an SVD that failed."""
    why = ("contained non-finite values" if not np.isfinite(x).all() else "is ill-conditioned "
           f"or has too many repeated singular values (error code: {info})")
    return f"linalg.svd: The algorithm failed to converge because the input matrix {why}."


RECORDED_SVD: list = [None]  # linalg.svd itself (api/decompositions.py sets it: it sits above)


def _svdvals_vjp(F, g, out, x, *, scratch=None):
    if type(g) is not np.ndarray:
        # Recorded (create_graph=True: norm(ord="nuc") / linalg.cond in a gradient penalty):
        # the same U diag(g) Vh with U and Vh from linalg.svd, whose rule is differentiable
        # (PyTorch's svdvals backward is svd's too). tests/parity/test_s15_HG_gradgrad.py.
        u, _, vh = RECORDED_SVD[0](x, full_matrices=False)
        return ((u * g.unsqueeze(-2)) @ vh,)
    saved = None
    if scratch is not None:
        saved, scratch.value = scratch.value, None
    if saved is not None and saved[0] is x:
        u, vh = saved[1], saved[2]
    else:  # (no slot, a second backward, or other arrays: see ops.nn.Scratch)
        u, _, vh = np.linalg.svd(x, full_matrices=False)
    # d sigma_i = u_i^T dA v_i, so the gradient is U diag(g) V^T.
    return ((u * g[..., None, :]) @ vh,)


def _svdvals_samples(rng):
    return [Sample((rng.standard_normal((3, 4)),)), Sample((rng.standard_normal((4, 2)),)),
            Sample((rng.standard_normal((2, 3, 3)),))]


register("svdvals", forward=_svdvals_forward, vjp=_svdvals_vjp, samples=_svdvals_samples)
