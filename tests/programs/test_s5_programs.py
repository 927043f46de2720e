"""Small teaching-style PyTorch programs, run on deltagrad and on PyTorch from the same start.

Each ``prog_*`` function is ordinary PyTorch code that receives the library as ``torch`` (and,
where it trains a model, the model built by its ``build_*`` function). Inputs come from NumPy
generators, and the PyTorch model's state dict is copied into the deltagrad one, so every
number a program returns (losses per step, weights, gradients, indices, dtypes) can be compared
to float32 tolerance. Where PyTorch is not installed the deltagrad half still runs. A known
divergence is pinned by an ``xfail(strict=True)`` case that names it, so that it flips when fixed.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from s5_harness import build_models, compare, real_torch

import deltagrad as dg

# ---------------------------------------------------------------------------- harness

def both(program, build=None, **kwargs):
    """Run ``program(lib, model)`` on deltagrad and (if installed) PyTorch, and compare."""
    dg_model, torch_model = build_models(build)
    dg_out = program(dg, dg_model)
    if real_torch is not None:
        compare(dg_out, program(real_torch, torch_model), **kwargs)
    return dg_out


def batches(n, shape, seed=0, classes=None):
    """``n`` float32 inputs of ``shape`` (and int64 labels below ``classes``), from NumPy."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    if classes is None:
        return x
    return x, rng.integers(0, classes, n).astype(np.int64)


# ---------------------------------------------------------------------------- 1. tutorial loop

def build_regressor(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))


def prog_tutorial_loop(torch, model):
    """A Dataset subclass, random_split, DataLoader, SGD with momentum, StepLR, an eval pass."""
    x = batches(96, (5,))
    y = (x @ np.arange(1, 6, dtype=np.float32) / 5)[:, None].astype(np.float32)

    class Points(torch.utils.data.Dataset):
        def __init__(self, x, y):
            self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    dataset = Points(x, y)
    train_set, val_set = torch.utils.data.random_split(
        dataset, [72, 24], generator=torch.Generator().manual_seed(1))
    sizes = [len(train_set), len(val_set), len(set(train_set.indices) | set(val_set.indices))]
    # The split's permutation differs between the libraries' generators: train on a fixed one.
    train_set = torch.utils.data.Subset(dataset, list(range(72)))
    loader = torch.utils.data.DataLoader(train_set, batch_size=16, shuffle=False,
                                         drop_last=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    loss_fn = torch.nn.MSELoss()
    losses, lrs = [], []
    for _ in range(3):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    model.eval()
    with torch.no_grad():
        val = torch.utils.data.TensorDataset(torch.from_numpy(x[72:]), torch.from_numpy(y[72:]))
        val_loss = sum(loss_fn(model(a), b).item() * len(a)
                       for a, b in torch.utils.data.DataLoader(val, batch_size=10)) / len(val)
    return {"sizes": sizes, "batches": len(loader), "losses": losses, "lrs": lrs,
            "val": val_loss, "weight": model[0].weight}


def test_tutorial_loop():
    out = both(prog_tutorial_loop, build_regressor)
    assert out["losses"][-1] < out["losses"][0]


# ---------------------------------------------------------------------------- 2. MNIST-style CNN

def build_cnn(torch):
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1, padding=1)
            self.dropout = nn.Dropout(0.5)
            self.fc = nn.Linear(8 * 3 * 3, 10)

        def forward(self, x):
            x = torch.relu(self.conv1(x))
            x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
            x = self.dropout(torch.flatten(x, 1))
            return torch.nn.functional.log_softmax(self.fc(x), dim=1)

    return Net()


def prog_mnist_cnn(torch, model):
    """Adam on a small CNN in train mode with dropout(p) off by eval(); accuracy and argmax."""
    x, y = batches(32, (1, 8, 8), classes=10)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.eval()  # dropout off so that the two libraries see the same network
    losses = []
    for step in range(4):
        xb, yb = x[step * 8:(step + 1) * 8], y[step * 8:(step + 1) * 8]
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        pred = model(x).argmax(dim=1, keepdim=True)
        correct = pred.eq(y.view_as(pred)).sum().item()
    return {"losses": losses, "correct": correct, "pred": pred,
            "conv1.grad": model.conv1.weight.grad, "fc": model.fc.weight}


def test_mnist_cnn():
    both(prog_mnist_cnn, build_cnn)


# ---------------------------------------------------------------------------- 3. packed char-RNN

def build_packed_lstm(torch):
    nn = torch.nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(12, 6, padding_idx=0)
            self.rnn = nn.LSTM(6, 8, batch_first=True, bidirectional=True)
            self.head = nn.Linear(16, 12)

        def forward(self, tokens, lengths):
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                self.embed(tokens), lengths, batch_first=True, enforce_sorted=False)
            out, (h, c) = self.rnn(packed)
            out, out_lengths = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
            return self.head(out), h, out_lengths

    return Tagger()


def prog_packed_lstm(torch, model):
    rng = np.random.default_rng(3)
    lengths = [5, 2, 4]
    tokens = np.zeros((3, 5), dtype=np.int64)
    for row, n in enumerate(lengths):
        tokens[row, :n] = rng.integers(1, 12, n)
    tokens = torch.from_numpy(tokens)
    targets = tokens.roll(-1, dims=1)
    logits, h, out_lengths = model(tokens, torch.tensor(lengths))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 12), targets.reshape(-1),
                                             ignore_index=0)
    loss.backward()
    return {"loss": loss, "logits": logits, "h": h, "lengths": out_lengths,
            "embed.grad": model.embed.weight.grad, "w_hh": model.rnn.weight_hh_l0_reverse.grad}


def test_packed_lstm():
    both(prog_packed_lstm, build_packed_lstm)


# ---------------------------------------------------------------------------- 4. seq2seq attention

def build_seq2seq(torch):
    nn = torch.nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed = nn.Embedding(10, 8)
            self.encoder = nn.GRU(8, 8, batch_first=True)
            self.tgt_embed = nn.Embedding(10, 8)
            self.cell = nn.GRUCell(16, 8)
            self.attn = nn.Linear(16, 1)
            self.out = nn.Linear(16, 10)

    return Seq2Seq()


def prog_seq2seq(torch, model):
    """A Bahdanau-style decoder with teacher forcing, bmm attention and gradient clipping."""
    F = torch.nn.functional
    rng = np.random.default_rng(4)
    src = torch.from_numpy(rng.integers(0, 10, (2, 6)))
    tgt = torch.from_numpy(rng.integers(0, 10, (2, 4)))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses, norms = [], []
    for _ in range(2):
        opt.zero_grad()
        enc, hidden = model.encoder(model.src_embed(src))
        h = hidden[0]
        loss = 0
        weights = []
        for t in range(tgt.size(1) - 1):
            scores = model.attn(torch.cat([enc, h.unsqueeze(1).expand_as(enc)], dim=2))
            alpha = F.softmax(scores.squeeze(2), dim=1)
            context = torch.bmm(alpha.unsqueeze(1), enc).squeeze(1)
            h = model.cell(torch.cat([model.tgt_embed(tgt[:, t]), context], 1), h)
            logits = model.out(torch.cat([h, context], dim=1))
            loss = loss + F.cross_entropy(logits, tgt[:, t + 1])
            weights.append(alpha)
        loss = loss / (tgt.size(1) - 1)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5))
        opt.step()
        losses.append(loss.item())
    return {"losses": losses, "norms": norms, "alpha": torch.stack(weights, 1),
            "out": model.out.weight}


def test_seq2seq_attention():
    both(prog_seq2seq, build_seq2seq)


# ---------------------------------------------------------------------------- 5. GAN step

def build_gan(torch):
    nn = torch.nn
    return nn.ModuleDict({
        "G": nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2), nn.Tanh()),
        "D": nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1)),
    })


def prog_gan(torch, model):
    G, D = model["G"], model["D"]
    rng = np.random.default_rng(5)
    criterion = torch.nn.BCEWithLogitsLoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    history = []
    for _ in range(3):
        real = torch.from_numpy(rng.normal(1.0, 0.3, (8, 2)).astype(np.float32))
        noise = torch.from_numpy(rng.normal(size=(8, 4)).astype(np.float32))
        ones, zeros = torch.ones(8, 1), torch.zeros(8, 1)
        fake = G(noise)
        opt_d.zero_grad()
        d_loss = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = criterion(D(fake), ones)
        g_loss.backward()
        opt_g.step()
        history.append([d_loss.item(), g_loss.item()])
    return {"history": history, "G": G[2].weight, "D.grad": D[0].weight.grad}


def test_gan_step():
    both(prog_gan, build_gan)


# ---------------------------------------------------------------------------- 6. VAE step

def build_vae(torch):
    nn = torch.nn

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(12, 8)
            self.mu = nn.Linear(8, 3)
            self.logvar = nn.Linear(8, 3)
            self.dec = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 12), nn.Sigmoid())

        def forward(self, x, eps):
            h = torch.relu(self.enc(x))
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + eps * torch.exp(0.5 * logvar)
            return self.dec(z), mu, logvar, z

    return VAE()


def prog_vae(torch, model):
    """ELBO two ways: the closed form, and with torch.distributions (log_prob, kl_divergence)."""
    D = torch.distributions
    rng = np.random.default_rng(6)
    x = torch.from_numpy((rng.random((5, 12)) > 0.5).astype(np.float32))
    eps = torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = []
    for _ in range(2):
        recon, mu, logvar, z = model(x, eps)
        bce = torch.nn.functional.binary_cross_entropy(recon, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        q = D.Normal(mu, torch.exp(0.5 * logvar))
        p = D.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = D.kl_divergence(q, p).sum()
        mc = (q.log_prob(z) - p.log_prob(z)).sum()
        bern = -D.Bernoulli(probs=recon).log_prob(x).sum()
        loss = bce + kld
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append([loss.item(), kl.item(), mc.item(), bern.item(), q.entropy().sum().item()])
    return {"terms": out, "mu.grad": model.mu.weight.grad}


def test_vae_step():
    both(prog_vae, build_vae)


# ---------------------------------------------------------------------------- 7. manual SGD

def prog_manual_sgd(torch, _):
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.normal(size=(20, 3)))  # float64, as torch.from_numpy keeps it
    y = x @ torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64) + 0.3
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    lr, losses = 0.1, []
    for _ in range(10):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b.sub_(lr * b.grad)
            w.grad.zero_()
            b.grad = None
        losses.append(loss.item())
    return {"losses": losses, "w": w, "b": b, "leaf": [w.is_leaf, w.requires_grad,
                                                       b.grad is None]}


def test_manual_sgd():
    out = both(prog_manual_sgd, rtol=1e-10, atol=1e-12)
    assert out["losses"][-1] < out["losses"][0]


# ---------------------------------------------------------------------------- 8. clipping

def prog_clipping(torch, model):
    x, y = batches(6, (5,), seed=8, classes=1)
    x = torch.from_numpy(x) * 30
    loss = model(x).pow(2).mean()
    loss.backward()
    params = list(model.parameters())
    total = torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
    after = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
    inf_norm = torch.nn.utils.clip_grad_norm_(params, max_norm=0.1, norm_type="inf")
    torch.nn.utils.clip_grad_value_(params, clip_value=0.01)
    flat = torch.nn.utils.parameters_to_vector(p.grad for p in params)
    return {"total": total, "after": after, "inf": inf_norm, "flat": flat}


def test_gradient_clipping():
    both(prog_clipping, build_regressor)


# ---------------------------------------------------------------------------- 9. lr schedulers

def prog_schedulers(torch, _):
    S = torch.optim.lr_scheduler

    def run(make, steps=8, metric=None):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = make(opt)
        lrs = []
        for step in range(steps):
            opt.step()
            if metric is None:
                sched.step()
            else:
                sched.step(metric[step])
            lrs.append(opt.param_groups[0]["lr"])
        return lrs

    return {
        "multistep": run(lambda o: S.MultiStepLR(o, milestones=[2, 5], gamma=0.1)),
        "exponential": run(lambda o: S.ExponentialLR(o, gamma=0.9)),
        "cosine": run(lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01)),
        "lambda": run(lambda o: S.LambdaLR(o, lambda epoch: 1 / (epoch + 1))),
        "onecycle": run(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10)),
        "warm_restarts": run(lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)),
        "plateau": run(lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1),
                       metric=[1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]),
        "linear_warmup": run(lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=0.25, total_iters=3),
            S.ExponentialLR(o, gamma=0.5)], milestones=[3])),
    }


def test_lr_schedulers():
    both(prog_schedulers, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------- 10. save / load

def prog_checkpoint(torch, model):
    """Model and optimizer state to a BytesIO, a fresh model loaded, training resumes alike."""
    x, _ = batches(8, (5,), seed=10, classes=1)
    x = torch.from_numpy(x)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def step(m, o):
        o.zero_grad()
        loss = m(x).square().mean()
        loss.backward()
        o.step()
        return loss.item()

    first = [step(model, opt) for _ in range(2)]
    buffer = io.BytesIO()
    torch.save({"epoch": 2, "model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    step_count = float(checkpoint["opt"]["state"][0]["step"])  # PyTorch's is a tensor
    clone = build_regressor(torch)
    clone.load_state_dict(checkpoint["model"])
    clone_opt = torch.optim.Adam(clone.parameters(), lr=1e-2)
    clone_opt.load_state_dict(checkpoint["opt"])
    resumed = [step(clone, clone_opt) for _ in range(2)]
    original = [step(model, opt) for _ in range(2)]
    return {"first": first, "resumed": resumed, "original": original,
            "keys": ",".join(checkpoint["model"].keys()), "epoch": checkpoint["epoch"],
            "step": step_count}


def test_checkpoint_round_trip():
    out = both(prog_checkpoint, build_regressor)
    assert out["resumed"] == out["original"]


# ---------------------------------------------------------------------------- 11. apply(init_fn)

def prog_apply_init(torch, _):
    nn = torch.nn
    visited = []

    def init_fn(m):
        visited.append(type(m).__name__)
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv1d):
            nn.init.dirac_(m.weight)
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(2.0)

    model = nn.Sequential(nn.Conv1d(2, 2, 3, padding=1), nn.Flatten(), nn.LayerNorm(8),
                          nn.Sequential(nn.Linear(8, 4), nn.ReLU()), nn.Linear(4, 2))
    returned = model.apply(init_fn)
    eye = nn.init.eye_(torch.empty(3, 4))
    x = torch.from_numpy(batches(3, (2, 4), seed=11))
    return {"visited": ",".join(visited), "same": returned is model, "y": model(x), "eye": eye,
            "gains": [nn.init.calculate_gain(k) for k in ("relu", "tanh", "sigmoid", "linear")]
            + [nn.init.calculate_gain("leaky_relu", 0.2)]}


def test_apply_init_fn():
    both(prog_apply_init)


# ---------------------------------------------------------------------------- 12. buffers

def prog_buffers(torch, _):
    nn = torch.nn

    class Normaliser(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(3))
            self.register_buffer("count", torch.tensor(0))
            self.register_buffer("scratch", torch.ones(2), persistent=False)
            self.scale = nn.Parameter(torch.ones(3))

        def forward(self, x):
            if self.training:
                with torch.no_grad():
                    self.count += 1
                    self.mean += (x.mean(0) - self.mean) / self.count
            return (x - self.mean) * self.scale

    m = Normaliser()
    xs = batches(3, (4, 3), seed=12)
    outs = [m(torch.from_numpy(x)) for x in xs]
    m.eval()
    frozen = m(torch.from_numpy(xs[0]))
    m.double()
    return {"outs": outs, "frozen": frozen, "state": ",".join(m.state_dict()),
            "buffers": ",".join(name for name, _ in m.named_buffers()),
            "dtypes": [m.mean.dtype, m.count.dtype, m.scale.dtype, m.scratch.dtype],
            "count": m.count, "n_params": len(list(m.parameters()))}


def test_register_buffer():
    both(prog_buffers)


# ---------------------------------------------------------------------------- 13. param groups

def prog_param_groups(torch, model):
    x, _ = batches(8, (5,), seed=13, classes=1)
    x = torch.from_numpy(x)
    opt = torch.optim.SGD([
        {"params": model[0].parameters()},
        {"params": model[2].weight, "lr": 0.01, "momentum": 0.5},
    ], lr=0.1, momentum=0.9)
    model[2].bias.requires_grad_(False)
    losses, lrs = [], []
    for step in range(4):
        if step == 2:
            model[2].bias.requires_grad_(True)
            opt.add_param_group({"params": [model[2].bias], "lr": 1.0, "weight_decay": 0.1})
        opt.zero_grad()
        loss = model(x).abs().mean()
        loss.backward()
        opt.step()
        for group in opt.param_groups:
            group["lr"] *= 0.5
        losses.append(loss.item())
        lrs.append([g["lr"] for g in opt.param_groups])
    groups = [{k: float(v) for k, v in g.items() if k in ("lr", "momentum", "weight_decay")}
              for g in opt.param_groups]
    return {"losses": losses, "lrs": lrs, "groups": groups, "bias": model[2].bias,
            "counts": [len(g["params"]) for g in opt.param_groups]}


def test_parameter_groups():
    both(prog_param_groups, build_regressor)


# ---------------------------------------------------------------------------- 14. F idioms, einsum

def prog_functional(torch, _):
    F = torch.nn.functional
    rng = np.random.default_rng(14)
    x = torch.tensor(rng.normal(size=(2, 3, 4)).astype(np.float32), requires_grad=True)
    w = torch.tensor(rng.normal(size=(4, 5)).astype(np.float32), requires_grad=True)
    labels = torch.tensor([2, 0, 1])
    outs = {
        "one_hot": F.one_hot(labels, num_classes=4),
        "pad": F.pad(x, (1, 2), value=-1.0),
        "pad_reflect": F.pad(x, (1, 1), mode="reflect"),
        "normalize": F.normalize(x, dim=-1),
        "cos": F.cosine_similarity(x[0], x[1], dim=1),
        "pdist": F.pairwise_distance(x[0], x[1]),
        "einsum_mm": torch.einsum("bij,jk->bik", x, w),
        "einsum_trace": torch.einsum("bii->b", x[:, :3, :3]),
        "einsum_outer": torch.einsum("i,j->ij", x[0, 0], w[:, 0]),
        "einsum_bilinear": torch.einsum("bn,nm,bm->b", x[0], x[1].T @ x[1], x[0]),
        "softplus": F.softplus(x, beta=2.0, threshold=1.0),
        "gelu_tanh": F.gelu(x, approximate="tanh"),
        "glu": F.glu(x, dim=-1),
        "logsumexp": torch.logsumexp(x, dim=1),
        "interp": F.interpolate(x, scale_factor=2, mode="linear", align_corners=False),
        "smooth_l1": F.smooth_l1_loss(x, torch.zeros_like(x), beta=0.5),
        "label_smooth": F.cross_entropy(x[:, :, 0], labels[:2], label_smoothing=0.1),
        "kl": F.kl_div(F.log_softmax(x, -1), F.softmax(x.flip(-1), -1), reduction="batchmean"),
    }
    total = sum(v.float().sum() for v in outs.values() if v.is_floating_point())
    total.backward()
    outs["x.grad"], outs["w.grad"] = x.grad, w.grad
    return outs


def test_functional_idioms_and_einsum():
    both(prog_functional)


# ---------------------------------------------------------------------------- 15. indexing

def prog_indexing(torch, _):
    rng = np.random.default_rng(15)
    base = torch.from_numpy(rng.normal(size=(4, 5)).astype(np.float32))
    x = base.clone()
    x[x < 0] = 0.0  # masked assignment
    x[:, [0, 2]] = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    x[[0, 1], [1, 2]] = -5.0
    y = torch.zeros(6)
    idx = torch.tensor([0, 2, 2, 5])
    y[idx] += 1  # duplicates do not accumulate
    z = torch.zeros(6).index_put_((idx,), torch.ones(4), accumulate=True)
    a = torch.tensor(base.numpy(), requires_grad=True)
    picked = a[[0, 0, 3], 1:4] * a[a > 0.5].sum()
    masked = a.masked_fill(a < -1, 0.0)
    (picked.sum() + masked.pow(2).sum() + a[..., None, 1::2].sum()).backward()
    return {"x": x, "y": y, "z": z, "picked": picked, "grad": a.grad,
            "nonzero": torch.nonzero(base > 0), "select": base[1, -1],
            "ellipsis": base[None, ..., 1:],
            "bool_row": base[torch.tensor([True, False, True, False])]}


def test_advanced_indexing_and_masked_assignment():
    both(prog_indexing)


# ---------------------------------------------------------------------------- 16. views in place

def prog_inplace_views(torch, _):
    x = torch.arange(12.0).reshape(3, 4)
    row = x[1]
    row.add_(100)  # writes through to x
    col = x[:, 2]
    col.mul_(-1)
    x.t()[0].zero_()  # column 0 through a transposed view
    flat = x.view(-1)
    flat[::5] = 7.0
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = a * 2
    b[0].mul_(3)  # in place on a view of a non-leaf: the graph is rewritten
    b[:, 1].add_(1)
    b.sum().backward()
    c = torch.ones(2, 3)
    c.unsqueeze_(0).transpose_(1, 2)
    d = torch.tensor([1.0, 2.0, 3.0])
    e = d.clone()
    e.clamp_(min=1.5).sqrt_()
    return {"x": x, "row": row, "a.grad": a.grad, "b": b, "c_shape": list(c.shape),
            "d": d, "e": e, "version_ok": b.requires_grad and not row.requires_grad}


def test_inplace_on_views():
    both(prog_inplace_views)


# ---------------------------------------------------------------------------- 17. dtype promotion

def prog_promotion(torch, _):
    i = torch.tensor([1, 2, 3])
    b = torch.tensor([True, False, True])
    f = torch.tensor([0.5, 1.5, 2.5])
    d = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    results = {
        "i+f": i + f, "i/2": i / 2, "i//2": i // 2, "i*2.5": i * 2.5, "b+b": b + b,
        "b+i": b + i, "b*1.5": b * 1.5, "i+d": i + d, "f+d": f + d,
        "f+0d64": f + torch.tensor(2.0, dtype=torch.float64), "i+0dfloat": i + torch.tensor(1.5),
        "i.sum": i.sum(), "b.sum": b.sum(), "i.float": i.float(), "f.long": (f * 3).long(),
        "f.double": f.double(), "f.to_int32": f.to(torch.int32), "i.pow": i ** 2,
        "i.pow_float": i ** 0.5, "i.mean_float": i.float().mean(), "i.neg": -i,
        "cumsum_b": b.cumsum(0), "prod_i": i.prod(), "where": torch.where(b, i, f),
        "i%2": i % 2, "-i%2": (-i) % 2, "fmod": torch.fmod(-i, 2), "i>f": i > f,
        "i.abs": (-i).abs(), "argmax": f.argmax(), "i*b": i * b, "half_div": i.true_divide(i),
        "uint8": torch.tensor([250], dtype=torch.uint8) + torch.tensor([10], dtype=torch.uint8),
        "i8_int": torch.tensor([1], dtype=torch.int8) + 300,
    }
    return {key: [value.dtype, value] for key, value in results.items()}


def test_dtype_promotion():
    both(prog_promotion)


# ---------------------------------------------------------------------------- 18. python values

def prog_python_values(torch, _):
    x = torch.tensor([[1.5, -2.0], [3.25, 0.0]])
    n = torch.tensor([3, 4])
    torch.manual_seed(123)
    first = torch.rand(5)
    torch.manual_seed(123)
    again = torch.rand(5)
    types = [type(x.sum().item()).__name__, type(n[0].item()).__name__,
             type(x.tolist()[0][0]).__name__, type(n.tolist()[0]).__name__,
             type((x > 0).any().item()).__name__, str(x.numpy().dtype), str(n.numpy().dtype)]
    shared = x.numpy()
    shared[0, 0] = 9.0  # numpy() shares memory with the tensor
    return {"types": ",".join(types), "tolist": x.tolist(), "item": x[1, 0].item(),
            "shared": x[0, 0].item(), "repeat": bool(torch.equal(first, again)),
            "int": int(n.sum()), "float": float(x.max()), "len": len(x), "numel": x.numel(),
            "size": list(x.size()), "dim": x.dim(), "shape1": x.shape[1]}


def test_python_values_and_seeding():
    both(prog_python_values)


# ---------------------------------------------------------------------------- 19. sort and friends

def prog_selection(torch, _):
    rng = np.random.default_rng(19)
    x = torch.from_numpy(rng.permutation(20).reshape(4, 5).astype(np.float32))
    ties = torch.tensor([3, 1, 3, 2, 1, 3])
    values, indices = x.topk(2, dim=1)
    sorted_values, order = torch.sort(x, dim=0, descending=True)
    stable_v, stable_i = torch.sort(ties, stable=True)
    uniq, inverse, counts = torch.unique(ties, return_inverse=True, return_counts=True)
    src = torch.ones(2, 5)
    index = torch.tensor([[0, 1, 2, 0, 0], [2, 0, 0, 1, 2]])
    w = torch.tensor(x.numpy(), requires_grad=True)
    gathered = torch.gather(w, 1, torch.tensor([[0, 0], [1, 0], [4, 3], [2, 2]]))
    scattered = torch.zeros(3, 5).scatter_add(0, index, src * 2)
    routed = torch.zeros(3, 5).scatter(0, index, w[:2])
    cum = torch.cumsum(w, dim=1)
    clamped = w.clamp(min=4, max=15)
    (gathered.sum() + routed.sum() + (cum * cum).mean() + clamped.sum()).backward()
    return {"topk": [values, indices], "sort": [sorted_values, order],
            "stable": [stable_v, stable_i], "unique": [uniq, inverse, counts],
            "argmax": x.argmax(), "argmax1": x.argmax(dim=1), "argmin0": x.argmin(0),
            "gather": gathered, "scatter_add": scattered, "scatter": routed, "cum": cum,
            "cumprod": torch.cumprod(x[:, :3] / 10, 1), "where": torch.where(x > 10, x, -x),
            "max": torch.max(x, dim=1), "kth": torch.kthvalue(x, 2, dim=1),
            "median": x.median(), "grad": w.grad, "bincount": torch.bincount(ties),
            "searchsorted": torch.searchsorted(torch.tensor([1.0, 3.0, 5.0]), x[0])}


def test_sort_topk_unique_gather_scatter():
    both(prog_selection)


# ---------------------------------------------------------------------------- 20. norms train/eval

def build_normed(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=None),
                         nn.ReLU(), nn.GroupNorm(2, 4), nn.Dropout2d(0.3),
                         nn.InstanceNorm2d(4, affine=True, track_running_stats=True),
                         nn.Flatten(), nn.LayerNorm(4 * 4 * 4), nn.Dropout(0.5),
                         nn.Linear(64, 3))


def prog_norms(torch, model):
    xs = batches(3, (5, 2, 4, 4), seed=20)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for m in model.modules():  # dropout off in training too, so the libraries agree
        if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d)):
            m.p = 0.0
    losses = []
    for x in xs[:2]:
        opt.zero_grad()
        loss = model(torch.from_numpy(x)).logsumexp(1).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    for m in model.modules():
        if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d)):
            m.p = 0.9  # ignored in eval mode
    with torch.no_grad():
        evaluated = model(torch.from_numpy(xs[2]))
    return {"losses": losses, "eval": evaluated, "bn_mean": model[1].running_mean,
            "bn_var": model[1].running_var, "batches": model[1].num_batches_tracked,
            "in_mean": model[5].running_mean, "state": ",".join(model.state_dict())}


def test_normalisation_train_eval():
    both(prog_norms, build_normed)


# ---------------------------------------------------------------------------- 21. tying and graph

def build_tied(torch):
    nn = torch.nn

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(7, 4)
            self.proj = nn.Linear(4, 4)
            self.decoder = nn.Linear(4, 7, bias=False)
            self.decoder.weight = self.embed.weight

        def forward(self, tokens):
            return self.decoder(torch.tanh(self.proj(self.embed(tokens))))

    return Tied()


def prog_graph_tools(torch, model):
    """Weight tying, cat/stack/split/chunk, detach/clone, requires_grad_, retain_graph, hooks."""
    seen = []
    handle = model.proj.register_forward_hook(lambda m, inp, out: seen.append(out.sum().item()))
    model.proj.register_forward_pre_hook(lambda m, inp: (inp[0] * 2,))
    logits = model(torch.tensor([[1, 2, 3], [4, 5, 6]]))
    handle.remove()
    parts = torch.split(logits, [2, 5], dim=-1)
    chunks = logits.chunk(3, dim=-1)
    joined = torch.cat([parts[1], chunks[0]], dim=-1)
    stacked = torch.stack([c.sum(-1) for c in chunks], dim=0)
    frozen = joined.detach()
    copy = joined.clone()
    grads = []
    hook = copy.register_hook(lambda g: g * 0.5)
    loss = (copy * frozen).sum() + stacked.pow(2).sum()
    loss.backward(retain_graph=True)
    grads.append(model.embed.weight.grad.clone())
    hook.remove()
    model.proj.weight.requires_grad_(False)
    loss.backward()  # second pass through the retained graph accumulates
    grads.append(model.embed.weight.grad)
    model.zero_grad()
    module_grads = []
    model.proj.register_full_backward_hook(
        lambda m, gin, gout: module_grads.append(gout[0].sum().item()))
    model(torch.tensor([0, 6])).sum().backward()
    return {"seen": seen, "logits": logits, "grads": grads, "module_grads": module_grads,
            "tied": model.decoder.weight is model.embed.weight,
            "n_params": len(list(model.parameters())), "proj_grad": model.proj.bias.grad,
            "frozen_grad": model.proj.weight.grad is None, "shapes": [list(c.shape)
                                                                       for c in chunks]}


def test_tying_hooks_and_graph_tools():
    both(prog_graph_tools, build_tied)


# ---------------------------------------------------------------------------- 22. transfer learning

def build_backbone(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def prog_finetune(torch, model):
    """Freeze the backbone, replace the head, multi-label BCE with pos_weight, then unfreeze."""
    x = torch.from_numpy(batches(10, (6,), seed=22))
    targets = torch.from_numpy((np.random.default_rng(22).random((10, 2)) > 0.6)
                               .astype(np.float32))
    for p in model.parameters():
        p.requires_grad = False
    model[3] = torch.nn.Linear(8, 2)
    with torch.no_grad():
        model[3].weight.copy_(torch.linspace(-0.5, 0.5, 16).reshape(2, 8))
        model[3].bias.fill_(0.1)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-2, weight_decay=0.05)
    criterion = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 0.5]))
    model[1].eval()  # frozen BatchNorm keeps its statistics
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = criterion(model(x), targets)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    predicted = (torch.sigmoid(model(x)) > 0.5).float()
    return {"losses": losses, "n_trainable": len(trainable), "head": model[3].weight,
            "accuracy": (predicted == targets).float().mean(),
            "first_grad": model[0].weight.grad is None}


def test_transfer_learning_freeze():
    both(prog_finetune, build_backbone)


# ---------------------------------------------------------------------------- 23. mixture model

def prog_gmm(torch, _):
    """A 1-d Gaussian mixture fitted by Adam on the negative log-likelihood."""
    D = torch.distributions
    rng = np.random.default_rng(23)
    data = torch.from_numpy(np.concatenate([rng.normal(-2, 0.5, 60),
                                            rng.normal(1.5, 1.0, 40)]).astype(np.float32))
    logits = torch.zeros(3, requires_grad=True)
    loc = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    log_scale = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([logits, loc, log_scale], lr=0.05)
    losses = []
    for _ in range(15):
        mixture = D.MixtureSameFamily(D.Categorical(logits=logits),
                                      D.Normal(loc, log_scale.exp()))
        loss = -mixture.log_prob(data).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        responsibilities = mixture.component_distribution.log_prob(data[:5, None]).softmax(-1)
    return {"losses": losses, "loc": loc, "weights": torch.softmax(logits, 0),
            "mean": mixture.mean, "variance": mixture.variance, "resp": responsibilities,
            "cdf": mixture.cdf(torch.tensor([0.0, 1.0]))}


def test_gaussian_mixture_fit():
    out = both(prog_gmm)
    assert out["losses"][-1] < out["losses"][0]


# ---------------------------------------------------------------------------- 24. containers

def prog_containers(torch, _):
    """Parameters kept in a ParameterDict (given as a plain dict: PyTorch sorts its keys) and a
    ParameterList, the model printed, trained, and its state dict loaded back non-strictly."""
    nn = torch.nn

    class Affine(nn.Module):
        def __init__(self):
            super().__init__()
            self.params = nn.ParameterDict({"weight": nn.Parameter(torch.eye(3) * 0.5),
                                            "bias": nn.Parameter(torch.zeros(3))})
            self.gains = nn.ParameterList([nn.Parameter(torch.ones(3)) for _ in range(2)])

        def forward(self, x):
            for gain in self.gains:
                x = (x @ self.params["weight"] + self.params["bias"]) * gain
            return x

    model = Affine()
    x = torch.from_numpy(batches(4, (3,), seed=24))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (model(x) - 1).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    state = model.state_dict()
    state.pop("gains.1")
    state["extra"] = torch.ones(1)
    result = Affine().load_state_dict(state, strict=False)
    return {"losses": losses, "repr": repr(model).replace("deltagrad.", "torch."),
            "names": ",".join(name for name, _ in model.named_parameters()),
            "keys": ",".join(model.params.keys()), "load": str(result),
            "first": [p for p in model.parameters()][0]}


def test_parameter_containers():
    both(prog_containers)


# ---------------------------------------------------------------------------- 25. autoencoder

def build_autoencoder(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid())


def prog_autoencoder(torch, model):
    """A convolutional autoencoder: strided convolutions down, a transposed convolution and
    bilinear upsampling back up, Adam with amsgrad and weight decay, cosine annealing."""
    x = torch.from_numpy(np.random.default_rng(25).random((4, 1, 8, 8)).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4, amsgrad=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), x)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return {"losses": losses, "deconv": model[5].weight, "running_var": model[1].running_var,
            "lr": sched.get_last_lr()}


def test_conv_autoencoder():
    out = both(prog_autoencoder, build_autoencoder)
    assert out["losses"][-1] < out["losses"][0]


# ---------------------------------------------------------------------------- known differences

def test_diagonal_is_a_view():
    x = dg.zeros(3, 3)
    x.diagonal().add_(1)  # the idiom for adding to a matrix's diagonal in place
    np.testing.assert_array_equal(x.numpy(), np.eye(3, dtype=np.float32))


def test_unfold_is_a_view():
    x = dg.zeros(5)
    x.unfold(0, 2, 2).fill_(1.0)
    np.testing.assert_array_equal(x.numpy(), [1, 1, 1, 1, 0])


def test_optimizer_step_state_is_a_tensor():
    p = dg.nn.Parameter(dg.ones(2))
    opt = dg.optim.Adam([p])
    p.sum().backward()
    opt.step()
    step = opt.state_dict()["state"][0]["step"]
    assert step.item() == 1.0 and step.dtype == dg.float32


def test_optimizer_default_weight_decay_is_int():
    opt = dg.optim.SGD([dg.nn.Parameter(dg.ones(1))], lr=0.1)
    assert type(opt.param_groups[0]["weight_decay"]) is int


def test_masked_fill_keeps_the_input_dtype():
    out = dg.zeros(2, dtype=dg.int64).masked_fill(dg.tensor([True, False]), 2.5)
    assert out.dtype == dg.int64 and out.tolist() == [2, 0]
    assert dg.zeros(2, dtype=dg.bool).masked_fill(dg.tensor([True, False]), 1).dtype == dg.bool


@pytest.mark.parametrize("flip", [lambda x: x.flip(0), lambda x: dg.fliplr(x),
                                  lambda x: dg.flipud(x), lambda x: dg.rot90(x)],
                         ids=["flip", "fliplr", "flipud", "rot90"])
def test_flip_returns_a_copy(flip):
    x = dg.arange(6.0).reshape(2, 3)
    flipped = flip(x)
    before = flipped.clone()
    x.add_(100.0)  # e.g. normalising the batch in place after taking its mirror image
    np.testing.assert_array_equal(flipped.numpy(), before.numpy())


def test_batchnorm2d_is_not_a_batchnorm1d():
    touched = []
    model = dg.nn.Sequential(dg.nn.Conv2d(1, 2, 3), dg.nn.BatchNorm2d(2))
    model.apply(lambda m: touched.append(type(m).__name__)
                if isinstance(m, dg.nn.BatchNorm1d) else None)
    assert touched == []
