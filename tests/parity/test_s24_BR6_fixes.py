"""Session 24 BR6: known differences from PyTorch 2.13, each checked against PyTorch.

1. linalg: matrix_norm(ord=2 / 1 / inf) whose largest value runs over an empty dim is 0 off the
   graph (it required grad), its -2 / -1 errors name PyTorch's dim; solve_triangular of an
   integer A is the kernel's NotImplementedError and a B of another dtype is cast to A's (it
   promoted); triangular_solve refuses mixed dtypes; vecdot of two 1-d tensors is vdot whatever
   ``dim`` (it refused dim=-2), vdot's node VdotBackward0; complex cholesky of a non-definite
   matrix is LinAlgError (it was IndexError).
2. fft: ihfft2 / ihfftn check dims before the dtype (1-d: IndexError), complex refusal texts.
3. ``Tensor.argmax`` / ``argmin`` refuse ``out=`` (TypeError); the functions keep it.
4. ``torch.tensor(a_tensor)`` / ``new_tensor(a_tensor)`` warn (UserWarning at the caller's line);
   torch.lu / triangular_solve warn their deprecation once; 0-d / 1-d ``t()`` is TBackward0.
5. to_sparse's dense input through ``@`` / ``mm``: one pattern_matmul node (MmBackward0) gives it
   the whole dense gradient; no dense product of zeros in the forward; its node ToSparseBackward;
   a complex one in the graph is refused (PyTorch's RuntimeError).
6. kthvalue's index among tied values (and NaN) is PyTorch's quickselect's (a stable sort's
   before), the gradient following it.
7. bfloat16 ``x ** c``'s gradient: ``c - 1`` in bfloat16, ``c`` times in float32 (PyTorch's).
"""

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(call):
    try:
        return "ok", call()
    except Exception as error:  # noqa: BLE001 - the class and text are what is compared
        return type(error).__name__.replace("_LinAlgError", "LinAlgError"), str(error)


# ------------------------------------------------------------------------------- 1. linalg


@pytest.mark.parametrize("shape", [(1, 0), (0, 3), (0, 0), (2, 1, 0), (2, 0, 3)])
@pytest.mark.parametrize("ord", [2, -2, 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_of_empty_matrices(shape, ord, keepdim):
    found = []
    for lib in (dg, torch):
        x = lib.zeros(*shape, dtype=lib.float64, requires_grad=True)
        kind, value = _outcome(lambda lib=lib, x=x: lib.linalg.matrix_norm(x, ord=ord,
                                                                       keepdim=keepdim))
        if kind == "ok":
            found.append((tuple(value.shape), str(value.dtype).split(".")[-1],
                          value.requires_grad, value.detach().numpy().tolist()))
        else:
            found.append((kind, value))
    assert found[0] == found[1]


def test_matrix_norm_empty_complex_and_linalg_norm():
    for lib in (dg, torch):
        x = lib.zeros(1, 0, dtype=lib.complex64, requires_grad=True)
        y = lib.linalg.norm(x, ord=2)
        assert (y.dtype, y.requires_grad, y.grad_fn) == (lib.float32, False, None)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "uint8", "float16", "bfloat16"])
def test_solve_triangular_refuses_the_dtype_as_the_kernel(dtype):
    found = [_outcome(lambda lib=lib: lib.linalg.solve_triangular(
        lib.tensor([[1, 0], [2, 3]]).to(getattr(lib, dtype)),
        lib.tensor([[1], [2]]).to(getattr(lib, dtype)), upper=False)) for lib in (dg, torch)]
    assert found[0] == found[1] and found[0][0] == "NotImplementedError"


def test_solve_triangular_shapes_are_checked_before_the_dtype():
    for args in (([1, 2], [[1], [2]]), ([[1, 2, 3], [1, 2, 3]], [[1], [2]]),
                 ([[1, 2], [1, 2]], [1, 2]), ([[1, 2], [1, 2]], [[1], [2], [3]])):
        found = [_outcome(lambda lib=lib, args=args: lib.linalg.solve_triangular(
            lib.tensor(args[0]), lib.tensor(args[1]), upper=True)) for lib in (dg, torch)]
        assert found[0] == found[1] and found[0][0] == "RuntimeError"
    found = [_outcome(lambda lib=lib: lib.linalg.solve_triangular(
        lib.eye(2), lib.ones(2, 1), upper=True, left=False)) for lib in (dg, torch)]
    assert found[0] == found[1]  # (the equation XA = B in the text)


@pytest.mark.parametrize("a_dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("b_dtype", ["float32", "float64", "complex128", "int64"])
def test_solve_triangular_casts_b_to_a_dtype(a_dtype, b_dtype):
    a = np.array([[1.5, 0.0], [2.0, 3.0]])
    b = np.array([[1.0, -2.0], [2.0, 0.5]])
    found = []
    for lib in (dg, torch):
        A = lib.tensor(a).to(getattr(lib, a_dtype)).requires_grad_()
        B = lib.tensor(b).to(getattr(lib, b_dtype))
        if b_dtype != "int64" and b_dtype[0] == a_dtype[0]:
            B.requires_grad_()  # (complex and real mixed: PyTorch's backward raises)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (a complex B cast to a real A: both warn)
            X = lib.linalg.solve_triangular(A, B, upper=False)
            (X.abs() if X.is_complex() else X).sum().backward()
        found.append((str(X.dtype).split(".")[-1], X.detach().numpy(), A.grad.numpy(),
                      None if B.grad is None else (str(B.grad.dtype).split(".")[-1],
                                                   B.grad.numpy())))
        mixed = _outcome(lambda lib=lib, A=A, B=B: lib.triangular_solve(B, A))
        if a_dtype != b_dtype:
            assert mixed[0] == "RuntimeError" and "same dtype" in mixed[1]
    ours, theirs = found
    assert ours[0] == theirs[0] == a_dtype
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-6)
    assert (ours[3] is None) == (theirs[3] is None)
    if ours[3] is not None:
        assert ours[3][0] == theirs[3][0]
        np.testing.assert_allclose(ours[3][1], theirs[3][1], rtol=1e-5, atol=1e-6)


def test_triangular_solve_mixed_dtype_text():
    found = [_outcome(lambda lib=lib: lib.triangular_solve(
        lib.ones(2, 1, dtype=lib.float64), lib.eye(2))) for lib in (dg, torch)]
    assert found[0] == found[1]


@pytest.mark.parametrize("dim", [-3, -2, -1, 0, 1, 7])
def test_vecdot_of_two_vectors_is_vdot(dim):
    found = []
    for lib in (dg, torch):
        a = lib.tensor([1 + 1j, 2, -0.5j], requires_grad=True)
        b = lib.tensor([3 + 0j, 4j, 1 + 2j])
        y = lib.linalg.vecdot(a, b, dim=dim)
        y.abs().backward()
        found.append((y.item(), y.grad_fn.name(), a.grad.numpy()))
    assert found[0][:2] == found[1][:2] == (found[1][0], "VdotBackward0")
    np.testing.assert_allclose(found[0][2], found[1][2], rtol=1e-6)
    for lib in (dg, torch):  # (no broadcasting of [1] against [2])
        with pytest.raises(RuntimeError):
            lib.linalg.vecdot(lib.ones(2), lib.ones(1), dim=dim)


def test_vdot_node_name():
    for lib in (dg, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        assert lib.vdot(a, a).grad_fn.name() == "VdotBackward0"


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_cholesky_of_a_non_definite_matrix(dtype):
    rng = np.random.default_rng(3)
    mismatches = 0
    for n, batch in ((2, ()), (3, ()), (2, (2,)), (4, (3,))):
        z = rng.standard_normal(batch + (n, n)) + 1j * rng.standard_normal(batch + (n, n))
        for a in (z, z + np.conj(np.swapaxes(z, -1, -2))):  # (non-Hermitian, indefinite)
            found = [_outcome(lambda lib=lib, a=a: lib.linalg.cholesky(
                lib.tensor(a.astype(dtype)))) for lib in (dg, torch)]
            assert found[0][0] == found[1][0] == "LinAlgError"
            mismatches += found[0][1] != found[1][1]  # (the leading minor's order, the batch)
    assert mismatches == 0


# ------------------------------------------------------------------------------ 2. fft


@pytest.mark.parametrize("name, args", [
    ("ihfft2", ([1 + 1j, 2, 3],)), ("ihfftn", ([1 + 1j, 2, 3],)), ("ihfftn", ([[1 + 1j, 2]],)),
    ("ihfft2", ([[1 + 1j, 2]],)), ("rfft2", ([1 + 1j, 2, 3],)), ("rfftn", ([[1 + 1j, 2]],)),
    ("ihfft2", ([1.0, 2.0],)),
])
def test_fft_refusals(name, args):
    found = [_outcome(lambda lib=lib: getattr(lib.fft, name)(lib.tensor(args[0])))
             for lib in (dg, torch)]
    assert found[0] == found[1] and found[0][0] != "ok"


# -------------------------------------------------------------------- 3. argmax(out=)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_methods_refuse_out(name):
    found = []
    for lib in (dg, torch):
        x = lib.tensor([[1.0, 3.0], [4.0, 2.0]])
        out = lib.empty((), dtype=lib.int64)
        found.append((_outcome(lambda x=x, out=out: getattr(x, name)(out=out)),
                      _outcome(lambda x=x: getattr(x, name)(out=None)),
                      getattr(lib, name)(x, out=out).item(), out.item(),
                      getattr(x, name)(1).tolist(),
                      getattr(x, name)(dim=0, keepdim=True).tolist()))
    assert found[0] == found[1]
    assert found[0][0] == ("TypeError", f"{name}() got an unexpected keyword argument 'out'")


# ------------------------------------------------------------------- 4. warnings, names


def _warnings(call):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return [(w.category.__name__, str(w.message), w.filename) for w in seen]


@pytest.mark.parametrize("call", ["tensor", "tensor_grad", "new_tensor", "as_tensor", "list",
                                  "zero_d", "parameter"])
def test_copy_construct_warning(call):
    calls = {
        "tensor": lambda lib, x: lib.tensor(x),
        "tensor_grad": lambda lib, x: lib.tensor(x, dtype=lib.float64, requires_grad=True),
        "new_tensor": lambda lib, x: x.new_tensor(x),
        "as_tensor": lambda lib, x: lib.as_tensor(x),
        "list": lambda lib, x: lib.tensor([x[0], x[1]]),
        "zero_d": lambda lib, x: lib.tensor(x[0]),
        "parameter": lambda lib, x: lib.tensor(lib.nn.Parameter(x)),
    }
    found = [_warnings(lambda lib=lib: calls[call](lib, lib.tensor([1.0, 2.0])))
             for lib in (dg, torch)]
    assert [w[:2] for w in found[0]] == [w[:2] for w in found[1]]
    assert all(w[2] == __file__ for w in found[0])  # (the caller's line, as PyTorch's)


def test_lu_and_triangular_solve_deprecations_warn_once():
    from deltagrad._engine import errors

    errors._WARNED_ONCE.difference_update({"lu", "triangular_solve"})
    a = dg.eye(2)
    first = _warnings(lambda: (dg.lu(a), a.lu(), dg.triangular_solve(a, a)))
    again = _warnings(lambda: (dg.lu(a), dg.triangular_solve(a, a), a.triangular_solve(a)))
    assert [w[0] for w in first] == ["UserWarning"] * 2 and again == []
    assert first[0][1].startswith("torch.lu is deprecated in favor of torch.linalg.lu_factor")
    assert first[1][1].startswith("torch.triangular_solve is deprecated in favor of torch."
                                  "linalg.solve_triangular")
    assert all(w[2] == __file__ for w in first)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_t_of_few_dims_is_t_backward(shape):
    found = []
    for lib in (dg, torch):
        x = lib.ones(shape, requires_grad=True)
        y = x.t()
        # (before backward: deltagrad's node names of t / transpose / permute and _base read
        # what the sweep frees)
        name, base = y.grad_fn.name(), y._base is x
        (y * 3).sum().backward()
        found.append((name, base, tuple(y.shape), x.grad.tolist()))
    assert found[0] == found[1] and found[0][0] == "TBackward0"


# ----------------------------------------------------------------------- 5. to_sparse


_X = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
_W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])


def _products(lib):
    return {
        "s@W": lambda s, w: s @ w,
        "mm": lambda s, w: lib.mm(s, w),
        "s@v": lambda s, w: s @ w[:, 0],
        "D@s": lambda s, w: w.t() @ lib.ones(3, 2, dtype=lib.float64) @ s,
        "v@s": lambda s, w: w[0] @ s,
    }


@pytest.mark.parametrize("case", sorted(_products(dg)))
@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_to_sparse_products_one_node_whole_gradient(case, layout):
    found = []
    for lib in (dg, torch):
        x = lib.tensor(_X, requires_grad=True)
        w = lib.tensor(_W, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's CSR beta warning)
            s = x.to_sparse() if layout == "coo" else x.to_sparse_csr()
        y = _products(lib)[case](s, w)
        name = y.grad_fn.name()  # (before backward: a squeeze node's name reads its attributes)
        if lib is dg:  # (one node: no dense product of zeros beside the sparse one)
            ops, stack = set(), [y]
            while stack:
                t = stack.pop()
                if t._op is not None and t is not x:
                    ops.add(t._op.name)
                    stack.extend(t._inputs)
            assert "pattern_matmul" in ops and "sub" not in ops, ops
        (y * lib.arange(1.0, y.numel() + 1, dtype=lib.float64).reshape(y.shape)).sum().backward()
        found.append((name, y.detach().numpy(), x.grad.numpy(), w.grad.numpy()))
    assert found[0][0] == found[1][0]
    for ours, theirs in zip(found[0][1:], found[1][1:]):
        np.testing.assert_array_equal(ours, theirs)


def test_to_sparse_node_names():
    for lib in (dg, torch):
        x = lib.tensor(_X, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's CSR beta warning)
            csr = x.to_sparse_csr()
        names = [x.to_sparse().grad_fn.name(), x.to_sparse(2).grad_fn.name(),
                 x.to_sparse(1).grad_fn.name(), x.to_sparse().coalesce().grad_fn.name(),
                 csr.grad_fn.name()]
        assert names == ["ToSparseBackward1", "ToSparseBackward0", "ToSparseBackward0",
                         "ToSparseBackward1", "ToSparseCsrBackward0"]


def test_to_sparse_second_order_and_nonfinite_source():
    found = []
    for lib in (dg, torch):
        x = lib.tensor(_X, requires_grad=True)
        w = lib.tensor(_W, requires_grad=True)
        g = lib.autograd.grad(((x * x).to_sparse() @ w).pow(2).sum(), (x, w), create_graph=True)
        (g[0].sum() + g[1].pow(2).sum()).backward()
        found.append((x.grad.numpy(), w.grad.numpy()))
        y = lib.tensor([[0.0, math.inf], [2.0, 0.0]], dtype=lib.float64, requires_grad=True)
        (y.to_sparse() @ lib.ones(2, 2, dtype=lib.float64)).sum().backward()
        found.append((y.grad.numpy(),))
    for ours, theirs in zip(found[:2], found[2:]):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_to_sparse_of_complex_in_the_graph_is_refused():
    for lib in (dg, torch):
        x = lib.tensor([[0.0, 1 + 1j]], requires_grad=True)
        for call in (x.to_sparse, lambda x=x: x.to_sparse(1)):
            with pytest.raises(RuntimeError, match="does not support automatic differentiation "
                               "for outputs with complex dtype"):
                call()
        with lib.no_grad():
            assert not x.to_sparse().requires_grad
        assert x.detach().to_sparse().requires_grad_().requires_grad


def test_to_sparse_source_written_in_place_keeps_the_sparse_values():
    found = []
    for lib in (dg, torch):
        x = lib.tensor(_X, requires_grad=True)
        s = x.to_sparse()
        with lib.no_grad():
            x.mul_(2)  # (the sparse tensor holds a copy: its values are unchanged)
        found.append((s @ lib.tensor(_W)).detach().numpy())
    np.testing.assert_array_equal(found[0], found[1])


# --------------------------------------------------------------------- 6. kthvalue ties


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bfloat16"])
def test_kthvalue_index_among_ties_is_pytorchs(dtype):
    rng = np.random.default_rng(7)
    for trial in range(40):
        shape = tuple(int(s) for s in rng.integers(1, 7, size=int(rng.integers(1, 4))))
        dim = int(rng.integers(-len(shape), len(shape)))
        v = rng.integers(-2, 3, size=shape).astype(np.float64)
        if dtype != "int64" and trial % 2:
            v[rng.random(shape) < 0.2] = np.nan
        k = int(rng.integers(1, shape[dim] + 1))
        found = []
        for lib in (dg, torch):
            x = lib.tensor(v).to(getattr(lib, dtype))
            if dtype != "int64":
                x.requires_grad_()
            values, indices = lib.kthvalue(x, k, dim=dim, keepdim=trial % 3 == 0)
            if x.requires_grad:
                values.sum().backward()
            found.append((values.detach().double().numpy(), indices.numpy(),
                          None if x.grad is None else x.grad.double().numpy()))
        np.testing.assert_array_equal(found[0][0], found[1][0])
        np.testing.assert_array_equal(found[0][1], found[1][1])
        if found[1][2] is not None:
            np.testing.assert_array_equal(found[0][2], found[1][2])


# ---------------------------------------------------------------- 7. bfloat16 x ** c's grad


@pytest.mark.parametrize("exponent", [2.7, 1.3, -0.7, 0.1, 4.1])
def test_bf16_pow_gradient_takes_the_exponent_in_bf16(exponent):
    found = []
    for lib in (dg, torch):
        rng = np.random.default_rng(4)
        x = lib.tensor(rng.uniform(0.2, 3, (16, 24)).astype(np.float32), dtype=lib.bfloat16,
                       requires_grad=True)
        g = lib.tensor(rng.standard_normal((16, 24)).astype(np.float32), dtype=lib.bfloat16)
        y = x ** exponent
        y.backward(g)
        found.append((y.detach().float().numpy(), x.grad.float().numpy(), str(x.grad.dtype)))
    np.testing.assert_array_equal(found[0][0], found[1][0])
    np.testing.assert_array_equal(found[0][1], found[1][1])
    assert found[0][2].split(".")[-1] == found[1][2].split(".")[-1] == "bfloat16"
