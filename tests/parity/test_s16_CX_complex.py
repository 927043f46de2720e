"""Complex gradients through linear algebra and through users' autograd.Functions, against
PyTorch (CX, s16).

PyTorch's convention: the gradient of a real loss L with respect to z = x + iy is
dL/dx + i dL/dy. xitorch's complex solve and rootfinder tests raised in deltagrad (the engine
refused complex gradients through linalg_solve and through any custom Function).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from complex_cases import COMPLEX, TOL  # noqa: E402
from complex_cases import complex_array as _complex  # noqa: E402


def _square(rng, *shape, dtype=np.complex128):
    """Well conditioned complex matrices (near 2 I)."""
    return (_complex(rng, *shape, dtype=dtype) * 0.4 + 2 * np.eye(shape[-1])).astype(dtype)


def _both(fn, arrays, weights):
    """fn's outputs and its inputs' gradients of Re(sum(conj(w) * out)) + |out|² in PyTorch and
    in deltagrad (a loss that reads both parts of every output)."""
    results = []
    for lib in (torch, dg):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        outs = fn(lib, *inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        loss = sum((lib.tensor(w).conj() * o).real.sum() + (o.abs() ** 2).sum()
                   for w, o in zip(weights, outs))
        loss.backward()
        results.append(([o.detach().resolve_conj().numpy() for o in outs],
                        [x.grad.resolve_conj().numpy() for x in inputs]))
    return results


def _agree(results, tol):
    (t_outs, t_grads), (d_outs, d_grads) = results
    for t, d in zip(t_outs + t_grads, d_outs + d_grads):
        assert d.dtype == t.dtype and d.shape == t.shape
        np.testing.assert_allclose(d, t, rtol=tol, atol=tol)


CASES = {
    "solve": (lambda lib, a, b: lib.linalg.solve(a, b), ((3, 3), (3, 2))),
    "solve_batched_vector": (lambda lib, a, b: lib.linalg.solve(a, b), ((2, 3, 3), (2, 3))),
    "solve_left_false": (lambda lib, a, b: lib.linalg.solve(a, b, left=False), ((3, 3), (2, 3))),
    "inv": (lambda lib, a: lib.linalg.inv(a), ((2, 3, 3),)),
    "inverse": (lambda lib, a: lib.inverse(a), ((4, 4),)),
    "det": (lambda lib, a: lib.linalg.det(a), ((2, 3, 3),)),
    "solve_triangular": (lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False),
                         ((3, 3), (3, 2))),
    "matmul_solve": (lambda lib, a, b: a @ lib.linalg.solve(a.mH @ a, b), ((3, 3), (3, 1))),
}


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES)
def test_linalg_values_and_gradients_match_pytorch(case, dtype):
    rng = np.random.default_rng(len(case))
    fn, shapes = CASES[case]
    arrays = [_square(rng, *s, dtype=dtype) if i == 0 else _complex(rng, *s, dtype=dtype)
              for i, s in enumerate(shapes)]
    with torch.no_grad():
        out = fn(torch, *[torch.tensor(a) for a in arrays])
    weights = [_complex(rng, *out.shape, dtype=dtype)]
    _agree(_both(fn, arrays, weights), TOL[dtype])


@pytest.mark.parametrize("case", ["solve", "inv", "det", "solve_triangular"])
def test_linalg_gradcheck_complex128(case):
    rng = np.random.default_rng(7)
    fn, shapes = CASES[case]
    arrays = [_square(rng, *s) if i == 0 else _complex(rng, *s) for i, s in enumerate(shapes)]
    inputs = tuple(dg.tensor(a, requires_grad=True) for a in arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no ComplexWarning: no part of a gradient cast away)
        assert dg.autograd.gradcheck(lambda *xs: fn(dg, *xs), inputs)


def test_linalg_gradgradcheck_complex128():
    # gradgradcheck's random grad_output of a complex output is complex (it was its real part:
    # xitorch's backward then solved a complex A against a float64 gradient and raised); a
    # real B cast to complex inside, as xitorch's tests do. (PyTorch's gradgradcheck passes
    # both too, in 5 s: not run here.)
    lib = dg
    rng = np.random.default_rng(12)
    a = lib.tensor(_square(rng, 3, 3), requires_grad=True)
    b = lib.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    lib.manual_seed(0)
    assert lib.autograd.gradgradcheck(lambda a, b: lib.linalg.solve(a, b.to(a.dtype)), (a, b))
    assert lib.autograd.gradgradcheck(lambda a: lib.linalg.inv(a) @ a.mH, (a,))


def _functions(lib, conj: bool):
    """A user's Function z = x * y with a complex backward; ``conj=False`` forgets the
    conjugates (a wrong rule gradcheck must catch)."""
    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return (g * y.conj(), g * x.conj()) if conj else (g * y, g * x)

    class Pair(lib.autograd.Function):  # two outputs (the packed-node path)
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x, x.conj()

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return 2 * g1 * x.conj() + g2.conj()

    return Mul, Pair


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
def test_custom_function_passes_complex_gradients_as_pytorch(dtype):
    rng = np.random.default_rng(3)
    arrays = [_complex(rng, 4, dtype=dtype), _complex(rng, 4, dtype=dtype)]
    weights = [_complex(rng, 4, dtype=dtype), _complex(rng, 4, dtype=dtype)]

    def fn(lib, x, y):
        mul, pair = _functions(lib, True)
        square, conj = pair.apply(x)
        return mul.apply(x, y).exp(), square + conj * y

    _agree(_both(fn, arrays, weights), TOL[dtype])


def test_custom_function_through_solve_as_xitorch():
    # xitorch's solve: a Function whose forward and backward call linalg.solve on complex
    # matrices (the adjoint solve with A^H in backward).
    rng = np.random.default_rng(5)
    arrays = [_square(rng, 3, 3), _complex(rng, 3, 2)]

    def fn(lib, a, b):
        class Solve(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                x = lib.linalg.solve(a, b)
                ctx.save_for_backward(a, x)
                return x

            @staticmethod
            def backward(ctx, g):
                a, x = ctx.saved_tensors
                grad_b = lib.linalg.solve(a.mH, g)
                return -grad_b @ x.mH, grad_b

        return Solve.apply(a, b)

    _agree(_both(fn, arrays, [_complex(rng, 3, 2)]), 1e-10)


def test_gradcheck_checks_both_parts_of_a_complex_input():
    rng = np.random.default_rng(11)
    good, _ = _functions(dg, True)
    bad, _ = _functions(dg, False)
    inputs = tuple(dg.tensor(_complex(rng, 3), requires_grad=True) for _ in range(2))
    assert dg.autograd.gradcheck(good.apply, inputs)
    # (the wrong rule's real parts are right: checking real perturbations only, it passed)
    assert not dg.autograd.gradcheck(bad.apply, inputs, raise_exception=False)
    assert not torch.autograd.gradcheck(
        _functions(torch, False)[0].apply,
        tuple(torch.tensor(x.detach().numpy(), requires_grad=True) for x in inputs),
        raise_exception=False)


def test_real_dtypes_unchanged_by_the_complex_path():
    rng = np.random.default_rng(2)
    fn, _ = CASES["solve"]
    arrays = [_square(rng, 3, 3).real.copy(), rng.standard_normal((3, 2))]
    _agree(_both(fn, arrays, [rng.standard_normal((3, 2))]), 1e-10)


def test_what_still_refuses_names_op_and_dtype():
    a = dg.tensor(_square(np.random.default_rng(1), 3, 3), requires_grad=True)
    # slogdet's logabsdet: not analytic, its rule not written for complex numbers yet
    with pytest.raises(NotImplementedError, match=r"linalg_logabsdet: .*complex.*complex128"):
        dg.linalg.slogdet(a)


# --------------------------------------------------------------------------------------------
# Complex values of the decompositions, through NumPy's complex LAPACK (gradients: cholesky's
# only; svd / qr / eigh refuse).


def _aligned(ours, theirs):
    """``ours`` with each column's phase turned to ``theirs``' (singular / eigen vectors and Q
    are defined up to one unit phase per column; LAPACK builds may pick another)."""
    inner = np.sum(np.conj(ours) * theirs, axis=-2, keepdims=True)
    return ours * np.exp(1j * np.angle(inner))


def _hermitian_pd(rng, n, dtype):
    h = _complex(rng, n, n)
    return (h @ h.conj().T + n * np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("full", [False, True])
def test_svd_values_match_pytorch(dtype, full):
    a = _complex(np.random.default_rng(4), 2, 4, 3, dtype=dtype)
    (tu, ts, tvh), (u, s, vh) = (torch.linalg.svd(torch.tensor(a), full_matrices=full),
                                 dg.linalg.svd(dg.tensor(a), full_matrices=full))
    tol = TOL[dtype] * 10
    assert (u.dtype, s.dtype, vh.dtype) == (dg.tensor(a).dtype, dg.tensor(a).real.dtype,
                                            dg.tensor(a).dtype)
    assert u.shape == tu.shape and vh.shape == tvh.shape
    np.testing.assert_allclose(s.numpy(), ts.numpy(), rtol=tol, atol=tol)
    k = 3  # (the columns with singular values; the completion is any orthonormal one)
    np.testing.assert_allclose(_aligned(u.numpy()[..., :k], tu.numpy()[..., :k]),
                               tu.numpy()[..., :k], atol=tol)
    v, tv = np.conj(np.swapaxes(vh.numpy(), -1, -2)), tvh.mH.resolve_conj().numpy()
    np.testing.assert_allclose(_aligned(v, tv), tv, atol=tol)
    rebuilt = u.numpy()[..., :k] * s.numpy()[..., None, :] @ vh.numpy()[..., :k, :]
    np.testing.assert_allclose(rebuilt, a, atol=tol * 10)
    # torch.svd's V is Vhᴴ (not Vhᵀ)
    np.testing.assert_allclose(dg.svd(dg.tensor(a)).V.numpy(), v[..., :, :k], atol=tol)


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_values_match_pytorch(dtype, mode):
    a = _complex(np.random.default_rng(6), 5, 3, dtype=dtype)
    (tq, tr), (q, r) = torch.linalg.qr(torch.tensor(a), mode), dg.linalg.qr(dg.tensor(a), mode)
    tol = TOL[dtype] * 10
    assert q.shape == tq.shape and r.shape == tr.shape and r.dtype == dg.tensor(a).dtype
    if mode != "r":
        np.testing.assert_allclose(q.numpy() @ r.numpy(), a, atol=tol)
        np.testing.assert_allclose(np.conj(q.numpy().T) @ q.numpy(), np.eye(q.shape[-1]),
                                   atol=tol)
    # (R is LAPACK's: geqrf in both, the same up to one phase a row where Q's column differs)
    rows = np.abs(r.numpy())
    np.testing.assert_allclose(rows, np.abs(tr.numpy()), atol=tol)
    np.testing.assert_allclose(np.triu(r.numpy()), r.numpy())


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_values_match_pytorch(dtype, uplo):
    h = _hermitian_pd(np.random.default_rng(8), 4, dtype)
    a = np.tril(h) if uplo == "L" else np.triu(h)  # (only that triangle may be read)
    (tw, tv), (w, v) = (torch.linalg.eigh(torch.tensor(a), uplo),
                        dg.linalg.eigh(dg.tensor(a), uplo))
    tol = TOL[dtype] * 100
    assert w.dtype == dg.tensor(a).real.dtype and v.dtype == dg.tensor(a).dtype
    np.testing.assert_allclose(w.numpy(), tw.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(_aligned(v.numpy(), tv.numpy()), tv.numpy(), atol=tol)
    np.testing.assert_allclose(dg.linalg.eigvalsh(dg.tensor(a), uplo).numpy(), tw.numpy(),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_values_match_pytorch(dtype, upper):
    h = _hermitian_pd(np.random.default_rng(9), 4, dtype)[None].repeat(2, axis=0)
    a = np.triu(h) if upper else np.tril(h)
    t = torch.linalg.cholesky(torch.tensor(a), upper=upper).resolve_conj().numpy()
    ours = dg.linalg.cholesky(dg.tensor(a), upper=upper)
    assert ours.dtype == dg.tensor(a).dtype
    np.testing.assert_allclose(ours.numpy(), t, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    with pytest.raises(dg.linalg.LinAlgError, match="linalg.cholesky"):
        dg.linalg.cholesky(dg.tensor(-np.eye(3, dtype=dtype)))  # (not positive-definite)


@pytest.mark.parametrize("dtype", COMPLEX, ids=lambda d: d.__name__)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradients_match_pytorch(dtype, upper):
    # (PyTorch's complex rule: its gradient keeps tril(Lᴴ Ḡ)'s complex diagonal)
    rng = np.random.default_rng(10)
    a = _hermitian_pd(rng, 3, dtype)[None].repeat(2, axis=0)
    a = np.triu(a) if upper else np.tril(a)

    def fn(lib, a):
        return lib.linalg.cholesky(a, upper=upper)

    _agree(_both(fn, [a], [_complex(rng, 2, 3, 3, dtype=dtype)]), TOL[dtype])


def test_cholesky_gradcheck_and_gradgradcheck_complex128():
    x = dg.tensor(_complex(np.random.default_rng(14), 3, 3), requires_grad=True)

    def fn(x):  # (Hermitian positive-definite from any x, as PyTorch's own checks)
        return dg.linalg.cholesky(x @ x.mH + 3 * dg.eye(3, dtype=x.dtype))

    assert dg.autograd.gradcheck(fn, (x,))
    assert dg.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize("fn", [lambda a: dg.linalg.svd(a)],
                         ids=["svd"])  # (eigh's, qr's: tests/parity/test_s16_CE_complex_*.py)
def test_complex_decomposition_gradients_refuse_naming_op_and_dtype(fn):
    a = dg.tensor(_hermitian_pd(np.random.default_rng(1), 3, np.complex64), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"linalg\.\w+: gradients .*complex64"):
        fn(a)
    with dg.no_grad():
        fn(a)  # (values alone)


def test_complex_abs_second_derivatives_match_pytorch():
    # abs's rule took sgn(z) as a constant: first derivatives right, second ones not
    # (xitorch's gradgradcheck through eigenvectors' abs); at z = 0 both are 0, as PyTorch's
    z0 = np.r_[_complex(np.random.default_rng(13), 3), 0]
    results = []
    for lib in (torch, dg):
        z = lib.tensor(z0, requires_grad=True)
        (g,) = lib.autograd.grad(z.abs().sum(), z, create_graph=True)
        loss = (g * g.conj()).real.sum() + g.imag.sum() + (g * z).real.sum()
        results.append(lib.autograd.grad(loss, z)[0].numpy())
    np.testing.assert_allclose(results[1], results[0], atol=1e-12)
    z = dg.tensor(z0[:3], requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda z: z.abs() ** 3, (z,))
