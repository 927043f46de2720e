"""The differences PyTorch's OpInfo ufunc samples found (s13 OA), each checked against PyTorch
directly on the case that showed it, and on a few more of its kind."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
import deltagrad.nn.functional as F  # noqa: E402


def _dg(t):
    """A PyTorch tensor as a deltagrad one of the same dtype (bfloat16 through float32)."""
    if t.dtype == torch.bfloat16:
        return dg.tensor(t.float().numpy()).to(dg.bfloat16)
    return dg.tensor(t.numpy().copy(), dtype=getattr(dg, str(t.dtype).split(".")[-1]))


def _np(t):
    t = t.detach()
    return (t.float() if str(t.dtype).endswith("bfloat16") else t).numpy()


def _same(expected, actual):
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(_np(actual), _np(expected))


# ----------------------------------------------------------------------------- div rounding


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_reduced_float_div_rounding_matches_pytorch(dtype, mode):
    # PyTorch rounds each step to the dtype (tensor divisor) or computes in float32 (a
    # one-element divisor): -3.890625 / -0.216796875 is 17.95, 18.0 in bfloat16, trunc 18.
    g = torch.Generator().manual_seed(0)
    t_dtype = getattr(torch, dtype)
    a = (torch.randn(4000, generator=g) * 10).to(t_dtype)
    b = torch.randn(4000, generator=g).to(t_dtype)
    a[0], b[0] = -3.890625, -0.216796875
    for divisor in (b, b[:1], b[3], 3):
        d_divisor = divisor if isinstance(divisor, int) else _dg(divisor)
        _same(torch.div(a, divisor, rounding_mode=mode),
              dg.div(_dg(a), d_divisor, rounding_mode=mode))
    _same(a // b, _dg(a) // _dg(b))
    _same(2.5 // b, 2.5 // _dg(b))


# ----------------------------------------------------------------------------- gamma family


@pytest.mark.parametrize("dtype", ["int16", "int8", "float32", "float64"])
def test_polygamma_of_a_0d_negative_integer(dtype):
    # zeta gives a NumPy scalar for 0-d input; the pole fix-up assigned into it (TypeError)
    x = torch.tensor(-3, dtype=getattr(torch, dtype))
    for n in (1, 2):
        expected, actual = torch.polygamma(n, x), dg.polygamma(n, _dg(x))
        assert str(actual.dtype).endswith(str(expected.dtype).split(".")[-1])
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- in-place


def test_inplace_abs_of_complex_raises_and_float_power_of_complex128_works():
    for name in ("abs_", "absolute_"):
        with pytest.raises(RuntimeError, match="In-place abs is not supported for complex"):
            getattr(dg.tensor([1 + 2j]), name)()
        with pytest.raises(RuntimeError):
            getattr(torch.tensor([1 + 2j]), name)()
    with pytest.raises(RuntimeError):
        dg.abs_(dg.tensor([1 + 2j]))
    _same(torch.tensor([-2.0, 3.0]).abs_(), dg.tensor([-2.0, 3.0]).abs_())
    base = [1 + 2j, -0.5j]
    _same(torch.tensor(base, dtype=torch.complex128).float_power_(2),
          dg.tensor(base, dtype=dg.complex128).float_power_(2))
    for exponent in (2j, dg.tensor([1j])):
        with pytest.raises(RuntimeError, match="ComplexDouble"):
            dg.tensor([2.0], dtype=dg.float64).float_power_(exponent)
    with pytest.raises(RuntimeError, match="ComplexDouble"):
        torch.tensor([2.0], dtype=torch.float64).float_power_(2j)


# ----------------------------------------------------------------------------- error inputs


@pytest.mark.parametrize("name", ["remainder", "bitwise_and", "bitwise_or", "bitwise_xor",
                                  "bitwise_left_shift", "bitwise_right_shift", "xlogy"])
def test_two_python_numbers_raise_type_error(name):
    with pytest.raises(TypeError):
        getattr(torch, name)(2, 3)
    with pytest.raises(TypeError, match=name):
        getattr(dg, name)(2, 3)
    # a number with a tensor stays accepted where PyTorch accepts it
    for args in ((torch.tensor([6, 7]), 3), (7, torch.tensor([2, 3]))):
        try:
            expected = getattr(torch, name)(*args)
        except TypeError:
            continue
        _same(expected, getattr(dg, name)(*(_dg(a) if isinstance(a, torch.Tensor) else a
                                             for a in args)))


def test_isclose_refuses_negative_or_nan_tolerances():
    x = dg.tensor([1.0, 2.0])
    for kwargs in ({"rtol": -0.4}, {"atol": -0.4}, {"rtol": float("nan")}):
        with pytest.raises(RuntimeError, match="greater than or equal to zero"):
            dg.isclose(x, x, **kwargs)
        with pytest.raises(RuntimeError, match="greater than or equal to zero"):
            torch.isclose(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]), **kwargs)
    assert dg.isclose(x, x, rtol=0.0, atol=0.0).all()


@pytest.mark.parametrize("training", [False, True])
def test_rrelu_refuses_lower_above_upper(training):
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        torch.nn.functional.rrelu(torch.randn(3), 0.3, 0.1, training=training)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        F.rrelu(dg.randn(3), 0.3, 0.1, training=training)
    F.rrelu(dg.randn(3), 0.2, 0.2, training=training)  # (equal bounds are fine)


def test_rrelu_training_on_bfloat16_keeps_the_dtype():
    x = dg.tensor([1.5, -0.25, -2.0, 0.0]).to(dg.bfloat16)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    assert out.dtype == dg.bfloat16 and out.shape == x.shape
    values = out.float().numpy()
    assert values[0] == 1.5 and -0.25 * 0.3 - 1e-2 <= values[1] <= -0.25 * 0.1 + 1e-2


def test_complex_takes_out_of_the_result_dtype_only():
    re, im = dg.tensor([1.0, 2.0], dtype=dg.float64), dg.tensor([3.0, 4.0], dtype=dg.float64)
    out = dg.empty(2, dtype=dg.complex128)
    assert dg.complex(re, im, out=out) is out
    assert out.tolist() == [1 + 3j, 2 + 4j]
    with pytest.raises(RuntimeError):
        dg.complex(re, im, out=dg.empty(2, dtype=dg.complex64))
    with pytest.raises(RuntimeError):
        torch.complex(torch.tensor([1.0], dtype=torch.float64),
                      torch.tensor([1.0], dtype=torch.float64),
                      out=torch.empty(1, dtype=torch.complex64))


# ----------------------------------------------------------------------------- breadth


def test_frexp_and_nextafter_on_bfloat16():
    values = [1.5, -2.25, 0.0, -0.0, 3e38, 1e-40, float("inf")]
    t = torch.tensor(values).bfloat16()
    mantissa, exponent = dg.frexp(_dg(t))
    _same(torch.frexp(t).mantissa, mantissa)
    _same(torch.frexp(t).exponent, exponent)
    for toward in (torch.zeros(len(values)), torch.full((len(values),), float("inf")),
                   torch.full((len(values),), -1.0)):
        toward = toward.bfloat16()
        _same(torch.nextafter(t, toward), dg.nextafter(_dg(t), _dg(toward)))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_logaddexp_of_complex_tensors(dtype):
    g = torch.Generator().manual_seed(0)
    t_dtype = getattr(torch, dtype)
    x = torch.randn(50, dtype=t_dtype, generator=g) * 4
    y = torch.randn(50, dtype=t_dtype, generator=g) * 4
    inf, nan = float("inf"), float("nan")
    x[:4] = torch.tensor([complex(-inf, 0), complex(inf, 1), complex(nan, 0), 1 + 1j])
    y[:4] = torch.tensor([complex(-inf, 2), complex(inf, 0), 1j, complex(0, nan)])
    expected = torch.logaddexp(x, y)
    xs, ys = _dg(x).requires_grad_(), _dg(y).requires_grad_()
    actual = dg.logaddexp(xs, ys)
    np.testing.assert_allclose(actual.detach().numpy(), expected.numpy(), rtol=2e-5,
                               equal_nan=True)
    # gradients (the conjugate convention) away from the infinities
    xt, yt = x[4:].clone().requires_grad_(), y[4:].clone().requires_grad_()
    cot = torch.randn(46, dtype=t_dtype, generator=g)
    want = torch.autograd.grad(torch.logaddexp(xt, yt), (xt, yt), cot)
    xd, yd = _dg(x[4:]).requires_grad_(), _dg(y[4:]).requires_grad_()
    got = dg.autograd.grad(dg.logaddexp(xd, yd), (xd, yd), _dg(cot))
    for w, h in zip(want, got):
        np.testing.assert_allclose(h.numpy(), w.numpy(), rtol=1e-4, atol=1e-6)


def test_logaddexp_gradient_where_the_result_rounds_to_an_input():
    # x = y = -4988429.0 (float32): out rounds to x, so exp(x - out) was 1; PyTorch's slope
    # 1 / (1 + exp(y - x)) is 0.5
    for fn in ("logaddexp", "logaddexp2"):
        values = [-4988429.0, 1e20, -1e20, 3.0, float("inf")]
        xt = torch.tensor(values, requires_grad=True)
        yt = torch.tensor([-4988429.0, 1e20, -1e20, -2.0, 1.0], requires_grad=True)
        want = torch.autograd.grad(getattr(torch, fn)(xt, yt).sum(), (xt, yt))
        xd = dg.tensor(values, requires_grad=True)
        yd = dg.tensor([-4988429.0, 1e20, -1e20, -2.0, 1.0], requires_grad=True)
        got = dg.autograd.grad(getattr(dg, fn)(xd, yd).sum(), (xd, yd))
        for w, h in zip(want, got):
            np.testing.assert_allclose(h.numpy(), w.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- reference inputs


def test_igamma_nan_with_an_infinity_as_pytorch():
    inf, nan = float("inf"), float("nan")
    a = [inf, inf, inf, -inf, nan, nan, nan, 0.0, 2.0, 0.5]
    x = [inf, -inf, nan, nan, inf, -inf, nan, 1.0, 0.0, 3.0]
    for name in ("igamma", "igammac"):
        for dtype in ("float32", "float64"):
            expected = getattr(torch, name)(torch.tensor(a, dtype=getattr(torch, dtype)),
                                            torch.tensor(x, dtype=getattr(torch, dtype)))
            actual = getattr(dg, name)(dg.tensor(a, dtype=getattr(dg, dtype)),
                                       dg.tensor(x, dtype=getattr(dg, dtype)))
            np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-6,
                                       equal_nan=True)


def test_silu_float16_computes_in_float32():
    x = torch.linspace(-20, 20, 801).half()
    _same(torch.nn.functional.silu(x), F.silu(_dg(x)))  # (silu(-13) was -0 for -2.9e-5)


def test_integer_pow_with_the_most_negative_exponent():
    base = torch.tensor([2, 1, -1, -1, 0, 3, -2, 5], dtype=torch.int8)
    exponent = torch.tensor([-128, -2, -128, -127, -1, 0, -128, 2], dtype=torch.int8)
    _same(torch.pow(base, exponent), dg.pow(_dg(base), _dg(exponent)))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int64", "float16", "bfloat16"])
def test_threshold_value_converted_as_pytorch(dtype):
    x = torch.tensor([0, 5, 100], dtype=getattr(torch, dtype))
    for value in (-9, 2.7, 300, -0.5):
        try:
            expected = torch.nn.functional.threshold(x, 3.5, value)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                F.threshold(_dg(x), 3.5, value)
            continue
        _same(expected, F.threshold(_dg(x), 3.5, value))


def test_nan_to_num_on_bfloat16_uses_its_own_largest_values():
    values = torch.tensor([float("inf"), -float("inf"), float("nan"), 1.5]).bfloat16()
    for kwargs in ({}, {"posinf": 2.0}, {"nan": 3.0, "neginf": -7.0}):
        _same(torch.nan_to_num(values, **kwargs), dg.nan_to_num(_dg(values), **kwargs))


def test_heaviside_of_bfloat16_nan_is_zero():
    a = torch.tensor([float("nan"), 0.0, 2.0, -1.0, -0.0]).bfloat16()
    b = torch.tensor([5.0, float("nan"), 3.0, 1.0, 0.5]).bfloat16()
    _same(torch.heaviside(a, b), dg.heaviside(_dg(a), _dg(b)))
