"""Merge fixes of session 24's lead, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape, dim", [((0, 3), 1), ((2, 0, 3), 2), ((0, 1), 1)])
def test_kthvalue_of_no_rows(shape, dim):
    # (BR6's tie pass read the maximum of an empty count array: ValueError)
    ours = dg.kthvalue(dg.zeros(*shape), 1, dim=dim)
    theirs = torch.kthvalue(torch.zeros(*shape), 1, dim=dim)
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        assert a.numpy().dtype == b.numpy().dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
