"""Differential table: the first-order fast paths of the rules W2-model leans on (matmul of two
matrices through ndarray.dot, mean's gradient as a quotient by cached counts, softmax's VJP with
the row sums as one vecdot) against PyTorch, with the edge cases beside each path."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

R = np.random.default_rng(1819)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


MATMUL_CASES = [
    (f32(3, 4), f32(4, 5)),
    (f32(4, 3).T, f32(5, 4).T),  # transposed views on both sides
    (f32(8, 8), f32(8, 8)),
    (R.standard_normal((2, 3)), R.standard_normal((3, 2))),  # float64
    (f32(3, 0), f32(0, 4)),  # empty inner dim: zeros
    (f32(0, 3), f32(3, 4)),  # no rows
]


@pytest.mark.parametrize("a, b", MATMUL_CASES)
def test_matmul_matrices(a, b):
    check(lambda m, x, y: x @ y, Arg(a), Arg(b))
    check(lambda m, x, y: m.matmul(x, y), Arg(a, requires_grad=False), Arg(b))
    check(lambda m, x, y: m.matmul(x, y), Arg(a), Arg(b, requires_grad=False))


def test_matmul_matrices_integer_and_mismatch():
    a, b = R.integers(-5, 5, (3, 4)), R.integers(-5, 5, (4, 2))
    check(lambda m, x, y: x @ y, Arg(a), Arg(b), grad=False)
    check(lambda m, x, y: x @ y, Arg(f32(3, 4)), Arg(f32(3, 4)))  # inner dims differ: error


def test_matmul_matrices_double_backward():
    x = dg.tensor(f32(3, 4), requires_grad=True)
    w = dg.tensor(f32(4, 2), requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    (gx,) = dg.autograd.grad(((x @ w) ** 2).sum(), (x,), create_graph=True)
    (tgx,) = torch.autograd.grad(((tx @ tw) ** 2).sum(), (tx,), create_graph=True)
    (gw,) = dg.autograd.grad(gx.sum(), (w,))
    (tgw,) = torch.autograd.grad(tgx.sum(), (tw,))
    np.testing.assert_allclose(gw.numpy(), tgw.numpy(), rtol=1e-5, atol=1e-5)


MEAN_CASES = [
    ((6, 3), {"dim": 1, "keepdim": True}),
    ((6, 5), {"dim": 1}),
    ((7, 4), {"dim": 0}),
    ((4, 5, 7), {"dim": (0, 2)}),
    ((4, 5, 7), {"dim": [-1, 0], "keepdim": True}),
    ((3, 7), {}),  # every element: a 0-d gradient
    ((), {}),  # a 0-d input (the general path)
    ((0, 3), {"dim": 1}),
    ((0, 3), {"dim": 0}),  # a mean of nothing: nan, an empty gradient
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kwargs", MEAN_CASES)
def test_mean_gradient_is_pytorchs_bit_for_bit(shape, kwargs, dtype):
    # The gradient is g / n, as PyTorch divides (g * (1 / n) is 1 ulp off for n = 3, 5, 7).
    x = R.standard_normal(shape).astype(dtype)
    dim = kwargs.get("dim")
    out_shape = np.add.reduce(x, axis=tuple(dim) if isinstance(dim, list) else dim,
                              keepdims=kwargs.get("keepdim", False)).shape
    g = R.standard_normal(out_shape).astype(dtype)
    dx = dg.tensor(x, requires_grad=True)
    dx.mean(**kwargs).backward(dg.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    tx.mean(**kwargs).backward(torch.tensor(g))
    assert dx.grad.dtype == (dg.float32 if dtype == np.float32 else dg.float64)
    assert np.array_equal(dx.grad.numpy(), tx.grad.numpy())


def test_mean_gradient_accumulates_into_a_writable_grad():
    # The cached counts are read-only; the gradient handed out must be a new array.
    x = dg.tensor(f32(4, 6), requires_grad=True)
    for _ in range(2):
        x.mean(dim=1, keepdim=True).sum().backward()
    x.grad.add_(1.0)
    np.testing.assert_allclose(x.grad.numpy(), np.full((4, 6), 2 / 6 + 1, np.float32),
                               rtol=1e-6)


SOFTMAX_CASES = [
    (f32(3, 4), 1), (f32(3, 4), 0), (f32(3, 4), -1), (f32(8, 8), 1),
    (f32(2, 3, 4), 1), (f32(2, 3, 4), -1),
    (f32(4, 3).T, 1),  # a transposed view
    (f32(5), 0),
    (R.standard_normal((3, 4)), 1),  # float64
    (f32(0, 4), 1),  # empty
    (np.float32(0.5) * np.ones((), np.float32), 0),  # 0-d
    (f32(16, 16), 1),  # 256 elements: the general path
]


@pytest.mark.parametrize("x, dim", SOFTMAX_CASES)
def test_softmax_gradient(x, dim):
    check(lambda m, t: m.nn.functional.softmax(t, dim=dim) * t, Arg(x))
    check(lambda m, t: m.softmax(t, dim), Arg(x))


def test_softmax_double_backward():
    x = f32(3, 4)
    dx = dg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    (gd,) = dg.autograd.grad((dg.softmax(dx, 1) * dx).sum(), (dx,), create_graph=True)
    (gt,) = torch.autograd.grad((torch.softmax(tx, 1) * tx).sum(), (tx,), create_graph=True)
    (hd,) = dg.autograd.grad((gd * gd).sum(), (dx,))
    (ht,) = torch.autograd.grad((gt * gt).sum(), (tx,))
    np.testing.assert_allclose(hd.numpy(), ht.numpy(), rtol=1e-4, atol=1e-5)
