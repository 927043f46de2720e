"""A character-level language model with an LSTM, written as a PyTorch tutorial would be.

    OMP_NUM_THREADS=1 python examples/char_lstm.py     # about 7 s
    python examples/char_lstm.py --steps 50

On a small or busy machine one BLAS thread is several times faster than NumPy's default.

The only deltagrad-specific line is ``import deltagrad as torch``; the rest is PyTorch code.
The model reads a short text one character at a time and learns to predict the next one; at the
end it writes new text, carrying its hidden state from character to character.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import deltagrad as torch

nn = torch.nn
F = torch.nn.functional

TEXT = """\
In the morning the harbour is quiet. The boats sit low in the water and the ropes creak.
A man walks along the wall with a bucket of bait and a dog that runs ahead of him.
The dog stops at every post and waits, and the man laughs and calls it back.
Out past the wall the sea is bright, and far away a ship moves slowly to the east.
By noon the boats are gone. The wall is warm, the gulls are sleeping, and the dog is sleeping too.
In the evening the boats come back one by one, and the man counts them from the wall.
When the last one is in, he picks up the bucket and walks home, and the dog runs ahead of him.
The lamps come on along the harbour, and the water turns dark, and the ropes creak again.
"""


@dataclass
class Config:
    """Everything that sets the run; kept together so it can be printed and saved."""

    seq_len: int = 48
    batch_size: int = 16
    embed: int = 32
    hidden: int = 96
    layers: int = 2
    dropout: float = 0.1
    lr: float = 3e-3
    clip: float = 1.0
    sample_len: int = 120
    steps: int = 150
    seed: int = 0


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear over the vocabulary."""

    def __init__(self, vocab_size: int, cfg: Config):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.embed)
        self.lstm = nn.LSTM(cfg.embed, cfg.hidden, num_layers=cfg.layers,
                            dropout=cfg.dropout, batch_first=True)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def get_batch(data, cfg: Config):
    """``batch_size`` random windows of the text and the same windows shifted by one."""
    ix = torch.randint(len(data) - cfg.seq_len - 1, (cfg.batch_size,))
    x = torch.stack([data[i:i + cfg.seq_len] for i in ix.tolist()])
    y = torch.stack([data[i + 1:i + cfg.seq_len + 1] for i in ix.tolist()])
    return x, y


@torch.no_grad()
def sample(model, stoi, itos, start: str, length: int, temperature: float = 0.8) -> str:
    """Continue ``start`` one character at a time, feeding the hidden state forward."""
    model.eval()
    idx = torch.tensor([[stoi[c] for c in start]])
    logits, state = model(idx)
    out = list(start)
    for _ in range(length):
        probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
        next_idx = torch.multinomial(probs, num_samples=1)
        out.append(itos[next_idx.item()])
        logits, state = model(next_idx, state)
    model.train()
    return "".join(out)


def main(cfg: Config | None = None) -> float:
    """Train, print progress and a sample; returns the final training loss."""
    cfg = cfg or Config()
    torch.manual_seed(cfg.seed)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    itos = {i: c for c, i in stoi.items()}
    data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)

    model = CharLSTM(len(chars), cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    print(cfg)
    print(f"{len(chars)} characters, {sum(p.numel() for p in model.parameters())} parameters")

    start = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        x, y = get_batch(data, cfg)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, len(chars)), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        optimizer.step()
        if step % 25 == 0 or step == 1:
            print(f"step {step:4d}  loss {loss.item():.4f}  {time.perf_counter() - start:.1f}s")
    print(sample(model, stoi, itos, start="The ", length=cfg.sample_len))
    return loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=Config.steps)
    main(Config(steps=parser.parse_args().steps))
