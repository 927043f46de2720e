"""Differences the nn.functional fuzzer family (``s25_SL11_functional.py``) found, each checked
against PyTorch: circular padding that crops a dimension to nothing, the functional conv's
error class for ``padding='same'`` with a stride, and antialiased interpolation to an empty
size."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape, pads", [
    ((1, 1, 4), (-2, -2)), ((1, 1, 4), (-4, 0)), ((1, 2, 1), (0, 0, -2, 0)),
    ((1, 2, 3, 3), (1, 0, 1, -1, -2, 0)), ((1, 2, 3), (1, -2, -2, 0)),
    ((1, 1, 4), (-1, -1)), ((2, 1, 3), (1, -2)),
])
def test_circular_pad_crop_to_empty(shape, pads):
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    xt = torch.tensor(a, requires_grad=True)
    xd = dg.tensor(a, requires_grad=True)
    yt = torch.nn.functional.pad(xt, pads, mode="circular")
    yd = dg.nn.functional.pad(xd, pads, mode="circular")
    assert tuple(yd.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(yd.detach().numpy(), yt.detach().numpy())
    yt.sum().backward()
    yd.sum().backward()
    np.testing.assert_array_equal(xd.grad.numpy(), xt.grad.numpy())


def test_circular_pad_cropping_past_the_dimension_still_raises():
    for lib in (torch, dg):
        with pytest.raises(RuntimeError):
            lib.nn.functional.pad(lib.ones(1, 1, 4), (-3, -2), mode="circular")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_functional_conv_same_with_stride_is_runtime_error(nd):
    for lib in (torch, dg):
        fn = getattr(lib.nn.functional, f"conv{nd}d")
        with pytest.raises(RuntimeError, match="strided"):
            fn(lib.ones((1, 1) + (4,) * nd), lib.ones((1, 1) + (2,) * nd), stride=2,
               padding="same")
    # (the modules raise ValueError, in PyTorch too)
    for lib in (torch, dg):
        with pytest.raises(ValueError):
            getattr(lib.nn, f"Conv{nd}d")(1, 1, 2, stride=2, padding="same")


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialias_to_an_empty_size_raises(mode):
    for lib in (torch, dg):
        with pytest.raises(RuntimeError):
            lib.nn.functional.interpolate(lib.ones(1, 1, 1, 4), scale_factor=(0.4, 0.5),
                                          mode=mode, antialias=True)


def test_max_unpool_to_an_empty_size_ignores_the_indices():
    a = np.arange(12, dtype=np.float64).reshape(1, 2, 3, 2)
    shapes = []
    for lib in (torch, dg):
        x = lib.tensor(a, requires_grad=True)
        y, i = lib.nn.functional.max_pool2d(x, 4, padding=2, return_indices=True)
        z = lib.nn.functional.max_unpool2d(y, i, 4, padding=2)
        z2 = lib.nn.functional.max_unpool2d(y.detach(), lib.tensor([[[[9]], [[-5]]]]), 4,
                                            padding=2)
        shapes.append((tuple(z.shape), tuple(z2.shape), z.requires_grad))
        with pytest.raises(RuntimeError, match="invalid max index"):
            lib.nn.functional.max_unpool2d(y.detach(), lib.tensor([[[[1]], [[-5]]]]), 4,
                                           padding=2, output_size=(1, 1))
    assert shapes[0] == shapes[1] == ((1, 2, 0, 0), (1, 2, 0, 0), True)
