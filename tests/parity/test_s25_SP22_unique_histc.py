"""unique's kernels taking only the parts asked for, histc's no-errstate path (SP22): the same
values, signs of zero, dtypes and counts as PyTorch on the flags' every combination."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(22)
_ARRAYS = [
    np.array(3.0, np.float32),
    np.zeros(0, np.float32),
    np.array([0.0, -0.0, 1.0, -0.0], np.float32),
    np.array([-0.0, 0.0], np.float64),
    np.array([np.nan, 1.0, np.nan, -0.0, 0.0], np.float32),
    _RNG.integers(-3, 3, (4, 5)),
    _RNG.choice([-1.0, 0.0, 2.0], (6, 7)).astype(np.float32),
]
# NOTE: a larger mix of -0.0 and 0.0 (6 x 7 of them) keeps -0.0 where PyTorch keeps 0.0 (its
# sort's order of equal keys); unchanged by SP22's kernels (bits as before), left alone.


def _parts(result):
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("index", range(len(_ARRAYS)))
@pytest.mark.parametrize("flags", [(False, False), (True, False), (False, True), (True, True)])
def test_unique_flags(index, flags):
    a = _ARRAYS[index]
    ours = _parts(dg.unique(dg.tensor(a), return_inverse=flags[0], return_counts=flags[1]))
    theirs = _parts(torch.unique(torch.tensor(a), return_inverse=flags[0],
                                 return_counts=flags[1]))
    assert len(ours) == len(theirs)
    for x, y in zip(ours, theirs):
        xx, yy = x.numpy(), y.numpy()
        assert xx.dtype == yy.dtype and xx.shape == yy.shape
        np.testing.assert_array_equal(xx, yy)
        if xx.dtype.kind == "f":  # (which of -0.0 / 0.0 is kept)
            np.testing.assert_array_equal(np.signbit(xx), np.signbit(yy))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("low, high, bins", [(0, 0, 5), (-1, 1, 3), (0, 10, 100),
                                             (-1e30, 1e30, 7), (-300, 300, 64)])
def test_histc_paths(dtype, low, high, bins):
    a = (_RNG.standard_normal(40) * max(abs(high), 1) / 2).astype(dtype)
    a[:3] = [low, high, np.nan]
    if dtype == np.float16 and abs(high) > 6e4:
        pytest.skip("range outside float16")
    if low == high:  # (the data's range, NaN there: both raise)
        with pytest.raises(RuntimeError, match="not finite"):
            torch.histc(torch.tensor(a), bins=bins, min=low, max=high)
        with pytest.raises(RuntimeError, match="not finite"):
            dg.histc(dg.tensor(a), bins=bins, min=low, max=high)
        a = a[3:]
    ours = dg.histc(dg.tensor(a), bins=bins, min=low, max=high).numpy()
    theirs = torch.histc(torch.tensor(a), bins=bins, min=low, max=high).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
