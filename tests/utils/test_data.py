"""deltagrad.utils.data: datasets, random_split, samplers and DistributedSampler."""

import sys
import types
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return index * index

    def __len__(self):
        return self.n


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def _raises_same(dg_call, torch_call, *args, **kwargs):
    """Both calls (with these arguments) raise, with the same exception type; returns ours."""
    with pytest.raises(Exception) as ours:
        dg_call(*args, **kwargs)
    with pytest.raises(Exception) as theirs:
        torch_call(*args, **kwargs)
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    return ours.value


# ---------------------------------------------------------------- datasets

def test_tensor_dataset_rows_and_length():
    x = dg.arange(12.0).reshape(4, 3)
    y = dg.tensor([0, 1, 1, 0])
    data = TensorDataset(x, y)
    assert len(data) == 4
    row, label = data[2]
    np.testing.assert_array_equal(row.numpy(), [6.0, 7.0, 8.0])
    assert label.item() == 1 and label.dtype == dg.int64
    rows, labels = data[1:3]
    assert rows.shape == (2, 3) and labels.shape == (2,)


def test_tensor_dataset_mismatched_first_dimension():
    with pytest.raises(AssertionError, match=r"Size mismatch.*\[2, 3\]"):
        TensorDataset(dg.zeros(2), dg.zeros(3))
    with pytest.raises(TypeError, match="argument 1"):
        TensorDataset(dg.zeros(2), [1, 2])
    torch = pytest.importorskip("torch")
    _raises_same(lambda: TensorDataset(dg.zeros(2), dg.zeros(3)),
                 lambda: torch.utils.data.TensorDataset(torch.zeros(2), torch.zeros(3)))


def test_dataset_base_and_add():
    with pytest.raises(NotImplementedError):
        Dataset()[0]
    with pytest.raises(TypeError, match="abstract"):
        IterableDataset()  # __iter__ is abstract, as in PyTorch
    both = Squares(2) + Squares(3)
    assert isinstance(both, ConcatDataset)
    assert [both[i] for i in range(len(both))] == [0, 1, 0, 1, 4]
    chained = Count(2) + Count(3)
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


def test_concat_dataset_matches_torch_indexing():
    torch = pytest.importorskip("torch")
    parts = [list(range(3)), [], list(range(10, 14)), [99]]
    ours, theirs = ConcatDataset(parts), torch.utils.data.ConcatDataset(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert len(ours) == len(theirs) == 8
    for index in range(-8, 8):
        assert ours[index] == theirs[index]
    _raises_same(lambda: ours[-9], lambda: theirs[-9])
    _raises_same(lambda: ours[8], lambda: theirs[8])
    _raises_same(lambda: ConcatDataset([]), lambda: torch.utils.data.ConcatDataset([]))

    class TorchCount(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(2))

    _raises_same(lambda: ConcatDataset([Count(2)]),
                 lambda: torch.utils.data.ConcatDataset([TorchCount()]))


def test_chain_dataset_rejects_map_style():
    with pytest.raises(AssertionError, match="IterableDataset"):
        list(ChainDataset([[1, 2]]))


def test_stack_dataset():
    data = StackDataset(Squares(3), ["a", "b", "c"])
    assert len(data) == 3 and data[2] == (4, "c")
    named = StackDataset(x=Squares(2), y=[5, 6])
    assert named[1] == {"x": 1, "y": 6}
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset([1], [1, 2])
    with pytest.raises(ValueError):
        StackDataset([1], y=[2])


def test_subset_and_batched_fetch():
    sub = Subset(Squares(10), [9, 2, 5])
    assert len(sub) == 3 and sub[0] == 81 and sub[-1] == 25
    assert sub.__getitems__([2, 0]) == [25, 81]
    with pytest.raises(TypeError):  # (a list index goes to the dataset, as PyTorch's: s29 SL21)
        sub[[2, 0]]

    class Batched(Squares):
        calls = []

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [self[i] for i in indices]

    inner = Batched(10)
    assert Subset(inner, [9, 2, 5]).__getitems__([0, 1]) == [81, 4]
    assert inner.calls == [[9, 2]]


# ---------------------------------------------------------------- random_split

def _check_partition(parts, size):
    seen = sorted(i for part in parts for i in part.indices)
    assert seen == list(range(size))


def test_random_split_integer_lengths_partition():
    parts = random_split(Squares(10), [3, 7], generator=dg.Generator(1))
    assert [len(p) for p in parts] == [3, 7]
    _check_partition(parts, 10)
    assert parts[0][0] == parts[0].indices[0] ** 2


@pytest.mark.parametrize("size, fractions", [
    (10, [0.5, 0.3, 0.2]), (11, [0.5, 0.5]), (7, [1 / 3, 1 / 3, 1 / 3]), (5, [0.1, 0.9]),
    (101, [0.8, 0.1, 0.1]), (3, [0.25, 0.25, 0.25, 0.25]), (0, [0.5, 0.5]),
])
def test_random_split_fraction_lengths_match_torch(size, fractions):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-length splits warn in both
        ours = random_split(range(size), fractions, generator=dg.Generator(0))
        theirs = torch.utils.data.random_split(range(size), fractions,
                                               generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    _check_partition(ours, size)


def test_random_split_reproducible_under_manual_seed_and_generator():
    dg.manual_seed(5)
    first = [p.indices for p in random_split(range(20), [0.5, 0.5])]
    dg.manual_seed(5)
    again = [p.indices for p in random_split(range(20), [0.5, 0.5])]
    assert first == again
    with_generator = [p.indices for p in random_split(range(20), [10, 10],
                                                      generator=dg.Generator(5))]
    assert with_generator == [p.indices for p in random_split(range(20), [10, 10],
                                                              generator=dg.Generator(5))]
    other = [p.indices for p in random_split(range(20), [10, 10], generator=dg.Generator(6))]
    assert other != with_generator


def test_random_split_errors_match_torch():
    torch = pytest.importorskip("torch")
    tsplit = torch.utils.data.random_split
    _raises_same(lambda: random_split(range(10), [3, 3]), lambda: tsplit(range(10), [3, 3]))
    _raises_same(lambda: random_split(range(10), [0.5, 0.6]),
                 lambda: tsplit(range(10), [0.5, 0.6]))
    error = _raises_same(lambda: random_split(range(10), [1.5, -0.5]),
                         lambda: tsplit(range(10), [1.5, -0.5]))
    assert "index 0" in str(error)
    with pytest.warns(UserWarning) as record:
        parts = random_split(range(2), [0.9, 0.05, 0.05])
    assert [len(p) for p in parts] == [2, 0, 0]
    assert ["index 1 is 0" in str(w.message) for w in record] == [True, False]
    assert "index 2 is 0" in str(record[1].message)


# ---------------------------------------------------------------- samplers

def test_sequential_sampler():
    sampler = SequentialSampler(Squares(4))
    assert list(sampler) == [0, 1, 2, 3] and len(sampler) == 4


def test_sampler_base_is_abstract():
    with pytest.raises(NotImplementedError):
        iter(Sampler(None))


def test_random_sampler_permutations_reproducible():
    sampler = RandomSampler(range(50), generator=dg.Generator(3))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second  # the generator moves on between passes
    again = RandomSampler(range(50), generator=dg.Generator(3))
    assert list(again) == first and list(again) == second
    dg.manual_seed(11)
    default_first = list(RandomSampler(range(50)))
    dg.manual_seed(11)
    assert list(RandomSampler(range(50))) == default_first


def test_random_sampler_num_samples_and_replacement():
    sampler = RandomSampler(range(4), num_samples=10, generator=dg.Generator(0))
    drawn = list(sampler)
    assert len(sampler) == 10 and len(drawn) == 10
    assert sorted(drawn[:4]) == sorted(drawn[4:8]) == [0, 1, 2, 3]
    assert len(set(drawn[8:])) == 2
    with_replacement = list(RandomSampler(range(3), replacement=True, num_samples=300,
                                          generator=dg.Generator(0)))
    assert len(with_replacement) == 300 and set(with_replacement) == {0, 1, 2}


def test_random_sampler_errors_match_torch():
    torch = pytest.importorskip("torch")
    trs = torch.utils.data.RandomSampler
    _raises_same(lambda: RandomSampler(range(3), replacement=1),
                 lambda: trs(range(3), replacement=1))
    _raises_same(lambda: RandomSampler(range(3), num_samples=0),
                 lambda: trs(range(3), num_samples=0))
    _raises_same(lambda: RandomSampler([]), lambda: trs([]))


def test_subset_random_sampler():
    indices = [7, 3, 9, 12]
    sampler = SubsetRandomSampler(indices, generator=dg.Generator(2))
    order = list(sampler)
    assert sorted(order) == sorted(indices) and len(sampler) == 4
    assert list(SubsetRandomSampler(indices, generator=dg.Generator(2))) == order


def test_weighted_sampler_frequencies():
    picks = np.array(list(WeightedRandomSampler([1.0, 0.0, 3.0], 20000,
                                                generator=dg.Generator(0))))
    assert set(picks.tolist()) == {0, 2}
    assert abs(np.mean(picks == 2) - 0.75) < 0.015


def test_weighted_sampler_without_replacement():
    # First draws follow the weights; then each remaining index once, zero weights last.
    firsts = [next(iter(WeightedRandomSampler(dg.tensor([1.0, 3.0]), 1, replacement=False,
                                              generator=dg.Generator(seed))))
              for seed in range(2000)]
    assert abs(np.mean(np.array(firsts) == 1) - 0.75) < 0.03
    order = list(WeightedRandomSampler([0.0, 2.0, 0.0, 1.0], 4, replacement=False,
                                       generator=dg.Generator(1)))
    assert sorted(order) == [0, 1, 2, 3] and set(order[2:]) == {0, 2}


def test_weighted_sampler_errors_match_torch():
    torch = pytest.importorskip("torch")
    tws = torch.utils.data.WeightedRandomSampler
    for args, kwargs in [(([1.0], 1), {"replacement": 1}), (([1.0], 0), {}),
                         (([[1.0]], 1), {})]:
        _raises_same(WeightedRandomSampler, tws, *args, **kwargs)
    for weights, count, replacement in [([1.0, -1.0], 2, True), ([0.0, 0.0], 2, True),
                                        ([1.0, 0.0], 3, False), ([1.0, np.nan], 1, True)]:
        _raises_same(lambda *a: list(WeightedRandomSampler(*a)), lambda *a: list(tws(*a)),
                     weights, count, replacement)


@pytest.mark.parametrize("size, batch_size, drop_last", [
    (10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True), (0, 2, False),
])
def test_batch_sampler_matches_torch(size, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(size)), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(size)),
                                           batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_errors_match_torch():
    torch = pytest.importorskip("torch")
    tbs = torch.utils.data.BatchSampler
    for args in [(range(3), 0, False), (range(3), True, False), (range(3), 2, 1),
                 (range(3), 1.5, False)]:
        _raises_same(BatchSampler, tbs, *args)


# ---------------------------------------------------------------- DistributedSampler

@pytest.mark.parametrize("size, replicas, drop_last", [
    (10, 3, False), (10, 3, True), (9, 3, False), (2, 4, False), (5, 2, True), (7, 1, False),
])
def test_distributed_sampler_without_shuffle_matches_torch(size, replicas, drop_last):
    torch = pytest.importorskip("torch")
    for rank in range(replicas):
        ours = DistributedSampler(range(size), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(size), replicas, rank, shuffle=False,
                                                     drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_distributed_sampler_shuffle_shards_one_permutation():
    shards = [DistributedSampler(range(10), num_replicas=2, rank=r, seed=4) for r in range(2)]
    first = [list(s) for s in shards]
    assert sorted(first[0] + first[1]) == list(range(10))
    assert [list(s) for s in shards] == first  # same epoch, same order
    for sampler in shards:
        sampler.set_epoch(1)
    second = [list(s) for s in shards]
    assert sorted(second[0] + second[1]) == list(range(10)) and second != first
    padded = [list(DistributedSampler(range(5), 2, r, seed=4)) for r in range(2)]
    assert len(padded[0]) == len(padded[1]) == 3
    assert set(padded[0] + padded[1]) == set(range(5))


def test_distributed_sampler_defaults_and_errors(monkeypatch):
    fake = types.ModuleType("deltagrad.distributed")
    monkeypatch.setitem(sys.modules, "deltagrad.distributed", fake)
    sampler = DistributedSampler(range(8), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (1, 0) and list(sampler) == list(range(8))
    fake.get_world_size = lambda: 4
    fake.get_rank = lambda: 2
    sampler = DistributedSampler(range(8), shuffle=False)
    assert (sampler.num_replicas, sampler.rank) == (4, 2) and list(sampler) == [2, 6]
    with pytest.raises(ValueError, match=r"Invalid rank 2, .*\[0, 1\]"):
        DistributedSampler(range(8), num_replicas=2, rank=2)
    with pytest.raises(ValueError):
        DistributedSampler(range(8), num_replicas=0, rank=0)
