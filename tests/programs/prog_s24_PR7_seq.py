"""Graph, sequence and tabular training scripts, afresh (PR7, session 24): a GNN whose messages
are gathered by edge index and summed by scatter_add / index_add_ (mean and max aggregation
too), beside a GCN over a sparse normalized adjacency (torch.sparse.mm), with train / val masks
and early stopping on validation accuracy; a TCN (causal dilated Conv1d with chomping,
weight_norm, residuals) forecasting a noisy seasonal series from sliding windows; an LSTM
encoder-decoder forecaster trained with scheduled teacher forcing and rolled out
autoregressively; a tabular binary classifier with an embedding per categorical column,
BCEWithLogits with pos_weight and a precision-recall / threshold sweep; a text classifier over
variable-length sequences (a length-bucketing batch sampler, pad_sequence in collate_fn,
pack_padded_sequence). Tiny sizes; run by prog_s24_PR7_all.py.
"""

import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset, Sampler


def _graph(g):
    """Two communities of 10 nodes, dense inside, a few edges across; features noisy labels."""
    n = 20
    labels = (torch.arange(n) >= 10).long()
    probs = torch.where(labels[:, None] == labels[None, :], 0.4, 0.05)
    upper = torch.triu(torch.rand(n, n, generator=g) < probs, diagonal=1)
    adj = upper | upper.T
    src, dst = adj.nonzero(as_tuple=True)
    feats = F.one_hot(labels, 2).float() * 0.5 + torch.randn(n, 4, 2, generator=g).sum(1) * 0.5
    return feats, labels, src, dst


class MessagePassing(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.msg = nn.Linear(2 * i, o)
        self.upd = nn.Linear(i + 3 * o, o)

    def forward(self, x, src, dst):
        n = x.size(0)
        m = F.relu(self.msg(torch.cat([x[src], x[dst]], dim=1)))
        summed = torch.zeros(n, m.size(1)).scatter_add(0, dst[:, None].expand_as(m), m)
        deg = torch.zeros(n).index_add_(0, dst, torch.ones_like(dst, dtype=torch.float))
        mean = summed / deg.clamp(min=1)[:, None]
        mx = torch.zeros(n, m.size(1)).scatter_reduce(0, dst[:, None].expand_as(m), m,
                                                      reduce="amax", include_self=False)
        return self.upd(torch.cat([x, summed, mean, mx], dim=1))


def section_gnn() -> None:
    g = torch.Generator().manual_seed(40)
    x, y, src, dst = _graph(g)
    n = len(y)
    perm = torch.randperm(n, generator=g)
    train, val = perm[:8], perm[8:14]
    put("gnn.edges", src.numel())
    # message passing
    l1, l2 = MessagePassing(2, 8), MessagePassing(8, 2)
    opt = torch.optim.Adam([*l1.parameters(), *l2.parameters()], lr=0.01, weight_decay=5e-4)
    losses, accs = [], []
    for _epoch in range(15):
        out = l2(F.relu(l1(x, src, dst)), src, dst)
        loss = F.cross_entropy(out[train], y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        accs.append((out[val].argmax(1) == y[val]).float().mean().item())
    put("gnn.mp_losses", torch.tensor(losses))
    put("gnn.mp_accs", torch.tensor(accs))
    put("gnn.mp_out", out)
    # GCN over a sparse normalized adjacency with self loops
    loops = torch.arange(n)
    rows, cols = torch.cat([src, loops]), torch.cat([dst, loops])
    deg = torch.bincount(rows, minlength=n).float()
    values = deg[rows].rsqrt() * deg[cols].rsqrt()
    a_hat = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n, n)).coalesce()
    w1, w2 = nn.Linear(2, 8), nn.Linear(8, 2)
    opt = torch.optim.Adam([*w1.parameters(), *w2.parameters()], lr=0.02)
    best, best_epoch, bad, losses = -1.0, -1, 0, []
    for epoch in range(40):
        w1.train()
        h = F.dropout(F.relu(torch.sparse.mm(a_hat, w1(x))), 0.2, training=True)
        out = torch.sparse.mm(a_hat, w2(h))
        loss = F.cross_entropy(out[train], y[train])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        with torch.no_grad():
            out = torch.sparse.mm(a_hat, w2(F.relu(torch.sparse.mm(a_hat, w1(x)))))
            acc = (out[val].argmax(1) == y[val]).float().mean().item()
        if acc > best:
            best, best_epoch, bad = acc, epoch, 0
        else:
            bad += 1
            if bad >= 5:
                break
    put("gnn.gcn_losses", torch.tensor(losses))
    put("gnn.gcn_stop", [best, best_epoch, epoch])
    put("gnn.a_hat", a_hat.to_dense())
    put("gnn.w1_grad", w1.weight.grad)


class Chomp(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x[:, :, :-self.n]


class TemporalBlock(nn.Module):
    def __init__(self, i, o, dilation, k=3):
        super().__init__()
        pad = (k - 1) * dilation
        wn = nn.utils.weight_norm
        self.net = nn.Sequential(wn(nn.Conv1d(i, o, k, padding=pad, dilation=dilation)),
                                 Chomp(pad), nn.ReLU(),
                                 wn(nn.Conv1d(o, o, k, padding=pad, dilation=dilation)),
                                 Chomp(pad), nn.ReLU())
        self.skip = nn.Conv1d(i, o, 1) if i != o else nn.Identity()

    def forward(self, x):
        return F.relu(self.net(x) + self.skip(x))


def _series(g, n=120):
    t = torch.arange(n, dtype=torch.float)
    return torch.sin(2 * torch.pi * t / 12) + 0.01 * t + 0.1 * torch.randn(n, generator=g)


def section_tcn() -> None:
    g = torch.Generator().manual_seed(41)
    s = _series(g)
    window = 16
    xs = s.unfold(0, window, 1)[:-1]  # (windows, 16)
    ys = s[window:]
    mean, std = xs[:80].mean(), xs[:80].std()
    xs, ys = (xs - mean) / std, (ys - mean) / std
    model = nn.Sequential(TemporalBlock(1, 8, 1), TemporalBlock(8, 8, 2), TemporalBlock(8, 8, 4))
    head = nn.Linear(8, 1)
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=0.005)
    losses = []
    for _epoch in range(3):
        order = torch.randperm(80, generator=g)
        for idx in order.split(20):
            pred = head(model(xs[idx].unsqueeze(1))[:, :, -1]).squeeze(1)
            loss = F.mse_loss(pred, ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    put("tcn.losses", torch.tensor(losses))
    with torch.no_grad():
        test = head(model(xs[80:].unsqueeze(1))[:, :, -1]).squeeze(1)
    put("tcn.test_mse", F.mse_loss(test, ys[80:]))
    put("tcn.test_pred", test[:8] * std + mean)
    put("tcn.weight_g", model[0].net[0].weight_g)
    put("tcn.keys", sorted(model[0].state_dict()))
    # causality: changing the last input step leaves earlier outputs alone
    probe = xs[:1].unsqueeze(1).clone()
    a = model(probe)
    probe[..., -1] += 1.0
    put("tcn.causal", torch.equal(a[..., :-1], model(probe)[..., :-1]))


class Seq2SeqForecaster(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(1, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, history, horizon, targets=None, teacher_p=0.0, g=None):
        _, (h, c) = self.encoder(history.unsqueeze(-1))
        h, c = h[0], c[0]
        step_in = history[:, -1:]
        preds = []
        for t in range(horizon):
            h, c = self.decoder(step_in, (h, c))
            pred = self.out(h)
            preds.append(pred)
            use_truth = targets is not None and torch.rand((), generator=g).item() < teacher_p
            step_in = targets[:, t:t + 1] if use_truth else pred
        return torch.cat(preds, dim=1)


def section_seq2seq_forecast() -> None:
    g = torch.Generator().manual_seed(42)
    s = _series(g, 100)
    s = (s - s.mean()) / s.std()
    windows = s.unfold(0, 20, 2)  # 24 in, 4 out... (41, 20)
    hist, fut = windows[:, :16], windows[:, 16:]
    model = Seq2SeqForecaster()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses, ratios = [], []
    for epoch in range(4):
        teacher_p = max(0.0, 1.0 - epoch / 3)  # scheduled sampling
        ratios.append(teacher_p)
        for idx in torch.randperm(32, generator=g).split(16):
            pred = model(hist[idx], 4, fut[idx], teacher_p, g)
            loss = F.l1_loss(pred, fut[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    put("s2s.losses", torch.tensor(losses))
    put("s2s.ratios", torch.tensor(ratios))
    model.eval()
    with torch.no_grad():
        rollout = model(hist[32:], 4)
    put("s2s.rollout", rollout)
    put("s2s.test_mae", F.l1_loss(rollout, fut[32:]))
    put_state("s2s.state", model)


def section_tabular_binary() -> None:
    g = torch.Generator().manual_seed(43)
    n = 96
    cats = torch.stack([torch.randint(0, k, (n,), generator=g) for k in (5, 3, 7)], dim=1)
    nums = torch.randn(n, 3, generator=g)
    logit = nums[:, 0] - 0.5 * nums[:, 1] + (cats[:, 0] == 2).float() * 1.5 - 2.0
    y = (torch.rand(n, generator=g) < logit.sigmoid()).float()
    embs = nn.ModuleList(nn.Embedding(k, min(4, (k + 1) // 2)) for k in (5, 3, 7))
    width = sum(e.embedding_dim for e in embs) + 3
    mlp = nn.Sequential(nn.BatchNorm1d(width), nn.Linear(width, 16), nn.SiLU(),
                        nn.Linear(16, 1))
    pos_weight = (1 - y[:64]).sum() / y[:64].sum()
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    opt = torch.optim.Adagrad([*embs.parameters(), *mlp.parameters()], lr=0.05)

    def forward(c, x):
        return mlp(torch.cat([e(c[:, i]) for i, e in enumerate(embs)] + [x], 1)).squeeze(1)

    losses = []
    for _epoch in range(5):
        mlp.train()
        for idx in torch.randperm(64, generator=g).split(16):
            loss = loss_fn(forward(cats[idx], nums[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    mlp.eval()
    with torch.inference_mode():
        p = forward(cats[64:], nums[64:]).sigmoid()
    yt = y[64:]
    sweep = []
    for threshold in torch.linspace(0.1, 0.9, 5):
        pred = p >= threshold
        tp = (pred & (yt == 1)).sum().float()
        sweep.append([tp / pred.sum().clamp(min=1), tp / (yt == 1).sum().clamp(min=1)])
    order = p.argsort(descending=True)
    hits = yt[order].cumsum(0)
    ap = (hits / torch.arange(1, len(p) + 1) * yt[order]).sum() / yt.sum().clamp(min=1)
    put("tab.pos_weight", pos_weight)
    put("tab.losses", torch.tensor(losses))
    put("tab.probs", p)
    put("tab.sweep", torch.tensor(sweep))
    put("tab.avg_precision", ap)
    put("tab.running_var", mlp[0].running_var)
    put("tab.emb0", embs[0].weight)


class Reviews(Dataset):
    def __init__(self, g):
        self.items = []
        for _ in range(40):
            length = int(torch.randint(3, 12, (), generator=g))
            tokens = torch.randint(1, 20, (length,), generator=g)
            label = int((tokens < 6).sum() > (tokens > 14).sum())
            self.items.append((tokens, label))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class BucketSampler(Sampler):
    """Batches of similar lengths, batch order shuffled by Python's random (seeded)."""

    def __init__(self, lengths, batch_size, seed):
        self.lengths, self.batch_size, self.rng = lengths, batch_size, random.Random(seed)

    def __iter__(self):
        order = sorted(range(len(self.lengths)), key=lambda i: (self.lengths[i], i))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        self.rng.shuffle(batches)
        return iter(batches)

    def __len__(self):
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size


def _pad_collate(batch):
    tokens, labels = zip(*batch)
    lengths = torch.tensor([len(t) for t in tokens])
    return pad_sequence(tokens, batch_first=True, padding_value=0), lengths, torch.tensor(labels)


def section_packed_text() -> None:
    g = torch.Generator().manual_seed(44)
    data = Reviews(g)
    loader = DataLoader(data, batch_sampler=BucketSampler([len(t) for t, _ in data.items], 8, 3),
                        collate_fn=_pad_collate)
    emb = nn.Embedding(20, 8, padding_idx=0)
    lstm = nn.LSTM(8, 12, batch_first=True, bidirectional=True)
    head = nn.Linear(24, 2)
    opt = torch.optim.Adam([*emb.parameters(), *lstm.parameters(), *head.parameters()], lr=0.02)
    losses, shapes = [], []
    for _epoch in range(3):
        for tokens, lengths, labels in loader:
            shapes.append(list(tokens.shape))
            packed = pack_padded_sequence(emb(tokens), lengths, batch_first=True,
                                          enforce_sorted=False)
            out, (h, _) = lstm(packed)
            padded, out_lengths = pad_packed_sequence(out, batch_first=True)
            pooled = padded.sum(1) / out_lengths[:, None]
            logits = head(torch.cat([h[0], h[1]], 1)) + 0.1 * head(pooled)
            loss = F.cross_entropy(logits, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    put("text.shapes", torch.tensor(shapes))
    put("text.losses", torch.tensor(losses))
    put("text.pad_row", emb.weight[0])
    put("text.pad_grad", emb.weight.grad[0])
    put_state("text.lstm", lstm)


SECTIONS = {"gnn": section_gnn, "tcn": section_tcn, "seq2seq_forecast": section_seq2seq_forecast,
            "tabular_binary": section_tabular_binary, "packed_text": section_packed_text}
