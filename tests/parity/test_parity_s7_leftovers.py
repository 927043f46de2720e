"""Session-7 leftovers (H15): NumPy RuntimeWarnings where PyTorch is silent (softmax over -inf
rows, division by zero, linear's VJP with inf gradients), nn.functional activations' argument
types, special functions' dtype checks, empty tensors' strides, and to_dense's dtype."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

NINF = -np.inf
ROWS = np.array([[NINF, NINF, NINF], [1.0, 2.0, 3.0], [NINF, 0.5, NINF]])


def _silent(fn, *args, **kwargs):
    """check(), failing on any NumPy RuntimeWarning (PyTorch prints none for these)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return check(fn, *args, **kwargs)


# --- 1. no RuntimeWarnings where PyTorch is silent ---------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape", [(3, 3), (3, 60)])  # the small inline path and the general one
@pytest.mark.parametrize("dim", [1, 0])
def test_softmax_all_minus_inf_rows_silent(name, dtype, shape, dim):
    x = np.tile(ROWS, (1, shape[1] // 3)).astype(dtype)
    x = x if dim == 1 else np.ascontiguousarray(x.T)
    _silent(lambda m, a: getattr(m, name)(a, dim=dim), Arg(x), rtol=1e-3, atol=1e-3)
    _silent(lambda m, a: getattr(m.nn.functional, name)(a, dim), Arg(x), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("x,y", [
    (2, np.array([True, False])),
    (np.array([1.0, 0.0, -1.0, np.inf], np.float32), np.array([0.0, 0.0, 0.0, np.inf], np.float32)),
    (np.array([3, 0, -2]), np.array([0, 0, 0])),
    # (the broadcast gradient's sum of inf and -inf still warns: broadcast_grads.py, not here)
    (np.array([1.0, 2.0]), np.array(0.0, np.float32)),
])
def test_true_division_by_zero_silent(x, y):
    xa = Arg(x) if isinstance(x, np.ndarray) else x
    grad = y.ndim > 0
    _silent(lambda m, a, b: a / b, xa, Arg(y), grad=grad)
    _silent(lambda m, a, b: m.div(a, b), xa, Arg(y), grad=grad)


def test_linear_vjp_inf_gradient_silent():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    w[0, 1] = 0.0
    x[1, 2] = 0.0
    for dtype in ("float32", "float64"):
        g = np.array([[np.inf, 0.0]] * 4, dtype)
        for bias in (None, np.zeros(2, dtype)):
            def fn(m, a, b, *c, g=g):
                y = m.nn.functional.linear(a, b, *c)
                return m.autograd.grad(y, (a, b), m.tensor(g, dtype=y.dtype))
            args = (Arg(x.astype(dtype)), Arg(w.astype(dtype)))
            _silent(fn, *args, *(() if bias is None else (Arg(bias),)), grad=False)


# --- 2. nn.functional activations' argument types ----------------------------------------------

X = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
NUMBERS = [0.5, 1, True, np.float64(0.25)]
NOT_NUMBERS = [Arg(np.full((2, 3), 0.5, np.float32)), Arg(np.array([0.5], np.float32)), None,
               "0.5"]


@pytest.mark.parametrize("lambd", NUMBERS + NOT_NUMBERS + [
    Arg(np.array(0.5, np.float32)), Arg(np.array(0.5, np.float32), requires_grad=False)])
@pytest.mark.parametrize("dtype", ["float32", "bool", "int64"])
def test_hardshrink_lambd_number(lambd, dtype):
    x = Arg(X.astype(dtype))
    check(lambda m, a, b: m.nn.functional.hardshrink(a, b), x, lambd)
    check(lambda m, a, b: m.hardshrink(a, b), x, lambd)
    check(lambda m, a, b: a.hardshrink(b), x, lambd)


@pytest.mark.parametrize("bound", NUMBERS + NOT_NUMBERS)
@pytest.mark.parametrize("dtype", ["float32", "bool", "int64"])
def test_threshold_arguments_number(bound, dtype):
    x = Arg(X.astype(dtype))
    check(lambda m, a, b: m.nn.functional.threshold(a, b, 2.0), x, bound)
    check(lambda m, a, b: m.nn.functional.threshold(a, 0.1, b), x, bound)
    check(lambda m, a, b: m.threshold(a, b, -1), x, bound)


def test_torch_threshold_and_selu_take_no_inplace():
    x = Arg(X)
    check(lambda m, a: m.threshold(a, 0.5, 1.0, True), x)
    check(lambda m, a: m.selu(a, True), x)
    check(lambda m, a: m.selu(a, inplace=True), x)
    check(lambda m, a: m.selu(a), x)
    check(lambda m, a: m.nn.functional.selu(a.clone(), True), x)
    check(lambda m, a: m.nn.functional.threshold(a.clone(), 0.5, 1.0, True), x)


@pytest.mark.parametrize("weight", [0.25, 2, True, [0.25], np.array([0.25], np.float32),
                                    Arg(np.array([0.25], np.float32)),
                                    Arg(np.array(0.25, np.float32))])
@pytest.mark.parametrize("dtype", ["float32", "bool"])
def test_prelu_weight_tensor(weight, dtype):
    x = Arg(X.astype(dtype))
    check(lambda m, a, w: m.nn.functional.prelu(a, w), x, weight)
    check(lambda m, a, w: m.prelu(a, w), x, weight)
    check(lambda m, a, w: a.prelu(w), x, weight)


# --- 3. special functions' dtypes ---------------------------------------------------------------

P = np.array([0.1, 0.5, 0.9, 0.0], np.float32)


@pytest.mark.parametrize("name", ["erfcx", "ndtri", "log_ndtr", "i0e", "entr", "ndtr"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64"])
def test_special_unary_float16(name, dtype):
    check(lambda m, a: getattr(m.special, name)(a), Arg(P.astype(dtype)), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtypes", [("float16", "float16"), ("float16", "float32"),
                                    ("int64", "float16"), ("float32", "float64")])
def test_special_zeta_float16(dtypes):
    x, q = Arg(np.array([2.0, 3.0], dtypes[0]), False), Arg(np.array([1.0, 2.5], dtypes[1]))
    check(lambda m, a, b: m.special.zeta(a, b), x, q, rtol=1e-3, atol=1e-3)
    check(lambda m, b: m.special.zeta(2.0, b), q, rtol=1e-3, atol=1e-3)
    check(lambda m, a: m.special.zeta(a, 2.0), x, grad=False, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64", "bool", "float16", "float32"])
@pytest.mark.parametrize("decimals", [0, 1])
def test_special_round_integer_raises(dtype, decimals):
    x = Arg(np.array([1.25, 2.5, -3.5]).astype(dtype))
    check(lambda m, a: m.special.round(a, decimals=decimals), x, rtol=1e-3)
    check(lambda m, a: m.round(a), x, rtol=1e-3)  # (torch.round itself takes integers)


# --- 4. empty tensors' strides ------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0, 5), (3, 0), (2, 0, 4), (0,), (0, 1), (1, 0, 2), (0, 0)])
def test_empty_strides(shape):
    # (PyTorch's torch.tensor / from_numpy of an empty ndarray copy NumPy's zero strides;
    # deltagrad cannot tell such a tensor from its own empties and gives them row-major ones.)
    for make in (lambda m: m.zeros(shape), lambda m: m.empty(shape, dtype=m.int32),
                 lambda m: m.ones(shape).contiguous(), lambda m: m.zeros(shape).clone(),
                 lambda m: m.zeros(shape).reshape(shape[::-1])):
        assert make(dg).stride() == make(torch).stride()
        assert make(dg).stride(-1) == make(torch).stride(-1)
    assert dg.tensor(np.zeros(shape)).stride() == torch.zeros(shape).stride()


def test_empty_views_of_nonempty_strides():
    for view in (lambda t: t[:, 4:], lambda t: t.t()[:0], lambda t: t[1:1]):
        assert view(dg.zeros(3, 4)).stride() == view(torch.zeros(3, 4)).stride()


# --- 5. to_dense's dtype on dense tensors -------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool", float, int, bool, complex,
                                   None, "str", 2, -3, 2.5, True, "tensor"])
def test_to_dense_dtype(dtype):
    def fn(m, a):
        d = {"float64": m.float64, "float32": m.float32, "int64": m.int64, "bool": m.bool,
             "str": "float64", "tensor": a}.get(dtype, dtype) if isinstance(dtype, str) else dtype
        return a.to_dense(d)
    check(fn, Arg(X))
    check(lambda m, a: a.to_dense(masked_grad=True), Arg(X))
    check(lambda m, a: a.to_dense(masked_grad=1), Arg(X))


def test_to_dense_same_dtype_is_self():
    x = dg.ones(2)
    assert x.to_dense() is x and x.to_dense(dg.float32) is x
