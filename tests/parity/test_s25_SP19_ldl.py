"""Session 25 (SP19): linalg.ldl_factor_ex's Bunch-Kaufman steps with cached lower-triangle
masks (not np.tril each step): the factors, pivots and info bit for bit PyTorch's on finite
matrices (symmetric or not: the lower triangle is read; singular ones included, batches,
non-contiguous), and ldl_solve with them."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def test_ldl_factor_ex_bits_and_solve_against_torch():
    rng = np.random.default_rng(19)
    for trial in range(80):
        n = int(rng.integers(1, 8))
        dtype = (np.float32, np.float64)[trial % 2]
        a = rng.standard_normal((int(rng.integers(1, 3)), n, n)).astype(dtype)
        if trial % 7 == 0:
            a[..., :, 0] = a[..., 0, :] = 0  # (a zero pivot: info > 0)
        if trial % 3:
            a = a + a.swapaxes(-1, -2)
        if trial % 5 == 0:
            a = a.swapaxes(-1, -2)  # (non-contiguous)
        ours = dg.linalg.ldl_factor_ex(dg.tensor(a))
        theirs = torch.linalg.ldl_factor_ex(torch.from_numpy(a))
        for o, t in zip(ours, theirs):
            assert o.dtype == getattr(dg, str(t.dtype).split(".")[-1])
            np.testing.assert_array_equal(o.numpy(), t.numpy())
        if not theirs.info.any():
            b = rng.standard_normal((n, 2)).astype(dtype)
            np.testing.assert_allclose(
                dg.linalg.ldl_solve(ours.LD, ours.pivots, dg.tensor(b)).numpy(),
                torch.linalg.ldl_solve(theirs.LD, theirs.pivots, torch.from_numpy(b)).numpy(),
                rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
