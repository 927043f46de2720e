"""Memory stays flat over many training steps (short here; longer under `make soak`)."""

import gc
import resource

import numpy as np
import pytest

import deltagrad as dg


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def train_steps(steps: int) -> list[float]:
    rng = np.random.default_rng(0)
    model = dg.nn.Sequential(dg.nn.Linear(40, 64), dg.nn.Tanh(), dg.nn.Dropout(0.2),
                             dg.nn.Linear(64, 5))
    embedding = dg.nn.Embedding(2000, 8, sparse=True)
    optimizer = dg.optim.Adam(list(model.parameters()) + list(embedding.parameters()), lr=1e-3)
    ids = rng.integers(0, 2000, (steps, 32, 5))
    targets = rng.integers(0, 5, (steps, 32))
    samples = []
    for step in range(steps):
        x = embedding(dg.from_numpy(ids[step])).reshape(32, 40)
        loss = dg.nn.functional.cross_entropy(model(x), dg.from_numpy(targets[step]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            gc.collect()
            samples.append(rss_mb())
    return samples


def assert_flat(samples: list[float], tolerance_mb: float) -> None:
    # Ignore warm-up (allocator pools, optimizer state); afterwards no trend beyond noise.
    settled = samples[len(samples) // 4:]
    assert max(settled) - settled[0] < tolerance_mb, samples


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs Linux")
def test_resident_memory_is_flat_over_training():
    assert_flat(train_steps(1500), tolerance_mb=8.0)


@pytest.mark.soak
def test_resident_memory_is_flat_over_10000_steps():
    assert_flat(train_steps(10_000), tolerance_mb=8.0)


def test_graph_is_freed_each_step():
    before = dg.graph_stats().nodes
    train_steps(30)
    assert dg.graph_stats().nodes == before
