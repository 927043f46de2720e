"""deltagrad.utils.data.DataLoader: batching, shuffling, option checks, simulated workers."""

import random
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
    get_worker_info,
)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        return {"index": index, "square": np.array([index * index], dtype=np.float32)}

    def __len__(self):
        return self.n


class _StreamLogic:
    """0..n-1, split between workers by id when ``shard`` is set."""

    def __init__(self, n, shard=True, sized=True):
        self.n, self.shard, self.sized = n, shard, sized

    def __iter__(self):
        info = get_worker_info() if isinstance(self, IterableDataset) else _torch_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        if not self.sized:
            raise TypeError("no length")
        return self.n


class Stream(_StreamLogic, IterableDataset):
    pass


def _torch_worker_info():
    import torch.utils.data

    return torch.utils.data.get_worker_info()


def torch_stream(*args, **kwargs):
    """The same stream as a torch IterableDataset."""
    import torch.utils.data

    kind = type("TorchStream", (_StreamLogic, torch.utils.data.IterableDataset), {})
    return kind(*args, **kwargs)


def _values(loader):
    return [batch.tolist() if hasattr(batch, "tolist") else batch for batch in loader]


# ---------------------------------------------------------------- batches and lengths

def test_tensor_dataset_batches_in_order():
    x = dg.arange(20.0).reshape(10, 2)
    y = dg.arange(10)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].dtype == dg.float32 and batches[0][1].dtype == dg.int64
    assert all(isinstance(b, list) for b in batches)  # tuples collate to lists, as in PyTorch


@pytest.mark.parametrize("size, batch_size, drop_last", [
    (10, 4, False), (10, 4, True), (8, 4, True), (3, 5, False), (3, 5, True), (7, 1, False),
])
def test_length_and_batches_match_torch(size, batch_size, drop_last):
    TorchLoader = pytest.importorskip("torch.utils.data").DataLoader  # noqa: N806

    ours = DataLoader(Squares(size), batch_size=batch_size, drop_last=drop_last)
    theirs = TorchLoader(Squares(size), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, theirs_batches = list(ours), list(theirs)
    assert len(ours_batches) == len(theirs_batches) == len(ours)
    for a, b in zip(ours_batches, theirs_batches):
        assert a["index"].tolist() == b["index"].tolist()
        np.testing.assert_array_equal(a["square"].numpy(), b["square"].numpy())
        assert a["square"].shape == tuple(b["square"].shape)
    ours_stream = DataLoader(Stream(size), batch_size=batch_size, drop_last=drop_last)
    theirs_stream = TorchLoader(torch_stream(size), batch_size=batch_size, drop_last=drop_last)
    assert len(ours_stream) == len(theirs_stream)
    assert _values(ours_stream) == _values(theirs_stream)


def test_no_batching_converts_samples():
    loader = DataLoader(Squares(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 and len(samples) == 3
    assert samples[2]["index"] == 2  # Python ints stay ints under default_convert
    assert dg.is_tensor(samples[2]["square"]) and samples[2]["square"].shape == (1,)
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]


def test_custom_collate_batch_sampler_and_getitems():
    class Batched(Squares):
        calls = 0

        def __getitems__(self, indices):
            Batched.calls += 1
            return [self[i] for i in indices]

    sampler = BatchSampler(SequentialSampler(range(5)), batch_size=3, drop_last=False)
    loader = DataLoader(Batched(5), batch_sampler=sampler,
                        collate_fn=lambda samples: [s["index"] for s in samples])
    assert list(loader) == [[0, 1, 2], [3, 4]] and len(loader) == 2
    assert Batched.calls == 2 and loader.batch_size is None


def test_iterable_dataset_drop_last_and_unsized_length():
    assert _values(DataLoader(Stream(7), batch_size=3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    loader = DataLoader(Stream(7, sized=False), batch_size=3)
    assert _values(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(TypeError):
        len(loader)


# ---------------------------------------------------------------- shuffling

def test_shuffle_is_a_permutation_and_reproducible():
    data = TensorDataset(dg.arange(30))
    dg.manual_seed(7)
    loader = DataLoader(data, batch_size=8, shuffle=True)
    first = [i for (batch,) in loader for i in batch.tolist()]
    second = [i for (batch,) in loader for i in batch.tolist()]
    assert sorted(first) == sorted(second) == list(range(30))
    assert first != second and first != list(range(30))
    dg.manual_seed(7)
    again = DataLoader(data, batch_size=8, shuffle=True)
    assert [i for (batch,) in again for i in batch.tolist()] == first
    assert [i for (batch,) in again for i in batch.tolist()] == second


def test_shuffle_with_explicit_generator_ignores_global_seed():
    data = TensorDataset(dg.arange(30))
    orders = []
    for global_seed in (1, 2):
        dg.manual_seed(global_seed)
        loader = DataLoader(data, batch_size=30, shuffle=True, generator=dg.Generator(3))
        orders.append([batch.tolist() for (batch,) in loader])
    assert orders[0] == orders[1]
    assert isinstance(DataLoader(data, shuffle=True).sampler, RandomSampler)


def test_workers_do_not_change_the_batches():
    data = TensorDataset(dg.arange(25))
    results = []
    for workers in (0, 1, 3):
        loader = DataLoader(data, batch_size=4, shuffle=True, num_workers=workers,
                            generator=dg.Generator(9))
        results.append([[b.tolist() for (b,) in loader] for _ in range(2)])
    assert results[0] == results[1] == results[2]


# ---------------------------------------------------------------- simulated workers

def test_iterable_workers_interleave_like_torch():
    TorchLoader = pytest.importorskip("torch.utils.data").DataLoader  # noqa: N806

    for size, batch_size, workers in [(11, 2, 3), (5, 2, 2)]:
        ours = DataLoader(Stream(size), batch_size=batch_size, num_workers=workers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's "more workers than CPUs" advice
            theirs = _values(TorchLoader(torch_stream(size), batch_size=batch_size,
                                         num_workers=workers))
        assert _values(ours) == theirs
    assert _values(DataLoader(Stream(11), batch_size=2, num_workers=3)) == [
        [0, 3], [1, 4], [2, 5], [6, 9], [7, 10], [8]]
    # Without sharding every worker reads the whole stream, as PyTorch's do.
    assert _values(DataLoader(Stream(3, shard=False), batch_size=3, num_workers=2)) == [
        [0, 1, 2], [0, 1, 2]]


def test_worker_init_fn_and_worker_info():
    seen = []

    class Recording(Squares):
        def __getitem__(self, index):
            info = get_worker_info()
            seen.append((index, info.id, info.num_workers, info.dataset is self))
            return index

    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id
        info.dataset.tag = worker_id  # touches this worker's copy only
        calls.append(worker_id)

    calls = []
    data = Recording(6)
    loader = DataLoader(data, batch_size=2, num_workers=2, worker_init_fn=init)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    assert calls == [0, 1] and not hasattr(data, "tag")
    assert [(i, w) for i, w, _, _ in seen] == [(0, 0), (1, 0), (2, 1), (3, 1), (4, 0), (5, 0)]
    assert all(n == 2 and own_copy for _, _, n, own_copy in seen)
    assert get_worker_info() is None
    list(loader)
    assert calls == [0, 1, 0, 1]  # new workers each pass
    with pytest.raises(RuntimeError, match="Cannot assign"):
        loader_info = []
        list(DataLoader(Squares(1), num_workers=1,
                        worker_init_fn=lambda i: loader_info.append(get_worker_info()),
                        collate_fn=lambda s: s))
        loader_info[0].id = 3

    calls.clear()
    persistent = DataLoader(data, batch_size=3, num_workers=2, worker_init_fn=init,
                            persistent_workers=True)
    assert [b.tolist() for b in persistent] == [b.tolist() for b in persistent] == [
        [0, 1, 2], [3, 4, 5]]
    assert calls == [0, 1]  # started once


def test_worker_randomness_is_isolated_and_seeded():
    class Noisy(Squares):
        def __getitem__(self, index):
            return (dg.rand(1).item(), random.random(), float(np.random.random()))

    def run(workers):
        dg.manual_seed(0)
        random.seed(0)
        np.random.seed(0)
        batches = [b for b in DataLoader(Noisy(4), batch_size=2, num_workers=workers)]
        after = (dg.rand(1).item(), random.random(), float(np.random.random()))
        return batches, after

    with_workers, after_workers = run(2)
    again, after_again = run(2)
    assert after_workers == after_again
    for a, b in zip(with_workers, again):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    # The dataset's draws happen in the workers: the caller's streams are where they were
    # after the loader's own draw (its base seed), whatever the dataset drew.
    dg.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    list(DataLoader(Squares(4), batch_size=2, num_workers=2))
    assert after_workers == (dg.rand(1).item(), random.random(), float(np.random.random()))
    # Different workers draw different numbers.
    assert with_workers[0][0][0].item() != with_workers[1][0][0].item()


# ---------------------------------------------------------------- option checks

OPTION_ERRORS = [
    ("map", {"shuffle": True, "sampler": [0, 1]}),
    ("map", {"batch_sampler": [[0]], "batch_size": 2}),
    ("map", {"batch_sampler": [[0]], "shuffle": True}),
    ("map", {"batch_sampler": [[0]], "drop_last": True}),
    ("map", {"batch_sampler": [[0]], "sampler": [0]}),
    ("map", {"batch_size": None, "drop_last": True}),
    ("map", {"num_workers": -1}),
    ("map", {"timeout": -1}),
    ("map", {"prefetch_factor": 2}),
    ("map", {"num_workers": 1, "prefetch_factor": -1}),
    ("map", {"persistent_workers": True}),
    ("map", {"multiprocessing_context": "fork"}),
    ("map", {"num_workers": 1, "multiprocessing_context": "threads"}),
    ("stream", {"shuffle": True}),
    ("stream", {"sampler": [0]}),
    ("stream", {"batch_sampler": [[0]]}),
]


@pytest.mark.parametrize("kind, options", OPTION_ERRORS)
def test_option_errors_match_torch(kind, options):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.utils.data.DataLoader(Squares(4) if kind == "map" else torch_stream(4), **options)
    with pytest.raises(type(theirs.value)) as ours:
        DataLoader(Squares(4) if kind == "map" else Stream(4), **options)
    assert str(ours.value) == str(theirs.value)


def test_fixed_attributes_and_run_time_checks():
    loader = DataLoader(Squares(4), batch_size=2)
    for name in ("batch_size", "sampler", "batch_sampler", "drop_last", "dataset"):
        with pytest.raises(ValueError, match=f"{name} attribute should not be set"):
            setattr(loader, name, None)
    loader.collate_fn = lambda samples: len(samples)
    assert list(loader) == [2, 2]
    assert DataLoader(Squares(4), shuffle=False, num_workers=2).prefetch_factor == 2
    with pytest.raises(AssertionError, match="timeout"):
        iter(DataLoader(Squares(4), timeout=1))
    with pytest.warns(UserWarning, match="pin_memory"):
        assert len(list(DataLoader(Squares(4), pin_memory=True))) == 4


# ---------------------------------------------------------------- end to end

def test_training_loop_with_random_split():
    from deltagrad.utils.data import random_split

    dg.manual_seed(0)
    x = dg.randn(64, 3)
    y = x @ dg.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    train, dev = random_split(TensorDataset(x, y), [0.75, 0.25])
    model = nn.Linear(3, 1)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(train, batch_size=8, shuffle=True)

    def dev_loss():
        xs, ys = next(iter(DataLoader(dev, batch_size=len(dev))))
        return float(((model(xs) - ys) ** 2).mean().item())

    before = dev_loss()
    for _ in range(20):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = ((model(inputs) - targets) ** 2).mean()
            loss.backward()
            optimizer.step()
    assert dev_loss() < before * 1e-3
