"""Session 30 BR24: torch._C._nn (ATen's nn bindings), float16 overflow warnings, checked
against PyTorch 2.13 on the same inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(2430)


def _arr(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


X4 = _arr(2, 3, 6, 6)
X5 = _arr(1, 2, 4, 5, 6)
X3 = _arr(2, 3, 7)
X2 = _arr(4, 5)
P2 = RNG.uniform(0.05, 0.95, (4, 5)).astype(np.float32)
T2 = (RNG.uniform(0, 1, (4, 5)) > 0.5).astype(np.float32)
W = _arr(3, 7)
B = _arr(3)
CLS = np.array([0, 4, 2, 1], dtype=np.int64)
CLS4 = RNG.integers(0, 3, (2, 6, 6)).astype(np.int64)
ML = np.array([[3, 0, -1, 1, 2], [1, 2, 3, -1, 0], [4, -1, 0, 0, 0], [0, 1, 2, 3, 4]],
              dtype=np.int64)
Q = _arr(2, 3, 4, 8)
WC, WC3, WT, WT3, B2 = _arr(2, 3, 3, 3), _arr(3, 2, 2, 2, 2), _arr(3, 2, 3, 3), \
    _arr(2, 3, 2, 2, 2), _arr(2)
FLOATS = ("X4", "X5", "X3", "X2", "P2", "T2", "W", "B", "Q", "WC", "WC3", "WT", "WT3", "B2")

# name: (args as array names / literals, kwargs)
CASES = {
    "gelu": (["X2"], {}), "gelu_tanh": (["X2"], {"approximate": "tanh"}),
    "elu": (["X2", 0.7], {}), "elu_scaled": (["X2", 0.7, 1.5, 0.5], {}),
    "leaky_relu": (["X2", 0.2], {}), "hardtanh": (["X2", -0.5, 1.2], {}),
    "softplus": (["X2", 2.0, 3.0], {}), "softshrink": (["X2", 0.3], {}),
    "log_sigmoid": (["X2"], {}), "glu": (["X4", 3], {}),
    "hardsigmoid": (["X2"], {}), "hardswish": (["X2"], {}), "mish": (["X2"], {}),
    "silu": (["X2"], {}), "relu6": (["X2"], {}),
    "linear": (["X3", "W", "B"], {}), "linear_nobias": (["X3", "W"], {}),
    "scaled_dot_product_attention": (["Q", "Q", "Q"], {"is_causal": True}),
    "pad": (["X4", [1, 2, 0, 1]], {"value": 0.5}),
    "pad_reflect": (["X4", [1, 2, 2, 0]], {"mode": "reflect"}),
    "_pad_enum_reflect": (["X4", [1, 2, 2, 1], 0], {}),
    "_pad_enum_replicate": (["X4", [1, 2, 2, 1], 1], {}),
    "_pad_enum_constant": (["X4", [1, 2, 2, 1], 3, 0.25], {}),
    "mse_loss_mean": (["X2", "P2", 1], {}),
    "_pad_enum": (["X4", [1, 2, 2, 1], 2], {}), "_pad_circular": (["X4", [1, 1, 2, 0]], {}),
    "reflection_pad1d": (["X3", [2, 1]], {}), "reflection_pad2d": (["X4", [1, 2, 2, 1]], {}),
    "reflection_pad3d": (["X5", [1, 1, 1, 0, 2, 1]], {}),
    "replication_pad1d": (["X3", [2, 3]], {}), "replication_pad2d": (["X4", [1, 0, 3, 1]], {}),
    "replication_pad3d": (["X5", [1, 2, 0, 1, 1, 1]], {}),
    "mse_loss": (["X2", "P2"], {}), "mse_loss_sum": (["X2", "P2", 2], {}),
    "l1_loss_default": (["X2", "P2"], {}),
    "nll_loss_default": (["X2", "CLS"], {}),
    "l1_loss": (["X2", "P2", 0], {}), "smooth_l1_loss": (["X2", "P2", 1, 0.5], {}),
    "huber_loss": (["X2", "P2", 2, 0.7], {}), "soft_margin_loss": (["X2", "T2", 1], {}),
    "binary_cross_entropy": (["P2", "T2", None, 2], {}),
    "multi_margin_loss": (["X2", "CLS", 2, 0.5, None, 0], {}),
    "multilabel_margin_loss": (["X2", "ML", 1], {}),
    "nll_loss": (["X2", "CLS", None, 2, 1], {}), "nll_loss2d": (["X4", "CLS4"], {}),
    "nll_loss_nd": (["X4", "CLS4", None, 0], {}),
    "cross_entropy_loss": (["X2", "CLS", None, 1, -100, 0.1], {}),
    "avg_pool2d": (["X4", [3, 3], [], 1, True, False], {}),
    "avg_pool3d": (["X5", [2, 2, 2], [1, 2, 2]], {}),
    "adaptive_avg_pool2d": (["X4", [4, 3]], {}), "adaptive_avg_pool3d": (["X5", [2, 3, 3]], {}),
    "adaptive_max_pool2d": (["X4", [4, 3]], {}), "adaptive_max_pool3d": (["X5", [2, 3, 3]], {}),
    "max_pool2d_with_indices": (["X4", [3, 3], [2, 2], 1], {}),
    "max_pool3d_with_indices": (["X5", [2, 2, 2]], {}),
    "im2col": (["X4", [2, 3], [1, 1], [1, 0], [2, 1]], {}),
    "col2im": (["COLS", [4, 5], [2, 2], [1, 1], [0, 0], [1, 1]], {}),
    "upsample_nearest2d": (["X4", [9, 7]], {}),
    "upsample_nearest2d_vec": (["X4", None, [1.5, 2.0]], {}),
    "upsample_nearest1d_scales": (["X3", [14], 2.0], {}),
    "_upsample_nearest_exact2d": (["X4", [8, 5]], {}),
    "upsample_linear1d": (["X3", [11], True], {}),
    "upsample_bilinear2d": (["X4", [9, 10], False], {}),
    "upsample_bilinear2d_vec": (["X4", None, True, [2.0, 1.5]], {}),
    "upsample_bicubic2d": (["X4", [8, 9], False], {}),
    "upsample_trilinear3d": (["X5", [5, 6, 7], True], {}),
    "upsample_nearest3d": (["X5", [6, 6, 3]], {}),
    "thnn_conv2d": (["X4", "WC", [3, 3], "B2"], {}),
    "slow_conv_dilated2d": (["X4", "WC", [3, 3], None, 1, 1, 2], {}),
    "slow_conv3d": (["X5", "WC3", [2, 2, 2]], {}),
    "slow_conv_dilated3d": (["X5", "WC3", [2, 2, 2], None, [1, 2, 1], 1, [1, 1, 2]], {}),
    "slow_conv_transpose2d": (["X4", "WT", [3, 3], "B2", 2, 1, 1, 1], {}),
    "slow_conv_transpose3d": (["X5", "WT3", [2, 2, 2]], {}),
}
COLS = _arr(1, 12, 12)  # im2col of (1, 3, 4, 5) with 2x2 kernels: 3 * 4 channels, 12 places


def _name(case):
    for suffix in ("_tanh", "_scaled", "_nobias", "_reflect", "_sum", "_vec", "_scales",
                   "_replicate", "_constant", "_mean", "_default"):
        if case.endswith(suffix):
            return case[: -len(suffix)]
    return case


def _build(lib, args, dtype=None, grad=True):
    arrays = dict(globals())
    out, leaves = [], []
    for a in args:
        if isinstance(a, str):
            value = arrays[a]
            t = lib.from_numpy(value.copy())
            if a in FLOATS or a == "COLS":
                if dtype is not None:
                    t = t.to(dtype)
                if grad and a not in ("T2",):
                    t.requires_grad_(True)
                    leaves.append(t)
            out.append(t)
        else:
            out.append(a)
    return out, leaves


def _first(result):
    return result[0] if isinstance(result, tuple) else result


@pytest.mark.parametrize("case", sorted(CASES))
def test_nn_binding_matches_torch(case):
    args, kwargs = CASES[case]
    results = []
    for lib in (torch, dg):
        built, leaves = _build(lib, args)
        result = getattr(lib._C._nn, _name(case))(*built, **kwargs)
        out = _first(result)
        if isinstance(result, tuple):  # (values, indices): the indices too
            results.append(result[1].numpy())
        results.append(out.detach().numpy())
        if out.dtype.is_floating_point:
            (out * lib.from_numpy(np.linspace(0.5, 1.5, out.numel(), dtype=np.float32)
                                  .reshape(tuple(out.shape)))).sum().backward()
            results.extend(leaf.grad.numpy() for leaf in leaves)
        assert type(result) is tuple or not isinstance(result, tuple)
    half = len(results) // 2
    for t_val, d_val in zip(results[:half], results[half:]):
        assert t_val.dtype == d_val.dtype and t_val.shape == d_val.shape
        np.testing.assert_allclose(d_val, t_val, rtol=2e-5, atol=2e-5, err_msg=case)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_nn_binding_autocast_dtype(case, dtype):
    args, kwargs = CASES[case]
    dtypes = []
    for lib in (torch, dg):
        built, _ = _build(lib, args, getattr(lib, dtype), grad=False)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            result = getattr(lib._C._nn, _name(case))(*built, **kwargs)
        dtypes.append(str(_first(result).dtype).rpartition(".")[2])
    assert dtypes[0] == dtypes[1], case


def _raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the class is what is compared
        return type(exc)
    return None


@pytest.mark.parametrize("case", ["reduction_str", "reduction_range", "nll_4d", "gelu_pos",
                                  "pad_enum_size", "leaf_inplace", "missing",
                                  "pad_reflect_4d_1", "thnn_kernel", "depthwise_cpu"])
def test_nn_binding_errors(case):
    def run(lib):
        x = lib.from_numpy(X4.copy())
        calls = {
            "reduction_str": lambda: lib._C._nn.mse_loss(x, x, "mean"),
            "reduction_range": lambda: lib._C._nn.mse_loss(x, x, 7),
            "nll_4d": lambda: lib._C._nn.nll_loss(x, lib.from_numpy(CLS4.copy())),
            "gelu_pos": lambda: lib._C._nn.gelu(x, "tanh"),
            "pad_enum_size": lambda: lib._C._nn._pad_enum(x, [1, 1, 1], 1, None),
            "leaf_inplace": lambda: lib._C._nn.gelu_(x.requires_grad_(True)),
            "missing": lambda: lib._C._nn.no_such_binding,
            "pad_reflect_4d_1": lambda: lib._C._nn.pad(x, [1, 2], "reflect"),
            "thnn_kernel": lambda: lib._C._nn.thnn_conv2d(x, lib.from_numpy(WC), [2, 2]),
            "depthwise_cpu": lambda: lib._C._nn._conv_depthwise2d(
                x, lib.from_numpy(WC[:, :1]), [3, 3], None, [1, 1], [0, 0], [1, 1]),
        }
        return _raised(calls[case])

    t_err, d_err = run(torch), run(dg)
    assert t_err is not None and d_err is not None
    if case == "reduction_range":  # (PyTorch: an internal assert, a RuntimeError)
        assert issubclass(d_err, RuntimeError)
    elif case != "pad_enum_size":
        assert issubclass(d_err, t_err) or d_err.__name__ == t_err.__name__, (t_err, d_err)


@pytest.mark.parametrize("name", ["elu_", "leaky_relu_", "hardtanh_", "gelu_", "silu_",
                                  "mish_", "relu6_", "hardswish_", "hardsigmoid_"])
def test_nn_binding_inplace(name):
    outs = []
    for lib in (torch, dg):
        x = lib.from_numpy(X2.copy())
        result = getattr(lib._C._nn, name)(x)
        assert result is x
        outs.append(x.numpy().copy())
        leaf = lib.from_numpy(X2.copy()).requires_grad_(True)
        y = leaf * 1.0  # (in place on a non-leaf: the gradient goes through)
        getattr(lib._C._nn, name)(y)
        (y * lib.from_numpy(P2)).sum().backward()
        outs.append(leaf.grad.numpy())
    for theirs, ours in zip(outs[:2], outs[2:]):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-6)


def test_nn_binding_sequences():
    seqs = [_arr(3, 2), _arr(5, 2), _arr(1, 2)]
    for side in ("right", "left"):
        got = [lib._C._nn.pad_sequence([lib.from_numpy(s) for s in seqs], True, -1.0, side)
               for lib in (torch, dg)]
        np.testing.assert_array_equal(got[1].numpy(), got[0].numpy())
    flats = [lib._C._nn.flatten_dense_tensors([lib.from_numpy(s) for s in seqs])
             for lib in (torch, dg)]
    np.testing.assert_array_equal(flats[1].numpy(), flats[0].numpy())
    parts = dg._C._nn.unflatten_dense_tensors(flats[1], [dg.from_numpy(s) for s in seqs])
    assert [tuple(p.shape) for p in parts] == [s.shape for s in seqs]
    np.testing.assert_array_equal(parts[1].numpy(), seqs[1])


@pytest.mark.parametrize("form", ["functional", "module"])
def test_autocast_max_pool3d_with_indices_stays_half(form):
    # PyTorch 2.13: max_pool3d is on the float32 list, max_pool3d_with_indices is not
    dtypes = []
    for lib in (torch, dg):
        x = lib.from_numpy(X5.copy()).to(lib.bfloat16)
        with lib.autocast("cpu"):
            if form == "functional":
                pair = lib.nn.functional.max_pool3d(x, 2, return_indices=True)
                plain = lib.nn.functional.max_pool3d(x, 2)
            else:
                pair = lib.nn.MaxPool3d(2, return_indices=True)(x)
                plain = lib.nn.MaxPool3d(2)(x)
        dtypes.append((str(pair[0].dtype)[-8:], str(plain.dtype)[-7:]))
    assert dtypes[0] == dtypes[1] == ("bfloat16", "float32")


@pytest.mark.parametrize("case", ["ce_sum", "ce_mean", "ce_smooth", "nll_weight_sum",
                                  "nll_weight_mean"])
def test_float16_losses_overflow_silently(case):
    # PyTorch returns inf / nan without a warning; NumPy's float16 casts warned
    x = np.clip(np.random.default_rng(0).standard_normal((6, 40)) * 3e4, -6e4, 6e4)
    x, target, weight = x.astype(np.float16), np.arange(6), np.full(40, 6e4, np.float16)
    results = []
    for lib in (torch, dg):
        f = lib.nn.functional
        inputs, targets = lib.from_numpy(x), lib.from_numpy(target)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if case.startswith("ce"):
                out = f.cross_entropy(inputs, targets, reduction=case[3:].replace("smooth", "sum"),
                                      label_smoothing=0.1 if case == "ce_smooth" else 0.0)
            else:
                out = f.nll_loss(inputs, targets, weight=lib.from_numpy(weight),
                                 reduction=case.rpartition("_")[2])
        results.append((str(out.dtype)[-7:], out.float().item()))
    assert results[0][0] == results[1][0] == "float16"
    np.testing.assert_array_equal(results[1][1], results[0][1])
    assert not np.isfinite(results[1][1])


@pytest.mark.parametrize("case", ["max_pool3d", "chain_matmul"])
def test_autocast_top_level_forms(case):
    # torch.max_pool3d reaches max_pool3d (float32 list); chain_matmul reaches mm (bfloat16)
    got = []
    for lib in (torch, dg):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # (chain_matmul is deprecated)
            with lib.autocast("cpu"):
                if case == "max_pool3d":
                    out = lib.max_pool3d(lib.from_numpy(X5).to(lib.bfloat16), 2)
                else:
                    out = lib.chain_matmul(lib.from_numpy(X2), lib.from_numpy(P2.T.copy()),
                                           lib.from_numpy(X2))
        got.append((str(out.dtype).rpartition(".")[2], out.float().numpy()))
    assert got[0][0] == got[1][0]
    np.testing.assert_allclose(got[1][1], got[0][1], rtol=2e-2, atol=2e-2)
