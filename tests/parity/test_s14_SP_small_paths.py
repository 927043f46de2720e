"""The small-input fast paths of s14 SP (issue 18: common nn ops at most PyTorch's time on
OpInfo's samples): each gives the bits of the general path it shortcuts, and the ops moved from
autograd.Functions to engine nodes keep PyTorch's values, gradients, double backward, grad_fn
names and in-place checks."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _functional_losses as losses
from deltagrad.nn import _functional_misc as misc
from deltagrad.nn import _pool_kernels, fold2d, pooling2d

torch = pytest.importorskip("torch")


def _bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    return a.reshape(-1).view(f"u{a.dtype.itemsize}")


def _geometries(rng, count, dilated):
    """Random pooling geometries that pass PyTorch's checks (1 to 3 spatial dims)."""
    found = []
    while len(found) < count:
        spatial = int(rng.integers(1, 4))
        size = tuple(int(v) for v in rng.integers(1, 8, spatial))
        kernel = tuple(int(v) for v in rng.integers(1, 4, spatial))
        stride = tuple(int(v) for v in rng.integers(1, 4, spatial))
        dilation = tuple(int(v) for v in rng.integers(1, 3, spatial)) if dilated else (1,) * spatial
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        try:
            geometry = pooling2d._pool_geometry("test", size, kernel, stride, padding, dilation,
                                                bool(rng.integers(0, 2)), spatial, dilated)
        except RuntimeError:
            continue
        found.append((size, geometry))
    return found


def _input(rng, size, kind):
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + size
    if kind == "ties":
        return rng.integers(-2, 3, shape).astype(np.float32)
    if kind == "specials":
        x = rng.standard_normal(shape).astype(np.float32)
        x[rng.random(shape) < 0.2] = -np.inf
        x[rng.random(shape) < 0.1] = np.nan
        x[rng.random(shape) < 0.1] = -0.0
        return x
    if kind == "int":
        return rng.integers(-3, 3, shape).astype(np.int32)
    # a float64 view with negative strides, magnitudes over six decades
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)
    return x[..., ::-1]


@pytest.mark.parametrize("kind", ["ties", "specials", "int", "view"])
def test_small_max_pool_is_the_general_path(kind, monkeypatch):
    rng = np.random.default_rng(["ties", "specials", "int", "view"].index(kind))
    for size, (kernel, stride, pads, out, dilation) in _geometries(rng, 40, True):
        xs = _input(rng, size, kind)
        geometry = dict(kernel=kernel, stride=stride, dilation=dilation, pads=pads, out=out)
        small_values, small_index = pooling2d._max_pool_positions(xs, **geometry)
        with monkeypatch.context() as m:
            m.setattr(_pool_kernels, "_SMALL_WINDOWS", 0)  # (where the kernel reads it)
            values, index = pooling2d._max_pool_positions(xs, **geometry)
        assert small_values.dtype == values.dtype and small_values.shape == values.shape
        assert np.array_equal(small_values, values, equal_nan=kind != "int"), geometry
        assert np.array_equal(pooling2d._flat_positions(small_index),
                              pooling2d._flat_positions(index)), geometry


def _loop_window_sum(xs, kernel, stride, pads, out):
    padded = fold2d._pad(xs, pads)
    total = np.zeros(xs.shape[:2] + tuple(out), dtype=xs.dtype)
    for _, window in pooling2d._offset_slices(kernel, stride, out):
        total += padded[window]
    return total


def _loop_adjoint(share, size, kernel, stride, pads, out):
    padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
    result = np.zeros(share.shape[:2] + padded, dtype=share.dtype)
    for _, window in pooling2d._offset_slices(kernel, stride, out):
        result[window] += share
    crop = (slice(None), slice(None)) + tuple(
        slice(left, left + n) for n, (left, _) in zip(size, pads))
    return result[crop]


def test_small_window_sums_and_their_adjoint_are_the_loops_bits():
    # (float32 sums of six decades of magnitudes: any change of order shows in the bits)
    rng = np.random.default_rng(4)
    for trial, (size, (kernel, stride, pads, out, _)) in enumerate(
            _geometries(rng, 100, False)):
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + size
        xs = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(np.float32)
        if trial % 7 == 0:
            xs[...] = -0.0  # (the loop starts from +0.0)
        assert np.array_equal(_bits(pooling2d._window_sum(xs, kernel, stride, pads, out)),
                              _bits(_loop_window_sum(xs, kernel, stride, pads, out)))
        share = rng.standard_normal(xs.shape[:2] + out).astype(np.float32)
        assert np.array_equal(
            _bits(pooling2d._window_mean_adjoint(share, size, kernel, stride, pads, out)),
            _bits(_loop_adjoint(share, size, kernel, stride, pads, out)))


def _loop_col2im(cols, size, kernel, stride, dilation, pads, out):
    batch = cols.shape[0]
    channels = cols.shape[1] // math.prod(kernel)
    padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
    result = np.zeros((batch, channels) + padded, dtype=cols.dtype)
    blocks = cols.reshape((batch, channels) + tuple(kernel) + tuple(out))
    every = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = every + tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                               for o, d, s, n in zip(offset, dilation, stride, out))
        result[target] += blocks[every + offset]
    return result[every + tuple(slice(left, left + n) for n, (left, _) in zip(size, pads))]


def test_small_col2im_is_the_loops_bits():
    rng = np.random.default_rng(5)
    checked = 0
    while checked < 100:
        spatial = int(rng.integers(1, 4))
        size = tuple(int(v) for v in rng.integers(1, 7, spatial))
        kernel = tuple(int(v) for v in rng.integers(1, 4, spatial))
        stride = tuple(int(v) for v in rng.integers(1, 3, spatial))
        dilation = tuple(int(v) for v in rng.integers(1, 3, spatial))
        pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (spatial, 2)))
        try:
            out = fold2d._out_size("test", size, kernel, stride, dilation, pads)
        except dg.ShapeError:
            continue
        shape = (int(rng.integers(0, 3)), int(rng.integers(1, 4)) * math.prod(kernel),
                 math.prod(out))
        cols = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)).astype(
            np.float32)
        got = fold2d._col2im(cols, size, kernel, stride, dilation, pads, out)
        expected = _loop_col2im(cols, size, kernel, stride, dilation, pads, out)
        assert got.shape == expected.shape
        assert np.array_equal(_bits(got), _bits(expected))
        checked += 1


def _both(fn_dg, fn_torch, arrays, grad=True, seed=0):
    """Values and input gradients of one call in each library."""
    rng = np.random.default_rng(seed)
    d_in = [dg.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    t_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    d_out, t_out = fn_dg(*d_in), fn_torch(*t_in)
    assert tuple(d_out.shape) == tuple(t_out.shape)
    assert str(d_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    cot = rng.standard_normal(tuple(t_out.shape)).astype(arrays[0].dtype)
    if grad:
        d_out.backward(dg.tensor(cot))
        t_out.backward(torch.tensor(cot))
    return d_out, t_out, d_in, t_in


POOLS = [
    ("max_pool2d", (1, 2, 3, 6), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("max_pool2d", (2, 3, 6, 5), dict(kernel_size=2, padding=1, dilation=2)),
    ("max_pool1d", (2, 3, 7), dict(kernel_size=3, stride=1, padding=1)),
    ("max_pool3d", (1, 2, 3, 6, 5), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("avg_pool2d", (1, 3, 9, 9), dict(kernel_size=3, stride=1, padding=1, ceil_mode=True,
                                      count_include_pad=False)),
    ("avg_pool2d", (1, 3, 9, 9), dict(kernel_size=6, stride=(3, 2), padding=3,
                                      divisor_override=2)),
    ("avg_pool1d", (2, 3, 8), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool3d", (1, 2, 4, 5, 6), dict(kernel_size=2, stride=1, ceil_mode=True)),
]


@pytest.mark.parametrize("name, shape, kwargs", POOLS)
def test_pools_match_pytorch_and_differentiate_twice(name, shape, kwargs):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(np.float32)
    d_out, t_out, d_in, t_in = _both(lambda a: getattr(dg.nn.functional, name)(a, **kwargs),
                                     lambda a: getattr(torch.nn.functional, name)(a, **kwargs),
                                     [x])
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(d_in[0].grad.numpy(), t_in[0].grad.numpy(), rtol=1e-6,
                               atol=1e-6)
    if name in ("max_pool2d", "avg_pool2d"):  # (the node's name, as the Function's was)
        assert type(d_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    # double backward: through the Functions the engine node falls back to
    x64 = x.astype(np.float64)
    assert dg.autograd.gradcheck(lambda a: getattr(dg.nn.functional, name)(a, **kwargs),
                                 (dg.tensor(x64, requires_grad=True),))
    assert dg.autograd.gradgradcheck(lambda a: getattr(dg.nn.functional, name)(a, **kwargs),
                                     (dg.tensor(x64, requires_grad=True),))


def test_pool_positions_returned_and_empty_batches():
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 4)).astype(np.float32)
    d, i = dg.nn.functional.max_pool2d(dg.tensor(x), 2, return_indices=True, ceil_mode=True)
    t, j = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True,
                                          ceil_mode=True)
    assert np.array_equal(i.numpy(), j.numpy()) and np.array_equal(d.numpy(), t.numpy())
    for name in ("max_pool2d", "avg_pool2d"):
        empty = dg.zeros(0, 3, 7, 7, requires_grad=True)
        out = getattr(dg.nn.functional, name)(empty, 2)
        assert tuple(out.shape) == (0, 3, 3, 3)
        out.sum().backward()
        assert tuple(empty.grad.shape) == (0, 3, 7, 7)


def test_unfold_fold_nodes():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    d_out, t_out, d_in, t_in = _both(
        lambda a: dg.nn.functional.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=2),
        lambda a: torch.nn.functional.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=2),
        [x])
    assert np.array_equal(d_out.detach().numpy(), t_out.detach().numpy())
    np.testing.assert_allclose(d_in[0].grad.numpy(), t_in[0].grad.numpy(), rtol=1e-6, atol=1e-6)
    assert type(d_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    cols = rng.standard_normal((2, 12, 8)).astype(np.float32)
    d_out, t_out, d_in, t_in = _both(
        lambda a: dg.nn.functional.fold(a, (4, 5), 2, stride=(2, 1)),
        lambda a: torch.nn.functional.fold(a, (4, 5), 2, stride=(2, 1)), [cols])
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    assert np.array_equal(d_in[0].grad.numpy(), t_in[0].grad.numpy())
    c64 = dg.tensor(cols.astype(np.float64), requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda a: dg.nn.functional.fold(a, (4, 5), 2, stride=(2, 1)),
                                     (c64,))
    empty = dg.zeros(0, 1, 5, 5, requires_grad=True)
    dg.nn.functional.unfold(empty, 2).sum().backward()
    assert tuple(empty.grad.shape) == (0, 1, 5, 5)


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_node(affine):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 4, 3)).astype(np.float32)
    w, b = rng.random(4).astype(np.float32) + 0.5, rng.standard_normal(4).astype(np.float32)
    stats = {lib: (lib.zeros(4), lib.ones(4)) for lib in (dg, torch)}

    def call(lib):
        def f(a, *wb):
            return lib.nn.functional.batch_norm(a, *stats[lib], *(wb if wb else (None, None)),
                                                training=True, momentum=0.3, eps=1e-3)
        return f

    arrays = [x, w, b] if affine else [x]
    d_out, t_out, d_in, t_in = _both(call(dg), call(torch), arrays)
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    for d, t in zip(d_in, t_in):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    for d, t in zip(stats[dg], stats[torch]):
        np.testing.assert_allclose(d.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)
    x64 = [dg.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
    # (float64 running statistics with float64 inputs: a float32 / float64 mix is PyTorch's
    # RuntimeError, and deltagrad's since session 28)
    stats[dg] = (dg.zeros(4, dtype=dg.float64), dg.ones(4, dtype=dg.float64))
    assert dg.autograd.gradgradcheck(call(dg), tuple(x64))


def test_batch_norm_and_pools_in_place_checks():
    # batch_norm reads its input in the backward (as PyTorch's saves it): a change after it
    # is an error; an in-place change of its output (ReLU(inplace=True) after it) is not.
    x = dg.randn(4, 3, 5, requires_grad=True)
    h = x * 1.0
    y = dg.nn.functional.batch_norm(h, None, None, training=True)
    h.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    for f in (lambda a: dg.nn.functional.batch_norm(a, None, None, training=True),
              lambda a: dg.nn.functional.max_pool2d(a, 2),
              lambda a: dg.nn.functional.avg_pool2d(a, 2)):
        z = dg.randn(2, 3, 4, 4, requires_grad=True)
        out = dg.nn.functional.relu(f(z * 1.0), inplace=True)
        out.sum().backward()
        assert z.grad is not None


def test_nll_loss_node_is_the_compositions_bits(monkeypatch):
    rng = np.random.default_rng(10)
    for trial in range(90):
        classes = int(rng.integers(1, 5))
        if trial % 4 == 0:
            x_shape, t_shape = (classes,), ()
        else:
            n = int(rng.integers(1, 4))
            extra = tuple(int(v) for v in rng.integers(1, 3, trial % 3))
            x_shape, t_shape = (n, classes) + extra, (n,) + extra
        dtype = np.float32 if trial % 3 else np.float64
        x = rng.standard_normal(x_shape).astype(dtype)
        if trial % 5 == 0:
            x[rng.random(x_shape) < 0.2] = -np.inf
        t = rng.integers(0, classes, t_shape)
        ignore = -100
        if trial % 2:
            t = np.where(rng.random(t_shape) < 0.4, -1, t)
            ignore = -1
        weight = rng.random(classes).astype(dtype) if trial % 3 == 1 else None
        reduction = ("none", "sum", "mean")[trial % 3]
        g = rng.standard_normal(t_shape if reduction == "none" else ()).astype(dtype)
        results = []
        for fused in (True, False):
            with monkeypatch.context() as m:
                if not fused:
                    m.setattr(losses, "_NLL_DTYPES", ())
                xd = dg.tensor(x, requires_grad=True)
                with np.errstate(invalid="ignore"):
                    y = dg.nn.functional.nll_loss(
                        xd, dg.tensor(t), None if weight is None else dg.tensor(weight),
                        ignore_index=ignore, reduction=reduction)
                    y.backward(dg.tensor(g))
            results.append((y.detach().numpy(), xd.grad.numpy(), type(y.grad_fn).__name__))
        (y1, g1, n1), (y2, g2, n2) = results
        # (PyTorch's names: nll_loss2d for inputs of 3 or more dims, a view's for "none" of
        # those but [N, C, H, W]; s23 BR4)
        expected = ("NllLossBackward0" if x.ndim < 3 else "ViewBackward0"
                    if reduction == "none" and x.ndim != 4 else "NllLoss2DBackward0")
        assert n1 == n2 == expected
        assert y1.dtype == y2.dtype and y1.shape == y2.shape
        picked = np.moveaxis(x, 1 if x.ndim > 1 else 0, -1)
        ignored = t == ignore
        if not np.isfinite(picked[ignored]).all():
            # An ignored entry holding -inf: the node skips it as PyTorch's kernel does (s18
            # SL3), where the composition's 0 * -inf gives nan: compared with PyTorch instead.
            xt = torch.tensor(x, requires_grad=True)
            yt = torch.nn.functional.nll_loss(
                xt, torch.tensor(t), None if weight is None else torch.tensor(weight),
                ignore_index=ignore, reduction=reduction)
            yt.backward(torch.tensor(g))
            np.testing.assert_allclose(y1, yt.detach().numpy(), rtol=1e-6, equal_nan=True)
            np.testing.assert_allclose(g1, xt.grad.numpy(), rtol=1e-6, equal_nan=True)
            continue
        assert np.array_equal(_bits(y1), _bits(y2)) and np.array_equal(_bits(g1), _bits(g2))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_nll_loss_node_matches_pytorch(reduction):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    t = np.array([[0, 2], [1, -1], [2, 2], [-1, 0]])
    w = rng.random(3).astype(np.float32)
    d_out, t_out, d_in, t_in = _both(
        lambda a, b: dg.nn.functional.nll_loss(a, b, weight=dg.tensor(w), ignore_index=-1,
                                               reduction=reduction),
        lambda a, b: torch.nn.functional.nll_loss(a, b, weight=torch.tensor(w), ignore_index=-1,
                                                  reduction=reduction), [x, t])
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(d_in[0].grad.numpy(), t_in[0].grad.numpy(), rtol=1e-6)
    x64 = dg.tensor(x.astype(np.float64), requires_grad=True)
    assert dg.autograd.gradgradcheck(
        lambda a: dg.nn.functional.nll_loss(a, dg.tensor(t), ignore_index=-1,
                                            reduction=reduction), (x64,))


@pytest.mark.parametrize("mode, shape", [("linear", (2, 3, 5)), ("bilinear", (2, 3, 5, 6)),
                                         ("bicubic", (2, 3, 5, 6)),
                                         ("trilinear", (1, 2, 3, 4, 5))])
@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_by_matrices_matches_pytorch(mode, shape, align_corners):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(shape) * 100).astype(np.float32)
    for kwargs in ({"scale_factor": 1.7}, {"scale_factor": 0.6},
                   {"size": (3,) * (len(shape) - 2)}):
        d_out, t_out, d_in, t_in = _both(
            lambda a, kw=kwargs: dg.nn.functional.interpolate(
                a, mode=mode, align_corners=align_corners, **kw),
            lambda a, kw=kwargs: torch.nn.functional.interpolate(
                a, mode=mode, align_corners=align_corners, **kw), [x])
        np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                                   atol=1e-3)
        np.testing.assert_allclose(d_in[0].grad.numpy(), t_in[0].grad.numpy(), rtol=1e-5,
                                   atol=1e-5)
        assert d_out.is_contiguous()
    x64 = dg.tensor(x[:1, :1].astype(np.float64), requires_grad=True)
    assert dg.autograd.gradgradcheck(
        lambda a: dg.nn.functional.interpolate(a, scale_factor=1.5, mode=mode,
                                               align_corners=align_corners), (x64,))
    # the composition of taps gives the same values up to rounding
    with pytest.MonkeyPatch.context() as m:
        m.setattr(misc, "_MATRIX_DTYPES", ())
        taps = dg.nn.functional.interpolate(dg.tensor(x), scale_factor=1.7, mode=mode,
                                            align_corners=align_corners)
    matrix = dg.nn.functional.interpolate(dg.tensor(x), scale_factor=1.7, mode=mode,
                                          align_corners=align_corners)
    np.testing.assert_allclose(matrix.numpy(), taps.numpy(), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("shape, out", [((1, 8, 8, 8), (5, 7)), ((8, 8, 8), (5, 7)),
                                        ((2, 3, 5, 6, 7), (2, 3, 4)), ((2, 3, 6, 6), (None, 3)),
                                        ((0, 3, 6, 6), (2, 3)), ((2, 3, 7), 4), ((3, 7), 3),
                                        ((2, 3, 4), 9)])
def test_adaptive_avg_pool_products(shape, out):
    rng = np.random.default_rng(13)
    x = rng.standard_normal(shape).astype(np.float32)
    name = ("adaptive_avg_pool1d" if isinstance(out, int) else
            "adaptive_avg_pool3d" if len(out) == 3 else "adaptive_avg_pool2d")
    d_out, t_out, d_in, t_in = _both(lambda a: getattr(dg.nn.functional, name)(a, out),
                                     lambda a: getattr(torch.nn.functional, name)(a, out), [x])
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(d_in[0].grad.numpy(), t_in[0].grad.numpy(), rtol=1e-6,
                               atol=1e-6)
    assert d_out.is_contiguous()
