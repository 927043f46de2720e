"""The DataLoader's batched fetch from a TensorDataset (one gather per tensor instead of a
Tensor per sample) gives exactly the batches, dtypes and random draws of the per-sample path,
and steps aside wherever PyTorch's per-sample semantics could differ."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.utils.data import BatchSampler, DataLoader, TensorDataset


class _PerSample(TensorDataset):
    """The same samples through a subclass's own ``__getitem__`` (the per-sample path)."""

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)


def _data(cls=TensorDataset):
    rng = np.random.default_rng(0)
    return cls(dg.tensor(rng.standard_normal((37, 3, 2)).astype(np.float32)),
               dg.tensor(rng.integers(0, 5, 37)), dg.tensor(rng.random(37) > 0.5))


def _epoch(dataset, **options):
    return [[t.numpy().copy() for t in batch] for batch in DataLoader(dataset, **options)]


@pytest.mark.parametrize("options", [dict(batch_size=8, shuffle=True), dict(batch_size=5),
                                     dict(batch_size=8, shuffle=True, drop_last=True)])
def test_batches_and_random_draws_match_the_per_sample_path(options):
    dg.manual_seed(3)
    fast = _epoch(_data(), **options)
    after_fast = dg.rand(3).numpy()
    dg.manual_seed(3)
    slow = _epoch(_data(_PerSample), **options)
    after_slow = dg.rand(3).numpy()
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert [x.dtype for x in a] == [x.dtype for x in b]
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(after_fast, after_slow)  # the same generator consumption


def test_batch_is_a_list_of_fresh_tensors_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 4)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    ours = DataLoader(TensorDataset(dg.tensor(x), dg.tensor(y)), batch_size=4)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=4)
    for a, b in zip(ours, theirs):
        assert type(a) is list and type(b) is list
        for p, q in zip(a, b):
            assert str(p.dtype).split(".")[-1] == str(q.dtype).split(".")[-1]
            np.testing.assert_array_equal(p.numpy(), q.numpy())
    source = ours.dataset.tensors[0]
    batch = next(iter(ours))[0]
    batch.numpy()[...] = 0  # a copy, as torch.stack makes: the dataset is untouched
    assert source.numpy()[0, 0] == x[0, 0]


def test_gradients_out_of_range_and_odd_indices_take_the_per_sample_path():
    weights = dg.ones(6, 2, requires_grad=True)
    loader = DataLoader(TensorDataset(weights), batch_size=3)
    (batch,) = next(iter(loader))
    assert batch.requires_grad  # stacking keeps the graph
    batch.sum().backward()
    np.testing.assert_array_equal(weights.grad.numpy(), np.r_[np.ones((3, 2)), np.zeros((3, 2))])

    data = TensorDataset(dg.arange(6))
    bad = DataLoader(data, batch_sampler=[[0, 6]])
    with pytest.raises(IndexError):
        next(iter(bad))
    negative = DataLoader(data, batch_sampler=[[-1, 0]])
    np.testing.assert_array_equal(next(iter(negative))[0].numpy(), [5, 0])
    flags = DataLoader(data, batch_sampler=[[True, 2]])  # x[True] adds a dim: per sample
    dg.manual_seed(0)
    with pytest.raises(RuntimeError):
        next(iter(flags))  # rows of different shapes cannot be stacked, as in PyTorch
    numpy_ints = DataLoader(data, batch_sampler=BatchSampler(np.arange(4), 2, False))
    np.testing.assert_array_equal(next(iter(numpy_ints))[0].numpy(), [0, 1])


def test_custom_collate_sees_the_samples():
    seen = []
    loader = DataLoader(_data(), batch_size=4, collate_fn=lambda s: seen.append(s) or len(s))
    assert next(iter(loader)) == 4
    assert len(seen[0]) == 4 and len(seen[0][0]) == 3  # tuples of rows, not a gathered batch
