"""Generative models as their popular reimplementations write them, afresh (PR3, session 20): a
small Glow (ActNorm with data-dependent initialization flagged by a buffer, an invertible 1x1
convolution in LU form from torch.linalg.qr / lu_factor / lu_unpack, affine coupling with a
zero-initialized last convolution, squeeze by view / permute, bits per dimension with uniform
dequantization, and the exact inverse); a noise-conditional score network trained by denoising
score matching over geometric noise levels and sampled by annealed Langevin dynamics; sliced
score matching of an energy model (the score by autograd.grad with create_graph, projections
with Rademacher vectors); and variational inference with planar flows on a 2-d energy (the
invertibility constraint through softplus, log-determinants, RMSprop with a multiplicative
schedule). Tiny sizes; run by prog_s20_PR3_all.py.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state

logabs = lambda x: torch.log(torch.abs(x))  # noqa: E731 - as the Glow ports write it


class ActNorm(nn.Module):
    def __init__(self, in_channel, logdet=True):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, in_channel, 1, 1))
        self.scale = nn.Parameter(torch.ones(1, in_channel, 1, 1))
        self.register_buffer("initialized", torch.tensor(0, dtype=torch.uint8))
        self.logdet = logdet

    def initialize(self, input):
        with torch.no_grad():
            flatten = input.permute(1, 0, 2, 3).contiguous().view(input.shape[1], -1)
            mean = flatten.mean(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3)
            std = flatten.std(1).unsqueeze(1).unsqueeze(2).unsqueeze(3).permute(1, 0, 2, 3)
            self.loc.data.copy_(-mean)
            self.scale.data.copy_(1 / (std + 1e-6))

    def forward(self, input):
        _, _, height, width = input.shape
        if self.initialized.item() == 0:
            self.initialize(input)
            self.initialized.fill_(1)
        log_abs = logabs(self.scale)
        logdet = height * width * torch.sum(log_abs)
        return self.scale * (input + self.loc), logdet

    def reverse(self, output):
        return output / self.scale - self.loc


class InvConv2dLU(nn.Module):
    def __init__(self, in_channel):
        super().__init__()
        weight = torch.randn(in_channel, in_channel)
        q, _ = torch.linalg.qr(weight)
        w_p, w_l, w_u = torch.lu_unpack(*torch.linalg.lu_factor(q))
        w_s = torch.diag(w_u)
        w_u = torch.triu(w_u, 1)
        u_mask = torch.triu(torch.ones_like(w_u), 1)
        l_mask = u_mask.T
        self.register_buffer("w_p", w_p)
        self.register_buffer("u_mask", u_mask)
        self.register_buffer("l_mask", l_mask)
        self.register_buffer("s_sign", torch.sign(w_s))
        self.register_buffer("l_eye", torch.eye(l_mask.shape[0]))
        self.w_l = nn.Parameter(w_l)
        self.w_s = nn.Parameter(logabs(w_s))
        self.w_u = nn.Parameter(w_u)

    def calc_weight(self):
        weight = self.w_p @ (self.w_l * self.l_mask + self.l_eye) @ (
            (self.w_u * self.u_mask) + torch.diag(self.s_sign * torch.exp(self.w_s)))
        return weight.unsqueeze(2).unsqueeze(3)

    def forward(self, input):
        _, _, height, width = input.shape
        weight = self.calc_weight()
        out = F.conv2d(input, weight)
        logdet = height * width * torch.sum(self.w_s)
        return out, logdet

    def reverse(self, output):
        weight = self.calc_weight()
        return F.conv2d(output, weight.squeeze().inverse().unsqueeze(2).unsqueeze(3))


class ZeroConv2d(nn.Module):
    def __init__(self, in_channel, out_channel):
        super().__init__()
        self.conv = nn.Conv2d(in_channel, out_channel, 3, padding=0)
        self.conv.weight.data.zero_()
        self.conv.bias.data.zero_()
        self.scale = nn.Parameter(torch.zeros(1, out_channel, 1, 1))

    def forward(self, input):
        out = F.pad(input, [1, 1, 1, 1], value=1)
        out = self.conv(out)
        return out * torch.exp(self.scale * 3)


class AffineCoupling(nn.Module):
    def __init__(self, in_channel, filter_size=16):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channel // 2, filter_size, 3, padding=1),
                                 nn.ReLU(inplace=True), nn.Conv2d(filter_size, filter_size, 1),
                                 nn.ReLU(inplace=True), ZeroConv2d(filter_size, in_channel))
        self.net[0].weight.data.normal_(0, 0.05)
        self.net[0].bias.data.zero_()
        self.net[2].weight.data.normal_(0, 0.05)
        self.net[2].bias.data.zero_()

    def forward(self, input):
        in_a, in_b = input.chunk(2, 1)
        log_s, t = self.net(in_a).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        out_b = (in_b + t) * s
        logdet = torch.sum(torch.log(s).view(input.shape[0], -1), 1)
        return torch.cat([in_a, out_b], 1), logdet

    def reverse(self, output):
        out_a, out_b = output.chunk(2, 1)
        log_s, t = self.net(out_a).chunk(2, 1)
        s = torch.sigmoid(log_s + 2)
        return torch.cat([out_a, out_b / s - t], 1)


class FlowStep(nn.Module):
    def __init__(self, in_channel):
        super().__init__()
        self.actnorm = ActNorm(in_channel)
        self.invconv = InvConv2dLU(in_channel)
        self.coupling = AffineCoupling(in_channel)

    def forward(self, input):
        out, logdet = self.actnorm(input)
        out, det1 = self.invconv(out)
        out, det2 = self.coupling(out)
        return out, logdet + det1 + det2

    def reverse(self, output):
        return self.actnorm.reverse(self.invconv.reverse(self.coupling.reverse(output)))


def squeeze2d(x):
    b, c, h, w = x.shape
    x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.contiguous().view(b, c * 4, h // 2, w // 2)


def unsqueeze2d(x):
    b, c, h, w = x.shape
    x = x.view(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.contiguous().view(b, c // 4, h * 2, w * 2)


class TinyGlow(nn.Module):
    def __init__(self, in_channel=1, n_flow=3):
        super().__init__()
        self.flows = nn.ModuleList(FlowStep(in_channel * 4) for _ in range(n_flow))

    def forward(self, x):
        out = squeeze2d(x)
        logdet = 0
        for flow in self.flows:
            out, det = flow(out)
            logdet = logdet + det
        log_p = (-0.5 * math.log(2 * math.pi) - 0.5 * out ** 2).view(x.shape[0], -1).sum(1)
        return log_p, logdet, out

    def reverse(self, z):
        for flow in reversed(self.flows):
            z = flow.reverse(z)
        return unsqueeze2d(z)


def calc_loss(log_p, logdet, image_size, n_bins, n_channel=1):
    n_pixel = image_size * image_size * n_channel
    loss = -math.log(n_bins) * n_pixel + logdet + log_p
    return ((-loss / (math.log(2) * n_pixel)).mean(), (log_p / (math.log(2) * n_pixel)).mean(),
            (logdet / (math.log(2) * n_pixel)).mean())


def section_glow() -> None:
    n_bits, image_size = 5, 8
    n_bins = 2.0 ** n_bits
    data = (torch.rand(16, 1, image_size, image_size) * 255).floor()
    model = TinyGlow()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    put("glow.w_p", model.flows[0].invconv.w_p)
    put("glow.weight0", model.flows[0].invconv.calc_weight()[..., 0, 0])
    # data-dependent initialization on its own batch, as OpenAI's Glow (n_batch_init): on the
    # training batch itself the gradient of ActNorm's loc is zero up to rounding, and Adam
    # turns that noise into steps that differ between libraries
    with torch.no_grad():
        model(torch.rand(8, 1, image_size, image_size) - 0.5)
    record = []
    for step in range(6):
        image = data[(step % 2) * 8:(step % 2) * 8 + 8]
        image = torch.floor(image / 2 ** (8 - n_bits)) / n_bins - 0.5
        log_p, logdet, _ = model(image + torch.rand_like(image) / n_bins)
        logdet = logdet.mean()
        loss, log_p, log_det = calc_loss(log_p, logdet, image_size, n_bins)
        model.zero_grad()
        loss.backward()
        warmup_lr = 1e-3 * min(1, (step + 1) / 3)
        optimizer.param_groups[0]["lr"] = warmup_lr
        optimizer.step()
        record.append([loss.item(), log_p.item(), log_det.item()])
    put("glow.record", record)
    put("glow.initialized", [int(f.actnorm.initialized) for f in model.flows])
    put_state("glow.state", model)
    with torch.no_grad():
        x = data[:4] / 255 - 0.5
        _, _, z = model(x)
        put("glow.z", z[0, :, 0])
        put("glow.inverse_err", (model.reverse(z) - x).abs().max())
        put("glow.sample", model.reverse(0.7 * torch.randn(2, 4, 4, 4))[:, 0, :3])
        weight = model.flows[1].invconv.calc_weight()[..., 0, 0]
        put("glow.slogdet", torch.linalg.slogdet(weight))
        put("glow.w_s_sum", model.flows[1].invconv.w_s.sum())


class ScoreNet(nn.Module):
    def __init__(self, sigmas, hidden=32):
        super().__init__()
        self.register_buffer("sigmas", sigmas)
        self.embed = nn.Embedding(len(sigmas), hidden)
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x, labels):
        h = F.softplus(self.fc1(x) + self.embed(labels))
        h = F.softplus(self.fc2(h))
        return self.out(h) / self.sigmas[labels].view(x.shape[0], *([1] * len(x.shape[1:])))


def anneal_dsm_score_estimation(scorenet, samples, sigmas, labels=None, anneal_power=2.0):
    if labels is None:
        labels = torch.randint(0, len(sigmas), (samples.shape[0],), device=samples.device)
    used_sigmas = sigmas[labels].view(samples.shape[0], *([1] * len(samples.shape[1:])))
    noise = torch.randn_like(samples) * used_sigmas
    perturbed_samples = samples + noise
    target = -1 / (used_sigmas ** 2) * noise
    scores = scorenet(perturbed_samples, labels)
    target = target.view(target.shape[0], -1)
    scores = scores.view(scores.shape[0], -1)
    loss = 1 / 2.0 * ((scores - target) ** 2).sum(dim=-1) * used_sigmas.squeeze() ** anneal_power
    return loss.mean(dim=0)


@torch.no_grad()
def anneal_langevin_dynamics(x_mod, scorenet, sigmas, n_steps_each=5, step_lr=0.01):
    images = []
    for c, sigma in enumerate(sigmas):
        labels = torch.ones(x_mod.shape[0], dtype=torch.long) * c
        step_size = step_lr * (sigma / sigmas[-1]) ** 2
        for _ in range(n_steps_each):
            noise = torch.randn_like(x_mod) * torch.sqrt(step_size * 2)
            grad = scorenet(x_mod, labels)
            x_mod = x_mod + step_size * grad + noise
        images.append(x_mod.clone())
    return images


def section_ncsn() -> None:
    centres = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
    data = centres[torch.randint(0, 3, (96,))] + 0.2 * torch.randn(96, 2)
    sigmas = torch.tensor(np.exp(np.linspace(np.log(2.0), np.log(0.05), 6))).float()
    put("ncsn.sigmas", sigmas)
    model = ScoreNet(sigmas)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _step in range(20):
        batch = data[torch.randint(0, 96, (32,))]
        loss = anneal_dsm_score_estimation(model, batch, model.sigmas)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("ncsn.losses", losses)
    put_state("ncsn.state", model)
    fixed = anneal_dsm_score_estimation(model, data[:16], sigmas,
                                        labels=torch.arange(16) % len(sigmas))
    put("ncsn.fixed_label_loss", fixed)
    samples = anneal_langevin_dynamics(torch.rand(8, 2) * 4 - 2, model, sigmas)
    put("ncsn.samples", samples[-1])
    put("ncsn.trajectory_means", torch.stack([s.mean(0) for s in samples]))


class Energy(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.ELU(), nn.Linear(hidden, hidden),
                                 nn.ELU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def sliced_score_matching(energy_net, samples, n_particles=2):
    dup_samples = samples.unsqueeze(0).expand(n_particles, *samples.shape).contiguous().view(
        -1, *samples.shape[1:])
    dup_samples.requires_grad_(True)
    vectors = torch.randn_like(dup_samples)
    vectors = vectors.sign()  # Rademacher projections
    logp = -energy_net(dup_samples).sum()
    grad1 = torch.autograd.grad(logp, dup_samples, create_graph=True)[0]
    gradv = torch.sum(grad1 * vectors)
    loss1 = torch.sum(grad1 * vectors, dim=-1) ** 2 * 0.5
    grad2 = torch.autograd.grad(gradv, dup_samples, create_graph=True)[0]
    loss2 = torch.sum(vectors * grad2, dim=-1)
    loss = (loss1 + loss2).view(n_particles, -1).mean(dim=0)
    return loss.mean(), loss1.mean(), loss2.mean()


def section_ssm() -> None:
    data = torch.randn(64, 2) @ torch.tensor([[1.0, 0.6], [0.0, 0.5]]) + 1.0
    model = Energy()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    record = []
    for step in range(15):
        loss, loss1, loss2 = sliced_score_matching(model, data[(step % 4) * 16:][:16])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record.append([loss.item(), loss1.item(), loss2.item()])
    put("ssm.record", record)
    put_state("ssm.state", model)
    x = data[:5].clone().requires_grad_(True)
    score = torch.autograd.grad(-model(x).sum(), x)[0]
    put("ssm.score", score)
    # the exact trace of the score's Jacobian, from torch.func, beside the sliced estimate
    jac = torch.func.vmap(torch.func.jacrev(lambda v: -torch.func.grad(
        lambda u: model(u))(v)))(data[:5])
    put("ssm.jacobian_trace", jac.diagonal(dim1=-2, dim2=-1).sum(-1))


def energy_u1(z):
    z1, z2 = z[:, 0], z[:, 1]
    norm = torch.sqrt(z1 ** 2 + z2 ** 2)
    exp1 = torch.exp(-0.5 * ((z1 - 2) / 0.6) ** 2)
    exp2 = torch.exp(-0.5 * ((z1 + 2) / 0.6) ** 2)
    return 0.5 * ((norm - 2) / 0.4) ** 2 - torch.log(exp1 + exp2 + 1e-8)


class PlanarFlow(nn.Module):
    def __init__(self, dim=2):
        super().__init__()
        self.u = nn.Parameter(torch.randn(1, dim) * 0.1)
        self.w = nn.Parameter(torch.randn(1, dim) * 0.1)
        self.b = nn.Parameter(torch.randn(1) * 0.1)

    def u_hat(self):
        wtu = (self.w @ self.u.t()).squeeze()
        m_wtu = -1 + F.softplus(wtu)
        return self.u + (m_wtu - wtu) * self.w / (self.w.norm() ** 2)

    def forward(self, z):
        u_hat = self.u_hat()
        lin = z @ self.w.t() + self.b
        f_z = z + u_hat * torch.tanh(lin)
        psi = (1 - torch.tanh(lin) ** 2) * self.w
        log_det = torch.log(torch.abs(1 + psi @ u_hat.t()) + 1e-8).squeeze(-1)
        return f_z, log_det


def section_planar() -> None:
    # (float64: the energy's log of two narrow Gaussians' sum leaves float32 gradients ~2e-6
    # relative apart between libraries, and RMSprop with momentum grows that past 1e-5 in three
    # steps; measured, session 20)
    torch.set_default_dtype(torch.float64)
    try:
        planar_train()
    finally:
        torch.set_default_dtype(torch.float32)


def planar_train() -> None:
    flows = nn.ModuleList(PlanarFlow() for _ in range(6))
    base = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    optimizer = torch.optim.RMSprop(flows.parameters(), lr=1e-2, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.MultiplicativeLR(optimizer, lambda epoch: 0.95)
    losses = []
    for _step in range(25):
        z0 = base.sample((64,))
        z, sum_log_det = z0, torch.zeros(64)
        for flow in flows:
            z, log_det = flow(z)
            sum_log_det = sum_log_det + log_det
        loss = (base.log_prob(z0) - sum_log_det + energy_u1(z)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    put("planar.losses", losses)
    put("planar.lr", scheduler.get_last_lr())
    put_state("planar.state", flows)
    put("planar.wtu", [(f.w @ f.u_hat().t()).squeeze().detach() for f in flows])
    put("planar.sample", z[:6].detach())


SECTIONS = {"glow": section_glow, "ncsn": section_ncsn, "ssm": section_ssm,
            "planar": section_planar}
