"""Probe IV (session 7), part II: model genres not covered before.

Sequence-to-sequence with additive attention, the full nn.Transformer, CTC, a U-Net, a TCN
with weight normalisation, a VQ-VAE, a mixture of experts and a graph attention network. Each
program takes the library as ``torch``, seeds it, and returns what it would print; the runs under
PyTorch and deltagrad must agree.
"""

from __future__ import annotations

import warnings

import pytest
from s5_harness import compare

import deltagrad as dg

torch = pytest.importorskip("torch")


def prog_bahdanau(torch):
    """GRU encoder (bidirectional) and decoder with Bahdanau (additive) attention, teacher
    forcing chosen per step by torch.rand, NLLLoss on log_softmax, greedy decoding."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(10)
    vocab, hidden, sos = 9, 16, 0

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, hidden)
            self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(2 * hidden, hidden)

        def forward(self, src):
            out, h = self.gru(self.embedding(src))
            h = torch.tanh(self.fc(torch.cat([h[-2], h[-1]], dim=1)))
            return self.fc(out), h.unsqueeze(0)

    class BahdanauAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.Wa = nn.Linear(hidden, hidden)
            self.Ua = nn.Linear(hidden, hidden)
            self.Va = nn.Linear(hidden, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys))).squeeze(2)
            weights = F.softmax(scores, dim=-1).unsqueeze(1)
            return torch.bmm(weights, keys), weights

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, hidden)
            self.attention = BahdanauAttention()
            self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
            self.out = nn.Linear(hidden, vocab)
            self.dropout = nn.Dropout(0.1)

        def step(self, token, h, keys):
            embedded = self.dropout(self.embedding(token))
            context, weights = self.attention(h.permute(1, 0, 2), keys)
            out, h = self.gru(torch.cat((embedded, context), dim=2), h)
            return self.out(out), h, weights

    encoder, decoder = Encoder(), Decoder()
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=5e-3)
    criterion = nn.NLLLoss()
    src = torch.randint(1, vocab, (4, 6))
    tgt = src.flip(1)[:, :5]
    losses, forced = [], []
    for _epoch in range(5):
        keys, h = encoder(src)
        token = torch.full((4, 1), sos, dtype=torch.long)
        outputs = []
        for t in range(tgt.size(1)):
            logits, h, _ = decoder.step(token, h, keys)
            outputs.append(logits)
            teacher = torch.rand(1).item() < 0.5
            forced.append(teacher)
            token = tgt[:, t].unsqueeze(1) if teacher else logits.argmax(-1).detach()
        log_probs = F.log_softmax(torch.cat(outputs, dim=1), dim=-1)
        loss = criterion(log_probs.reshape(-1, vocab), tgt.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        keys, h = encoder(src)
        token = torch.full((4, 1), sos, dtype=torch.long)
        decoded, attention = [], []
        for _t in range(5):
            logits, h, weights = decoder.step(token, h, keys)
            token = logits.argmax(-1)
            decoded.append(token)
            attention.append(weights)
    return {"losses": losses, "forced": forced, "decoded": torch.cat(decoded, 1),
            "attention": torch.cat(attention, 1)}


def prog_transformer_seq2seq(torch):
    """nn.Transformer (encoder-decoder) with a causal target mask, source/target key padding
    masks and memory_key_padding_mask, label-smoothed cross-entropy, greedy decoding."""
    import math

    nn = torch.nn
    torch.manual_seed(11)
    vocab, d_model, pad, bos = 10, 16, 0, 1

    class PositionalEncoding(nn.Module):
        def __init__(self, d, max_len=20):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            pe = torch.zeros(max_len, 1, d)
            pe[:, 0, 0::2] = torch.sin(position * div)
            pe[:, 0, 1::2] = torch.cos(position * div)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return x + self.pe[: x.size(0)]

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed = nn.Embedding(vocab, d_model)
            self.tgt_embed = nn.Embedding(vocab, d_model)
            self.pos = PositionalEncoding(d_model)
            self.transformer = nn.Transformer(d_model, nhead=2, num_encoder_layers=1,
                                              num_decoder_layers=1, dim_feedforward=32,
                                              dropout=0.1)
            self.generator = nn.Linear(d_model, vocab)

        def forward(self, src, tgt):
            tgt_mask = self.transformer.generate_square_subsequent_mask(tgt.size(0))
            src_pad, tgt_pad = (src == pad).T, (tgt == pad).T
            h = self.transformer(self.pos(self.src_embed(src) * math.sqrt(d_model)),
                                 self.pos(self.tgt_embed(tgt) * math.sqrt(d_model)),
                                 tgt_mask=tgt_mask, src_key_padding_mask=src_pad,
                                 tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
            return self.generator(h)

    lengths = [7, 5, 6, 4]
    src = torch.full((7, 4), pad, dtype=torch.long)
    for i, n in enumerate(lengths):
        src[:n, i] = torch.randint(2, vocab, (n,))
    tgt = torch.cat([torch.full((1, 4), bos, dtype=torch.long), src], dim=0)
    model = Seq2Seq()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    criterion = nn.CrossEntropyLoss(ignore_index=pad, label_smoothing=0.1)
    losses = []
    for _ in range(4):
        model.train()
        logits = model(src, tgt[:-1])
        loss = criterion(logits.reshape(-1, vocab), tgt[1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        ys = torch.full((1, 4), bos, dtype=torch.long)
        for _ in range(4):
            nxt = model(src, ys)[-1].argmax(-1)
            ys = torch.cat([ys, nxt.unsqueeze(0)], dim=0)
        memory = model.transformer.encoder(model.pos(model.src_embed(src)),
                                           src_key_padding_mask=(src == pad).T)
    return {"losses": losses, "decoded": ys, "memory": memory[:, :2]}


def prog_ctc(torch):
    """A speech-style recogniser: Conv1d front end, bidirectional LSTM, log_softmax over
    (T, N, C), nn.CTCLoss with per-utterance input and target lengths, greedy CTC decoding."""
    nn = torch.nn
    torch.manual_seed(12)
    n_feats, n_classes, blank = 8, 6, 0

    class Recogniser(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(n_feats, 12, kernel_size=3, padding=1)
            self.lstm = nn.LSTM(12, 10, bidirectional=True)
            self.fc = nn.Linear(20, n_classes)

        def forward(self, x):  # x: (N, F, T)
            h = torch.relu(self.conv(x)).permute(2, 0, 1)  # (T, N, C)
            h, _ = self.lstm(h)
            return self.fc(h).log_softmax(2)

    model = Recogniser()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ctc = nn.CTCLoss(blank=blank, zero_infinity=True)
    x = torch.randn(3, n_feats, 14)
    input_lengths = torch.tensor([14, 12, 10])
    target_lengths = torch.tensor([4, 3, 5])
    targets = torch.randint(1, n_classes, (int(target_lengths.sum()),))
    losses = []
    for _ in range(6):
        log_probs = model(x)
        loss = ctc(log_probs, targets, input_lengths, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        best = model(x).argmax(2).T
    decoded = []
    for row, n in zip(best.tolist(), input_lengths.tolist()):
        out, prev = [], blank
        for c in row[:n]:
            if c != prev and c != blank:
                out.append(c)
            prev = c
        decoded.append(out)
    per_sample = nn.functional.ctc_loss(model(x), targets, input_lengths, target_lengths,
                                        reduction="none")
    return {"losses": losses, "best": best, "decoded": str(decoded), "per_sample": per_sample}


def prog_unet(torch):
    """A two-level U-Net for binary segmentation: Conv-BN-ReLU blocks, MaxPool2d down,
    ConvTranspose2d up, skip connections by torch.cat, BCEWithLogits + soft Dice loss, AdamW,
    eval-mode IoU."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(13)

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down1, self.down2 = block(1, 4), block(4, 8)
            self.pool = nn.MaxPool2d(2)
            self.bottom = block(8, 8)
            self.up2 = nn.ConvTranspose2d(8, 8, 2, stride=2)
            self.dec2 = block(16, 4)
            self.up1 = nn.ConvTranspose2d(4, 4, 2, stride=2)
            self.dec1 = block(8, 4)
            self.head = nn.Conv2d(4, 1, 1)

        def forward(self, x):
            d1 = self.down1(x)
            d2 = self.down2(self.pool(d1))
            b = self.bottom(self.pool(d2))
            u2 = self.dec2(torch.cat([self.up2(b), d2], dim=1))
            u1 = self.dec1(torch.cat([self.up1(u2), d1], dim=1))
            return self.head(u1)

    def dice_loss(logits, target, eps=1.0):
        p = torch.sigmoid(logits)
        inter = (p * target).sum(dim=(1, 2, 3))
        return 1 - ((2 * inter + eps) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
                                         + eps)).mean()

    images = torch.randn(4, 1, 8, 8)
    masks = (F.avg_pool2d(images, 3, stride=1, padding=1) > 0).float()
    model = UNet()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.5]))
    losses = []
    for _ in range(5):
        logits = model(images)
        loss = bce(logits, masks) + dice_loss(logits, masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(images) > 0
        iou = (pred & masks.bool()).sum() / (pred | masks.bool()).sum()
    return {"losses": losses, "iou": iou, "pred": pred.sum(dim=(1, 2, 3)),
            "running_var": model.down1[1].running_var}


def prog_tcn(torch):
    """A temporal convolutional network forecaster: causal dilated Conv1d (left padding then
    chomp), weight_norm parametrisations, residual 1x1 downsampling, SGD with momentum and
    StepLR, and an autoregressive forecast."""
    nn = torch.nn
    weight_norm = torch.nn.utils.parametrizations.weight_norm
    torch.manual_seed(14)

    class TemporalBlock(nn.Module):
        def __init__(self, cin, cout, dilation):
            super().__init__()
            self.pad = 2 * dilation
            self.conv1 = weight_norm(nn.Conv1d(cin, cout, 3, padding=self.pad, dilation=dilation))
            self.conv2 = weight_norm(nn.Conv1d(cout, cout, 3, padding=self.pad,
                                               dilation=dilation))
            self.dropout = nn.Dropout(0.1)
            self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None

        def forward(self, x):
            out = self.dropout(torch.relu(self.conv1(x)[:, :, :-self.pad]))
            out = self.dropout(torch.relu(self.conv2(out)[:, :, :-self.pad]))
            res = x if self.downsample is None else self.downsample(x)
            return torch.relu(out + res)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(TemporalBlock(1, 6, 1), TemporalBlock(6, 6, 2))
            self.linear = nn.Linear(6, 1)

        def forward(self, x):
            return self.linear(self.blocks(x)[:, :, -1])

    t = torch.arange(60, dtype=torch.float32)
    series = torch.sin(t / 4) + 0.05 * torch.randn(60)
    windows = series.unfold(0, 13, 1)
    x, y = windows[:, :12].unsqueeze(1), windows[:, 12:]
    model = TCN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    losses = []
    for _epoch in range(6):
        model.train()
        for idx in torch.randperm(len(x)).split(16):
            loss = nn.functional.mse_loss(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        window = series[-12:].clone()
        forecast = []
        for _ in range(4):
            nxt = model(window.view(1, 1, -1)).squeeze()
            forecast.append(nxt)
            window = torch.cat([window[1:], nxt.view(1)])
    g = model.blocks[0].conv1.parametrizations.weight.original0
    return {"losses": losses, "forecast": torch.stack(forecast), "g": g.squeeze(),
            "names": sorted(model.state_dict().keys())}


def prog_vqvae(torch):
    """A VQ-VAE on random patches: nearest codebook entries by cdist/argmin, the
    straight-through estimator x + (q - x).detach(), codebook and commitment losses,
    perplexity from the code histogram (bincount)."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(15)

    class VectorQuantizer(nn.Module):
        def __init__(self, n_codes, dim, beta=0.25):
            super().__init__()
            self.codebook = nn.Embedding(n_codes, dim)
            self.codebook.weight.data.uniform_(-1 / n_codes, 1 / n_codes)
            self.beta = beta

        def forward(self, z):
            flat = z.reshape(-1, z.size(-1))
            codes = torch.cdist(flat, self.codebook.weight).argmin(dim=1)
            q = self.codebook(codes).view_as(z)
            loss = F.mse_loss(q, z.detach()) + self.beta * F.mse_loss(z, q.detach())
            q = z + (q - z).detach()
            counts = torch.bincount(codes, minlength=self.codebook.num_embeddings).float()
            probs = counts / counts.sum()
            perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
            return q, loss, perplexity, codes

    encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    quantizer = VectorQuantizer(12, 4)
    decoder = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))
    params = [*encoder.parameters(), *quantizer.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=2e-3)
    data = torch.randn(32, 16)
    history = []
    for _ in range(6):
        z = encoder(data).view(32, 2, 4)
        q, vq_loss, perplexity, codes = quantizer(z)
        recon = decoder(q.view(32, 8))
        loss = F.mse_loss(recon, data) + vq_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([loss.item(), vq_loss.item(), perplexity.item()])
    return {"history": history, "codes": codes[:16],
            "encoder_grad": encoder[0].weight.grad[:2, :4]}


def prog_moe(torch):
    """A sparse mixture of experts: top-2 gating with softmax over the chosen logits, tokens
    routed with nonzero/index_add_, a load-balancing auxiliary loss, Adagrad."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(16)
    n_experts, d, k = 4, 8, 2

    class MoE(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = nn.Linear(d, n_experts, bias=False)
            self.experts = nn.ModuleList(
                nn.Sequential(nn.Linear(d, 16), nn.GELU(), nn.Linear(16, d))
                for _ in range(n_experts))

        def forward(self, x):
            logits = self.gate(x)
            top_vals, top_idx = logits.topk(k, dim=-1)
            weights = F.softmax(top_vals, dim=-1)
            out = torch.zeros_like(x)
            for e, expert in enumerate(self.experts):
                token, slot = torch.nonzero(top_idx == e, as_tuple=True)
                if token.numel() == 0:
                    continue
                y = expert(x[token]) * weights[token, slot].unsqueeze(-1)
                out = out.index_add(0, token, y)
            probs = F.softmax(logits, dim=-1)
            load = F.one_hot(top_idx[:, 0], n_experts).float().mean(0)
            aux = n_experts * (load * probs.mean(0)).sum()
            return out, aux, top_idx

    model = MoE()
    head = nn.Linear(d, 3)
    optimizer = torch.optim.Adagrad([*model.parameters(), *head.parameters()], lr=0.05)
    x = torch.randn(24, d)
    y = torch.randint(0, 3, (24,))
    history = []
    for _ in range(6):
        out, aux, top_idx = model(x)
        loss = F.cross_entropy(head(x + out), y) + 0.01 * aux
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([loss.item(), aux.item()])
    return {"history": history, "routes": top_idx, "gate_grad": model.gate.weight.grad}


def prog_gat(torch):
    """A graph attention network layer written by hand: edge scores from leaky_relu of
    concatenated projections, a softmax over each node's incoming edges by scatter_reduce(amax)
    and index_add, ELU, multi-head concatenation, node classification with masks."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(17)
    n_nodes, n_feats, n_classes = 12, 5, 3
    src = torch.randint(0, n_nodes, (30,))
    dst = torch.randint(0, n_nodes, (30,))
    loops = torch.arange(n_nodes)
    src, dst = torch.cat([src, loops]), torch.cat([dst, loops])
    features = torch.randn(n_nodes, n_feats)
    labels = torch.randint(0, n_classes, (n_nodes,))
    train_mask = torch.rand(n_nodes) < 0.6

    class GATLayer(nn.Module):
        def __init__(self, cin, cout, heads):
            super().__init__()
            self.heads, self.cout = heads, cout
            self.W = nn.Linear(cin, heads * cout, bias=False)
            self.a_src = nn.Parameter(torch.empty(heads, cout))
            self.a_dst = nn.Parameter(torch.empty(heads, cout))
            nn.init.xavier_uniform_(self.a_src)
            nn.init.xavier_uniform_(self.a_dst)

        def forward(self, x):
            h = self.W(x).view(-1, self.heads, self.cout)
            e = F.leaky_relu((h[src] * self.a_src).sum(-1) + (h[dst] * self.a_dst).sum(-1),
                             0.2)
            e_max = torch.full((n_nodes, self.heads), float("-inf")).scatter_reduce(
                0, dst.unsqueeze(1).expand_as(e), e, reduce="amax", include_self=True)
            w = torch.exp(e - e_max[dst])
            denom = torch.zeros(n_nodes, self.heads).index_add(0, dst, w)
            alpha = w / denom[dst]
            out = torch.zeros_like(h).index_add(0, dst, alpha.unsqueeze(-1) * h[src])
            return out, alpha

    layer1, layer2 = GATLayer(n_feats, 4, heads=2), GATLayer(8, n_classes, heads=1)
    params = [*layer1.parameters(), *layer2.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    losses = []
    for _ in range(6):
        h, _ = layer1(F.dropout(features, 0.2, training=True))
        h = F.elu(h.flatten(1))
        logits, alpha = layer2(h)
        logits = logits.squeeze(1)
        loss = F.cross_entropy(logits[train_mask], labels[train_mask])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    pred = logits.argmax(1)
    accuracy = (pred[~train_mask] == labels[~train_mask]).float().mean()
    return {"losses": losses, "alpha": alpha[:8], "pred": pred, "accuracy": accuracy}


PROGRAMS = [prog_bahdanau, prog_transformer_seq2seq, prog_ctc, prog_unet, prog_tcn, prog_vqvae,
            prog_moe, prog_gat]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__[5:])
def test_program_prints_the_same(program):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nested-tensor / mask-type notices
        expected = program(torch)
        got = program(dg)
    compare(got, expected)
