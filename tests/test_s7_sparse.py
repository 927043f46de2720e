"""Sparse COO tensors and torch.sparse, against PyTorch: values, patterns, dtypes, gradients,
errors."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")

INDEX = np.array([[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]])  # (0, 2) repeated: uncoalesced
VALUES = np.array([1.0, 2.0, 3.0, 4.0, -5.0], dtype=np.float32)


def both(index=INDEX, values=VALUES, size=(3, 3), **kwargs):
    """The same sparse tensor in deltagrad and in PyTorch."""
    return (dg.sparse_coo_tensor(index, values, size, **kwargs),
            torch.sparse_coo_tensor(torch.tensor(index), torch.tensor(values), size, **kwargs))


def same(ours, theirs, rtol=1e-6, atol=1e-6):
    """Equal as PyTorch's: layout, shape, dtype, pattern (if sparse) and values."""
    assert ours.is_sparse == theirs.is_sparse
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    if theirs.is_sparse:
        assert ours._nnz() == theirs._nnz()
        assert ours.is_coalesced() == theirs.is_coalesced()
        assert ours.sparse_dim() == theirs.sparse_dim()
        assert ours.dense_dim() == theirs.dense_dim()
        np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
        np.testing.assert_allclose(ours._values().detach().numpy(),
                                   theirs._values().detach().numpy(), rtol=rtol, atol=atol)
        ours, theirs = ours.to_dense(), theirs.to_dense()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)


def test_construction_attributes_and_coalesce():
    ours, theirs = both()
    same(ours, theirs)
    assert ours.layout == dg.sparse_coo and ours.is_sparse and not dg.ones(2).is_sparse
    assert ours.numel() == theirs.numel() and ours.dim() == theirs.dim()
    same(ours.coalesce(), theirs.coalesce())
    same(ours.coalesce().indices(), theirs.coalesce().indices())
    same(ours.coalesce().values(), theirs.coalesce().values())
    with pytest.raises(RuntimeError, match="uncoalesced"):
        ours.indices()
    with pytest.raises(RuntimeError):
        theirs.indices()
    # size inferred; integer values stay int64; int32 indices become int64
    same(dg.sparse_coo_tensor(INDEX, [1, 2, 3, 4, 5]),
         torch.sparse_coo_tensor(torch.tensor(INDEX), torch.tensor([1, 2, 3, 4, 5])))
    assert dg.sparse_coo_tensor(INDEX.astype(np.int32), VALUES)._indices().dtype == dg.int64
    same(dg.sparse_coo_tensor(INDEX, VALUES, (3, 3), dtype=dg.float64),
         torch.sparse_coo_tensor(torch.tensor(INDEX), torch.tensor(VALUES), (3, 3),
                                 dtype=torch.float64))
    # hybrid: 1 sparse dim, rows of 2 values; empty
    rows = np.arange(6, dtype=np.float64).reshape(3, 2)
    same(*both(np.array([[2, 0, 2]]), rows, (4, 2)))
    hybrid_ours, hybrid_theirs = both(np.array([[2, 0, 2]]), rows, (4, 2))
    same(hybrid_ours.coalesce(), hybrid_theirs.coalesce())
    same(*both(np.zeros((2, 0), np.int64), np.zeros(0, np.float32), (3, 4)))


def test_invalid_indices_raise():
    for size, dims in (((2, 3), "dim 0"), ((3, 2), "dim 1")):
        with pytest.raises(RuntimeError, match=dims):
            dg.sparse_coo_tensor(INDEX, VALUES, size)
        with pytest.raises(RuntimeError, match=dims):
            torch.sparse_coo_tensor(torch.tensor(INDEX), torch.tensor(VALUES), size,
                                    check_invariants=True)
    with pytest.raises(RuntimeError, match="negative"):
        dg.sparse_coo_tensor([[0, -1]], [1.0, 2.0], (2,))
    for bad in (dict(size=(3,)), dict(values=VALUES[:3])):
        kwargs = dict(size=(3, 3), values=VALUES) | bad
        with pytest.raises(RuntimeError):
            dg.sparse_coo_tensor(INDEX, kwargs["values"], kwargs["size"])
        with pytest.raises(RuntimeError):
            torch.sparse_coo_tensor(torch.tensor(INDEX), torch.tensor(kwargs["values"]),
                                    kwargs["size"])
    with pytest.raises(NotImplementedError, match="to_dense"):
        dg.sparse_coo_tensor(INDEX, VALUES).exp()  # (exp(0) = 1: dense)


def test_to_sparse_eye_transpose_and_arithmetic():
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((4, 3)).astype(np.float32) * (rng.random((4, 3)) < 0.5)
    same(dg.tensor(dense).to_sparse(), torch.tensor(dense).to_sparse())
    same(dg.tensor(dense).to_sparse(1), torch.tensor(dense).to_sparse(1))
    same(dg.eye(3).to_sparse(), torch.eye(3).to_sparse())
    same(dg.eye(3).to_dense(), torch.eye(3).to_dense())
    ours, theirs = both()
    same(ours.t(), theirs.t())
    same(ours.coalesce().t(), theirs.coalesce().t())
    same(ours.transpose(-1, 0), theirs.transpose(-1, 0))
    same(ours * 2, theirs * 2)
    same(2.5 * ours.coalesce(), 2.5 * theirs.coalesce())
    same(ours / 4, theirs / 4)
    same(-ours, -theirs)
    same(ours + ours, theirs + theirs)
    other_o, other_t = both(np.array([[1, 0], [1, 1]]), np.array([5.0, 6.0], np.float32))
    # (uncoalesced operands: PyTorch merges the entry lists, deltagrad concatenates them)
    same((ours + other_o).coalesce(), (theirs + other_t).coalesce())
    same(ours.coalesce() + other_o.coalesce(), theirs.coalesce() + other_t.coalesce())
    same((ours - other_o).coalesce(), (theirs - other_t).coalesce())
    same(dg.ones(3, 3) + ours, torch.ones(3, 3) + theirs)
    with pytest.raises(RuntimeError, match="add"):
        ours + dg.ones(3, 3)
    with pytest.raises(RuntimeError):
        theirs + torch.ones(3, 3)
    same(ours.double(), theirs.double())
    same(ours.to(dg.float64), theirs.to(torch.float64))
    assert ours.sum().item() == pytest.approx(theirs.sum().item())


def test_products():
    rng = np.random.default_rng(1)
    dense = rng.standard_normal((3, 4)).astype(np.float32)
    ours, theirs = both()
    d_ours, d_theirs = dg.tensor(dense), torch.tensor(dense)
    for op in (lambda m, s, d: m.sparse.mm(s, d), lambda m, s, d: s @ d,
               lambda m, s, d: m.mm(s, d), lambda m, s, d: m.spmm(s, d),
               lambda m, s, d: m.matmul(s, d), lambda m, s, d: s.mm(d),
               lambda m, s, d: m.sparse.addmm(m.ones(3, 4), s, d, beta=0.5, alpha=2.0),
               lambda m, s, d: m.ones(2, 3) @ s, lambda m, s, d: s @ d[:, 0]):
        same(op(dg, ours, d_ours), op(torch, theirs, d_theirs), rtol=1e-5)
    same(dg.smm(ours, d_ours), torch.smm(theirs, d_theirs), rtol=1e-5)
    with pytest.raises(RuntimeError):
        dg.sparse.mm(ours, dg.ones(4, 2))
    with pytest.raises(RuntimeError):
        torch.sparse.mm(theirs, torch.ones(4, 2))


def _grads(module, leaf_sparse: bool, fn):
    """values.grad, dense.grad and (leaf) sparse grad after fn(module, S, D).sum().backward()."""
    rng = np.random.default_rng(2)
    dense = module.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    values = module.tensor(VALUES.astype(np.float64), requires_grad=not leaf_sparse)
    sparse = module.sparse_coo_tensor(module.tensor(INDEX), values, (3, 3),
                                      requires_grad=leaf_sparse)
    assert sparse.requires_grad and sparse.is_leaf == leaf_sparse
    fn(module, sparse, dense).sum().backward()
    return sparse.grad if leaf_sparse else values.grad, dense.grad


@pytest.mark.parametrize("fn", [
    lambda m, s, d: m.sparse.mm(s, d).tanh(),
    lambda m, s, d: (s @ d) ** 2,
    lambda m, s, d: m.sparse.mm(s * 3.0, d),
    lambda m, s, d: m.sparse.addmm(d.sin(), s.coalesce(), d, beta=0.5),
    lambda m, s, d: s.to_dense() * d[:, :3],
    lambda m, s, d: m.sparse.sum(s, 1).to_dense() * d[:, 0],
    lambda m, s, d: m.sparse.sum(s) * d,
    lambda m, s, d: m.sparse.softmax(s, 1).to_dense() * d[:, :3],
    lambda m, s, d: m.sparse.log_softmax(s, 0).to_dense() * d[:, 1:],
    lambda m, s, d: (s + s.t()).to_dense() * d[:, :3],
], ids=["mm", "matmul", "scaled", "addmm", "to_dense", "sum_dim", "sum", "softmax",
        "log_softmax", "add_t"])
def test_gradients_reach_values_and_dense(fn):
    ours, theirs = _grads(dg, False, fn), _grads(torch, False, fn)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda m, s, d: m.sparse.mm(s, d).tanh(),
    lambda m, s, d: s.to_dense() * d[:, :3],
], ids=["sparse.mm", "to_dense"])
def test_sparse_leaf_gets_a_sparse_gradient(fn):
    (g_ours, d_ours), (g_theirs, d_theirs) = _grads(dg, True, fn), _grads(torch, True, fn)
    same(g_ours, g_theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d_ours.numpy(), d_theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_dense_gradient_of_a_sparse_leaf():
    # PyTorch gives a sparse leaf a dense gradient through `@` (tests/test_s7_sparse_more.py
    # compares it); under no_grad the product is just the product.
    sparse = dg.sparse_coo_tensor(INDEX, VALUES, (3, 3), requires_grad=True)
    (sparse @ dg.ones(3, 2)).sum().backward()
    assert sparse.grad.layout == dg.strided and sparse.grad.shape == (3, 3)
    with dg.no_grad():
        assert (sparse @ dg.ones(3, 2)).shape == (3, 2)


def test_sum_and_softmax_values():
    rows = np.random.default_rng(3).standard_normal((5, 2)).astype(np.float32)
    ours, theirs = both(np.array([[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]]), rows, (3, 3, 2))
    for dim in (None, 0, 1, 2, -1, (0, 1), (0, 2), (0, 1, 2)):
        same(dg.sparse.sum(ours, dim), torch.sparse.sum(theirs, dim), rtol=1e-5)
    for dim in (0, 1, 2, -1):
        same(dg.sparse.softmax(ours, dim), torch.sparse.softmax(theirs, dim), rtol=1e-5)
        same(dg.sparse.log_softmax(ours, dim), torch.sparse.log_softmax(theirs, dim),
             rtol=1e-5)
    ints = dg.sparse_coo_tensor(INDEX, [1, 2, 3, 4, 5], (3, 3))
    same(dg.sparse.sum(ints), torch.sparse.sum(torch.sparse_coo_tensor(
        torch.tensor(INDEX), torch.tensor([1, 2, 3, 4, 5]), (3, 3))))
    with pytest.raises(IndexError):
        dg.sparse.sum(ours, 3)
    with pytest.raises(IndexError):
        torch.sparse.sum(theirs, 3)


def test_row_sparse_gradients_are_sparse_tensors_too():
    # An Embedding(sparse=True) gradient and a COO tensor add up and multiply as one layout.
    weight = dg.nn.Embedding(4, 2, sparse=True)
    weight(dg.tensor([1, 3, 1])).sum().backward()
    grad = weight.weight.grad
    assert grad.is_sparse and grad.layout == dg.sparse_coo
    coo = dg.sparse_coo_tensor([[0, 3]], dg.ones(2, 2), (4, 2))
    np.testing.assert_allclose((coo + grad).to_dense().numpy(),
                               coo.to_dense().numpy() + grad.to_dense().numpy())
    np.testing.assert_allclose((grad * 2).to_dense().numpy(), 2 * grad.to_dense().numpy())
    np.testing.assert_allclose((grad - coo).to_dense().numpy(),
                               grad.to_dense().numpy() - coo.to_dense().numpy())
