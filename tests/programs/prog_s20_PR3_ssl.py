"""Self-supervised learning as the reference implementations write it, afresh (PR3, session 20):
BYOL (online network with a predictor, a target network updated by an exponential moving
average under no_grad, the normalized-MSE loss symmetrized over two views); MoCo v2 (a key
encoder updated by momentum, a queue of keys kept as a buffer with a pointer, InfoNCE with
the positive logit first, shuffling batch norm by index permutations); Barlow Twins (the
cross-correlation of batch-normalized embeddings, on- and off-diagonal terms, LARS-free SGD);
VICReg (variance, invariance and covariance terms); and DINO (a teacher with centering and
sharpening, multi-crop views of two sizes through adaptive pooling, the centre an EMA of teacher
outputs, the last layer frozen in the first epoch, cosine schedules built with NumPy).
Augmentations are hand-written tensor operations (flips, crops, noise). Tiny sizes; run by
prog_s20_PR3_all.py.
"""

import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def small_encoder(out_dim=16):
    # (no bias before a batch norm, as ResNets: the norm removes a constant, its gradient is
    # zero up to rounding, and Adam turns that noise into steps that differ between libraries)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1, bias=False),
                         nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, out_dim, bias=False))


def augment(x, generator):
    # random horizontal flip per sample, a random crop of 6x6 resized back, Gaussian noise
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    i, j = torch.randint(0, 3, (2,), generator=generator).tolist()
    x = F.interpolate(x[:, :, i:i + 6, j:j + 6], size=(8, 8), mode="bilinear",
                      align_corners=False)
    return x + 0.1 * torch.randn(x.shape, generator=generator)


def mlp_head(in_dim, hidden, out_dim):
    return nn.Sequential(nn.Linear(in_dim, hidden, bias=False), nn.BatchNorm1d(hidden),
                         nn.ReLU(inplace=True),
                         nn.Linear(hidden, out_dim))


class BYOL(nn.Module):
    def __init__(self, moving_average_decay=0.9):
        super().__init__()
        self.online_encoder = nn.Sequential(small_encoder(16), mlp_head(16, 32, 8))
        self.online_predictor = mlp_head(8, 32, 8)
        self.target_encoder = None
        self.beta = moving_average_decay

    def get_target_encoder(self):
        if self.target_encoder is None:
            self.target_encoder = copy.deepcopy(self.online_encoder)
            for p in self.target_encoder.parameters():
                p.requires_grad = False
        return self.target_encoder

    @torch.no_grad()
    def update_moving_average(self):
        for current, ma in zip(self.online_encoder.parameters(),
                               self.target_encoder.parameters()):
            ma.data = ma.data * self.beta + (1 - self.beta) * current.data

    def forward(self, one, two):
        online_pred_one = self.online_predictor(self.online_encoder(one))
        online_pred_two = self.online_predictor(self.online_encoder(two))
        with torch.no_grad():
            target = self.get_target_encoder()
            target_proj_one = target(one).detach_()
            target_proj_two = target(two).detach_()
        loss_one = byol_loss_fn(online_pred_one, target_proj_two)
        loss_two = byol_loss_fn(online_pred_two, target_proj_one)
        return (loss_one + loss_two).mean()


def byol_loss_fn(x, y):
    x = F.normalize(x, dim=-1, p=2)
    y = F.normalize(y, dim=-1, p=2)
    return 2 - 2 * (x * y).sum(dim=-1)


def section_byol() -> None:
    images = torch.rand(8, 3, 8, 8)
    generator = torch.Generator().manual_seed(1)
    learner = BYOL()
    opt = torch.optim.SGD(learner.parameters(), lr=0.01, momentum=0.9)
    losses = []
    for _step in range(5):
        loss = learner(augment(images, generator), augment(images, generator))
        opt.zero_grad()
        loss.backward()
        opt.step()
        learner.update_moving_average()
        losses.append(loss.item())
    put("byol.losses", losses)
    put("byol.n_trainable", sum(p.numel() for p in learner.parameters() if p.requires_grad))
    put_state("byol.online", learner.online_encoder)
    put_state("byol.target", learner.target_encoder)
    learner.eval()
    with torch.no_grad():
        put("byol.embedding", learner.online_encoder[0](images))


class MoCo(nn.Module):
    def __init__(self, dim=8, K=16, m=0.99, T=0.2):
        super().__init__()
        self.K, self.m, self.T = K, m, T
        self.encoder_q = nn.Sequential(small_encoder(16), nn.ReLU(), nn.Linear(16, dim))
        self.encoder_k = nn.Sequential(small_encoder(16), nn.ReLU(), nn.Linear(16, dim))
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data.copy_(param_q.data)
            param_k.requires_grad = False
        self.register_buffer("queue", torch.randn(dim, K))
        self.queue = nn.functional.normalize(self.queue, dim=0)
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def _momentum_update_key_encoder(self):
        for param_q, param_k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            param_k.data = param_k.data * self.m + param_q.data * (1.0 - self.m)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys):
        batch_size = keys.shape[0]
        ptr = int(self.queue_ptr)
        assert self.K % batch_size == 0
        self.queue[:, ptr:ptr + batch_size] = keys.T
        ptr = (ptr + batch_size) % self.K
        self.queue_ptr[0] = ptr

    @torch.no_grad()
    def _batch_shuffle(self, x):
        idx_shuffle = torch.randperm(x.shape[0])
        idx_unshuffle = torch.argsort(idx_shuffle)
        return x[idx_shuffle], idx_unshuffle

    def forward(self, im_q, im_k):
        q = nn.functional.normalize(self.encoder_q(im_q), dim=1)
        with torch.no_grad():
            self._momentum_update_key_encoder()
            im_k, idx_unshuffle = self._batch_shuffle(im_k)
            k = nn.functional.normalize(self.encoder_k(im_k), dim=1)
            k = k[idx_unshuffle]
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1) / self.T
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        self._dequeue_and_enqueue(k)
        return logits, labels


def accuracy(output, target, topk=(1,)):
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        return [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / batch_size)
                for k in topk]


def section_moco() -> None:
    images = torch.rand(12, 3, 8, 8)
    generator = torch.Generator().manual_seed(2)
    model = MoCo()
    put("moco.queue0", model.queue[:, :4])
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), 0.05,
                                momentum=0.9, weight_decay=1e-4)
    losses, ptrs, accs = [], [], []
    for _epoch in range(2):
        for start in (0, 4, 8):
            batch = images[start:start + 4]
            output, target = model(augment(batch, generator), augment(batch, generator))
            loss = criterion(output, target)
            accs.append(accuracy(output, target, topk=(1, 5)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            ptrs.append(int(model.queue_ptr))
    put("moco.losses", losses)
    put("moco.ptrs", ptrs)
    put("moco.accs", torch.stack([torch.cat(a) for a in accs]))
    put("moco.queue", model.queue)
    put_state("moco.k", model.encoder_k, exclude=("num_batches_tracked",))
    put_state("moco.q", model.encoder_q)
    put("moco.buffers", sorted(name for name, _ in model.named_buffers())[:4])


def off_diagonal(x):
    n, m = x.shape
    assert n == m
    return x.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


class BarlowTwins(nn.Module):
    def __init__(self, lambd=5e-3):
        super().__init__()
        self.lambd = lambd
        self.backbone = small_encoder(16)
        sizes = [16, 32, 32]
        layers = []
        for i in range(len(sizes) - 2):
            layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
            layers.append(nn.BatchNorm1d(sizes[i + 1]))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(sizes[-2], sizes[-1], bias=False))
        self.projector = nn.Sequential(*layers)
        self.bn = nn.BatchNorm1d(sizes[-1], affine=False)

    def forward(self, y1, y2):
        z1 = self.projector(self.backbone(y1))
        z2 = self.projector(self.backbone(y2))
        c = self.bn(z1).T @ self.bn(z2)
        c.div_(y1.shape[0])
        on_diag = torch.diagonal(c).add_(-1).pow_(2).sum()
        off_diag = off_diagonal(c).pow_(2).sum()
        return on_diag + self.lambd * off_diag, c


def vicreg_loss(x, y, sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0):
    repr_loss = F.mse_loss(x, y)
    x = x - x.mean(dim=0)
    y = y - y.mean(dim=0)
    std_x = torch.sqrt(x.var(dim=0) + 0.0001)
    std_y = torch.sqrt(y.var(dim=0) + 0.0001)
    std_loss = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    batch_size, num_features = x.shape
    cov_x = (x.T @ x) / (batch_size - 1)
    cov_y = (y.T @ y) / (batch_size - 1)
    cov_loss = off_diagonal(cov_x).pow_(2).sum().div(num_features) + off_diagonal(
        cov_y).pow_(2).sum().div(num_features)
    loss = sim_coeff * repr_loss + std_coeff * std_loss + cov_coeff * cov_loss
    return loss, torch.stack([repr_loss, std_loss, cov_loss])


def section_barlow() -> None:
    images = torch.rand(8, 3, 8, 8)
    generator = torch.Generator().manual_seed(3)
    model = BarlowTwins()
    param_weights, param_biases = [], []
    for param in model.parameters():
        (param_biases if param.ndim == 1 else param_weights).append(param)
    optimizer = torch.optim.SGD([{"params": param_weights}, {"params": param_biases,
                                                             "weight_decay": 0.0}],
                                lr=0.005, momentum=0.9, weight_decay=1e-4)
    losses = []
    for _step in range(5):
        optimizer.zero_grad()
        loss, c = model(augment(images, generator), augment(images, generator))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("barlow.losses", losses)
    put("barlow.c", c)
    put("barlow.group_sizes", [len(g["params"]) for g in optimizer.param_groups])
    put_state("barlow.state", model)
    # VICReg over the same backbone's projections
    vic = BarlowTwins()
    optimizer = torch.optim.AdamW(vic.parameters(), lr=2e-3)
    record = []
    for _step in range(5):
        x = vic.projector(vic.backbone(augment(images, generator)))
        y = vic.projector(vic.backbone(augment(images, generator)))
        loss, parts = vicreg_loss(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record.append(parts.detach())
    put("barlow.vicreg", torch.stack(record))
    put_state("barlow.vic", vic)


class DINOHead(nn.Module):
    def __init__(self, in_dim, out_dim, hidden_dim=24, bottleneck_dim=8):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(),
                                 nn.Linear(hidden_dim, bottleneck_dim))
        self.apply(self._init_weights)
        self.last_layer = nn.utils.parametrizations.weight_norm(
            nn.Linear(bottleneck_dim, out_dim, bias=False))
        self.last_layer.parametrizations.weight.original0.data.fill_(1)
        self.last_layer.parametrizations.weight.original0.requires_grad = False

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.mlp(x)
        x = nn.functional.normalize(x, dim=-1, p=2)
        return self.last_layer(x)


class MultiCropWrapper(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, x):
        if not isinstance(x, list):
            x = [x]
        idx_crops = torch.cumsum(torch.unique_consecutive(
            torch.tensor([inp.shape[-1] for inp in x]), return_counts=True)[1], 0)
        start_idx, output = 0, torch.empty(0)
        for end_idx in idx_crops:
            _out = self.backbone(torch.cat(x[start_idx:end_idx]))
            output = torch.cat((output, _out))
            start_idx = end_idx
        return self.head(output)


class DINOLoss(nn.Module):
    def __init__(self, out_dim, ncrops, teacher_temp=0.04, student_temp=0.1,
                 center_momentum=0.9):
        super().__init__()
        self.student_temp, self.teacher_temp = student_temp, teacher_temp
        self.center_momentum, self.ncrops = center_momentum, ncrops
        self.register_buffer("center", torch.zeros(1, out_dim))

    def forward(self, student_output, teacher_output):
        student_out = (student_output / self.student_temp).chunk(self.ncrops)
        teacher_out = F.softmax((teacher_output - self.center) / self.teacher_temp, dim=-1)
        teacher_out = teacher_out.detach().chunk(2)
        total_loss, n_loss_terms = 0, 0
        for iq, q in enumerate(teacher_out):
            for v in range(len(student_out)):
                if v == iq:
                    continue
                loss = torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
                total_loss += loss.mean()
                n_loss_terms += 1
        total_loss /= n_loss_terms
        self.update_center(teacher_output)
        return total_loss

    @torch.no_grad()
    def update_center(self, teacher_output):
        batch_center = torch.sum(teacher_output, dim=0, keepdim=True) / len(teacher_output)
        self.center = self.center * self.center_momentum + batch_center * (
            1 - self.center_momentum)


def cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0):
    warmup_schedule = np.linspace(0, base_value, warmup_epochs * niter_per_ep)
    iters = np.arange(epochs * niter_per_ep - warmup_epochs * niter_per_ep)
    schedule = final_value + 0.5 * (base_value - final_value) * (
        1 + np.cos(np.pi * iters / len(iters)))
    return np.concatenate((warmup_schedule, schedule))


def section_dino() -> None:
    images = torch.rand(4, 3, 12, 12)
    student = MultiCropWrapper(small_encoder(16), DINOHead(16, 20))
    teacher = MultiCropWrapper(small_encoder(16), DINOHead(16, 20))
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    dino_loss = DINOLoss(20, ncrops=4)
    params_groups = [{"params": [p for n, p in student.named_parameters() if p.requires_grad
                                 and not n.endswith(".bias") and p.ndim > 1]},
                     {"params": [p for n, p in student.named_parameters() if p.requires_grad
                                 and (n.endswith(".bias") or p.ndim == 1)],
                      "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(params_groups)
    lr_schedule = cosine_scheduler(5e-3, 1e-4, 2, 3, warmup_epochs=1)
    wd_schedule = cosine_scheduler(0.04, 0.4, 2, 3)
    momentum_schedule = cosine_scheduler(0.99, 1.0, 2, 3)
    losses = []
    for it in range(6):
        for i, param_group in enumerate(optimizer.param_groups):
            param_group["lr"] = lr_schedule[it]
            if i == 0:
                param_group["weight_decay"] = wd_schedule[it]
        globals_ = [F.interpolate(images.flip(-1) if k else images, size=(8, 8),
                                  mode="bilinear", antialias=True) for k in range(2)]
        locals_ = [F.adaptive_avg_pool2d(images[:, :, k:k + 8, k:k + 8], 4) for k in (0, 4)]
        teacher_output = teacher(globals_)
        student_output = student(globals_ + locals_)
        loss = dino_loss(student_output, teacher_output)
        optimizer.zero_grad()
        loss.backward()
        if it < 3:  # the last layer is frozen during the first epoch
            for n, p in student.named_parameters():
                if "last_layer" in n:
                    p.grad = None
        nn.utils.clip_grad_norm_(student.parameters(), 3.0)
        optimizer.step()
        with torch.no_grad():
            m = momentum_schedule[it]
            for param_q, param_k in zip(student.parameters(), teacher.parameters()):
                param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)
        losses.append(loss.item())
    put("dino.losses", losses)
    put("dino.center", dino_loss.center)
    put("dino.lr", [g["lr"] for g in optimizer.param_groups])
    put_state("dino.teacher", teacher, exclude=("num_batches_tracked",))
    put("dino.student_head_v", student.head.last_layer.parametrizations.weight.original1)
    put("dino.entropy", -(F.softmax(teacher_output, -1) * F.log_softmax(
        teacher_output, -1)).sum(-1) / math.log(20))


SECTIONS = {"byol": section_byol, "moco": section_moco, "barlow": section_barlow,
            "dino": section_dino}
