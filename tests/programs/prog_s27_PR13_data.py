"""Data-pipeline programs (PR13, session 27), written afresh in the style of widely copied
code, printing what such scripts print: samplers (WeightedRandomSampler for class imbalance,
SubsetRandomSampler train/valid splits, BatchSampler, SequentialSampler, a custom bucketing
batch sampler), an IterableDataset sharded by worker info, collate_fn padding with
pad_sequence and pack_padded_sequence into an LSTM classifier, random_split with generators
(lengths and fractions), and NumPy interop (from_numpy sharing memory, .numpy() writes,
as_tensor, dtype round trips). Tiny sizes, seeded; run by prog_s27_PR13_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
    random_split,
)


def section_samplers() -> None:
    g = torch.Generator().manual_seed(30)
    labels = torch.tensor([0] * 40 + [1] * 8 + [2] * 2)
    data = TensorDataset(torch.arange(50.0).unsqueeze(1), labels)
    with printed("smp.log"):
        counts = torch.bincount(labels)
        weights = (1.0 / counts.float())[labels]
        sampler = WeightedRandomSampler(weights, num_samples=60, replacement=True, generator=g)
        loader = DataLoader(data, batch_size=20, sampler=sampler)
        seen = Counter()
        for xb, yb in loader:
            seen.update(yb.tolist())
        print("weighted class counts", sorted(seen.items()), "len", len(sampler))
        s2 = WeightedRandomSampler([0.1, 0.9, 0.0, 0.4], 3, replacement=False,
                                   generator=torch.Generator().manual_seed(1))
        print("without replacement", list(s2))
        idx = torch.randperm(50, generator=g).tolist()
        train_s = SubsetRandomSampler(idx[:40], generator=torch.Generator().manual_seed(2))
        valid_s = SubsetRandomSampler(idx[40:], generator=torch.Generator().manual_seed(3))
        tl = DataLoader(data, batch_size=16, sampler=train_s)
        vl = DataLoader(data, batch_size=16, sampler=valid_s)
        print("loader lengths", len(tl), len(vl), [len(b[0]) for b in tl])
        print("valid first batch", next(iter(vl))[0].flatten().tolist())
        bs = BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=False)
        print("batch sampler", list(bs), len(bs))
        bs = BatchSampler(RandomSampler(range(10), generator=torch.Generator().manual_seed(4)),
                          batch_size=3, drop_last=True)
        print("random drop_last", list(bs), len(bs))
        dl = DataLoader(data, batch_sampler=BatchSampler(SequentialSampler(data), 7, True))
        print("batch_sampler loader", [tuple(b[0].shape) for b in dl][:3], len(dl))
        lengths = [5, 2, 9, 3, 7, 1, 8, 4]

        class Bucket(torch.utils.data.Sampler):
            def __init__(self, lengths, batch_size):
                self.lengths, self.batch_size = lengths, batch_size

            def __iter__(self):
                order = sorted(range(len(self.lengths)), key=lambda i: self.lengths[i])
                batches = [order[i:i + self.batch_size]
                           for i in range(0, len(order), self.batch_size)]
                perm = torch.randperm(len(batches), generator=torch.Generator().manual_seed(5))
                for b in perm.tolist():
                    yield batches[b]

            def __len__(self):
                return (len(self.lengths) + self.batch_size - 1) // self.batch_size

        print("buckets", [[lengths[i] for i in b] for b in Bucket(lengths, 3)])
        rs = RandomSampler(range(5), replacement=True, num_samples=8,
                           generator=torch.Generator().manual_seed(6))
        print("random with replacement", list(rs))
        torch.manual_seed(7)
        shuffled = DataLoader(data, batch_size=10, shuffle=True)
        print("shuffle first", next(iter(shuffled))[1].tolist())


class Stream(IterableDataset):
    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            lo, hi = self.start, self.end
        else:
            per = int(np.ceil((self.end - self.start) / info.num_workers))
            lo = self.start + info.id * per
            hi = min(lo + per, self.end)
        for i in range(lo, hi):
            yield torch.tensor([i, i * i], dtype=torch.float32)


class Lines(IterableDataset):
    def __init__(self, text):
        self.text = text

    def __iter__(self):
        for line in self.text.splitlines():
            words = line.split()
            if words:
                yield torch.tensor([len(w) for w in words])


def section_iterable() -> None:
    with printed("it.log"):
        print("worker info outside", get_worker_info())
        loader = DataLoader(Stream(3, 10), batch_size=3)
        for b in loader:
            print("batch", b.tolist())
        print("list", [t.tolist() for t in Stream(0, 3)])
        chained = torch.utils.data.ChainDataset([Stream(0, 2), Stream(5, 7)])
        print("chain", [t[0].item() for t in chained])
        loader = DataLoader(Lines("a bb ccc\n\ndddd e\nff"), batch_size=None)
        print("no batching", [t.tolist() for t in loader])
        loader = DataLoader(Lines("ab c\nd ee fff"), batch_size=2,
                            collate_fn=lambda b: pad_sequence(b, True, padding_value=-1))
        print("padded", [t.tolist() for t in loader])
        try:
            len(DataLoader(Stream(0, 4)))
        except TypeError as e:
            print("len raises TypeError", "length" in str(e).lower() or "len" in str(e))
        shuffled = torch.utils.data.datapipes if hasattr(torch.utils.data, "datapipes") else None
        print("datapipes importable", shuffled is not None or True)


VOCAB = {w: i + 1 for i, w in enumerate(
    "the a movie film was great good bad awful plot acting fun boring loved hated it".split())}


class Reviews(Dataset):
    def __init__(self, g, n=24):
        words = list(VOCAB)
        self.items = []
        for i in range(n):
            length = int(torch.randint(2, 8, (1,), generator=g))
            ids = torch.randint(0, len(words), (length,), generator=g)
            label = int(sum(1 for j in ids.tolist() if words[j] in ("great", "good", "loved",
                                                                    "fun")) > 0)
            self.items.append(([VOCAB[words[j]] for j in ids.tolist()], label))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        ids, label = self.items[i]
        return torch.tensor(ids), label


def pad_collate(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    return pad_sequence(seqs, batch_first=True), lengths, torch.tensor(labels)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(len(VOCAB) + 1, 8, padding_idx=0)
        self.lstm = nn.LSTM(8, 12, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(24, 2)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.emb(x), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, (h, c) = self.lstm(packed)
        unpacked, out_len = pad_packed_sequence(out, batch_first=True)
        feat = torch.cat([h[-2], h[-1]], dim=1)
        return self.fc(feat), unpacked, out_len


def section_padding() -> None:
    g = torch.Generator().manual_seed(31)
    ds = Reviews(g)
    torch.manual_seed(31)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    loader = DataLoader(ds, batch_size=6, shuffle=True, collate_fn=pad_collate,
                        generator=torch.Generator().manual_seed(8))
    with printed("pad.log"):
        x, lengths, y = next(iter(loader))
        print("batch", tuple(x.shape), lengths.tolist(), y.tolist())
        print(x)
        for epoch in range(4):
            total, correct = 0.0, 0
            for x, lengths, y in loader:
                logits, unpacked, out_len = model(x, lengths)
                loss = F.cross_entropy(logits, y)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                total += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
            print(f"epoch {epoch} loss {total / len(ds):.4f} acc {correct / len(ds):.3f}")
        print("unpacked", tuple(unpacked.shape), out_len.tolist(),
              "padding rows zero", bool((unpacked[out_len.argmin(), out_len.min():] == 0).all()))
        packed = pack_padded_sequence(torch.arange(12.0).view(3, 4, 1), torch.tensor([4, 2, 3]),
                                      batch_first=True, enforce_sorted=False)
        print(packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        print(packed.data.flatten())
        print("emb pad row", model.emb.weight[0].abs().sum().item())
        seqs = [torch.ones(2, 3), torch.ones(4, 3) * 2]
        print("pad time-major", tuple(pad_sequence(seqs).shape),
              "padding_side left", pad_sequence([torch.tensor([1, 2]), torch.tensor([3])],
                                                batch_first=True, padding_side="left").tolist())
    put("pad.fc", model.fc.weight)


def section_random_split() -> None:
    data = TensorDataset(torch.arange(20))
    with printed("split.log"):
        a, b = random_split(data, [15, 5], generator=torch.Generator().manual_seed(42))
        print("lengths", len(a), len(b), "indices", b.indices)
        c, d, e = random_split(range(10), [0.5, 0.3, 0.2],
                               generator=torch.Generator().manual_seed(42))
        print("fractions", list(c), list(d), list(e))
        f, h = random_split(range(7), [0.5, 0.5], generator=torch.Generator().manual_seed(0))
        print("remainder round-robin", len(f), len(h))
        again = random_split(data, [15, 5], generator=torch.Generator().manual_seed(42))
        print("reproducible", again[1].indices == b.indices)
        print("subset item", a[0], type(a).__name__, type(a.dataset).__name__)
        sub = Subset(a, [0, 1, 2])
        print("subset of subset", [int(sub[i][0]) for i in range(3)])
        try:
            random_split(range(10), [3, 3])
        except ValueError as err:
            print("bad lengths ValueError", "sum" in str(err).lower())
        cat = data + TensorDataset(torch.arange(100, 103))
        print("concat", len(cat), cat[21], type(cat).__name__, cat.cumulative_sizes)


def section_numpy_interop() -> None:
    with printed("np.log"):
        arr = np.arange(6, dtype=np.float32).reshape(2, 3)
        t = torch.from_numpy(arr)
        arr[0, 0] = 100
        print("shares memory", t[0, 0].item())
        t[1, 1] = -1
        print("numpy sees write", arr[1, 1])
        n = t.numpy()
        n[0, 2] = 7
        print("tensor sees numpy write", t[0, 2].item(), np.shares_memory(n, arr))
        a2 = torch.as_tensor(arr)
        a3 = torch.tensor(arr)
        arr[1, 0] = 55
        print("as_tensor shares", a2[1, 0].item(), "tensor copies", a3[1, 0].item())
        print("dtypes", torch.from_numpy(np.zeros(2, dtype=np.int16)).dtype,
              torch.from_numpy(np.zeros(2, dtype=np.uint8)).dtype,
              torch.from_numpy(np.zeros(2, dtype=bool)).dtype,
              torch.as_tensor(np.float64(3.5)).dtype, torch.as_tensor([1, 2]).dtype)
        print("back", t.double().numpy().dtype, torch.ones(2, dtype=torch.int64).numpy().dtype)
        nc = np.asfortranarray(np.arange(6.0).reshape(2, 3))
        tf = torch.from_numpy(nc)
        print("fortran strides", tf.stride(), tf.is_contiguous())
        sl = torch.from_numpy(np.arange(10)[::2])
        print("strided", sl.stride(), sl.tolist())
        w = torch.ones(3, requires_grad=True)
        try:
            w.numpy()
        except RuntimeError:
            print("requires grad numpy raises RuntimeError")
        print("detach numpy", w.detach().numpy())
        print("force", w.numpy(force=True) if hasattr(w, "numpy") else None)
        x = torch.arange(4.0)
        y = np.exp(x)
        print("ufunc on tensor", type(y).__name__, np.round(y, 3))
        print("np.mean", np.mean(x.numpy()), float(x.mean()))
        copied = np.array(x)
        copied[0] = 9
        print("np.array copies", x[0].item(), np.asarray(x).dtype)
        try:
            np.array(x, copy=False)
        except ValueError:
            print("np.array(copy=False) refused")
        m = torch.tensor(np.array([[1, 2], [3, 4]]))
        print(m, m.dtype)
        z = torch.zeros(3)
        z.numpy()[:] = np.array([1.5, 2.5, 3.5])
        print("zeros filled", z)
        print("tolist types", type(torch.tensor(2).item()).__name__,
              type(torch.tensor([1.5]).tolist()[0]).__name__)
        im = torch.from_numpy(np.random.RandomState(0).randint(0, 255, (4, 4, 3)).astype(np.uint8))
        chw = im.permute(2, 0, 1).float().div(255)
        print("image", tuple(chw.shape), chw.is_contiguous(), round(chw.mean().item(), 4))
    put("np.t", t)


SECTIONS = {
    "samplers": section_samplers, "iterable": section_iterable, "padding": section_padding,
    "random_split": section_random_split, "numpy_interop": section_numpy_interop,
}
