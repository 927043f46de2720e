"""Session 8 (FD): torch.nn.functional cases the generated fuzzer (fuzz_s6.py) found, checked
against PyTorch: inputs PyTorch accepts that deltagrad refused (values, dtypes, gradients), and
errors whose class differed (PyTorch's argument parser checks non-tensor arguments before the
input, and some of its Python raises IndexError / ValueError / AttributeError /
AssertionError / NotImplementedError). The error table is strict: deltagrad's exception must
be PyTorch's class or a subclass (``except <PyTorch's class>`` catches it)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(8)
F32 = RNG.standard_normal((2, 3)).astype(np.float32)
F16 = F32.astype(np.float16)
F64 = F32.astype(np.float64)
BOOL = RNG.random((2, 3)) > 0.5
I64 = RNG.integers(-4, 5, (2, 3))
U8 = RNG.integers(0, 6, (2, 3)).astype(np.uint8)
IMG = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
EMPTY = {name: np.zeros(0, dtype=name) for name in ("bool", "uint8", "int32", "int64")}


def F(m):
    return m.nn.functional


def T(m, array):
    """A tensor of ``array`` in library ``m`` (for arguments ``check`` should not convert)."""
    return torch.tensor(array) if m is torch else dg.tensor(array, dtype=np.asarray(array).dtype)


# ----------------------------------------------------------------------------------------------
# Values: calls PyTorch accepts (deltagrad raised before).

VALUES = {
    # mse / smooth_l1: PyTorch's fused kernels promote a bool or integer side to the other's
    # floating dtype (a 0-d float16 target included).
    "mse bool-f32": (lambda m, x, y: F(m).mse_loss(x, y), Arg(BOOL), Arg(F32)),
    "mse i64-f64": (lambda m, x, y: F(m).mse_loss(x, y), Arg(I64), Arg(F64)),
    "mse f16-bool": (lambda m, x, y: F(m).mse_loss(x, y), Arg(F16), Arg(BOOL)),
    "mse bool-f16 0d": (lambda m, x, y: F(m).mse_loss(x, y), Arg(BOOL), Arg(np.float16(2.5))),
    "mse u8-f32 none": (lambda m, x, y: F(m).mse_loss(x, y, reduction="none"), Arg(U8),
                        Arg(F32)),
    "smooth_l1 i64-f32": (lambda m, x, y: F(m).smooth_l1_loss(x, y), Arg(I64), Arg(F32)),
    "smooth_l1 f32-bool": (lambda m, x, y: F(m).smooth_l1_loss(x, y), Arg(F32), Arg(BOOL)),
    "l1 u8-f32": (lambda m, x, y: F(m).l1_loss(x, y), Arg(U8), Arg(F32)),
    "l1 i64-f64": (lambda m, x, y: F(m).l1_loss(x, y), Arg(I64), Arg(F64)),
    "huber f32-bool": (lambda m, x, y: F(m).huber_loss(x, y), Arg(F32), Arg(BOOL)),
    "huber f16-i64": (lambda m, x, y: F(m).huber_loss(x, y), Arg(F16), Arg(I64)),
    # softmax family of an empty integer / bool tensor: no kernel runs, the dtype stays.
    "softmax empty int32": (lambda m, x: F(m).softmax(x, 0), Arg(EMPTY["int32"])),
    "softmax empty bool": (lambda m, x: F(m).softmax(x, -1), Arg(EMPTY["bool"])),
    "log_softmax empty u8": (lambda m, x: F(m).log_softmax(x, 0), Arg(EMPTY["uint8"])),
    "log_softmax empty dtype": (lambda m, x: F(m).log_softmax(x, 0, dtype=m.int64),
                                Arg(np.zeros(0, np.float32))),
    "softmin empty int64": (lambda m, x: F(m).softmin(x, 0), Arg(EMPTY["int64"])),
    # Scalar arguments given as 0-d tensors (PyTorch's parser reads their value).
    "softplus f16 0d beta": (lambda m, x: F(m).softplus(x, T(m, np.uint8(2))), Arg(F16)),
    "celu 0d alpha": (lambda m, x: F(m).celu(x, T(m, np.int32(2))), Arg(F32)),
    "elu 0d alpha": (lambda m, x: F(m).elu(x, T(m, np.float64(0.5))), Arg(F64)),
    "leaky_relu 0d slope": (lambda m, x: F(m).leaky_relu(x, T(m, np.float32(0.2))), Arg(F32)),
    "softshrink 0d lambd": (lambda m, x: F(m).softshrink(x, T(m, np.float32(0.3))), Arg(F32)),
    "glu 0d uint8 dim": (lambda m, x: F(m).glu(x, T(m, np.uint8(0))), Arg(F32)),
    # hardtanh_ has no min_val <= max_val check: everything becomes max_val.
    "hardtanh_ min>max f32": (lambda m, x: F(m).hardtanh_(x.clone(), 2.0), Arg(F32)),
    "hardtanh_ min>max i64": (lambda m, x: F(m).hardtanh_(x.clone(), 2), Arg(I64)),
    "hardtanh_ u8 -0.5": (lambda m, x: F(m).hardtanh_(x.clone(), -0.5), Arg(U8)),
    # cross_entropy with no classes or no rows: mean 0 / 0 = nan, sum 0.
    "cross_entropy empty": (lambda m, x, y: F(m).cross_entropy(x, y),
                            Arg(np.zeros(0, np.float32)), Arg(np.zeros(0, np.float32))),
    "cross_entropy empty sum": (lambda m, x, y: F(m).cross_entropy(x, y, reduction="sum"),
                                Arg(np.zeros((0, 3))), Arg(np.zeros((0, 3)))),
    "cross_entropy 0 rows": (lambda m, x, y: F(m).cross_entropy(x, y),
                             Arg(np.zeros((0, 3), np.float32)), Arg(np.zeros((0, 3), np.float32))),
    # Pools read a one-element integer (or bool) tensor as an int kernel size.
    "max_pool2d tensor kernel": (lambda m, x: F(m).max_pool2d(x, T(m, np.int64(2))), Arg(IMG)),
    "avg_pool2d [2] kernel": (lambda m, x: F(m).avg_pool2d(x, T(m, np.array([2]))), Arg(IMG)),
    "max_pool2d bool kernel": (lambda m, x: F(m).max_pool2d(x, T(m, np.bool_(True))),
                               Arg(IMG)),
    "adaptive_avg [2,2] tensor": (lambda m, x: F(m).adaptive_avg_pool2d(
        x, T(m, np.array([2, 2]))), Arg(IMG)),
    "unfold tensor kernel": (lambda m, x: F(m).unfold(x, T(m, np.array([2, 2]))), Arg(IMG)),
    "pixel_shuffle 0d int": (lambda m, x: F(m).pixel_shuffle(x, T(m, np.int64(1))), Arg(IMG)),
    "conv2d 0d groups": (lambda m, x, w: F(m).conv2d(x, w, groups=T(m, np.int64(2))),
                         Arg(IMG), Arg(RNG.standard_normal((4, 1, 3, 3)).astype(np.float32))),
    # interpolate: PyTorch's nearest kernels take uint8 images.
    "interpolate nearest u8": (lambda m, x: F(m).interpolate(x, size=7), Arg(U8[None])),
    "interpolate nearest-exact u8": (lambda m, x: F(m).interpolate(
        x, scale_factor=1.7, mode="nearest-exact"), Arg(U8[None, None])),
    "normalize 0d p": (lambda m, x: F(m).normalize(x, T(m, np.int64(1))), Arg(F32)),
    "normalize tuple dim": (lambda m, x: F(m).normalize(x, 2, (0, 1)), Arg(F32)),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_values_pytorch_accepts(name):
    fn, *args = VALUES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # (PyTorch's huber backward fails on a bool or integer target: forward only there)
        check(fn, *args, grad=not name.startswith("huber"),
              rtol=1e-3 if "f16" in name else 1e-5, atol=1e-3 if "f16" in name else 1e-6)


OUTS = {
    "gelu": lambda m, x, out: F(m).gelu(x, out=out),
    "softplus": lambda m, x, out: F(m).softplus(x, out=out),
    "hardshrink": lambda m, x, out: F(m).hardshrink(x, out=out),
    "softshrink": lambda m, x, out: F(m).softshrink(x, out=out),
    "logsigmoid": lambda m, x, out: F(m).logsigmoid(x, out=out),
    "linear": lambda m, x, out: F(m).linear(x, x, out=out),
    "normalize": lambda m, x, out: F(m).normalize(x, out=out),
}


@pytest.mark.parametrize("name", list(OUTS))
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64, np.int64])
def test_out_is_written_and_returned(name, out_dtype):
    """``out=`` as PyTorch's: the result written into it and it returned; a dtype PyTorch
    refuses raises its class."""
    fn = OUTS[name]
    results = {}
    for m in (torch, dg):
        x = T(m, F32)
        out = T(m, np.zeros((2, 2) if name == "linear" else (2, 3), out_dtype))
        try:
            r = fn(m, x, out)
        except Exception as error:  # noqa: BLE001 - compared below
            results[m] = error
            continue
        assert r is out
        results[m] = out.detach().numpy()
    t, d = results[torch], results[dg]
    if isinstance(t, Exception):
        assert isinstance(d, type(t)), f"PyTorch raised {t!r}; deltagrad {d!r}"
    else:
        assert not isinstance(d, Exception), f"deltagrad raised {d!r}"
        np.testing.assert_allclose(d, t, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Errors: the class PyTorch raises (deltagrad's the same or a subclass).

ERRORS = {
    # Non-tensor arguments of the wrong type: PyTorch's parser, before the input's checks.
    "gelu tensor approximate": lambda m: F(m).gelu(T(m, BOOL), T(m, BOOL)),
    "gelu int approximate": lambda m: F(m).gelu(T(m, F32), 2),
    "elu tensor alpha": lambda m: F(m).elu(T(m, BOOL), T(m, BOOL)),
    "elu tensor inplace": lambda m: F(m).elu(T(m, F32), T(m, F32), T(m, F32)),
    "leaky_relu tensor slope": lambda m: F(m).leaky_relu(T(m, I64), T(m, I64)),
    "softplus tensor beta": lambda m: F(m).softplus(T(m, BOOL), T(m, BOOL)),
    "softshrink tensor lambd": lambda m: F(m).softshrink(T(m, I64), T(m, F32)),
    "glu float dim": lambda m: F(m).glu(T(m, F32), 1.0),
    "glu dim out of range int": lambda m: F(m).glu(T(m, I64), 2),
    "hardtanh tensor min": lambda m: F(m).hardtanh(T(m, F32), T(m, F32)),
    "hardtanh_ u8 overflow": lambda m: F(m).hardtanh_(T(m, U8), 300),
    "max_pool2d tensor kernel 2d": lambda m: F(m).max_pool2d(T(m, BOOL), T(m, BOOL)),
    "max_pool3d float kernel": lambda m: F(m).max_pool3d(T(m, F32), 2.5),
    "avg_pool2d 2d input": lambda m: F(m).avg_pool2d(T(m, F32), 2),
    "avg_pool2d bool kernel": lambda m: F(m).avg_pool2d(T(m, F32), True),
    "avg_pool3d tensor kernel": lambda m: F(m).avg_pool3d(T(m, IMG), T(m, F32)),
    "adaptive_avg_pool2d 0d size": lambda m: F(m).adaptive_avg_pool2d(T(m, IMG),
                                                                      T(m, np.int64(2))),
    "adaptive_avg_pool2d float": lambda m: F(m).adaptive_avg_pool2d(T(m, IMG), 2.5),
    "adaptive_max_pool2d long size": lambda m: F(m).adaptive_max_pool2d(T(m, F32), T(m, F32)),
    "adaptive_avg_pool3d 2d": lambda m: F(m).adaptive_avg_pool3d(T(m, F32), 1),
    "unfold 2d input": lambda m: F(m).unfold(T(m, F32), 2),
    "unfold 0d kernel": lambda m: F(m).unfold(T(m, IMG), T(m, np.int64(2))),
    "max_unpool2d tensor kernel": lambda m: F(m).max_unpool2d(T(m, F32), T(m, I64), T(m, F32)),
    "conv2d number weight": lambda m: F(m).conv2d(T(m, F32), 2),
    "conv3d float stride": lambda m: F(m).conv3d(T(m, F32), T(m, F32), None, 0.5),
    "conv_transpose1d number bias": lambda m: F(m).conv_transpose1d(T(m, F32), T(m, F32), 0.5),
    "pixel_shuffle float": lambda m: F(m).pixel_shuffle(T(m, IMG), 2.5),
    "pixel_unshuffle tensor": lambda m: F(m).pixel_unshuffle(T(m, F32), T(m, F32)),
    "channel_shuffle float": lambda m: F(m).channel_shuffle(T(m, IMG), 2.0),
    "channel_shuffle 0d bool": lambda m: F(m).channel_shuffle(T(m, IMG), T(m, np.bool_(True))),
    "linear 0d": lambda m: F(m).linear(T(m, np.float32(1)), T(m, np.float32(1))),
    "linear number weight": lambda m: F(m).linear(T(m, F32), 2),
    "normalize tensor p": lambda m: F(m).normalize(T(m, BOOL), T(m, BOOL)),
    "normalize float dim": lambda m: F(m).normalize(T(m, F32), 2, 1.0),
    "interpolate no size": lambda m: F(m).interpolate(T(m, F32)),
    "interpolate 2d input": lambda m: F(m).interpolate(T(m, F32), size=2),
    "interpolate float size": lambda m: F(m).interpolate(T(m, IMG[0]), size=2.5),
    "interpolate int8": lambda m: F(m).interpolate(T(m, I64[None]), size=4),
    "upsample_bilinear 3d": lambda m: F(m).upsample_bilinear(T(m, IMG[0]), size=2),
    "grid_sample 0d": lambda m: F(m).grid_sample(T(m, np.float32(1)), T(m, F32),
                                                 align_corners=False),
    "grid_sample number grid": lambda m: F(m).grid_sample(T(m, F32), 2, align_corners=False),
    "affine_grid tensor size": lambda m: F(m).affine_grid(T(m, F32), T(m, F32),
                                                          align_corners=False),
    "affine_grid int size": lambda m: F(m).affine_grid(T(m, F32), 2, align_corners=False),
    "embedding number weight": lambda m: F(m).embedding(T(m, I64), 2),
    "embedding padding_idx range": lambda m: F(m).embedding(T(m, I64), T(m, F32), 5),
    # Losses: the Python checks of nn.functional come before the kernels' dtype checks.
    "bce size before dtype": lambda m: F(m).binary_cross_entropy(T(m, BOOL), T(m, BOOL[0])),
    "bce number target": lambda m: F(m).binary_cross_entropy(T(m, F32), 0.5),
    "bce number weight": lambda m: F(m).binary_cross_entropy(T(m, I64), T(m, I64), 2),
    "bce_logits size": lambda m: F(m).binary_cross_entropy_with_logits(T(m, U8), T(m, U8[0])),
    "bce_logits number weight": lambda m: F(m).binary_cross_entropy_with_logits(
        T(m, F16), T(m, BOOL), 1e5),
    "cross_entropy int input": lambda m: F(m).cross_entropy(T(m, U8), T(m, U8[0])),
    "cross_entropy 0d input": lambda m: F(m).cross_entropy(T(m, np.float32(1)),
                                                           T(m, np.float32(1))),
    "cross_entropy 0d int target": lambda m: F(m).cross_entropy(T(m, np.uint8(1)), T(m, U8)),
    "cross_entropy batch": lambda m: F(m).cross_entropy(T(m, F32), T(m, F32[0])),
    "cross_entropy number target": lambda m: F(m).cross_entropy(T(m, F32), True),
    "cross_entropy 0d target": lambda m: F(m).cross_entropy(T(m, F32), T(m, np.int8(1))),
    "nll batch before dtype": lambda m: F(m).nll_loss(T(m, BOOL), T(m, BOOL[0])),
    "nll number target": lambda m: F(m).nll_loss(T(m, np.float32(1)), 2.5),
    "nll int input": lambda m: F(m).nll_loss(T(m, I64), T(m, np.zeros(2, np.int64))),
    "l1 bool target": lambda m: F(m).l1_loss(T(m, F16), T(m, BOOL)),
    "l1 int mean": lambda m: F(m).l1_loss(T(m, I64), T(m, I64)),
    "mse int int": lambda m: F(m).mse_loss(T(m, I64), T(m, I64)),
    "huber int input": lambda m: F(m).huber_loss(T(m, I64), T(m, F32)),
    "huber bool bool": lambda m: F(m).huber_loss(T(m, BOOL), T(m, BOOL)),
    "multi_margin number target": lambda m: F(m).multi_margin_loss(T(m, BOOL), 2),
    "multi_margin float16": lambda m: F(m).multi_margin_loss(T(m, F16), T(m, np.array([0, 1]))),
    "multilabel_margin float16": lambda m: F(m).multilabel_margin_loss(T(m, F16), T(m, F32)),
    "margin_ranking number": lambda m: F(m).margin_ranking_loss(T(m, F32), T(m, F32[0]), 0.5),
    "cosine_embedding number": lambda m: F(m).cosine_embedding_loss(T(m, I64), T(m, I64), 2),
    "triplet number": lambda m: F(m).triplet_margin_loss(T(m, F32), T(m, F32), 0.5),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_class_is_pytorchs(name):
    fn = ERRORS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as expected:  # noqa: PT011 - PyTorch's class is the spec
            fn(torch)
        with pytest.raises(expected.type):
            fn(dg)


def test_softmax_of_an_empty_int_tensor_checks_the_dim():
    for m in (torch, dg):
        with pytest.raises(IndexError):
            F(m).softmax(T(m, EMPTY["int32"]), 1)


def test_hardtanh_keeps_its_ordered_bounds_check():
    """F.hardtanh (not hardtanh_) keeps PyTorch's ValueError for min_val > max_val."""
    for m in (torch, dg):
        with pytest.raises(ValueError):
            F(m).hardtanh(T(m, F32), 2.0, 1.0)
