"""Fixes from running ptwt's and pytorch_wavelets' own suites under the alias (LB, session 11).

Each is checked against PyTorch directly (no library needed): ``torch.cat`` of sparse COO
tensors, the in-place operators on sparse tensors, and ``select`` / ``unbind`` / iteration /
``unsqueeze`` of sparse COO tensors (ptwt builds its wavelet matrices that way).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
warnings.filterwarnings("ignore", message="Sparse invariant checks")


def _pair(dense: np.ndarray, sparse_dim=None):
    """The same sparse COO tensor in deltagrad and in PyTorch (from a dense array)."""
    ours = dg.tensor(dense)
    theirs = torch.tensor(dense)
    if sparse_dim is None:
        return ours.to_sparse(), theirs.to_sparse()
    return ours.to_sparse(sparse_dim), theirs.to_sparse(sparse_dim)


def _same_sparse(ours, theirs) -> None:
    """Same layout, shape, sparse_dim, coalesced flag, entries (in order) and dense value."""
    assert ours.layout.__class__.__name__ == "layout" or ours.is_sparse
    assert ours.is_sparse and theirs.is_sparse
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.sparse_dim() == theirs.sparse_dim()
    assert ours.is_coalesced() == theirs.is_coalesced()
    np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
    np.testing.assert_array_equal(ours._values().numpy(), theirs._values().numpy())
    assert str(ours._values().dtype).split(".")[-1] == str(theirs._values().dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())


def _matrices(seed: int, shapes, density=0.4, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [np.where(rng.random(shape) < density, rng.standard_normal(shape), 0).astype(dtype)
            for shape in shapes]


@pytest.mark.parametrize("shapes, dim, sparse_dim", [
    (((3, 4), (2, 4)), 0, None),
    (((3, 4), (3, 1), (3, 5)), 1, None),
    (((3, 4), (3, 2)), -1, None),
    (((2, 3, 4), (2, 5, 4)), 1, None),
    (((3, 2), (3, 4)), 1, 1),            # along a dense dim: zero-padded values
    (((3, 2, 2), (1, 2, 2)), 0, 1),
    (((0, 4), (2, 4)), 0, None),          # an empty one
])
def test_cat_of_sparse_coo_tensors(shapes, dim, sparse_dim):
    arrays = _matrices(len(shapes) + dim, shapes)
    pairs = [_pair(a, sparse_dim) for a in arrays]
    ours = dg.cat([p[0] for p in pairs], dim)
    theirs = torch.cat([p[1] for p in pairs], dim)
    _same_sparse(ours, theirs)
    # (and coalesced: the same tensor whatever the entry order)
    _same_sparse(ours.coalesce(), theirs.coalesce())


def test_cat_of_sparse_tensors_promotes_and_keeps_the_graph():
    a, b = _matrices(1, ((2, 3), (2, 3)))
    ours = dg.cat([dg.tensor(a).to_sparse(), dg.tensor(b, dtype=dg.float64).to_sparse()])
    theirs = torch.cat([torch.tensor(a).to_sparse(),
                        torch.tensor(b, dtype=torch.float64).to_sparse()])
    _same_sparse(ours, theirs)
    # (PyTorch has no backward for a sparse cat; deltagrad's values stay in the graph)
    leaf = dg.tensor(a).to_sparse().requires_grad_()
    dg.cat([leaf, leaf]).to_dense().pow(2).sum().backward()
    np.testing.assert_allclose(leaf.grad.to_dense().numpy(), 4 * a, rtol=1e-6)


@pytest.mark.parametrize("case", ["dense_after", "sizes", "dims", "dim_range"])
def test_cat_of_sparse_tensors_errors_as_pytorch(case):
    def call(lib):
        a = lib.tensor(np.eye(3, dtype=np.float32)).to_sparse()
        if case == "dense_after":
            return lib.cat([a, lib.ones(3, 3)])
        if case == "sizes":
            return lib.cat([a, lib.tensor(np.eye(4, dtype=np.float32)).to_sparse()])
        if case == "dims":
            return lib.cat([a, lib.ones(3, 3, 2).to_sparse(2)])
        return lib.cat([a, a], 2)

    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)) as got:
        call(dg)
    first = str(expected.value).split(":")[0][:40]
    assert str(got.value).startswith(first), (str(got.value), str(expected.value))


@pytest.mark.parametrize("op", ["iadd", "isub", "imul", "itruediv"])
def test_inplace_operators_on_sparse_tensors(op):
    a, b = _matrices(3, ((4, 5), (4, 5)))
    results = []
    for lib in (dg, torch):
        s, t = lib.tensor(a).to_sparse(), lib.tensor(b).to_sparse()
        alias = s
        if op == "iadd":
            s += t
        elif op == "isub":
            s -= t
        elif op == "imul":
            s *= 2.5
        else:
            s /= 4.0
        assert s is alias  # (in place, as PyTorch's add_ / mul_)
        assert s.is_sparse
        results.append(s.to_dense().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_inplace_add_of_uncoalesced_sparse_tensors():
    # ptwt's kronecker sums: conv += kron(diag, block), both uncoalesced
    a, b = _matrices(4, ((6, 6), (6, 6)))
    ours, theirs = _pair(a)
    ours = dg.cat([ours, ours], 0)
    theirs = torch.cat([theirs, theirs], 0)
    extra_ours, extra_theirs = _pair(np.concatenate([b, b]))
    ours += extra_ours
    theirs += extra_theirs
    np.testing.assert_allclose(ours.to_dense().numpy(), theirs.to_dense().numpy(), rtol=1e-6)
    _same_sparse(ours.coalesce(), theirs.coalesce())


@pytest.mark.parametrize("shape, sparse_dim, dim, index", [
    ((4, 5), None, 0, 1), ((4, 5), None, 1, -1), ((4, 5), None, -2, 3),
    ((3, 4, 2), None, 1, 2), ((4, 3), 1, 1, 2), ((4, 3, 2), 2, 2, 0),
])
def test_select_of_sparse_coo_tensors(shape, sparse_dim, dim, index):
    (array,) = _matrices(5, (shape,))
    ours, theirs = _pair(array, sparse_dim)
    _same_sparse(ours.select(dim, index), theirs.select(dim, index))


def test_select_of_a_1d_sparse_tensor_is_dense_and_errors_match():
    ours, theirs = _pair(np.array([0.0, 5.0, 6.0], np.float32))
    got, want = ours.select(0, 1), theirs.select(0, 1)
    assert not got.is_sparse and not want.is_sparse
    assert got.shape == () and float(got) == float(want)
    for call in (lambda s: s.select(0, 3), lambda s: s.select(1, 0)):
        with pytest.raises(IndexError):
            call(theirs)
        with pytest.raises(IndexError):
            call(ours)


def test_iterating_and_unbinding_a_sparse_tensor():
    # ptwt's QR orthogonalization: ``for pos, row in enumerate(q.T.to_sparse())``
    (array,) = _matrices(6, ((4, 7),))
    ours, theirs = _pair(array)
    rows_ours, rows_theirs = list(ours), list(theirs)
    assert len(rows_ours) == len(rows_theirs) == 4
    for got, want in zip(rows_ours, rows_theirs):
        _same_sparse(got, want)
        _same_sparse(got.unsqueeze(0).coalesce(), want.unsqueeze(0).coalesce())
    for got, want in zip(ours.unbind(1), theirs.unbind(1)):
        _same_sparse(got, want)


@pytest.mark.parametrize("shape, sparse_dim, dim", [
    ((5,), None, 0), ((5,), None, 1), ((5,), None, -1), ((3, 4), None, 1),
    ((3, 4), None, 2), ((3, 4), 1, 1), ((3, 4), 1, 2), ((3, 4), 1, -1),
])
def test_unsqueeze_of_sparse_coo_tensors(shape, sparse_dim, dim):
    (array,) = _matrices(7, (shape,))
    ours, theirs = _pair(array, sparse_dim)
    _same_sparse(ours.unsqueeze(dim), theirs.unsqueeze(dim))
    with pytest.raises(IndexError):
        theirs.unsqueeze(len(shape) + 1)
    with pytest.raises(IndexError):
        ours.unsqueeze(len(shape) + 1)


@pytest.mark.parametrize("base, args", [("Linear", (4, 4)), ("Embedding", (5, 3)),
                                        ("Conv2d", (2, 3, 3))])
def test_subclass_overriding_reset_parameters_without_arguments(base, args):
    # torch-dct's LinearDCT: ``def reset_parameters(self)`` filled from a DCT, which nn.Linear's
    # __init__ calls (deltagrad passed its generator argument: TypeError)
    results = []
    for lib in (dg, torch):
        class Filled(getattr(lib.nn, base)):
            def reset_parameters(self):
                self.weight.data.fill_(0.5)

        layer = Filled(*args)
        results.append(layer.weight.detach().numpy())
    np.testing.assert_array_equal(results[0], results[1])
    assert (results[0] == 0.5).all()
