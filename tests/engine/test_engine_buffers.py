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


# --------------------------------------------------------------- noted rows (dense embedding)

TABLE = (8192, 64)  # 2 MB in float32: the embedding gradient notes its rows


def _table_step(seed, steps, tamper=None, maximize=False):
    """A dense embedding trained with Adam; ``tamper(grad)`` runs between backward and step."""
    gen = dg.Generator(seed)
    table = dg.nn.Embedding(*TABLE, generator=gen)
    optimizer = dg.optim.Adam(table.parameters(), lr=0.1, maximize=maximize)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        ids = dg.from_numpy(rng.integers(0, 300, (16, 5)))
        optimizer.zero_grad()
        (table(ids) ** 2).sum().backward()
        if tamper is not None:
            tamper(table.weight)
        optimizer.step()
    return table.weight.detach().numpy().copy()


def test_embedding_gradient_notes_its_rows_until_changed_in_place():
    table = dg.nn.Embedding(*TABLE)
    ids = np.array([[3, 7, 3]])
    table(dg.from_numpy(ids)).sum().backward()
    grad = table.weight.grad
    rows = _buffers.known_rows(grad._data)
    assert rows is not None and set(rows.tolist()) == {3, 7}
    grad.add_(1.0)  # an in-place change: the rows are no longer known
    assert _buffers.known_rows(grad._data) is None


def test_adam_with_noted_rows_equals_adam_with_its_scan():
    # Cloning the gradient drops the note: Adam scans for the rows itself. Bit for bit equal.
    def clone(weight):
        weight.grad = weight.grad.clone()

    for maximize in (False, True):
        noted = _table_step(0, 4, maximize=maximize)
        scanned = _table_step(0, 4, tamper=clone, maximize=maximize)
        np.testing.assert_array_equal(noted, scanned)


def test_adam_sees_an_in_place_change_of_a_noted_gradient():
    # add_ writes every row: with the stale note Adam would miss all rows but the batch's.
    def add_everywhere(weight):
        weight.grad.add_(0.5)

    def add_on_a_copy(weight):
        weight.grad = weight.grad.clone() + 0.5

    np.testing.assert_array_equal(_table_step(1, 3, tamper=add_everywhere),
                                  _table_step(1, 3, tamper=add_on_a_copy))


def test_a_recycled_noted_gradient_comes_back_as_zeros():
    array = np.zeros(TABLE, np.float32)
    array[[5, 9]] = 2.0
    _buffers.note_rows(array, np.array([5, 9, 5]))
    _buffers.give(array)
    del array
    again = _buffers.zeros(TABLE, np.dtype(np.float32))
    assert not again.any()
    assert _buffers.known_rows(again) is None


def test_rows_adam_skips_are_forgotten_when_the_gradient_is_written_outside_the_engine():
    # The embedding's backward records which rows of its dense gradient it wrote, and Adam
    # updates only those; a write through numpy() or a clip by a non-finite factor must end
    # that record, or rows outside the batch would silently keep their old values.
    emb = dg.nn.Embedding(2000, 4)
    optimizer = dg.optim.Adam(emb.parameters(), lr=0.1)
    emb(dg.tensor([1, 2])).sum().backward()
    emb.weight.grad.numpy()[5] = 1.0
    before = emb.weight.detach().numpy().copy()
    optimizer.step()
    changed = np.nonzero((emb.weight.detach().numpy() != before).any(1))[0]
    assert changed.tolist() == [1, 2, 5]

    optimizer.zero_grad()
    emb(dg.tensor([3])).sum().backward()
    dg.nn.utils.clip_grad_norm_(emb.parameters(), float("nan"))
    optimizer.step()
    assert np.isnan(emb.weight.detach().numpy()).all()  # as PyTorch: nan reaches every row
