"""Word-level language model in the manner of PyTorch's word_language_model example.

An RNN model (LSTM, GRU, RNN_TANH or RNN_RELU; optional tied encoder/decoder weights;
dropout) trained by truncated back-propagation through time with the hidden state detached
between batches, gradient-norm clipping and a hand-written SGD update; or a Transformer encoder
with a sinusoidal positional-encoding buffer and a causal mask. The text is split into
train/validation by line and batched column-wise (``batchify``), so batches are deterministic.
"""

from __future__ import annotations

import io
import math

from corpus import TEXT


class Dictionary:
    """Word <-> id."""

    def __init__(self):
        self.word2idx: dict[str, int] = {}
        self.idx2word: list[str] = []

    def add_word(self, word: str) -> int:
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self) -> int:
        return len(self.idx2word)


class Corpus:
    """The embedded text as word ids, with ``<eos>`` after each line; 85% train, rest valid."""

    def __init__(self, torch, text: str = TEXT):
        self.dictionary = Dictionary()
        lines = [line for line in text.splitlines() if line.strip()]
        cut = int(0.85 * len(lines))
        self.train = self.tokenize(torch, lines[:cut])
        self.valid = self.tokenize(torch, lines[cut:])

    def tokenize(self, torch, lines):
        idss = []
        for line in lines:
            words = line.split() + ["<eos>"]
            ids = [self.dictionary.add_word(word) for word in words]
            idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


def batchify(torch, data, bsz, device):
    """Cut the id stream into ``bsz`` columns: (len // bsz, bsz)."""
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous().to(device)


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def rnn_model(torch, rnn_type, ntoken, ninp=32, nhid=32, nlayers=2, dropout=0.2,
              tie_weights=False):
    """Embedding -> dropout -> recurrent stack -> dropout -> Linear -> log_softmax."""
    nn, F = torch.nn, torch.nn.functional

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.ntoken = ntoken
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            if rnn_type in ["LSTM", "GRU"]:
                self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
            else:
                nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
                self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity,
                                  dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            if tie_weights:
                if nhid != ninp:
                    raise ValueError("When using the tied flag, nhid must be equal to emsize")
                self.decoder.weight = self.encoder.weight
            self.init_weights()
            self.rnn_type = rnn_type
            self.nhid = nhid
            self.nlayers = nlayers

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output)
            decoded = decoded.view(-1, self.ntoken)
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            if self.rnn_type == "LSTM":
                return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                        weight.new_zeros(self.nlayers, bsz, self.nhid))
            return weight.new_zeros(self.nlayers, bsz, self.nhid)

    return RNNModel()


def transformer_model(torch, ntoken, ninp=32, nhead=2, nhid=64, nlayers=2, dropout=0.2):
    """Embedding * sqrt(d) + positional encoding -> TransformerEncoder (causal) -> Linear."""
    nn, F = torch.nn, torch.nn.functional

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=500):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float()
                                 * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            pe = pe.unsqueeze(0).transpose(0, 1)
            self.register_buffer("pe", pe)

        def forward(self, x):
            x = x + self.pe[:x.size(0), :]
            return self.dropout(x)

    class TransformerModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.model_type = "Transformer"
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            encoder_layers = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout)
            self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers,
                                                             enable_nested_tensor=False)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)
            self.init_weights()

        def _generate_square_subsequent_mask(self, sz):
            mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
            return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(
                mask == 1, 0.0)

        def init_weights(self):
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, src, has_mask=True):
            if has_mask:
                device = src.device
                if self.src_mask is None or self.src_mask.size(0) != len(src):
                    self.src_mask = self._generate_square_subsequent_mask(len(src)).to(device)
            else:
                self.src_mask = None
            src = self.encoder(src) * math.sqrt(self.ninp)
            src = self.pos_encoder(src)
            output = self.transformer_encoder(src, self.src_mask)
            output = self.decoder(output)
            return F.log_softmax(output, dim=-1)

    return TransformerModel()


def repackage_hidden(torch, h):
    """Detach hidden states from their history, so BPTT stops at the batch boundary."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(torch, v) for v in h)


def train(torch, model, corpus, epochs=1, lr=20.0, clip=0.25, bptt=10, batch_size=8,
          max_batches=None):
    """Per-batch train losses of every epoch, then the validation loss after each epoch."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_data = batchify(torch, corpus.train, batch_size, device)
    val_data = batchify(torch, corpus.valid, 4, device)
    ntokens = len(corpus.dictionary)
    criterion = torch.nn.NLLLoss()
    is_transformer = getattr(model, "model_type", None) == "Transformer"
    model.to(device)

    def evaluate(data_source):
        model.eval()
        total_loss = 0.0
        if not is_transformer:
            hidden = model.init_hidden(4)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, bptt):
                data, targets = get_batch(data_source, i, bptt)
                if is_transformer:
                    output = model(data).view(-1, ntokens)
                else:
                    output, hidden = model(data, hidden)
                    hidden = repackage_hidden(torch, hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    losses, val_losses = [], []
    best_val_loss = None
    best_state = io.BytesIO()
    for epoch in range(1, epochs + 1):
        model.train()
        if not is_transformer:
            hidden = model.init_hidden(batch_size)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            if max_batches is not None and batch >= max_batches:
                break
            data, targets = get_batch(train_data, i, bptt)
            model.zero_grad()
            if is_transformer:
                output = model(data).view(-1, ntokens)
            else:
                hidden = repackage_hidden(torch, hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
        val_loss = evaluate(val_data)
        print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | "
              f"valid ppl {math.exp(val_loss):8.2f}")
        val_losses.append(val_loss)
        if best_val_loss is None or val_loss < best_val_loss:
            best_state = io.BytesIO()
            torch.save(model.state_dict(), best_state)
            best_val_loss = val_loss
        else:
            lr /= 4.0
    best_state.seek(0)
    model.load_state_dict(torch.load(best_state))
    return losses + val_losses


def main(torch, model: str = "LSTM", epochs: int = 3) -> list[float]:
    """Train one model on the embedded text; ``model`` is an RNN type or 'Transformer'."""
    torch.manual_seed(1111)
    corpus = Corpus(torch)
    ntokens = len(corpus.dictionary)
    if model == "Transformer":
        net = transformer_model(torch, ntokens)
    else:
        net = rnn_model(torch, model, ntokens, tie_weights=model == "LSTM")
    return train(torch, net, corpus, epochs=epochs, lr=5.0 if model == "Transformer" else 20.0)
