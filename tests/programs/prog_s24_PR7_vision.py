"""Image-model training scripts with their tricks, afresh (PR7, session 24): knowledge
distillation (a teacher trained first, then a student on KL of temperature-softened outputs
times T^2 plus hard-label cross-entropy); mixup and cutmix with Beta draws from
torch.distributions, soft targets into cross_entropy; focal loss, triplet loss with batch-hard
mining over cdist and a center loss whose centers move by index_add_; a small U-Net (skip
concatenation, ConvTranspose2d, BCE + Dice) on synthetic masks; a small ViT (patches by Conv2d,
a class token, learned positions, nn.TransformerEncoder with pre-norm GELU layers) under AdamW
with a warm-up + cosine LambdaLR. 8x8 images; run by prog_s24_PR7_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state


def _images(n, g):
    """8x8 one-channel images of 4 classes: a bright quadrant, plus noise."""
    y = torch.randint(0, 4, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 8, 8, generator=g)
    for k in range(4):
        r, c = divmod(k, 2)
        x[y == k, :, r * 4:r * 4 + 4, c * 4:c * 4 + 4] += 1.0
    return x, y


def _cnn(width):
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * width, 4))


def section_distill() -> None:
    g = torch.Generator().manual_seed(30)
    x, y = _images(64, g)
    teacher, student = _cnn(8), _cnn(2)
    opt = torch.optim.SGD(teacher.parameters(), lr=0.05, momentum=0.9)
    for _step in range(6):
        opt.zero_grad()
        F.cross_entropy(teacher(x), y).backward()
        opt.step()
    teacher.eval()
    T, alpha = 3.0, 0.7
    opt = torch.optim.Adam(student.parameters(), lr=0.01)
    kd, hard = [], []
    for _step in range(6):
        with torch.no_grad():
            soft = F.softmax(teacher(x) / T, dim=1)
        logits = student(x)
        loss_kd = F.kl_div(F.log_softmax(logits / T, dim=1), soft, reduction="batchmean") * T * T
        loss_ce = F.cross_entropy(logits, y)
        loss = alpha * loss_kd + (1 - alpha) * loss_ce
        opt.zero_grad()
        loss.backward()
        opt.step()
        kd.append(loss_kd.item())
        hard.append(loss_ce.item())
    put("distill.kd", torch.tensor(kd))
    put("distill.ce", torch.tensor(hard))
    with torch.no_grad():
        put("distill.agreement", (student(x).argmax(1) == teacher(x).argmax(1)).float().mean())
        put("distill.teacher_acc", (teacher(x).argmax(1) == y).float().mean())
        put("distill.log_target", F.kl_div(F.log_softmax(student(x), 1),
                                           F.log_softmax(teacher(x), 1), reduction="sum",
                                           log_target=True))
    put_state("distill.student", student)


def section_mixup_cutmix() -> None:
    torch.manual_seed(31)
    g = torch.Generator().manual_seed(31)
    x, y = _images(48, g)
    model = _cnn(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    beta = torch.distributions.Beta(torch.tensor(0.4), torch.tensor(0.4))
    losses, lams, boxes = [], [], []
    for step in range(8):
        targets = F.one_hot(y, 4).float()
        perm = torch.randperm(len(x))
        lam = beta.sample()
        if step % 2 == 0:  # mixup
            xm = lam * x + (1 - lam) * x[perm]
        else:  # cutmix: a box of area (1 - lam)
            cut = math.sqrt(1 - lam.item())
            h = int(8 * cut)
            cy, cx = torch.randint(0, 8, (2,)).tolist()
            y0, y1 = max(cy - h // 2, 0), min(cy + h // 2, 8)
            x0, x1 = max(cx - h // 2, 0), min(cx + h // 2, 8)
            xm = x.clone()
            xm[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
            lam = torch.tensor(1 - (y1 - y0) * (x1 - x0) / 64)
            boxes.append([y0, y1, x0, x1])
        soft = lam * targets + (1 - lam) * targets[perm]
        loss = F.cross_entropy(model(xm), soft, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        lams.append(lam.item())
    put("mix.losses", torch.tensor(losses))
    put("mix.lams", torch.tensor(lams))
    put("mix.boxes", torch.tensor(boxes))
    put("mix.log_prob", beta.log_prob(torch.tensor([0.1, 0.5, 0.9])))
    put("mix.entropy", beta.entropy())
    put_state("mix.model", model)


def focal_loss(logits, target, gamma=2.0, alpha=None):
    logp = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    loss = -(1 - logp.exp()).pow(gamma) * logp
    if alpha is not None:
        loss = alpha[target] * loss
    return loss.mean()


def section_metric_losses() -> None:
    g = torch.Generator().manual_seed(32)
    x, y = _images(40, g)
    body = nn.Sequential(*list(_cnn(6))[:-1])
    embed = nn.Linear(24, 8)
    head = nn.Linear(8, 4)
    centers = torch.zeros(4, 8)
    params = [*body.parameters(), *embed.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=0.005)
    alpha = torch.tensor([0.25, 0.25, 0.25, 0.25]) * 4
    triplet = nn.TripletMarginLoss(margin=0.5, p=2)
    records = []
    for _step in range(8):
        z = F.normalize(embed(body(x)), dim=1)
        d = torch.cdist(z, z)
        same = y[:, None] == y[None, :]
        hardest_pos = (d * same).argmax(1)
        hardest_neg = d.masked_fill(same, float("inf")).argmin(1)
        l_tri = triplet(z, z[hardest_pos], z[hardest_neg])
        l_focal = focal_loss(head(z), y, alpha=alpha)
        l_center = (z - centers[y]).pow(2).sum(1).mean() / 2
        loss = l_focal + l_tri + 0.1 * l_center
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():  # centers move toward their class means (Wen et al.'s update)
            diff = centers[y] - z
            delta = torch.zeros_like(centers).index_add_(0, y, diff)
            count = torch.bincount(y, minlength=4).float().unsqueeze(1)
            centers -= 0.5 * delta / (1 + count)
        records.append([l_focal.item(), l_tri.item(), l_center.item()])
    put("metric.records", torch.tensor(records))
    put("metric.centers", centers)
    put("metric.hard_pos", hardest_pos)
    put("metric.hard_neg", hardest_neg)
    put("metric.pdist", F.pairwise_distance(z[:4], z[4:8]))
    put("metric.cosine_emb", F.cosine_embedding_loss(z[:6], z[6:12],
                                                     torch.tensor([1, -1, 1, -1, 1, -1])))


class UNet(nn.Module):
    def __init__(self, c=4):
        super().__init__()

        def block(i, o):
            # (no conv bias before BatchNorm: its true gradient is 0, so Adam would step on
            # rounding noise and the two libraries' biases would drift apart by chance)
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o),
                                 nn.ReLU())

        self.down1, self.down2 = block(1, c), block(c, 2 * c)
        self.bottom = block(2 * c, 2 * c)
        self.up2 = nn.ConvTranspose2d(2 * c, 2 * c, 2, stride=2)
        self.dec2 = block(4 * c, c)
        self.up1 = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.dec1 = block(2 * c, c)
        self.out = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(F.max_pool2d(d1, 2))
        b = self.bottom(F.max_pool2d(d2, 2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], dim=1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], dim=1))
        return self.out(u1)


def section_unet() -> None:
    g = torch.Generator().manual_seed(33)
    n = 8
    yy, xx = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    cy, cx = torch.rand(n, 1, 1, generator=g) * 4 + 2, torch.rand(n, 1, 1, generator=g) * 4 + 2
    r = torch.rand(n, 1, 1, generator=g) + 1.5
    mask = (((yy - cy) ** 2 + (xx - cx) ** 2) < r ** 2).float().unsqueeze(1)
    img = mask + 0.4 * torch.randn(n, 1, 8, 8, generator=g)
    model = UNet()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    losses, dices = [], []
    for _step in range(8):
        logits = model(img)
        prob = logits.sigmoid()
        inter = (prob * mask).sum((1, 2, 3))
        dice = 1 - (2 * inter + 1) / (prob.sum((1, 2, 3)) + mask.sum((1, 2, 3)) + 1)
        loss = F.binary_cross_entropy_with_logits(logits, mask) + dice.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        dices.append(dice.mean().item())
    put("unet.losses", torch.tensor(losses))
    put("unet.dices", torch.tensor(dices))
    model.eval()
    with torch.no_grad():
        pred = model(img) > 0
    put("unet.iou", ((pred & (mask > 0)).sum() / (pred | (mask > 0)).sum().clamp(min=1)))
    put("unet.pred_sum", pred.sum((1, 2, 3)))
    put_state("unet.state", model)


class ViT(nn.Module):
    def __init__(self, dim=16, patch=4, classes=4):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, (8 // patch) ** 2 + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, nhead=2, dim_feedforward=32, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        p = self.patch(x).flatten(2).transpose(1, 2)
        p = torch.cat([self.cls.expand(len(x), -1, -1), p], dim=1) + self.pos
        return self.head(self.norm(self.encoder(p))[:, 0])


def section_vit() -> None:
    g = torch.Generator().manual_seed(34)
    x, y = _images(32, g)
    model = ViT()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "pos" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
    total, warm = 10, 3

    def schedule(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / (total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    losses, lrs = [], []
    for _step in range(total):
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        lrs.append([grp["lr"] for grp in opt.param_groups])
    put("vit.losses", torch.tensor(losses))
    put("vit.lrs", torch.tensor(lrs, dtype=torch.float64))
    put("vit.n_params", [len(decay), len(no_decay), sum(p.numel() for p in model.parameters())])
    model.eval()
    with torch.inference_mode():
        put("vit.logits", model(x[:4]))
    # The key projection's bias has a true gradient of 0 (softmax ignores a shift shared by
    # all keys), so AdamW steps on rounding noise there: compared without it.
    for name, tensor in model.state_dict().items():
        if name.endswith("in_proj_bias"):
            put(f"vit.state.{name}.q", tensor[:16])
            put(f"vit.state.{name}.v", tensor[32:])
        else:
            put(f"vit.state.{name}", tensor)


SECTIONS = {"distill": section_distill, "mixup_cutmix": section_mixup_cutmix,
            "metric_losses": section_metric_losses, "unet": section_unet, "vit": section_vit}
