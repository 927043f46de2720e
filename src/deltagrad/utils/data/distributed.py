"""``DistributedSampler`` (PyTorch's ``torch.utils.data.distributed``): one rank's share."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator

from ... import _engine as dg
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices of a map-style dataset that one of ``num_replicas`` processes reads.

    Every rank draws the same permutation (from ``seed + epoch``), pads it by repeating its
    start to a multiple of ``num_replicas`` (or, with ``drop_last``, cuts it down to one), and
    takes every ``num_replicas``-th index starting at ``rank``. Call ``set_epoch`` before each
    epoch to get a new order.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: the number of processes; default: ``deltagrad.distributed``'s world size
            if that module is loaded and offers ``get_world_size()``, else 1.
        rank: this process's rank; default: ``get_rank()`` from the same place, else 0.
        shuffle: permute the indices (else keep their order).
        seed: the shuffle's seed, the same on every rank.
        drop_last: drop the tail instead of padding, so every rank gets the same count.

    >>> sampler = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    >>> len(sampler), list(sampler)
    (3, [1, 3, 0])
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _from_distributed("get_world_size", 1)
        if rank is None:
            rank = _from_distributed("get_rank", 0)
        if num_replicas <= 0:
            raise ValueError(f"num_replicas must be positive, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        size = len(dataset)
        if drop_last and size % num_replicas:
            # Every rank gets floor(size / num_replicas): the tail is dropped.
            self.num_samples = math.ceil((size - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(size / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        size = len(self.dataset)
        if self.shuffle:
            generator = dg.Generator(self.seed + self.epoch)
            indices = dg.randperm(size, generator=generator).tolist()
        else:
            indices = list(range(size))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            missing = self.total_size - len(indices)
            if missing > 0:
                repeats = math.ceil(missing / len(indices))
                indices += (indices * repeats)[:missing]
        if len(indices) != self.total_size:
            raise AssertionError(f"DistributedSampler: {len(indices)} indices, expected "
                                 f"{self.total_size} (did the dataset's length change?)")
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which (with ``seed``) fixes the next pass's order on every rank."""
        self.epoch = epoch


def _from_distributed(name: str, default: int) -> int:
    """``deltagrad.distributed.<name>()`` if that module is loaded and has it, else ``default``.

    Looked up in ``sys.modules`` rather than imported: data loading sits below the parallel
    layer, and a program that never loaded it is a single process.
    """
    module = sys.modules.get("deltagrad.distributed")
    function = getattr(module, name, None) if module is not None else None
    return int(function()) if callable(function) else default
