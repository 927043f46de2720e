"""Contrastive and detection code in the style widely copied on GitHub, written afresh (PR,
session 18): CLIP's symmetric loss with a learnable, clamped logit_scale; SimCLR's NT-Xent; a
Gumbel-softmax (hard=True) categorical VAE; focal, dice and (G)IoU losses; anchor generation
with meshgrid, box encoding / decoding with clamped log-sizes, and NMS by hand (no
torchvision); label-smoothed cross entropy by hand against the built-in. Tiny sizes; run by
prog_s18_PR_all.py.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class TinyCLIP(nn.Module):
    def __init__(self, embed_dim=6):
        super().__init__()
        self.visual = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(),
                                    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                    nn.Linear(4, embed_dim))
        self.token_embedding = nn.Embedding(11, 8)
        self.text_projection = nn.Parameter(torch.empty(8, embed_dim))
        nn.init.normal_(self.text_projection, std=8 ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def encode_text(self, text):
        x = self.token_embedding(text)
        x = x[torch.arange(x.shape[0]), text.argmax(dim=-1)]
        return x @ self.text_projection

    def forward(self, image, text):
        image_features = self.visual(image)
        text_features = self.encode_text(text)
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = F.normalize(text_features, dim=-1)
        logit_scale = self.logit_scale.exp()
        logits_per_image = logit_scale * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


def section_clip() -> None:
    model = TinyCLIP()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-2, betas=(0.9, 0.98), eps=1e-6)
    images, texts = torch.randn(5, 3, 9, 9), torch.randint(1, 11, (5, 4))
    losses = []
    for _ in range(4):
        logits_per_image, logits_per_text = model(images, texts)
        labels = torch.arange(len(logits_per_image), dtype=torch.long)
        loss = (F.cross_entropy(logits_per_image, labels)
                + F.cross_entropy(logits_per_text, labels)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        losses.append(loss.item())
    put("clip.losses", losses)
    put("clip.logit_scale", model.logit_scale)
    put("clip.accuracy", (logits_per_image.argmax(-1) == labels).float().mean())
    put_state("clip", model)


def nt_xent(z_i, z_j, temperature=0.5):
    batch_size = z_i.shape[0]
    z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
    sim = F.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=2) / temperature
    mask = torch.eye(2 * batch_size, dtype=torch.bool)
    sim = sim.masked_fill(mask, -9e15)
    targets = torch.cat([torch.arange(batch_size) + batch_size, torch.arange(batch_size)])
    return F.cross_entropy(sim, targets)


def section_simclr() -> None:
    encoder = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
    optimizer = torch.optim.SGD(encoder.parameters(), lr=0.3, momentum=0.9, nesterov=True)
    x = torch.randn(6, 10)
    losses = []
    for _ in range(4):
        view1 = x + 0.1 * torch.randn_like(x)
        view2 = x * (torch.rand_like(x) > 0.2)
        loss = nt_xent(encoder(view1), encoder(view2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("simclr.losses", losses)
    put_state("simclr", encoder)


def section_gumbel() -> None:
    logits = torch.randn(4, 5, requires_grad=True)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    soft = F.gumbel_softmax(logits, tau=1.0, hard=False, dim=-1)
    put("gumbel.hard", hard)
    put("gumbel.soft", soft)
    (hard * torch.arange(5.0)).sum().backward()
    put("gumbel.grad", logits.grad)
    encoder, decoder = nn.Linear(8, 3 * 4), nn.Linear(3 * 4, 8)
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-2)
    x = (torch.rand(6, 8) > 0.5).float()
    losses = []
    for step in range(4):
        q = encoder(x).view(-1, 3, 4)
        z = F.gumbel_softmax(q, tau=max(0.5, 1.0 * math.exp(-0.3 * step)), hard=True)
        recon = decoder(z.view(-1, 12))
        qy = F.softmax(q, dim=-1)
        kl = (qy * torch.log(qy * 4 + 1e-20)).sum(-1).mean()
        loss = F.binary_cross_entropy_with_logits(recon, x, reduction="sum") / x.shape[0] + kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("gumbel.losses", losses)


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


def dice_loss(logits, targets, smooth=1.0):
    probs = logits.softmax(dim=1)
    one_hot = F.one_hot(targets, probs.shape[1]).permute(0, 3, 1, 2).float()
    inter = (probs * one_hot).sum(dim=(2, 3))
    union = probs.sum(dim=(2, 3)) + one_hot.sum(dim=(2, 3))
    return 1 - ((2 * inter + smooth) / (union + smooth)).mean()


def box_iou_giou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2 - inter
    iou = inter / union
    lti = torch.min(boxes1[:, None, :2], boxes2[:, :2])
    rbi = torch.max(boxes1[:, None, 2:], boxes2[:, 2:])
    area = (rbi - lti).clamp(min=0).prod(-1)
    return iou, iou - (area - union) / area


def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(i.item())
        if order.numel() == 1:
            break
        iou, _ = box_iou_giou(boxes[i].unsqueeze(0), boxes[order[1:]])
        order = order[1:][iou[0] <= iou_threshold]
    return torch.tensor(keep, dtype=torch.int64)


def section_detect() -> None:
    logits, targets = torch.randn(6, 4, requires_grad=True), (torch.rand(6, 4) > 0.7).float()
    focal = sigmoid_focal_loss(logits, targets)
    focal.backward()
    put("detect.focal", focal)
    put("detect.focal_grad", logits.grad)
    seg = torch.randn(2, 3, 5, 5, requires_grad=True)
    dice = dice_loss(seg, torch.randint(0, 3, (2, 5, 5)))
    dice.backward()
    put("detect.dice", dice)
    put("detect.dice_grad", seg.grad)
    # anchors on a 3x4 feature map of stride 8, three sizes x two ratios
    scales, ratios = torch.tensor([16.0, 32.0, 48.0]), torch.tensor([0.5, 2.0])
    h_ratios = torch.sqrt(ratios)
    ws = (scales[None, :] / h_ratios[:, None]).view(-1)
    hs = (scales[None, :] * h_ratios[:, None]).view(-1)
    base = (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()
    shift_y, shift_x = torch.meshgrid(torch.arange(3) * 8.0, torch.arange(4) * 8.0, indexing="ij")
    shifts = torch.stack((shift_x.reshape(-1), shift_y.reshape(-1)) * 2, dim=1)
    anchors = (shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4)
    put("detect.anchors", anchors)
    gt = torch.tensor([[2.0, 3.0, 20.0, 30.0], [10.0, 0.0, 40.0, 12.0]])
    iou, giou = box_iou_giou(anchors, gt)
    put("detect.iou", iou)
    put("detect.giou", giou)
    matched_vals, matches = iou.max(dim=1)
    put("detect.matches", torch.where(matched_vals > 0.3, matches, torch.full_like(matches, -1)))
    matched = gt[matches]
    wa, ha = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    cxa, cya = anchors[:, 0] + 0.5 * wa, anchors[:, 1] + 0.5 * ha
    wg, hg = matched[:, 2] - matched[:, 0], matched[:, 3] - matched[:, 1]
    cxg, cyg = matched[:, 0] + 0.5 * wg, matched[:, 1] + 0.5 * hg
    deltas = torch.stack([(cxg - cxa) / wa, (cyg - cya) / ha,
                          torch.log(wg / wa), torch.log(hg / ha)], dim=1)
    put("detect.deltas", deltas)
    dw = deltas[:, 2].clamp(max=math.log(1000.0 / 16))
    pred_w, pred_h = torch.exp(dw) * wa, torch.exp(deltas[:, 3]) * ha
    pcx, pcy = deltas[:, 0] * wa + cxa, deltas[:, 1] * ha + cya
    decoded = torch.stack([pcx - 0.5 * pred_w, pcy - 0.5 * pred_h,
                           pcx + 0.5 * pred_w, pcy + 0.5 * pred_h], dim=1)
    put("detect.decoded", decoded)
    boxes = anchors + torch.randn(anchors.shape) * 2
    boxes[:, 2:] = torch.max(boxes[:, 2:], boxes[:, :2] + 1)
    scores = torch.rand(len(boxes))
    keep = nms(boxes, scores, 0.5)
    put("detect.keep", keep)
    pred = boxes[keep[:2]].clone().requires_grad_(True)
    _, g = box_iou_giou(pred, gt)
    giou_loss = (1 - torch.diag(g)).mean()
    giou_loss.backward()
    put("detect.giou_grad", pred.grad)


def section_smooth() -> None:
    logits, target = torch.randn(7, 5, requires_grad=True), torch.randint(0, 5, (7,))
    target[2] = -100
    eps = 0.1
    logprobs = F.log_softmax(logits, dim=-1)
    nll = -logprobs.gather(dim=-1, index=target.clamp(min=0).unsqueeze(1)).squeeze(1)
    smooth = -logprobs.mean(dim=-1)
    valid = target != -100
    by_hand = (((1 - eps) * nll + eps * smooth) * valid).sum() / valid.sum()
    builtin = F.cross_entropy(logits, target, label_smoothing=eps)
    put("smooth.by_hand", by_hand)
    put("smooth.builtin", builtin)
    put("smooth.grad", torch.autograd.grad(builtin, logits)[0])
    weight = torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0])
    put("smooth.weighted", nn.CrossEntropyLoss(weight=weight, label_smoothing=0.2)(logits, target))
    put("smooth.weighted_sum", F.cross_entropy(logits, target, weight=weight, label_smoothing=0.2,
                                               reduction="sum"))
    probs_target = torch.softmax(torch.randn(7, 5), dim=1)
    put("smooth.soft_targets", F.cross_entropy(logits, probs_target, label_smoothing=0.3))


SECTIONS = {"clip": section_clip, "simclr": section_simclr, "gumbel": section_gumbel,
            "detect": section_detect, "smooth": section_smooth}
