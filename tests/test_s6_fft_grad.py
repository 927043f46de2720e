"""Gradients through complex tensors and the FFTs against PyTorch (its convention: the gradient
of a real loss for z = x + iy is dL/dx + i dL/dy), gradcheck with complex outputs, and the
the rules of the other ops run for complex operands (ops/complex.py's complex_rule: the
conjugate of the rule applied to the conjugate gradient, or a clear refusal)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS
from deltagrad._engine.ops.complex import complex_rule
from deltagrad._engine.tensor import apply

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 6))
Y = RNG.standard_normal((4, 6))
W = RNG.standard_normal(400)


def loss(m, out):
    """A real loss that weighs real and imaginary parts differently (a wrong conjugate shows)."""
    if out.is_complex():
        out = m.view_as_real(out.resolve_conj())
    return (out * m.from_numpy(W[:out.numel()].reshape(out.shape).copy())).sum()


def grads(m, fn, arrays):
    leaves = [m.tensor(a, requires_grad=True) for a in arrays]
    loss(m, fn(m, *leaves)).backward()
    return [leaf.grad for leaf in leaves]


def same_grads(fn, *arrays, rtol=1e-9, atol=1e-10):
    for want, got in zip(grads(torch, fn, arrays), grads(dg, fn, arrays)):
        if want is None:
            assert got is None or not got.numpy().any()
            continue
        assert got.dtype == getattr(dg, str(want.dtype).split(".")[1])
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=atol)


def z(m, a, b):
    return m.complex(a, b)


REAL_IN = ["fft", "ifft", "rfft", "ihfft", "fft2", "rfft2", "ifftn", "rfftn", "ihfftn"]
COMPLEX_IN = ["fft", "ifft", "irfft", "hfft", "fft2", "ifft2", "irfft2", "hfftn", "irfftn"]


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("name", REAL_IN)
def test_transforms_of_real_input(name, norm):
    same_grads(lambda m, a: getattr(m.fft, name)(a, norm=norm), X)


@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
@pytest.mark.parametrize("name", COMPLEX_IN)
def test_transforms_of_complex_input(name, norm):
    same_grads(lambda m, a, b: getattr(m.fft, name)(z(m, a, b), norm=norm), X, Y)


@pytest.mark.parametrize("n", [3, 4, 5, 8, 11])
def test_sizes_pad_and_trim(n):
    same_grads(lambda m, a: m.fft.rfft(a, n=n, dim=0), X)
    same_grads(lambda m, a, b: m.fft.irfft(z(m, a, b), n=n), X, Y)
    same_grads(lambda m, a, b: m.fft.hfft(z(m, a, b), n=n, dim=0, norm="ortho"), X, Y)
    same_grads(lambda m, a, b: m.fft.irfftn(z(m, a, b), s=(3, n)), X, Y)
    same_grads(lambda m, a: m.fft.fftn(a, s=(n, 5)), X)


@pytest.mark.parametrize("fn", [
    lambda m, a, b: m.polar(a.abs() + 0.1, b),
    lambda m, a, b: m.angle(z(m, a, b)),
    lambda m, a, b: m.angle(a),
    lambda m, a, b: z(m, a, b).abs(),
    lambda m, a, b: z(m, a, b).real * 2 + z(m, a, b).imag,
    lambda m, a, b: z(m, a, b).conj(),
    lambda m, a, b: m.conj_physical(z(m, a, b)),
    lambda m, a, b: m.view_as_complex(m.stack([a, b], dim=-1)),
    lambda m, a, b: m.view_as_complex(m.stack([a, b], dim=-1).transpose(0, 1)),
    lambda m, a, b: m.view_as_real(z(m, a, b)[:, ::2]),
    lambda m, a, b: m.fft.fftshift(m.fft.fft2(z(m, a, b)), dim=0),
], ids=["polar", "angle", "angle-real", "abs", "parts", "conj", "conj_physical",
        "view_as_complex", "view_as_complex-T", "view_as_real", "fftshift"])
def test_complex_basics(fn):
    same_grads(fn, X, Y, rtol=1e-7)


def test_power_spectrum_float32():
    x = X.astype(np.float32)

    def fn(m, a):
        return m.fft.rfft(a).abs().pow(2).sum()

    want, got = grads(torch, fn, [x])[0], grads(dg, fn, [x])[0]
    assert got.dtype == dg.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_spectral_filter_gradient_of_the_signal():
    # irfft(rfft(x) * w) with w real: x's gradient goes through mul's rule for the complex
    # operand, exact here because w is real; w's own gradient is checked below.
    w = RNG.standard_normal(4)

    def fn(m, a, f):
        return m.fft.irfft(m.fft.rfft(a) * f)

    want, got = grads(torch, fn, [X, w])[0], grads(dg, fn, [X, w])[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-10)


def test_spectral_filter_gradient_of_a_real_weight():
    w = RNG.standard_normal(4)
    same_grads(lambda m, a, f: m.fft.irfft(m.fft.rfft(a) * f), X, w)


def test_circular_convolution():
    same_grads(lambda m, a, b: m.fft.irfft(m.fft.rfft(a) * m.fft.rfft(b)), X, Y)


def test_complex_rule_gives_torch_gradients_for_holomorphic_ops():
    # What the engine change would do: the twin's rule is conj(rule(conj(g))).
    w = RNG.standard_normal(4)

    def ours(m, a, f, op):
        spectrum = m.fft.rfft(a)
        product = apply(complex_rule(OPS[op]), spectrum, f) if m is dg else (
            spectrum * f if op == "mul" else spectrum / f)
        return m.fft.irfft(product)

    for op in ("mul", "div"):
        same_grads(lambda m, a, f, op=op: ours(m, a, f.abs() + 0.5, op), X, w)
    exp = complex_rule(OPS["exp"])
    same_grads(lambda m, a: (apply(exp, m.fft.rfft(a * 0.1)) if m is dg
                             else m.fft.rfft(a * 0.1).exp()), X)
    same_grads(lambda m, a, b: (m.fft.irfft(apply(complex_rule(OPS["mul"]), m.fft.rfft(a),
                                                  m.fft.rfft(b))) if m is dg
                                else m.fft.irfft(m.fft.rfft(a) * m.fft.rfft(b))), X, Y)


def test_complex_rule_for_a_fourier_layer():
    # A Fourier neural operator's spectral layer: rfft, a complex weight from two real
    # parameters, a product of matrices, irfft.
    wr, wi = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))

    def layer(m, a, re, im):
        spectrum = m.fft.rfft(a, dim=0).transpose(0, 1)  # [4 rows, 3 modes]
        weight = m.complex(re, im)
        mixed = (apply(complex_rule(OPS["matmul"]), spectrum, weight) if m is dg
                 else spectrum @ weight)
        return m.fft.irfft(mixed.transpose(0, 1), n=6, dim=0)

    same_grads(layer, X[:, :4].T.copy(), wr, wi)


def test_complex_rule_refuses_rules_it_cannot_fix():
    assert complex_rule(OPS["real"]) is OPS["real"]
    assert complex_rule(OPS["abs"]) is OPS["abs"]
    with pytest.raises(NotImplementedError, match="var: gradients through complex"):
        complex_rule(OPS["var"])


def test_gradcheck_handles_complex_outputs():
    x = dg.tensor(X[0], requires_grad=True)
    assert dg.gradcheck(lambda t: dg.fft.rfft(t, norm="ortho"), (x,))
    assert dg.gradcheck(lambda t: dg.fft.fft(dg.complex(t, t * t)), (x,))
    y = dg.tensor(X[:3, :4], requires_grad=True)
    assert dg.gradcheck(lambda t: dg.polar(t.abs() + 0.5, t), (y,))
    with pytest.raises(dg.GradcheckError):  # a wrong imaginary part is caught
        _wrong_imaginary_part(x)


def _wrong_imaginary_part(x):
    from deltagrad._engine.ops.registry import Op

    good = OPS["_fft_r2c"]
    # The rule of fft's real-to-complex op with the conjugate forgotten: only the imaginary
    # parts' rows of the Jacobian are wrong.
    bad = Op("_fft_r2c", good.forward,
             lambda F, g, out, t, **attrs: good.vjp(F, F.op("conj_physical", g), out, t,
                                                     **attrs), good.samples, False, False)
    dg.gradcheck(lambda t: apply(bad, t, dim=(0,), normalization=0, onesided=True), (x,))


SECOND_ORDER = {
    "rfft": lambda t: dg.fft.rfft(t),
    "fft": lambda t: dg.fft.fft(dg.complex(t, t * 0.5)),
    "irfft": lambda t: dg.fft.irfft(dg.complex(t, t * 0.5)),
    "polar": lambda t: dg.polar(t * t + 0.5, t),
    "angle": lambda t: dg.angle(dg.complex(t, t * t + 0.5)),
}


@pytest.mark.parametrize("name", ["fft", "irfft", "angle"])  # (their rules take imag parts)
def test_double_backward_in_float64(name):
    x = dg.tensor(X[0], requires_grad=True)
    assert dg.gradgradcheck(SECOND_ORDER[name], (x,))


def test_double_backward_of_rfft_and_polar():
    x = dg.tensor(X[0], requires_grad=True)
    assert dg.gradgradcheck(SECOND_ORDER["rfft"], (x,))
    assert dg.gradgradcheck(SECOND_ORDER["polar"], (x,))


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_double_backward_with_the_engine_fix(name, monkeypatch):
    # The fix proposed for tensor._float32_unless_float64: complex128 inputs keep float64.
    import importlib

    tensor = importlib.import_module("deltagrad._engine.tensor")
    narrow = tensor._float32_unless_float64

    def fixed(data, inputs):
        if any(x._data.dtype == np.complex128 for x in inputs):
            return data
        return narrow(data, inputs)

    monkeypatch.setattr(tensor, "_float32_unless_float64", fixed)
    x = dg.tensor(X[0], requires_grad=True)
    assert dg.gradgradcheck(SECOND_ORDER[name], (x,))


def test_complex_leaves_get_pytorchs_fft_gradient():
    # (complex leaves may require grad since session 9: tests/autograd/test_s9_lead_autograd.py)
    grads = []
    for m in (torch, dg):
        z = m.tensor([1 + 2j, -0.5 + 0.25j, 3 - 1j], requires_grad=True)
        m.fft.fft(z).abs().sum().backward()
        grads.append(z.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-5, atol=1e-6)
