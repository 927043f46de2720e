"""Programs in the style of the "Neural networks: zero to hero" lectures, written afresh (PR11,
session 26), printing what the lecture notebooks print: bigram counts sampled with a seeded
torch.Generator (the count matrix, one row's probabilities, names, the negative log
likelihood), the bigram model as a one-hot neural net trained by hand, the makemore MLP with a
hand-written batch norm and its running statistics, the activation / gradient statistics of
lecture 3 (saturation, histograms, grad:data and update:data ratios), lecture 4's backprop
ninja (every intermediate's gradient written by hand, printed against autograd's with
``cmp``), the WaveNet-style hierarchy with its own layer classes, micrograd's Value against
torch in double precision, and "let's build GPT" (the tril averaging trick, heads, blocks,
generation). Tiny sizes, fixed seeds; run by prog_s26_PR11_all.py.
"""
# ruff: noqa: B007, B023, E501, E721, E741, N806, UP008, UP031, UP032, UP034 - the code as
# the lectures, the book and the tutorials write it (names, super(Cls, self), type(m) ==,
# %-formats, long lines)

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put

WORDS = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope layla riley
zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah hazel violet
aurora savannah audrey liam noah william james oliver benjamin elijah lucas mason logan ethan
jacob michael daniel henry jackson sebastian aiden matthew samuel david joseph carter owen wyatt
john jack luke jayden dylan grayson levi isaac gabriel julian mateo anthony""".split()


def _vocab():
    chars = sorted(list(set(''.join(WORDS))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos


def section_bigram_counts() -> None:
    stoi, itos = _vocab()
    V = len(stoi)
    with printed("z2h_counts.log"):
        print(len(WORDS), min(len(w) for w in WORDS), max(len(w) for w in WORDS))
        b = {}
        for w in WORDS:
            chs = ['<S>'] + list(w) + ['<E>']
            for ch1, ch2 in zip(chs, chs[1:]):
                b[(ch1, ch2)] = b.get((ch1, ch2), 0) + 1
        print(sorted(b.items(), key=lambda kv: -kv[1])[:6])
        N = torch.zeros((V, V), dtype=torch.int32)
        for w in WORDS:
            chs = ['.'] + list(w) + ['.']
            for ch1, ch2 in zip(chs, chs[1:]):
                N[stoi[ch1], stoi[ch2]] += 1
        print(N[0])
        print(N.sum(), N.dtype, N.max(), N.argmax())
        p = N[0].float()
        p = p / p.sum()
        print(p)
        g = torch.Generator().manual_seed(2147483647)
        pr = torch.rand(3, generator=g)
        pr = pr / pr.sum()
        print(pr)
        print(torch.multinomial(pr, num_samples=20, replacement=True, generator=g))
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        print(ix, itos[ix])
        P = (N + 1).float()
        print(P.sum(1, keepdim=True).shape, P.sum(1).shape)
        P /= P.sum(1, keepdims=True)
        print(P[0].sum(), P[5, :6])
        g = torch.Generator().manual_seed(2147483647)
        for i in range(8):
            out = []
            ix = 0
            while True:
                p = P[ix]
                ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
                out.append(itos[ix])
                if ix == 0:
                    break
            print(''.join(out))
        log_likelihood = 0.0
        n = 0
        for w in WORDS[:3]:
            chs = ['.'] + list(w) + ['.']
            for ch1, ch2 in zip(chs, chs[1:]):
                prob = P[stoi[ch1], stoi[ch2]]
                logprob = torch.log(prob)
                log_likelihood += logprob
                n += 1
                print(f'{ch1}{ch2}: {prob:.4f} {logprob:.4f}')
        print(f'{log_likelihood=}')
        nll = -log_likelihood
        print(f'{nll=}')
        print(f'{nll/n}')


def section_bigram_net() -> None:
    stoi, itos = _vocab()
    V = len(stoi)
    xs, ys = [], []
    for w in WORDS:
        chs = ['.'] + list(w) + ['.']
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs = torch.tensor(xs)
    ys = torch.tensor(ys)
    num = xs.nelement()
    with printed("z2h_bnet.log"):
        print('number of examples: ', num)
        xenc = F.one_hot(xs, num_classes=V).float()
        print(xenc.shape, xenc.dtype)
        g = torch.Generator().manual_seed(2147483647)
        W = torch.randn((V, V), generator=g, requires_grad=True)
        logits = xenc[:5] @ W
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        print(probs.shape, probs[0].sum())
        for k in range(30):
            xenc = F.one_hot(xs, num_classes=V).float()
            logits = xenc @ W
            counts = logits.exp()
            probs = counts / counts.sum(1, keepdims=True)
            loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W**2).mean()
            if k % 5 == 0:
                print(loss.item())
            W.grad = None
            loss.backward()
            W.data += -50 * W.grad
        g = torch.Generator().manual_seed(2147483647)
        for i in range(5):
            out = []
            ix = 0
            while True:
                xenc = F.one_hot(torch.tensor([ix]), num_classes=V).float()
                logits = xenc @ W
                counts = logits.exp()
                p = counts / counts.sum(1, keepdims=True)
                ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
                out.append(itos[ix])
                if ix == 0:
                    break
            print(''.join(out))
    put("z2h_bnet.W", W)


def _build_dataset(words, stoi, block_size):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


def section_mlp_batchnorm() -> None:
    stoi, itos = _vocab()
    vocab_size = len(stoi)
    block_size = 3
    words = list(WORDS)
    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    with printed("z2h_mlp.log"):
        Xtr, Ytr = _build_dataset(words[:n1], stoi, block_size)
        Xdev, Ydev = _build_dataset(words[n1:n2], stoi, block_size)
        Xte, Yte = _build_dataset(words[n2:], stoi, block_size)
        n_embd = 10
        n_hidden = 64
        g = torch.Generator().manual_seed(2147483647)
        C = torch.randn((vocab_size, n_embd), generator=g)
        W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3)/((n_embd * block_size)**0.5)
        b1 = torch.randn(n_hidden, generator=g) * 0.01
        W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
        b2 = torch.randn(vocab_size, generator=g) * 0
        bngain = torch.ones((1, n_hidden))
        bnbias = torch.zeros((1, n_hidden))
        bnmean_running = torch.zeros((1, n_hidden))
        bnstd_running = torch.ones((1, n_hidden))
        parameters = [C, W1, b1, W2, b2, bngain, bnbias]
        print(sum(p.nelement() for p in parameters))
        for p in parameters:
            p.requires_grad = True
        max_steps = 200
        batch_size = 32
        lossi = []
        for i in range(max_steps):
            ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
            Xb, Yb = Xtr[ix], Ytr[ix]
            emb = C[Xb]
            embcat = emb.view(emb.shape[0], -1)
            hpreact = embcat @ W1 + b1
            bnmeani = hpreact.mean(0, keepdim=True)
            bnstdi = hpreact.std(0, keepdim=True)
            hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
            with torch.no_grad():
                bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
                bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
            h = torch.tanh(hpreact)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, Yb)
            for p in parameters:
                p.grad = None
            loss.backward()
            lr = 0.1 if i < 150 else 0.01
            for p in parameters:
                p.data += -lr * p.grad
            if i % 40 == 0:
                print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f}')
            lossi.append(loss.log10().item())
        print(torch.tensor(lossi).view(-1, 20).mean(1))

        with torch.no_grad():
            emb = C[Xtr]
            embcat = emb.view(emb.shape[0], -1)
            hpreact = embcat @ W1 + b1
            bnmean = hpreact.mean(0, keepdim=True)
            bnstd = hpreact.std(0, keepdim=True)
        print((bnmean - bnmean_running).abs().max() < 1.0, bnstd.shape)

        @torch.no_grad()
        def split_loss(split):
            x, y = {'train': (Xtr, Ytr), 'val': (Xdev, Ydev), 'test': (Xte, Yte)}[split]
            emb = C[x]
            embcat = emb.view(emb.shape[0], -1)
            hpreact = embcat @ W1 + b1
            hpreact = bngain * (hpreact - bnmean_running) / bnstd_running + bnbias
            h = torch.tanh(hpreact)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, y)
            print(split, loss.item())

        split_loss('train')
        split_loss('val')
        g = torch.Generator().manual_seed(2147483647 + 10)
        for _ in range(6):
            out = []
            context = [0] * block_size
            while True:
                emb = C[torch.tensor([context])]
                hpreact = emb.view(1, -1) @ W1 + b1
                hpreact = bngain * (hpreact - bnmean_running) / bnstd_running + bnbias
                h = torch.tanh(hpreact)
                logits = h @ W2 + b2
                probs = F.softmax(logits, dim=1)
                ix = torch.multinomial(probs, num_samples=1, generator=g).item()
                context = context[1:] + [ix]
                out.append(ix)
                if ix == 0:
                    break
            print(''.join(itos[i] for i in out))
    put("z2h_mlp.bnmean_running", bnmean_running)
    put("z2h_mlp.W1", W1)


class _Linear:
    def __init__(self, fan_in, fan_out, g, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class _BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.gamma = torch.ones(dim)
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            if x.ndim == 2:
                dim = 0
            elif x.ndim == 3:
                dim = (0, 1)
            xmean = x.mean(dim, keepdim=True)
            xvar = x.var(dim, keepdim=True)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class _Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


def section_activations() -> None:
    stoi, itos = _vocab()
    vocab_size = len(stoi)
    n_embd, n_hidden, block_size = 10, 32, 3
    g = torch.Generator().manual_seed(2147483647)
    with printed("z2h_act.log"):
        Xtr, Ytr = _build_dataset(WORDS, stoi, block_size)
        C = torch.randn((vocab_size, n_embd), generator=g)
        layers = [
            _Linear(n_embd * block_size, n_hidden, g, bias=False), _BatchNorm1d(n_hidden), _Tanh(),
            _Linear(n_hidden, n_hidden, g, bias=False), _BatchNorm1d(n_hidden), _Tanh(),
            _Linear(n_hidden, n_hidden, g, bias=False), _BatchNorm1d(n_hidden), _Tanh(),
            _Linear(n_hidden, vocab_size, g, bias=False), _BatchNorm1d(vocab_size),
        ]
        with torch.no_grad():
            layers[-1].gamma *= 0.1
            for layer in layers[:-1]:
                if isinstance(layer, _Linear):
                    layer.weight *= 5/3
        parameters = [C] + [p for layer in layers for p in layer.parameters()]
        print(sum(p.nelement() for p in parameters))
        for p in parameters:
            p.requires_grad = True
        ud = []
        for i in range(30):
            ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
            Xb, Yb = Xtr[ix], Ytr[ix]
            emb = C[Xb]
            x = emb.view(emb.shape[0], -1)
            for layer in layers:
                x = layer(x)
            loss = F.cross_entropy(x, Yb)
            for layer in layers:
                layer.out.retain_grad()
            for p in parameters:
                p.grad = None
            loss.backward()
            lr = 0.1
            for p in parameters:
                p.data += -lr * p.grad
            if i % 10 == 0:
                print(f'{i:7d}/{30:7d}: {loss.item():.4f}')
            with torch.no_grad():
                ud.append([((lr*p.grad).std() / p.data.std()).log10().item() for p in parameters])
        for i, layer in enumerate(layers[:-1]):
            if isinstance(layer, _Tanh):
                t = layer.out
                print('layer %d (%10s): mean %+.2f, std %.2f, saturated: %.2f%%' % (
                    i, layer.__class__.__name__, t.mean(), t.std(), (t.abs() > 0.97).float().mean()*100))
                hy, hx = torch.histogram(t, density=True)
                print(hy.shape, hx.shape, hx[:3])
        for i, layer in enumerate(layers[:-1]):
            if isinstance(layer, _Tanh):
                t = layer.out.grad
                print('layer %d (%10s): mean %+f, std %e' % (i, layer.__class__.__name__, t.mean(), t.std()))
        for i, p in enumerate(parameters):
            t = p.grad
            if p.ndim == 2:
                print('weight %10s | mean %+f | std %e | grad:data ratio %e' % (
                    tuple(p.shape), t.mean(), t.std(), t.std() / p.std()))
        print(['%.2f' % v for v in ud[-1][:4]])


def section_ninja() -> None:
    stoi, itos = _vocab()
    vocab_size = len(stoi)
    n_embd, n_hidden, block_size, batch_size = 10, 64, 3, 32
    g = torch.Generator().manual_seed(2147483647)
    with printed("z2h_ninja.log"):
        Xtr, Ytr = _build_dataset(WORDS, stoi, block_size)

        def cmp(s, dt, t):
            ex = torch.all(dt == t.grad).item()
            app = torch.allclose(dt, t.grad)
            maxdiff = (dt - t.grad).abs().max().item()
            print(f'{s:15s} | exact: {str(ex):5s} | approximate: {str(app):5s} | maxdiff: {maxdiff}')

        C = torch.randn((vocab_size, n_embd), generator=g)
        W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3)/((n_embd * block_size)**0.5)
        b1 = torch.randn(n_hidden, generator=g) * 0.1
        W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
        b2 = torch.randn(vocab_size, generator=g) * 0.1
        bngain = torch.randn((1, n_hidden)) * 0.1 + 1.0
        bnbias = torch.randn((1, n_hidden)) * 0.1
        parameters = [C, W1, b1, W2, b2, bngain, bnbias]
        print(sum(p.nelement() for p in parameters))
        for p in parameters:
            p.requires_grad = True
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        n = batch_size
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmeani = 1/n*hprebn.sum(0, keepdim=True)
        bndiff = hprebn - bnmeani
        bndiff2 = bndiff**2
        bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)
        bnvar_inv = (bnvar + 1e-5)**-0.5
        bnraw = bndiff * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - logit_maxes
        counts = norm_logits.exp()
        counts_sum = counts.sum(1, keepdims=True)
        counts_sum_inv = counts_sum**-1
        probs = counts * counts_sum_inv
        logprobs = probs.log()
        loss = -logprobs[range(n), Yb].mean()
        for p in parameters:
            p.grad = None
        for t in [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes,
                  logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani,
                  embcat, emb]:
            t.retain_grad()
        loss.backward()
        print(loss)

        dlogprobs = torch.zeros_like(logprobs)
        dlogprobs[range(n), Yb] = -1.0/n
        dprobs = (1.0 / probs) * dlogprobs
        dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
        dcounts = counts_sum_inv * dprobs
        dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
        dcounts += torch.ones_like(counts) * dcounts_sum
        dnorm_logits = counts * dcounts
        dlogits = dnorm_logits.clone()
        dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
        dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
        dh = dlogits @ W2.T
        dW2 = h.T @ dlogits
        db2 = dlogits.sum(0)
        dhpreact = (1.0 - h**2) * dh
        dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
        dbnraw = bngain * dhpreact
        dbnbias = dhpreact.sum(0, keepdim=True)
        dbndiff = bnvar_inv * dbnraw
        dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
        dbnvar = (-0.5*(bnvar + 1e-5)**-1.5) * dbnvar_inv
        dbndiff2 = (1.0/(n-1))*torch.ones_like(bndiff2) * dbnvar
        dbndiff += (2*bndiff) * dbndiff2
        dhprebn = dbndiff.clone()
        dbnmeani = (-dbndiff).sum(0)
        dhprebn += 1.0/n * (torch.ones_like(hprebn) * dbnmeani)
        dembcat = dhprebn @ W1.T
        dW1 = embcat.T @ dhprebn
        db1 = dhprebn.sum(0)
        demb = dembcat.view(emb.shape)
        dC = torch.zeros_like(C)
        for k in range(Xb.shape[0]):
            for j in range(Xb.shape[1]):
                ix = Xb[k, j]
                dC[ix] += demb[k, j]
        for name, d, t in [('logprobs', dlogprobs, logprobs), ('probs', dprobs, probs),
                           ('counts_sum_inv', dcounts_sum_inv, counts_sum_inv),
                           ('counts_sum', dcounts_sum, counts_sum), ('counts', dcounts, counts),
                           ('norm_logits', dnorm_logits, norm_logits),
                           ('logit_maxes', dlogit_maxes, logit_maxes), ('logits', dlogits, logits),
                           ('h', dh, h), ('W2', dW2, W2), ('b2', db2, b2),
                           ('hpreact', dhpreact, hpreact), ('bngain', dbngain, bngain),
                           ('bnbias', dbnbias, bnbias), ('bnraw', dbnraw, bnraw),
                           ('bnvar_inv', dbnvar_inv, bnvar_inv), ('bnvar', dbnvar, bnvar),
                           ('bndiff2', dbndiff2, bndiff2), ('bndiff', dbndiff, bndiff),
                           ('bnmeani', dbnmeani, bnmeani), ('hprebn', dhprebn, hprebn),
                           ('embcat', dembcat, embcat), ('W1', dW1, W1), ('b1', db1, b1),
                           ('emb', demb, emb), ('C', dC, C)]:
            cmp(name, d, t)

        # exercise 2: the loss and its gradient in one go
        loss_fast = F.cross_entropy(logits, Yb)
        print(loss_fast.item(), 'diff:', (loss_fast - loss).item())
        dlogits = F.softmax(logits, 1)
        dlogits[range(n), Yb] -= 1
        dlogits /= n
        cmp('logits', dlogits, logits)
        print(dlogits.shape, (F.softmax(logits, 1)[0] * n).sum(), dlogits[0].sum())
        # exercise 3: batch norm's backward in one line
        hpreact_fast = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(
            hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
        print('max diff:', (hpreact_fast - hpreact).abs().max())
        dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))
        cmp('hprebn', dhprebn, hprebn)
        print(dhprebn.shape)


class _Embedding:
    def __init__(self, num_embeddings, embedding_dim):
        self.weight = torch.randn((num_embeddings, embedding_dim))

    def __call__(self, IX):
        self.out = self.weight[IX]
        return self.out

    def parameters(self):
        return [self.weight]


class _FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T//self.n, C*self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class _Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def section_wavenet() -> None:
    stoi, itos = _vocab()
    vocab_size = len(stoi)
    block_size = 8
    words = list(WORDS)
    random.seed(42)
    random.shuffle(words)
    n1 = int(0.9 * len(words))
    with printed("z2h_wavenet.log"):
        Xtr, Ytr = _build_dataset(words[:n1], stoi, block_size)
        Xdev, Ydev = _build_dataset(words[n1:], stoi, block_size)
        for x, y in zip(Xtr[:8], Ytr[:8]):
            print(''.join(itos[ix.item()] for ix in x), '-->', itos[y.item()])
        torch.manual_seed(42)
        n_embd = 8
        n_hidden = 32
        g = torch.Generator().manual_seed(42)
        model = _Sequential([
            _Embedding(vocab_size, n_embd),
            _FlattenConsecutive(2), _Linear(n_embd * 2, n_hidden, g, bias=False), _BatchNorm1d(n_hidden), _Tanh(),
            _FlattenConsecutive(2), _Linear(n_hidden * 2, n_hidden, g, bias=False), _BatchNorm1d(n_hidden), _Tanh(),
            _FlattenConsecutive(2), _Linear(n_hidden * 2, n_hidden, g, bias=False), _BatchNorm1d(n_hidden), _Tanh(),
            _Linear(n_hidden, vocab_size, g),
        ])
        with torch.no_grad():
            model.layers[-1].weight *= 0.1
        parameters = model.parameters()
        print(sum(p.nelement() for p in parameters))
        for p in parameters:
            p.requires_grad = True
        ix = torch.randint(0, Xtr.shape[0], (4,))
        Xb, Yb = Xtr[ix], Ytr[ix]
        logits = model(Xb)
        print(Xb.shape)
        for layer in model.layers:
            print(layer.__class__.__name__, ':', tuple(layer.out.shape))
        lossi = []
        for i in range(100):
            ix = torch.randint(0, Xtr.shape[0], (32,))
            Xb, Yb = Xtr[ix], Ytr[ix]
            logits = model(Xb)
            loss = F.cross_entropy(logits, Yb)
            for p in parameters:
                p.grad = None
            loss.backward()
            lr = 0.1 if i < 75 else 0.01
            for p in parameters:
                p.data += -lr * p.grad
            if i % 25 == 0:
                print(f'{i:7d}/{100:7d}: {loss.item():.4f}')
            lossi.append(loss.log10().item())
        print(torch.tensor(lossi).view(-1, 10).mean(1))
        for layer in model.layers:
            layer.training = False

        @torch.no_grad()
        def split_loss(split):
            x, y = {'train': (Xtr, Ytr), 'val': (Xdev, Ydev)}[split]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            print(split, loss.item())

        split_loss('train')
        split_loss('val')
        for _ in range(5):
            out = []
            context = [0] * block_size
            while True:
                logits = model(torch.tensor([context]))
                probs = F.softmax(logits, dim=1)
                ix = torch.multinomial(probs, num_samples=1).item()
                context = context[1:] + [ix]
                out.append(ix)
                if ix == 0:
                    break
            print(''.join(itos[i] for i in out))


class _Value:
    """micrograd's scalar, as the lecture builds it."""

    def __init__(self, data, _children=(), _op='', label=''):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data})"

    def __add__(self, other):
        other = other if isinstance(other, _Value) else _Value(other)
        out = _Value(self.data + other.data, (self, other), '+')

        def _backward():
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, _Value) else _Value(other)
        out = _Value(self.data * other.data, (self, other), '*')

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = _Value(self.data**other, (self,), f'**{other}')

        def _backward():
            self.grad += other * (self.data ** (other - 1)) * out.grad
        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __radd__(self, other):
        return self + other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        x = self.data
        t = (math.exp(2*x) - 1)/(math.exp(2*x) + 1)
        out = _Value(t, (self, ), 'tanh')

        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = _Value(0 if self.data < 0 else self.data, (self,), 'ReLU')

        def _backward():
            self.grad += (out.data > 0) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        x = self.data
        out = _Value(math.exp(x), (self, ), 'exp')

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


def section_micrograd() -> None:
    with printed("z2h_micro.log"):
        x1 = _Value(2.0, label='x1')
        x2 = _Value(0.0, label='x2')
        w1 = _Value(-3.0, label='w1')
        w2 = _Value(1.0, label='w2')
        b = _Value(6.8813735870195432, label='b')
        n = x1*w1 + x2*w2 + b
        e = (2*n).exp()
        o = (e - 1) / (e + 1)
        o.backward()
        print(o, x1.grad, w1.grad, x2.grad, w2.grad)

        x1 = torch.Tensor([2.0]).double()
        x1.requires_grad = True
        x2 = torch.Tensor([0.0]).double()
        x2.requires_grad = True
        w1 = torch.Tensor([-3.0]).double()
        w1.requires_grad = True
        w2 = torch.Tensor([1.0]).double()
        w2.requires_grad = True
        b = torch.Tensor([6.8813735870195432]).double()
        b.requires_grad = True
        n = x1*w1 + x2*w2 + b
        o = torch.tanh(n)
        print(o.data.item())
        o.backward()
        print('---')
        print('x2', x2.grad.item())
        print('w2', w2.grad.item())
        print('x1', x1.grad.item())
        print('w1', w1.grad.item())
        print(torch.Tensor([[1, 2, 3], [4, 5, 6]]).dtype, torch.tensor([2.0]).double().dtype)

        # test_more_ops, micrograd's own check against torch
        a = _Value(-4.0)
        b = _Value(2.0)
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g += 10.0 / f
        g.backward()
        amg, bmg, gmg = a, b, g
        a = torch.Tensor([-4.0]).double()
        b = torch.Tensor([2.0]).double()
        a.requires_grad = True
        b.requires_grad = True
        c = a + b
        d = a * b + b**3
        c = c + c + 1
        c = c + 1 + c + (-a)
        d = d + d * 2 + (b + a).relu()
        d = d + 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g = g + 10.0 / f
        g.backward()
        apt, bpt, gpt = a, b, g
        tol = 1e-6
        # (micrograd's _prev is a set: its gradients add up in an order that changes from one
        # process to the next, hence the rounding)
        print(gmg.data, gpt.data.item(), abs(gmg.data - gpt.data.item()) < tol)
        print(round(amg.grad, 9), round(apt.grad.item(), 9), abs(amg.grad - apt.grad.item()) < tol)
        print(round(bmg.grad, 9), round(bpt.grad.item(), 9), abs(bmg.grad - bpt.grad.item()) < tol)

        # a tiny MLP in both, trained a few steps on the lecture's four examples
        random.seed(1337)
        xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
        ys = [1.0, -1.0, -1.0, 1.0]
        Wv = [[_Value(random.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
        bv = [_Value(random.uniform(-1, 1)) for _ in range(4)]
        Ov = [_Value(random.uniform(-1, 1)) for _ in range(4)]
        ob = _Value(random.uniform(-1, 1))
        Wt = torch.tensor([[w.data for w in row] for row in Wv], dtype=torch.float64, requires_grad=True)
        bt = torch.tensor([v.data for v in bv], dtype=torch.float64, requires_grad=True)
        Ot = torch.tensor([v.data for v in Ov], dtype=torch.float64, requires_grad=True)
        obt = torch.tensor(ob.data, dtype=torch.float64, requires_grad=True)
        X = torch.tensor(xs, dtype=torch.float64)
        Y = torch.tensor(ys, dtype=torch.float64)
        params = [w for row in Wv for w in row] + bv + Ov + [ob]
        for k in range(5):
            ypred = []
            for x in xs:
                hid = [sum((wi*xi for wi, xi in zip(row, x)), bi).tanh() for row, bi in zip(Wv, bv)]
                ypred.append(sum((oi*hi for oi, hi in zip(Ov, hid)), ob).tanh())
            loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))
            for p in params:
                p.grad = 0.0
            loss.backward()
            for p in params:
                p.data += -0.05 * p.grad
            yt = torch.tanh(torch.tanh(X @ Wt.T + bt) @ Ot + obt)
            tloss = ((yt - Y)**2).sum()
            for p in (Wt, bt, Ot, obt):
                p.grad = None
            tloss.backward()
            with torch.no_grad():
                for p in (Wt, bt, Ot, obt):
                    p -= 0.05 * p.grad
            print(k, round(loss.data, 10), round(tloss.item(), 10),
                  abs(loss.data - tloss.item()) < 1e-9)
        print([round(y.data, 6) for y in ypred])


def section_gpt() -> None:
    text = ("first citizen: before we proceed any further, hear me speak. all: speak, speak. "
            "first citizen: you are all resolved rather to die than to famish? all: resolved. "
            "resolved. first citizen: first, you know caius marcius is chief enemy to the people.")
    chars = sorted(list(set(text)))
    vocab_size = len(chars)
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}

    def encode(s):
        return [stoi[c] for c in s]

    def decode(l):
        return ''.join([itos[i] for i in l])

    with printed("z2h_gpt.log"):
        print(''.join(chars))
        print(vocab_size)
        print(encode("hii there"))
        print(decode(encode("hii there")))
        data = torch.tensor(encode(text), dtype=torch.long)
        print(data.shape, data.dtype)
        print(data[:20])
        n = int(0.9*len(data))
        train_data = data[:n]
        val_data = data[n:]
        torch.manual_seed(1337)
        batch_size, block_size = 4, 8
        x = train_data[:block_size]
        y = train_data[1:block_size+1]
        for t in range(3):
            context = x[:t+1]
            target = y[t]
            print(f"when input is {context} the target: {target}")

        def get_batch(split):
            data = train_data if split == 'train' else val_data
            ix = torch.randint(len(data) - block_size, (batch_size,))
            x = torch.stack([data[i:i+block_size] for i in ix])
            y = torch.stack([data[i+1:i+block_size+1] for i in ix])
            return x, y

        xb, yb = get_batch('train')
        print('inputs:')
        print(xb.shape)
        print(xb)
        print('targets:')
        print(yb)

        # the mathematical trick in self-attention
        torch.manual_seed(1337)
        B, T, C = 4, 8, 2
        x = torch.randn(B, T, C)
        xbow = torch.zeros((B, T, C))
        for b in range(B):
            for t in range(T):
                xprev = x[b, :t+1]
                xbow[b, t] = torch.mean(xprev, 0)
        wei = torch.tril(torch.ones(T, T))
        wei = wei / wei.sum(1, keepdim=True)
        xbow2 = wei @ x
        print(torch.allclose(xbow, xbow2, atol=1e-6))
        tril = torch.tril(torch.ones(T, T))
        wei = torch.zeros((T, T))
        wei = wei.masked_fill(tril == 0, float('-inf'))
        wei = F.softmax(wei, dim=-1)
        xbow3 = wei @ x
        print(torch.allclose(xbow, xbow3, atol=1e-6))
        print(wei[:3])
        torch.manual_seed(42)
        a = torch.tril(torch.ones(3, 3))
        a = a / torch.sum(a, 1, keepdim=True)
        b = torch.randint(0, 10, (3, 2)).float()
        c = a @ b
        print('a=')
        print(a)
        print('--')
        print('b=')
        print(b)
        print('--')
        print('c=')
        print(c)
        torch.manual_seed(1337)
        B, T, C = 4, 8, 32
        x = torch.randn(B, T, C)
        head_size = 16
        key = nn.Linear(C, head_size, bias=False)
        query = nn.Linear(C, head_size, bias=False)
        value = nn.Linear(C, head_size, bias=False)
        k = key(x)
        q = query(x)
        wei = q @ k.transpose(-2, -1) * head_size**-0.5
        wei = wei.masked_fill(tril == 0, float('-inf'))
        wei = F.softmax(wei, dim=-1)
        out = wei @ value(x)
        print(out.shape)
        print(wei[0])
        print(k.var(), q.var(), wei.var())
        print(torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5]), dim=-1))
        print(torch.softmax(torch.tensor([0.1, -0.2, 0.3, -0.2, 0.5])*8, dim=-1))

        n_embd, n_head, n_layer, dropout = 16, 2, 2, 0.0

        class Head(nn.Module):
            def __init__(self, head_size):
                super().__init__()
                self.key = nn.Linear(n_embd, head_size, bias=False)
                self.query = nn.Linear(n_embd, head_size, bias=False)
                self.value = nn.Linear(n_embd, head_size, bias=False)
                self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))
                self.dropout = nn.Dropout(dropout)

            def forward(self, x):
                B, T, C = x.shape
                k = self.key(x)
                q = self.query(x)
                wei = q @ k.transpose(-2, -1) * k.shape[-1]**-0.5
                wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))
                wei = F.softmax(wei, dim=-1)
                wei = self.dropout(wei)
                v = self.value(x)
                return wei @ v

        class MultiHeadAttention(nn.Module):
            def __init__(self, num_heads, head_size):
                super().__init__()
                self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
                self.proj = nn.Linear(head_size * num_heads, n_embd)
                self.dropout = nn.Dropout(dropout)

            def forward(self, x):
                out = torch.cat([h(x) for h in self.heads], dim=-1)
                return self.dropout(self.proj(out))

        class FeedFoward(nn.Module):
            def __init__(self, n_embd):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(),
                                         nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

            def forward(self, x):
                return self.net(x)

        class Block(nn.Module):
            def __init__(self, n_embd, n_head):
                super().__init__()
                head_size = n_embd // n_head
                self.sa = MultiHeadAttention(n_head, head_size)
                self.ffwd = FeedFoward(n_embd)
                self.ln1 = nn.LayerNorm(n_embd)
                self.ln2 = nn.LayerNorm(n_embd)

            def forward(self, x):
                x = x + self.sa(self.ln1(x))
                x = x + self.ffwd(self.ln2(x))
                return x

        class GPTLanguageModel(nn.Module):
            def __init__(self):
                super().__init__()
                self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
                self.position_embedding_table = nn.Embedding(block_size, n_embd)
                self.blocks = nn.Sequential(*[Block(n_embd, n_head=n_head) for _ in range(n_layer)])
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
                pos_emb = self.position_embedding_table(torch.arange(T))
                x = tok_emb + pos_emb
                x = self.blocks(x)
                x = self.ln_f(x)
                logits = self.lm_head(x)
                if targets is None:
                    loss = None
                else:
                    B, T, C = logits.shape
                    logits = logits.view(B*T, C)
                    targets = targets.view(B*T)
                    loss = F.cross_entropy(logits, targets)
                return logits, loss

            def generate(self, idx, max_new_tokens):
                for _ in range(max_new_tokens):
                    idx_cond = idx[:, -block_size:]
                    logits, loss = self(idx_cond)
                    logits = logits[:, -1, :]
                    probs = F.softmax(logits, dim=-1)
                    idx_next = torch.multinomial(probs, num_samples=1)
                    idx = torch.cat((idx, idx_next), dim=1)
                return idx

        torch.manual_seed(1337)
        model = GPTLanguageModel()
        print(sum(p.numel() for p in model.parameters())/1e6, 'M parameters')

        @torch.no_grad()
        def estimate_loss():
            out = {}
            model.eval()
            for split in ['train', 'val']:
                losses = torch.zeros(4)
                for k in range(4):
                    X, Y = get_batch(split)
                    logits, loss = model(X, Y)
                    losses[k] = loss.item()
                out[split] = losses.mean()
            model.train()
            return out

        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        for iter in range(41):
            if iter % 20 == 0:
                losses = estimate_loss()
                print(f"step {iter}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
            xb, yb = get_batch('train')
            logits, loss = model(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        context = torch.zeros((1, 1), dtype=torch.long)
        print(decode(model.generate(context, max_new_tokens=40)[0].tolist()))


def section_gpt2() -> None:
    """build-nanogpt's train_gpt2.py at toy size: config dataclass, weight tying, scaled init
    flag on c_proj, F.scaled_dot_product_attention(is_causal=True), DataLoaderLite, AdamW
    groups by dimension with the fused check, warm-up + cosine lr, gradient accumulation with
    loss_accum, clip_grad_norm_'s returned norm, bfloat16 autocast on the CPU, top-k sampling
    with a seeded Generator."""
    import inspect
    from dataclasses import dataclass

    @dataclass
    class GPTConfig:
        block_size: int = 16
        vocab_size: int = 40
        n_layer: int = 2
        n_head: int = 2
        n_embd: int = 16

    class CausalSelfAttention(nn.Module):
        def __init__(self, config):
            super().__init__()
            assert config.n_embd % config.n_head == 0
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd)
            self.c_proj.NANOGPT_SCALE_INIT = 1
            self.n_head = config.n_head
            self.n_embd = config.n_embd

        def forward(self, x):
            B, T, C = x.size()
            qkv = self.c_attn(x)
            q, k, v = qkv.split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
            self.gelu = nn.GELU(approximate='tanh')
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
            self.c_proj.NANOGPT_SCALE_INIT = 1

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x

    class GPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                std = 0.02
                if hasattr(module, 'NANOGPT_SCALE_INIT'):
                    std *= (2 * self.config.n_layer) ** -0.5
                torch.nn.init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            B, T = idx.size()
            assert T <= self.config.block_size, f"Cannot forward sequence of length {T}"
            pos = torch.arange(0, T, dtype=torch.long, device=idx.device)
            pos_emb = self.transformer.wpe(pos)
            tok_emb = self.transformer.wte(idx)
            x = tok_emb + pos_emb
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            logits = self.lm_head(x)
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, device_type):
            param_dict = {pn: p for pn, p in self.named_parameters()}
            param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
            decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
            nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
            optim_groups = [
                {'params': decay_params, 'weight_decay': weight_decay},
                {'params': nodecay_params, 'weight_decay': 0.0}
            ]
            num_decay_params = sum(p.numel() for p in decay_params)
            num_nodecay_params = sum(p.numel() for p in nodecay_params)
            print(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
            print(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {num_nodecay_params:,} parameters")
            fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
            use_fused = fused_available and device_type == "cuda"
            print(f"using fused AdamW: {use_fused}")
            return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=(0.9, 0.95),
                                     eps=1e-8, fused=use_fused)

    text = ("it is a truth universally acknowledged, that a single man in possession of a good "
            "fortune, must be in want of a wife. however little known the feelings or views of "
            "such a man may be on his first entering a neighbourhood, this truth is so well fixed")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}

    class DataLoaderLite:
        def __init__(self, B, T):
            self.B = B
            self.T = T
            self.tokens = torch.tensor([stoi[c] for c in text])
            print(f"loaded {len(self.tokens)} tokens")
            print(f"1 epoch = {len(self.tokens) // (B * T)} batches")
            self.current_position = 0

        def next_batch(self):
            B, T = self.B, self.T
            buf = self.tokens[self.current_position: self.current_position + B * T + 1]
            x = (buf[:-1]).view(B, T)
            y = (buf[1:]).view(B, T)
            self.current_position += B * T
            if self.current_position + (B * T + 1) > len(self.tokens):
                self.current_position = 0
            return x, y

    with printed("z2h_gpt2.log"):
        device = "cpu"
        if torch.cuda.is_available():
            device = "cuda"
        elif hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
            device = "mps"
        print(f"using device: {device}")
        device_type = "cuda" if device.startswith("cuda") else "cpu"
        torch.manual_seed(1337)
        if torch.cuda.is_available():
            torch.cuda.manual_seed(1337)
        total_batch_size = 64
        B, T = 2, 16
        assert total_batch_size % (B * T) == 0
        grad_accum_steps = total_batch_size // (B * T)
        print(f"total desired batch size: {total_batch_size}")
        print(f"=> calculated gradient accumulation steps: {grad_accum_steps}")
        train_loader = DataLoaderLite(B=B, T=T)
        torch.set_float32_matmul_precision('high')
        model = GPT(GPTConfig(vocab_size=len(chars)))
        model.to(device)
        print(sum(p.numel() for p in model.parameters()))
        print(model.transformer.wte.weight is model.lm_head.weight)
        max_lr, min_lr, warmup_steps, max_steps = 6e-3, 6e-4, 3, 12

        def get_lr(it):
            if it < warmup_steps:
                return max_lr * (it + 1) / warmup_steps
            if it > max_steps:
                return min_lr
            decay_ratio = (it - warmup_steps) / (max_steps - warmup_steps)
            assert 0 <= decay_ratio <= 1
            coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
            return min_lr + coeff * (max_lr - min_lr)

        optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=6e-4, device_type=device_type)
        for step in range(max_steps):
            model.train()
            optimizer.zero_grad()
            loss_accum = 0.0
            for micro_step in range(grad_accum_steps):
                x, y = train_loader.next_batch()
                x, y = x.to(device), y.to(device)
                logits, loss = model(x, y)
                loss = loss / grad_accum_steps
                loss_accum += loss.detach()
                loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            lr = get_lr(step)
            for param_group in optimizer.param_groups:
                param_group['lr'] = lr
            optimizer.step()
            print(f"step {step:5d} | loss: {loss_accum.item():.6f} | lr {lr:.4e} | norm: {norm:.4f}")
        # evaluation under bfloat16 autocast, as the script's val loop runs it
        model.eval()
        with torch.no_grad():
            x, y = train_loader.next_batch()
            with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
                logits, loss = model(x, y)
            print(logits.dtype, loss.dtype, f"validation loss: {loss.item():.2f}")
        num_return_sequences, max_length = 2, 24
        tokens = torch.tensor([stoi[c] for c in "it is a "], dtype=torch.long)
        tokens = tokens.unsqueeze(0).repeat(num_return_sequences, 1)
        xgen = tokens.to(device)
        sample_rng = torch.Generator(device=device)
        sample_rng.manual_seed(42)
        while xgen.size(1) < max_length:
            with torch.no_grad():
                logits, loss = model(xgen[:, -16:])
                logits = logits[:, -1, :]
                probs = F.softmax(logits, dim=-1)
                topk_probs, topk_indices = torch.topk(probs, 5, dim=-1)
                ix = torch.multinomial(topk_probs, 1, generator=sample_rng)
                xcol = torch.gather(topk_indices, -1, ix)
                xgen = torch.cat((xgen, xcol), dim=1)
        for i in range(num_return_sequences):
            decoded = ''.join(chars[t] for t in xgen[i, :max_length].tolist())
            print(f"sample {i}: {decoded}")


def section_lecture_idioms() -> None:
    """Lectures 2-3's notebook cells: the storage of a view, the learning-rate sweep with
    ``10**lre``, ``torch.cat(torch.unbind(emb, 1), 1)``, plots of tensors (imshow of a bool
    tensor, hist of a list and of a tensor, scatter with text labels) drawn off screen and
    summed, the initial-loss arithmetic, kaiming init and the gain table."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def drawn(fig):
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())
        plt.close(fig)
        return image.shape, int(image.sum())

    stoi, itos = _vocab()
    with printed("z2h_lect.log"):
        a = torch.arange(18)
        print(a.view(3, 3, 2).shape, a.view(9, 2)[4])
        print(a.storage())
        g = torch.Generator().manual_seed(2147483647)
        Xtr, Ytr = _build_dataset(WORDS, stoi, 3)
        C = torch.randn((len(stoi), 2), generator=g)
        emb = C[Xtr]
        print(emb.shape)
        print(torch.cat([emb[:, 0, :], emb[:, 1, :], emb[:, 2, :]], 1).shape)
        print(torch.equal(torch.cat(torch.unbind(emb, 1), 1), emb.view(-1, 6)))
        W1 = torch.randn((6, 20), generator=g)
        b1 = torch.randn(20, generator=g)
        W2 = torch.randn((20, len(stoi)), generator=g)
        b2 = torch.randn(len(stoi), generator=g)
        parameters = [C, W1, b1, W2, b2]
        for p in parameters:
            p.requires_grad = True
        lre = torch.linspace(-3, 0, 50)
        lrs = 10**lre
        print(lrs[:3], lrs.dtype)
        lri, lossi, stepi = [], [], []
        for i in range(50):
            ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
            emb = C[Xtr[ix]]
            h = torch.tanh(emb.view(-1, 6) @ W1 + b1)
            logits = h @ W2 + b2
            loss = F.cross_entropy(logits, Ytr[ix])
            for p in parameters:
                p.grad = None
            loss.backward()
            lr = lrs[i]
            for p in parameters:
                p.data += -lr * p.grad
            lri.append(lre[i])
            lossi.append(loss.item())
            stepi.append(i)
        print(f'{loss.item():.4f}', f'{min(lossi):.4f}', lri[-1])
        fig = plt.figure(figsize=(2, 2), dpi=20)
        plt.plot(lri, lossi)
        print(drawn(fig)[0])
        fig = plt.figure(figsize=(3, 3), dpi=20)
        plt.scatter(C[:, 0].data, C[:, 1].data, s=200)
        for i in range(C.shape[0]):
            plt.text(C[i, 0].item(), C[i, 1].item(), itos[i], ha="center", va="center", color='white')
        plt.grid('minor')
        print(drawn(fig)[0])
        h = torch.tanh(torch.randn(16, 12, generator=g) * 3)
        fig = plt.figure(figsize=(2, 2), dpi=20)
        plt.imshow(h.abs() > 0.99, cmap='gray', interpolation='nearest')
        print(drawn(fig))
        fig = plt.figure(figsize=(2, 2), dpi=20)
        counts, edges, _ = plt.hist(h.view(-1).tolist(), 10)
        print(counts, edges[:3])
        counts, edges, _ = plt.hist(h.view(-1), 10, density=True)
        print(counts.round(4))
        plt.close(fig)
        N = torch.zeros((6, 6), dtype=torch.int32)
        N[1, 2] = 3
        N[4, 0] = 7
        fig = plt.figure(figsize=(2, 2), dpi=20)
        plt.imshow(N, cmap='Blues')
        for i in range(6):
            for j in range(6):
                plt.text(j, i, N[i, j].item(), ha="center", va="top", color='gray')
        plt.axis('off')
        print(drawn(fig))
        # lecture 3: the loss at initialisation and saturated tanh
        print(-torch.tensor(1/27.0).log())
        logits = torch.tensor([0.0, 0.0, 5.0, 0.0])
        probs = torch.softmax(logits, dim=0)
        loss = -probs[2].log()
        print(probs, loss)
        logits = torch.randn(4, generator=g) * 10
        probs = torch.softmax(logits, dim=0)
        print(logits, probs, -probs[2].log())
        x = torch.randn(1000, 10, generator=g)
        w = torch.randn(10, 200, generator=g) / 10**0.5
        y = x @ w
        print(f'{x.mean():.4f} {x.std():.4f}')
        print(f'{y.mean():.4f} {y.std():.4f}')
        w = torch.empty(10, 200)
        torch.nn.init.kaiming_normal_(w, mode='fan_in', nonlinearity='tanh', generator=g)
        print(f'{w.std():.4f}', (5/3) / 10**0.5)
        print([torch.nn.init.calculate_gain(n) for n in ('linear', 'tanh', 'relu', 'sigmoid')])
        print(torch.nn.init.calculate_gain('leaky_relu', 0.2), torch.nn.init.calculate_gain('selu'))


SECTIONS = {
    "z2h_counts": section_bigram_counts, "z2h_bnet": section_bigram_net,
    "z2h_mlp": section_mlp_batchnorm, "z2h_act": section_activations,
    "z2h_ninja": section_ninja, "z2h_wavenet": section_wavenet,
    "z2h_micro": section_micrograd, "z2h_gpt": section_gpt, "z2h_gpt2": section_gpt2,
    "z2h_lect": section_lecture_idioms,
}
