"""Detection and augmentation code written in torch, as detection repos write it (PR8, session
24): IoU / GIoU matrices, NMS by hand (sort, masks, a while loop) and its batched offset trick,
anchor generation by meshgrid, Faster R-CNN box encoding / decoding with clamped log sizes,
anchor matching with low-quality matches, a focal + smooth-L1 head trained a few steps, RoIAlign
through affine_grid + grid_sample (and its gradient into the feature map), VOC-style mAP with
cummax precision envelopes; image augmentation as tensor ops with a Generator (random resized
crop, flips, colour jitter in a random order, normalize, cutout). Tiny sizes; run by
prog_s24_PR8_all.py.
"""

import math

import torch
import torch.nn.functional as F
from prog_s23_PR6_harness import put


def box_area(b):
    return (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)


def box_iou(a, b, generalized=False):
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    iou = inter / union
    if not generalized:
        return iou
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    area_c = (rb_c - lt_c).prod(-1)
    return iou - (area_c - union) / area_c


def nms(boxes, scores, threshold):
    order = scores.argsort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(int(i))
        if order.numel() == 1:
            break
        ious = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]])[0]
        order = order[1:][ious <= threshold]
    return torch.tensor(keep, dtype=torch.long)


def _random_boxes(g, n, size=32.0):
    xy = torch.rand(n, 2, generator=g) * size * 0.7
    wh = torch.rand(n, 2, generator=g) * size * 0.3 + 2
    return torch.cat([xy, xy + wh], dim=1)


def section_boxes() -> None:
    g = torch.Generator().manual_seed(80)
    a, b = _random_boxes(g, 6), _random_boxes(g, 5)
    a.requires_grad_(True)
    iou, giou = box_iou(a, b), box_iou(a, b, generalized=True)
    put("box.iou", iou)
    put("box.giou", giou)
    (1 - giou.diagonal()).sum().backward()  # the GIoU loss of matched pairs
    put("box.giou_grad", a.grad)
    # NMS by hand, and the batched trick: boxes of other classes pushed apart by an offset
    boxes = _random_boxes(g, 40)
    scores = torch.rand(40, generator=g)
    classes = torch.randint(0, 3, (40,), generator=g)
    keep = nms(boxes, scores, 0.3)
    put("box.keep", keep)
    offsets = classes.to(boxes) * (boxes.max() + 1)
    keep_batched = nms(boxes + offsets[:, None], scores, 0.3)
    put("box.keep_batched", keep_batched)
    put("box.kept_classes", torch.bincount(classes[keep_batched], minlength=3))
    # the kept boxes overlap each other at most by the threshold
    kept = box_iou(boxes[keep], boxes[keep]).fill_diagonal_(0)
    put("box.kept_max_iou", kept.max())


def anchors_for(feature_size, stride, sizes=(8.0, 16.0), ratios=(0.5, 1.0, 2.0)):
    sizes_t, ratios_t = torch.tensor(sizes), torch.tensor(ratios)
    h_ratios = ratios_t.sqrt()
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * sizes_t[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * sizes_t[None, :]).reshape(-1)
    base = torch.stack([-ws, -hs, ws, hs], dim=1) / 2
    shifts = torch.arange(feature_size, dtype=torch.float32) * stride + stride / 2
    sy, sx = torch.meshgrid(shifts, shifts, indexing="ij")
    sx, sy = sx.reshape(-1), sy.reshape(-1)
    grid = torch.stack([sx, sy, sx, sy], dim=1)
    return (grid[:, None, :] + base[None, :, :]).reshape(-1, 4)


def encode(reference, proposals, weights=(10.0, 10.0, 5.0, 5.0)):
    wx, wy, ww, wh = weights
    pw, ph = proposals[:, 2] - proposals[:, 0], proposals[:, 3] - proposals[:, 1]
    px, py = proposals[:, 0] + 0.5 * pw, proposals[:, 1] + 0.5 * ph
    gw, gh = reference[:, 2] - reference[:, 0], reference[:, 3] - reference[:, 1]
    gx, gy = reference[:, 0] + 0.5 * gw, reference[:, 1] + 0.5 * gh
    return torch.stack([wx * (gx - px) / pw, wy * (gy - py) / ph, ww * torch.log(gw / pw),
                        wh * torch.log(gh / ph)], dim=1)


def decode(deltas, boxes, weights=(10.0, 10.0, 5.0, 5.0)):
    wx, wy, ww, wh = weights
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights
    dx, dy = deltas[:, 0] / wx, deltas[:, 1] / wy
    clamp = math.log(1000.0 / 16)
    dw, dh = (deltas[:, 2] / ww).clamp(max=clamp), (deltas[:, 3] / wh).clamp(max=clamp)
    pcx, pcy = dx * widths + cx, dy * heights + cy
    pw, ph = torch.exp(dw) * widths, torch.exp(dh) * heights
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw, pcy + 0.5 * ph], dim=1)


def match(iou, high=0.5, low=0.3):
    """Per anchor: the index of its ground truth, -1 background, -2 ignored; every ground
    truth keeps its best anchors (low-quality matches)."""
    values, matches = iou.max(dim=0)
    labels = matches.clone()
    labels[values < high] = -2
    labels[values < low] = -1
    best = iou.max(dim=1, keepdim=True).values
    gt_idx, anchor_idx = torch.nonzero(iou == best, as_tuple=True)
    labels[anchor_idx] = matches[anchor_idx]
    return labels


def section_anchors_head() -> None:
    g = torch.Generator().manual_seed(81)
    anchors = anchors_for(4, 8)
    put("anc.anchors", anchors)
    gt = torch.tensor([[2.0, 3.0, 14.0, 12.0], [16.0, 10.0, 30.0, 31.0], [5.0, 20.0, 12.0, 28.0]])
    gt_cls = torch.tensor([0, 1, 1])
    iou = box_iou(gt, anchors)
    labels = match(iou)
    put("anc.labels", labels)
    pos = labels >= 0
    targets = encode(gt[labels.clamp(min=0)], anchors)
    put("anc.targets_pos", targets[pos])
    put("anc.roundtrip", decode(targets[pos], anchors[pos]) - gt[labels[pos]])
    # a head over random anchor features: focal loss for 2 classes, smooth L1 for boxes
    feats = torch.randn(anchors.shape[0], 6, generator=g)
    head = torch.nn.Linear(6, 2 + 4)
    torch.nn.init.normal_(head.weight, std=0.1, generator=g)
    torch.nn.init.constant_(head.bias, -math.log((1 - 0.01) / 0.01))
    opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    cls_target = torch.zeros(anchors.shape[0], 2)
    cls_target[pos, gt_cls[labels[pos]]] = 1.0
    valid = labels != -2
    losses = []
    for _ in range(12):
        out = head(feats)
        logits, deltas = out[:, :2], out[:, 2:]
        p = logits.sigmoid()
        ce = F.binary_cross_entropy_with_logits(logits, cls_target, reduction="none")
        p_t = p * cls_target + (1 - p) * (1 - cls_target)
        alpha_t = 0.25 * cls_target + 0.75 * (1 - cls_target)
        focal = (alpha_t * ce * (1 - p_t) ** 2)[valid].sum() / pos.sum().clamp(min=1)
        box = F.smooth_l1_loss(deltas[pos], targets[pos], beta=1 / 9, reduction="sum")
        loss = focal + box / pos.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append([focal.item(), box.item()])
    put("anc.head_losses", torch.tensor(losses))
    put("anc.head_weight", head.weight)
    with torch.no_grad():
        out = head(feats)
        dets = decode(out[:, 2:], anchors)
        scores, cls = out[:, :2].sigmoid().max(1)
        top = scores.topk(5).indices
        put("anc.top_boxes", dets[top].clamp(0, 32))
        put("anc.top_cls", cls[top])


def roi_align(features, rois, out_size):
    """Bilinear RoIAlign (one sample per bin) via affine_grid + grid_sample; rois in pixels."""
    n = rois.shape[0]
    c, h, w = features.shape[1:]
    x1, y1, x2, y2 = rois.unbind(1)
    theta = torch.zeros(n, 2, 3, dtype=features.dtype)
    theta[:, 0, 0] = (x2 - x1) / w
    theta[:, 0, 2] = (x1 + x2) / w - 1
    theta[:, 1, 1] = (y2 - y1) / h
    theta[:, 1, 2] = (y1 + y2) / h - 1
    grid = F.affine_grid(theta, [n, c, out_size, out_size], align_corners=False)
    return F.grid_sample(features.expand(n, -1, -1, -1), grid, mode="bilinear",
                         padding_mode="zeros", align_corners=False)


def section_roi_align() -> None:
    g = torch.Generator().manual_seed(82)
    feats = torch.randn(1, 3, 8, 8, generator=g, requires_grad=True)
    rois = torch.tensor([[0.0, 0.0, 8.0, 8.0], [1.5, 2.0, 6.0, 7.5], [4.0, 0.5, 7.9, 3.0]])
    pooled = roi_align(feats, rois, 3)
    put("roi.pooled", pooled)
    # the whole-image RoI at the feature size is the identity
    whole = roi_align(feats, rois[:1], 8)
    put("roi.identity_gap", (whole - feats).abs().max())
    (pooled ** 2).sum().backward()
    put("roi.grad", feats.grad)


def average_precision(scores, matched, n_gt):
    order = scores.argsort(descending=True)
    tp = matched[order].float()
    fp = 1 - tp
    tp_c, fp_c = tp.cumsum(0), fp.cumsum(0)
    recall = tp_c / n_gt
    precision = tp_c / (tp_c + fp_c)
    mrec = torch.cat([torch.zeros(1), recall, torch.ones(1)])
    mpre = torch.cat([torch.zeros(1), precision, torch.zeros(1)])
    mpre = mpre.flip(0).cummax(0).values.flip(0)
    return ((mrec[1:] - mrec[:-1]) * mpre[1:]).sum(), precision, recall


def section_map() -> None:
    g = torch.Generator().manual_seed(83)
    aps = []
    for cls in range(3):
        gt = _random_boxes(g, 4)
        jitter = torch.randn(4, 4, generator=g) * 1.5
        dets = torch.cat([gt + jitter, _random_boxes(g, 5)])
        scores = torch.rand(9, generator=g)
        order = scores.argsort(descending=True)
        iou = box_iou(dets, gt)
        taken = torch.zeros(4, dtype=torch.bool)
        matched = torch.zeros(9, dtype=torch.bool)
        for d in order.tolist():  # greedy in score order, each ground truth once
            best_iou, best = iou[d].max(0)
            if best_iou >= 0.5 and not taken[best]:
                taken[best] = True
                matched[d] = True
        ap, precision, recall = average_precision(scores, matched, 4)
        put(f"map.precision{cls}", precision)
        put(f"map.recall{cls}", recall)
        aps.append(ap)
    aps = torch.stack(aps)
    put("map.aps", aps)
    put("map.mAP", aps.mean())
    put("map.text", f"mAP@0.5 = {aps.mean().item():.4f} ({', '.join(f'{a:.3f}' for a in aps)})")


def color_jitter(img, g, brightness=0.4, contrast=0.4, saturation=0.4):
    factors = torch.empty(3).uniform_(0.6, 1.4, generator=g)
    gray_w = torch.tensor([0.299, 0.587, 0.114])[:, None, None]
    for op in torch.randperm(3, generator=g).tolist():
        f = factors[op]
        if op == 0:
            img = (img * f).clamp(0, 1)
        elif op == 1:
            mean = (img * gray_w).sum(0).mean()
            img = (f * img + (1 - f) * mean).clamp(0, 1)
        else:
            gray = (img * gray_w).sum(0, keepdim=True)
            img = (f * img + (1 - f) * gray).clamp(0, 1)
    return img


def random_resized_crop(img, g, size, scale=(0.3, 1.0), ratio=(3 / 4, 4 / 3)):
    _, h, w = img.shape
    area = h * w
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target = area * torch.empty(1).uniform_(scale[0], scale[1], generator=g).item()
        aspect = math.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1],
                                                  generator=g).item())
        cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = torch.randint(0, h - ch + 1, (1,), generator=g).item()
            left = torch.randint(0, w - cw + 1, (1,), generator=g).item()
            crop = img[:, top:top + ch, left:left + cw]
            return F.interpolate(crop[None], size=(size, size), mode="bilinear",
                                 align_corners=False)[0], (top, left, ch, cw)
    return F.interpolate(img[None], size=(size, size), mode="bilinear",
                         align_corners=False)[0], (0, 0, h, w)


def cutout(img, g, length):
    _, h, w = img.shape
    cy = torch.randint(h, (1,), generator=g).item()
    cx = torch.randint(w, (1,), generator=g).item()
    ys, xs = torch.arange(h)[:, None], torch.arange(w)[None, :]
    mask = ((ys - cy).abs() <= length // 2) & ((xs - cx).abs() <= length // 2)
    return img.masked_fill(mask, 0.0)


def section_augment() -> None:
    g = torch.Generator().manual_seed(84)
    images = torch.rand(4, 3, 12, 16, generator=g)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    out, crops, flips = [], [], []
    for img in images:
        img, crop = random_resized_crop(img, g, 8)
        crops.append(crop)
        flip = bool(torch.rand(1, generator=g) < 0.5)
        flips.append(flip)
        if flip:
            img = img.flip(-1)
        if torch.rand(1, generator=g) < 0.3:
            img = img.flip(-2)
        img = color_jitter(img, g)
        img = (img - mean) / std
        out.append(cutout(img, g, 3))
    batch = torch.stack(out)
    put("aug.batch", batch)
    put("aug.crops", torch.tensor(crops))
    put("aug.flips", torch.tensor(flips))
    put("aug.channel_mean", batch.mean(dim=(0, 2, 3)))
    put("aug.zeros", (batch == 0).sum())
    put("aug.gen_state_sum", g.get_state().sum())


SECTIONS = {"boxes": section_boxes, "anchors_head": section_anchors_head,
            "roi_align": section_roi_align, "map": section_map, "augment": section_augment}
