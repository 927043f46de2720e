"""Wishart samples follow PyTorch's draws: the Bartlett factors in PyTorch's order and its
redraw step (which, as PyTorch's mask starts from the valid samples, redraws every sample once
and warns "Singular sample detected.")."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _draws(lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib.manual_seed(1)
        t = lib.tensor
        single = lib.distributions.Wishart(t(4.0), covariance_matrix=t([[2.0, 0.3], [0.3, 1.0]]))
        batched = lib.distributions.Wishart(t([4.0, 5.0]),
                                            scale_tril=t([[1.0, 0.0], [0.3, 1.0]]))
        three = lib.distributions.Wishart(t(6.0), precision_matrix=lib.eye(3) * 2)
        draws = [single.sample((3,)), single.rsample(), batched.sample((2,)), batched.sample(),
                 three.sample((2, 2)), lib.rand(2)]
    messages = [str(w.message) for w in caught if "Singular" in str(w.message)]
    return [d.numpy() for d in draws], messages


def test_wishart_samples_are_pytorchs():
    ours, our_messages = _draws(dg)
    theirs, their_messages = _draws(torch)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert our_messages == their_messages and len(our_messages) == 5
