"""The linear-algebra ops' two paths against PyTorch: SciPy's LAPACK wrappers (one call per
matrix, ``USE_SCIPY``) and NumPy's batched functions, each run on the cases that pick their
branches: one matrix, a few (loops), many (NumPy's batch), a shared matrix with a batch of
right-hand sides (one call), the first-order shortcuts (only eigenvalues / singular values / R
used), singular and non-finite inputs, and PyTorch's error messages."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.ops import linalg_solve  # noqa: E402

RNG = np.random.default_rng(23)


@pytest.fixture(params=["scipy", "numpy"], autouse=True)
def path(request, monkeypatch):
    if request.param == "scipy":
        pytest.importorskip("scipy")
    monkeypatch.setattr(linalg_solve, "USE_SCIPY", request.param == "scipy")
    return request.param


def spd(*shape, dtype=np.float64):
    m = RNG.standard_normal(shape)
    return (m @ np.swapaxes(m, -1, -2) / shape[-1] + np.eye(shape[-1])).astype(dtype)


def near_identity(*shape, dtype=np.float64):
    return (RNG.standard_normal(shape) * 0.3 + 2.0 * np.eye(shape[-1])).astype(dtype)


def distinct(m, n, batch=(), dtype=np.float64):
    k = min(m, n)
    u, _ = np.linalg.qr(RNG.standard_normal(batch + (m, k)))
    v, _ = np.linalg.qr(RNG.standard_normal(batch + (n, k)))
    return ((u * np.arange(1.0, k + 1)) @ np.swapaxes(v, -1, -2)).astype(dtype)


def tol(a):
    return {"rtol": 1e-4, "atol": 1e-5} if a.dtype == np.float32 else {"rtol": 1e-7,
                                                                       "atol": 1e-9}


BATCHES = [(), (2,), (3, 2), (70,)]  # one matrix, a loop, a loop over 2 dims, NumPy's batch
IDS = ["one", "two", "3x2", "seventy"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", BATCHES, ids=IDS)
def test_cholesky_eigh_and_their_gradients(batch, dtype):
    a = spd(*batch, 3, 3, dtype=dtype)
    check(lambda m, x: m.linalg.cholesky(x), Arg(a), **tol(a))
    check(lambda m, x: m.linalg.cholesky(x, upper=True), Arg(a), **tol(a))
    check(lambda m, x: m.linalg.eigh(x).eigenvalues, Arg(a), **tol(a))  # the shortcut
    check(lambda m, x: (lambda w, v: (w, v * v[..., :1, :]))(*m.linalg.eigh(x)), Arg(a),
          **tol(a))
    lower = np.tril(a) + np.triu(RNG.standard_normal(a.shape), 1)  # the other triangle unread
    check(lambda m, x: m.linalg.eigh(x).eigenvalues, Arg(lower.astype(dtype)), **tol(a))
    check(lambda m, x: m.linalg.cholesky(x), Arg(lower.astype(dtype)), **tol(a))


def test_eigenvalues_alone_have_a_finite_gradient_at_repeated_eigenvalues():
    # PyTorch's rule with only the eigenvalues used: V diag(w̄) Vᵀ, finite where the general
    # rule's 1 / (w_j - w_i) is not.
    check(lambda m, x: m.linalg.eigh(x).eigenvalues, Arg(np.eye(3)))
    check(lambda m, x: m.linalg.svd(x).S, Arg(np.eye(3)))


@pytest.mark.parametrize("batch", BATCHES, ids=IDS)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4)], ids=["tall", "square", "wide"])
def test_svd_qr_and_lu_gradients(batch, shape):
    a = distinct(*shape, batch)
    k = min(shape)
    for full in (False, True):
        check(lambda m, x: m.linalg.svd(x, full_matrices=full).S, Arg(a))  # the shortcut
        check(lambda m, x: (lambda u, s, vh: (s, (u[..., :k] * s[..., None, :]) @ vh[..., :k, :]))(
            *m.linalg.svd(x, full_matrices=full)), Arg(a))
    check(lambda m, x: m.linalg.qr(x).R, Arg(a))  # only R used
    check(lambda m, x: m.linalg.qr(x), Arg(a))
    check(lambda m, x: m.linalg.qr(x, mode="complete"), Arg(a), grad=shape[0] <= shape[1])
    check(lambda m, x: m.linalg.qr(x, mode="r"), Arg(a), grad=False)
    check(lambda m, x: m.linalg.lu_factor(x), Arg(a + 0.1 * RNG.standard_normal(a.shape)))
    check(lambda m, x: m.linalg.pinv(x), Arg(a))


def test_float32_stays_float32_on_both_paths():  # (check compares dtypes too)
    a, s = distinct(4, 3, dtype=np.float32), spd(3, 3, dtype=np.float32)
    check(lambda m, x: m.linalg.svd(x).S, Arg(a), **tol(a))
    check(lambda m, x: m.linalg.qr(x), Arg(a), **tol(a))
    check(lambda m, x: m.linalg.lu_factor(x), Arg(a), **tol(a))
    check(lambda m, x: m.linalg.pinv(x), Arg(a), **tol(a))
    check(lambda m, x: m.linalg.inv(x), Arg(s), **tol(s))
    check(lambda m, x: m.linalg.solve(x, x), Arg(s), **tol(s))
    check(lambda m, x: m.linalg.slogdet(x), Arg(s), **tol(s))


SOLVES = [("one", (3, 3), (3, 2)), ("shared A", (3, 3), (2, 3, 4)), ("batched A", (2, 3, 3),
                                                                       (3, 1)),
          ("both", (2, 3, 3), (2, 3, 2)), ("broadcast", (2, 1, 3, 3), (3, 3, 1)),
          ("many", (70, 3, 3), (3, 1))]


@pytest.mark.parametrize("name,a_shape,b_shape", SOLVES, ids=[s[0] for s in SOLVES])
def test_solves(name, a_shape, b_shape):
    a, b = near_identity(*a_shape), RNG.standard_normal(b_shape)
    check(lambda m, a, b: m.linalg.solve(a, b), Arg(a), Arg(b))
    check(lambda m, a: m.linalg.inv(a), Arg(a))
    check(lambda m, a: m.linalg.det(a), Arg(a))
    check(lambda m, a: m.linalg.slogdet(a), Arg(a))
    for upper in (True, False):
        for unit in (True, False):
            for left in (True, False):
                rhs = b if left else np.swapaxes(b, -1, -2)
                check(lambda m, a, b: m.linalg.solve_triangular(
                    a, b, upper=upper, unitriangular=unit, left=left), Arg(a), Arg(rhs))


def test_triangular_solve_with_a_zero_on_the_diagonal_gives_inf_or_nan_as_pytorch():
    a = np.array([[0.0, 1.0], [0.0, 1.0]])
    check(lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), Arg(a),
          Arg(np.ones((2, 1))), grad=False)
    check(lambda m, a, b: m.linalg.solve_triangular(a, b, upper=False), Arg(a[None].repeat(2, 0)),
          Arg(np.ones((2, 2, 3))), grad=False)


def _messages(fn, *arrays):
    """PyTorch's and deltagrad's exception type and message for the same call."""
    found = []
    for lib in (torch, dg):
        with pytest.raises(RuntimeError) as error:
            fn(lib, *[lib.tensor(a) for a in arrays])
        found.append(str(error.value))
    return found


def test_errors_carry_pytorch_messages():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    not_pd = np.array([[1.0, 2.0], [2.0, 1.0]])
    for fn, arrays in [
            (lambda m, a: m.linalg.inv(a), (singular,)),
            (lambda m, a, b: m.linalg.solve(a, b), (singular, np.ones((2, 1)))),
            (lambda m, a: m.linalg.cholesky(a), (not_pd,)),
            (lambda m, a: m.linalg.cholesky(a), (np.stack([np.eye(2), not_pd]),))]:
        torch_message, message = _messages(fn, *arrays)
        if linalg_solve.USE_SCIPY or "cholesky" in message:  # (LAPACK's info: all of it)
            assert message == torch_message
        else:  # NumPy's error does not say where: the name and the reason
            name, reason = torch_message.split(":")[0], torch_message.split()[-1]
            assert message.startswith(name) and message.endswith(reason), message


def test_svd_of_non_finite_input_raises_linalg_error():
    check(lambda m, a: m.linalg.svd(a), Arg(np.array([[np.nan, 0.0], [0.0, 1.0]])), grad=False)


def test_lapack_lookup():
    assert linalg_solve.lapack("getrf", np.dtype(np.float16)) is None
    found = linalg_solve.lapack("gesv", np.dtype(np.float32))
    assert (found is None) != linalg_solve.USE_SCIPY


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3), (3, 0), (0, 3), (2, 3, 0)])
def test_empty_matrices(shape):
    a = np.zeros(shape)
    square = shape[-1] == shape[-2]
    check(lambda m, x: m.linalg.lu_factor(x), Arg(a))
    check(lambda m, x: m.linalg.qr(x), Arg(a))
    check(lambda m, x: m.linalg.svd(x, full_matrices=False).S, Arg(a))
    check(lambda m, x: m.linalg.pinv(x), Arg(a))
    if square:
        for fn in (lambda m, x: m.linalg.cholesky(x), lambda m, x: m.linalg.eigh(x).eigenvalues,
                   lambda m, x: m.linalg.inv(x), lambda m, x: m.linalg.det(x),
                   lambda m, x: m.linalg.slogdet(x), lambda m, x: m.linalg.solve(x, x),
                   lambda m, x: m.linalg.solve_triangular(x, x, upper=True),
                   lambda m, x: m.linalg.matrix_exp(x)):
            check(fn, Arg(a))


def test_det_gradient_of_a_nearly_singular_float32_matrix():
    # det · A⁻ᵀ: the tiny pivot must cancel, det and the inverse from one factorization.
    rank_two = (RNG.standard_normal((3, 2)) @ RNG.standard_normal((2, 3))).astype(np.float32)
    check(lambda m, a: m.linalg.det(a), Arg(rank_two), rtol=2e-3, atol=1e-4)
