"""Differential tests for the fast paths of the pointwise, activation and special-function ops
(issue 18): each branch a fast path added is checked against PyTorch, in float32 and float64,
at 0-d, 1-d and 2-d (broadcast where binary), at the values that pick the other branch (zeros,
kinks, thresholds, +-inf, nan), and with SciPy switched off (the NumPy fallbacks).
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.ops import elementwise_math, gamma, special, special_extra  # noqa: E402
from deltagrad._engine.ops import statistics as igamma_kernels  # noqa: E402

RNG = np.random.default_rng(1818)
SHAPES = [(), (7,), (3, 4)]
FLOATS = [np.float32, np.float64]


@pytest.fixture(params=["scipy", "numpy"])
def path(request, monkeypatch):
    """Run a test with SciPy's ufuncs (where installed) and with the NumPy fallbacks."""
    if request.param == "scipy":
        pytest.importorskip("scipy")
    for module in (gamma, special_extra, special, igamma_kernels):
        monkeypatch.setattr(module, "USE_SCIPY", request.param == "scipy")
    return request.param


def _sample(low, high, shape, dtype, extra=()):
    x = RNG.uniform(low, high, shape)
    if extra and x.size >= len(extra):
        x.reshape(-1)[:len(extra)] = extra
    return x.astype(dtype)


def _quiet(fn):
    """The call must not warn (NumPy's floating-point warnings included)."""
    def call(m, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return fn(m, *args)
    return call


# ---------------------------------------------------------------------------------- activations

ACTIVATIONS = {
    "silu": (lambda m, x: m.nn.functional.silu(x), -6, 6, (0.0, -30.0, 30.0)),
    "mish": (lambda m, x: m.nn.functional.mish(x), -6, 6, (0.0, -30.0, 30.0)),
    "softplus": (lambda m, x: m.nn.functional.softplus(x), -25, 25, (20.0, 19.99, -30.0)),
    "softplus_beta": (lambda m, x: m.nn.functional.softplus(x, beta=1.5), -16, 16,
                      (13.5, 13.0, -30.0)),
    "softplus_low_threshold": (lambda m, x: m.nn.functional.softplus(x, threshold=2.0), -4, 4,
                               (2.0, 2.5)),
    "elu": (lambda m, x: m.nn.functional.elu(x), -3, 3, (0.0, -0.0, -20.0)),
    "elu_alpha": (lambda m, x: m.nn.functional.elu(x, alpha=0.7), -3, 3, (0.0, -20.0)),
    "selu": (lambda m, x: m.nn.functional.selu(x), -3, 3, (0.0, -20.0)),
    "celu": (lambda m, x: m.nn.functional.celu(x, alpha=2.0), -3, 3, (0.0, -20.0)),
    "hardswish": (lambda m, x: m.nn.functional.hardswish(x), -5, 5, (-3.0, 3.0, 0.0)),
    "hardsigmoid": (lambda m, x: m.nn.functional.hardsigmoid(x), -5, 5, (-3.0, 3.0)),
    "softshrink": (lambda m, x: m.nn.functional.softshrink(x, 0.5), -2, 2, (0.5, -0.5, 0.0)),
    "softshrink_zero": (lambda m, x: m.nn.functional.softshrink(x, 0.0), -2, 2, (0.0, -0.0)),
    "leaky_relu": (lambda m, x: m.nn.functional.leaky_relu(x, 0.1), -2, 2, (0.0, -0.0)),
    "leaky_relu_steep": (lambda m, x: m.nn.functional.leaky_relu(x, 2.5), -2, 2, (0.0,)),
    "leaky_relu_negative": (lambda m, x: m.nn.functional.leaky_relu(x, -0.5), -2, 2, (0.0,)),
    "hardtanh": (lambda m, x: m.nn.functional.hardtanh(x), -2, 2, (-1.0, 1.0)),
    "relu6": (lambda m, x: m.nn.functional.relu6(x), -2, 8, (0.0, 6.0)),
    "gelu": (lambda m, x: m.nn.functional.gelu(x), -4, 4, (0.0, -9.0, 9.0)),
    "sigmoid": (lambda m, x: m.sigmoid(x), -30, 30, (0.0, -100.0, 100.0)),
    "relu": (lambda m, x: m.relu(x), -2, 2, (0.0,)),
    "logit": (lambda m, x: m.logit(x), 0.01, 0.99, (0.5,)),
    "logsigmoid": (lambda m, x: m.nn.functional.logsigmoid(x), -30, 30, (0.0, -100.0, 100.0)),
    "clamp": (lambda m, x: m.clamp(x, -0.5, 0.7), -2, 2, (-0.5, 0.7)),
    "clamp_min": (lambda m, x: m.clamp(x, min=-0.5), -2, 2, (-0.5,)),
    "clamp_max": (lambda m, x: m.clamp(x, max=0.7), -2, 2, (0.7,)),
    "clamp_crossed": (lambda m, x: m.clamp(x, 0.7, -0.5), -2, 2, (0.0,)),
    "nan_to_num": (lambda m, x: m.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0), -2, 2, ()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_activations(path, name, dtype, shape):
    fn, low, high, extra = ACTIVATIONS[name]
    check(fn, Arg(_sample(low, high, shape, dtype, extra)),
          rtol=2e-5 if dtype == np.float32 else 1e-7)


# NumPy warns where x * sigmoid(x) or x * relu6(x + 3) meets -inf * 0 (silu, mish, hardswish)
# and where logaddexp meets nan (softplus, mish); the values are PyTorch's. PyTorch's float32
# gelu(inf) is nan (its float64 one, and this one, inf).
_WARN_AT_INFINITY = {"silu", "mish", "softplus", "softplus_beta", "hardswish"}


@pytest.mark.parametrize("name", ["silu", "mish", "softplus", "softplus_beta", "elu", "selu",
                                  "hardsigmoid", "hardswish", "softshrink", "leaky_relu",
                                  "hardtanh", "gelu", "sigmoid", "relu", "logsigmoid",
                                  "clamp", "nan_to_num"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_activations_at_infinities_and_nan(path, name, dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 1.0], dtype)
    if name == "gelu" and dtype == np.float32:
        x = x[1:]
    fn = ACTIVATIONS[name][0]
    check(fn if name in _WARN_AT_INFINITY else _quiet(fn), Arg(x), grad=False)


@pytest.mark.parametrize("name", ["softplus", "elu", "sigmoid", "leaky_relu", "hardtanh",
                                  "relu6", "hardswish", "hardsigmoid", "logsigmoid", "clamp",
                                  "nan_to_num"])
def test_activation_gradients_at_infinities_and_nan(path, name):
    x = np.array([np.inf, -np.inf, np.nan, -0.0, 3.0, -3.0, 6.0, 1.0, -1.0], np.float32)
    check(ACTIVATIONS[name][0], Arg(x))


def test_activations_keep_int_relu_and_0d_scalars():
    x = dg.tensor(np.array(-3, np.int64))
    assert dg.relu(x).dtype == dg.int64 and dg.relu(dg.tensor([-2, 5])).tolist() == [0, 5]
    # softplus past its threshold returns x itself, a new tensor (not the input's storage)
    t = dg.tensor(np.float32(30.0))
    out = dg.nn.functional.softplus(t, beta=2.0)
    assert out.item() == 30.0
    out.add_(1.0)
    assert t.item() == 30.0


# ------------------------------------------------------------------------- binary and lerp

def _binary_args(shape_x, shape_y, dtype, x_extra=(), y_extra=(), low=-2, high=2,
                 y_low=-2, y_high=2):
    return (Arg(_sample(low, high, shape_x, dtype, x_extra)),
            Arg(_sample(y_low, y_high, shape_y, dtype, y_extra)))


PAIRS = [((), ()), ((5,), (5,)), ((3, 4), (4,)), ((4,), (3, 4))]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", PAIRS)
def test_copysign(path, dtype, shapes):
    check(lambda m, x, y: m.copysign(x, y), *_binary_args(*shapes, dtype, (0.0, -0.0),
                                                            (-0.0, 0.0)))


def test_copysign_slope_at_infinities_and_nan():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 2.0], np.float32)
    y = np.array([-1.0, 1.0, -1.0, -1.0, -0.0], np.float32)
    check(lambda m, x, y: m.copysign(x, y), Arg(x), Arg(y))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", PAIRS)
def test_xlogy(path, dtype, shapes):
    check(lambda m, x, y: m.xlogy(x, y), *_binary_args(*shapes, dtype, y_low=0.2, y_high=3))
    check(lambda m, x, y: m.xlogy(x, y), *_binary_args(*shapes, dtype, (0.0,), (0.5,),
                                                         y_low=0.2, y_high=3))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", PAIRS)
def test_pow_positive_and_general_bases(dtype, shapes):
    check(lambda m, x, y: m.pow(x, y), *_binary_args(*shapes, dtype, low=0.5, high=2.0,
                                                       y_low=-1.5, y_high=2.5))
    # zero, negative and nan bases and zero exponents take the guarded branch
    x = Arg(_sample(-2, 2, shapes[0], dtype, (0.0, -1.5, 2.0)))
    y = Arg(_sample(-1, 3, shapes[1], dtype, (0.0, 2.0, 0.0)).round())
    check(lambda m, x, y: m.pow(x, y), x, y)


def test_pow_gradient_of_one_input_only():
    x, y = RNG.uniform(0.5, 2.0, (3, 4)), RNG.uniform(-1, 2, (3, 4))
    check(lambda m, x, y: m.pow(x, y), Arg(x), Arg(y, requires_grad=False))
    check(lambda m, x, y: m.pow(x, y), Arg(x, requires_grad=False), Arg(y))
    x[0, 0] = 0.0
    check(lambda m, x, y: m.pow(x, y), Arg(x), Arg(y, requires_grad=False))
    check(lambda m, x, y: m.pow(x, y), Arg(x, requires_grad=False), Arg(y))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", [((), (), ()), ((4,), (4,), ()), ((3, 4), (3, 4), (4,)),
                                    ((4,), (3, 4), (3, 1))])
def test_lerp(dtype, shapes):
    weights = _sample(-0.5, 1.5, shapes[2], dtype, (1.0, 0.5, 0.0))
    check(lambda m, a, b, w: m.lerp(a, b, w), Arg(_sample(-2, 2, shapes[0], dtype)),
          Arg(_sample(-2, 2, shapes[1], dtype)), Arg(weights))
    for weight in (0.25, 0.75, 1.0):
        check(lambda m, a, b, w=weight: m.lerp(a, b, w), Arg(_sample(-2, 2, shapes[0], dtype)),
              Arg(_sample(-2, 2, shapes[1], dtype)))


def test_lerp_weight_one_gives_end_exactly():
    start, end = dg.tensor([0.1, 3.7, -2.3]), dg.tensor([1e-3, 1e7, 0.3])
    assert dg.lerp(start, end, 1.0).tolist() == end.tolist()
    assert dg.lerp(start, end, dg.ones(3)).tolist() == end.tolist()


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("shapes", PAIRS)
def test_div_rounding_gradients_are_zero_in_each_inputs_shape(mode, shapes):
    check(lambda m, x, y: m.div(x, y, rounding_mode=mode),
          *_binary_args(*shapes, np.float32, y_low=0.5, y_high=2.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_heaviside(dtype):
    x = np.array([-1.5, 0.0, 2.0, -0.0], np.float64).astype(dtype)
    values = np.array([0.5, 0.25, 0.0, 1.0], np.float64).astype(dtype)
    check(lambda m, x, v: m.heaviside(x, v), Arg(x, False), Arg(values, False), grad=False)
    check(lambda m, x, v: m.heaviside(x, v), Arg(x[1], False), Arg(values[1], False),
          grad=False)


# -------------------------------------------------------------------------- special functions

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_gamma_family(path, dtype, shape):
    # negatives, including digamma's slow window around its zero at -0.504 (0.2 < -x < 0.8)
    x = _sample(-3, 4, shape, dtype, (-0.5, -0.75, -0.25, 1.0, 2.0))
    x[np.abs(x - np.round(x)) < 0.05] += 0.1  # (away from the poles)
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    check(lambda m, x: m.lgamma(x), Arg(x), rtol=rtol)
    check(lambda m, x: m.digamma(x), Arg(x), rtol=rtol, atol=1e-5)
    for n in (1, 2, 3):
        check(lambda m, x, n=n: m.polygamma(n, x), Arg(x), rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gamma_family_edges(path, dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, 2.0, -1.5, -0.5], dtype)
    for fn in (lambda m, x: m.lgamma(x), lambda m, x: m.digamma(x),
               lambda m, x: m.polygamma(2, x)):
        check(_quiet(fn), Arg(x), grad=False, rtol=1e-5)
    # polygamma(1, .) at +-inf: PyTorch's 0 and nan (its float32 poles differ: not compared)
    got = dg.polygamma(1, dg.tensor(np.array([np.inf, -np.inf, np.nan, 0.5], dtype))).numpy()
    assert got[0] == 0 and np.isnan(got[1]) and np.isnan(got[2]) and got[3] > 0
    assert dg.polygamma(1, dg.tensor(np.array([], dtype))).shape == (0,)


def test_digamma_window_matches_scipy_closely():
    scipy_special = pytest.importorskip("scipy.special")
    x = np.linspace(-0.85, -0.15, 2001)
    want = scipy_special.psi(x)
    np.testing.assert_allclose(gamma.digamma(x), want, rtol=1e-12, atol=1e-14)
    got = dg.digamma(dg.tensor(x.astype(np.float32))).numpy()
    np.testing.assert_array_equal(got, scipy_special.psi(x.astype(np.float32)))


@pytest.mark.parametrize("name", ["i0", "special.i0e", "special.i1", "special.i1e",
                                  "special.entr", "special.erfcx", "special.ndtri"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SHAPES)
def test_bessel_and_entr(path, name, dtype, shape):
    function = dg
    for part in name.split("."):
        function = getattr(function, part)
    low, high, extra = {"special.entr": (0.1, 3.0, (1.0,)),
                        "special.ndtri": (0.05, 0.95, (0.5,))}.get(name, (-4, 4, (0.0, 1.0)))
    torch_name = name

    def call(m, x):
        f = m
        for part in torch_name.split("."):
            f = getattr(f, part)
        return f(x)

    check(call, Arg(_sample(low, high, shape, dtype, extra)),
          rtol=2e-5 if dtype == np.float32 else 1e-9)
    del function


@pytest.mark.parametrize("dtype", FLOATS)
def test_entr_edges(path, dtype):
    x = np.array([0.0, -1.0, np.inf, np.nan, 1e-30, 1.0], dtype)
    check(lambda m, x: m.special.entr(x), Arg(x), grad=False)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", [((), ()), ((5,), (5,)), ((2, 1), (3,))])
def test_igamma_gradient(path, dtype, shapes):
    a = Arg(_sample(0.5, 5, shapes[0], dtype), requires_grad=False)
    x = Arg(_sample(0.2, 8, shapes[1], dtype, (1e-3,)))
    for fn in (lambda m, a, x: m.igamma(a, x), lambda m, a, x: m.igammac(a, x)):
        check(fn, a, x, rtol=1e-4 if dtype == np.float32 else 1e-9)


def test_igamma_gradient_at_zero_x_and_integer_a(path):
    a = Arg(np.array([1, 2, 3]), requires_grad=False)
    x = Arg(np.array([0.0, 0.5, 2.0]))
    check(lambda m, a, x: m.igamma(a, x), a, x)
    check(lambda m, a, x: m.igammac(a, x), a, x)


def test_frexp_mantissa_gradient():
    x = np.array([0.0, 3.0, -0.75, 1e-30, 6e4], np.float32)
    check(lambda m, x: m.frexp(x)[0], Arg(x))


# ------------------------------------------------------------------------------- constants

def test_constants_match_python_floats_and_are_read_only():
    c = elementwise_math.Constants(0.1, 3.0)
    x32, x64 = np.ones(3, np.float32), np.ones(3, np.float64)
    assert c(x32)[0].dtype == np.float32 and c(x64)[0].dtype == np.float64
    assert (x32 + c(x32)[0] == x32 + 0.1).all() and (x64 * c(x64)[0] == x64 * 0.1).all()
    assert c(np.array(1.0, np.float32)) == (0.1, 3.0)  # (0-d: Python floats, see Constants)
    with pytest.raises(ValueError):
        c(x32)[1][...] = 2.0
    assert elementwise_math.constants(x32, 0.5)[0].dtype == np.float32
