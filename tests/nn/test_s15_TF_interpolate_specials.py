"""Linear / bilinear / bicubic / trilinear ``interpolate`` of inputs holding inf and nan, against
PyTorch: where nan appears depends on the order PyTorch's kernels add the taps (the last axis
first), on its copy taps for equal sizes (the same input twice, the second weighted 0) and on its
fused multiply-add in the source positions (a weight of 0 or of 3e-8 decides inf * w). Before
session 15, 36 of these 200 cases put nan elsewhere."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

MODES = [("linear", 1), ("bilinear", 2), ("bicubic", 2), ("trilinear", 3)]


def _specials(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    mark = rng.random(shape)
    x[mark < 0.06] = np.inf
    x[(mark >= 0.06) & (mark < 0.1)] = -np.inf
    x[(mark >= 0.1) & (mark < 0.12)] = np.nan
    return x


def _case(rng, spatial, dtype):
    shape = (2, 2) + tuple(int(n) for n in rng.integers(1, 7, spatial))
    align = bool(rng.integers(0, 2))
    if rng.random() < 0.25:  # a scale factor instead of a size (PyTorch's scale in the index)
        return _specials(rng, shape, dtype), {"scale_factor": float(rng.choice([1.5, 2.0, 2.5,
                                                                                 3.0])),
                                              "align_corners": align}
    size = tuple(int(n) for n in rng.integers(1, 8, spatial))
    return _specials(rng, shape, dtype), {"size": size, "align_corners": align}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,spatial", MODES)
def test_interpolate_with_inf_and_nan_is_pytorchs(mode, spatial, dtype):
    rng = np.random.default_rng(len(mode) + 10 * spatial + np.dtype(dtype).itemsize)
    for _ in range(30):
        x, kwargs = _case(rng, spatial, dtype)
        theirs = torch.tensor(x, requires_grad=True)
        expected = torch.nn.functional.interpolate(theirs, mode=mode, **kwargs)
        g = rng.standard_normal(tuple(expected.shape)).astype(dtype)
        expected.backward(torch.tensor(g))
        ours = dg.tensor(x, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (inf * 0: NumPy's, left here)
            got = dg.nn.functional.interpolate(ours, mode=mode, **kwargs)
            got.backward(dg.tensor(g))
        where = f"{mode} {x.shape} {kwargs}"
        np.testing.assert_array_equal(np.isnan(got.detach().numpy()),
                                      np.isnan(expected.detach().numpy()), err_msg=where)
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                                   atol=1e-5, equal_nan=True, err_msg=where)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=where)


def test_interpolate_of_a_channels_last_input_with_inf_is_pytorchs():
    rng = np.random.default_rng(3)
    for mode in ("bilinear", "bicubic"):
        x = _specials(rng, (2, 3, 4, 5), np.float32)
        expected = torch.nn.functional.interpolate(
            torch.tensor(x).to(memory_format=torch.channels_last), size=(5, 5), mode=mode)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = dg.nn.functional.interpolate(
                dg.tensor(x).to(memory_format=dg.channels_last), size=(5, 5), mode=mode)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5,
                                   equal_nan=True, err_msg=mode)
