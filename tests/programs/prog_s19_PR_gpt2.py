"""A small GPT-2-shaped language model and its training loop (PR2, session 19; rewritten in our
own code in session 31, DD3): causal attention through one fused query / key / value
projection split in three, F.scaled_dot_product_attention(is_causal=True) (and grouped-query
attention through enable_gqa), the token embedding shared with the output layer, normal init
with the residual output layers' scale shrunk by the depth (a flag attribute on those layers),
AdamW with decay / no-decay groups and the ``inspect.signature`` check for a fused AdamW, a
window reader over a token buffer, gradient accumulation with a detached running loss,
clip_grad_norm_, a warm-up + cosine step size set by hand, top-k sampling with a seeded
Generator, a checkpoint of transposed weights copied in under no_grad, and a model walk with
get_submodule / named_modules. Tiny sizes; run by prog_s19_PR_all.py.
"""

import inspect
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from prog_s17_PG_harness import put, put_state
from torch.nn import functional as F


@dataclass
class Spec:
    context: int = 16
    n_vocab: int = 29
    depth: int = 2
    heads: int = 4
    kv_heads: int = 4
    width: int = 16


class CausalAttention(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.heads, self.kv_heads, self.width = spec.heads, spec.kv_heads, spec.width
        self.head_width = spec.width // spec.heads
        self.kv_width = spec.kv_heads * self.head_width
        self.qkv = nn.Linear(spec.width, spec.width + 2 * self.kv_width)
        self.out = nn.Linear(spec.width, spec.width)
        self.out.residual_out = True

    def forward(self, x):
        n, t, _ = x.size()
        q, k, v = self.qkv(x).split([self.width, self.kv_width, self.kv_width], dim=2)
        q = q.view(n, t, self.heads, self.head_width).transpose(1, 2)
        k, v = (z.view(n, t, self.kv_heads, self.head_width).transpose(1, 2) for z in (k, v))
        grouped = {} if self.kv_heads == self.heads else {"enable_gqa": True}
        mixed = F.scaled_dot_product_attention(q, k, v, is_causal=True, **grouped)
        return self.out(mixed.transpose(1, 2).contiguous().view(n, t, self.width))


class FeedForward(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.up = nn.Linear(spec.width, 4 * spec.width)
        self.act = nn.GELU(approximate="tanh")
        self.down = nn.Linear(4 * spec.width, spec.width)
        self.down.residual_out = True

    def forward(self, x):
        return self.down(self.act(self.up(x)))


class Layer(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.norm_a, self.attn = nn.LayerNorm(spec.width), CausalAttention(spec)
        self.norm_b, self.ff = nn.LayerNorm(spec.width), FeedForward(spec)

    def forward(self, x):
        x = x + self.attn(self.norm_a(x))
        return x + self.ff(self.norm_b(x))


class TinyGPT(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.body = nn.ModuleDict(dict(
            tokens=nn.Embedding(spec.n_vocab, spec.width),
            places=nn.Embedding(spec.context, spec.width),
            layers=nn.ModuleList([Layer(spec) for _ in range(spec.depth)]),
            norm=nn.LayerNorm(spec.width)))
        self.head = nn.Linear(spec.width, spec.n_vocab, bias=False)
        self.body.tokens.weight = self.head.weight  # one matrix in and out
        self.apply(self._draw)

    def _draw(self, module):
        if isinstance(module, nn.Linear):
            # layers that add into the residual stream: smaller by 1/sqrt(2 * depth)
            scale = (2 * self.spec.depth) ** -0.5 if getattr(module, "residual_out", False) else 1
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02 * scale)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, ids, targets=None):
        t = ids.size(1)
        assert t <= self.spec.context
        x = self.body.tokens(ids) + self.body.places(torch.arange(0, t, dtype=torch.long))
        for layer in self.body.layers:
            x = layer(x)
        logits = self.head(self.body.norm(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    def make_optimizer(self, decay, lr):
        """AdamW with matrices decayed, vectors not; (optimizer, group sizes, fused known)."""
        trained = [p for p in self.parameters() if p.requires_grad]
        matrices = [p for p in trained if p.dim() >= 2]
        vectors = [p for p in trained if p.dim() < 2]
        fused_known = "fused" in inspect.signature(torch.optim.AdamW).parameters
        adamw = torch.optim.AdamW([{"params": matrices, "weight_decay": decay},
                                   {"params": vectors, "weight_decay": 0.0}],
                                  lr=lr, betas=(0.9, 0.95), eps=1e-8, fused=False)
        return adamw, [sum(p.numel() for p in group) for group in (matrices, vectors)], \
            fused_known


class Windows:
    """(inputs, next tokens) of ``rows`` x ``span`` tokens, read along a buffer, wrapping."""

    def __init__(self, rows, span, tokens):
        self.rows, self.span, self.at = rows, span, 0
        self.tokens = torch.tensor(tokens)

    def next(self):
        size = self.rows * self.span
        piece = self.tokens[self.at:self.at + size + 1]
        self.at = 0 if self.at + 2 * size + 1 > len(self.tokens) else self.at + size
        return piece[:-1].view(self.rows, self.span), piece[1:].view(self.rows, self.span)


def warm_cosine(step, peak=6e-3, warm=2, last=6):
    """Linear warm-up to ``peak``, cosine down to a tenth of it by ``last``, flat after."""
    floor = peak / 10
    if step < warm:
        return peak * (step + 1) / warm
    if step > last:
        return floor
    return floor + 0.5 * (1.0 + math.cos(math.pi * (step - warm) / (last - warm))) * (peak - floor)


def _train(tag, spec):
    torch.manual_seed(1337)
    model = TinyGPT(spec)
    model.eval()
    put(f"{tag}.tied", model.head.weight is model.body.tokens.weight)
    put(f"{tag}.init_std", [model.body.layers[0].attn.out.weight.std(),
                            model.body.layers[0].attn.qkv.weight.std()])
    reader = Windows(2, 8, [(5 * i + i // 7) % spec.n_vocab for i in range(200)])
    adamw, sizes, fused_known = model.make_optimizer(0.1, 6e-3)
    put(f"{tag}.counts", sizes)
    put(f"{tag}.fused_available", fused_known)
    parts, record = 2, []
    for step in range(5):
        model.train()
        adamw.zero_grad()
        running = 0.0
        for _ in range(parts):  # one update from two half batches
            loss = model(*reader.next())[1] / parts
            running += loss.detach()
            loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lr = warm_cosine(step)
        for group in adamw.param_groups:
            group["lr"] = lr
        adamw.step()
        record.append([running.item(), norm.item(), lr])
    put(f"{tag}.record", record)
    # The key part of qkv's bias is left out: it adds one number to each row of scores, so
    # its gradient is zero up to rounding and AdamW moves it by rounding noise (~1e-6 here,
    # differing between libraries); the query and value parts are compared.
    put_state(f"{tag}.state", model, exclude=("attn.qkv.bias",))
    for index, layer in enumerate(model.body.layers):
        kv = layer.attn.kv_width
        q_bias, _, v_bias = layer.attn.qkv.bias.split([spec.width, kv, kv])
        put(f"{tag}.qv_bias.{index}", [q_bias, v_bias])
    return model


def section_g2_train() -> None:
    model = _train("g2_train", Spec())
    model.eval()
    seq = torch.tensor([[4, 9, 2]] * 2)
    draws = torch.Generator(device="cpu")
    draws.manual_seed(7)
    while seq.size(1) < 10:  # sample among the five likeliest next tokens
        with torch.no_grad():
            probs = F.softmax(model(seq)[0][:, -1, :], dim=-1)
            top_p, top_ids = torch.topk(probs, 5, dim=-1)
            pick = torch.gather(top_ids, -1, torch.multinomial(top_p, 1, generator=draws))
            seq = torch.cat((seq, pick), dim=1)
    put("g2_train.generated", seq)
    # multiple-choice scoring: the ending with the lowest mean loss over its own tokens
    choices = torch.randint(0, 29, (4, 9))
    ending = torch.zeros(4, 9, dtype=torch.long)
    ending[:, 5:] = 1
    ending[2, 8:] = 0
    with torch.no_grad():
        logits = model(choices)[0]
    per_token = F.cross_entropy(logits[..., :-1, :].contiguous().view(-1, logits.size(-1)),
                                choices[..., 1:].contiguous().view(-1),
                                reduction="none").view(choices.size(0), -1)
    counted = ending[..., 1:].contiguous()
    mean_loss = (per_token * counted).sum(dim=1) / counted.sum(dim=1)
    put("g2_train.hella", [mean_loss, mean_loss.argmin()])
    put("g2_train.submodule", model.get_submodule("body.layers.1.ff.up").weight)
    put("g2_train.modules", sorted(name for name, _ in model.named_modules())[:12])
    put("g2_train.n_params", sum(p.numel() for p in model.parameters()))
    put("g2_train.n_named", len(dict(model.named_parameters(remove_duplicate=False))))


def section_g2_gqa() -> None:
    _train("g2_gqa", Spec(kv_heads=2))


def section_g2_convert() -> None:
    spec = Spec()
    model = TinyGPT(spec)
    own = model.state_dict()
    # a checkpoint from elsewhere: the same names, but the four projection matrices stored
    # transposed (in, out) the way some libraries keep them
    flipped = ("attn.qkv.weight", "attn.out.weight", "ff.up.weight", "ff.down.weight")
    foreign = {}
    for name, value in own.items():
        fresh = torch.randn(value.shape) * 0.05
        foreign[name] = fresh.t().contiguous() if name.endswith(flipped) else fresh
    for name, value in foreign.items():
        loaded = value.t() if name.endswith(flipped) else value
        assert loaded.shape == own[name].shape
        with torch.no_grad():
            own[name].copy_(loaded)
    put_state("g2_convert.state", model)
    put("g2_convert.tied", torch.equal(model.head.weight, model.body.tokens.weight))
    ids = torch.randint(0, spec.n_vocab, (2, 7))
    logits, loss = model(ids, ids)
    loss.backward()
    put("g2_convert.logits", logits)
    put("g2_convert.grad_tied", model.head.weight.grad)


SECTIONS = {"g2_train": section_g2_train, "g2_gqa": section_g2_gqa,
            "g2_convert": section_g2_convert}
