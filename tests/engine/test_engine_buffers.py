"""Recycled gradient buffers: reused between steps, never while anything else can see them."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import buffers as _buffers

BIG = (512, 1024)  # 2 MB in float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def empty_pool():
    _buffers.clear()
    yield
    _buffers.clear()


def _mlp(seed=0):
    gen = dg.Generator(seed)
    model = dg.nn.Sequential(dg.nn.Linear(1024, 1024, generator=gen), dg.nn.ReLU(),
                             dg.nn.Linear(1024, 512, generator=gen))
    x = dg.from_numpy(np.random.default_rng(seed).standard_normal(BIG, dtype=np.float32))
    return model, x


def test_give_keeps_only_arrays_nothing_else_holds():
    def give_fresh():
        array = np.empty(BIG, np.float32)
        _buffers.give(array)

    give_fresh()
    assert _buffers.held_bytes() == 2 << 20
    held = np.empty(BIG, np.float32)
    alias = held
    _buffers.give(held)  # a second name holds it
    view_owner = np.empty(BIG, np.float32)
    view = view_owner[1:]
    _buffers.give(view_owner)  # a view shares its memory
    _buffers.give(view)  # a view does not own its memory
    small = np.empty(10, np.float32)
    _buffers.give(small)  # under MIN_BYTES
    read_only = np.empty(BIG, np.float32)
    read_only.flags.writeable = False
    _buffers.give(read_only)
    assert _buffers.held_bytes() == 2 << 20
    assert alias is held and view.base is view_owner
    recycled = _buffers.empty(BIG, np.dtype(np.float32))
    assert recycled.shape == BIG and _buffers.held_bytes() == 0
    assert _buffers.empty(BIG, np.dtype(np.float32)) is not recycled  # each is handed out once


def test_weight_gradient_buffer_is_reused_across_steps():
    model, x = _mlp()
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    weight = model[0].weight
    addresses = []
    for _ in range(3):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        addresses.append(weight.grad._data.ctypes.data)
        optimizer.step()
    assert addresses[1] == addresses[2]  # the buffer the last zero_grad dropped, written again


def test_a_gradient_the_user_keeps_is_never_recycled():
    model, x = _mlp()
    weight = model[0].weight
    model(x).square().mean().backward()
    kept_tensor = weight.grad
    kept_array = model[2].weight.grad._data
    before = kept_tensor._data.copy(), kept_array.copy()
    model.zero_grad()
    for _ in range(2):
        model.zero_grad()
        (model(x) * 3.0).square().mean().backward()
    np.testing.assert_array_equal(kept_tensor._data, before[0])
    np.testing.assert_array_equal(kept_array, before[1])
    assert weight.grad._data.ctypes.data != kept_tensor._data.ctypes.data


def test_hooked_and_retained_gradients_are_never_recycled():
    model, x = _mlp()
    seen = []
    hidden = model[1](model[0](x))
    hidden.register_hook(lambda g: seen.append(g))
    hidden.retain_grad()
    model[2](hidden).square().mean().backward()
    snapshot = seen[0]._data.copy(), hidden.grad._data.copy()
    for _ in range(2):  # later backwards take buffers; none may be these
        model.zero_grad()
        (model(x) * 2.0).square().mean().backward()
    np.testing.assert_array_equal(seen[0]._data, snapshot[0])
    np.testing.assert_array_equal(hidden.grad._data, snapshot[1])


def test_results_are_identical_with_recycling_off():
    def train():
        model, x = _mlp(seed=4)
        optimizer = dg.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(3):
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
        return [p._data.copy() for p in model.parameters()]

    recycled = train()
    assert _buffers.held_bytes() > 0
    old = _buffers.set_limit(0)
    try:
        assert _buffers.held_bytes() == 0
        fresh = train()
        assert _buffers.held_bytes() == 0
    finally:
        _buffers.set_limit(old)
    for a, b in zip(recycled, fresh):
        np.testing.assert_array_equal(a, b)


def test_set_limit_rejects_negative():
    with pytest.raises(ValueError, match="limit_bytes must be >= 0"):
        _buffers.set_limit(-1)


def test_empty_cache_frees_what_is_kept():
    model, x = _mlp()
    model(x).square().mean().backward()
    model.zero_grad()
    held = _buffers.held_bytes()
    assert held >= 1024 * 1024 * 4  # at least the first weight's gradient
    assert dg.empty_cache() == held
    assert _buffers.held_bytes() == 0 and dg.empty_cache() == 0
