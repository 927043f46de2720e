"""Vision and signal programs, afresh (PR4, session 21): SegNet (max pooling that returns its
indices, unpooling with them, local response normalization, a per-pixel weighted cross entropy
with an ignored label); a 1-D U-Net audio denoiser (ConvTranspose1d with output_padding, skip
concatenation, reflect / replicate padding) trained on L1 plus a multi-resolution STFT loss, with
an istft round trip; a tiny C3D video classifier (Conv3d, BatchNorm3d, AvgPool3d, replication
and circular padding, adaptive 3-d max pooling); a self-normalizing network (SELU, AlphaDropout,
LeCun-normal init) beside CELU / Mish / RReLU nets; a pooling zoo (LPPool, fractional max
pooling with given samples, adaptive max pooling with indices); and a ViT whose position
embeddings are resized by bicubic interpolation for a larger image, with attention rollout.
Tiny sizes; run by prog_s21_PR4_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class SegNet(nn.Module):
    def __init__(self, classes=4):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.LocalResponseNorm(3, alpha=1e-3, beta=0.75, k=2.0))
        self.enc2 = nn.Sequential(nn.Conv2d(8, 12, 3, padding=1), nn.BatchNorm2d(12),
                                  nn.ReLU())
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.dec2 = nn.Sequential(nn.Conv2d(12, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.dec1 = nn.Conv2d(8, classes, 3, padding=1)

    def forward(self, x):
        x = self.enc1(x)
        size1 = x.shape
        x, idx1 = self.pool(x)
        x = self.enc2(x)
        size2 = x.shape
        x, idx2 = self.pool(x)
        x = self.unpool(x, idx2, output_size=size2)
        x = self.dec2(x)
        x = self.unpool(x, idx1, output_size=size1)
        return self.dec1(x), idx1


def section_segnet() -> None:
    model = SegNet()
    images = torch.randn(3, 3, 10, 12)
    labels = torch.randint(0, 4, (3, 10, 12))
    labels[:, :2, :3] = 255  # "void" pixels
    weights = torch.tensor([0.5, 1.0, 2.0, 1.5])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        logits, idx1 = model(images)
        loss = F.cross_entropy(logits, labels, weight=weights, ignore_index=255)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("segnet.losses", losses)
    put("segnet.idx1", idx1)
    put("segnet.logits", logits)
    put("segnet.grad_enc1", model.enc1[0].weight.grad)
    per_pixel = F.cross_entropy(logits, labels, weight=weights, ignore_index=255,
                                reduction="none")
    put("segnet.per_pixel", per_pixel)
    model.eval()
    with torch.no_grad():
        prediction = model(images)[0].argmax(1)
    valid = labels != 255
    put("segnet.pixel_acc", (prediction[valid] == labels[valid]).float().mean())
    intersection = torch.stack([((prediction == c) & (labels == c)).sum() for c in range(4)])
    union = torch.stack([(((prediction == c) | (labels == c)) & valid).sum() for c in range(4)])
    put("segnet.iou", intersection / union.clamp(min=1))
    put_state("segnet.state", model)
    put("segnet.lrn", F.local_response_norm(images, 2, alpha=1e-2, beta=0.5, k=1.0))


class UNet1d(nn.Module):
    def __init__(self, ch=6):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv1d(1, ch, 5, padding=2, padding_mode="reflect"),
                                   nn.LeakyReLU(0.1))
        self.down2 = nn.Sequential(nn.Conv1d(ch, 2 * ch, 5, stride=2, padding=2),
                                   nn.LeakyReLU(0.1))
        self.bottom = nn.Sequential(nn.Conv1d(2 * ch, 2 * ch, 3, padding=1,
                                              padding_mode="replicate"), nn.LeakyReLU(0.1))
        self.up = nn.ConvTranspose1d(2 * ch, ch, 4, stride=2, padding=1, output_padding=1)
        self.out = nn.Conv1d(2 * ch, 1, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u = self.up(self.bottom(d2))
        u = u[..., :d1.shape[-1]]
        return torch.tanh(self.out(torch.cat([u, d1], 1)))


def stft_loss(estimate, target, n_fft, hop):
    window = torch.hann_window(n_fft, dtype=estimate.dtype)
    spec_e = torch.stft(estimate, n_fft, hop, window=window, return_complex=True).abs()
    spec_t = torch.stft(target, n_fft, hop, window=window, return_complex=True).abs()
    convergence = torch.linalg.norm(spec_t - spec_e, "fro", dim=(-2, -1)) / \
        torch.linalg.norm(spec_t, "fro", dim=(-2, -1))
    magnitude = F.l1_loss(torch.log(spec_e.clamp(min=1e-5)), torch.log(spec_t.clamp(min=1e-5)))
    return convergence.mean() + magnitude


def section_unet1d() -> None:
    # float64: the log-magnitude term reads STFT bins of ~1e-4 whose float32 rounding (the FFT
    # library's summation order: MKL's against pocketfft's) is ~1e-7, a relative 1e-3 in log
    torch.set_default_dtype(torch.float64)
    try:
        _unet1d()
    finally:
        torch.set_default_dtype(torch.float32)


def _unet1d() -> None:
    t = torch.linspace(0, 1, 127)
    clean = torch.stack([0.5 * torch.sin(2 * torch.pi * f * t) for f in (3.0, 7.0, 11.0)])
    noisy = clean + 0.1 * torch.randn_like(clean)
    model = UNet1d()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        estimate = model(noisy[:, None])[:, 0]
        loss = F.l1_loss(estimate, clean) + sum(stft_loss(estimate, clean, n, n // 4)
                                                for n in (16, 32))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("unet1d.losses", losses)
    put("unet1d.estimate", estimate)
    put("unet1d.up_grad", model.up.weight.grad)
    put("unet1d.up_shape", list(model.up(torch.zeros(1, 12, 9)).shape))
    put_state("unet1d.state", model)
    window = torch.hann_window(32)
    spec = torch.stft(noisy, 32, 8, window=window, return_complex=True)
    back = torch.istft(spec, 32, 8, window=window, length=noisy.shape[-1])
    put("unet1d.spec_real", torch.view_as_real(spec))
    put("unet1d.istft", back)
    put("unet1d.roundtrip", (back - noisy).abs().max())
    # windows and frequency grids the STFT code builds
    f32 = torch.float32
    put("unet1d.windows", [torch.hamming_window(9, dtype=f32), torch.blackman_window(9, dtype=f32),
                           torch.kaiser_window(9, periodic=False, beta=8.0, dtype=f32),
                           torch.bartlett_window(8, dtype=f32),
                           torch.hann_window(8, periodic=False, dtype=f32)])
    put("unet1d.freqs", torch.fft.rfftfreq(32, d=1 / 16000))


class C3D(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReplicationPad3d(1), nn.Conv3d(2, 6, 3, bias=False), nn.BatchNorm3d(6), nn.ReLU(),
            nn.AvgPool3d((1, 2, 2)),
            nn.Conv3d(6, 8, (3, 3, 3), padding=(1, 1, 1)), nn.ReLU(),
            nn.AdaptiveMaxPool3d((1, 2, 2)))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def section_c3d() -> None:
    clips = torch.randn(4, 2, 4, 8, 8)
    labels = torch.tensor([0, 1, 2, 1])
    model = C3D()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.5, centered=True)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(clips), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("c3d.losses", losses)
    put("c3d.conv_grad", model.features[1].weight.grad)
    put_state("c3d.state", model)
    model.eval()
    put("c3d.eval", model(clips))
    frames = torch.randn(2, 3, 5, 6)
    put("c3d.circular", nn.CircularPad2d((1, 2, 2, 0))(frames))
    put("c3d.circular1d", F.pad(frames[0], (2, 1), mode="circular"))
    put("c3d.replicate3d", nn.ReplicationPad3d((1, 0, 0, 1, 1, 1))(clips[:1, :1, :2, :3, :3]))
    put("c3d.avgpool3d", F.avg_pool3d(clips, 2, stride=2, ceil_mode=True,
                                      count_include_pad=False))
    values, indices = F.adaptive_max_pool3d(clips, (2, 3, 3), return_indices=True)
    put("c3d.amax3d", values)
    put("c3d.amax3d_idx", indices)


def lecun_init(module):
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="linear")
        nn.init.zeros_(module.bias)


def section_selfnorm() -> None:
    x = torch.randn(64, 10)
    y = (x[:, :3].sum(1) > 0).long()
    nets = {
        "selu": nn.Sequential(nn.Linear(10, 32), nn.SELU(), nn.AlphaDropout(0.1),
                              nn.Linear(32, 32), nn.SELU(), nn.AlphaDropout(0.1),
                              nn.Linear(32, 2)),
        "celu": nn.Sequential(nn.Linear(10, 32), nn.CELU(alpha=0.7), nn.Linear(32, 2)),
        "mish": nn.Sequential(nn.Linear(10, 32), nn.Mish(), nn.Dropout(0.2), nn.Linear(32, 2)),
        "rrelu": nn.Sequential(nn.Linear(10, 32), nn.RReLU(0.1, 0.3), nn.Linear(32, 2)),
        "hard": nn.Sequential(nn.Linear(10, 32), nn.Hardshrink(0.3), nn.Softsign(),
                              nn.Linear(32, 32), nn.Tanhshrink(), nn.Softshrink(0.1),
                              nn.Linear(32, 2)),
    }
    for name, net in nets.items():
        net.apply(lecun_init)
        optimizer = torch.optim.NAdam(net.parameters(), lr=1e-2)
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"snn.{name}.losses", losses)
        put(f"snn.{name}.grad0", net[0].weight.grad)
        net.eval()
        with torch.no_grad():
            put(f"snn.{name}.eval", net(x[:8]))
    # self-normalization: activations keep zero mean / unit variance through SELU layers
    deep = nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(32, 32), nn.SELU())])
    deep.apply(lecun_init)
    with torch.no_grad():
        h = deep(torch.randn(512, 32))
    put("snn.deep_mean", h.mean())
    put("snn.deep_std", h.std())
    # the dropout variants in training mode: same random streams
    z = torch.randn(4, 6, 3, 3)
    put("snn.alpha_dropout", F.alpha_dropout(z, 0.3, training=True))
    put("snn.feature_alpha", F.feature_alpha_dropout(z, 0.3, training=True))
    put("snn.dropout2d", F.dropout2d(z, 0.5, training=True))
    put("snn.rrelu_train", F.rrelu(z[0], 0.1, 0.3, training=True))
    put("snn.rrelu_eval", F.rrelu(z[0], 0.1, 0.3, training=False))


def section_pool_zoo() -> None:
    x = torch.randn(2, 3, 9, 9, requires_grad=True)
    lp = nn.LPPool2d(2, 3, stride=2)
    put("pool.lp2", lp(x.abs() + 0.1))
    put("pool.lp1d", F.lp_pool1d(x[:, :, 0].abs() + 0.1, 3, 2))
    samples = torch.rand(2, 3, 2)
    frac = nn.FractionalMaxPool2d(3, output_size=(4, 4), _random_samples=samples)
    put("pool.frac", frac(x))
    frac_ratio = nn.FractionalMaxPool2d(2, output_ratio=0.5, return_indices=True)
    values, indices = frac_ratio(x)
    put("pool.frac_ratio", values)
    put("pool.frac_ratio_idx", indices)
    values, indices = F.adaptive_max_pool2d(x, (4, 3), return_indices=True)
    put("pool.amax", values)
    put("pool.amax_idx", indices)
    out = lp(x.abs() + 0.1).sum() + frac(x).pow(2).sum() + values.sum()
    out.backward()
    put("pool.grad", x.grad)
    put("pool.unpool1d", F.max_unpool1d(*F.max_pool1d(x[:, :, 0], 2, return_indices=True), 2))
    put("pool.avg_div", F.avg_pool2d(x, 3, stride=2, padding=1, divisor_override=4))


class ViT(nn.Module):
    def __init__(self, image=8, patch=4, dim=16, depth=2, heads=2, classes=3):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, stride=patch)
        self.grid = image // patch
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 1 + self.grid ** 2, dim) * 0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        self.norm1 = nn.ModuleList(nn.LayerNorm(dim, eps=1e-6) for _ in range(depth))
        self.attn = nn.ModuleList(nn.MultiheadAttention(dim, heads, batch_first=True)
                                  for _ in range(depth))
        self.norm2 = nn.ModuleList(nn.LayerNorm(dim, eps=1e-6) for _ in range(depth))
        self.mlp = nn.ModuleList(nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                               nn.Linear(2 * dim, dim)) for _ in range(depth))
        self.head = nn.Linear(dim, classes)

    def resized_pos(self, grid):
        if grid == self.grid:
            return self.pos
        cls_pos, patch_pos = self.pos[:, :1], self.pos[:, 1:]
        patch_pos = patch_pos.reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        patch_pos = F.interpolate(patch_pos, size=(grid, grid), mode="bicubic",
                                  align_corners=False)
        return torch.cat([cls_pos, patch_pos.permute(0, 2, 3, 1).flatten(1, 2)], 1)

    def forward(self, images):
        x = self.patch(images)
        grid = x.shape[-1]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.resized_pos(grid)
        maps = []
        for norm1, attn, norm2, mlp in zip(self.norm1, self.attn, self.norm2, self.mlp):
            h = norm1(x)
            a, weights = attn(h, h, h, need_weights=True, average_attn_weights=False)
            maps.append(weights)
            x = x + a
            x = x + mlp(norm2(x))
        return self.head(x[:, 0]), maps


def section_vit_resize() -> None:
    model = ViT()
    images = torch.randn(6, 3, 8, 8)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or name in ("cls", "pos") else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=2e-3)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        logits, maps = model(images)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("vit.losses", losses)
    put("vit.pos_grad", model.pos.grad)
    put("vit.cls_grad", model.cls.grad)
    put("vit.n_groups", [len(decay), len(no_decay)])
    model.eval()
    with torch.no_grad():
        big = torch.randn(2, 3, 12, 12)
        logits, maps = model(big)
        put("vit.big_logits", logits)
        put("vit.resized_pos", model.resized_pos(3))
        # attention rollout: average the heads, add the residual, renormalize, multiply through
        rollout = torch.eye(maps[0].shape[-1]).expand(2, -1, -1)
        for weights in maps:
            a = weights.mean(1) + torch.eye(weights.shape[-1])
            a = a / a.sum(-1, keepdim=True)
            rollout = a @ rollout
        put("vit.rollout", rollout[:, 0, 1:].reshape(2, 3, 3))
        put("vit.maps", maps)
    # (the key third of in_proj_bias: a gradient zero up to rounding, made full steps by AdamW)
    put_state("vit.state", model, exclude=("in_proj_bias",))
    for i, attn in enumerate(model.attn):
        put(f"vit.qv_bias.{i}", torch.cat([attn.in_proj_bias[:16], attn.in_proj_bias[32:]]))


SECTIONS = {"segnet": section_segnet, "unet1d": section_unet1d, "c3d": section_c3d,
            "selfnorm": section_selfnorm, "pool_zoo": section_pool_zoo,
            "vit_resize": section_vit_resize}
