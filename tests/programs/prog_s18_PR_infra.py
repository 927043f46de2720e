"""Training-infrastructure idioms of widely copied model code, written afresh (PR, session 18):
gradient checkpointing (use_reentrant True and False, dropout inside, keyword and non-tensor
arguments), torch.compile and torch.backends flags as no-ops, autocast("cpu", bfloat16) blocks,
weight-init loops through module.apply (trunc_normal_, orthogonal_, xavier, zeros), optimizer
groups from named_parameters (no decay for norms and biases), warm-up + cosine schedules through
SequentialLR, train() / eval() with dropout and batch norm, non-persistent buffers, strict=False
loading, and torch.save / torch.load(weights_only=True) round trips of models and optimizers.
Tiny sizes; run by prog_s18_PR_all.py.
"""

import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.utils.checkpoint import checkpoint


class Block(nn.Module):
    def __init__(self, dim, p=0.2):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        self.fc1, self.fc2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
        self.drop = nn.Dropout(p)

    def forward(self, x, scale=1.0, *, gate=None):
        h = self.fc2(self.drop(F.gelu(self.fc1(self.ln(x)), approximate="tanh")))
        if gate is not None:
            h = h * torch.sigmoid(gate)
        return x + scale * h


class Net(nn.Module):
    def __init__(self, dim=8, depth=3, use_checkpoint=False, reentrant=False):
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 4)
        self.use_checkpoint, self.reentrant = use_checkpoint, reentrant
        self.register_buffer("position", torch.arange(dim).float() / dim, persistent=False)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.2, a=-0.4, b=0.4)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.constant_(m.bias, 0.01)

    def forward(self, x):
        x = x + self.position
        gate = x.mean(0, keepdim=True)
        for blk in self.blocks:
            if self.use_checkpoint and self.training:
                if self.reentrant:  # (reentrant: positional tensors only)
                    x = checkpoint(blk, x, 0.5, use_reentrant=True, preserve_rng_state=True)
                else:
                    x = checkpoint(blk, x, 0.5, gate=gate, use_reentrant=False)
            else:
                x = blk(x, 0.5, gate=gate) if not self.reentrant else blk(x, 0.5)
        return self.head(self.norm(x))


def section_ckpt() -> None:
    x, y = torch.randn(6, 8), torch.randint(0, 4, (6,))
    for reentrant in (False, True):
        grads = []
        for use in (False, True):
            torch.manual_seed(1)
            net = Net(use_checkpoint=use, reentrant=reentrant)
            torch.manual_seed(2)
            loss = F.cross_entropy(net(x.requires_grad_(reentrant)), y)
            loss.backward()
            grads.append([p.grad for p in net.parameters()])
            put(f"ckpt.r{int(reentrant)}u{int(use)}.loss", loss)
            put(f"ckpt.r{int(reentrant)}u{int(use)}.grads", grads[-1])
        put(f"ckpt.r{int(reentrant)}.same",
            all(torch.allclose(a, b, atol=1e-6) for a, b in zip(*grads)))
        x = x.detach()


def param_groups(model):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        plain = param.ndim < 2 or "ln" in name or name.endswith(".bias")
        (no_decay if plain else decay).append(param)
    return decay, no_decay


def section_infra() -> None:
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.deterministic = True
    torch.set_float32_matmul_precision("high")
    model = Net()
    put("infra.state_keys", list(model.state_dict()))
    put("infra.buffers", [n for n, _ in model.named_buffers()])
    decay, no_decay = param_groups(model)
    put("infra.group_sizes", [len(decay), len(no_decay), sum(p.numel() for p in decay)])
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1e-2)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=2)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=1e-4)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[2])
    # (only wrapped: calling it would compile it on PyTorch's side, minutes here, and
    # inductor's dropout draws from its own random stream)
    compiled = torch.compile(model)
    put("infra.compiled", [type(compiled).__name__, compiled._orig_mod is model,
                           *compiled.state_dict()])
    x, y = torch.randn(10, 8), torch.randint(0, 4, (10,))
    losses, lrs = [], []
    for _ in range(5):
        model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        model.step += 1
        losses.append(loss.item())
        lrs.append([g["lr"] for g in optimizer.param_groups])
    put("infra.logits_dtype", str(logits.dtype))
    put("infra.losses", losses)
    put("infra.lrs", lrs)
    model.eval()
    with torch.inference_mode():
        put("infra.eval_twice", model(x) - model(x))
        put("infra.eval_out", model(x))
    model.train()
    put("infra.train_differs", not torch.equal(model(x), model(x)))
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": 5}, buffer)
    buffer.seek(0)
    ckpt = torch.load(buffer, weights_only=True, map_location="cpu")
    fresh = Net()
    put("infra.before_load_differs", not torch.equal(fresh.head.weight, model.head.weight))
    result = fresh.load_state_dict(ckpt["model"])
    put("infra.load_result", [len(result.missing_keys), len(result.unexpected_keys)])
    fresh_opt = torch.optim.AdamW([{"params": group} for group in param_groups(fresh)], lr=1e-2)
    fresh_opt.load_state_dict(ckpt["optimizer"])
    put("infra.opt_groups", [g["weight_decay"] for g in fresh_opt.param_groups])
    put("infra.opt_step", fresh_opt.state_dict()["state"][0]["step"])
    put("infra.epoch", ckpt["epoch"])
    put_state("infra.loaded", fresh)
    partial = {k: v for k, v in ckpt["model"].items() if not k.startswith("head")}
    partial["extra.weight"] = torch.zeros(2)
    result = Net().load_state_dict(partial, strict=False)
    put("infra.missing", sorted(result.missing_keys))
    put("infra.unexpected", sorted(result.unexpected_keys))


def section_bn_modes() -> None:
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False),
                        nn.BatchNorm2d(4, momentum=None), nn.ReLU(inplace=True),
                        nn.Dropout2d(0.3), nn.Flatten(), nn.Linear(4 * 16, 3))
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.orthogonal_(m.weight, gain=nn.init.calculate_gain("relu"))
            nn.init.uniform_(m.bias, -0.1, 0.1)
    x = torch.randn(5, 2, 4, 4)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    for _ in range(3):
        net.train()
        loss = net(x).logsumexp(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        put("bn_modes.loss", loss)
    put_state("bn_modes", net)
    net.eval()
    put("bn_modes.eval", net(x))
    net[1].track_running_stats = False
    put("bn_modes.no_track_eval", net(x))
    frozen = nn.BatchNorm1d(3)
    frozen.eval()
    frozen.requires_grad_(False)
    inp = torch.randn(4, 3, requires_grad=True)
    frozen(inp).sum().backward()
    put("bn_modes.frozen_grad", inp.grad)
    put("bn_modes.frozen_batches", frozen.num_batches_tracked)


SECTIONS = {"ckpt": section_ckpt, "infra": section_infra, "bn_modes": section_bn_modes}
