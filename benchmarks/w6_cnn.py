"""W6, a small MNIST-shaped CNN training step: deltagrad against PyTorch, same weights.

A workload we did not write for ourselves (issue 18's independent measurement): ``Conv2d(1, 16,
3, padding=1)`` -> ``BatchNorm2d(16)`` -> ``ReLU`` -> ``MaxPool2d(2)`` -> ``Conv2d(16, 32, 3,
padding=1)`` -> ``ReLU`` -> ``MaxPool2d(2)`` -> ``Flatten`` -> ``Linear(32 * 7 * 7, 10)`` on
random [64, 1, 28, 28] float32 images with random labels; cross-entropy; ``Adam`` (lr 1e-3).
One training step (zero_grad, forward, backward, optimizer step), seconds per step, for:

- deltagrad: the model through ``deltagrad.nn`` and ``deltagrad.optim.Adam``;
- torch (when installed): the same program in PyTorch.

The PyTorch model's seeded default init is copied by name into deltagrad's. ``check`` asserts
the first loss agrees to 1e-4 and the next ones to 1e-3 (batch normalization in training mode,
so the batch statistics are part of the check). No NumPy floor: the target is at most 1.0 x
PyTorch.

    python benchmarks/w6_cnn.py [--steps 5] [--rounds 7] [--threads 1]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import common
import numpy as np
import runner_workload


@dataclass(frozen=True)
class Config:
    batch: int = 64
    size: int = 28
    channels: tuple = (16, 32)
    classes: int = 10
    lr: float = 1e-3
    batches: int = 8  # distinct batches, cycled


VARIANTS = ("deltagrad", "torch")
SKIPPED: dict[str, str] = {}


def make_batches(config: Config, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(images float32 [batch, 1, size, size], labels int64 [batch]) pairs."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((config.batch, 1, config.size, config.size)).astype(np.float32),
             rng.integers(0, config.classes, config.batch)) for _ in range(config.batches)]


def build_model(lib, config: Config):
    """The CNN as ``lib.nn.Sequential`` (the same code for both libraries)."""
    nn = lib.nn
    first, second = config.channels
    side = config.size // 4
    return nn.Sequential(
        nn.Conv2d(1, first, 3, padding=1), nn.BatchNorm2d(first), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(first, second, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(second * side * side, config.classes))


class Runner:
    """One variant: the model, its optimizer, the batches and a step counter."""

    def __init__(self, name: str, lib, config: Config, init: dict, batches: list):
        self.model = build_model(lib, config)
        common.copy_parameters(self.model, init)
        self.optimizer = lib.optim.Adam(self.model.parameters(), lr=config.lr)
        self.batches = [(lib.from_numpy(x), lib.from_numpy(y)) for x, y in batches]
        self.cross_entropy = lib.nn.functional.cross_entropy
        self.count = 0

    def step(self) -> float:
        images, labels = self.batches[self.count % len(self.batches)]
        self.count += 1
        self.optimizer.zero_grad()
        loss = self.cross_entropy(self.model(images), labels)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def make_runners(config: Config, torch, variants=None, seed: int = 0) -> dict[str, Runner]:
    import deltagrad as dg

    if torch is None:
        raise SystemExit("W6 needs PyTorch: its weights initialise both models")
    torch.manual_seed(seed)
    init = common.parameter_arrays(build_model(torch, config))
    batches = make_batches(config, seed)
    return {name: Runner(name, torch if name.startswith("torch") else dg, config, init, batches)
            for name in variants or VARIANTS}


def check(config: Config, torch, steps: int = 3, variants=None) -> dict[str, list[float]]:
    """Raise AssertionError unless the variants' losses agree (1e-4 first step, then 1e-3)."""
    return common.check_runner_losses("W6", make_runners(config, torch, variants, seed=1),
                                      steps)


def run(steps: int = 5, rounds: int = 7, threads: int = 1, config: Config = Config(),
        variants=None) -> dict[str, list[float]]:
    """Time the variants in alternation; returns {name: [seconds per step, one per round]}."""
    return runner_workload.run(make_runners, config, steps, rounds, threads, variants)


def main(argv=None) -> int:
    return runner_workload.main(
        argv, workload="W6", doc=__doc__,
        title="small CNN training step (2 conv, BatchNorm2d, max pooling, batch 64, Adam)",
        unit="s/step", defaults=(5, 7, 3, 3), config=Config(), variants=VARIANTS,
        check=lambda config, torch, variants: {"losses": check(config, torch, variants=variants)},
        run=run, skipped=SKIPPED)


if __name__ == "__main__":
    sys.exit(main())
