"""Model-family programs, written afresh in the style of widely copied code (PG, session 17):
RealNVP coupling flow by hand, a mixture density network, a fixed-step Neural ODE (RK4), WGAN-GP
(gradient penalty through autograd.grad with create_graph), metric learning with triplet and
contrastive losses, word2vec skip-gram with negative sampling on sparse embeddings, SAC's
squashed Gaussian actor and PPO's clipped objective with GAE. Tiny sizes, synthetic data, seeded.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s17_PG_harness import put, put_state


def section_realnvp() -> None:
    class CouplingLayer(nn.Module):
        def __init__(self, dim, hidden, mask):
            super().__init__()
            self.register_buffer("mask", mask)
            self.scale_net = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2),
                                           nn.Linear(hidden, dim), nn.Tanh())
            self.translate_net = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2),
                                               nn.Linear(hidden, dim))

        def forward(self, x):
            x_masked = x * self.mask
            s = self.scale_net(x_masked) * (1 - self.mask)
            t = self.translate_net(x_masked) * (1 - self.mask)
            y = x_masked + (1 - self.mask) * (x * torch.exp(s) + t)
            return y, s.sum(dim=1)

        def inverse(self, y):
            y_masked = y * self.mask
            s = self.scale_net(y_masked) * (1 - self.mask)
            t = self.translate_net(y_masked) * (1 - self.mask)
            return y_masked + (1 - self.mask) * ((y - t) * torch.exp(-s))

    class RealNVP(nn.Module):
        def __init__(self, dim=2, hidden=16, n_layers=4):
            super().__init__()
            masks = [torch.arange(dim) % 2 == (i % 2) for i in range(n_layers)]
            self.layers = nn.ModuleList([CouplingLayer(dim, hidden, m.float()) for m in masks])
            self.prior = torch.distributions.MultivariateNormal(torch.zeros(dim), torch.eye(dim))

        def forward(self, x):
            log_det = torch.zeros(x.shape[0])
            for layer in self.layers:
                x, ld = layer(x)
                log_det = log_det + ld
            return x, log_det

        def log_prob(self, x):
            z, log_det = self(x)
            return self.prior.log_prob(z) + log_det

        def sample(self, n):
            z = self.prior.sample((n,))
            for layer in reversed(self.layers):
                z = layer.inverse(z)
            return z

    # two moons, by hand
    n = 64
    theta = torch.rand(n) * math.pi
    upper = torch.stack([torch.cos(theta), torch.sin(theta)], 1)
    lower = torch.stack([1 - torch.cos(theta), 0.5 - torch.sin(theta)], 1)
    data = torch.cat([upper, lower]) + 0.05 * torch.randn(2 * n, 2)
    flow = RealNVP()
    optimizer = optim.Adam(flow.parameters(), lr=1e-3)
    losses = []
    for _step in range(8):
        optimizer.zero_grad()
        loss = -flow.log_prob(data).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("flow.losses", losses)
    put_state("flow.state", flow)
    with torch.no_grad():
        z, _ = flow(data[:5])
        back = data[:5].clone()
        for layer in reversed(flow.layers):
            z = layer.inverse(z)
        put("flow.roundtrip", (z - back).abs().max() < 1e-5)
        put("flow.samples", flow.sample(6))


def section_mdn() -> None:
    class MDN(nn.Module):
        def __init__(self, n_hidden, n_gaussians):
            super().__init__()
            self.z_h = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
            self.z_pi = nn.Linear(n_hidden, n_gaussians)
            self.z_sigma = nn.Linear(n_hidden, n_gaussians)
            self.z_mu = nn.Linear(n_hidden, n_gaussians)

        def forward(self, x):
            z_h = self.z_h(x)
            pi = F.softmax(self.z_pi(z_h), -1)
            sigma = torch.exp(self.z_sigma(z_h))
            mu = self.z_mu(z_h)
            return pi, sigma, mu

    def mdn_loss_fn(pi, sigma, mu, y):
        m = torch.distributions.Normal(loc=mu, scale=sigma)
        loss = torch.exp(m.log_prob(y))
        loss = torch.sum(loss * pi, dim=1)
        return torch.mean(-torch.log(loss))

    def mdn_loss_stable(pi, sigma, mu, y):
        log_component = torch.distributions.Normal(mu, sigma).log_prob(y) + torch.log(pi)
        return -torch.logsumexp(log_component, dim=1).mean()

    y_data = torch.linspace(-1, 1, 40).unsqueeze(1)
    x_data = torch.sin(4 * y_data) + 0.5 * y_data + 0.05 * torch.randn(40, 1)
    network = MDN(n_hidden=12, n_gaussians=3)
    optimizer = optim.Adam(network.parameters())
    losses = []
    for _epoch in range(10):
        pi, sigma, mu = network(x_data)
        loss = mdn_loss_fn(pi, sigma, mu, y_data)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([loss.item(), mdn_loss_stable(pi, sigma, mu, y_data).item()])
    put("mdn.losses", losses)
    pi, sigma, mu = network(x_data[:6])
    mixture = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(probs=pi),
                                                    torch.distributions.Normal(mu, sigma))
    put("mdn.mixture.log_prob", mixture.log_prob(y_data[:6].squeeze(1)))
    put("mdn.mixture.mean", mixture.mean)
    put("mdn.mixture.variance", mixture.variance)
    put("mdn.pick", torch.multinomial(pi, 1, replacement=True))
    put("mdn.sample", mixture.sample((2,)))


def section_neural_ode() -> None:
    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)
            self.nfe = 0

        def forward(self, t, y):
            self.nfe += 1
            return self.net(y ** 3)

    def rk4_step(func, t, dt, y):
        k1 = func(t, y)
        k2 = func(t + dt / 2, y + dt * k1 / 2)
        k3 = func(t + dt / 2, y + dt * k2 / 2)
        k4 = func(t + dt, y + dt * k3)
        return y + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6

    def odeint(func, y0, t):
        ys = [y0]
        y = y0
        for t0, t1 in zip(t[:-1], t[1:]):
            y = rk4_step(func, t0, t1 - t0, y)
            ys.append(y)
        return torch.stack(ys)

    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])

    class Lambda(nn.Module):
        def forward(self, t, y):
            return torch.mm(y ** 3, true_A)

    true_y0 = torch.tensor([[2., 0.]])
    t = torch.linspace(0., 1., 11)
    with torch.no_grad():
        true_y = odeint(Lambda(), true_y0, t)
    func = ODEFunc()
    optimizer = optim.RMSprop(func.parameters(), lr=1e-3)
    losses = []
    for _itr in range(5):
        optimizer.zero_grad()
        s = torch.from_numpy(__import__("numpy").array([0, 3, 5]))
        batch_y0 = true_y[s]
        batch_t = t[:4]
        batch_y = torch.stack([true_y[s + i] for i in range(4)], dim=0)
        pred_y = odeint(func, batch_y0, batch_t)
        loss = torch.mean(torch.abs(pred_y - batch_y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("ode.true_y", true_y)
    put("ode.losses", losses)
    put("ode.nfe", func.nfe)
    put_state("ode.func", func)


def section_wgan_gp() -> None:
    G = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    opt_G = optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_D = optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    lambda_gp = 10

    def compute_gradient_penalty(D, real_samples, fake_samples):
        alpha = torch.rand((real_samples.size(0), 1))
        interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
        d_interpolates = D(interpolates)
        fake = torch.ones(real_samples.shape[0], 1, requires_grad=False)
        gradients = torch.autograd.grad(outputs=d_interpolates, inputs=interpolates,
                                        grad_outputs=fake, create_graph=True,
                                        retain_graph=True, only_inputs=True)[0]
        gradients = gradients.view(gradients.size(0), -1)
        return ((gradients.norm(2, dim=1) - 1) ** 2).mean()

    real = torch.randn(16, 2) * 0.5 + torch.tensor([1.0, -1.0])
    d_losses, g_losses, gps = [], [], []
    for i in range(6):
        opt_D.zero_grad()
        z = torch.randn(16, 4)
        fake = G(z)
        gp = compute_gradient_penalty(D, real, fake.detach())
        d_loss = -torch.mean(D(real)) + torch.mean(D(fake.detach())) + lambda_gp * gp
        d_loss.backward()
        opt_D.step()
        d_losses.append(d_loss.item())
        gps.append(gp.item())
        if i % 2 == 1:
            opt_G.zero_grad()
            g_loss = -torch.mean(D(G(z)))
            g_loss.backward()
            opt_G.step()
            g_losses.append(g_loss.item())
    put("wgan.d", d_losses)
    put("wgan.g", g_losses)
    put("wgan.gp", gps)
    put_state("wgan.D", D)
    put_state("wgan.G", G)
    # weight clipping, the original WGAN's way
    for p in D.parameters():
        p.data.clamp_(-0.01, 0.01)
    put("wgan.clipped", D(real).mean())


def section_metric() -> None:
    class EmbeddingNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(8, 16), nn.PReLU(), nn.Linear(16, 4))

        def forward(self, x):
            return F.normalize(self.fc(x), p=2, dim=1)

    class ContrastiveLoss(nn.Module):
        def __init__(self, margin=1.0):
            super().__init__()
            self.margin = margin

        def forward(self, output1, output2, label):
            euclidean_distance = F.pairwise_distance(output1, output2, keepdim=True)
            return torch.mean((1 - label) * torch.pow(euclidean_distance, 2)
                              + label * torch.pow(torch.clamp(self.margin - euclidean_distance,
                                                              min=0.0), 2))

    net = EmbeddingNet()
    optimizer = optim.Adam(net.parameters(), lr=5e-3)
    anchors, positives, negatives = torch.randn(3, 10, 8).unbind(0)
    labels = (torch.arange(10) % 2).float().unsqueeze(1)
    triplet = nn.TripletMarginLoss(margin=0.5, p=2)
    triplet_swap = nn.TripletMarginLoss(margin=0.5, p=1, swap=True, reduction="sum")
    cosine_triplet = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.3)
    contrastive = ContrastiveLoss(margin=1.5)
    cosine_embedding = nn.CosineEmbeddingLoss(margin=0.1)
    losses = []
    for _step in range(5):
        optimizer.zero_grad()
        a, p, n = net(anchors), net(positives), net(negatives)
        parts = [triplet(a, p, n), triplet_swap(a, p, n) / 10, cosine_triplet(a, p, n),
                 contrastive(a, n, labels), cosine_embedding(a, p, labels.squeeze(1) * 2 - 1),
                 F.margin_ranking_loss(a[:, 0], p[:, 0], labels.squeeze(1) * 2 - 1, margin=0.2)]
        loss = sum(parts)
        loss.backward()
        optimizer.step()
        losses.append([part.item() for part in parts])
    put("metric.losses", losses)
    put_state("metric.net", net)
    with torch.no_grad():
        emb = net(anchors)
        distances = torch.cdist(emb, net(negatives))
        put("metric.cdist", distances)
        put("metric.hardest", distances.min(dim=1).indices)
        put("metric.pdist", F.pdist(emb))


def section_skipgram() -> None:
    text = ("the quick brown fox jumps over the lazy dog while the small cat watches the brown "
            "dog and the quick cat sleeps").split()
    vocab = sorted(set(text))
    word_to_ix = {w: i for i, w in enumerate(vocab)}
    counts = torch.zeros(len(vocab))
    for w in text:
        counts[word_to_ix[w]] += 1
    noise_dist = counts ** 0.75 / (counts ** 0.75).sum()
    pairs = []
    for i, w in enumerate(text):
        for j in range(max(0, i - 2), min(len(text), i + 3)):
            if j != i:
                pairs.append((word_to_ix[w], word_to_ix[text[j]]))
    centers = torch.tensor([c for c, _ in pairs])
    contexts = torch.tensor([o for _, o in pairs])

    class SkipGramNeg(nn.Module):
        def __init__(self, n_vocab, n_embed, noise_dist):
            super().__init__()
            self.n_vocab = n_vocab
            self.noise_dist = noise_dist
            self.in_embed = nn.Embedding(n_vocab, n_embed, sparse=True)
            self.out_embed = nn.Embedding(n_vocab, n_embed, sparse=True)
            self.in_embed.weight.data.uniform_(-1, 1)
            self.out_embed.weight.data.uniform_(-1, 1)

        def forward_noise(self, batch_size, n_samples):
            noise_words = torch.multinomial(self.noise_dist, batch_size * n_samples,
                                            replacement=True)
            return self.out_embed(noise_words).view(batch_size, n_samples, -1)

    model = SkipGramNeg(len(vocab), 6, noise_dist)
    optimizer = optim.SparseAdam(model.parameters(), lr=0.01)
    losses = []
    for step in range(6):
        batch = torch.randperm(len(pairs))[:16]
        input_vectors = model.in_embed(centers[batch])
        output_vectors = model.out_embed(contexts[batch])
        noise_vectors = model.forward_noise(16, 4)
        out_loss = torch.bmm(output_vectors.unsqueeze(1),
                             input_vectors.unsqueeze(2)).sigmoid().log().squeeze()
        noise_loss = torch.bmm(noise_vectors.neg(), input_vectors.unsqueeze(2)).sigmoid().log()
        noise_loss = noise_loss.squeeze().sum(1)
        loss = -(out_loss + noise_loss).mean()
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            grad = model.in_embed.weight.grad
            put("skipgram.grad.is_sparse", grad.is_sparse)
            put("skipgram.grad.dense", grad.to_dense())
        optimizer.step()
        losses.append(loss.item())
    put("skipgram.losses", losses)
    put_state("skipgram.state", model)
    with torch.no_grad():
        embeddings = model.in_embed.weight
        sims = F.cosine_similarity(embeddings[word_to_ix["dog"]].unsqueeze(0), embeddings)
        put("skipgram.sims", sims)
        put("skipgram.nearest", sims.topk(3).indices)


def section_sac_ppo() -> None:
    from torch.distributions import (
        Beta,
        Categorical,
        Independent,
        MultivariateNormal,
        Normal,
        TransformedDistribution,
        kl_divergence,
    )
    from torch.distributions.transforms import AffineTransform, TanhTransform

    # SAC's squashed Gaussian actor: rsample, the tanh log-det by hand and as transforms
    actor = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 4))
    critic = nn.Sequential(nn.Linear(3 + 2, 16), nn.ReLU(), nn.Linear(16, 1))
    log_alpha = torch.zeros(1, requires_grad=True)
    optimizer = optim.Adam(list(actor.parameters()) + [log_alpha], lr=3e-3)
    obs = torch.randn(8, 3)
    losses = []
    for _ in range(4):
        mu, log_std = actor(obs).chunk(2, -1)
        log_std = torch.clamp(log_std, -20, 2)
        base = Normal(mu, log_std.exp())
        u = base.rsample()
        action = torch.tanh(u)
        logp = base.log_prob(u).sum(-1) - (2 * (math.log(2) - u - F.softplus(-2 * u))).sum(-1)
        squashed = TransformedDistribution(Independent(Normal(mu, log_std.exp()), 1),
                                           [TanhTransform(cache_size=1), AffineTransform(0., 2.)])
        logp_transformed = squashed.log_prob(squashed.rsample())
        q = critic(torch.cat([obs, action], -1)).squeeze(-1)
        loss = ((log_alpha.exp().detach() * logp - q).mean()
                - (log_alpha * (logp + 2.0).detach()).mean() + logp_transformed.mean() * 0.01)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([loss.item(), logp.mean().item(), logp_transformed.mean().item(),
                       base.entropy().sum(-1).mean().item()])
    put("sac.losses", losses)
    put_state("sac.actor", actor)
    put("sac.log_alpha", log_alpha)
    # PPO's clipped objective on a categorical policy, and GAE
    logits = torch.randn(5, 3, requires_grad=True)
    dist = Categorical(logits=logits)
    taken = dist.sample()
    old_log_prob = dist.log_prob(taken).detach() + 0.1
    ratio = torch.exp(dist.log_prob(taken) - old_log_prob)
    advantages = torch.randn(5)
    ppo = (-torch.min(ratio * advantages, torch.clamp(ratio, 0.8, 1.2) * advantages).mean()
           - 0.01 * dist.entropy().mean())
    ppo.backward()
    put("sac.ppo", ppo)
    put("sac.ppo.actions", taken)
    put("sac.ppo.grad", logits.grad)
    rewards = torch.tensor([1.0, 0.0, 0.5, 1.0, -1.0])
    values = torch.tensor([0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    dones = torch.tensor([0., 0., 1., 0., 0.])
    gae, returns = 0, []
    for t in reversed(range(5)):
        delta = rewards[t] + 0.99 * values[t + 1] * (1 - dones[t]) - values[t]
        gae = delta + 0.99 * 0.95 * (1 - dones[t]) * gae
        returns.insert(0, gae + values[t])
    put("sac.gae", torch.stack(returns))
    mvn = MultivariateNormal(torch.zeros(2), scale_tril=torch.tensor([[1.0, 0.0], [0.5, 0.8]]))
    samples = mvn.sample((3,))
    put("sac.mvn", [samples, mvn.log_prob(samples), mvn.entropy(),
                    kl_divergence(mvn, MultivariateNormal(torch.ones(2), torch.eye(2) * 2))])
    beta = Beta(torch.tensor([2.0, 0.5]), torch.tensor([3.0, 0.7]))
    drawn = beta.rsample((2,))
    put("sac.beta", [drawn, beta.log_prob(drawn), beta.entropy()])


SECTIONS = {"sac": section_sac_ppo, "flow": section_realnvp, "mdn": section_mdn,
            "ode": section_neural_ode, "wgan": section_wgan_gp, "metric": section_metric,
            "skipgram": section_skipgram}
