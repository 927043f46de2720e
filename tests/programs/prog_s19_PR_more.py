"""Still more educational code, written afresh (PR2, session 19): an S4D layer ("The Annotated
S4" / its diagonal variant: complex parameters through view_as_complex, a Vandermonde kernel,
convolution by rfft / irfft); graph networks from scratch (GCN over a sparse COO adjacency with
symmetric normalisation, GAT with edge scores, a scatter max for stability and index_add
aggregation); MIT efficient-ML labs' model compression (fine-grained magnitude pruning by
kthvalue with masks kept by a forward pre-hook, channel pruning by importance, k-means weight
sharing, linear int8 quantisation with int32 accumulation, fake quantisation with a
straight-through estimator); Spinning Up-style policy gradients (discounted cumsums, GAE, PPO's
clipped objective with Categorical, SAC's tanh-squashed Gaussian with its log-prob
correction); and a VAE with torch.distributions and the IWAE bound. Tiny sizes; run by
prog_s19_PR_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.distributions import Bernoulli, Categorical, Independent, Normal, kl_divergence


class S4DKernel(nn.Module):
    def __init__(self, d_model, N=8, dt_min=0.001, dt_max=0.1):
        super().__init__()
        H = d_model
        log_dt = torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        C = torch.randn(H, N // 2, dtype=torch.cfloat)
        self.C = nn.Parameter(torch.view_as_real(C))
        self.log_dt = nn.Parameter(log_dt)
        self.log_A_real = nn.Parameter(torch.log(0.5 * torch.ones(H, N // 2)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(N // 2).float().repeat(H, 1))

    def forward(self, L):
        dt = torch.exp(self.log_dt)
        C = torch.view_as_complex(self.C)
        A = -torch.exp(self.log_A_real) + 1j * self.A_imag
        dtA = A * dt.unsqueeze(-1)
        K = dtA.unsqueeze(-1) * torch.arange(L)
        C = C * (torch.exp(dtA) - 1.0) / A
        return 2 * torch.einsum("hn, hnl -> hl", C, torch.exp(K)).real


class S4D(nn.Module):
    def __init__(self, d_model, d_state=8):
        super().__init__()
        self.D = nn.Parameter(torch.randn(d_model))
        self.kernel = S4DKernel(d_model, N=d_state)
        self.output_linear = nn.Sequential(nn.Conv1d(d_model, 2 * d_model, kernel_size=1),
                                           nn.GLU(dim=-2))

    def forward(self, u):  # u: [B, H, L]
        L = u.size(-1)
        k = self.kernel(L=L)
        k_f = torch.fft.rfft(k, n=2 * L)
        u_f = torch.fft.rfft(u, n=2 * L)
        y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
        y = y + u * self.D.unsqueeze(-1)
        return self.output_linear(F.gelu(y))


def section_s4d() -> None:
    model = S4D(4)
    u = torch.randn(3, 4, 16)
    target = torch.randn(3, 4, 16)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    losses = []
    for _ in range(4):
        loss = F.mse_loss(model(u), target)
        loss.backward()
        put(f"s4d.grad_C.{len(losses)}", model.kernel.C.grad)
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("s4d.losses", losses)
    put_state("s4d.state", model)
    k = model.kernel(L=16).detach()
    direct = torch.stack([torch.stack([(k[h, :t + 1].flip(0) * u[0, h, :t + 1]).sum()
                                       for t in range(16)]) for h in range(4)])
    fft_way = torch.fft.irfft(torch.fft.rfft(k, n=32) * torch.fft.rfft(u[0], n=32), n=32)[:, :16]
    put("s4d.conv_check", (direct - fft_way).abs().max())


def normalized_adjacency(edge_index, n):
    loops = torch.arange(n)
    row = torch.cat([edge_index[0], loops])
    col = torch.cat([edge_index[1], loops])
    deg = torch.zeros(n).index_add_(0, row, torch.ones(row.numel()))
    norm = deg.pow(-0.5)[row] * deg.pow(-0.5)[col]
    return torch.sparse_coo_tensor(torch.stack([row, col]), norm, (n, n)).coalesce()


class GCN(nn.Module):
    def __init__(self, d_in, d_hidden, n_classes):
        super().__init__()
        self.l1 = nn.Linear(d_in, d_hidden)
        self.l2 = nn.Linear(d_hidden, n_classes)

    def forward(self, x, adj):
        h = F.relu(torch.sparse.mm(adj, self.l1(x)))
        h = F.dropout(h, 0.5, self.training)
        return torch.sparse.mm(adj, self.l2(h))


class GATLayer(nn.Module):
    def __init__(self, d_in, d_out, heads):
        super().__init__()
        self.heads, self.d_out = heads, d_out
        self.W = nn.Linear(d_in, heads * d_out, bias=False)
        self.a_src = nn.Parameter(torch.randn(heads, d_out) * 0.3)
        self.a_dst = nn.Parameter(torch.randn(heads, d_out) * 0.3)

    def forward(self, x, edge_index):
        n = x.shape[0]
        src, dst = edge_index
        h = self.W(x).view(n, self.heads, self.d_out)
        e = F.leaky_relu((h * self.a_src).sum(-1)[src] + (h * self.a_dst).sum(-1)[dst], 0.2)
        e_max = torch.full((n, self.heads), -1e9).scatter_reduce(
            0, dst[:, None].expand(-1, self.heads), e, reduce="amax", include_self=True)
        e = torch.exp(e - e_max[dst])
        denom = torch.zeros(n, self.heads).index_add_(0, dst, e)
        alpha = e / denom[dst]
        out = torch.zeros(n, self.heads, self.d_out).index_add_(0, dst, alpha[..., None] * h[src])
        return out.mean(1), alpha


def section_gnn() -> None:
    n = 10
    src = torch.randint(0, n, (24,))
    dst = torch.randint(0, n, (24,))
    keep = src != dst
    edge_index = torch.stack([torch.cat([src[keep], dst[keep]]), torch.cat([dst[keep],
                                                                              src[keep]])])
    edge_index = torch.unique(edge_index, dim=1)
    put("gnn.edges", edge_index)
    x = torch.randn(n, 5)
    y = torch.randint(0, 3, (n,))
    train_mask = torch.arange(n) < 7
    adj = normalized_adjacency(edge_index, n)
    put("gnn.adj", adj.to_dense())
    model = GCN(5, 8, 3)
    opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=5e-4)
    losses = []
    for _ in range(5):
        model.train()
        out = model(x, adj)
        loss = F.cross_entropy(out[train_mask], y[train_mask])
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("gnn.gcn_losses", losses)
    put_state("gnn.gcn_state", model)
    model.eval()
    put("gnn.gcn_eval", model(x, adj).argmax(1))
    gat = GATLayer(5, 4, heads=2)
    loops = torch.arange(n).repeat(2, 1)
    ei = torch.cat([edge_index, loops], 1)
    out, alpha = gat(x, ei)
    (out.pow(2).sum()).backward()
    put("gnn.gat_out", out)
    put("gnn.gat_alpha_sums", torch.zeros(n, 2).index_add_(0, ei[1], alpha))
    put("gnn.gat_grads", [gat.W.weight.grad, gat.a_src.grad, gat.a_dst.grad])


def fine_grained_prune(tensor, sparsity):
    sparsity = min(max(0.0, sparsity), 1.0)
    num_elements = tensor.numel()
    num_zeros = round(num_elements * sparsity)
    importance = tensor.abs()
    threshold = importance.view(-1).kthvalue(num_zeros).values
    mask = torch.gt(importance, threshold)
    tensor.mul_(mask)
    return mask


def k_means_quantize(weight, bitwidth=2, iters=6):
    n_clusters = 2 ** bitwidth
    flat = weight.detach().view(-1, 1)
    centroids = torch.linspace(flat.min().item(), flat.max().item(), n_clusters)[:, None]
    for _ in range(iters):
        labels = torch.cdist(flat, centroids).argmin(1)
        sums = torch.zeros(n_clusters).scatter_add_(0, labels, flat[:, 0])
        counts = torch.bincount(labels, minlength=n_clusters).float()
        centroids = torch.where(counts > 0, sums / counts.clamp(min=1), centroids[:, 0])[:, None]
    return centroids[:, 0], labels.view_as(weight)


def get_quantized_range(bitwidth):
    return -(1 << (bitwidth - 1)), (1 << (bitwidth - 1)) - 1


def linear_quantize(fp_tensor, bitwidth, scale, zero_point, dtype=torch.int8):
    rounded = torch.round(fp_tensor / scale)
    shifted = rounded + zero_point
    qmin, qmax = get_quantized_range(bitwidth)
    return shifted.clamp_(qmin, qmax).to(dtype)


def get_scale_and_zero_point(fp_tensor, bitwidth=8):
    qmin, qmax = get_quantized_range(bitwidth)
    fp_max, fp_min = fp_tensor.max().item(), fp_tensor.min().item()
    scale = (fp_max - fp_min) / (qmax - qmin)
    zero_point = round(qmin - fp_min / scale)
    zero_point = max(qmin, min(qmax, zero_point))
    return scale, int(zero_point)


class FakeQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale, bits):
        qmin, qmax = get_quantized_range(bits)
        ctx.save_for_backward(x)
        ctx.bounds = (qmin * scale, qmax * scale)
        return torch.clamp(torch.round(x / scale), qmin, qmax) * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        return g * ((x >= low) & (x <= high)).to(g.dtype), None, None


def section_effml() -> None:
    model = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 8, 3),
                          nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 4))
    x = torch.randn(6, 2, 6, 6)
    y = torch.randint(0, 4, (6,))
    masks = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() > 1:
                masks[name] = fine_grained_prune(param, 0.6)
    put("effml.sparsity", [1 - m.float().mean() for m in masks.values()])
    params = dict(model.named_parameters())

    def apply_masks(module, inputs):
        with torch.no_grad():
            for name, mask in masks.items():
                params[name].mul_(mask)

    handle = model.register_forward_pre_hook(apply_masks)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(3):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    with torch.no_grad():
        model(x)  # (the pre-hook masks the last step's update too)
    handle.remove()
    put("effml.losses", losses)
    put("effml.zeros_kept", [(params[n] == 0).sum() for n in masks])
    # channel pruning: keep the output channels of conv0 with the largest norms
    conv0, conv1 = model[0], model[2]
    importance = conv0.weight.detach().norm(p=2, dim=(1, 2, 3))
    keep = torch.argsort(importance, descending=True)[:4].sort().values
    pruned0 = nn.Conv2d(2, 4, 3, padding=1)
    pruned1 = nn.Conv2d(4, 8, 3)
    with torch.no_grad():
        pruned0.weight.copy_(conv0.weight[keep])
        pruned0.bias.copy_(conv0.bias[keep])
        pruned1.weight.copy_(torch.index_select(conv1.weight, 1, keep))
        pruned1.bias.copy_(conv1.bias)
    put("effml.keep", keep)
    put("effml.pruned_out", nn.Sequential(pruned0, nn.ReLU(), pruned1)(x[:2]))
    # k-means weight sharing
    centroids, labels = k_means_quantize(model[5].weight, bitwidth=2)
    put("effml.kmeans", [centroids, labels])
    put("effml.kmeans_err", (centroids[labels] - model[5].weight).pow(2).mean())
    # linear quantisation: int8 weights and inputs, int32 accumulation
    w = model[5].weight.detach()
    feats = torch.relu(torch.randn(5, 128))
    w_scale, _ = get_scale_and_zero_point(w, 8)
    w_scale = w.abs().max().item() / 127
    qw = linear_quantize(w, 8, w_scale, 0)
    x_scale, x_zero = get_scale_and_zero_point(feats, 8)
    qx = linear_quantize(feats, 8, x_scale, x_zero)
    acc = torch.matmul(qx.to(torch.int32) - x_zero, qw.to(torch.int32).t())
    out_q = acc.float() * (x_scale * w_scale) + model[5].bias.detach()
    put("effml.qw", qw)
    put("effml.qx", [qx, x_zero])
    put("effml.acc", acc)
    put("effml.int_linear", out_q)
    put("effml.quant_err", (out_q - F.linear(feats, w, model[5].bias.detach())).abs().max())
    # quantisation-aware training with a straight-through estimator
    layer = nn.Linear(6, 3)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    xs = torch.randn(8, 6) * 2
    qat = []
    for _ in range(3):
        wq = FakeQuant.apply(layer.weight, 0.05, 4)
        out = F.linear(FakeQuant.apply(xs, 0.1, 8), wq, layer.bias)
        loss = out.pow(2).mean()
        loss.backward()
        qat.append([loss.item(), layer.weight.grad.abs().sum().item()])
        opt.step()
        opt.zero_grad()
    put("effml.qat", qat)
    put_state("effml.qat_layer", layer)


def discount_cumsum(x, discount):
    out = torch.zeros_like(x)
    running = 0.0
    for t in reversed(range(x.shape[0])):
        running = x[t] + discount * running
        out[t] = running
    return out


def section_rl() -> None:
    pi = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    v = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    obs = torch.randn(12, 4)
    with torch.no_grad():
        dist = Categorical(logits=pi(obs))
        act = dist.sample()
        logp_old = dist.log_prob(act)
        vals = v(obs).squeeze(-1)
    rew = torch.randn(12)
    gamma, lam = 0.99, 0.95
    vals_ext = torch.cat([vals, torch.zeros(1)])
    deltas = rew + gamma * vals_ext[1:] - vals_ext[:-1]
    adv = discount_cumsum(deltas, gamma * lam)
    ret = discount_cumsum(rew, gamma)
    adv = (adv - adv.mean()) / adv.std()
    put("rl.batch", [act, logp_old, adv, ret])
    pi_opt = torch.optim.Adam(pi.parameters(), lr=3e-3)
    v_opt = torch.optim.Adam(v.parameters(), lr=1e-2)
    clip_ratio = 0.2
    record = []
    for _ in range(4):
        dist = Categorical(logits=pi(obs))
        logp = dist.log_prob(act)
        ratio = torch.exp(logp - logp_old)
        clip_adv = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio) * adv
        loss_pi = -(torch.min(ratio * adv, clip_adv)).mean()
        approx_kl = (logp_old - logp).mean().item()
        ent = dist.entropy().mean().item()
        clipped = ratio.gt(1 + clip_ratio) | ratio.lt(1 - clip_ratio)
        clipfrac = torch.as_tensor(clipped, dtype=torch.float32).mean().item()
        pi_opt.zero_grad()
        loss_pi.backward()
        pi_opt.step()
        loss_v = ((v(obs).squeeze(-1) - ret) ** 2).mean()
        v_opt.zero_grad()
        loss_v.backward()
        v_opt.step()
        record.append([loss_pi.item(), loss_v.item(), approx_kl, ent, clipfrac])
    put("rl.ppo", record)
    put_state("rl.pi", pi)
    # SAC's squashed Gaussian actor and its entropy-regularised loss against twin critics
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU())
    mu_layer, log_std_layer = nn.Linear(16, 2), nn.Linear(16, 2)
    q1, q2 = nn.Linear(6, 1), nn.Linear(6, 1)
    out = net(obs)
    mu = mu_layer(out)
    log_std = torch.clamp(log_std_layer(out), -20, 2)
    pi_distribution = Normal(mu, torch.exp(log_std))
    pi_action = pi_distribution.rsample()
    logp_pi = pi_distribution.log_prob(pi_action).sum(axis=-1)
    logp_pi -= (2 * (math.log(2) - pi_action - F.softplus(-2 * pi_action))).sum(axis=1)
    pi_action = 2.0 * torch.tanh(pi_action)
    qa = torch.cat([obs, pi_action], -1)
    q_pi = torch.min(q1(qa), q2(qa)).squeeze(-1)
    loss_sac = (0.2 * logp_pi - q_pi).mean()
    loss_sac.backward()
    put("rl.sac", [pi_action, logp_pi, loss_sac])
    put("rl.sac_grads", [mu_layer.weight.grad, log_std_layer.weight.grad, net[0].weight.grad])
    # TD3's target policy smoothing
    noise = torch.clamp(torch.randn(12, 2) * 0.2, -0.5, 0.5)
    a2 = torch.clamp(torch.tanh(mu.detach()) + noise, -1, 1)
    put("rl.td3_target", a2)


class VAE(nn.Module):
    def __init__(self, d=12, z=2, h=16):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 2 * z))
        self.dec = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, d))

    def posterior(self, x):
        mu, log_sigma = self.enc(x).chunk(2, -1)
        return Independent(Normal(mu, log_sigma.exp()), 1)

    def likelihood(self, z):
        return Independent(Bernoulli(logits=self.dec(z)), 1)


def section_vae() -> None:
    model = VAE()
    x = (torch.rand(10, 12) > 0.5).float()
    prior = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    record = []
    for _ in range(4):
        q = model.posterior(x)
        z = q.rsample()
        rec = model.likelihood(z).log_prob(x)
        kl = kl_divergence(q, prior)
        elbo = (rec - kl).mean()
        (-elbo).backward()
        opt.step()
        opt.zero_grad()
        record.append([elbo.item(), kl.mean().item()])
    put("vae.record", record)
    put_state("vae.state", model)
    with torch.no_grad():
        q = model.posterior(x)
        k = 5
        zs = q.rsample((k,))
        log_w = model.likelihood(zs).log_prob(x) + prior.log_prob(zs) - q.log_prob(zs)
        iwae = (torch.logsumexp(log_w, 0) - math.log(k)).mean()
        elbo = log_w.mean()
    put("vae.iwae", [iwae, elbo])
    put("vae.shapes", [*q.batch_shape, *q.event_shape, *zs.shape])
    put("vae.entropy", q.entropy())


SECTIONS = {"s4d": section_s4d, "gnn": section_gnn, "effml": section_effml, "rl": section_rl,
            "vae": section_vae}
