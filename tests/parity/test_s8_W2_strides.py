"""Strides of dims of size 1 in expand / broadcast_to / unsqueeze / view / reshape results, and
writes into expanded tensors whose elements do not repeat (W2, session 8), against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _layouts(rng, count: int):
    """(torch tensor, deltagrad tensor) pairs of random layouts: permuted, sliced with steps,
    with dims of size 1, from the same values."""
    for _ in range(count):
        ndim = int(rng.integers(1, 4))
        shape = tuple(int(n) for n in rng.choice([1, 1, 2, 3, 4], size=ndim))
        values = rng.standard_normal(shape)
        pair = [torch.tensor(values), dg.tensor(values)]
        order = tuple(int(i) for i in rng.permutation(ndim))
        pair = [x.permute(order) for x in pair]
        if rng.random() < 0.5:
            dim = int(rng.integers(ndim))
            index = (slice(None),) * dim + (slice(None, None, int(rng.integers(1, 3))),)
            pair = [x[index] for x in pair]
        if rng.random() < 0.3:
            dim = int(rng.integers(ndim))
            index = (slice(None),) * dim + (slice(0, 1),)
            pair = [x[index] for x in pair]
        yield pair


def _with_ones(rng, shape) -> tuple:
    """``shape`` with dims of size 1 inserted at random places (and maybe some removed)."""
    out = [n for n in shape if n != 1 or rng.random() < 0.5]
    for _ in range(int(rng.integers(0, 3))):
        out.insert(int(rng.integers(0, len(out) + 1)), 1)
    return tuple(out)


def _same(t, d):
    assert tuple(d.shape) == tuple(t.shape)
    assert d.stride() == t.stride(), (tuple(t.shape), t.stride(), d.stride())
    assert d.is_contiguous() == t.is_contiguous()
    np.testing.assert_array_equal(d.numpy(), t.numpy())


def test_view_and_reshape_strides_random_layouts():
    rng = np.random.default_rng(0)
    for t, d in _layouts(rng, 300):
        _same(t, d)
        shape = _with_ones(rng, tuple(t.shape))
        _same(t.reshape(shape), d.reshape(shape))
        try:
            expected = t.view(shape)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                d.view(shape)
            continue
        _same(expected, d.view(shape))


def test_unsqueeze_strides_random_layouts():
    rng = np.random.default_rng(1)
    for t, d in _layouts(rng, 200):
        dim = int(rng.integers(-t.ndim - 1, t.ndim + 1))
        _same(t.unsqueeze(dim), d.unsqueeze(dim))
        _same(t.unsqueeze(dim).unsqueeze(0), d.unsqueeze(dim).unsqueeze(0))


def test_expand_strides_random_layouts():
    rng = np.random.default_rng(2)
    for t, d in _layouts(rng, 200):
        lead = tuple(int(n) for n in rng.choice([1, 2], size=int(rng.integers(0, 3))))
        sizes = lead + tuple(n if n != 1 or rng.random() < 0.5 else 3 for n in t.shape)
        _same(t.expand(sizes), d.expand(sizes))
        _same(torch.broadcast_to(t, sizes), dg.broadcast_to(d, sizes))


def test_expand_of_arange_is_contiguous_and_writable():
    # BERT's position_ids: a buffer made with arange(n).expand((1, -1)), then copied into.
    for m in (torch, dg):
        ids = m.arange(5).expand((1, -1))
        assert ids.stride() == (5, 1) and ids.is_contiguous()
        ids.copy_(m.arange(5) * 2)
        assert ids.tolist() == [[0, 2, 4, 6, 8]]


def test_write_into_expand_reaches_base():
    for m in (torch, dg):
        base = m.arange(3.0)
        base.expand(1, 1, 3).mul_(2)
        assert base.tolist() == [0.0, 2.0, 4.0]


def test_write_into_repeating_expand_raises():
    for m in (torch, dg):
        with pytest.raises(RuntimeError, match="more than one element"):
            m.arange(3.0).expand(2, 3).copy_(m.ones(2, 3))
        with pytest.raises(RuntimeError, match="more than one element"):
            m.zeros(3, 1).expand(3, 4).add_(1.0)


def test_write_into_expand_in_graph_gradients():
    results = []
    for m in (torch, dg):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a * 1
        view = b.expand(1, 3)
        view.mul_(a)
        (b.sum() + (view * m.tensor([1.0, 10.0, 100.0])).sum()).backward()
        results.append((b.tolist(), a.grad.tolist()))
    assert results[0] == results[1]


def test_view_of_leaf_expand_refuses_write():
    for m in (torch, dg):
        a = m.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            a.expand(1, 3).mul_(2)
