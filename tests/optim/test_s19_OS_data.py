"""torch.utils.data against PyTorch: the order of samples per seed, collation and errors.

Samplers (RandomSampler with a generator, replacement, num_samples, the global seed, walked
twice; WeightedRandomSampler; SubsetRandomSampler; BatchSampler; DistributedSampler over
shuffle x drop_last x rank with a seed and set_epoch), random_split by fractions and lengths,
DataLoader (shuffle by the global seed or a generator, batch_size=None, drop_last, a
batch_sampler, the global generator's state after an epoch), default_collate on nested dicts /
tuples / namedtuples / NumPy arrays and scalars / numbers / strings, default_convert, Subset /
ConcatDataset / StackDataset, and the errors bad arguments raise (by class). deltagrad
reproduces torch.manual_seed's streams, so every order must be the same.
"""

from __future__ import annotations

import collections
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(__file__))
import s19_OS_compare as C  # noqa: E402

import deltagrad as dg  # noqa: E402

CASES = []


def _case(fn):
    CASES.append(fn)
    return fn


def norm(x):
    return x  # (s19_OS_compare.plain reduces tensors in the results)


@_case
def rs_gen(L):
    g = L.Generator().manual_seed(3)
    return list(L.utils.data.RandomSampler(range(10), generator=g))


@_case
def rs_repl(L):
    g = L.Generator().manual_seed(3)
    return list(
        L.utils.data.RandomSampler(range(10), replacement=True, num_samples=25, generator=g)
    )


@_case
def rs_nsamp(L):
    g = L.Generator().manual_seed(3)
    return list(L.utils.data.RandomSampler(range(10), num_samples=25, generator=g))


@_case
def rs_nsamp_small(L):
    g = L.Generator().manual_seed(3)
    return list(L.utils.data.RandomSampler(range(10), num_samples=7, generator=g))


@_case
def rs_global(L):
    L.manual_seed(5)
    return list(L.utils.data.RandomSampler(range(13)))


@_case
def rs_global_twice(L):
    L.manual_seed(5)
    s = L.utils.data.RandomSampler(range(13))
    return list(s) + list(s)


@_case
def rs_repl_global(L):
    L.manual_seed(5)
    return list(L.utils.data.RandomSampler(range(13), replacement=True))


@_case
def wrs(L):
    g = L.Generator().manual_seed(1)
    return list(L.utils.data.WeightedRandomSampler([0.1, 0.5, 2, 0.3, 1], 12, generator=g))


@_case
def wrs_norepl(L):
    g = L.Generator().manual_seed(1)
    return list(
        L.utils.data.WeightedRandomSampler([0.1, 0.5, 2, 0.3, 1], 4, replacement=False, generator=g)
    )


@_case
def wrs_global(L):
    L.manual_seed(2)
    return list(
        L.utils.data.WeightedRandomSampler(L.tensor([0.1, 0.5, 2, 0.3, 1.0], dtype=L.float64), 9)
    )


@_case
def srs(L):
    g = L.Generator().manual_seed(1)
    return list(L.utils.data.SubsetRandomSampler([5, 3, 9, 1, 7], generator=g))


@_case
def srs_global(L):
    L.manual_seed(9)
    return list(L.utils.data.SubsetRandomSampler(range(20, 40)))


@_case
def bs(L):
    return list(
        L.utils.data.BatchSampler(L.utils.data.SequentialSampler(range(10)), 3, False)
    ) + list(L.utils.data.BatchSampler(range(10), 3, True))


@_case
def ds(L):
    out = []
    for shuffle in (True, False):
        for drop in (True, False):
            for rank in range(3):
                s = L.utils.data.DistributedSampler(
                    range(10), num_replicas=3, rank=rank, shuffle=shuffle, seed=7, drop_last=drop
                )
                s.set_epoch(2)
                out.append((list(s), len(s)))
    return out


@_case
def rsplit(L):
    g = L.Generator().manual_seed(42)
    parts = L.utils.data.random_split(range(10), [0.3, 0.3, 0.4], generator=g)
    return [list(p) for p in parts]


@_case
def rsplit2(L):
    g = L.Generator().manual_seed(42)
    parts = L.utils.data.random_split(range(11), [0.5, 0.25, 0.25], generator=g)
    return [list(p) for p in parts]


@_case
def rsplit_int(L):
    L.manual_seed(4)
    parts = L.utils.data.random_split(list(range(11)), [3, 8])
    return [list(p) for p in parts]


@_case
def dl_shuffle(L):
    L.manual_seed(0)
    ds = L.utils.data.TensorDataset(L.arange(10), L.arange(10) * 2.0)
    return [norm(b) for b in L.utils.data.DataLoader(ds, batch_size=3, shuffle=True)]


@_case
def dl_shuffle_gen(L):
    g = L.Generator().manual_seed(11)
    ds = L.utils.data.TensorDataset(L.arange(10))
    dl = L.utils.data.DataLoader(ds, batch_size=4, shuffle=True, generator=g, drop_last=True)
    return [norm(b) for b in dl] + [norm(b) for b in dl]


@_case
def dl_none(L):
    return [norm(b) for b in L.utils.data.DataLoader([1, 2.5, np.float32(3)], batch_size=None)]


@_case
def dl_none_shuffle(L):
    L.manual_seed(3)
    return [norm(b) for b in L.utils.data.DataLoader(list(range(7)), batch_size=None, shuffle=True)]


@_case
def dl_global_after(L):
    # does the DataLoader iterator consume the global generator like torch (base_seed draw)?
    L.manual_seed(0)
    dl = L.utils.data.DataLoader(list(range(5)), batch_size=2)
    for _ in dl:
        pass
    return L.rand(3).tolist()


@_case
def dl_global_after_shuffle(L):
    L.manual_seed(0)
    dl = L.utils.data.DataLoader(list(range(5)), batch_size=2, shuffle=True)
    a = [b.tolist() for b in dl]
    return a, L.rand(3).tolist()


NT = collections.namedtuple("NT", "a b")


@_case
def collate_nested(L):
    batch = [
        {
            "x": np.array([1.0, 2.0], dtype=np.float32),
            "y": (1, 2.5, "s"),
            "z": NT(np.int64(3), True),
            "w": [np.float64(1.5), L.tensor([1, 2])],
        }
        for _ in range(2)
    ]
    return norm(L.utils.data.default_collate(batch))


@_case
def collate_nt(L):
    r = L.utils.data.default_collate([NT(1, 2.0), NT(3, 4.0)])
    return type(r).__name__, norm(tuple(r))


@_case
def collate_numbers(L):
    return (
        norm(L.utils.data.default_collate([1, 2])),
        norm(L.utils.data.default_collate([1.5, 2])),
        norm(L.utils.data.default_collate([True, False])),
        L.utils.data.default_collate(["a", "b"]),
    )


@_case
def collate_np_scalar(L):
    return (
        norm(L.utils.data.default_collate([np.float16(1), np.float16(2)])),
        norm(L.utils.data.default_collate([np.int32(1), np.int32(2)])),
        norm(L.utils.data.default_collate([np.array(1.0), np.array(2.0)])),
    )


@_case
def collate_np_str(L):
    return L.utils.data.default_collate([np.array(["a"]), np.array(["b"])])


@_case
def collate_uneven(L):
    return L.utils.data.default_collate([[1, 2], [3]])


@_case
def collate_tensor_uneven(L):
    return L.utils.data.default_collate([L.ones(2), L.ones(3)])


@_case
def convert(L):
    return norm(L.utils.data.default_convert([np.array([1, 2]), {"a": np.float64(2.0)}, "s", 3]))


@_case
def dl_sampler_batch(L):
    g = L.Generator().manual_seed(5)
    bs = L.utils.data.BatchSampler(L.utils.data.RandomSampler(range(9), generator=g), 4, False)
    return [norm(b) for b in L.utils.data.DataLoader(list(range(100, 109)), batch_sampler=bs)]


@_case
def dl_len(L):
    dl = L.utils.data.DataLoader(list(range(10)), batch_size=3, drop_last=True)
    return len(dl), len(L.utils.data.DataLoader(list(range(10)), batch_size=3))


@_case
def subset_concat(L):
    d = L.utils.data
    c = d.ConcatDataset([list(range(3)), list(range(10, 15))])
    s = d.Subset(c, [0, 4, 7, 2])
    return len(c), [c[i] for i in range(-8, 8)], [s[i] for i in range(4)]


@_case
def stack_ds(L):
    d = L.utils.data
    t = d.StackDataset(a=list(range(3)), b=list(range(3)))
    return t[1], len(t)


@_case
def rsplit_frac_empty(L):
    g = L.Generator().manual_seed(1)
    return [list(p) for p in L.utils.data.random_split(range(3), [0.1, 0.1, 0.8], generator=g)]


@_case
def rs_err(L):
    return L.utils.data.RandomSampler(range(3), num_samples=0)


@_case
def wrs_err(L):
    return L.utils.data.WeightedRandomSampler([1.0, 2.0], 5, replacement=False)


@_case
def wrs_err2(L):
    return L.utils.data.WeightedRandomSampler([[1.0, 2.0]], 5)


@_case
def bs_err(L):
    return L.utils.data.BatchSampler(range(3), 0, False)


@_case
def rsplit_err(L):
    return L.utils.data.random_split(range(10), [3, 3])


@_case
def rsplit_err2(L):
    return L.utils.data.random_split(range(10), [0.5, 0.6])


@_case
def ds_err(L):
    return L.utils.data.DistributedSampler(range(10), num_replicas=2, rank=2)


@_case
def dl_err(L):
    return L.utils.data.DataLoader(range(10), batch_size=2, shuffle=True, sampler=[1, 2])


@_case
def dl_err2(L):
    return L.utils.data.DataLoader(range(10), batch_size=None, drop_last=True)


@_case
def dl_err3(L):
    return L.utils.data.DataLoader(range(10), batch_sampler=[[1]], batch_size=3)


# default_collate / default_convert corners, IterableDataset loaders
@_case
def mixed_dtype_tensors(L):
    return L.utils.data.default_collate([L.ones(2), L.ones(2, dtype=L.float64)])


@_case
def np_bool(L):
    return L.utils.data.default_collate([np.array([True, False]), np.array([False, False])])


@_case
def np_str_(L):
    return L.utils.data.default_collate([np.str_("a"), np.str_("b")])


@_case
def bytes_(L):
    return L.utils.data.default_collate([b"a", b"b"])


@_case
def none_(L):
    return L.utils.data.default_collate([None, None])


@_case
def sets(L):
    return L.utils.data.default_collate([{1, 2}, {3, 4}])


@_case
def uneven_lists(L):
    return L.utils.data.default_collate([[1, 2], [3]])


@_case
def np_object(L):
    return L.utils.data.default_collate([np.array([1, "a"], dtype=object)] * 2)


@_case
def np_f16(L):
    return L.utils.data.default_collate([np.ones(2, np.float16)] * 2)


@_case
def np_uint16(L):
    return L.utils.data.default_collate([np.ones(2, np.uint16)] * 2)


@_case
def np_int8_scalar(L):
    return L.utils.data.default_collate([np.int8(1), np.int8(2)])


@_case
def np_bool_scalar(L):
    return L.utils.data.default_collate([np.bool_(True), np.bool_(False)])


@_case
def np_complex(L):
    return L.utils.data.default_collate([np.complex64(1 + 2j), np.complex64(3)])


@_case
def big_int(L):
    return L.utils.data.default_collate([2**40, 3])


@_case
def mixed_num(L):
    return L.utils.data.default_collate([1, 2.5])


@_case
def mixed_num2(L):
    return L.utils.data.default_collate([2.5, 1])


@_case
def tuple_of_dicts(L):
    return L.utils.data.default_collate([({"a": 1},), ({"a": 2},)])


@_case
def ordered(L):
    r = L.utils.data.default_collate([collections.OrderedDict(b=1, a=2)] * 2)
    return type(r).__name__, list(r)


@_case
def defaultdict_(L):
    d = collections.defaultdict(int)
    d["x"] = 1
    r = L.utils.data.default_collate([d, d])
    return type(r).__name__, dict(r)


@_case
def empty_batch(L):
    return L.utils.data.default_collate([])


@_case
def tensor_0d(L):
    return L.utils.data.default_collate([L.tensor(1), L.tensor(2)])


@_case
def requires_grad(L):
    return L.utils.data.default_collate([L.ones(2, requires_grad=True)] * 2).requires_grad


@_case
def convert_tuple(L):
    return L.utils.data.default_convert((np.ones(2), [np.int64(3)]))


@_case
def convert_np_str(L):
    return L.utils.data.default_convert(np.array(["a"]))


@_case
def loader_dict_bs_none(L):
    return list(L.utils.data.DataLoader([{"a": np.ones(2)}], batch_size=None))


@_case
def loader_collate_none(L):
    return list(L.utils.data.DataLoader([1, 2, 3], batch_size=2, collate_fn=None))


@_case
def loader_iter_ds(L):
    class It(L.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    return list(L.utils.data.DataLoader(It(), batch_size=3, drop_last=True)), list(
        L.utils.data.DataLoader(It(), batch_size=3)
    )


@_case
def loader_iter_len(L):
    class It(L.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    return len(L.utils.data.DataLoader(It(), batch_size=3)), len(
        L.utils.data.DataLoader(It(), batch_size=3, drop_last=True)
    )


@_case
def loader_iter_shuffle(L):
    class It(L.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    return L.utils.data.DataLoader(It(), shuffle=True)


@_case
def chain_ds(L):
    class It(L.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    return list(L.utils.data.ChainDataset([It(), It()]))


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_data_against_pytorch(case):
    C.check(case, torch, dg)


class _Draws:
    """Items that draw from the worker's global generator and report its seed."""

    def __init__(self, L):
        self.L = L

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return i, self.L.rand(1).item(), self.L.initial_seed() % 1000


def test_workers_seeds_and_order():
    """num_workers=2: the shuffled order, each worker's seed (base_seed + worker id) and its
    draws, and the parent's generator after the epoch match PyTorch's."""

    def case(L):
        L.manual_seed(7)
        loader = L.utils.data.DataLoader(_Draws(L), batch_size=2, shuffle=True, num_workers=2)
        return [tuple(b) for b in loader], L.rand(1)

    C.check(case, torch, dg)
