"""Probe IV (session 7), part V: model ensembling with torch.func, a spectral-norm GAN on 2-d
toy data, a spatial transformer, a small ViT, magnitude pruning, and variational inference with
composed distributions. Each program takes the library as ``torch``, seeds it, and returns what
it would print; the runs under PyTorch and deltagrad must agree."""

from __future__ import annotations

import importlib
import warnings

import pytest
from s5_harness import compare

import deltagrad as dg

torch = pytest.importorskip("torch")


def prog_ensembling(torch):
    """The torch.func model-ensembling recipe: stack_module_state over several models, a
    'meta' base via copy.deepcopy(...).to('meta') replaced by a plain copy, vmap over the
    stacked parameters with functional_call, the same minibatch or one per model; then a
    Hessian-vector product by jvp of grad, checked against double backward."""
    import copy

    nn = torch.nn
    F = torch.nn.functional
    func = torch.func
    torch.manual_seed(50)
    models = [nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)) for _ in range(4)]
    params, buffers = func.stack_module_state(models)
    base = copy.deepcopy(models[0])
    x = torch.randn(6, 5)
    minibatches = torch.randn(4, 6, 5)

    def fmodel(p, b, inputs):
        return func.functional_call(base, (p, b), (inputs,))

    same = func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    different = func.vmap(fmodel)(params, buffers, minibatches)
    loop = torch.stack([m(x) for m in models])
    y = torch.randint(0, 3, (6,))

    def loss_fn(p):
        return F.cross_entropy(func.functional_call(models[0], p, (x,)), y)

    p0 = {k: v.detach() for k, v in models[0].named_parameters()}
    v = {k: torch.ones_like(t) * 0.01 for k, t in p0.items()}
    _, hvp = func.jvp(func.grad(loss_fn), (p0,), (v,))
    loss = loss_fn(dict(models[0].named_parameters()))
    grads = torch.autograd.grad(loss, list(models[0].parameters()), create_graph=True)
    dot = sum((g * v[k]).sum() for g, k in zip(grads, p0))
    hvp_backward = torch.autograd.grad(dot, list(models[0].parameters()))
    agree = all(bool(torch.allclose(hvp[k], h, atol=1e-6)) for k, h in zip(p0, hvp_backward))
    return {"same": same, "different": different, "matches_loop": bool(
        torch.allclose(same, loop, atol=1e-6)), "shapes": [list(t.shape) for t in
                                                          params.values()],
            "hvp": list(hvp.values()), "agree": agree}


def prog_sn_gan(torch):
    """A GAN on a ring of eight Gaussians: spectral_norm parametrisations on the
    discriminator (power iteration from random vectors), BCEWithLogitsLoss, two Adam
    optimizers with betas=(0.5, 0.999), fake samples detached for the discriminator step."""
    import math

    nn = torch.nn
    SN = torch.nn.utils.parametrizations.spectral_norm
    torch.manual_seed(51)

    def sample_real(n):
        k = torch.randint(0, 8, (n,))
        angle = k.float() * (2 * math.pi / 8)
        return torch.stack([angle.cos(), angle.sin()], 1) * 2 + 0.05 * torch.randn(n, 2)

    G = nn.Sequential(nn.Linear(4, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32),
                      nn.LeakyReLU(0.2), nn.Linear(32, 2))
    D = nn.Sequential(SN(nn.Linear(2, 32)), nn.LeakyReLU(0.2), SN(nn.Linear(32, 32)),
                      nn.LeakyReLU(0.2), SN(nn.Linear(32, 1)))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    criterion = nn.BCEWithLogitsLoss()
    history = []
    for _ in range(6):
        real = sample_real(32)
        z = torch.randn(32, 4)
        fake = G(z)
        ones, zeros = torch.ones(32, 1), torch.zeros(32, 1)
        d_loss = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = criterion(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history.append([d_loss.item(), g_loss.item()])
    D.eval()
    with torch.no_grad():
        sigma = torch.linalg.matrix_norm(D[0].weight, ord=2)
        samples = G(torch.randn(4, 4))
    u = D[2].parametrizations.weight[0]._u
    return {"history": history, "sigma": sigma, "samples": samples, "u": u[:5],
            "keys": sorted(D.state_dict().keys())[:4]}


def prog_stn(torch):
    """A spatial transformer network: a localisation net regressing a 2x3 affine matrix
    initialised to the identity, F.affine_grid + F.grid_sample (bilinear, zeros padding,
    align_corners=False), followed by a classifier; Adam on NLL."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(52)

    class STN(nn.Module):
        def __init__(self):
            super().__init__()
            self.localization = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.ReLU())
            self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 16), nn.ReLU(), nn.Linear(16, 6))
            self.fc_loc[2].weight.data.zero_()
            self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))

        def stn(self, x):
            theta = self.fc_loc(self.localization(x).flatten(1)).view(-1, 2, 3)
            grid = F.affine_grid(theta, x.size(), align_corners=False)
            return F.grid_sample(x, grid, align_corners=False), theta

        def forward(self, x):
            x, theta = self.stn(x)
            return F.log_softmax(self.classifier(x), dim=1), theta

    model = STN()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    x = torch.rand(6, 1, 8, 8)
    y = torch.randint(0, 3, (6,))
    losses = []
    for _ in range(5):
        out, theta = model(x)
        loss = F.nll_loss(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        warped, theta = model.stn(x[:2])
        rotated = F.grid_sample(x[:2], F.affine_grid(torch.tensor(
            [[[0.0, -1.0, 0.1], [1.0, 0.0, 0.0]]]).expand(2, 2, 3), (2, 1, 8, 8),
            align_corners=True), mode="nearest", padding_mode="border", align_corners=True)
    return {"losses": losses, "theta": theta, "warped": warped[0, 0, :3], "rotated": rotated}


def prog_vit(torch):
    """A tiny Vision Transformer: Conv2d patch embedding, a class token and learned positions,
    a pre-norm (norm_first=True) TransformerEncoder with GELU, cosine schedule with warm-up
    (LambdaLR), AdamW, gradient clipping, and F.scaled_dot_product_attention in a custom
    attention pooling head."""
    import math

    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(53)

    class ViT(nn.Module):
        def __init__(self, image=8, patch=4, dim=16, classes=3):
            super().__init__()
            n_patches = (image // patch) ** 2
            self.patch = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)
            self.cls = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.randn(1, n_patches + 1, dim) * 0.02)
            layer = nn.TransformerEncoderLayer(dim, 2, dim * 2, dropout=0.1, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim)
            self.query = nn.Parameter(torch.randn(1, 2, 1, dim // 2))
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            h = self.patch(x).flatten(2).transpose(1, 2)
            h = torch.cat([self.cls.expand(x.size(0), -1, -1), h], dim=1) + self.pos
            h = self.norm(self.encoder(h))
            kv = h.view(x.size(0), -1, 2, 8).transpose(1, 2)
            pooled = F.scaled_dot_product_attention(self.query.expand(x.size(0), -1, -1, -1),
                                                    kv, kv)
            return self.head(pooled.transpose(1, 2).reshape(x.size(0), -1) + h[:, 0])

    model = ViT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    total, warmup = 6, 2
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup
        else 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup))))
    x = torch.randn(5, 3, 8, 8)
    y = torch.randint(0, 3, (5,))
    history = []
    for _ in range(total):
        model.train()
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        history.append([loss.item(), norm.item(), scheduler.get_last_lr()[0]])
    model.eval()
    with torch.no_grad():
        probs = model(x).softmax(-1)
    return {"history": history, "probs": probs}


def prog_pruning(torch):
    """Magnitude pruning: prune.l1_unstructured and prune.ln_structured on layers,
    prune.global_unstructured across them, fine-tuning with the masks applied by forward
    pre-hooks, sparsity reports, prune.remove to make it permanent."""
    nn = torch.nn
    F = torch.nn.functional
    prune = importlib.import_module(f"{torch.__name__}.nn.utils.prune")  # import ... as prune
    torch.manual_seed(54)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 2))
    x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
    prune.l1_unstructured(model[0], name="weight", amount=0.3)
    prune.ln_structured(model[2], name="weight", amount=0.25, n=2, dim=0)
    prune.global_unstructured([(model[0], "weight"), (model[2], "weight"), (model[4], "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    sparsity = [float((m.weight == 0).sum()) / m.weight.nelement() for m in model[::2]]
    names = sorted(n for n, _ in model.named_parameters())
    buffers = sorted(n for n, _ in model.named_buffers())
    for m in model[::2]:
        prune.remove(m, "weight")
    return {"losses": losses, "sparsity": sparsity, "names": names, "buffers": buffers,
            "after": sorted(n for n, _ in model.named_parameters()),
            "w": model[2].weight[:3], "pruned": prune.is_pruned(model)}


def prog_variational(torch):
    """Variational inference for a mixture: a MixtureSameFamily target (Categorical mixing,
    Independent Normal components), a TransformedDistribution variational family (a standard
    Normal through learned affine and Tanh transforms), the ELBO by rsample, entropy by
    sampling, and a LowRankMultivariateNormal log-density."""
    D = torch.distributions
    T = torch.distributions.transforms
    torch.manual_seed(55)
    mix = D.Categorical(torch.tensor([0.3, 0.7]))
    comp = D.Independent(D.Normal(torch.tensor([[-0.5, 0.2], [0.4, -0.1]]),
                                  torch.tensor([[0.2, 0.3], [0.25, 0.2]])), 1)
    target = D.MixtureSameFamily(mix, comp)
    loc = torch.zeros(2, requires_grad=True)
    log_scale = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([loc, log_scale], lr=0.05)
    history = []
    for _ in range(10):
        base = D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1)
        q = D.TransformedDistribution(base, [T.AffineTransform(loc, log_scale.exp()),
                                             T.TanhTransform(cache_size=1)])
        z = q.rsample((64,))
        elbo = (target.log_prob(z) - q.log_prob(z)).mean()
        optimizer.zero_grad()
        (-elbo).backward()
        optimizer.step()
        history.append(elbo.item())
    low_rank = D.LowRankMultivariateNormal(torch.zeros(3), torch.tensor([[1.0], [0.5], [0.0]]),
                                           torch.tensor([1.0, 2.0, 0.5]))
    point = torch.tensor([0.3, -0.2, 0.1])
    return {"history": history, "loc": loc, "scale": log_scale.exp(),
            "target_samples": target.sample((5,)), "target_mean": target.mean,
            "low_rank": low_rank.log_prob(point), "low_rank_entropy": low_rank.entropy(),
            "low_rank_sample": low_rank.rsample((2,))}


PROGRAMS = [prog_ensembling, prog_sn_gan, prog_stn, prog_vit, prog_pruning, prog_variational]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__[5:])
def test_program_prints_the_same(program):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = program(torch)
        got = program(dg)
    compare(got, expected)
