"""Session 26 EN1: bits that depended on OpenBLAS's kernel (OPENBLAS_CORETYPE=Haswell, the CI
machine's, against SkylakeX's): softmax's sums spread by a square product of ones (unequal
entries for equal inputs), GEMMs that BLAS threads at two threads but not at one (its own
threading size is 524,288 multiply-adds without SkylakeX's small-matrix kernels, 9,216 for a
GEMV), whose partition moves last bits. Run the file under both kernels to check both."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads
from deltagrad._engine.ops import reductions


@pytest.mark.parametrize("shape, dim", [((5,), 0), ((6,), 0), ((13,), 0), ((1, 9), 1),
                                        ((5, 9), 1), ((3, 17), 1), ((13, 7), 0), ((2, 3, 7), 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spread_sum_one_sum_per_row(shape, dim, dtype):
    """Every entry along ``dim`` holds the same bits: the row's one sum."""
    rng = np.random.default_rng(sum(shape) + dim)
    for _ in range(20):
        x = rng.standard_normal(shape).astype(dtype)
        got = reductions._spread_sum(x, dim)
        first = np.take(got, [0], axis=dim)
        assert np.array_equal(got, np.broadcast_to(first, shape))
        np.testing.assert_allclose(first, x.astype(np.float64).sum(dim, keepdims=True),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@pytest.mark.parametrize("n", [5, 7, 9, 13, 21, 31])
def test_softmax_of_equal_inputs_is_equal_as_torch(n):
    """softmax / its gradient of a row of equal entries: every entry the same bits (PyTorch's:
    1 / n each); they were unequal in the last bit under Haswell's GEMV."""
    torch = pytest.importorskip("torch")
    for dtype in ("float32", "float64"):
        for value in (0.3, -1.7, 2.0):
            x = np.full((n,), value, dtype)
            g = np.linspace(-1, 1, n).astype(dtype)
            a = dg.from_numpy(x.copy()).requires_grad_()
            out = dg.nn.functional.softmax(a, 0)
            out.backward(dg.from_numpy(g.copy()))
            b = torch.from_numpy(x.copy()).requires_grad_()
            want = torch.nn.functional.softmax(b, 0)
            want.backward(torch.from_numpy(g.copy()))
            got = out.detach().numpy()
            assert np.unique(got).size == 1 == np.unique(want.detach().numpy()).size
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-6, atol=0)
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.fixture
def restore_threads(monkeypatch):
    from deltagrad._engine.api import settings
    monkeypatch.setattr(settings._Threads, "intra", settings._Threads.intra)
    before, blas = threads.count(), threads.blas_threads()
    yield
    threads.set_count(before)
    if blas is not None:
        threads._Blas.set(blas)


@pytest.mark.parametrize("rows, inputs, outputs", [(64, 100, 100), (128, 64, 64),
                                                    (32, 145, 196), (700, 700, 1)])
def test_linear_same_bits_at_one_and_two_threads(rows, inputs, outputs, restore_threads):
    """nn.Linear's forward and gradients: products between BLAS's own threading size and
    BLAS_SERIAL_WORK (and GEMVs past 9,216) run held at one BLAS thread: the same bits at
    ``set_num_threads(1)`` and ``(2)``; they differed under Haswell."""
    rng = np.random.default_rng(rows + inputs)
    x = rng.standard_normal((rows, inputs)).astype(np.float32)
    g = rng.standard_normal((rows, outputs)).astype(np.float32)
    results = []
    for count in (1, 2, 1):
        dg.set_num_threads(count)
        dg.manual_seed(0)
        layer = dg.nn.Linear(inputs, outputs)
        t = dg.from_numpy(x).requires_grad_()
        y = layer(t)
        y.backward(dg.from_numpy(g))
        results.append([y.detach().numpy().tobytes(), t.grad.numpy().tobytes(),
                        layer.weight.grad.numpy().tobytes(), layer.bias.grad.numpy().tobytes()])
    assert results[0] == results[1] == results[2]
    want = x.astype(np.float64) @ layer.weight.detach().numpy().astype(np.float64).T
    np.testing.assert_allclose(np.frombuffer(results[0][0], np.float32).reshape(want.shape),
                               want + layer.bias.detach().numpy(), rtol=1e-4, atol=1e-4)


def test_split_holds_blas_at_one_thread(restore_threads):
    """A split's pieces see OpenBLAS at one thread (split or run whole), and the count is put
    back after."""
    if threads.blas_threads() is None:
        pytest.skip("OpenBLAS's thread count cannot be read here")
    threads._Blas.set(2)
    for count in (1, 2):
        threads.set_count(count)
        seen = []
        threads.split(lambda a, b, s=seen: s.append(threads.blas_threads()), 8,
                      elements=1 << 30)
        assert seen and set(seen) == {1}, (count, seen)
        assert threads.blas_threads() == 2
    failing = []

    def boom(a, b):
        failing.append(threads.blas_threads())
        raise ValueError("piece failed")

    with pytest.raises(ValueError, match="piece failed"):
        threads.split(boom, 8, elements=1 << 30)
    assert threads.blas_threads() == 2 and threads._Blas.pins == 0
