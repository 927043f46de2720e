"""Character-level language models in the manner of the public makemore / nanoGPT lectures.

Bigram lookup table, Bengio-style MLP with BatchNorm1d, nn.RNN / nn.GRU, a causal bag of words
and a small GPT with hand-written multi-head self-attention. Every builder takes the library as
``torch`` and is plain PyTorch code; batch positions come from a seeded NumPy generator so two
libraries can be fed the same batches.
"""

from __future__ import annotations

import numpy as np
from corpus import TEXT


def encode_text(text: str = TEXT):
    """Vocabulary of the text's characters; returns (codes as int64 array, stoi, itos)."""
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for ch, i in stoi.items()}
    return np.array([stoi[c] for c in text], dtype=np.int64), stoi, itos


def get_batch(torch, data, rng, block_size, batch_size, device="cpu"):
    """Random windows of the text: inputs (B, T) and the next characters (B, T)."""
    data = torch.tensor(data, dtype=torch.long)
    ix = torch.from_numpy(rng.integers(0, len(data) - block_size, size=batch_size))
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x.to(device), y.to(device)


def _lm_loss(F, logits, targets):
    B, T, C = logits.shape
    return F.cross_entropy(logits.view(B * T, C), targets.view(B * T))


def bigram(torch, vocab_size):
    """Each character reads the logits of the next one straight from a lookup table."""
    nn, F = torch.nn, torch.nn.functional

    class BigramLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

        def forward(self, idx, targets=None):
            logits = self.token_embedding_table(idx)
            loss = None if targets is None else _lm_loss(F, logits, targets)
            return logits, loss

        def generate(self, idx, max_new_tokens):
            for _ in range(max_new_tokens):
                logits, _ = self(idx)
                probs = F.softmax(logits[:, -1, :], dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1)
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    return BigramLanguageModel()


def bag_of_words(torch, vocab_size, n_embd=32, block_size=16):
    """Token + position embeddings averaged over the past through a -inf-masked softmax."""
    nn, F = torch.nn, torch.nn.functional

    class BagOfWords(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
            self.position_embedding_table = nn.Embedding(block_size, n_embd)
            self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
            self.lm_head = nn.Linear(n_embd, vocab_size)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
            wei = torch.zeros((T, T))
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = F.softmax(wei, dim=-1)
            x = wei @ x
            logits = self.lm_head(x)
            loss = None if targets is None else _lm_loss(F, logits, targets)
            return logits, loss

    return BagOfWords()


def gpt(torch, vocab_size, n_embd=32, n_head=4, n_layer=2, block_size=16, dropout=0.0):
    """A small decoder-only transformer; attention written out by hand as in the lecture."""
    nn, F = torch.nn, torch.nn.functional

    class Head(nn.Module):
        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(n_embd, head_size, bias=False)
            self.query = nn.Linear(n_embd, head_size, bias=False)
            self.value = nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            B, T, C = x.shape
            k = self.key(x)
            q = self.query(x)
            wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = F.softmax(wei, dim=-1)
            wei = self.dropout(wei)
            return wei @ self.value(x)

    class MultiHeadAttention(nn.Module):
        def __init__(self, num_heads, head_size):
            super().__init__()
            self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
            self.proj = nn.Linear(head_size * num_heads, n_embd)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            out = torch.cat([h(x) for h in self.heads], dim=-1)
            return self.dropout(self.proj(out))

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd),
                nn.GELU(),
                nn.Linear(4 * n_embd, n_embd),
                nn.Dropout(dropout),
            )

        def forward(self, x):
            return self.net(x)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.sa = MultiHeadAttention(n_head, n_embd // n_head)
            self.ffwd = FeedForward()
            self.ln1 = nn.LayerNorm(n_embd)
            self.ln2 = nn.LayerNorm(n_embd)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class GPTLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
            self.position_embedding_table = nn.Embedding(block_size, n_embd)
            self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab_size)
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            tok_emb = self.token_embedding_table(idx)
            pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))
            x = self.blocks(tok_emb + pos_emb)
            logits = self.lm_head(self.ln_f(x))
            loss = None if targets is None else _lm_loss(F, logits, targets)
            return logits, loss

        def generate(self, idx, max_new_tokens):
            for _ in range(max_new_tokens):
                idx_cond = idx[:, -block_size:]
                logits, _ = self(idx_cond)
                probs = F.softmax(logits[:, -1, :], dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1)
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    return GPTLanguageModel()


def recurrent(torch, vocab_size, kind="RNN", n_embd=16, n_hidden=32):
    """Embedding -> nn.RNN or nn.GRU (batch_first) -> Linear, from a learned start state."""
    nn, F = torch.nn, torch.nn.functional

    class RecurrentLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.start = nn.Parameter(torch.zeros(1, 1, n_hidden))
            self.wte = nn.Embedding(vocab_size, n_embd)
            self.rnn = getattr(nn, kind)(n_embd, n_hidden, batch_first=True)
            self.lm_head = nn.Linear(n_hidden, vocab_size)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            h0 = self.start.expand(1, B, n_hidden).contiguous()
            out, _ = self.rnn(self.wte(idx), h0)
            logits = self.lm_head(out)
            loss = None if targets is None else _lm_loss(F, logits, targets)
            return logits, loss

    return RecurrentLM()


def train_lm(torch, model, steps=10, batch_size=8, block_size=16, lr=1e-2, seed=1,
             optimizer="AdamW", eval_every=0):
    """The lectures' loop: sample a batch, forward, zero_grad(set_to_none), backward, step."""
    data, _, _ = encode_text()
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]
    rng = np.random.default_rng(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device)
    opt = getattr(torch.optim, optimizer)(model.parameters(), lr=lr)

    @torch.no_grad()
    def estimate_loss(eval_iters=2):
        out = {}
        model.eval()
        for split, split_data in (("train", train_data), ("val", val_data)):
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(torch, split_data, rng, block_size, batch_size, device)
                _, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    losses = []
    for it in range(steps):
        if eval_every and it % eval_every == 0:
            est = estimate_loss()
            print(f"step {it}: train loss {est['train']:.4f}, val loss {est['val']:.4f}")
        xb, yb = get_batch(torch, train_data, rng, block_size, batch_size, device)
        _, loss = model(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def mlp(torch, vocab_size, block_size=3, n_embd=10, n_hidden=64):
    """Bengio et al.'s MLP: concatenated embeddings -> Linear -> BatchNorm1d -> tanh -> Linear."""
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.C = nn.Embedding(vocab_size, n_embd)
            self.hidden = nn.Linear(n_embd * block_size, n_hidden, bias=False)
            self.bn = nn.BatchNorm1d(n_hidden)
            self.out = nn.Linear(n_hidden, vocab_size)
            with torch.no_grad():
                self.out.weight *= 0.1  # a less confident start, as the lecture does

        def forward(self, x):
            emb = self.C(x)
            h = torch.tanh(self.bn(self.hidden(emb.view(emb.shape[0], -1))))
            return self.out(h)

    return MLP()


def build_dataset(torch, data, block_size=3):
    """Every context of ``block_size`` characters (zero-padded at the start) and its successor."""
    X, Y = [], []
    context = [0] * block_size
    for code in data.tolist():
        X.append(context)
        Y.append(code)
        context = context[1:] + [code]
    return torch.tensor(X), torch.tensor(Y)


def train_mlp(torch, model, steps=20, batch_size=32, block_size=3, lr=0.1, seed=2):
    """Plain SGD written out (``p.data += -lr * p.grad``), then eval-mode loss on held-out text."""
    F = torch.nn.functional
    data, _, _ = encode_text()
    n = int(0.9 * len(data))
    Xtr, Ytr = build_dataset(torch, data[:n], block_size)
    Xval, Yval = build_dataset(torch, data[n:], block_size)
    rng = np.random.default_rng(seed)
    parameters = list(model.parameters())
    losses = []
    for _ in range(steps):
        ix = torch.from_numpy(rng.integers(0, Xtr.shape[0], size=batch_size))
        logits = model(Xtr[ix])
        loss = F.cross_entropy(logits, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -lr * p.grad
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        val_loss = F.cross_entropy(model(Xval), Yval)
    model.train()
    print(f"val {val_loss.item():.4f}")
    return losses + [val_loss.item()]


def main(torch, steps: int = 200) -> dict[str, list[float]]:
    """Train each model briefly from the library's own random start and sample from the GPT."""
    torch.manual_seed(1337)
    _, stoi, itos = encode_text()
    vocab_size = len(stoi)
    results = {}
    for name, model in (("bigram", bigram(torch, vocab_size)),
                        ("bow", bag_of_words(torch, vocab_size)),
                        ("rnn", recurrent(torch, vocab_size, "RNN")),
                        ("gru", recurrent(torch, vocab_size, "GRU"))):
        results[name] = train_lm(torch, model, steps=steps)
    model = mlp(torch, vocab_size)
    print(sum(p.nelement() for p in model.parameters()), "parameters")
    results["mlp"] = train_mlp(torch, model, steps=steps)
    model = gpt(torch, vocab_size, dropout=0.1)
    results["gpt"] = train_lm(torch, model, steps=steps, lr=3e-3, eval_every=steps // 2)
    model.eval()
    context = torch.zeros((1, 1), dtype=torch.long)
    print("".join(itos[i] for i in model.generate(context, max_new_tokens=60)[0].tolist()))
    return results
