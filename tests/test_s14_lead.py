"""Session 14 merge fixes (the lead's), each against PyTorch.

The averaging matrices of adaptive average pooling and the resampling matrices of
interpolation (s14 SP) multiply every input by every output's weight: an inf in one window made
nan (inf * 0) in all the others. Inputs with inf / nan now give PyTorch's window values.
(Linear / bilinear interpolation of inf / nan differed from PyTorch's before session 14 too, in
where nan appears: left, not tested here.)
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _specials(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    mark = rng.random(shape)
    x[mark < 0.06] = np.inf
    x[(mark >= 0.06) & (mark < 0.1)] = -np.inf
    x[(mark >= 0.1) & (mark < 0.12)] = np.nan
    return x


@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_adaptive_avg_pool_with_inf_and_nan_is_pytorchs(spatial):
    rng = np.random.default_rng(spatial)
    name = f"adaptive_avg_pool{spatial}d"
    for _ in range(60):
        shape = (2, 3) + tuple(int(n) for n in rng.integers(1, 8, spatial))
        out = tuple(int(n) for n in rng.integers(1, 6, spatial))
        x = _specials(rng, shape)
        expected = getattr(torch.nn.functional, name)(torch.tensor(x), out).numpy()
        with warnings.catch_warnings():
            # (no "invalid value" from the products' inf * 0; the 1-d windows' sums of inf and
            # -inf warn as NumPy does)
            warnings.simplefilter("error" if spatial > 1 else "ignore", RuntimeWarning)
            got = getattr(dg.nn.functional, name)(dg.tensor(x), out).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True,
                                   err_msg=f"{name} {shape} -> {out}")


def test_adaptive_avg_pool_gradient_with_inf_is_pytorchs():
    x = _specials(np.random.default_rng(7), (2, 3, 7, 5))
    ours = dg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    g = np.random.default_rng(8).standard_normal((2, 3, 3, 2)).astype(np.float32)
    dg.nn.functional.adaptive_avg_pool2d(ours, (3, 2)).backward(dg.tensor(g))
    torch.nn.functional.adaptive_avg_pool2d(theirs, (3, 2)).backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["area", "bicubic"])
def test_interpolate_with_inf_and_nan_is_pytorchs(mode):
    rng = np.random.default_rng(len(mode))
    for _ in range(60):
        shape = (2, 3, int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        size = (int(rng.integers(1, 7)), int(rng.integers(1, 7)))
        x = _specials(rng, shape)
        expected = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (inf - inf in the taps, as NumPy)
            got = dg.nn.functional.interpolate(dg.tensor(x), size=size, mode=mode).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, equal_nan=True,
                                   err_msg=f"{mode} {shape} -> {size}")
