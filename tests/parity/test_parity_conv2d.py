"""2-d / 3-d convolution, transposed convolution, pooling, unfold / fold, instance and local
response normalization and 2-d interpolation against PyTorch: values, dtypes, shapes, the
gradients of every floating input and the exception type on bad input."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(11)
TOLERANCE = {np.float64: dict(rtol=1e-7, atol=1e-9), np.float32: dict(rtol=1e-4, atol=1e-5)}


def randn(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# ----------------------------------------------------------------------------------------------
# Convolution.

CONV2D_CASES = [
    # (input shape, weight shape, keyword arguments)
    ((2, 4, 9, 8), (6, 4, 3, 3), {}),
    ((2, 4, 9, 8), (6, 4, 3, 2), {"stride": 2}),
    ((2, 4, 9, 8), (6, 2, 3, 3), {"padding": 1, "groups": 2}),
    ((2, 4, 9, 8), (6, 4, 2, 3), {"stride": (2, 1), "padding": (2, 1), "dilation": (1, 2)}),
    ((2, 4, 9, 8), (4, 1, 3, 3), {"padding": "same", "groups": 4}),  # depthwise
    ((2, 4, 9, 8), (6, 4, 2, 4), {"padding": "same", "dilation": 2}),  # even kernel, odd total
    ((2, 4, 9, 8), (6, 4, 3, 3), {"padding": "valid", "stride": 3}),
    ((2, 4, 9, 8), (6, 4, 1, 1), {}),  # 1x1: the columns are the input itself
    ((2, 2, 5, 6), (16, 2, 3, 3), {"padding": 1}),  # many more outputs: col2im backward
    ((2, 4, 6, 6), (6, 4, 3, 3), {"padding": 4}),  # padding wider than the kernel
    ((4, 9, 8), (6, 4, 3, 3), {"padding": 1}),  # unbatched
    ((0, 4, 9, 8), (6, 4, 3, 3), {}),  # empty batch
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV2D_CASES)
def test_conv2d(x_shape, w_shape, kwargs, dtype):
    x, w, b = randn(*x_shape, dtype=dtype), randn(*w_shape, dtype=dtype), randn(w_shape[0],
                                                                                 dtype=dtype)
    check(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, **kwargs), Arg(x), Arg(w), Arg(b),
          **TOLERANCE[dtype])
    check(lambda m, x, w: m.conv2d(x, w, None, **kwargs), Arg(x), Arg(w), **TOLERANCE[dtype])


def test_conv2d_non_contiguous_and_integer_inputs():
    x = randn(2, 4, 9, 8).transpose(0, 1, 3, 2)
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, stride=2), Arg(x), Arg(randn(3, 4, 3, 3)))
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1),
          Arg(RNG.integers(-5, 5, (2, 3, 6, 6))), Arg(RNG.integers(-5, 5, (4, 3, 3, 3))))


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1},
                                    {"dilation": (1, 2, 1), "groups": 2, "padding": "same"}])
def test_conv3d(kwargs):
    groups = kwargs.get("groups", 1)
    check(lambda m, x, w, b: m.nn.functional.conv3d(x, w, b, **kwargs), Arg(randn(2, 4, 5, 6, 5)),
          Arg(randn(4, 4 // groups, 3, 2, 3)), Arg(randn(4)))
    check(lambda m, x, w: m.conv3d(x, w, **kwargs), Arg(randn(4, 5, 6, 5)),
          Arg(randn(4, 4 // groups, 3, 2, 3)))


TRANSPOSED_CASES = [
    # (spatial dims, keyword arguments)
    (2, {}),
    (2, {"stride": 2}),
    (2, {"stride": 2, "padding": 1, "output_padding": 1}),
    (2, {"stride": (2, 3), "padding": (1, 2), "output_padding": (1, 0), "groups": 2}),
    (2, {"dilation": 2, "output_padding": 1}),  # output padding below the dilation, stride 1
    (2, {"dilation": (2, 1), "stride": (1, 2), "padding": 2, "groups": 2}),
    (1, {"stride": 3, "padding": 1, "output_padding": 2}),
    (1, {"groups": 2, "dilation": 3}),
    (3, {"stride": 2, "padding": 1, "output_padding": 1}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spatial, kwargs", TRANSPOSED_CASES)
def test_conv_transpose(spatial, kwargs, dtype):
    name = f"conv_transpose{spatial}d"
    groups = kwargs.get("groups", 1)
    x = randn(2, 4, *(5, 4, 3)[:spatial], dtype=dtype)
    w = randn(4, 6 // groups, *(3, 2, 3)[:spatial], dtype=dtype)
    b = randn(6, dtype=dtype)
    check(lambda m, x, w, b: getattr(m.nn.functional, name)(x, w, b, **kwargs), Arg(x), Arg(w),
          Arg(b), **TOLERANCE[dtype])
    check(lambda m, x, w: getattr(m, name)(x[0], w, **kwargs), Arg(x), Arg(w),
          **TOLERANCE[dtype])


CONV_ERRORS = [
    # (input shape, weight shape, keyword arguments): PyTorch raises for each
    ((9, 8), (6, 4, 3, 3), {}),  # 2-D input
    ((1, 2, 4, 9, 8), (6, 4, 3, 3), {}),  # 5-D input
    ((2, 4, 9, 8), (6, 3, 3, 3), {}),  # channels do not match
    ((2, 4, 9, 8), (6, 4, 3), {}),  # 3-D weight
    ((2, 4, 9, 8), (5, 2, 3, 3), {"groups": 2}),  # outputs not divisible by groups
    ((2, 4, 9, 8), (6, 4, 10, 3), {}),  # kernel taller than the input
    ((2, 4, 9, 8), (6, 4, 3, 3), {"stride": 0}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"stride": (1, 1, 1)}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"padding": -1}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"dilation": 0}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"groups": 0}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"padding": "same", "stride": 2}),
    ((2, 4, 9, 8), (6, 4, 3, 3), {"padding": "full"}),
]


@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV_ERRORS)
def test_conv2d_errors(x_shape, w_shape, kwargs):
    check(lambda m, x, w: m.nn.functional.conv2d(x, w, **kwargs), Arg(randn(*x_shape)),
          Arg(randn(*w_shape)))


def test_conv_dtype_and_bias_errors():
    x, w = randn(2, 4, 6, 6), randn(3, 4, 3, 3)
    check(lambda m, x, w: m.nn.functional.conv2d(x, w), Arg(x.astype(np.float32)), Arg(w))
    check(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b), Arg(x), Arg(w), Arg(randn(4)))
    check(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w), Arg(x), Arg(w))  # channels
    check(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=2, output_padding=2),
          Arg(x), Arg(randn(4, 3, 3, 3)))
    check(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, padding=3), Arg(x),
          Arg(randn(4, 3, 1, 1)))  # an empty output


# ----------------------------------------------------------------------------------------------
# Pooling.

POOL_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0)},
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 2, "stride": 1},  # overlapping windows: the gradients add up
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", POOL_CASES)
def test_max_pool2d(kwargs, dtype):
    x = randn(2, 3, 9, 8, dtype=dtype)
    check(lambda m, x: m.nn.functional.max_pool2d(x, return_indices=True, **kwargs), Arg(x))
    check(lambda m, x: m.nn.functional.max_pool2d(x, dilation=(2, 1), **kwargs), Arg(x[0]))
    check(lambda m, x: m.max_pool2d(x, **kwargs), Arg(x))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs", POOL_CASES)
def test_avg_pool2d(kwargs, dtype):
    x = randn(2, 3, 9, 8, dtype=dtype)
    for include in (True, False):
        check(lambda m, x: m.nn.functional.avg_pool2d(x, count_include_pad=include, **kwargs),
              Arg(x), **TOLERANCE[dtype])
    check(lambda m, x: m.nn.functional.avg_pool2d(x, divisor_override=3, **kwargs), Arg(x[0]),
          **TOLERANCE[dtype])


def test_pool_ties_nan_inf_integers_and_views():
    x = np.zeros((1, 2, 4, 4))  # all ties: the first entry of each window wins
    x[0, 1] = -np.inf
    x[0, 1, 3, 3] = np.nan
    check(lambda m, x: m.nn.functional.max_pool2d(x, 3, 1, 1, return_indices=True), Arg(x))
    check(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, 3, return_indices=True), Arg(x))
    integers = RNG.integers(-50, 50, (2, 3, 7, 6))
    check(lambda m, x: m.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True),
          Arg(integers))
    check(lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1), Arg(integers))
    view = randn(2, 3, 8, 9).transpose(0, 1, 3, 2)
    check(lambda m, x: m.nn.functional.max_pool2d(x, 2), Arg(view))
    check(lambda m, x: m.nn.functional.avg_pool2d(x, 2), Arg(view))


@pytest.mark.parametrize("output_size", [1, (1, 1), (3, 4), (5, 3), (9, 8), (None, 3), 7, 0])
def test_adaptive_pool2d(output_size):
    x = randn(2, 3, 9, 8)
    grad = output_size != 0  # (PyTorch's backward refuses an empty output)
    check(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, output_size), Arg(x), grad=grad)
    check(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, output_size),
          Arg(x[0].astype(np.float32)), grad=grad, rtol=1e-5, atol=1e-6)
    if output_size != 0:
        check(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, output_size, True), Arg(x))
        check(lambda m, x: m.nn.functional.adaptive_max_pool2d_with_indices(x, output_size),
              Arg(x[1]))


def test_pool_3d_and_lp_pools():
    x = randn(2, 2, 5, 6, 7)
    check(lambda m, x: m.nn.functional.max_pool3d(x, 2, return_indices=True), Arg(x))
    check(lambda m, x: m.max_pool3d(x, (3, 2, 2), 2, 1), Arg(x))
    check(lambda m, x: m.nn.functional.avg_pool3d(x, 3, 2, 1, count_include_pad=False), Arg(x))
    check(lambda m, x: m.nn.functional.adaptive_avg_pool3d(x, (2, 3, 4)), Arg(x))
    check(lambda m, x: m.nn.functional.adaptive_max_pool3d(x, (2, None, 4), True), Arg(x[0]))
    positive = np.abs(randn(2, 3, 9, 8)) + 0.1
    check(lambda m, x: m.nn.functional.lp_pool2d(x, 2, 3, 2), Arg(positive))
    check(lambda m, x: m.nn.functional.lp_pool2d(x, 3.0, (2, 3), ceil_mode=True), Arg(positive))
    check(lambda m, x: m.nn.functional.lp_pool3d(x, 2, 2), Arg(np.abs(x) + 0.1))


def test_max_unpool():
    x = randn(2, 3, 9, 8)
    values, indices = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    values, indices = values.numpy(), indices.numpy()
    check(lambda m, v, i: m.nn.functional.max_unpool2d(v, i, 2), Arg(values), Arg(indices))
    check(lambda m, v, i: m.nn.functional.max_unpool2d(v, i, 2, output_size=(9, 8)),
          Arg(values[0]), Arg(indices[0]))
    check(lambda m, v, i: m.nn.functional.max_unpool2d(v, i, 2, output_size=(2, 3, 12, 8)),
          Arg(values), Arg(indices))  # out of range
    check(lambda m, v, i: m.nn.functional.max_unpool2d(v, i * 10, 2), Arg(values),
          Arg(indices))  # invalid indices
    one = randn(2, 3, 9)
    values, indices = torch.nn.functional.max_pool1d(torch.from_numpy(one), 3, 2,
                                                     return_indices=True)
    check(lambda m, v, i: m.nn.functional.max_unpool1d(v, i, 3, 2, output_size=[9]),
          Arg(values.numpy()), Arg(indices.numpy()))
    three = randn(1, 2, 4, 4, 6)
    values, indices = torch.nn.functional.max_pool3d(torch.from_numpy(three), 2,
                                                     return_indices=True)
    check(lambda m, v, i: m.nn.functional.max_unpool3d(v, i, 2), Arg(values.numpy()),
          Arg(indices.numpy()))


POOL_ERRORS = [
    ("max_pool2d", (9, 8), {"kernel_size": 2}),  # 2-D input
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 2, "padding": 2}),  # padding over half
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 10}),  # window larger than the input
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 2, "stride": 0}),
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 0}),
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": 2, "dilation": 0}),
    ("max_pool2d", (2, 3, 9, 8), {"kernel_size": (2, 2, 2)}),
    ("avg_pool2d", (2, 3, 9, 8), {"kernel_size": 10}),
    ("avg_pool2d", (2, 3, 9, 8), {"kernel_size": 3, "padding": 2}),
    ("avg_pool2d", (2, 3, 9, 8), {"kernel_size": 2, "divisor_override": 0}),
    ("adaptive_avg_pool2d", (2, 3, 9, 8), {"output_size": -1}),
    ("adaptive_avg_pool2d", (9, 8), {"output_size": 2}),
    ("adaptive_max_pool2d", (2, 3, 2, 9, 8), {"output_size": 2}),
]


@pytest.mark.parametrize("name, shape, kwargs", POOL_ERRORS)
def test_pool_errors(name, shape, kwargs):
    check(lambda m, x: getattr(m.nn.functional, name)(x, **kwargs), Arg(randn(*shape)))


def test_adaptive_pools_refuse_integers():
    integers = RNG.integers(0, 9, (1, 2, 4, 4))
    check(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 2), Arg(integers))
    check(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, 2), Arg(integers))


# ----------------------------------------------------------------------------------------------
# unfold / fold.


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": (2, 3), "padding": 1},
                                    {"kernel_size": 3, "stride": 2, "dilation": (1, 2)}])
def test_unfold_and_fold(kwargs):
    x = randn(2, 3, 7, 8)
    cols = check(lambda m, x: m.nn.functional.unfold(x, **kwargs), Arg(x))
    check(lambda m, x: m.nn.functional.unfold(x, **kwargs), Arg(x[0].astype(np.float32)),
          **TOLERANCE[np.float32])
    blocks = cols.detach().numpy()
    check(lambda m, c: m.nn.functional.fold(c, (7, 8), **kwargs), Arg(blocks))
    check(lambda m, c: m.nn.functional.fold(c, (7, 8), **kwargs), Arg(blocks[1]))
    check(lambda m, c: m.nn.Fold((7, 8), **kwargs)(m.nn.Unfold(**kwargs)(c)), Arg(x))


def test_unfold_fold_errors():
    check(lambda m, x: m.nn.functional.unfold(x, 2), Arg(randn(1, 1, 1, 6, 6)))
    check(lambda m, c: m.nn.functional.fold(c, (4, 4), 2), Arg(randn(1, 4, 10)))  # blocks
    check(lambda m, c: m.nn.functional.fold(c, (4, 4), 2), Arg(randn(1, 5, 9)))  # channels


# ----------------------------------------------------------------------------------------------
# Normalization and interpolation.


def test_instance_norm_and_local_response_norm():
    x = randn(2, 3, 5, 4)
    weight, bias = randn(3), randn(3)
    check(lambda m, x, w, b: m.nn.functional.instance_norm(x, weight=w, bias=b), Arg(x),
          Arg(weight), Arg(bias))
    check(lambda m, x: m.nn.functional.instance_norm(x[..., 0]), Arg(x))
    mean, var = randn(3), np.abs(randn(3)) + 0.5
    check(lambda m, x, rm, rv: m.nn.functional.instance_norm(x, rm, rv, use_input_stats=False),
          Arg(x), Arg(mean, False), Arg(var, False))
    check(lambda m, x, w, b: m.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
          Arg(x), Arg(weight), Arg(bias))
    for size in (1, 2, 3, 4):
        check(lambda m, x: m.nn.functional.local_response_norm(x, size, 1e-2, 0.75, 2.0),
              Arg(x))
    check(lambda m, x: m.nn.functional.local_response_norm(x, 3), Arg(x[:, :, 0]))
    check(lambda m, x: m.nn.functional.local_response_norm(x, 3), Arg(randn(2, 3, 2, 3, 4)))
    check(lambda m, x: m.nn.functional.local_response_norm(x, 3), Arg(randn(3, 4)))  # error


@pytest.mark.parametrize("kwargs", [
    {"scale_factor": 2}, {"size": (5, 11)}, {"scale_factor": (2, 3), "mode": "nearest-exact"},
    {"scale_factor": 2, "mode": "bilinear"}, {"size": (5, 11), "mode": "bilinear"},
    {"size": (13, 4), "mode": "bilinear", "align_corners": True},
])
def test_interpolate_2d_and_upsample(kwargs):
    x = randn(2, 3, 6, 7)
    check(lambda m, x: m.nn.functional.interpolate(x, **kwargs), Arg(x))
    check(lambda m, x: m.nn.Upsample(**kwargs)(x), Arg(x.astype(np.float32)),
          **TOLERANCE[np.float32])
