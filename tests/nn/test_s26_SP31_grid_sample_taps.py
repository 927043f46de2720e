"""grid_sample's stacked bilinear taps (nn/sampling.py: _linear_taps, _gather, _partials).

The forward builds every corner from per-axis pairs and gathers by one take; these tests check
it against PyTorch (values, both gradients, nan / inf / on-pixel grids) and, bit for bit,
against a plain corner-by-corner NumPy reference written here (each weight the product of
1 - frac or frac per axis, left to right; the corners added in itertools.product order).
"""

import itertools
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import sampling

torch = pytest.importorskip("torch")

PADDINGS = ["zeros", "border", "reflection"]


def _grid(rng, shape, dtype, kind):
    g = rng.uniform(-2.2, 2.2, shape).astype(dtype)
    if kind == "specials":
        flat = g.reshape(-1)
        flat[[0, 3, 5]] = [np.nan, np.inf, -np.inf]
        flat[7] = 0.0
    elif kind == "quarters":  # (on pixel centres, corners and half-way points)
        g = (np.round(g * 4) / 4).astype(dtype)
    return g


def _pair(x, g, w, **kw):
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    tout = torch.nn.functional.grid_sample(tx, tg, **kw)
    (tout * torch.tensor(w)).sum().backward()
    dx, dgr = dg.tensor(x, requires_grad=True), dg.tensor(g, requires_grad=True)
    dout = dg.nn.functional.grid_sample(dx, dgr, **kw)
    (dout * dg.tensor(w)).sum().backward()
    return [(dout.detach().numpy(), tout.detach().numpy()), (dx.grad.numpy(), tx.grad.numpy()),
            (dgr.grad.numpy(), tg.grad.numpy())]


# (nan / inf grid points only with zeros padding: PyTorch 2.13's border and reflection
# kernels read out of bounds there, a crash, not a reference)
CASES = [(padding, kind) for padding in PADDINGS for kind in ("uniform", "quarters")] + [
    ("zeros", "specials")]


@pytest.mark.parametrize("align_corners", [False, True], ids=["centres", "corners"])
@pytest.mark.parametrize(("padding_mode", "kind"), CASES, ids=[f"{p}-{k}" for p, k in CASES])
@pytest.mark.parametrize("dims", [2, 3], ids=["2d", "3d"])
def test_bilinear_matches_torch(dims, padding_mode, kind, align_corners):
    rng = np.random.default_rng(dims * 31 + len(padding_mode) + 7 * align_corners + len(kind))
    spatial = (5, 7) if dims == 2 else (3, 4, 5)
    points = (4, 6) if dims == 2 else (2, 3, 4)
    x = rng.standard_normal((2, 3, *spatial))
    g = _grid(rng, (2, *points, dims), np.float64, kind)
    w = rng.standard_normal((2, 3, *points))
    for ours, theirs in _pair(x, g, w, mode="bilinear", padding_mode=padding_mode,
                              align_corners=align_corners):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_bilinear_float32_tutorial_shape_matches_torch(padding_mode):
    # The spatial-transformer tutorial's shapes (smaller batch), float32, a non-contiguous input.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 2, 28, 28)).astype(np.float32)
    g = rng.uniform(-1.1, 1.1, (4, 28, 28, 2)).astype(np.float32)
    w = rng.standard_normal((4, 2, 28, 28)).astype(np.float32)
    dx = dg.tensor(np.ascontiguousarray(x.transpose(1, 0, 2, 3))).transpose(0, 1)
    assert not dx.is_contiguous()
    out = dg.nn.functional.grid_sample(dx, dg.tensor(g), padding_mode=padding_mode,
                                       align_corners=False)
    expected = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(g),
                                               padding_mode=padding_mode, align_corners=False)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    for ours, theirs in _pair(x, g, w, padding_mode=padding_mode, align_corners=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def _reference_forward(x, g, padding_mode, align_corners):
    """Corner by corner, as grid_sample's taps were made before the stacked form."""
    batch, channels, *spatial = x.shape
    dims = len(spatial)
    points = g.shape[1:-1]
    flat_grid = g.reshape(batch, -1, dims)
    coords = [sampling._source_coordinates(flat_grid[..., dims - 1 - axis], size, padding_mode,
                                           align_corners, dims == 2)[0]  # (2-d: fused, as torch)
              for axis, size in enumerate(spatial)]
    low = [np.floor(c) for c in coords]
    frac = [c - lo for c, lo in zip(coords, low)]
    low = [lo.astype(np.int64) for lo in low]
    values = x.reshape(batch, channels, -1)
    out = None
    for corner in itertools.product((0, 1), repeat=dims):
        index = [lo + b for lo, b in zip(low, corner)]
        valid = np.ones(coords[0].shape, bool)
        for i, size in zip(index, spatial):
            valid &= (i >= 0) & (i < size)
        flat = np.zeros(coords[0].shape, np.int64)
        for i, size in zip(index, spatial):
            flat = flat * size + np.clip(i, 0, size - 1)
        weight = 1
        for f, b in zip(frac, corner):
            weight = weight * (f if b else 1 - f)
        weight = weight * valid.astype(x.dtype)
        rows = np.arange(batch)[:, None, None]
        term = weight[:, None, :] * values[rows, np.arange(channels)[None, :, None],
                                           flat[:, None, :]]
        out = (0.0 + term) if out is None else out + term  # (NumPy's sum starts at +0)
    return out.reshape(batch, channels, *points)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("dims", [2, 3], ids=["2d", "3d"])
def test_bilinear_forward_bits_match_corner_by_corner(dims, padding_mode, dtype):
    rng = np.random.default_rng(dims + len(padding_mode))
    spatial = (6, 5) if dims == 2 else (4, 3, 5)
    points = (3, 7) if dims == 2 else (2, 3, 3)
    x = rng.standard_normal((2, 3, *spatial)).astype(dtype)
    for kind in ("uniform", "quarters"):
        g = _grid(rng, (2, *points, dims), dtype, kind)
        for align_corners in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = _reference_forward(x, g, padding_mode, align_corners)
            out = dg.nn.functional.grid_sample(dg.tensor(x), dg.tensor(g),
                                               padding_mode=padding_mode,
                                               align_corners=align_corners).numpy()
            assert out.dtype == expected.dtype
            assert out.tobytes() == expected.tobytes()


def test_gather_is_the_fancy_index():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((3, 2, 20)).astype(np.float32)
    flats = rng.integers(0, 20, (4, 3, 9))
    rows, channels = np.arange(3)[:, None, None], np.arange(2)[None, :, None]
    expected = values[rows, channels, flats[:, :, None, :]]
    assert np.array_equal(sampling._gather(values, flats), expected)
    view = values.transpose(1, 0, 2)[:, ::-1].transpose(1, 0, 2)  # (a non-contiguous input)
    assert np.array_equal(sampling._gather(view, flats), view[rows, channels, flats[:, :, None, :]])


@pytest.mark.parametrize("dims", [2, 3], ids=["2d", "3d"])
def test_bilinear_double_backward_gradcheck(dims):
    rng = np.random.default_rng(11)
    spatial = (3, 4) if dims == 2 else (2, 3, 3)
    x = dg.tensor(rng.standard_normal((1, 2, *spatial)), requires_grad=True)
    # (points away from pixel lines: the weights are smooth there)
    g = dg.tensor(rng.uniform(-0.9, 0.9, (1, 2, 3, dims) if dims == 2 else (1, 2, 2, 2, dims)),
                  requires_grad=True)

    def f(x, g):
        return dg.nn.functional.grid_sample(x, g, padding_mode="border", align_corners=False)
    assert dg.autograd.gradcheck(f, (x, g))
    assert dg.autograd.gradgradcheck(f, (x, g))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e30],
                         ids=["nan", "inf", "-inf", "big"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_nonfinite_grid_point_sends_x_no_gradient(mode, value):
    # Before: a nan / inf point's taps (nan weight times a zero mask) sent nan into the
    # clamped elements of x.grad, where PyTorch's masked scatter sends nothing.
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    g = np.array([[[[value, 0.2], [0.1, -0.3]], [[0.5, value], [value, value]]]])
    w = np.linspace(-1.0, 1.0, 4).reshape(1, 1, 2, 2)
    for align_corners in (False, True):
        for ours, theirs in _pair(x, g, w, mode=mode, padding_mode="zeros",
                                  align_corners=align_corners):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    dx = dg.tensor(x, requires_grad=True)
    dg.nn.functional.grid_sample(dx, dg.tensor(g), mode=mode, align_corners=False).sum().backward()
    assert np.isfinite(dx.grad.numpy()).all()


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("dims", [2, 3], ids=["2d", "3d"])
def test_taps_outside_read_nothing(dims, mode):
    # Before: a tap outside the input read its clamped element, so an inf there gave 0 * inf =
    # nan (PyTorch: 0), and 3-d nan / inf grid points gave nan where PyTorch's 3-d kernel,
    # which skips outside corners, gives 0 (values and both gradients).
    if mode == "bicubic" and dims == 3:
        pytest.skip("bicubic is 2-d only")
    shape = (1, 2, 3, 4) if dims == 2 else (1, 2, 2, 3, 4)
    x = np.arange(float(np.prod(shape))).reshape(shape)
    x.reshape(-1)[[0, 13]] = [np.inf, -np.inf]
    points = [[-1.6] * dims, [0.1] * dims, [1.7] * dims, [np.nan] + [0.2] * (dims - 1),
              [0.3] * (dims - 1) + [np.inf]]
    g = np.array(points).reshape((1, 5) + (1,) * (dims - 1) + (dims,))
    w = np.linspace(-1.0, 1.0, 10).reshape((1, 2, 5) + (1,) * (dims - 1))
    for align_corners in (False, True):
        for ours, theirs in _pair(x, g, w, mode=mode, padding_mode="zeros",
                                  align_corners=align_corners):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
