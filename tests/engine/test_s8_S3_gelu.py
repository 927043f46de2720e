"""Exact GELU kernels (float32 forward in halves, slope at tiny x) and its recycled gradient."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import buffers
from deltagrad._engine.ops import special

torch = pytest.importorskip("torch")


def _inputs():
    grid = np.linspace(-12, 12, 200_001)
    tiny = np.logspace(-45, -20, 400)  # subnormal and underflowing x^2
    huge = np.logspace(20, 38, 50)
    return np.concatenate([grid, tiny, -tiny, huge, -huge, [0.0, -0.0]]).astype(np.float32)


def test_gelu_float32_matches_torch_values_and_signs():
    x = _inputs()
    ours = special.gelu(x)
    theirs = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    assert ours.dtype == np.float32
    # float32 rounding of PyTorch's (its 1 + erf cancels for negative x: absolute, not relative)
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=4e-6)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))
    assert not np.isnan(ours).any()


def test_gelu_float32_infinities_and_nan():
    x = np.full(100, -np.inf, np.float32)
    x[:3] = [np.nan, np.inf, 0.0]
    ours = special.gelu(x)
    assert np.isnan(ours[0]) and ours[1] == np.inf and ours[2] == 0.0
    assert np.isnan(ours[3:]).all()  # -inf * Phi(-inf) = -inf * 0, as PyTorch's


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_slope_at_tiny_and_zero_x_is_half(dtype):
    # y / x lost Phi at subnormal x (y rounded to 0 or x: a slope of 0 or 1)
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([0.0, -0.0, tiny, -tiny, 3 * tiny, 1e-30, -1e-30] + [1.0] * 93, dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.nn.functional.gelu(xt).backward(torch.ones_like(xt))
    xd = dg.tensor(x, requires_grad=True)
    dg.nn.functional.gelu(xd).backward(dg.ones_like(xd))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=0)
    assert xd.grad.numpy()[2] == 0.5


def test_gelu_gradients_match_torch_over_range():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((40, 300)) * 3).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    torch.nn.functional.gelu(xt).backward(torch.from_numpy(g))
    xd = dg.tensor(x, requires_grad=True)
    dg.nn.functional.gelu(xd).backward(dg.tensor(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_gelu_gradient_buffer_is_recycled_so_the_pool_stays_flat():
    # A [32, 32, 256] float32 gradient (1 MB, pooled size): the VJP takes its output from the
    # pool the engine gives it back to; before, the pool grew by one array per step.
    rng = np.random.default_rng(0)
    w = dg.tensor(rng.standard_normal((32, 32, 256)).astype(np.float32), requires_grad=True)
    held = []
    for _ in range(6):
        w.grad = None
        # (the outer GELU's slope is consumed by the inner one's VJP and given back)
        dg.nn.functional.gelu(dg.nn.functional.gelu(w)).sum().backward()
        held.append(buffers.held_bytes())
    assert held[-1] == held[2], held
