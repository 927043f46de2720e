"""Channels-last layouts kept as PyTorch keeps them, part 2: F.pad (constant, reflect,
replicate; circular is row-major), F.interpolate, pixel_shuffle / pixel_unshuffle /
channel_shuffle, torch.cat and local_response_norm give PyTorch's output strides, so that a
dropout drawn afterwards (a mask filled in memory order) is PyTorch's with the same seed."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _layout(module, array: np.ndarray, how: str):
    """``array`` [N, C, *spatial] as a tensor of ``module`` in the layout ``how``."""
    last = (0, *range(2, array.ndim), 1)
    back = (0, array.ndim - 1, *range(1, array.ndim - 1))
    if how == "permute":  # an NHWC (NDHWC) array seen as NCHW
        return module.tensor(np.ascontiguousarray(array.transpose(last))).permute(*back)
    if how == "memory_format":
        fmt = module.channels_last if array.ndim == 4 else module.channels_last_3d
        return module.tensor(array).to(memory_format=fmt)
    if how == "sliced":  # channels-last strides, not dense
        wide = np.ascontiguousarray(np.repeat(array, 2, axis=-1).transpose(last))
        return module.tensor(wide).permute(*back)[..., ::2]
    if how == "transposed":  # another dense permutation (row-major in PyTorch's rules)
        return module.tensor(np.ascontiguousarray(array.swapaxes(-1, -2))).transpose(-1, -2)
    return module.tensor(array)


OPS = {
    "pad_constant": lambda m, F, x: F.pad(x, (1, 2, 0, 1)),
    "pad_constant_channels": lambda m, F, x: F.pad(x, (1, 0, 1, 1, 1, 1), value=2.5),
    "pad_crop_and_pad": lambda m, F, x: F.pad(x, (1, -1)),
    "pad_crop_only": lambda m, F, x: F.pad(x, (0, -1, -1, 0)),
    "pad_zero": lambda m, F, x: F.pad(x, (0, 0)),
    "pad_reflect": lambda m, F, x: F.pad(x, (1, 2, 2, 1), mode="reflect"),
    "pad_reflect_3d_of_4d": lambda m, F, x: F.pad(x, (1, 1, 1, 1, 1, 1), mode="reflect"),
    "pad_replicate": lambda m, F, x: F.pad(x, (1, 2, 2, 1), mode="replicate"),
    "pad_circular": lambda m, F, x: F.pad(x, (1, 2, 2, 1), mode="circular"),
    "nearest": lambda m, F, x: F.interpolate(x, scale_factor=2),
    "nearest_exact": lambda m, F, x: F.interpolate(x, size=(5, 9), mode="nearest-exact"),
    "bilinear": lambda m, F, x: F.interpolate(x, size=(5, 9), mode="bilinear"),
    "bilinear_corners": lambda m, F, x: F.interpolate(x, size=(9, 5), mode="bilinear",
                                                      align_corners=True),
    "bicubic": lambda m, F, x: F.interpolate(x, scale_factor=1.5, mode="bicubic"),
    "area": lambda m, F, x: F.interpolate(x, size=(3, 5), mode="area"),
    "pixel_shuffle": lambda m, F, x: F.pixel_shuffle(x, 2),
    "pixel_shuffle_1": lambda m, F, x: F.pixel_shuffle(x, 1),
    "pixel_unshuffle": lambda m, F, x: F.pixel_unshuffle(x, 2),
    "PixelShuffle": lambda m, F, x: m.nn.PixelShuffle(2)(x),
    "channel_shuffle": lambda m, F, x: F.channel_shuffle(x, 2),
    "local_response_norm": lambda m, F, x: F.local_response_norm(x, 3),
    "cat_1": lambda m, F, x: m.cat([x, x * 2], 1),
    "cat_0": lambda m, F, x: m.cat([x, x], 0),
    "cat_last": lambda m, F, x: m.cat((x, x), -1),
    "cat_one": lambda m, F, x: m.cat([x], 1),
    "cat_with_row_major": lambda m, F, x: m.cat([x, x.contiguous()], 1),
    "cat_with_empty": lambda m, F, x: m.cat([x, m.zeros(0), x], 1),
    "cat_promoted": lambda m, F, x: m.cat([x, x.double()], 1),
}


def _run(module, op: str, array: np.ndarray, how: str, grad: bool = True):
    F = module.nn.functional
    x = _layout(module, array, how)
    if grad:
        x.requires_grad_()
    y = OPS[op](module, F, x)
    module.manual_seed(0)
    dropped = F.dropout(y, 0.5)
    if grad:
        (dropped * module.arange(dropped.numel(), dtype=dropped.dtype).reshape(
            dropped.shape)).sum().backward()
    return y, dropped, x.grad if grad else None


def _compare(op, array, how, grad=True, tol=2e-4):
    y_t, d_t, g_t = _run(torch, op, array, how, grad)
    y_d, d_d, g_d = _run(dg, op, array, how, grad)
    assert y_d.stride() == y_t.stride(), (op, how, y_d.stride(), y_t.stride())
    assert str(y_d.dtype).split(".")[-1] == str(y_t.dtype).split(".")[-1]
    np.testing.assert_allclose(y_d.detach().numpy(), y_t.detach().numpy(), rtol=tol, atol=tol)
    # The point of it: the same mask from the same seed.
    np.testing.assert_array_equal(d_d.detach().numpy() == 0, d_t.detach().numpy() == 0)
    np.testing.assert_allclose(d_d.detach().numpy(), d_t.detach().numpy(), rtol=tol, atol=tol)
    if grad:
        np.testing.assert_allclose(g_d.numpy(), g_t.numpy(), rtol=tol, atol=10 * tol)


@pytest.mark.parametrize("how", ["permute", "memory_format", "sliced", "contiguous"])
@pytest.mark.parametrize("op", list(OPS))
def test_layout_dropout_and_grad_match_torch(op, how):
    array = np.random.default_rng(0).standard_normal((2, 4, 6, 8)).astype(np.float32)
    _compare(op, array, how)


@pytest.mark.parametrize("op", ["pad_constant", "pad_crop_only", "pad_reflect", "bilinear",
                                "pixel_unshuffle", "local_response_norm", "cat_1"])
def test_float64_and_transposed_inputs(op):
    array = np.random.default_rng(1).standard_normal((2, 4, 6, 8))
    for how in ("permute", "transposed"):
        _compare(op, array, how, tol=1e-10)


FIVE_D = {
    "pad_constant": lambda m, F, x: F.pad(x, (1, 0, 0, 2)),
    "pad_reflect": lambda m, F, x: F.pad(x, (1, 1, 1, 0, 0, 1), mode="reflect"),
    "pad_replicate": lambda m, F, x: F.pad(x, (1, 1, 1, 0, 0, 1), mode="replicate"),
    "pad_circular": lambda m, F, x: F.pad(x, (1, 1, 1, 0, 0, 1), mode="circular"),
    "nearest": lambda m, F, x: F.interpolate(x, scale_factor=2),
    "trilinear": lambda m, F, x: F.interpolate(x, size=(3, 4, 7), mode="trilinear"),
    "area": lambda m, F, x: F.interpolate(x, size=(1, 2, 3), mode="area"),
    "channel_shuffle": lambda m, F, x: F.channel_shuffle(x, 2),
    "local_response_norm": lambda m, F, x: F.local_response_norm(x, 2),
    "cat": lambda m, F, x: m.cat([x, x], 1),
    "cat_mixed": lambda m, F, x: m.cat([x, x.contiguous()], 2),
}


@pytest.mark.parametrize("how", ["memory_format", "permute", "contiguous"])
@pytest.mark.parametrize("op", list(FIVE_D))
def test_channels_last_3d(op, how):
    array = np.random.default_rng(2).standard_normal((2, 4, 2, 3, 4)).astype(np.float32)
    strides, masks = [], []
    for m in (torch, dg):
        y = FIVE_D[op](m, m.nn.functional, _layout(m, array, how))
        m.manual_seed(0)
        strides.append(y.stride())
        masks.append(m.nn.functional.dropout(y, 0.5).numpy())
    assert strides[0] == strides[1], (op, how, strides)
    np.testing.assert_allclose(masks[1], masks[0], rtol=1e-5, atol=1e-5)


def test_pixel_shuffles_refuse_channels_last_3d_as_torch():
    x5 = np.zeros((2, 3, 4, 4, 4), np.float32)
    for m in (torch, dg):
        x = m.tensor(x5).to(memory_format=m.channels_last_3d)
        with pytest.raises(RuntimeError, match="Unsupported memory format"):
            m.nn.functional.pixel_shuffle(x, 2)
        with pytest.raises(RuntimeError, match="Unsupported memory format"):
            m.nn.functional.pixel_unshuffle(x, 2)
        # A row-major 5-D input is a batch of images, as in PyTorch.
        assert m.nn.functional.pixel_shuffle(m.tensor(x5), 2).shape == (2, 3, 1, 8, 8)


def test_unbatched_and_size_one_layouts():
    """3-D inputs (row-major results, except where PyTorch keeps the input's strides) and the
    size-1 dims that PyTorch's layout rule reads (a one-channel NHWC image, [N, C, 1, 1])."""
    rng = np.random.default_rng(3)
    hwc = rng.standard_normal((6, 8, 4)).astype(np.float32)
    one = rng.standard_normal((2, 6, 8, 1)).astype(np.float32)
    pooled = rng.standard_normal((2, 1, 1, 4)).astype(np.float32)
    cases = [
        lambda m, F: F.pad(m.tensor(hwc).permute(2, 0, 1), (1, 1)),
        lambda m, F: F.pad(m.tensor(hwc).permute(2, 0, 1), (0, 0)),
        lambda m, F: F.pad(m.tensor(hwc).permute(2, 0, 1), (1, 1), mode="reflect"),
        lambda m, F: F.pad(m.tensor(hwc).permute(2, 0, 1), (0, -1)),
        lambda m, F: F.local_response_norm(m.tensor(hwc).permute(2, 0, 1), 2),
        lambda m, F: F.pixel_shuffle(m.tensor(hwc).permute(2, 0, 1), 2),
        lambda m, F: F.channel_shuffle(m.tensor(hwc).permute(2, 0, 1), 2),
        lambda m, F: m.cat([m.tensor(hwc).permute(2, 0, 1)] * 2, 0),
        lambda m, F: F.pad(m.tensor(one).permute(0, 3, 1, 2), (1, 1, 1, 1, 1, 1)),
        lambda m, F: F.interpolate(m.tensor(one).permute(0, 3, 1, 2), scale_factor=2),
        lambda m, F: F.interpolate(m.tensor(one).permute(0, 3, 1, 2), size=(3, 4), mode="area"),
        lambda m, F: F.pixel_unshuffle(m.tensor(one).permute(0, 3, 1, 2), 2),
        lambda m, F: m.cat([m.tensor(one).permute(0, 3, 1, 2)] * 2, 1),
        lambda m, F: F.local_response_norm(m.tensor(one).permute(0, 3, 1, 2), 2),
        lambda m, F: m.cat([m.tensor(pooled).permute(0, 3, 1, 2)] * 2, 1),
        lambda m, F: m.cat([m.tensor(pooled).reshape(2, 4, 1, 1)] * 2, 1),
        lambda m, F: F.pad(m.tensor(pooled).permute(0, 3, 1, 2), (1, 1)),
    ]
    for i, case in enumerate(cases):
        results = []
        for m in (torch, dg):
            y = case(m, m.nn.functional)
            m.manual_seed(0)
            results.append((y.stride(), m.nn.functional.dropout(y, 0.5).numpy()))
        assert results[0][0] == results[1][0], (i, results[0][0], results[1][0])
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-5)


def test_shuffles_return_new_tensors():
    """A factor (or group count) of 1 gives a copy in PyTorch: writing to it leaves the input."""
    for m in (torch, dg):
        F = m.nn.functional
        for x in (m.ones(2, 4, 2, 2), m.ones(2, 2, 2, 4).permute(0, 3, 1, 2)):
            for y in (F.pixel_shuffle(x, 1), F.pixel_unshuffle(x, 1), F.channel_shuffle(x, 1)):
                y.mul_(3)
                assert float(x.sum()) == 32.0
