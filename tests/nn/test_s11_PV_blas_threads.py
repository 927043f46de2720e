"""The convolution kernels keep NumPy's BLAS on the caller's thread (issue 18, W6 / W8 at two
threads): every GEMM they hand to BLAS is under ``BLAS_SERIAL_WORK`` multiply-adds, and under
``BLAS_SERIAL_TRANSPOSED`` where an operand is a transposed view (bigger ones woke OpenBLAS's
threads, which then spun on the core the intra-op pool needed), or run as one GEMM with
OpenBLAS held at one thread (session 26: products too small for the intra-op pool). The
products give the same bits at any thread count, and PyTorch's values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads
from deltagrad.nn import conv2d_kernels

torch = pytest.importorskip("torch")


class _RecordingNumpy:
    """NumPy, with ``matmul`` recording its operands' shapes and strides."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, a, b, *args, **kwargs):
        a, b = np.asarray(a), np.asarray(b)
        self.calls.append((a.shape, a.strides, a.itemsize, b.shape, b.strides,
                           threads.blas_threads()))  # (1: held at one thread for the call)
        return np.matmul(a, b, *args, **kwargs)


def _serial_for_blas(call) -> bool:
    """Whether one matmul call stays on the caller's thread by the rule of BLAS_SERIAL_WORK:
    each GEMM under it, under BLAS_SERIAL_TRANSPOSED with a transposed second operand (or a
    transposed stacked one), or left to BLAS whole where blocks would be too thin; or any
    GEMM run while BLAS was held at one thread (the tests run with it at two: ``blas_two``)."""
    a_shape, a_strides, item, b_shape, b_strides, blas = call
    if blas == 1:  # (BLAS held at one thread: one GEMM of any size stays on the caller's)
        return True
    if len(a_shape) < 2 or len(b_shape) < 2:  # a matrix-vector product
        return True
    m, k, n = a_shape[-2], a_shape[-1], b_shape[-1]
    stacked = len(a_shape) > 2 or len(b_shape) > 2
    # Both operands transposed (conv2d_kernels' rows-last products) thread as a plain product:
    # OPENBLAS_NUM_THREADS=2, 500 calls of a stack of 4, the BLAS worker's CPU ticks, TT / NN /
    # NT: [16, 288] x [288, 196] 0 / 0 / 339, [32, 145] x [145, 196] 0 / 0 / 107, [100, 100] x
    # [100, 100] 0 / 0 / 91, [32, 160] x [160, 196] (1.0M) 70 / 121 / 73 (s20 EO).
    a_t, b_t = a_strides[-1] != item, b_strides[-1] != item
    transposed = (b_t or (stacked and a_t)) and not (a_t and b_t)
    limit = (threads.BLAS_SERIAL_TRANSPOSED if transposed
             else threads.BLAS_SERIAL_WORK)
    if m * k * n <= limit:
        return True
    # (a 2-D product whose blocks would be thinner than _MIN_BLOCK is left to BLAS's threads)
    return not stacked and max(limit // (k * n), limit // (m * k)) < threads._MIN_BLOCK


# W6's second convolution and W8 DCGAN's layers, whose products crossed the line before.
LAYERS = {
    "w6_conv2": (lambda m: m.nn.Conv2d(16, 32, 3, padding=1), (64, 16, 14, 14)),
    "dcgan_conv": (lambda m: m.nn.Conv2d(16, 32, 4, 2, 1, bias=False), (32, 16, 8, 8)),
    "dcgan_up": (lambda m: m.nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False), (32, 32, 4, 4)),
    "few_examples_up": (lambda m: m.nn.ConvTranspose2d(8, 4, 3, 2, 1), (2, 8, 9, 9)),
    "grouped": (lambda m: m.nn.Conv2d(8, 16, 3, stride=2, groups=2), (16, 8, 15, 15)),
}


def _run(module, make, shape, seed=0):
    """(output, input gradient, parameter gradients) of ``make(module)`` on a seeded input."""
    rng = np.random.default_rng(seed)
    x_array = rng.standard_normal(shape).astype(np.float32)
    torch.manual_seed(seed)
    layer = reference = make(torch)
    if module is not torch:
        layer = make(module)
        for p, q in zip(reference.parameters(), layer.parameters()):
            q.data.copy_(dg.from_numpy(p.detach().numpy().copy()))
    x = module.from_numpy(x_array).requires_grad_(True)
    y = layer(x)
    y.backward(module.from_numpy(rng.standard_normal(tuple(y.shape)).astype(np.float32)))
    return (y.detach().numpy().copy(), x.grad.numpy().copy(),
            [p.grad.numpy().copy() for p in layer.parameters()])


@pytest.fixture
def at_threads():
    # (the pool's own count: dg.get_num_threads() may answer the BLAS pool's size instead, and
    # setting the pool to that leaked a changed count to the tests after these)
    before = threads.count()

    def at(count, fn):
        threads.set_count(count)
        try:
            return fn()
        finally:
            threads.set_count(before)

    yield at
    threads.set_count(before)


@pytest.fixture
def blas_two():
    """NumPy's OpenBLAS at two threads for the test (a count of one would pass any product)."""
    before = threads.blas_threads()
    if before is not None:
        threads._Blas.set(2)
    yield
    if before is not None:
        threads._Blas.set(before)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_products_stay_under_blas_threading(name, monkeypatch, blas_two):
    make, shape = LAYERS[name]
    recorder = _RecordingNumpy()
    monkeypatch.setattr(conv2d_kernels, "np", recorder)
    monkeypatch.setattr(threads, "np", recorder)  # (threads.matmul_serial's blocks)
    _run(dg, make, shape)
    assert recorder.calls, "no product recorded: the kernels changed, update the test"
    wrong = [call for call in recorder.calls if not _serial_for_blas(call)]
    assert not wrong, f"{name}: products BLAS would thread: {wrong}"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_same_bits_at_any_thread_count_and_torch_values(name, at_threads):
    make, shape = LAYERS[name]
    out1, dx1, params1 = at_threads(1, lambda: _run(dg, make, shape))
    for count in (2, 3):
        out, dx, params = at_threads(count, lambda: _run(dg, make, shape))
        assert np.array_equal(out, out1) and np.array_equal(dx, dx1)
        for a, b in zip(params, params1):
            assert np.array_equal(a, b)
    want_out, want_dx, want_params = _run(torch, make, shape)
    np.testing.assert_allclose(out1, want_out, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx1, want_dx, rtol=1e-4, atol=1e-4)
    for a, b in zip(params1, want_params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("m, k, n", [(256, 32, 512), (64, 1568, 10), (10, 64, 1568),
                                     (3, 2000, 600), (600, 2000, 3), (1100, 1000, 1000),
                                     (7, 300, 301), (1, 5, 5), (4096, 100, 300)])
@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_serial_blocks(m, k, n, transposed, at_threads, monkeypatch):
    """Row blocks (column blocks for few rows) under BLAS's threading size where the intra-op
    pool may share them out, one GEMM with BLAS held at one thread where it would not (too
    little work for split()), one GEMM where blocks would be thinner than _MIN_BLOCK; the
    same bits at any thread count."""
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((k, m)).astype(np.float32).T  # a transposed weight, as the kernels'
    b = (rng.standard_normal((n, k)).astype(np.float32).T if transposed  # (Linear's w.T)
         else rng.standard_normal((k, n)).astype(np.float32))
    recorder = _RecordingNumpy()
    monkeypatch.setattr(threads, "np", recorder)
    runs = []
    original = threads._run
    monkeypatch.setattr(threads, "_run", lambda f, ranges, count: (
        runs.append(len(ranges)), original(f, ranges, count)))
    one = at_threads(1, lambda: threads.matmul_serial(a, b, np.empty((m, n), a.dtype)))
    assert not runs
    limit, least = threads.BLAS_SERIAL_WORK, threads._MIN_BLOCK
    too_large = max(limit // (k * n), limit // (m * k)) < least  # (one GEMM, never copied)
    held = (m * k * n > limit and not too_large and m * k * n // 64 < threads.MIN_SPLIT_WORK
            and threads.blas_threads() is not None)  # (one GEMM, BLAS held at one thread)
    blocked = m * k * n > limit and not too_large and not held
    calls = recorder.calls[:]
    assert (len(calls) > 1) == blocked
    if held:
        assert len(calls) == 1 and calls[0][5] == 1
        assert calls[0][4] == b.strides  # (a transposed b as it is: no copy)
    elif transposed and m * k * n > threads.BLAS_SERIAL_TRANSPOSED and not too_large:
        assert all(call[4][-1] == 4 for call in calls)  # (copied contiguous)
    if transposed and too_large:
        assert len(calls) == 1 and calls[0][4][-1] != 4  # (W3: no copy of its weights)
    if blocked:
        assert all(math.prod(call[0]) * call[3][1] <= limit for call in calls)
    two = at_threads(2, lambda: threads.matmul_serial(a, b, np.empty((m, n), a.dtype)))
    assert np.array_equal(one, two)
    # (split()'s minimum: (4096, 100, 300) is the case over it; s21 EO2)
    assert bool(runs) == (blocked and m * n * k // 64 >= threads.MIN_SPLIT_WORK)
    np.testing.assert_allclose(one, a.astype(np.float64) @ b, rtol=1e-4,
                               atol=1e-4 * math.sqrt(k))


@pytest.mark.parametrize("features, batch", [((1568, 10), 64), ((1568, 64), 32)])
def test_linear_products_stay_under_blas_threading(features, batch, monkeypatch, blas_two):
    """W6's and W8 CNN's classifier layers: forward and both gradients in blocks or held at
    one BLAS thread."""
    from deltagrad._engine.ops import nn as nn_ops

    recorder = _RecordingNumpy()
    monkeypatch.setattr(threads, "np", recorder)
    monkeypatch.setattr(nn_ops, "np", recorder)
    make = lambda m: m.nn.Linear(*features)  # noqa: E731
    got = _run(dg, make, (batch, features[0]))
    assert len(recorder.calls) >= 3  # (one product or more each)
    wrong = [call for call in recorder.calls if not _serial_for_blas(call)]
    assert not wrong, f"products BLAS would thread: {wrong}"
    for a, b in zip(got, _run(torch, make, (batch, features[0]))):
        for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4)
