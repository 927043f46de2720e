"""Data pipelines and seeded randomness of everyday PyTorch code, afresh (PR6, session 23): a
map-style Dataset of dicts batched by default_collate (nested dicts, tuples, NumPy arrays,
strings, numbers), random_split with fractions and a generator, Subset of a Subset,
ConcatDataset's index arithmetic, WeightedRandomSampler for class balance, BatchSampler
with drop_last, a custom Sampler, an IterableDataset with a sharded generator, a collate_fn
padding variable-length sequences, the DataLoader's own generator; and Generator-driven draws
(randperm / multinomial with and without replacement / normal_ / bernoulli / random_ /
exponential_ / geometric_ / cauchy_ / log_normal_ with generator=, get_state / set_state,
fork_rng, manual_seed's effect on a fresh Generator vs the global one). Tiny sizes; run by
prog_s23_PR6_all.py.
"""

import numpy as np
import torch
from prog_s23_PR6_harness import put
from torch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)


class Records(Dataset):
    """Each item a dict: a float feature tensor, a NumPy array, an int label, a name."""

    def __init__(self, n):
        g = torch.Generator().manual_seed(5)
        self.x = torch.randn(n, 3, generator=g)
        self.labels = (torch.arange(n) % 3 == 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "np": np.full(2, i, dtype=np.float32),
                "meta": {"label": int(self.labels[i]), "weight": 0.5 * i},
                "pair": (i, float(i) / 2), "name": f"item{i}"}


class EveryOther(Sampler):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(list(range(0, self.n, 2)) + list(range(1, self.n, 2)))

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    """A counter stream whose items are noisy squares; split among workers by get_worker_info
    (a single process here: the whole range)."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        lo, hi = self.start, self.end
        if info is not None:  # pragma: no cover - num_workers=0 below
            per = (hi - lo) // info.num_workers
            lo, hi = lo + info.id * per, lo + (info.id + 1) * per
        g = torch.Generator().manual_seed(lo)
        for i in range(lo, hi):
            yield torch.tensor(float(i)), torch.tensor(float(i * i)) + torch.randn(1,
                                                                                   generator=g)


def pad_collate(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    padded = torch.nn.utils.rnn.pad_sequence(list(seqs), batch_first=True, padding_value=-1)
    return padded, lengths, torch.tensor(labels)


def section_datasets() -> None:
    data = Records(12)
    batch = default_collate([data[i] for i in range(4)])
    put("data.collate_x", batch["x"])
    put("data.collate_np", batch["np"])
    put("data.collate_meta", [batch["meta"]["label"], batch["meta"]["weight"]])
    put("data.collate_pair", list(batch["pair"]))
    put("data.collate_name", list(batch["name"]))
    put("data.collate_types", [type(batch["pair"]).__name__, type(batch["meta"]).__name__,
                               str(batch["meta"]["weight"].dtype), str(batch["np"].dtype)])
    loader = DataLoader(data, batch_size=5, shuffle=True,
                        generator=torch.Generator().manual_seed(1))
    put("data.loader_len", len(loader))
    put("data.loader_names", [list(b["name"]) for b in loader])
    put("data.loader_again", [b["meta"]["label"] for b in loader])
    train, val, test = random_split(data, [0.5, 0.25, 0.25],
                                    generator=torch.Generator().manual_seed(42))
    put("data.split_sizes", [len(train), len(val), len(test)])
    put("data.split_indices", [list(train.indices), list(val.indices), list(test.indices)])
    a, b = random_split(range(10), [7, 3], generator=torch.Generator().manual_seed(0))
    put("data.split_range", [list(a), list(b)])
    inner = Subset(data, [1, 3, 5, 7, 9])
    outer = Subset(inner, [4, 0])
    put("data.subset", [outer[0]["name"], outer[1]["name"], len(outer)])
    xs = torch.arange(10.0).unsqueeze(1)
    ys = torch.arange(10) % 2
    first = TensorDataset(xs[:4], ys[:4])
    second = TensorDataset(xs[4:] * 10, ys[4:])
    both = ConcatDataset([first, second])
    put("data.concat", [len(both), both.cumulative_sizes, both[5][0], both[-1][0], both[3][1]])
    put("data.tensors", [first.tensors[0].shape[0], first[1][0]])
    # class balance: weights 1 / class count, drawn with replacement
    labels = torch.tensor([0] * 8 + [1] * 2)
    weights = 1.0 / torch.bincount(labels)[labels].double()
    sampler = WeightedRandomSampler(weights, num_samples=40, replacement=True,
                                    generator=torch.Generator().manual_seed(7))
    drawn = torch.tensor(list(sampler))
    put("data.weighted", drawn)
    put("data.weighted_counts", torch.bincount(labels[drawn], minlength=2))
    no_repl = WeightedRandomSampler([0.1, 0.5, 0.2, 0.2], 3, replacement=False,
                                    generator=torch.Generator().manual_seed(7))
    put("data.weighted_norepl", list(no_repl))
    batches = list(BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=False))
    dropped = list(BatchSampler(EveryOther(10), batch_size=3, drop_last=True))
    put("data.batch_sampler", [str(batches), str(dropped), len(BatchSampler(range(10), 4, True))])
    rs = RandomSampler(range(6), generator=torch.Generator().manual_seed(3))
    put("data.random_sampler", [list(rs), list(rs)])
    rs2 = RandomSampler(range(6), replacement=True, num_samples=9,
                        generator=torch.Generator().manual_seed(3))
    put("data.random_sampler_repl", list(rs2))
    loader = DataLoader(TensorDataset(xs, ys), batch_sampler=BatchSampler(EveryOther(10), 4,
                                                                         False))
    put("data.batch_sampler_loader", [b[0].flatten() for b in loader])
    stream = DataLoader(Stream(0, 7), batch_size=3)
    put("data.stream", [torch.cat([b[0], b[1].flatten()]) for b in stream])
    seqs = [(torch.arange(n) + 1, n % 2) for n in (3, 1, 4, 2)]
    padded, lengths, lab = next(iter(DataLoader(seqs, batch_size=4, collate_fn=pad_collate)))
    put("data.padded", [padded, lengths, lab])
    packed = torch.nn.utils.rnn.pack_padded_sequence(padded.unsqueeze(-1).float(), lengths,
                                                     batch_first=True, enforce_sorted=False)
    put("data.packed", [packed.data, packed.batch_sizes, packed.sorted_indices,
                        packed.unsorted_indices])
    # numpy arrays and plain numbers as items
    put("data.collate_plain", [default_collate([np.array([1, 2]), np.array([3, 4])]),
                               default_collate([1.5, 2.5]), default_collate([3, 4]),
                               default_collate([True, False])])
    put("data.collate_plain_types", [str(default_collate([1.5, 2.5]).dtype),
                                     str(default_collate([np.float32(1), np.float32(2)]).dtype)])
    loader = DataLoader(TensorDataset(xs, ys), batch_size=4, shuffle=False, drop_last=True)
    put("data.drop_last", [len(loader), [b[1] for b in loader]])


def section_generators() -> None:
    g = torch.Generator()
    g.manual_seed(2024)
    put("gen.initial_seed", g.initial_seed())
    state = g.get_state()
    first = torch.rand(4, generator=g)
    g.set_state(state)
    again = torch.rand(4, generator=g)
    put("gen.replay", [first, again, str(state.dtype), state.shape])
    put("gen.randperm", torch.randperm(10, generator=g))
    put("gen.randint", torch.randint(-5, 5, (3, 4), generator=g))
    put("gen.randint_low", torch.randint(3, (6,), generator=g))
    put("gen.randn", torch.randn(2, 3, generator=g))
    put("gen.randn64", torch.randn(3, generator=g, dtype=torch.float64))
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    put("gen.multinomial", [torch.multinomial(probs, 8, replacement=True, generator=g),
                            torch.multinomial(probs, 4, generator=g),
                            torch.multinomial(probs.repeat(3, 1), 2, generator=g)])
    t = torch.empty(6)
    put("gen.fill", [t.normal_(2.0, 0.5, generator=g).clone(),
                     t.uniform_(-1, 1, generator=g).clone(),
                     t.exponential_(2.0, generator=g).clone(),
                     t.cauchy_(generator=g).clone(), t.log_normal_(generator=g).clone(),
                     t.geometric_(0.3, generator=g).clone(),
                     t.random_(0, 10, generator=g).clone(), t.bernoulli_(0.3, generator=g)])
    put("gen.bernoulli", torch.bernoulli(torch.full((8,), 0.5), generator=g))
    put("gen.normal_fn", [torch.normal(torch.zeros(3), torch.ones(3), generator=g),
                          torch.normal(1.0, 2.0, (2,), generator=g),
                          torch.normal(torch.arange(3.0), 1.0, generator=g)])
    put("gen.poisson", torch.poisson(torch.tensor([1.0, 5.0, 20.0]), generator=g))
    put("gen.int_random", torch.empty(5, dtype=torch.int64).random_(100, generator=g))
    # sparse_: the normals from generator=, each column's permutation from the default one
    put("gen.sparse_init", torch.nn.init.sparse_(torch.empty(6, 4), 0.5, generator=g))
    put("gen.after_sparse", torch.rand(2))
    put("gen.rand_like", torch.rand(3, generator=g, dtype=torch.float64))
    # the global generator: manual_seed, get_rng_state / set_rng_state, fork_rng
    torch.manual_seed(17)
    put("gen.global_seed", torch.initial_seed())
    a = torch.rand(3)
    saved = torch.get_rng_state()
    b = torch.randn(2)
    torch.set_rng_state(saved)
    put("gen.global_replay", [a, b, torch.randn(2)])
    with torch.random.fork_rng():
        torch.manual_seed(99)
        inside = torch.rand(2)
    put("gen.fork", [inside, torch.rand(2)])
    torch.manual_seed(17)
    put("gen.global_vs_gen", [torch.rand(3), torch.rand(3, generator=torch.Generator()
                                                         .manual_seed(17))])
    put("gen.default_generator", torch.default_generator.initial_seed())
    # dropout and randomized modules draw from the global generator
    torch.manual_seed(3)
    drop = torch.nn.Dropout(0.5)
    put("gen.dropout", drop(torch.ones(10)))
    put("gen.rrelu", torch.nn.functional.rrelu(-torch.ones(5), training=True))
    put("gen.shuffle_idx", torch.randperm(6)[torch.randperm(6)])
    put("gen.randint_like", torch.randint_like(torch.zeros(4), 3, 9))
    put("gen.randn_like", torch.randn_like(torch.zeros(2, 2, dtype=torch.float64)))


SECTIONS = {"datasets": section_datasets, "generators": section_generators}

if __name__ == "__main__":
    from prog_s23_PR6_harness import run

    run(SECTIONS)
