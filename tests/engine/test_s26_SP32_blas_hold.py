"""Products too small for the intra-op pool run as one GEMM with NumPy's OpenBLAS held at one
thread (session 26, issue 18: W4's linear products were cut in blocks only to keep each under
BLAS's threading size, repacking the second operand for every block; W4's step took 1.09x
the time). The hold wakes no BLAS thread, gives the same bits at any thread count, puts the
count back (also when two threads hold it at once), and without OpenBLAS the blocks stay."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads

torch = pytest.importorskip("torch")

# W4's products (linear forward, input and weight gradients) and W6 / W8's.
SHAPES = [(1024, 64, 192), (1024, 256, 64), (192, 1024, 64), (65, 1024, 64), (256, 32, 512)]


@pytest.fixture
def blas():
    """The OpenBLAS count controls (skip where NumPy's BLAS is another), put back after."""
    before = threads.blas_threads()
    if before is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS whose thread count can be set")
    yield threads._Blas
    threads._Blas.set(before)


def _operands(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m)).astype(np.float32).T  # (a gradient read transposed)
    b = rng.standard_normal((n, k)).astype(np.float32).T  # (Linear's w.T)
    return a, b


@pytest.mark.parametrize("m, k, n", SHAPES, ids=[f"{m}x{k}x{n}" for m, k, n in SHAPES])
def test_held_at_one_thread_and_put_back(m, k, n, blas, monkeypatch):
    a, b = _operands(m, k, n)
    assert m * k * n > threads.BLAS_SERIAL_WORK and m * k * n // 64 < threads.MIN_SPLIT_WORK
    seen = []
    real = np.matmul

    class Recording:
        def __getattr__(self, name):
            return getattr(np, name)

        def matmul(self, *args, **kwargs):
            seen.append(threads.blas_threads())
            return real(*args, **kwargs)

    blas.set(1)
    one = threads.matmul_serial(a, b, np.empty((m, n), np.float32))
    blas.set(2)
    monkeypatch.setattr(threads, "np", Recording())
    two = threads.matmul_serial(a, b, np.empty((m, n), np.float32))
    monkeypatch.setattr(threads, "np", np)
    assert seen == [1]  # one GEMM, BLAS at one thread during it
    assert threads.blas_threads() == 2  # put back
    assert one.tobytes() == two.tobytes()
    np.testing.assert_allclose(one, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4 * k ** 0.5)


def test_two_threads_holding_at_once_put_the_count_back(blas):
    """The count goes back when the last holder ends, not the first."""
    blas.set(2)
    a, b = _operands(1024, 64, 256)
    results, errors = [], []
    start = threading.Barrier(2)

    def work():
        try:
            start.wait()
            for _ in range(30):
                results.append(threads.matmul_serial(a, b, np.empty((1024, 256), np.float32)))
        except BaseException as error:  # noqa: BLE001 -- reported below
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert threads._Blas.pins == 0 and threads.blas_threads() == 2
    assert all(r.tobytes() == results[0].tobytes() for r in results)


def test_without_openblas_the_blocks_stay(monkeypatch):
    """Where the count cannot be set (another BLAS), the product is cut in blocks as before."""
    monkeypatch.setattr(threads._Blas, "searched", True)
    monkeypatch.setattr(threads._Blas, "get", None)
    calls = []

    class Counting:
        def __getattr__(self, name):
            return getattr(np, name)

        def matmul(self, *args, **kwargs):
            calls.append(1)
            return np.matmul(*args, **kwargs)

    a, b = _operands(1024, 64, 256)
    monkeypatch.setattr(threads, "np", Counting())
    out = threads.matmul_serial(a, b, np.empty((1024, 256), np.float32))
    monkeypatch.setattr(threads, "np", np)
    assert len(calls) > 1
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


def _linear_step(lib, seed=0):
    """A W4-sized block's output and gradients: every product (forward, input and weight
    gradients) is one held GEMM. (Products from _LARGE_PRODUCT multiply-adds on, W4's [256,
    1024] @ [1024, 64] weight gradient, are one GEMM on BLAS's own threads as before: their
    bits follow BLAS's count; the report of session 26's SP32 has it.)"""
    rng = np.random.default_rng(seed)
    x = lib.from_numpy(rng.standard_normal((32, 32, 64)).astype(np.float32)).requires_grad_()
    w1 = lib.from_numpy(rng.standard_normal((192, 64)).astype(np.float32) / 8).requires_grad_()
    b1 = lib.from_numpy(rng.standard_normal(192).astype(np.float32)).requires_grad_()
    w2 = lib.from_numpy(rng.standard_normal((64, 192)).astype(np.float32) / 14).requires_grad_()
    F = lib.nn.functional
    y = F.linear(F.gelu(F.linear(x, w1, b1)), w2)
    y.backward(lib.from_numpy(rng.standard_normal((32, 32, 64)).astype(np.float32)))
    return [t.detach().numpy().copy() for t in (y, x.grad, w1.grad, b1.grad, w2.grad)]


def test_linear_same_bits_at_any_thread_count_and_torch_values(blas):
    before = threads.count()
    got = {}
    try:
        for count in (1, 2):
            threads.set_count(count)
            blas.set(count)
            got[count] = _linear_step(dg)
    finally:
        threads.set_count(before)
    for a, b in zip(got[1], got[2]):
        assert a.tobytes() == b.tobytes()
    for a, b in zip(got[1], _linear_step(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_capture_step_bit_identical_to_eager():
    """A step replayed by capture_step takes the same held products: the same bits."""
    rng = np.random.default_rng(3)
    model = dg.nn.Sequential(dg.nn.Linear(64, 256), dg.nn.GELU(), dg.nn.Linear(256, 65))
    x = dg.from_numpy(rng.standard_normal((1024, 64)).astype(np.float32))
    y = dg.from_numpy(rng.integers(0, 65, 1024))

    def loss_fn(x, y):
        return dg.nn.functional.cross_entropy(model(x), y)

    eager = loss_fn(x, y)
    eager.backward()
    want = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    replay = dg.capture_step(loss_fn)
    for _ in range(2):  # (the first call records, the second replays)
        model.zero_grad()
        loss = replay(x, y)
        assert loss.item() == eager.item()
        for p, w in zip(model.parameters(), want):
            assert p.grad.numpy().tobytes() == w.tobytes()
