"""Inverses, determinants, solves and the other ``linalg`` additions against PyTorch: values,
dtypes, gradients (random cotangents), batches, broadcasting and the errors PyTorch raises."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(5)


def square(*shape, dtype=np.float64):
    n = shape[-1]
    return (RNG.standard_normal(shape) * 0.4 + np.eye(n) * 1.5).astype(dtype)


MATRICES = [
    ("3x3", lambda: square(3, 3)),
    ("batch", lambda: square(2, 3, 3)),
    ("1x1", lambda: square(1, 1)),
    ("0x0", lambda: np.zeros((0, 0))),
    ("float32", lambda: square(4, 4, dtype=np.float32)),
    ("negative det", lambda: square(3, 3) @ np.diag([1.0, 1.0, -1.0])),
]

FUNCTIONS = [
    ("linalg.inv", lambda m, a: m.linalg.inv(a)),
    ("inverse", lambda m, a: m.inverse(a)),
    ("Tensor.inverse", lambda m, a: a.inverse()),
    ("linalg.det", lambda m, a: m.linalg.det(a)),
    ("det", lambda m, a: m.det(a)),
    ("Tensor.det", lambda m, a: a.det()),
    ("linalg.slogdet", lambda m, a: m.linalg.slogdet(a)),
    ("slogdet", lambda m, a: m.slogdet(a)),
    ("logdet", lambda m, a: m.logdet(a)),
    ("inv_ex", lambda m, a: m.linalg.inv_ex(a)),
    ("matrix_power -2", lambda m, a: m.linalg.matrix_power(a, -2)),
    ("matrix_power -1", lambda m, a: m.matrix_power(a, -1)),
]


@pytest.mark.parametrize("fname,fn", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
@pytest.mark.parametrize("aname,make", MATRICES, ids=[n for n, _ in MATRICES])
def test_inverse_and_determinants(fname, fn, aname, make):
    a = make()
    if aname == "negative det" and fname == "logdet":
        # log of a negative determinant: nan in both (gradients there differ in nan-ness).
        check(fn, Arg(a), grad=False)
        return
    rtol = 1e-4 if a.dtype == np.float32 else 1e-6
    check(fn, Arg(a), rtol=rtol, atol=1e-5 if a.dtype == np.float32 else 1e-6)


def test_on_a_transposed_view():
    a = square(3, 3)
    for _, fn in FUNCTIONS:
        check(lambda m, x: fn(m, x.mT), Arg(a))


def test_det_of_a_singular_matrix_has_the_adjugate_gradient():
    singular = RNG.standard_normal((3, 2)) @ RNG.standard_normal((2, 3))
    check(lambda m, a: m.linalg.det(a), Arg(singular))
    check(lambda m, a: m.linalg.det(a), Arg(np.zeros((2, 2))))
    check(lambda m, a: m.linalg.slogdet(a), Arg(np.zeros((2, 2))), grad=False)


@pytest.mark.parametrize("bad", [np.zeros((2, 3)), np.zeros(3), np.zeros((2, 2), dtype=np.int64)])
def test_bad_inputs_raise_as_pytorch(bad):
    for fn in (lambda m, a: m.linalg.inv(a), lambda m, a: m.linalg.det(a),
               lambda m, a: m.linalg.slogdet(a), lambda m, a: m.linalg.solve(a, a)):
        check(fn, Arg(bad), grad=False)


def test_singular_inverse_raises_linalg_error():
    with pytest.raises(dg.linalg.LinAlgError):
        dg.linalg.inv(dg.zeros(2, 2))
    with pytest.raises(RuntimeError):  # (a RuntimeError, as torch.linalg.LinAlgError)
        dg.linalg.solve(dg.zeros(2, 2), dg.ones(2))
    inverse, info = dg.linalg.inv_ex(dg.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0],
                                                                           [0.0, 0.0]]]))
    assert info.tolist() == [0, 1] and info.dtype == dg.int32
    assert np.isfinite(inverse[0].numpy()).all() and not np.isfinite(inverse[1].numpy()).all()
    with pytest.raises(dg.linalg.LinAlgError):
        dg.linalg.inv_ex(dg.zeros(2, 2), check_errors=True)


SOLVES = [
    ("matrix rhs", (3, 3), (3, 2), {}),
    ("vector rhs", (3, 3), (3,), {}),
    ("batched vector rhs", (2, 3, 3), (2, 3), {}),
    ("broadcast matrix rhs", (2, 3, 3), (3, 4), {}),
    ("broadcast A", (3, 3), (2, 3, 1), {}),
    ("rhs read as matrices", (2, 3, 3), (3, 2), {}),
    ("right", (3, 3), (2, 3), {"left": False}),
    ("mismatch", (3, 3), (4, 2), {}),
]


@pytest.mark.parametrize("name,a_shape,b_shape,kwargs", SOLVES, ids=[s[0] for s in SOLVES])
def test_solve(name, a_shape, b_shape, kwargs):
    a, b = square(*a_shape), RNG.standard_normal(b_shape)
    check(lambda m, a, b: m.linalg.solve(a, b, **kwargs), Arg(a), Arg(b))
    check(lambda m, a, b: m.linalg.solve_ex(a, b, **kwargs), Arg(a), Arg(b))


def test_solve_needs_matching_dtypes():
    check(lambda m, a, b: m.linalg.solve(a, b), Arg(square(2, 2)),
          Arg(np.ones(2, dtype=np.float32)), grad=False)


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [True, False])
def test_solve_triangular(upper, left, unitriangular):
    a = square(2, 3, 3)
    b = RNG.standard_normal((2, 3, 4) if left else (2, 4, 3))
    check(lambda m, a, b: m.linalg.solve_triangular(a, b, upper=upper, left=left,
                                                     unitriangular=unitriangular),
          Arg(a), Arg(b))


def test_solve_triangular_errors():
    check(lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), Arg(square(3, 3)),
          Arg(np.ones(3)), grad=False)
    check(lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), Arg(square(3, 3)),
          Arg(np.ones((2, 2))), grad=False)


def test_products_and_helpers():
    a, b, c = (RNG.standard_normal(s) for s in [(2, 3), (3, 4), (4, 2)])
    check(lambda m, a, b, c: m.linalg.multi_dot([a, b, c]), Arg(a), Arg(b), Arg(c))
    v, w = RNG.standard_normal(3), RNG.standard_normal(2)
    check(lambda m, v, b, c, w: m.linalg.multi_dot([v, b, c, w]), Arg(v), Arg(b), Arg(c),
          Arg(w))
    check(lambda m, a: m.linalg.multi_dot([a]), Arg(a))  # error
    check(lambda m, a: m.linalg.multi_dot([a, a[None], a.T]), Arg(a))  # 3-d: error
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    check(lambda m, x, y: m.linalg.vecdot(x, y), Arg(x), Arg(y))
    check(lambda m, x: m.linalg.vecdot(x, x, dim=0), Arg(x))
    check(lambda m, x, y: m.linalg.cross(x, y), Arg(x), Arg(y))
    t = RNG.standard_normal((2, 3, 3))
    check(lambda m, t: m.linalg.diagonal(t), Arg(t))
    check(lambda m, t: m.linalg.diagonal(t, offset=1, dim1=0, dim2=2), Arg(t))
    check(lambda m, t: m.linalg.matrix_power(t, 3), Arg(t))


def test_vander():
    check(lambda m, x: m.linalg.vander(x), Arg(RNG.standard_normal(4)))
    check(lambda m, x: m.linalg.vander(x, N=3), Arg(np.array([0.0, 1.5, -2.0])))
    check(lambda m, x: m.linalg.vander(x, N=5), Arg(RNG.standard_normal((2, 3))))
    check(lambda m, x: m.linalg.vander(x), Arg(np.array([1, 2, 3])))
    check(lambda m, x: m.linalg.vander(x, N=1), Arg(np.ones(2)))  # error


def test_tensorinv_and_tensorsolve():
    a = square(6, 6).reshape(2, 3, 6)
    check(lambda m, a: m.linalg.tensorinv(a, ind=2), Arg(a))
    check(lambda m, a: m.linalg.tensorinv(a.reshape(6, 2, 3), ind=1), Arg(a))
    check(lambda m, a: m.linalg.tensorinv(a, ind=1), Arg(a))  # not square: error
    big = square(6, 6).reshape(2, 3, 6)
    rhs = RNG.standard_normal((2, 3))
    check(lambda m, a, b: m.linalg.tensorsolve(a, b), Arg(big), Arg(rhs))
    moved = np.moveaxis(square(6, 6).reshape(6, 2, 3), 0, 2)  # [2, 3, 6] after dims=(0,)
    check(lambda m, a, b: m.linalg.tensorsolve(a, b, dims=(0,)), Arg(moved.transpose(2, 0, 1)),
          Arg(RNG.standard_normal((2, 3))))


@pytest.mark.parametrize("kwargs", [{}, {"atol": 0.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.2},
                                    {"hermitian": False}])
def test_matrix_rank(kwargs):
    low = RNG.standard_normal((4, 2)) @ RNG.standard_normal((2, 5))
    check(lambda m, a: m.linalg.matrix_rank(a, **kwargs), Arg(low), grad=False)
    check(lambda m, a: m.linalg.matrix_rank(a, **kwargs),
          Arg(RNG.standard_normal((3, 4, 4)) * [1, 0.01, 1, 1]), grad=False)


def test_gradients_through_a_least_squares_fit():
    # A typical use: normal equations solved inside a loss.
    x, y = RNG.standard_normal((10, 3)), RNG.standard_normal(10)
    check(lambda m, x, y: (m.linalg.solve(x.T @ x, x.T @ y) ** 2).sum(), Arg(x), Arg(y))


@pytest.mark.parametrize("kwargs", [{}, {"N": 3}, {"N": 3, "increasing": True}, {"N": 0},
                                    {"N": 1}, {"increasing": True}])
def test_top_level_vander(kwargs):
    # (PyTorch's own torch.vander cannot be differentiated: its backward fails on an in-place
    # cumprod; values are compared here, gradients through linalg.vander above.)
    check(lambda m, x: m.vander(x, **kwargs), Arg(np.array([0.5, -1.0, 2.0])), grad=False)
    check(lambda m, x: m.vander(x, **kwargs), Arg(np.array([1, 2, 3])))
    check(lambda m, x: m.vander(x, **kwargs), Arg(np.ones((2, 2))))  # 2-d: error
