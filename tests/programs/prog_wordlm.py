"""A word-level language model trained on the embedded text (tests/programs/corpus.py; our
own code, rewritten in session 31, DD3).

The text becomes one stream of word ids (an end-of-line marker after each line; the first 85%
of the lines to fit, the rest to check), laid out as parallel columns so each chunk of rows is
one batch. A recurrent model (LSTM, GRU, RNN_TANH or RNN_RELU stack between dropout layers,
the readout optionally sharing the embedding's weight) is trained chunk by chunk with its
state carried over but cut from the graph, the gradient norm clipped and plain steps written
on ``p.data``; or an attention model (sinusoid position table as a buffer, a causal
TransformerEncoder). The step size quarters whenever the check loss does not improve, and the
best weights (kept by torch.save to a buffer) are restored at the end.
"""

from __future__ import annotations

import io
import math

from corpus import TEXT

END = "<eol>"


class Vocabulary:
    """Ids for words, handed out in order of first appearance."""

    def __init__(self):
        self.ids: dict[str, int] = {}
        self.words: list[str] = []

    def id_of(self, word: str) -> int:
        if word not in self.ids:
            self.ids[word] = len(self.words)
            self.words.append(word)
        return self.ids[word]

    def __len__(self) -> int:
        return len(self.words)


class WordStream:
    """The text as int64 word ids: ``fit_ids`` (first 85% of its lines), ``check_ids``."""

    def __init__(self, torch, text: str = TEXT):
        self.vocab = Vocabulary()
        lines = [line.split() + [END] for line in text.splitlines() if line.strip()]
        split = int(0.85 * len(lines))
        self.fit_ids = self._ids(torch, lines[:split])
        self.check_ids = self._ids(torch, lines[split:])

    def _ids(self, torch, lines):
        return torch.cat([torch.tensor([self.vocab.id_of(w) for w in line]).type(torch.int64)
                          for line in lines])


def columns(torch, ids, width, device):
    """The id stream cut into ``width`` equal columns, one after the other: (rows, width)."""
    rows = ids.size(0) // width
    return ids.narrow(0, 0, rows * width).view(width, -1).t().contiguous().to(device)


def chunk(table, row, span):
    """Rows [row, row + span) of ``table`` and, flattened, the words that follow each."""
    length = min(span, len(table) - 1 - row)
    return table[row:row + length], table[row + 1:row + 1 + length].view(-1)


def recurrent_lm(torch, cell, n_words, width=32, layers=2, dropout=0.2,
                 share_embedding=False):
    """embed -> dropout -> recurrent stack (``cell``) -> dropout -> readout -> log-probs."""
    nn, F = torch.nn, torch.nn.functional
    kinds = {"LSTM": nn.LSTM, "GRU": nn.GRU}

    class RecurrentLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.layers, self.width = cell, layers, width
            self.embed = nn.Embedding(n_words, width)
            self.noise = nn.Dropout(dropout)
            if cell in kinds:
                self.stack = kinds[cell](width, width, layers, dropout=dropout)
            else:
                act = cell.split("_")[1].lower()  # RNN_TANH / RNN_RELU
                self.stack = nn.RNN(width, width, layers, nonlinearity=act, dropout=dropout)
            self.readout = nn.Linear(width, n_words)
            if share_embedding:
                self.readout.weight = self.embed.weight
            nn.init.uniform_(self.embed.weight, -0.1, 0.1)
            nn.init.uniform_(self.readout.weight, -0.1, 0.1)
            nn.init.zeros_(self.readout.bias)

        def begin_state(self, batch):
            """Zeros like the first parameter: (h, c) for an LSTM, h otherwise."""
            first = next(self.parameters())
            zeros = first.new_zeros(self.layers, batch, self.width)
            return (zeros, first.new_zeros(self.layers, batch, self.width)) \
                if self.cell == "LSTM" else zeros

        def forward(self, ids, state):
            seen, state = self.stack(self.noise(self.embed(ids)), state)
            scores = self.readout(self.noise(seen)).view(-1, n_words)
            return F.log_softmax(scores, dim=1), state

    return RecurrentLM()


def attention_lm(torch, n_words, width=32, heads=2, hidden=64, layers=2, dropout=0.2):
    """embed * sqrt(width) + position table -> causal TransformerEncoder -> readout."""
    nn, F = torch.nn, torch.nn.functional

    def sinusoids(length, dim):
        """(length, 1, dim): sin on even features, cos on odd, wavelengths growing by 1e4."""
        where = torch.arange(0, length, dtype=torch.float).unsqueeze(1)
        rates = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(1e4) / dim))
        table = torch.zeros(length, dim)
        table[:, 0::2] = torch.sin(where * rates)
        table[:, 1::2] = torch.cos(where * rates)
        return table.unsqueeze(1)

    class AttentionLM(nn.Module):
        uses_state = False

        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(n_words, width)
            self.register_buffer("positions", sinusoids(400, width))
            self.noise = nn.Dropout(dropout)
            block = nn.TransformerEncoderLayer(width, heads, hidden, dropout)
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.readout = nn.Linear(width, n_words)
            self.mask = None
            nn.init.uniform_(self.embed.weight, -0.1, 0.1)
            nn.init.uniform_(self.readout.weight, -0.1, 0.1)
            nn.init.zeros_(self.readout.bias)

        def forward(self, ids):
            n = len(ids)
            if self.mask is None or self.mask.size(0) != n:  # -inf above the diagonal
                later = torch.ones(n, n).triu(1) == 1
                self.mask = torch.zeros(n, n).masked_fill(later, float("-inf")).to(ids.device)
            x = self.noise(self.embed(ids) * math.sqrt(width) + self.positions[:n])
            return F.log_softmax(self.readout(self.blocks(x, self.mask)), dim=-1)

    return AttentionLM()


def cut_history(torch, state):
    """The carried state without its graph (a tensor, or a tuple of them)."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(cut_history(torch, part) for part in state)


def fit(torch, model, stream, sweeps=1, lr=20.0, clip=0.25, span=10, batch=8,
        max_chunks=None):
    """Every chunk's training loss over all sweeps, then the check loss after each sweep."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    fit_table = columns(torch, stream.fit_ids, batch, device)
    check_table = columns(torch, stream.check_ids, 4, device)
    n_words = len(stream.vocab)
    nll = torch.nn.NLLLoss()
    recurrent = getattr(model, "uses_state", True)
    model.to(device)

    def scores(ids, state):
        if recurrent:
            return model(ids, state)
        return model(ids).view(-1, n_words), None

    def check_loss():
        model.eval()
        total = 0.0
        state = model.begin_state(4) if recurrent else None
        with torch.no_grad():
            for row in range(0, check_table.size(0) - 1, span):
                ids, nxt = chunk(check_table, row, span)
                logp, state = scores(ids, state)
                state = cut_history(torch, state) if recurrent else None
                total += len(ids) * nll(logp, nxt).item()
        return total / (len(check_table) - 1)

    train_losses, check_losses = [], []
    best, kept = None, io.BytesIO()
    for sweep in range(sweeps):
        model.train()
        state = model.begin_state(batch) if recurrent else None
        for count, row in enumerate(range(0, fit_table.size(0) - 1, span)):
            if max_chunks is not None and count >= max_chunks:
                break
            ids, nxt = chunk(fit_table, row, span)
            model.zero_grad()
            logp, state = scores(ids, cut_history(torch, state) if recurrent else None)
            loss = nll(logp, nxt)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            train_losses.append(loss.item())
        held = check_loss()
        print(f"sweep {sweep + 1}: check loss {held:6.3f}, perplexity {math.exp(held):9.2f}")
        check_losses.append(held)
        if best is None or held < best:
            kept = io.BytesIO()
            torch.save(model.state_dict(), kept)
            best = held
        else:
            lr /= 4.0
    kept.seek(0)
    model.load_state_dict(torch.load(kept))
    return train_losses + check_losses


def main(torch, model: str = "LSTM", epochs: int = 3) -> list[float]:
    """Train one model on the embedded text; ``model`` is a recurrent cell or 'Transformer'."""
    torch.manual_seed(1111)
    stream = WordStream(torch)
    if model == "Transformer":
        net = attention_lm(torch, len(stream.vocab))
    else:
        net = recurrent_lm(torch, model, len(stream.vocab), share_embedding=model == "LSTM")
    return fit(torch, net, stream, sweeps=epochs, lr=5.0 if model == "Transformer" else 20.0)
