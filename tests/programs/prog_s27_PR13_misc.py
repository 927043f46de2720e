"""Module, optimizer and distribution programs (PR13, session 27), written afresh in the style
of widely copied code, printing what such scripts print: module plumbing (print(model),
named_modules, extra_repr, persistent and non-persistent buffers, load_state_dict with
strict=False and its missing / unexpected keys, apply(init_fn) with the nn.init family, lazy
modules, fuse_conv_bn_eval), optimizer plumbing (print(optimizer), add_param_group, per-group
options, state_dict round trips into a fresh optimizer), distribution training (a flow built
from TransformedDistribution transforms, a Beta-likelihood model, Gumbel-softmax with
RelaxedOneHotCategorical, kl_divergence between families), contrastive losses (SimCLR's
NT-Xent, triplets with batch-hard mining, the embedding losses of torch.nn), and a
Transformer encoder classifier with a key padding mask. Tiny sizes, seeded; run by
prog_s27_PR13_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import copy

import torch
import torch.distributions as D
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


class Block(nn.Module):
    def __init__(self, c, scale=1.0):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.scale = scale
        self.register_buffer("mask", torch.ones(c, 1, 1))
        self.register_buffer("cache", torch.zeros(1), persistent=False)

    def extra_repr(self):
        return f"scale={self.scale}"

    def forward(self, x):
        return x + self.scale * F.relu(self.bn(self.conv(x))) * self.mask


def section_module_api() -> None:
    torch.manual_seed(50)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Block(4, 0.5), nn.Flatten(),
                        nn.LazyLinear(3))
    with printed("mod.log"):
        try:
            print("parameters", sum(p.numel() for p in net.parameters()))
        except ValueError as e:
            print("lazy parameters not counted:", str(e).split(" in ")[0])
        net(torch.randn(2, 1, 5, 5))
        print("parameters", sum(p.numel() for p in net.parameters()))
        print(net)
        print([n for n, _ in net.named_modules()])
        print(list(net.state_dict()))
        print("buffers", [n for n, _ in net.named_buffers()])

        def init(m):
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.1)
            elif isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02, a=-0.04, b=0.04)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)

        torch.manual_seed(51)
        net.apply(init)
        print("kaiming std", round(net[0].weight.std().item(), 4),
              "trunc in range", bool(net[3].weight.abs().max() <= 0.04))
        q = torch.empty(5, 3)
        nn.init.orthogonal_(q, gain=2.0)
        print("orthogonal", (q.T @ q / 4).diag().numpy().round(4).tolist())
        print("gain relu", nn.init.calculate_gain("relu"),
              nn.init.calculate_gain("leaky_relu", 0.2), nn.init.calculate_gain("tanh"),
              nn.init.calculate_gain("selu"))
        d = torch.empty(2, 2, 3)
        nn.init.dirac_(d)
        print("dirac", d[:, :, 1].tolist())
        state = net.state_dict()
        state["extra.weight"] = torch.zeros(1)
        del state["3.bias"]
        fresh = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Block(4), nn.Flatten(),
                              nn.Linear(100, 3))
        result = fresh.load_state_dict(state, strict=False)
        print(result)
        print("missing", result.missing_keys, "unexpected", result.unexpected_keys)
        try:
            fresh.load_state_dict(state)
        except RuntimeError as e:
            print("strict raises:", str(e).splitlines()[0])
        bad = dict(state)
        bad["3.weight"] = torch.zeros(2, 2)
        try:
            fresh.load_state_dict(bad, strict=False)
        except RuntimeError as e:
            print("size mismatch:", "size mismatch" in str(e))
        print("requires_grad_",
              [p.requires_grad for p in fresh[0].requires_grad_(False).parameters()])
        frozen = sum(p.numel() for p in fresh.parameters() if not p.requires_grad)
        total = sum(p.numel() for p in fresh.parameters())
        print(f"frozen {frozen} of {total}")
        conv, bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        conv.eval()
        bn.eval()
        fused = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
        x = torch.randn(1, 2, 6, 6)
        print("fused", type(fused).__name__, torch.allclose(fused(x), bn(conv(x)), atol=1e-5))
        md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
        pd = nn.ParameterDict({"w": nn.Parameter(torch.ones(2))})
        print(md)
        print(pd)
        print(list(md.keys()), "copy is deep", copy.deepcopy(net)[0].weight is not net[0].weight)
        net.half()
        print("half", net[0].weight.dtype, net[1].mask.dtype)
        net.to(torch.float64)
        print("double", net[3].weight.dtype, net[1].bn.num_batches_tracked.dtype)
        print("zero_grad none", net.zero_grad() is None, net[0].weight.grad)


def section_optimizer_api() -> None:
    torch.manual_seed(52)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with printed("opt.log"):
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (no_decay if name.endswith("bias") else decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=1e-2,
                                betas=(0.9, 0.95))
        print(opt)
        head = nn.Linear(2, 1)
        opt.add_param_group({"params": head.parameters(), "lr": 1e-3})
        print("groups", len(opt.param_groups), [g["lr"] for g in opt.param_groups],
              sorted(opt.param_groups[2]))
        x = torch.randn(8, 3)
        for _ in range(3):
            loss = head(model(x)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        sd = opt.state_dict()
        print("state ids", sorted(sd["state"]), [g["params"] for g in sd["param_groups"]])
        print("state entry", sorted(sd["state"][0]), sd["state"][0]["step"])
        model2, head2 = copy.deepcopy(model), copy.deepcopy(head)
        opt2 = torch.optim.AdamW([{"params": [p for n, p in model2.named_parameters()
                                              if not n.endswith("bias")]},
                                  {"params": [p for n, p in model2.named_parameters()
                                              if n.endswith("bias")]},
                                  {"params": head2.parameters()}], lr=5.0)
        opt2.load_state_dict(sd)
        print("loaded lrs", [g["lr"] for g in opt2.param_groups],
              [g["weight_decay"] for g in opt2.param_groups])
        for o, m, h in ((opt, model, head), (opt2, model2, head2)):
            loss = h(m(x)).pow(2).mean()
            o.zero_grad()
            loss.backward()
            o.step()
        print("same after a step", all(torch.equal(a, b) for a, b in
                                       zip(model.parameters(), model2.parameters())))
        sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, dampening=0.1,
                              weight_decay=1e-3, nesterov=False, maximize=True)
        print(sgd)
        print("defaults", sorted(sgd.defaults))
        opt.zero_grad(set_to_none=False)
        print("zeroed", model[0].weight.grad.abs().sum().item())
        opt.zero_grad()
        print("none", model[0].weight.grad)
        try:
            torch.optim.SGD([{"params": decay}, {"params": decay[:1]}], lr=0.1)
        except ValueError as e:
            print("duplicate params ValueError:", "more than one" in str(e))
        try:
            torch.optim.Adam(model.parameters(), lr=-1)
        except ValueError as e:
            print("ValueError", e)
        rms = torch.optim.RMSprop(model.parameters(), lr=0.01, centered=True, momentum=0.5)
        loss = head(model(x)).pow(2).mean()
        loss.backward()
        rms.step()
        print("rmsprop state", sorted(rms.state[model[0].weight]))
    put("opt.w", model[0].weight)


def section_dist_train() -> None:
    torch.manual_seed(53)
    g = torch.Generator().manual_seed(53)
    data = torch.distributions.Gamma(torch.tensor(3.0), torch.tensor(2.0)).sample((300,))
    with printed("dtr.log"):
        loc = nn.Parameter(torch.zeros(()))
        log_scale = nn.Parameter(torch.zeros(()))
        opt = torch.optim.Adam([loc, log_scale], lr=0.05)
        for step in range(80):
            flow = D.TransformedDistribution(
                D.Normal(0.0, 1.0),
                [D.transforms.AffineTransform(loc, log_scale.exp()), D.transforms.ExpTransform()])
            loss = -flow.log_prob(data).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"log-normal fit loc {loc.item():.4f} scale {log_scale.exp().item():.4f} "
              f"nll {loss.item():.4f}")
        ln = D.LogNormal(loc.detach(), log_scale.exp().detach())
        print("matches LogNormal", torch.allclose(ln.log_prob(data), flow.log_prob(data).detach()))
        print("mean", round(ln.mean.item(), 4), "support", ln.support)
        x = torch.rand(50, 2, generator=g)
        target = (0.2 + 0.6 * x[:, 0]).clamp(0.05, 0.95)
        obs = D.Beta(target * 10, (1 - target) * 10).sample()
        net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
        opt = torch.optim.Adam(net.parameters(), lr=0.03)
        for step in range(60):
            a, b = F.softplus(net(x)).unbind(-1)
            loss = -D.Beta(a + 1e-3, b + 1e-3).log_prob(obs).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(f"beta regression nll {loss.item():.4f}")
        logits = nn.Parameter(torch.zeros(4))
        opt = torch.optim.SGD([logits], lr=0.5)
        reward = torch.tensor([0.0, 1.0, 0.2, 0.5])
        for step in range(40):
            r = D.RelaxedOneHotCategorical(torch.tensor(0.5), logits=logits).rsample()
            loss = -(r * reward).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        print("relaxed argmax", logits.argmax().item(), "probs",
              F.softmax(logits, 0).detach().numpy().round(3).tolist())
        hard = F.gumbel_softmax(logits.detach(), tau=1.0, hard=True)
        print("gumbel hard", hard.sum().item(), hard.max().item())
        p = D.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]))
        q = D.Normal(torch.tensor([0.5, 0.0]), torch.tensor([1.5, 1.0]))
        print("kl normal", D.kl_divergence(p, q).numpy().round(5).tolist())
        pi = D.Independent(p, 1)
        qi = D.Independent(q, 1)
        print("kl independent", round(D.kl_divergence(pi, qi).item(), 5), pi.event_shape)
        print("kl categorical", round(D.kl_divergence(D.Categorical(logits=torch.tensor(
            [1.0, 0.0, -1.0])), D.Categorical(probs=torch.ones(3) / 3)).item(), 5))
        print("kl beta", round(D.kl_divergence(D.Beta(2.0, 3.0), D.Beta(1.0, 1.0)).item(), 5))
        lr = D.LowRankMultivariateNormal(torch.zeros(3), torch.ones(3, 1) * 0.5, torch.ones(3))
        print("low rank", lr.covariance_matrix.numpy().round(3).tolist(),
              round(lr.entropy().item(), 4))
        dirichlet = D.Dirichlet(torch.tensor([2.0, 3.0, 5.0]))
        print("dirichlet mean", dirichlet.mean.tolist(), round(dirichlet.entropy().item(), 4))
        print(D.Normal(0.0, 1.0), D.Categorical(probs=torch.ones(2) / 2))
    put("dtr.logits", logits)


def nt_xent(z1, z2, tau):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / tau
    n = z1.shape[0]
    sim.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


def section_contrastive() -> None:
    torch.manual_seed(54)
    g = torch.Generator().manual_seed(54)
    base = torch.randn(16, 10, generator=g)
    encoder = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 8))
    opt = torch.optim.Adam(encoder.parameters(), lr=0.01)
    with printed("con.log"):
        for step in range(15):
            v1 = base + 0.2 * torch.randn(base.shape, generator=g)
            v2 = base * (torch.rand(base.shape, generator=g) > 0.2)
            loss = nt_xent(encoder(v1), encoder(v2), 0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 5 == 4:
                print(f"step {step + 1} nt-xent {loss.item():.4f}")
        labels = torch.randint(0, 4, (16,), generator=g)
        emb = F.normalize(encoder(base), dim=1)
        dist = torch.cdist(emb, emb)
        same = labels[:, None] == labels[None, :]
        hardest_pos = (dist * same.float()).max(1).values
        hardest_neg = dist.masked_fill(same, float("inf")).min(1).values
        triplet = F.relu(hardest_pos - hardest_neg + 0.2).mean()
        print(f"batch-hard triplet {triplet.item():.4f}")
        a, p, n = emb[:4], emb[4:8], emb[8:12]
        print("TripletMarginLoss", round(nn.TripletMarginLoss(margin=0.5, p=2)(a, p, n).item(), 4),
              "with swap", round(nn.TripletMarginLoss(margin=0.5, swap=True)(a, p, n).item(), 4))
        dfn = nn.TripletMarginWithDistanceLoss(
            distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.3)
        print("with distance", round(dfn(a, p, n).item(), 4))
        tgt = torch.tensor([1, -1, 1, -1])
        print("CosineEmbedding", round(nn.CosineEmbeddingLoss(margin=0.1)(a, p, tgt).item(), 4))
        print("MarginRanking", round(nn.MarginRankingLoss(margin=0.1)(
            a[:, 0], p[:, 0], tgt.float()).item(), 4))
        print("HingeEmbedding", round(nn.HingeEmbeddingLoss(margin=1.0)(
            dist[0, :4], tgt.float()).item(), 4))
        logits = emb[:4] @ emb[4:8].T / 0.07
        lbl = torch.arange(4)
        clip = (F.cross_entropy(logits, lbl) + F.cross_entropy(logits.T, lbl)) / 2
        print(f"clip loss {clip.item():.4f}", "pdist", F.pdist(emb[:4]).detach().numpy().round(4))
    put("con.emb", emb)


def section_transformer_cls() -> None:
    torch.manual_seed(55)
    g = torch.Generator().manual_seed(55)
    vocab, d = 20, 16
    lengths = torch.randint(3, 9, (12,), generator=g)
    tokens = torch.zeros(12, 8, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        tokens[i, :n] = torch.randint(1, vocab, (n,), generator=g)
    labels = (tokens == 7).any(1).long()
    pad_mask = tokens == 0

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Parameter(torch.randn(1, 8, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, 4, dim_feedforward=32, dropout=0.0,
                                               batch_first=True, norm_first=True,
                                               activation="gelu")
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(d, 2)

        def forward(self, x, mask):
            h = self.enc(self.emb(x) + self.pos, src_key_padding_mask=mask)
            keep = (~mask).unsqueeze(-1).float()
            pooled = (h * keep).sum(1) / keep.sum(1)
            return self.head(pooled)

    model = Model()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    with printed("tfm.log"):
        for epoch in range(10):
            logits = model(tokens, pad_mask)
            loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if epoch % 3 == 0:
                print(f"epoch {epoch} loss {loss.item():.4f} "
                      f"acc {(logits.argmax(1) == labels).float().mean().item():.3f}")
        print(model.enc.layers[0])
        print("params", sum(p.numel() for p in model.parameters()))
        model.eval()
        with torch.no_grad():
            a = model(tokens[:2], pad_mask[:2])
            longer = torch.cat([tokens[:2], torch.zeros(2, 0, dtype=torch.long)], 1)
            b = model(longer, pad_mask[:2])
        print("eval equal", torch.allclose(a, b), a.numpy().round(3).tolist())
        causal = nn.Transformer.generate_square_subsequent_mask(4)
        print(causal)
    put("tfm.head", model.head.weight)


SECTIONS = {
    "module_api": section_module_api, "optimizer_api": section_optimizer_api,
    "dist_train": section_dist_train, "contrastive": section_contrastive,
    "transformer_cls": section_transformer_cls,
}
