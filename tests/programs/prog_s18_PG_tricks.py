"""Widely copied training tricks and losses, written afresh (PG, session 18): a gradient
reversal layer (DANN) as an autograd.Function, focal and soft Dice losses, SimCLR's NT-Xent with
a diagonal mask, ArcFace's additive angular margin, batch-hard triplet mining on cdist, center
loss with index_add_, a straight-through quantiser, the SAM optimizer (two closures, old
parameters in self.state) and a Lookahead wrapper over an inner optimizer, an EMA copy made with
deepcopy. Tiny sizes, synthetic data, seeded.
"""

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.alpha = alpha
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.neg() * ctx.alpha, None


def section_dann() -> None:
    features = nn.Sequential(nn.Linear(5, 8), nn.ReLU())
    label_head, domain_head = nn.Linear(8, 3), nn.Sequential(nn.Linear(8, 4), nn.ReLU(),
                                                             nn.Linear(4, 2))
    params = [*features.parameters(), *label_head.parameters(), *domain_head.parameters()]
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    source, target = torch.randn(10, 5), torch.randn(10, 5) + 0.5
    labels = torch.randint(0, 3, (10,))
    losses = []
    for step in range(5):
        p = step / 5
        alpha = 2.0 / (1.0 + math.exp(-10 * p)) - 1
        fs, ft = features(source), features(target)
        class_loss = F.cross_entropy(label_head(fs), labels)
        domain_in = GradReverse.apply(torch.cat([fs, ft]), alpha)
        domain_labels = torch.cat([torch.zeros(10), torch.ones(10)]).long()
        domain_loss = F.cross_entropy(domain_head(domain_in), domain_labels)
        optimizer.zero_grad()
        (class_loss + domain_loss).backward()
        losses.append([class_loss.item(), domain_loss.item()])
        optimizer.step()
    put("dann.losses", losses)
    put_state("dann.features", features)


class FocalLoss(nn.Module):
    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, inputs, targets):
        p = torch.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** self.gamma)
        alpha_t = self.alpha * targets + (1 - self.alpha) * (1 - targets)
        loss = alpha_t * loss
        return loss.mean() if self.reduction == "mean" else loss.sum()


def dice_loss(logits, true, eps=1e-7):
    num_classes = logits.shape[1]
    true_1_hot = torch.eye(num_classes)[true.squeeze(1)]
    true_1_hot = true_1_hot.permute(0, 3, 1, 2).float()
    probas = F.softmax(logits, dim=1)
    dims = (0,) + tuple(range(2, true.ndimension()))
    intersection = torch.sum(probas * true_1_hot, dims)
    cardinality = torch.sum(probas + true_1_hot, dims)
    return 1 - (2.0 * intersection / (cardinality + eps)).mean()


def section_seg_losses() -> None:
    logits = torch.randn(6, 4, requires_grad=True)
    targets = (torch.rand(6, 4) > 0.6).float()
    loss = FocalLoss()(logits, targets)
    loss.backward()
    put("seglosses.focal", loss)
    put("seglosses.focal.grad", logits.grad)
    seg_logits = torch.randn(2, 3, 5, 5, requires_grad=True)
    masks = torch.randint(0, 3, (2, 1, 5, 5))
    dice = dice_loss(seg_logits, masks)
    dice.backward()
    put("seglosses.dice", dice)
    put("seglosses.dice.grad", seg_logits.grad)


def nt_xent(z_i, z_j, temperature=0.5):
    batch_size = z_i.shape[0]
    z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
    sim = torch.mm(z, z.t().contiguous()) / temperature
    sim_ij = torch.diag(sim, batch_size)
    sim_ji = torch.diag(sim, -batch_size)
    positives = torch.cat([sim_ij, sim_ji], dim=0)
    mask = (~torch.eye(batch_size * 2, batch_size * 2, dtype=bool)).float()
    denominator = mask * torch.exp(sim)
    loss_partial = -torch.log(torch.exp(positives) / torch.sum(denominator, dim=1))
    return torch.sum(loss_partial) / (2 * batch_size)


def nt_xent_ce(z_i, z_j, temperature=0.5):
    # the cross-entropy form: the diagonal filled with -inf, labels are the other view
    n = z_i.shape[0]
    z = F.normalize(torch.cat([z_i, z_j]), dim=1)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    labels = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, labels)


class ArcMarginProduct(nn.Module):
    def __init__(self, in_features, out_features, s=30.0, m=0.50, easy_margin=False):
        super().__init__()
        self.s, self.m, self.easy_margin = s, m, easy_margin
        self.weight = nn.Parameter(torch.FloatTensor(out_features, in_features))
        nn.init.xavier_uniform_(self.weight)
        self.cos_m, self.sin_m = math.cos(m), math.sin(m)
        self.th, self.mm = math.cos(math.pi - m), math.sin(math.pi - m) * m

    def forward(self, input, label):
        cosine = F.linear(F.normalize(input), F.normalize(self.weight))
        sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
        phi = cosine * self.cos_m - sine * self.sin_m
        phi = torch.where(cosine > self.th, phi, cosine - self.mm)
        one_hot = torch.zeros(cosine.size())
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        output = (one_hot * phi) + ((1.0 - one_hot) * cosine)
        return output * self.s


def batch_hard_triplet(embeddings, labels, margin=0.3):
    dist = torch.cdist(embeddings, embeddings, p=2)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    hardest_positive = (dist * same.float()).max(dim=1)[0]
    max_dist = dist.max(dim=1, keepdim=True)[0]
    hardest_negative = (dist + max_dist * same.float()).min(dim=1)[0]
    return F.relu(hardest_positive - hardest_negative + margin).mean()


class CenterLoss(nn.Module):
    def __init__(self, num_classes, feat_dim):
        super().__init__()
        self.centers = nn.Parameter(torch.randn(num_classes, feat_dim))

    def forward(self, x, labels):
        batch_size = x.size(0)
        distmat = torch.pow(x, 2).sum(dim=1, keepdim=True).expand(batch_size, -1) + \
            torch.pow(self.centers, 2).sum(dim=1, keepdim=True).expand(-1, batch_size).t()
        distmat.addmm_(x, self.centers.t(), beta=1, alpha=-2)
        classes = torch.arange(self.centers.size(0)).long()
        mask = labels.unsqueeze(1).expand(batch_size, -1).eq(classes.expand(batch_size, -1))
        dist = distmat * mask.float()
        return dist.clamp(min=1e-12, max=1e12).sum() / batch_size


def section_metric_losses() -> None:
    encoder = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    x1, x2 = torch.randn(5, 6), torch.randn(5, 6)
    labels = torch.tensor([0, 1, 2, 1, 0])
    arc, center = ArcMarginProduct(4, 3, s=10.0), CenterLoss(3, 4)
    optimizer = torch.optim.Adam([*encoder.parameters(), *arc.parameters(),
                                  *center.parameters()], lr=0.01)
    losses = []
    for _ in range(4):
        z1, z2 = encoder(x1), encoder(x2)
        parts = [nt_xent(z1, z2), nt_xent_ce(z1, z2),
                 F.cross_entropy(arc(z1, labels), labels),
                 batch_hard_triplet(torch.cat([z1, z2]), torch.cat([labels, labels])),
                 center(z1, labels)]
        optimizer.zero_grad()
        sum(parts).backward()
        optimizer.step()
        losses.append([p.item() for p in parts])
    put("metricloss.losses", losses)
    put_state("metricloss.encoder", encoder)
    put("metricloss.centers", center.centers)


class SAM(torch.optim.Optimizer):
    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
        super().__init__(params, defaults)
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        grad_norm = self._grad_norm()
        for group in self.param_groups:
            scale = group["rho"] / (grad_norm + 1e-12)
            for p in group["params"]:
                if p.grad is None:
                    continue
                self.state[p]["old_p"] = p.data.clone()
                e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                p.add_(e_w)
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.data = self.state[p]["old_p"]
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def _grad_norm(self):
        shared_device = self.param_groups[0]["params"][0].device
        return torch.norm(torch.stack([
            ((torch.abs(p) if group["adaptive"] else 1.0) * p.grad).norm(p=2).to(shared_device)
            for group in self.param_groups for p in group["params"] if p.grad is not None]),
            p=2)


class Lookahead(torch.optim.Optimizer):
    def __init__(self, optimizer, k=3, alpha=0.5):
        self.optimizer, self.k, self.alpha = optimizer, k, alpha
        self.param_groups = self.optimizer.param_groups
        self.state = {}
        self.defaults = optimizer.defaults
        self.step_counter = 0
        self.slow_weights = [[p.clone().detach() for p in group["params"]]
                             for group in self.param_groups]

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        self.step_counter += 1
        if self.step_counter % self.k == 0:
            for group, slow in zip(self.param_groups, self.slow_weights):
                for p, q in zip(group["params"], slow):
                    q.data.add_(p.data - q.data, alpha=self.alpha)
                    p.data.copy_(q.data)
        return loss


def section_wrappers() -> None:
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for name in ("sam", "asam", "lookahead"):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        ema = copy.deepcopy(model)
        for p in ema.parameters():
            p.requires_grad_(False)
        if name == "lookahead":
            optimizer = Lookahead(torch.optim.Adam(model.parameters(), lr=0.05), k=2)
        else:
            optimizer = SAM(model.parameters(), torch.optim.SGD, rho=0.1,
                            adaptive=name == "asam", lr=0.1, momentum=0.9)
        losses = []
        for _ in range(5):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if name == "lookahead":
                optimizer.step()
                optimizer.optimizer.zero_grad()
            else:
                optimizer.first_step(zero_grad=True)
                F.cross_entropy(model(x), y).backward()
                optimizer.second_step(zero_grad=True)
            losses.append(loss.item())
            with torch.no_grad():
                for e, m in zip(ema.parameters(), model.parameters()):
                    e.mul_(0.8).add_(m.detach(), alpha=0.2)
        put(f"wrappers.{name}.losses", losses)
        put_state(f"wrappers.{name}.model", model)
        put_state(f"wrappers.{name}.ema", ema)


def section_straight_through() -> None:
    codebook = nn.Embedding(6, 3)
    encoder = nn.Linear(4, 3)
    x = torch.randn(8, 4)
    z = encoder(x)
    distances = (z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.weight.t()
                 + codebook.weight.pow(2).sum(1))
    indices = distances.argmin(1)
    quantized = codebook(indices)
    commitment = F.mse_loss(z, quantized.detach())
    codebook_loss = F.mse_loss(quantized, z.detach())
    z_q = z + (quantized - z).detach()
    (z_q.pow(2).sum() + codebook_loss + 0.25 * commitment).backward()
    put("ste.indices", indices)
    put("ste.encoder_grad", encoder.weight.grad)
    put("ste.codebook_grad", codebook.weight.grad)
    w = torch.randn(5, requires_grad=True)
    binary = (w.sign() - w).detach() + w
    (binary * torch.arange(5.0)).sum().backward()
    put("ste.sign_grad", w.grad)
    put("ste.usage", torch.bincount(indices, minlength=6))


SECTIONS = {"dann": section_dann, "seglosses": section_seg_losses,
            "metricloss": section_metric_losses, "wrappers": section_wrappers,
            "ste": section_straight_through}
