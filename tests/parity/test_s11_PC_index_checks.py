"""The index checks of gather / scatter / index_put on small indices (read through a list,
api/indexing.py's _smallest and _extremes) and on large ones (reduced), against PyTorch:
values, gradients, and the error where an index is negative or past the end."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

# index sizes on both sides of the list / reduction switch (32 elements)
SHAPES = [((3, 4), (3, 2)), ((6, 40), (6, 7)), ((2, 3), (1, 1))]


def _inputs(x_shape, index_shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    index = rng.integers(0, x_shape[1], index_shape)
    return x, index


@pytest.mark.parametrize("x_shape,index_shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_gather_values_and_gradients(x_shape, index_shape, dtype):
    x, index = _inputs(x_shape, index_shape)
    ours = dg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out = ours.gather(1, dg.tensor(index.astype(dtype)))
    ref = theirs.gather(1, torch.tensor(index.astype(np.int64)))
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = np.arange(out.numel(), dtype=np.float32).reshape(out.shape)
    out.backward(dg.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("x_shape,index_shape", SHAPES)
@pytest.mark.parametrize("where", [0, -1])
def test_negative_index_raises_as_torch(x_shape, index_shape, where):
    x, index = _inputs(x_shape, index_shape, seed=1)
    index.reshape(-1)[where] = -1  # one negative entry, first or last
    with pytest.raises(RuntimeError):
        torch.tensor(x).gather(1, torch.tensor(index))
    with pytest.raises(RuntimeError):
        dg.tensor(x).gather(1, dg.tensor(index))
    src = np.ones(index.shape, np.float32)
    with pytest.raises(RuntimeError):
        torch.tensor(x).scatter_add(1, torch.tensor(index), torch.tensor(src))
    with pytest.raises(RuntimeError):
        dg.tensor(x).scatter_add(1, dg.tensor(index), dg.tensor(src))


@pytest.mark.parametrize("x_shape,index_shape", SHAPES)
def test_scatter_add_values_and_gradients(x_shape, index_shape):
    x, index = _inputs(x_shape, index_shape, seed=2)
    src = np.random.default_rng(3).standard_normal(index_shape).astype(np.float32)
    ours = [dg.tensor(v, requires_grad=True) for v in (x, src)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, src)]
    out = ours[0].scatter_add(1, dg.tensor(index), ours[1])
    ref = theirs[0].scatter_add(1, torch.tensor(index), theirs[1])
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("count", [3, 40])
@pytest.mark.parametrize("bad", [None, -7, 5])
def test_index_put_bounds(count, bad):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    rows = rng.integers(-5, 5, count)
    if bad is not None:
        rows[count // 2] = bad  # -7 is before the start of 5 rows, 5 past the end
    values = rng.standard_normal((count, 3)).astype(np.float32)
    if bad is None:
        out = dg.tensor(x).index_put((dg.tensor(rows),), dg.tensor(values), accumulate=True)
        ref = torch.tensor(x).index_put((torch.tensor(rows),), torch.tensor(values),
                                        accumulate=True)
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
        return
    with pytest.raises(IndexError):
        torch.tensor(x).index_put((torch.tensor(rows),), torch.tensor(values), accumulate=True)
    with pytest.raises(IndexError):
        dg.tensor(x).index_put((dg.tensor(rows),), dg.tensor(values), accumulate=True)


@pytest.mark.parametrize("count", [3, 40])
@pytest.mark.parametrize("bad", [None, -1, -4, 4])
@pytest.mark.parametrize("name", ["index_select", "index_add", "index_fill"])
def test_dim_index_bounds(count, bad, name):
    # index_select / index_add refuse negative positions, index_fill wraps them (down to -4).
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    rows = rng.integers(0, 4, count)
    if bad is not None:
        rows[-1] = bad

    def call(m):
        t = m.tensor(x, requires_grad=name != "index_fill")
        index = m.tensor(rows)
        if name == "index_select":
            out = t.index_select(0, index)
        elif name == "index_add":
            out = t.index_add(0, index, m.ones((count, 3)))
        else:
            return t.index_fill(0, index, 2.0)
        out.sum().backward()
        return out, t.grad

    try:
        expected = call(torch)
    except (IndexError, RuntimeError) as error:
        with pytest.raises(type(error)):
            call(dg)
        return
    got = call(dg)
    for ours, theirs in zip(got, expected) if name != "index_fill" else [(got, expected)]:
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
