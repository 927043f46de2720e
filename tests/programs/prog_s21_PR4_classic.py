"""Classic machine-learning and inference programs written in tensors, afresh (PR4, session 21):
GloVe (a co-occurrence matrix accumulated by index_put_, the weighted least-squares loss,
Adagrad); a Gaussian mixture fitted by EM (responsibilities by logsumexp, MultivariateNormal
densities, k-means++ seeding by multinomial); an HMM (forward-backward in log space, Viterbi
with backtracking, one Baum-Welch update); a bootstrap particle filter with systematic
resampling by searchsorted; Hamiltonian Monte Carlo (leapfrog on autograd.grad, Metropolis
acceptance); spectral clustering (graph Laplacian, eigh, sign-fixed eigenvectors, k-means by
cdist); image processing (Gaussian blur by separable conv2d, Sobel edges, histogram
equalization on uint8 images, rotation by affine_grid / grid_sample); TabNet's attentive
transformer (sparsemax by sort / cumsum, ghost batch normalization, GLU blocks, a feature-reuse
prior); a zoo of learning-rate schedules driving different optimizers; a CTC speech model over
log-mel features computed by hand from torch.stft, greedy CTC decoding; and a two-tower
retrieval model trained with in-batch negatives and a log-Q correction. Tiny sizes; run by
prog_s21_PR4_all.py.
"""

import math

import torch
import torch.distributions as D
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_glove() -> None:
    vocab, window = 15, 2
    corpus = torch.randint(0, vocab, (200,))
    cooc = torch.zeros(vocab, vocab)
    for offset in range(1, window + 1):
        left, right = corpus[:-offset], corpus[offset:]
        weight = torch.full((len(left),), 1.0 / offset)
        cooc.index_put_((left, right), weight, accumulate=True)
        cooc.index_put_((right, left), weight, accumulate=True)
    put("glove.cooc", cooc)
    i, j = cooc.nonzero(as_tuple=True)
    x = cooc[i, j]
    fx = torch.where(x < 10, (x / 10) ** 0.75, torch.ones_like(x))
    w = nn.Embedding(vocab, 5)
    c = nn.Embedding(vocab, 5)
    bw = nn.Embedding(vocab, 1)
    bc = nn.Embedding(vocab, 1)
    for e in (w, c):
        nn.init.uniform_(e.weight, -0.5 / 5, 0.5 / 5)
    for e in (bw, bc):
        nn.init.zeros_(e.weight)
    params = [p for m in (w, c, bw, bc) for p in m.parameters()]
    optimizer = torch.optim.Adagrad(params, lr=0.05, initial_accumulator_value=0.1)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        pred = (w(i) * c(j)).sum(1) + bw(i)[:, 0] + bc(j)[:, 0]
        loss = (fx * (pred - torch.log(x)) ** 2).sum()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("glove.losses", losses)
    vectors = w.weight + c.weight
    put("glove.vectors", vectors)
    sim = F.cosine_similarity(vectors[:, None], vectors[None], dim=-1)
    put("glove.nearest", sim.fill_diagonal_(-2).argmax(1))


def section_gmm_em() -> None:
    centers = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]], dtype=torch.float64)
    x = torch.cat([c + 0.5 * torch.randn(30, 2, dtype=torch.float64) for c in centers])
    k = 3
    # k-means++ seeding
    first = torch.randint(0, len(x), (1,))
    chosen = [x[first[0]]]
    for _ in range(k - 1):
        d2 = torch.cdist(x, torch.stack(chosen)).min(1).values ** 2
        chosen.append(x[torch.multinomial(d2 / d2.sum(), 1)[0]])
    means = torch.stack(chosen)
    covs = torch.eye(2, dtype=torch.float64).repeat(k, 1, 1)
    weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
    lls = []
    for _ in range(10):
        log_p = D.MultivariateNormal(means, covariance_matrix=covs).log_prob(x[:, None]) \
            + weights.log()
        ll = torch.logsumexp(log_p, 1)
        lls.append(ll.sum().item())
        resp = (log_p - ll[:, None]).exp()
        nk = resp.sum(0)
        weights = nk / len(x)
        means = (resp.T @ x) / nk[:, None]
        diff = x[:, None] - means
        covs = torch.einsum("nk,nki,nkj->kij", resp, diff, diff) / nk[:, None, None] \
            + 1e-6 * torch.eye(2, dtype=torch.float64)
    put("gmm.lls", lls)
    order = means[:, 0].argsort()
    put("gmm.means", means[order])
    put("gmm.covs", covs[order])
    put("gmm.weights", weights[order])
    put("gmm.assign", resp.argmax(1))
    mixture = D.MixtureSameFamily(D.Categorical(probs=weights),
                                  D.MultivariateNormal(means, covariance_matrix=covs))
    put("gmm.mixture_lp", mixture.log_prob(x[:5]))
    put("gmm.bic", -2 * ll.sum() + (k * (1 + 2 + 3) - 1) * math.log(len(x)))


def section_hmm() -> None:
    n_states, n_obs, length = 3, 4, 12
    log_a = torch.log_softmax(torch.randn(n_states, n_states, dtype=torch.float64), 1)
    log_b = torch.log_softmax(torch.randn(n_states, n_obs, dtype=torch.float64), 1)
    log_pi = torch.log_softmax(torch.randn(n_states, dtype=torch.float64), 0)
    obs = torch.randint(0, n_obs, (length,))
    alpha = torch.empty(length, n_states, dtype=torch.float64)
    alpha[0] = log_pi + log_b[:, obs[0]]
    for t in range(1, length):
        alpha[t] = torch.logsumexp(alpha[t - 1][:, None] + log_a, 0) + log_b[:, obs[t]]
    beta = torch.zeros(length, n_states, dtype=torch.float64)
    for t in range(length - 2, -1, -1):
        beta[t] = torch.logsumexp(log_a + log_b[:, obs[t + 1]] + beta[t + 1], 1)
    log_z = torch.logsumexp(alpha[-1], 0)
    put("hmm.log_z", log_z)
    put("hmm.log_z_beta", torch.logsumexp(log_pi + log_b[:, obs[0]] + beta[0], 0))
    gamma = (alpha + beta - log_z).exp()
    put("hmm.gamma", gamma)
    # Viterbi
    delta = log_pi + log_b[:, obs[0]]
    back = []
    for t in range(1, length):
        scores = delta[:, None] + log_a
        best, arg = scores.max(0)
        back.append(arg)
        delta = best + log_b[:, obs[t]]
    path = [int(delta.argmax())]
    for arg in reversed(back):
        path.append(int(arg[path[-1]]))
    put("hmm.viterbi", path[::-1])
    put("hmm.viterbi_score", delta.max())
    # one Baum-Welch re-estimation
    xi = alpha[:-1, :, None] + log_a + (log_b[:, obs[1:]].T + beta[1:])[:, None, :] - log_z
    new_a = torch.logsumexp(xi, 0) - torch.logsumexp(xi, (0, 2))[:, None]
    put("hmm.new_a", new_a.exp())
    counts = torch.zeros(n_states, n_obs, dtype=torch.float64).index_add_(
        1, obs, gamma.T)
    put("hmm.new_b", counts / counts.sum(1, keepdim=True))
    # the same log-likelihood is differentiable in the parameters
    params = torch.randn(n_states, n_states, dtype=torch.float64, requires_grad=True)
    la = torch.log_softmax(params, 1)
    a = log_pi + log_b[:, obs[0]]
    for t in range(1, length):
        a = torch.logsumexp(a[:, None] + la, 0) + log_b[:, obs[t]]
    torch.logsumexp(a, 0).backward()
    put("hmm.grad", params.grad)


def section_particle() -> None:
    steps, n = 15, 200
    true_x = torch.zeros(steps)
    obs = torch.zeros(steps)
    x = torch.tensor(0.0)
    for t in range(steps):
        x = 0.9 * x + 0.5 * torch.randn(())
        true_x[t] = x
        obs[t] = x + 0.3 * torch.randn(())
    particles = torch.randn(n)
    weights = torch.full((n,), 1.0 / n)
    estimates, ess = [], []
    for t in range(steps):
        particles = 0.9 * particles + 0.5 * torch.randn(n)
        log_w = weights.log() + D.Normal(particles, 0.3).log_prob(obs[t])
        weights = torch.softmax(log_w, 0)
        estimates.append((weights * particles).sum())
        ess.append(1.0 / (weights ** 2).sum())
        if ess[-1] < n / 2:
            cumulative = torch.cumsum(weights, 0)
            cumulative[-1] = 1.0
            positions = (torch.rand(()) + torch.arange(n)) / n
            index = torch.searchsorted(cumulative, positions)
            particles = particles[index]
            weights = torch.full((n,), 1.0 / n)
    put("pf.estimates", torch.stack(estimates))
    put("pf.ess", torch.stack(ess))
    put("pf.rmse", (torch.stack(estimates) - true_x).pow(2).mean().sqrt())
    put("pf.obs", obs)


def section_hmc() -> None:
    target = D.MultivariateNormal(torch.tensor([1.0, -1.0], dtype=torch.float64),
                                  covariance_matrix=torch.tensor([[1.0, 0.8], [0.8, 1.0]],
                                                                 dtype=torch.float64))

    def potential(q):
        return -target.log_prob(q)

    def grad_u(q):
        q = q.detach().requires_grad_()
        (g,) = torch.autograd.grad(potential(q), q)
        return g

    q = torch.zeros(2, dtype=torch.float64)
    samples, accepts = [], []
    step, n_leap = 0.25, 8
    for _ in range(40):
        p = torch.randn(2, dtype=torch.float64)
        q_new, p_new = q.clone(), p.clone()
        p_new = p_new - 0.5 * step * grad_u(q_new)
        for i in range(n_leap):
            q_new = q_new + step * p_new
            if i < n_leap - 1:
                p_new = p_new - step * grad_u(q_new)
        p_new = p_new - 0.5 * step * grad_u(q_new)
        current = potential(q) + 0.5 * p.pow(2).sum()
        proposed = potential(q_new) + 0.5 * p_new.pow(2).sum()
        accept = torch.rand((), dtype=torch.float64) < torch.exp(current - proposed)
        if accept:
            q = q_new.detach()
        samples.append(q)
        accepts.append(bool(accept))
    samples = torch.stack(samples)
    put("hmc.samples", samples)
    put("hmc.accepts", accepts)
    put("hmc.mean", samples[10:].mean(0))
    put("hmc.energy_error", (proposed - current).abs())


def section_spectral() -> None:
    blobs = torch.cat([torch.randn(12, 2, dtype=torch.float64) * 0.3
                       + torch.tensor(c, dtype=torch.float64)
                       for c in ([0.0, 0.0], [3.0, 3.0], [0.0, 4.0])])
    affinity = torch.exp(-torch.cdist(blobs, blobs) ** 2 / 2)
    affinity.fill_diagonal_(0)
    degree = affinity.sum(1)
    d_inv_sqrt = torch.diag(degree.rsqrt())
    laplacian = torch.eye(36, dtype=torch.float64) - d_inv_sqrt @ affinity @ d_inv_sqrt
    values, vectors = torch.linalg.eigh(laplacian)
    put("spec.values", values[:5])
    embedding = vectors[:, :3]
    # eigenvectors are defined up to sign: make each one's largest entry positive
    signs = torch.sign(embedding.gather(0, embedding.abs().argmax(0, keepdim=True)))
    embedding = embedding * signs
    put("spec.embedding_abs", embedding.abs())
    rows = F.normalize(embedding, dim=1)
    centroids = rows[torch.tensor([0, 12, 24])]
    for _ in range(5):
        assign = torch.cdist(rows, centroids).argmin(1)
        centroids = torch.zeros(3, 3, dtype=torch.float64).index_reduce_(
            0, assign, rows, "mean", include_self=False)
    put("spec.assign", assign)
    put("spec.eigvalsh", torch.linalg.eigvalsh(affinity)[-3:])
    put("spec.svdvals", torch.linalg.svdvals(affinity[:5, :7]))
    u, s, vh = torch.linalg.svd(affinity[:6, :4], full_matrices=False)
    put("spec.svd_recon", (u * s) @ vh)
    put("spec.matrix_norms", [torch.linalg.matrix_norm(affinity, "nuc"),
                              torch.linalg.matrix_norm(affinity, 2),
                              torch.linalg.matrix_norm(affinity, -2)])


def section_imgproc() -> None:
    image = (torch.rand(1, 1, 16, 16) * 180 + 40).to(torch.uint8)
    put("img.image", image)
    x = image.float() / 255
    sigma = 1.2
    k = torch.arange(5, dtype=torch.float32) - 2
    g = torch.exp(-k ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    blurred = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), g.view(1, 1, 1, 5))
    blurred = F.conv2d(blurred, g.view(1, 1, 5, 1))
    put("img.blur", blurred)
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    kernels = torch.stack([sobel, sobel.T])[:, None]
    grads = F.conv2d(F.pad(blurred, (1, 1, 1, 1), mode="replicate"), kernels)
    magnitude = grads.pow(2).sum(1).sqrt()
    put("img.sobel", magnitude)
    put("img.angle", torch.atan2(grads[:, 1], grads[:, 0]))
    # histogram equalization on the uint8 image
    hist = torch.bincount(image.flatten().long(), minlength=256)
    cdf = hist.cumsum(0)
    cdf_min = cdf[cdf > 0].min()
    lut = ((cdf - cdf_min).float() / (cdf[-1] - cdf_min) * 255).round().clamp(0, 255)
    equalized = lut.to(torch.uint8)[image.long()]
    put("img.equalized", equalized)
    put("img.histc", torch.histc(x, bins=10, min=0, max=1))
    put("img.uint8_ops", [image[0, 0, 0, :6] + 100, image[0, 0, 0, :6] // 3,
                          image[0, 0, 0, :6].to(torch.int16) - 200,
                          (image[0, 0, 0, :6] > 128).sum()])
    theta = torch.tensor([[[math.cos(0.3), -math.sin(0.3), 0.1],
                           [math.sin(0.3), math.cos(0.3), 0.0]]])
    grid = F.affine_grid(theta, (1, 1, 16, 16), align_corners=False)
    put("img.rotated", F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                                     align_corners=False))
    put("img.rotated_nearest", F.grid_sample(x, grid, mode="nearest", padding_mode="zeros",
                                             align_corners=False))
    put("img.resized", F.interpolate(x, size=(7, 9), mode="area"))
    put("img.resized_aa", F.interpolate(x, size=(7, 9), mode="bilinear", antialias=True))
    put("img.rot90", torch.rot90(image, 1, (2, 3))[0, 0, :2])
    put("img.flip", torch.flip(image, (3,))[0, 0, 0, :4])
    put("img.roll", torch.roll(image, shifts=(2, -1), dims=(2, 3))[0, 0, :2, :4])


def sparsemax(z, dim=-1):
    z_sorted, _ = torch.sort(z, dim=dim, descending=True)
    k = torch.arange(1, z.shape[dim] + 1, dtype=z.dtype)
    cumulative = z_sorted.cumsum(dim) - 1
    support = (k * z_sorted > cumulative)
    k_z = support.sum(dim, keepdim=True)
    tau = cumulative.gather(dim, k_z - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


class GhostBN(nn.Module):
    def __init__(self, features, virtual_batch=4, momentum=0.02):
        super().__init__()
        self.bn = nn.BatchNorm1d(features, momentum=momentum)
        self.virtual_batch = virtual_batch

    def forward(self, x):
        chunks = x.chunk(math.ceil(len(x) / self.virtual_batch), 0)
        return torch.cat([self.bn(c) for c in chunks], 0)


class GLUBlock(nn.Module):
    def __init__(self, inp, out):
        super().__init__()
        self.fc = nn.Linear(inp, 2 * out, bias=False)
        self.bn = GhostBN(2 * out)

    def forward(self, x):
        return F.glu(self.bn(self.fc(x)), dim=-1)


def section_tabnet() -> None:
    # float64: ghost batch normalization over 4 rows of sparsemax-masked features meets
    # variances near zero, which turn float32 rounding into 1e-2 by the fifth step (float64
    # agrees to 1e-14)
    torch.set_default_dtype(torch.float64)
    try:
        _tabnet()
    finally:
        torch.set_default_dtype(torch.float32)


def _tabnet() -> None:
    features, hidden, steps, gamma = 8, 6, 3, 1.3
    x = torch.randn(16, features)
    y = (x[:, 0] * x[:, 1] > 0).long()
    initial_bn = nn.BatchNorm1d(features, momentum=0.02)
    shared = GLUBlock(features, hidden)
    attentive = nn.ModuleList(nn.Linear(hidden, features, bias=False) for _ in range(steps))
    att_bn = nn.ModuleList(GhostBN(features) for _ in range(steps))
    step_blocks = nn.ModuleList(GLUBlock(hidden, hidden) for _ in range(steps))
    head = nn.Linear(hidden, 2)
    modules = nn.ModuleList([initial_bn, shared, attentive, att_bn, step_blocks, head])
    optimizer = torch.optim.Adam(modules.parameters(), lr=2e-2)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        h = initial_bn(x)
        prior = torch.ones_like(h)
        a = shared(h)
        out = 0
        entropy = 0
        masks = []
        for s in range(steps):
            mask = sparsemax(att_bn[s](attentive[s](a)) * prior)
            masks.append(mask)
            prior = prior * (gamma - mask)
            entropy = entropy + (-mask * torch.log(mask + 1e-10)).sum(1).mean()
            d = step_blocks[s](shared(h * mask) * math.sqrt(0.5))
            out = out + F.relu(d)
            a = d
        loss = F.cross_entropy(head(out), y) + 1e-3 * entropy / steps
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("tabnet.losses", losses)
    put("tabnet.masks", masks)
    put("tabnet.mask_sums", torch.stack([m.sum(1) for m in masks]))
    put("tabnet.importance", torch.stack(masks).sum(0).mean(0))
    put_state("tabnet.state", modules)
    z = torch.randn(5, 6, requires_grad=True)
    p = sparsemax(z)
    (p * torch.arange(6.0)).sum().backward()
    put("tabnet.sparsemax", p)
    put("tabnet.sparsemax_grad", z.grad)


def section_sched_zoo() -> None:
    def make():
        return nn.Linear(3, 1)

    x = torch.randn(20, 3)
    y = x.sum(1, keepdim=True)
    configs = {
        "poly": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9},
                 lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=8, power=2.0)),
        "cyclic": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9},
                   lambda o: torch.optim.lr_scheduler.CyclicLR(
                       o, 0.01, 0.1, step_size_up=3, mode="triangular2")),
        "onecycle3": (torch.optim.AdamW, {"lr": 0.01},
                      lambda o: torch.optim.lr_scheduler.OneCycleLR(
                          o, 0.05, total_steps=12, three_phase=True, anneal_strategy="linear")),
        "sequential": (torch.optim.RAdam, {"lr": 0.05, "decoupled_weight_decay": True,
                                           "weight_decay": 0.01},
                       lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
                           torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, total_iters=3),
                           torch.optim.lr_scheduler.ExponentialLR(o, 0.8)], milestones=[3])),
        "chained": (torch.optim.NAdam, {"lr": 0.05, "momentum_decay": 0.005,
                                        "decoupled_weight_decay": True, "weight_decay": 0.01},
                    lambda o: torch.optim.lr_scheduler.ChainedScheduler([
                        torch.optim.lr_scheduler.ConstantLR(o, 0.5, total_iters=4),
                        torch.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.95)])),
        "warm_restarts": (torch.optim.Adadelta, {"lr": 1.0, "rho": 0.8},
                          lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
                              o, T_0=3, T_mult=2, eta_min=0.1)),
        "asgd": (torch.optim.ASGD, {"lr": 0.05, "t0": 3, "lambd": 1e-3},
                 lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [4, 8], gamma=0.3)),
        "adafactor": (torch.optim.Adafactor, {"lr": 0.05},
                      lambda o: torch.optim.lr_scheduler.StepLR(o, 4, 0.5)),
    }
    for name, (opt_class, kwargs, make_sched) in configs.items():
        torch.manual_seed(0)
        model = make()
        optimizer = opt_class(model.parameters(), **kwargs)
        scheduler = make_sched(optimizer)
        lrs, losses = [], []
        for _ in range(12):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
            losses.append(loss.item())
        put(f"sched.{name}.lrs", lrs)
        put(f"sched.{name}.losses", losses)
        put(f"sched.{name}.weight", model.weight)
        if "momentum" in optimizer.param_groups[0]:
            put(f"sched.{name}.momentum", optimizer.param_groups[0]["momentum"])
    # ReduceLROnPlateau on a metric to maximize, with cooldown and an absolute threshold
    model = make()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs",
        cooldown=1, min_lr=0.01)
    lrs = []
    for metric in [0.5, 0.6, 0.6, 0.605, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]:
        plateau.step(metric)
        lrs.append(optimizer.param_groups[0]["lr"])
    put("sched.plateau", lrs)
    put("sched.plateau_last", plateau.get_last_lr())


def log_mel(waves, n_fft=64, hop=16, n_mels=10, sample_rate=8000):
    window = torch.hann_window(n_fft)
    power = torch.stft(waves, n_fft, hop, window=window, return_complex=True).abs() ** 2
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel = 2595 * torch.log10(1 + freqs / 700)
    edges = torch.linspace(mel[0], mel[-1], n_mels + 2)
    hz = 700 * (10 ** (edges / 2595) - 1)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    bank = torch.clamp(torch.minimum((freqs - lower) / (center - lower),
                                     (upper - freqs) / (upper - center)), min=0)
    return torch.log(bank @ power + 1e-6), bank


class CTCModel(nn.Module):
    def __init__(self, n_mels=10, classes=5):
        super().__init__()
        self.conv = nn.Conv1d(n_mels, 16, 3, padding=1)
        self.rnn = nn.GRU(16, 12, batch_first=True, bidirectional=True)
        self.out = nn.Linear(24, classes)

    def forward(self, feats):
        h = F.relu(self.conv(feats)).transpose(1, 2)
        h, _ = self.rnn(h)
        return self.out(h).log_softmax(-1)


def section_ctc_asr() -> None:
    waves = torch.randn(3, 400) * 0.1
    t = torch.arange(400) / 8000
    for b, freq in enumerate((440.0, 880.0, 1320.0)):
        waves[b, 100:300] += torch.sin(2 * torch.pi * freq * t[100:300])
    feats, bank = log_mel(waves)
    put("ctc.bank", bank)
    put("ctc.feats", feats)
    normalized = (feats - feats.mean(-1, keepdim=True)) / (feats.std(-1, keepdim=True) + 1e-5)
    targets = torch.tensor([[1, 2, 0], [3, 0, 0], [4, 1, 3]])
    target_lengths = torch.tensor([2, 1, 3])
    model = CTCModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        log_probs = model(normalized)
        input_lengths = torch.full((3,), log_probs.shape[1], dtype=torch.long)
        loss = ctc(log_probs.transpose(0, 1), targets, input_lengths, target_lengths)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("ctc.losses", losses)
    put("ctc.grad_out", model.out.weight.grad)
    best = log_probs.argmax(-1)
    decoded = []
    for row in best:
        collapsed = torch.unique_consecutive(row)
        decoded.append(collapsed[collapsed != 0].tolist() + [-1] * 0)
    put("ctc.best_path", best)
    put("ctc.decoded_len", [len(d) for d in decoded])
    put("ctc.per_sample", F.ctc_loss(log_probs.transpose(0, 1), targets, input_lengths,
                                     target_lengths, reduction="none"))


def section_two_tower() -> None:
    n_users, n_items, dim = 20, 30, 8
    popularity = torch.distributions.Dirichlet(torch.full((n_items,), 0.5)).sample()
    users = torch.randint(0, n_users, (64,))
    items = torch.multinomial(popularity, 64, replacement=True)
    user_tower = nn.Sequential(nn.Embedding(n_users, dim), nn.Linear(dim, dim), nn.Tanh())
    item_tower = nn.Sequential(nn.Embedding(n_items, dim), nn.Linear(dim, dim), nn.Tanh())
    params = list(user_tower.parameters()) + list(item_tower.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-2)
    temperature = 0.1
    losses = []
    for step in range(6):
        batch = torch.arange(step * 10, step * 10 + 16) % 64
        u = F.normalize(user_tower(users[batch]), dim=-1)
        v = F.normalize(item_tower(items[batch]), dim=-1)
        logits = u @ v.T / temperature - torch.log(popularity[items[batch]])[None]
        # the same item twice in a batch is not a negative of itself
        same = items[batch][:, None] == items[batch][None]
        logits = logits.masked_fill(same & ~torch.eye(16, dtype=torch.bool), float("-inf"))
        loss = F.cross_entropy(logits, torch.arange(16))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("tt.losses", losses)
    with torch.no_grad():
        all_items = F.normalize(item_tower(torch.arange(n_items)), dim=-1)
        query = F.normalize(user_tower(torch.arange(5)), dim=-1)
        scores, top = (query @ all_items.T).topk(3, dim=1)
    put("tt.top", top)
    put("tt.scores", scores)
    put("tt.recall", (top == items[:5, None]).any(1).float().mean())
    put_state("tt.user", user_tower)


SECTIONS = {"glove": section_glove, "gmm_em": section_gmm_em, "hmm": section_hmm,
            "particle": section_particle, "hmc": section_hmc, "spectral": section_spectral,
            "imgproc": section_imgproc, "tabnet": section_tabnet, "sched_zoo": section_sched_zoo,
            "ctc_asr": section_ctc_asr, "two_tower": section_two_tower}
