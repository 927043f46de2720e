"""Session 22 SP7: the small-input paths of common kernels (batch_norm's inline training
forward, max pooling's small window path and its new reach) give the bits of the paths they
shortcut, and PyTorch's values, indices and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _batch_norm_kernels, _pool_kernels

torch = pytest.importorskip("torch")


def _bn_run(xs, weight, bias, stats, training=True):
    x = dg.tensor(xs, requires_grad=True)
    params = [None if p is None else dg.tensor(p, requires_grad=True) for p in (weight, bias)]
    running = [None if s is None else dg.tensor(s.copy()) for s in stats]
    out = dg.nn.functional.batch_norm(x, running[0], running[1], params[0], params[1],
                                      training=training, momentum=0.3)
    g = np.random.default_rng(7).standard_normal(xs.shape).astype(xs.dtype)
    out.backward(dg.tensor(g))
    grads = [x.grad] + [p.grad for p in params if p is not None]
    return ([out.detach().numpy().copy()] + [r.numpy() for r in running if r is not None]
            + [t.numpy() for t in grads])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inline_batch_norm_forward_has_the_blocked_paths_bits(monkeypatch, dtype):
    rng = np.random.default_rng(0)
    compared = 0
    for trial in range(40):
        shape = tuple(int(n) for n in rng.integers(1, 7, size=int(rng.integers(2, 5))))
        if shape[0] * int(np.prod(shape[2:])) < 2:
            continue
        xs = (rng.standard_normal(shape) * 3 + rng.standard_normal()).astype(dtype)
        channels = shape[1]
        weight = rng.standard_normal(channels).astype(dtype) if trial % 3 else None
        bias = rng.standard_normal(channels).astype(dtype) if trial % 4 else None
        stats = ((rng.standard_normal(channels).astype(dtype),
                  rng.random(channels).astype(dtype) + 0.5) if trial % 2 else (None, None))
        assert xs.size <= _batch_norm_kernels._INLINE
        inline = _bn_run(xs, weight, bias, stats)
        with monkeypatch.context() as patch:
            patch.setattr(_batch_norm_kernels, "_INLINE", 0)
            blocked = _bn_run(xs, weight, bias, stats)
        assert len(inline) == len(blocked)
        for a, b in zip(inline, blocked):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        compared += 1
    assert compared > 25


@pytest.mark.parametrize("shape", [(5, 5, 5), (3, 1), (4, 3, 2, 2), (16, 8)])
def test_small_batch_norm_matches_pytorch(shape):
    rng = np.random.default_rng(1)
    xs = rng.standard_normal(shape).astype(np.float32)
    channels = shape[1]
    w, b = rng.standard_normal(channels).astype(np.float32), rng.standard_normal(
        channels).astype(np.float32)
    mean, var = rng.standard_normal(channels).astype(np.float32), (
        rng.random(channels) + 0.5).astype(np.float32)
    ours = _bn_run(xs, w, b, (mean, var))
    tx = torch.tensor(xs, requires_grad=True)
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    tm, tv = torch.tensor(mean), torch.tensor(var)
    out = torch.nn.functional.batch_norm(tx, tm, tv, tw, tb, training=True, momentum=0.3)
    out.backward(torch.tensor(np.random.default_rng(7).standard_normal(shape).astype(np.float32)))
    theirs = [out.detach().numpy(), tm.numpy(), tv.numpy(), tx.grad.numpy(), tw.grad.numpy(),
              tb.grad.numpy()]
    for a, b_ in zip(ours, theirs):
        np.testing.assert_allclose(a, b_, rtol=2e-5, atol=2e-5)


def _pool_case(lib, xs, kernel, stride, padding, ceil_mode=False):
    x = lib.tensor(xs, requires_grad=True)
    out, index = lib.nn.functional.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode,
                                              return_indices=True)
    g = np.random.default_rng(3).standard_normal(tuple(out.shape)).astype(np.float32)
    out.backward(lib.tensor(g))
    return out.detach().numpy(), index.numpy(), x.grad.numpy()


@pytest.mark.parametrize("shape, kernel, stride, padding, ceil_mode", [
    ((2, 8, 16, 16), 3, 2, 1, False),  # (overlapping windows: now the small path)
    ((4, 8, 16, 16), 2, 2, 0, False),  # (disjoint windows, many entries: the small path)
    ((1, 2, 3, 6), 3, 2, 1, True),
    ((2, 3, 9, 7), (3, 2), (2, 1), (1, 0), True),
])
@pytest.mark.parametrize("special", ["none", "ties", "nan", "-inf"])
def test_max_pool2d_small_path_matches_pytorch(shape, kernel, stride, padding, ceil_mode,
                                               special):
    rng = np.random.default_rng(2)
    xs = rng.standard_normal(shape).astype(np.float32)
    if special == "ties":
        xs = np.round(xs)
    elif special == "nan":
        xs.flat[rng.integers(0, xs.size, 3)] = np.nan
    elif special == "-inf":  # (a window of -inf: a maximum as low as the padding)
        xs[:, :, :3, :3] = -np.inf
    ours = _pool_case(dg, xs, kernel, stride, padding, ceil_mode)
    theirs = _pool_case(torch, xs, kernel, stride, padding, ceil_mode)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_max_pool_small_path_takes_overlapping_windows(monkeypatch):
    """[2, 8, 16, 16] with a 3x3 kernel has 36,864 entries x taps but 9,216 windows' taps: the
    small path (it was the general one), with the general path's bits."""
    xs = np.random.default_rng(4).standard_normal((2, 8, 16, 16)).astype(np.float32)
    geometry = dict(kernel=(3, 3), stride=(2, 2), dilation=(1, 1), pads=((1, 1), (1, 1)),
                    out=(8, 8))
    calls = []
    small = _pool_kernels._small_window_maxima

    def counted(*args):
        calls.append(1)
        return small(*args)

    with monkeypatch.context() as patch:
        patch.setattr(_pool_kernels, "_small_window_maxima", counted)
        values, index = _pool_kernels._max_pool_positions(xs, **geometry)
    assert calls
    with monkeypatch.context() as patch:
        patch.setattr(_pool_kernels, "_SMALL_WINDOWS", 0)
        general = _pool_kernels._max_pool_positions(xs, **geometry)
    np.testing.assert_array_equal(values, general[0])
    np.testing.assert_array_equal(index, general[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ["max_pool3d", "adaptive_max_pool2d", "max_pool1d"])
def test_overlapping_max_pool_gradients_are_pytorchs_bits(case, dtype):
    """Where windows overlap, an input position's gradient is the sum of its outputs'
    gradients, added in the outputs' order in the input's dtype as PyTorch's loop (a float64
    bincount rounded once differed in the last bit)."""
    rng = np.random.default_rng(5)
    shape = {"max_pool3d": (2, 3, 6, 7, 8), "adaptive_max_pool2d": (2, 4, 11, 13),
             "max_pool1d": (3, 4, 40)}[case]
    xs = np.round(rng.standard_normal(shape) * 2, 1).astype(dtype)  # (ties too)

    def run(lib):
        x = lib.tensor(xs, requires_grad=True)
        functional = lib.nn.functional
        if case == "max_pool3d":
            out = functional.max_pool3d(x, 3, 1, 1)
        elif case == "adaptive_max_pool2d":
            out = functional.adaptive_max_pool2d(x, (8, 9))
        else:
            out = functional.max_pool1d(x, 4, 1, 2)
        g = np.random.default_rng(6).standard_normal(tuple(out.shape)).astype(dtype)
        out.backward(lib.tensor(g))
        return out.detach().numpy(), x.grad.numpy()

    for a, b in zip(run(dg), run(torch)):
        np.testing.assert_array_equal(a, b)


def _conv_run(xs, ws, bs, stride, padding, dilation, groups):
    x = dg.tensor(xs, requires_grad=True)
    w = dg.tensor(ws, requires_grad=True)
    b = None if bs is None else dg.tensor(bs, requires_grad=True)
    out = dg.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)
    g = np.random.default_rng(8).standard_normal(tuple(out.shape)).astype(xs.dtype)
    out.backward(dg.tensor(g))
    return [out.detach().numpy().copy(), x.grad.numpy(), w.grad.numpy()] + (
        [] if b is None else [b.grad.numpy()])


def test_inline_conv_columns_have_the_blocked_paths_bits(monkeypatch):
    from deltagrad.nn import conv2d_kernels

    rng = np.random.default_rng(9)
    compared = 0
    for trial in range(40):
        groups = int(rng.choice([1, 1, 2]))
        channels, out_channels = groups * int(rng.integers(1, 4)), groups * int(
            rng.integers(1, 4))
        kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 3, size=2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
        padding = tuple(int(p) for p in rng.integers(0, 2, size=2))
        size = tuple(int(n) for n in rng.integers(3, 8, size=2))
        batch = int(rng.integers(1, 4))
        if any(n + 2 * p < d * (k - 1) + 1 for n, p, d, k in zip(size, padding, dilation,
                                                                 kernel)):
            continue
        dtype = np.float64 if trial % 5 == 0 else np.float32
        xs = rng.standard_normal((batch, channels) + size).astype(dtype)
        ws = rng.standard_normal((out_channels, channels // groups) + kernel).astype(dtype)
        bs = rng.standard_normal(out_channels).astype(dtype) if trial % 2 else None
        args = (xs, ws, bs, stride, padding, dilation, groups)
        inline = _conv_run(*args)
        with monkeypatch.context() as patch:
            patch.setattr(conv2d_kernels, "_INLINE_COLUMNS", 0)
            blocked = _conv_run(*args)
        for a, b in zip(inline, blocked):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        compared += 1
    assert compared > 25


@pytest.mark.parametrize("shape, output_size", [((8, 8, 8), [5, 7]), ((1, 8, 8, 8), (5, 7)),
                                                ((4, 16, 7, 7), 1), ((2, 3, 6, 6), (6, 6))])
def test_adaptive_avg_pool2d_calls_cached_match_pytorch(shape, output_size):
    """The second and third calls take the checked call's geometry (``_CALLS``): the same
    values and gradients as PyTorch's, and a new tensor where nothing is averaged."""
    xs = np.random.default_rng(10).standard_normal(shape).astype(np.float32)

    def run(lib):
        x = lib.tensor(xs, requires_grad=True)
        outs = [lib.nn.functional.adaptive_avg_pool2d(x, output_size) for _ in range(3)]
        sum(out.sum() * (k + 1) for k, out in enumerate(outs)).backward()
        assert all(out is not x for out in outs)
        return [out.detach().numpy() for out in outs] + [x.grad.numpy()]

    for a, b in zip(run(dg), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_adaptive_avg_pool2d_cached_call_still_refuses_bad_inputs():
    x = dg.zeros(2, 3, 4, 4)
    dg.nn.functional.adaptive_avg_pool2d(x, (2, 2))
    with pytest.raises(NotImplementedError):
        dg.nn.functional.adaptive_avg_pool2d(dg.zeros(2, 3, 4, 4, dtype=dg.int64), (2, 2))
    with pytest.raises(ValueError):
        dg.nn.functional.adaptive_avg_pool2d(dg.zeros(3, 4), (2, 2))


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_losses_past_the_half_wrappers_match_pytorch(name, dtype):
    """float32 / float64 scores go straight to the loss (the half-precision wrappers pass them
    on unchanged); float16 ones still through them: PyTorch's values and gradients."""
    rng = np.random.default_rng(11)
    scores = rng.standard_normal((6, 5)).astype(dtype)
    targets = np.array([0, 4, 2, 2, 1, 3])
    weight = (rng.random(5) + 0.5).astype(dtype)
    for kwargs in ({}, {"reduction": "sum"}, {"reduction": "none", "ignore_index": 2},
                   {"weight": weight}, {"weight": weight, "ignore_index": 4}):

        def run(lib, kwargs=kwargs):
            x = lib.tensor(scores, requires_grad=True)
            args = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v
                    for k, v in kwargs.items()}
            out = getattr(lib.nn.functional, name)(x, lib.tensor(targets), **args)
            out.sum().backward()
            return out.detach().numpy(), x.grad.numpy()

        for a, b in zip(run(dg), run(torch)):
            assert a.dtype == b.dtype
            tol = 1e-3 if dtype == np.float16 else 1e-6
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
