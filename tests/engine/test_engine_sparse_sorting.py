"""Row-sparse helpers' fast paths: the radix sort of ids and the paired (complex) row sums."""

import numpy as np
import pytest

from deltagrad._engine.sparse import RowSparseGrad, add_rows_at, sort_rows


@pytest.mark.parametrize("low, high, n", [(0, 25_000, 1280), (-40, 40, 300), (5, 6, 50),
                                          (0, 1 << 16, 2000), (-(1 << 40), 1 << 40, 500),
                                          (1 << 50, (1 << 50) + 900, 64), (0, 10, 16),
                                          (0, 10, 0)])
def test_sort_rows_is_the_stable_argsort(low, high, n):
    rng = np.random.default_rng(3)
    ids = rng.integers(low, high, n)  # many repeats: a stable order is one order
    np.testing.assert_array_equal(sort_rows(ids), ids.argsort(kind="stable"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [2, 3, 50, (2, 4)])
def test_add_rows_at_pairs_are_np_add_at_bit_for_bit(dtype, width):
    rng = np.random.default_rng(4)
    row = width if isinstance(width, tuple) else (width,)
    ids = rng.integers(-30, 30, 400)  # negative ids count from the end, as in NumPy
    values = (rng.normal(size=(400,) + row) * 1e3).astype(dtype)
    values[::7] = -0.0  # signed zeros and non-finite values add as they do one by one
    values[5, 0], values[9, -1] = np.inf, np.nan
    expected = rng.normal(size=(30,) + row).astype(dtype)
    for given in (values, values.astype(np.float64 if dtype == np.float32 else np.float32),
                  np.asfortranarray(values), values[0]):  # other dtypes, layouts, broadcast
        got, want = expected.copy(), expected.copy()
        with np.errstate(invalid="ignore"):
            np.add.at(want, ids, np.broadcast_to(given, values.shape))
            add_rows_at(got, ids, given)
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_coalesce_of_far_apart_ids_takes_the_plain_sort():
    rng = np.random.default_rng(5)
    ids = np.concatenate([rng.integers(0, 50, 100), rng.integers(10**6, 10**6 + 50, 100)])
    grad = RowSparseGrad(ids, rng.normal(size=(200, 4)).astype(np.float32), (10**6 + 50, 4))
    dense = np.zeros(grad.shape, np.float32)
    np.add.at(dense, ids, grad.values)
    coalesced = grad.coalesce()
    np.testing.assert_array_equal(coalesced.indices, np.unique(ids))
    np.testing.assert_array_equal(coalesced.values, dense[coalesced.indices])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spread", [1, 100_000], ids=["radix-sorted", "sorted"])
def test_coalesce_sums_rows_one_by_one_in_order(dtype, spread):
    # Ids spanning under 2**16 values take the radix sort, the others the plain one.
    rng = np.random.default_rng(6)
    ids = rng.integers(0, 40, 300) * spread
    values = (rng.normal(size=(300, 4)) * 1e3).astype(dtype)
    values[ids == 7 * spread] = -0.0  # a row of signed zeros only: its sum stays -0.0
    values[3, 1] = np.nan
    got = RowSparseGrad(ids, values, (40 * spread, 4)).coalesce()
    sums = {}  # each row's values added one by one from its first, in the order recorded
    for row, value in zip(ids.tolist(), values):
        sums[row] = value.copy() if row not in sums else sums[row] + value
    want = np.stack([sums[row] for row in np.unique(ids).tolist()])
    np.testing.assert_array_equal(got.indices, np.unique(ids))
    np.testing.assert_array_equal(got.values, want)
    assert np.array_equal(np.signbit(got.values), np.signbit(want))
    assert np.signbit(got.values[got.indices == 7 * spread]).all()
