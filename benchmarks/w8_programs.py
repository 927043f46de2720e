"""W8, training steps of small models written the way public programs write them: deltagrad
against PyTorch, same seed and weights, per model (issue 18: workloads we did not write).

Each model is written once against a module object ``m`` (``deltagrad`` or ``torch``), in the
idioms of the public programs of tests/programs (manual attention with ``masked_fill``,
``view``/``transpose`` chains, ``BCELoss`` GAN steps, the reparameterisation trick, ``sparse.mm``,
a ``GRUCell`` decoder loop, ``Sequential`` CNNs):

- ``gpt``: a minGPT block stack (2 blocks, emb 64, 4 heads, block 32, batch 16), ``AdamW``;
- ``dcgan``: a DCGAN discriminator + generator step on 16x16 images (``ConvTranspose2d``,
  ``BatchNorm2d``, ``LeakyReLU``, ``BCELoss``, two ``Adam``s);
- ``vae``: an MLP VAE on 784-pixel inputs (the noise is given, not drawn), ``Adam``;
- ``gcn``: Kipf's two-layer GCN with a sparse normalised adjacency (300 nodes), ``Adam`` with
  weight decay, masked ``cross_entropy``;
- ``seq2seq``: a GRU encoder and a Bahdanau-attention ``GRUCell`` decoder (10 steps, teacher
  forcing), ``SGD``;
- ``cnn``: a ``Sequential`` CNN with ``BatchNorm2d``, ``MaxPool2d`` and ``Dropout`` (p 0, so that
  both libraries compute the same function) on 28x28 inputs, ``SGD`` with momentum.

PyTorch initialises each model (seeded) and its parameters are copied by name into deltagrad's.
Every (model, library) pair is timed in alternation with every other in ONE process (one
``common.alternate``), so drift hits all alike; the ratio per model is the median of per-round
ratios deltagrad / torch. ``check`` asserts the first steps' losses agree (1e-4, then 1e-3).

    python benchmarks/w8_programs.py [--steps 5] [--rounds 7] [--threads 1] [--models gpt,vae]
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import asdict, dataclass

import common
import numpy as np


@dataclass(frozen=True)
class Config:
    batches: int = 4  # distinct batches per model, cycled
    models: tuple[str, ...] = ("gpt", "dcgan", "vae", "gcn", "seq2seq", "cnn")


# ------------------------------------------------------------------------------------ models


def mingpt(m, emb: int = 64, heads: int = 4, block: int = 32, vocab: int = 65, layers: int = 2):
    """minGPT's model written against module object ``m``: a class whose ``logits(idx)`` runs
    the block stack (W8 trains it, W9's generate variant decodes with it)."""
    nn, F = m.nn, m.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(emb, 3 * emb)
            self.c_proj = nn.Linear(emb, emb)
            self.register_buffer("bias", m.tril(m.ones(block, block)).view(1, 1, block, block))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(emb, dim=2)
            k = k.view(B, T, heads, C // heads).transpose(1, 2)
            q = q.view(B, T, heads, C // heads).transpose(1, 2)
            v = v.view(B, T, heads, C // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (k.size(-1) ** 0.5))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(emb)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(emb)
            self.mlp = nn.Sequential(nn.Linear(emb, 4 * emb), nn.GELU(), nn.Linear(4 * emb, emb))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, emb)
            self.wpe = nn.Embedding(block, emb)
            self.h = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(emb)
            self.lm_head = nn.Linear(emb, vocab, bias=False)

        def logits(self, idx):
            t = idx.size(1)
            pos = m.arange(0, t, dtype=m.long).unsqueeze(0)
            x = self.wte(idx) + self.wpe(pos)
            for layer in self.h:
                x = layer(x)
            return self.lm_head(self.ln_f(x))

    return GPT


def build_gpt(m):
    F = m.nn.functional
    block, vocab = 32, 65

    class GPT(mingpt(m, block=block, vocab=vocab)):
        def forward(self, idx, targets):
            logits = self.logits(idx)
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    def data(rng):
        ids = rng.integers(0, vocab, (16, block + 1))
        return ids[:, :-1].copy(), ids[:, 1:].copy()

    def make(model):
        optimizer = m.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)

        def step(ids, targets):
            loss = model(ids, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            m.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            return loss.item()
        return step

    return GPT(), data, make


def build_dcgan(m):
    nn = m.nn
    nz, ngf, ndf = 16, 16, 16

    class GAN(nn.Module):
        def __init__(self):
            super().__init__()
            self.G = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())
            self.D = nn.Sequential(
                nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def data(rng):
        real = rng.uniform(-1, 1, (32, 1, 16, 16)).astype(np.float32)
        noise = rng.standard_normal((32, nz, 1, 1)).astype(np.float32)
        return real, noise

    def make(model):
        G, D = model.G, model.D
        criterion = nn.BCELoss()
        opt_d = m.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_g = m.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))

        def step(real, noise):
            D.zero_grad()
            label = m.full((real.size(0),), 1.0)
            err_real = criterion(D(real).view(-1), label)
            err_real.backward()
            fake = G(noise)
            label.fill_(0.0)
            err_fake = criterion(D(fake.detach()).view(-1), label)
            err_fake.backward()
            opt_d.step()
            G.zero_grad()
            label.fill_(1.0)
            err_g = criterion(D(fake).view(-1), label)
            err_g.backward()
            opt_g.step()
            return (err_real + err_fake).item() + err_g.item()
        return step

    return GAN(), data, make


def build_vae(m):
    nn, F = m.nn, m.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 200)
            self.fc21 = nn.Linear(200, 20)
            self.fc22 = nn.Linear(200, 20)
            self.fc3 = nn.Linear(20, 200)
            self.fc4 = nn.Linear(200, 784)

        def forward(self, x, eps):
            h1 = F.relu(self.fc1(x.view(-1, 784)))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + eps * m.exp(0.5 * logvar)
            return m.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

    def data(rng):
        return (rng.uniform(0, 1, (64, 1, 28, 28)).astype(np.float32),
                rng.standard_normal((64, 20)).astype(np.float32))

    def make(model):
        optimizer = m.optim.Adam(model.parameters(), lr=1e-3)

        def step(x, eps):
            optimizer.zero_grad()
            recon, mu, logvar = model(x, eps)
            bce = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
            kld = -0.5 * m.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = bce + kld
            loss.backward()
            optimizer.step()
            return loss.item()
        return step

    return VAE(), data, make


def build_gcn(m):
    nn, F = m.nn, m.nn.functional
    nodes, features, hidden, classes = 300, 64, 32, 7
    rng = np.random.default_rng(5)
    edges = rng.integers(0, nodes, (2, 1200))
    edges = np.concatenate([edges, edges[::-1], np.stack([np.arange(nodes)] * 2)], axis=1)
    edges = np.unique(edges, axis=1)
    degree = np.bincount(edges[0], minlength=nodes).astype(np.float32)
    values = (1.0 / degree[edges[0]]).astype(np.float32)  # row-normalised, as pygcn
    with warnings.catch_warnings():  # PyTorch's note that invariant checks are off
        warnings.simplefilter("ignore", UserWarning)
        adj = m.sparse_coo_tensor(m.from_numpy(edges), m.from_numpy(values), (nodes, nodes))
    adj = adj.coalesce()

    class GraphConvolution(nn.Module):
        def __init__(self, fin, fout):
            super().__init__()
            self.weight = nn.Parameter(m.empty(fin, fout))
            self.bias = nn.Parameter(m.empty(fout))
            stdv = 1.0 / fout ** 0.5
            self.weight.data.uniform_(-stdv, stdv)
            self.bias.data.uniform_(-stdv, stdv)

        def forward(self, x, adj):
            return m.spmm(adj, m.mm(x, self.weight)) + self.bias

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1 = GraphConvolution(features, hidden)
            self.gc2 = GraphConvolution(hidden, classes)

        def forward(self, x, adj):
            x = F.relu(self.gc1(x, adj))
            return F.log_softmax(self.gc2(x, adj), dim=1)

    def data(rng):
        return (rng.standard_normal((nodes, features)).astype(np.float32),
                rng.integers(0, classes, nodes), np.arange(0, nodes, 3))

    def make(model):
        optimizer = m.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

        def step(x, labels, train_idx):
            optimizer.zero_grad()
            output = model(x, adj)
            loss = F.nll_loss(output[train_idx], labels[train_idx])
            loss.backward()
            optimizer.step()
            return loss.item()
        return step

    return GCN(), data, make


def build_seq2seq(m):
    nn, F = m.nn, m.nn.functional
    vocab, hidden, length, batch = 40, 64, 10, 16

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = nn.Embedding(vocab, hidden)
            self.encoder = nn.GRU(hidden, hidden, batch_first=True)
            self.tgt_embedding = nn.Embedding(vocab, hidden)
            self.Wa = nn.Linear(hidden, hidden)
            self.Ua = nn.Linear(hidden, hidden)
            self.Va = nn.Linear(hidden, 1)
            self.cell = nn.GRUCell(2 * hidden, hidden)
            self.out = nn.Linear(hidden, vocab)

        def forward(self, src, tgt):
            keys, h = self.encoder(self.src_embedding(src))
            h = h.squeeze(0)
            projected_keys = self.Ua(keys)
            outputs = []
            for t in range(tgt.size(1)):
                scores = self.Va(m.tanh(self.Wa(h).unsqueeze(1) + projected_keys))
                weights = F.softmax(scores.squeeze(2).unsqueeze(1), dim=-1)
                context = m.bmm(weights, keys).squeeze(1)
                x = m.cat((self.tgt_embedding(tgt[:, t]), context), dim=1)
                h = self.cell(x, h)
                outputs.append(self.out(h))
            return F.log_softmax(m.stack(outputs, dim=1), dim=-1)

    def data(rng):
        src = rng.integers(0, vocab, (batch, length))
        return src, src[:, ::-1].copy()

    def make(model):
        optimizer = m.optim.SGD(model.parameters(), lr=0.1)
        criterion = nn.NLLLoss()

        def step(src, tgt):
            optimizer.zero_grad()
            out = model(src, tgt)
            loss = criterion(out.view(-1, vocab), tgt.view(-1))
            loss.backward()
            optimizer.step()
            return loss.item()
        return step

    return Seq2Seq(), data, make


def build_cnn(m):
    nn, F = m.nn, m.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                nn.MaxPool2d(2))
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Dropout(0.0), nn.Linear(32 * 7 * 7, 64), nn.ReLU(),
                nn.Linear(64, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    def data(rng):
        return (rng.standard_normal((32, 1, 28, 28)).astype(np.float32),
                rng.integers(0, 10, 32))

    def make(model):
        optimizer = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(x, y):
            model.train()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss.item()
        return step

    return Net(), data, make


BUILDERS = {"gpt": build_gpt, "dcgan": build_dcgan, "vae": build_vae, "gcn": build_gcn,
            "seq2seq": build_seq2seq, "cnn": build_cnn}


# ------------------------------------------------------------------------------------ runners


class Runner:
    """One (model, library): the model with PyTorch's initial weights, its step and batches."""

    def __init__(self, model_name: str, lib, init: dict | None, seed: int = 0,
                 batches: int = 4):
        lib.manual_seed(seed)
        model, data, make = BUILDERS[model_name](lib)
        if init is not None:
            common.copy_parameters(model, init)
        self.model = model
        self.init = common.parameter_arrays(model)
        rng = np.random.default_rng(seed)
        self.batches = [tuple(lib.from_numpy(np.ascontiguousarray(a)) for a in data(rng))
                        for _ in range(batches)]
        self.step_fn = make(model)
        self.count = 0

    def step(self) -> float:
        batch = self.batches[self.count % len(self.batches)]
        self.count += 1
        return self.step_fn(*batch)


def make_runners(config: Config, torch, seed: int = 0, libraries: dict | None = None,
                 ) -> dict[str, Runner]:
    """{"<model> <library>": Runner} for every model of ``config`` and every library.

    ``libraries`` defaults to {"deltagrad": deltagrad, "torch": torch}; PyTorch's runner of
    each model is made first and its weights are copied into the others.
    """
    import deltagrad as dg

    if torch is None:
        raise SystemExit("W8 needs PyTorch: its weights initialise the models")
    libraries = libraries or {"deltagrad": dg}
    runners = {}
    for model in config.models:
        reference = Runner(model, torch, None, seed, config.batches)
        for name, lib in libraries.items():
            runners[f"{model} {name}"] = Runner(model, lib, reference.init, seed, config.batches)
        runners[f"{model} torch"] = reference
    return runners


def check(config: Config, torch, steps: int = 2) -> dict[str, list[float]]:
    """Raise AssertionError unless deltagrad's losses agree with PyTorch's for every model
    (1e-4 on the first step, then 1e-3); returns the losses."""
    runners = make_runners(config, torch, seed=1)
    losses = {name: [runner.step() for _ in range(steps)] for name, runner in runners.items()}
    for model in config.models:
        want = losses[f"{model} torch"]
        got = losses[f"{model} deltagrad"]
        common.assert_close(f"W8 {model}: first loss", got[0], want[0], 1e-4, 1e-6)
        common.assert_close(f"W8 {model}: losses", got, want, 1e-3, 1e-5)
    return losses


def run(steps: int = 5, rounds: int = 7, threads: int = 1, config: Config = Config(),
        ) -> dict[str, list[float]]:
    """Time every (model, library) in one alternation; {name: [seconds per step]}."""
    common.set_threads(threads)
    torch = common.import_torch(threads)
    return common.time_runners(make_runners(config, torch), steps, rounds, threads)


def summarize(samples: dict[str, list[float]], threads: int, config: Config,
              steps: int, rounds: int) -> dict:
    """The result in run.py's shape: one row per (model, library); each deltagrad row's ratio
    is against the same model's PyTorch row, and each model has a target of 1.0."""
    stats = {name: common.summarize(values) for name, values in samples.items()}
    ratios, targets = {}, []
    for name, values in samples.items():
        model, library = name.split(" ")
        ratio = None if library == "torch" else common.paired_ratio(
            values, samples[f"{model} torch"])
        ratios[name] = {"floor": None, "torch": ratio}
        if ratio is not None:
            targets.append(common.target(f"W8 {model} deltagrad vs torch, s/step", ratio, 1.0))
    return {"workload": "W8", "unit": "s/step", "threads": threads, "blas": common.blas_threads(),
            "title": "public-program model steps (minGPT, DCGAN, VAE, GCN, seq2seq, CNN)",
            "stats": stats, "floors": {name: "-" for name in samples}, "torch_best": None,
            "ratios": ratios, "memory": {}, "samples": samples, "targets": targets,
            "config": {**asdict(config), "timed_steps": steps, "rounds": rounds}}


def main(argv=None) -> int:
    parser = common.workload_parser(__doc__, steps=5, rounds=7, quick_steps=2, quick_rounds=3)
    parser.add_argument("--models", default=None,
                        help=f"comma-separated subset of {','.join(BUILDERS)}")
    args = common.parse_workload_args(parser, argv)
    config = Config()
    if args.models:
        config = Config(models=tuple(args.models.split(",")))
    common.set_threads(args.threads)
    torch = common.import_torch(args.threads)
    checked = check(config, torch)
    samples = run(args.steps, args.rounds, args.threads, config)
    summary = summarize(samples, args.threads, config, args.steps, args.rounds)
    summary["check"] = {"losses": checked}
    common.report(summary, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
