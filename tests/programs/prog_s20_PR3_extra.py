"""Four more research-code idioms, afresh (PR3, session 20): Reptile on sine regression (a deep
copy trained by inner SGD steps, the meta-weights moved toward it through state dicts with an
annealed outer step); split conformal prediction (absolute residuals of a calibration split,
torch.quantile with interpolation="higher" at the finite-sample level, interval coverage);
Poincaré embeddings (the arcosh distance on the ball, an Optimizer subclass doing Riemannian SGD
with the conformal factor and a retraction into the ball, negatives sampled by torch.multinomial
on a smoothed unigram law); and skip-gram with negative sampling over random-walk pairs with
sparse embeddings and SparseAdam. Tiny sizes; run by prog_s20_PR3_all.py.
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_reptile() -> None:
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 1))
    x_all = torch.linspace(-5, 5, 50)[:, None]
    inner_steps, inner_step_size, outer_step_size0, niterations = 4, 0.02, 0.1, 6
    record = []
    for iteration in range(niterations):
        weights_before = copy.deepcopy(model.state_dict())
        phase = torch.rand(1) * 2 * torch.pi
        amplitude = torch.rand(1) * 4.9 + 0.1
        y_all = torch.sin(x_all + phase) * amplitude
        indices = torch.randperm(50)
        for start in range(0, inner_steps * 10, 10):
            mbinds = indices[start:start + 10]
            ypred = model(x_all[mbinds])
            loss = (ypred - y_all[mbinds]).pow(2).mean()
            model.zero_grad()
            loss.backward()
            for param in model.parameters():
                param.data -= inner_step_size * param.grad.data
        record.append(loss.item())
        weights_after = model.state_dict()
        outerstepsize = outer_step_size0 * (1 - iteration / niterations)
        model.load_state_dict({name: weights_before[name] + (weights_after[name]
                                                             - weights_before[name])
                               * outerstepsize for name in weights_before})
    put("reptile.record", record)
    put_state("reptile.state", model)
    # fine-tune a copy on one task: the meta-initialisation itself is unchanged
    before = copy.deepcopy(model.state_dict())
    learner = copy.deepcopy(model)
    optimizer = torch.optim.SGD(learner.parameters(), lr=0.02)
    target = torch.sin(x_all + 1.0) * 2
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = F.mse_loss(learner(x_all), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("reptile.finetune", losses)
    put("reptile.meta_unchanged", all(torch.equal(before[name], value)
                                      for name, value in model.state_dict().items()))
    put("reptile.learner_moved", not torch.equal(before["0.weight"], learner[0].weight))


def section_conformal() -> None:
    x = torch.rand(240, 1) * 6 - 3
    y = torch.sin(x[:, 0]) * 2 + 0.3 * torch.randn(240) * (1 + x[:, 0].abs())
    model = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train, calib, test = torch.arange(0, 120), torch.arange(120, 180), torch.arange(180, 240)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x[train])[:, 0], y[train])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("conformal.losses", losses)
    alpha = 0.1
    with torch.no_grad():
        scores = (y[calib] - model(x[calib])[:, 0]).abs()
        n = len(calib)
        level = min(1.0, float(torch.ceil(torch.tensor((n + 1) * (1 - alpha))) / n))
        qhat = torch.quantile(scores, level, interpolation="higher")
        prediction = model(x[test])[:, 0]
        lower, upper = prediction - qhat, prediction + qhat
        covered = ((y[test] >= lower) & (y[test] <= upper)).float()
    put("conformal.level", level)
    put("conformal.qhat", qhat)
    put("conformal.coverage", covered.mean())
    put("conformal.quantiles", torch.stack([torch.quantile(scores, q, interpolation=mode)
                                            for q in (0.25, 0.5, 0.9)
                                            for mode in ("linear", "lower", "nearest",
                                                         "midpoint")]))
    put("conformal.interval", torch.stack([lower[:5], upper[:5]]))


class RiemannianSGD(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1, eps=1e-5):
        super().__init__(params, dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                # the Poincare ball's metric: the Euclidean gradient scaled by (1 - |x|^2)^2 / 4
                sq_norm = torch.sum(p * p, dim=-1, keepdim=True)
                d_p = d_p * ((1 - sq_norm) ** 2 / 4)
                p.add_(d_p, alpha=-group["lr"])
                # retraction: back inside the ball
                norm = p.norm(dim=-1, keepdim=True)
                p.copy_(torch.where(norm >= 1, p / norm * (1 - group["eps"]), p))
                state = self.state[p]
                state["step"] = state.get("step", 0) + 1
        return loss


def poincare_distance(u, v, eps=1e-5):
    sq_u = torch.clamp(torch.sum(u * u, dim=-1), 0, 1 - eps)
    sq_v = torch.clamp(torch.sum(v * v, dim=-1), 0, 1 - eps)
    sq_dist = torch.sum((u - v) ** 2, dim=-1)
    x = 1 + 2 * sq_dist / ((1 - sq_u) * (1 - sq_v))
    return torch.acosh(torch.clamp(x, min=1 + eps))


def section_poincare() -> None:
    # a small tree: 0 the root, 1-3 its children, 4-12 grandchildren
    edges = [(0, c) for c in (1, 2, 3)] + [(1 + i // 3, 4 + i) for i in range(9)]
    edges = torch.tensor(edges)
    n = 13
    degree = torch.bincount(edges.flatten(), minlength=n).float()
    unigram = degree ** 0.75
    embedding = nn.Embedding(n, 2)
    # (not the paper's +-1e-3: distances that small fall under the clamp at 1 + eps, where
    # arcosh has no gradient)
    nn.init.uniform_(embedding.weight, -0.1, 0.1)
    optimizer = RiemannianSGD(embedding.parameters(), lr=0.5)
    losses = []
    for _epoch in range(20):
        negatives = torch.multinomial(unigram, len(edges) * 4, replacement=True).view(-1, 4)
        u = embedding(edges[:, 0])
        candidates = embedding(torch.cat([edges[:, 1:], negatives], 1))
        distances = poincare_distance(u[:, None], candidates)
        loss = F.cross_entropy(-distances, torch.zeros(len(edges), dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("poincare.losses", losses)
    put("poincare.weight", embedding.weight)
    put("poincare.max_norm", embedding.weight.norm(dim=-1).max())
    put("poincare.step", optimizer.state[embedding.weight]["step"])
    with torch.no_grad():
        put("poincare.root_to_all", poincare_distance(embedding.weight[:1],
                                                       embedding.weight))


def random_walks(adjacency, starts, length, generator):
    walks = [starts]
    current = starts
    for _ in range(length - 1):
        probabilities = adjacency[current]
        current = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
        walks.append(current)
    return torch.stack(walks, 1)


class SkipGram(nn.Module):
    def __init__(self, n, dim=8):
        super().__init__()
        self.u = nn.Embedding(n, dim, sparse=True)
        self.v = nn.Embedding(n, dim, sparse=True)
        nn.init.uniform_(self.u.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.v.weight)

    def forward(self, center, context, negatives):
        emb_u = self.u(center)
        score = (emb_u * self.v(context)).sum(1)
        neg_score = torch.bmm(self.v(negatives), emb_u.unsqueeze(2)).squeeze(2)
        return -(F.logsigmoid(score) + F.logsigmoid(-neg_score).sum(1)).mean()


def section_node2vec() -> None:
    # two dense communities joined by one edge
    n = 10
    adjacency = torch.zeros(n, n)
    for block in (range(0, 5), range(5, 10)):
        for i in block:
            for j in block:
                if i != j:
                    adjacency[i, j] = 1
    adjacency[4, 5] = adjacency[5, 4] = 1
    generator = torch.Generator().manual_seed(7)
    walks = random_walks(adjacency, torch.arange(n).repeat(2), 6, generator)
    put("node2vec.walks", walks)
    window = 2
    pairs = torch.cat([torch.stack([walks[:, i], walks[:, i + k]], 1)
                       for k in range(1, window + 1) for i in range(walks.shape[1] - k)])
    model = SkipGram(n)
    optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=0.05)
    losses = []
    for _epoch in range(4):
        order = torch.randperm(len(pairs), generator=generator)
        for start in range(0, len(pairs), 64):
            batch = pairs[order[start:start + 64]]
            negatives = torch.randint(0, n, (len(batch), 3), generator=generator)
            optimizer.zero_grad()
            loss = model(batch[:, 0], batch[:, 1], negatives)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("node2vec.losses", losses)
    put("node2vec.grad_sparse", model.u.weight.grad.is_sparse)
    put_state("node2vec.state", model)
    with torch.no_grad():
        normed = F.normalize(model.u.weight, dim=1)
        similarity = normed @ normed.T
    put("node2vec.similarity", similarity)
    put("node2vec.within_minus_across", similarity[:5, :5].mean() - similarity[:5, 5:].mean())


SECTIONS = {"reptile": section_reptile, "conformal": section_conformal,
            "poincare": section_poincare, "node2vec": section_node2vec}
