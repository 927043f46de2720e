"""Public language-model programs (P1, session 9), written from memory of the originals, run
unchanged on PyTorch and under deltagrad's alias.

Usage: ``prog_s9_P1_llm.py OUT.npz WORKDIR SECTIONS`` (comma-separated of llama2c, mamba).
llama2c: karpathy's llama2.c ``model.py`` (RMSNorm, RoPE both as cos / sin and as torch.polar /
view_as_complex, GQA repeat_kv, SwiGLU, tied weights, configure_optimizers, generate with
temperature / top-k) and its train.py loop (accumulation, GradScaler disabled, cosine lr,
checkpoint and resume). mamba: mamba-minimal (selective scan by einsum, softplus, depthwise
Conv1d with padding, einops). This module is also the harness of the other prog_s9_P1_*.py.
Every number goes to OUT.npz; a section that raises records its traceback as ``ERR.<section>``.
"""

import inspect
import math
import os
import sys
import traceback
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT: dict = {}


def put(prefix: str, value) -> None:
    """Records tensors, numbers, strings and lists of them."""
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        for index, item in enumerate(value):
            put(f"{prefix}.{index}", item)
    else:
        OUT[prefix] = np.asarray(value)


def put_params(prefix: str, module: nn.Module) -> None:
    for name, param in module.named_parameters():
        put(f"{prefix}.{name}", param)


# ----------------------------------------------------------------------------------- llama2.c

@dataclass
class ModelArgs:
    dim: int = 32
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int | None = 2
    vocab_size: int = 29
    hidden_dim: int | None = None
    multiple_of: int = 16
    norm_eps: float = 1e-5
    max_seq_len: int = 12
    dropout: float = 0.1


class RMSNorm(torch.nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        output = self._norm(x.float()).type_as(x)
        return output * self.weight


def precompute_freqs_cis(dim: int, end: int, theta: float = 10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.cos(freqs), torch.sin(freqs)


def precompute_polar(dim: int, end: int, theta: float = 10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)  # complex64


def reshape_for_broadcast(freqs_cis, x):
    ndim = x.ndim
    assert 0 <= 1 < ndim
    assert freqs_cis.shape == (x.shape[1], x.shape[-1])
    shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
    return freqs_cis.view(shape)


def apply_rotary_emb(xq, xk, freqs_cos, freqs_sin):
    xq_r, xq_i = xq.float().reshape(xq.shape[:-1] + (-1, 2)).unbind(-1)
    xk_r, xk_i = xk.float().reshape(xk.shape[:-1] + (-1, 2)).unbind(-1)
    freqs_cos = reshape_for_broadcast(freqs_cos, xq_r)
    freqs_sin = reshape_for_broadcast(freqs_sin, xq_r)
    xq_out_r = xq_r * freqs_cos - xq_i * freqs_sin
    xq_out_i = xq_r * freqs_sin + xq_i * freqs_cos
    xk_out_r = xk_r * freqs_cos - xk_i * freqs_sin
    xk_out_i = xk_r * freqs_sin + xk_i * freqs_cos
    xq_out = torch.stack([xq_out_r, xq_out_i], dim=-1).flatten(3)
    xk_out = torch.stack([xk_out_r, xk_out_i], dim=-1).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def apply_rotary_emb_complex(xq, xk, freqs_cis):  # Meta's llama formulation
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def repeat_kv(x, n_rep: int):
    bs, slen, n_kv_heads, head_dim = x.shape
    if n_rep == 1:
        return x
    return (x[:, :, :, None, :].expand(bs, slen, n_kv_heads, n_rep, head_dim)
            .reshape(bs, slen, n_kv_heads * n_rep, head_dim))


class Attention(nn.Module):
    def __init__(self, args: ModelArgs, flash: bool):
        super().__init__()
        self.n_kv_heads = args.n_heads if args.n_kv_heads is None else args.n_kv_heads
        model_parallel_size = 1
        self.n_local_heads = args.n_heads // model_parallel_size
        self.n_local_kv_heads = self.n_kv_heads // model_parallel_size
        self.n_rep = self.n_local_heads // self.n_local_kv_heads
        self.head_dim = args.dim // args.n_heads
        self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(args.dim, self.n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=False)
        self.attn_dropout = nn.Dropout(args.dropout)
        self.resid_dropout = nn.Dropout(args.dropout)
        self.dropout = args.dropout
        self.flash = flash and hasattr(torch.nn.functional, "scaled_dot_product_attention")
        if not self.flash:
            mask = torch.full((1, 1, args.max_seq_len, args.max_seq_len), float("-inf"))
            mask = torch.triu(mask, diagonal=1)
            self.register_buffer("mask", mask)

    def forward(self, x, freqs_cos, freqs_sin, freqs_cis=None):
        bsz, seqlen, _ = x.shape
        xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
        xq = xq.view(bsz, seqlen, self.n_local_heads, self.head_dim)
        xk = xk.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
        xv = xv.view(bsz, seqlen, self.n_local_kv_heads, self.head_dim)
        if freqs_cis is not None:
            xq, xk = apply_rotary_emb_complex(xq, xk, freqs_cis)
        else:
            xq, xk = apply_rotary_emb(xq, xk, freqs_cos, freqs_sin)
        xk = repeat_kv(xk, self.n_rep)
        xv = repeat_kv(xv, self.n_rep)
        xq, xk, xv = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
        if self.flash:
            output = torch.nn.functional.scaled_dot_product_attention(
                xq, xk, xv, attn_mask=None, dropout_p=self.dropout if self.training else 0.0,
                is_causal=True)
        else:
            scores = torch.matmul(xq, xk.transpose(2, 3)) / math.sqrt(self.head_dim)
            assert hasattr(self, "mask")
            scores = scores + self.mask[:, :, :seqlen, :seqlen]
            scores = F.softmax(scores.float(), dim=-1).type_as(xq)
            scores = self.attn_dropout(scores)
            output = torch.matmul(scores, xv)
        output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
        output = self.wo(output)
        return self.resid_dropout(output)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, multiple_of, dropout):
        super().__init__()
        if hidden_dim is None:
            hidden_dim = 4 * dim
            hidden_dim = int(2 * hidden_dim / 3)
            hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class TransformerBlock(nn.Module):
    def __init__(self, layer_id: int, args: ModelArgs, flash: bool):
        super().__init__()
        self.attention = Attention(args, flash)
        self.feed_forward = FeedForward(args.dim, args.hidden_dim, args.multiple_of,
                                        args.dropout)
        self.layer_id = layer_id
        self.attention_norm = RMSNorm(args.dim, eps=args.norm_eps)
        self.ffn_norm = RMSNorm(args.dim, eps=args.norm_eps)

    def forward(self, x, freqs_cos, freqs_sin, freqs_cis=None):
        h = x + self.attention.forward(self.attention_norm(x), freqs_cos, freqs_sin, freqs_cis)
        return h + self.feed_forward.forward(self.ffn_norm(h))


class Transformer(nn.Module):
    last_loss: torch.Tensor | None

    def __init__(self, params: ModelArgs, flash: bool = False, complex_rope: bool = False):
        super().__init__()
        self.params = params
        self.vocab_size = params.vocab_size
        self.n_layers = params.n_layers
        self.complex_rope = complex_rope
        self.tok_embeddings = nn.Embedding(params.vocab_size, params.dim)
        self.dropout = nn.Dropout(params.dropout)
        self.layers = torch.nn.ModuleList()
        for layer_id in range(params.n_layers):
            self.layers.append(TransformerBlock(layer_id, params, flash))
        self.norm = RMSNorm(params.dim, eps=params.norm_eps)
        self.output = nn.Linear(params.dim, params.vocab_size, bias=False)
        self.tok_embeddings.weight = self.output.weight  # weight tying
        head_dim = params.dim // params.n_heads
        freqs_cos, freqs_sin = precompute_freqs_cis(head_dim, params.max_seq_len)
        self.register_buffer("freqs_cos", freqs_cos, persistent=False)
        self.register_buffer("freqs_sin", freqs_sin, persistent=False)
        self.register_buffer("freqs_cis", precompute_polar(head_dim, params.max_seq_len),
                             persistent=False)
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("w3.weight") or pn.endswith("wo.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * params.n_layers))
        self.last_loss = None

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, tokens, targets=None):
        _bsz, seqlen = tokens.shape
        h = self.tok_embeddings(tokens)
        h = self.dropout(h)
        freqs_cos = self.freqs_cos[:seqlen]
        freqs_sin = self.freqs_sin[:seqlen]
        freqs_cis = self.freqs_cis[:seqlen] if self.complex_rope else None
        for layer in self.layers:
            h = layer(h, freqs_cos, freqs_sin, freqs_cis)
        h = self.norm(h)
        if targets is not None:
            logits = self.output(h)
            self.last_loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                             ignore_index=-1)
        else:
            logits = self.output(h[:, [-1], :])
            self.last_loss = None
        return logits

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        param_dict = {pn: p for pn, p in self.named_parameters()}
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [{"params": decay_params, "weight_decay": weight_decay},
                        {"params": nodecay_params, "weight_decay": 0.0}]
        num_decay_params = sum(p.numel() for p in decay_params)
        num_nodecay_params = sum(p.numel() for p in nodecay_params)
        put("llama2c.num_params", [num_decay_params, num_nodecay_params])
        fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        extra_args = dict(fused=True) if use_fused else dict()
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)

    @torch.inference_mode()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = (idx if idx.size(1) <= self.params.max_seq_len
                        else idx[:, -self.params.max_seq_len:])
            logits = self(idx_cond)
            logits = logits[:, -1, :]
            if temperature == 0.0:
                _, idx_next = torch.topk(logits, k=1, dim=-1)
            else:
                logits = logits / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


def llama_batches(vocab, seq_len, batch_size):
    """Task: the next token is (token * 3 + 1) % vocab; endless random batches."""
    while True:
        start = torch.randint(0, vocab, (batch_size, 1))
        seq = [start]
        for _ in range(seq_len):
            seq.append((seq[-1] * 3 + 1) % vocab)
        data = torch.cat(seq, dim=1)
        x, y = data[:, :-1], data[:, 1:].clone()
        y[:, :2] = -1  # ignore_index
        yield x.to("cpu", non_blocking=True), y.to("cpu", non_blocking=True)


def section_llama2c(workdir: str) -> None:
    torch.manual_seed(1337)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device_type = "cpu"
    dtype = "bfloat16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() \
        else "float16"
    ptdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16,
               "float16": torch.float16}[dtype]
    ctx = (nullcontext() if device_type == "cpu"
           else torch.amp.autocast(device_type=device_type, dtype=ptdtype))
    args = ModelArgs()
    model = Transformer(args)
    put("llama2c.init_norm", sum(p.double().norm() ** 2 for p in model.parameters()))
    put("llama2c.tied", model.tok_embeddings.weight is model.output.weight)
    put("llama2c.state_keys", ",".join(model.state_dict().keys()))
    scaler = torch.cuda.amp.GradScaler(enabled=(dtype == "float16" and device_type == "cuda"))
    optimizer = model.configure_optimizers(0.1, 5e-3, (0.9, 0.95), device_type)
    learning_rate, min_lr, warmup_iters, lr_decay_iters = 5e-3, 5e-4, 3, 12
    grad_clip, gradient_accumulation_steps = 1.0, 2

    def get_lr(it):
        if it < warmup_iters:
            return learning_rate * (it + 1) / (warmup_iters + 1)
        if it > lr_decay_iters:
            return min_lr
        decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return min_lr + coeff * (learning_rate - min_lr)

    batches = llama_batches(args.vocab_size, 10, 4)
    X, Y = next(batches)
    losses, norms, lrs = [], [], []
    ckpt_path = os.path.join(workdir, "ckpt.pt")

    def train(iters, start):
        nonlocal X, Y
        for iter_num in range(start, start + iters):
            lr = get_lr(iter_num)
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr
            for _micro_step in range(gradient_accumulation_steps):
                with ctx:
                    model(X, Y)
                    loss = model.last_loss
                    loss = loss / gradient_accumulation_steps
                X, Y = next(batches)
                scaler.scale(loss).backward()
            if grad_clip != 0.0:
                scaler.unscale_(optimizer)
                norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item() * gradient_accumulation_steps)
            lrs.append(lr)

    train(6, 0)
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "model_args": dict(args.__dict__), "iter_num": 6, "best_val_loss": 1e9}
    torch.save(checkpoint, ckpt_path)
    train(3, 6)
    put("llama2c.losses", np.array(losses))
    put("llama2c.norms", torch.stack(norms))
    put("llama2c.lrs", np.array(lrs))
    put_params("llama2c.params", model)
    # resume, as train.py's init_from == 'resume' does (with a '_orig_mod.' prefix to strip)
    checkpoint = torch.load(ckpt_path, map_location="cpu")
    fresh = Transformer(ModelArgs(**checkpoint["model_args"]))
    state_dict = {"_orig_mod." + k: v for k, v in checkpoint["model"].items()}
    unwanted_prefix = "_orig_mod."
    for k, _v in list(state_dict.items()):
        if k.startswith(unwanted_prefix):
            state_dict[k[len(unwanted_prefix):]] = state_dict.pop(k)
    fresh.load_state_dict(state_dict)
    model = fresh
    optimizer = model.configure_optimizers(0.1, 5e-3, (0.9, 0.95), device_type)
    optimizer.load_state_dict(checkpoint["optimizer"])
    put("llama2c.resume.step", optimizer.state_dict()["state"][0]["step"])
    losses.clear()
    norms.clear()
    torch.manual_seed(7)
    train(3, checkpoint["iter_num"])
    put("llama2c.resume.losses", np.array(losses))
    put_params("llama2c.resume.params", model)
    # eval: estimate_loss under no_grad, flash path equals the explicit-mask path, complex RoPE
    model.eval()
    with torch.no_grad():
        X, Y = next(batches)
        manual = model(X, Y)
        flash = Transformer(args, flash=True)
        missing = flash.load_state_dict(model.state_dict(), strict=False)
        put("llama2c.eval.unexpected", ",".join(missing.unexpected_keys))
        flash.eval()
        put("llama2c.eval.flash_vs_manual", (flash(X, Y) - manual).abs().max())
        complex_model = Transformer(args, complex_rope=True)
        complex_model.load_state_dict(model.state_dict())
        complex_model.eval()
        put("llama2c.eval.complex_logits", complex_model(X, Y))
        put("llama2c.eval.complex_vs_real",
            (complex_model(X, Y) - manual).abs().max() < 1e-5)
        put("llama2c.eval.logits", manual)
        put("llama2c.eval.loss", model.last_loss)
    put("llama2c.freqs_cis", model.freqs_cis)
    start = torch.tensor([[1, 2, 3]], dtype=torch.long)
    torch.manual_seed(42)
    put("llama2c.sample.topk", model.generate(start, 12, temperature=0.8, top_k=5))
    put("llama2c.sample.greedy", model.generate(start, 6, temperature=0.0))
    put("llama2c.sample.full", model.generate(start.repeat(2, 1), 6, temperature=1.0))


# ------------------------------------------------------------------------------- mamba-minimal

def section_mamba(workdir: str) -> None:
    from einops import einsum, rearrange, repeat

    @dataclass
    class MambaArgs:
        d_model: int
        n_layer: int
        vocab_size: int
        d_state: int = 8
        expand: int = 2
        dt_rank: int | str = "auto"
        d_conv: int = 4
        pad_vocab_size_multiple: int = 8
        conv_bias: bool = True
        bias: bool = False

        def __post_init__(self):
            self.d_inner = int(self.expand * self.d_model)
            if self.dt_rank == "auto":
                self.dt_rank = math.ceil(self.d_model / 16)
            if self.vocab_size % self.pad_vocab_size_multiple != 0:
                self.vocab_size += (self.pad_vocab_size_multiple
                                    - self.vocab_size % self.pad_vocab_size_multiple)

    class MambaRMSNorm(nn.Module):
        def __init__(self, d_model: int, eps: float = 1e-5):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d_model))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    class MambaBlock(nn.Module):
        def __init__(self, args):
            super().__init__()
            self.args = args
            self.in_proj = nn.Linear(args.d_model, args.d_inner * 2, bias=args.bias)
            self.conv1d = nn.Conv1d(in_channels=args.d_inner, out_channels=args.d_inner,
                                    bias=args.conv_bias, kernel_size=args.d_conv,
                                    groups=args.d_inner, padding=args.d_conv - 1)
            self.x_proj = nn.Linear(args.d_inner, args.dt_rank + args.d_state * 2, bias=False)
            self.dt_proj = nn.Linear(args.dt_rank, args.d_inner, bias=True)
            A = repeat(torch.arange(1, args.d_state + 1), "n -> d n", d=args.d_inner)
            self.A_log = nn.Parameter(torch.log(A))
            self.D = nn.Parameter(torch.ones(args.d_inner))
            self.out_proj = nn.Linear(args.d_inner, args.d_model, bias=args.bias)

        def forward(self, x):
            (b, l, d) = x.shape
            x_and_res = self.in_proj(x)
            (x, res) = x_and_res.split(split_size=[self.args.d_inner, self.args.d_inner],
                                       dim=-1)
            x = rearrange(x, "b l d_in -> b d_in l")
            x = self.conv1d(x)[:, :, :l]
            x = rearrange(x, "b d_in l -> b l d_in")
            x = F.silu(x)
            y = self.ssm(x)
            y = y * F.silu(res)
            return self.out_proj(y)

        def ssm(self, x):
            (d_in, n) = self.A_log.shape
            A = -torch.exp(self.A_log.float())
            D = self.D.float()
            x_dbl = self.x_proj(x)
            (delta, B, C) = x_dbl.split(split_size=[self.args.dt_rank, n, n], dim=-1)
            delta = F.softplus(self.dt_proj(delta))
            return self.selective_scan(x, delta, A, B, C, D)

        def selective_scan(self, u, delta, A, B, C, D):
            (b, l, d_in) = u.shape
            n = A.shape[1]
            deltaA = torch.exp(einsum(delta, A, "b l d_in, d_in n -> b l d_in n"))
            deltaB_u = einsum(delta, B, u, "b l d_in, b l n, b l d_in -> b l d_in n")
            x = torch.zeros((b, d_in, n), device=deltaA.device)
            ys = []
            for i in range(l):
                x = deltaA[:, i] * x + deltaB_u[:, i]
                y = einsum(x, C[:, i, :], "b d_in n, b n -> b d_in")
                ys.append(y)
            y = torch.stack(ys, dim=1)
            return y + u * D

    class ResidualBlock(nn.Module):
        def __init__(self, args):
            super().__init__()
            self.mixer = MambaBlock(args)
            self.norm = MambaRMSNorm(args.d_model)

        def forward(self, x):
            return self.mixer(self.norm(x)) + x

    class Mamba(nn.Module):
        def __init__(self, args):
            super().__init__()
            self.args = args
            self.embedding = nn.Embedding(args.vocab_size, args.d_model)
            self.layers = nn.ModuleList([ResidualBlock(args) for _ in range(args.n_layer)])
            self.norm_f = MambaRMSNorm(args.d_model)
            self.lm_head = nn.Linear(args.d_model, args.vocab_size, bias=False)
            self.lm_head.weight = self.embedding.weight

        def forward(self, input_ids):
            x = self.embedding(input_ids)
            for layer in self.layers:
                x = layer(x)
            return self.lm_head(self.norm_f(x))

        def generate(self, input_ids, n_tokens, sample=True, top_k=4):
            for _ in range(n_tokens):
                with torch.no_grad():
                    next_token_logits = self(input_ids)[:, -1]
                probs = F.softmax(next_token_logits, dim=-1)
                (batch, vocab_size) = probs.shape
                if top_k is not None:
                    (values, indices) = torch.topk(probs, k=top_k)
                    probs[probs < values[:, -1, None]] = 0
                    probs = probs / probs.sum(axis=1, keepdims=True)
                if sample:
                    next_indices = torch.multinomial(probs, num_samples=1)
                else:
                    next_indices = torch.argmax(probs, dim=-1)[:, None]
                input_ids = torch.cat([input_ids, next_indices], dim=1)
            return input_ids

    torch.manual_seed(0)
    args = MambaArgs(d_model=16, n_layer=2, vocab_size=21)
    put("mamba.vocab", args.vocab_size)
    model = Mamba(args)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(5):
        tokens = torch.randint(0, 21, (3, 9))
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(rearrange(logits, "b l v -> (b l) v"), tokens[:, 1:].flatten())
        opt.zero_grad()
        loss.backward()
        losses.append(loss.item())
        opt.step()
    put("mamba.losses", np.array(losses))
    put("mamba.A_log_grad", model.layers[0].mixer.A_log.grad)
    put("mamba.conv_grad", model.layers[1].mixer.conv1d.weight.grad)
    put_params("mamba.params", model)
    torch.manual_seed(3)
    put("mamba.sample", model.generate(torch.tensor([[1, 2], [3, 4]]), 5))
    put("mamba.greedy", model.generate(torch.tensor([[5]]), 4, sample=False))


SECTIONS = {"llama2c": section_llama2c, "mamba": section_mamba}


def run_sections(table: dict) -> None:
    """Runs the sections named in argv[3] from ``table``; saves OUT to argv[1]."""
    out_path, workdir, sections = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    os.makedirs(workdir, exist_ok=True)
    for name in sections:
        try:
            table[name](workdir)
        except Exception:  # noqa: BLE001 - recorded, compared
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    run_sections(SECTIONS)
