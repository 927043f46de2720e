"""``flatten`` (``nn.Flatten``, W1's second layer) reuses the reshape's cached attributes after the
first call, as ``reshape`` with the same sizes does, and still gives PyTorch's values, shapes and
gradients."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.api import shape as shape_api

torch = pytest.importorskip("torch")


def test_flatten_hits_the_shape_cache_after_its_first_call(monkeypatch):
    x = dg.randn(6, 5, 4, requires_grad=True)
    x.flatten(1)  # the first call may work the attributes out
    calls = []
    attrs = shape_api._reshape_attrs
    monkeypatch.setattr(shape_api, "_reshape_attrs",
                        lambda *args: calls.append(args) or attrs(*args))
    for _ in range(3):
        dg.nn.Flatten()(x)
    assert calls == []


@pytest.mark.parametrize("shape, start, end", [((6, 5, 4), 1, -1), ((6, 5, 4), 0, 1),
                                               ((2, 3, 4, 5), 1, 2), ((0, 3, 4), 1, -1),
                                               ((), 0, -1), ((3,), 0, 0)])
def test_flatten_matches_torch(shape, start, end):
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours = dg.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    a, b = ours.flatten(start, end), theirs.flatten(start, end)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    upstream = np.random.default_rng(1).standard_normal(tuple(b.shape)).astype(np.float32)
    (a * dg.tensor(upstream)).sum().backward()
    (b * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
