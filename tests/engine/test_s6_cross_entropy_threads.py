"""Cross-entropy with class indices over many classes goes by blocks of rows across the intra-op
threads (ops/nn.py _by_row_blocks, from 8 MB: lowered here to keep the tests small): the loss
and the logits' gradient are the same bits at one and two threads and unblocked, the rows
really are split, and the values are PyTorch's."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads
from deltagrad._engine.ops import nn


@pytest.fixture
def counts():
    """Run a test at several thread counts; the count in force before is put back after."""
    before = threads.count()
    yield
    threads.set_count(before)


def _loss_and_grad(logits, targets, **options):
    x = dg.tensor(logits, requires_grad=True)
    loss = dg.nn.functional.cross_entropy(x, dg.tensor(targets), **options)
    loss.backward(dg.ones_like(loss))
    return loss.detach().numpy(), x.grad.numpy()


CASES = [
    ({"reduction": "mean"}, None),
    ({"reduction": "sum"}, None),
    ({"reduction": "none"}, None),
    ({"reduction": "mean", "ignore_index": 3}, 3),  # some rows ignored
]


@pytest.mark.parametrize("options, ignored", CASES)
def test_cross_entropy_rows_same_bits_at_one_and_two_threads(counts, monkeypatch, options,
                                                             ignored):
    rng = np.random.default_rng(6)
    # 800 KB of float32 logits over 2000 classes: two blocks of rows or more.
    logits = (rng.standard_normal((100, 2000)) * 3.0).astype(np.float32)
    targets = rng.integers(0, 2000, 100)
    if ignored is not None:
        targets[::7] = ignored
    pieces = []
    split = threads.split

    def counted(function, total, **kwargs):
        pieces.append(kwargs.get("pieces"))
        return split(function, total, **kwargs)

    monkeypatch.setattr(threads, "split", counted)
    monkeypatch.setattr(nn, "_ROW_BLOCKS_MIN", 0)  # (from 8 MB: a smaller case here)
    results = {}
    for count in (1, 2):
        threads.set_count(count)
        results[count] = _loss_and_grad(logits, targets, **options)
    # Forward and rule, at each count, in blocks (split across the threads at two).
    assert len(pieces) == 4 and min(pieces) >= 2
    for one, two in zip(results[1], results[2]):
        assert one.dtype == two.dtype == np.float32
        np.testing.assert_array_equal(one, two)

    torch = pytest.importorskip("torch")
    x = torch.tensor(logits, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor(targets), **options)
    loss.backward(torch.ones_like(loss))
    np.testing.assert_allclose(results[2][0], loss.detach().numpy(), rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(results[2][1], x.grad.numpy(), rtol=2e-5, atol=1e-7)


def test_cross_entropy_large_logit_falls_back_unsplit(counts):
    # A shifted logit past exp's range takes the maxima's path (unsplit): same values as torch.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((100, 2000)).astype(np.float32)
    logits[5, 17] = 200.0
    targets = rng.integers(0, 2000, 100)
    threads.set_count(2)
    loss, grad = _loss_and_grad(logits, targets)
    x = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(x, torch.tensor(targets))
    expected.backward()
    np.testing.assert_allclose(loss, expected.detach().numpy(), rtol=2e-5)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=2e-5, atol=1e-7)


def test_cross_entropy_blocks_same_bits_as_whole(counts, monkeypatch):
    # Logits from 8 MB go by blocks (ops/nn.py _ROW_BLOCKS_MIN): the same bits as the whole
    # array at once.
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((100, 2000)).astype(np.float32)
    targets = rng.integers(0, 2000, 100)
    threads.set_count(1)
    whole = _loss_and_grad(logits, targets, reduction="sum")
    monkeypatch.setattr(nn, "_ROW_BLOCKS_MIN", 0)
    blocked = _loss_and_grad(logits, targets, reduction="sum")
    for one, two in zip(whole, blocked):
        np.testing.assert_array_equal(one, two)
