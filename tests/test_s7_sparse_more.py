"""Sparse tensors, second round, against PyTorch: the registered sparse @ dense product (both
paths), the dense gradient of a sparse leaf through ``@``, sparse @ sparse, elementwise ops
that keep the pattern, ``sum(keepdim=True)``, ``torch.sparse.sampled_addmm`` and the clear
refusal of dense-only function forms."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import sparse_ops

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support")]

INDEX = np.array([[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]])  # (0, 2) repeated: uncoalesced
VALUES = np.array([3.0, -4.0, 5.0, -1.0, 2.0])


def build(m, index=INDEX, values=VALUES, shape=(3, 3), coalesce=False, dtype=np.float64):
    """A sparse tensor over a values tensor that requires grad: (sparse, values)."""
    v = m.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    s = m.sparse_coo_tensor(m.tensor(index), v, shape)
    return (s.coalesce() if coalesce else s), v


def dense_of(x):
    if x.layout != dg.strided and x.layout != torch.strided:
        x = x.to_dense()
    return x.detach().numpy()


def same(ours, theirs, rtol=1e-10, atol=1e-12):
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(dense_of(ours), dense_of(theirs), rtol=rtol, atol=atol)


def both(fn, *, grads=True, **options):
    """fn(m, sparse, values) in both libraries; output and values' gradients compared."""
    outs = []
    for m in (dg, torch):
        s, v = build(m, **options)
        out = fn(m, s, v)
        dense = out.to_dense() if out.layout != m.strided else out
        if grads and dense.requires_grad:
            (dense * m.arange(dense.numel(), dtype=dense.dtype).reshape(dense.shape)).sum() \
                .backward()
        outs.append((out, v.grad))
    (ours, our_grad), (theirs, their_grad) = outs
    same(ours, theirs)
    if ours.layout != dg.strided:
        assert ours.is_coalesced() == theirs.is_coalesced()
    if grads:
        assert (our_grad is None) == (their_grad is None)
        if our_grad is not None:
            np.testing.assert_allclose(our_grad.numpy(), their_grad.numpy(), rtol=1e-10)
    return ours, theirs


# ---------------------------------------------------------------------------- sparse @ dense


def random_case(rng, n, k, nnz, d, repeats, dtype):
    rows, cols = rng.integers(0, n, nnz), rng.integers(0, k, nnz)
    if not repeats:
        linear = np.unique(rows * k + cols)
        order = rng.permutation(linear.size)  # (distinct, not sorted)
        rows, cols = linear[order] // k, linear[order] % k
    return (np.stack([rows, cols]), rng.standard_normal(rows.size).astype(dtype),
            rng.standard_normal((k, d)).astype(dtype), rng.standard_normal((n, d)).astype(dtype))


@pytest.mark.parametrize("use_scipy", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size, repeats, coalesce", [
    ((7, 5, 12, 3), True, False), ((7, 5, 12, 3), False, True), ((60, 50, 400, 16), True, False),
    ((60, 50, 400, 16), False, True), ((4, 3, 0, 2), False, False), ((6, 6, 9, 1), False, False),
])
def test_sparse_mm_forward_and_backward(monkeypatch, use_scipy, dtype, size, repeats, coalesce):
    monkeypatch.setattr(sparse_ops, "USE_SCIPY", use_scipy)
    n, k, nnz, d = size
    index, values, dense, upstream = random_case(np.random.default_rng(nnz + d), n, k, nnz, d,
                                                 repeats, dtype)
    results = []
    for m in (dg, torch):
        s, v = build(m, index, values, (n, k), coalesce, dtype)
        x = m.tensor(dense, requires_grad=True)
        out = m.sparse.mm(s, x)
        out.backward(m.tensor(upstream))
        results.append((out, x.grad, v.grad))
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    for ours, theirs in zip(*results, strict=True):
        same(ours, theirs, **tol)


def test_sparse_products_every_spelling():
    rng = np.random.default_rng(5)
    right, left, vector = rng.standard_normal((3, 4)), rng.standard_normal((2, 3)), \
        rng.standard_normal(3)
    for fn in (lambda m, s, v: s @ m.tensor(right), lambda m, s, v: m.mm(s, m.tensor(right)),
               lambda m, s, v: m.matmul(s, m.tensor(right)), lambda m, s, v: s @ m.tensor(vector),
               lambda m, s, v: m.tensor(left) @ s, lambda m, s, v: m.tensor(vector) @ s,
               lambda m, s, v: m.spmm(s, m.tensor(right)),
               lambda m, s, v: m.sparse.addmm(m.ones(3, 4, dtype=m.float64), s, m.tensor(right),
                                              beta=0.5, alpha=2.0)):
        both(fn)
        both(fn, coalesce=True)


LEAF_PRODUCTS = {
    "matmul": lambda m, s, right, left: s @ m.tensor(right),
    "mm": lambda m, s, right, left: m.mm(s, m.tensor(right)),
    "vector": lambda m, s, right, left: s @ m.tensor(right[:, 0]),
    "left": lambda m, s, right, left: m.tensor(left) @ s,
    "left vector": lambda m, s, right, left: m.tensor(left[0]) @ s,
}


@pytest.mark.parametrize("spelling", list(LEAF_PRODUCTS))
def test_sparse_leaf_gets_pytorchs_dense_gradient_through_matmul(spelling):
    rng = np.random.default_rng(2)
    right, left = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    grads = []
    for m in (dg, torch):
        s = m.sparse_coo_tensor(m.tensor(INDEX), m.tensor(VALUES), (3, 3)).coalesce()
        s.requires_grad_(True)
        out = LEAF_PRODUCTS[spelling](m, s, right, left)
        (out * out).sum().backward()
        grads.append(s.grad)
        s.grad = None
        assert s.grad is None
    assert grads[0].layout == dg.strided and grads[1].layout == torch.strided
    same(*grads)


def test_sparse_leaf_gradients_accumulate():
    # sparse.mm gives a sparse gradient, @ a dense one; twice through sparse.mm accumulates.
    grads = []
    for m in (dg, torch):
        s = m.sparse_coo_tensor(m.tensor(INDEX), m.tensor(VALUES), (3, 3)).coalesce()
        s.requires_grad_(True)
        x = m.ones(3, 2, dtype=m.float64)
        m.sparse.mm(s, x).sum().backward()
        m.sparse.mm(s, 2 * x).sum().backward()
        assert s.grad.layout == m.sparse_coo
        grads.append(s.grad)
    same(*grads)


def test_sparse_mm_errors():
    s = dg.sparse_coo_tensor(INDEX, VALUES, (3, 3))
    t = torch.sparse_coo_tensor(torch.tensor(INDEX), torch.tensor(VALUES), (3, 3))
    for fn in (lambda m, a: m.sparse.mm(a, m.ones(4, 2, dtype=m.float64)),
               lambda m, a: m.sparse.mm(a, m.ones(3, 2)),
               lambda m, a: m.sparse.mm(a, m.ones(2, 3, dtype=m.float64).to_sparse())):
        with pytest.raises(RuntimeError):
            fn(torch, t)
        with pytest.raises(RuntimeError):
            fn(dg, s)


def test_numpy_and_scipy_paths_agree(monkeypatch):
    index, values, dense, _ = random_case(np.random.default_rng(9), 90, 80, 700, 20, True,
                                          np.float64)
    out = []
    for flag in (True, False):
        monkeypatch.setattr(sparse_ops, "USE_SCIPY", flag)
        s, _ = build(dg, index, values, (90, 80))
        out.append(dg.sparse.mm(s, dg.tensor(dense)).detach().numpy())
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- sparse @ sparse


OTHER_INDEX = np.array([[0, 2, 2, 1], [1, 1, 0, 1]])
OTHER_VALUES = np.array([2.0, 7.0, -3.0, 0.5])


SPARSE_PRODUCTS = {"@": lambda m, a, b: a @ b, "mm": lambda m, a, b: m.mm(a, b),
                   "sparse.mm": lambda m, a, b: m.sparse.mm(a, b),
                   "matmul": lambda m, a, b: m.matmul(a, b)}


@pytest.mark.parametrize("coalesce", [True, False])
@pytest.mark.parametrize("spelling", list(SPARSE_PRODUCTS))
def test_sparse_at_sparse(coalesce, spelling):
    grads = []
    for m in (dg, torch):
        a, va = build(m, coalesce=coalesce)
        b, vb = build(m, OTHER_INDEX, OTHER_VALUES, (3, 2), coalesce)
        out = SPARSE_PRODUCTS[spelling](m, a, b)
        assert out.layout == m.sparse_coo and out.is_coalesced()
        (out.to_dense() * m.tensor([[1.0, -2.0], [3.0, 0.5], [2.0, 1.0]], dtype=m.float64)) \
            .sum().backward()
        grads.append((out, va.grad, vb.grad))
    ours, theirs = grads
    same(ours[0], theirs[0])
    assert ours[0]._nnz() == theirs[0]._nnz()
    np.testing.assert_array_equal(ours[0]._indices().numpy(), theirs[0]._indices().numpy())
    for g_ours, g_theirs in zip(ours[1:], theirs[1:], strict=True):
        np.testing.assert_allclose(g_ours.numpy(), g_theirs.numpy(), rtol=1e-12)


def test_sparse_at_sparse_edges():
    for m in (dg, torch):
        a = m.sparse_coo_tensor(m.tensor([[0, 0], [0, 1]]), m.tensor([1.0, 1.0]), (2, 2))
        b = m.sparse_coo_tensor(m.tensor([[0, 1], [0, 0]]), m.tensor([1.0, -1.0]), (2, 2))
        cancel = a.coalesce() @ b.coalesce()  # one position, explicitly 0
        assert cancel._nnz() == 1 and cancel._values().tolist() == [0.0]
        empty = m.sparse_coo_tensor(m.zeros(2, 0, dtype=m.int64), m.zeros(0), (2, 3))
        assert (a @ empty)._nnz() == 0 and (a @ empty).shape == (2, 3)
        with pytest.raises(RuntimeError):
            a @ m.sparse_coo_tensor(m.zeros(2, 0, dtype=m.int64), m.zeros(0), (3, 3))
        with pytest.raises(RuntimeError):
            a @ b.double()
        for dtype in (m.int64, m.int32, m.float16):
            with pytest.raises(NotImplementedError, match="sparse_matmul"):
                a.to(dtype) @ b.to(dtype)
        with pytest.raises(NotImplementedError):
            a.bool() @ m.ones(2, 2, dtype=m.bool)
        ints = m.tensor([[1, 2], [3, 4]])  # (sparse @ dense of integers works)
        np.testing.assert_array_equal((a.long() @ ints).numpy(), [[4, 6], [0, 0]])
        np.testing.assert_array_equal((ints @ a.long()).numpy(), [[1, 1], [3, 3]])


# ---------------------------------------------------------------------------- elementwise


@pytest.mark.parametrize("coalesce", [True, False])
@pytest.mark.parametrize("name", ["neg", "abs", "relu", "pow2", "pow3", "pow-1", "pow0.5",
                                  "**2", "-s", "abs()"])
def test_pattern_keeping_unary_ops(coalesce, name):
    fn = {"neg": lambda m, s, v: s.neg(), "abs": lambda m, s, v: s.abs(),
          "relu": lambda m, s, v: s.relu(), "pow2": lambda m, s, v: s.pow(2),
          "pow3": lambda m, s, v: s.pow(3), "pow-1": lambda m, s, v: s.pow(-1),
          "pow0.5": lambda m, s, v: s.abs().pow(0.5), "**2": lambda m, s, v: s ** 2,
          "-s": lambda m, s, v: -s, "abs()": lambda m, s, v: abs(s)}[name]
    both(fn, coalesce=coalesce)


def test_unary_ops_dtypes_and_errors():
    for fn in (lambda m, s: s.long().abs(), lambda m, s: s.long().relu(),
               lambda m, s: s.long().pow(2), lambda m, s: s.float().pow(2)):
        ours, theirs = (fn(m, build(m)[0].detach()) for m in (dg, torch))
        same(ours, theirs)
    for fn, error in ((lambda m, s: s.pow(0), RuntimeError),
                      (lambda m, s: s.pow(m.tensor(2.0)), NotImplementedError),
                      (lambda m, s: s.bool().abs(), NotImplementedError)):
        for m in (dg, torch):
            with pytest.raises(error):
                fn(m, build(m)[0].detach())


@pytest.mark.parametrize("coalesce", [True, False])
@pytest.mark.parametrize("other", ["same shape", "row", "column", "0-d", "int", "[1, 1]"])
def test_mul_by_dense(coalesce, other):
    rng = np.random.default_rng(4)
    array = {"same shape": rng.standard_normal((3, 3)), "row": rng.standard_normal(3),
             "column": rng.standard_normal((3, 1)), "0-d": np.array(2.5),
             "int": np.arange(9).reshape(3, 3), "[1, 1]": np.array([[1.5]])}[other]
    # PyTorch cannot differentiate into a broadcast dense operand (and gives a same-shape one
    # a sparse gradient; deltagrad a dense one, equal after to_dense): the dense operand's
    # gradient is compared with PyTorch's where it has one, else with the dense product's.
    floating = array.dtype.kind == "f"
    grads = []
    for m in (dg, torch):
        s, v = build(m, coalesce=coalesce)
        d = m.tensor(array, requires_grad=floating and (m is dg or other in ("same shape", "0-d")))
        out = s * d if other != "row" else d * s  # (both orders)
        assert out.layout == m.sparse_coo and out.is_coalesced() == s.is_coalesced()
        (out.to_dense() * m.arange(9, dtype=m.float64).reshape(3, 3)).sum().backward()
        grads.append((out, v.grad, d.grad))
    (ours, our_values, our_dense), (theirs, their_values, their_dense) = grads
    same(ours, theirs)
    np.testing.assert_allclose(our_values.numpy(), their_values.numpy(), rtol=1e-12)
    if floating:
        if their_dense is None:
            d = dg.tensor(array, requires_grad=True)
            (build(dg, coalesce=coalesce)[0].detach().to_dense() * d
             * dg.arange(9, dtype=dg.float64).reshape(3, 3)).sum().backward()
            their_dense = d.grad
        np.testing.assert_allclose(dense_of(our_dense), dense_of(their_dense), rtol=1e-12)


def test_mul_by_sparse():
    both(lambda m, s, v: s * s, coalesce=True)
    both(lambda m, s, v: s * s)  # one pattern, uncoalesced: entry by entry
    other = (OTHER_INDEX, OTHER_VALUES * 2, (3, 3))

    def with_other(m, s, v):
        t = m.sparse_coo_tensor(m.tensor(other[0]), m.tensor(other[1]), other[2]).coalesce()
        return s * t

    for coalesce in (True, False):
        ours, theirs = both(with_other, coalesce=coalesce)
        assert ours._nnz() == theirs._nnz()
        np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())

    def with_other_uncoalesced(m, s, v):
        t = m.sparse_coo_tensor(m.tensor(other[0]), m.tensor(other[1]), other[2])
        return t * s

    for coalesce in (True, False):
        ours, theirs = both(with_other_uncoalesced, coalesce=coalesce)
        np.testing.assert_array_equal(ours._indices().numpy(), theirs._indices().numpy())
    with pytest.raises(RuntimeError):
        build(dg)[0] * dg.sparse_coo_tensor(INDEX, VALUES, (3, 4))


def test_mul_refusals_are_clear():
    s = build(dg)[0]
    with pytest.raises(NotImplementedError, match="broadcasts to the sparse shape"):
        s * dg.ones(2, 3, 3, dtype=dg.float64)  # (PyTorch broadcasts to a 3-d sparse result)


# ---------------------------------------------------------------------------- sums


def grad_as_dense(sparse_fn, dense_fn, **options):
    """deltagrad's values gradient through ``sparse_fn(s)`` against that through
    ``dense_fn(s.to_dense())`` (PyTorch cannot differentiate some sparse results)."""
    grads = []
    for fn in (sparse_fn, dense_fn):
        s, v = build(dg, **options)
        out = fn(s if fn is sparse_fn else s.to_dense())
        out = out.to_dense() if out.layout != dg.strided else out
        (out * dg.arange(out.numel(), dtype=dg.float64).reshape(out.shape)).sum().backward()
        grads.append(v.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-12)


@pytest.mark.parametrize("coalesce", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1, (0, 1)])
def test_sum_keepdim(dim, coalesce):
    ours, theirs = both(lambda m, s, v: s.sum(dim, keepdim=True), coalesce=coalesce,
                        grads=False)  # (PyTorch: "expand is unsupported for Sparse tensors")
    assert (ours.layout == dg.strided) == (theirs.layout == torch.strided)
    grad_as_dense(lambda s: s.sum(dim, keepdim=True), lambda x: x.sum(dim, keepdim=True),
                  coalesce=coalesce)


@pytest.mark.parametrize("dim", [2, 0, (0, 1), (0, 2), (0, 1, 2), -1])
def test_sum_keepdim_hybrid(dim):
    rows = np.random.default_rng(6).standard_normal((5, 2))
    options = dict(index=INDEX, values=rows, shape=(3, 3, 2))
    ours, theirs = both(lambda m, s, v: s.sum(dim, keepdim=True), grads=False, **options)
    assert (ours.layout == dg.strided) == (theirs.layout == torch.strided)
    if ours.layout != dg.strided:
        assert ours.sparse_dim() == theirs.sparse_dim()
    grad_as_dense(lambda s: s.sum(dim, keepdim=True), lambda x: x.sum(dim, keepdim=True),
                  **options)


def test_sum_keepdim_without_dim_is_a_type_error():
    for m in (dg, torch):
        with pytest.raises(TypeError):
            build(m)[0].sum(keepdim=True)


# ---------------------------------------------------------------------------- sampled_addmm


@pytest.mark.parametrize("beta, alpha", [(1.0, 1.0), (0.5, 2.0), (0.0, -1.0)])
def test_sampled_addmm(beta, alpha):
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 3))
    grads = []
    for m in (dg, torch):
        s, v = build(m, coalesce=True)
        csr = s.to_sparse_csr()
        x, y = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
        out = m.sparse.sampled_addmm(csr, x, y, beta=beta, alpha=alpha)
        assert out.layout == m.sparse_csr
        (out.values() * m.arange(1.0, 5.0, dtype=m.float64)).sum().backward()
        grads.append((out.to_dense(), v.grad, x.grad, y.grad))
    for ours, theirs in zip(*grads, strict=True):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(dense_of(ours), dense_of(theirs), rtol=1e-12, atol=1e-14)
    for m in (dg, torch):
        with pytest.raises(NotImplementedError):
            m.sparse.sampled_addmm(build(m)[0].detach(), m.tensor(a), m.tensor(b))


def test_csr_keeps_its_layout():
    for fn in (lambda s: s.abs(), lambda s: s.relu(), lambda s: -s, lambda s: s * 2.0):
        ours, theirs = (fn(build(m, coalesce=True)[0].detach().to_sparse_csr())
                        for m in (dg, torch))
        assert ours.layout == dg.sparse_csr and theirs.layout == torch.sparse_csr
        same(ours, theirs)
    for m in (dg, torch):
        with pytest.raises(RuntimeError):
            build(m, coalesce=True)[0].detach().to_sparse_csr().pow(2)


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("fn", [lambda s: dg.sum(s), lambda s: dg.relu(s), lambda s: dg.abs(s),
                                lambda s: dg.exp(s), lambda s: dg.mean(s)])
def test_dense_only_function_forms_name_sparse(fn):
    # PyTorch's torch.sum(S) and torch.relu(S) work; deltagrad's function forms reach dense
    # kernels, so they refuse by name (the methods S.sum(), S.relu() work).
    with pytest.raises(NotImplementedError, match="sparse"):
        fn(build(dg)[0])


def test_functional_relu_takes_sparse():
    both(lambda m, s, v: m.nn.functional.relu(s))
