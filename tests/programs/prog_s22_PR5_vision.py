"""Vision programs, afresh (PR5, session 22): a StyleGAN2 modulated convolution with weight
demodulation run as one grouped conv (checked against a per-sample loop), noise injection and an
R1 penalty; partial-convolution inpainting with mask updates, hole / valid / total-variation
losses; colorization in CIE Lab (sRGB <-> Lab by hand, ab bins by bucketize, class rebalancing,
annealed-mean decoding); a multiresolution hash encoding (Instant-NGP style: integer hashing with
bitwise xor, bilinear corner weights) fitting an image; ESPCN super-resolution with
PixelUnshuffle / pixel_shuffle and ICNR initialization; AdaIN style transfer; FiLM-conditioned
residual blocks answering questions about synthetic images; and Deep SVDD anomaly detection with
a soft-boundary radius from a quantile. Tiny sizes; run by prog_s22_PR5_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class ModulatedConv(nn.Module):
    def __init__(self, in_channels, out_channels, style_dim, kernel=3, demodulate=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel, kernel))
        self.affine = nn.Linear(style_dim, in_channels)
        nn.init.ones_(self.affine.bias)
        self.scale = 1 / math.sqrt(in_channels * kernel * kernel)
        self.demodulate = demodulate
        self.padding = kernel // 2

    def forward(self, x, w):
        batch, channels, height, width = x.shape
        style = self.affine(w).view(batch, 1, channels, 1, 1)
        weight = self.scale * self.weight * style
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4], keepdim=True) + 1e-8)
        weight = weight.view(-1, channels, *weight.shape[3:])
        out = F.conv2d(x.reshape(1, -1, height, width), weight, padding=self.padding,
                       groups=batch)
        return out.view(batch, -1, *out.shape[2:])


class TinyStyleGenerator(nn.Module):
    def __init__(self, z_dim=8):
        super().__init__()
        layers = []
        for _ in range(3):
            layers += [nn.Linear(z_dim, z_dim), nn.LeakyReLU(0.2)]
        self.mapping = nn.Sequential(*layers)
        self.const = nn.Parameter(torch.randn(1, 6, 4, 4))
        self.conv1 = ModulatedConv(6, 6, z_dim)
        self.conv2 = ModulatedConv(6, 4, z_dim)
        self.to_rgb = ModulatedConv(4, 3, z_dim, kernel=1, demodulate=False)
        self.noise_strength = nn.Parameter(torch.zeros(2))

    def forward(self, z, noise):
        w = self.mapping(F.normalize(z, dim=1) * math.sqrt(z.shape[1]))
        x = self.const.expand(len(z), -1, -1, -1)
        x = F.leaky_relu(self.conv1(x, w) + self.noise_strength[0] * noise[0], 0.2) * 2 ** 0.5
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.leaky_relu(self.conv2(x, w) + self.noise_strength[1] * noise[1], 0.2) * 2 ** 0.5
        return self.to_rgb(x, w), w


def section_stylegan() -> None:
    generator = TinyStyleGenerator()
    critic = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.LeakyReLU(0.2),
                           nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8 * 16, 1))
    real = torch.tanh(torch.randn(4, 3, 8, 8))
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.0, 0.99))
    d_opt = torch.optim.Adam(critic.parameters(), lr=2e-3, betas=(0.0, 0.99))
    history = []
    for _ in range(4):
        z = torch.randn(4, 8)
        noise = [torch.randn(4, 1, 4, 4), torch.randn(4, 1, 8, 8)]
        fake, w = generator(z, noise)
        d_loss = F.softplus(critic(fake.detach())).mean() + F.softplus(-critic(real)).mean()
        real_in = real.detach().requires_grad_()
        (grad_real,) = torch.autograd.grad(critic(real_in).sum(), real_in, create_graph=True)
        r1 = grad_real.pow(2).sum([1, 2, 3]).mean()
        d_opt.zero_grad()
        (d_loss + 5.0 * r1).backward()
        d_opt.step()
        g_loss = F.softplus(-critic(fake)).mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        history.append([d_loss.item(), r1.item(), g_loss.item()])
    put("sg.history", history)
    put_state("sg.gen", generator)
    put("sg.w", w)
    # the grouped convolution is one conv2d per sample with its own demodulated weights
    conv = generator.conv1
    x = torch.randn(3, 6, 5, 5)
    w = torch.randn(3, 8)
    grouped = conv(x, w)
    looped = []
    for i in range(3):
        style = conv.affine(w[i])
        weight = conv.scale * conv.weight[0] * style[None, :, None, None]
        weight = weight / (weight.pow(2).sum([1, 2, 3], keepdim=True) + 1e-8).sqrt()
        looped.append(F.conv2d(x[i:i + 1], weight, padding=1))
    put("sg.grouped", grouped)
    put("sg.loop_gap", (grouped - torch.cat(looped)).abs().max() < 1e-5)
    # demodulated outputs have about unit variance per output channel for unit inputs
    put("sg.demod_std", grouped.std(dim=(0, 2, 3)))


class PartialConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2)
        self.register_buffer("ones", torch.ones(1, 1, kernel, kernel), persistent=False)
        self.window = kernel * kernel

    def forward(self, x, mask):
        with torch.no_grad():
            covered = F.conv2d(mask, self.ones, stride=self.conv.stride,
                               padding=self.conv.padding)
            ratio = self.window / (covered + 1e-8) * covered.clamp(0, 1)
            new_mask = covered.clamp(0, 1)
        raw = self.conv(x * mask)
        bias = self.conv.bias.view(1, -1, 1, 1)
        return (raw - bias) * ratio + bias * new_mask, new_mask


class InpaintNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = PartialConv(3, 8, 3, stride=2)
        self.enc2 = PartialConv(8, 8, 3)
        self.dec = PartialConv(11, 3, 3)

    def forward(self, image, mask):
        h1, m1 = self.enc1(image, mask)
        h2, m2 = self.enc2(F.relu(h1), m1)
        up = F.interpolate(F.relu(h2), scale_factor=2, mode="nearest")
        up_mask = F.interpolate(m2, scale_factor=2, mode="nearest")
        out, _ = self.dec(torch.cat([up, image], 1), torch.cat([up_mask.expand(-1, 8, -1, -1),
                                                                 mask.expand(-1, 3, -1, -1)], 1)
                          .amax(1, keepdim=True))
        return out, (m1, m2)


def section_inpaint() -> None:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 12), torch.linspace(-1, 1, 12), indexing="ij")
    images = torch.stack([torch.sin(3 * xx + k) * torch.cos(2 * yy - k) for k in range(6)])
    images = images.view(2, 3, 12, 12)
    mask = torch.ones(2, 1, 12, 12)
    mask[0, :, 3:8, 4:9] = 0
    mask[1, :, 6:11, 1:5] = 0
    net = InpaintNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(6):
        out, masks = net(images * mask, mask)
        composite = mask * images + (1 - mask) * out
        valid = F.l1_loss(mask * out, mask * images)
        hole = F.l1_loss((1 - mask) * out, (1 - mask) * images)
        tv = ((composite[..., 1:, :] - composite[..., :-1, :]).abs().mean()
              + (composite[..., :, 1:] - composite[..., :, :-1]).abs().mean())
        loss = valid + 6 * hole + 0.1 * tv
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append([valid.item(), hole.item(), tv.item()])
    put("inpaint.losses", losses)
    put("inpaint.masks", list(masks))
    put("inpaint.out", out)
    put_state("inpaint.state", net)
    put("inpaint.buffers", sorted(name for name, _ in net.named_buffers()))


def rgb_to_lab(rgb):
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    matrix = torch.tensor([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169],
                           [0.019334, 0.119193, 0.950227]], dtype=rgb.dtype)
    xyz = torch.einsum("ij,bjhw->bihw", matrix, linear)
    xyz = xyz / torch.tensor([0.950456, 1.0, 1.088754], dtype=rgb.dtype).view(1, 3, 1, 1)
    delta = 6 / 29
    f = torch.where(xyz > delta ** 3, xyz.clamp_min(1e-12).pow(1 / 3),
                    xyz / (3 * delta ** 2) + 4 / 29)
    lightness = 116 * f[:, 1] - 16
    a = 500 * (f[:, 0] - f[:, 1])
    b = 200 * (f[:, 1] - f[:, 2])
    return torch.stack([lightness, a, b], 1)


def lab_to_rgb(lab):
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    delta = 6 / 29
    xyz = torch.where(f > delta, f ** 3, 3 * delta ** 2 * (f - 4 / 29))
    xyz = xyz * torch.tensor([0.950456, 1.0, 1.088754], dtype=lab.dtype).view(1, 3, 1, 1)
    matrix = torch.linalg.inv(torch.tensor([[0.412453, 0.357580, 0.180423],
                                            [0.212671, 0.715160, 0.072169],
                                            [0.019334, 0.119193, 0.950227]], dtype=lab.dtype))
    linear = torch.einsum("ij,bjhw->bihw", matrix, xyz)
    return torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(1e-12) ** (1 / 2.4) - 0.055,
                       12.92 * linear)


def section_colorize() -> None:
    rgb = torch.rand(4, 3, 8, 8, dtype=torch.float64)
    lab = rgb_to_lab(rgb)
    put("color.lab", lab)
    put("color.roundtrip", (lab_to_rgb(lab) - rgb).abs().max() < 1e-9)
    lab = lab.float()
    edges = torch.linspace(-60, 60, 7)
    a_bin = torch.bucketize(lab[:, 1], edges)
    b_bin = torch.bucketize(lab[:, 2], edges)
    classes = a_bin * 8 + b_bin
    counts = torch.bincount(classes.flatten(), minlength=64).float()
    prior = counts / counts.sum()
    weights = 1 / (0.5 * prior + 0.5 / 64)
    weights = weights / (prior * weights).sum()
    put("color.weights", weights)
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16),
                        nn.Conv2d(16, 64, 1))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    lightness = (lab[:, :1] - 50) / 50
    losses = []
    for _ in range(5):
        logits = net(lightness)
        loss = F.cross_entropy(logits, classes, weight=weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("color.losses", losses)
    net.eval()
    with torch.no_grad():
        logits = net(lightness)
        centers = torch.cat([edges[:1] - 10, (edges[1:] + edges[:-1]) / 2, edges[-1:] + 10])
        grid_a = centers.repeat_interleave(8)
        grid_b = centers.repeat(8)
        probs = torch.softmax(logits / 0.38, 1)  # annealed mean, temperature 0.38
        ab = torch.stack([torch.einsum("bkhw,k->bhw", probs, grid_a),
                          torch.einsum("bkhw,k->bhw", probs, grid_b)], 1)
    put("color.ab", ab)
    put("color.mode", logits.argmax(1))


def hash_grid(positions, tables, base=4, growth=1.5, table_size=256):
    primes = torch.tensor([1, 2654435761], dtype=torch.int64)
    features = []
    for level, table in enumerate(tables):
        resolution = math.floor(base * growth ** level)
        scaled = positions * resolution
        corner = scaled.floor().long()
        frac = scaled - corner
        level_features = 0
        for dx in (0, 1):
            for dy in (0, 1):
                offset = torch.tensor([dx, dy])
                vertex = corner + offset
                index = torch.bitwise_xor(vertex[:, 0] * primes[0], vertex[:, 1] * primes[1])
                index = index % table_size
                weight = ((frac[:, 0] if dx else 1 - frac[:, 0])
                          * (frac[:, 1] if dy else 1 - frac[:, 1]))
                level_features = level_features + weight[:, None] * table[index]
        features.append(level_features)
    return torch.cat(features, 1)


def section_hashgrid() -> None:
    side = torch.linspace(0, 1, 10)
    positions = torch.cartesian_prod(side, side)
    image = torch.stack([torch.sin(6 * positions[:, 0]) * positions[:, 1],
                         torch.cos(4 * positions[:, 1])], 1)
    tables = nn.ParameterList([nn.Parameter(torch.empty(256, 2).uniform_(-1e-4, 1e-4))
                               for _ in range(4)])
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = torch.optim.Adam([{"params": tables.parameters(), "eps": 1e-15},
                                  {"params": mlp.parameters(), "weight_decay": 1e-6}],
                                 lr=0.01, betas=(0.9, 0.99))
    losses = []
    for _ in range(8):
        prediction = mlp(hash_grid(positions, tables))
        loss = F.mse_loss(prediction, image)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("hash.losses", losses)
    put("hash.tables", list(tables))
    put("hash.used", [(t.grad != 0).any(1).sum() for t in tables])
    put("hash.index_dtype", str(torch.bitwise_xor(torch.tensor([3]), torch.tensor([5])).dtype))


def icnr_(weight, upscale):
    out_channels, in_channels, height, width = weight.shape
    sub = torch.empty(out_channels // upscale ** 2, in_channels, height, width)
    nn.init.kaiming_normal_(sub)
    with torch.no_grad():
        weight.copy_(sub.repeat_interleave(upscale ** 2, 0))


def section_espcn() -> None:
    high = torch.rand(3, 1, 12, 12)
    high = F.avg_pool2d(F.pad(high, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    low = F.interpolate(high, scale_factor=1 / 3, mode="bicubic", align_corners=False,
                        antialias=False)
    unshuffle = nn.PixelUnshuffle(3)
    put("espcn.unshuffled", unshuffle(high)[0, :, 0, 0])
    put("espcn.shuffle_roundtrip", torch.equal(F.pixel_shuffle(unshuffle(high), 3), high))
    model = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.Tanh(),
                          nn.Conv2d(16, 8, 3, padding=1), nn.Tanh(),
                          nn.Conv2d(8, 9, 3, padding=1), nn.PixelShuffle(3))
    icnr_(model[4].weight, 3)
    put("espcn.icnr_equal", torch.equal(model[4].weight[0], model[4].weight[8]))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    psnrs = []
    for _ in range(6):
        out = model(low)
        loss = F.mse_loss(out, high)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        psnrs.append((10 * torch.log10(1 / loss)).item())
    put("espcn.psnr", psnrs)
    put("espcn.out", out)
    put("espcn.bicubic_psnr", 10 * torch.log10(1 / F.mse_loss(
        F.interpolate(low, scale_factor=3, mode="bicubic", align_corners=False), high)))


def adain(content, style, eps=1e-5):
    c_mean = content.mean((2, 3), keepdim=True)
    c_std = (content.var((2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    s_mean = style.mean((2, 3), keepdim=True)
    s_std = (style.var((2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return s_std * (content - c_mean) / c_std + s_mean


def section_adain() -> None:
    encoder = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                            nn.Conv2d(8, 8, 3, padding=1, stride=2), nn.ReLU())
    for p in encoder.parameters():
        p.requires_grad_(False)
    decoder = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(8, 8, 3), nn.ReLU(),
                            nn.Upsample(scale_factor=2, mode="nearest"),
                            nn.ReflectionPad2d(1), nn.Conv2d(8, 3, 3))
    content = torch.rand(2, 3, 8, 8)
    style = torch.rand(2, 3, 8, 8) ** 2
    optimizer = torch.optim.Adam(decoder.parameters(), lr=5e-3)
    history = []
    for _ in range(5):
        c_feat, s_feat = encoder(content), encoder(style)
        target = adain(c_feat, s_feat)
        out = decoder(target)
        o_feat = encoder(out)
        content_loss = F.mse_loss(o_feat, target)
        style_loss = (F.mse_loss(o_feat.mean((2, 3)), s_feat.mean((2, 3)))
                      + F.mse_loss(o_feat.std((2, 3)), s_feat.std((2, 3))))
        loss = content_loss + 10 * style_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([content_loss.item(), style_loss.item()])
    put("adain.history", history)
    put("adain.encoder_grad_none", all(p.grad is None for p in encoder.parameters()))
    with torch.no_grad():
        c_feat, s_feat = encoder(content), encoder(style)
        mixed = [decoder(alpha * adain(c_feat, s_feat) + (1 - alpha) * c_feat)
                 for alpha in (0.0, 0.5, 1.0)]
    put("adain.mixed", mixed)
    put_state("adain.decoder", decoder)


class FiLMBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1)
        # (no bias before the normalization: its gradient is rounding noise, which AdamW would
        # scale into full steps, differently on each library)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(channels, affine=False)

    def forward(self, x, gamma, beta):
        x = F.relu(self.conv1(x))
        out = self.norm(self.conv2(x))
        out = F.relu(gamma[..., None, None] * out + beta[..., None, None])
        return x + out


class FiLMNet(nn.Module):
    def __init__(self, vocab=6, channels=8, blocks=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.film = nn.Linear(16, 2 * channels * blocks)
        self.stem = nn.Conv2d(5, channels, 3, padding=1)
        self.blocks = nn.ModuleList(FiLMBlock(channels) for _ in range(blocks))
        self.head = nn.Linear(channels, 2)

    def forward(self, image, question):
        _, h = self.gru(self.embed(question))
        params = self.film(h[-1]).view(len(image), len(self.blocks), 2, -1)
        coords = torch.linspace(-1, 1, image.shape[-1])
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([yy, xx]).expand(len(image), -1, -1, -1)
        x = F.relu(self.stem(torch.cat([image, grid], 1)))
        for i, block in enumerate(self.blocks):
            x = block(x, 1 + params[:, i, 0], params[:, i, 1])
        return self.head(x.amax((2, 3))), params


def section_film() -> None:
    images = torch.zeros(16, 3, 6, 6)
    present = torch.rand(16, 3) < 0.5
    for i in range(16):
        for c in range(3):
            if present[i, c]:
                r, s = torch.randint(0, 5, (2,)).tolist()
                images[i, c, r:r + 2, s:s + 2] = 1
    asked = torch.randint(0, 3, (16,))
    questions = torch.stack([torch.full((16,), 4), asked + 1], 1)  # "is there <colour>?"
    answers = present[torch.arange(16), asked].long()
    model = FiLMNet()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=1e-2)
    losses = []
    for _ in range(8):
        logits, params = model(images, questions)
        loss = F.cross_entropy(logits, answers)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    put("film.losses", losses)
    put("film.params", params)
    model.eval()
    with torch.no_grad():
        put("film.eval_logits", model(images, questions)[0])
    put("film.running", [b.norm.running_var for b in model.blocks])
    put("film.num_batches", model.blocks[0].norm.num_batches_tracked)


def section_svdd() -> None:
    normal = torch.randn(40, 6) * 0.5 + torch.tensor([1.0, 0, 0, 0, 0, 1.0])
    anomalies = torch.randn(10, 6) * 1.5
    encoder = nn.Sequential(nn.Linear(6, 8, bias=False), nn.LeakyReLU(0.1),
                            nn.Linear(8, 3, bias=False))
    decoder = nn.Sequential(nn.Linear(3, 8, bias=False), nn.LeakyReLU(0.1),
                            nn.Linear(8, 6, bias=False))
    pre = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=0.01)
    for _ in range(5):
        loss = F.mse_loss(decoder(encoder(normal)), normal)
        pre.zero_grad()
        loss.backward()
        pre.step()
    put("svdd.pretrain_loss", loss)
    with torch.no_grad():
        center = encoder(normal).mean(0)
        eps = 0.1
        center[(center.abs() < eps) & (center < 0)] = -eps
        center[(center.abs() < eps) & (center >= 0)] = eps
    put("svdd.center", center)
    radius = torch.tensor(0.0)
    nu = 0.1
    optimizer = torch.optim.Adam(encoder.parameters(), lr=0.005, weight_decay=1e-6)
    objectives = []
    for epoch in range(8):
        distances = (encoder(normal) - center).pow(2).sum(1)
        scores = distances - radius ** 2
        loss = radius ** 2 + (1 / nu) * F.relu(scores).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch >= 2:
            radius = torch.quantile(distances.detach().sqrt(), 1 - nu)
        objectives.append(loss.item())
    put("svdd.objectives", objectives)
    put("svdd.radius", radius)
    with torch.no_grad():
        scores = torch.cat([(encoder(normal) - center).pow(2).sum(1),
                            (encoder(anomalies) - center).pow(2).sum(1)])
    labels = torch.cat([torch.zeros(40), torch.ones(10)])
    ranks = scores.argsort().argsort().float() + 1
    auc = (ranks[labels == 1].sum() - 10 * 11 / 2) / (10 * 40)
    put("svdd.scores", scores)
    put("svdd.auc", auc)


SECTIONS = {
    "stylegan": section_stylegan, "inpaint": section_inpaint, "colorize": section_colorize,
    "hashgrid": section_hashgrid, "espcn": section_espcn, "adain": section_adain,
    "film": section_film, "svdd": section_svdd,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
