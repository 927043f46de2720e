"""Higher-order AD left by session 15 (s16 RV): grid_sample's double backward (was
NotImplementedError; the sweep: test_s15_HG_gradgrad.py), linalg.eig / eigvals in forward mode
(dual numbers; the sweep: test_s15_HG_forward_ad.py) and, with it, their first-order gradients
(both were NotImplementedError), each against PyTorch."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s15_HG_harness as G  # noqa: E402


@pytest.mark.parametrize("mode,padding,align", [
    *itertools.product(["bilinear", "bicubic"], ["zeros", "border", "reflection"], [False, True]),
    ("nearest", "zeros", False), ("nearest", "reflection", True)])
def test_grid_sample_double_backward(mode, padding, align):
    rng = np.random.default_rng(11)
    x, grid = rng.standard_normal((2, 3, 4, 5)), rng.uniform(-1.2, 1.2, (2, 3, 2, 2))

    def fn(lib, x, grid):
        return lib.nn.functional.grid_sample(x, grid, mode=mode, padding_mode=padding,
                                             align_corners=align)
    for t, d in zip(*G.gradgrad_both(fn, x, grid)):
        np.testing.assert_allclose(d, t, rtol=1e-7, atol=1e-9)


def test_grid_sample_3d_double_backward():
    rng = np.random.default_rng(12)
    x, grid = rng.standard_normal((1, 2, 3, 4, 3)), rng.uniform(-1.1, 1.1, (1, 2, 2, 1, 3))

    def fn(lib, x, grid):
        return lib.nn.functional.grid_sample(x, grid, padding_mode="border", align_corners=False)
    for t, d in zip(*G.gradgrad_both(fn, x, grid)):
        np.testing.assert_allclose(d, t, rtol=1e-7, atol=1e-9)


_EIG = {
    "values": lambda lib, a: lib.linalg.eig(a)[0],
    "vectors": lambda lib, a: lib.linalg.eig(a)[1],
    "eigvals": lambda lib, a: lib.linalg.eigvals(a),
    "vectors_abs": lambda lib, a: (lib.linalg.eig(a)[1].abs() ** 2).sum(-2),
    "real_of_values": lambda lib, a: lib.linalg.eig(a)[0].real * 2,
}


def _dual_tangent(lib, fn, a, t):
    fw = lib.autograd.forward_ad
    with fw.dual_level():
        out = fn(lib, fw.make_dual(lib.tensor(a), lib.tensor(t)))
        primal, tangent = fw.unpack_dual(out)
        return primal.detach().numpy(), tangent.numpy()


@pytest.mark.parametrize("name", sorted(_EIG))
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (1, 1)])
def test_eig_forward_mode(name, shape):
    rng = np.random.default_rng(13)
    a, t = rng.standard_normal(shape), rng.standard_normal(shape)
    (t_out, t_tan), (d_out, d_tan) = (_dual_tangent(lib, _EIG[name], a, t)
                                      for lib in (torch, dg))
    assert d_tan.dtype == t_tan.dtype
    np.testing.assert_allclose(d_out, t_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d_tan, t_tan, rtol=1e-9, atol=1e-10)


def test_eig_func_jvp_refuses_naming_the_double_backward():
    # (deltagrad's func.jvp is the double-VJP trick, which needs eig's double backward)
    a = dg.tensor(np.eye(2) + 0.5)
    with pytest.raises(NotImplementedError, match="linalg.eig: double backward"):
        dg.func.jvp(lambda x: dg.linalg.eigvals(x), (a,), (a,))


def _eig_loss(lib, a):
    values, vectors = lib.linalg.eig(a)
    # (invariant to each eigenvector's phase, as a loss through eig must be)
    return ((vectors.abs() ** 2) * lib.arange(1.0, a.shape[-1] + 1, dtype=a.dtype)).sum() \
        + (values * values).real.sum() + lib.linalg.eigvals(a).imag.abs().sum()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_eig_gradient(dtype):
    a = np.random.default_rng(14).standard_normal((2, 4, 4))
    grads = []
    for lib in (torch, dg):
        x = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True)
        _eig_loss(lib, x).backward()
        grads.append(x.grad)
    assert str(grads[1].dtype).split(".")[-1] == str(grads[0].dtype).split(".")[-1]
    tolerance = 1e-9 if dtype == "float64" else 1e-3
    np.testing.assert_allclose(grads[1].numpy(), grads[0].numpy(), rtol=tolerance,
                               atol=tolerance)


def test_eig_gradient_of_a_phase_dependent_loss_raises_as_pytorch():
    a = np.random.default_rng(15).standard_normal((3, 3))
    errors = []
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        with pytest.raises(RuntimeError, match="ill-defined") as caught:
            lib.linalg.eig(x)[1].imag.sum().backward()
        errors.append(str(caught.value).split("\n")[0])
    assert errors[1] == errors[0]


def test_eig_double_backward_raises_naming_it():
    x = dg.tensor(np.random.default_rng(16).standard_normal((3, 3)), requires_grad=True)
    (g,) = dg.autograd.grad(_eig_loss(dg, x), (x,), create_graph=True)
    with pytest.raises(NotImplementedError, match="linalg.eig: double backward"):
        g.sum().backward()


def test_eig_of_non_finite_input_raises_as_pytorch():
    a = np.array([[1.0, np.inf], [0.0, 1.0]])
    for lib in (torch, dg):
        with pytest.raises(RuntimeError, match="should not contain infs or NaNs"):
            lib.linalg.eig(lib.tensor(a, requires_grad=True))


def test_eig_nodes_are_named_as_pytorch():
    names = []
    for lib in (torch, dg):
        a = lib.tensor([[2.0, 1.0], [0.5, 3.0]], requires_grad=True)
        values, vectors = lib.linalg.eig(a)
        names.append([values.grad_fn.name(), vectors.grad_fn.name(),
                      lib.linalg.eigvals(a).grad_fn.name()])
    assert names[1] == names[0]
