"""Row-sparse gradients: coalescing sums repeated rows exactly as a dense scatter-add does."""

import numpy as np

from deltagrad._sparse import RowSparseGrad


def test_coalesce_matches_dense_scatter_add_bit_for_bit():
    rng = np.random.default_rng(0)
    for rows, width in [(0, 4), (1, 3), (7, 1), (640, 50)]:
        grad = RowSparseGrad(rng.integers(0, 30, rows),
                             rng.normal(size=(rows, width)).astype(np.float32), (30, width))
        dense = np.zeros((30, width), np.float32)
        np.add.at(dense, grad.indices, grad.values)  # repeats added in the order recorded
        coalesced = grad.coalesce()
        assert np.all(np.diff(coalesced.indices) > 0)  # sorted, unique
        np.testing.assert_array_equal(coalesced.to_dense(), dense)
        np.testing.assert_array_equal(coalesced.values, dense[coalesced.indices])
        assert coalesced.coalesce() is coalesced


def test_sparse_arithmetic_with_dense_arrays():
    grad = RowSparseGrad([2, 0, 2], np.ones((3, 2), np.float32), (4, 2))
    base = np.zeros((4, 2), np.float32)
    np.testing.assert_array_equal((base + grad)[:, 0], [1, 0, 2, 0])
    np.testing.assert_array_equal((base - grad)[:, 0], [-1, 0, -2, 0])
    np.testing.assert_array_equal((grad * 2.0).to_dense()[:, 1], [2, 0, 4, 0])
    both = grad + RowSparseGrad([3], np.ones((1, 2), np.float32), (4, 2))
    np.testing.assert_array_equal(both.to_dense()[:, 0], [1, 0, 2, 1])
