"""2-d sparse CSR tensors and the sparse tensors' odd corners, against PyTorch."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks",
                                        "ignore:Sparse CSR tensor support")

INDEX = np.array([[0, 1, 1, 0, 2], [2, 0, 2, 2, 1]])
VALUES = np.array([1.0, 2.0, 3.0, 4.0, -5.0])


def pair(m):
    return m.sparse_coo_tensor(m.tensor(INDEX), m.tensor(VALUES), (3, 4))


def same_csr(ours, theirs):
    assert ours.layout == dg.sparse_csr and theirs.layout == torch.sparse_csr
    assert not ours.is_sparse and ours.is_sparse_csr and not dg.ones(1).is_sparse_csr
    assert tuple(ours.shape) == tuple(theirs.shape) and ours._nnz() == theirs._nnz()
    for name in ("crow_indices", "col_indices", "values"):
        np.testing.assert_array_equal(getattr(ours, name)().detach().numpy(),
                                      getattr(theirs, name)().detach().numpy())
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())


def test_csr_conversions_and_products():
    same_csr(pair(dg).to_sparse_csr(), pair(torch).to_sparse_csr())
    dense = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 3.0]])
    same_csr(dg.tensor(dense).to_sparse_csr(), torch.tensor(dense).to_sparse_csr())
    same_csr(dg.tensor(dense).to_sparse(layout=dg.sparse_csr),
             torch.tensor(dense).to_sparse(layout=torch.sparse_csr))
    same_csr(dg.sparse_csr_tensor([0, 1, 1, 3], [1, 0, 2], dense[dense != 0], (3, 3)),
             torch.sparse_csr_tensor(torch.tensor([0, 1, 1, 3]), torch.tensor([1, 0, 2]),
                                     torch.tensor(dense[dense != 0]), (3, 3)))
    same_csr(pair(dg).to_sparse_csr() * 2, pair(torch).to_sparse_csr() * 2)
    same_csr(pair(dg).to_sparse_csr().float(), pair(torch).to_sparse_csr().float())
    assert pair(dg).to_sparse_csr().to(dg.float32).values().dtype == dg.float32
    back = pair(dg).to_sparse_csr().to_sparse()
    assert back.layout == dg.sparse_coo and back.is_coalesced()
    right = np.random.default_rng(0).standard_normal((4, 2))
    np.testing.assert_allclose((pair(dg).to_sparse_csr() @ dg.tensor(right)).numpy(),
                               (pair(torch).to_sparse_csr() @ torch.tensor(right)).numpy())
    with pytest.raises(RuntimeError, match="SparseCsr"):
        pair(dg).to_sparse_csr().indices()
    with pytest.raises(RuntimeError):
        dg.sparse_csr_tensor([0, 2, 1], [0, 1], [1.0, 2.0], (2, 2))


def test_csr_gradient_reaches_values():
    grads = []
    for m in (dg, torch):
        values = m.tensor(VALUES, requires_grad=True)
        csr = m.sparse_coo_tensor(m.tensor(INDEX), values, (3, 4)).to_sparse_csr()
        (csr @ m.ones(4, 2, dtype=m.float64)).pow(2).sum().backward()
        grads.append(values.grad.numpy())
    np.testing.assert_allclose(*grads)


def test_top_level_forms_and_methods():
    right = np.random.default_rng(1).standard_normal((4, 2))
    for fn in (lambda m, s, d: m.addmm(m.ones(3, 2, dtype=m.float64), s, d),
               lambda m, s, d: s.sum(0).to_dense(),
               lambda m, s, d: s.sum((0, 1)),
               lambda m, s, d: m.spmm(s.to_dense(), d),
               lambda m, s, d: s.coalesce().norm(),
               lambda m, s, d: s.clone().detach().to_dense()):
        ours, theirs = fn(dg, pair(dg), dg.tensor(right)), fn(torch, pair(torch),
                                                               torch.tensor(right))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    sparse = pair(dg)
    assert len(sparse) == 3 and sparse.element_size() == 8 and sparse.numel() == 12
    with pytest.raises(TypeError):
        sparse.numpy()
    product = sparse @ sparse.t()  # (sparse @ sparse: tests/test_s7_sparse_more.py)
    np.testing.assert_allclose(product.to_dense().numpy(),
                               (pair(torch) @ pair(torch).t()).to_dense().numpy(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="to_dense"):
        sparse.exp()
    assert "layout=deltagrad.sparse_coo" in repr(sparse)
