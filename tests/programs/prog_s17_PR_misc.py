"""Karpathy's makemore series, pytorch/examples programs and data-pipeline idioms, written afresh
(PR, session 17): bigram counts and sampling with a seeded Generator, the MLP with
F.cross_entropy, the WaveNet-style hierarchy with hand-written Linear / BatchNorm1d /
FlattenConsecutive, the manual backward pass ("becoming a backprop ninja") checked against
autograd; mnist_hogwild's train loop without processes (share_memory), time_sequence_prediction
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

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "luna", "zoe",
         "lily", "noah", "liam", "ada", "eli", "max", "leo", "ivy", "owen", "nora"]


def _vocab():
    chars = sorted(set("".join(WORDS)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    return stoi, {i: s for s, i in stoi.items()}


def section_mm_bigram() -> None:
    stoi, itos = _vocab()
    V = len(stoi)
    N = torch.zeros((V, V), dtype=torch.int32)
    for w in WORDS:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(2147483647)
    names = []
    for _ in range(5):
        out, ix = [], 0
        while True:
            p = P[ix]
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            out.append(itos[ix])
            if ix == 0 or len(out) > 20:
                break
        names.append("".join(out))
    log_likelihood, n = 0.0, 0
    for w in WORDS:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            log_likelihood += torch.log(P[stoi[ch1], stoi[ch2]])
            n += 1
    put("mm_bigram.N", N)
    put("mm_bigram.P", P)
    put("mm_bigram.names", names)
    put("mm_bigram.nll", -log_likelihood / n)
    # the same model as a one-layer network trained by gradient descent
    xs, ys = [], []
    for w in WORDS:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    g = torch.Generator().manual_seed(2147483647)
    W = torch.randn((V, V), generator=g, requires_grad=True)
    losses = []
    for _ in range(5):
        xenc = F.one_hot(xs, num_classes=V).float()
        counts = (xenc @ W).exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(len(xs)), ys].log().mean() + 0.01 * (W ** 2).mean()
        W.grad = None
        loss.backward()
        W.data += -50 * W.grad
        losses.append(loss.item())
    put("mm_bigram.losses", losses)
    put("mm_bigram.W", W)


def _dataset(block_size):
    stoi, _ = _vocab()
    X, Y = [], []
    for w in WORDS:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y), len(stoi)


def section_mm_ninja() -> None:
    Xb, Yb, vocab_size = _dataset(3)
    n_embd, n_hidden, batch_size = 4, 16, Xb.shape[0]
    n = batch_size
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((n_embd * 3, n_hidden), generator=g) * (5 / 3) / ((n_embd * 3) ** 0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    bngain = torch.randn((1, n_hidden)) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden)) * 0.1
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff ** 2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum ** -1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes,
              logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
              embcat, emb]:
        t.retain_grad()
    loss.backward()
    # the manual backward pass, step by step
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-counts_sum ** -2) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h ** 2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
    dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
    dbndiff += (2 * bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0)
    dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            dC[Xb[k, j]] += demb[k, j]

    def cmp(s, dt, t):
        put(f"mm_ninja.{s}.exact", torch.all(dt == t.grad).item())
        put(f"mm_ninja.{s}.maxdiff", (dt - t.grad).abs().max().item() < 1e-6)
        put(f"mm_ninja.{s}", dt)

    for name, manual, tensor in [("logprobs", dlogprobs, logprobs), ("probs", dprobs, probs),
                                 ("counts", dcounts, counts), ("logits", dlogits, logits),
                                 ("h", dh, h), ("W2", dW2, W2), ("b2", db2, b2),
                                 ("bngain", dbngain, bngain), ("bnvar", dbnvar, bnvar),
                                 ("hprebn", dhprebn, hprebn), ("W1", dW1, W1), ("C", dC, C)]:
        cmp(name, manual, tensor)
    # the fused cross-entropy and batch-norm backward formulas
    dlogits2 = F.softmax(logits, 1)
    dlogits2[range(n), Yb] -= 1
    dlogits2 /= n
    for name, manual, tensor in [("bnbias", dbnbias, bnbias), ("b1", db1, b1)]:
        cmp(name, manual, tensor)
    put("mm_ninja.fused_ce", (dlogits2 - logits.grad).abs().max().item() < 1e-6)
    put("mm_ninja.fused_ce_value", dlogits2)
    dhprebn2 = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)
                                         - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    put("mm_ninja.fused_bn", (dhprebn2 - hprebn.grad).abs().max().item() < 1e-6)
    put("mm_ninja.fused_bn_value", dhprebn2)
    put("mm_ninja.loss", loss)
    put("mm_ninja.fast_loss", F.cross_entropy(logits, Yb))


def section_mm_wavenet() -> None:
    class Linear:
        def __init__(self, fan_in, fan_out, bias=True):
            self.weight = torch.randn((fan_in, fan_out)) / fan_in ** 0.5
            self.bias = torch.zeros(fan_out) if bias else None

        def __call__(self, x):
            self.out = x @ self.weight
            if self.bias is not None:
                self.out += self.bias
            return self.out

        def parameters(self):
            return [self.weight] + ([] if self.bias is None else [self.bias])

    class BatchNorm1d:
        def __init__(self, dim, eps=1e-5, momentum=0.1):
            self.eps, self.momentum, self.training = eps, momentum, True
            self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
            self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

        def __call__(self, x):
            if self.training:
                dim = 0 if x.ndim == 2 else (0, 1)
                xmean = x.mean(dim, keepdim=True)
                xvar = x.var(dim, keepdim=True)
            else:
                xmean, xvar = self.running_mean, self.running_var
            xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
            self.out = self.gamma * xhat + self.beta
            if self.training:
                with torch.no_grad():
                    self.running_mean = (1 - self.momentum) * self.running_mean + \
                        self.momentum * xmean
                    self.running_var = (1 - self.momentum) * self.running_var + \
                        self.momentum * xvar
            return self.out

        def parameters(self):
            return [self.gamma, self.beta]

    class Tanh:
        def __call__(self, x):
            self.out = torch.tanh(x)
            return self.out

        def parameters(self):
            return []

    class Embedding:
        def __init__(self, num_embeddings, embedding_dim):
            self.weight = torch.randn((num_embeddings, embedding_dim))

        def __call__(self, IX):
            self.out = self.weight[IX]
            return self.out

        def parameters(self):
            return [self.weight]

    class FlattenConsecutive:
        def __init__(self, n):
            self.n = n

        def __call__(self, x):
            B, T, C = x.shape
            x = x.view(B, T // self.n, C * self.n)
            if x.shape[1] == 1:
                x = x.squeeze(1)
            self.out = x
            return self.out

        def parameters(self):
            return []

    class Sequential:
        def __init__(self, layers):
            self.layers = layers

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            self.out = x
            return self.out

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]

    Xtr, Ytr, vocab_size = _dataset(8)
    n_embd, n_hidden = 4, 12
    model = Sequential([
        Embedding(vocab_size, n_embd),
        FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden),
        Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden),
        Tanh(),
        FlattenConsecutive(2), Linear(n_hidden * 2, n_hidden, bias=False), BatchNorm1d(n_hidden),
        Tanh(),
        Linear(n_hidden, vocab_size)])
    with torch.no_grad():
        model.layers[-1].weight *= 0.1
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True
    lossi, shapes = [], []
    g = torch.Generator().manual_seed(42)
    for i in range(6):
        ix = torch.randint(0, Xtr.shape[0], (16,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        logits = model(Xb)
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 4 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    for layer in model.layers:
        shapes.append(str(list(layer.out.shape)))
        if isinstance(layer, BatchNorm1d):
            layer.training = False
    put("mm_wavenet.losses", lossi)
    put("mm_wavenet.shapes", shapes)
    put("mm_wavenet.params", parameters)
    put("mm_wavenet.running", [layer.running_var for layer in model.layers
                               if isinstance(layer, BatchNorm1d)])
    put("mm_wavenet.nparams", sum(p.nelement() for p in parameters))
    with torch.no_grad():
        put("mm_wavenet.eval", F.cross_entropy(model(Xtr), Ytr))


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


SECTIONS = {"mm_bigram": section_mm_bigram, "mm_ninja": section_mm_ninja,
            "mm_wavenet": section_mm_wavenet, "ex_hogwild": section_ex_hogwild,
            "ex_timeseq": section_ex_timeseq, "ex_ff": section_ex_ff,
            "ld_einsum": section_ld_einsum, "dl_pipeline": section_dl_pipeline,
            "ck_checkpoint": section_ck_checkpoint, "aug": section_aug}
