"""SP43 (s28): the branch-free backward of hardtanh, threshold and hardshrink
(``elementwise_math.zero_where``) and hardtanh's forward by np.clip at large sizes: the same
bits as ``np.where`` / maximum then minimum, and as PyTorch's."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.elementwise import _hardtanh_forward
from deltagrad._engine.ops.elementwise_math import zero_where


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_zero_where_matches_where_bits(dtype):
    rng = np.random.default_rng(0)
    g = rng.standard_normal((70, 90)).astype(dtype)  # (past zero_where's 4096)
    g.flat[::5] = np.inf
    g.flat[1::7] = np.nan
    g.flat[2::11] = -0.0
    drop = rng.random((70, 90)) < 0.5
    for grad in (g, g[:, ::-1], np.broadcast_to(g[:1], g.shape)):
        want = np.where(drop, 0.0, grad)
        got = zero_where(drop, grad)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert want.tobytes() == np.ascontiguousarray(got).tobytes()


def test_hardtanh_forward_keeps_negative_zero_and_nan():
    x = np.array([-3.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, np.nan], np.float32)
    got = _hardtanh_forward(x, min_val=0.0, max_val=1.0)
    want = np.minimum(np.float32(1), np.maximum(np.float32(0), x))
    assert got.tobytes() == want.tobytes()
    assert np.signbit(got[2])
    assert _hardtanh_forward(np.float32(-0.0), min_val=0.0, max_val=1.0) == 0.0


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (-0.5, 2.0), (0.5, 2.0), (-2.0, -0.5), (1.0, 1.0)])
def test_large_forward_clip_matches_maximum_minimum(dtype, bounds):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(5000) * 3).astype(dtype)
    x[::7], x[1::11], x[2::13], x[3::17], x[4::19] = np.nan, -0.0, 0.0, np.inf, -np.inf
    low, high = np.array(bounds[0], dtype), np.array(bounds[1], dtype)
    want = np.minimum(high, np.maximum(low, x))
    got = _hardtanh_forward(x, min_val=bounds[0], max_val=bounds[1])
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_hardtanh_matches_torch_float32():
    torch = pytest.importorskip("torch")
    values = [-3.0, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, float("nan"), float("inf"), -float("inf")]
    g = [1.0, 2, 3, 4, 5, 6, 7, 8, float("inf"), float("nan")]
    results = []
    for lib in (torch, dg):
        x = lib.tensor(values, requires_grad=True)
        y = lib.nn.functional.hardtanh(x, -0.5, 2.0)
        y.backward(lib.tensor(g))
        results.append((y.detach().numpy().tobytes(), x.grad.numpy().tobytes()))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", ["threshold", "hardshrink"])
def test_threshold_and_hardshrink_backward_match_torch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    # (no nan: PyTorch's hardshrink gradient at nan is g in its scalar loop, 0 in its vector
    # loop, so it depends on the length; we give g)
    x = rng.choice(np.array([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0], np.float32), 5000)
    g = rng.standard_normal(5000).astype(np.float32)
    g[::9] = np.inf
    results = []
    for lib in (torch, dg):
        xi = lib.from_numpy(x.copy()).requires_grad_()
        f = lib.nn.functional
        y = f.threshold(xi, 0.5, -2.0) if name == "threshold" else f.hardshrink(xi, 0.5)
        y.backward(lib.from_numpy(g.copy()))
        results.append(xi.grad.numpy().tobytes())
    assert results[0] == results[1]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64"])
def test_hardshrink_forward_matches_where_bits(dtype):
    from deltagrad._engine.ops.activations import _hardshrink_forward

    x = (np.random.default_rng(3).standard_normal(5000) * 2).astype(dtype)
    if x.dtype.kind == "f":
        x[::7], x[1::5], x[2::9] = np.nan, -0.0, np.inf
    want = np.where(np.abs(x) <= 0.5, np.zeros((), x.dtype), x)
    got = _hardshrink_forward(x, lambd=0.5)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
