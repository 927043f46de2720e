"""pytorch/examples programs and data-pipeline idioms, written afresh (PR, session 17):
mnist_hogwild's train loop without processes (share_memory), time_sequence_prediction
with LBFGS, the forward-forward algorithm; einsum attention in the lucidrains manner;
a vocabulary + collate_fn + pad_sequence pipeline with DataLoader(batch_sampler=...),
WeightedRandomSampler and a custom Sampler, torch.utils.checkpoint, and seeded augmentation.
Tiny sizes, synthetic data; run by prog_s17_PR_all.py.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.nn.utils.rnn import pad_sequence
from torch.utils.checkpoint import checkpoint, checkpoint_sequential
from torch.utils.data import DataLoader, Dataset, Sampler, WeightedRandomSampler


def section_ex_hogwild() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
            self.conv2 = nn.Conv2d(4, 6, kernel_size=3)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(6, 10)
            self.fc2 = nn.Linear(10, 3)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 6)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    model = Net()
    model.share_memory()
    put("ex_hogwild.shared", all(p.is_shared() for p in model.parameters()))
    data = torch.randn(12, 1, 10, 10)
    target = torch.randint(0, 3, (12,))
    dataset = torch.utils.data.TensorDataset(data, target)

    def train(rank, model):
        torch.manual_seed(1 + rank)
        loader = DataLoader(dataset, batch_size=4, shuffle=True, num_workers=0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
        model.train()
        losses = []
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    put("ex_hogwild.losses", [train(rank, model) for rank in range(2)])
    put("ex_hogwild.shared_after", [p.is_shared() for p in model.parameters()])
    put("ex_hogwild.fresh_not_shared", [p.clone().is_shared() for p in model.parameters()])
    model.eval()
    with torch.no_grad():
        out = model(data)
        test_loss = F.nll_loss(out, target, reduction='sum').item() / len(data)
        pred = out.max(1)[1]
    put("ex_hogwild.test_loss", test_loss)
    put("ex_hogwild.pred", pred)
    put_state("ex_hogwild", model)


def section_ex_timeseq() -> None:
    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = nn.LSTMCell(1, 8)
            self.lstm2 = nn.LSTMCell(8, 8)
            self.linear = nn.Linear(8, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), 8, dtype=torch.double)
            c_t = torch.zeros(input.size(0), 8, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), 8, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), 8, dtype=torch.double)
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _ in range(future):
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            return torch.cat(outputs, dim=1)

    rng = np.random.RandomState(2)
    x = np.empty((6, 30), 'int64')
    x[:] = np.array(range(30)) + rng.randint(-4 * 20, 4 * 20, 6).reshape(6, 1)
    data = np.sin(x / 1.0 / 20).astype('float64')
    input, target = torch.from_numpy(data[2:, :-1]), torch.from_numpy(data[2:, 1:])
    test_input, test_target = torch.from_numpy(data[:2, :-1]), torch.from_numpy(data[:2, 1:])
    seq = Sequence()
    seq.double()
    criterion = nn.MSELoss()
    optimizer = torch.optim.LBFGS(seq.parameters(), lr=0.8)
    losses = []
    for _ in range(2):
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            future = 5
            pred = seq(test_input, future=future)
            test_loss = criterion(pred[:, :-future], test_target)
    put("ex_timeseq.losses", losses)
    put("ex_timeseq.test_loss", test_loss)
    put("ex_timeseq.pred", pred)
    put("ex_timeseq.state", optimizer.state_dict()["state"][0]["n_iter"])
    put_state("ex_timeseq", seq)


def section_ex_ff() -> None:
    def overlay_y_on_x(x, y):
        x_ = x.clone()
        x_[:, :4] *= 0.0
        x_[range(x.shape[0]), y] = x.max()
        return x_

    class Layer(nn.Linear):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__(in_features, out_features, bias)
            self.relu = torch.nn.ReLU()
            self.opt = torch.optim.Adam(self.parameters(), lr=0.03)
            self.threshold, self.num_epochs = 2.0, 5

        def forward(self, x):
            x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
            return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

        def train_layer(self, x_pos, x_neg, losses):
            for _ in range(self.num_epochs):
                g_pos = self.forward(x_pos).pow(2).mean(1)
                g_neg = self.forward(x_neg).pow(2).mean(1)
                loss = torch.log(1 + torch.exp(torch.cat([-g_pos + self.threshold,
                                                          g_neg - self.threshold]))).mean()
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                losses.append(loss.item())
            return self.forward(x_pos).detach(), self.forward(x_neg).detach()

    class Net(torch.nn.Module):
        def __init__(self, dims):
            super().__init__()
            self.layers = nn.ModuleList([Layer(dims[d], dims[d + 1]) for d in range(len(dims) - 1)])

        def predict(self, x):
            goodness_per_label = []
            for label in range(4):
                h = overlay_y_on_x(x, label)
                goodness = []
                for layer in self.layers:
                    h = layer(h)
                    goodness += [h.pow(2).mean(1)]
                goodness_per_label += [sum(goodness).unsqueeze(1)]
            return torch.cat(goodness_per_label, 1).argmax(1)

        def train_net(self, x_pos, x_neg):
            losses = []
            h_pos, h_neg = x_pos, x_neg
            for layer in self.layers:
                h_pos, h_neg = layer.train_layer(h_pos, h_neg, losses)
            return losses

    x = torch.randn(10, 12)
    y = torch.randint(0, 4, (10,))
    net = Net([12, 16, 16])
    x_pos = overlay_y_on_x(x, y)
    rnd = torch.randperm(x.size(0))
    x_neg = overlay_y_on_x(x, y[rnd])
    put("ex_ff.losses", net.train_net(x_pos, x_neg))
    put("ex_ff.error", 1.0 - net.predict(x).eq(y).float().mean().item())
    put_state("ex_ff", net)


def section_ld_einsum() -> None:
    def exists(val):
        return val is not None

    def default(val, d):
        return val if exists(val) else d

    class Attention(nn.Module):
        def __init__(self, dim, heads=2, dim_head=4, dropout=0.):
            super().__init__()
            inner_dim = dim_head * heads
            self.heads, self.scale = heads, dim_head ** -0.5
            self.norm = nn.LayerNorm(dim)
            self.to_q = nn.Linear(dim, inner_dim, bias=False)
            self.to_kv = nn.Linear(dim, inner_dim * 2, bias=False)
            self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout))

        def forward(self, x, context=None, mask=None):
            b, n, _ = x.shape
            h = self.heads
            x = self.norm(x)
            context = default(context, x)
            q, k, v = (self.to_q(x), *self.to_kv(context).chunk(2, dim=-1))
            # 'b n (h d) -> b h n d' without einops
            q, k, v = map(lambda t: t.reshape(b, t.shape[1], h, -1).transpose(1, 2), (q, k, v))
            sim = torch.einsum('b h i d, b h j d -> b h i j', q, k) * self.scale
            if exists(mask):
                mask_value = -torch.finfo(sim.dtype).max
                sim = sim.masked_fill(~mask[:, None, None, :], mask_value)
            causal = torch.ones(n, k.shape[-2], dtype=torch.bool).triu(k.shape[-2] - n + 1)
            sim = sim.masked_fill(causal, -torch.finfo(sim.dtype).max)
            attn = sim.softmax(dim=-1)
            out = torch.einsum('b h i j, b h j d -> b h i d', attn, v)
            out = out.transpose(1, 2).reshape(b, n, -1)
            return self.to_out(out)

    class FeedForward(nn.Module):
        def __init__(self, dim, mult=2):
            super().__init__()
            self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * mult * 2))
            self.out = nn.Linear(dim * mult, dim)

        def forward(self, x):
            x, gate = self.net(x).chunk(2, dim=-1)
            return self.out(x * F.gelu(gate))

    class RotaryEmbedding(nn.Module):
        def __init__(self, dim):
            super().__init__()
            inv_freq = 1. / (10000 ** (torch.arange(0, dim, 2).float() / dim))
            self.register_buffer('inv_freq', inv_freq, persistent=False)

        def forward(self, n):
            t = torch.arange(n, dtype=self.inv_freq.dtype)
            freqs = torch.einsum('i , j -> i j', t, self.inv_freq)
            return torch.cat((freqs, freqs), dim=-1)

    def rotate_half(x):
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    dim = 8
    layers = nn.ModuleList([nn.ModuleList([Attention(dim), FeedForward(dim)]) for _ in range(2)])
    rotary = RotaryEmbedding(dim)
    x = torch.randn(2, 5, dim, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    pos = rotary(5)
    h = x * pos.cos() + rotate_half(x) * pos.sin()
    for attn, ff in layers:
        h = attn(h, mask=mask) + h
        h = ff(h) + h
    loss = h.pow(2).mean()
    loss.backward()
    put("ld_einsum.out", h)
    put("ld_einsum.xgrad", x.grad)
    put("ld_einsum.grads", [p.grad for p in layers.parameters()])
    put("ld_einsum.outer", torch.einsum('i,j->ij', torch.arange(3.), torch.arange(4.)))
    put("ld_einsum.trace", torch.einsum('ii', torch.arange(9.).view(3, 3)))
    put("ld_einsum.bilinear", torch.einsum('bn,anm,bm->ba', torch.ones(2, 3),
                                           torch.arange(24.).view(2, 3, 4), torch.ones(2, 4)))
    put("ld_einsum.buffers", list(dict(rotary.named_buffers())))
    put("ld_einsum.state_keys", list(rotary.state_dict()))


def section_dl_pipeline() -> None:
    sentences = ["the cat sat", "a dog ran far away", "the bird", "cats and dogs play",
                 "one", "the quick brown fox jumps", "a b", "dogs run"]
    labels = [0, 1, 0, 1, 0, 1, 0, 1]
    counter = {}
    for s in sentences:
        for tok in s.split():
            counter[tok] = counter.get(tok, 0) + 1
    itos = ["<pad>", "<unk>"] + sorted(counter, key=lambda t: (-counter[t], t))
    stoi = {t: i for i, t in enumerate(itos)}

    class TextDataset(Dataset):
        def __init__(self, texts, labels):
            self.texts, self.labels = texts, labels

        def __len__(self):
            return len(self.texts)

        def __getitem__(self, idx):
            ids = [stoi.get(t, 1) for t in self.texts[idx].split()]
            return torch.tensor(ids, dtype=torch.long), self.labels[idx]

    class BucketBatchSampler(Sampler):
        """Batches of similar lengths, in a fixed order (sorted by length)."""

        def __init__(self, lengths, batch_size):
            order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
            self.batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]

        def __iter__(self):
            return iter(self.batches)

        def __len__(self):
            return len(self.batches)

    def collate_fn(batch):
        texts, labs = zip(*batch)
        lengths = torch.tensor([len(t) for t in texts])
        padded = pad_sequence(texts, batch_first=True, padding_value=0)
        return padded, lengths, torch.tensor(labs)

    ds = TextDataset(sentences, labels)
    sampler = BucketBatchSampler([len(s.split()) for s in sentences], 3)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate_fn)
    put("dl_pipeline.len", len(loader))

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(len(itos), 6, padding_idx=0)
            self.gru = nn.GRU(6, 5, batch_first=True)
            self.fc = nn.Linear(5, 2)

        def forward(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.emb(x), lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, h = self.gru(packed)
            return self.fc(h[-1])

    model = Classifier()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
    losses = []
    for epoch in range(2):
        for i, (x, lengths, y) in enumerate(loader):
            put(f"dl_pipeline.batch{epoch}.{i}", x)
            loss = F.cross_entropy(model(x, lengths), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("dl_pipeline.losses", losses)
    put_state("dl_pipeline", model)
    # pad_sequence forms: time-major, a padding value, trailing dimensions
    seqs = [torch.arange(3.), torch.arange(5.), torch.arange(1.)]
    put("dl_pipeline.tm", pad_sequence(seqs))
    put("dl_pipeline.pv", pad_sequence(seqs, batch_first=True, padding_value=-1.0))
    put("dl_pipeline.trail", pad_sequence([torch.ones(2, 3), torch.ones(4, 3)]))
    # weighted sampling: class-balancing weights; draws depend on the stream, so only their
    # shape, range and the sampler's bookkeeping are compared
    class_counts = torch.bincount(torch.tensor(labels + [0, 0]))
    weights = 1.0 / class_counts.float()
    sample_weights = weights[torch.tensor(labels + [0, 0])]
    wsampler = WeightedRandomSampler(sample_weights, num_samples=20, replacement=True)
    drawn = list(wsampler)
    put("dl_pipeline.weights", wsampler.weights)
    put("dl_pipeline.nsamples", [len(wsampler), len(drawn), int(all(0 <= d < 10 for d in drawn))])
    no_repl = list(WeightedRandomSampler([0.1, 0.2, 0.3, 0.4], 4, replacement=False))
    put("dl_pipeline.no_repl", sorted(no_repl))
    loader = DataLoader(ds, batch_size=4, sampler=WeightedRandomSampler(
        sample_weights[:8], 8), collate_fn=collate_fn)
    put("dl_pipeline.wbatches", [len(b[2]) for b in loader])


def section_ck_checkpoint() -> None:
    class Block(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.ln = nn.LayerNorm(dim)
            self.fc1, self.fc2 = nn.Linear(dim, dim * 2), nn.Linear(dim * 2, dim)
            self.drop = nn.Dropout(0.2)

        def forward(self, x):
            return x + self.fc2(self.drop(F.gelu(self.fc1(self.ln(x)))))

    class Model(nn.Module):
        def __init__(self, use_checkpoint, reentrant):
            super().__init__()
            self.blocks = nn.ModuleList([Block(6) for _ in range(3)])
            self.head = nn.Linear(6, 2)
            self.use_checkpoint, self.reentrant = use_checkpoint, reentrant

        def forward(self, x):
            for block in self.blocks:
                if self.use_checkpoint and self.training:
                    x = checkpoint(block, x, use_reentrant=self.reentrant)
                else:
                    x = block(x)
            return self.head(x)

    x = torch.randn(4, 6)
    y = torch.tensor([0, 1, 1, 0])
    plain = Model(False, False)
    state = {k: v.clone() for k, v in plain.state_dict().items()}
    results = {}
    for name, use, reentrant in [("plain", False, False), ("nonre", True, False),
                                 ("re", True, True)]:
        model = Model(use, reentrant)
        model.load_state_dict(state)
        torch.manual_seed(3)  # the same dropout masks in every variant (preserve_rng_state)
        inp = x.clone().requires_grad_(reentrant)
        loss = F.cross_entropy(model(inp), y)
        loss.backward()
        results[name] = [p.grad.clone() for p in model.parameters()]
        put(f"ck_checkpoint.{name}.loss", loss)
        put(f"ck_checkpoint.{name}.grads", results[name])
    put("ck_checkpoint.same", all(torch.allclose(a, b, atol=1e-6) for v in ("nonre", "re")
                                  for a, b in zip(results["plain"], results[v])))
    seq = nn.Sequential(*[nn.Linear(6, 6) for _ in range(4)], nn.Tanh())
    inp = torch.randn(3, 6, requires_grad=True)
    out = checkpoint_sequential(seq, 2, inp, use_reentrant=False)
    out.sum().backward()
    put("ck_checkpoint.seq_out", out)
    put("ck_checkpoint.seq_grad", inp.grad)
    put("ck_checkpoint.seq_wgrad", seq[0].weight.grad)


def section_aug() -> None:
    class RandomAugmentDataset(Dataset):
        def __init__(self, images):
            self.images = images

        def __len__(self):
            return len(self.images)

        def __getitem__(self, idx):
            img = self.images[idx]
            if torch.rand(1) < 0.5:
                img = torch.flip(img, dims=[-1])
            i, j = torch.randint(0, 3, (2,)).tolist()
            img = F.pad(img, (1, 1, 1, 1), mode="reflect")[:, i:i + 6, j:j + 6]
            noise = torch.randn_like(img) * 0.1
            return img + noise, idx

    images = torch.arange(4 * 2 * 6 * 6, dtype=torch.float32).view(4, 2, 6, 6) / 100
    ds = RandomAugmentDataset(images)
    torch.manual_seed(123)
    first = torch.stack([ds[i][0] for i in range(4)])
    torch.manual_seed(123)
    second = torch.stack([ds[i][0] for i in range(4)])
    put("aug.repeatable", torch.equal(first, second))
    put("aug.first", first)
    g = torch.Generator()
    g.manual_seed(7)
    loader = DataLoader(ds, batch_size=2, shuffle=True, generator=g)
    put("aug.order", [b[1] for b in loader])
    put("aug.perm", torch.randperm(10, generator=torch.Generator().manual_seed(5)))
    put("aug.normal", torch.normal(torch.zeros(5), torch.ones(5)))
    put("aug.bernoulli", torch.bernoulli(torch.full((8,), 0.3)))


# (the makemore lectures' bigram counts, manual backward pass and WaveNet hierarchy were typed
# here as in prog_s26_PR11_zero2hero.py's z2h_counts / z2h_ninja / z2h_wavenet, which run
# them: mm_bigram, mm_ninja and mm_wavenet removed in session 31, DD3.)
SECTIONS = {"ex_hogwild": section_ex_hogwild,
            "ex_timeseq": section_ex_timeseq, "ex_ff": section_ex_ff,
            "ld_einsum": section_ld_einsum, "dl_pipeline": section_dl_pipeline,
            "ck_checkpoint": section_ck_checkpoint, "aug": section_aug}
