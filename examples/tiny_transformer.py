"""A small decoder-only transformer trained on characters, written as a PyTorch tutorial would be.

    OMP_NUM_THREADS=1 python examples/tiny_transformer.py     # about 6 s
    python examples/tiny_transformer.py --steps 50

On a small or busy machine one BLAS thread is several times faster than NumPy's default.

The only deltagrad-specific line is ``import deltagrad as torch``. The model is token and
position embeddings, a stack of pre-norm ``nn.TransformerEncoderLayer``s run with a causal
mask (so each position sees only the past), and a linear head; it trains with AdamW under a
warm-up schedule and then writes text with top-k sampling.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import deltagrad as torch

nn = torch.nn
F = torch.nn.functional

TEXT = """\
To make bread, mix flour, water, salt and a little yeast in a large bowl.
Stir until there is no dry flour left, then cover the bowl and wait one hour.
Fold the dough over itself a few times, cover it again, and wait another hour.
When the dough has doubled, turn it onto a floured table and shape it into a round loaf.
Let the loaf rise while the oven heats. Bake it hot until the crust is dark and hollow to knock.
Let the bread cool before you cut it, or the inside will be wet and heavy.
To make soup, cut onions, carrots and celery and cook them slowly in a little oil.
Add water and salt, and let the pot simmer until the carrots are soft.
Taste the soup, add pepper, and serve it with the bread while it is warm.
"""


@dataclass
class Config:
    """Everything that sets the run; kept together so it can be printed and saved."""

    block_size: int = 32
    batch_size: int = 16
    d_model: int = 64
    n_head: int = 4
    n_layer: int = 2
    dropout: float = 0.1
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup: int = 15
    sample_len: int = 120
    steps: int = 150
    seed: int = 0


class TinyTransformer(nn.Module):
    """Embeddings -> causal TransformerEncoder -> LayerNorm -> Linear over the vocabulary."""

    def __init__(self, vocab_size: int, cfg: Config):
        super().__init__()
        self.block_size = cfg.block_size
        self.tok_emb = nn.Embedding(vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.d_model)
        layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_head, 4 * cfg.d_model,
                                           cfg.dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.n_layer, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, vocab_size)
        mask = nn.Transformer.generate_square_subsequent_mask(cfg.block_size)
        self.register_buffer("causal_mask", mask, persistent=False)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos)
        x = self.blocks(x, mask=self.causal_mask[:T, :T], is_causal=True)
        logits = self.head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int = 5):
        """Append ``max_new_tokens`` characters, each drawn from the top ``top_k``."""
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            logits = logits[:, -1, :] / temperature
            v, _ = torch.topk(logits, top_k)
            logits[logits < v[:, [-1]]] = -float("inf")
            probs = F.softmax(logits, dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


def get_batch(data, cfg: Config):
    ix = torch.randint(len(data) - cfg.block_size - 1, (cfg.batch_size,))
    x = torch.stack([data[i:i + cfg.block_size] for i in ix.tolist()])
    y = torch.stack([data[i + 1:i + cfg.block_size + 1] for i in ix.tolist()])
    return x, y


def main(cfg: Config | None = None) -> float:
    """Train, print progress and a sample; returns the final training loss."""
    cfg = cfg or Config()
    torch.manual_seed(cfg.seed)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = {i: c for c, i in stoi.items()}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)

    model = TinyTransformer(len(chars), cfg)
    # Decay matrices only, not biases, LayerNorm weights or embeddings' rows' scale.
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)

    def lr_factor(step: int) -> float:  # linear warm-up, then cosine decay to 10%
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    print(cfg)
    print(f"{len(chars)} characters, {sum(p.numel() for p in model.parameters())} parameters")

    start = time.perf_counter()
    model.train()
    for step in range(1, cfg.steps + 1):
        x, y = get_batch(data, cfg)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 25 == 0 or step == 1:
            print(f"step {step:4d}  loss {loss.item():.4f}  lr {scheduler.get_last_lr()[0]:.2e}"
                  f"  {time.perf_counter() - start:.1f}s")
    model.eval()
    context = torch.tensor([[stoi["T"]]])
    out = model.generate(context, max_new_tokens=cfg.sample_len)
    print("".join(itos[i] for i in out[0].tolist()))
    return loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=Config.steps)
    main(Config(steps=parser.parse_args().steps))
