"""Type promotion in binary operators against PyTorch: tensors with dimensions decide, 0-d
tensors only raise the category, Python numbers act as 0-d values of the default dtype;
integer powers and bitwise operators keep integer dtypes."""

import itertools

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1 / False, 0 / False

DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
          np.float64]
OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
}


def _rtol(*dtypes):
    # PyTorch computes half-precision ops in float32 and rounds once; NumPy rounds each step.
    return 1e-3 if np.float16 in dtypes else 1e-6


def _values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    if dtype is np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    return rng.integers(1, 4, shape).astype(dtype)


@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("left, right", list(itertools.product(DTYPES, DTYPES)),
                         ids=lambda d: np.dtype(d).name)
def test_tensor_with_tensor(op, left, right):
    check(lambda m, a, b: OPERATORS[op](a, b), Arg(_values(left, (2, 3), 0), False),
          Arg(_values(right, (2, 3), 1), False), grad=False, rtol=_rtol(left, right))


@pytest.mark.parametrize("op", ["+", "*", "/"])
@pytest.mark.parametrize("left, right", list(itertools.product(DTYPES, DTYPES)),
                         ids=lambda d: np.dtype(d).name)
def test_tensor_with_zero_d_tensor(op, left, right):
    check(lambda m, a, b: OPERATORS[op](a, b), Arg(_values(left, (2, 3), 0), False),
          Arg(_values(right, (), 1), False), grad=False, rtol=_rtol(left, right))
    check(lambda m, a, b: OPERATORS[op](b, a), Arg(_values(left, (2, 3), 0), False),
          Arg(_values(right, (), 1), False), grad=False, rtol=_rtol(left, right))


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "<"])
@pytest.mark.parametrize("scalar", [2, 2.5, True], ids=["int", "float", "bool"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(2, 3), ()], ids=["tensor", "0-d"])
def test_tensor_with_python_number(op, scalar, dtype, shape):
    check(lambda m, a: OPERATORS[op](a, scalar), Arg(_values(dtype, shape, 0), False),
          grad=False, rtol=_rtol(dtype))
    check(lambda m, a: OPERATORS[op](scalar, a), Arg(_values(dtype, shape, 0), False),
          grad=False, rtol=_rtol(dtype))


def test_the_issue_cases():
    ints = np.array([1, 2, 3], dtype=np.int32)
    check(lambda m, a: a + 1.5, Arg(ints))  # float32, the default dtype
    check(lambda m, a, b: a + b, Arg(ints), Arg(ints.astype(np.int64)))  # int64
    check(lambda m, a, b: a * b, Arg(np.ones(3, np.float32)), Arg(np.array(2.0)))  # float32
    check(lambda m, a, b: a + b, Arg(np.array([True])), Arg(np.array([True])))  # bool


def test_gradients_flow_through_promoted_operands():
    check(lambda m, a, b: (a * b) / (b + 1), Arg(np.linspace(0.5, 2, 4, dtype=np.float32)),
          Arg(np.array(1.5)))
    check(lambda m, a, b: a * b, Arg(np.linspace(0.5, 2, 4, dtype=np.float32)),
          Arg(np.linspace(1, 2, 4)), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("exponent", [2, 0, 3, 2.0, 0.5, -1])
def test_integer_powers(dtype, exponent):
    check(lambda m, a: a ** exponent, Arg(_values(dtype, (4,), 0), False), grad=False)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_tensor_powers_and_bases(dtype):
    base = np.array([-2, -1, 0, 1, 2, 3], dtype=dtype)
    exponent = np.array([2, -1, 3, -2, -1, 0], dtype=dtype)
    check(lambda m, a, b: a ** b, Arg(base, False), Arg(exponent, False), grad=False)
    check(lambda m, a: 2 ** a, Arg(np.abs(exponent), False), grad=False)
    check(lambda m, a: 2.5 ** a, Arg(exponent, False), grad=False)


def test_pow_gradient_at_zero_base():
    check(lambda m, x, y: x ** y, Arg(np.array([0.0, 0.0, 0.0, 2.0])),
          Arg(np.array([0.0, 1.0, 2.0, 0.0])))
    check(lambda m, x: x ** 0, Arg(np.array([0.0, 1.0])))
    check(lambda m, x: x ** 0.0, Arg(np.array([0.0, 1.0])))


@pytest.mark.parametrize("op", ["&", "|", "^", "<<", ">>"])
@pytest.mark.parametrize("left, right", list(itertools.product(
    [np.bool_, np.uint8, np.int32, np.int64], [np.bool_, np.int32, np.int64])),
    ids=lambda d: np.dtype(d).name)
def test_bitwise_operators(op, left, right):
    if op in ("<<", ">>") and np.bool_ in (left, right):
        pytest.skip("PyTorch has no shifts on bool")
    fn = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
          "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b}[op]
    check(lambda m, a, b: fn(a, b), Arg(np.array([5, 3, 0, 1]).astype(left), False),
          Arg(np.array([3, 1, 1, 0]).astype(right), False), grad=False)
    check(lambda m, a: fn(a, 1), Arg(np.array([5, 3, 0, 1]).astype(left), False), grad=False)
    check(lambda m, a: fn(2, a), Arg(np.array([5, 3, 0, 1]).astype(left), False), grad=False)


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.int64, np.uint8, np.float32])
def test_invert(dtype):
    check(lambda m, a: ~a, Arg(np.array([0, 1, 5]).astype(dtype), False), grad=False)


def test_bitwise_on_floats_raises():
    check(lambda m, a, b: a & b, Arg(np.ones(2, np.float32), False),
          Arg(np.ones(2, np.float32), False))
    check(lambda m, a: -a, Arg(np.array([True, False])))
    check(lambda m, a, b: a - b, Arg(np.array([True])), Arg(np.array([True])))


# A Python int beyond an integer tensor's range is cast into its dtype by wrapping (uint8: -1
# is 255, 300 is 44) wherever the op computes in that dtype, but true division divides the
# values; NumPy alone raises OverflowError or compares the mathematical values.
WRAPPING = {
    "ge -1": lambda m, x: x >= -1,
    "lt -1": lambda m, x: x < -1,
    "ge 300": lambda m, x: x >= 300,
    "eq 256": lambda m, x: x == 256,
    "m.ge -1": lambda m, x: m.ge(x, -1),
    "add -1": lambda m, x: x + (-1),
    "m.add -1": lambda m, x: m.add(x, -1),
    "rsub -1": lambda m, x: -1 - x,
    "mul 300": lambda m, x: x * 300,
    "floordiv 300": lambda m, x: x // 300,
    "mod 300": lambda m, x: x % 300,
    "and -1": lambda m, x: x & -1,
    "div 300": lambda m, x: x / 300,
    "div -1": lambda m, x: x / -1,
    "rdiv 300": lambda m, x: 300 / x,
    "copysign -1": lambda m, x: m.copysign(x, -1),
    "atan2 300": lambda m, x: m.atan2(x, m.tensor(300)),
    "xlogy -1": lambda m, x: m.xlogy(x, -1),
    "clamp min -1": lambda m, x: m.clamp(x, -1),
    "clamp -1..100": lambda m, x: m.clamp(x, min=-1, max=100),
    "clamp_max 2**40": lambda m, x: x.clamp_max(2 ** 40),
    "add 2**40": lambda m, x: x + 2 ** 40,
    "add 2**70": lambda m, x: x + 2 ** 70,
}


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32])
@pytest.mark.parametrize("case", sorted(WRAPPING))
def test_out_of_range_python_ints_wrap_as_in_pytorch(case, dtype):
    x = np.array([1, 3, 100, 120], dtype=dtype)
    check(WRAPPING[case], Arg(x), grad=False)
    # clamp's bounds go through PyTorch's checked conversion (uint8 takes -255..255)
    check(lambda m, x: m.clamp(x, min=300), Arg(x), grad=False)
    check(lambda m, x: m.clamp(x, min=-255, max=-1), Arg(x), grad=False)
