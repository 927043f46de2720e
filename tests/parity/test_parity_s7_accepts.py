"""Session-7 silent accepts (PyTorch raises, deltagrad returned): the 1-d pools' argument parsing
(bool / float / tensor sizes) and their dtype support (which integer dtypes each CPU kernel
takes), ``hardtanh`` of unsigned input with negative bounds, ``F.pad`` with a tensor ``pad``,
``torch.embedding`` with a number index and ``F.linear`` with a number bias. Each row compares
the exception class (or, where PyTorch returns, the result) with PyTorch's."""

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
from parity import Arg, check  # noqa: E402

RNG = np.random.default_rng(19)
X = RNG.standard_normal((2, 3, 5)).astype(np.float32)
DTYPES = [np.bool_, np.uint8, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64]


def _typed(dtype) -> np.ndarray:
    return X > 0 if dtype is np.bool_ else (X * 3).astype(dtype)


POOLS = {
    "F.max_pool1d": lambda m, x, k: m.nn.functional.max_pool1d(x, k),
    "F.max_pool1d(return_indices)": lambda m, x, k: m.nn.functional.max_pool1d(
        x, k, return_indices=True),
    "torch.max_pool1d": lambda m, x, k: m.max_pool1d(x, k),
    "torch.max_pool1d_with_indices": lambda m, x, k: m.max_pool1d_with_indices(x, k),
    "F.max_pool1d_with_indices": lambda m, x, k: m.nn.functional.max_pool1d_with_indices(x, k),
    "F.avg_pool1d": lambda m, x, k: m.nn.functional.avg_pool1d(x, k),
    "torch.avg_pool1d": lambda m, x, k: m.avg_pool1d(x, k),
    "F.adaptive_avg_pool1d": lambda m, x, k: m.nn.functional.adaptive_avg_pool1d(x, k),
    "torch.adaptive_avg_pool1d": lambda m, x, k: m.adaptive_avg_pool1d(x, k),
    "F.adaptive_max_pool1d": lambda m, x, k: m.nn.functional.adaptive_max_pool1d(x, k),
    "torch.adaptive_max_pool1d": lambda m, x, k: m.adaptive_max_pool1d(x, k),
    "F.adaptive_max_pool1d_with_indices":
        lambda m, x, k: m.nn.functional.adaptive_max_pool1d_with_indices(x, k),
    "F.lp_pool1d": lambda m, x, k: m.nn.functional.lp_pool1d(x, 2.0, k),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(POOLS))
def test_pool1d_dtypes(name, dtype):
    # Each kernel's dtype support: max_pool1d floats only, with indices all but bool,
    # avg_pool1d floats and int64, the adaptive pools floats only.
    # (float16 averages: PyTorch accumulates in float32, so allow one float16 ulp.)
    tolerance = 1e-3 if dtype is np.float16 else 1e-5
    check(POOLS[name], Arg(_typed(dtype)), 2, grad=False, rtol=tolerance)


SIZES = {
    "bool": lambda m: True,
    "1-tuple of bool": lambda m: (True,),
    "float": lambda m: 2.5,
    "0-d int tensor": lambda m: m.tensor(2),
    "0-d bool tensor": lambda m: m.tensor(True),
    "0-d float tensor": lambda m: m.tensor(2.0),
    "1-d tensor": lambda m: m.tensor([2]),
    "2-element tensor": lambda m: m.tensor([2, 2]),
    "2-tuple": lambda m: (2, 2),
    "zero": lambda m: 0,
    "negative": lambda m: -3,
}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(POOLS))
def test_pool1d_size_arguments(name, size):
    check(lambda m, x: POOLS[name](m, x, SIZES[size](m)), Arg(X), grad=False)


@pytest.mark.parametrize("keyword", ["stride", "padding", "dilation"])
def test_max_pool1d_bool_keywords(keyword):
    check(lambda m, x: m.nn.functional.max_pool1d(x, 2, **{keyword: True}), Arg(X))


@pytest.mark.parametrize("keyword", ["stride", "padding"])
def test_avg_pool1d_bool_keywords(keyword):
    check(lambda m, x: m.nn.functional.avg_pool1d(x, 2, **{keyword: True}), Arg(X))


@pytest.mark.parametrize("stride", [0, (), 1])
def test_torch_pool1d_stride(stride):
    # torch.max_pool1d's stride=0 is an error, not "the kernel size" (only an empty one is).
    check(lambda m, x: m.max_pool1d(x, 2, stride), Arg(X))
    check(lambda m, x: m.avg_pool1d(x, 2, stride), Arg(X))


def test_adaptive_pool1d_empty_output_keeps_the_dtype():
    check(lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 0), Arg(X > 0), grad=False)
    check(lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 0), Arg(X), grad=False)
    check(lambda m, x: m.nn.functional.adaptive_max_pool1d(x, 0, True), Arg(X), grad=False)


def test_adaptive_max_pool1d_tensor_return_indices():
    check(lambda m, x: m.nn.functional.adaptive_max_pool1d(x, 2, m.ones(2)), Arg(X))


@pytest.mark.parametrize("bounds", [(), (-0.5, 6.0), (2, 3), (-1, -0.5), (0, 6)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64])
def test_hardtanh_integer_bounds(dtype, bounds):
    x = (X[0] * 3).astype(dtype)
    check(lambda m, t: m.nn.functional.hardtanh(t, *bounds), Arg(x))
    check(lambda m, t: m.nn.functional.hardtanh(t.clone(), *bounds, inplace=True), Arg(x))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_hardtanh_tensor_bounds(dtype):
    x = (X[0] * 3).astype(dtype)
    check(lambda m, t: m.nn.functional.hardtanh(t, m.tensor(0.0)), Arg(x))
    check(lambda m, t: m.nn.functional.hardtanh(t, m.tensor(-2.0)), Arg(x))


PADS = {
    "0-d tensor": lambda m: m.tensor(1),
    "1-d tensor": lambda m: m.tensor([1, 1]),
    "empty tensor": lambda m: m.tensor([], dtype=m.int64),
    "int": lambda m: 1,
    "bool element": lambda m: (True, False),
    "float element": lambda m: (1.0, 1),
    "0-d tensor elements": lambda m: [m.tensor(1), m.tensor(2)],
    "tuple": lambda m: (1, 2),
}


@pytest.mark.parametrize("pad", list(PADS))
def test_pad_argument(pad):
    check(lambda m, x: m.nn.functional.pad(x, PADS[pad](m)), Arg(X[0]))


@pytest.mark.parametrize("index", [0, [0, 1], "tensor"])
def test_torch_embedding_indices(index):
    def fn(m, w):
        return m.embedding(w, m.tensor([0, 1]) if index == "tensor" else index)
    check(fn, Arg(X[0]))


@pytest.mark.parametrize("bias", [0.5, 2, "tensor", None])
def test_linear_bias(bias):
    def fn(m, x, w):
        return m.nn.functional.linear(x, w, m.ones(2) if bias == "tensor" else bias)
    check(fn, Arg(X[0]), Arg(X[1, :2]))
