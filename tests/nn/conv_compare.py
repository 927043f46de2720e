"""Shared by the convolution fast-path tests (``tests/nn/test_s*_conv_speed.py``): the same
module built in both libraries with PyTorch's weights, and a value comparison."""

import numpy as np

import deltagrad as dg


def modules(build):
    """``build(dg)`` and ``build(torch)`` from one seed, ours holding PyTorch's parameters."""
    import torch  # (only the tests that skip without it call this)

    torch.manual_seed(0)
    theirs = build(torch)
    ours = build(dg)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        p.detach().numpy()[...] = q.detach().numpy()
    return ours, theirs


def close(ours, theirs, tol):
    """Same dtype, shape and values (to ``tol``) as PyTorch's tensor ``theirs``."""
    theirs = theirs.detach().numpy()
    ours = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
