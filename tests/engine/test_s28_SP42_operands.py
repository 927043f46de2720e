"""s28 SP42: cached 0-d operands in mean's forward and tanh's VJP (speed, same bits).

mean(dim=int) of a float32 / float64 input divides its sums by the count as a cached 0-d array
of the input's dtype (was the Python int), and tanh's VJP subtracts from a cached read-only 0-d
1 (was a NumPy scalar): NumPy gives the same operand type either way, so the same values. These
tests pin the bits against the former arithmetic and the values against PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import elementwise as ew
from deltagrad._engine.ops import reductions as red
from deltagrad._engine.ops.registry import ARRAY

SHAPES = [(8, 8), (3, 5), (7, 1), (1, 9), (2, 3, 4), (5,), (40, 70)]  # (the last: not small)
DTYPES = ["float32", "float64"]


def _case_id(value) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=_case_id)
def test_count_divisor_same_bits_as_the_int(shape, dtype):
    # The division itself: by a 0-d array of the dtype, as by the Python int, for every count.
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    total = (rng.standard_normal(shape) * 10.0 ** rng.integers(-30, 30, shape)).astype(dtype)
    for n in (1, 3, 5, 7, 9, 11, 49, 1000, 16777215):
        want = np.true_divide(total, n)
        got = np.true_divide(total, np.array(n, dtype), total.copy())
        assert got.dtype == want.dtype
        assert np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


@pytest.mark.parametrize("keepdim", [True, False], ids=["keep", "drop"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=_case_id)
def test_mean_forward_matches_sum_over_count(shape, dtype, keepdim):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    for dim in range(-len(shape), len(shape)):
        got = red._mean_forward(x, dim=dim, keepdim=keepdim)
        again = red._mean_forward(x, dim=dim, keepdim=keepdim)  # (the cached count unchanged)
        total = red._sum_forward(x, dim=dim, keepdim=keepdim)
        assert got.dtype == x.dtype and got.shape == total.shape
        assert np.array_equal(got, again)
        # The same sum (the fast path's own) divided by the int: bit for bit.
        small = x.size < red._SMALL
        if small:
            want = red._small_sum(x, dim % x.ndim)
            want = want if keepdim else want.squeeze(dim % x.ndim)
            assert np.array_equal(got, np.true_divide(want, x.shape[dim]))
        np.testing.assert_allclose(got, np.mean(x.astype(np.float64), dim, keepdims=keepdim),
                                   rtol=1e-6 if dtype == "float32" else 1e-13, atol=1e-7)


def test_mean_and_tanh_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for dtype in DTYPES:
        x = rng.standard_normal((6, 7)).astype(dtype)
        for lib in (dg, torch):
            t = lib.from_numpy(x.copy()).requires_grad_(True)
            y = t.tanh()
            (y.mean(dim=1, keepdim=True) * lib.arange(1, 7, dtype=t.dtype).reshape(6, 1)
             ).sum().backward()
            if lib is dg:
                got = (y.detach().numpy(), t.grad.numpy(), y.dtype)
            else:
                want = (y.detach().numpy(), t.grad.numpy(), y.dtype)
        assert str(got[2]).split(".")[-1] == str(want[2]).split(".")[-1]
        tol = 1e-6 if dtype == "float32" else 1e-14
        np.testing.assert_allclose(got[0], want[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(got[1], want[1], rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "complex64", "complex128"])
def test_tanh_vjp_same_bits_as_the_scalar_one(dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 6)).astype(dtype)
    if x.dtype.kind == "c":
        x = x + 1j * rng.standard_normal((5, 6)).astype(dtype)
    out, g = np.tanh(x), rng.standard_normal((5, 6)).astype(dtype)
    (got,) = ew._tanh_vjp(ARRAY, g, out, x)
    want = np.square(out)
    np.subtract(x.dtype.type(1), want, out=want)  # (the former operand: a NumPy scalar)
    want *= g
    assert got.dtype == want.dtype
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))


def test_cached_one_is_read_only():
    one = ew._one(np.dtype(np.float32))
    assert one is ew._one(np.dtype(np.float32))
    assert one.shape == () and one.dtype == np.float32 and one == 1
    with pytest.raises(ValueError):
        one[()] = 2
