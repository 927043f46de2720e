"""Matrix decompositions against PyTorch: values, dtypes, shapes, gradients (random cotangents)
and the errors PyTorch raises, for Cholesky, eigh, QR, SVD, pinv, lstsq, LU, matrix_exp and the
Householder functions, in their linalg, top-level and Tensor-method forms.

Eigenvectors and singular vectors are defined up to sign, and LAPACK builds may pick different
signs: those cases compare sign-invariant functions of them (products within a column, the
reconstruction), whose gradients still reach every entry of the vectors' cotangents.
"""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(11)


def spd(*shape, dtype=np.float64):
    n = shape[-1]
    m = RNG.standard_normal(shape)
    return (m @ np.swapaxes(m, -1, -2) / n + np.eye(n)).astype(dtype)


def distinct(m, n, batch=(), dtype=np.float64):
    """Matrices with singular values 1, 2, ... (well separated)."""
    k = min(m, n)
    u, _ = np.linalg.qr(RNG.standard_normal(batch + (m, k)))
    v, _ = np.linalg.qr(RNG.standard_normal(batch + (n, k)))
    return ((u * np.arange(1.0, k + 1)) @ np.swapaxes(v, -1, -2)).astype(dtype)


def symmetric(n, batch=(), dtype=np.float64):
    q, _ = np.linalg.qr(RNG.standard_normal(batch + (n, n)))
    values = np.linspace(-2.0, 3.0, n)
    return ((q * values) @ np.swapaxes(q, -1, -2)).astype(dtype)


def tol(a):
    return {"rtol": 1e-4, "atol": 1e-5} if a.dtype == np.float32 else {"rtol": 1e-6,
                                                                       "atol": 1e-8}


def column_products(v):
    """Sign-invariant: each column times its own first entry (and the whole matrix of them)."""
    return v * v[..., :1, :]


BAD = [np.zeros((2, 3)), np.zeros(3), np.zeros((2, 2), dtype=np.int64)]

# ----------------------------------------------------------------------------------------------
# Cholesky.

SPD = [("3x3", lambda: spd(3, 3)), ("batch", lambda: spd(2, 3, 4, 4)), ("1x1", lambda: spd(1, 1)),
       ("0x0", lambda: np.zeros((0, 0))), ("float32", lambda: spd(4, 4, dtype=np.float32))]

CHOLESKY = [
    ("linalg.cholesky", lambda m, a: m.linalg.cholesky(a)),
    ("linalg.cholesky upper", lambda m, a: m.linalg.cholesky(a, upper=True)),
    ("linalg.cholesky_ex", lambda m, a: m.linalg.cholesky_ex(a)),
    ("cholesky", lambda m, a: m.cholesky(a)),
    ("Tensor.cholesky upper", lambda m, a: a.cholesky(upper=True)),
    ("cholesky_inverse", lambda m, a: m.cholesky_inverse(m.linalg.cholesky(a))),
    ("cholesky_inverse upper", lambda m, a: a.cholesky(upper=True).cholesky_inverse(upper=True)),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("fname,fn", CHOLESKY, ids=[n for n, _ in CHOLESKY])
@pytest.mark.parametrize("aname,make", SPD, ids=[n for n, _ in SPD])
def test_cholesky_forms(fname, fn, aname, make):
    a = make()
    check(fn, Arg(a), **tol(a))


def test_cholesky_solve():
    a, b = spd(3, 3), RNG.standard_normal((2, 3, 2))
    for upper in (False, True):
        check(lambda m, x, y: m.cholesky_solve(y, m.linalg.cholesky(x, upper=upper), upper),
              Arg(a), Arg(b))
        check(lambda m, x, y: y.cholesky_solve(m.linalg.cholesky(x, upper=upper), upper=upper),
              Arg(spd(2, 3, 3)), Arg(RNG.standard_normal((3, 1))))
    factor = np.linalg.cholesky(a)  # a leaf factor: its gradient reaches both triangles
    check(lambda m, f, y: m.cholesky_solve(y, f), Arg(factor), Arg(b))
    check(lambda m, f: m.cholesky_inverse(f), Arg(factor))
    check(lambda m, f, y: m.cholesky_solve(y, f), Arg(factor), Arg(b[0, :, 0]), grad=False)


def test_cholesky_reads_one_triangle():
    a = spd(3, 3)
    a[0, 2] += 0.3  # not symmetric: each form reads its own triangle
    for fn in (lambda m, x: m.linalg.cholesky(x), lambda m, x: m.linalg.cholesky(x, upper=True),
               lambda m, x: m.linalg.eigh(x).eigenvalues,
               lambda m, x: m.linalg.eigvalsh(x, UPLO="U")):
        check(fn, Arg(a), grad=False)


def test_cholesky_errors():
    not_pd = np.array([[4.0, 2.0, 1.0], [2.0, -3.0, 0.0], [1.0, 0.0, 2.0]])
    for bad in [*BAD, not_pd, np.stack([np.eye(3), not_pd])]:
        check(lambda m, a: m.linalg.cholesky(a), Arg(bad), grad=False)
    check(lambda m, a: m.linalg.cholesky_ex(a, check_errors=True), Arg(not_pd), grad=False)
    # Without check_errors: info and what LAPACK's algorithm leaves in L.
    check(lambda m, a: m.linalg.cholesky_ex(a), Arg(np.stack([np.eye(3), not_pd])), grad=False)
    check(lambda m, a: m.linalg.cholesky_ex(a, upper=True), Arg(not_pd), grad=False)
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky(torch.from_numpy(not_pd))
    import deltagrad as dg

    with pytest.raises(dg.linalg.LinAlgError, match="leading minor of order 2"):
        dg.linalg.cholesky(dg.tensor(not_pd))


# ----------------------------------------------------------------------------------------------
# Symmetric eigendecomposition.

SYMMETRIC = [("3x3", lambda: symmetric(3)), ("batch", lambda: symmetric(4, (2,))),
             ("1x1", lambda: symmetric(1)), ("0x0", lambda: np.zeros((0, 0))),
             ("float32", lambda: symmetric(3, dtype=np.float32))]


@pytest.mark.parametrize("aname,make", SYMMETRIC, ids=[n for n, _ in SYMMETRIC])
def test_eigh(aname, make):
    a = make()
    for uplo in ("L", "U"):
        check(lambda m, x: (lambda r: (r.eigenvalues, column_products(r.eigenvectors)))(
            m.linalg.eigh(x, UPLO=uplo)), Arg(a), **tol(a))
        check(lambda m, x: m.linalg.eigvalsh(x, uplo), Arg(a), **tol(a))
    check(lambda m, x: m.linalg.eigvalsh(x), Arg(a, requires_grad=False), **tol(a))
    check(lambda m, x: (lambda w, v: v @ (w[..., None] * v.mT))(*m.linalg.eigh(x)), Arg(a),
          **tol(a))


def test_eigh_errors():
    for bad in BAD:
        check(lambda m, a: m.linalg.eigh(a), Arg(bad), grad=False)
        check(lambda m, a: m.linalg.eigvalsh(a), Arg(bad), grad=False)
    check(lambda m, a: m.linalg.eigh(a, UPLO="X"), Arg(np.eye(2)), grad=False)


# ----------------------------------------------------------------------------------------------
# QR (Householder: NumPy and PyTorch run the same LAPACK routines, so Q and R agree as they are).

QR_SHAPES = [("tall", lambda: distinct(5, 3)), ("square", lambda: distinct(3, 3)),
             ("wide", lambda: distinct(2, 4)), ("batch", lambda: distinct(4, 3, (2,))),
             ("batch wide", lambda: distinct(2, 3, (2, 1))),
             ("float32", lambda: distinct(4, 3, dtype=np.float32)),
             ("empty", lambda: np.zeros((0, 3))), ("empty columns", lambda: np.zeros((3, 0)))]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("aname,make", QR_SHAPES, ids=[n for n, _ in QR_SHAPES])
def test_qr(aname, make):
    a = make()
    m, n = a.shape[-2:]
    check(lambda mod, x: mod.linalg.qr(x), Arg(a), **tol(a))
    check(lambda mod, x: mod.qr(x), Arg(a), **tol(a))
    check(lambda mod, x: x.qr(some=False), Arg(a), grad=m <= n, **tol(a))
    check(lambda mod, x: mod.linalg.qr(x, mode="complete"), Arg(a), grad=m <= n, **tol(a))
    check(lambda mod, x: mod.linalg.qr(x, mode="r"), Arg(a), grad=False, **tol(a))


def test_qr_backward_raises_where_pytorch_does():
    import deltagrad as dg

    a = distinct(4, 3)
    for mode in ("r", "complete"):
        for lib in (torch, dg):
            x = lib.tensor(a, requires_grad=True)
            with pytest.raises(RuntimeError):
                lib.linalg.qr(x, mode=mode).R.sum().backward()


def test_qr_errors():
    check(lambda m, a: m.linalg.qr(a, mode="x"), Arg(np.eye(2)), grad=False)
    for bad in BAD[1:]:
        check(lambda m, a: m.linalg.qr(a), Arg(bad), grad=False)


# ----------------------------------------------------------------------------------------------
# SVD: singular vectors up to sign, so the loss is over sign-invariant quantities.


def svd_invariants(result):
    u, s, vh = result
    k = s.shape[-1]
    u, vh = u[..., :, :k], vh[..., :k, :]
    return s, column_products(u), column_products(vh.mT), (u * s[..., None, :]) @ vh


SVD_SHAPES = [("tall", lambda: distinct(5, 3)), ("square", lambda: distinct(3, 3)),
              ("wide", lambda: distinct(2, 4)), ("batch", lambda: distinct(3, 4, (2,))),
              ("float32", lambda: distinct(4, 3, dtype=np.float32)),
              ("transposed", lambda: distinct(3, 5).T)]


@pytest.mark.parametrize("aname,make", SVD_SHAPES, ids=[n for n, _ in SVD_SHAPES])
def test_svd(aname, make):
    a = make()
    for full in (False, True):
        check(lambda m, x: svd_invariants(m.linalg.svd(x, full_matrices=full)), Arg(a), **tol(a))
        check(lambda m, x: (lambda r: (r.U.shape, r.S.shape, r.Vh.shape))(
            m.linalg.svd(x, full_matrices=full)), Arg(a), grad=False)
    check(lambda m, x: svd_invariants((lambda u, s, v: (u, s, v.mT))(*m.svd(x))), Arg(a),
          **tol(a))
    check(lambda m, x: svd_invariants((lambda u, s, v: (u, s, v.mT))(*x.svd(some=False))),
          Arg(a), **tol(a))
    check(lambda m, x: m.svd(x, compute_uv=False), Arg(a), **tol(a))


def test_svd_errors_and_empty():
    for bad in BAD[1:]:
        check(lambda m, a: m.linalg.svd(a), Arg(bad), grad=False)
    check(lambda m, a: m.linalg.svd(a, driver="gesvd"), Arg(np.eye(2)), grad=False)
    check(lambda m, a: m.linalg.svd(a), Arg(np.zeros((0, 3))), grad=False)


def test_lowrank_forms_are_exact_for_low_rank_inputs():
    a = RNG.standard_normal((6, 2)) @ RNG.standard_normal((2, 5))  # rank 2 <= q
    for fn in (lambda m, x: m.svd_lowrank(x, q=2), lambda m, x: m.pca_lowrank(x, q=2),
               lambda m, x: m.pca_lowrank(x, q=2, center=False)):
        check(lambda m, x: (lambda u, s, v: (s, (u * s[..., None, :]) @ v.mT))(*fn(m, x)),
              Arg(a), grad=False, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Pseudo-inverse and least squares.


def test_pinv():
    a, wide = distinct(4, 3), distinct(2, 4, (2,))
    rank_two = RNG.standard_normal((4, 2)) @ RNG.standard_normal((2, 3))
    for x in (a, wide, a.astype(np.float32), a.T):
        check(lambda m, t: m.linalg.pinv(t), Arg(x), **tol(x))
        check(lambda m, t: m.pinverse(t), Arg(x), **tol(x))
        check(lambda m, t: t.pinverse(rcond=1e-3), Arg(x), **tol(x))
    check(lambda m, t: m.linalg.pinv(t, rtol=1e-6), Arg(rank_two))
    check(lambda m, t: m.linalg.pinv(t, atol=1.5), Arg(a))  # cuts singular value 1
    check(lambda m, t: m.linalg.pinv(t, 1e-6, True), Arg(symmetric(3)))
    check(lambda m, t: m.linalg.pinv(t, hermitian=True), Arg(symmetric(4, (2,))))
    check(lambda m, t, tol_: m.linalg.pinv(t, atol=tol_), Arg(wide),
          Arg(np.array([0.0, 1.5]), requires_grad=False))
    check(lambda m, t: m.linalg.pinv(t), Arg(np.zeros((0, 3))), grad=False)
    for bad in BAD[1:]:
        check(lambda m, t: m.linalg.pinv(t), Arg(bad), grad=False)


LSTSQ = [
    ("tall", lambda: (distinct(5, 3), RNG.standard_normal((5, 2)))),
    ("square", lambda: (distinct(3, 3), RNG.standard_normal((3, 2)))),
    ("wide", lambda: (distinct(2, 4), RNG.standard_normal((2, 3)))),
    ("vector", lambda: (distinct(5, 3), RNG.standard_normal(5))),
    ("batch vector", lambda: (distinct(4, 3, (2,)), RNG.standard_normal((2, 4)))),
    ("broadcast", lambda: (distinct(5, 3, (1,)), RNG.standard_normal((2, 5, 2)))),
    ("float32", lambda: (distinct(5, 3, dtype=np.float32),
                         RNG.standard_normal((5, 2)).astype(np.float32))),
]


@pytest.mark.parametrize("name,make", LSTSQ, ids=[n for n, _ in LSTSQ])
def test_lstsq(name, make):
    a, b = make()
    for driver in (None, "gelsy", "gelsd", "gelss", "gels"):
        check(lambda m, x, y: m.linalg.lstsq(x, y, driver=driver), Arg(a), Arg(b), **tol(a))


def test_lstsq_rank_deficient_and_errors():
    a = RNG.standard_normal((5, 2)) @ RNG.standard_normal((2, 3))
    b = RNG.standard_normal((5, 2))
    for driver in ("gelsy", "gelsd", "gelss"):
        check(lambda m, x, y: m.linalg.lstsq(x, y, driver=driver), Arg(a), Arg(b), grad=False)
    check(lambda m, x, y: m.linalg.lstsq(x, y, rcond=0.5, driver="gelsd"), Arg(distinct(4, 3)),
          Arg(b[:4]), grad=False)
    check(lambda m, x, y: m.linalg.lstsq(x, y, driver="x"), Arg(a), Arg(b), grad=False)
    check(lambda m, x, y: m.linalg.lstsq(x, y), Arg(a), Arg(b[:4]), grad=False)
    check(lambda m, x, y: m.linalg.lstsq(x, y), Arg(a), Arg(b[None, None]), grad=False)
    check(lambda m, x, y: m.linalg.lstsq(x, y), Arg(a), Arg(b.astype(np.float32)), grad=False)


# ----------------------------------------------------------------------------------------------
# LU.

LU_SHAPES = [("square", lambda: RNG.standard_normal((4, 4))),
             ("tall", lambda: RNG.standard_normal((5, 3))),
             ("wide", lambda: RNG.standard_normal((3, 5))),
             ("batch", lambda: RNG.standard_normal((2, 3, 3))),
             ("float32", lambda: RNG.standard_normal((4, 4)).astype(np.float32)),
             ("transposed", lambda: RNG.standard_normal((4, 3)).T),
             ("empty batch", lambda: np.zeros((0, 3, 3)))]

LU_FORMS = [
    ("linalg.lu_factor", lambda m, a: m.linalg.lu_factor(a)),
    ("linalg.lu_factor_ex", lambda m, a: m.linalg.lu_factor_ex(a)),
    ("linalg.lu", lambda m, a: m.linalg.lu(a)),
    ("lu", lambda m, a: m.lu(a)),
    ("Tensor.lu get_infos", lambda m, a: a.lu(get_infos=True)),
    ("lu_unpack", lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a))),
    ("lu_unpack no data", lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a), unpack_data=False)),
    ("lu_unpack no pivots", lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a),
                                                     unpack_pivots=False)),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("fname,fn", LU_FORMS, ids=[n for n, _ in LU_FORMS])
@pytest.mark.parametrize("aname,make", LU_SHAPES, ids=[n for n, _ in LU_SHAPES])
def test_lu_forms(fname, fn, aname, make):
    a = make()
    # (PyTorch's backward fails on lu_unpack's empty L and U: "triu: input tensor must have at
    # least 2 dimensions")
    check(fn, Arg(a), grad=fname != "lu_unpack no data", **tol(a))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lu_solve():
    a, b = RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 3, 2))
    for left in (True, False):
        for adjoint in (False, True):
            rhs = b if left else np.swapaxes(b, -1, -2)
            check(lambda m, x, y: m.linalg.lu_solve(*m.linalg.lu_factor(x), y, left=left,
                                                    adjoint=adjoint), Arg(a), Arg(rhs))
    check(lambda m, x, y: m.lu_solve(y, *m.linalg.lu_factor(x)), Arg(a), Arg(b))
    check(lambda m, x, y: y.lu_solve(*m.linalg.lu_factor(x)), Arg(a[0]), Arg(b))
    f32 = a.astype(np.float32)
    check(lambda m, x, y: m.linalg.lu_solve(*m.linalg.lu_factor(x), y), Arg(f32),
          Arg(b.astype(np.float32)), rtol=1e-4, atol=1e-5)
    check(lambda m, x, y: m.linalg.lu_solve(*m.linalg.lu_factor(x), y), Arg(a), Arg(b[0, 0]),
          grad=False)


def test_lu_singular_and_errors():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for a in (np.zeros((2, 2)), singular, np.stack([np.eye(2), singular])):
        check(lambda m, x: m.linalg.lu_factor(x), Arg(a), grad=False)
        check(lambda m, x: m.linalg.lu_factor_ex(x), Arg(a), grad=False)
        check(lambda m, x: m.linalg.lu_factor_ex(x, check_errors=True), Arg(a), grad=False)
        check(lambda m, x: m.linalg.lu(x), Arg(a), grad=False)
    check(lambda m, x: m.linalg.lu_factor(x, pivot=False), Arg(np.eye(2)), grad=False)
    for bad in BAD[1:]:
        check(lambda m, x: m.linalg.lu_factor(x), Arg(bad), grad=False)


# ----------------------------------------------------------------------------------------------
# Matrix exponential.

EXP = [("3x3", lambda: RNG.standard_normal((3, 3))),
       ("batch", lambda: RNG.standard_normal((2, 2, 4, 4))),
       ("large norm", lambda: 6.0 * RNG.standard_normal((3, 3))),
       ("tiny norm", lambda: 1e-6 * RNG.standard_normal((3, 3))),
       ("mixed batch", lambda: np.stack([RNG.standard_normal((3, 3)) * 10.0, np.eye(3) * 1e-3])),
       ("1x1", lambda: RNG.standard_normal((1, 1))), ("0x0", lambda: np.zeros((0, 0))),
       ("float32", lambda: RNG.standard_normal((3, 3)).astype(np.float32)),
       ("transposed", lambda: RNG.standard_normal((3, 3)).T)]


@pytest.mark.parametrize("aname,make", EXP, ids=[n for n, _ in EXP])
def test_matrix_exp(aname, make):
    a = make()
    rtol = 1e-4 if a.dtype == np.float32 else 1e-9
    for fn in (lambda m, x: m.matrix_exp(x), lambda m, x: x.matrix_exp(),
               lambda m, x: m.linalg.matrix_exp(x)):
        check(fn, Arg(a), rtol=rtol, atol=rtol)


def test_matrix_exp_errors():
    for bad in BAD:
        check(lambda m, x: m.matrix_exp(x), Arg(bad), grad=False)


# ----------------------------------------------------------------------------------------------
# Householder products, geqrf, ormqr and triangular_solve.


def test_householder_functions():
    a, tau = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 2))
    check(lambda m, x, t: m.linalg.householder_product(x, t), Arg(a), Arg(tau))
    check(lambda m, x, t: m.orgqr(x, t), Arg(a[0]), Arg(tau[0, :0]))
    check(lambda m, x, t: x.orgqr(t), Arg(a[0].astype(np.float32)),
          Arg(tau[0].astype(np.float32)), rtol=1e-4, atol=1e-5)
    check(lambda m, x: m.geqrf(x), Arg(a), grad=False)
    check(lambda m, x: x.geqrf(), Arg(a[0].T), grad=False)
    # Q from geqrf's reflectors is linalg.qr's Q.
    check(lambda m, x: m.linalg.householder_product(*m.geqrf(x)), Arg(a), grad=False)
    h, t3 = a[0], RNG.standard_normal(3)
    for left, other in ((True, RNG.standard_normal((5, 2))), (False, RNG.standard_normal((2, 5)))):
        for transpose in (False, True):
            check(lambda m, x, t, c: m.ormqr(x, t, c, left, transpose), Arg(h), Arg(t3),
                  Arg(other))
    for bad in ((a[0].T, tau[0]), (a[0], np.zeros(4)), (a, tau[0])):
        check(lambda m, x, t: m.linalg.householder_product(x, t), Arg(bad[0]), Arg(bad[1]),
              grad=False)
    for bad in ((h, t3[:2], RNG.standard_normal((5, 2))), (h, t3, RNG.standard_normal((4, 2))),
                (h, t3, RNG.standard_normal((2, 5, 2)))):
        check(lambda m, x, t, c: m.ormqr(x, t, c), *(Arg(v) for v in bad), grad=False)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_triangular_solve():
    a = RNG.standard_normal((3, 3)) + 3.0 * np.eye(3)
    b = RNG.standard_normal((2, 3, 2))
    for upper in (True, False):
        for transpose in (False, True):
            for unit in (False, True):
                check(lambda m, x, y: m.triangular_solve(y, x, upper, transpose, unit), Arg(a),
                      Arg(b))
    check(lambda m, x, y: y.triangular_solve(x, upper=False), Arg(a.astype(np.float32)),
          Arg(b[0].astype(np.float32)), rtol=1e-4, atol=1e-5)
    check(lambda m, x, y: m.triangular_solve(y, x), Arg(a), Arg(b[0, :, 0]), grad=False)
    check(lambda m, x, y: m.triangular_solve(y, x), Arg(a[:2]), Arg(b), grad=False)
