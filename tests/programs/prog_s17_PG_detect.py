"""Idioms of widely copied detection / translation / pre-training code, written afresh in their
style (PG, session 17): a YOLO-style head with its target builder, CIoU and objectness loss and
a plain NMS; CycleGAN's generator blocks, image pool, LSGAN loss and linear-decay schedule; BERT's
80/10/10 masked-language-model corruption and loss. Tiny sizes, synthetic data, seeded.
"""

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def bbox_iou(box1, box2, xywh=True, CIoU=False, eps=1e-7):
    if xywh:
        (x1, y1, w1, h1), (x2, y2, w2, h2) = box1.chunk(4, -1), box2.chunk(4, -1)
        w1_, h1_, w2_, h2_ = w1 / 2, h1 / 2, w2 / 2, h2 / 2
        b1_x1, b1_x2, b1_y1, b1_y2 = x1 - w1_, x1 + w1_, y1 - h1_, y1 + h1_
        b2_x1, b2_x2, b2_y1, b2_y2 = x2 - w2_, x2 + w2_, y2 - h2_, y2 + h2_
    else:
        b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
        b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
        w1, h1 = b1_x2 - b1_x1, (b1_y2 - b1_y1).clamp(eps)
        w2, h2 = b2_x2 - b2_x1, (b2_y2 - b2_y1).clamp(eps)
    inter = ((b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp(0)
             * (b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)).clamp(0))
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    if CIoU:
        cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
        ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
        c2 = cw.pow(2) + ch.pow(2) + eps
        rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2)
                + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
        v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
        with torch.no_grad():
            alpha = v / (v - iou + (1 + eps))
        return iou - (rho2 / c2 + v * alpha)
    return iou


def section_yolo() -> None:
    nc, na, nl = 3, 3, 2
    no = nc + 5
    anchors = torch.tensor([[[1.0, 1.3], [2.0, 3.0], [3.3, 2.3]],
                            [[1.9, 3.6], [4.0, 2.9], [3.9, 7.7]]])
    strides = torch.tensor([4.0, 8.0])

    class Detect(nn.Module):
        def __init__(self, ch=(8, 8)):
            super().__init__()
            self.register_buffer("anchors", anchors.clone())
            self.m = nn.ModuleList(nn.Conv2d(x, no * na, 1) for x in ch)
            self.grid = [torch.empty(0) for _ in range(nl)]
            self.anchor_grid = [torch.empty(0) for _ in range(nl)]

        def forward(self, x):
            z = []
            for i in range(nl):
                x[i] = self.m[i](x[i])
                bs, _, ny, nx = x[i].shape
                x[i] = x[i].view(bs, na, no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
                if not self.training:
                    self.grid[i], self.anchor_grid[i] = self._make_grid(nx, ny, i)
                    xy, wh, conf = x[i].sigmoid().split((2, 2, nc + 1), 4)
                    xy = (xy * 2 + self.grid[i]) * strides[i]
                    wh = (wh * 2) ** 2 * self.anchor_grid[i]
                    z.append(torch.cat((xy, wh, conf), 4).view(bs, na * nx * ny, no))
            return x if self.training else (torch.cat(z, 1), x)

        def _make_grid(self, nx, ny, i):
            shape = 1, na, ny, nx, 2
            y, x = torch.arange(ny), torch.arange(nx)
            yv, xv = torch.meshgrid(y, x, indexing="ij")
            grid = torch.stack((xv, yv), 2).expand(shape) - 0.5
            anchor_grid = (self.anchors[i] * strides[i]).view((1, na, 1, 1, 2)).expand(shape)
            return grid, anchor_grid

    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.SiLU(),
                             nn.Conv2d(8, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.SiLU())
    down = nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1), nn.SiLU())
    head = Detect()

    def model(imgs):
        p3 = backbone(imgs)
        return head([p3, down(p3)])

    def build_targets(p, targets):
        nt = targets.shape[0]
        tcls, tbox, indices, anch = [], [], [], []
        gain = torch.ones(7)
        ai = torch.arange(na).float().view(na, 1).repeat(1, nt)
        targets = torch.cat((targets.repeat(na, 1, 1), ai[..., None]), 2)
        g = 0.5
        off = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]).float() * g
        for i in range(nl):
            anchors_i, shape = head.anchors[i], p[i].shape
            gain[2:6] = torch.tensor(shape)[[3, 2, 3, 2]]
            t = targets * gain
            if nt:
                r = t[..., 4:6] / anchors_i[:, None]
                j = torch.max(r, 1 / r).max(2)[0] < 4.0
                t = t[j]
                gxy = t[:, 2:4]
                gxi = gain[[2, 3]] - gxy
                j, k = ((gxy % 1 < g) & (gxy > 1)).T
                l, m = ((gxi % 1 < g) & (gxi > 1)).T
                j = torch.stack((torch.ones_like(j), j, k, l, m))
                t = t.repeat((5, 1, 1))[j]
                offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
            else:
                t = targets[0]
                offsets = 0
            bc, gxy, gwh, a = t.chunk(4, 1)
            a, (b, c) = a.long().view(-1), bc.long().T
            gij = (gxy - offsets).long()
            gi, gj = gij.T
            gj = gj.clamp_(0, shape[2] - 1)
            gi = gi.clamp_(0, shape[3] - 1)
            indices.append((b, a, gj, gi))
            tbox.append(torch.cat((gxy - gij, gwh), 1))
            anch.append(anchors_i[a])
            tcls.append(c)
        return tcls, tbox, indices, anch

    BCEcls = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    BCEobj = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0]))
    balance = [4.0, 1.0]

    def compute_loss(p, targets):
        lcls, lbox, lobj = torch.zeros(1), torch.zeros(1), torch.zeros(1)
        tcls, tbox, indices, anchors_ = build_targets(p, targets)
        for i, pi in enumerate(p):
            b, a, gj, gi = indices[i]
            tobj = torch.zeros(pi.shape[:4], dtype=pi.dtype)
            n = b.shape[0]
            if n:
                pxy, pwh, _, pcls = pi[b, a, gj, gi].split((2, 2, 1, nc), 1)
                pxy = pxy.sigmoid() * 2 - 0.5
                pwh = (pwh.sigmoid() * 2) ** 2 * anchors_[i]
                pbox = torch.cat((pxy, pwh), 1)
                iou = bbox_iou(pbox, tbox[i], CIoU=True).squeeze()
                lbox += (1.0 - iou).mean()
                iou = iou.detach().clamp(0).type(tobj.dtype)
                tobj[b, a, gj, gi] = iou
                t = torch.full_like(pcls, 0.0)
                t[range(n), tcls[i]] = 1.0
                lcls += BCEcls(pcls, t)
            lobj += BCEobj(pi[..., 4], tobj) * balance[i]
        bs = tobj.shape[0]
        return (lbox * 0.05 + lobj + lcls * 0.5) * bs, torch.cat((lbox, lobj, lcls)).detach()

    imgs = torch.rand(2, 3, 32, 32)
    # (image, class, x, y, w, h), normalised
    targets = torch.tensor([[0, 1, 0.30, 0.40, 0.20, 0.30], [0, 2, 0.70, 0.20, 0.10, 0.15],
                            [1, 0, 0.55, 0.55, 0.40, 0.35], [1, 1, 0.12, 0.80, 0.08, 0.20]])
    params = list(backbone.parameters()) + list(down.parameters()) + list(head.parameters())
    g_bn = [p for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)
            for p in m.parameters()]
    g_other = [p for p in params if all(p is not q for q in g_bn)]
    optimizer = torch.optim.SGD(g_bn, lr=0.01, momentum=0.937, nesterov=True)
    optimizer.add_param_group({"params": g_other, "weight_decay": 5e-4})
    lf = lambda x: (1 - x / 4) * (1.0 - 0.01) + 0.01  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lf)
    for module in (backbone, down, head):
        module.train()
    losses = []
    for step in range(3):
        pred = model(imgs)
        loss, loss_items = compute_loss(pred, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss_items)
        if step == 0:
            _, tbox, indices, _ = build_targets(pred, targets)
            put("yolo.indices", [torch.stack(ix) for ix in indices])
            put("yolo.tbox", tbox)
    put("yolo.losses", losses)
    put("yolo.lrs", [group["lr"] for group in optimizer.param_groups])
    put_state("yolo.head", head)
    for module in (backbone, down, head):
        module.eval()
    with torch.no_grad():
        inference, _ = model(imgs)
    put("yolo.inference", inference)

    def nms(boxes, scores, iou_thres):
        order = scores.argsort(descending=True)
        keep = []
        while order.numel() > 0:
            i = order[0]
            keep.append(i.item())
            if order.numel() == 1:
                break
            ious = bbox_iou(boxes[i].unsqueeze(0), boxes[order[1:]], xywh=False).squeeze(-1)
            order = order[1:][ious <= iou_thres]
        return torch.tensor(keep, dtype=torch.long)

    xc = inference[0, :, 4] > 0.0
    x = inference[0][xc]
    x[:, 5:] *= x[:, 4:5]
    box = torch.cat((x[:, :2] - x[:, 2:4] / 2, x[:, :2] + x[:, 2:4] / 2), 1)
    conf, j = x[:, 5:].max(1, keepdim=True)
    det = torch.cat((box, conf, j.float()), 1)[conf.view(-1) > conf.median()]
    put("yolo.nms", nms(det[:, :4] + det[:, 5:6] * 4096, det[:, 4], 0.45))


def section_cyclegan() -> None:
    class ResnetBlock(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True),
                nn.InstanceNorm2d(dim), nn.ReLU(True), nn.Dropout(0.5),
                nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True), nn.InstanceNorm2d(dim))

        def forward(self, x):
            return x + self.conv_block(x)

    def generator():
        return nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(3, 4, 7), nn.InstanceNorm2d(4), nn.ReLU(True),
            nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.InstanceNorm2d(8), nn.ReLU(True),
            ResnetBlock(8),
            nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(4), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(4, 3, 7), nn.Tanh())

    def discriminator():
        return nn.Sequential(nn.Conv2d(3, 4, 4, 2, 1), nn.LeakyReLU(0.2, True),
                             nn.Conv2d(4, 8, 4, 2, 1), nn.InstanceNorm2d(8),
                             nn.LeakyReLU(0.2, True), nn.Conv2d(8, 1, 4, 1, 1))

    def init_weights(net, init_gain=0.02):
        def init_func(m):
            classname = m.__class__.__name__
            if hasattr(m, "weight") and (classname.find("Conv") != -1):
                nn.init.normal_(m.weight.data, 0.0, init_gain)
                if hasattr(m, "bias") and m.bias is not None:
                    nn.init.constant_(m.bias.data, 0.0)
        net.apply(init_func)
        return net

    class ImagePool:
        def __init__(self, pool_size):
            self.pool_size = pool_size
            self.num_imgs = 0
            self.images = []

        def query(self, images):
            return_images = []
            for image in images:
                image = torch.unsqueeze(image.data, 0)
                if self.num_imgs < self.pool_size:
                    self.num_imgs = self.num_imgs + 1
                    self.images.append(image)
                    return_images.append(image)
                else:
                    p = random.uniform(0, 1)
                    if p > 0.5:
                        random_id = random.randint(0, self.pool_size - 1)
                        tmp = self.images[random_id].clone()
                        self.images[random_id] = image
                        return_images.append(tmp)
                    else:
                        return_images.append(image)
            return torch.cat(return_images, 0)

    class GANLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("real_label", torch.tensor(1.0))
            self.register_buffer("fake_label", torch.tensor(0.0))
            self.loss = nn.MSELoss()

        def __call__(self, prediction, target_is_real):
            target = self.real_label if target_is_real else self.fake_label
            return self.loss(prediction, target.expand_as(prediction))

    def set_requires_grad(nets, requires_grad=False):
        for net in nets:
            for param in net.parameters():
                param.requires_grad = requires_grad

    random.seed(9)
    netG_A, netG_B = init_weights(generator()), init_weights(generator())
    netD_A, netD_B = init_weights(discriminator()), init_weights(discriminator())
    import itertools
    optimizer_G = torch.optim.Adam(itertools.chain(netG_A.parameters(), netG_B.parameters()),
                                   lr=2e-4, betas=(0.5, 0.999))
    optimizer_D = torch.optim.Adam(itertools.chain(netD_A.parameters(), netD_B.parameters()),
                                   lr=2e-4, betas=(0.5, 0.999))
    n_epochs, n_epochs_decay, epoch_count = 2, 2, 1

    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)

    schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule)
                  for o in (optimizer_G, optimizer_D)]
    criterionGAN, criterionCycle, criterionIdt = GANLoss(), nn.L1Loss(), nn.L1Loss()
    fake_A_pool, fake_B_pool = ImagePool(2), ImagePool(2)
    real_A, real_B = torch.rand(1, 3, 8, 8) * 2 - 1, torch.rand(1, 3, 8, 8) * 2 - 1
    losses = []
    for _epoch in range(4):
        fake_B = netG_A(real_A)
        rec_A = netG_B(fake_B)
        fake_A = netG_B(real_B)
        rec_B = netG_A(fake_A)
        set_requires_grad([netD_A, netD_B], False)
        optimizer_G.zero_grad()
        idt_A, idt_B = netG_A(real_B), netG_B(real_A)
        loss_idt = criterionIdt(idt_A, real_B) * 5 + criterionIdt(idt_B, real_A) * 5
        loss_G = (criterionGAN(netD_A(fake_B), True) + criterionGAN(netD_B(fake_A), True)
                  + criterionCycle(rec_A, real_A) * 10 + criterionCycle(rec_B, real_B) * 10
                  + loss_idt)
        loss_G.backward()
        optimizer_G.step()
        set_requires_grad([netD_A, netD_B], True)
        optimizer_D.zero_grad()
        loss_D = 0
        for netD, real, fake in ((netD_A, real_B, fake_B_pool.query(fake_B)),
                                 (netD_B, real_A, fake_A_pool.query(fake_A))):
            loss_D_one = (criterionGAN(netD(real), True)
                          + criterionGAN(netD(fake.detach()), False)) * 0.5
            loss_D_one.backward()
            loss_D = loss_D + loss_D_one.item()
        optimizer_D.step()
        for scheduler in schedulers:
            scheduler.step()
        losses.append([loss_G.item(), loss_D, optimizer_G.param_groups[0]["lr"]])
    put("cyclegan.losses", losses)
    # (the bias of the convolution before InstanceNorm is removed by the norm: its gradient is
    # rounding noise, which Adam turns into lr-sized moves of either sign; not compared)
    put_state("cyclegan.D_A", netD_A, exclude=("2.bias",))
    put("cyclegan.fake", fake_B)


def section_mlm() -> None:
    vocab_size, mask_id, pad_id = 30, 3, 0
    inputs = torch.randint(5, vocab_size, (4, 12))
    inputs[1, 9:] = pad_id
    inputs[3, 6:] = pad_id
    special_tokens_mask = inputs == pad_id

    def mask_tokens(inputs, mlm_probability=0.15):
        labels = inputs.clone()
        probability_matrix = torch.full(labels.shape, mlm_probability)
        probability_matrix.masked_fill_(special_tokens_mask, value=0.0)
        masked_indices = torch.bernoulli(probability_matrix).bool()
        labels[~masked_indices] = -100
        indices_replaced = torch.bernoulli(torch.full(labels.shape, 0.8)).bool() & masked_indices
        inputs = inputs.clone()
        inputs[indices_replaced] = mask_id
        indices_random = (torch.bernoulli(torch.full(labels.shape, 0.5)).bool()
                          & masked_indices & ~indices_replaced)
        random_words = torch.randint(vocab_size, labels.shape, dtype=torch.long)
        inputs[indices_random] = random_words[indices_random]
        return inputs, labels

    class TinyBert(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, 16, padding_idx=pad_id)
            self.pos = nn.Parameter(torch.zeros(1, 12, 16))
            layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True,
                                               activation="gelu", norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
            self.head = nn.Linear(16, vocab_size)
            self.head.weight = self.embed.weight

        def forward(self, ids):
            h = self.encoder(self.embed(ids) + self.pos, src_key_padding_mask=ids == pad_id)
            return self.head(h)

    model = TinyBert()
    no_decay = ["bias", "LayerNorm.weight", "norm"]
    grouped = [{"params": [p for n, p in model.named_parameters()
                           if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
               {"params": [p for n, p in model.named_parameters()
                           if any(nd in n for nd in no_decay)], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(grouped, lr=1e-3, eps=1e-8)
    total = 4
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / 2, max(0.0, (total - step) / (total - 1))))
    losses = []
    for step in range(total):
        corrupted, labels = mask_tokens(inputs)
        if step == 0:
            put("mlm.corrupted", corrupted)
            put("mlm.labels", labels)
        logits = model(corrupted)
        loss = F.cross_entropy(logits.view(-1, vocab_size), labels.view(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    put("mlm.losses", losses)
    put("mlm.tied", model.head.weight is model.embed.weight)
    put("mlm.groups", [len(g["params"]) for g in grouped])
    # (the key projection's bias shifts every score of a query alike, which softmax ignores:
    # its gradient is rounding noise that AdamW's normalised step turns into lr-sized moves
    # of either sign on either library; the query and value parts are compared)
    put_state("mlm.model", model, exclude=("in_proj_bias",))
    in_proj_bias = model.encoder.layers[0].self_attn.in_proj_bias
    put("mlm.q_bias", in_proj_bias[:16])
    put("mlm.v_bias", in_proj_bias[32:])


SECTIONS = {"yolo": section_yolo, "cyclegan": section_cyclegan, "mlm": section_mlm}
