"""build-nanogpt / llm.c-style GPT-2 training code, written afresh (PR2, session 19): a GPT-2
block with a fused c_attn split in three, F.scaled_dot_product_attention(is_causal=True) (and
grouped-query attention through enable_gqa), weight tying, ``_init_weights`` with a
``NANOGPT_SCALE_INIT`` flag scaling the residual projections, ``configure_optimizers`` with
decay and no-decay groups and the ``inspect.signature`` check for a fused AdamW, a
DataLoaderLite over a token buffer, gradient accumulation with a detached loss accumulator,
clip_grad_norm_, a warmup-cosine learning rate set by hand, top-k sampling with a seeded
Generator, a Hugging Face-style state dict conversion (transposed Conv1D weights copied under
no_grad), and a model walk with get_submodule / named_modules. Tiny sizes; run by
prog_s19_PR_all.py.
"""

import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from prog_s17_PG_harness import put, put_state
from torch.nn import functional as F


@dataclass
class GPTConfig:
    block_size: int = 16
    vocab_size: int = 29
    n_layer: int = 2
    n_head: int = 4
    n_kv_head: int = 4
    n_embd: int = 16


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head, self.n_kv_head, self.n_embd = config.n_head, config.n_kv_head, config.n_embd
        self.head_dim = config.n_embd // config.n_head
        kv_dim = self.n_kv_head * self.head_dim
        self.c_attn = nn.Linear(config.n_embd, config.n_embd + 2 * kv_dim)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.c_proj.NANOGPT_SCALE_INIT = 1

    def forward(self, x):
        B, T, C = x.size()
        kv_dim = self.n_kv_head * self.head_dim
        q, k, v = self.c_attn(x).split([self.n_embd, kv_dim, kv_dim], dim=2)
        q = q.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        v = v.view(B, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        if self.n_kv_head == self.n_head:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.c_proj.NANOGPT_SCALE_INIT = 1

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd)))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            std = 0.02
            if hasattr(module, "NANOGPT_SCALE_INIT"):
                std *= (2 * self.config.n_layer) ** -0.5
            torch.nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.size()
        assert T <= self.config.block_size
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, device_type):
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [{"params": decay_params, "weight_decay": weight_decay},
                        {"params": nodecay_params, "weight_decay": 0.0}]
        counts = [sum(p.numel() for p in decay_params), sum(p.numel() for p in nodecay_params)]
        fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == "cuda"
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=(0.9, 0.95),
                                      eps=1e-8, fused=use_fused)
        return optimizer, counts, fused_available


class DataLoaderLite:
    def __init__(self, B, T, tokens):
        self.B, self.T = B, T
        self.tokens = torch.tensor(tokens)
        self.current_position = 0

    def next_batch(self):
        B, T = self.B, self.T
        buf = self.tokens[self.current_position:self.current_position + B * T + 1]
        x = (buf[:-1]).view(B, T)
        y = (buf[1:]).view(B, T)
        self.current_position += B * T
        if self.current_position + (B * T + 1) > len(self.tokens):
            self.current_position = 0
        return x, y


def get_lr(it, max_lr=6e-3, warmup_steps=2, max_steps=6):
    min_lr = max_lr * 0.1
    if it < warmup_steps:
        return max_lr * (it + 1) / warmup_steps
    if it > max_steps:
        return min_lr
    decay_ratio = (it - warmup_steps) / (max_steps - warmup_steps)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (max_lr - min_lr)


def _train(tag, config):
    torch.manual_seed(1337)
    model = GPT(config)
    model.eval()
    put(f"{tag}.tied", model.lm_head.weight is model.transformer.wte.weight)
    put(f"{tag}.init_std", [model.transformer.h[0].attn.c_proj.weight.std(),
                            model.transformer.h[0].attn.c_attn.weight.std()])
    tokens = [(i * 5 + i // 7) % config.vocab_size for i in range(200)]
    loader = DataLoaderLite(B=2, T=8, tokens=tokens)
    optimizer, counts, fused = model.configure_optimizers(0.1, 6e-3, "cpu")
    put(f"{tag}.counts", counts)
    put(f"{tag}.fused_available", fused)
    grad_accum_steps = 2
    record = []
    for step in range(5):
        model.train()
        optimizer.zero_grad()
        loss_accum = 0.0
        for _ in range(grad_accum_steps):
            x, y = loader.next_batch()
            logits, loss = model(x, y)
            loss = loss / grad_accum_steps
            loss_accum += loss.detach()
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lr = get_lr(step)
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr
        optimizer.step()
        record.append([loss_accum.item(), norm.item(), lr])
    put(f"{tag}.record", record)
    # The key part of c_attn's bias is left out: it adds one number to each row of scores, so
    # its gradient is zero up to rounding and AdamW moves it by rounding noise (~1e-6 here,
    # differing between libraries); the query and value parts are compared.
    put_state(f"{tag}.state", model, exclude=("attn.c_attn.bias",))
    for index, block in enumerate(model.transformer.h):
        q_bias, _, v_bias = block.attn.c_attn.bias.split([16, 16 * config.n_kv_head // 4, 16
                                                          * config.n_kv_head // 4])
        put(f"{tag}.qv_bias.{index}", [q_bias, v_bias])
    return model


def section_g2_train() -> None:
    model = _train("g2_train", GPTConfig())
    model.eval()
    xgen = torch.tensor([[3, 8, 13]] * 2)
    sample_rng = torch.Generator(device="cpu")
    sample_rng.manual_seed(42)
    while xgen.size(1) < 10:
        with torch.no_grad():
            logits, _ = model(xgen)
            logits = logits[:, -1, :]
            probs = F.softmax(logits, dim=-1)
            topk_probs, topk_indices = torch.topk(probs, 5, dim=-1)
            ix = torch.multinomial(topk_probs, 1, generator=sample_rng)
            xcol = torch.gather(topk_indices, -1, ix)
            xgen = torch.cat((xgen, xcol), dim=1)
    put("g2_train.generated", xgen)
    # HellaSwag-style scoring: the completion with the lowest mean loss over its masked tokens
    tokens = torch.randint(0, 29, (4, 9))
    mask = torch.zeros(4, 9, dtype=torch.long)
    mask[:, 4:] = 1
    mask[1, 7:] = 0
    with torch.no_grad():
        logits, _ = model(tokens)
    shift_logits = (logits[..., :-1, :]).contiguous()
    shift_tokens = (tokens[..., 1:]).contiguous()
    shift_losses = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)),
                                   shift_tokens.view(-1), reduction="none").view(tokens.size(0), -1)
    shift_mask = (mask[..., 1:]).contiguous()
    masked = shift_losses * shift_mask
    avg_loss = masked.sum(dim=1) / shift_mask.sum(dim=1)
    put("g2_train.hella", [avg_loss, avg_loss.argmin()])
    # walking the model: submodules by dotted name, module counts, buffers
    put("g2_train.submodule", model.get_submodule("transformer.h.1.mlp.c_fc").weight)
    put("g2_train.modules", sorted(n for n, _ in model.named_modules())[:12])
    put("g2_train.n_params", sum(p.numel() for p in model.parameters()))
    put("g2_train.n_named", len(dict(model.named_parameters(remove_duplicate=False))))


def section_g2_gqa() -> None:
    _train("g2_gqa", GPTConfig(n_kv_head=2))


def section_g2_convert() -> None:
    config = GPTConfig()
    model = GPT(config)
    sd = model.state_dict()
    sd_keys = [k for k in sd.keys() if not k.endswith(".attn.bias")]
    # a "Hugging Face" checkpoint: the same names, Conv1D weights stored transposed
    transposed = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight",
                  "mlp.c_proj.weight"]
    sd_hf = {}
    for k in sd_keys:
        value = torch.randn(sd[k].shape) * 0.05
        sd_hf[k] = value.t().contiguous() if any(k.endswith(w) for w in transposed) else value
    for k in sd_keys:
        if any(k.endswith(w) for w in transposed):
            assert sd_hf[k].shape[::-1] == sd[k].shape
            with torch.no_grad():
                sd[k].copy_(sd_hf[k].t())
        else:
            assert sd_hf[k].shape == sd[k].shape
            with torch.no_grad():
                sd[k].copy_(sd_hf[k])
    put_state("g2_convert.state", model)
    put("g2_convert.tied", torch.equal(model.lm_head.weight, model.transformer.wte.weight))
    x = torch.randint(0, config.vocab_size, (2, 7))
    logits, loss = model(x, x)
    loss.backward()
    put("g2_convert.logits", logits)
    put("g2_convert.grad_tied", model.lm_head.weight.grad)


SECTIONS = {"g2_train": section_g2_train, "g2_gqa": section_g2_gqa,
            "g2_convert": section_g2_convert}
