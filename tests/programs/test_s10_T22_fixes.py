"""The fixes T22's libraries needed (torchjd, laplace's asdl, sbi), each against PyTorch."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _jacobian_rows(m, vmap):
    """torchjd's pattern: the rows of a Jacobian as vmap over autograd.grad, no retain_graph."""
    w = m.tensor(np.arange(6.0).reshape(2, 3) / 5, requires_grad=True)
    x = m.tensor(np.array([0.5, -1.0, 2.0]))
    y = m.tanh(w @ x) * 3  # two outputs

    def vjp(row):
        return m.autograd.grad(y, w, grad_outputs=row, retain_graph=False)[0]

    jacobian = vmap(vjp)(m.eye(2, dtype=y.dtype))
    return jacobian, y


def test_vmap_over_grad_frees_the_graph_after_the_last_row():
    import deltagrad.func
    ours, y_ours = _jacobian_rows(dg, deltagrad.func.vmap)
    real, y_real = _jacobian_rows(torch, torch.vmap)
    np.testing.assert_allclose(ours.numpy(), real.numpy(), rtol=1e-6)
    assert str(ours.dtype)[-7:] == str(real.dtype)[-7:]
    assert ours.shape == real.shape == (2, 2, 3)
    for y in (y_ours, y_real):  # the graph is gone afterwards on both
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_vmap_does_not_leak_retained_graphs():
    import deltagrad.func
    deltagrad.func.vmap(lambda row: row * 2)(dg.ones(3, 2))
    w = dg.ones(2, requires_grad=True)
    y = (w * 3).sum()
    dg.autograd.grad(y, w)
    with pytest.raises(RuntimeError):  # (freed: no count left raised by the vmap above)
        dg.autograd.grad(y, w)


def test_cuda_nvtx_raises_as_in_a_cpu_build():
    ours = importlib.import_module("deltagrad.cuda.nvtx")
    real = importlib.import_module("torch.cuda.nvtx")
    for name in ("range_push", "mark"):
        with pytest.raises(RuntimeError) as ours_error:
            getattr(ours, name)("a")
        with pytest.raises(RuntimeError) as real_error:
            getattr(real, name)("a")
        assert str(ours_error.value) == str(real_error.value)
    with pytest.raises(RuntimeError):
        ours.range_pop()
    with pytest.raises(RuntimeError), ours.range("step {}", 1):
        pass


def test_nn_utils_clip_grad_module_path():
    from deltagrad.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

    for m, clip in ((dg, clip_grad_norm_), (torch, torch.nn.utils.clip_grad.clip_grad_norm_)):
        p = m.nn.Parameter(m.ones(3))
        p.grad = m.tensor([3.0, 4.0, 0.0])
        total = clip(p, 1.0)
        np.testing.assert_allclose(np.asarray(total.tolist()), 5.0, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(p.grad.tolist()), [0.6, 0.8, 0.0], rtol=1e-5)
    assert clip_grad_value_ is dg.nn.utils.clip_grad_value_
