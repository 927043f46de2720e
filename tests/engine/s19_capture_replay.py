"""A check shared by the engine's tests: a ``capture_step`` replay gives the eager step's bits."""

from __future__ import annotations

import numpy as np

import deltagrad as dg


def assert_replay_matches_eager(loss_fn, weight, rng, steps=2, rows=4, classes=3):
    """Run ``loss_fn(inputs, targets)`` eagerly and through ``capture_step`` on fresh batches.

    Args:
        loss_fn: takes float32 inputs [rows, weight.shape[1]] and int64 targets [rows] in
            ``range(classes)``, returns a 0-d loss that depends on ``weight``.
        weight: the leaf whose ``.grad`` both runs must give bit for bit.
        rng: a ``numpy.random.Generator`` for the batches.
    """
    step = dg.capture_step(loss_fn)
    for _ in range(steps):
        inputs = dg.tensor(rng.standard_normal((rows, weight.shape[1])).astype(np.float32))
        targets = dg.tensor(rng.integers(0, classes, rows))
        weight.grad = None
        eager = loss_fn(inputs, targets)
        eager.backward()
        want = (eager.item(), weight.grad.numpy().copy())
        weight.grad = None
        assert step(inputs, targets).item() == want[0]
        np.testing.assert_array_equal(weight.grad.numpy(), want[1])
