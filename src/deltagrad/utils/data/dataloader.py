"""``DataLoader`` (PyTorch's ``torch.utils.data.DataLoader``): batches of a dataset."""

from __future__ import annotations

import copy
import math
import random
import warnings
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ... import _engine as dg
from ._collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _draw_seed

__all__ = ["DataLoader", "WorkerInfo", "default_collate", "default_convert", "get_worker_info"]

# PyTorch's private annotation aliases, which libraries import (opacus: _collate_fn_t).
_collate_fn_t = Callable[[list], Any]
_worker_init_fn_t = Callable[[int], None]

_START_METHODS = ("fork", "spawn", "forkserver")
_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                     "persistent_workers")
_current_worker: WorkerInfo | None = None  # set only while a simulated worker runs


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a (simulated) worker; read-only.

    Attributes:
        id: this worker's number, in ``[0, num_workers)``.
        num_workers: the loader's ``num_workers``.
        seed: this worker's seed, ``base_seed + id`` (the base drawn once per iterator).
        dataset: this worker's copy of the dataset.
    """

    def __init__(self, **attributes: Any) -> None:
        for name, value in attributes.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: Any) -> None:
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self) -> str:
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


def get_worker_info() -> WorkerInfo | None:
    """The running worker's ``WorkerInfo`` inside a DataLoader worker, else ``None``.

    >>> get_worker_info() is None
    True
    """
    return _current_worker


class _InfiniteConstantSampler(Sampler[None]):
    """The dummy sampler of iterable datasets: ``None`` forever (the dataset sets the order)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterates over a dataset in batches: samples chosen by a sampler, merged by ``collate_fn``.

    Args:
        dataset: a map-style ``Dataset`` (anything with ``__getitem__`` and ``__len__``) or an
            ``IterableDataset``.
        batch_size: samples per batch; ``None`` turns batching off (each sample goes through
            ``collate_fn``, by default ``default_convert``).
        shuffle: reshuffle each pass (map-style only); draws from ``generator``.
        sampler: the order of indices (map-style only); excludes ``shuffle``.
        batch_sampler: yields whole lists of indices; excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``.
        num_workers: the number of simulated workers (see below); 0 loads in the caller.
        collate_fn: merges a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted; deltagrad has only CPU memory, so it only warns, as PyTorch does
            without an accelerator.
        drop_last: drop the last, short batch.
        timeout: must be 0 when ``num_workers=0`` (as PyTorch); not used by simulated workers.
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each simulated worker when
            it starts (every pass, or once with ``persistent_workers``).
        multiprocessing_context: accepted for compatibility (a start method name or a
            context); needs ``num_workers > 0``; no process is started.
        generator: the ``deltagrad.Generator`` for shuffling and the workers' base seed;
            ``None`` uses the default generator, so ``deltagrad.manual_seed`` fixes the order.
        prefetch_factor: accepted with ``num_workers > 0`` (default 2); nothing is prefetched.
        persistent_workers: keep the simulated workers (their dataset copies and random
            states) from one pass to the next.
        pin_memory_device, in_order: accepted for compatibility; batches always come in order.

    Workers run in this process, one batch at a time, to give the batches PyTorch's worker
    processes give: each worker has its own shallow copy of the dataset, a ``WorkerInfo``
    (``get_worker_info()``), and its own random state (deltagrad's default generator,
    ``random`` and NumPy's global generator seeded from ``seed = base_seed + worker_id``), so
    randomness inside a dataset does not disturb the caller's. Map-style batches come in the
    sampler's order, so ``num_workers`` does not change them; an iterable dataset is read by
    every worker (split it with ``get_worker_info()``) and the workers' batches alternate,
    skipping exhausted workers, as in PyTorch. There is no parallelism: ``num_workers > 0``
    costs a little time and never saves any. Unlike separate processes, a change a worker
    makes inside an object its dataset copy shares with the original is seen by all.

    >>> import deltagrad as dg
    >>> from deltagrad.utils.data import TensorDataset
    >>> data = TensorDataset(dg.arange(10.0).reshape(5, 2), dg.arange(5))
    >>> loader = DataLoader(data, batch_size=2)
    >>> len(loader), [tuple(x.shape) for x, y in loader]
    (3, [(2, 2), (2, 2), (1, 2)])
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIXED_AFTER_INIT and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        if name == "multiprocessing_context" and value is not None:
            _check_context(value, self.num_workers)
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What the iterator draws from: lists of indices when batching, else single ones."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> _DataLoaderIter:
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = _DataLoaderIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        # (PyTorch's class name without workers: its AttributeError for the old tutorials'
        # ``iter(loader).next()`` names it, PR25 s30)
        return (_DataLoaderIter if self.num_workers else _SingleProcessDataLoaderIter)(self)

    def __len__(self) -> int:
        """Batches per pass (for an iterable dataset, from its ``__len__`` and the batch size)."""
        if isinstance(self.dataset, IterableDataset):
            length = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else math.ceil(length / self.batch_size))
            return length
        return len(self._index_sampler)


def _check_context(context: Any, num_workers: int) -> None:
    if num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process loading "
                         f"(num_workers > 0), but got num_workers={num_workers}")
    if isinstance(context, str) and context not in _START_METHODS:
        raise ValueError(f"multiprocessing_context option should specify a valid start method "
                         f"in {list(_START_METHODS)!r}, but got "
                         f"multiprocessing_context={context!r}")


class _DatasetKind:
    """PyTorch's tags for the two kinds of dataset (fastai's stand-in loader declares itself
    ``_dataset_kind = _DatasetKind.Iterable`` without subclassing IterableDataset)."""

    Map = 0
    Iterable = 1


def _reads_as_iterable(loader, dataset) -> bool:
    """Whether ``dataset`` is read by iterating it (an IterableDataset, or a loader that
    declares the Iterable kind) rather than by index."""
    return (isinstance(dataset, IterableDataset)
            or getattr(loader, "_dataset_kind", None) == _DatasetKind.Iterable)


class _Fetcher:
    """Reads one batch (or sample) from a dataset and collates it."""

    def __init__(self, loader: DataLoader, dataset) -> None:
        self.dataset = dataset
        self.auto_collation = loader._auto_collation
        self.collate_fn = loader.collate_fn
        self.drop_last = loader.drop_last
        # (fastai's stand-in loader has no batch_size: it batches inside its iterator)
        self.batch_size = getattr(loader, "batch_size", None)
        self.iterator = iter(dataset) if _reads_as_iterable(loader, dataset) else None
        self.ended = False
        # A TensorDataset (its own __getitem__, no __getitems__) collated by default_collate
        # is fetched by indexing each tensor with the whole batch of indices: the same tensors
        # as stacking the rows one by one, without a Tensor per sample. 2048x20 + labels,
        # batch 32, shuffled (W7): an epoch 8.3 -> 1.25 ms (torch 5.5 ms), one thread,
        # alternated, thread time.
        self.rows = (self.auto_collation and self.collate_fn is default_collate
                     and _plain_tensor_dataset(dataset))

    def fetch(self, index=None):
        """The batch at ``index`` (map-style), or the stream's next batch (iterable)."""
        if self.iterator is None:
            if not self.auto_collation:
                return self.collate_fn(self.dataset[index])
            if self.rows:
                batch = self.dataset._rows(index)
                if batch is not None:
                    return batch
            getitems = getattr(self.dataset, "__getitems__", None)
            samples = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
            return self.collate_fn(samples)
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        if self.ended:
            raise StopIteration
        samples = []
        for item in self.iterator:
            samples.append(item)
            if len(samples) == self.batch_size:
                break
        else:
            self.ended = True
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            raise StopIteration
        return self.collate_fn(samples)


def _plain_tensor_dataset(dataset) -> bool:
    """Whether ``dataset`` is a TensorDataset whose samples come from TensorDataset's own
    ``__getitem__`` (not a subclass's), with no ``__getitems__``."""
    return (isinstance(dataset, TensorDataset)
            and type(dataset).__getitem__ is TensorDataset.__getitem__
            and getattr(dataset, "__getitems__", None) is None)


class _Worker:
    """A simulated worker: a dataset copy, a WorkerInfo and random states of its own.

    Entering it (``with worker:``) swaps its random states and WorkerInfo in and the caller's
    out; leaving swaps them back, so the caller's random streams are untouched.
    """

    def __init__(self, loader: DataLoader, worker_id: int, base_seed: int) -> None:
        try:
            dataset = copy.copy(loader.dataset)  # PyTorch's workers each get their own copy
        except (TypeError, copy.Error):
            dataset = loader.dataset
        seed = base_seed + worker_id
        self.info = WorkerInfo(id=worker_id, num_workers=loader.num_workers, seed=seed,
                               dataset=dataset)
        self.loader = loader
        self.fetcher = None
        self._saved = None
        numpy_seed = np.random.SeedSequence([worker_id, base_seed]).generate_state(4)
        self._states = _seeded_states(seed, numpy_seed)
        with self:
            if loader.worker_init_fn is not None:
                loader.worker_init_fn(worker_id)

    def start_pass(self) -> None:
        """A fresh fetcher (for an iterable dataset, a fresh ``iter`` of the copy)."""
        with self:
            self.fetcher = _Fetcher(self.loader, self.info.dataset)

    def __enter__(self) -> _Worker:
        global _current_worker
        self._saved = (_random_states(), _current_worker)
        _set_random_states(self._states)
        _current_worker = self.info
        return self

    def __exit__(self, *exc_info) -> None:
        global _current_worker
        self._states = _random_states()
        states, _current_worker = self._saved
        _set_random_states(states)


def _random_states() -> tuple:
    return dg.get_rng_state(), random.getstate(), np.random.get_state()


def _set_random_states(states: tuple) -> None:
    deltagrad_state, python_state, numpy_state = states
    dg.set_rng_state(deltagrad_state)
    random.setstate(python_state)
    np.random.set_state(numpy_state)


def _seeded_states(seed: int, numpy_seed: np.ndarray) -> tuple:
    """The three random states a worker starts from, made without disturbing the caller's."""
    saved = _random_states()
    try:
        dg.manual_seed(seed)
        random.seed(seed)
        np.random.seed(numpy_seed)
        return _random_states()
    finally:
        _set_random_states(saved)


class _DataLoaderIter:
    """One pass over a DataLoader (reset and reused with persistent workers)."""

    def __init__(self, loader: DataLoader) -> None:
        if loader.num_workers == 0 and loader.timeout != 0:
            raise AssertionError("DataLoader: timeout must be 0 when num_workers is 0 "
                                 f"(got timeout={loader.timeout})")
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._loader = loader
        self._iterable = _reads_as_iterable(loader, loader.dataset)
        # Drawn every pass even without workers, as PyTorch does, so that num_workers does not
        # change the shuffle order drawn from the same generator.
        base_seed = _draw_seed(loader.generator)
        self._workers = [_Worker(loader, worker_id, base_seed)
                         for worker_id in range(loader.num_workers)]
        self._reset()

    def _reset(self) -> None:
        loader = self._loader
        self._sampler_iter = None if self._iterable else iter(loader._index_sampler)
        self._next_worker = 0
        self._pending: deque = deque()
        if self._workers:
            for worker in self._workers:
                worker.start_pass()
            self._active = list(self._workers)
            self._fetcher = None
            # PyTorch's worker iterator hands prefetch_factor * num_workers indices out as soon
            # as a pass starts, so a shuffling sampler draws its seed at iter(), not at the
            # first next(): random calls in between (ignite's resume restores its RNG states
            # there) must not change the order.
            if not self._iterable:
                for _ in range(loader.prefetch_factor * len(self._workers)):
                    self._pull_index()
        else:
            self._fetcher = _Fetcher(loader, loader.dataset)

    def _pull_index(self) -> None:
        """Takes the sampler's next index into the prefetched queue (none once exhausted)."""
        try:
            self._pending.append(next(self._sampler_iter))
        except StopIteration:
            pass

    def __iter__(self) -> _DataLoaderIter:
        return self

    def __len__(self) -> int:
        # (PyTorch's: its index sampler's length; an iterable dataset's is infinite: TypeError)
        return len(self._loader._index_sampler)

    def __next__(self):
        if self._fetcher is not None:
            index = None if self._iterable else next(self._sampler_iter)
            return self._fetcher.fetch(index)
        if not self._iterable:
            if not self._pending:
                self._pull_index()
                if not self._pending:
                    raise StopIteration
            index = self._pending.popleft()
            worker = self._workers[self._next_worker]
            self._next_worker = (self._next_worker + 1) % len(self._workers)
            try:
                with worker:
                    return worker.fetcher.fetch(index)
            finally:
                self._pull_index()  # PyTorch refills the queue as each batch (or error) arrives
        while self._active:
            position = self._next_worker % len(self._active)
            worker = self._active[position]
            with worker:
                try:
                    batch = worker.fetcher.fetch()
                except StopIteration:
                    batch = _EXHAUSTED
            if batch is _EXHAUSTED:
                del self._active[position]  # the next worker slides into this position
                self._next_worker = position
                continue
            self._next_worker = position + 1
            return batch
        raise StopIteration


_EXHAUSTED = object()

# PyTorch's iterator class names, which libraries import to subclass or to isinstance-check
# (PyTorch Geometric's loaders): every deltagrad pass is a _DataLoaderIter, and its workers are
# simulated in this process, so no iterator is ever a multiprocessing one.
_BaseDataLoaderIter = _DataLoaderIter


class _SingleProcessDataLoaderIter(_DataLoaderIter):
    """A pass without workers (PyTorch's class of it; the same iterator)."""


class _MultiProcessingDataLoaderIter(_DataLoaderIter):
    """PyTorch's iterator over worker processes; deltagrad never makes one (see above)."""

    def __init__(self, loader: DataLoader) -> None:
        raise NotImplementedError("deltagrad's DataLoader simulates its workers in-process: "
                                  "there is no multiprocessing iterator")
