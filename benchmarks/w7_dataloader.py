"""W7, one epoch of a ``DataLoader`` over a ``TensorDataset``: deltagrad against PyTorch.

A workload we did not write for ourselves (issue 18's independent measurement): 2048 float32
rows of 20 features and int64 labels, ``DataLoader(TensorDataset(x, y), batch_size=32,
shuffle=True)``, one full pass (sampling, fetching, default collation), nothing done with the
batches. Seconds per epoch for deltagrad and torch (when installed). ``check`` asserts that
both pass over every row exactly once with the same batch shapes and dtypes, and that without
shuffling both give the same batches. No NumPy floor: the target is at most 1.0 x PyTorch.

    python benchmarks/w7_dataloader.py [--steps 10] [--rounds 7] [--threads 1]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import common
import numpy as np
import runner_workload


@dataclass(frozen=True)
class Config:
    rows: int = 2048
    features: int = 20
    classes: int = 2
    batch: int = 32


VARIANTS = ("deltagrad", "torch")


def make_batches(config: Config, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The dataset's two arrays (features float32, labels int64)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((config.rows, config.features)).astype(np.float32),
            rng.integers(0, config.classes, config.rows))


class Runner:
    """One variant: a loader over the dataset; a step is one epoch (returns the rows seen)."""

    def __init__(self, name: str, lib, config: Config, init, batches, shuffle: bool = True):
        lib.manual_seed(0)
        features, labels = batches
        data = lib.utils.data.TensorDataset(lib.from_numpy(features), lib.from_numpy(labels))
        self.loader = lib.utils.data.DataLoader(data, batch_size=config.batch, shuffle=shuffle)

    def step(self) -> float:
        seen = 0
        for features, _ in self.loader:
            seen += features.shape[0]
        return float(seen)


def make_runners(config: Config, torch, variants=None) -> dict[str, Runner]:
    import deltagrad as dg

    if torch is None:
        raise SystemExit("W7 compares with PyTorch, which is not installed")
    batches = make_batches(config)
    return {name: Runner(name, torch if name.startswith("torch") else dg, config, None, batches)
            for name in variants or VARIANTS}


def check(config: Config, torch) -> dict:
    """Raise AssertionError unless both libraries see every row once, with the same batch
    shapes and dtypes, and give the same batches without shuffling."""
    import deltagrad as dg

    features, labels = make_batches(config)
    out = {}
    for name, lib in (("deltagrad", dg), ("torch", torch)):
        for shuffle in (True, False):
            lib.manual_seed(0)
            data = lib.utils.data.TensorDataset(lib.from_numpy(features), lib.from_numpy(labels))
            loader = lib.utils.data.DataLoader(data, batch_size=config.batch, shuffle=shuffle)
            batches = [[common.to_numpy(t) for t in batch] for batch in loader]
            out[name, shuffle] = batches
            rows = np.concatenate([b[0] for b in batches])
            order = np.lexsort(rows.T[::-1])
            common.assert_close(f"W7 {name}: rows seen", rows[order],
                                features[np.lexsort(features.T[::-1])], 0, 0)
    for shuffle in (True, False):
        ours, theirs = out["deltagrad", shuffle], out["torch", shuffle]
        assert [[(b.shape, b.dtype) for b in batch] for batch in ours] == \
            [[(b.shape, b.dtype) for b in batch] for batch in theirs], "W7: batch layouts differ"
    for ours, theirs in zip(out["deltagrad", False], out["torch", False]):
        for a, b in zip(ours, theirs):
            common.assert_close("W7: unshuffled batches", a, b, 0, 0)
    return {"batches": len(out["deltagrad", True])}


def run(steps: int = 10, rounds: int = 7, threads: int = 1, config: Config = Config(),
        variants=None) -> dict[str, list[float]]:
    """Time the variants in alternation; returns {name: [seconds per epoch, one per round]}."""
    return runner_workload.run(make_runners, config, steps, rounds, threads, variants)


def main(argv=None) -> int:
    return runner_workload.main(
        argv, workload="W7", doc=__doc__,
        title="DataLoader epoch over a TensorDataset (2048 x 20, batch 32, shuffled)",
        unit="s/epoch", defaults=(10, 7, 5, 3), config=Config(), variants=VARIANTS,
        check=lambda config, torch, variants: check(config, torch),  # (all variants)
        run=run, skipped={})


if __name__ == "__main__":
    sys.exit(main())
