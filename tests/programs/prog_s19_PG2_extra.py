"""A last batch of tutorial-style programs, written afresh (PG2, session 19): the 60-minute
blitz classifier with per-class accuracy, a Siamese / triplet embedding net with retrieval,
autoencoders (denoising, sparse, contractive with a Jacobian penalty) and cyclic learning-rate
schedules with momentum cycling and warm restarts.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_blitz() -> None:
    classes = ("plane", "car", "bird", "cat")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 8, 3)
            self.fc1 = nn.Linear(8 * 1 * 1, 12)
            self.fc2 = nn.Linear(12, 10)
            self.fc3 = nn.Linear(10, len(classes))

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(24, 3, 14, 14)
    labels = torch.randint(0, 4, (24,))
    from torch.utils.data import DataLoader, TensorDataset

    trainloader = DataLoader(TensorDataset(images, labels), batch_size=4, shuffle=True)
    running = []
    for _epoch in range(2):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, targets = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 3 == 2:
                running.append(running_loss / 3)
                running_loss = 0.0
    put("blitz.running", running)
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        outputs = net(images)
        _, predictions = torch.max(outputs, 1)
        for label, prediction in zip(labels, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
            total_pred[classes[label]] += 1
    put("blitz.correct", [correct_pred[c] for c in classes])
    put("blitz.total", [total_pred[c] for c in classes])
    put("blitz.predictions", predictions)
    put_state("blitz.net", net)


def section_siamese() -> None:
    class EmbeddingNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(10, 16), nn.PReLU(), nn.Linear(16, 4))

        def forward(self, x):
            return F.normalize(self.net(x), dim=1)

    net = EmbeddingNet()
    centers = torch.randn(3, 10) * 2
    labels = torch.arange(3).repeat_interleave(6)
    data = centers[labels] + 0.5 * torch.randn(18, 10)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    triplet = nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.5)
    contrastive_losses, triplet_losses = [], []
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        anchor_idx = torch.randint(0, 18, (8,), generator=gen)
        same = (labels[anchor_idx] * 6 + torch.randint(0, 6, (8,), generator=gen))
        other = ((labels[anchor_idx] + 1 + torch.randint(0, 2, (8,), generator=gen)) % 3) * 6 \
            + torch.randint(0, 6, (8,), generator=gen)
        optimizer.zero_grad()
        a, p, n = net(data[anchor_idx]), net(data[same]), net(data[other])
        t_loss = triplet(a, p, n)
        # the contrastive loss of Hadsell et al. on (anchor, positive) and (anchor, negative)
        d_pos = F.pairwise_distance(a, p)
        d_neg = F.pairwise_distance(a, n)
        c_loss = (d_pos.pow(2) + F.relu(1.0 - d_neg).pow(2)).mean() / 2
        (t_loss + c_loss).backward()
        optimizer.step()
        triplet_losses.append(t_loss.item())
        contrastive_losses.append(c_loss.item())
    put("siam.triplet", triplet_losses)
    put("siam.contrastive", contrastive_losses)
    with torch.no_grad():
        emb = net(data)
        dists = torch.cdist(emb, emb)
        sims = emb @ emb.T
        top = sims.fill_diagonal_(-2).topk(3, dim=1).indices
    put("siam.cdist", dists)
    put("siam.top", top)
    put("siam.recall", (labels[top] == labels[:, None]).float().mean())
    put("siam.margin_ranking", F.margin_ranking_loss(d_neg.detach(), d_pos.detach(),
                                                    torch.ones(8), margin=0.2))
    put("siam.cos_emb", F.cosine_embedding_loss(a.detach(), n.detach(), -torch.ones(8),
                                                margin=0.1))


def section_autoencoders() -> None:
    data = torch.rand(32, 12)
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(data), batch_size=8, shuffle=True)

    def make():
        encoder = nn.Sequential(nn.Linear(12, 6), nn.Sigmoid())
        decoder = nn.Sequential(nn.Linear(6, 12), nn.Sigmoid())
        return encoder, decoder

    results = {}
    for kind in ("denoising", "sparse", "contractive"):
        torch.manual_seed(3)
        encoder, decoder = make()
        optimizer = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()),
                                     lr=5e-3)
        losses = []
        for _ in range(3):
            for (x,) in loader:
                optimizer.zero_grad()
                if kind == "denoising":
                    noisy = x + 0.2 * torch.randn_like(x)
                    recon = decoder(encoder(noisy))
                    loss = F.mse_loss(recon, x)
                elif kind == "sparse":
                    code = encoder(x)
                    rho, rho_hat = 0.05, code.mean(0)
                    kl = (rho * torch.log(rho / rho_hat)
                          + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
                    loss = F.mse_loss(decoder(code), x) + 0.1 * kl + 1e-3 * code.abs().sum()
                else:
                    x = x.clone().requires_grad_()
                    code = encoder(x)
                    # the Frobenius norm of d code / d x, by autograd per code unit
                    penalty = 0.0
                    for j in range(code.shape[1]):
                        (g,) = torch.autograd.grad(code[:, j].sum(), x, create_graph=True)
                        penalty = penalty + g.pow(2).sum()
                    loss = F.mse_loss(decoder(code), x.detach()) + 1e-3 * penalty / x.shape[0]
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        results[kind] = losses
        put(f"ae.{kind}.losses", losses)
        put_state(f"ae.{kind}.encoder", encoder)
    put("ae.bce", F.binary_cross_entropy(decoder(encoder(data)), data))


def section_cyclic() -> None:
    def lrs_of(make, steps, fractional=False):
        model = nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        scheduler = make(optimizer)
        lrs, moms = [], []
        for step in range(steps):
            optimizer.step()
            if fractional:
                scheduler.step(step / 3)
            else:
                scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
            moms.append(optimizer.param_groups[0]["momentum"])
        return lrs, moms

    lrs, moms = lrs_of(lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2",
        base_momentum=0.8, max_momentum=0.95), 14)
    put("cyc.tri2.lrs", lrs)
    put("cyc.tri2.moms", moms)
    lrs, _ = lrs_of(lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=4, mode="exp_range",
        gamma=0.9, cycle_momentum=False), 14)
    put("cyc.exp.lrs", lrs)
    lrs, _ = lrs_of(lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001), 14, fractional=True)
    put("cyc.warm.lrs", lrs)
    lrs, moms = lrs_of(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.5, total_steps=14, anneal_strategy="linear", three_phase=True), 13)
    put("cyc.onecycle.lrs", lrs)
    put("cyc.onecycle.moms", moms)
    lrs, _ = lrs_of(lambda o: torch.optim.lr_scheduler.ChainedScheduler([
        torch.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
        torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)]), 8)
    put("cyc.chained.lrs", lrs)
    lrs, _ = lrs_of(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
        torch.optim.lr_scheduler.PolynomialLR(o, total_iters=5, power=2.0)], milestones=[3]),
        10)
    put("cyc.sequential.lrs", lrs)


SECTIONS = {"blitz": section_blitz, "siam": section_siamese, "ae": section_autoencoders,
            "cyc": section_cyclic}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
