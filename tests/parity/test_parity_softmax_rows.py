"""Differential table: softmax over many rows of a short last axis (W4's attention scores),
shifted by the whole array's maximum, and each case that falls back to the rows' own maxima
(a row far below the array's maximum, a fully masked row, NaN, inf), against PyTorch."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

R = np.random.default_rng(1818)
F32 = {"rtol": 1e-5, "atol": 1e-6}


def scores(*shape, scale=1.0, dtype=np.float32):
    x = R.standard_normal(shape) * scale
    n = shape[-1]
    return (x + np.triu(np.full((n, n), -np.inf), 1)).astype(dtype)


def far_row():
    x = scores(8, 32, 32, scale=2.0)
    x[3, 5] -= 200.0  # one row's maximum 200 below the array's: its sum under the floor
    return x


def masked_row():
    x = scores(8, 32, 32)
    x[1, 2] = -np.inf  # a fully masked row: NaN, as PyTorch
    return x


def special(value):
    x = scores(4, 32, 32)
    x[2, 7, 0] = value
    return x


CASES = [
    ("causal-f32", Arg(scores(8, 4, 32, 32, scale=3.0)), F32),
    ("causal-f64", Arg(scores(8, 32, 32, scale=3.0, dtype=np.float64)), {}),
    ("wide-f32", Arg(R.standard_normal((64, 65)).astype(np.float32) * 4), F32),
    ("transposed-f32", Arg(R.standard_normal((40, 64)).astype(np.float32).T), F32),
    ("far-row-f32", Arg(far_row()), F32),
    ("large-scale-f32", Arg(scores(8, 32, 32, scale=40.0)), F32),
]


@pytest.mark.parametrize("name, arg, tol", CASES, ids=[c[0] for c in CASES])
def test_softmax_rows(name, arg, tol):
    check(lambda m, x: m.softmax(x, -1), arg, **tol)


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_softmax_rows_nonfinite(value):
    check(lambda m, x: m.softmax(x, -1), Arg(special(value)), grad=False)


def test_softmax_rows_masked_row():
    check(lambda m, x: m.softmax(x, -1), Arg(masked_row()), grad=False)


def test_a_term_that_would_be_subnormal_keeps_its_relative_precision():
    # A row 40 below the array's maximum (its sum above the floor) with terms 50 and 70 below
    # the row's own maximum: shifted by the array's maximum they would be subnormal or 0
    # (log of them -inf), so the rows' own maxima are used, as PyTorch does.
    import torch

    import deltagrad as dg

    x = R.standard_normal((4, 32, 32)).astype(np.float32)
    x[0] += 38.0  # every other row's sum stays above the floor (about e^-40)
    x[2, 31, 5] = x[2, 31].max() - 50.0
    x[2, 31, 6] = x[2, 31].max() - 70.0
    ours = dg.softmax(dg.tensor(x), -1).numpy()
    theirs = torch.softmax(torch.from_numpy(x), -1).numpy()
    np.testing.assert_allclose(ours[2, 31, 5:7], theirs[2, 31, 5:7], rtol=1e-5)
    assert np.isfinite(np.log(ours[2, 31, 5:7])).all()
