"""The CNN layers across the intra-op threads (issue 18, W6): convolution, batch norm and max
pooling give the same bits at any thread count, split for real (the pool runs), and PyTorch's
values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads
from deltagrad._engine.api import settings

torch = pytest.importorskip("torch")


@pytest.fixture
def thread_counts(monkeypatch):
    """Yields a function running ``fn`` at a thread count and counting the pool's splits."""
    before = dg.get_num_threads()
    # (set_num_threads records its count: put back "not set", as the state guard checks)
    monkeypatch.setattr(settings._Threads, "intra", settings._Threads.intra)
    pool_before = threads.count()
    runs = []
    original = threads._run

    def counting_run(function, ranges, count):
        runs.append(len(ranges))
        return original(function, ranges, count)

    monkeypatch.setattr(threads, "_run", counting_run)
    # (split()'s minimum as it was when these small inputs were chosen: they split for real)
    monkeypatch.setattr(threads, "MIN_SPLIT_WORK", threads.MIN_SPLIT_ELEMENTS)

    def at(count, fn):
        dg.set_num_threads(count)
        del runs[:]
        try:
            return fn(), len(runs)
        finally:
            dg.set_num_threads(before)

    yield at
    dg.set_num_threads(before)
    threads.set_count(pool_before)


def _forward_backward(make, shape, seed=0, dtype=np.float32):
    """``make(module)``'s layer on a seeded input: (output, input grad, parameter grads) as
    arrays, for deltagrad (``module`` dg) or PyTorch."""
    rng = np.random.default_rng(seed)
    x_array = rng.standard_normal(shape).astype(dtype)

    def run(module):
        module.manual_seed(seed)
        layer = make(module)
        if dtype == np.float64:
            layer = layer.double()
        x = module.from_numpy(x_array.copy()).requires_grad_(True)
        y = layer(x)
        g = np.random.default_rng(seed + 1).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(module.from_numpy(g))
        params = {name: p.grad.detach().numpy().copy() for name, p in layer.named_parameters()}
        return y.detach().numpy().copy(), x.grad.detach().numpy().copy(), params, layer

    return run


def _copy_init(torch_layer, dg_layer):
    for (name, p), (dg_name, q) in zip(torch_layer.named_parameters(),
                                       dg_layer.named_parameters()):
        assert name == dg_name
        q.data.copy_(dg.from_numpy(p.detach().numpy().copy()))


LAYERS = {
    "conv_bias": (lambda m: m.nn.Conv2d(4, 8, 3, padding=1), (8, 4, 20, 20)),
    "conv_nobias_stride": (lambda m: m.nn.Conv2d(4, 6, 3, stride=2, bias=False), (8, 4, 33, 33)),
    "conv_groups": (lambda m: m.nn.Conv2d(4, 8, 3, padding=1, groups=2), (8, 4, 20, 20)),
    "conv_1x1": (lambda m: m.nn.Conv2d(8, 8, 1), (8, 8, 24, 24)),
    "conv_dilated": (lambda m: m.nn.Conv2d(4, 4, 3, padding=2, dilation=2), (8, 4, 24, 24)),
    "batch_norm": (lambda m: m.nn.BatchNorm2d(4), (8, 4, 32, 32)),
    "max_pool": (lambda m: m.nn.MaxPool2d(2), (8, 4, 32, 32)),
    "max_pool_3": (lambda m: m.nn.MaxPool2d(3, stride=2, padding=1), (8, 4, 32, 32)),
}
NOT_SPLIT = {"max_pool_3"}  # overlapping windows: found on one thread


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_same_bits_at_any_thread_count_and_torch_values(name, thread_counts):
    make, shape = LAYERS[name]
    torch_out, torch_dx, torch_params, torch_layer = _forward_backward(make, shape)(torch)

    def deltagrad_run():
        rng = np.random.default_rng(0)
        x_array = rng.standard_normal(shape).astype(np.float32)
        layer = make(dg)
        _copy_init(torch_layer, layer)
        x = dg.from_numpy(x_array).requires_grad_(True)
        y = layer(x)
        y.backward(dg.from_numpy(np.random.default_rng(1).standard_normal(
            tuple(y.shape)).astype(np.float32)))
        return (y.detach().numpy().copy(), x.grad.detach().numpy().copy(),
                {n: p.grad.detach().numpy().copy() for n, p in layer.named_parameters()})

    (out1, dx1, params1), splits1 = thread_counts(1, deltagrad_run)
    assert splits1 == 0  # one thread: nothing queued
    for count in (2, 3):
        (out, dx, params), splits = thread_counts(count, deltagrad_run)
        assert (splits > 0) != (name in NOT_SPLIT), "split across the pool or not, unexpectedly"
        assert np.array_equal(out, out1) and np.array_equal(dx, dx1)
        assert params.keys() == params1.keys()
        for key in params:
            assert np.array_equal(params[key], params1[key]), key
    np.testing.assert_allclose(out1, torch_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx1, torch_dx, rtol=1e-4, atol=1e-4)
    for key in torch_params:
        np.testing.assert_allclose(params1[key], torch_params[key], rtol=1e-4, atol=1e-3)


def test_w6_model_steps_same_bits_at_two_threads(thread_counts):
    """A few Adam steps of W6's CNN (smaller batch): the same parameters at 1 and 2 threads."""
    rng = np.random.default_rng(3)
    images = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 16)

    def train():
        dg.manual_seed(0)
        nn = dg.nn
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * 7 * 7, 10))
        optimizer = dg.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(3):
            optimizer.zero_grad()
            loss = dg.nn.functional.cross_entropy(model(dg.from_numpy(images)),
                                                  dg.from_numpy(labels))
            loss.backward()
            optimizer.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    one, _ = thread_counts(1, train)
    two, splits = thread_counts(2, train)
    assert splits > 0
    for a, b in zip(one, two):
        assert np.array_equal(a, b)


def test_max_pool_nan_found_in_any_piece(thread_counts):
    """A nan in the second thread's examples still takes the exact (PyTorch's) way."""
    x = np.random.default_rng(0).standard_normal((8, 4, 32, 32)).astype(np.float32)
    x[7, 1, 5, 6] = np.nan

    def run(module):
        t = module.from_numpy(x.copy()).requires_grad_(True)
        y, index = module.nn.functional.max_pool2d(t, 2, return_indices=True)
        y.sum().backward()
        return y.detach().numpy(), index.numpy(), t.grad.numpy()

    expected = run(torch)
    got, splits = thread_counts(2, lambda: run(dg))
    assert splits > 0
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_batch_norm_float64_and_large_mean_match_torch(thread_counts):
    """Batch norm of data far from zero (centring matters) in float64 and float32."""
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-3)):
        x = (np.random.default_rng(5).standard_normal((8, 4, 32, 32)) * 0.5 + 100).astype(dtype)
        g = np.random.default_rng(6).standard_normal(x.shape).astype(dtype)

        def run(module, x=x, g=g, dtype=dtype):
            layer = module.nn.BatchNorm2d(4)
            if dtype == np.float64:
                layer = layer.double()
            t = module.from_numpy(x.copy()).requires_grad_(True)
            y = layer(t)
            y.backward(module.from_numpy(g))
            return (y.detach().numpy(), t.grad.numpy(), layer.running_var.numpy(),
                    layer.weight.grad.numpy())

        expected = run(torch)
        got, _ = thread_counts(2, lambda run=run: run(dg))
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
