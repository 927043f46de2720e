"""conv2d's inline small-columns path now reaches 1 << 15 column entries (SP27: W9's batch-1
inference convolutions): the same bits as the blocked path it replaces there, with and without
grad, and PyTorch's values."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import conv2d_kernels

torch = pytest.importorskip("torch")

# (input shape, weight shape, bias, stride, padding, groups, dtype): column entries between the
# old limit (4096) and the new (32768), W9 cnn's three layers first
_CASES = [
    ((1, 1, 28, 28), (16, 1, 3, 3), True, 1, 1, 1, np.float32),
    ((1, 16, 14, 14), (32, 16, 3, 3), True, 1, 1, 1, np.float32),
    ((1, 32, 7, 7), (64, 32, 3, 3), True, 1, 1, 1, np.float32),
    ((3, 4, 12, 12), (6, 2, 3, 3), True, 1, 1, 2, np.float64),
    ((2, 3, 16, 16), (5, 3, 3, 3), False, 1, 0, 1, np.float64),
]


def _run(case, grad):
    shape, wshape, has_bias, stride, padding, groups, dtype = case
    rng = np.random.default_rng(27)
    xs, ws = (rng.standard_normal(s).astype(dtype) for s in (shape, wshape))
    bs = rng.standard_normal(wshape[0]).astype(dtype) if has_bias else None
    x, w = dg.tensor(xs, requires_grad=grad), dg.tensor(ws, requires_grad=grad)
    b = None if bs is None else dg.tensor(bs, requires_grad=grad)
    with dg.set_grad_enabled(grad):
        out = dg.nn.functional.conv2d(x, w, b, stride, padding, 1, groups)
    found = [out.detach().numpy().copy()]
    if grad:
        out.backward(dg.ones_like(out))
        found += [t.grad.numpy() for t in (x, w, b) if t is not None]
    expected = torch.nn.functional.conv2d(torch.tensor(xs), torch.tensor(ws),
                                          None if bs is None else torch.tensor(bs),
                                          stride, padding, 1, groups)
    return found, expected.numpy()


@pytest.mark.parametrize("case", _CASES)
@pytest.mark.parametrize("grad", [False, True])
def test_inline_columns_have_the_blocked_paths_bits(monkeypatch, case, grad):
    shape, wshape, has_bias, groups = case[0], case[1], case[2], case[5]
    inline, expected = _run(case, grad)
    entries = shape[0] * (shape[1] * wshape[2] * wshape[3] + (has_bias and groups == 1)) * (
        expected.shape[2] * expected.shape[3])
    assert 4096 < entries <= conv2d_kernels._INLINE_COLUMNS  # (the new reach)
    with monkeypatch.context() as patch:
        patch.setattr(conv2d_kernels, "_INLINE_COLUMNS", 0)
        blocked, _ = _run(case, grad)
    for a, b in zip(inline, blocked):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    tol = 1e-4 if case[-1] == np.float32 else 1e-11  # (sums of up to 289 products ~1-20)
    np.testing.assert_allclose(inline[0], expected, rtol=tol, atol=tol)
