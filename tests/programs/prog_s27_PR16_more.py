"""More of today's model-code idioms (PR16, session 27), written afresh: gradients through the
complex rotary form and the interleaved (GPT-J) rotary form, scaled_dot_product_attention's
gradients with a learned float mask and enable_gqa, the warmup + cosine schedules built from
SequentialLR / LinearLR / CosineAnnealingLR and OneCycleLR, the settings lines modern scripts
start with (set_float32_matmul_precision, allow_tf32, sdpa_kernel), torch.compile (its own
section: PyTorch's compiler costs seconds), training with bfloat16 parameters, a generation
loop under inference_mode with a buffer KV cache, and label-smoothing cross-entropy with class
weights and ignore_index. Tiny sizes, seeded; run by prog_s27_PR16_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.nn.attention import SDPBackend, sdpa_kernel


def section_rope_grad() -> None:
    torch.manual_seed(30)
    x = torch.randn(2, 5, 2, 8, requires_grad=True)
    with printed("ropeg.log"):
        freqs = 1.0 / (10000 ** (torch.arange(0, 8, 2).float() / 8))
        ang = torch.outer(torch.arange(5).float(), freqs)
        cis = torch.polar(torch.ones_like(ang), ang)
        xc = torch.view_as_complex(x.reshape(2, 5, 2, 4, 2))
        out_c = torch.view_as_real(xc * cis[None, :, None]).flatten(3)
        out_c.pow(2).sum().backward()
        print("complex grad", tuple(x.grad.shape), f"{x.grad.norm().item():.4f}")
        gc = x.grad.clone()
        x.grad = None
        # interleaved (GPT-J style): pairs (x0, x1), (x2, x3), ...
        cos = ang.cos().repeat_interleave(2, dim=-1)[None, :, None]
        sin = ang.sin().repeat_interleave(2, dim=-1)[None, :, None]
        x1, x2 = x[..., ::2], x[..., 1::2]
        rot = torch.stack((-x2, x1), dim=-1).flatten(-2)
        out_i = x * cos + rot * sin
        print("interleaved == complex", torch.allclose(out_i, out_c, atol=1e-5))
        (out_i * torch.arange(8.0)).sum().backward()
        print("grad", [round(v, 4) for v in x.grad[0, 1, 0].tolist()])
        print("complex norm grad", torch.allclose(gc, 2 * x.detach(), atol=1e-5))
        w = torch.randn(4, dtype=torch.cfloat, requires_grad=True)
        z = (w * cis[2]).abs().sum() + torch.angle(w).sum()
        z.backward()
        print("complex leaf grad", w.grad.dtype, [round(v, 4) for v in
                                                  torch.view_as_real(w.grad).flatten().tolist()])
        put("ropeg.grad", x.grad)


def section_sdpa_grad() -> None:
    torch.manual_seed(31)
    q = torch.randn(2, 4, 5, 8, requires_grad=True)
    k = torch.randn(2, 2, 5, 8, requires_grad=True)
    v = torch.randn(2, 2, 5, 8, requires_grad=True)
    bias = torch.zeros(4, 5, 5, requires_grad=True)
    with printed("sdpag.log"):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, enable_gqa=True,
                                             scale=0.3)
        (out * torch.linspace(-1, 1, 8)).sum().backward()
        print("out", tuple(out.shape), "grads", tuple(k.grad.shape), tuple(bias.grad.shape))
        print("bias grad rows sum ~0", torch.allclose(bias.grad.sum(-1), torch.zeros(4, 5),
                                                       atol=1e-5))
        print("grad norms", f"{q.grad.norm():.4f} {k.grad.norm():.4f} {v.grad.norm():.4f}")
        with sdpa_kernel(SDPBackend.MATH):
            again = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, enable_gqa=True,
                                                   scale=0.3)
        print("math backend same", torch.allclose(out, again, atol=1e-6))
        try:
            F.scaled_dot_product_attention(q, k[:, :1].expand(2, 3, 5, 8), v, enable_gqa=True)
        except RuntimeError:  # (deltagrad: ShapeError, a RuntimeError subclass)
            print("bad gqa RuntimeError")
        put("sdpag.q", q.grad)
        put("sdpag.bias", bias.grad)


def section_schedules() -> None:
    torch.manual_seed(32)
    lrs = {}
    with printed("sched.log"):
        p = nn.Parameter(torch.zeros(2))
        opt = torch.optim.AdamW([p], lr=1e-3)
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0,
                                                 total_iters=3)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=1e-5)
        seq = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[3])
        out = []
        for _ in range(9):
            opt.step()
            seq.step()
            out.append(f"{opt.param_groups[0]['lr']:.3e}")
        print("sequential", out)
        opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
        one = torch.optim.lr_scheduler.OneCycleLR(opt2, max_lr=0.5, total_steps=8,
                                                  pct_start=0.25)
        rows = []
        for _ in range(8):
            opt2.step()
            rows.append((round(one.get_last_lr()[0], 5),
                         round(opt2.param_groups[0]["momentum"], 4)))
            one.step() if len(rows) < 8 else None
        print("onecycle", rows)
        opt3 = torch.optim.AdamW([{"params": [nn.Parameter(torch.zeros(1))], "lr": 1e-3},
                                  {"params": [nn.Parameter(torch.zeros(1))], "lr": 1e-4}])
        lam = torch.optim.lr_scheduler.LambdaLR(
            opt3, [lambda s: min(1.0, (s + 1) / 3), lambda s: 0.5 * (1 + math.cos(s / 4))])
        for _ in range(4):
            opt3.step()
            lam.step()
        print("two lambdas", [f"{x:.4e}" for x in lam.get_last_lr()])
        print("state keys", sorted(lam.state_dict()))
        lrs["seq"] = [float(v) for v in out]
        put("sched.seq", torch.tensor(lrs["seq"]))


def section_settings() -> None:
    torch.manual_seed(33)
    with printed("set.log"):
        torch.set_float32_matmul_precision("high")
        print("precision", torch.get_float32_matmul_precision())
        torch.set_float32_matmul_precision("highest")
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = False
        print("cuda", torch.cuda.is_available(), "bf16 support",
              torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        device = "cuda" if torch.cuda.is_available() else "cpu"
        ctx = torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=False)
        model = nn.Sequential(nn.Linear(4, 4), nn.GELU(approximate="tanh"), nn.Linear(4, 2))
        model = model.to(device)
        x = torch.randn(3, 4, device=device)
        with ctx:
            print("out", tuple(model(x).shape), sum(p.numel() for p in model.parameters()))
        print("device", x.device, next(model.parameters()).device.type)
        torch.manual_seed(1337)
        print("seeded", torch.randint(0, 100, (5,)).tolist(), torch.randperm(6).tolist())
        g = torch.Generator(device="cpu")
        g.manual_seed(42)
        print("gen", torch.randn(3, generator=g).numpy().round(4).tolist(),
              torch.randint(0, 10, (4,), generator=g).tolist())
        print("initial seed", g.initial_seed())
        put("set.x", x)


def section_compile() -> None:
    torch.manual_seed(37)
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(approximate="tanh"), nn.Linear(4, 2))
    x = torch.randn(3, 4)
    # (PyTorch's first torch.compile imports its compiler stack, which warns the first time in
    # a process only: the section's warnings are not compared)
    with printed("comp.log", warnings_too=False):
        compiled = torch.compile(model)
        out = compiled(x)
        print("compiled same", torch.allclose(out, model(x), atol=1e-6),
              sum(p.numel() for p in compiled.parameters()))
        loss = compiled(x).pow(2).mean()
        loss.backward()
        print("grad", tuple(model[0].weight.grad.shape), f"{loss.item():.4f}")
        step = torch.compile(lambda a, b: (a * b).sum(), fullgraph=True, dynamic=False)
        print("function", round(step(x, x).item(), 4))
        put("comp.out", out)


def section_bf16_train() -> None:
    torch.manual_seed(34)
    net = nn.Sequential(nn.Linear(6, 12), nn.SiLU(), nn.RMSNorm(12), nn.Linear(12, 2))
    net = net.to(torch.bfloat16)
    x, y = torch.randn(8, 6, dtype=torch.bfloat16), torch.randint(0, 2, (8,))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    with printed("bf16.log"):
        for step in range(3):
            logits = net(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} {logits.dtype} loss {loss.item():.2f}")
        print("param", net[0].weight.dtype, net[0].weight.grad.dtype,
              opt.state[net[0].weight]["exp_avg"].dtype)
        print("rmsnorm weight", net[2].weight.dtype, tuple(net[2].weight.shape))
        put("bf16.w", net[3].weight.float())


class CachedAttention(nn.Module):
    def __init__(self, dim=8, heads=2, max_len=8):
        super().__init__()
        self.h, self.hd = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.register_buffer("k_cache", torch.zeros(1, heads, max_len, self.hd), persistent=False)
        self.register_buffer("v_cache", torch.zeros(1, heads, max_len, self.hd), persistent=False)

    def forward(self, x, start):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.h, self.hd).transpose(1, 2) for z in (q, k, v))
        self.k_cache[:, :, start:start + t] = k
        self.v_cache[:, :, start:start + t] = v
        keys, vals = self.k_cache[:, :, :start + t], self.v_cache[:, :, :start + t]
        mask = torch.ones(t, start + t, dtype=torch.bool).tril(diagonal=start)
        y = F.scaled_dot_product_attention(q, keys, vals, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


def section_generate() -> None:
    torch.manual_seed(35)
    emb, attn, head = nn.Embedding(10, 8), CachedAttention(), nn.Linear(8, 10)
    with printed("gen.log"):
        print("buffers", [n for n, _ in attn.named_buffers()], list(attn.state_dict()))
        prompt = torch.tensor([[3, 1, 4]])
        g = torch.Generator().manual_seed(7)
        with torch.inference_mode():
            logits = head(attn(emb(prompt), 0))[:, -1]
            ids = prompt
            for _ in range(4):
                nxt = torch.multinomial(F.softmax(logits / 0.7, -1), 1, generator=g)
                ids = torch.cat([ids, nxt], 1)
                logits = head(attn(emb(nxt), ids.shape[1] - 1))[:, -1]
            print("tokens", ids.tolist(), "inference", ids.is_inference())
            full = head(attn(emb(ids), 0))
        print("cached == full", torch.allclose(logits, full[:, -1], atol=1e-5))
        try:
            full.requires_grad_(True)
        except RuntimeError as e:
            print("inference tensor", type(e).__name__)
        with torch.no_grad():
            top = torch.topk(full[0], 3, dim=-1)
        print("topk", top.indices.tolist())
        put("gen.full", full)


def section_label_smoothing() -> None:
    torch.manual_seed(36)
    logits = torch.randn(6, 5, requires_grad=True)
    y = torch.tensor([0, 4, -100, 2, 2, 1])
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0])
    with printed("ls.log"):
        for red in ("mean", "sum", "none"):
            loss = F.cross_entropy(logits, y, weight=w, ignore_index=-100,
                                   label_smoothing=0.2, reduction=red)
            print(red, [round(v, 4) for v in loss.reshape(-1).tolist()])
        loss = F.cross_entropy(logits, y, weight=w, label_smoothing=0.2)
        loss.backward()
        print("grad row 2 zero", bool((logits.grad[2] == 0).all()))
        soft = torch.full((6, 5), 0.04).scatter_(1, y.clamp(min=0)[:, None], 0.84)
        print("soft targets", round(F.cross_entropy(logits, soft).item(), 4))
        crit = nn.CrossEntropyLoss(label_smoothing=0.1)
        print(crit, round(crit(logits.view(2, 3, 5).transpose(1, 2),
                               y.clamp(min=0).view(2, 3)).item(), 4))
        by_hand = (1 - 0.1) * F.nll_loss(F.log_softmax(logits, -1), y.clamp(min=0)) \
            - 0.1 * F.log_softmax(logits, -1).mean(-1).mean()
        print("by hand", round(by_hand.item(), 4),
              round(nn.CrossEntropyLoss(label_smoothing=0.1)(logits, y.clamp(min=0)).item(), 4))
        put("ls.grad", logits.grad)


SECTIONS = {"rope_grad": section_rope_grad, "sdpa_grad": section_sdpa_grad,
            "schedules": section_schedules, "settings": section_settings,
            "compile": section_compile,
            "bf16_train": section_bf16_train, "generate": section_generate,
            "label_smoothing": section_label_smoothing}
