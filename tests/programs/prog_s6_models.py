"""Session 6 program probes, part I: generative and reinforcement-learning programs.

Each program takes the library as ``torch`` and is written as a PyTorch user would write it
(tutorial style); it seeds PyTorch's global generator itself, so the weights, data, dropout masks
and samples come from the same random stream in both runs, and returns what it would print.
"""

from __future__ import annotations


def prog_reinforce(torch):
    """REINFORCE on a five-cell corridor: Categorical policy, discounted normalised returns."""
    nn = torch.nn
    Categorical = torch.distributions.Categorical

    torch.manual_seed(0)

    class Corridor:
        """Start in the middle; +1 for reaching the right end, -1 for the left, -0.01 per step."""

        def reset(self):
            self.pos = 2
            return self.obs()

        def obs(self):
            return torch.nn.functional.one_hot(torch.tensor(self.pos), 5).float()

        def step(self, action):
            self.pos += 1 if action == 1 else -1
            if self.pos == 4:
                return self.obs(), 1.0, True
            if self.pos == 0:
                return self.obs(), -1.0, True
            return self.obs(), -0.01, False

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(5, 16)
            self.dropout = nn.Dropout(p=0.2)
            self.affine2 = nn.Linear(16, 2)

        def forward(self, x):
            x = torch.relu(self.dropout(self.affine1(x)))
            return torch.softmax(self.affine2(x), dim=-1)

    env, policy = Corridor(), Policy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    eps = torch.finfo(torch.float32).eps
    gamma = 0.9
    episodes = []
    for _ in range(12):
        state, log_probs, rewards, actions = env.reset(), [], [], []
        for _t in range(20):
            probs = policy(state)
            m = Categorical(probs)
            action = m.sample()
            log_probs.append(m.log_prob(action))
            actions.append(action.item())
            state, reward, done = env.step(action.item())
            rewards.append(reward)
            if done:
                break
        R, returns = 0.0, []
        for r in rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        if len(returns) > 1:
            returns = (returns - returns.mean()) / (returns.std() + eps)
        policy_loss = torch.cat([(-lp * ret).reshape(1) for lp, ret in zip(log_probs, returns)])
        optimizer.zero_grad()
        loss = policy_loss.sum()
        loss.backward()
        optimizer.step()
        episodes.append({"actions": actions, "loss": loss.item(), "return": sum(rewards)})
    policy.eval()
    with torch.no_grad():
        final = torch.stack([policy(torch.eye(5)[i]) for i in range(5)])
    return {"episodes": episodes, "final_probs": final}


def prog_vae(torch):
    """A fully connected VAE on random binary 'images': reparameterisation, BCE(sum) + KL."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(1)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(36, 20)
            self.fc21 = nn.Linear(20, 4)
            self.fc22 = nn.Linear(20, 4)
            self.fc3 = nn.Linear(4, 20)
            self.fc4 = nn.Linear(20, 36)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 36))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 36), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    prototypes = (torch.rand(3, 6, 6) > 0.5).float()
    labels = torch.randint(0, 3, (64,))
    flips = (torch.rand(64, 6, 6) < 0.1).float()
    data = (prototypes[labels] - flips).abs()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=16,
                                         shuffle=True)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _epoch in range(3):
        model.train()
        train_loss = 0.0
        for (batch,) in loader:
            optimizer.zero_grad()
            recon, mu, logvar = model(batch)
            loss = loss_function(recon, batch, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        losses.append(train_loss / len(loader.dataset))
    model.eval()
    with torch.no_grad():
        sample = torch.randn(5, 4)
        sample = model.decode(sample)
        recon, mu, _ = model(data[:4])
    return {"losses": losses, "sample": sample, "recon": recon, "mu": mu,
            "bits": (sample > 0.5).int().sum(dim=1)}


def prog_dcgan(torch):
    """A tiny DCGAN: ConvTranspose2d generator, strided-conv discriminator, two Adams."""
    nn = torch.nn
    torch.manual_seed(2)
    nz, ngf, ndf = 8, 8, 8

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),
                nn.Tanh(),
            )

        def forward(self, x):
            return self.main(x)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(1, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
                nn.Sigmoid(),
            )

        def forward(self, x):
            return self.main(x).view(-1, 1).squeeze(1)

    netG, netD = Generator(), Discriminator()
    netG.apply(weights_init)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(4, nz, 1, 1)
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    # "real" images: blurry diagonal stripes with noise
    base = torch.linspace(-1, 1, 16)
    stripes = torch.tanh(3 * torch.sin(base[:, None] + base[None, :] * 2))
    history = []
    for _i in range(4):
        real = (stripes + 0.1 * torch.randn(8, 1, 16, 16)).clamp(-1, 1)
        netD.zero_grad()
        b_size = real.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(b_size, nz, 1, 1)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        history.append([errD.item(), errG.item(), D_x, D_G_z1, D_G_z2])
    with torch.no_grad():
        fake = netG(fixed_noise).detach()
    return {"history": history, "fake": fake,
            "bn_mean": netG.main[1].running_mean, "bn_var": netD.main[3].running_var}


def prog_flow(torch):
    """RealNVP-style affine couplings on a 2-D two-moons-like set, plus a distributions flow."""
    nn = torch.nn
    D = torch.distributions

    torch.manual_seed(3)

    class Coupling(nn.Module):
        def __init__(self, mask):
            super().__init__()
            self.register_buffer("mask", mask)
            self.s = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2), nn.Tanh())
            self.t = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))

        def forward(self, x):
            x_masked = x * self.mask
            s = self.s(x_masked) * (1 - self.mask)
            t = self.t(x_masked) * (1 - self.mask)
            y = x_masked + (1 - self.mask) * (x * torch.exp(s) + t)
            return y, s.sum(dim=1)

        def inverse(self, y):
            y_masked = y * self.mask
            s = self.s(y_masked) * (1 - self.mask)
            t = self.t(y_masked) * (1 - self.mask)
            return y_masked + (1 - self.mask) * (y - t) * torch.exp(-s)

    class RealNVP(nn.Module):
        def __init__(self):
            super().__init__()
            masks = [torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])] * 2
            self.layers = nn.ModuleList([Coupling(m) for m in masks])
            self.prior = D.MultivariateNormal(torch.zeros(2), torch.eye(2))

        def log_prob(self, x):
            log_det = torch.zeros(x.shape[0])
            for layer in self.layers:
                x, ld = layer(x)
                log_det = log_det + ld
            return self.prior.log_prob(x) + log_det

        def sample(self, n):
            z = self.prior.sample((n,))
            for layer in reversed(self.layers):
                z = layer.inverse(z)
            return z

    angle = torch.rand(128) * 3.14159
    upper = torch.rand(128) > 0.5
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    data = torch.stack([x, y], dim=1) + 0.05 * torch.randn(128, 2)
    flow = RealNVP()
    optimizer = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad], lr=5e-3)
    losses = []
    for _step in range(15):
        batch = data[torch.randperm(128)[:64]]
        loss = -flow.log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        samples = flow.sample(6)

    # a learnable elementwise flow from torch.distributions
    loc = torch.zeros(2, requires_grad=True)
    log_scale = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([loc, log_scale], lr=0.1)
    base = D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1)
    nlls = []
    for _step in range(10):
        transforms = [D.transforms.AffineTransform(loc, log_scale.exp()),
                      D.transforms.TanhTransform()]
        dist = D.TransformedDistribution(base, transforms)
        nll = -dist.log_prob(data.clamp(-0.99, 0.99) * 0.9).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
        nlls.append(nll.item())
    with torch.no_grad():
        draws = D.TransformedDistribution(base, [D.transforms.AffineTransform(loc, log_scale.exp()),
                                                 D.transforms.TanhTransform()]).sample((3,))
    return {"losses": losses, "samples": samples, "nlls": nlls, "loc": loc,
            "log_scale": log_scale, "draws": draws}
