"""The common-call paths of session 23's SP10 (index_select and gather nodes made directly,
topk's first-k order in one subtract, addmm without the general parsing) against PyTorch:
values, dtypes, shapes, contiguity, gradients and node names, including the cases at the
edges of each path (ties, nan, k = 0 and k = n, int32 indices, float16, views, broadcast
biases, past-the-end indices)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(array: np.ndarray, requires_grad: bool = False):
    return (dg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _same(d, t) -> None:
    assert tuple(d.shape) == tuple(t.shape)
    assert str(d.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(d.detach().numpy(), t.detach().numpy())


def _grads(d_out, t_out, d_in, t_in, seed: int = 0, rtol: float = 0.0) -> None:
    cot = np.random.default_rng(seed).standard_normal(tuple(t_out.shape)).astype(
        str(t_out.dtype).replace("torch.", ""))
    (gd,) = dg.autograd.grad(d_out, d_in, dg.tensor(cot), retain_graph=True)
    (gt,) = torch.autograd.grad(t_out, t_in, torch.tensor(cot), retain_graph=True)
    np.testing.assert_allclose(gd.numpy(), gt.numpy(), rtol=rtol, atol=0)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("index_dtype", [np.int64, np.int32])
def test_index_select_matches_torch(dim, index_dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    positions = rng.integers(0, x.shape[dim], 7).astype(index_dtype)
    (xd, xt), (id_, it) = _pair(x, True), _pair(positions)
    out_d, out_t = dg.index_select(xd, dim, id_), torch.index_select(xt, dim, it)
    _same(out_d, out_t)
    assert out_d.detach().numpy().flags.c_contiguous
    assert type(out_d.grad_fn).__name__ == type(out_t.grad_fn).__name__
    _grads(out_d, out_t, xd, xt)
    with dg.no_grad():
        assert dg.index_select(xd, dim, id_).grad_fn is None


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int64, np.bool_])
def test_index_select_dtypes_and_views(dtype):
    x = (np.arange(40).reshape(8, 5) % 3).astype(dtype)
    (xd, xt), (id_, it) = _pair(x), _pair(np.array([3, 0, 3, 2]))
    _same(dg.index_select(xd, 1, id_), torch.index_select(xt, 1, it))
    _same(dg.index_select(xd.t(), 0, id_), torch.index_select(xt.t(), 0, it))
    _same(dg.index_select(xd[::2], 0, id_[:2]), torch.index_select(xt[::2], 0, it[:2]))


def test_index_select_float16_gradient():
    x = np.random.default_rng(2).standard_normal((3, 6)).astype(np.float16)
    (xd, xt), (id_, it) = _pair(x, True), _pair(np.array([5, 1, 1]))
    out_d, out_t = dg.index_select(xd, 1, id_), torch.index_select(xt, 1, it)
    _same(out_d, out_t)
    _grads(out_d, out_t, xd, xt)


def test_index_select_errors_unchanged():
    xd, xt = _pair(np.zeros((3, 4), np.float32))
    for bad in ([0, 4], [-1]):
        with pytest.raises(RuntimeError) as caught:
            torch.index_select(xt, 1, torch.tensor(bad))
        with pytest.raises(type(caught.value)):
            dg.index_select(xd, 1, dg.tensor(bad))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_torch(dim):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    shape = list(x.shape)
    shape[dim] = 3
    index = rng.integers(0, x.shape[dim], shape)
    (xd, xt), (id_, it) = _pair(x, True), _pair(index)
    out_d, out_t = dg.gather(xd, dim, id_), torch.gather(xt, dim, it)
    _same(out_d, out_t)
    assert type(out_d.grad_fn).__name__ == type(out_t.grad_fn).__name__
    _grads(out_d, out_t, xd, xt)
    bad = index.copy()
    bad.flat[0] = x.shape[dim]  # past the end: PyTorch's error, as before
    with pytest.raises(RuntimeError):
        torch.gather(xt, dim, torch.tensor(bad))
    with pytest.raises(RuntimeError):
        dg.gather(xd, dim, dg.tensor(bad))


def _topk_cases():
    rng = np.random.default_rng(4)
    for shape, dim in (((5, 5), -1), ((5, 10, 5), 1), ((7,), 0), ((3, 4), 0), ((2, 1), 1)):
        ties = rng.integers(-2, 3, shape).astype(np.float32)
        nans = ties.copy()
        nans.flat[::3] = np.nan
        for values in (rng.standard_normal(shape).astype(np.float32), ties, nans):
            for k in sorted({0, 1, shape[dim] // 2, shape[dim]}):
                for largest in (True, False):
                    yield values, k, dim, largest


@pytest.mark.parametrize("case", list(_topk_cases()))
def test_topk_matches_torch(case):
    values, k, dim, largest = case
    (xd, xt) = _pair(values, True)
    out_d = dg.topk(xd, k, dim, largest)
    out_t = torch.topk(xt, k, dim, largest)
    _same(out_d.values, out_t.values)
    assert out_d.indices.dtype == dg.int64 and out_d.indices.numpy().flags.c_contiguous
    # (PyTorch's choice among equal values depends on its algorithm: deltagrad takes the
    # earliest; the values at the indices are what must agree)
    np.testing.assert_array_equal(
        np.take_along_axis(values, out_d.indices.numpy(), dim), out_t.values.detach().numpy())
    if k:
        assert type(out_d.values.grad_fn).__name__ == "TopkBackward0"
    if not np.isnan(values).any() and len(np.unique(values)) == values.size:
        np.testing.assert_array_equal(out_d.indices.numpy(), out_t.indices.numpy())
        if k:  # (with ties the gradient goes where each library's index points)
            _grads(out_d.values, out_t.values, xd, xt)


def test_topk_first_of_ties_and_scalar():
    x = dg.tensor([1.0, 3.0, 3.0, 2.0, 3.0], requires_grad=True)
    # (PyTorch's CPU kernel's choice among ties, since s28 BR17: api/topk_order.py)
    assert dg.topk(x, 2).indices.tolist() == [2, 4]
    assert dg.topk(x, 2, largest=False).indices.tolist() == [0, 3]
    s = dg.tensor(2.5, requires_grad=True)
    out = dg.topk(s, 1)
    assert out.values.shape == () and out.indices.item() == 0
    assert type(out.values.grad_fn).__name__ == "TopkBackward0"
    out.values.backward()
    assert s.grad.item() == 1.0
    v, i = dg.sort(dg.tensor([[2.0, 1.0]], requires_grad=True), descending=True)
    assert type(v.grad_fn).__name__ == "SortBackward0" and i.tolist() == [[0, 1]]


@pytest.mark.parametrize("bias_shape", [(2, 3), (3,), (1, 3), (2, 1), (1,), ()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_addmm_matches_torch(bias_shape, dtype):
    rng = np.random.default_rng(5)
    bias = rng.standard_normal(bias_shape).astype(dtype)
    m1 = rng.standard_normal((2, 4)).astype(dtype)
    m2 = rng.standard_normal((4, 3)).astype(dtype)
    (bd, bt), (ad, at), (cd, ct) = _pair(bias, True), _pair(m1, True), _pair(m2, True)
    out_d, out_t = dg.addmm(bd, ad, cd), torch.addmm(bt, at, ct)
    # The common call's bits are the general path's (a tensor beta takes that path), the
    # product then the sum; PyTorch's BLAS adds the input inside the product (1 ulp apart).
    general = dg.addmm(bd, ad, cd, beta=dg.tensor(1.0), alpha=1.0)
    np.testing.assert_array_equal(out_d.detach().numpy(), general.detach().numpy())
    assert out_d.dtype == general.dtype and type(out_d.grad_fn) is type(general.grad_fn)
    assert tuple(out_d.shape) == tuple(out_t.shape)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out_d.detach().numpy(), out_t.detach().numpy(), rtol=rtol)
    for d_in, t_in in ((bd, bt), (ad, at), (cd, ct)):
        _grads(out_d, out_t, d_in, t_in, rtol=rtol)
        (g_fast,) = dg.autograd.grad(out_d.sum(), d_in, retain_graph=True)
        (g_general,) = dg.autograd.grad(general.sum(), d_in, retain_graph=True)
        np.testing.assert_array_equal(g_fast.numpy(), g_general.numpy())
    for beta, alpha in ((0.5, 1), (1, 0.25), (0.75, -2.0), (0, 1)):
        fast = dg.addmm(bd, ad, cd, beta=beta, alpha=alpha)
        general = dg.addmm(bd, ad, cd, beta=dg.tensor(float(beta)), alpha=dg.tensor(alpha))
        np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
        np.testing.assert_allclose(fast.detach().numpy(), torch.addmm(
            bt, at, ct, beta=beta, alpha=alpha).detach().numpy(), rtol=rtol, atol=rtol)


def test_addmm_errors_unchanged():
    rng = np.random.default_rng(6)
    cases = [((2, 3), (2, 4), (5, 3)),  # the factors do not multiply
             ((4,), (2, 4), (4, 3)),  # the bias does not broadcast
             ((2, 3), (4,), (4, 3))]  # a 1-d factor
    for shapes in cases:
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        with pytest.raises(RuntimeError) as caught:
            torch.addmm(*(torch.tensor(a) for a in arrays))
        with pytest.raises(type(caught.value)):
            dg.addmm(*(dg.tensor(a) for a in arrays))
    with pytest.raises(RuntimeError):
        torch.addmm(torch.zeros(2, 3), torch.zeros(2, 4, dtype=torch.float64),
                    torch.zeros(4, 3))
    with pytest.raises(RuntimeError):
        dg.addmm(dg.zeros(2, 3), dg.zeros(2, 4, dtype=dg.float64), dg.zeros(4, 3))


@pytest.mark.parametrize("shape", [(5, 1, 5), (1, 3), (3, 1), (1,), (2, 3)])
def test_squeeze_int_dim_matches_torch(shape):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    (xd, xt) = _pair(x, True)
    for dim in range(-len(shape), len(shape)):
        for out_d, out_t in ((dg.squeeze(xd, dim), torch.squeeze(xt, dim)),
                             (xd.squeeze(dim), xt.squeeze(dim))):
            _same(out_d, out_t)
            assert type(out_d.grad_fn).__name__ == type(out_t.grad_fn).__name__
            assert out_d.detach().numpy().base is not None  # (a view, as PyTorch's)
            _grads(out_d, out_t, xd, xt)
    for bad in (len(shape), -len(shape) - 1):
        with pytest.raises(IndexError):
            torch.squeeze(xt, bad)
        with pytest.raises(IndexError):
            dg.squeeze(xd, bad)
    s = dg.tensor(1.5, requires_grad=True)  # (0-d: the general path, dims 0 and -1)
    assert dg.squeeze(s, 0).shape == () and dg.squeeze(s, -1).shape == ()
