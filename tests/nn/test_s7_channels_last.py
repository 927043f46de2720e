"""Channels-last layouts kept as PyTorch keeps them: a 4-D channels-last input (an NHWC image
``permute(0, 3, 1, 2)``, or ``.to(memory_format=channels_last)``) gives channels-last outputs
from conv2d / conv_transpose2d, batch_norm, group_norm and the 2-d poolings, so that a dropout
drawn afterwards (a mask filled in memory order) is PyTorch's with the same seed."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn.conv2d_kernels import channels_last_like, in_channels_last

torch = pytest.importorskip("torch")


def _nhwc(module, array: np.ndarray, how: str):
    """``array`` [N, C, H, W] as a tensor of ``module`` in the layout ``how``."""
    if how == "permute":
        return module.tensor(np.ascontiguousarray(array.transpose(0, 2, 3, 1))).permute(0, 3, 1, 2)
    if how == "memory_format":
        return module.tensor(array).to(memory_format=module.channels_last)
    if how == "sliced":  # channels-last strides, not dense
        wide = np.ascontiguousarray(np.repeat(array, 2, axis=3).transpose(0, 2, 3, 1))
        return module.tensor(wide).permute(0, 3, 1, 2)[:, :, :, ::2]
    return module.tensor(array)


def _conv_weight(rng, dtype):
    return rng.standard_normal((4, 3, 3, 3)).astype(dtype)


# op name -> fn(module, F, x, rng-made constants); each gets a fresh rng so both libraries see
# the same constants.
def _ops(dtype):
    rng = np.random.default_rng(1)
    w = _conv_weight(rng, dtype)
    b = rng.standard_normal(4).astype(dtype)
    wt = rng.standard_normal((3, 5, 3, 3)).astype(dtype)
    wg = rng.standard_normal((6, 1, 3, 3)).astype(dtype)
    affine = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    running = rng.standard_normal(3).astype(dtype), rng.uniform(0.5, 2, 3).astype(dtype)
    return {
        "conv2d": lambda m, F, x: F.conv2d(x, m.tensor(w), m.tensor(b), padding=1),
        "conv2d_stride2": lambda m, F, x: F.conv2d(x, m.tensor(w), stride=2),
        "conv2d_1x1": lambda m, F, x: F.conv2d(x, m.tensor(w[:, :, :1, :1])),
        "conv2d_groups": lambda m, F, x: F.conv2d(x, m.tensor(wg), groups=3, padding=1),
        "conv_transpose2d": lambda m, F, x: F.conv_transpose2d(x, m.tensor(wt), stride=2),
        "conv_transpose2d_bias": lambda m, F, x: F.conv_transpose2d(
            x, m.tensor(wt), m.tensor(b[:1].repeat(5)), padding=1),
        "batch_norm_train": lambda m, F, x: F.batch_norm(
            x, None, None, m.tensor(affine[0]), m.tensor(affine[1]), training=True),
        "batch_norm_eval": lambda m, F, x: F.batch_norm(
            x, m.tensor(running[0]), m.tensor(running[1]), m.tensor(affine[0]),
            m.tensor(affine[1])),
        "Conv2d_reflect": lambda m, F, x: _reflect_conv(m)(x),
        "BatchNorm2d": lambda m, F, x: m.nn.BatchNorm2d(3, dtype=x.dtype)(x),
        "BatchNorm2d_eval": lambda m, F, x: m.nn.BatchNorm2d(3, dtype=x.dtype).eval()(x),
        "group_norm": lambda m, F, x: F.group_norm(x, 3, m.tensor(affine[0]),
                                                   m.tensor(affine[1])),
        "group_norm_1": lambda m, F, x: F.group_norm(x, 1),
        "max_pool2d": lambda m, F, x: F.max_pool2d(x, 3, 2, 1),
        "max_pool2d_indices": lambda m, F, x: F.max_pool2d(x, 2, return_indices=True)[1] + 0.0,
        "avg_pool2d": lambda m, F, x: F.avg_pool2d(x, 2),
        "avg_pool2d_pad": lambda m, F, x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
        "adaptive_avg_pool2d": lambda m, F, x: F.adaptive_avg_pool2d(x, (3, 2)),
        "adaptive_avg_pool2d_1": lambda m, F, x: F.adaptive_avg_pool2d(x, 1),
        "adaptive_max_pool2d": lambda m, F, x: F.adaptive_max_pool2d(x, 3),
        "lp_pool2d": lambda m, F, x: F.lp_pool2d(x, 2, 2),
    }


OPS = list(_ops(np.float32))


def _reflect_conv(module):
    module.manual_seed(3)
    return module.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")


def _run(module, op: str, array: np.ndarray, how: str, grad: bool = True):
    F = module.nn.functional
    x = _nhwc(module, array, how)
    is_float = array.dtype.kind == "f"
    if grad and is_float:
        x.requires_grad_()
    module.manual_seed(0)
    y = _ops(array.dtype)[op](module, F, x)
    dropped = F.dropout(y, 0.5)
    if grad and is_float and dropped.requires_grad:
        (dropped * module.arange(dropped.numel(), dtype=dropped.dtype).reshape(
            dropped.shape)).sum().backward()
    return y, dropped, x.grad if grad and is_float else None


@pytest.mark.parametrize("how", ["permute", "memory_format"])
@pytest.mark.parametrize("op", OPS)
def test_layout_and_dropout_match_torch(op, how):
    array = np.random.default_rng(0).standard_normal((2, 3, 6, 7)).astype(np.float32)
    y_t, d_t, g_t = _run(torch, op, array, how)
    y_d, d_d, g_d = _run(dg, op, array, how)
    assert y_d.stride() == y_t.stride(), (y_d.stride(), y_t.stride())
    np.testing.assert_allclose(y_d.detach().numpy(), y_t.detach().numpy(), rtol=2e-4, atol=2e-4)
    # The point of it: the same mask from the same seed.
    np.testing.assert_array_equal(d_d.detach().numpy() == 0, d_t.detach().numpy() == 0)
    np.testing.assert_allclose(d_d.detach().numpy(), d_t.detach().numpy(), rtol=2e-4,
                               atol=2e-4)
    if g_t is not None:
        np.testing.assert_allclose(g_d.numpy(), g_t.numpy(), rtol=2e-4, atol=2e-3)


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d", "batch_norm_train", "group_norm",
                                "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"])
@pytest.mark.parametrize("how", ["sliced", "contiguous"])
def test_float64_sliced_and_contiguous_inputs(op, how):
    array = np.random.default_rng(2).standard_normal((2, 3, 6, 7))
    y_t, d_t, _ = _run(torch, op, array, how, grad=False)
    y_d, d_d, _ = _run(dg, op, array, how, grad=False)
    assert y_d.stride() == y_t.stride()
    np.testing.assert_allclose(d_d.numpy(), d_t.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_weight_layout_counts(dtype):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 5, 5)).astype(dtype), _conv_weight(rng, dtype)
    wt = rng.standard_normal((3, 4, 3, 3)).astype(dtype)
    for m in (torch, dg):
        m.manual_seed(0)
    outs = []
    for m in (torch, dg):
        F = m.nn.functional
        conv = F.conv2d(m.tensor(x), m.tensor(w).to(memory_format=m.channels_last))
        up = F.conv_transpose2d(m.tensor(x), m.tensor(wt).to(memory_format=m.channels_last))
        m.manual_seed(0)
        outs.append([conv.stride(), up.stride(), F.dropout(conv, 0.5).detach().numpy(),
                     F.dropout(up, 0.5).detach().numpy()])
    (cs_t, us_t, dc_t, du_t), (cs_d, us_d, dc_d, du_d) = outs
    assert (cs_d, us_d) == (cs_t, us_t)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(dc_d, dc_t, rtol=tol, atol=tol)
    np.testing.assert_allclose(du_d, du_t, rtol=tol, atol=tol)


def test_one_channel_nhwc_image_and_unbatched_and_empty():
    rng = np.random.default_rng(4)
    one = rng.standard_normal((1, 5, 5, 1)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    plain = rng.standard_normal((5, 5, 3)).astype(np.float32)
    w3 = _conv_weight(rng, np.float32)
    for case in range(4):
        strides = []
        for m in (torch, dg):
            F = m.nn.functional
            if case == 0:  # [1, 1, 5, 5] NHWC: channels-last (and row-major) in PyTorch
                y = F.conv2d(m.tensor(one).permute(0, 3, 1, 2), m.tensor(w))
            elif case == 1:  # unbatched [C, H, W] from HWC: row-major results
                y = F.conv2d(m.tensor(plain).permute(2, 0, 1), m.tensor(w3))
            elif case == 2:
                y = F.max_pool2d(m.tensor(plain).permute(2, 0, 1), 2)
            else:  # an empty batch is not channels-last
                y = F.conv2d(m.zeros(0, 3, 5, 5).to(memory_format=m.channels_last), m.tensor(w3))
            strides.append(y.stride())
        assert strides[0] == strides[1], (case, strides)


def test_unet_attention_tail_trains_as_torch():
    """The reported program: an attention block ending in ``res.permute(0, 2, 1).view(B, C, H,
    W)`` gives a channels-last map; conv + group_norm + dropout afterwards with one seed."""
    rng = np.random.default_rng(5)
    tokens = rng.standard_normal((2, 12, 4)).astype(np.float32)  # [B, H W, C]
    w = rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.3
    results = []
    for m in (torch, dg):
        F = m.nn.functional
        res = m.tensor(tokens).requires_grad_()
        image = res.permute(0, 2, 1).reshape(2, 4, 3, 4)
        m.manual_seed(0)
        y = F.dropout(F.group_norm(F.conv2d(image, m.tensor(w), padding=1), 2), 0.3)
        y = F.dropout(F.max_pool2d(y, 2), 0.3)
        y.square().sum().backward()
        results.append((y.detach().numpy(), res.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-4, atol=1e-4)


def test_channels_last_rule_matches_torch():
    """``channels_last_like`` and ``in_channels_last`` against PyTorch's own output strides,
    over permuted and sliced layouts with size-1 dims (its ambiguous cases)."""
    import itertools

    checked = 0
    for shape in itertools.product((1, 2, 3), repeat=4):
        for perm in itertools.permutations(range(4)):
            base = torch.zeros([shape[p] for p in perm], dtype=torch.float64)
            t = base.permute(*np.argsort(perm))
            for u in (t, t[:, :, :, ::2]):
                chosen = torch.nn.functional.max_pool2d(u, 1)
                mine = in_channels_last(np.zeros(tuple(u.shape)), channels_last_like(u.numpy()))
                if chosen.numel() > 1:
                    assert tuple(s // 8 for s in mine.strides) == chosen.stride(), (
                        tuple(u.shape), u.stride())
                    checked += 1
    assert checked > 1000
