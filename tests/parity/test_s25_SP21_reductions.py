"""Float32 sums / means along a long dim that is not the innermost (s25 SP21,
``_engine/ops/long_sums.py``): from ``LONG`` rows on they are summed pairwise, as close to the
float64 truth as PyTorch's cascade sums (NumPy alone adds row after row: O(n eps)); below it
the bits are NumPy's, unchanged; gradients unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.long_sums import LONG, add_reduce

torch = pytest.importorskip("torch")

N = LONG + 5  # (just above the threshold: a cheap test)


def _lossy(shape, dim, seed=0):
    """One 1.0 then many values near 1e-8 along ``dim``: row after row each small value is
    lost against the 1.0 (float32 error ~ n * 1e-8), pairwise they add up first."""
    rng = np.random.default_rng(seed)
    a = (rng.random(shape, dtype=np.float32) + np.float32(0.5)) * np.float32(1e-8)
    index = [slice(None)] * len(shape)
    index[dim] = 0
    a[tuple(index)] = 1.0
    return a


# (shape, dim, how the array is laid out): the narrow path (a transposed copy), the blocked
# path (wide rows, one dim before), a transposed view along its last dim, a negative dim
CASES = [
    ((N, 4), 0, "c"),
    ((N, 40), 0, "c"),
    ((3, N, 20), 1, "c"),
    ((N, 3), 0, "t"),
    ((2, N, 5), -2, "c"),
]


def _array(shape, dim, layout):
    if layout == "t":  # a [3, N] view of a C-ordered [N, 3]: dim 1 has the larger stride
        return _lossy(shape, dim).T, 1 - dim
    return _lossy(shape, dim), dim


@pytest.mark.parametrize("shape, dim, layout", CASES)
@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_long_float32_reductions_as_accurate_as_pytorch(shape, dim, layout, name, keepdim):
    a, dim = _array(shape, dim, layout)
    truth = a.astype(np.float64).sum(dim, keepdims=keepdim)
    if name == "mean":
        truth = truth / a.shape[dim]
    ours = getattr(dg.from_numpy(a), name)(dim, keepdim=keepdim)
    theirs = getattr(torch.from_numpy(a), name)(dim, keepdim=keepdim)
    assert ours.dtype == dg.float32 and tuple(ours.shape) == tuple(theirs.shape)
    ours, theirs = ours.numpy(), theirs.numpy()
    scale = np.abs(truth).max()
    plain = np.add.reduce(a, dim, keepdims=keepdim)  # NumPy alone: row after row
    if name == "mean":
        plain = plain / a.shape[dim]
    before = np.abs(plain - truth).max()
    assert before > 3e-5 * scale  # (the data shows the difference: ~ n * 1e-8)
    # blocks of 128 rows: at most ~ 128 * 1e-8 lost (PyTorch's cascade: less)
    assert np.abs(ours - truth).max() <= min(2e-6 * scale, before / 20)
    assert np.abs(ours - theirs).max() <= 2e-6 * scale


def test_below_the_threshold_bits_unchanged():
    rng = np.random.default_rng(1)
    for shape, dim in [((LONG - 1, 4), 0), ((LONG - 1, 40), 0), ((3, LONG - 1, 5), 1)]:
        a = rng.random(shape, dtype=np.float32)
        expected = np.add.reduce(a, dim)
        assert add_reduce(a, dim, False).tobytes() == expected.tobytes()
        assert dg.from_numpy(a).sum(dim).numpy().tobytes() == expected.tobytes()
        assert (dg.from_numpy(a).mean(dim).numpy().tobytes()
                == (expected / np.intp(a.shape[dim])).astype(np.float32).tobytes())


def test_innermost_and_other_dtypes_untouched():
    """Along the innermost dim NumPy is pairwise already; float64 and several dims keep
    NumPy's own reduction (the same bits)."""
    rng = np.random.default_rng(2)
    a = rng.random((4, N), dtype=np.float32)
    assert add_reduce(a, 1, False).tobytes() == np.add.reduce(a, 1).tobytes()
    b = rng.random((N, 4))
    assert add_reduce(b, 0, False).tobytes() == np.add.reduce(b, 0).tobytes()
    c = rng.random((N, 4, 2), dtype=np.float32)
    assert add_reduce(c, (0, 1), False).tobytes() == np.add.reduce(c, (0, 1)).tobytes()
    # (one dim as a tuple is that dim)
    assert add_reduce(c, (0,), True).tobytes() == add_reduce(c, 0, True).tobytes()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_sums_still_pytorch(dtype):
    """float16 / bfloat16 sums run in float32 (this path), rounded once: PyTorch's values."""
    a = np.random.default_rng(4).random((N, 4), dtype=np.float32) * np.float32(0.1)
    ours = dg.from_numpy(a).to(getattr(dg, dtype)).sum(0).float().numpy()
    theirs = torch.from_numpy(a).to(getattr(torch, dtype)).sum(0).float().numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_float16_long_sums_pytorch(name):
    """float16's smallest subnormal after a 1.0: a float32 sum row after row rounds each to
    nothing (a tie, to even), 3 * LONG of them add to 1.0007 (1.001 in float16), PyTorch's."""
    a = np.full((3 * LONG, 3), 5.96e-8, np.float16)
    a[0] = 1
    ours = getattr(dg.from_numpy(a), name)(0).numpy()
    theirs = getattr(torch.from_numpy(a), name)(0).numpy()
    assert ours.dtype == np.float16
    np.testing.assert_array_equal(ours, theirs)
    assert (getattr(np, name)(a, 0, dtype=np.float32).astype(np.float16) != theirs).all()


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_gradient_unchanged(name):
    a = _lossy((N, 3), 0)
    x = dg.from_numpy(a.copy()).requires_grad_()
    t = torch.from_numpy(a.copy()).requires_grad_()
    g = np.random.default_rng(3).random(3, dtype=np.float32)
    getattr(x, name)(0).backward(dg.from_numpy(g))
    getattr(t, name)(0).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


_CALLS = {
    "nansum": lambda m, x: m.nansum(x, 0),
    "sum_tuple": lambda m, x: x.sum(dim=(0,)),
    "mean_list": lambda m, x: x.mean(dim=[0], keepdim=True),
    "logsumexp": lambda m, x: x.log().logsumexp(0),  # (log of 1 + n * 1e-8: ~ n * 1e-8)
}


@pytest.mark.parametrize("name", list(_CALLS))
def test_callers_as_accurate_as_pytorch(name):
    """nansum, a one-dim tuple / list and logsumexp take the pairwise sums too; ``truth``:
    the same call in float64. (Not vector norms, softmax / log_softmax: PyTorch's add row
    after row along dim 0 too.)"""
    call = _CALLS[name]
    a = _lossy((N, 6), 0)
    if name == "nansum":
        a[5, 2] = np.nan
    ours = call(dg, dg.from_numpy(a)).numpy()
    theirs = call(torch, torch.from_numpy(a)).numpy()
    truth = call(torch, torch.from_numpy(a.astype(np.float64))).numpy()
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    # (logsumexp: ~4e-5, the log of a sum near 1; its errors are the sum's, relative to 1)
    scale = 1.0 if name == "logsumexp" else np.abs(truth).max()
    assert np.abs(ours - truth).max() <= 2e-6 * scale
    assert np.abs(ours - theirs).max() <= 2e-6 * scale
