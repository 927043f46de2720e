"""Fast paths at their edges against PyTorch: inputs chosen where a shortcut's arithmetic
differs from the general path's (see each test)."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402


@pytest.mark.parametrize("n", [3, 7, 300, 1025])  # the small path (<= 1024 elements), the rows
@pytest.mark.parametrize("value", [1000.0, 0.1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_constant_rows_give_zero(n, value, dtype):
    # A constant row's mean must be its value: (x - mean) is amplified by rstd = 1 / sqrt(eps)
    # (316), so a mean off by rounding gave -0.67 (1025 x 1000.0) where PyTorch gives 0.
    x = np.full((2, n), value, dtype)
    x[1] = np.linspace(-1.0, 1.0, n)
    w = np.linspace(0.5, 1.5, n).astype(dtype)
    b = np.linspace(-0.2, 0.3, n).astype(dtype)
    # (values only: with rstd 316 the input's gradient there is PyTorch's rounding too)
    check(lambda m, a, w, b: m.nn.functional.layer_norm(a, (n,), w, b), Arg(x), Arg(w), Arg(b),
          grad=False, rtol=1e-5, atol=1e-6)
    check(lambda m, a: m.nn.functional.layer_norm(a, (n,)), Arg(x), grad=False, rtol=1e-5,
          atol=1e-6)
    check(lambda m, a: m.nn.functional.layer_norm(a, (n,)), Arg(x.astype(np.float64)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_ignored_row_with_nonfinite_logits(bad, reduction, dtype):
    # An ignored row weighs exactly 0 in PyTorch whatever its logits: its loss was multiplied
    # by 0 here, so a nan / inf logit in it made the row's loss (and the mean) nan.
    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4).astype(dtype)
    x[1, 0] = bad
    t = np.array([0, 1, 2])
    check(lambda m, a, tt: m.nn.functional.cross_entropy(a, tt, ignore_index=1,
                                                         reduction=reduction),
          Arg(x), Arg(t))
