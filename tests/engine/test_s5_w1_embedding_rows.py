"""The dense embedding gradient of a large table: rows summed apart, written once, and noted
with their values for Adam (W1 dense, issue 18)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import buffers

TABLE = (6000, 48)  # 1.1 MB in float32: above the size at which the gradient notes its rows


def _reference(shape, ids, upstream, dtype, padding_idx=None):
    """The gradient as zeros plus every id's row added in order (PyTorch's index_add)."""
    grad = np.zeros(shape, dtype)
    np.add.at(grad, ids.reshape(-1), upstream.reshape(-1, shape[1]))
    if padding_idx is not None:
        grad[padding_idx] = 0
    return grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_dense_gradient_is_the_row_by_row_sum_bit_for_bit(dtype, padding_idx):
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 40, (50, 7))  # many repeats
    ids[0, :3] = 3
    upstream = rng.standard_normal(ids.shape + (TABLE[1],)).astype(dtype)
    upstream[::3] = -0.0  # rows of signed zeros: 0 + (-0) + (-0) is +0, as PyTorch gives
    upstream[:, :, ::5] = -0.0
    emb = dg.nn.Embedding(*TABLE, padding_idx=padding_idx, dtype=dg.float32
                          if dtype == np.float32 else dg.float64)
    (emb(dg.from_numpy(ids)) * dg.from_numpy(upstream)).sum().backward()
    got = emb.weight.grad.detach().numpy()
    want = _reference(TABLE, ids, upstream, dtype, padding_idx)
    # bits, so that -0.0 and 0.0 count as different
    assert np.array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


def test_noted_values_are_the_rows_and_end_with_an_in_place_change():
    emb = dg.nn.Embedding(*TABLE)
    ids = np.array([[9, 2, 9, 5000]])
    emb(dg.from_numpy(ids)).sum().backward()
    grad = emb.weight.grad
    rows, values = buffers.known_row_values(grad._data)
    assert rows.tolist() == [2, 9, 5000]
    np.testing.assert_array_equal(values, grad._data[rows])
    assert values[1, 0] == 2.0  # id 9 twice
    grad.mul_(2.0)
    assert buffers.known_row_values(grad._data) is None
    assert buffers.known_rows(grad._data) is None


def test_handing_the_gradient_out_drops_the_noted_values():
    emb = dg.nn.Embedding(*TABLE)
    emb(dg.tensor([1, 2])).sum().backward()
    emb.weight.grad.numpy()
    assert buffers.known_row_values(emb.weight.grad._data) is None


def test_empty_batch_gives_zeros():
    emb = dg.nn.Embedding(*TABLE)
    out = emb(dg.from_numpy(np.zeros((0, 3), np.int64)))
    (out * 2.0).sum().backward()
    assert not emb.weight.grad.detach().numpy().any()


def _train(steps, tamper=None, maximize=False, seed=0):
    emb = dg.nn.Embedding(*TABLE, generator=dg.Generator(seed))
    optimizer = dg.optim.Adam(emb.parameters(), lr=0.05, maximize=maximize)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        ids = dg.from_numpy(rng.integers(0, 500, (32, 5)))
        optimizer.zero_grad()
        (emb(ids) ** 2).sum().backward()
        if tamper is not None:
            tamper(emb.weight)
        optimizer.step()
    return emb.weight.detach().numpy().copy()


@pytest.mark.parametrize("maximize", [False, True])
def test_adam_with_noted_values_equals_adam_scanning_the_dense_gradient(maximize):
    def clone(weight):  # a clone has no note: Adam finds the rows and gathers them itself
        weight.grad = weight.grad.clone()

    np.testing.assert_array_equal(_train(4, maximize=maximize),
                                  _train(4, tamper=clone, maximize=maximize))


def test_adam_matches_torch_on_a_dense_embedding_over_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    init = rng.standard_normal(TABLE).astype(np.float32)
    emb = dg.nn.Embedding(*TABLE)
    emb.weight.data[...] = init
    ref = torch.nn.Embedding(*TABLE)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(init))
    opt = dg.optim.Adam(emb.parameters(), lr=0.01)
    ref_opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    for _ in range(5):
        ids = rng.integers(0, 300, (64, 5))
        target = rng.standard_normal((64, 5, TABLE[1])).astype(np.float32)
        opt.zero_grad()
        ref_opt.zero_grad()
        ((emb(dg.from_numpy(ids)) - dg.from_numpy(target)) ** 2).mean().backward()
        ((ref(torch.from_numpy(ids)) - torch.from_numpy(target)) ** 2).mean().backward()
        np.testing.assert_allclose(emb.weight.grad.detach().numpy(), ref.weight.grad.numpy(),
                                   rtol=1e-6, atol=1e-9)
        opt.step()
        ref_opt.step()
    np.testing.assert_allclose(emb.weight.detach().numpy(), ref.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
