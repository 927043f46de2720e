"""Probe IV (session 7), part IV: a denoising diffusion model, a recommender with EmbeddingBag,
adversarial training with PGD, a neural ODE, and tabular regression with heteroscedastic and
quantile losses. Each program takes the library as ``torch``, seeds it, and returns what it
would print; the runs under PyTorch and deltagrad must agree."""

from __future__ import annotations

import pytest
from s5_harness import compare

import deltagrad as dg

torch = pytest.importorskip("torch")


def prog_ddpm(torch):
    """DDPM on 2-d points: a linear beta schedule, alphas_cumprod gathered at random timesteps,
    a sinusoidal time embedding, the noise-prediction MSE, then ancestral sampling."""
    import math

    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(40)
    T = 20
    betas = torch.linspace(1e-4, 0.2, T)
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    sqrt_ab, sqrt_1m_ab = alphas_cumprod.sqrt(), (1 - alphas_cumprod).sqrt()

    def extract(a, t, shape):
        return a.gather(-1, t).reshape(t.shape[0], *((1,) * (len(shape) - 1)))

    class TimeEmbedding(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dim = dim

        def forward(self, t):
            half = self.dim // 2
            freqs = torch.exp(-math.log(10000) * torch.arange(half) / (half - 1))
            args = t[:, None].float() * freqs[None]
            return torch.cat([args.sin(), args.cos()], dim=-1)

    class Denoiser(nn.Module):
        def __init__(self):
            super().__init__()
            self.time = nn.Sequential(TimeEmbedding(16), nn.Linear(16, 32), nn.SiLU())
            self.net = nn.Sequential(nn.Linear(2 + 32, 64), nn.SiLU(), nn.Linear(64, 64),
                                     nn.SiLU(), nn.Linear(64, 2))

        def forward(self, x, t):
            return self.net(torch.cat([x, self.time(t)], dim=1))

    angle = torch.rand(64) * 2 * math.pi
    data = torch.stack([angle.cos(), angle.sin()], dim=1) + 0.05 * torch.randn(64, 2)
    model = Denoiser()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(8):
        t = torch.randint(0, T, (64,))
        noise = torch.randn_like(data)
        x_t = extract(sqrt_ab, t, data.shape) * data + extract(sqrt_1m_ab, t, data.shape) * noise
        loss = F.mse_loss(model(x_t, t), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        x = torch.randn(5, 2)
        for i in reversed(range(T)):
            t = torch.full((5,), i, dtype=torch.long)
            eps = model(x, t)
            mean = (x - betas[i] / sqrt_1m_ab[i] * eps) / alphas[i].sqrt()
            x = mean + (betas[i].sqrt() * torch.randn_like(x) if i > 0 else 0)
    return {"losses": losses, "samples": x, "cumprod": alphas_cumprod[::5]}


def prog_recommender(torch):
    """A two-tower recommender: users with multi-hot history features pooled by
    nn.EmbeddingBag (offsets, mode="mean", per_sample_weights with mode="sum"), item
    embeddings, a BPR loss on sampled negatives, and top-k recommendations with history
    masked out."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(41)
    n_users, n_items, dim = 8, 15, 6
    history = [torch.randint(0, n_items, (int(n),)) for n in torch.randint(1, 5, (n_users,))]
    flat = torch.cat(history)
    offsets = torch.tensor([0] + [len(h) for h in history[:-1]]).cumsum(0)
    weights = torch.rand(len(flat))

    class TwoTower(nn.Module):
        def __init__(self):
            super().__init__()
            self.user = nn.Embedding(n_users, dim)
            self.history = nn.EmbeddingBag(n_items, dim, mode="mean")
            self.weighted = nn.EmbeddingBag(n_items, dim, mode="sum")
            self.item = nn.Embedding(n_items, dim)
            self.item_bias = nn.Parameter(torch.zeros(n_items))

        def user_vector(self, users):
            pooled = self.history(flat, offsets)[users]
            weighted = self.weighted(flat, offsets, per_sample_weights=weights)[users]
            return self.user(users) + pooled + 0.5 * weighted

        def score(self, users, items):
            u = self.user_vector(users)
            return (u * self.item(items)).sum(-1) + self.item_bias[items]

    model = TwoTower()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=1e-4)
    users = torch.repeat_interleave(torch.arange(n_users), torch.tensor([len(h) for h in history]))
    losses = []
    for _ in range(6):
        negatives = torch.randint(0, n_items, (len(flat),))
        diff = model.score(users, flat) - model.score(users, negatives)
        loss = -F.logsigmoid(diff).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        scores = model.user_vector(torch.arange(n_users)) @ model.item.weight.T + model.item_bias
        seen = torch.zeros(n_users, n_items, dtype=torch.bool)
        seen[users, flat] = True
        top = scores.masked_fill(seen, float("-inf")).topk(3, dim=1)
    return {"losses": losses, "top": top.indices, "top_scores": top.values,
            "bag_grad": model.history.weight.grad[:3]}


def prog_adversarial(torch):
    """Adversarial training: FGSM and PGD examples from input gradients (sign, clamp to the
    epsilon ball and [0, 1]), model.eval() during the attack and train() after, clean and
    robust accuracy."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(42)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(32, 3))
    x = torch.rand(30, 1, 4, 4)
    y = (x.mean(dim=(1, 2, 3)) * 3).long().clamp(max=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    eps, alpha = 0.1, 0.03

    def pgd(inputs, targets, steps):
        was_training = model.training
        model.eval()
        delta = torch.empty_like(inputs).uniform_(-eps, eps) if steps > 1 else torch.zeros_like(
            inputs)
        delta.requires_grad_(True)
        for _ in range(steps):
            loss = F.cross_entropy(model(inputs + delta), targets)
            grad, = torch.autograd.grad(loss, delta)
            step = eps if steps == 1 else alpha
            delta = (delta + step * grad.sign()).clamp(-eps, eps)
            delta = ((inputs + delta).clamp(0, 1) - inputs).detach().requires_grad_(True)
        model.train(was_training)
        return (inputs + delta).detach()

    history = []
    for _epoch in range(4):
        model.train()
        x_adv = pgd(x, y, steps=3)
        loss = 0.5 * F.cross_entropy(model(x), y) + 0.5 * F.cross_entropy(model(x_adv), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    model.eval()
    with torch.no_grad():
        clean = (model(x).argmax(1) == y).float().mean()
    fgsm = pgd(x, y, steps=1)
    with torch.no_grad():
        robust = (model(fgsm).argmax(1) == y).float().mean()
    return {"history": history, "clean": clean, "robust": robust,
            "perturbation": (fgsm - x).abs().max(), "x_adv": fgsm[0, 0]}


def prog_neural_ode(torch):
    """A neural ODE fitted to a damped spiral: a fixed-step RK4 integrator written by hand,
    backpropagation through the solver, RMSprop, and the learned dynamics' trajectory."""
    nn = torch.nn
    torch.manual_seed(43)
    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
    times = torch.linspace(0.0, 1.5, 16)

    def rk4(func, y0, t):
        ys = [y0]
        y = y0
        for t0, t1 in zip(t[:-1], t[1:]):
            h = t1 - t0
            k1 = func(t0, y)
            k2 = func(t0 + h / 2, y + h * k1 / 2)
            k3 = func(t0 + h / 2, y + h * k2 / 2)
            k4 = func(t1, y + h * k3)
            y = y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
            ys.append(y)
        return torch.stack(ys)

    with torch.no_grad():
        true_y = rk4(lambda t, y: y @ true_A.T, torch.tensor([[2.0, 0.0]]), times)

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 24), nn.Tanh(), nn.Linear(24, 2))
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)

        def forward(self, t, y):
            return self.net(y)

    func = ODEFunc()
    optimizer = torch.optim.RMSprop(func.parameters(), lr=1e-2)
    losses = []
    for _ in range(6):
        start = torch.randint(0, 8, (4,))
        batch_y0 = true_y[start]
        batch_t = times[:8]
        batch_y = torch.stack([true_y[start + i] for i in range(8)])
        pred = rk4(func, batch_y0, batch_t)
        loss = (pred - batch_y).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        trajectory = rk4(func, true_y[0], times)
    return {"losses": losses, "trajectory": trajectory[::3, 0], "true": true_y[::5, 0]}


def prog_tabular(torch):
    """Tabular regression from a DataLoader over a TensorDataset with a WeightedRandomSampler:
    categorical embeddings beside standardised numeric columns, a mean/variance head trained
    with GaussianNLLLoss, a quantile (pinball) head, Huber validation loss, and per-quantile
    coverage."""
    nn = torch.nn
    F = torch.nn.functional
    data_utils = torch.utils.data
    torch.manual_seed(44)
    n = 48
    numeric = torch.randn(n, 3) * torch.tensor([1.0, 10.0, 0.1]) + torch.tensor([0.0, 5.0, 1.0])
    category = torch.randint(0, 4, (n,))
    target = numeric[:, 0] * 2 + category.float() + 0.3 * torch.randn(n)
    mean, std = numeric.mean(0), numeric.std(0)
    dataset = data_utils.TensorDataset((numeric - mean) / std, category, target)
    counts = torch.bincount(category, minlength=4).float()
    sample_weights = (1.0 / counts)[category]
    sampler = data_utils.WeightedRandomSampler(sample_weights, num_samples=n, replacement=True)
    loader = data_utils.DataLoader(dataset, batch_size=12, sampler=sampler)
    quantiles = torch.tensor([0.1, 0.5, 0.9])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(4, 3)
            # bias=False before BatchNorm: a bias there gets a gradient of rounding noise only
            # (the normalisation removes it), which Adam would scale up to full steps
            self.body = nn.Sequential(nn.Linear(6, 32, bias=False), nn.BatchNorm1d(32),
                                      nn.ReLU())
            self.gauss = nn.Linear(32, 2)
            self.quantile = nn.Linear(32, 3)

        def forward(self, x, c):
            h = self.body(torch.cat([x, self.embed(c)], dim=1))
            mu, raw_var = self.gauss(h).unbind(1)
            return mu, F.softplus(raw_var) + 1e-4, self.quantile(h)

    def pinball(pred, y):
        diff = y.unsqueeze(1) - pred
        return torch.max(quantiles * diff, (quantiles - 1) * diff).mean()

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    gnll = nn.GaussianNLLLoss()
    history = []
    for _epoch in range(3):
        model.train()
        for xb, cb, yb in loader:
            mu, var, q = model(xb, cb)
            loss = gnll(mu, yb, var) + pinball(q, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history.append(loss.item())
    model.eval()
    with torch.no_grad():
        x_all, c_all, y_all = dataset.tensors
        mu, var, q = model(x_all, c_all)
        coverage = (y_all.unsqueeze(1) <= q).float().mean(0)
        huber = F.huber_loss(mu, y_all, delta=1.0)
    return {"history": history, "coverage": coverage, "huber": huber, "var": var[:5],
            "running_mean": model.body[1].running_mean[:4]}


PROGRAMS = [prog_ddpm, prog_recommender, prog_adversarial, prog_neural_ode, prog_tabular]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__[5:])
def test_program_prints_the_same(program):
    expected = program(torch)
    got = program(dg)
    compare(got, expected)
