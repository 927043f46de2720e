"""Common layers after session 24's per-call savings (SP13): group_norm (the arrays' shapes
read once) and adaptive_avg_pool2d (the averaging matrix transposed as an array), against
PyTorch: values, gradients, layouts and error types; and batch_norm's small exact training
forward (measured for the same saving, left as it was: its claim of PyTorch's bits pinned)."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(a, requires_grad=True):
    return (dg.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


@pytest.mark.parametrize("shape", [(4, 3, 5), (2, 3, 8, 8), (5, 5, 5), (8, 16, 4, 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_small_training_forward_is_pytorchs(shape, affine):
    rng = np.random.default_rng(sum(shape))
    a = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    a.flat[0] = -0.0
    channels = shape[1]
    params = [rng.standard_normal(channels).astype(np.float32) for _ in range(2)]
    stats = [rng.standard_normal(channels).astype(np.float32),
             np.abs(rng.standard_normal(channels)).astype(np.float32)]
    x, t = _pair(a)
    w, tw = _pair(params[0]) if affine else (None, None)
    b, tb = _pair(params[1]) if affine else (None, None)
    rm, rv = (dg.tensor(s.copy()) for s in stats)
    trm, trv = (torch.tensor(s.copy()) for s in stats)
    y = dg.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=0.3, eps=1e-3)
    ty = torch.nn.functional.batch_norm(t, trm, trv, tw, tb, training=True, momentum=0.3,
                                        eps=1e-3)
    # (the exact path's claim: PyTorch's float32 kernel bit for bit, statistics too)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(rm.numpy(), trm.numpy())
    np.testing.assert_array_equal(rv.numpy(), trv.numpy())
    g = rng.standard_normal(shape).astype(np.float32)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    if affine:
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_small_training_forward_specials():
    a = np.array([[[np.inf, 1.0], [0.0, -0.0]], [[2.0, 3.0], [np.nan, 1.0]]], np.float32)
    got = dg.nn.functional.batch_norm(dg.tensor(a), None, None, training=True).numpy()
    want = torch.nn.functional.batch_norm(torch.tensor(a), None, None, training=True).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 2), ((3, 4, 2, 2), 4), ((1, 6, 5), 3)])
def test_group_norm_against_pytorch(dtype, shape, groups):
    rng = np.random.default_rng(len(shape) + groups)
    a = rng.standard_normal(shape).astype(dtype)
    w_a, b_a = (rng.standard_normal(shape[1]).astype(dtype) for _ in range(2))
    (x, t), (w, tw), (b, tb) = _pair(a), _pair(w_a), _pair(b_a)
    y = dg.nn.functional.group_norm(x, groups, w, b)
    ty = torch.nn.functional.group_norm(t, groups, tw, tb)
    assert tuple(y.shape) == tuple(ty.shape)
    assert y.detach().numpy().dtype == ty.detach().numpy().dtype
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(shape).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    for mine, theirs in ((x, t), (w, tw), (b, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=tol * 10,
                                   atol=tol * 10)


def test_group_norm_channels_last_and_errors():
    a = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    x = dg.tensor(a).contiguous(memory_format=dg.channels_last)
    t = torch.tensor(a).contiguous(memory_format=torch.channels_last)
    y, ty = dg.nn.functional.group_norm(x, 2), torch.nn.functional.group_norm(t, 2)
    assert y.stride() == ty.stride()
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-5, atol=1e-6)
    for lib in (dg, torch):  # (PyTorch's error types: ValueError, RuntimeError, ZeroDivision)
        with pytest.raises(ValueError, match="more than 1 value"):
            lib.nn.functional.group_norm(lib.ones(1, 2), 2)
        with pytest.raises(RuntimeError):
            lib.nn.functional.group_norm(lib.ones(3), 1)
        with pytest.raises(RuntimeError):
            lib.nn.functional.group_norm(lib.ones(2, 4, 3), 3)
        with pytest.raises(RuntimeError):
            lib.nn.functional.group_norm(lib.ones(2, 4, 3), 2, lib.ones(3))


@pytest.mark.parametrize("size,out", [((8, 8, 8), (5, 7)), ((2, 3, 9, 6), (4, 6)),
                                      ((2, 3, 5, 5), (None, 2)), ((1, 2, 4, 7), 3)])
def test_adaptive_avg_pool2d_against_pytorch(size, out):
    rng = np.random.default_rng(len(size))
    a = rng.standard_normal(size).astype(np.float32)
    x, t = _pair(a)
    y = dg.nn.functional.adaptive_avg_pool2d(x, out)
    ty = torch.nn.functional.adaptive_avg_pool2d(t, out)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)
    # the gradient recorded (create_graph), as PyTorch's
    x2, t2 = _pair(a)
    gx, = dg.autograd.grad(dg.nn.functional.adaptive_avg_pool2d(x2, out).sum(), x2,
                           create_graph=True)
    tgx, = torch.autograd.grad(torch.nn.functional.adaptive_avg_pool2d(t2, out).sum(), t2,
                               create_graph=True)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_adaptive_avg_pool2d_specials():
    a = np.arange(2 * 6 * 6, dtype=np.float32).reshape(1, 2, 6, 6)
    a[0, 0, 0, 0], a[0, 1, 5, 5], a[0, 1, 0, 5] = np.inf, np.nan, -np.inf
    got = dg.nn.functional.adaptive_avg_pool2d(dg.tensor(a), (4, 3)).numpy()
    want = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(a), (4, 3)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


@pytest.mark.parametrize("value", [2.5, 3, True, 1 + 0j, 1 + 2j, np.complex128(2 - 1j),
                                   np.float32(1.5), "tensor_complex", "tensor_real"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "complex64"])
def test_masked_fill_complex_value_check(value, dtype):
    # (the complex test is an isinstance / dtype kind now, not np.iscomplexobj: PyTorch's
    # outcomes for real and complex numbers, NumPy complex scalars and 0-d tensors)
    a = np.arange(6).reshape(2, 3)
    mask = a % 2 == 0
    outcomes = []
    for lib in (dg, torch):
        fill = value
        if value == "tensor_complex":
            fill = lib.tensor(1 + 1j)
        elif value == "tensor_real":
            fill = lib.tensor(4.0)
        x = lib.tensor(a).to(getattr(lib, dtype))
        try:
            y = x.masked_fill(lib.tensor(mask), fill)
        except RuntimeError:
            outcomes.append("RuntimeError")
        else:
            outcomes.append((str(y.dtype).split(".")[-1], y.numpy().tolist()))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (3, 2, 5), (1, 4, 2, 3, 2)])
def test_instance_norm_against_pytorch(shape):
    rng = np.random.default_rng(len(shape))
    a = rng.standard_normal(shape).astype(np.float32)
    channels = shape[1]
    w_a, b_a = (rng.standard_normal(channels).astype(np.float32) for _ in range(2))
    (x, t), (w, tw), (b, tb) = _pair(a), _pair(w_a), _pair(b_a)
    rm, rv, trm, trv = dg.zeros(channels), dg.ones(channels), torch.zeros(channels), \
        torch.ones(channels)
    y = dg.nn.functional.instance_norm(x, rm, rv, w, b, momentum=0.3)
    ty = torch.nn.functional.instance_norm(t, trm, trv, tw, tb, momentum=0.3)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-6, atol=1e-7)
    g = rng.standard_normal(shape).astype(np.float32)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    for mine, theirs in ((x, t), (w, tw), (b, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-4)
    for lib in (dg, torch):  # (fewer than 3 dims / one spatial element: PyTorch's errors)
        with pytest.raises(ValueError, match="more than 1 spatial element"):
            lib.nn.functional.instance_norm(lib.ones(2, 3, 1))
