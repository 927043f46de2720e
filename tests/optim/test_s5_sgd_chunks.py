"""SGD's update of large parameters a chunk at a time (W3, issue 18): the same numbers as the
whole-array update, and as PyTorch's SGD."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.optim import sgd

OPTIONS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.1},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.01},
    {"maximize": True},
    {"momentum": 0.5, "weight_decay": 0.1, "maximize": True},
]


def _run(monkeypatch, chunk_bytes, options, dtype, steps=4, transposed_grad=False):
    monkeypatch.setattr(sgd, "_CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(7)
    params = [dg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in [(97, 61), (13,), (300,)]]
    optimizer = dg.optim.SGD(params, lr=0.03, **options)
    history = []
    for _ in range(steps):
        for p in params:
            g = rng.standard_normal(p.shape).astype(dtype)
            if transposed_grad and g.ndim == 2:
                g = np.ascontiguousarray(g.T).T  # a non-contiguous gradient array
            p.grad = dg.from_numpy(g)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", OPTIONS)
def test_chunked_update_is_the_whole_update_bit_for_bit(monkeypatch, options, dtype):
    # 256-byte chunks split the 97 x 61 and 300 parameters into many pieces (a short last one)
    whole = _run(monkeypatch, 1 << 30, options, dtype)
    chunked = _run(monkeypatch, 256, options, dtype)
    for a, b in zip(whole, chunked):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_a_non_contiguous_gradient_takes_the_whole_update(monkeypatch):
    assert not dg.from_numpy(np.ones((3, 4)).T)._data.flags.c_contiguous  # (the case tested)
    whole = _run(monkeypatch, 1 << 30, {}, np.float32, transposed_grad=True)
    chunked = _run(monkeypatch, 256, {}, np.float32, transposed_grad=True)
    for a, b in zip(whole, chunked):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_plain_step_is_p_plus_rounded_product(monkeypatch):
    # The value PyTorch's add_(g, alpha=-lr) gives: the product rounded to float32, then added.
    monkeypatch.setattr(sgd, "_CHUNK_BYTES", 512)
    rng = np.random.default_rng(2)
    start = rng.standard_normal(1000).astype(np.float32)
    grad = rng.standard_normal(1000).astype(np.float32)
    p = dg.tensor(start, requires_grad=True)
    p.grad = dg.from_numpy(grad.copy())
    dg.optim.SGD([p], lr=0.01).step()
    want = start + (grad * np.float32(-0.01))
    np.testing.assert_array_equal(p.detach().numpy(), want)


@pytest.mark.parametrize("options", OPTIONS)
def test_sgd_matches_torch_on_an_mlp_over_steps(monkeypatch, options):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(sgd, "_CHUNK_BYTES", 4096)  # chunks on these small layers too
    rng = np.random.default_rng(11)
    sizes = [(64, 48), (64,), (10, 64), (10,)]
    init = [rng.standard_normal(s).astype(np.float32) * 0.2 for s in sizes]
    x = rng.standard_normal((32, 48)).astype(np.float32)
    target = rng.standard_normal((32, 10)).astype(np.float32)
    ours = [dg.tensor(a, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = dg.optim.SGD(ours, lr=0.05, **options)
    ref = torch.optim.SGD(theirs, lr=0.05, **options)
    for _ in range(5):
        for lib, params, o in ((dg, ours, opt), (torch, theirs, ref)):
            o.zero_grad()
            w1, b1, w2, b2 = params
            h = lib.nn.functional.relu(lib.nn.functional.linear(lib.from_numpy(x), w1, b1))
            out = lib.nn.functional.linear(h, w2, b2)
            lib.nn.functional.mse_loss(out, lib.from_numpy(target)).backward()
            o.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
