"""Session 6 program probes, part IV: gradient penalties, text CNNs, checkpointing with
weight averaging, and mixture density networks.

Each program takes the library as ``torch``, seeds it itself and returns what it would print.
"""

from __future__ import annotations


def prog_wgan_gp(torch):
    """WGAN-GP on 2-D points: critic steps with a gradient penalty from torch.autograd.grad
    (create_graph=True) at random interpolates, RMSprop generator steps every n_critic."""
    nn = torch.nn
    torch.manual_seed(12)
    generator = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
    critic = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32),
                           nn.LeakyReLU(0.2), nn.Linear(32, 1))
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))

    def sample_real(n):
        centres = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
        return centres[torch.randint(0, 4, (n,))] + 0.1 * torch.randn(n, 2)

    def gradient_penalty(real, fake):
        alpha = torch.rand(real.size(0), 1).expand_as(real)
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = critic(interpolates)
        gradients = torch.autograd.grad(outputs=scores, inputs=interpolates,
                                        grad_outputs=torch.ones_like(scores),
                                        create_graph=True, retain_graph=True)[0]
        return ((gradients.norm(2, dim=1) - 1) ** 2).mean()

    history = []
    for iteration in range(10):
        for p in critic.parameters():
            p.requires_grad = True
        real = sample_real(32)
        fake = generator(torch.randn(32, 4)).detach()
        opt_c.zero_grad()
        penalty = gradient_penalty(real, fake)
        loss_c = critic(fake).mean() - critic(real).mean() + 10 * penalty
        loss_c.backward()
        opt_c.step()
        row = [loss_c.item(), penalty.item()]
        if iteration % 2 == 1:
            for p in critic.parameters():
                p.requires_grad = False
            opt_g.zero_grad()
            loss_g = -critic(generator(torch.randn(32, 4))).mean()
            loss_g.backward()
            opt_g.step()
            row.append(loss_g.item())
        history.append(row)
    with torch.no_grad():
        points = generator(torch.randn(5, 4))
    return {"history": history, "points": points,
            "critic_grad_is_none": [p.grad is None for p in critic.parameters()]}


def prog_text_cnn(torch):
    """Kim-style text CNN: Embedding (padding_idx), Conv1d of several widths over the
    transposed embeddings, ReLU, max over time, dropout, Linear; Adadelta; a confusion
    matrix at the end."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(13)
    vocab, length, classes = 30, 12, 3
    # class c: sentences rich in tokens [10c, 10c + 10)
    labels = torch.randint(0, classes, (90,))
    tokens = torch.where(torch.rand(90, length) < 0.6,
                         labels[:, None] * 10 + torch.randint(0, 10, (90, length)),
                         torch.randint(1, vocab, (90, length)))
    lengths = torch.randint(6, length + 1, (90,))
    tokens[torch.arange(length)[None, :] >= lengths[:, None]] = 0  # padding

    class TextCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, 16, padding_idx=0)
            self.convs = nn.ModuleList([nn.Conv1d(16, 8, k) for k in (2, 3, 4)])
            self.dropout = nn.Dropout(0.5)
            self.fc = nn.Linear(24, classes)

        def forward(self, x):
            x = self.embedding(x).transpose(1, 2)  # [N, E, L]
            x = [F.relu(conv(x)) for conv in self.convs]
            x = [F.max_pool1d(c, c.size(2)).squeeze(2) for c in x]
            return self.fc(self.dropout(torch.cat(x, 1)))

    model = TextCNN()
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(tokens, labels),
                                         batch_size=30, shuffle=True)
    losses = []
    for _epoch in range(3):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        pred = model(tokens).argmax(1)
    confusion = torch.zeros(classes, classes, dtype=torch.long)
    for t, p in zip(labels.tolist(), pred.tolist()):
        confusion[t, p] += 1
    return {"losses": losses, "confusion": confusion,
            "pad_row": model.embedding.weight[0], "pad_grad": model.embedding.weight.grad[0]}


def prog_checkpoint_swa(torch):
    """Activation checkpointing (torch.utils.checkpoint, non-reentrant, dropout inside: the
    recomputation must see the same mask), then stochastic weight averaging with
    AveragedModel, SWALR and update_bn."""
    nn = torch.nn
    from_checkpoint = torch.utils.checkpoint.checkpoint
    swa_utils = torch.optim.swa_utils
    torch.manual_seed(14)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Dropout(0.2),
                                     nn.Linear(32, 8))

        def forward(self, x):
            return x + self.net(x)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 8)
            self.blocks = nn.ModuleList([Block() for _ in range(3)])
            self.norm = nn.BatchNorm1d(8)
            self.out = nn.Linear(8, 1)

        def forward(self, x):
            h = self.inp(x)
            for block in self.blocks:
                h = from_checkpoint(block, h, use_reentrant=False)
            return self.out(self.norm(h)).squeeze(-1)

    x = torch.randn(64, 4)
    y = x[:, 0] * x[:, 1] - x[:, 2] + 0.1 * torch.randn(64)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16,
                                         shuffle=True)
    model = Model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    swa_model = swa_utils.AveragedModel(model)
    swa_scheduler = swa_utils.SWALR(optimizer, swa_lr=0.02, anneal_epochs=2)
    losses, lrs, grad_norms = [], [], []
    for epoch in range(4):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            grad_norms.append(torch.cat([p.grad.flatten() for p in model.parameters()])
                              .norm().item())
            optimizer.step()
            losses.append(loss.item())
        if epoch >= 1:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    swa_utils.update_bn(loader, swa_model)
    swa_model.eval()
    with torch.no_grad():
        predictions = swa_model(x[:6])
    return {"losses": losses, "grad_norms": grad_norms, "lrs": lrs,
            "averaged": int(swa_model.n_averaged), "predictions": predictions,
            "swa_running_mean": swa_model.module.norm.running_mean}


def prog_mixture_density(torch):
    """A mixture density network: the network outputs mixture logits, means and log-scales;
    the loss is -MixtureSameFamily(Categorical, Normal).log_prob(y); sampling at the end."""
    nn = torch.nn
    D = torch.distributions
    torch.manual_seed(15)
    x = torch.rand(200, 1) * 2 - 1
    branch = torch.randint(0, 2, (200, 1)).float()
    y = torch.where(branch > 0, torch.sin(3 * x), -torch.sin(3 * x)) + 0.05 * torch.randn(200, 1)
    k = 3

    class MDN(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Sequential(nn.Linear(1, 32), nn.Tanh())
            self.pi = nn.Linear(32, k)
            self.mu = nn.Linear(32, k)
            self.log_sigma = nn.Linear(32, k)

        def forward(self, x):
            h = self.hidden(x)
            mixture = D.Categorical(logits=self.pi(h))
            components = D.Normal(self.mu(h), self.log_sigma(h).exp().clamp(min=1e-3))
            return D.MixtureSameFamily(mixture, components)

    model = MDN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _step in range(30):
        dist = model(x)
        loss = -dist.log_prob(y.squeeze(-1)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        probe = torch.linspace(-1, 1, 5).unsqueeze(1)
        dist = model(probe)
        samples = dist.sample((4,))
        means, variances = dist.mean, dist.variance
        chosen = dist.mixture_distribution.sample()
        gaussian_nll = nn.GaussianNLLLoss()(means, torch.sin(3 * probe.squeeze(1)), variances)
    return {"losses": losses, "samples": samples, "means": means, "variances": variances,
            "chosen": chosen, "gaussian_nll": gaussian_nll}
