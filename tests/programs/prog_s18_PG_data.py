"""torch.utils.data as public training scripts use it (PG, session 18): random_split by lengths
and by fractions with a seeded Generator, Subset of a Subset, ConcatDataset through ``+`` and
its cumulative sizes, ChainDataset, StackDataset, WeightedRandomSampler with and without
replacement, SubsetRandomSampler, BatchSampler, RandomSampler with num_samples,
DistributedSampler with an explicit rank, a Generator-seeded shuffling DataLoader (same order
twice), collate_fn with pad_sequence and lengths, default_collate of dicts / namedtuples / NumPy
arrays / strings, an IterableDataset sharded with get_worker_info and a worker_init_fn in the
main process, batch_size=None and drop_last. Tiny sizes, seeded.
"""

import math
from collections import namedtuple

import numpy as np
import torch
from prog_s17_PG_harness import put
from torch.nn.utils.rnn import pad_sequence
from torch.utils import data
from torch.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)
from torch.utils.data.distributed import DistributedSampler

Pair = namedtuple("Pair", ["x", "y"])


class Squares(Dataset):
    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        value = index + self.offset
        return {"x": np.array([value, value ** 2], dtype=np.float32), "y": value % 3,
                "name": f"item{value}", "pair": Pair(float(value), torch.tensor([value]))}


def _indices(dataset):
    return [int(dataset[i]["x"][0]) for i in range(len(dataset))]


def section_splits() -> None:
    full = Squares(20)
    train, val = random_split(full, [14, 6], generator=torch.Generator().manual_seed(42))
    put("splits.train", _indices(train))
    put("splits.val", _indices(val))
    a, b, c = random_split(full, [0.5, 0.3, 0.2], generator=torch.Generator().manual_seed(7))
    put("splits.frac", [len(a), len(b), len(c)])
    put("splits.frac.a", _indices(a))
    odd = random_split(range(10), [0.34, 0.33, 0.33], generator=torch.Generator().manual_seed(3))
    put("splits.odd", [len(part) for part in odd])
    put("splits.odd.0", list(odd[0]))
    nested = Subset(train, [0, 2, 4])
    put("splits.nested", _indices(nested))
    put("splits.nested.indices", nested.indices)
    both = train + Squares(3, offset=100)
    put("splits.concat.len", len(both))
    put("splits.concat.sizes", both.cumulative_sizes)
    put("splits.concat.last", [int(both[-1]["x"][0]), int(both[13]["x"][0])])
    concat = ConcatDataset([Squares(2), Squares(3, 10), TensorDataset(torch.zeros(0, 2))])
    put("splits.concat2", concat.cumulative_sizes)
    try:
        concat[5]
    except IndexError as error:
        put("splits.concat2.err", type(error).__name__)
    tensors = TensorDataset(torch.arange(6.0).view(3, 2), torch.tensor([0, 1, 0]))
    put("splits.tensords", tensors[1:3][0])
    stacked = data.StackDataset(tensors, torch.arange(3) * 10)
    put("splits.stack", [int(stacked[2][1])])
    stacked_named = data.StackDataset(a=torch.arange(3), b=torch.arange(3) * 2)
    put("splits.stack_named", [int(stacked_named[1]["b"])])


class Stream(IterableDataset):
    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def __iter__(self):
        worker_info = torch.utils.data.get_worker_info()
        if worker_info is None:
            iter_start, iter_end = self.start, self.end
        else:
            per_worker = int(math.ceil((self.end - self.start) / float(worker_info.num_workers)))
            iter_start = self.start + worker_info.id * per_worker
            iter_end = min(iter_start + per_worker, self.end)
        return iter(torch.arange(iter_start, iter_end).tolist())


def section_samplers() -> None:
    weights = [0.1, 0.9, 0.4, 0.7, 0.05, 1.0]
    gen = torch.Generator().manual_seed(11)
    put("samplers.wrs", list(WeightedRandomSampler(weights, 10, replacement=True, generator=gen)))
    put("samplers.wrs_norep",
        list(WeightedRandomSampler(weights, 4, replacement=False, generator=gen)))
    put("samplers.subset", list(SubsetRandomSampler([3, 5, 7, 9], generator=gen)))
    put("samplers.batch", [len(b) for b in BatchSampler(SequentialSampler(range(10)), 3, False)])
    put("samplers.batch_drop", list(BatchSampler(range(10), 4, drop_last=True)))
    put("samplers.random_n",
        list(RandomSampler(range(5), replacement=True, num_samples=8, generator=gen)))
    put("samplers.random_more", list(RandomSampler(range(4), num_samples=9, generator=gen)))
    for rank in range(2):
        sampler = DistributedSampler(range(11), num_replicas=2, rank=rank, shuffle=True, seed=5)
        sampler.set_epoch(3)
        put(f"samplers.dist{rank}", list(sampler))
        no_pad = DistributedSampler(range(11), num_replicas=2, rank=rank, shuffle=False,
                                    drop_last=True)
        put(f"samplers.dist_drop{rank}", list(no_pad))
    # class-balanced sampling as the imbalanced-data tutorials write it
    targets = torch.tensor([0] * 8 + [1] * 2)
    class_count = torch.bincount(targets)
    sample_weights = (1.0 / class_count.float())[targets]
    balanced = WeightedRandomSampler(sample_weights, num_samples=len(sample_weights),
                                     replacement=True,
                                     generator=torch.Generator().manual_seed(0))
    put("samplers.balanced", list(balanced))
    put("samplers.balanced.weights", balanced.weights)
    # streaming datasets
    seeds = []
    loader = DataLoader(Stream(3, 10), batch_size=3, num_workers=0,
                        worker_init_fn=lambda worker_id: seeds.append(worker_id))
    put("samplers.stream", [batch.tolist() for batch in loader][0])
    put("samplers.stream.all", torch.cat(list(loader)))
    put("samplers.stream.seeds", len(seeds))
    put("samplers.chain", list(ChainDataset([Stream(0, 2), Stream(5, 7)])))


def collate_batch(batch):
    label_list, text_list, lengths = [], [], []
    for label, text in batch:
        label_list.append(label)
        processed = torch.tensor(text, dtype=torch.int64)
        text_list.append(processed)
        lengths.append(processed.size(0))
    return (torch.tensor(label_list, dtype=torch.int64),
            pad_sequence(text_list, batch_first=True, padding_value=0),
            torch.tensor(lengths))


def section_loaders() -> None:
    rng = np.random.default_rng(0)
    texts = [(int(rng.integers(0, 4)), rng.integers(1, 50, size=int(rng.integers(2, 7))).tolist())
             for _ in range(9)]
    loader = DataLoader(texts, batch_size=4, shuffle=True, collate_fn=collate_batch,
                        generator=torch.Generator().manual_seed(9))
    for epoch in range(2):
        for i, (labels, padded, lengths) in enumerate(loader):
            put(f"loaders.text.{epoch}.{i}.labels", labels)
            put(f"loaders.text.{epoch}.{i}.padded", padded)
            put(f"loaders.text.{epoch}.{i}.lengths", lengths)
    put("loaders.text.len", len(loader))
    # the same generator seed gives the same order
    order = [int(b[0][0]) for b in DataLoader(texts, batch_size=1, shuffle=True,
                                              generator=torch.Generator().manual_seed(9))]
    again = [int(b[0][0]) for b in DataLoader(texts, batch_size=1, shuffle=True,
                                              generator=torch.Generator().manual_seed(9))]
    put("loaders.same_order", order == again)
    # default_collate of dicts, namedtuples, arrays, strings, ints
    torch.manual_seed(4)
    batches = list(DataLoader(Squares(7), batch_size=3, shuffle=True, drop_last=True))
    put("loaders.dict.n", len(batches))
    first = batches[0]
    put("loaders.dict.x", first["x"])
    put("loaders.dict.y", first["y"])
    put("loaders.dict.name", list(first["name"]))
    put("loaders.dict.pair_x", first["pair"].x)
    put("loaders.dict.pair_y", first["pair"].y)
    put("loaders.dict.pair_type", type(first["pair"]).__name__)
    unbatched = list(DataLoader(TensorDataset(torch.arange(3)), batch_size=None))
    put("loaders.unbatched", [u[0] for u in unbatched])
    put("loaders.unbatched.type", type(unbatched[0]).__name__)
    sampler_loader = DataLoader(range(10), batch_sampler=BatchSampler(
        RandomSampler(range(10), generator=torch.Generator().manual_seed(2)), 4, False))
    put("loaders.batch_sampler", [b for b in sampler_loader][-1])
    converted = data.default_convert([np.array([1, 2]), (np.float64(3.5), "s")])
    put("loaders.convert", converted[0])
    put("loaders.convert.type", type(converted[1][0]).__name__)
    # training on a split, as the tutorials do
    X = torch.randn(40, 3)
    y = (X.sum(1) > 0).long()
    train_set, val_set = random_split(TensorDataset(X, y), [30, 10],
                                      generator=torch.Generator().manual_seed(1))
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    train_loader = DataLoader(train_set, batch_size=8, shuffle=True,
                              generator=torch.Generator().manual_seed(5))
    for _ in range(2):
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        xv, yv = next(iter(DataLoader(val_set, batch_size=len(val_set))))
        put("loaders.val_acc", (model(xv).argmax(1) == yv).float().mean())
    put("loaders.weight", model.weight)


SECTIONS = {"splits": section_splits, "samplers": section_samplers, "loaders": section_loaders}
