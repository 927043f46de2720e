"""Session 8 (FA): pointwise parity fixes found by tests/parity/fuzz_s6.py, as tables.

out= of another shape (resized, with PyTorch's warning), the operators' ``alpha`` / ``other``
keywords, stft / istft argument errors, polygamma's ``n`` and its large orders, logit's ``eps``
as a 0-d tensor, angle / conj_physical ``out=``, integer pow by an exponent beyond the dtype,
and NumPy's floating-point warnings (PyTorch gives inf / nan silently).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(8)
F32 = RNG.standard_normal((2, 3)).astype(np.float32)
F64 = RNG.standard_normal((2, 3))
I64 = RNG.integers(-4, 5, (2, 3))
U8 = RNG.integers(0, 6, (2, 3)).astype(np.uint8)
B = RNG.random((2, 3)) > 0.5
SIGNAL = RNG.standard_normal(16).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# out= of another shape: resized, with PyTorch's deprecation warning.

RESIZED = {
    "exp": lambda m, x, out: m.exp(x, out=out),
    "add": lambda m, x, out: m.add(x, x, alpha=2, out=out),
    "atan2": lambda m, x, out: m.atan2(x, x.T.contiguous().T, out=out),
    "lt": lambda m, x, out: m.lt(x, 0.5, out=out.bool()),
    "zeta": lambda m, x, out: m.special.zeta(x.abs() + 1, 2.0, out=out),
    "angle": lambda m, x, out: m.angle(x, out=out),
    "conj_physical": lambda m, x, out: m.conj_physical(x, out=out),
    "xlogy": lambda m, x, out: m.xlogy(x, 2.0, out=out),
}


@pytest.mark.parametrize("name", sorted(RESIZED))
@pytest.mark.parametrize("out_shape", [(3,), (0,), (4, 5)])
def test_out_of_another_shape_is_resized(name, out_shape):
    results = []
    for m in (torch, dg):
        out = m.zeros(out_shape)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = RESIZED[name](m, m.tensor(F32), out)
        resized = [w for w in caught if "was resized" in str(w.message)]
        assert len(resized) == (1 if np.prod(out_shape) else 0), (m.__name__, caught)
        if name != "lt":
            assert result is out
        results.append(result)
    assert tuple(results[0].shape) == tuple(results[1].shape) == (2, 3)
    assert str(results[0].dtype).split(".")[-1] == str(results[1].dtype).split(".")[-1]
    np.testing.assert_allclose(results[1].numpy(), results[0].numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# The operators' keywords: __add__ / __radd__ / __sub__ are add / sub (alpha), __rpow__ takes
# other=.

OPERATOR_CASES = [
    ("add-alpha", lambda m, x, y: x.__add__(y, alpha=2), F32, F32),
    ("radd-alpha", lambda m, x, y: x.__radd__(y, alpha=-1), F32, F64),
    ("sub-alpha", lambda m, x, y: x.__sub__(y, alpha=2.5), F32, F32),
    ("add-alpha-int", lambda m, x, y: x.__add__(y, alpha=3), I64, I64),
    ("add-float-alpha-int", lambda m, x, y: x.__add__(y, alpha=2.5), I64, I64),
    ("radd-float-alpha-int", lambda m, x, y: x.__radd__(y, alpha=2.5), U8, U8),
    ("sub-bool-alpha", lambda m, x, y: x.__sub__(y, alpha=2), B, B),
    ("add-bool-alpha-float", lambda m, x, y: x.__add__(y, alpha=True), F32, F32),
    ("add-bool-alpha-bool", lambda m, x, y: x.__add__(y, alpha=True), B, B),
    ("add-other", lambda m, x, y: x.__add__(other=y), F32, F64),
    ("rpow-other", lambda m, x, y: x.__rpow__(other=2.5), F32, F32),
    ("rpow-other-int", lambda m, x, y: x.__rpow__(other=2), I64, I64),
    ("rsub-other", lambda m, x, y: x.__rsub__(other=2), F32, F32),
]


@pytest.mark.parametrize("name,fn,x,y", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_operator_keywords(name, fn, x, y):
    check(fn, Arg(x), Arg(y), grad=x.dtype.kind == "f")


# ---------------------------------------------------------------------------------------------
# stft / istft: PyTorch's argument errors, in its order (centring pad first, then the parser).

STFT_CASES = [
    ("n_fft-tensor-of-several", lambda m, x: m.stft(x, m.tensor([4, 4]), return_complex=True)),
    ("n_fft-float", lambda m, x: m.stft(x, 4.0, return_complex=True)),
    ("n_fft-bool", lambda m, x: m.stft(x, True, return_complex=True)),
    ("n_fft-0d-int-tensor", lambda m, x: m.stft(x, m.tensor(4), return_complex=True)),
    ("n_fft-0d-float-tensor", lambda m, x: m.stft(x, m.tensor(4.0), return_complex=True)),
    ("no-return_complex", lambda m, x: m.stft(x, 4)),
    ("bool-input", lambda m, x: m.stft(x > 0, 4, return_complex=True)),
    ("bool-input-n_fft-float", lambda m, x: m.stft(x > 0, 4.5)),
    ("0d-input", lambda m, x: m.stft(x[0], 2, return_complex=True)),
    ("pad-too-wide", lambda m, x: m.stft(x[:3], 8, return_complex=True)),
    ("hop-float", lambda m, x: m.stft(x, 4, hop_length=2.0, return_complex=True)),
    ("hop-0d-tensor", lambda m, x: m.stft(x, 4, hop_length=m.tensor(2), return_complex=True)),
    ("not-centred", lambda m, x: m.stft(x, 4, center=False, return_complex=True)),
    ("istft-n_fft-float", lambda m, x: m.istft(x, 4.0)),
    ("istft-n_fft-tensor", lambda m, x: m.istft(x, m.tensor([4, 4]))),
    ("istft-real-input", lambda m, x: m.istft(x, 4)),
    ("istft-hop-float", lambda m, x: m.istft(x, 4, hop_length=2.0)),
    ("istft-center-int", lambda m, x: m.istft(x, 4, center=1)),
    ("istft-round-trip", lambda m, x: m.istft(
        m.stft(x, 4, window=m.hann_window(4), return_complex=True), 4,
        window=m.hann_window(4))),
]


@pytest.mark.parametrize("name,fn", STFT_CASES, ids=[c[0] for c in STFT_CASES])
def test_stft_arguments(name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PyTorch's rectangular-window warnings)
        check(fn, Arg(SIGNAL), grad=False, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# polygamma: n as a 0-d integer tensor; large orders round as PyTorch's dtypes do (n! inf in
# float32 from n = 35, zeta underflowing to 0: inf and nan); trigamma at the negative integers
# is its reflection's large finite value.

POLY_X = np.array([0.0, 1.0, 2.0, 5.0, -1.5, 0.3, 30.0, -2.0, -3.0, 2.5, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3, 20, 34, 35, 40, 171, 300])
def test_polygamma_orders(n, dtype):
    x = POLY_X.astype(dtype)
    if n == 300 or (dtype == np.float16 and n == 20):
        x = x[x != -1.5]  # (PyTorch's zeta at a negative non-integer beyond ~1e-38: see report)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(lambda m, t: m.polygamma(n, t), Arg(x, requires_grad=False), grad=False,
              rtol=2e-3 if dtype == np.float16 else 1e-5)


@pytest.mark.parametrize("n_dtype", [np.int64, np.int8, np.uint8, np.bool_, np.float32])
@pytest.mark.parametrize("call", ["torch", "method", "special"])
def test_polygamma_tensor_order(n_dtype, call):
    def fn(m, n, x):
        if call == "method":
            return x.polygamma(n)
        return (m.special.polygamma if call == "special" else m.polygamma)(n, x)

    check(fn, Arg(np.array(2, n_dtype)), Arg(F32 + 3), grad=False)
    check(fn, Arg(np.array([2], np.int64)), Arg(F32 + 3), grad=False)  # (1-d: TypeError)


# ---------------------------------------------------------------------------------------------
# logit's eps: PyTorch's parser reads a 0-d tensor of any dtype as a float.

@pytest.mark.parametrize("eps", [np.array(True), np.array(0.2), np.array(2), np.array([0.2]),
                                 0.1, True])
def test_logit_eps(eps):
    p = np.array([0.05, 0.5, 0.99, -1.0], np.float32)
    eps_arg = Arg(eps, requires_grad=False) if isinstance(eps, np.ndarray) else eps
    check(lambda m, x, e: m.logit(x, e), Arg(p), eps_arg)
    check(lambda m, x, e: x.logit(e), Arg(p), eps_arg)


# ---------------------------------------------------------------------------------------------
# angle / conj_physical out=: angle casts into a floating out (an integer one raises),
# conj_physical's out must have the input's dtype.

@pytest.mark.parametrize("fn_name", ["angle", "conj_physical"])
@pytest.mark.parametrize("x", [F32, I64, B], ids=["float32", "int64", "bool"])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_complex_out(fn_name, x, out_dtype):
    out = np.zeros((2, 3), out_dtype)
    check(lambda m, t, o: getattr(m, fn_name)(t, out=o), Arg(x, requires_grad=False),
          Arg(out, requires_grad=False), grad=False)


# ---------------------------------------------------------------------------------------------
# Integer pow by a Python int beyond the dtype: PyTorch's RuntimeError (OverflowError beyond
# int64).

@pytest.mark.parametrize("exponent", [300, 256, 127, -1, 2 ** 70])
@pytest.mark.parametrize("x", [U8, I64, B], ids=["uint8", "int64", "bool"])
@pytest.mark.parametrize("form", ["pow", "operator", "method", "inplace"])
def test_integer_pow_exponent_range(exponent, x, form):
    def fn(m, t):
        if form == "pow":
            return m.pow(t, exponent)
        if form == "operator":
            return t ** exponent
        if form == "method":
            return t.pow(exponent)
        return t.pow_(exponent)

    check(fn, Arg(x if x.dtype != np.int64 else x.astype(np.int8)), grad=False)


# ---------------------------------------------------------------------------------------------
# NumPy's floating-point warnings: PyTorch gives inf / nan silently (forwards).

EXTREME = {np.float16: 6e4, np.float32: 3e38, np.float64: 1.7e308}
# add / sub / mul run without the errstate switch (its cost: W2 1.16x; see ops/elementwise.py):
# their values at the extremes are PyTorch's, and NumPy may warn (inf - inf, inf * 0, overflow).
HOT = {
    "mul": lambda m, x, y: x * y, "add": lambda m, x, y: x + y, "sub": lambda m, x, y: x - y,
    "mul-fn": lambda m, x, y: m.mul(x, y), "sub-alpha": lambda m, x, y: m.sub(x, y, alpha=1),
    "addcmul": lambda m, x, y: m.addcmul(x, x, y),
}
FORWARDS = {
    "div": lambda m, x, y: x / y, "pow": lambda m, x, y: x ** y, "atan2": lambda m, x, y:
    m.atan2(x, y), "hypot": lambda m, x, y: m.hypot(x, y), "xlogy": lambda m, x, y:
    m.xlogy(x, y), "fmod": lambda m, x, y: m.fmod(x, y), "remainder": lambda m, x, y:
    m.remainder(x, y), "logaddexp": lambda m, x, y: m.logaddexp(x, y), "lerp": lambda m, x, y:
    m.lerp(x, y, 0.5),
    "exp": lambda m, x, y: m.exp(x), "expm1": lambda m, x, y: m.expm1(x),
    "log": lambda m, x, y: m.log(x), "sqrt": lambda m, x, y: m.sqrt(x),
    "sin": lambda m, x, y: m.sin(x), "cos": lambda m, x, y: m.cos(x),
    "square": lambda m, x, y: m.square(x), "cosh": lambda m, x, y: m.cosh(x),
    "frac": lambda m, x, y: m.frac(x), "round": lambda m, x, y: m.round(x, decimals=2),
    "erfinv": lambda m, x, y: m.erfinv(x), "lgamma": lambda m, x, y: m.lgamma(x),
    "digamma": lambda m, x, y: m.digamma(x), "i0": lambda m, x, y: m.i0(x),
    "sinc": lambda m, x, y: m.sinc(x), "sigmoid": lambda m, x, y: m.sigmoid(x),
    "softplus": lambda m, x, y: m.nn.functional.softplus(x),
    "i0e": lambda m, x, y: m.special.i0e(x), "entr": lambda m, x, y: m.special.entr(x),
    "xlog1py": lambda m, x, y: m.special.xlog1py(x, y),
    "polar": lambda m, x, y: m.polar(x.abs(), y),
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(FORWARDS))
def test_no_numpy_warnings_forward(name, dtype):
    big = EXTREME[dtype]
    values = np.array([0.0, np.inf, -np.inf, np.nan, big, -big, 1.0, -1.0], dtype)
    x, y = values[:, None], values[None, ::-1].copy()
    if name == "polar" and dtype == np.float16:
        return  # (no float16 polar in PyTorch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(FORWARDS[name], Arg(x, requires_grad=False), Arg(y, requires_grad=False),
              grad=False, rtol=2e-3 if dtype == np.float16 else 1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(HOT))
def test_hot_operators_at_extremes_give_pytorchs_values(name, dtype):
    big = EXTREME[dtype]
    values = np.array([0.0, np.inf, -np.inf, np.nan, big, -big, 1.0, -1.0], dtype)
    x, y = values[:, None], values[None, ::-1].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(HOT[name], Arg(x, requires_grad=False), Arg(y, requires_grad=False),
              grad=False, rtol=2e-3 if dtype == np.float16 else 1e-5, atol=1e-6)


def test_no_numpy_warning_casting_out_of_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(lambda m, x: x.to(m.float16), Arg(np.array([1e300, -1e300, 1.0])), grad=False)


def test_no_numpy_warnings_backward():
    x = dg.tensor([3e38, 0.0, 1.0], requires_grad=True)
    y = dg.tensor([[3e38, np.inf, 2.0]] * 2)
    with warnings.catch_warnings():  # (the forward's overflow warns: ops/elementwise.py's
        warnings.simplefilter("ignore")  # documented cost choice for add / sub / mul)
        out = x * y
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out.backward(dg.full((2, 3), 3e38))
    assert np.isposinf(x.grad.numpy()).all()  # (PyTorch: [inf, inf, inf])


# ---------------------------------------------------------------------------------------------
# Orthogonal polynomials: a degree of nan, +-inf or beyond int64 is PyTorch's C cast to int64's
# minimum, a negative degree (0), not degree 0 (1) or a huge one (a hang).

@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "chebyshev_polynomial_w",
                                  "hermite_polynomial_h", "laguerre_polynomial_l",
                                  "legendre_polynomial_p", "shifted_chebyshev_polynomial_u"])
def test_polynomial_degree_not_finite(name):
    n = np.array([0.0, np.inf, -np.inf, np.nan, 3e38, -3e38, 1.0, -1.0, 0.5, 2.5, 9.7],
                 np.float32)
    check(lambda m, x, d: getattr(m.special, name)(x, d), Arg(np.float32(0.3)), Arg(n),
          grad=False)
