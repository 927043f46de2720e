"""Dropout through a mask of 0 and 1/(1-p) in the input's dtype (W1, issue 18): the same bits as
``x * keep * scale``, forward and gradient, special values included."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.nn import _dropout_forward, _dropout_vjp
from deltagrad._engine.ops.registry import ARRAY


def _bits(a):
    a = np.asarray(a)
    return a.view(f"u{a.itemsize}")


def _reference(x, keep, p):
    scale = x.dtype.type(1.0) / x.dtype.type(1.0 - p) if p < 1 else x.dtype.type(1.0)
    out = np.multiply(x, keep)
    out *= scale
    return out


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf * 0, on purpose
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("layout", ["c", "transposed", "0-d"])
def test_forward_and_vjp_are_the_product_with_the_boolean_mask(dtype, p, layout):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 9)).astype(dtype)
    x.flat[:6] = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-30]
    keep = rng.random((6, 9)) >= p
    keep.flat[:6] = [True, False, False, False, True, True]
    if layout == "transposed":
        x, keep = x.T, keep.T
    elif layout == "0-d":
        x, keep = x[0, 1], np.asarray(False)
        x = np.asarray(x)
    out = _dropout_forward(x, keep, p=p)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert np.array_equal(_bits(out), _bits(_reference(x, keep, p)))
    (gx, none) = _dropout_vjp(ARRAY, x, out, x, keep, p=p)
    assert none is None
    assert np.array_equal(_bits(gx), _bits(_reference(x, keep, p)))


def test_module_dropout_matches_torch_semantics_on_a_kept_mask():
    x = dg.tensor(np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4), requires_grad=True)
    y = dg.nn.functional.dropout(x, 0.25, generator=dg.Generator(4))
    y.sum().backward()
    values = y.detach().numpy()
    kept = values != 0
    np.testing.assert_array_equal(values[kept],
                                  (x.detach().numpy() * np.float32(1 / 0.75))[kept])
    np.testing.assert_array_equal(x.grad.numpy(), np.where(kept, np.float32(1 / 0.75), 0))
