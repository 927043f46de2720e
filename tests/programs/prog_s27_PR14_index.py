"""Indexing and scattering snippets (PR14, session 27), written afresh in the style of the
answers people copy from Q&A threads ("how do I pick one column per row", "how do I count
per group"): gather / take_along_dim, advanced indexing with tensors, slices, None and
Ellipsis mixed, boolean-mask assignment with broadcasting, scatter_ / scatter_reduce /
index_add_ / index_put_ with duplicate indices, one-hot and label smoothing by hand, pairwise
distances and top-k neighbours, padding masks from lengths, unique / bincount / histograms,
stable sorts with ties. Each prints what such answers print. Tiny sizes, seeded; run by
prog_s27_PR14_all.py.
"""

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed


def section_gather_rows() -> None:
    torch.manual_seed(1)
    scores = torch.randn(4, 5)
    labels = torch.tensor([3, 0, 4, 1])
    with printed("gat.log"):
        print(scores.gather(1, labels.unsqueeze(1)).squeeze(1))
        print(scores.gather(1, labels.view(-1, 1)))
        print(scores[torch.arange(4), labels])
        best = scores.argmax(dim=1, keepdim=True)
        print(best, torch.take_along_dim(scores, best, dim=1))
        print(torch.take_along_dim(scores, scores.argsort(dim=1), dim=1))
        print(torch.take_along_dim(scores, torch.tensor([0, 7, 19])))
        # gather along dim 0: one row per column
        rows = torch.tensor([[0, 1, 2, 3, 0], [3, 2, 1, 0, 1]])
        print(scores.gather(0, rows))
        # batched: pick time steps per sequence (B, T, H) with index (B,)
        seq = torch.arange(24.0).view(2, 3, 4)
        last = torch.tensor([2, 0])
        print(seq.gather(1, last.view(-1, 1, 1).expand(-1, 1, seq.size(2))).squeeze(1))
        print(seq[torch.arange(2), last])
        try:
            scores.gather(1, labels)
        except RuntimeError as e:
            print("RuntimeError", isinstance(e, RuntimeError))


def section_advanced_index() -> None:
    x = torch.arange(60).view(3, 4, 5)
    with printed("adv.log"):
        print(x[[0, 2]].shape, x[:, [1, 3]].shape, x[..., [0, 4]].shape)
        print(x[[0, 2], :, [1, 3]].shape, x[[0, 2], :, [1, 3]])
        print(x[:, [0, 1], [2, 3]].shape, x[:, [0, 1], [2, 3]])
        print(x[None, 1, ..., None].shape, x[..., None, 2].shape, x[1, None, :, 2])
        idx = torch.tensor([[0, 1], [2, 2]])
        print(x[idx].shape, x[idx, 0, 0], x[0, idx])
        print(x[1:, idx[0], :2].shape, x[[[0], [2]], [1, 3]].shape)
        print(x[torch.tensor(1)].shape, x[1, torch.tensor([True, False, True, False])].shape)
        mask2 = x[0] % 3 == 0
        print(mask2.sum().item(), x[0][mask2], x[:, mask2].shape)
        print(x[x % 7 == 0])
        print(x[0, -1, ::2], x[-1, ::-1 if False else 1, 0])
        print(x.flatten()[torch.tensor([59, 0, 30])])
        print(x[1][[True, False, True, True]].shape)
        rows, cols = torch.tril_indices(3, 3)
        print(rows, cols, torch.ones(3, 3)[rows, cols].sum())
        i, j = torch.meshgrid(torch.arange(2), torch.arange(3), indexing="ij")
        print(x[0][i, j + 1])
        try:
            x[3]
        except IndexError:
            print("IndexError")
        try:
            x[[0, 1], [0, 1, 2]]
        except IndexError as e:
            print("IndexError", "shape mismatch" in str(e))


def section_mask_assign() -> None:
    torch.manual_seed(3)
    with printed("mas.log"):
        x = torch.randn(3, 4)
        x[x < 0] = 0
        print(x)
        y = torch.arange(12.0).view(3, 4)
        y[y > 5] = -1
        print(y)
        z = torch.zeros(3, 4)
        rows = torch.tensor([True, False, True])
        z[rows] = torch.tensor([1.0, 2.0, 3.0, 4.0])
        print(z)
        z[:, torch.tensor([False, True, True, False])] = 9
        print(z)
        m = torch.arange(12).view(3, 4)
        m[m % 2 == 0] = torch.arange(6) * 10
        print(m)
        w = torch.ones(2, 3)
        w.masked_fill_(torch.tensor([True, False, True]), -5)
        print(w)
        print(torch.ones(2, 3).masked_fill(torch.tensor([[True], [False]]), float("-inf")))
        print(torch.where(y < 0, torch.zeros_like(y), y))
        print(torch.where(y < 0, 0.5, y), torch.where(m > 30, 1, 0))
        v = torch.arange(6)
        v[[1, 3]] = 7
        v[torch.tensor([0, 0])] = torch.tensor([4, 4])
        print(v)
        u = torch.zeros(2, 3, dtype=torch.long)
        u[0] = 3.7
        print(u)
        try:
            t = torch.zeros(3)
            t[torch.tensor([True, False, True])] = torch.tensor([1.0, 2.0, 3.0])
        except RuntimeError as e:
            print("RuntimeError", "shape mismatch" in str(e))


def section_scatter_dups() -> None:
    with printed("sca.log"):
        idx = torch.tensor([0, 1, 0, 3, 1, 0])
        src = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        print(torch.zeros(5).scatter_add_(0, idx, src))
        print(torch.zeros(5).index_add_(0, idx, src))
        print(torch.zeros(5).index_add(0, idx, src, alpha=2))
        print(torch.zeros(5).scatter_(0, idx, src, reduce="add"))
        print(torch.ones(5).scatter_(0, idx, src, reduce="multiply"))
        for reduce in ("sum", "prod", "mean", "amax", "amin"):
            print(reduce, torch.zeros(5).scatter_reduce(0, idx, src, reduce=reduce),
                  torch.zeros(5).scatter_reduce(0, idx, src, reduce=reduce, include_self=False))
        t = torch.zeros(3, 3)
        t.index_put_((torch.tensor([0, 0, 2]), torch.tensor([1, 1, 0])), torch.tensor(1.0),
                     accumulate=True)
        print(t)
        t.index_put_((torch.tensor([1]),), torch.tensor([5.0, 6.0, 7.0]))
        print(t)
        one = torch.zeros(2, 4).scatter_(1, torch.tensor([[1], [3]]), 1.0)
        print(one)
        print(torch.zeros(2, 4, dtype=torch.long).scatter_(1, torch.tensor([[0, 2], [1, 1]]),
                                                             torch.tensor([[5, 6], [7, 7]])))
        ints = torch.zeros(4, dtype=torch.long).scatter_add_(0, torch.tensor([1, 1, 2]),
                                                              torch.tensor([1, 1, 1]))
        print(ints, ints.dtype)
        group = torch.tensor([0, 1, 1, 2, 0])
        vals = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]])
        sums = torch.zeros(3, 2).index_add_(0, group, vals)
        counts = torch.bincount(group).unsqueeze(1)
        print(sums / counts)
        print(torch.zeros(3, 2).scatter_reduce(0, group.unsqueeze(1).expand(-1, 2), vals,
                                               reduce="amax", include_self=False))
        # index_copy_ / index_fill_
        print(torch.zeros(4, 2).index_copy_(0, torch.tensor([3, 1]), torch.ones(2, 2)))
        print(torch.arange(6.0).view(2, 3).index_fill_(1, torch.tensor([0, 2]), -1))


def section_one_hot() -> None:
    torch.manual_seed(5)
    labels = torch.tensor([2, 0, 1, 2])
    with printed("hot.log"):
        print(F.one_hot(labels), F.one_hot(labels, num_classes=5).dtype)
        print(F.one_hot(torch.tensor([[0, 1], [1, 0]]), 2).shape)
        hand = torch.zeros(len(labels), 3).scatter_(1, labels.unsqueeze(1), 1)
        print(hand, torch.eye(3)[labels])
        eps = 0.1
        smooth = hand * (1 - eps) + eps / 3
        print(smooth)
        logits = torch.randn(4, 3)
        manual = -(smooth * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
        builtin = F.cross_entropy(logits, labels, label_smoothing=eps)
        print(f"{manual.item():.5f} {builtin.item():.5f}",
              torch.allclose(manual, builtin))
        print(F.cross_entropy(logits, smooth).item() == manual.item())
        back = hand.argmax(dim=1)
        print(back, torch.equal(back, labels))
        print(F.one_hot(labels).float().sum(0), F.one_hot(labels).T @ F.one_hot(labels))
        try:
            F.one_hot(torch.tensor([0.0, 1.0]))
        except RuntimeError as e:
            print("RuntimeError", str(e)[:50])
        try:
            F.one_hot(torch.tensor([3]), 2)
        except RuntimeError as e:
            print("RuntimeError", str(e)[:30])


def section_pairwise_knn() -> None:
    torch.manual_seed(6)
    a = torch.randn(5, 3)
    b = torch.randn(4, 3)
    with printed("knn.log"):
        d = torch.cdist(a, b)
        hand = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1).sqrt()
        print(d.round(decimals=3), torch.allclose(d, hand, atol=1e-5))
        sq = (a ** 2).sum(1, keepdim=True) + (b ** 2).sum(1) - 2 * a @ b.T
        print(torch.allclose(sq.clamp_min(0).sqrt(), d, atol=1e-4))
        self_d = torch.cdist(a, a)
        self_d.fill_diagonal_(float("inf"))
        vals, nn_idx = self_d.topk(2, dim=1, largest=False)
        print(nn_idx, vals.round(decimals=3))
        print(self_d.argmin(dim=1), self_d.min(dim=1).indices)
        cos = F.cosine_similarity(a[:, None], b[None], dim=-1)
        print(cos.round(decimals=4), cos.shape)
        na = F.normalize(a, dim=1)
        print(torch.allclose(na @ F.normalize(b, dim=1).T, cos, atol=1e-6))
        print(torch.cdist(a, b, p=1).round(decimals=3).argmax(dim=0))
        print(torch.pdist(a).shape, torch.pdist(a).round(decimals=3)[:4])
        print(F.pairwise_distance(a[:4], b).round(decimals=3))
        top = d.topk(k=2, dim=0)
        print(type(top).__name__, top.indices, tuple(t.shape for t in top))


def section_pad_mask() -> None:
    torch.manual_seed(7)
    lengths = torch.tensor([3, 1, 4])
    with printed("pmask.log"):
        mask = torch.arange(lengths.max())[None, :] < lengths[:, None]
        print(mask, mask.dtype)
        print(torch.arange(4).expand(3, 4) < lengths.unsqueeze(1))
        x = torch.randn(3, 4, 2)
        x = x * mask.unsqueeze(-1)
        mean = x.sum(1) / lengths.unsqueeze(1)
        print(mean.round(decimals=4))
        print((x.sum(1) / mask.sum(1, keepdim=True)).round(decimals=4))
        scores = torch.randn(3, 4).masked_fill(~mask, float("-inf"))
        att = scores.softmax(dim=-1)
        print(att.round(decimals=4), att.sum(-1))
        seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6, 7, 8])]
        padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=0)
        print(padded, (padded != 0).sum(1))
        print(torch.nn.utils.rnn.pad_sequence(seqs).shape)
        rev = torch.stack([torch.cat([s.flip(0), s.new_zeros(4 - len(s))]) for s in seqs])
        print(rev)
        idx = (lengths - 1).clamp(min=0)
        print(padded[torch.arange(3), idx])
        causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
        print(causal, torch.tril(torch.ones(3, 3)))
        key_pad = ~mask
        print(key_pad[:, None, None, :].shape, (causal[None] | key_pad[:, None]).sum())


def section_unique_counts() -> None:
    with printed("uniq.log"):
        t = torch.tensor([3, 1, 2, 3, 3, 1, 5])
        print(torch.unique(t))
        u, inv = torch.unique(t, return_inverse=True)
        print(u, inv, torch.equal(u[inv], t))
        u, cnt = t.unique(return_counts=True)
        print(u, cnt, u[cnt.argmax()])
        u, inv, cnt = torch.unique(t, sorted=True, return_inverse=True, return_counts=True)
        print(u, inv, cnt)
        rows = torch.tensor([[1, 2], [3, 4], [1, 2], [0, 9]])
        print(torch.unique(rows, dim=0), torch.unique(rows, dim=0, return_counts=True)[1])
        print(torch.unique(rows, dim=1, return_inverse=True))
        print(torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1, 1])))
        print(torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1, 1]), return_counts=True,
                                       return_inverse=True))
        f = torch.tensor([0.5, float("nan"), 0.5, -0.0, 0.0])
        print(torch.unique(f).shape, torch.unique(torch.tensor([True, False, True])))
        words = ["b", "a", "b", "c"]
        vocab = {w: i for i, w in enumerate(sorted(set(words)))}
        ids = torch.tensor([vocab[w] for w in words])
        print(ids, torch.bincount(ids))
        print(torch.unique(torch.tensor([[2.0, 1.0], [1.0, 2.0]])), torch.unique(torch.tensor([])))


def section_bincount_hist() -> None:
    torch.manual_seed(9)
    with printed("binc.log"):
        x = torch.tensor([0, 1, 1, 3, 3, 3])
        print(torch.bincount(x), torch.bincount(x, minlength=6))
        w = torch.tensor([0.5, 1.0, 1.0, 0.25, 0.25, 0.25])
        print(torch.bincount(x, weights=w), torch.bincount(x, weights=w.double()).dtype)
        print(torch.bincount(torch.tensor([], dtype=torch.long)), x.bincount().argmax())
        v = torch.tensor([0.1, 0.4, 0.4, 0.9, 1.0, -0.2, 2.0])
        print(torch.histc(v, bins=4, min=0, max=1))
        hist = torch.histogram(v, bins=4, range=(0.0, 1.0))
        print(hist.hist, hist.bin_edges)
        print(torch.histogram(v, bins=torch.tensor([0.0, 0.5, 2.0])))
        print(torch.histogram(v, bins=3, weight=torch.ones(7) * 2, density=False).hist)
        print(torch.histogram(v, bins=2, density=True).hist)
        edges = torch.tensor([0.0, 0.25, 0.5, 1.0])
        print(torch.bucketize(v, edges), torch.bucketize(v, edges, right=True))
        print(torch.searchsorted(edges, v), torch.searchsorted(edges, torch.tensor([0.5]),
                                                               side="right"))
        y = torch.tensor([0, 1, 2, 2, 1, 0])
        p = torch.tensor([0, 2, 2, 2, 1, 1])
        cm = torch.bincount(y * 3 + p, minlength=9).view(3, 3)
        print(cm, cm.diag().sum().item() / cm.sum().item())
        print(torch.histc(torch.randn(100), bins=5))


def section_sort_ties() -> None:
    with printed("sort.log"):
        t = torch.tensor([3, 1, 2, 1, 3, 0, 1])
        print(torch.sort(t, stable=True))
        print(t.sort(descending=True, stable=True).indices)
        print(torch.argsort(t, stable=True), torch.argsort(t, descending=True, stable=True))
        f = torch.tensor([[0.5, 0.1, 0.5], [0.2, 0.2, 0.0]])
        print(f.sort(dim=1, stable=True), f.sort(dim=0, stable=True).indices)
        print(torch.sort(torch.tensor([2.0, float("nan"), -1.0, float("inf")])))
        print(torch.sort(torch.tensor([2.0, float("nan"), -1.0]), descending=True).values)
        print(torch.msort(f), torch.kthvalue(torch.tensor([4.0, 1.0, 3.0, 2.0]), 2))
        print(torch.topk(torch.tensor([1.0, 5.0, 3.0, 4.0]), 2))
        print(torch.topk(torch.tensor([1.0, 5.0, 3.0, 4.0]), 3, largest=False, sorted=True))
        print(torch.sort(torch.tensor([True, False, True])).indices)
        names = ["c", "a", "b"]
        order = torch.tensor([2.0, 0.5, 1.0]).argsort()
        print([names[i] for i in order])
        rank = torch.empty_like(order)
        rank[order] = torch.arange(len(order))
        print(rank, t.argsort(stable=True).argsort(stable=True))
        print(torch.max(f, dim=1), torch.median(torch.tensor([1.0, 3.0, 2.0, 4.0])))
        print(f.max(), f.argmax(), torch.mode(torch.tensor([1, 2, 2, 3, 3])))


SECTIONS = {
    "gather_rows": section_gather_rows, "advanced_index": section_advanced_index,
    "mask_assign": section_mask_assign, "scatter_dups": section_scatter_dups,
    "one_hot": section_one_hot, "pairwise_knn": section_pairwise_knn, "pad_mask": section_pad_mask,
    "unique_counts": section_unique_counts, "bincount_hist": section_bincount_hist,
    "sort_ties": section_sort_ties,
}
