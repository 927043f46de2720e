"""A dense embedding gradient's recycled buffer (zero outside the noted rows of the last batch)
taken by another op between two steps, through ``empty`` or ``zeros``, and written whole: each
backward still leaves exactly its batch's sums (np.add.at's), whatever held the buffer."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import buffers as _buffers

SHAPE = (6000, 48)  # 1.15 MB in float32: above MIN_BYTES, so the gradient notes its rows
FLOAT32 = np.dtype(np.float32)


@pytest.fixture(autouse=True)
def empty_pool():
    _buffers.clear()
    yield
    _buffers.clear()


def _expected(ids, upstream):
    grad = np.zeros(SHAPE, np.float32)
    np.add.at(grad, ids.reshape(-1), upstream.reshape(-1, SHAPE[1]))
    return grad


@pytest.mark.parametrize("between", ["nothing", "empty", "zeros"])
def test_embedding_gradient_exact_whatever_takes_the_buffer_between_steps(between):
    # Batches share frequent ids with the one before and not others.
    rng = np.random.default_rng(0)
    table = dg.nn.Embedding(*SHAPE, generator=dg.Generator(0))
    opt = dg.optim.Adam(table.parameters(), lr=0.01)
    addresses = []
    for step in range(5):
        ids = np.concatenate([rng.choice(20, 30), rng.integers(20, SHAPE[0], 50)])
        ids = ids.reshape(8, 10)
        upstream = rng.standard_normal(ids.shape + (SHAPE[1],), dtype=np.float32)
        opt.zero_grad()
        if step and between != "nothing":
            other = getattr(_buffers, between)(SHAPE, FLOAT32)
            assert between == "empty" or not other.any()
            other.fill(-1.0)  # its new owner writes all of it, notes no rows, gives it back
            _buffers.give(other)
            del other
        (table(dg.from_numpy(ids)) * dg.from_numpy(upstream)).sum().backward()
        grad = table.weight.grad._data  # (not .numpy(): that hands the memory out for good)
        assert grad.tobytes() == _expected(ids, upstream).tobytes()
        addresses.append(grad.__array_interface__["data"][0])
        del grad
        opt.step()
    assert len(set(addresses)) < len(addresses)  # recycled (else nothing here was tested)
