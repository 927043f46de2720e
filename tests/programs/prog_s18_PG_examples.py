"""pytorch/examples-style programs not covered before (PG, session 18), written afresh: the
ImageNet training loop's AverageMeter / ProgressMeter / top-k accuracy / StepLR / best-checkpoint
round trip, word_language_model's Transformer with its PositionalEncoding buffer and the RNN
model's tied weights with repackaged hidden state and a manual SGD update, a GCN on a sparse
normalised adjacency, forward-forward training, a small vision transformer and the
language_translation example's nn.Transformer with padding and causal masks. Tiny sizes,
synthetic data, seeded.
"""

import io
import math
import os
import shutil
import tempfile
from enum import Enum

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.optim.lr_scheduler import StepLR


class Summary(Enum):
    NONE, AVERAGE, SUM, COUNT = 0, 1, 2, 3


class AverageMeter:
    def __init__(self, name, fmt=":f", summary_type=Summary.AVERAGE):
        self.name, self.fmt, self.summary_type = name, fmt, summary_type
        self.reset()

    def reset(self):
        self.val = self.avg = self.sum = self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = "{name} {val" + self.fmt + "} ({avg" + self.fmt + "})"
        return fmtstr.format(**self.__dict__)


def accuracy(output, target, topk=(1,)):
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def section_imagenet() -> None:
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.1)
    images, target = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    best_acc1, folder = 0, tempfile.mkdtemp()
    lines = []
    for epoch in range(3):
        losses, top1, top5 = AverageMeter("Loss", ":.4e"), AverageMeter("Acc@1", ":6.2f"), \
            AverageMeter("Acc@5", ":6.2f")
        model.train()
        for i in range(0, 16, 8):
            output = model(images[i:i + 8])
            loss = criterion(output, target[i:i + 8])
            acc1, acc5 = accuracy(output, target[i:i + 8], topk=(1, 5))
            losses.update(loss.item(), 8)
            top1.update(acc1[0], 8)
            top5.update(acc5[0], 8)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        lines.append(str(losses))
        acc1 = top1.avg
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        scheduler.step()
        state = {"epoch": epoch + 1, "arch": "tiny", "state_dict": model.state_dict(),
                 "best_acc1": best_acc1, "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict()}
        filename = os.path.join(folder, "checkpoint.pth.tar")
        torch.save(state, filename)
        if is_best:
            shutil.copyfile(filename, os.path.join(folder, "model_best.pth.tar"))
        put(f"imagenet.{epoch}.top1", top1.avg)
        put(f"imagenet.{epoch}.top5", top5.avg)
        put(f"imagenet.{epoch}.lr", scheduler.get_last_lr()[0])
    put("imagenet.lines", lines)
    put("imagenet.best_type", type(best_acc1).__name__)
    checkpoint = torch.load(os.path.join(folder, "model_best.pth.tar"), map_location="cpu",
                            weights_only=False)
    resumed = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 10))
    resumed.load_state_dict(checkpoint["state_dict"])
    opt2 = torch.optim.SGD(resumed.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2 = StepLR(opt2, step_size=1, gamma=0.1)
    sched2.load_state_dict(checkpoint["scheduler"])
    put("imagenet.resume.epoch", checkpoint["epoch"])
    put("imagenet.resume.lr", opt2.param_groups[0]["lr"])
    put("imagenet.resume.best", checkpoint["best_acc1"])
    put_state("imagenet.resume", resumed)
    shutil.rmtree(folder)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                         num_encoder_layers=nlayers)
        self.model_type, self.src_mask = "Transformer", None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)
        nn.init.uniform_(self.input_emb.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def forward(self, src, has_mask=True):
        if has_mask:
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                self.src_mask = self._generate_square_subsequent_mask(len(src))
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        return F.log_softmax(self.decoder(output), dim=-1)


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken, self.drop = ntoken, nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output)).view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def get_batch(source, i, bptt=5):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)


def section_wordlm() -> None:
    ntokens = 17
    corpus = torch.randint(0, ntokens, (83,))
    train_data = batchify(corpus, 4)
    criterion = nn.NLLLoss()
    for name in ("LSTM", "GRU", "Transformer"):
        torch.manual_seed(0)
        if name == "Transformer":
            model = TransformerModel(ntokens, 8, 2, 16, 2, dropout=0.2)
        else:
            model = RNNModel(name, ntokens, 8, 8, 2, dropout=0.2, tie_weights=True)
        lr, losses = 5.0, []
        model.train()
        if name != "Transformer":
            hidden = model.init_hidden(4)
        for i in range(0, train_data.size(0) - 1, 5):
            data, targets = get_batch(train_data, i)
            model.zero_grad()
            if name == "Transformer":
                output = model(data).view(-1, ntokens)
            else:
                hidden = repackage_hidden(hidden)
                output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
        put(f"wordlm.{name}.losses", losses)
        put_state(f"wordlm.{name}", model)
        model.eval()
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        model = torch.load(buffer, weights_only=False)
        with torch.no_grad():
            inp = torch.randint(ntokens, (1, 1), dtype=torch.long)
            words = []
            hidden = None if name == "Transformer" else model.init_hidden(1)
            for _ in range(6):
                if name == "Transformer":
                    output = model(inp, False)
                    word_weights = output[-1].squeeze().div(1.0).exp().cpu()
                    word_idx = torch.multinomial(word_weights, 1)[0]
                    inp = torch.cat([inp, torch.ones_like(inp[:1]).fill_(word_idx)], 0)
                else:
                    output, hidden = model(inp, hidden)
                    word_weights = output.squeeze().div(0.9).exp().cpu()
                    word_idx = torch.multinomial(word_weights, 1)[0]
                    inp.fill_(word_idx)
                words.append(int(word_idx))
        put(f"wordlm.{name}.words", words)


class GraphConv(nn.Module):
    def __init__(self, input_dim, output_dim, use_bias=False):
        super().__init__()
        self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)
        self.bias = nn.Parameter(torch.zeros(output_dim)) if use_bias else None

    def forward(self, input_tensor, adj_mat):
        support = torch.mm(input_tensor, self.kernel)
        output = torch.spmm(adj_mat, support)
        if self.bias is not None:
            output = output + self.bias
        return output


def section_gcn() -> None:
    n = 9
    edges = torch.tensor([[0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 2], [1, 2, 0, 3, 4, 5, 6, 7, 8, 0, 6]])
    values = torch.ones(edges.size(1))
    adj = torch.sparse_coo_tensor(edges, values, (n, n))
    adj = adj + adj.t() + torch.eye(n).to_sparse()
    adj = adj.coalesce()
    deg = torch.sparse.sum(adj, dim=1).to_dense()
    d_inv_sqrt = torch.pow(deg, -0.5)
    d_inv_sqrt[torch.isinf(d_inv_sqrt)] = 0.0
    d_mat = torch.diag(d_inv_sqrt)
    norm_adj = (d_mat @ adj.to_dense() @ d_mat).to_sparse()
    put("gcn.norm_adj", norm_adj.to_dense())
    put("gcn.nnz", norm_adj._nnz())
    features, labels = torch.randn(n, 5), torch.randint(0, 3, (n,))
    train_mask = torch.tensor([1, 1, 0, 1, 0, 1, 1, 0, 0], dtype=torch.bool)
    layers = nn.ModuleList([GraphConv(5, 8), GraphConv(8, 3, use_bias=True)])
    optimizer = torch.optim.Adam(layers.parameters(), lr=0.05, weight_decay=5e-4)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        h = F.dropout(F.relu(layers[0](features, norm_adj)), 0.5, training=True)
        out = F.log_softmax(layers[1](h, norm_adj), dim=1)
        loss = F.nll_loss(out[train_mask], labels[train_mask])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("gcn.losses", losses)
    put("gcn.kernel0", layers[0].kernel)
    put("gcn.pred", out.argmax(1))


def overlay_y_on_x(x, y):
    x_ = x.clone()
    x_[:, :4] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class FFLayer(nn.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.relu = torch.nn.ReLU()
        self.opt = torch.optim.Adam(self.parameters(), lr=0.03)
        self.threshold, self.num_epochs = 2.0, 6

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

    def train_layer(self, x_pos, x_neg, log):
        for _ in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            loss = torch.log(1 + torch.exp(torch.cat([-g_pos + self.threshold,
                                                      g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            log.append(loss.item())
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


def section_forward_forward() -> None:
    x, y = torch.rand(20, 12), torch.randint(0, 4, (20,))
    x_pos = overlay_y_on_x(x, y)
    rnd = torch.randperm(x.size(0))
    x_neg = overlay_y_on_x(x, y[rnd])
    layers, log = [FFLayer(12, 10), FFLayer(10, 10)], []
    h_pos, h_neg = x_pos, x_neg
    for layer in layers:
        h_pos, h_neg = layer.train_layer(h_pos, h_neg, log)
    put("ff.losses", log)
    goodness_per_label = []
    for label in range(4):
        h, goodness = overlay_y_on_x(x, torch.full((20,), label)), []
        for layer in layers:
            h = layer(h)
            goodness += [h.pow(2).mean(1)]
        goodness_per_label += [sum(goodness).unsqueeze(1)]
    pred = torch.cat(goodness_per_label, 1).argmax(1)
    put("ff.pred", pred)
    put("ff.err", 1.0 - pred.eq(y).float().mean().item())


class ViT(nn.Module):
    def __init__(self, image=8, patch=4, dim=16, depth=2, heads=2, classes=5):
        super().__init__()
        num_patches = (image // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        return self.head(self.norm(self.encoder(x))[:, 0])


def section_vit() -> None:
    model = ViT()
    images, labels = torch.randn(6, 3, 8, 8), torch.randint(0, 5, (6,))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels, label_smoothing=0.1)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    put("vit.losses", losses)
    # (the key bias's gradient is zero but for rounding, which AdamW scales up to steps of
    # lr: its slice is left out; the query and value biases are compared)
    put_state("vit", model, exclude=("in_proj_bias",))
    for index, layer in enumerate(model.encoder.layers):
        bias = layer.self_attn.in_proj_bias
        put(f"vit.in_proj_bias.{index}.q", bias[:16])
        put(f"vit.in_proj_bias.{index}.v", bias[32:])


def section_translation() -> None:
    pad, bos, vocab = 1, 2, 13
    src = torch.tensor([[2, 5, 6, 7, 3], [2, 8, 9, 3, 1], [2, 4, 3, 1, 1]]).T
    tgt = torch.tensor([[2, 9, 10, 3], [2, 11, 3, 1], [2, 12, 4, 3]]).T
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=16, dropout=0.1)
    src_emb, tgt_emb, generator = nn.Embedding(vocab, 8), nn.Embedding(vocab, 8), \
        nn.Linear(8, vocab)
    params = list(model.parameters()) + list(src_emb.parameters()) + \
        list(tgt_emb.parameters()) + list(generator.parameters())
    for p in params:
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    loss_fn = nn.CrossEntropyLoss(ignore_index=pad)

    def square_mask(sz):
        mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
        return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)

    tgt_input = tgt[:-1, :]
    tgt_mask = square_mask(tgt_input.shape[0])
    src_mask = torch.zeros((src.shape[0], src.shape[0])).type(torch.bool)
    src_padding_mask, tgt_padding_mask = (src == pad).transpose(0, 1), \
        (tgt_input == pad).transpose(0, 1)
    put("translate.tgt_mask", tgt_mask)
    losses = []
    for _ in range(3):
        outs = model(src_emb(src), tgt_emb(tgt_input), src_mask, tgt_mask, None,
                     src_padding_mask, tgt_padding_mask, src_padding_mask)
        logits = generator(outs)
        optimizer.zero_grad()
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt[1:, :].reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("translate.losses", losses)
    model.eval()
    with torch.no_grad():
        memory = model.encoder(src_emb(src[:, :1]))
        ys = torch.ones(1, 1).fill_(bos).type(torch.long)
        for _ in range(4):
            out = model.decoder(tgt_emb(ys), memory, square_mask(ys.size(0)).type(torch.bool))
            prob = generator(out.transpose(0, 1)[:, -1])
            next_word = torch.max(prob, dim=1)[1].item()
            ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        put("translate.greedy", ys.flatten())
        put("translate.memory", memory)


SECTIONS = {"imagenet": section_imagenet, "wordlm": section_wordlm, "gcn": section_gcn,
            "ff": section_forward_forward, "vit": section_vit, "translate": section_translation}
