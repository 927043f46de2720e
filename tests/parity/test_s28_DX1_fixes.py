"""Regression tests for what PyTorch's documentation examples turned up (s28 DX1; the examples
themselves: test_s28_DX1_docexamples.py), each against PyTorch 2.13."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import errors

torch = pytest.importorskip("torch")

# ----------------------------------------------------------------------------------------------
# torch.asarray's requires_grad (None: keeps the history and warns once; False: no grad)

def _asarray_cases(m):
    a = m.tensor([1., 2., 3.], requires_grad=True)
    b = a + 2
    out = []
    r = m.asarray(a, requires_grad=False)
    out.append((r is a, r.requires_grad, a.requires_grad))
    a.requires_grad_(True)
    r = m.asarray(b, requires_grad=False)
    out.append((r is b, r.requires_grad, r.is_leaf, r.data_ptr() == b.data_ptr()))
    for kwargs in ({}, {"dtype": m.float64}, {"copy": True}, {"dtype": m.float64, "copy": True},
                   {"dtype": m.float64, "requires_grad": False},
                   {"copy": True, "requires_grad": True}):
        r = m.asarray(b, **kwargs)
        out.append((type(r.grad_fn).__name__ if r.grad_fn else None, r.requires_grad,
                    r.is_leaf, str(r.dtype).split(".")[-1]))
    r = m.asarray(b.detach(), dtype=m.float64, requires_grad=True)
    out.append((r.is_leaf, r.requires_grad))
    x = m.ones(2)
    r = m.asarray(x, requires_grad=True)
    out.append((r is x, x.requires_grad))
    return out


def test_asarray_requires_grad_as_pytorch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _asarray_cases(dg) == _asarray_cases(torch)


def test_asarray_unspecified_requires_grad_warns_once():
    errors._WARNED_ONCE.discard("asarray requires_grad")
    b = dg.tensor([1., 2.], requires_grad=True) * 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg.asarray(b)
        dg.asarray(b)
        dg.asarray(b, requires_grad=False)
        dg.asarray(np.ones(2))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "unspecified requires_grad" in messages[0]


# ----------------------------------------------------------------------------------------------
# Small API corners

def test_histogramdd_result_type():
    x, w = [[0., 1.], [1., 0.], [2., 0.], [2., 2.]], [1., 2., 4., 8.]
    want = torch.histogramdd(torch.tensor(x), bins=[3, 3], weight=torch.tensor(w))
    got = dg.histogramdd(dg.tensor(x), bins=[3, 3], weight=dg.tensor(w))
    assert isinstance(got, dg.return_types.histogramdd)
    assert repr(got).replace("deltagrad", "torch") == repr(want)


def test_typename_of_parameter_classes():
    for cls in ("Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"):
        want = torch.typename(getattr(torch.nn.parameter, cls))
        assert dg.typename(getattr(dg.nn.parameter, cls)) == want.replace("torch", "deltagrad")
    assert repr(dg.nn.Parameter) == repr(torch.nn.Parameter).replace("torch", "deltagrad")


def _dim_orders(m):
    tensors = [m.empty((2, 3, 5, 7)), m.empty((2, 3, 5, 7)).transpose(1, 2),
               m.empty((2, 3, 5, 7), memory_format=m.channels_last), m.empty((1, 2, 3, 4)),
               m.empty(3, 3)[:, :1], m.empty(4, 4).t(), m.empty(2, 2).expand(3, 2, 2),
               m.empty(5), m.empty(2, 1, 3, 3), m.empty(0, 3), m.empty(2, 4)[:, ::2]]
    checks = [False, True, [m.contiguous_format], [m.contiguous_format, m.channels_last],
              [m.channels_last], [], "x", [1]]
    out = []
    for x in tensors:
        for check in checks:
            try:
                out.append(x.dim_order(ambiguity_check=check))
            except (RuntimeError, TypeError) as e:
                out.append((type(e).__name__, str(e)))
    return out


def test_dim_order_ambiguity_check():
    assert _dim_orders(dg) == _dim_orders(torch)


def _storages(m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = [m.TypedStorage(5, dtype=m.float32), m.TypedStorage([1, 2, 3], dtype=m.int64),
                m.TypedStorage(dtype=m.float64), m.TypedStorage(3),
                m.TypedStorage(wrap_storage=m.ones(2).untyped_storage(), dtype=m.float32)]
        out = [(len(s), str(s.dtype).split(".")[-1], m.is_storage(s)) for s in made]
        out.append(repr(m.TypedStorage(dtype=m.float64)).replace("torch", "X"))
        out.append(repr(m.UntypedStorage(0)).replace("torch", "X"))
        out.append(made[1].tolist())
        try:
            m.TypedStorage(2.5)
        except TypeError as e:
            out.append(str(e).splitlines()[0])
    return out


def test_typed_storage_constructors():
    assert [str(v).replace("deltagrad", "X") for v in _storages(dg)] == \
        [str(v).replace("torch", "X") for v in _storages(torch)]


def test_from_dlpack_of_a_bare_capsule_shares_memory():
    t = dg.arange(4)
    capsule = dg.utils.dlpack.to_dlpack(t)
    t3 = dg.from_dlpack(capsule)
    t3[0] = -9  # (writable, and shared, as PyTorch's)
    assert t.tolist() == [-9, 1, 2, 3]
    with pytest.raises(RuntimeError, match="consumed only once"):  # (PyTorch's words)
        dg.from_dlpack(capsule)
    theirs = dg.from_dlpack(torch.utils.dlpack.to_dlpack(torch.arange(3)))
    assert theirs.tolist() == [0, 1, 2]


@pytest.mark.parametrize("returns", ["itself", "other", "double", "shape", "long", "grad", "int",
                                     "none"])
def test_post_accumulate_grad_hook_return_values(returns):
    def run(m):
        hooks = {"itself": lambda p: p.add_(p.grad, alpha=-0.01),
                 "other": lambda p: m.ones(3) * 7, "double": lambda p: m.ones(3).double(),
                 "shape": lambda p: m.ones(1, 3), "long": lambda p: m.ones(3).long(),
                 "grad": lambda p: p.grad, "int": lambda p: 5, "none": lambda p: None}
        v = m.tensor([0., 0., 0.], requires_grad=True)
        v.register_post_accumulate_grad_hook(hooks[returns])
        try:
            v.backward(m.tensor([1., 2., 3.]))
        except (RuntimeError, TypeError) as e:
            return type(e).__name__, str(e)
        return v.detach().tolist()
    assert run(dg) == run(torch)


# ----------------------------------------------------------------------------------------------
# Complex matrices in eig / eigvals / cholesky_ex / cholesky_solve / cholesky_inverse / pinv /
# householder_product (values; gradients raise NotImplementedError)

def _complex(shape, dtype=np.complex128, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _close(got, want, tol):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_eig_eigvals(dtype):
    a = _complex((3, 4, 4), dtype)
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    want = torch.linalg.eig(torch.from_numpy(a))
    got = dg.linalg.eig(dg.from_numpy(a))
    _close(got.eigenvalues.numpy(), want.eigenvalues.numpy(), tol)
    _close(got.eigenvectors.numpy(), want.eigenvectors.numpy(), tol)  # (LAPACK's phases)
    _close(dg.linalg.eigvals(dg.from_numpy(a)).numpy(),
           torch.linalg.eigvals(torch.from_numpy(a)).numpy(), tol)


@pytest.mark.parametrize("upper", [False, True])
def test_complex_cholesky_family(upper):
    a = _complex((2, 3, 3))
    spd = a @ np.conj(a.swapaxes(-1, -2)) + np.eye(3)
    b = _complex((2, 3, 2), seed=1)
    want_l, want_info = torch.linalg.cholesky_ex(torch.from_numpy(spd), upper=upper)
    got_l, got_info = dg.linalg.cholesky_ex(dg.from_numpy(spd), upper=upper)
    _close(got_l.numpy(), want_l.numpy(), 1e-10)
    assert got_info.tolist() == want_info.tolist()
    _close(dg.cholesky_solve(dg.from_numpy(b), got_l, upper=upper).numpy(),
           torch.cholesky_solve(torch.from_numpy(b), want_l, upper=upper).numpy(), 1e-10)
    _close(dg.cholesky_inverse(got_l[0], upper=upper).numpy(),
           torch.cholesky_inverse(want_l[0], upper=upper).numpy(), 1e-10)


def test_complex_cholesky_ex_reports_failure():
    bad = np.array([[1, 2j], [-2j, 1]], dtype=np.complex128)  # Hermitian, not positive-definite
    want = torch.linalg.cholesky_ex(torch.from_numpy(bad))
    got = dg.linalg.cholesky_ex(dg.from_numpy(bad))
    assert got.info.item() == want.info.item() == 2
    _close(got.L.numpy(), want.L.numpy(), 1e-12)


@pytest.mark.parametrize("hermitian", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"atol": 0.5}, {"rtol": 0.3}])
def test_complex_pinv(hermitian, kwargs):
    a = _complex((2, 3, 3) if hermitian else (2, 3, 5))
    if hermitian:
        a = a + np.conj(a.swapaxes(-1, -2))
    want = torch.linalg.pinv(torch.from_numpy(a), hermitian=hermitian, **kwargs).numpy()
    got = dg.linalg.pinv(dg.from_numpy(a), hermitian=hermitian, **kwargs).numpy()
    _close(got, want, 1e-10)


def test_complex_householder_product():
    h, tau = _complex((3, 4, 2)), _complex((3, 2), seed=2)
    want = torch.linalg.householder_product(torch.from_numpy(h), torch.from_numpy(tau)).numpy()
    got = dg.linalg.householder_product(dg.from_numpy(h), dg.from_numpy(tau)).numpy()
    _close(got, want, 1e-12)


@pytest.mark.parametrize("op", ["eig", "pinv", "householder", "cholesky_solve", "inverse"])
def test_complex_gradients_raise(op):
    a = dg.from_numpy(_complex((3, 3))).requires_grad_()
    calls = {"eig": lambda: dg.linalg.eig(a), "pinv": lambda: dg.linalg.pinv(a),
             "householder": lambda: dg.linalg.householder_product(a, dg.ones(2, dtype=a.dtype)),
             "cholesky_solve": lambda: dg.cholesky_solve(a, a.detach()),
             "inverse": lambda: dg.cholesky_inverse(a)}
    with pytest.raises(NotImplementedError, match="complex"):
        calls[op]()
    with dg.no_grad():
        calls[op]()  # (values under no_grad)


# ----------------------------------------------------------------------------------------------
# sort / argsort / msort with stable=False: ties in PyTorch's std::sort order (sort_ties.py)

def _tied(rng, kind: int, shape: tuple) -> np.ndarray:
    if kind == 0:
        return rng.integers(0, 3, shape)
    if kind == 1:
        return rng.integers(0, max(2, shape[-1] // 3), shape).astype(np.float32)
    if kind == 2:  # NaNs
        a = rng.integers(0, 4, shape).astype(np.float64)
        a[rng.random(shape) < 0.1] = np.nan
        return a
    if kind == 3:
        return rng.integers(0, 2, shape) > 0
    signs = np.where(rng.random(shape) < 0.5, 1, -1).astype(np.float32)
    return rng.integers(0, 2, shape).astype(np.float32) * signs  # (0.0 and -0.0 tie)


@pytest.mark.parametrize("kind", range(5))
def test_unstable_sort_ties_as_pytorch(kind):
    rng = np.random.default_rng(kind)
    for _ in range(40):
        n = int(rng.integers(1, 200))
        shape = (n,) if rng.random() < 0.5 else (int(rng.integers(1, 4)), n)
        a, descending = _tied(rng, kind, shape), bool(rng.random() < 0.5)
        for fn in (lambda m, x, d: m.sort(x, descending=d).indices,
                   lambda m, x, d: m.argsort(x, dim=0, descending=d),
                   lambda m, x, d: x.sort(dim=0, stable=False).indices):
            want = fn(torch, torch.from_numpy(a.copy()), descending).numpy()
            got = fn(dg, dg.from_numpy(a.copy()), descending).numpy()
            np.testing.assert_array_equal(got, want)


def test_sort_documentation_example_and_stable_forms():
    x = [0, 1] * 9
    assert dg.tensor(x).sort().indices.tolist() == torch.tensor(x).sort().indices.tolist()
    for m in (dg, torch):  # (stable=True keeps the order)
        assert m.tensor(x).sort(stable=True).indices.tolist() == list(range(0, 18, 2)) + list(
            range(1, 18, 2))
    values = dg.tensor(x, dtype=dg.float32, requires_grad=True).sort()
    assert values.values.grad_fn.name() == "SortBackward0"


@pytest.mark.parametrize("layout", ["none", "sparse_coo", "sparse_csr", "sparse_csc"])
def test_to_sparse_refuses_blocksize_outside_block_layouts(layout):
    def run(m):
        kwargs = {} if layout == "none" else {"layout": getattr(m, layout)}
        try:
            m.tensor([[1, 0], [0, 0], [2, 3]]).to_sparse(blocksize=(1, 1), **kwargs)
        except RuntimeError as e:
            return str(e)
    assert run(dg) == run(torch) is not None


def test_narrow_copy_of_sparse_coo():
    def run(m):
        out = []
        s = m.arange(16).reshape(2, 2, 2, 2).to_sparse(2)
        for args in ((0, 0, 1), (1, 1, 1), (2, 1, 1), (3, 0, 1), (0, 2, 0), (-1, 0, 1),
                     (0, 1, 2), (5, 0, 1)):
            try:
                r = m.narrow_copy(s, *args)
                out.append((r.indices().tolist(), r.values().tolist(), tuple(r.shape),
                            r.is_coalesced()))
            except RuntimeError as e:
                out.append(str(e))
        r = m.narrow_copy(m.sparse_coo_tensor([[1, 0, 1]], [1., 2., 3.], (3,)), 0, 0, 2)
        out.append((r._indices().tolist(), r._values().tolist(), r.is_coalesced()))
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's sparse invariant-check notice)
        assert run(dg) == run(torch)
