"""Modern language-model building blocks as widely copied on GitHub, written afresh (PR,
session 18): a LLaMA-style block (RMSNorm, SwiGLU, rotary embeddings through torch.polar /
view_as_complex, tied input and output embeddings) generating with a KV cache and
F.scaled_dot_product_attention (is_causal, bool and float masks); a mixture-of-experts layer
(top-k gating, softmax over the chosen logits, index_add dispatch, a load-balancing loss); a
Mamba-like selective scan in pure torch (depthwise conv1d with padding and slicing, softplus,
exp, cumsum, einsum); RWKV-style time mixing (token shift by ZeroPad2d, a WKV recurrence); and
LoRA layers wrapping nn.Linear (frozen base, merge / unmerge, parameter counts). Tiny sizes;
run by prog_s18_PR_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


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
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


class Attention(nn.Module):
    def __init__(self, dim, n_heads):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, dim // n_heads
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)
        self.cache_k = self.cache_v = None

    def forward(self, x, start_pos, freqs_cis, mask=None):
        bsz, seqlen, _ = x.shape
        xq = self.wq(x).view(bsz, seqlen, self.n_heads, self.head_dim)
        xk = self.wk(x).view(bsz, seqlen, self.n_heads, self.head_dim)
        xv = self.wv(x).view(bsz, seqlen, self.n_heads, self.head_dim)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)
        if start_pos == 0:
            self.cache_k, self.cache_v = xk, xv
        else:
            self.cache_k = torch.cat([self.cache_k, xk], dim=1)
            self.cache_v = torch.cat([self.cache_v, xv], dim=1)
        q, k, v = (t.transpose(1, 2) for t in (xq, self.cache_k, self.cache_v))
        if mask is None and seqlen > 1:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.wo(out.transpose(1, 2).contiguous().view(bsz, seqlen, -1))


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, multiple_of=8):
        super().__init__()
        hidden_dim = multiple_of * ((int(2 * hidden_dim / 3) + multiple_of - 1) // multiple_of)
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Transformer(nn.Module):
    def __init__(self, vocab=17, dim=16, n_heads=2, max_seq=16):
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, dim)
        self.attention_norm, self.ffn_norm, self.norm = RMSNorm(dim), RMSNorm(dim), RMSNorm(dim)
        self.attention = Attention(dim, n_heads)
        self.feed_forward = FeedForward(dim, 4 * dim)
        self.output = nn.Linear(dim, vocab, bias=False)
        self.output.weight = self.tok_embeddings.weight
        self.register_buffer("freqs_cis", precompute_freqs_cis(dim // n_heads, max_seq),
                             persistent=False)

    def forward(self, tokens, start_pos=0, mask=None):
        seqlen = tokens.shape[1]
        h = self.tok_embeddings(tokens)
        freqs_cis = self.freqs_cis[start_pos: start_pos + seqlen]
        h = h + self.attention(self.attention_norm(h), start_pos, freqs_cis, mask)
        h = h + self.feed_forward(self.ffn_norm(h))
        return self.output(self.norm(h)).float()


def section_llama() -> None:
    model = Transformer()
    put("llama.nparams", sum(p.numel() for p in model.parameters()))
    put("llama.state_keys", sorted(model.state_dict()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    tokens = torch.randint(0, 17, (4, 9))
    losses = []
    for _ in range(4):
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("llama.losses", losses)
    put("llama.tied_grad", model.tok_embeddings.weight.grad)
    model.eval()
    with torch.no_grad():
        full = model(tokens[:2, :6])
        # the same logits from a bool mask and from an additive float mask
        causal = torch.ones(6, 6, dtype=torch.bool).tril()
        put("llama.bool_mask", model(tokens[:2, :6], mask=causal) - full)
        float_mask = torch.zeros(6, 6).masked_fill(~causal, float("-inf"))
        put("llama.float_mask", model(tokens[:2, :6], mask=float_mask) - full)
        # greedy decoding with the cache, token by token, against the full recomputation
        prompt = tokens[:2, :3]
        logits = model(prompt, 0)
        generated, cached = prompt, []
        for pos in range(3, 8):
            next_token = torch.argmax(logits[:, -1], dim=-1, keepdim=True)
            generated = torch.cat([generated, next_token], dim=1)
            logits = model(next_token, pos)
            cached.append(logits[:, -1])
        put("llama.generated", generated)
        put("llama.cached_logits", cached)
        put("llama.recomputed", model(generated, 0)[:, 3:])
        temperature_probs = F.softmax(logits[:, -1] / 0.8, dim=-1)
        v, _ = torch.topk(temperature_probs, 3)
        put("llama.topk_filtered", temperature_probs.masked_fill(temperature_probs < v[:, [-1]], 0))


class MoE(nn.Module):
    def __init__(self, dim=8, num_experts=4, top_k=2):
        super().__init__()
        self.num_experts, self.top_k = num_experts, top_k
        self.gate = nn.Linear(dim, num_experts, bias=False)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
            for _ in range(num_experts))

    def forward(self, x):
        b, t, d = x.shape
        x = x.view(-1, d)
        router_logits = self.gate(x)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        topk_weight, topk_idx = torch.topk(routing_weights, self.top_k, dim=-1)
        topk_weight = topk_weight / topk_weight.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(x)
        expert_mask = F.one_hot(topk_idx, num_classes=self.num_experts).permute(2, 1, 0)
        for e, expert in enumerate(self.experts):
            idx, top_x = torch.where(expert_mask[e])
            if top_x.numel() == 0:
                continue
            current = expert(x[top_x]) * topk_weight[top_x, idx, None]
            out.index_add_(0, top_x, current.to(x.dtype))
        tokens_per_expert = torch.mean(expert_mask.float().sum(1), dim=1)
        aux_loss = self.num_experts * torch.sum(tokens_per_expert * routing_weights.mean(0))
        return out.view(b, t, d), aux_loss, topk_idx


def section_moe() -> None:
    moe = MoE()
    optimizer = torch.optim.SGD(moe.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(3, 5, 8), torch.randn(3, 5, 8)
    losses = []
    for step in range(4):
        out, aux, idx = moe(x)
        loss = F.mse_loss(out, y) + 0.01 * aux
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            put("moe.idx", idx)
            put("moe.gate_grad", moe.gate.weight.grad)
        optimizer.step()
        losses.append([loss.item(), aux.item()])
    put("moe.losses", losses)
    put_state("moe", moe)
    # a scatter-based dispatch of the same routing (capacity-free): same outputs
    with torch.no_grad():
        flat = x.view(-1, 8)
        weights = F.softmax(moe.gate(flat), dim=-1)
        top_w, top_i = weights.topk(2, dim=-1)
        dense = torch.zeros_like(weights).scatter(1, top_i, top_w / top_w.sum(-1, keepdim=True))
        stacked = torch.stack([e(flat) for e in moe.experts], dim=1)
        put("moe.scatter_dispatch",
            torch.einsum("ne,ned->nd", dense, stacked) - moe(x)[0].view(-1, 8))


def selective_scan(u, delta, A, B, C, D):
    deltaA = torch.exp(torch.einsum("bld,dn->bldn", delta, A))
    deltaB_u = torch.einsum("bld,bln,bld->bldn", delta, B, u)
    x = torch.zeros(u.shape[0], A.shape[0], A.shape[1])
    ys = []
    for i in range(u.shape[1]):
        x = deltaA[:, i] * x + deltaB_u[:, i]
        ys.append(torch.einsum("bdn,bn->bd", x, C[:, i, :]))
    return torch.stack(ys, dim=1) + u * D


class MambaBlock(nn.Module):
    def __init__(self, d_model=8, d_state=4, d_conv=3, expand=2):
        super().__init__()
        d_inner, self.dt_rank = expand * d_model, math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, d_inner * 2, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, self.dt_rank + d_state * 2, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self.d_state = d_state

    def forward(self, x):
        _, L, _ = x.shape
        x, res = self.in_proj(x).chunk(2, dim=-1)
        x = self.conv1d(x.transpose(1, 2))[:, :, :L].transpose(1, 2)
        x = F.silu(x)
        delta, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(delta))
        y = selective_scan(x, delta, -torch.exp(self.A_log.float()), B, C, self.D.float())
        return self.out_proj(y * F.silu(res))


def section_mamba() -> None:
    block = MambaBlock()
    optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
    x = torch.randn(2, 6, 8)
    losses = []
    for _ in range(3):
        loss = (block(x) - x.flip(1)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("mamba.losses", losses)
    put("mamba.A_log_grad", block.A_log.grad)
    put_state("mamba", block)
    # the closed form of a time-invariant scan through cumsum of log decays
    a, b = torch.rand(2, 6, 3) * 0.5 + 0.4, torch.randn(2, 6, 3)
    log_cum = torch.cumsum(torch.log(a), dim=1)
    closed = torch.exp(log_cum) * torch.cumsum(b * torch.exp(-log_cum), dim=1)
    h, loop = torch.zeros(2, 3), []
    for t in range(6):
        h = a[:, t] * h + b[:, t]
        loop.append(h)
    put("mamba.closed_vs_loop", closed - torch.stack(loop, 1))


class RWKVTimeMix(nn.Module):
    def __init__(self, n_embd=8):
        super().__init__()
        self.time_decay = nn.Parameter(torch.linspace(-1, 1, n_embd))
        self.time_first = nn.Parameter(torch.full((n_embd,), math.log(0.3)))
        ratio = torch.arange(n_embd).float() / n_embd
        self.time_mix_k = nn.Parameter(ratio.pow(0.5).view(1, 1, n_embd))
        self.time_mix_v = nn.Parameter(ratio.pow(0.7).view(1, 1, n_embd))
        self.time_mix_r = nn.Parameter(ratio.pow(0.3).view(1, 1, n_embd))
        self.time_shift = nn.ZeroPad2d((0, 0, 1, -1))
        self.key = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(n_embd, n_embd, bias=False)
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.output = nn.Linear(n_embd, n_embd, bias=False)

    def forward(self, x):
        xx = self.time_shift(x)
        k = self.key(x * self.time_mix_k + xx * (1 - self.time_mix_k))
        v = self.value(x * self.time_mix_v + xx * (1 - self.time_mix_v))
        r = torch.sigmoid(self.receptance(x * self.time_mix_r + xx * (1 - self.time_mix_r)))
        w, u = -torch.exp(self.time_decay), self.time_first
        aa = torch.zeros_like(k[:, 0])
        bb = torch.zeros_like(k[:, 0])
        pp = torch.full_like(k[:, 0], -1e38)
        outs = []
        for t in range(x.shape[1]):
            kt, vt = k[:, t], v[:, t]
            ww = u + kt
            q = torch.maximum(pp, ww)
            e1, e2 = torch.exp(pp - q), torch.exp(ww - q)
            outs.append((e1 * aa + e2 * vt) / (e1 * bb + e2))
            ww = pp + w
            q = torch.maximum(ww, kt)
            e1, e2 = torch.exp(ww - q), torch.exp(kt - q)
            aa, bb, pp = e1 * aa + e2 * vt, e1 * bb + e2, q
        return self.output(r * torch.stack(outs, dim=1))


def section_rwkv() -> None:
    mix = RWKVTimeMix()
    optimizer = torch.optim.Adam(mix.parameters(), lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    x = torch.randn(2, 5, 8)
    put("rwkv.shifted", mix.time_shift(x))
    losses = []
    for _ in range(3):
        loss = F.mse_loss(mix(x), torch.tanh(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("rwkv.losses", losses)
    put("rwkv.grad_decay", mix.time_decay.grad)
    put("rwkv.grad_first", mix.time_first.grad)
    put_state("rwkv", mix)


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r=2, alpha=4, dropout=0.0):
        super().__init__()
        self.base = base
        self.base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.zeros(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def forward(self, x):
        out = self.base(x)
        if not self.merged:
            out = out + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling
        return out

    @torch.no_grad()
    def merge(self):
        if not self.merged:
            self.base.weight.data += (self.lora_B @ self.lora_A) * self.scaling
            self.merged = True

    @torch.no_grad()
    def unmerge(self):
        if self.merged:
            self.base.weight.data -= (self.lora_B @ self.lora_A) * self.scaling
            self.merged = False


def section_lora() -> None:
    model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    for i in (0, 2):
        model[i] = LoRALinear(model[i])
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    put("lora.counts", [trainable, total])
    put("lora.trainable_names", [n for n, p in model.named_parameters() if p.requires_grad])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x, y = torch.randn(10, 6), torch.randint(0, 3, (10,))
    losses = []
    for _ in range(4):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("lora.losses", losses)
    put("lora.base_grad_is_none", model[0].base.weight.grad is None)
    unmerged = model(x)
    for i in (0, 2):
        model[i].merge()
    put("lora.merged_diff", model(x) - unmerged)
    put("lora.merged_weight", model[0].base.weight)
    for i in (0, 2):
        model[i].unmerge()
    put("lora.unmerged_diff", model(x) - unmerged)
    put_state("lora", model)


SECTIONS = {"llama": section_llama, "moe": section_moe, "mamba": section_mamba,
            "rwkv": section_rwkv, "lora": section_lora}
