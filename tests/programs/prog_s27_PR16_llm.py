"""Modern decoder-model components (PR16, session 27), written afresh the way today's public
model code writes them: RMSNorm by hand and nn.RMSNorm, rotary embeddings as complex numbers
(torch.polar / view_as_complex) and as cos / sin with rotate_half, SwiGLU, grouped-query
attention (repeat_interleave, expand + reshape, scaled_dot_product_attention's enable_gqa), a
KV cache (torch.cat and index_copy_), causal / sliding-window / ALiBi masks, top-k / top-p
sampling under a seeded generator, beam-search bookkeeping, Mixture-of-Experts routing, LoRA
with weight tying, AdamW parameter groups with a warmup-cosine LambdaLR, label smoothing and
z-loss, gradient checkpointing. Tiny sizes, seeded; run by prog_s27_PR16_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.utils.checkpoint import checkpoint


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        return self._norm(x.float()).type_as(x) * self.weight


def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device, dtype=torch.float32)
    freqs = torch.outer(t, freqs)
    return torch.polar(torch.ones_like(freqs), freqs)


def apply_rotary_complex(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    shape = [d if i == 1 or i == xq_.ndim - 1 else 1 for i, d in enumerate(xq_.shape)]
    freqs_cis = freqs_cis.view(*shape)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(dim, seq, base=10000.0):
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    t = torch.arange(seq).type_as(inv_freq)
    freqs = torch.einsum("i,j->ij", t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def section_rmsnorm() -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 5, 8)
    mine, ref = RMSNorm(8, eps=1e-6), nn.RMSNorm(8, eps=1e-6)
    with printed("rms.log"):
        print(ref)
        print("same", torch.allclose(mine(x), ref(x), atol=1e-6))
        print("default eps", nn.RMSNorm(4).eps, "functional",
              F.rms_norm(x, (8,)).pow(2).mean(-1).mean().item().__round__(4))
        net = nn.Sequential(nn.Linear(8, 8), RMSNorm(8), nn.Linear(8, 1))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        y = torch.randn(2, 5, 1)
        for step in range(4):
            loss = F.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f}")
        half = RMSNorm(8).to(torch.bfloat16)
        out = half(x.to(torch.bfloat16))
        print("bf16", out.dtype, tuple(out.shape))
        put("rms.out", ref(x))
        put("rms.w", net[1].weight)


def section_rope() -> None:
    torch.manual_seed(2)
    bsz, seq, heads, hd = 2, 6, 3, 8
    xq, xk = torch.randn(bsz, seq, heads, hd), torch.randn(bsz, seq, heads, hd)
    with printed("rope.log"):
        fc = precompute_freqs_cis(hd, seq)
        print("freqs_cis", fc.dtype, tuple(fc.shape), f"{fc.abs().mean().item():.4f}")
        q1, k1 = apply_rotary_complex(xq, xk, fc)
        print("complex out", q1.dtype, tuple(q1.shape))
        print("norm kept", torch.allclose(q1.norm(dim=-1), xq.norm(dim=-1), atol=1e-5))
        # relative positions only: q_m . k_n depends on m - n
        s1 = torch.einsum("bqhd,bkhd->bhqk", q1, k1)
        cos, sin = rope_cos_sin(hd, seq)
        q = xq.transpose(1, 2)
        qh = q * cos[None, None] + rotate_half(q) * sin[None, None]
        print("half out", tuple(qh.shape), f"{qh.norm().item():.4f} {q.norm().item():.4f}")
        # shift invariance of the cos / sin form
        v = torch.randn(hd)
        c2, s2 = rope_cos_sin(hd, 10)
        a = (v * c2[3] + rotate_half(v) * s2[3]) @ (v * c2[1] + rotate_half(v) * s2[1])
        b = (v * c2[7] + rotate_half(v) * s2[7]) @ (v * c2[5] + rotate_half(v) * s2[5])
        print("shift invariant", torch.allclose(a, b, atol=1e-4))
        ang = torch.angle(fc[3])
        print("angles", [round(t, 4) for t in ang.tolist()])
        re = torch.view_as_real(fc)
        print("view_as_real", tuple(re.shape), re.stride(), fc.real.stride())
        z = torch.complex(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]))
        print("complex", z, z.abs(), torch.polar(torch.tensor(2.0), torch.tensor(math.pi / 2)))
        put("rope.s1", s1)
        put("rope.qh", qh)


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class GQA(nn.Module):
    def __init__(self, dim, n_heads, n_kv):
        super().__init__()
        self.h, self.kv, self.hd = n_heads, n_kv, dim // n_heads
        self.wq = nn.Linear(dim, n_heads * self.hd, bias=False)
        self.wk = nn.Linear(dim, n_kv * self.hd, bias=False)
        self.wv = nn.Linear(dim, n_kv * self.hd, bias=False)
        self.wo = nn.Linear(n_heads * self.hd, dim, bias=False)

    def forward(self, x, mode):
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.wk(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.wv(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        rep = self.h // self.kv
        if mode == "interleave":
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif mode == "expand":
            k = k[:, :, None].expand(b, self.kv, rep, t, self.hd).reshape(b, self.h, t, self.hd)
            v = v[:, :, None].expand(b, self.kv, rep, t, self.hd).reshape(b, self.h, t, self.hd)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
            mask = torch.tril(torch.ones(t, t, dtype=torch.bool))
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            out = att @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.wo(out.transpose(1, 2).contiguous().view(b, t, -1))


def section_swiglu_gqa() -> None:
    torch.manual_seed(3)
    x = torch.randn(2, 5, 16)
    attn, mlp = GQA(16, 4, 2), SwiGLU(16, 24)
    with printed("gqa.log"):
        outs = {m: attn(x, m) for m in ("interleave", "expand", "gqa")}
        print("interleave~expand", torch.allclose(outs["interleave"], outs["expand"], atol=1e-5))
        print("interleave~gqa", torch.allclose(outs["interleave"], outs["gqa"], atol=1e-5))
        print(mlp)
        y = mlp(x)
        print("swiglu", tuple(y.shape), f"{y.std().item():.4f}")
        opt = torch.optim.AdamW(list(attn.parameters()) + list(mlp.parameters()), lr=1e-2)
        for step in range(3):
            h = x + attn(x, "gqa")
            h = h + mlp(h)
            loss = h.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f}")
        put("gqa.out", outs["gqa"])
        put("gqa.wk", attn.wk.weight)


def section_kv_cache() -> None:
    torch.manual_seed(4)
    b, h, hd, t_max = 1, 2, 4, 6
    wq, wk, wv = (torch.randn(8, h * hd) for _ in range(3))
    xs = torch.randn(b, t_max, 8)
    with printed("kv.log"):
        def split(x):
            return x.view(b, -1, h, hd).transpose(1, 2)

        q, k, v = split(xs @ wq), split(xs @ wk), split(xs @ wv)
        full = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        cache_k = torch.zeros(b, h, t_max, hd)
        cache_v = torch.zeros(b, h, t_max, hd)
        cat_k = cat_v = None
        steps_a, steps_b = [], []
        for pos in range(t_max):
            x = xs[:, pos:pos + 1]
            qi, ki, vi = split(x @ wq), split(x @ wk), split(x @ wv)
            idx = torch.tensor([pos])
            cache_k.index_copy_(2, idx, ki)
            cache_v.index_copy_(2, idx, vi)
            o1 = F.scaled_dot_product_attention(qi, cache_k[:, :, :pos + 1],
                                                cache_v[:, :, :pos + 1])
            cat_k = ki if cat_k is None else torch.cat([cat_k, ki], dim=2)
            cat_v = vi if cat_v is None else torch.cat([cat_v, vi], dim=2)
            o2 = F.scaled_dot_product_attention(qi, cat_k, cat_v)
            steps_a.append(o1)
            steps_b.append(o2)
        inc = torch.cat(steps_a, dim=2)
        print("cache shapes", tuple(cache_k.shape), tuple(cat_k.shape))
        print("index_copy == cat", torch.allclose(inc, torch.cat(steps_b, dim=2), atol=1e-6))
        print("incremental == full", torch.allclose(inc, full, atol=1e-5))
        rolled = torch.roll(cache_k, shifts=-1, dims=2)
        print("rolled", rolled[0, 0, -1].tolist() == cache_k[0, 0, 0].tolist())
        try:
            cache_k.index_copy_(2, torch.tensor([0, 1]), ki)
        except (RuntimeError, IndexError) as e:
            print("bad index_copy", type(e).__name__)
        put("kv.full", full)
        put("kv.inc", inc)


def section_masks() -> None:
    torch.manual_seed(5)
    b, h, t, d = 1, 4, 6, 8
    q, k, v = torch.randn(b, h, t, d), torch.randn(b, h, t, d), torch.randn(b, h, t, d)
    with printed("mask.log"):
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        print(causal)
        keep = torch.tril(torch.ones(t, t, dtype=torch.bool))
        a1 = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
        a2 = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        a3 = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        print("float~bool", torch.allclose(a1, a2, atol=1e-6), "bool~causal",
              torch.allclose(a2, a3, atol=1e-6))
        window = 2
        i = torch.arange(t)
        sliding = (i[:, None] >= i[None, :]) & (i[:, None] - i[None, :] < window)
        print(sliding.int())
        a4 = F.scaled_dot_product_attention(q, k, v, attn_mask=sliding, scale=0.5)
        manual = ((q @ k.transpose(-1, -2)) * 0.5).masked_fill(~sliding, float("-inf"))
        print("sliding scale", torch.allclose(a4, manual.softmax(-1) @ v, atol=1e-5))

        def alibi_slopes(n):
            start = 2 ** (-(2 ** -(math.log2(n) - 3)))
            return torch.tensor([start * start ** j for j in range(n)])

        slopes = alibi_slopes(h)
        print("slopes", [round(s, 5) for s in slopes.tolist()])
        rel = (i[None, :] - i[:, None]).float()
        bias = slopes[:, None, None] * rel[None]
        bias = bias.masked_fill(~keep, float("-inf"))
        a5 = F.scaled_dot_product_attention(q, k, v, attn_mask=bias[None])
        print("alibi", tuple(a5.shape), f"{a5.abs().sum().item():.3f}")
        both = bias[None] + torch.zeros(b, 1, 1, t)
        print("mask broadcast", tuple(both.shape))
        both = F.scaled_dot_product_attention(q, k, v, attn_mask=sliding.float().log(),
                                              is_causal=True)
        print("mask and is_causal", torch.allclose(both, F.scaled_dot_product_attention(
            q, k, v, attn_mask=sliding), atol=1e-6))
        try:
            F.scaled_dot_product_attention(q[0], k[0], v[0], attn_mask=keep, is_causal=True)
        except (RuntimeError, ValueError) as e:
            print("3-d mask and is_causal", type(e).__name__)
        p = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
        print("no mask", tuple(p.shape))
        put("mask.a4", a4)
        put("mask.a5", a5)


def top_k_top_p(logits, top_k=0, top_p=1.0, filter_value=-float("inf")):
    if top_k > 0:
        kth = torch.topk(logits, top_k)[0][..., -1, None]
        logits = logits.masked_fill(logits < kth, filter_value)
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=True)
        cum = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        remove = cum > top_p
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        to_remove = remove.scatter(1, sorted_idx, remove)
        logits = logits.masked_fill(to_remove, filter_value)
    return logits


def section_sampling() -> None:
    torch.manual_seed(6)
    vocab = 12
    emb = nn.Embedding(vocab, 8)
    head = nn.Linear(8, vocab, bias=False)
    head.weight = emb.weight
    with printed("samp.log"):
        g = torch.Generator().manual_seed(1234)
        logits = torch.randn(3, vocab) * 2
        f1 = top_k_top_p(logits, top_k=4)
        print("top-k kept", (f1 > -float("inf")).sum(-1).tolist())
        f2 = top_k_top_p(logits, top_p=0.7)
        print("top-p kept", (f2 > -float("inf")).sum(-1).tolist())
        probs = F.softmax(f2 / 0.8, dim=-1)
        draws = torch.multinomial(probs, num_samples=5, replacement=True, generator=g)
        print("draws", draws.tolist())
        print("one", torch.multinomial(probs, 1, generator=g).squeeze(-1).tolist())
        ids = torch.tensor([[1]])
        for _ in range(6):
            out = head(emb(ids))[:, -1, :]
            p = F.softmax(top_k_top_p(out, top_k=5, top_p=0.9), dim=-1)
            nxt = torch.multinomial(p, num_samples=1, generator=g)
            ids = torch.cat((ids, nxt), dim=1)
        print("generated", ids.tolist())
        greedy = torch.argmax(head(emb(ids)), dim=-1)
        print("greedy", greedy.tolist())
        print("tied", head.weight is emb.weight, len(list(nn.ModuleList([emb, head]).parameters())))
        put("samp.probs", probs)


def section_beam() -> None:
    torch.manual_seed(7)
    vocab, beams, steps = 7, 3, 4
    table = torch.randn(vocab, vocab).log_softmax(-1)
    with printed("beam.log"):
        seqs = torch.zeros(beams, 1, dtype=torch.long)
        scores = torch.tensor([0.0] + [-float("inf")] * (beams - 1))
        for _ in range(steps):
            logp = table[seqs[:, -1]]
            cand = (scores[:, None] + logp).view(-1)
            top, idx = cand.topk(beams)
            beam_idx = torch.div(idx, vocab, rounding_mode="floor")
            tok = idx % vocab
            seqs = torch.cat([seqs.index_select(0, beam_idx), tok[:, None]], dim=1)
            scores = top
            print("beams", beam_idx.tolist(), "tokens", tok.tolist())
        print("sequences", seqs.tolist())
        print("scores", [round(s, 4) for s in scores.tolist()])
        lp = ((5 + seqs.shape[1]) / 6) ** 0.6
        best = torch.gather(scores / lp, 0, torch.tensor([0, 2]))
        print("gathered", [round(s, 4) for s in best.tolist()])
        batched = table.expand(2, vocab, vocab)
        picked = batched.gather(2, torch.tensor([[[1], [2]], [[3], [4]]]).expand(2, 2, 1))
        print("batched gather", tuple(picked.shape))
        put("beam.scores", scores)


class MoE(nn.Module):
    def __init__(self, dim, n_exp, k):
        super().__init__()
        self.k, self.n = k, n_exp
        self.gate = nn.Linear(dim, n_exp, bias=False)
        self.experts = nn.ModuleList(nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                                   nn.Linear(2 * dim, dim))
                                     for _ in range(n_exp))

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])
        logits = self.gate(flat)
        probs = logits.softmax(-1)
        w, idx = torch.topk(probs, self.k, dim=-1)
        w = w / w.sum(-1, keepdim=True)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.where(idx == e)
            if rows.numel() == 0:
                continue
            y = expert(flat[rows]) * w[rows, slot, None]
            out.index_add_(0, rows, y)
        onehot = F.one_hot(idx[:, 0], self.n).float()
        frac = onehot.mean(0)
        aux = self.n * (frac * probs.mean(0)).sum()
        z = torch.logsumexp(logits, -1).pow(2).mean()
        counts = torch.zeros(self.n, dtype=torch.long).scatter_add_(
            0, idx.flatten(), torch.ones(idx.numel(), dtype=torch.long))
        return out.view_as(x), aux, z, counts


def section_moe() -> None:
    torch.manual_seed(8)
    moe = MoE(6, 4, 2)
    x = torch.randn(3, 5, 6)
    target = torch.randn(3, 5, 6)
    opt = torch.optim.Adam(moe.parameters(), lr=1e-2)
    with printed("moe.log"):
        for step in range(4):
            out, aux, z, counts = moe(x)
            loss = F.mse_loss(out, target) + 0.01 * aux + 1e-3 * z
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f} aux {aux.item():.4f} counts "
                  f"{counts.tolist()}")
        print("gate grad", moe.gate.weight.grad is not None, tuple(moe.gate.weight.grad.shape))
        buckets = torch.bincount(torch.topk(moe.gate(x.view(-1, 6)), 1).indices.flatten(),
                                 minlength=4)
        print("bincount", buckets.tolist())
        put("moe.out", out)


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r=2, alpha=4):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        if self.base.bias is not None:
            self.base.bias.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def merged(self):
        return self.base.weight + self.lora_B @ self.lora_A * self.scaling


def section_lora() -> None:
    torch.manual_seed(9)
    layer = LoRALinear(nn.Linear(6, 4))
    x, y = torch.randn(10, 6), torch.randint(0, 4, (10,))
    with printed("lora.log"):
        trainable = [n for n, p in layer.named_parameters() if p.requires_grad]
        print("trainable", trainable, sum(p.numel() for p in layer.parameters()
                                          if p.requires_grad))
        decay = [p for n, p in layer.named_parameters() if p.requires_grad and p.ndim >= 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}], lr=0.05)
        for step in range(4):
            loss = F.cross_entropy(layer(x), y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f}")
        print("frozen grad", layer.base.weight.grad)
        merged = F.linear(x, layer.merged(), layer.base.bias)
        print("merge", torch.allclose(merged, layer(x), atol=1e-5))
        put("lora.B", layer.lora_B)


class TinyLM(nn.Module):
    def __init__(self, vocab=11, dim=8):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim),
                                                  nn.GELU(approximate="tanh"))
                                    for _ in range(2))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, ids, ckpt=False):
        h = self.tok(ids)
        for block in self.blocks:
            h = h + (checkpoint(block, h, use_reentrant=False) if ckpt else block(h))
        return self.head(self.norm(h))


def section_train_recipe() -> None:
    torch.manual_seed(10)
    model = TinyLM()
    ids = torch.randint(0, 11, (4, 7))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name or name.endswith("bias") else decay).append(p)
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=3e-3, betas=(0.9, 0.95), eps=1e-8)
    warmup, total = 2, 8

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    with printed("rec.log"):
        print("groups", [len(g["params"]) for g in opt.param_groups],
              "tied params", len(list(model.parameters())))
        for step in range(total):
            logits = model(ids[:, :-1], ckpt=step % 2 == 1)
            ce = F.cross_entropy(logits.reshape(-1, 11), ids[:, 1:].reshape(-1),
                                 label_smoothing=0.1)
            zl = 1e-4 * torch.logsumexp(logits, dim=-1).pow(2).mean()
            loss = ce + zl
            opt.zero_grad()
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            print(f"step {step} lr {sched.get_last_lr()[0]:.6f} loss {loss.item():.4f} "
                  f"gn {gn.item():.4f}")
        print("state groups", [g["weight_decay"] for g in opt.state_dict()["param_groups"]])
        grads = []
        for ckpt in (True, False):
            model.zero_grad()
            model(ids, ckpt=ckpt).sum().backward()
            grads.append(model.tok.weight.grad.clone())
        g1, g2 = grads
        print("checkpoint same grad", torch.allclose(g1, g2, atol=1e-5))
        put("rec.tok", model.tok.weight)


SECTIONS = {"rmsnorm": section_rmsnorm, "rope": section_rope, "swiglu_gqa": section_swiglu_gqa,
            "kv_cache": section_kv_cache, "masks": section_masks, "sampling": section_sampling,
            "beam": section_beam, "moe": section_moe, "lora": section_lora,
            "train_recipe": section_train_recipe}
