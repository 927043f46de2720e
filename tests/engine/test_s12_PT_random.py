"""Session 12 (PT): normal(Tensor, Tensor)'s dtype and its std check (api/random.py)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg


@pytest.mark.parametrize("mean_dtype,std_dtype", [
    ("float32", "float64"), ("float64", "float32"), ("float16", "float32"),
    ("float32", "float32"), (None, "float64"), ("float64", None)])
def test_normal_result_dtype_and_draws_match_torch(mean_dtype, std_dtype):
    torch = pytest.importorskip("torch")

    def args(lib):
        mean = lib.zeros(3, dtype=getattr(lib, mean_dtype)) + 0.5 if mean_dtype else 0.5
        std = lib.ones(3, dtype=getattr(lib, std_dtype)) * 2 if std_dtype else 2.0
        return mean, std

    want = torch.normal(*args(torch), generator=torch.Generator().manual_seed(3))
    got = dg.normal(*args(dg), generator=dg.Generator().manual_seed(3))
    assert str(got.dtype) == str(want.dtype).replace("torch", "deltagrad")
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                               rtol=1e-3 if "float16" in str(want.dtype) else 1e-6)


@pytest.mark.parametrize("std", [[1.0, float("nan")], [float("nan"), 1.0], [2.0, -0.5],
                                 [-1.0] * 20, [1.0] * 19 + [float("nan")]])
def test_normal_rejects_negative_or_nan_std_as_torch(std):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.normal(torch.zeros(len(std)), torch.tensor(std))
    with pytest.raises(RuntimeError, match="std"):
        dg.normal(dg.zeros(len(std)), dg.tensor(std))


def test_normal_accepts_zero_and_infinite_std_as_torch():
    torch = pytest.importorskip("torch")
    std = [0.0, float("inf"), 1.0]
    got = dg.normal(dg.zeros(3), dg.tensor(std), generator=dg.Generator().manual_seed(0))
    want = torch.normal(torch.zeros(3), torch.tensor(std), generator=torch.Generator()
                        .manual_seed(0))
    assert got.numpy()[0] == 0.0 and np.isinf(got.numpy()[1]) == np.isinf(want.numpy()[1])
