"""Session 21 EO2: split()'s own minimum (MIN_SPLIT_WORK, read at call time) and softmax's sums
spread by one product with a square matrix of ones (ops/reductions._spread_sum)."""

import threading

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads
from deltagrad._engine.ops import reductions


@pytest.fixture
def counts(monkeypatch):
    from deltagrad._engine.api import settings

    monkeypatch.setattr(settings._Threads, "intra", settings._Threads.intra)
    before = threads.count()
    yield
    threads.set_count(before)


def _callers(elements, **options):
    seen = []
    lock = threading.Lock()

    def piece(start, stop):
        with lock:
            seen.append((start, stop, threading.get_ident()))

    threads.split(piece, 8, elements=elements, **options)
    return seen


def test_split_minimum_is_split_work_and_read_at_call_time(counts, monkeypatch):
    threads.set_count(2)
    me = threading.get_ident()
    # W1's blocked products (12.8e6 multiply-adds: 200,000 elements) run on the caller now.
    assert threads.MIN_SPLIT_WORK > 200_000 > threads.MIN_SPLIT_ELEMENTS
    assert _callers(200_000) == [(0, 8, me)]
    split = _callers(threads.MIN_SPLIT_WORK)
    assert sorted((a, b) for a, b, _ in split) == [(0, 4), (4, 8)]
    # A caller's own minimum still wins (split_rows passes MIN_SPLIT_ELEMENTS).
    assert len(_callers(200_000, min_elements=threads.MIN_SPLIT_ELEMENTS)) == 2
    monkeypatch.setattr(threads, "MIN_SPLIT_WORK", 100)
    assert len(_callers(200_000)) == 2
    threads.set_count(1)
    assert _callers(10**9) == [(0, 8, me)]


def test_row_wise_ops_keep_their_smaller_minimum(counts, monkeypatch):
    """log_softmax over [600, 500] (300,000 elements, under MIN_SPLIT_WORK) still splits its
    rows at two threads, with the same bits as one thread."""
    runs = []
    original = threads._run
    monkeypatch.setattr(threads, "_run", lambda f, r, c: (runs.append(len(r)), original(f, r, c)))
    x = np.random.default_rng(0).standard_normal((600, 500)).astype(np.float32)
    threads.set_count(1)
    one = reductions._log_softmax_forward(x, dim=1)
    assert not runs
    threads.set_count(2)
    two = reductions._log_softmax_forward(x, dim=1)
    assert runs and np.array_equal(one, two)


@pytest.mark.parametrize("shape, dim", [((8, 8), 1), ((8, 8), 0), ((8, 8), -1), ((3, 4), -2),
                                        ((2, 3, 4), 2), ((2, 3, 4), 1), ((5,), 0), ((0, 3), 0),
                                        ((3, 0), 1), ((1, 1), 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spread_sum_is_the_sum_spread(shape, dim, dtype):
    rng = np.random.default_rng(len(shape) + dim)
    for scale in (1e-3, 1.0, 1e3):
        x = (rng.standard_normal(shape) * scale).astype(dtype)
        got = reductions._spread_sum(x, dim)
        want = np.broadcast_to(x.astype(np.float64).sum(dim, keepdims=True), shape)
        assert got.shape == shape and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps * 8,
                                   atol=4 * np.finfo(dtype).eps * scale * 8)
        if x.size:  # every entry of a row holds the same sum (the spread)
            assert np.array_equal(got, np.broadcast_to(np.take(got, [0], axis=dim), shape))


@pytest.mark.parametrize("shape, dim", [((8, 8), 1), ((8, 8), 0), ((2, 3, 4), -1),
                                        ((2, 3, 4), 1), ((5,), 0), ((4, 6), -2)])
def test_small_softmax_matches_torch(shape, dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for scale in (1.0, 100.0):  # (100: the forward's shifted path)
        x = (rng.standard_normal(shape) * scale).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        a = dg.from_numpy(x.copy()).requires_grad_()
        out = dg.nn.functional.softmax(a, dim)
        out.backward(dg.from_numpy(g.copy()))
        b = torch.from_numpy(x.copy()).requires_grad_()
        want = torch.nn.functional.softmax(b, dim)
        want.backward(torch.from_numpy(g.copy()))
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert a.grad.dtype == dg.float32 and a.grad.shape == b.grad.shape
