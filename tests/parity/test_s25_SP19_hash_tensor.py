"""Session 25 (SP19): hash_tensor casts the data with NumPy directly (not detach().to()):
the xor of the 64-bit patterns against PyTorch for every dtype it takes, non-contiguous views,
0-d tensors, dims, keepdim and the nan / -0.0 bit patterns."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

# (bfloat16 keeps the generic path, unchanged; its first use here cost 4 s of lazy set-up)
DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32",
          "int64", "bool"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_hash_tensor_against_torch(dtype):
    x = np.array([[1.5, -0.0, np.nan, 7.0], [3.0, -2.0, 0.0, 1e3], [0.25, 5.0, -9.0, 2.0]])
    if dtype not in ("float16", "float32", "float64"):
        x = np.nan_to_num(x)
    ours_t = dg.tensor(x).to(getattr(dg, dtype))
    theirs_t = torch.tensor(x).to(getattr(torch, dtype))
    for ours_in, theirs_in in ((ours_t, theirs_t), (ours_t.T, theirs_t.T),
                               (ours_t[1, 2], theirs_t[1, 2])):
        for kwargs in ({}, {"dim": 0}, {"dim": -1, "keepdim": True}, {"dim": (0, 1)}):
            if ours_in.ndim == 0 and kwargs.get("dim") == (0, 1):
                continue
            ours = dg.hash_tensor(ours_in, **kwargs)
            theirs = torch.hash_tensor(theirs_in, **kwargs)
            assert ours.dtype == dg.uint64
            assert tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not dg.hash_tensor(dg.tensor(x, requires_grad=True)).requires_grad
