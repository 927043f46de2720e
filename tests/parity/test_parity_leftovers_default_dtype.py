"""The default floating dtype reaches every op that makes a float from integers, at call time:
``set_default_dtype(float64)`` (in both libraries, restored after each test) makes int / int,
sigmoid / exp / ... of integers, int ** float and Python floats float64, as in PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(params=["float64", "float16", "float32"])
def default_dtype(request):
    """Both libraries' default dtype set to the parameter, restored afterwards."""
    saved_torch, saved_dg = torch.get_default_dtype(), dg.get_default_dtype()
    torch.set_default_dtype(getattr(torch, request.param))
    dg.set_default_dtype(getattr(dg, request.param))
    try:
        yield request.param
    finally:
        torch.set_default_dtype(saved_torch)
        dg.set_default_dtype(saved_dg)


INTS = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
SMALL = np.array([1, 0, 3], dtype=np.int32)
BOOLS = np.array([True, False, True])

UNARY = {
    "sigmoid": lambda m, x: m.sigmoid(x),
    "sigmoid_method": lambda m, x: x.sigmoid(),
    "F.sigmoid": lambda m, x: m.nn.functional.sigmoid(x),
    "exp": lambda m, x: m.exp(x),
    "log": lambda m, x: m.log(x),
    "sqrt": lambda m, x: x.sqrt(),
    "sin": lambda m, x: m.sin(x),
    "tanh": lambda m, x: m.tanh(x),
    "erf": lambda m, x: m.erf(x),
    "reciprocal": lambda m, x: m.reciprocal(x),
    "rsqrt": lambda m, x: m.rsqrt(x),
    "exp2": lambda m, x: m.exp2(x),
    "logit": lambda m, x: m.logit(x),
    "sinc": lambda m, x: m.sinc(x),
    "pow_float": lambda m, x: x ** 2.5,
    "rpow_float": lambda m, x: 1.5 ** x,
    "pow_function": lambda m, x: m.pow(x, 0.5),
    "pow_tensor_exponent": lambda m, x: m.pow(x, m.tensor(0.5)),
    "mul_float": lambda m, x: x * 1.5,
    "add_float": lambda m, x: 0.5 + x,
    "div_int": lambda m, x: x / 4,
    "rdiv_int": lambda m, x: 7 / (x + 1),
    "div_self": lambda m, x: x / (x + 1),
    "true_divide": lambda m, x: m.true_divide(x, 3),
    "divide": lambda m, x: m.divide(x, x + 2),
    "div_zero_d": lambda m, x: x / m.tensor(3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("values", [INTS, SMALL, BOOLS, np.array(3)], ids=["int64", "int32",
                                                                         "bool", "0-d"])
def test_integer_input_gives_the_default_float(default_dtype, name, values):
    # (PyTorch computes half precision in float32 and rounds once: a looser tolerance there)
    half = default_dtype == "float16"
    check(UNARY[name], Arg(values), grad=False, rtol=2e-3 if half else 1e-6,
          atol=1e-3 if half else 1e-6)


@pytest.mark.parametrize("default", ["float64", "float32"])
def test_creation_and_python_numbers_follow_the_default(default):
    saved = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    dg.set_default_dtype(getattr(dg, default))
    try:
        check(lambda m: m.tensor([1.5, 2.0]), grad=False)
        check(lambda m: m.arange(0, 1, 0.25), grad=False)
        check(lambda m: m.full((2,), 1.5), grad=False)
        check(lambda m, x: m.where(x > 1, x, 0.5), Arg(INTS), grad=False)
    finally:
        torch.set_default_dtype(saved)
        dg.set_default_dtype(dg.float32)


def test_float_inputs_keep_their_dtype_whatever_the_default(default_dtype):
    x32 = np.array([0.5, 1.5], dtype=np.float32)
    check(lambda m, x: m.sigmoid(x) / 3, Arg(x32))
    check(lambda m, x: x ** 2.5 + 1.0, Arg(x32))
    check(lambda m, x, y: x / y, Arg(SMALL), Arg(x32), grad=False)


def test_the_default_is_read_at_call_time():
    # The same op before and after a change: no cached dtype.
    x = dg.tensor([1, 2])
    assert (x / 2).dtype is dg.float32 and x.sigmoid().dtype is dg.float32
    dg.set_default_dtype(dg.float64)
    try:
        assert (x / 2).dtype is dg.float64
        assert x.sigmoid().dtype is dg.float64
        assert (x ** 0.5).dtype is dg.float64
    finally:
        dg.set_default_dtype(dg.float32)
    assert (x / 2).dtype is dg.float32
