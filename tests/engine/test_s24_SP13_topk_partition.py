"""topk of long rows by partition (sort_orders._first_by_partition, s24 SP13): the same indices
as the full stable sort's first k (NaN largest, earliest index among ties), and PyTorch's values,
indices (where no ties) and gradients."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.api import sort_orders

torch = pytest.importorskip("torch")


def _stable_first(data, dim, k, descending):
    # the reference: the whole stable order (NaN largest), its first k
    keys = np.moveaxis(data, dim, -1)
    if descending:  # stable descending: sort the reversed rows, read them backwards
        order = keys[..., ::-1].argsort(axis=-1, kind="stable")[..., ::-1]
        order = keys.shape[-1] - 1 - order
    else:
        order = keys.argsort(axis=-1, kind="stable")
    return np.moveaxis(order[..., :k], -1, dim).astype(np.int64)


def _inputs(rng):
    pool = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5])
    for dtype in (np.float32, np.float64, np.float16, np.int64, np.int32, np.uint8):
        for kind in range(4):
            shape = (3, 2, 300) if kind % 2 else (200, 40)
            if kind == 0:
                a = rng.standard_normal(shape)
            elif kind == 1:
                a = rng.integers(-3, 4, size=shape).astype(float)  # many ties at t
            else:
                a = rng.choice(pool, size=shape)  # NaN / inf / -0.0 ties
                if kind == 3:
                    a = np.where(rng.random(shape) < 0.5, rng.standard_normal(shape), a)
            if np.dtype(dtype).kind in "iu":
                a = np.abs(np.nan_to_num(a, posinf=5, neginf=-5)) if dtype == np.uint8 else \
                    np.nan_to_num(a, posinf=5, neginf=-5)
            yield a.astype(dtype)


def test_partition_path_matches_the_stable_sort():
    rng = np.random.default_rng(0)
    taken = 0
    for a in _inputs(rng):
        for data in (a, np.swapaxes(a, 0, -1)):  # (a non-contiguous view too)
            dim = int(np.argmax(data.shape))
            for k in (1, 3, data.shape[dim] // 4):
                for descending in (True, False):
                    got = sort_orders.first_of_order(data, dim, k, descending)
                    want = _stable_first(data, dim, k, descending)
                    assert got.dtype == np.int64 and got.flags.c_contiguous
                    np.testing.assert_array_equal(got, want)
                    taken += 1
    assert taken == 6 * 4 * 2 * 3 * 2


def test_partition_path_is_taken_for_long_rows(monkeypatch):
    calls = []
    original = sort_orders._first_by_partition
    monkeypatch.setattr(sort_orders, "_first_by_partition",
                        lambda *args: calls.append(args[1:]) or original(*args))
    x = dg.tensor(np.random.default_rng(1).standard_normal((64, 1000)).astype(np.float32))
    dg.topk(x, 5)
    dg.topk(x[:2, :100], 5)  # (short rows, small input: the sort)
    assert calls == [(1, 5, True)]


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim", [-1, 0])
def test_topk_long_rows_against_pytorch(largest, dim):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((300, 40) if dim == 0 else (40, 300)).astype(np.float32)
    a[3, 7] = a[7, 3] = np.nan  # (NaN as the largest in both)
    x = dg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    got = dg.topk(x, 6, dim=dim, largest=largest)
    want = torch.topk(t, 6, dim=dim, largest=largest)
    np.testing.assert_array_equal(got.values.detach().numpy(), want.values.detach().numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.values.grad_fn.name() == want.values.grad_fn.name()
    g = rng.standard_normal(got.values.shape).astype(np.float32)
    got.values.backward(dg.tensor(g))
    want.values.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_topk_ties_take_pytorchs_indices():
    # (the partition path's rows with ties rerun PyTorch's selection since s28 BR17: both
    # the values and the indices are PyTorch's)
    a = np.zeros((8, 512), np.float32)
    a[:, 100:] = 1.0  # 412 ties of the largest value per row
    got, want = dg.topk(dg.tensor(a), 5), torch.topk(torch.tensor(a), 5)
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
