"""Samplers (PyTorch's ``torch.utils.data.sampler``): the order in which a DataLoader reads."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from ... import _engine as dg

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: an iterable over dataset indices (or lists of them, for batch samplers).

    Subclasses implement ``__iter__`` and, where they can, ``__len__``.
    """

    def __init__(self, data_source: Sized | None = None) -> None:
        # PyTorch accepts and ignores data_source here; kept for programs that pass it.
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} does not implement __iter__")


class SequentialSampler(Sampler[int]):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Indices in random order: a fresh permutation per pass, or draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices independently (with repeats) if True.
        num_samples: how many indices per pass (default ``len(data_source)``); without
            replacement, more than the length concatenates permutations.
        generator: a ``deltagrad.Generator``. If None, each pass draws one seed from the default
            generator (so ``deltagrad.manual_seed`` fixes every pass, and a pass costs the
            default stream one draw whatever the dataset's size, as in PyTorch).

    >>> order = list(RandomSampler(range(5), generator=dg.Generator(0)))
    >>> sorted(order)
    [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not _is_positive_int(self.num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        """Indices per pass: ``num_samples`` if given, else the dataset's length."""
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        size = len(self.data_source)
        generator = self.generator
        if generator is None:
            generator = dg.Generator(_draw_seed(None))
        if self.replacement:
            # Drawn 32 at a time, as PyTorch does: the pass stays lazy (minGPT's trainer asks for
            # num_samples=1e10), and the stream is consumed in the same calls.
            for _ in range(self.num_samples // 32):
                yield from dg.randint(0, size, (32,), generator=generator).tolist()
            yield from dg.randint(0, size, (self.num_samples % 32,), generator=generator).tolist()
            return
        for _ in range(self.num_samples // size):
            yield from dg.randperm(size, generator=generator).tolist()
        # NOTE: drawn even when no index of it is kept (rest == 0), as PyTorch does: a shared
        # generator's next pass (the next epoch's shuffle) starts after this permutation.
        rest = self.num_samples % size
        yield from dg.randperm(size, generator=generator).tolist()[:rest]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order (a new permutation per pass).

    Args:
        indices: the indices to sample from.
        generator: a ``deltagrad.Generator``; None draws from the default generator.

    >>> sorted(SubsetRandomSampler([7, 3, 9], generator=dg.Generator(1)))
    [3, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for position in dg.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[position]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """Indices ``0..len(weights)-1`` drawn with probabilities proportional to ``weights``.

    Args:
        weights: a 1-d sequence (or tensor) of non-negative weights, not all zero.
        num_samples: how many indices per pass.
        replacement: with replacement (default); without it, each index at most once, drawn
            one after another in proportion to the weights left (PyTorch's multinomial).
        generator: a ``deltagrad.Generator``; None draws from the default generator.

    >>> picks = list(WeightedRandomSampler([0.0, 1.0, 0.0], 4, generator=dg.Generator(0)))
    >>> picks
    [1, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        if not _is_positive_int(num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        values = weights.detach().numpy() if dg.is_tensor(weights) else weights
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(array.shape)}")
        self.weights = dg.tensor(array, dtype=np.float64)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        picks = _multinomial(self.weights.detach().numpy(), self.num_samples,
                             self.replacement, self.generator)
        yield from picks.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups another sampler's indices into lists of ``batch_size``.

    Args:
        sampler: a sampler or any iterable of indices.
        batch_size: the size of each list (a positive int).
        drop_last: drop the last list if it is shorter than ``batch_size``.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> len(BatchSampler(range(5), batch_size=2, drop_last=True))
    2
    """

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if not _is_positive_int(batch_size):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return math.ceil(len(self.sampler) / self.batch_size)


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _draw_seed(generator: Any) -> int:
    """One non-negative 63-bit seed drawn from ``generator`` (None: the default generator), as
    PyTorch draws it (``torch.empty((), dtype=torch.int64).random_()``): the same seed, so the
    same shuffles, after the same ``manual_seed``."""
    return int(dg.empty((), dtype=dg.int64).random_(generator=generator).item())


def _multinomial(weights: np.ndarray, count: int, replacement: bool,
                 generator: Any) -> np.ndarray:
    """``count`` category indices drawn in proportion to ``weights`` (float64 ``[n]``)."""
    if not np.all(np.isfinite(weights)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(weights < 0):
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    if not weights.sum() > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and count > weights.size:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    # PyTorch's multinomial, draw for draw on its stream (with replacement: uniforms located in
    # the cumulative weights; without, or for one draw: the largest weight / Exp(1)).
    return dg.multinomial(dg.tensor(weights, dtype=np.float64), count, replacement,
                          generator=generator).numpy()
