"""Datasets (PyTorch's ``torch.utils.data.dataset``): map-style, iterable, combinators."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ... import _engine as dg

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "StackDataset",
           "Subset", "TensorDataset", "random_split"]

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


class Dataset(Generic[T_co]):
    """A map-style dataset: ``dataset[index]`` gives one sample.

    Subclasses implement ``__getitem__`` and usually ``__len__`` (which the default samplers and
    ``len(DataLoader)`` need). They may also implement ``__getitems__(indices)`` to fetch a whole
    batch at once; the ``DataLoader`` then uses it. ``a + b`` is ``ConcatDataset([a, b])``.
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} does not implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable[T_co]):
    """A dataset read as a stream: subclasses must implement ``__iter__`` (abstract here, so
    a subclass without it cannot be instantiated, as in PyTorch).

    With ``DataLoader(num_workers=N)`` each (simulated) worker iterates its own copy; use
    ``get_worker_info()`` inside ``__iter__`` to split the stream between workers.
    ``a + b`` is ``ChainDataset([a, b])``.
    """

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset[tuple]):
    """Samples are the rows of tensors that share their first dimension.

    Args:
        *tensors: tensors with the same size of dimension 0.

    >>> import deltagrad as dg
    >>> data = TensorDataset(dg.arange(6).reshape(3, 2), dg.tensor([0, 1, 0]))
    >>> len(data), data[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        sizes = []
        for position, tensor in enumerate(tensors):
            if not dg.is_tensor(tensor) or tensor.ndim == 0:
                raise TypeError(f"TensorDataset: argument {position} must be a tensor with at "
                                f"least one dimension, got {_describe(tensor)}")
            sizes.append(tensor.shape[0])
        if len(set(sizes)) > 1:
            # AssertionError, as PyTorch raises here.
            raise AssertionError(f"Size mismatch between tensors: sizes of dimension 0 are {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def _rows(self, indices) -> list | None:
        """``default_collate([self[i] for i in indices])`` for a list of in-range Python ints,
        as one gather per tensor; None where that shortcut does not apply (other index types,
        an index out of range, no tensors, or a tensor that records gradients), and the
        DataLoader then fetches sample by sample."""
        tensors = self.tensors
        if not tensors or not isinstance(indices, list) or not indices:
            return None
        if not all(type(i) is int for i in indices):  # bools and NumPy ints: the plain way
            return None
        if dg.is_grad_enabled() and any(tensor.requires_grad for tensor in tensors):
            return None  # stacking keeps the graph
        rows = np.array(indices, dtype=np.intp)
        length = min(tensor.shape[0] for tensor in tensors)
        if rows.min() < -length or rows.max() >= length:
            return None  # the per-sample path raises PyTorch's error
        return [dg.from_numpy(tensor.detach().numpy()[rows]) for tensor in tensors]

    def __len__(self) -> int:
        if not self.tensors:
            raise IndexError("TensorDataset has no tensors, so no length")
        return self.tensors[0].shape[0]


class StackDataset(Dataset[T_co]):
    """Zips datasets of equal length: positional ones give tuples, keyword ones give dicts.

    >>> StackDataset([1, 2], ["a", "b"])[1]
    (2, 'b')
    >>> StackDataset(x=[1, 2], y=["a", "b"])[0]
    {'x': 1, 'y': 'a'}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        lengths = [len(dataset) for dataset in datasets]
        if len(set(lengths)) > 1:
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]
        self.datasets = kwargs if kwargs else args

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """A batch of items, each nested dataset asked once through its own ``__getitems__``
        where it has one (the DataLoader's batched fetch, as PyTorch's), else item by item."""
        named = isinstance(self.datasets, dict)
        columns = []
        for key, dataset in (self.datasets.items() if named else enumerate(self.datasets)):
            fetch = getattr(dataset, "__getitems__", None)
            if callable(fetch):
                column = fetch(indices)
                if len(column) != len(indices):
                    raise ValueError("Nested dataset's output size mismatch. Expected "
                                     f"{len(indices)}, got {len(column)}")
            else:
                column = [dataset[index] for index in indices]
            columns.append((key, column))
        if named:
            return [{key: column[row] for key, column in columns} for row in range(len(indices))]
        return [tuple(column[row] for _, column in columns) for row in range(len(indices))]

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset[T_co]):
    """Map-style datasets one after another.

    Args:
        datasets: a non-empty iterable of map-style datasets (with ``__len__``).

    >>> data = ConcatDataset([[1, 2], [3]])
    >>> len(data), data[2], data[-3], data.cumulative_sizes
    (3, 3, 1, [2, 3])
    """

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        part = bisect.bisect_right(self.cumulative_sizes, index)
        if part == len(self.datasets):
            raise IndexError(f"index {index} is out of range for ConcatDataset of length "
                             f"{len(self)}")
        start = self.cumulative_sizes[part - 1] if part > 0 else 0
        return self.datasets[part][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (lazily, as each is iterated).

    Args:
        datasets: an iterable of ``IterableDataset``.
    """

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = datasets

    def __iter__(self):
        for dataset in self.datasets:
            _check_iterable(dataset)
            yield from dataset

    def __len__(self) -> int:
        total = 0
        for dataset in self.datasets:
            _check_iterable(dataset)
            total += len(dataset)
        return total


def _check_iterable(dataset) -> None:
    if not isinstance(dataset, IterableDataset):
        # AssertionError, as PyTorch raises here.
        raise AssertionError(f"ChainDataset only supports IterableDataset, got "
                             f"{type(dataset).__name__}")


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: the whole dataset.
        indices: positions in ``dataset``.

    >>> sub = Subset([10, 11, 12, 13], [3, 0])
    >>> len(sub), sub[0], sub.__getitems__([1, 0])
    (2, 13, [10, 13])
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):  # the dataset indexed by the list, as PyTorch's
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list) -> list:
        inner = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Any = None) -> list[Subset]:
    """Split a dataset at random into non-overlapping subsets of the given lengths.

    Args:
        dataset: the map-style dataset to split.
        lengths: the subsets' sizes, summing to ``len(dataset)``; or fractions summing to 1,
            each floored to ``floor(frac * len(dataset))`` and the remainder handed out one at
            a time, first subset first (PyTorch's rule).
        generator: a ``deltagrad.Generator`` (or NumPy Generator) for the permutation;
            ``None`` uses the default generator that ``deltagrad.manual_seed`` seeds.

    Returns:
        a list of ``Subset``, one per length.

    >>> parts = random_split(range(10), [0.5, 0.3, 0.2], generator=dg.Generator(0))
    >>> [len(p) for p in parts]
    [5, 3, 2]
    """
    lengths = list(lengths)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        size = len(dataset)
        counts = []
        for position, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {position} is not between 0 and 1")
            counts.append(int(math.floor(size * fraction)))
        for i in range(size - sum(counts)):
            counts[i % len(counts)] += 1
        for position, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {position} is 0. "
                              f"This might result in an empty dataset.", stacklevel=2)
        lengths = counts
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = dg.randperm(sum(lengths), generator=generator).tolist()
    stops = itertools.accumulate(lengths)
    return [Subset(dataset, order[stop - length:stop]) for stop, length in zip(stops, lengths)]


def _describe(value) -> str:
    if dg.is_tensor(value):
        return f"a 0-d tensor {value!r}"
    return type(value).__name__
