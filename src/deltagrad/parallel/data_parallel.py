"""What a training loop calls to train data-parallel, and its no-op twin for one process.

A loop written against this interface (``bounds``, ``seed_step``, ``scale_loss``,
``reduce_gradients``, ``reduce_sum``) runs unchanged in one process (``SingleProcess``) and on
every rank of an MPI job (``DataParallel``); see docs/distributed.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._engine.random import default_generator
from ._params import parameter_list
from .context import DEFAULT_TIMEOUT, Context, init
from .reducer import DEFAULT_BUCKET_BYTES, GradientReducer
from .sampler import DistributedSampler, Shard

__all__ = ["DataParallel", "SingleProcess", "setup_data_parallel"]


@dataclass
class DataParallel:
    """One rank's data-parallel training: its MPI job, gradient reducer and batch sampler.

    Made by ``setup_data_parallel``, or as ``DataParallel(init())`` and then ``prepare`` once
    the model (and any state to resume) is ready.

    Attributes:
        context: the MPI job (rank, world size, collectives).
        reducer: averages the gradients after each backward (set by ``prepare``).
        sampler: shards each global batch (set by ``prepare``).
    """

    context: Context
    reducer: GradientReducer | None = None
    sampler: DistributedSampler | None = None

    @property
    def rank(self) -> int:
        return self.context.rank

    @property
    def world_size(self) -> int:
        return self.context.world_size

    @property
    def is_main(self) -> bool:
        return self.context.is_main

    def prepare(self, parameters, optimizer=None, *, num_examples: int, batch_size: int,
                seed: int = 0, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                overlap: bool = True) -> DataParallel:
        """Make a model and its optimizer the same on every rank and ready to train.

        Rank 0's parameters and optimizer state (after a resume, the restored ones) are
        broadcast to every rank, a ``GradientReducer`` is attached to the trainable parameters
        and a ``DistributedSampler`` is made for the dataset.

        Args:
            parameters: the model (a Module) or its parameters, built the same way on every
                rank.
            optimizer: its optimizer, or None.
            num_examples, batch_size: the dataset's size and the global batch size.
            seed: the seed of the sampler's shuffle and of the per-step seeds.
            bucket_bytes, overlap: see ``GradientReducer``.

        Returns:
            ``self``.
        """
        params = parameter_list(parameters)
        self.context.broadcast_parameters(params)
        if optimizer is not None:
            self.context.broadcast_optimizer_state(optimizer)
        self.reducer = GradientReducer(self.context, [p for p in params if p.requires_grad],
                                       bucket_bytes=bucket_bytes, overlap=overlap)
        self.sampler = DistributedSampler(num_examples, batch_size, seed=seed,
                                          rank=self.rank, world_size=self.world_size)
        return self

    def shard(self, global_rows, *, epoch: int = 0, step: int = 0) -> Shard:
        """This rank's part of a global batch."""
        return self.sampler.shard(global_rows, epoch=epoch, step=step)

    def bounds(self, global_size: int) -> tuple[int, int]:
        """``(start, stop)``: this rank's positions within a global batch of that size."""
        return self.sampler.bounds(global_size)

    def loss_scale(self, local_count: int, global_count: int) -> float:
        """See ``DistributedSampler.loss_scale``."""
        return self.sampler.loss_scale(local_count, global_count)

    def scale_loss(self, loss, local_count: int, global_count: int):
        """``loss`` (a mean over ``local_count`` items) times ``loss_scale``: its backward
        then adds this rank's share of the global batch's mean-loss gradient."""
        return loss * self.loss_scale(local_count, global_count)

    def step_seed(self, epoch: int, step: int) -> int:
        """See ``DistributedSampler.step_seed``."""
        return self.sampler.step_seed(epoch, step)

    def seed_step(self, epoch: int, step: int) -> None:
        """Seed the default generator for this rank's draws (dropout masks) at one step:
        different on every rank, and the same again when a run resumes at that step."""
        default_generator.manual_seed(self.step_seed(epoch, step),
                                      stream=default_generator.stream)

    def reduce_gradients(self) -> None:
        """Average the gradients over the ranks (after backward, before clipping and step)."""
        self.reducer.reduce()

    def reduce_sum(self, values) -> np.ndarray:
        """The sum over ranks of ``values`` (e.g. ``[loss_total, count]``)."""
        return self.context.allreduce_sum(values)


class SingleProcess:
    """``DataParallel``'s interface for a single process without MPI: a no-op.

    Every method leaves training exactly as a plain loop would have it: the whole batch, the
    loss unscaled, the gradients untouched, and random draws from the process's one stream.
    """

    rank, world_size, is_main = 0, 1, True

    def __repr__(self) -> str:
        return "SingleProcess()"

    def prepare(self, parameters, optimizer=None, **_options) -> SingleProcess:
        """Nothing to share with other processes; returns ``self``."""
        return self

    def bounds(self, global_size: int) -> tuple[int, int]:
        return 0, global_size

    def loss_scale(self, local_count: int, global_count: int) -> float:
        return 1.0

    def scale_loss(self, loss, local_count: int, global_count: int):
        return loss

    def seed_step(self, epoch: int, step: int) -> None:
        pass

    def reduce_gradients(self) -> None:
        pass

    def reduce_sum(self, values) -> np.ndarray:
        return np.array(values, copy=True)


def setup_data_parallel(parameters, optimizer=None, *, num_examples: int, batch_size: int,
                        seed: int = 0, context: Context | None = None,
                        timeout: float = DEFAULT_TIMEOUT,
                        bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                        overlap: bool = True) -> DataParallel:
    """Join the MPI job and make a model and its optimizer ready to train data-parallel.

    ``DataParallel(context).prepare(...)``: see ``DataParallel.prepare``.

    Args:
        parameters: the model (a Module) or its parameters, built the same way on every rank.
        optimizer: its optimizer, or None.
        num_examples, batch_size: the dataset's size and the global batch size.
        seed: the seed of the sampler's shuffle and of the per-step seeds.
        context: an existing ``Context`` (default: ``init(timeout=timeout)``).
        timeout: seconds a collective may wait (see ``init``).
        bucket_bytes, overlap: see ``GradientReducer``.

    Returns:
        A ``DataParallel``.
    """
    context = context if context is not None else init(timeout=timeout)
    return DataParallel(context).prepare(parameters, optimizer, num_examples=num_examples,
                                         batch_size=batch_size, seed=seed,
                                         bucket_bytes=bucket_bytes, overlap=overlap)
