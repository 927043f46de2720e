"""More tutorials' programs, written afresh in their style (PG2, session 19): audio features
by hand (stft, mel filterbank, MFCC, istft), channels-last memory format, saved-tensor hooks
and activation checkpointing, variational inference with torch.distributions, the knowledge
distillation tutorial (soft targets, cosine hidden-state loss, feature-map regressor) and a
small FCN segmentation net with ignore_index.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_audio() -> None:
    sample_rate, n_fft, hop, n_mels = 8000, 64, 16, 8
    t = torch.arange(0, 0.05, 1 / sample_rate)
    waveform = (torch.sin(2 * math.pi * 440 * t) + 0.5 * torch.sin(2 * math.pi * 1200 * t)
                + 0.05 * torch.randn(t.shape)).unsqueeze(0)
    window = torch.hann_window(n_fft)
    spec = torch.stft(waveform, n_fft=n_fft, hop_length=hop, window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    put("audio.spec_shape", list(spec.shape))
    power = spec.abs().pow(2)
    put("audio.power", power)

    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    all_freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    m_pts = torch.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(torch.zeros(1), torch.min(down_slopes, up_slopes))
    put("audio.fb", fb)
    mel = torch.matmul(power.transpose(-1, -2), fb).transpose(-1, -2)
    log_mel = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
    log_mel = torch.max(log_mel, log_mel.amax(dim=(-2, -1), keepdim=True) - 80.0)
    put("audio.log_mel", log_mel)
    n_mfcc = 5
    n = torch.arange(float(n_mels))
    k = torch.arange(float(n_mfcc)).unsqueeze(1)
    dct = torch.cos(math.pi / float(n_mels) * (n + 0.5) * k)
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / float(n_mels))
    mfcc = torch.matmul(log_mel.transpose(-1, -2), dct.t()).transpose(-1, -2)
    put("audio.mfcc", mfcc)
    recon = torch.istft(spec, n_fft=n_fft, hop_length=hop, window=window,
                        length=waveform.shape[-1])
    put("audio.istft_err", (recon - waveform).abs().max() < 1e-4)
    put("audio.istft", recon)
    # SpecAugment-style masking and a delta feature (the torchaudio transforms by hand)
    masked = log_mel.clone()
    masked[:, 2:4, :] = 0.0
    masked[:, :, 5:7] = masked.mean()
    put("audio.masked", masked)
    padded = F.pad(mfcc, (2, 2), mode="replicate")
    kernel = torch.arange(-2, 3, dtype=torch.float32).repeat(n_mfcc, 1, 1)
    delta = F.conv1d(padded, kernel, groups=n_mfcc) / 10.0
    put("audio.delta", delta)
    # a tiny keyword classifier over the log-mel frames, with the gradient reaching the wave
    wave = waveform.clone().requires_grad_()
    spec2 = torch.stft(wave, n_fft, hop, window=window, return_complex=True).abs()
    net = nn.Sequential(nn.Conv1d(n_fft // 2 + 1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                        nn.Flatten(), nn.Linear(4, 2))
    loss = F.cross_entropy(net(spec2), torch.tensor([1]))
    loss.backward()
    put("audio.loss", loss)
    put("audio.wave_grad", wave.grad)


def section_channels_last() -> None:
    x = torch.randn(2, 3, 5, 4)
    cl = x.to(memory_format=torch.channels_last)
    put("cl.stride", list(cl.stride()))
    put("cl.is_cl", [cl.is_contiguous(memory_format=torch.channels_last),
                     cl.is_contiguous(), x.is_contiguous(memory_format=torch.channels_last)])
    put("cl.values", cl)
    back = cl.contiguous()
    put("cl.back_stride", list(back.stride()))
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 2, 1))
    ref = model(x)
    model = model.to(memory_format=torch.channels_last)
    put("cl.weight_cl", model[0].weight.is_contiguous(memory_format=torch.channels_last))
    out = model(cl)
    put("cl.out", out)
    put("cl.out_diff", (out - ref).abs().max() < 1e-5)
    put("cl.out_cl", out.is_contiguous(memory_format=torch.channels_last))
    out.sum().backward()
    put("cl.grad", model[0].weight.grad)
    put("cl.empty_stride", list(torch.empty(2, 3, 4, 5,
                                            memory_format=torch.channels_last).stride()))
    put("cl.like_stride", list(torch.empty_like(cl).stride()))
    put("cl.permuted", list(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).stride()))


def section_saved_hooks() -> None:
    packed = []

    def pack_hook(x):
        packed.append(tuple(x.shape))
        return x.clone()

    def unpack_hook(x):
        return x * 1.0

    a = torch.randn(5, requires_grad=True)
    b = torch.ones(5, requires_grad=True) * 2
    with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
        y = a * b
        z = y.pow(2).sum()
    z.backward()
    put("saved.n_packed", len(packed))
    put("saved.a_grad", a.grad)

    # a pack hook saving to "disk" (a dict) and reading back, as the tutorial's SelfDeletingTempFile
    storage = {}

    def pack_to_store(tensor):
        key = len(storage)
        storage[key] = tensor.detach().clone()
        return key

    def unpack_from_store(key):
        return storage[key]

    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    x = torch.randn(4, 6)
    with torch.autograd.graph.saved_tensors_hooks(pack_to_store, unpack_from_store):
        loss = model(x).pow(2).mean()
    loss.backward()
    put("saved.stored", len(storage) > 0)
    put("saved.model_grad", model[0].weight.grad)
    ref = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    ref.load_state_dict(model.state_dict())
    ref(x).pow(2).mean().backward()
    put("saved.same_grad", torch.allclose(ref[0].weight.grad, model[0].weight.grad))
    with torch.autograd.graph.save_on_cpu():
        loss2 = model(x).sum()
    model.zero_grad()
    loss2.backward()
    put("saved.on_cpu_grad", model[2].weight.grad)

    # activation checkpointing: same gradients, forward recomputed
    from torch.utils.checkpoint import checkpoint, checkpoint_sequential

    calls = [0]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.drop = nn.Dropout(0.2)

        def forward(self, x):
            calls[0] += 1
            return self.drop(F.gelu(self.fc(x)))

    blocks = nn.Sequential(*[Block() for _ in range(3)])
    inp = torch.randn(4, 8, requires_grad=True)
    torch.manual_seed(9)
    plain = blocks(inp).sum()
    plain.backward()
    plain_grad = [p.grad.clone() for p in blocks.parameters()]
    blocks.zero_grad()
    inp.grad = None
    calls[0] = 0
    torch.manual_seed(9)
    h = inp
    for block in blocks:
        h = checkpoint(block, h, use_reentrant=False)
    h.sum().backward()
    put("saved.ckpt.calls", calls[0])
    put("saved.ckpt.same", [torch.allclose(a, p.grad, atol=1e-6)
                      for a, p in zip(plain_grad, blocks.parameters())])
    put("saved.ckpt.inp_grad", inp.grad)
    blocks.eval()
    blocks.zero_grad()
    out = checkpoint_sequential(blocks, 2, inp, use_reentrant=False)
    out.pow(2).sum().backward()
    put("saved.ckpt.seq_grad", blocks[0].fc.weight.grad)


def section_variational() -> None:
    from torch.distributions import Normal, kl_divergence

    # Bayesian linear regression by mean-field VI: q(w) = N(mu, softplus(rho)^2)
    n, d = 30, 3
    X = torch.randn(n, d)
    true_w = torch.tensor([1.5, -2.0, 0.5])
    y = X @ true_w + 0.3 * torch.randn(n)
    mu = torch.zeros(d, requires_grad=True)
    rho = torch.full((d,), -1.0, requires_grad=True)
    prior = Normal(torch.zeros(d), torch.ones(d))
    optimizer = torch.optim.Adam([mu, rho], lr=0.05)
    elbos = []
    for _ in range(25):
        optimizer.zero_grad()
        q = Normal(mu, F.softplus(rho))
        w = q.rsample((4,))
        log_lik = Normal(w @ X.T, 0.3).log_prob(y).sum(-1).mean()
        kl = kl_divergence(q, prior).sum()
        loss = -(log_lik - kl)
        loss.backward()
        optimizer.step()
        elbos.append(-loss.item())
    put("vi.elbos", elbos)
    put("vi.mu", mu)
    put("vi.sigma", F.softplus(rho))
    # a mixture density and a transformed distribution's log_prob / sample
    from torch.distributions import (
        Categorical,
        Independent,
        LogNormal,
        MixtureSameFamily,
        TransformedDistribution,
    )
    from torch.distributions.transforms import AffineTransform, ExpTransform

    mix = MixtureSameFamily(Categorical(logits=torch.tensor([0.2, -0.3, 1.0])),
                            Normal(torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([0.5, 1.0, 0.3])))
    pts = torch.linspace(-2, 3, 7)
    put("vi.mix_logp", mix.log_prob(pts))
    put("vi.mix_mean", mix.mean)
    put("vi.mix_sample", mix.sample((5,)))
    td = TransformedDistribution(Normal(0.0, 1.0), [AffineTransform(0.5, 2.0), ExpTransform()])
    put("vi.td_logp", td.log_prob(torch.tensor([0.5, 1.0, 3.0])))
    put("vi.lognormal", LogNormal(0.5, 2.0).log_prob(torch.tensor([0.5, 1.0, 3.0])))
    ind = Independent(Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
    put("vi.ind", [ind.log_prob(torch.ones(2, 3)), ind.entropy()])
    put("vi.ind_shapes", [list(ind.batch_shape), list(ind.event_shape)])


def section_distill() -> None:
    class DeepNN(nn.Module):
        def __init__(self, num_classes=3):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1),
                nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(4 * 4 * 4, 16), nn.ReLU(),
                                            nn.Dropout(0.1), nn.Linear(16, num_classes))

        def forward(self, x):
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            flattened_conv_output_after_pooling = F.avg_pool1d(flattened_conv_output, 2)
            return x, flattened_conv_output_after_pooling

    class LightNN(nn.Module):
        def __init__(self, num_classes=3):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(4 * 4 * 4, 8), nn.ReLU(),
                                            nn.Linear(8, num_classes))

        def forward(self, x):
            x = self.features(x)
            flattened_conv_output = torch.flatten(x, 1)
            x = self.classifier(flattened_conv_output)
            return x, flattened_conv_output

    images = torch.randn(8, 3, 8, 8)
    labels = torch.randint(0, 3, (8,))
    teacher = DeepNN()
    t_opt = torch.optim.Adam(teacher.parameters(), lr=1e-3)
    for _ in range(3):
        t_opt.zero_grad()
        F.cross_entropy(teacher(images)[0], labels).backward()
        t_opt.step()
    teacher.eval()

    # soft targets: KL between temperature-softened distributions plus hard-label CE
    student = LightNN()
    opt = torch.optim.Adam(student.parameters(), lr=1e-3)
    T, soft_w, ce_w = 2, 0.25, 0.75
    kd_losses = []
    for _ in range(4):
        opt.zero_grad()
        with torch.no_grad():
            teacher_logits, teacher_hidden = teacher(images)
        student_logits, student_hidden = student(images)
        soft_targets = F.softmax(teacher_logits / T, dim=-1)
        soft_prob = F.log_softmax(student_logits / T, dim=-1)
        soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / \
            soft_prob.size()[0] * (T ** 2)
        label_loss = nn.CrossEntropyLoss()(student_logits, labels)
        loss = soft_w * soft_targets_loss + ce_w * label_loss
        loss.backward()
        opt.step()
        kd_losses.append(loss.item())
    put("kd.soft_losses", kd_losses)
    put("kd.kl_div", F.kl_div(soft_prob, soft_targets, reduction="batchmean") * T ** 2)
    # cosine loss between hidden representations (teacher pooled to the student's size)
    student2 = LightNN()
    opt2 = torch.optim.Adam(student2.parameters(), lr=1e-3)
    cosine_loss = nn.CosineEmbeddingLoss()
    cos_losses = []
    for _ in range(4):
        opt2.zero_grad()
        with torch.no_grad():
            _, teacher_hidden = teacher(images)
        student_logits, student_hidden = student2(images)
        hidden_rep_loss = cosine_loss(student_hidden, teacher_hidden.repeat(1, 2),
                                      target=torch.ones(images.size(0)))
        loss = 0.25 * hidden_rep_loss + 0.75 * F.cross_entropy(student_logits, labels)
        loss.backward()
        opt2.step()
        cos_losses.append(loss.item())
    put("kd.cos_losses", cos_losses)
    # feature-map regression through a learned 1x1-conv regressor, MSE to the teacher's map
    regressor = nn.Conv2d(4, 4, 1)
    opt3 = torch.optim.SGD(list(student2.parameters()) + list(regressor.parameters()), lr=0.05,
                           momentum=0.9)
    mse_losses = []
    for _ in range(3):
        opt3.zero_grad()
        with torch.no_grad():
            teacher_map = teacher.features(images)
        student_map = regressor(student2.features(images))
        loss = F.mse_loss(student_map, teacher_map)
        loss.backward()
        opt3.step()
        mse_losses.append(loss.item())
    put("kd.mse_losses", mse_losses)
    put_state("kd.student2", student2)
    put_state("kd.regressor", regressor)


def section_fcn() -> None:
    class TinyFCN(nn.Module):
        def __init__(self, n_classes=3):
            super().__init__()
            self.enc1 = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
            self.enc2 = nn.Sequential(nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU())
            self.score = nn.Conv2d(8, n_classes, 1)
            self.skip = nn.Conv2d(6, n_classes, 1)
            self.up = nn.ConvTranspose2d(n_classes, n_classes, 4, stride=2, padding=1)

        def forward(self, x):
            f1 = self.enc1(x)
            f2 = self.enc2(f1)
            s = self.up(self.score(f2)) + self.skip(f1)
            aux = F.interpolate(self.score(f2), size=x.shape[-2:], mode="bilinear",
                                align_corners=False)
            return s, aux

    model = TinyFCN()
    images = torch.randn(3, 3, 8, 8)
    masks = torch.randint(0, 3, (3, 8, 8))
    masks[:, :2, :2] = 255  # "void" pixels, ignored by the loss
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=5, power=0.9)
    losses, ious = [], []
    for _ in range(4):
        model.train()
        optimizer.zero_grad()
        out, aux = model(images)
        loss = F.cross_entropy(out, masks, ignore_index=255) + \
            0.4 * F.cross_entropy(aux, masks, ignore_index=255)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        with torch.no_grad():
            pred = out.argmax(1)
            valid = masks != 255
            per_class = []
            for c in range(3):
                inter = ((pred == c) & (masks == c) & valid).sum()
                union = (((pred == c) | (masks == c)) & valid).sum()
                per_class.append(inter.float() / union.clamp(min=1))
            ious.append(torch.stack(per_class))
    put("fcn.losses", losses)
    put("fcn.ious", torch.stack(ious))
    put("fcn.lr", scheduler.get_last_lr())
    model.eval()
    with torch.no_grad():
        out, _ = model(images)
        put("fcn.eval", out)
        put("fcn.up_nearest", F.interpolate(out, scale_factor=2, mode="nearest"))
        put("fcn.up_bicubic", F.interpolate(out, size=(11, 13), mode="bicubic",
                                            align_corners=True))
    put_state("fcn.model", model)


SECTIONS = {"audio": section_audio, "cl": section_channels_last, "saved": section_saved_hooks,
            "vi": section_variational, "kd": section_distill, "fcn": section_fcn}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
