"""Programs in the style of the pytorch/examples repository's graph and translation programs,
as their users run them (PR21, session 29; written afresh, synthetic data, tiny sizes): gcn (a
sparse normalised adjacency, torch.sparse.mm) and gat (attention with LeakyReLU, masked
softmax), a language-translation-style seq2seq nn.Transformer (square subsequent and padding
masks, label-smoothed cross_entropy, greedy decoding) and legacy snippets (Variable, .data,
volatile replaced by no_grad, torch.jit.trace). The repository's word_language_model,
time_sequence_prediction and reinforcement_learning programs run in the earlier families'
files named below SECTIONS. Run by prog_s29_PR21_all.py.
"""
# ruff: noqa: B007, E501, E731, N801, N802, N806, N812, UP004, UP008, UP015, UP031, UP032 - written as a reader types

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put
from torch.autograd import Variable


def _graph(n, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    features = F.one_hot(labels, 3).float() + 0.8 * torch.randn(n, 3, generator=g)
    features = torch.cat([features, torch.rand(n, 5, generator=g)], 1)
    edges = []
    for i in range(n):
        for j in range(n):
            if i < j and (labels[i] == labels[j]) == bool((i * 7 + j * 3) % 4 != 0) and (i + j) % 3 == 0:
                edges += [(i, j), (j, i)]
    edge_index = torch.tensor(edges, dtype=torch.long).t()
    return features, labels, edge_index


class GraphConv(nn.Module):
    """features @ kernel, then each node's sum over its neighbours by a sparse adjacency
    (torch.spmm), plus a bias when asked for."""

    def __init__(self, n_in, n_out, with_bias=False):
        super().__init__()
        self.kernel = nn.Parameter(torch.Tensor(n_in, n_out))
        nn.init.xavier_normal_(self.kernel)
        self.bias = nn.Parameter(torch.Tensor(n_out)) if with_bias else None
        if with_bias:
            nn.init.zeros_(self.bias)

    def forward(self, feats, adjacency):
        mixed = torch.spmm(adjacency, torch.mm(feats, self.kernel))
        return mixed if self.bias is None else mixed + self.bias


class GCN(nn.Module):
    def __init__(self, n_in, hidden, n_out, with_bias=True, p_drop=0.1):
        super().__init__()
        self.first, self.second = GraphConv(n_in, hidden, with_bias), GraphConv(hidden, n_out, with_bias)
        self.drop = nn.Dropout(p_drop)

    def forward(self, feats, adjacency):
        hidden = self.drop(F.relu(self.first(feats, adjacency)))
        return F.log_softmax(self.second(hidden, adjacency), dim=1)


def section_gcn():
    n = 24
    features, labels, edge_index = _graph(n, 7)
    with printed("e21_gcn.log"):
        adj = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.size(1)), (n, n))
        adj = adj + torch.eye(n).to_sparse()
        deg = torch.sparse.sum(adj, dim=1).to_dense()
        d_inv_sqrt = deg.pow(-0.5)
        d_inv_sqrt[torch.isinf(d_inv_sqrt)] = 0.
        d_mat = torch.diag(d_inv_sqrt)
        adj_norm = (d_mat @ adj.to_dense() @ d_mat).to_sparse()
        print(adj.is_sparse, adj._nnz(), adj_norm.coalesce().indices().shape, deg[:6])
        idx_train, idx_val = torch.arange(0, 12), torch.arange(12, 24)
        model = GCN(features.size(1), 16, 3)
        optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
        criterion = nn.NLLLoss()
        for epoch in range(1, 11):
            model.train()
            optimizer.zero_grad()
            output = model(features, adj_norm)
            loss = criterion(output[idx_train], labels[idx_train])
            loss.backward()
            optimizer.step()
            if epoch % 3 == 1:
                model.eval()
                with torch.no_grad():
                    output = model(features, adj_norm)
                    val_loss = criterion(output[idx_val], labels[idx_val])
                    val_acc = output[idx_val].argmax(1).eq(labels[idx_val]).sum().item() / len(idx_val)
                print(f'Epoch: {epoch:04d}, Train loss: {loss.item():.4f}, Val loss: {val_loss.item():.4f}, Val acc: {val_acc:.4f}')
    put("e21_gcn.kernel", model.second.kernel)


class GraphAttention(nn.Module):
    """Attention along a graph's edges, per head: a node's score for a neighbour is a learned
    vector against both projected features (LeakyReLU), non-edges pushed to -9e16, softmax,
    dropout; the heads concatenated or averaged."""

    def __init__(self, n_in, n_out, heads, concat=False, p_drop=0.4, slope=0.2):
        super().__init__()
        self.heads, self.concat, self.p_drop, self.slope = heads, concat, p_drop, slope
        self.width = n_out // heads if concat else n_out
        self.proj = nn.Parameter(torch.empty(n_in, self.width * heads))
        self.score = nn.Parameter(torch.empty(heads, 2 * self.width, 1))
        nn.init.xavier_normal_(self.proj)
        nn.init.xavier_normal_(self.score)

    def forward(self, feats, adjacency):
        n = feats.shape[0]
        h = F.dropout(feats @ self.proj, self.p_drop, training=self.training)
        h = h.view(n, self.heads, self.width).transpose(0, 1)  # (heads, nodes, width)
        pair = h @ self.score[:, :self.width] + (h @ self.score[:, self.width:]).mT
        logits = F.leaky_relu(pair, self.slope).masked_fill(adjacency <= 0, -9e16)
        mixed = F.dropout(logits.softmax(-1), self.p_drop, training=self.training) @ h
        return mixed.transpose(0, 1).contiguous().view(n, -1) if self.concat else mixed.mean(0)


class TwoLayerGAT(nn.Module):
    def __init__(self, n_in, hidden, heads, classes, concat=False, p_drop=0.4):
        super().__init__()
        self.first = GraphAttention(n_in, hidden, heads, concat=concat, p_drop=p_drop)
        self.second = GraphAttention(hidden, classes, 1, p_drop=p_drop)

    def forward(self, feats, adjacency):
        return F.log_softmax(self.second(F.elu(self.first(feats, adjacency)), adjacency), dim=1)


def section_gat():
    n = 20
    features, labels, edge_index = _graph(n, 8)
    with printed("e21_gat.log"):
        adj_mat = torch.zeros(n, n)
        adj_mat[edge_index[0], edge_index[1]] = 1
        adj_mat = adj_mat + torch.eye(n)
        print(adj_mat.sum().item(), (adj_mat > 0).sum(1)[:8])
        gat_net = TwoLayerGAT(features.shape[1], 8, 2, 3, concat=True, p_drop=0.3)
        optimizer = optim.Adam(gat_net.parameters(), lr=0.005, weight_decay=5e-4)
        criterion = nn.NLLLoss()
        idx = torch.randperm(n)
        idx_train, idx_test = idx[:12], idx[12:]
        for epoch in range(1, 9):
            gat_net.train()
            optimizer.zero_grad()
            y = gat_net(features, adj_mat)
            loss = criterion(y[idx_train], labels[idx_train])
            loss.backward()
            optimizer.step()
            if epoch % 3 == 0:
                gat_net.eval()
                with torch.no_grad():
                    out = gat_net(features, adj_mat)
                    acc = out[idx_test].argmax(dim=1).eq(labels[idx_test]).sum().item() / len(idx_test)
                print(f'Epoch: {epoch:02d} | Loss: {loss.item():.4f} | Test acc: {acc:.3f}')
    put("e21_gat.out", out)


PAD, START, STOP = 1, 2, 3


class SinusoidPositions(nn.Module):
    """Adds fixed sine / cosine position codes to a sequence-first input, then dropout."""

    def __init__(self, width, dropout=0.1, longest=64):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        steps = torch.arange(longest, dtype=torch.float32)[:, None]
        rates = torch.pow(10000.0, -torch.arange(0, width, 2, dtype=torch.float32) / width)
        table = torch.zeros(longest, 1, width)
        table[:, 0, 0::2] = torch.sin(steps * rates)
        table[:, 0, 1::2] = torch.cos(steps * rates)
        self.register_buffer("table", table)

    def forward(self, seq):
        return self.drop(seq + self.table[:seq.shape[0]])


class TinyTranslator(nn.Module):
    """Token embeddings scaled by sqrt(width) plus sine positions, a batch-first nn.Transformer
    and a linear read-out; encode / decode for generating one token at a time."""

    def __init__(self, vocab, width=16, heads=2, layers=2, ff=32, dropout=0.1):
        super().__init__()
        self.width = width
        self.src_embed, self.tgt_embed = nn.Embedding(vocab, width), nn.Embedding(vocab, width)
        self.positions = SinusoidPositions(width, dropout=dropout)
        self.core = nn.Transformer(d_model=width, nhead=heads, num_encoder_layers=layers,
                                   num_decoder_layers=layers, dim_feedforward=ff,
                                   dropout=dropout, batch_first=True)
        self.readout = nn.Linear(width, vocab)

    def _embed(self, table, tokens):
        scaled = table(tokens.long()) * math.sqrt(self.width)
        return self.positions(scaled.transpose(0, 1)).transpose(0, 1)

    def forward(self, src, tgt, causal, src_pad, tgt_pad):
        no_src_mask = torch.zeros(src.shape[1], src.shape[1], dtype=torch.bool)
        out = self.core(self._embed(self.src_embed, src), self._embed(self.tgt_embed, tgt),
                        no_src_mask, causal, None, src_pad, tgt_pad, src_pad)
        return self.readout(out)

    def encode(self, src):
        return self.core.encoder(self._embed(self.src_embed, src))

    def decode(self, tgt, memory):
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1]).bool()
        return self.core.decoder(self._embed(self.tgt_embed, tgt), memory, tgt_mask=causal)


def greedy(model, src, limit):
    """The most likely next token, one at a time, from START until STOP or ``limit`` tokens."""
    memory = model.encode(src)
    out = torch.full((1, 1), START, dtype=torch.long)
    while out.shape[1] < limit:
        nxt = model.readout(model.decode(out, memory)[:, -1]).argmax(-1)
        out = torch.cat([out, nxt[:, None]], dim=1)
        if nxt.item() == STOP:
            break
    return out


def section_translation():
    # (learn to reverse short token sequences: the translation tutorial's training shape in
    # our own code)
    vocab = 12
    g = torch.Generator().manual_seed(3)
    pairs = []
    for _ in range(16):
        n = int(torch.randint(2, 6, (1,), generator=g))
        seq = torch.randint(4, vocab, (n,), generator=g)
        pairs.append((seq, seq.flip(0)))

    def wrap(seq):
        return torch.cat([torch.tensor([START]), seq, torch.tensor([STOP])])

    def to_batch(items):
        src, tgt = zip(*((wrap(a), wrap(b)) for a, b in items))
        return tuple(nn.utils.rnn.pad_sequence(list(side), batch_first=True, padding_value=PAD)
                     for side in (src, tgt))

    loader = torch.utils.data.DataLoader(pairs, batch_size=8, collate_fn=to_batch)
    with printed("e21_translate.log"):
        model = TinyTranslator(vocab)
        for w in model.parameters():
            if w.dim() > 1:
                nn.init.xavier_uniform_(w)
        loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
        opt = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)
        for rnd in range(3):
            model.train()
            total = 0.0
            for src, tgt in loader:
                shifted = tgt[:, :-1]
                causal = nn.Transformer.generate_square_subsequent_mask(shifted.shape[1])
                logits = model(src, shifted, causal, src == PAD, shifted == PAD)
                loss = loss_fn(logits.flatten(0, 1), tgt[:, 1:].flatten())
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            print(f"pass {rnd}: mean loss {total / len(loader):.3f}")
        print(causal, (src == PAD)[0])
        model.eval()
        with torch.no_grad():
            tokens = greedy(model, torch.tensor([[START, 5, 6, 7, STOP]]), limit=8).flatten()
        print(tokens.tolist(), tokens.dtype)
    put("e21_translate.gen", model.readout.weight)


def section_legacy():
    with printed("e21_legacy.log"):
        x = Variable(torch.randn(3, 4), requires_grad=True)
        w = torch.autograd.Variable(torch.randn(4, 2), requires_grad=True)
        y = Variable(torch.ones(3, 2))
        print(type(x).__name__, x.requires_grad, y.requires_grad, isinstance(x, torch.Tensor))
        out = x.mm(w)
        loss = (out - y).pow(2).sum()
        loss.backward()
        print(x.grad.data.shape, w.grad.data.sum(), loss.data, loss.data.item(), loss.data[()])
        w.data -= 0.01 * w.grad.data
        w.grad.data.zero_()
        print(w.grad, w.requires_grad, w.data.requires_grad, w.is_leaf)
        with torch.no_grad():
            z = x.mm(w)
        print(z.requires_grad, z.grad_fn)
        v = Variable(torch.ones(2), volatile=True)
        print(v.requires_grad)
        h = x.data.new(2, 3).zero_()
        print(h, h.dtype, x.data.new_zeros(1).dtype, torch.FloatTensor(2).shape, torch.LongTensor([1, 2]).dtype)
        a = torch.Tensor([[1, 2], [3, 4]])
        print(a.type(), a.long().type(), torch.from_numpy(np.ones(2)).type(), a.cpu().numpy().sum())
        print(x.size(0), x.dim(), x.nelement(), x[0, 0].item() == float(x.data[0][0]))
        v2 = Variable(a)
        print(v2.volatile if hasattr(v2, 'volatile') else None, v2.grad_fn, v2.data is a)
        m = nn.Linear(2, 2)
        for param in m.parameters():
            param.data.uniform_(-0.1, 0.1)
        print(m.weight.data.abs().max().item() <= 0.1, F.softmax(Variable(a), dim=1))
        traced = torch.jit.trace(m, torch.ones(1, 2))
        print(torch.equal(traced(a), m(a)), torch.jit.trace(lambda t: t * 2, (a,))(a)[0])
    put("e21_legacy.w", w)


SECTIONS = {
    "e21_gcn": section_gcn, "e21_gat": section_gat, "e21_translate": section_translation,
    "e21_legacy": section_legacy,
}
# (word_language_model, time_sequence_prediction, reinforce and actor_critic ran here too
# until session 30: the same examples run in prog_wordlm.py, prog_s18_PG_examples.py,
# prog_timeseq.py, prog_s25_PR9_tutorials.py and prog_s9_P1_examples.py)
