"""UpsamplingNearest2d, UpsamplingBilinear2d and F.upsample*: values and gradients vs PyTorch."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
SIZES = [dict(scale_factor=2), dict(scale_factor=1.5), dict(scale_factor=(2, 3)),
         dict(size=(7, 9)), dict(size=6), dict(size=(3, 4))]


def _compare(make_dg, make_torch, dtype=np.float64, rtol=1e-10):
    """Same input through both libraries: outputs, then input gradients of a weighted sum."""
    x_array = X.astype(dtype)
    x = dg.tensor(x_array, requires_grad=True)
    tx = torch.tensor(x_array, requires_grad=True)
    y, ty = make_dg(x), make_torch(tx)
    assert tuple(y.shape) == tuple(ty.shape)
    assert y.dtype.itemsize == ty.dtype.itemsize
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=rtol)
    weights = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    (y * dg.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("kwargs", SIZES)
@pytest.mark.parametrize("name", ["UpsamplingNearest2d", "UpsamplingBilinear2d"])
def test_modules_match_torch(name, kwargs):
    module, reference = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert isinstance(module, nn.Upsample)
    _compare(module, reference)


@pytest.mark.parametrize("name", ["UpsamplingNearest2d", "UpsamplingBilinear2d"])
def test_modules_float32(name):
    _compare(getattr(nn, name)(scale_factor=2), getattr(torch.nn, name)(scale_factor=2),
             dtype=np.float32, rtol=1e-5)


def test_bilinear_module_aligns_corners():
    module = nn.UpsamplingBilinear2d(size=(7, 9))
    assert module.mode == "bilinear" and module.align_corners is True
    y = module(dg.tensor(X)).numpy()
    # align_corners=True: the corner pixels of input and output coincide.
    np.testing.assert_allclose(y[..., 0, 0], X[..., 0, 0])
    np.testing.assert_allclose(y[..., -1, -1], X[..., -1, -1])


@pytest.mark.parametrize("kwargs", SIZES)
@pytest.mark.parametrize("name", ["upsample_nearest", "upsample_bilinear"])
def test_deprecated_functions_match_torch(name, kwargs):
    with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
        _compare(lambda x: getattr(F, name)(x, **kwargs),
                 lambda x: getattr(torch.nn.functional, name)(x, **kwargs))


@pytest.mark.parametrize("mode, align_corners", [("nearest", None), ("bilinear", False),
                                                  ("bilinear", True), ("nearest-exact", None)])
@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(size=(6, 7))])
def test_upsample_matches_torch(mode, align_corners, kwargs):
    with pytest.warns(UserWarning, match="nn.functional.upsample` is deprecated"):
        _compare(lambda x: F.upsample(x, mode=mode, align_corners=align_corners, **kwargs),
                 lambda x: torch.nn.functional.upsample(x, mode=mode,
                                                        align_corners=align_corners, **kwargs))


def test_bad_arguments_raise_like_torch():
    x = dg.tensor(X)
    with pytest.raises(ValueError), pytest.warns(UserWarning):
        F.upsample(x, scale_factor=2, mode="nearest", align_corners=True)
    with pytest.raises(ValueError), pytest.warns(UserWarning):
        torch.nn.functional.upsample(torch.tensor(X), scale_factor=2, mode="nearest",
                                     align_corners=True)
