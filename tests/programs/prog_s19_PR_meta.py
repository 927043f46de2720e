"""Second-order autograd as educational code writes it, afresh (PR2, session 19): MAML over a
functional conv net (F.conv2d, F.batch_norm in training mode without running statistics,
F.max_pool2d, F.linear; inner steps by autograd.grad with create_graph=True, the outer loss
backward through them; the first-order variant); WGAN-GP's gradient penalty on a critic with
InstanceNorm2d and LeakyReLU (interpolates, grad_outputs of ones, norms per sample) and an R1
penalty; PyHessian-style Hessian-vector products with power iteration for the top eigenvalue and
Hutchinson's trace estimate with Rademacher vectors; and a double backward through an LSTM
(a gradient penalty on its input). Tiny sizes; run by prog_s19_PR_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def conv_block_params(c_in, c_out):
    w = torch.empty(c_out, c_in, 3, 3)
    nn.init.kaiming_normal_(w)
    # (no conv bias: batch norm removes a per-channel constant, so its gradient is zero up to
    # rounding, and Adam turns that noise into steps that differ between libraries)
    return [w.requires_grad_(), torch.ones(c_out, requires_grad=True),
            torch.zeros(c_out, requires_grad=True)]


def functional_forward(x, params):
    for i in range(2):
        w, gamma, beta = params[3 * i:3 * i + 3]
        x = F.conv2d(x, w, padding=1)
        x = F.batch_norm(x, None, None, gamma, beta, training=True)
        x = F.max_pool2d(F.relu(x), 2)
    return F.linear(x.flatten(1), params[6], params[7])


def section_maml() -> None:
    params = conv_block_params(1, 4) + conv_block_params(4, 4)
    head = torch.empty(3, 4 * 2 * 2)
    nn.init.xavier_uniform_(head)
    params += [head.requires_grad_(), torch.zeros(3, requires_grad=True)]
    meta_opt = torch.optim.Adam(params, lr=1e-2)
    tasks = [(torch.randn(6, 1, 8, 8), torch.randint(0, 3, (6,)), torch.randn(6, 1, 8, 8),
              torch.randint(0, 3, (6,))) for _ in range(2)]
    record = []
    for step in range(3):
        first_order = step == 2
        meta_opt.zero_grad()
        outer_total = 0.0
        for xs, ys, xq, yq in tasks:
            fast = params
            for _ in range(2):
                inner = F.cross_entropy(functional_forward(xs, fast), ys)
                grads = torch.autograd.grad(inner, fast, create_graph=not first_order)
                fast = [p - 0.4 * g for p, g in zip(fast, grads)]
            outer = F.cross_entropy(functional_forward(xq, fast), yq)
            outer.backward()
            outer_total += outer.item()
        record.append(outer_total / 2)
        put(f"maml.grads.{step}", [params[0].grad, params[1].grad, params[6].grad])
        meta_opt.step()
    put("maml.outer", record)
    put("maml.params", params)


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.disc = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(4, 8, 4, 2, 1, bias=False),
                                  nn.InstanceNorm2d(8, affine=True), nn.LeakyReLU(0.2),
                                  nn.Conv2d(8, 1, 2, 1, 0))

    def forward(self, x):
        return self.disc(x)


def gradient_penalty(critic, real, fake):
    batch_size, c, h, w = real.shape
    alpha = torch.rand((batch_size, 1, 1, 1)).repeat(1, c, h, w)
    interpolated_images = real * alpha + fake * (1 - alpha)
    mixed_scores = critic(interpolated_images)
    gradient = torch.autograd.grad(inputs=interpolated_images, outputs=mixed_scores,
                                   grad_outputs=torch.ones_like(mixed_scores),
                                   create_graph=True, retain_graph=True)[0]
    gradient = gradient.view(gradient.shape[0], -1)
    gradient_norm = gradient.norm(2, dim=1)
    return torch.mean((gradient_norm - 1) ** 2)


def section_wgan_gp() -> None:
    critic = Critic()
    gen = nn.Sequential(nn.Linear(4, 64), nn.Tanh())
    opt_critic = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_gen = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.0, 0.9))
    real = torch.rand(4, 1, 8, 8) * 2 - 1
    record = []
    for _ in range(2):
        for _ in range(2):
            noise = torch.randn(4, 4)
            fake = gen(noise).view(4, 1, 8, 8)
            critic_real = critic(real).reshape(-1)
            critic_fake = critic(fake).reshape(-1)
            gp = gradient_penalty(critic, real, fake)
            loss_critic = -(torch.mean(critic_real) - torch.mean(critic_fake)) + 10 * gp
            critic.zero_grad()
            loss_critic.backward(retain_graph=True)
            opt_critic.step()
        gen_fake = critic(fake).reshape(-1)
        loss_gen = -torch.mean(gen_fake)
        gen.zero_grad()
        loss_gen.backward()
        opt_gen.step()
        record.append([loss_critic.item(), gp.item(), loss_gen.item()])
    put("wgan_gp.record", record)
    put_state("wgan_gp.critic", critic)
    put_state("wgan_gp.gen", gen)
    # R1: the squared gradient norm of the critic at real data
    real_r1 = real.detach().requires_grad_(True)
    out = critic(real_r1)
    (grad_real,) = torch.autograd.grad(outputs=out.sum(), inputs=real_r1, create_graph=True)
    r1 = grad_real.pow(2).reshape(grad_real.shape[0], -1).sum(1).mean()
    critic.zero_grad()
    (5.0 * r1).backward()
    put("wgan_gp.r1", [r1, critic.disc[0].weight.grad, critic.disc[3].weight.grad])


def hessian_vector_product(loss, params, v):
    grads = torch.autograd.grad(loss, params, create_graph=True)
    return torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)


def section_hessian() -> None:
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(x), y)
    # power iteration for the top eigenvalue
    v = [torch.randn_like(p) for p in params]
    norm = torch.sqrt(sum((vi * vi).sum() for vi in v))
    v = [vi / norm for vi in v]
    eigenvalues = []
    for _ in range(6):
        hv = hessian_vector_product(loss, params, v)
        eigenvalue = sum((h * vi).sum() for h, vi in zip(hv, v)).item()
        norm = torch.sqrt(sum((h * h).sum() for h in hv))
        v = [h / (norm + 1e-6) for h in hv]
        eigenvalues.append(eigenvalue)
    put("hessian.eigenvalues", eigenvalues)
    # Hutchinson's trace with Rademacher vectors
    traces = []
    for _ in range(4):
        z = [torch.randint_like(p, high=2) * 2 - 1 for p in params]
        hz = hessian_vector_product(loss, params, z)
        traces.append(sum((h * zi).sum() for h, zi in zip(hz, z)).item())
    put("hessian.traces", traces)
    # the full Hessian of the last layer's bias by rows, symmetric
    bias = params[-1]
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), bias, create_graph=True)
    rows = [torch.autograd.grad(g[i], bias, retain_graph=True)[0] for i in range(3)]
    hessian = torch.stack(rows)
    put("hessian.bias_block", [hessian, (hessian - hessian.T).abs().max()])


def section_lstm_gp() -> None:
    lstm = nn.LSTM(3, 5, batch_first=True)
    head = nn.Linear(5, 1)
    opt = torch.optim.SGD([*lstm.parameters(), *head.parameters()], lr=0.05)
    x = torch.randn(4, 6, 3)
    target = torch.randn(4, 1)
    record = []
    for _ in range(3):
        xi = x.clone().requires_grad_(True)
        out, (h, c) = lstm(xi)
        pred = head(out[:, -1])
        loss = F.mse_loss(pred, target)
        (gx,) = torch.autograd.grad(pred.sum(), xi, create_graph=True)
        penalty = gx.pow(2).sum(dim=(1, 2)).mean()
        total = loss + 0.1 * penalty
        opt.zero_grad()
        total.backward()
        opt.step()
        record.append([loss.item(), penalty.item()])
    put("lstm_gp.record", record)
    put("lstm_gp.grads", [lstm.weight_hh_l0.grad, lstm.bias_ih_l0.grad, head.weight.grad])
    put_state("lstm_gp.state", lstm)


SECTIONS = {"maml": section_maml, "wgan_gp": section_wgan_gp, "hessian": section_hessian,
            "lstm_gp": section_lstm_gp}
