"""Warnings as PyTorch gives them (s25 BR8): var / std's degrees-of-freedom UserWarning, cov's
pointing at the user's line, and silence where PyTorch's kernels meet inf / +-3.4e38."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _recorded(call):
    """``call()``'s result and its warnings as (category, first words, file name)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [(w.category, str(w.message).split(" (Triggered")[0],
                     w.filename.rsplit("/", 1)[-1]) for w in caught]


_MOMENTS = {
    "var 1": lambda t: t.ones(1).var(),
    "std 1": lambda t: t.ones(1).std(),
    "var_mean": lambda t: t.var_mean(t.ones(1))[0],
    "std_mean": lambda t: t.std_mean(t.ones(1))[0],
    "var dim": lambda t: t.ones(3, 1).var(1),
    "var correction 3": lambda t: t.ones(2, 3).var(1, correction=3),
    "var float correction": lambda t: t.ones(2).var(correction=2.0),
    "var correction 1.5": lambda t: t.ones(2).var(correction=1.5),
    "var unbiased False": lambda t: t.ones(1).var(unbiased=False),
    "var empty": lambda t: t.ones(0).var(unbiased=False),
    "var empty kept dim": lambda t: t.ones(3, 0).var(0),
    "var 0-d": lambda t: t.ones(()).var(0),
    "var fine": lambda t: t.ones(3).var(),
    "torch.var": lambda t: t.var(t.ones(1, 2), 0),
    "complex var": lambda t: t.ones(2, dtype=t.complex64).var(correction=2),
    "float64 std keepdim": lambda t: t.ones(1, dtype=t.float64).std(0, keepdim=True),
    "cov": lambda t: t.cov(t.tensor([[1.0]])),
}


@pytest.mark.parametrize("key", list(_MOMENTS))
def test_degrees_of_freedom_warning(key):
    ours, our_warnings = _recorded(lambda: _MOMENTS[key](dg))
    theirs, their_warnings = _recorded(lambda: _MOMENTS[key](torch))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # the same warnings, each pointing at this file (the user's line: cov's wrapper too)
    assert our_warnings == their_warnings


def test_var_backward_warns_once():
    x = dg.ones(1, requires_grad=True)
    with pytest.warns(UserWarning, match="degrees of freedom") as caught:
        x.var().backward()
    assert len(caught) == 1


_SILENT = {
    "batch_norm": lambda t: t.nn.functional.batch_norm(
        t.tensor([[float("inf"), 1.0], [2.0, 3.0]], requires_grad=True), None, None,
        training=True),
    "batch_norm running": lambda t: t.nn.functional.batch_norm(
        t.tensor([[float("inf"), 1.0], [2.0, 3.0]]), t.zeros(2), t.ones(2), training=True),
    "BatchNorm2d": lambda t: t.nn.BatchNorm2d(2)(t.full((2, 2, 3, 3), float("inf"))),
    "avg_pool2d": lambda t: t.nn.functional.avg_pool2d(
        t.tensor([[[[float("inf"), -float("inf")], [2.0, 3.0]]]], requires_grad=True), 2),
    "avg_pool1d": lambda t: t.nn.functional.avg_pool1d(
        t.tensor([[[float("inf"), -float("inf"), 2.0, 3.0]]]), 2),
    "avg_pool2d large": lambda t: t.nn.functional.avg_pool2d(
        t.tensor([float("inf"), -float("inf")]).repeat(2 * 4 * 40 * 20).reshape(2, 4, 40, 40),
        3),
    "cross_entropy": lambda t: t.nn.functional.cross_entropy(
        t.tensor([[3.4e38, -3.4e38]], requires_grad=True), t.tensor([1])),
    "cross_entropy smoothing": lambda t: t.nn.functional.cross_entropy(
        t.tensor([[3.4e38, -3.4e38]], requires_grad=True), t.tensor([1]), label_smoothing=0.1),
    "cross_entropy probabilities": lambda t: t.nn.functional.cross_entropy(
        t.tensor([[3.4e38, -3.4e38]], requires_grad=True), t.tensor([[0.5, 0.5]])),
}


@pytest.mark.parametrize("key", list(_SILENT))
def test_silent_on_inf_as_pytorch(key):
    def run(t):
        out = _SILENT[key](t)
        if out.requires_grad:
            out.sum().backward()
        return out.detach()

    ours, our_warnings = _recorded(lambda: run(dg))
    theirs, their_warnings = _recorded(lambda: run(torch))
    assert their_warnings == []
    assert our_warnings == []
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_running_stats_updated_once_when_inf():
    # (the forward is run again quietly after NumPy's warning: the running statistics must
    # take the batch once)
    results = []
    for t in (dg, torch):
        mean, var = t.zeros(2), t.ones(2)
        x = t.tensor([[float("inf"), 1.0], [2.0, 3.0]])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t.nn.functional.batch_norm(x, mean, var, training=True, momentum=0.5)
        results.append((mean.numpy().copy(), var.numpy().copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_meta_var_is_silent_as_pytorch():
    # (PyTorch's warning comes from its CPU kernel: a meta tensor's var gives none)
    for t in (dg, torch):
        _, caught = _recorded(lambda t=t: t.ones(1, device="meta").var())
        assert caught == []
