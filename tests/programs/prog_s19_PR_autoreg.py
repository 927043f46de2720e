"""Autoregressive and latent-variable models as course code writes them, afresh (PR2, session
19): MADE in the style of karpathy/pytorch-made (MaskedLinear with a registered mask buffer,
connectivity from seeded NumPy RandomState orderings, mask resampling across an ensemble,
checking the autoregressive property by gradients); a PixelCNN masked convolution (type A / B
masks multiplied into ``weight.data`` each forward) sampled pixel by pixel; and CS236's GMVAE
(a learned mixture-of-Gaussians prior, ``log_normal_mixture`` through logsumexp, the
reparameterised ELBO's KL by Monte Carlo). Tiny sizes; run by prog_s19_PR_all.py.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class MaskedLinear(nn.Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def set_mask(self, mask):
        self.mask.data.copy_(torch.from_numpy(mask.astype(np.uint8).T))

    def forward(self, input):
        return F.linear(input, self.mask * self.weight, self.bias)


class MADE(nn.Module):
    def __init__(self, nin, hidden_sizes, nout, num_masks=1, natural_ordering=False):
        super().__init__()
        self.nin, self.nout, self.hidden_sizes = nin, nout, hidden_sizes
        self.net = []
        hs = [nin] + hidden_sizes + [nout]
        for h0, h1 in zip(hs, hs[1:]):
            self.net.extend([MaskedLinear(h0, h1), nn.ReLU()])
        self.net.pop()
        self.net = nn.Sequential(*self.net)
        self.natural_ordering = natural_ordering
        self.num_masks = num_masks
        self.seed = 0
        self.m = {}
        self.update_masks()

    def update_masks(self):
        if self.m and self.num_masks == 1:
            return
        L = len(self.hidden_sizes)
        rng = np.random.RandomState(self.seed)
        self.seed = (self.seed + 1) % self.num_masks
        self.m[-1] = np.arange(self.nin) if self.natural_ordering else rng.permutation(self.nin)
        for l in range(L):
            self.m[l] = rng.randint(self.m[l - 1].min(), self.nin - 1, size=self.hidden_sizes[l])
        masks = [self.m[l - 1][:, None] <= self.m[l][None, :] for l in range(L)]
        masks.append(self.m[L - 1][:, None] < self.m[-1][None, :])
        if self.nout > self.nin:
            k = int(self.nout / self.nin)
            masks[-1] = np.concatenate([masks[-1]] * k, axis=1)
        layers = [l for l in self.net.modules() if isinstance(l, MaskedLinear)]
        for l, m in zip(layers, masks):
            l.set_mask(m)

    def forward(self, x):
        return self.net(x)


def section_made() -> None:
    D = 6
    model = MADE(D, [24, 24], D, num_masks=2)
    put("made.masks", [model.net[0].mask, model.net[4].mask])
    put("made.mask_dtype", str(model.net[0].mask.dtype))
    # the autoregressive property: output k depends only on inputs earlier in the ordering
    x = (torch.rand(1, D) > 0.5).float().requires_grad_()
    deps = []
    for k in range(D):
        xk = x.clone().detach().requires_grad_()
        model(xk)[0, k].backward()
        deps.append((xk.grad[0] != 0).float())
    deps = torch.stack(deps)
    order = torch.from_numpy(model.m[-1])
    allowed = (order[None, :] < order[:, None]).float()
    put("made.deps", [deps, ((deps - allowed).clamp(min=0)).sum()])
    data = (torch.rand(40, D) > 0.5).float()
    data[:, 1] = data[:, 0]  # a dependency to learn
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    losses = []
    for _ in range(6):
        model.update_masks()
        logits = model(data)
        loss = F.binary_cross_entropy_with_logits(logits, data, reduction="sum") / data.size(0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("made.losses", losses)
    put_state("made.state", model)
    # ensemble evaluation over the masks
    with torch.no_grad():
        ens = torch.zeros(8, D)
        for _ in range(model.num_masks):
            model.update_masks()
            ens += torch.sigmoid(model(data[:8]))
    put("made.ensemble", ens / model.num_masks)


class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assert mask_type in {"A", "B"}
        self.register_buffer("mask", self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
        self.mask[:, :, kH // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super().forward(x)


def section_pixelcnn() -> None:
    fm = 8
    net = nn.Sequential(
        MaskedConv2d("A", 1, fm, 5, 1, 2, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        nn.Conv2d(fm, 4, 1))
    data = torch.randint(0, 4, (6, 1, 6, 6))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        net.train()
        inp = data.float() / 3.0
        target = data[:, 0]
        loss = F.cross_entropy(net(inp), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("pixelcnn.losses", losses)
    put("pixelcnn.mask_a", net[0].mask[0, 0])
    put_state("pixelcnn.state", net)
    net.eval()
    sample = torch.zeros(2, 1, 6, 6)
    with torch.no_grad():
        for i in range(6):
            for j in range(6):
                out = net(sample)
                probs = F.softmax(out[:, :, i, j], dim=1)
                sample[:, :, i, j] = torch.multinomial(probs, 1).float() / 3.0
    put("pixelcnn.sample", sample)
    put("pixelcnn.weight_masked", (net[0].weight * (1 - net[0].mask)).abs().max())
    # causality: the logits at a pixel ignore that pixel and everything after it
    x = torch.rand(1, 1, 6, 6, requires_grad=True)
    net(x)[0, :, 3, 2].sum().backward()
    put("pixelcnn.receptive", (x.grad[0, 0] != 0).float())


def log_normal(x, m, v):
    return -0.5 * (torch.log(2 * torch.tensor(math.pi)) + torch.log(v)
                   + (x - m) ** 2 / v).sum(-1)


def log_mean_exp(x, dim):
    return torch.logsumexp(x, dim) - math.log(x.size(dim))


def log_normal_mixture(z, m, v):
    return log_mean_exp(log_normal(z.unsqueeze(1), m, v), dim=1)


def gaussian_parameters(h, dim=-1):
    m, h = torch.split(h, h.size(dim) // 2, dim=dim)
    v = F.softplus(h) + 1e-8
    return m, v


def sample_gaussian(m, v):
    return m + torch.sqrt(v) * torch.randn_like(m)


class GMVAE(nn.Module):
    def __init__(self, x_dim=10, z_dim=2, k=5):
        super().__init__()
        self.k, self.z_dim = k, z_dim
        self.enc = nn.Sequential(nn.Linear(x_dim, 16), nn.ELU(), nn.Linear(16, 2 * z_dim))
        self.dec = nn.Sequential(nn.Linear(z_dim, 16), nn.ELU(), nn.Linear(16, x_dim))
        self.z_pre = nn.Parameter(torch.randn(1, 2 * k, z_dim) / math.sqrt(k * z_dim))
        self.pi = nn.Parameter(torch.ones(k) / k, requires_grad=False)

    def negative_elbo_bound(self, x):
        prior = gaussian_parameters(self.z_pre, dim=1)
        qm, qv = gaussian_parameters(self.enc(x))
        z = sample_gaussian(qm, qv)
        logits = self.dec(z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        m_prior = prior[0].expand(x.size(0), *prior[0].shape[1:])
        v_prior = prior[1].expand(x.size(0), *prior[1].shape[1:])
        kl = log_normal(z, qm, qv) - log_normal_mixture(z, m_prior, v_prior)
        return (rec + kl).mean(), kl.mean(), rec.mean()


def section_gmvae() -> None:
    model = GMVAE()
    x = (torch.rand(12, 10) > 0.6).float()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    record = []
    for _ in range(5):
        nelbo, kl, rec = model.negative_elbo_bound(x)
        opt.zero_grad()
        nelbo.backward()
        opt.step()
        record.append([nelbo.item(), kl.item(), rec.item()])
    put("gmvae.record", record)
    put("gmvae.prior_grad", model.z_pre.grad)
    put("gmvae.pi_grad_none", model.pi.grad is None)
    put_state("gmvae.state", model)
    z = torch.randn(4, 2)
    m, v = gaussian_parameters(model.z_pre.detach(), dim=1)
    put("gmvae.mixture_logpdf", log_normal_mixture(z, m.expand(4, -1, -1), v.expand(4, -1, -1)))


SECTIONS = {"made": section_made, "pixelcnn": section_pixelcnn, "gmvae": section_gmvae}
