"""``x[index_tensor]`` (tensor_ops.__getitem__'s shortcut for one int64 / int32 index tensor)
against PyTorch: values, dtypes, gradients (duplicates accumulate), negative positions, errors,
and the index kinds that must still take the general path (masks, 0-d, other dtypes)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _both(x, index):
    ours_x = dg.tensor(x, requires_grad=x.dtype.kind == "f")
    theirs_x = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    return (ours_x, theirs_x), (dg.tensor(index), torch.tensor(index))


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("index", [[0, 3, 3, 1], [[1, 0], [2, 2]], [-1, 0, -4]])
def test_index_tensor_values_and_gradients(dtype, index):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    (ours_x, theirs_x), (ours_i, theirs_i) = _both(x, np.array(index, dtype))
    ours, theirs = ours_x[ours_i], theirs_x[theirs_i]
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    g = np.arange(ours.numel(), dtype=np.float32).reshape(tuple(ours.shape))
    ours.backward(dg.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_array_equal(ours_x.grad.numpy(), theirs_x.grad.numpy())


@pytest.mark.parametrize("index", [[0, 4], [-5]])
def test_index_out_of_range_raises_index_error(index):
    x = np.zeros((4, 3), np.float32)
    (ours_x, theirs_x), (ours_i, theirs_i) = _both(x, np.array(index))
    with pytest.raises(IndexError):
        theirs_x[theirs_i]
    with pytest.raises(IndexError):
        ours_x[ours_i]


@pytest.mark.parametrize("index", [
    np.array([True, False, True, True]),  # a mask
    np.array([1, 0, 1, 1], np.uint8),  # PyTorch's old mask
    np.array(2),  # 0-d: an integer
    np.array([], np.int64),  # empty
])
def test_other_index_kinds_still_match(index):
    x = np.arange(12, dtype=np.int64).reshape(4, 3)
    (ours_x, theirs_x), (ours_i, theirs_i) = _both(x, index)
    with warnings.catch_warnings():  # (PyTorch deprecates uint8 masks, with a warning)
        warnings.simplefilter("ignore", UserWarning)
        ours, theirs = ours_x[ours_i], theirs_x[theirs_i]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_int16_index_tensor_is_refused_as_torch():
    x = np.zeros((4, 3), np.float32)
    (ours_x, theirs_x), (ours_i, theirs_i) = _both(x, np.array([0, 1], np.int16))
    with pytest.raises(IndexError):
        theirs_x[theirs_i]
    with pytest.raises(IndexError):
        ours_x[ours_i]
