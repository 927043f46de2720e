"""The dense embedding gradient across optimizer steps: its buffer is recycled from one step to
the next (zeroed on the last batch's rows by ``zero_grad``, or, with deferred zeroing, by the
embedding VJP itself), and each backward must leave exactly the new batch's sums, zeros
elsewhere, whatever the overlap of the two batches. Checked against np.add.at (the sums in
order) and PyTorch; the pool's other takers, ``empty_cache`` and ``set_limit`` see it too."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import buffers as _buffers

TABLE = (6000, 48)  # 1.15 MB in float32: the gradient notes its rows and is recycled


@pytest.fixture(autouse=True)
def empty_pool():
    _buffers.clear()
    yield
    _buffers.clear()


def _batches(seed=0, steps=4):
    """Batches that share some ids with the one before (frequent words) and not others."""
    rng = np.random.default_rng(seed)
    frequent = np.arange(20)
    return [np.concatenate([rng.choice(frequent, 30),
                            rng.integers(20, TABLE[0], 50)]).reshape(8, 10)
            for _ in range(steps)]


def _expected_grad(ids, upstream):
    grad = np.zeros(TABLE, np.float32)
    np.add.at(grad, ids.reshape(-1), upstream.reshape(-1, TABLE[1]))
    return grad


@pytest.mark.parametrize("optimizer", ["Adam", "SGD"])
def test_each_step_gradient_is_this_batch_only(optimizer):
    rng = np.random.default_rng(1)
    table = dg.nn.Embedding(*TABLE, generator=dg.Generator(0))
    opt = getattr(dg.optim, optimizer)(table.parameters(), lr=0.01)
    seen = []
    for ids in _batches():
        upstream = rng.standard_normal(ids.shape + (TABLE[1],), dtype=np.float32)
        opt.zero_grad()
        assert table.weight.grad is None
        (table(dg.from_numpy(ids)) * dg.from_numpy(upstream)).sum().backward()
        # (read through _data: .numpy() would hand the memory out, and it would not be reused)
        expected = _expected_grad(ids, upstream)
        assert table.weight.grad._data.tobytes() == expected.tobytes()  # old rows zero again
        seen.append(table.weight.grad._data.__array_interface__["data"][0])
        opt.step()
    assert len(set(seen)) < len(seen)  # the buffer was recycled (else the test checks nothing)


def test_matches_pytorch_over_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    init = rng.standard_normal(TABLE, dtype=np.float32)
    mine = dg.nn.Embedding(*TABLE)
    mine.weight.data[...] = init
    theirs = torch.nn.Embedding(*TABLE)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(init))
    opt_mine = dg.optim.Adam(mine.parameters(), lr=1e-2)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=1e-2)
    for ids in _batches(seed=3, steps=5):
        upstream = rng.standard_normal(ids.shape + (TABLE[1],), dtype=np.float32)
        opt_mine.zero_grad()
        opt_theirs.zero_grad()
        (mine(dg.from_numpy(ids)) * dg.from_numpy(upstream)).sum().backward()
        (theirs(torch.from_numpy(ids)) * torch.from_numpy(upstream)).sum().backward()
        np.testing.assert_allclose(mine.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   rtol=1e-6, atol=1e-6)
        opt_mine.step()
        opt_theirs.step()
    np.testing.assert_allclose(mine.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_a_held_gradient_is_never_reused():
    table = dg.nn.Embedding(*TABLE, generator=dg.Generator(0))
    opt = dg.optim.Adam(table.parameters(), lr=0.01)
    first, second = _batches(seed=4, steps=2)
    table(dg.from_numpy(first)).sum().backward()
    held = table.weight.grad  # the caller keeps the first gradient
    before = held.numpy().copy()
    opt.step()
    opt.zero_grad()
    table(dg.from_numpy(second)).sum().backward()
    assert table.weight.grad._data is not held._data
    assert held.numpy().tobytes() == before.tobytes()


def test_other_takers_of_the_buffer_get_zeros():
    # A gradient dropped by zero_grad with its rows noted, then the same shape asked for zeros
    # (another op's buffer): all zeros, whatever the pool kept.
    table = dg.nn.Embedding(*TABLE, generator=dg.Generator(0))
    opt = dg.optim.SGD(table.parameters(), lr=0.1)
    table(dg.from_numpy(_batches(seed=5, steps=1)[0])).sum().backward()
    opt.zero_grad()
    assert _buffers.held_bytes() >= np.prod(TABLE) * 4
    zeros = _buffers.zeros(TABLE, np.dtype(np.float32))
    assert not zeros.any()
    _buffers.give(zeros)
    empty = _buffers.empty(TABLE, np.dtype(np.float32))
    assert empty.shape == TABLE


def test_empty_cache_and_limit_cover_the_kept_gradient():
    table = dg.nn.Embedding(*TABLE, generator=dg.Generator(0))
    opt = dg.optim.Adam(table.parameters(), lr=0.01)
    table(dg.from_numpy(_batches(seed=6, steps=1)[0])).sum().backward()
    opt.zero_grad()
    held = _buffers.held_bytes()
    assert held >= np.prod(TABLE) * 4
    assert dg.empty_cache() == held and _buffers.held_bytes() == 0
    old = _buffers.set_limit(0)
    try:
        table(dg.from_numpy(_batches(seed=7, steps=1)[0])).sum().backward()
        opt.zero_grad()
        assert _buffers.held_bytes() == 0
    finally:
        _buffers.set_limit(old)
