"""Audio features, text pipelines, decoding and modern LLM blocks written in torch (PR8, session
24): torch.stft of a chirp, a mel filterbank and an orthonormal DCT-II built by hand, MFCCs with
deltas and CMVN, the gradient of a feature back to the waveform, the istft round trip; a
vocabulary from a Counter, bucketing, padding, padding + causal masks fed to
scaled_dot_product_attention and checked against the softmax written out; greedy, beam search
with a length penalty, top-k / top-p / temperature sampling with a Generator and a repetition
penalty over a tiny LM, incremental decoding with a KV cache against full recomputation; RoPE
(complex and rotate-half forms), RMSNorm, SwiGLU, grouped-query attention with a sliding
window, attention in key chunks with a running max (flash-style), a few AdamW steps of such a
block. Tiny sizes; run by prog_s24_PR8_all.py.
"""

import math
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put
from torch.nn.utils.rnn import pad_sequence


def mel_filterbank(n_mels, n_fft, sr, f_min=0.0, f_max=None):
    f_max = f_max or sr / 2
    to_mel = lambda f: 2595.0 * torch.log10(1.0 + f / 700.0)  # noqa: E731
    to_hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    mels = torch.linspace(to_mel(torch.tensor(f_min)).item(), to_mel(torch.tensor(f_max)).item(),
                          n_mels + 2)
    hz = to_hz(mels)
    freqs = torch.linspace(0, sr / 2, n_fft // 2 + 1)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (center - lower)
    down = (upper - freqs[None]) / (upper - center)
    return torch.clamp(torch.minimum(up, down), min=0.0)  # [n_mels, n_freqs]


def dct_matrix(n_out, n_in):
    n = torch.arange(n_in, dtype=torch.float32)
    k = torch.arange(n_out, dtype=torch.float32)[:, None]
    m = torch.cos(math.pi / n_in * (n + 0.5) * k) * math.sqrt(2.0 / n_in)
    m[0] *= 1 / math.sqrt(2.0)
    return m


def section_audio() -> None:
    g = torch.Generator().manual_seed(90)
    sr, n = 8000, 2048
    t = torch.arange(n) / sr
    wave = (torch.sin(2 * math.pi * (300 + 900 * t) * t) + 0.3 * torch.sin(2 * math.pi * 1200 * t)
            + 0.05 * torch.randn(n, generator=g)).requires_grad_(True)
    window = torch.hann_window(256)
    spec = torch.stft(wave, n_fft=256, hop_length=64, window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    power = spec.abs() ** 2
    fb = mel_filterbank(20, 256, sr)
    put("audio.fb_rowsum", fb.sum(1))
    log_mel = torch.log(fb @ power + 1e-6)
    mfcc = dct_matrix(13, 20) @ log_mel  # [13, frames]
    put("audio.power_frames", power.sum(0))
    put("audio.mfcc", mfcc)
    # deltas: a 5-tap regression filter over frames, edges replicated
    kernel = torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]) / 10
    padded = F.pad(mfcc[:, None, :], (2, 2), mode="replicate")
    deltas = F.conv1d(padded, kernel.view(1, 1, 5))[:, 0]
    put("audio.deltas", deltas)
    feats = torch.cat([mfcc, deltas])
    cmvn = (feats - feats.mean(1, keepdim=True)) / (feats.std(1, keepdim=True) + 1e-5)
    put("audio.cmvn_std", cmvn.std(1))
    # the energy in the 6th mel band over time, back to the waveform
    log_mel[5].sum().backward()
    put("audio.wave_grad", wave.grad)
    with torch.no_grad():
        back = torch.istft(spec, n_fft=256, hop_length=64, window=window, center=True, length=n)
        put("audio.istft_gap", (back - wave).abs().max())
        put("audio.peak_bins", power[:, 4:-4].argmax(0))
        # DCT-II orthonormal: its rows are orthonormal
        d = dct_matrix(20, 20)
        put("audio.dct_orth_gap", (d @ d.T - torch.eye(20)).abs().max())


CORPUS = ["the cat sat on the mat", "a dog ran", "the dog and the cat ran to the mat",
          "birds fly", "a cat is not a dog but the mat is the mat", "run", "the end of it"]


def build_vocab(lines, min_freq=1, specials=("<pad>", "<unk>", "<bos>", "<eos>")):
    counts = Counter(word for line in lines for word in line.split())
    words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    itos = list(specials) + words
    return {w: i for i, w in enumerate(itos)}, itos


def section_text() -> None:
    stoi, itos = build_vocab(CORPUS, min_freq=2)
    unk = stoi["<unk>"]
    encoded = [torch.tensor([stoi["<bos>"]] + [stoi.get(w, unk) for w in line.split()]
                            + [stoi["<eos>"]]) for line in CORPUS]
    put("text.vocab", " ".join(itos))
    put("text.unk_count", sum(int((e == unk).sum()) for e in encoded))
    # buckets: sort by length, batches of 3, shuffled with a Generator
    g = torch.Generator().manual_seed(91)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    batches = [order[i:i + 3] for i in range(0, len(order), 3)]
    batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
    put("text.batches", str(batches))
    emb = nn.Embedding(len(itos), 8, padding_idx=0)
    proj = nn.Linear(8, 24)
    for b, idx in enumerate(batches):
        ids = pad_sequence([encoded[i] for i in idx], batch_first=True, padding_value=0)
        pad_mask = ids != 0
        length = ids.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        allowed = causal[None] & pad_mask[:, None, :]  # [B, Lq, Lk]
        q, k, v = proj(emb(ids)).view(len(idx), length, 3, 2, 4).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None])
        scores = q @ k.transpose(-1, -2) / math.sqrt(4)
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        manual = scores.softmax(-1) @ v
        put(f"text.b{b}.ids", ids)
        put(f"text.b{b}.sdpa", out)
        put(f"text.b{b}.gap", (out - manual).abs().max())
        pooled = (emb(ids) * pad_mask[..., None]).sum(1) / pad_mask.sum(1, keepdim=True)
        put(f"text.b{b}.pooled", pooled)
        additive = torch.zeros(length, length).masked_fill(~causal, float("-inf"))
        put(f"text.b{b}.additive_rows", additive.isinf().sum(1))


class TinyLM(nn.Module):
    """One causal attention layer over token + position embeddings, with a KV cache."""

    def __init__(self, vocab=12, dim=16, heads=2, max_len=24):
        super().__init__()
        self.heads = heads
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(max_len, dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, ids, cache=None):
        b, length = ids.shape
        start = 0 if cache is None else cache[0].shape[2]
        x = self.tok(ids) + self.pos(torch.arange(start, start + length))
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        if cache is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None)
        x = x + self.out(out.transpose(1, 2).reshape(b, length, -1))
        return self.head(x), (k, v)


def _lm():
    torch.manual_seed(92)
    model = TinyLM()
    model.eval()
    return model


def section_decoding() -> None:
    model = _lm()
    prompt = torch.tensor([[1, 5, 3]])
    with torch.no_grad():
        ids = prompt
        for _ in range(6):  # greedy, full recomputation
            ids = torch.cat([ids, model(ids)[0][:, -1].argmax(-1, keepdim=True)], 1)
        put("dec.greedy", ids)
        # top-k / top-p / temperature sampling with a repetition penalty, a Generator
        g = torch.Generator().manual_seed(93)
        for temperature, top_k, top_p in ((0.7, 5, 1.0), (1.0, 0, 0.8), (1.3, 4, 0.9)):
            ids = prompt
            chosen = []
            for _ in range(8):
                logits = model(ids)[0][:, -1].clone()
                seen = logits.gather(1, ids)
                logits.scatter_(1, ids, torch.where(seen > 0, seen / 1.3, seen * 1.3))
                logits = logits / temperature
                if top_k:
                    kth = logits.topk(top_k).values[:, -1, None]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                if top_p < 1.0:
                    sorted_logits, order = logits.sort(descending=True)
                    cum = sorted_logits.softmax(-1).cumsum(-1)
                    drop = cum - sorted_logits.softmax(-1) > top_p
                    logits = logits.masked_fill(drop.scatter(1, order, drop), float("-inf"))
                probs = logits.softmax(-1)
                chosen.append(probs.max().item())
                ids = torch.cat([ids, torch.multinomial(probs, 1, generator=g)], 1)
            put(f"dec.sample_t{temperature}", ids)
            put(f"dec.sample_t{temperature}.pmax", torch.tensor(chosen))


def beam_search(model, prompt, beams=3, steps=6, eos=0, alpha=0.6):
    seqs = prompt.repeat(1, 1)
    scores = torch.zeros(1)
    finished = []
    for _ in range(steps):
        logp = model(seqs)[0][:, -1].log_softmax(-1)
        total = (scores[:, None] + logp).view(-1)
        top, flat = total.topk(2 * beams)
        vocab = logp.shape[1]
        nxt_seqs, nxt_scores = [], []
        for s, f in zip(top.tolist(), flat.tolist()):
            seq = torch.cat([seqs[f // vocab], torch.tensor([f % vocab])])
            if f % vocab == eos:
                length = seq.numel() - prompt.shape[1]
                finished.append((s / ((5 + length) / 6) ** alpha, seq))
            elif len(nxt_seqs) < beams:
                nxt_seqs.append(seq)
                nxt_scores.append(s)
        seqs, scores = torch.stack(nxt_seqs), torch.tensor(nxt_scores)
    length = seqs.shape[1] - prompt.shape[1]
    finished += [(s / ((5 + length) / 6) ** alpha, q) for s, q in zip(scores.tolist(), seqs)]
    return sorted(finished, key=lambda item: -item[0])


def section_beam_kv() -> None:
    model = _lm()
    prompt = torch.tensor([[2, 7]])
    with torch.no_grad():
        results = beam_search(model, prompt)
        put("beam.scores", torch.tensor([s for s, _ in results[:4]]))
        put("beam.best", results[0][1])
        # KV cache: the prompt once, then one token a step, against recomputing everything
        logits, cache = model(prompt)
        ids = prompt
        cached_logits = []
        for _ in range(8):
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, nxt], 1)
            logits, cache = model(nxt, cache)
            cached_logits.append(logits[:, -1])
        full = model(ids)[0][:, 2:]
        put("kv.ids", ids)
        put("kv.logits", torch.stack(cached_logits, 1))
        put("kv.gap", (torch.stack(cached_logits, 1) - full).abs().max())
        put("kv.cache_shape", torch.tensor(cache[0].shape))


def rope_complex(x, base=10000.0):
    b, h, length, d = x.shape
    freqs = 1.0 / base ** (torch.arange(0, d, 2).float() / d)
    angles = torch.outer(torch.arange(length).float(), freqs)
    rot = torch.polar(torch.ones_like(angles), angles)
    xc = torch.view_as_complex(x.float().reshape(b, h, length, d // 2, 2))
    return torch.view_as_real(xc * rot).flatten(3).type_as(x)


def rope_half(x, base=10000.0):
    length, d = x.shape[-2:]
    freqs = 1.0 / base ** (torch.arange(0, d, 2).float() / d)
    angles = torch.outer(torch.arange(length).float(), freqs)
    emb = torch.cat([angles, angles], -1)
    x1, x2 = x.chunk(2, -1)
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Block(nn.Module):
    def __init__(self, dim=16, heads=4, kv_heads=2, window=3):
        super().__init__()
        self.heads, self.kv_heads, self.window, self.hd = heads, kv_heads, window, dim // heads
        self.norm1, self.norm2 = RMSNorm(dim), RMSNorm(dim)
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * kv_heads * self.hd, bias=False)
        self.o = nn.Linear(dim, dim, bias=False)
        self.gate, self.up = nn.Linear(dim, 32, bias=False), nn.Linear(dim, 32, bias=False)
        self.down = nn.Linear(32, dim, bias=False)

    def attention(self, x):
        b, length, _ = x.shape
        q = self.q(x).view(b, length, self.heads, self.hd).transpose(1, 2)
        k, v = self.kv(x).view(b, length, 2, self.kv_heads, self.hd).permute(2, 0, 3, 1, 4)
        q, k = rope_half(q), rope_half(k)
        rep = self.heads // self.kv_heads
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        i = torch.arange(length)
        allowed = (i[None, :] <= i[:, None]) & (i[:, None] - i[None, :] < self.window)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        return self.o(out.transpose(1, 2).reshape(b, length, -1)), (q, k, v, allowed)

    def forward(self, x):
        a, parts = self.attention(self.norm1(x))
        x = x + a
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h)), parts


def chunked_attention(q, k, v, mask, chunk=2):
    """Softmax attention over key chunks with a running max and running sum."""
    scale = q.shape[-1] ** -0.5
    running_max = torch.full(q.shape[:-1], float("-inf"))
    running_sum = torch.zeros(q.shape[:-1])
    acc = torch.zeros_like(q)
    for start in range(0, k.shape[-2], chunk):
        s = (q @ k[..., start:start + chunk, :].transpose(-1, -2)) * scale
        s = s.masked_fill(~mask[:, start:start + chunk], float("-inf"))
        new_max = torch.maximum(running_max, s.amax(-1))
        safe = torch.where(torch.isinf(new_max), torch.zeros_like(new_max), new_max)
        p = torch.exp(s - safe[..., None])
        correction = torch.exp(running_max - safe)
        running_sum = running_sum * correction + p.sum(-1)
        acc = acc * correction[..., None] + p @ v[..., start:start + chunk, :]
        running_max = new_max
    return acc / running_sum[..., None]


def section_llm_blocks() -> None:
    torch.manual_seed(94)
    x = torch.randn(2, 3, 6, 8)
    # relative positions: <rope(q)_m, rope(k)_n> depends on m - n only
    q, k = torch.randn(8), torch.randn(8)
    rq = rope_complex(q.expand(1, 1, 6, 8).contiguous())[0, 0]
    rk = rope_complex(k.expand(1, 1, 6, 8).contiguous())[0, 0]
    put("llm.rope_relative_gap", (rq[3] @ rk[1] - rq[5] @ rk[3]).abs())
    put("llm.rope_complex", rope_complex(x))
    put("llm.rope_half", rope_half(x))
    # RoPE keeps norms
    put("llm.rope_norm_gap", (rope_half(x).norm(dim=-1) - x.norm(dim=-1)).abs().max())
    norm = RMSNorm(8)
    ref = nn.RMSNorm(8, eps=1e-6)
    put("llm.rmsnorm_gap", (norm(x) - ref(x)).abs().max())
    block = Block()
    opt = torch.optim.AdamW(block.parameters(), lr=3e-3, weight_decay=0.1)
    data = torch.randn(3, 7, 16)
    target = torch.roll(data, 1, dims=1)
    losses = []
    for _ in range(6):
        out, (q, k, v, allowed) = block(data)
        loss = F.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("llm.losses", torch.tensor(losses))
    put("llm.grad_q", block.q.weight.grad)
    put("llm.grad_down", block.down.weight.grad)
    put("llm.allowed", allowed)
    with torch.no_grad():
        full = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        chunked = chunked_attention(q, k, v, allowed, chunk=3)
        put("llm.chunked", chunked)
        put("llm.chunked_gap", (chunked - full).abs().max())


SECTIONS = {"audio": section_audio, "text": section_text, "decoding": section_decoding,
            "beam_kv": section_beam_kv, "llm_blocks": section_llm_blocks}
