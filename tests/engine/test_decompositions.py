"""Matrix decompositions without a reference library: reconstructions, gradchecks of the public
forms composed from the ops (the ops themselves are gradchecked by the registry test), the
symmetric-input convention, LAPACK's failure reports and the errors."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.decompositions import cholesky_partial, lu_factor_arrays

RNG = np.random.default_rng(3)


def t64(a, requires_grad=True):
    return dg.tensor(np.asarray(a, dtype=np.float64), dtype=dg.float64,
                     requires_grad=requires_grad)


def distinct(m, n, batch=()):
    k = min(m, n)
    u, _ = np.linalg.qr(RNG.standard_normal(batch + (m, k)))
    v, _ = np.linalg.qr(RNG.standard_normal(batch + (n, k)))
    return (u * np.arange(1.0, k + 1)) @ np.swapaxes(v, -1, -2)


def sym_pd(x):
    """A symmetric positive-definite matrix made from any square ``x`` (differentiably)."""
    return x + x.mT + 6.0 * dg.eye(x.shape[-1], dtype=dg.float64)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a.detach().numpy() if isinstance(a, dg.Tensor) else a),
                               np.asarray(b.detach().numpy() if isinstance(b, dg.Tensor) else b),
                               rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------------------
# Reconstructions.


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 5), (2, 4, 3)])
def test_factors_reconstruct_the_matrix(shape):
    a = t64(RNG.standard_normal(shape), requires_grad=False)
    q, r = dg.linalg.qr(a)
    close(q @ r, a)
    close(q.mT @ q, np.eye(q.shape[-1]) + np.zeros(q.shape[:-2] + (1, 1)))
    for full in (True, False):
        u, s, vh = dg.linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        close((u[..., :, :k] * s.unsqueeze(-2)) @ vh[..., :k, :], a)
    p, lower, upper = dg.linalg.lu(a)
    close(p @ lower @ upper, a)
    if shape[-2] >= shape[-1]:
        close(dg.linalg.householder_product(*dg.geqrf(a)), q)
    close(a @ dg.linalg.pinv(a) @ a, a)


def test_symmetric_factors_reconstruct_the_matrix():
    x = RNG.standard_normal((2, 4, 4))
    a = t64(x @ np.swapaxes(x, -1, -2) + np.eye(4), requires_grad=False)
    lower = dg.linalg.cholesky(a)
    close(lower @ lower.mT, a)
    close(lower, dg.tril(lower))
    upper = dg.cholesky(a, upper=True)
    close(upper.mT @ upper, a)
    w, v = dg.linalg.eigh(a)
    close((v * w.unsqueeze(-2)) @ v.mT, a)
    close(dg.linalg.eigvalsh(a), w)
    close(dg.cholesky_inverse(lower) @ a, np.eye(4) + np.zeros((2, 1, 1)))


def test_matrix_exp_identities():
    a = t64(3.0 * RNG.standard_normal((2, 3, 3)), requires_grad=False)
    close(dg.matrix_exp(a) @ dg.matrix_exp(-a), np.eye(3) + np.zeros((2, 1, 1)), 1e-9)
    d = np.array([0.5, -2.0, 7.0])
    close(dg.matrix_exp(t64(np.diag(d))), np.diag(np.exp(d)), 1e-12)
    nilpotent = np.array([[0.0, 1.0], [0.0, 0.0]])
    close(dg.matrix_exp(t64(nilpotent)), np.eye(2) + nilpotent)
    nan = dg.matrix_exp(t64(np.full((2, 2), np.nan)))
    assert np.isnan(nan.detach().numpy()).all()


# ----------------------------------------------------------------------------------------------
# Gradchecks of the public forms (float64).

GRADCHECKS = [
    ("cholesky", lambda x: dg.linalg.cholesky(sym_pd(x)), [(3, 3)]),
    ("cholesky upper", lambda x: dg.cholesky(sym_pd(x), upper=True), [(2, 3, 3)]),
    ("cholesky_ex", lambda x: dg.linalg.cholesky_ex(sym_pd(x)).L, [(3, 3)]),
    ("eigh U", lambda x: dg.linalg.eigh(x + x.mT, UPLO="U").eigenvectors, [(3, 3)]),
    ("eigvalsh", lambda x: dg.linalg.eigvalsh(x + x.mT), [(2, 3, 3)]),
    ("cholesky_solve", lambda x, b: dg.cholesky_solve(b, dg.tril(x) + 3 * dg.eye(3,
                                                                              dtype=dg.float64)),
     [(3, 3), (3, 2)]),
    ("cholesky_solve upper", lambda x, b: b.cholesky_solve(
        dg.linalg.cholesky(sym_pd(x), upper=True), upper=True), [(3, 3), (2, 3, 1)]),
    ("cholesky_inverse", lambda x: dg.cholesky_inverse(dg.linalg.cholesky(sym_pd(x))),
     [(3, 3)]),
    ("torch.svd V", lambda x: dg.svd(x)[2], [(4, 3)]),
    ("torch.svd no uv", lambda x: dg.svd(x, compute_uv=False)[1], [(3, 4)]),
    # (randomized, as PyTorch's: each evaluation draws its test matrix from the same seed)
    ("svd_lowrank", lambda x: (dg.manual_seed(0), dg.svd_lowrank(x, q=2))[1][1], [(4, 3)]),
    ("torch.qr wide", lambda x: dg.qr(x)[1], [(2, 4)]),
    ("linalg.lu", lambda x: dg.linalg.lu(x)[1:], [(4, 3)]),
    ("lu_solve", lambda lu, b: dg.linalg.lu_solve(lu, dg.linalg.lu_factor(lu.detach())[1], b),
     [(3, 3), (3, 2)]),
    ("lu_solve adjoint right", lambda lu, b: dg.linalg.lu_solve(
        lu, dg.linalg.lu_factor(lu.detach())[1], b, left=False, adjoint=True),
     [(3, 3), (2, 3)]),
    ("lu_unpack", lambda lu: dg.lu_unpack(lu, dg.linalg.lu_factor(lu.detach())[1])[1:],
     [(4, 3)]),
    ("householder_product", lambda a, tau: dg.linalg.householder_product(a, tau),
     [(4, 3), (2,)]),
    ("ormqr", lambda a, tau, c: dg.ormqr(a, tau, c, left=False, transpose=True),
     [(4, 3), (3,), (2, 4)]),
    ("lstsq", lambda a, b: dg.linalg.lstsq(a, b, driver="gelsd")[:2], [(5, 3), (5, 2)]),
    ("lstsq wide", lambda a, b: dg.linalg.lstsq(a, b).solution, [(2, 4), (2, 1)]),
    ("pinv hermitian", lambda x: dg.linalg.pinv(x + x.mT, hermitian=True), [(3, 3)]),
    ("triangular_solve", lambda a, b: dg.triangular_solve(b, a, transpose=True),
     [(3, 3), (3, 2)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_public_forms_gradcheck(name, fn, shapes):
    inputs = [t64(RNG.standard_normal(s) + (2.0 * np.eye(s[-1]) if len(s) > 1 and s[-1] ==
                                            s[-2] else 0.0)) for s in shapes]
    if name.startswith("lstsq") or name.startswith("torch.svd") or name == "svd_lowrank":
        inputs[0] = t64(distinct(*shapes[0]))
    assert dg.gradcheck(fn, inputs)


def test_second_derivatives_through_a_decomposition():
    x = t64(distinct(3, 3))
    assert dg.gradgradcheck(lambda a: dg.linalg.svd(a)[0] * dg.linalg.eigh(a @ a.mT)[0], [x])


# ----------------------------------------------------------------------------------------------
# Symmetric inputs: one triangle is read, the gradient is the symmetric one.


def test_eigh_and_cholesky_read_one_triangle_with_the_symmetric_gradient():
    x = RNG.standard_normal((3, 3))
    spd = x @ x.T + 3.0 * np.eye(3)
    skewed = spd + np.triu(RNG.standard_normal((3, 3)), 1)  # only the upper triangle differs
    g = RNG.standard_normal((3, 3))
    for fn in (lambda a: dg.linalg.cholesky(a), lambda a: dg.linalg.eigh(a)[1],
               lambda a: dg.linalg.eigvalsh(a).unsqueeze(0)):
        a, b = t64(spd), t64(skewed)
        close(fn(b), fn(a), 1e-12)  # the same values: the lower triangle is the same
        (fn(a) * t64(g[: fn(a).shape[-2]], False)).sum().backward()
        (fn(b) * t64(g[: fn(b).shape[-2]], False)).sum().backward()
        close(b.grad, a.grad, 1e-12)
        close(a.grad, a.grad.mT, 1e-12)
    upper = t64(skewed.T)  # now the upper triangle is the symmetric matrix's
    close(dg.linalg.eigvalsh(upper, UPLO="U"), np.linalg.eigvalsh(spd), 1e-12)


# ----------------------------------------------------------------------------------------------
# Failures: Cholesky's info, LU's zero pivots, and the errors.


def test_cholesky_info_is_the_first_leading_minor_that_is_not_positive_definite():
    for _ in range(20):
        x = RNG.standard_normal((4, 4))
        a = x + x.T
        _, info = cholesky_partial(a)
        minors = [np.linalg.eigvalsh(a[:k, :k]).min() > 0 for k in range(1, 5)]
        expected = 0 if all(minors) else minors.index(False) + 1
        assert info == expected
    batch = np.stack([np.eye(3), -np.eye(3), np.diag([1.0, 1.0, -1.0])])
    lower, info = cholesky_partial(batch)
    assert info.tolist() == [0, 1, 3]
    close(lower[0], np.eye(3))


def test_cholesky_errors_name_the_minor_and_the_batch_element():
    bad = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    with pytest.raises(dg.linalg.LinAlgError, match=r"\(Batch element 1\).*order 2"):
        dg.linalg.cholesky(t64(bad))
    result = dg.linalg.cholesky_ex(t64(bad))
    assert result.info.tolist() == [0, 2]
    with pytest.raises(dg.linalg.LinAlgError):
        dg.linalg.cholesky_ex(t64(bad), check_errors=True)
    assert isinstance(dg.linalg.LinAlgError("x"), RuntimeError)


def test_lu_pivots_and_info():
    lu, pivots, info = lu_factor_arrays(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert pivots.tolist() == [2, 2] and info == 0
    close(lu, np.array([[3.0, 4.0], [1 / 3, 2 / 3]]), 1e-15)
    _, _, info = lu_factor_arrays(np.array([[[0.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]]))
    assert info.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero"):
        dg.linalg.lu_factor(t64(np.ones((2, 2))))
    assert dg.linalg.lu_factor_ex(t64(np.ones((2, 2)))).info.item() == 2


def test_general_eigendecomposition_is_complex_and_differentiable():
    rotation = t64(np.array([[0.0, -1.0], [1.0, 0.0]]), requires_grad=False)  # eigenvalues +-i
    values, vectors = dg.linalg.eig(rotation)
    assert values.dtype == dg.complex128 and sorted(values.numpy().imag.tolist()) == [-1, 1]
    close(rotation.numpy() @ vectors.numpy(), vectors.numpy() * values.numpy(), 1e-12)
    assert dg.linalg.eigvals(dg.eye(2)).dtype == dg.complex64
    # (was NotImplementedError; s16 RV: the sum of the eigenvalues is the trace, gradient I)
    a = t64(np.array([[2.0, 1.0], [0.5, 3.0]]), requires_grad=True)
    dg.linalg.eigvals(a).real.sum().backward()
    close(a.grad.numpy(), np.eye(2), 1e-12)


@pytest.mark.parametrize("call,message", [
    (lambda: dg.linalg.cholesky(dg.zeros(2, 3)), "square"),
    (lambda: dg.linalg.svd(dg.zeros(3)), "at least 2 dimensions"),
    (lambda: dg.linalg.qr(dg.zeros(2, 2, dtype=dg.int64)), "floating point"),
    (lambda: dg.linalg.eigh(dg.zeros(2, 2, dtype=dg.float16)), "not implemented"),
    (lambda: dg.linalg.eigh(dg.zeros(2, 2), UPLO="x"), "UPLO"),
    (lambda: dg.linalg.qr(dg.zeros(2, 2), mode="full"), "unrecognized mode"),
    (lambda: dg.linalg.lstsq(dg.zeros(3, 2), dg.zeros(4, 1)), "should match"),
    (lambda: dg.linalg.lu_factor(dg.zeros(2, 2), pivot=False), "without pivoting"),
    (lambda: dg.linalg.lu_solve(dg.eye(2), dg.zeros(2), dg.zeros(2, 1)), "int32"),
    (lambda: dg.linalg.householder_product(dg.zeros(2, 3), dg.zeros(1)), "greater than"),
    (lambda: dg.cholesky_solve(dg.eye(2), dg.eye(2), out=dg.eye(2)), "out="),
])
def test_bad_input_errors_say_what_is_wrong(call, message):
    with pytest.raises((RuntimeError, TypeError), match=message):
        call()


def test_results_keep_float32():
    a = dg.tensor(distinct(3, 3).astype(np.float32))
    spd = a @ a.mT + dg.eye(3)
    outputs = [*dg.linalg.svd(a), *dg.linalg.qr(a), *dg.linalg.eigh(spd), dg.linalg.pinv(a),
               dg.linalg.cholesky(spd), dg.matrix_exp(a), *dg.linalg.lu(a),
               dg.linalg.lu_factor(a)[0], dg.linalg.lstsq(a, a).solution]
    assert all(t.dtype == dg.float32 for t in outputs)
    assert dg.linalg.lu_factor(a).pivots.dtype == dg.int32
    assert dg.linalg.lstsq(a, a, driver="gelsd").rank.dtype == dg.int64
