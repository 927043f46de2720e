"""Session 12 (PT): cross_entropy with class indices on small logits takes Python floats
(ops/nn.py's _small_rows); it must agree with the array path and with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from s19_capture_replay import assert_replay_matches_eager

import deltagrad as dg
from deltagrad._engine.ops import nn as ops_nn
from deltagrad._engine.ops.registry import ARRAY

RNG = np.random.default_rng(1212)

CASES = [  # (shape, targets, ignore_index)
    ((4, 3), [2, 0, 1, 2], -100),
    ((4, 3), [2, -1, 1, -1], -1),
    ((4, 3), [-1, -1, -1, -1], -1),  # every row ignored: nan loss, zero gradient ("mean")
    ((1, 5), [4], -100),
    ((6, 5), [0, 1, 2, 3, 4, 0], 3),  # a class used as ignore_index
    ((2, 16), [15, 0], -100),
]


def _forward_and_rule(x, t, ignore_index, reduction, g):
    scratch = ops_nn.Scratch()
    attrs = {"ignore_index": ignore_index, "reduction": reduction}
    out = ops_nn._cross_entropy_index_forward(x, t, scratch=scratch, **attrs)
    kept = ops_nn._cross_entropy_index_vjp(ARRAY, g, out, x, t, scratch=scratch, **attrs)[0]
    again = ops_nn._cross_entropy_index_vjp(ARRAY, g, out, x, t, scratch=None, **attrs)[0]
    return np.asarray(out), kept, again


@pytest.mark.parametrize("shape,targets,ignore_index", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_rows_match_the_array_path(monkeypatch, shape, targets, ignore_index, reduction,
                                         dtype):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    t = np.array(targets)
    g = (RNG.standard_normal(shape[0]) if reduction == "none" else np.array(0.7)).astype(dtype)
    assert ops_nn._small_rows(x, t, ignore_index) is not None
    out, kept, again = _forward_and_rule(x, t, ignore_index, reduction, g)
    # The rule takes the same path with or without the forward's values: the same bits.
    np.testing.assert_array_equal(kept, again)
    monkeypatch.setattr(ops_nn, "_SMALL_ROWS_SIZE", 0)  # the array path
    assert ops_nn._small_rows(x, t, ignore_index) is None
    want_out, want_grad, _ = _forward_and_rule(x, t, ignore_index, reduction, g)
    assert out.dtype == want_out.dtype == dtype and out.shape == want_out.shape
    assert kept.dtype == want_grad.dtype and kept.shape == want_grad.shape
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, want_out, rtol=tol, atol=tol, equal_nan=True)
    np.testing.assert_allclose(kept, want_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape,targets,ignore_index", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_small_rows_match_torch(shape, targets, ignore_index, reduction):
    torch = pytest.importorskip("torch")
    x = (RNG.standard_normal(shape) * 3).astype(np.float32)
    a = dg.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    la = dg.nn.functional.cross_entropy(a, dg.tensor(targets), ignore_index=ignore_index,
                                        reduction=reduction)
    lb = torch.nn.functional.cross_entropy(b, torch.tensor(targets), ignore_index=ignore_index,
                                           reduction=reduction)
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=1e-6, atol=1e-6,
                               equal_nan=True)
    assert la.dtype == dg.float32 and tuple(la.shape) == tuple(lb.shape)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("logits,targets,reason", [
    ([[0.0, np.inf, 1.0]], [0], "an infinite logit"),
    ([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]], [2, -1], "nan in an ignored row"),
    ([[0.0, 1.0, 2.0]], [3], "a target out of range"),
    ([[0.0, 1.0, 2.0]], [-2], "a negative target that is not ignore_index"),
])
def test_what_the_small_path_leaves_to_the_array_path(logits, targets, reason):
    x = np.array(logits, dtype=np.float32)
    assert ops_nn._small_rows(x, np.array(targets), -1) is None, reason


def test_out_of_range_targets_still_raise_as_before():
    x = dg.tensor(RNG.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    with pytest.raises(IndexError):
        dg.nn.functional.cross_entropy(x, dg.tensor([0, 4, 1]))
    with pytest.raises(IndexError):
        dg.nn.functional.cross_entropy(x, dg.tensor([0, -3, 1]))


def test_small_rows_gradcheck_and_capture_replay():
    x = dg.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    t = dg.tensor([2, -1, 0, 1])
    assert dg.gradcheck(lambda z: dg.nn.functional.cross_entropy(z, t, ignore_index=-1), [x])
    w = dg.tensor(RNG.standard_normal((3, 5)).astype(np.float32), requires_grad=True)

    def loss_fn(inputs, targets):
        return dg.nn.functional.cross_entropy(inputs @ w.T, targets)

    assert_replay_matches_eager(loss_fn, w, RNG, steps=2)
