"""Which examples each rank trains on: every global batch of an epoch, cut into shards."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DistributedSampler", "Shard"]


@dataclass
class Shard:
    """This rank's part of one global batch.

    Attributes:
        step: the batch's number within its epoch.
        rows: int64 example numbers this rank trains on.
        global_rows: int64 example numbers of the whole global batch (every rank's rows).
        positions: ``global_rows[positions]`` is ``rows``; use it to take this rank's part of
            anything drawn for the whole global batch (so that random draws match one process).
        loss_scale: multiply the mean loss of ``rows`` by it before backward so that the
            averaged gradient is the gradient of the global batch's mean loss even when the
            shards differ in size (1.0 when they are equal).
        seed: a seed for this rank's own random draws at this step (dropout masks), from the
            sampler's seed, the epoch, the step and the rank.
    """

    step: int
    rows: np.ndarray
    global_rows: np.ndarray
    positions: slice
    loss_scale: float
    seed: int = field(default=0)


class DistributedSampler:
    """Shards each global batch of an epoch over the ranks, deterministically.

    Every rank computes the same permutation of the examples from ``(seed, epoch)`` (no state
    to save, so resuming at any epoch and step gives the same batches) and cuts it into global
    batches of ``batch_size``. Rank r takes the r-th of ``world_size`` nearly equal contiguous
    parts of each batch, so the union over the ranks of one step's rows is exactly the batch
    one process would train on at that step.

    Args:
        num_examples: the size of the dataset.
        batch_size: the global batch size (all ranks together).
        seed: the seed of the shuffle.
        rank, world_size: this process and the number of processes.
        shuffle: permute the examples each epoch (else keep their order).

    >>> sampler = DistributedSampler(10, 4, seed=0, rank=1, world_size=2)
    >>> len(sampler)
    3
    >>> shards = list(sampler.batches(epoch=1))
    >>> [len(s.rows) for s in shards], [s.positions for s in shards]
    ([2, 2, 1], [slice(2, 4, None), slice(2, 4, None), slice(1, 2, None)])
    >>> bool(all((s.global_rows[s.positions] == s.rows).all() for s in shards))
    True
    """

    def __init__(self, num_examples: int, batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True):
        if num_examples < 0 or batch_size <= 0:
            raise ValueError("num_examples must be >= 0 and batch_size positive")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.num_examples, self.batch_size = int(num_examples), int(batch_size)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.shuffle = shuffle

    def __len__(self) -> int:
        """Global batches (steps) per epoch."""
        return math.ceil(self.num_examples / self.batch_size)

    def __repr__(self) -> str:
        return (f"DistributedSampler(num_examples={self.num_examples}, batch_size="
                f"{self.batch_size}, seed={self.seed}, rank={self.rank}, "
                f"world_size={self.world_size})")

    def order(self, epoch: int) -> np.ndarray:
        """int64 ``[num_examples]``: the epoch's example order, the same on every rank."""
        if not self.shuffle:
            return np.arange(self.num_examples, dtype=np.int64)
        generator = np.random.default_rng(np.random.SeedSequence([self.seed, int(epoch)]))
        return generator.permutation(self.num_examples).astype(np.int64)

    def bounds(self, global_size: int) -> tuple[int, int]:
        """``(start, stop)``: this rank's positions within a global batch of that size."""
        return (self.rank * global_size // self.world_size,
                (self.rank + 1) * global_size // self.world_size)

    def loss_scale(self, local_count: int, global_count: int) -> float:
        """The factor for a rank's mean loss over ``local_count`` of the global batch's
        ``global_count`` items (examples, or tokens when the loss is a mean over tokens) that
        makes the averaged gradients those of the global batch's mean loss."""
        return local_count * self.world_size / global_count if global_count else 0.0

    def step_seed(self, epoch: int, step: int) -> int:
        """A seed for this rank's own random draws (dropout) at one step: reproducible on
        resume, and different on every rank."""
        sequence = np.random.SeedSequence([self.seed, int(epoch), int(step), self.rank])
        return int(sequence.generate_state(1)[0])

    def shard(self, global_rows, *, epoch: int = 0, step: int = 0) -> Shard:
        """This rank's part of a global batch (which may come from another order)."""
        global_rows = np.asarray(global_rows)
        start, stop = self.bounds(len(global_rows))
        rows = global_rows[start:stop]
        return Shard(step, rows, global_rows, slice(start, stop),
                     self.loss_scale(len(rows), len(global_rows)), self.step_seed(epoch, step))

    def batches(self, epoch: int, *, start_step: int = 0,
                order: np.ndarray | None = None) -> Iterator[Shard]:
        """This rank's shard of every global batch of the epoch, from ``start_step`` on.

        Args:
            epoch: the epoch (any integer; it seeds the shuffle).
            start_step: the first step to give (to resume within an epoch).
            order: the example order to cut (default: ``self.order(epoch)``).
        """
        order = self.order(epoch) if order is None else np.asarray(order)
        for step in range(start_step, math.ceil(len(order) / self.batch_size)):
            yield self.shard(order[step * self.batch_size:(step + 1) * self.batch_size],
                             epoch=epoch, step=step)

