"""Regression cases for the silent differences from PyTorch that the fuzzer's fourth round
(``fuzz_s6.py`` with its ``out=`` / keyword / 0-d-operand patterns) found and that were fixed,
checked against PyTorch itself. Each table holds the failing cases (they fail on the code
before the fix) beside neighbouring ones that already agreed (the same call with other dtypes,
``keepdim=True``), so that a fix of one cannot break the other."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_s6  # noqa: E402
from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(7)
X = (RNG.standard_normal((2, 3)) * 2).astype(np.float32)
I64 = np.array([[1, -2, 3], [4, 0, -1]], dtype=np.int64)
U8 = np.array([[1, 2, 200], [0, 5, 7]], dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# ldexp: the power's dtype (an ulp of float32 showed in a float64 result), bool exponents.


@pytest.mark.parametrize("exponent", [
    X, X.astype(np.float16), X.astype(np.float64), np.float32(1.7), np.float16(3.166),
    np.float64(-2.3), np.array([1, -2, 3]),
])
@pytest.mark.parametrize("base", [X.astype(np.float64), X, X.astype(np.float16), I64])
def test_ldexp_power_dtype(base, exponent):
    check(lambda m, a, e: m.ldexp(a, e), Arg(base), Arg(np.asarray(exponent)), grad=False,
          rtol=1e-3 if np.float16 in (np.asarray(exponent).dtype, base.dtype) else 1e-12,
          atol=0)


def test_ldexp_float64_by_float32_exact():
    a, e = X.astype(np.float64), X * 3
    t = torch.ldexp(torch.tensor(a), torch.tensor(e)).numpy()
    np.testing.assert_array_equal(dg.ldexp(dg.tensor(a), dg.tensor(e)).numpy(), t)


@pytest.mark.parametrize("base", [X, X.astype(np.float64), I64, I64 > 0])
def test_ldexp_bool_exponent(base):
    check(lambda m, a, e: m.ldexp(a, e), Arg(base), Arg(I64 > 0), grad=False)


# --------------------------------------------------------------------------------------------
# unique_consecutive's positional flags (PyTorch's dispatch reads them swapped), 0-d with dim.


@pytest.mark.parametrize("args, kwargs", [
    ((), {}), ((True,), {}), ((False, True), {}), ((True, True), {}), ((True, False), {}),
    ((), {"return_inverse": True}), ((), {"return_counts": True}),
    ((True,), {"return_counts": True}), ((False,), {"return_counts": True}),
    ((True, True, 1), {}), ((), {"dim": 0, "return_counts": True}),
])
def test_unique_consecutive_flags(args, kwargs):
    data = np.array([[1, 1, 2], [2, 3, 3], [2, 3, 3]])
    check(lambda m, x: m.unique_consecutive(x, *args, **kwargs), Arg(data), grad=False)
    check(lambda m, x: x.unique_consecutive(*args, **kwargs), Arg(data), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.unique(x, dim=0), lambda m, x: m.unique_consecutive(x, dim=-1),
    lambda m, x: x.unique(dim=1), lambda m, x: m.unique(x.reshape(1), dim=0),
])
def test_unique_of_0d_with_dim(fn):
    check(fn, Arg(np.array(3)), grad=False)


# --------------------------------------------------------------------------------------------
# out=: dtype-keeping functions refuse another dtype; out= is honoured, not ignored.


@pytest.mark.parametrize("name", ["abs", "absolute", "neg", "negative", "sign", "sgn", "floor",
                                  "ceil", "round", "trunc", "fix", "frac"])
@pytest.mark.parametrize("data, out_dtype", [(I64, "float32"), (X, "float64"), (X, "float16"),
                                             (I64, "int32"), (X, "float32")])
def test_dtype_keeping_out(name, data, out_dtype):
    def fn(m, x):
        out = m.zeros(2, 3, dtype=getattr(m, out_dtype))
        result = getattr(m, name)(x, out=out)
        assert result is out
        return out
    check(fn, Arg(data, requires_grad=False), grad=False)


@pytest.mark.parametrize("out_dtype", ["float32", "float64", "int64"])
def test_heaviside_out_dtype(out_dtype):
    check(lambda m, x: m.heaviside(x, x, out=m.zeros(2, 3, dtype=getattr(m, out_dtype))),
          Arg(X, requires_grad=False), grad=False)


def _written(name, *arrays, out_shape, out_dtype="float32"):
    def fn(m, *xs):
        out = m.zeros(out_shape, dtype=getattr(m, out_dtype))
        function = {"matrix_rank": m.linalg.matrix_rank, "vecdot": m.linalg.vecdot,
                    "multi_dot": lambda a, b, out: m.linalg.multi_dot([a, b.T], out=out),
                    "tensorinv": m.linalg.tensorinv, "tensorsolve": m.linalg.tensorsolve}[name]
        result = function(*xs, out=out)
        assert result is out
        return out
    return fn


@pytest.mark.parametrize("name, arrays, out_shape, out_dtype", [
    ("matrix_rank", (X,), (), "int64"), ("matrix_rank", (X,), (), "float32"),
    ("matrix_rank", (X,), (), "float64"), ("matrix_rank", (X,), (), "int32"),
    ("matrix_rank", (X,), (), "bool"), ("matrix_rank", (X,), (0,), "int64"),
    ("vecdot", (X, X), (2,), "float32"), ("vecdot", (X, X), (0,), "float32"),
    ("vecdot", (X, X), (2,), "float64"), ("vecdot", (X, X), (2,), "int64"),
    ("multi_dot", (X, X), (2, 2), "float32"), ("multi_dot", (X, X), (2, 2), "float64"),
    ("tensorinv", (np.eye(6, dtype=np.float32).reshape(6, 2, 3) + 0.5,), (2, 3, 6), "float32"),
    ("tensorsolve", (np.eye(6, dtype=np.float32).reshape(2, 3, 6) + 0.5, X), (6,), "float32"),
])
def test_out_is_written(name, arrays, out_shape, out_dtype):
    check(_written(name, *arrays, out_shape=out_shape, out_dtype=out_dtype),
          *[Arg(a, requires_grad=False) for a in arrays], grad=False, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.linalg.tensorinv(x[0, 0]), lambda m, x: m.linalg.tensorinv(x[0], ind=2),
    lambda m, x: m.linalg.tensorsolve(x[0, 0], 2.5),
])
def test_tensor_inverse_arguments(fn):
    check(fn, Arg(X), grad=False)


# --------------------------------------------------------------------------------------------
# keepdim must be a bool; argument forms PyTorch's parser refuses.


@pytest.mark.parametrize("fn", [
    lambda m, x: m.sum(x, 1, keepdim=1), lambda m, x: x.sum(dim=1, keepdim=1),
    lambda m, x: m.mean(x, 1, keepdim=1), lambda m, x: m.prod(x, 1, keepdim=1),
    lambda m, x: m.nansum(x, 1, keepdim=1), lambda m, x: m.nanmean(x, 1, keepdim=1),
    lambda m, x: m.amax(x, 1, keepdim=1), lambda m, x: m.amin(x, 1, keepdim=1),
    lambda m, x: m.max(x, 1, keepdim=1), lambda m, x: m.min(x, 1, keepdim=1),
    lambda m, x: m.argmax(x, 1, keepdim=1), lambda m, x: m.argmin(x, 1, keepdim=1),
    lambda m, x: m.logsumexp(x, 1, keepdim=1), lambda m, x: m.std(x, 1, keepdim=1),
    lambda m, x: m.var(x, 1, keepdim=1), lambda m, x: m.any(x, 1, keepdim=1),
    lambda m, x: m.all(x, 1, keepdim=1), lambda m, x: m.aminmax(x, dim=1, keepdim=1),
    lambda m, x: m.median(x, 1, keepdim=1), lambda m, x: m.nanmedian(x, 1, keepdim=1),
    lambda m, x: m.kthvalue(x, 1, 1, keepdim=1), lambda m, x: m.mode(x, 1, keepdim=1),
    lambda m, x: m.quantile(x, 0.5, 1, keepdim=1), lambda m, x: m.norm(x, dim=1, keepdim=1),
    lambda m, x: m.linalg.vector_norm(x, dim=1, keepdim=1),
    lambda m, x: m.linalg.matrix_norm(x, keepdim=1), lambda m, x: m.linalg.norm(x, keepdim=1),
    lambda m, x: m.sum(x, 1, keepdim=True), lambda m, x: m.mean(x, 1, keepdim=False),
])
def test_keepdim_must_be_bool(fn):
    check(fn, Arg(X), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.max(x, x, x), lambda m, x: m.min(x, x, True), lambda m, x: x.max(x, True),
    lambda m, x: m.max(x, x), lambda m, x: m.aminmax(x, dim=(0, 1)),
    lambda m, x: m.aminmax(x, dim=[1]), lambda m, x: m.aminmax(x, dim=True),
    lambda m, x: m.aminmax(x, dim=m.tensor(1)),
])
def test_extreme_argument_forms(fn):
    check(fn, Arg(X), grad=False)


@pytest.mark.parametrize("alpha", [True, False, 2, 2.5, -1])
@pytest.mark.parametrize("data", [U8, I64, X, I64 > 0])
def test_in_place_add_sub_alpha(data, alpha):
    check(lambda m, x: x.clone().add_(x, alpha=alpha), Arg(data), grad=False)
    check(lambda m, x: x.clone().sub_(x[0], alpha=alpha), Arg(data), grad=False)


# --------------------------------------------------------------------------------------------
# The fuzzer itself: its keyword values reach the call (they used to be looked up as arrays,
# so every dim= pattern raised in both libraries), and out= tensors are compared after it.


def test_fuzzer_passes_keyword_values():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fuzz_s6.run_case(torch.sum, dg.sum, ("float32:m23",), {"dim": 1})[0] == "same"
        assert fuzz_s6.run_case(torch.sum, dg.sum, ("float32:m23",),
                                {"dim": ("n", (0, 1)), "keepdim": True})[0] == "same"
        # a function that ignores out= is a silent difference
        assert fuzz_s6.run_case(torch.abs, lambda x, out: dg.abs(x), ("float32:m23",),
                                {"out": "float32:m23"})[0].startswith("silent")
        assert fuzz_s6.run_case(torch.abs, dg.abs, ("float32:m23",),
                                {"out": "float32:m23"})[0] == "same"
    assert fuzz_s6.PATTERNS["out"] and fuzz_s6.PATTERNS["kw"]


# --------------------------------------------------------------------------------------------
# Argument and dtype checks PyTorch makes and deltagrad skipped (each returned a result).


@pytest.mark.parametrize("fn", [
    lambda m, x: m.topk(x > 0, 1), lambda m, x: m.topk(x, 1),
    lambda m, x: m.isin(x.long(), True), lambda m, x: m.isin(True, x.long()),
    lambda m, x: m.isin(x > 0, x > 1), lambda m, x: m.isin(x.long(), 2),
    lambda m, x: m.nan_to_num(x, out=m.zeros(2, 3, dtype=m.float64)),
    lambda m, x: m.nan_to_num(x, out=m.zeros(2, 3)),
    lambda m, x: x.size(True), lambda m, x: x.size(1.0), lambda m, x: x.size(m.tensor(1)),
    lambda m, x: m.split(x, True), lambda m, x: m.split(x, 1, True),
    lambda m, x: m.split(x, [1, 1], True), lambda m, x: m.split(x, m.tensor(1)),
    lambda m, x: m.split_copy(x, m.tensor(1.0)), lambda m, x: m.unsafe_split(x, True),
    lambda m, x: m.split_copy(x, 1), lambda m, x: m.unsafe_split(x, 1),
    lambda m, x: m.diff(x, True), lambda m, x: m.diff(x, 1, True), lambda m, x: x.diff(1, 0),
    lambda m, x: m.masked_select(x, True), lambda m, x: m.masked_select(x, x > 0),
    lambda m, x: m.tril_indices(m.tensor(2), 3), lambda m, x: m.tril_indices(2.0, 3),
    lambda m, x: m.triu_indices(True, 3), lambda m, x: m.triu_indices(2, 3, 1),
    lambda m, x: m.linalg.vander(x[0].half()), lambda m, x: m.linalg.vander(x[0]),
    lambda m, x: m.histogram(x.half()), lambda m, x: m.histogram(x.long()),
    lambda m, x: m.histogram(x, 3), lambda m, x: m.histogram(x.half()[0, :0]),
    lambda m, x: m.histogram(x.half(), m.tensor([-1.0, 0.0, 2.0]).half()),
    lambda m, x: m.histogram(x.half(), True), lambda m, x: m.histogram(x, 2.0),
    lambda m, x: m.linalg.tensorinv(x[0, 0] > 0, ind=m.tensor(True)),
    lambda m, x: m.cdist(x, x.double()),
    lambda m, x: m.cdist(x.double(), x), lambda m, x: m.cdist(x, x),
    lambda m, x: m.bincount(x[0] > 0), lambda m, x: m.bincount(x[0].abs().long()),
])
def test_argument_checks(fn):
    check(fn, Arg(X, requires_grad=False), grad=False, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "bool", "float32"])
def test_repeat_interleave_count_dtypes(dtype):
    counts = np.array([1, 0, 2]).astype(dtype)
    check(lambda m, c: m.repeat_interleave(c), Arg(counts), grad=False)
    check(lambda m, c: m.repeat_interleave(m.arange(3.0), c), Arg(counts), grad=False)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.broadcast_shapes(x), lambda m, x: m.broadcast_shapes((2, 3), x),
    lambda m, x: m.broadcast_shapes((2, 1), [3]), lambda m, x: m.broadcast_shapes(3, (2, 1)),
    lambda m, x: m.split_with_sizes(x, m.tensor([1, 1])),
    lambda m, x: x.split_with_sizes(m.tensor([1, 1])), lambda m, x: x.split_with_sizes([1, 1]),
    lambda m, x: m.split_with_sizes_copy(x, m.tensor([1, 1])),
    lambda m, x: m.unsafe_split_with_sizes(x, m.tensor([1, 1])),
    lambda m, x: m.constant_pad_nd(x, m.tensor([1, 1])), lambda m, x: m.constant_pad_nd(x, [1, 1]),
    lambda m, x: x.clone().copy_(x, x), lambda m, x: x.clone().copy_(x, 1),
    lambda m, x: x.clone().copy_(x * 2, True),
])
def test_sequence_and_flag_arguments(fn):
    check(fn, Arg(X, requires_grad=False), grad=False)
