"""Differences session 23's fuzzer families (``s23_SL8_families.py``) found and fixed, each
checked against PyTorch: values, dtypes, gradients and graph flags."""

import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _grads_equal(ours, theirs):
    a = ours.detach().resolve_conj().numpy() if ours is not None else None
    b = theirs.detach().resolve_conj().numpy() if theirs is not None else None
    if a is None or b is None:
        assert a is None and b is None
        return
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("fn", ["inv_ex", "solve_ex", "solve_ex_left", "solve_ex_vec"])
def test_ex_of_a_singular_matrix_keeps_the_graph(fn, dtype):
    # A batch of a singular and an invertible matrix: the result stays in the graph (was a
    # leaf: every gradient lost, the invertible matrix's too); the singular one's values and
    # gradients are nan, the other's exact; info is getrf's first zero pivot.
    mats = [[[1.0, 2.0], [2.0, 4.0]], [[2.0, 1.0], [0.5, 3.0]]]
    rhs = [[1.0, 2.0], [3.0, -1.0]]
    out = {}
    for lib in (torch, dg):
        dt = getattr(lib, dtype)
        A = lib.tensor(mats, dtype=dt, requires_grad=True)
        B = lib.tensor(rhs, dtype=dt, requires_grad=True)
        if fn == "inv_ex":
            r, info = lib.linalg.inv_ex(A)
        elif fn == "solve_ex":
            r, info = lib.linalg.solve_ex(A, B)
        elif fn == "solve_ex_left":
            r, info = lib.linalg.solve_ex(A, B.unsqueeze(-2), left=False)
        else:
            r, info = lib.linalg.solve_ex(A, B)  # (B [2, 2] read as a batch of vectors)
        assert r.requires_grad and r.grad_fn is not None
        real = lib.view_as_real(r.resolve_conj()) if r.is_complex() else r
        w = lib.arange(1.0, real.numel() + 1, dtype=real.dtype).reshape(real.shape)
        (real * w).nansum().backward()
        out[lib] = (r.detach().resolve_conj(), info, A.grad, B.grad)
    (tr, ti, tga, tgb), (dr, di, dga, dgb) = out[torch], out[dg]
    assert di.tolist() == ti.tolist() == [2, 0]
    assert str(di.dtype) == "deltagrad.int32"
    np.testing.assert_allclose(dr[1].numpy(), tr[1].numpy(), rtol=1e-12)
    # (the singular one's values are what LAPACK's getri left in PyTorch, infinities among
    # them; nan here: both not finite)
    assert not np.isfinite(dr[0].numpy()).any() and not np.isfinite(tr[0].numpy()).any()
    _grads_equal(dga, tga)
    _grads_equal(dgb, tgb)
    assert np.isnan(dga.numpy()[0]).all() and np.isfinite(dga.numpy()[1]).all()


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_ex_of_a_non_definite_matrix_keeps_the_graph(upper):
    # LAPACK's partial factor (info > 0) was a leaf; PyTorch's backward applies cholesky's
    # rule to it
    mats = [[[1.0, 2.0, 0.5], [2.0, 1.0, 0.3], [0.5, 0.3, 2.0]],
            [[4.0, 1.0, 0.5], [1.0, 3.0, 0.3], [0.5, 0.3, -2.0]]]
    out = {}
    for lib in (torch, dg):
        A = lib.tensor(mats, dtype=lib.float64, requires_grad=True)
        L, info = lib.linalg.cholesky_ex(A, upper=upper)
        assert L.requires_grad and L.grad_fn is not None
        w = lib.arange(1.0, L.numel() + 1, dtype=lib.float64).reshape(L.shape)
        (L * w).sum().backward()
        out[lib] = (L.detach().numpy(), info.tolist(), A.grad.numpy())
    (tl, ti, tg), (dl, di, dgr) = out[torch], out[dg]
    assert di == ti == [2, 3]
    np.testing.assert_allclose(dl, tl, rtol=1e-12)
    np.testing.assert_allclose(dgr, tg, rtol=1e-10)


@pytest.mark.parametrize("nnz", [0, 1])
def test_sparse_values_of_a_leaf_is_not_a_leaf(nnz):
    # values() of a coalesced sparse leaf requiring grad returned the leaf values tensor
    # itself (is_leaf True, grad_fn None); PyTorch's is a ValuesBackward0 node each call
    idx = [[0] * nnz, [0] * nnz]
    vals = [1.5] * nnz
    got = []
    for lib in (torch, dg):
        s = lib.sparse_coo_tensor(idx, vals, (2, 1), dtype=lib.float64, requires_grad=True)
        v = s.coalesce().values()
        (v * 2).sum().backward()
        got.append((v.is_leaf, v.requires_grad, v.grad_fn is None,
                    s.grad.to_dense().tolist()))
    assert got[0] == got[1] == [(False, True, False, got[0][3])][0]
    assert math.isfinite(sum(sum(r) for r in got[1][3]))


def test_sparse_transpose_of_a_leaf_is_a_node():
    # the transposed sparse tensor shared the leaf's values (grad_fn None, is_leaf True)
    got = []
    for lib in (torch, dg):
        s = lib.sparse_coo_tensor([[0, 1, 1], [3, 2, 3]], [0.1, -1.3, 1.0], (2, 4),
                                  dtype=lib.float64, requires_grad=True)
        t = s.transpose(0, 1)
        w = lib.arange(8.0, dtype=lib.float64).reshape(4, 2)
        (t.to_dense() * w).sum().backward()
        got.append((t.is_leaf, t.grad_fn is None, s.t().is_leaf, s.grad.to_dense().tolist()))
    assert got[0] == got[1]


def test_vdot_of_complex_tensors_requiring_grad():
    # was NotImplementedError ("vdot: gradients of complex tensors are not supported")
    got = []
    for lib in (torch, dg):
        x = lib.tensor([1 + 2j, -0.5 + 1j, 3 - 1j], dtype=lib.complex128, requires_grad=True)
        y = lib.tensor([0.5 - 1j, 2 + 1j, -1 + 0.25j], dtype=lib.complex128,
                       requires_grad=True)
        r = lib.vdot(x, y)
        (r.real * 2 + r.imag * 3).backward()
        got.append([complex(r)] + x.grad.tolist() + y.grad.tolist())
    np.testing.assert_allclose(got[1], got[0], rtol=1e-14)


@pytest.mark.parametrize("order", [0.5, -1.0, 3.0, math.inf, -math.inf, 1.0, 2.0])
def test_vector_norm_gradient_of_complex_input(order):
    # ord inf / 0.5 / -1 / 3 of a complex input raised TypeError in the rule (copysign)
    got = []
    for lib in (torch, dg):
        z = lib.tensor([[1 + 2j, -0.5 + 1j], [0.2 - 1j, 3 - 1j]], dtype=lib.complex128,
                       requires_grad=True)
        lib.linalg.vector_norm(z, ord=order, dim=(1, 0)).backward()
        got.append(z.grad.numpy())
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64"])
def test_lcm_wraps_as_pytorch(dtype):
    # PyTorch's |x / gcd * y| in C (8 / 16-bit in int, the product wrapping before abs);
    # np.lcm took |x| and |y| first: lcm(-128, 2**31 - 1) in int32 was -128 (PyTorch 128)
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype)
    lo = info.min + (dtype in ("int32", "int64"))  # (PyTorch's INT_MIN / -1 traps)
    x = rng.integers(lo, info.max, 500, dtype=dtype, endpoint=True)
    y = rng.integers(lo, info.max, 500, dtype=dtype, endpoint=True)
    x[:20], y[20:40] = 0, 0
    x[40:60], y[40:60] = rng.integers(-9, 10, 20), rng.integers(-9, 10, 20)
    if dtype == "int32":
        x[60], y[60] = -128, 2**31 - 1
    expected = torch.lcm(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    got = dg.lcm(dg.from_numpy(x), dg.from_numpy(y))
    assert str(got.dtype) == f"deltagrad.{dtype}"
    np.testing.assert_array_equal(got.numpy(), expected)


def test_mT_of_low_rank_tensors():
    # 1-d: PyTorch's RuntimeError (was IndexError); 0-d: itself (was IndexError)
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        _ = torch.ones(3).mT
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        _ = dg.ones(3).mT
    x = dg.tensor(2.5, requires_grad=True)
    y = x.mT
    assert y.shape == () and float(y) == 2.5 and y.grad_fn is not None
    assert torch.tensor(2.5).mT.shape == ()


@pytest.mark.parametrize("dim, index", [(0, [1, 1, 0]), (1, [0, 2, 0]), (-1, [2]), (0, []),
                                        (0, [-1])])
def test_sparse_index_select(dim, index):
    # was NotImplementedError; PyTorch's entries in its order, not coalesced (but for one
    # entry at most), in the graph (PyTorch's backward raises: no sparse index_add_)
    got = []
    for lib in (torch, dg):
        s = lib.sparse_coo_tensor([[1, 0, 1, 2], [0, 2, 1, 0]], [1.0, 2.0, 3.0, 4.0], (3, 3),
                                  requires_grad=True)
        r = s.index_select(dim, lib.tensor(index, dtype=lib.int64))
        got.append((r.is_coalesced(), tuple(r.shape), r._indices().tolist(),
                    r._values().tolist(), r.requires_grad, r.grad_fn is None,
                    r.to_dense().tolist()))
    assert got[0] == got[1]
    values = []
    for lib in (torch, dg):  # along a dense dim: the values' columns
        s = lib.sparse_coo_tensor([[1, 0]], [[1.0, 2.0], [3.0, 4.0]], (3, 2))
        r = s.index_select(1, lib.tensor([1, 1, 0]))
        values.append((r._indices().tolist(), r._values().tolist()))
    assert values[0] == values[1]
    with pytest.raises(IndexError, match="out of range"):
        dg.sparse_coo_tensor([[0], [0]], [1.0], (2, 2)).index_select(0, dg.tensor([2]))


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_argmax_out(fn):
    # out= was a TypeError
    for make in (lambda lib: lib.zeros(3, dtype=lib.int64),
                 lambda lib: lib.zeros(0, dtype=lib.int64)):
        got = []
        for lib in (torch, dg):
            x = lib.tensor([[-0.939, -1.359, 1.558], [2.0, 0.5, 0.5]])
            out = make(lib)
            r = getattr(lib, fn)(x, 0, out=out)
            got.append((r is out, out.tolist()))
        assert got[0] == got[1]
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype"):
        getattr(dg, fn)(dg.tensor([1.0, 2.0]), 0, out=dg.zeros(1, dtype=dg.float16))


@pytest.mark.parametrize("fn", ["eigh", "eigvalsh"])
def test_eigh_of_an_integer_matrix_raises_the_kernel_error(fn):
    # PyTorch's NotImplementedError ("linalg_eigh_cpu" not implemented for 'Long'); was a
    # RuntimeError, which `except NotImplementedError` misses
    for lib in (torch, dg):
        with pytest.raises(NotImplementedError, match="linalg_eigh_cpu"):
            getattr(lib.linalg, fn)(lib.ones((3, 3), dtype=lib.int64))
