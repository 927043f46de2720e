"""Model-family programs (PR13, session 27), written afresh in the style of widely copied code,
printing what such scripts print: a mixture density network (MixtureSameFamily of Normals
under Categorical logits, sampling, the mode), a planar normalizing flow by hand on a 2-d
target density, matrix factorisation with biases and an EmbeddingBag content model (offsets,
per_sample_weights, mode="max"), time-series forecasting with a causal Conv1d (dilations) and
a GRU on sliding windows, box utilities written by hand (IoU / GIoU matrices, NMS with a
while loop, batched NMS by coordinate offsets, box coding), and stochastic weight averaging
(AveragedModel, SWALR, update_bn). Tiny sizes, seeded; run by prog_s27_PR13_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import math

import torch
import torch.distributions as D
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_mdn() -> None:
    g = torch.Generator().manual_seed(40)
    y = torch.rand(200, 1, generator=g) * 2 - 1
    x = torch.sin(3 * y) + 0.3 * y + 0.05 * torch.randn(200, 1, generator=g)  # multivalued y(x)
    torch.manual_seed(40)
    K = 3

    class MDN(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(1, 24), nn.Tanh())
            self.pi = nn.Linear(24, K)
            self.mu = nn.Linear(24, K)
            self.log_sigma = nn.Linear(24, K)

        def forward(self, x):
            h = self.body(x)
            sigma = self.log_sigma(h).clamp(-5, 3).exp()
            mix = D.Categorical(logits=self.pi(h))
            comp = D.Normal(self.mu(h), sigma)
            return D.MixtureSameFamily(mix, comp)

    # (float64: the mixture sharpens fast and Adam's steps amplify float32 roundoff)
    model = MDN().double()
    x, y = x.double(), y.double()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    with printed("mdn.log"):
        for step in range(60):
            dist = model(x)
            loss = -dist.log_prob(y.squeeze(1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 20 == 19:
                print(f"step {step + 1} nll {loss.item():.4f}")
        with torch.no_grad():
            dist = model(torch.tensor([[0.0], [0.5]], dtype=torch.float64))
            print("batch_shape", dist.batch_shape, "event_shape", dist.event_shape)
            print("mean", dist.mean.numpy().round(3).tolist(),
                  "stddev", dist.stddev.numpy().round(3).tolist())
            weights = dist.mixture_distribution.probs
            print("weights", weights.numpy().round(3).tolist())
            best = weights.argmax(-1)
            mode = dist.component_distribution.loc.gather(-1, best.unsqueeze(-1)).squeeze(-1)
            print("mode", mode.numpy().round(3).tolist())
            torch.manual_seed(1)
            s = dist.sample((4,))
            print("samples", tuple(s.shape), s.numpy().round(3).tolist())
            print("cdf", dist.cdf(torch.zeros(2, dtype=torch.float64)).numpy().round(4).tolist())
    put("mdn.mu", model.mu.weight)


def section_planar_flow() -> None:
    torch.manual_seed(41)

    def log_target(z):
        z1, z2 = z[:, 0], z[:, 1]
        r = torch.sqrt(z1 ** 2 + z2 ** 2)
        term = (0.5 * ((r - 2) / 0.4) ** 2
                - torch.log(torch.exp(-0.5 * ((z1 - 2) / 0.6) ** 2)
                            + torch.exp(-0.5 * ((z1 + 2) / 0.6) ** 2)))
        return -term

    class Planar(nn.Module):
        def __init__(self):
            super().__init__()
            self.u = nn.Parameter(torch.randn(2) * 0.1)
            self.w = nn.Parameter(torch.randn(2) * 0.1)
            self.b = nn.Parameter(torch.zeros(1))

        def forward(self, z):
            wu = self.w @ self.u
            u_hat = self.u + (F.softplus(wu) - 1 - wu) * self.w / (self.w @ self.w)
            lin = z @ self.w + self.b
            f = z + u_hat * torch.tanh(lin).unsqueeze(1)
            psi = (1 - torch.tanh(lin) ** 2).unsqueeze(1) * self.w
            logdet = torch.log((1 + psi @ u_hat).abs() + 1e-8)
            return f, logdet

    flows = nn.ModuleList([Planar() for _ in range(6)])
    base = D.MultivariateNormal(torch.zeros(2), torch.eye(2))
    opt = torch.optim.RMSprop(flows.parameters(), lr=5e-3, momentum=0.9)
    with printed("flow.log"):
        for step in range(50):
            z0 = base.sample((128,))
            z, total = z0, torch.zeros(128)
            for f in flows:
                z, ld = f(z)
                total = total + ld
            loss = (base.log_prob(z0) - total - log_target(z)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 10 == 9:
                print(f"step {step + 1} reverse KL {loss.item():.4f}")
        print("final mean", z.mean(0).detach().numpy().round(3).tolist())
        print("u.w >= -1 after the fix:", all(
            (f.w @ (f.u + (F.softplus(f.w @ f.u) - 1 - f.w @ f.u) * f.w / (f.w @ f.w))).item()
            >= -1 for f in flows))
    put("flow.w", [f.w for f in flows])


def section_recsys() -> None:
    g = torch.Generator().manual_seed(42)
    n_users, n_items = 12, 15
    users = torch.randint(0, n_users, (120,), generator=g)
    items = torch.randint(0, n_items, (120,), generator=g)
    true_u, true_i = torch.randn(n_users, 3, generator=g), torch.randn(n_items, 3, generator=g)
    ratings = ((true_u[users] * true_i[items]).sum(1) + 3).clamp(1, 5)
    torch.manual_seed(42)

    class MF(nn.Module):
        def __init__(self):
            super().__init__()
            self.u = nn.Embedding(n_users, 4)
            self.i = nn.Embedding(n_items, 4)
            self.ub = nn.Embedding(n_users, 1)
            self.ib = nn.Embedding(n_items, 1)
            nn.init.normal_(self.u.weight, std=0.1)
            nn.init.normal_(self.i.weight, std=0.1)
            nn.init.zeros_(self.ub.weight)
            nn.init.zeros_(self.ib.weight)
            self.mu = nn.Parameter(torch.tensor(3.0))

        def forward(self, u, i):
            dot = (self.u(u) * self.i(i)).sum(1)
            return dot + self.ub(u).squeeze(1) + self.ib(i).squeeze(1) + self.mu

    model = MF()
    opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-4)
    with printed("rec.log"):
        for epoch in range(25):
            pred = model(users, items)
            loss = F.mse_loss(pred, ratings)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if epoch % 5 == 4:
                print(f"epoch {epoch + 1} rmse {loss.sqrt().item():.4f}")
        with torch.no_grad():
            scores = model.u.weight[:2] @ model.i.weight.T + model.ib.weight.T
            top = scores.topk(3, dim=1)
        print("top items", top.indices.tolist(), top.values.numpy().round(3).tolist())
        bag = nn.EmbeddingBag(20, 4, mode="mean")
        tokens = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9])
        offsets = torch.tensor([0, 4])
        print("bag mean", bag(tokens, offsets).detach().numpy().round(4).tolist())
        bag_sum = nn.EmbeddingBag.from_pretrained(bag.weight.detach(), mode="sum", freeze=False)
        w = torch.tensor([0.5, 1.0, 2.0, 0.0, 1.0, 1.0, 1.0, 0.5])
        out = bag_sum(tokens, offsets, per_sample_weights=w)
        out.sum().backward()
        print("weighted sum", out.detach().numpy().round(4).tolist())
        print("grad rows touched", bag_sum.weight.grad.abs().sum(1).nonzero().flatten().tolist())
        bag_max = nn.EmbeddingBag.from_pretrained(bag.weight.detach(), mode="max")
        print("bag max 2-d", bag_max(torch.tensor([[1, 2], [3, 9]])).numpy().round(4).tolist())
        last = nn.EmbeddingBag(20, 4, mode="sum", include_last_offset=True, padding_idx=0)
        r = last(torch.tensor([0, 3, 5, 0]), torch.tensor([0, 2, 4]))
        print("include_last_offset", tuple(r.shape), last.weight[0].abs().sum().item())
    put("rec.u", model.u.weight)


def section_forecast() -> None:
    t = torch.arange(240, dtype=torch.float32)
    g = torch.Generator().manual_seed(43)
    series = torch.sin(t * 2 * math.pi / 24) + 0.5 * torch.sin(t * 2 * math.pi / 60) \
        + 0.1 * torch.randn(240, generator=g)
    mean, std = series[:180].mean(), series[:180].std()
    norm = (series - mean) / std
    win = 32
    windows = norm.unfold(0, win + 1, 1)
    X, Y = windows[:, :win], windows[:, win]
    Xtr, Ytr, Xte, Yte = X[:150], Y[:150], X[150:], Y[150:]
    torch.manual_seed(43)

    class TCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(
                nn.Conv1d(1 if d == 1 else 8, 8, kernel_size=2, dilation=d) for d in (1, 2, 4, 8))
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            h = x.unsqueeze(1)
            for conv in self.convs:
                h = F.relu(conv(F.pad(h, (conv.dilation[0], 0))))
            return self.head(h[:, :, -1]).squeeze(1)

    class GRUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 12, num_layers=2, batch_first=True, dropout=0.0)
            self.head = nn.Linear(12, 1)

        def forward(self, x):
            out, h = self.gru(x.unsqueeze(-1))
            return self.head(out[:, -1]).squeeze(1)

    with printed("fc.log"):
        for name, model in (("tcn", TCN()), ("gru", GRUNet())):
            opt = torch.optim.Adam(model.parameters(), lr=0.01)
            for epoch in range(8):
                perm = torch.randperm(150, generator=g)
                for idx in perm.split(30):
                    loss = F.mse_loss(model(Xtr[idx]), Ytr[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            model.eval()
            with torch.no_grad():
                pred = model(Xte)
                mae = (pred - Yte).abs().mean() * std
                hist = X[-1:].clone()
                roll = []
                for _ in range(5):
                    nxt = model(hist)
                    roll.append(round((nxt * std + mean).item(), 3))
                    hist = torch.cat([hist[:, 1:], nxt.unsqueeze(1)], dim=1)
            print(f"{name}: test mae {mae.item():.4f} last loss {loss.item():.4f}")
            print(f"{name} rollout", roll)
        naive = (Xte[:, -1] - Yte).abs().mean() * std
        print(f"naive mae {naive.item():.4f}")
        print("receptive field", 1 + sum(d for d in (1, 2, 4, 8)))
    put("fc.pred", pred)


def box_iou(a, b):
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return inter / union, union


def generalized_iou(a, b):
    iou, union = box_iou(a, b)
    lt = torch.min(a[:, None, :2], b[None, :, :2])
    rb = torch.max(a[:, None, 2:], b[None, :, 2:])
    area = (rb - lt).clamp(min=0).prod(-1)
    return iou - (area - union) / area


def nms(boxes, scores, thresh):
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(i.item())
        if order.numel() == 1:
            break
        iou, _ = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]])
        order = order[1:][iou[0] <= thresh]
    return torch.tensor(keep, dtype=torch.long)


def section_boxes() -> None:
    g = torch.Generator().manual_seed(44)
    xy = torch.rand(12, 2, generator=g) * 40
    wh = torch.rand(12, 2, generator=g) * 20 + 5
    boxes = torch.cat([xy, xy + wh], 1).round()
    scores = torch.rand(12, generator=g)
    classes = torch.randint(0, 3, (12,), generator=g)
    with printed("box.log"):
        iou, _ = box_iou(boxes[:4], boxes[:4])
        print(iou.numpy().round(3))
        print("giou", generalized_iou(boxes[:3], boxes[3:6]).numpy().round(3).tolist())
        keep = nms(boxes, scores, 0.3)
        print("nms keep", keep.tolist())
        offsets = classes.to(boxes) * (boxes.max() + 1)
        keep_b = nms(boxes + offsets[:, None], scores, 0.3)
        print("batched nms keep", keep_b.tolist(), "classes", classes[keep_b].tolist())
        anchors = boxes[:3]
        gt = boxes[3:6]
        aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
        ax, ay = anchors[:, 0] + aw / 2, anchors[:, 1] + ah / 2
        gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
        gx, gy = gt[:, 0] + gw / 2, gt[:, 1] + gh / 2
        deltas = torch.stack([(gx - ax) / aw, (gy - ay) / ah, torch.log(gw / aw),
                              torch.log(gh / ah)], 1)
        print("deltas", deltas.numpy().round(4).tolist())
        cx = deltas[:, 0] * aw + ax
        w = torch.exp(deltas[:, 2]) * aw
        print("decoded x1 matches", torch.allclose(cx - w / 2, gt[:, 0], atol=1e-4))
        ious, _ = box_iou(boxes, gt)
        best_iou, best_gt = ious.max(1)
        labels = torch.full((12,), -1)
        labels[best_iou < 0.3] = 0
        labels[best_iou >= 0.5] = 1
        labels[ious.argmax(0)] = 1
        print("anchor labels", labels.tolist(), best_gt.tolist())
        area = (boxes[:, 2:] - boxes[:, :2]).prod(1)
        print("areas", area.int().tolist())
        clipped = boxes.clone()
        clipped[:, 0::2] = clipped[:, 0::2].clamp(0, 48)
        clipped[:, 1::2] = clipped[:, 1::2].clamp(0, 48)
        print("clipped", clipped[:3].tolist())
        valid = ((clipped[:, 2:] - clipped[:, :2]) > 1).all(1)
        print("valid", valid.sum().item(), torch.where(~valid)[0].tolist())
    put("box.iou", iou)


def section_swa() -> None:
    from torch.optim.swa_utils import SWALR, AveragedModel, update_bn
    g = torch.Generator().manual_seed(45)
    x = torch.randn(96, 4, generator=g)
    y = (x[:, :1] * 2 - x[:, 1:2]) + 0.1 * torch.randn(96, 1, generator=g)
    torch.manual_seed(45)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 1))
    swa = AveragedModel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    swa_sched = SWALR(opt, swa_lr=0.02, anneal_epochs=2, anneal_strategy="linear")
    loader = [(x[i:i + 24], y[i:i + 24]) for i in range(0, 96, 24)]
    with printed("swa.log"):
        for epoch in range(10):
            for xb, yb in loader:
                opt.zero_grad()
                F.mse_loss(model(xb), yb).backward()
                opt.step()
            if epoch >= 5:
                swa.update_parameters(model)
                swa_sched.step()
            else:
                sched.step()
            print(f"epoch {epoch} lr {opt.param_groups[0]['lr']:.5f}")
        print("n_averaged", swa.n_averaged)
        update_bn(loader, swa)
        swa.eval()
        model.eval()
        with torch.no_grad():
            print(f"swa mse {F.mse_loss(swa(x), y).item():.4f} "
                  f"last mse {F.mse_loss(model(x), y).item():.4f}")
        print("swa keys", list(swa.state_dict())[:3], len(swa.state_dict()))
        print("running mean", swa.module[1].running_mean[:3].numpy().round(4).tolist())
    put("swa.w", swa.module[0].weight)


SECTIONS = {
    "mdn": section_mdn, "planar_flow": section_planar_flow, "recsys": section_recsys,
    "forecast": section_forecast, "boxes": section_boxes, "swa": section_swa,
}
