"""gelu(approximate='tanh') on arrays in place with constants of the input's dtype (s23 SP9):
the same bits as the expressions it replaces (written out here as they were), forward and rule,
and PyTorch's values and gradients."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS
from deltagrad._engine.ops.registry import ARRAY

C = float(np.sqrt(2.0 / np.pi))


def _former_forward(x):
    return 0.5 * x * (1.0 + np.tanh(C * (x + 0.044715 * (x * x * x))))


def _former_rule(g, x):
    inner = C * (x + 0.044715 * x * x * x)
    t = np.tanh(inner)
    d_inner = C * (1.0 + 3 * 0.044715 * x * x)
    return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner)


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(), (7,), (10, 10), (3, 1, 5)])
@pytest.mark.parametrize("g_dtype", ["same", "float64"])
def test_same_bits_as_the_expressions(dtype, shape, g_dtype):
    rng = np.random.default_rng([len(shape), np.dtype(dtype).itemsize])
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    if x.size >= 5:
        x.flat[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    g = rng.standard_normal(shape).astype(dtype if g_dtype == "same" else np.float64)
    with np.errstate(all="ignore"):
        out = OPS["gelu"].forward(x, approximate="tanh")
        (gx,) = OPS["gelu"].vjp(ARRAY, g, out, x, approximate="tanh")
        if dtype != np.float16:  # (float16 computes in float32: its own branch, unchanged)
            want = _former_forward(x)
            assert out.dtype == np.asarray(want).dtype
            np.testing.assert_array_equal(_bits(out), _bits(want))
        want_g = _former_rule(g, x)
    assert np.asarray(gx).dtype == np.asarray(want_g).dtype
    np.testing.assert_array_equal(_bits(gx), _bits(want_g))


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((10, 10)) * 3).astype(np.float32)
    g = rng.standard_normal((10, 10)).astype(np.float32)
    got, want = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = dg.nn.functional.gelu(got, approximate="tanh")
    ref = torch.nn.functional.gelu(want, approximate="tanh")
    out.backward(dg.tensor(g))
    ref.backward(torch.tensor(g))
    # (PyTorch's kernel differs in the far tail, x < -3: values up to 1.6e-7 and gradients up
    # to 1.1e-6 absolute, where its tanh reaches -1; the same before s23)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=2e-6, atol=5e-7)
    np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=2e-6, atol=2e-6)
    # second order goes through the recorded rule, unchanged
    x2 = dg.tensor(x[:2, :3].astype(np.float64), requires_grad=True)
    assert dg.autograd.gradcheck(lambda t: dg.nn.functional.gelu(t, approximate="tanh"), (x2,))
    assert dg.autograd.gradgradcheck(lambda t: dg.nn.functional.gelu(t, approximate="tanh"),
                                     (x2,))
