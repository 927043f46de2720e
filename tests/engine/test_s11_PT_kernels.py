"""Session 11 (PT) kernel changes: GELU's slope finds exact zeros of x by x^2's least value."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import special


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_slope_is_half_at_zero_beside_nan_in_one_block(dtype):
    torch = pytest.importorskip("torch")
    # Large enough for the block kernels (not the per-element small path); a nan and a zero in
    # the same block: the zero test must not be hidden by the nan (a plain minimum is nan).
    x = np.random.default_rng(0).standard_normal(5000).astype(dtype)
    x[[7, 4000]] = 0.0
    x[[8, 11]] = np.nan
    x[12] = -0.0
    g = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.nn.functional.gelu(xt).backward(torch.from_numpy(g))
    xd = dg.tensor(x, requires_grad=True)
    dg.nn.functional.gelu(xd).backward(dg.tensor(g))
    got, want = xd.grad.numpy(), xt.grad.numpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(got[[7, 4000, 12]], 0.5 * g[[7, 4000, 12]])
    assert np.isnan(got[[8, 11]]).all()


def test_gelu_slope_kernel_with_no_zero_takes_no_mask():
    x = np.linspace(-6.0, 6.0, 4097, dtype=np.float32)[1::2]  # (no exact zero)
    assert np.all(x != 0)
    y = special.gelu(x)
    g = np.ones_like(x)
    got = special.gelu_backward(g, y, x)
    phi = np.exp(-0.5 * x.astype(np.float64) ** 2) / np.sqrt(2 * np.pi)
    want = y.astype(np.float64) / x + x * phi
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-7)


def test_linear_rule_with_a_transposed_gradient_matches_its_contiguous_copy_and_torch():
    torch = pytest.importorskip("torch")
    from deltagrad._engine.ops.nn import LINEAR
    from deltagrad._engine.ops.registry import ARRAY

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 6)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    g = rng.standard_normal((5, 4, 3)).astype(np.float32).transpose(1, 0, 2)  # (a view)
    assert not g.flags.c_contiguous
    got = LINEAR.vjp(ARRAY, g, None, x, w, b, needs=(True, True, True))
    want = LINEAR.vjp(ARRAY, np.ascontiguousarray(g), None, x, w, b, needs=(True, True, True))
    for ours, contiguous in zip(got, want):
        np.testing.assert_array_equal(ours, contiguous)
    assert got[0].shape == x.shape and got[1].shape == w.shape and got[2].shape == b.shape
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch.nn.functional.linear(xt, wt, bt).backward(torch.from_numpy(g.copy()))
    for ours, t in zip(got, (xt, wt, bt)):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-5, atol=1e-5)
