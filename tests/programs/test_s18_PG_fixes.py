"""Regression tests for what PG's session-18 programs found (each differential against PyTorch).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _rosenbrock_lbfgs(lib, dtype, steps=1):
    """(the loss at every closure call, the point) of L-BFGS with the strong-Wolfe search."""
    point = lib.tensor([-1.5, 2.0], dtype=dtype, requires_grad=True)
    optimizer = lib.optim.LBFGS([point], lr=1, max_iter=20, history_size=5,
                                line_search_fn="strong_wolfe")
    losses = []

    def closure():
        optimizer.zero_grad()
        x, y = point
        loss = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
        loss.backward()
        losses.append(loss.item())
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return np.array(losses), np.array(point.tolist())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lbfgs_strong_wolfe_rounds_as_pytorch(dtype):
    # The cubic interpolation ran in float64 and x += alpha * y rounded twice, where PyTorch
    # keeps its 0-d float32 tensors and fuses alpha into the add: one step on float32
    # Rosenbrock ended 4.7e-4 away from PyTorch's point (26 closure calls each).
    real_losses, real_point = _rosenbrock_lbfgs(torch, getattr(torch, dtype))
    our_losses, our_point = _rosenbrock_lbfgs(dg, getattr(dg, dtype))
    assert our_losses.shape == real_losses.shape
    np.testing.assert_allclose(our_losses, real_losses, rtol=1e-6, atol=0)
    np.testing.assert_allclose(our_point, real_point, rtol=0, atol=1e-6)


def test_lbfgs_cubic_interpolation_keeps_the_slopes_dtype():
    from torch.optim.lbfgs import _cubic_interpolate as theirs

    from deltagrad.optim.lbfgs import _cubic_interpolate as ours

    slopes = (-0.6101012825965881, 7.012041091918945)
    real = theirs(0, 0.6791934370994568, torch.tensor(slopes[0]), 1.0, 2.1567187309265137,
                  torch.tensor(slopes[1]))
    mine = ours(0, 0.6791934370994568, np.float32(slopes[0]), 1.0, 2.1567187309265137,
                np.float32(slopes[1]))
    assert np.asarray(mine).dtype == np.float32
    # (PyTorch's float32 sqrt on an AVX-512 build may be an ulp off the correctly rounded
    # one that NumPy gives: the two agree to float32 precision, not to the bit)
    assert abs(float(mine) - float(real)) < 1e-6 * abs(float(real))


def _deepcopied_views(lib):
    """What a deep copy of a tensor and two views of it shows after a write into the copy."""
    import copy

    base = lib.arange(6.0)
    first, rest, turned = copy.deepcopy([base, base[2:], base.view(2, 3).t()])
    first[3] = -1.0
    lone = copy.deepcopy(base[::2])
    return (first.tolist(), rest.tolist(), turned.tolist(), turned.stride(),
            turned.is_contiguous(), lone.tolist(), lone.stride())


def test_deepcopy_keeps_views_sharing_their_storage():
    # PyTorch copies each storage once per deepcopy (its memo), so views copied together
    # still share memory; deltagrad copied each view's values apart.
    assert _deepcopied_views(dg) == _deepcopied_views(torch)


def test_deepcopy_of_a_view_keeps_its_versions_with_the_copied_base():
    # deltagrad's version counters belong to a storage (README): the copied view must count
    # with the copied base's storage. (PyTorch 2.13 gives the copies separate counters and
    # backward then silently reads the changed values: a documented divergence.)
    import copy

    base = dg.arange(4.0)
    copied, view = copy.deepcopy([base, base[1:]])
    weight = dg.ones(3, requires_grad=True)
    out = (weight * view).sum()
    copied.add_(1.0)  # an in-place change of the storage the saved view lives in
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def _broadcast_grads(lib, dtype):
    """Gradients that the engine sums back over broadcast dimensions, in a narrow dtype."""
    generator = np.random.default_rng(0)
    x = lib.tensor(generator.standard_normal((512, 16)), dtype=dtype)
    upstream = lib.tensor(generator.standard_normal((512, 16)), dtype=dtype)
    bias = lib.tensor(generator.standard_normal(16), dtype=dtype, requires_grad=True)
    scale = lib.ones(1, 16, dtype=dtype, requires_grad=True)
    rows = lib.tensor(generator.standard_normal((4, 300)), dtype=dtype, requires_grad=True)
    ((x + bias) * upstream).sum().backward()
    (scale * upstream).sum().backward()
    (rows.sum(-1, keepdim=True) * rows).sum().backward()
    return [t.grad.float().numpy() for t in (bias, scale, rows)]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_broadcast_gradients_sum_in_float32(dtype):
    # PyTorch's sum_to accumulates a narrow gradient in float32 and rounds once; NumPy's loop
    # added row after row in bfloat16 / float16 (the bias gradient 4 bfloat16 ulps off).
    pytest.importorskip("ml_dtypes")
    real = _broadcast_grads(torch, getattr(torch, dtype))
    ours = _broadcast_grads(dg, getattr(dg, dtype))
    for mine, theirs in zip(ours, real):
        np.testing.assert_array_equal(mine, theirs)
