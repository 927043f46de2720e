"""Five more classic programs, afresh (PR4, session 21): knowledge-graph embeddings (TransE with
max-norm entity embeddings, RotatE in complex space, DistMult) trained with corrupted triples
and a margin ranking loss, ranked by filtered mean reciprocal rank; entropic optimal transport
by log-domain Sinkhorn iterations, differentiated through; a restricted Boltzmann machine
trained by contrastive divergence with Gibbs sampling; a self-organizing map; and SpecAugment
with MFCCs by a hand-built DCT matrix and delta features by conv1d. Tiny sizes; run by
prog_s21_PR4_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_kge() -> None:
    n_entities, n_relations, dim = 20, 3, 8
    heads = torch.randint(0, n_entities, (40,))
    relations = torch.randint(0, n_relations, (40,))
    tails = (heads + 3 * relations + 1) % n_entities
    triples = torch.stack([heads, relations, tails], 1)
    known = {tuple(t) for t in triples.tolist()}
    models = {}
    ent = nn.Embedding(n_entities, dim, max_norm=1.0)
    rel = nn.Embedding(n_relations, dim)
    nn.init.uniform_(rel.weight, -6 / math.sqrt(dim), 6 / math.sqrt(dim))
    models["transe"] = (nn.ModuleList([ent, rel]),
                        lambda h, r, t: -(ent(h) + rel(r) - ent(t)).norm(p=1, dim=-1))
    ent_c = nn.Embedding(n_entities, 2 * dim)
    phase = nn.Embedding(n_relations, dim)
    nn.init.uniform_(phase.weight, -math.pi, math.pi)

    def rotate(h, r, t):
        hc = torch.view_as_complex(ent_c(h).view(*h.shape, dim, 2))
        tc = torch.view_as_complex(ent_c(t).view(*t.shape, dim, 2))
        rc = torch.polar(torch.ones_like(phase(r)), phase(r))
        return -(hc * rc - tc).abs().sum(-1)

    models["rotate"] = (nn.ModuleList([ent_c, phase]), rotate)
    ent_d = nn.Embedding(n_entities, dim)
    rel_d = nn.Embedding(n_relations, dim)
    models["distmult"] = (nn.ModuleList([ent_d, rel_d]),
                          lambda h, r, t: (ent_d(h) * rel_d(r) * ent_d(t)).sum(-1))
    for name, (params, score) in models.items():
        optimizer = torch.optim.Adam(params.parameters(), lr=0.02)
        ranking = nn.MarginRankingLoss(margin=1.0)
        losses = []
        for _ in range(8):
            corrupt_tail = torch.rand(40) < 0.5
            random_entities = torch.randint(0, n_entities, (40,))
            neg_h = torch.where(corrupt_tail, heads, random_entities)
            neg_t = torch.where(corrupt_tail, random_entities, tails)
            positive = score(heads, relations, tails)
            negative = score(neg_h, relations, neg_t)
            loss = ranking(positive, negative, torch.ones(40))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"kge.{name}.losses", losses)
        with torch.no_grad():
            candidates = torch.arange(n_entities)
            all_scores = score(heads[:, None].expand(-1, n_entities),
                               relations[:, None].expand(-1, n_entities),
                               candidates[None].expand(40, -1))
            # filtered ranking: other known true tails do not count against the answer
            filtered = all_scores.clone()
            for i, (h, r, t) in enumerate(triples.tolist()):
                for other in range(n_entities):
                    if other != t and (h, r, other) in known:
                        filtered[i, other] = float("-inf")
            ranks = (filtered > filtered.gather(1, tails[:, None])).sum(1) + 1
        put(f"kge.{name}.mrr", (1.0 / ranks.float()).mean())
        put(f"kge.{name}.hits3", (ranks <= 3).float().mean())
        put_state(f"kge.{name}.state", params)
    put("kge.transe_norms", ent.weight.norm(dim=1))


def sinkhorn(cost, a, b, epsilon, iterations):
    log_a, log_b = a.log(), b.log()
    f = torch.zeros_like(a)
    g = torch.zeros_like(b)
    for _ in range(iterations):
        f = -epsilon * torch.logsumexp((g[None, :] - cost) / epsilon + log_b[None, :], 1)
        g = -epsilon * torch.logsumexp((f[:, None] - cost) / epsilon + log_a[:, None], 0)
    plan = torch.exp((f[:, None] + g[None, :] - cost) / epsilon + log_a[:, None]
                     + log_b[None, :])
    return plan, (plan * cost).sum()


def section_sinkhorn() -> None:
    x = torch.randn(12, 2, dtype=torch.float64)
    y = (torch.randn(9, 2, dtype=torch.float64) + 2).requires_grad_()
    a = torch.full((12,), 1 / 12, dtype=torch.float64)
    b = torch.softmax(torch.randn(9, dtype=torch.float64), 0)
    cost = torch.cdist(x, y) ** 2
    plan, distance = sinkhorn(cost, a, b, 0.1, 50)
    put("ot.plan", plan)
    put("ot.distance", distance)
    put("ot.marginals", [plan.sum(1), plan.sum(0)])
    put("ot.b", b)
    distance.backward()
    put("ot.grad_y", y.grad)
    # gradient flow: move the target cloud toward the source
    points = y.detach().clone().requires_grad_()
    optimizer = torch.optim.SGD([points], lr=0.5)
    trace = []
    for _ in range(6):
        optimizer.zero_grad()
        _, d = sinkhorn(torch.cdist(x, points) ** 2, a, b, 0.1, 30)
        d.backward()
        optimizer.step()
        trace.append(d.item())
    put("ot.flow", trace)
    put("ot.points", points)


class RBM(nn.Module):
    def __init__(self, visible=12, hidden=6):
        super().__init__()
        self.w = nn.Parameter(torch.randn(hidden, visible) * 0.1)
        self.b_v = nn.Parameter(torch.zeros(visible))
        self.b_h = nn.Parameter(torch.zeros(hidden))

    def sample_h(self, v):
        p = torch.sigmoid(F.linear(v, self.w, self.b_h))
        return p, torch.bernoulli(p)

    def sample_v(self, h):
        p = torch.sigmoid(F.linear(h, self.w.t(), self.b_v))
        return p, torch.bernoulli(p)

    def free_energy(self, v):
        return -(v @ self.b_v) - F.softplus(F.linear(v, self.w, self.b_h)).sum(1)


def section_rbm() -> None:
    patterns = torch.tensor([[1.0] * 6 + [0.0] * 6, [0.0] * 6 + [1.0] * 6,
                             [1.0, 0.0] * 6])
    data = patterns[torch.randint(0, 3, (48,))]
    flips = torch.rand_like(data) < 0.05
    data = torch.where(flips, 1 - data, data)
    rbm = RBM()
    optimizer = torch.optim.SGD(rbm.parameters(), lr=0.1, momentum=0.5)
    record = []
    for _epoch in range(5):
        for batch in data.split(16):
            v = batch
            _, h = rbm.sample_h(v)
            for _ in range(2):  # CD-2
                _, v = rbm.sample_v(h)
                _, h = rbm.sample_h(v)
            loss = rbm.free_energy(batch).mean() - rbm.free_energy(v.detach()).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            p_h, _ = rbm.sample_h(data)
            recon, _ = rbm.sample_v(p_h)
            record.append(F.binary_cross_entropy(recon, data).item())
    put("rbm.recon", record)
    put("rbm.free_energy", rbm.free_energy(patterns))
    put_state("rbm.state", rbm)
    with torch.no_grad():
        v = torch.bernoulli(torch.full((4, 12), 0.5))
        for _ in range(20):
            _, h = rbm.sample_h(v)
            _, v = rbm.sample_v(h)
    put("rbm.gibbs", v)


def section_som() -> None:
    colors = torch.rand(60, 3)
    rows, cols = 5, 5
    grid = torch.stack(torch.meshgrid(torch.arange(rows), torch.arange(cols),
                                      indexing="ij"), -1).reshape(-1, 2).float()
    weights = torch.rand(rows * cols, 3)
    steps = 120
    errors = []
    for step in range(steps):
        x = colors[step % 60]
        bmu = torch.cdist(x[None], weights).argmin()
        radius = 2.5 * math.exp(-step / steps * 3)
        lr = 0.5 * math.exp(-step / steps * 2)
        distance2 = (grid - grid[bmu]).pow(2).sum(1)
        influence = torch.exp(-distance2 / (2 * radius ** 2))
        weights += lr * influence[:, None] * (x - weights)
        if step % 30 == 29:
            errors.append(torch.cdist(colors, weights).min(1).values.mean().item())
    put("som.errors", errors)
    put("som.weights", weights)
    put("som.bmus", torch.cdist(colors[:10], weights).argmin(1))
    put("som.umatrix", torch.cdist(weights, weights).reshape(rows * cols, rows, cols)
        .amin((1, 2)))
    put("som.meshgrid_xy", torch.meshgrid(torch.arange(3), torch.arange(2), indexing="xy")[0])


def dct_matrix(n_mfcc, n_mels):
    n = torch.arange(n_mels, dtype=torch.float32)
    k = torch.arange(n_mfcc, dtype=torch.float32)[:, None]
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
    dct[0] *= 1 / math.sqrt(2.0)
    return dct


def section_specaugment() -> None:
    waves = torch.randn(2, 800) * 0.1
    t = torch.arange(800) / 8000.0
    waves += torch.sin(2 * math.pi * 500 * t) * torch.linspace(0, 1, 800)
    window = torch.hamming_window(128, dtype=torch.float64).float()
    spec = torch.stft(waves, 128, 32, window=window, return_complex=True)
    power = spec.abs().pow(2)
    freqs = torch.fft.rfftfreq(128, 1 / 8000.0)
    n_mels = 16
    mel_points = torch.linspace(0, 2595 * math.log10(1 + 4000 / 700), n_mels + 2)
    hz = 700 * (10 ** (mel_points / 2595) - 1)
    bank = torch.zeros(n_mels, len(freqs))
    for m in range(n_mels):
        left, center, right = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - left) / (center - left)
        down = (right - freqs) / (right - center)
        bank[m] = torch.clamp(torch.minimum(up, down), min=0)
    log_mel = torch.log(bank @ power + 1e-6)
    mfcc = torch.einsum("km,bmt->bkt", dct_matrix(8, n_mels), log_mel)
    put("saug.mfcc", mfcc)
    # deltas by a (-2..2) regression kernel over time, edges replicated
    kernel = torch.arange(-2.0, 3.0) / 10.0
    padded = F.pad(mfcc.reshape(-1, 1, mfcc.shape[-1]), (2, 2), mode="replicate")
    deltas = F.conv1d(padded, kernel.flip(0).view(1, 1, 5)).view_as(mfcc)
    put("saug.deltas", deltas)
    # SpecAugment: two frequency masks and two time masks per example
    augmented = log_mel.clone()
    masks = []
    for b in range(2):
        for _ in range(2):
            width = int(torch.randint(0, 4, ()))
            start = int(torch.randint(0, n_mels - width, ()))
            augmented[b, start:start + width, :] = log_mel[b].mean()
            masks.append((start, width))
            width = int(torch.randint(0, 5, ()))
            start = int(torch.randint(0, log_mel.shape[-1] - width, ()))
            augmented[b, :, start:start + width] = 0.0
            masks.append((start, width))
    put("saug.masks", masks)
    put("saug.augmented", augmented)
    put("saug.cmvn", (mfcc - mfcc.mean(-1, keepdim=True)) / mfcc.std(-1, keepdim=True))


SECTIONS = {"kge": section_kge, "sinkhorn": section_sinkhorn, "rbm": section_rbm,
            "som": section_som, "specaugment": section_specaugment}
