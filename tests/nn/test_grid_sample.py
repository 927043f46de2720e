"""affine_grid and grid_sample against PyTorch: values, gradients, errors, gradcheck."""

import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

MODES = ["bilinear", "nearest"]
PADDINGS = ["zeros", "border", "reflection"]


def _np(t):
    return t.detach().numpy()


def _grid_sample_pair(x, g, weights, **kwargs):
    """Run both libraries on the same arrays; return (values, input grads, grid grads) pairs."""
    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(g, requires_grad=True)
    tout = TF.grid_sample(tx, tg, **kwargs)
    (tout * torch.tensor(weights)).sum().backward()
    dx = dg.tensor(x, requires_grad=True)
    dgrid = dg.tensor(g, requires_grad=True)
    dout = F.grid_sample(dx, dgrid, **kwargs)
    (dout * dg.tensor(weights)).sum().backward()
    return ((dout, tout), (dx.grad, tx.grad), (dgrid.grad, tg.grad))


@pytest.mark.parametrize("spatial", [(5, 6), (3, 4, 5)], ids=["2d", "3d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(spatial, mode, padding_mode, align_corners):
    rng = np.random.default_rng(len(spatial) * 100 + len(mode) + len(padding_mode))
    x = rng.standard_normal((2, 3, *spatial))
    # Points well outside [-1, 1] exercise the padding modes (several reflections).
    g = rng.uniform(-2.5, 2.5, (2, *spatial[:-1][::-1], 3, len(spatial)))
    weights = rng.standard_normal((2, 3, *g.shape[1:-1]))
    for ours, theirs in _grid_sample_pair(x, g, weights, mode=mode, padding_mode=padding_mode,
                                          align_corners=align_corners):
        assert ours.dtype == dg.float64 and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_grid_sample_float32(padding_mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 4)).astype(np.float32)
    g = rng.uniform(-1.3, 1.3, (1, 3, 5, 2)).astype(np.float32)
    weights = rng.standard_normal((1, 2, 3, 5)).astype(np.float32)
    for ours, theirs in _grid_sample_pair(x, g, weights, padding_mode=padding_mode,
                                          align_corners=False):
        assert ours.dtype == dg.float32
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-4, atol=1e-5)


def test_grid_sample_exact_pixel_centres_and_edges():
    # Grid points exactly on pixel centres, on the border and half-way: the ties of floor,
    # rint (half to even) and the clip derivative at the border.
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    xs = np.array([-1.0, -0.75, -0.25, 0.0, 0.25, 0.5, 1.0])
    g = np.stack(np.meshgrid(xs, xs[::2]), axis=-1)[None]
    weights = np.ones((1, 1, *g.shape[1:3]))
    for mode in MODES:
        for padding_mode in PADDINGS:
            for align_corners in (False, True):
                pairs = _grid_sample_pair(x, g, weights, mode=mode, padding_mode=padding_mode,
                                          align_corners=align_corners)
                for ours, theirs in pairs:
                    np.testing.assert_allclose(_np(ours), _np(theirs), atol=1e-12)


def test_grid_sample_unit_and_empty_sizes():
    rng = np.random.default_rng(2)
    for spatial in [(1, 1), (1, 5), (4, 1)]:
        for padding_mode in PADDINGS:
            for align_corners in (False, True):
                x = rng.standard_normal((2, 2, *spatial))
                g = rng.uniform(-1.5, 1.5, (2, 3, 2, 2))
                weights = rng.standard_normal((2, 2, 3, 2))
                for ours, theirs in _grid_sample_pair(x, g, weights, padding_mode=padding_mode,
                                                      align_corners=align_corners):
                    np.testing.assert_allclose(_np(ours), _np(theirs), atol=1e-12)
    # Empty batch and empty output grid: empty results of the right shape.
    x = rng.standard_normal((2, 3, 4, 5))
    empty = F.grid_sample(dg.tensor(x), dg.zeros(2, 0, 7, 2, dtype=dg.float64),
                          align_corners=False)
    assert tuple(empty.shape) == (2, 3, 0, 7)
    empty = F.grid_sample(dg.tensor(x[:0]), dg.zeros(0, 6, 7, 2, dtype=dg.float64),
                          align_corners=False)
    assert tuple(empty.shape) == (0, 3, 6, 7)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_grid_sample_gradcheck(mode, padding_mode):
    rng = np.random.default_rng(3)
    x = dg.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    # Keep points away from integer pixel positions and reflection folds, where the
    # interpolation is not differentiable and central differences straddle a kink.
    g = dg.tensor(np.array([[[[0.13, -0.41], [0.77, 0.29]], [[-0.62, 0.58], [1.31, -1.17]]]]),
                  requires_grad=True)
    assert dg.gradcheck(lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode=padding_mode,
                                                   align_corners=False), (x, g))


def test_grid_sample_double_backward_matches_torch():
    # (was NotImplementedError; now the rule is recorded under create_graph: s16 RV)
    rng = np.random.default_rng(4)
    xa, ga = rng.standard_normal((1, 1, 3, 3)), rng.uniform(-1, 1, (1, 2, 2, 2))
    results = []
    for lib in (torch, dg):
        x = lib.tensor(xa, requires_grad=True)
        g = lib.tensor(ga, requires_grad=True)
        # d out / d x depends on the grid, and d out / d grid on both.
        out = lib.nn.functional.grid_sample(x, g, align_corners=True).sum()
        (gx,) = lib.autograd.grad(out, (x,), create_graph=True)
        second_x = lib.autograd.grad((gx * gx).sum(), (g,))[0]
        out = (lib.nn.functional.grid_sample(x, g, align_corners=True) ** 2).sum()
        (gg,) = lib.autograd.grad(out, (g,), create_graph=True)
        second_g = lib.autograd.grad(gg.sum(), (x, g))
        results.append([t.numpy() for t in (second_x, *second_g)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_grid_sample_errors_match_torch():
    x4, g4 = np.zeros((2, 3, 4, 5)), np.zeros((2, 6, 7, 2))
    cases = [
        (x4[0], g4[0], {}),                              # 3-d input
        (x4, g4[..., :1], {}),                          # grid's last dimension
        (x4, g4[:1], {}),                               # batch sizes differ
        (x4[:, :, :0], g4, {}),                         # empty spatial dimension
        (x4, g4, {"mode": "linear"}),                   # unknown mode
        (x4, g4, {"padding_mode": "circular"}),         # unknown padding
        (x4[..., None], np.zeros((2, 1, 1, 1, 3)), {"mode": "bicubic"}),  # bicubic 5-d
    ]
    for x, g, kwargs in cases:
        with pytest.raises(Exception) as theirs:
            TF.grid_sample(torch.tensor(x), torch.tensor(g), align_corners=False, **kwargs)
        with pytest.raises(theirs.type):
            F.grid_sample(dg.tensor(x), dg.tensor(g), align_corners=False, **kwargs)
    with pytest.raises(RuntimeError):  # grid dtype differs from the input's
        F.grid_sample(dg.tensor(x4), dg.tensor(g4.astype(np.float32)), align_corners=False)


def test_align_corners_none_warns_and_means_false():
    x = dg.randn(1, 1, 3, 3)
    g = dg.rand(1, 2, 2, 2) * 2 - 1
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        default = F.grid_sample(x, g)
    np.testing.assert_array_equal(default.numpy(),
                                  F.grid_sample(x, g, align_corners=False).numpy())
    theta = dg.tensor([[[1.0, 0.2, 0.1], [0.0, 0.9, -0.3]]])
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        default = F.affine_grid(theta, (1, 1, 3, 4))
    np.testing.assert_array_equal(default.numpy(),
                                  F.affine_grid(theta, (1, 1, 3, 4), align_corners=False).numpy())


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 3, 4, 5, 6), (2, 1, 1, 2, 1)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(size, align_corners):
    rng = np.random.default_rng(len(size))
    theta = rng.standard_normal((2, len(size) - 2, len(size) - 1))
    tt = torch.tensor(theta, requires_grad=True)
    dt = dg.tensor(theta, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit sizes with align_corners warn in both
        tout = TF.affine_grid(tt, size, align_corners=align_corners)
        dout = F.affine_grid(dt, size, align_corners=align_corners)
    weights = rng.standard_normal(tuple(tout.shape))
    (tout * torch.tensor(weights)).sum().backward()
    (dout * dg.tensor(weights)).sum().backward()
    assert tuple(dout.shape) == tuple(tout.shape) and dout.dtype == dg.float64
    np.testing.assert_allclose(dout.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dt.grad.numpy(), tt.grad.numpy(), rtol=1e-12, atol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert dg.gradcheck(lambda t: F.affine_grid(t, size, align_corners=align_corners),
                            (dg.tensor(theta, requires_grad=True),))


def test_affine_grid_errors_match_torch():
    cases = [
        (np.zeros((2, 2, 3), dtype=np.int64), (2, 3, 4, 5)),  # integer theta
        (np.zeros((2, 3, 4)), (2, 3, 4, 5)),                 # 3-d theta for a 2-d size
        (np.zeros((2, 2, 3)), (2, 3, 4, 5, 6)),              # 2-d theta for a 3-d size
        (np.zeros((2, 2, 3)), (2, 3, 5)),                    # 3-element size
        (np.zeros((2, 2, 3)), (2, 3, 0, 4)),                 # empty output
        (np.zeros((2, 2, 3)), (3, 3, 5, 4)),                 # batch sizes differ
    ]
    for theta, size in cases:
        with pytest.raises(Exception) as theirs:
            TF.affine_grid(torch.tensor(theta), size, align_corners=False)
        with pytest.raises(theirs.type):
            F.affine_grid(dg.tensor(theta), size, align_corners=False)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_spatial_transformer_tutorial_usage(dtype, tol):
    # The PyTorch spatial-transformer tutorial: theta from a localisation net, then
    # affine_grid + grid_sample on the batch; gradients reach the localisation weights.
    rng = np.random.default_rng(4)
    images = rng.standard_normal((4, 1, 28, 28)).astype(dtype)
    w = rng.standard_normal((6, 28 * 28)).astype(dtype) * 0.01
    b = np.array([1, 0, 0, 0, 1, 0], dtype=dtype)
    results = []
    for lib, fn in ((torch, TF), (dg, F)):
        x = lib.tensor(images)
        weight = lib.tensor(w, requires_grad=True)
        bias = lib.tensor(b, requires_grad=True)
        theta = fn.linear(x.view(-1, 28 * 28), weight, bias).view(-1, 2, 3)
        grid = fn.affine_grid(theta, x.size(), align_corners=False)
        out = fn.grid_sample(x, grid, align_corners=False)
        (out ** 2).mean().backward()
        results.append((out.detach().numpy(), weight.grad.numpy(), bias.grad.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        # float32: the weight gradient sums 3136 products, so compare at the gradient's scale.
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * np.abs(theirs).max())
