"""Graphs that saved nothing are kept by backward (and run backward twice, as PyTorch's): their
nodes count as freed once for the leak check (s16 RV). They were counted at every backward and
once per path to a node, so a training loop that ran such a graph backward twice, or through a
diamond, had more nodes "freed" than created and hid a real leak of as many nodes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.autograd import _counters
from deltagrad.autograd.memory import GraphLeakWarning

torch = pytest.importorskip("torch")


def _kept_graph(lib, x):
    z = x + 1  # (add and sum read only shapes: the graph saves nothing)
    return (z + z).sum()  # (a diamond: z reached twice)


def test_a_kept_graph_counts_as_freed_once():
    x = dg.ones(3, requires_grad=True)
    created, freed = _counters.created, _counters.freed
    y = _kept_graph(dg, x)
    made = _counters.created - created
    y.backward()
    y.backward()  # (runs again, as in PyTorch)
    assert made == 3 and _counters.freed - freed == made
    t = torch.ones(3, requires_grad=True)
    ty = _kept_graph(torch, t)
    ty.backward()
    ty.backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_a_leak_beside_a_kept_graph_run_twice_is_still_reported():
    w = dg.nn.Parameter(dg.ones(4))
    optimizer = dg.optim.SGD([w], lr=0.0)
    leaked = []
    dg.autograd.set_leak_check(every=2, patience=2)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always", GraphLeakWarning)
            for _ in range(40):
                optimizer.zero_grad()
                loss = _kept_graph(dg, w)
                loss.backward()
                loss.backward()
                leaked.append(w * 2.0)  # (a node kept alive every step: a leak)
                optimizer.step()
    finally:
        dg.autograd.set_leak_check()
    assert any(issubclass(w_.category, GraphLeakWarning) for w_ in seen)
