"""More training scripts, afresh (PR7, session 24): a VAE with KL annealing (rsample,
kl_divergence of Normals, an ELBO per batch, a sample grid decoded); LoRA fine-tuning (a base
trained, frozen, its Linear layers swapped for low-rank adapters through named_modules /
setattr, only the adapters optimized and saved, then merged back and checked); a mixture of
experts with top-2 gating, a load-balancing loss and outputs combined by index_add_; online
hard example mining (reduction='none' losses, the hardest kept by topk) with multi-task
uncertainty weights (learned log variances). Tiny sizes; run by prog_s24_PR7_all.py.
"""

import copy
import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state
from torch.distributions import Normal, kl_divergence


class VAE(nn.Module):
    def __init__(self, d=12, z=2):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, 16), nn.ELU())
        self.mu, self.logvar = nn.Linear(16, z), nn.Linear(16, z)
        self.dec = nn.Sequential(nn.Linear(z, 16), nn.ELU(), nn.Linear(16, d))

    def forward(self, x):
        h = self.enc(x)
        q = Normal(self.mu(h), (0.5 * self.logvar(h)).exp())
        z = q.rsample()
        return self.dec(z), q


def section_vae() -> None:
    torch.manual_seed(60)
    g = torch.Generator().manual_seed(60)
    codes = torch.randn(64, 2, generator=g)
    mixing = torch.randn(2, 12, generator=g)
    data = torch.tanh(codes @ mixing) + 0.05 * torch.randn(64, 12, generator=g)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    prior = Normal(torch.zeros(2), torch.ones(2))
    records, step = [], 0
    for _epoch in range(4):
        for idx in torch.randperm(64, generator=g).split(16):
            beta = min(1.0, step / 10)  # KL annealing
            recon, q = model(data[idx])
            rec = F.mse_loss(recon, data[idx], reduction="sum") / len(idx)
            kl = kl_divergence(q, prior).sum(1).mean()
            loss = rec + beta * kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            records.append([rec.item(), kl.item(), beta])
            step += 1
    put("vae.records", torch.tensor(records))
    model.eval()
    with torch.no_grad():
        grid = torch.stack(torch.meshgrid(torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 3),
                                          indexing="xy"), -1).reshape(-1, 2)
        put("vae.decoded", model.dec(grid))
        h = model.enc(data[:4])
        put("vae.mu", model.mu(h))
        put("vae.log_prob", Normal(model.mu(h), (0.5 * model.logvar(h)).exp())
            .log_prob(torch.zeros(4, 2)))
    put_state("vae.state", model)


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank=2, alpha=4.0):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(rank, base.in_features) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale

    def merged(self) -> nn.Linear:
        out = nn.Linear(self.base.in_features, self.base.out_features)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.scale * self.B @ self.A)
            out.bias.copy_(self.base.bias)
        return out


def section_lora() -> None:
    g = torch.Generator().manual_seed(61)
    x = torch.randn(64, 6, generator=g)
    y_old = x @ torch.randn(6, 3, generator=g)
    y_new = y_old + 0.5 * x[:, :1] * torch.tensor([1.0, -1.0, 0.5])
    base = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 3))
    opt = torch.optim.Adam(base.parameters(), lr=0.01)
    for _ in range(20):
        opt.zero_grad()
        F.mse_loss(base(x), y_old).backward()
        opt.step()
    base.zero_grad(set_to_none=True)
    base.requires_grad_(False)
    for name, module in list(base.named_modules()):
        if isinstance(module, nn.Linear):
            setattr(base, name, LoRALinear(module))
    trainable = [n for n, p in base.named_parameters() if p.requires_grad]
    put("lora.trainable", trainable)
    put("lora.counts", [sum(p.numel() for p in base.parameters() if p.requires_grad),
                        sum(p.numel() for p in base.parameters())])
    opt = torch.optim.AdamW([p for p in base.parameters() if p.requires_grad], lr=0.02)
    losses = []
    for _ in range(15):
        loss = F.mse_loss(base(x), y_new)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("lora.losses", torch.tensor(losses))
    put("lora.frozen_grad", base[0].base.weight.grad is None)
    adapters = {k: v for k, v in base.state_dict().items() if k.endswith((".A", ".B"))}
    put("lora.adapter_keys", sorted(adapters))
    put("lora.adapters", [adapters[k] for k in sorted(adapters)])
    merged = nn.Sequential(base[0].merged(), nn.GELU(), base[2].merged())
    with torch.no_grad():
        put("lora.merge_gap", (merged(x) - base(x)).abs().max())
        put("lora.merged_out", merged(x[:4]))


class MoE(nn.Module):
    def __init__(self, d=8, experts=4, k=2):
        super().__init__()
        self.gate = nn.Linear(d, experts, bias=False)
        self.experts = nn.ModuleList(nn.Sequential(nn.Linear(d, 16), nn.ReLU(),
                                                   nn.Linear(16, d)) for _ in range(experts))
        self.k = k

    def forward(self, x):
        probs = self.gate(x).softmax(-1)
        weights, chosen = probs.topk(self.k, dim=-1)
        weights = weights / weights.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        counts = []
        for e, expert in enumerate(self.experts):
            rows, slot = (chosen == e).nonzero(as_tuple=True)
            counts.append(len(rows))
            if len(rows):
                out.index_add_(0, rows, expert(x[rows]) * weights[rows, slot, None])
        fraction = F.one_hot(chosen[:, 0], len(self.experts)).float().mean(0)
        balance = len(self.experts) * (fraction * probs.mean(0)).sum()
        return out, balance, counts


def section_moe() -> None:
    g = torch.Generator().manual_seed(62)
    x = torch.randn(48, 8, generator=g)
    target = torch.sin(x) * torch.sign(x[:, :1])
    model = MoE()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses, balances, counts = [], [], []
    for _ in range(10):
        out, balance, count = model(x)
        loss = F.mse_loss(out, target) + 0.01 * balance
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        balances.append(balance.item())
        counts.append(count)
    put("moe.losses", torch.tensor(losses))
    put("moe.balances", torch.tensor(balances))
    put("moe.counts", torch.tensor(counts))
    put("moe.gate_grad", model.gate.weight.grad)


def section_ohem_multitask() -> None:
    g = torch.Generator().manual_seed(63)
    x = torch.randn(60, 5, generator=g)
    y_cls = (x[:, 0] + x[:, 1] > 0).long()
    y_reg = x[:, 2:3] * 2 + 0.1 * torch.randn(60, 1, generator=g)
    trunk = nn.Sequential(nn.Linear(5, 16), nn.ReLU())
    cls_head, reg_head = nn.Linear(16, 2), nn.Linear(16, 1)
    log_vars = nn.Parameter(torch.zeros(2))
    params = [*trunk.parameters(), *cls_head.parameters(), *reg_head.parameters(), log_vars]
    opt = torch.optim.Adam(params, lr=0.01)
    records, kept = [], []
    for _ in range(3):
        for idx in torch.randperm(60, generator=g).split(20):
            h = trunk(x[idx])
            per_cls = F.cross_entropy(cls_head(h), y_cls[idx], reduction="none")
            per_reg = F.smooth_l1_loss(reg_head(h), y_reg[idx], reduction="none").squeeze(1)
            hard = per_cls.detach().topk(10).indices  # online hard example mining
            kept.append(idx[hard].sort().values)
            l_cls, l_reg = per_cls[hard].mean(), per_reg.mean()
            loss = (torch.exp(-log_vars[0]) * l_cls + log_vars[0]
                    + 0.5 * torch.exp(-log_vars[1]) * l_reg + 0.5 * log_vars[1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            records.append([l_cls.item(), l_reg.item(), loss.item()])
    put("ohem.records", torch.tensor(records))
    put("ohem.kept", torch.stack(kept))
    put("ohem.log_vars", log_vars)
    put_state("ohem.trunk", trunk)


def section_half_deploy() -> None:
    """Train in float32, then deploy: the model cast to bfloat16 and to float16 for inference,
    its half state dict saved and loaded back into a float32 model (load_state_dict casts)."""
    g = torch.Generator().manual_seed(64)
    x = torch.randn(40, 1, 6, 6, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long()
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(144, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(6):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    with torch.inference_mode():
        full = model(x)
        put("half.full", full)
        for dtype in (torch.bfloat16, torch.float16):
            name = str(dtype).rsplit(".", 1)[-1]
            low = copy_of(model).to(dtype)
            out = low(x.to(dtype))
            put(f"half.{name}.out", out)
            put(f"half.{name}.agree", (out.argmax(1) == full.argmax(1)).float().mean())
            put(f"half.{name}.probs", out.float().softmax(1)[:5])
            buffer = io.BytesIO()
            torch.save(low.state_dict(), buffer)
            buffer.seek(0)
            back = copy_of(model)
            back.load_state_dict(torch.load(buffer, weights_only=True))
            put(f"half.{name}.reloaded", back(x[:5]))
            put(f"half.{name}.weight_dtype", str(back[0].weight.dtype))


def copy_of(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model)


SECTIONS = {"vae": section_vae, "lora": section_lora, "moe": section_moe,
            "ohem_multitask": section_ohem_multitask, "half_deploy": section_half_deploy}
