"""Fixes found by running op_db under torch.func transforms (s29 VM1), each checked directly
against PyTorch: jvp through rules that branch on the cotangent (logcumsumexp's tangent was 0),
jvp's results' requires_grad, jvp's error for an op without a derivative, as_strided inside vmap
(each example's own elements, PyTorch's out-of-range error) and vmap of sparse outputs."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

LIBS = (torch, dg)


def _np(t):
    return t.detach().numpy()


def _jvp_both(fn, primals, seed=0):
    rng = np.random.default_rng(seed)
    tangents = [rng.standard_normal(np.shape(p)) for p in primals]
    out = []
    for lib in LIBS:
        res = lib.func.jvp(lambda *a, lib=lib: fn(lib, *a),
                           tuple(lib.tensor(p, dtype=lib.float64) for p in primals),
                           tuple(lib.tensor(t, dtype=lib.float64) for t in tangents))
        out.append(res)
    return out


@pytest.mark.parametrize("case", ["logcumsumexp0", "logcumsumexp1", "xlogy", "xlog1py"])
def test_jvp_through_rules_that_branch_on_the_cotangent(case):
    # jvp differentiates J^T u in u at u = 0: logcumsumexp's log-space rule splits u by sign
    # and had a zero derivative there (tangent 0 everywhere); xlogy's rule special-cases u == 0.
    rng = np.random.default_rng(1)
    fn, primals = {
        "logcumsumexp0": (lambda lib, x: lib.logcumsumexp(x, 0), [rng.standard_normal((4, 3))]),
        "logcumsumexp1": (lambda lib, x: lib.logcumsumexp(x, 1), [rng.standard_normal((2, 5))]),
        "xlogy": (lambda lib, x, y: lib.xlogy(x, y), [rng.standard_normal(5),
                                                      rng.uniform(0.5, 2.0, 5)]),
        "xlog1py": (lambda lib, x, y: lib.special.xlog1py(x, y), [rng.standard_normal(5),
                                                                  rng.uniform(0.5, 2.0, 5)]),
    }[case]
    (t_out, t_tan), (d_out, d_tan) = _jvp_both(fn, primals)
    np.testing.assert_allclose(_np(d_out), _np(t_out), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_np(d_tan), _np(t_tan), rtol=1e-10, atol=1e-12)
    assert np.abs(_np(d_tan)).max() > 0.1


def test_linearize_of_logcumsumexp():
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    res = []
    for lib in LIBS:
        _, jvp_fn = lib.func.linearize(lambda a, lib=lib: lib.logcumsumexp(a, 1), lib.tensor(x))
        res.append(jvp_fn(lib.tensor(t)))
    np.testing.assert_allclose(_np(res[1]), _np(res[0]), rtol=1e-10, atol=1e-12)
    assert res[1].requires_grad is res[0].requires_grad is False


@pytest.mark.parametrize("grad_input", [False, True])
def test_jvp_results_require_grad_as_pytorch(grad_input):
    # The dummy cotangents of deltagrad's jvp are leaves of the products' graph: a graph
    # reaching them was kept (outputs and tangent requiring grad, .numpy() refused).
    flags = []
    for lib in LIBS:
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=grad_input)
        out, tan = lib.func.jvp(lambda a, lib=lib: lib.logcumsumexp(a, 0), (x,),
                                (lib.ones(3, dtype=lib.float64),))
        flags.append((out.requires_grad, tan.requires_grad))
    assert flags[1] == flags[0]


@pytest.mark.parametrize("name", ["floor_divide", "heaviside"])
def test_jvp_of_an_op_without_a_derivative_raises_pytorchs_error(name):
    errors = []
    for lib in LIBS:
        x = lib.tensor([1.5, -2.0], dtype=lib.float64)
        y = lib.tensor([0.5, 0.7], dtype=lib.float64)
        with pytest.raises(Exception) as info:
            lib.func.jvp(getattr(lib, name), (x, y), (y, x))
        errors.append(info.value)
    assert type(errors[1]) is type(errors[0]) is NotImplementedError
    assert str(errors[1]) == str(errors[0])


_STRIDED = {
    "in0": (lambda lib, x: lib.func.vmap(lambda t: t.as_strided((2,), (2,), 1))(x)),
    "in1": (lambda lib, x: lib.func.vmap(lambda t: t.as_strided((2,), (2,), 1), in_dims=1)(x)),
    "nested": (lambda lib, x: lib.func.vmap(lib.func.vmap(lambda t: t.as_strided((), (), 0)))(x)),
    "view": (lambda lib, x: lib.func.vmap(lambda t: t[1:].as_strided((2,), (1,), 2))(x)),
    "copy": (lambda lib, x: lib.func.vmap(lambda t: lib.as_strided_copy(t, (2, 2), (1, 2)))(x)),
    "captured": (lambda lib, x: lib.func.vmap(
        lambda t: t + x[0].as_strided((2,), (1,), 1).sum())(x)),
}


@pytest.mark.parametrize("case", sorted(_STRIDED))
def test_as_strided_under_vmap_reads_each_examples_elements(case):
    # deltagrad's loop gave every example a view at the first example's storage offset (the
    # offset is absolute in the storage): vmap(as_strided) returned example 0's elements B
    # times, silently.
    base = np.arange(12.0).reshape(3, 4)
    t_res, d_res = (_STRIDED[case](lib, lib.tensor(base)) for lib in LIBS)
    np.testing.assert_array_equal(_np(d_res), _np(t_res))


def test_as_strided_under_vmap_outside_the_example_raises_pytorchs_error():
    errors = []
    for lib in LIBS:
        with pytest.raises(RuntimeError) as info:
            lib.func.vmap(lambda t: t.as_strided((3,), (2,), 1))(lib.tensor(np.zeros((3, 4))))
        errors.append(str(info.value))
    assert errors[1] == errors[0]


def test_per_sample_gradients_through_as_strided():
    rng = np.random.default_rng(3)
    base, cts = rng.standard_normal((3, 6)), rng.standard_normal((3, 2, 2))
    res = []
    for lib in LIBS:
        def one(x, ct, lib=lib):
            return lib.func.vjp(lambda a: a.as_strided((2, 2), (1, 2), 1), x)[1](ct)
        res.append(lib.func.vmap(one)(lib.tensor(base), lib.tensor(cts))[0])
    np.testing.assert_allclose(_np(res[1]), _np(res[0]), rtol=1e-12)


def test_vmap_of_a_sparse_output_raises_not_implemented():
    # (was AttributeError from stacking CooStorage; PyTorch: NotImplementedError)
    for lib in LIBS:
        with pytest.raises(NotImplementedError):
            lib.func.vmap(lambda t: t.to_sparse())(lib.ones(3, 2, 2))


def test_scatter_reduce_prod_jvp_is_the_central_difference():
    # (the KNOWN entry's second opinion: PyTorch's jvp of scatter_reduce(prod) is all zeros)
    rng = np.random.default_rng(4)
    x, src = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    index = np.array([[0, 1, 2], [1, 1, 3], [3, 0, 0]])
    tx, tsrc = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))

    def f(lib, a, b):
        return lib.scatter_reduce(a, 0, lib.tensor(index), b, "prod")
    eps = 1e-6
    plus = f(torch, torch.tensor(x + eps * tx), torch.tensor(src + eps * tsrc))
    minus = f(torch, torch.tensor(x - eps * tx), torch.tensor(src - eps * tsrc))
    central = ((plus - minus) / (2 * eps)).numpy()
    _, tan = dg.func.jvp(lambda a, b: f(dg, a, b), (dg.tensor(x), dg.tensor(src)),
                         (dg.tensor(tx), dg.tensor(tsrc)))
    np.testing.assert_allclose(tan.numpy(), central, rtol=1e-6, atol=1e-8)
    _, t_tan = torch.func.jvp(lambda a, b: f(torch, a, b), (torch.tensor(x), torch.tensor(src)),
                              (torch.tensor(tx), torch.tensor(tsrc)))
    assert not np.allclose(t_tan.numpy(), central)  # (PyTorch's own still differs)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobian_of_a_complex_output_raises_pytorchs_error(transform):
    # (deltagrad computed one; PyTorch refuses complex outputs: linalg.eig's eigenvalues)
    errors = []
    for lib in LIBS:
        x = lib.ones(2, dtype=lib.float64)
        with pytest.raises(RuntimeError) as info:
            getattr(lib.func, transform)(lambda a, lib=lib: (a * 2, a.to(lib.complex128)))(x)
        errors.append(str(info.value))
    assert errors[1] == errors[0]
