"""igamma / igammac edge values after the forward's cheaper nan-input check (ops/statistics.py):
PyTorch's odd edges (a nan input next to an inf or zero) against real PyTorch, no warnings."""

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

VALUES = [np.nan, -np.inf, -2.0, -0.0, 0.0, 0.5, 1.0, 3.0, 30.0, np.inf]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_every_pair_of_edge_values(name, dtype):
    a, x = np.meshgrid(np.array(VALUES, dtype), np.array(VALUES, dtype), indexing="ij")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (inf + -inf in a check would warn)
        ours = getattr(dg, name)(dg.tensor(a), dg.tensor(x)).numpy()
        singles = [getattr(dg, name)(dg.tensor(a[i, j]), dg.tensor(x[i, j])).numpy()
                   for i in range(len(VALUES)) for j in range(len(VALUES))]
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(x)).numpy()
    assert ours.dtype == theirs.dtype
    # (tiny tails, P(30, 0.5) ~ 1e-42, differ from PyTorch's in the last digits: atol)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-30, equal_nan=True)
    np.testing.assert_allclose(np.array(singles).reshape(a.shape), theirs, rtol=1e-5, atol=1e-30,
                               equal_nan=True)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_negative_inputs_with_odd_edges_broadcast(name):
    # negative entries make nan (the forward's check runs), beside nan-with-inf / zero pairs
    a = np.array([[-1.0], [np.inf], [np.nan], [2.0]], np.float32)
    x = np.array([np.nan, np.inf, 0.0, -3.0, 1.5], np.float32)
    ours = getattr(dg, name)(dg.tensor(a), dg.tensor(x)).numpy()
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True)
    # the gradient in x where it is defined
    xa = np.array([0.5, 1.5, 4.0], np.float32)
    dx, tx = dg.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    getattr(dg, name)(dg.tensor(np.float32(2.0)), dx).sum().backward()
    getattr(torch, name)(torch.tensor(np.float32(2.0)), tx).sum().backward()
    np.testing.assert_allclose(dx.grad.numpy(), tx.grad.numpy(), rtol=1e-5)
