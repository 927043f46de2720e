"""Row-sparse gradients: coalescing sums repeated rows exactly as a dense scatter-add does."""

import numpy as np
import pytest

from deltagrad._engine.sparse import RowSparseGrad


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


def test_add_rows_at_is_np_add_at_bit_for_bit():
    from deltagrad._engine.sparse import add_rows_at

    rng = np.random.default_rng(1)
    for shape, n in [((30, 50), 640), ((30, 2, 3), 40), ((30, 1), 9), ((30,), 12), ((5, 3), 0)]:
        ids = rng.integers(0, shape[0], n)  # many repeats: the order of the sums matters
        values = rng.normal(size=(n,) + shape[1:]).astype(np.float32) * 1e3
        expected = rng.normal(size=shape).astype(np.float32)
        got = expected.copy()
        np.add.at(expected, ids, values)
        add_rows_at(got, ids, values)
        np.testing.assert_array_equal(got, expected)
    # a non-contiguous destination (a column slice) falls back to np.add.at
    table = np.zeros((6, 4), np.float32)
    add_rows_at(table[:, ::2], np.array([1, 1, 5]), np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(table[:, 0], [0, 2, 0, 0, 0, 1])
    np.testing.assert_array_equal(table[:, 1], 0)


def test_index_scatter_of_whole_rows_is_np_add_at_bit_for_bit():
    # The getitem / index_select / embedding VJP scatters whole rows through add_rows_at.
    from deltagrad._engine.ops.registry import _index_add_zeros

    rng = np.random.default_rng(2)
    for shape, n in [((7, 4), 30), ((7, 2, 3), 12), ((7,), 9)]:
        ids = rng.integers(-7, 7, n)  # negative ids count from the end, as in NumPy
        for g in (rng.normal(size=(n,) + shape[1:]), rng.normal(size=shape[1:])):
            expected = np.zeros(shape)
            np.add.at(expected, (ids,), g)
            np.testing.assert_array_equal(_index_add_zeros(g, (ids,), shape, np.float64),
                                          expected)


def test_coalesce_in_place_keeps_the_object_and_marks_it():
    values = np.array([[1.0], [2.0], [4.0]], np.float32)
    grad = RowSparseGrad(np.array([3, 1, 3]), values, (5, 1))
    expected = grad.coalesce()
    assert grad.coalesce_() is grad
    np.testing.assert_array_equal(grad.indices, expected.indices)
    np.testing.assert_array_equal(grad.values, expected.values)
    assert grad.coalesce() is grad  # marked: nothing is sorted again
    assert grad.coalesce_() is grad


def _mixed_use(sparse_first: bool, sparse: bool = True):
    """A table used by a (sparse) embedding lookup and by a dense op, in either order."""
    import deltagrad as dg
    from deltagrad import nn

    emb = nn.Embedding(5, 2, sparse=sparse)
    emb.weight.detach().numpy()[...] = np.arange(10.0).reshape(5, 2)
    lookup = lambda: (emb(dg.tensor([3, 1, 3])) * 2).sum()  # noqa: E731
    dense = lambda: (emb.weight ** 2).sum()  # noqa: E731
    first, second = (lookup, dense) if sparse_first else (dense, lookup)
    first().backward()
    second().backward()
    return emb.weight.grad


def test_sparse_and_dense_gradients_accumulate_on_one_leaf():
    expected = _mixed_use(True, sparse=False).numpy()
    for sparse_first in (True, False):
        grad = _mixed_use(sparse_first)
        assert not grad.is_sparse  # sparse + dense is dense, as in PyTorch
        np.testing.assert_array_equal(grad.numpy(), expected)


def test_hooks_on_a_sparse_embedding_see_a_sparse_tensor():
    import deltagrad as dg
    from deltagrad import nn

    emb = nn.Embedding(4, 3, sparse=True)
    seen = []
    emb.weight.register_hook(lambda g: seen.append(g) or g * 2)
    emb(dg.tensor([0, 2])).sum().backward()
    assert seen[0].is_sparse and seen[0]._nnz() == 2
    np.testing.assert_array_equal(emb.weight.grad.to_dense().numpy()[[0, 2]], 2.0)


def test_a_sparse_tensor_refuses_dense_only_methods_by_name():
    import deltagrad as dg
    from deltagrad import nn

    emb = nn.Embedding(4, 3, sparse=True)
    emb(dg.tensor([1])).sum().backward()
    grad = emb.weight.grad
    for call in (lambda: grad.exp(), lambda: grad.reshape(-1), lambda: grad ** 2,
                 lambda: grad @ dg.ones(3), lambda: grad.backward(), lambda: float(grad)):
        with pytest.raises(NotImplementedError, match="to_dense"):
            call()
    assert grad.size() == (4, 3) and grad.dim() == 2 and grad.numel() == 12
    assert grad.element_size() == 4 and f"{grad}".startswith("tensor(indices=")
