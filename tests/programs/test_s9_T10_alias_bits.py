"""The PyTorch names kornia reads that deltagrad lacked (T10), each against the real torch:
``torch._assert_async``, ``torch.SymInt``/``SymFloat``/``SymBool``, ``torch.complex32``,
``torch.backends.mkldnn``, ``torch._C._are_functorch_transforms_active``, ``torch.conv2d`` kept
as a class attribute (a builtin in PyTorch: it does not bind). The alias's ``torch.torch`` and
``str(torch.float32) == 'torch.float32'`` are checked by prog_s9_T10_kornia.py ("alias.*").
Also ``grid_sample(mode="bicubic")`` (kornia's bicubic warps), new in deltagrad."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")


def outcome(call):
    """``('ok', result)`` or ``(exception type name, message)``."""
    try:
        return "ok", call()
    except Exception as error:  # noqa: BLE001 - compared between the libraries
        return type(error).__name__, str(error)


@pytest.mark.parametrize("make, message", [
    (lambda m: m.tensor(True), "msg"), (lambda m: m.tensor(2.5), None),
    (lambda m: m.tensor(float("nan")), "m"), (lambda m: m.tensor(0.0), None),
    (lambda m: m.tensor([False]), "custom"), (lambda m: m.tensor([1.0, 1.0]), "m"),
    (lambda m: m.tensor([]), "m"), (lambda m: True, "m")])
def test_assert_async(make, message):
    def run(m):
        args = (make(m),) if message is None else (make(m), message)
        return outcome(lambda: m._assert_async(*args))
    assert run(deltagrad) == run(torch)


def test_symbolic_scalar_types_and_complex32():
    for name in ("SymInt", "SymFloat", "SymBool"):
        ours, theirs = getattr(deltagrad, name), getattr(torch, name)
        assert isinstance(ours, type)
        for value in (3, 2.5, True):
            assert isinstance(value, ours) == isinstance(value, theirs) is False
    for ours, theirs in ((deltagrad.complex32, torch.complex32), (deltagrad.chalf, torch.chalf)):
        assert (ours.is_complex, ours.is_floating_point, ours.itemsize) == (
            theirs.is_complex, theirs.is_floating_point, theirs.itemsize)
        assert ours != deltagrad.complex64 and ours is deltagrad.complex32
    with pytest.raises(TypeError, match="complex32"):
        deltagrad.zeros(2, dtype=deltagrad.complex32)


def test_backend_and_binding_queries():
    assert deltagrad.backends.mkldnn.is_available() is False  # (no oneDNN here)
    assert isinstance(deltagrad.backends.mkldnn.enabled, bool)
    assert deltagrad._C._are_functorch_transforms_active() is False

    def conv_as_attribute(m):
        class Holder:
            conv = m.conv2d
            conv1 = m.conv1d
        x = m.arange(50.0).reshape(1, 2, 5, 5)
        w = m.ones(3, 2, 3, 3) / 9
        two = Holder().conv(x, weight=w, padding=1, groups=1).numpy()
        one = Holder().conv1(x[:, :, 0], weight=w[..., 0], stride=2).numpy()
        return two, one
    for ours, theirs in zip(conv_as_attribute(deltagrad), conv_as_attribute(torch)):
        assert ours.shape == theirs.shape
        assert abs(ours - theirs).max() < 1e-4


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grid_sample_bicubic(padding_mode, align_corners, dtype):
    """kornia's warp_affine(mode='bicubic'): values and both gradients, points well outside
    the input included (reflection folds them several times)."""
    rng = np.random.default_rng(7)
    image = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    grid = rng.uniform(-2.8, 2.8, (2, 4, 7, 2)).astype(dtype)
    upstream = rng.standard_normal((2, 3, 4, 7)).astype(dtype)

    def run(m):
        x = m.tensor(image, requires_grad=True)
        g = m.tensor(grid, requires_grad=True)
        out = m.nn.functional.grid_sample(x, g, mode="bicubic", padding_mode=padding_mode,
                                          align_corners=align_corners)
        (out * m.tensor(upstream)).sum().backward()
        return [t.detach().numpy() for t in (out, x.grad, g.grad)]
    tolerance = 1e-10 if dtype == "float64" else 2e-4
    for ours, theirs in zip(run(deltagrad), run(torch)):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance)


def test_grid_sample_bicubic_needs_4d():
    x, grid = deltagrad.zeros(1, 1, 2, 2, 2), deltagrad.zeros(1, 1, 1, 1, 3)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        deltagrad.nn.functional.grid_sample(x, grid, mode="bicubic", align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        torch.nn.functional.grid_sample(torch.zeros(1, 1, 2, 2, 2), torch.zeros(1, 1, 1, 1, 3),
                                        mode="bicubic", align_corners=False)
