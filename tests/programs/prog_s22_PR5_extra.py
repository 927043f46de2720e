"""Further programs, afresh (PR5, session 22): a DARTS cell search (softmax-mixed operations,
first-order alternating updates on train / validation splits, the derived genotype); mean
teacher semi-supervised learning with an EMA teacher and a ramped consistency weight, next to
multi-task uncertainty weighting and a center loss; Needleman-Wunsch alignment with traceback
and its smoothed, differentiable form; a Gillespie simulation of predator and prey and LDA by
variational EM; two-view triangulation by DLT and bundle adjustment over Rodrigues rotations;
few-shot episodes with matching and relation networks and an additive-angular-margin head;
point clouds (chamfer and exact earth mover's distances, a PointNet autoencoder); a GAN zoo
(InfoGAN's code reconstruction, relativistic average losses, a PatchGAN pix2pix step); and
ranking samplers (Gumbel-top-k sampling without replacement, Plackett-Luce likelihood) with
DBSCAN. Tiny sizes; run by prog_s22_PR5_all.py.
"""

import itertools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state

OPERATIONS = {
    "skip": lambda c: nn.Identity(),
    "conv3": lambda c: nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                     nn.BatchNorm2d(c, affine=False)),
    "dil3": lambda c: nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=2, dilation=2,
                                                         bias=False),
                                    nn.BatchNorm2d(c, affine=False)),
    "avg": lambda c: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
    "max": lambda c: nn.MaxPool2d(3, 1, 1),
}


class Cell(nn.Module):
    def __init__(self, channels, nodes=2):
        super().__init__()
        self.edges = nn.ModuleList()
        for node in range(nodes):
            for _ in range(node + 1):
                self.edges.append(nn.ModuleList(op(channels) for op in OPERATIONS.values()))
        self.nodes = nodes

    def forward(self, x, alphas):
        states, edge = [x], 0
        for _ in range(self.nodes):
            total = 0
            for state in states:
                weights = F.softmax(alphas[edge], -1)
                total = total + sum(w * op(state) for w, op in zip(weights, self.edges[edge]))
                edge += 1
            states.append(total)
        return torch.cat(states[1:], 1)


def section_darts() -> None:
    images = torch.randn(16, 3, 6, 6)
    labels = (images[:, 0].mean((1, 2)) > 0).long()
    stem = nn.Conv2d(3, 4, 3, padding=1)
    cell = Cell(4)
    head = nn.Linear(8, 2)
    alphas = (1e-3 * torch.randn(3, len(OPERATIONS))).requires_grad_()
    weights = [*stem.parameters(), *cell.parameters(), *head.parameters()]
    w_opt = torch.optim.SGD(weights, lr=0.05, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam([alphas], lr=3e-2, betas=(0.5, 0.999), weight_decay=1e-3)

    def loss_on(x, y):
        return F.cross_entropy(head(cell(stem(x), alphas).mean((2, 3))), y)

    history = []
    for _ in range(4):
        a_opt.zero_grad()
        val_loss = loss_on(images[8:], labels[8:])
        val_loss.backward()
        a_opt.step()
        w_opt.zero_grad()
        train_loss = loss_on(images[:8], labels[:8])
        train_loss.backward()
        nn.utils.clip_grad_norm_(weights, 5.0)
        w_opt.step()
        history.append([train_loss.item(), val_loss.item()])
    put("darts.history", history)
    put("darts.alphas", alphas)
    names = list(OPERATIONS)
    put("darts.genotype", [names[i] for i in F.softmax(alphas[:, 1:], -1).argmax(-1)])
    put("darts.bn_running_none", cell.edges[0][1][2].running_mean is None)
    put_state("darts.cell", cell)
    put_state("darts.stem", stem)


def section_mean_teacher() -> None:
    data = torch.randn(40, 5)
    labels = (data[:, :2].sum(1) > 0).long()
    labelled = torch.arange(40) < 8
    student = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    teacher = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(student.parameters(), lr=0.01)
    history = []
    for step in range(8):
        ramp = math.exp(-5 * (1 - min(step / 6, 1.0)) ** 2)
        noisy_s = data + 0.1 * torch.randn_like(data)
        noisy_t = data + 0.1 * torch.randn_like(data)
        student_logits = student(noisy_s)
        with torch.no_grad():
            teacher_probs = F.softmax(teacher(noisy_t), 1)
        supervised = F.cross_entropy(student_logits[labelled], labels[labelled])
        consistency = F.mse_loss(F.softmax(student_logits, 1), teacher_probs)
        loss = supervised + 10 * ramp * consistency
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        decay = min(1 - 1 / (step + 1), 0.99)
        with torch.no_grad():
            for t_param, s_param in zip(teacher.parameters(), student.parameters()):
                t_param.mul_(decay).add_(s_param, alpha=1 - decay)
        history.append([supervised.item(), consistency.item(), ramp])
    put("mt.history", history)
    put_state("mt.teacher", teacher)
    # uncertainty-weighted multi-task loss with a center loss on the shared features
    shared = nn.Linear(5, 6)
    heads = nn.ModuleList([nn.Linear(6, 2), nn.Linear(6, 1)])
    log_vars = torch.zeros(2, requires_grad=True)
    centers = torch.zeros(2, 6)
    optimizer = torch.optim.Adam([*shared.parameters(), *heads.parameters(), log_vars], lr=0.02)
    regression_target = data[:, 2:3] * 2
    trace = []
    for _ in range(6):
        features = torch.tanh(shared(data))
        task_losses = torch.stack([F.cross_entropy(heads[0](features), labels),
                                   F.mse_loss(heads[1](features), regression_target)])
        weighted = (torch.exp(-log_vars) * task_losses + log_vars).sum()
        center = (features - centers[labels]).pow(2).sum(1).mean() / 2
        loss = weighted + 0.1 * center
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():  # centers move toward their class means
            for c in range(2):
                centers[c] += 0.5 * (features[labels == c].mean(0) - centers[c])
        trace.append([*task_losses.tolist(), center.item()])
    put("mt.multitask", trace)
    put("mt.log_vars", log_vars)
    put("mt.centers", centers)


def needleman_wunsch(a, b, substitution, gap=-2.0):
    n, m = len(a), len(b)
    score = torch.zeros(n + 1, m + 1)
    score[:, 0] = gap * torch.arange(n + 1)
    score[0, :] = gap * torch.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            score[i, j] = torch.stack([score[i - 1, j - 1] + substitution[a[i - 1], b[j - 1]],
                                       score[i - 1, j] + gap, score[i, j - 1] + gap]).max()
    top, bottom, i, j = [], [], n, m
    letters = "ACGT"
    while i > 0 or j > 0:
        if i > 0 and j > 0 and score[i, j] == score[i - 1, j - 1] + substitution[a[i - 1],
                                                                                 b[j - 1]]:
            top.append(letters[a[i - 1]])
            bottom.append(letters[b[j - 1]])
            i, j = i - 1, j - 1
        elif i > 0 and score[i, j] == score[i - 1, j] + gap:
            top.append(letters[a[i - 1]])
            bottom.append("-")
            i -= 1
        else:
            top.append("-")
            bottom.append(letters[b[j - 1]])
            j -= 1
    return score, "".join(reversed(top)), "".join(reversed(bottom))


def soft_alignment(a, b, substitution, gap, temperature):
    n, m = len(a), len(b)
    rows = [gap * torch.arange(m + 1, dtype=substitution.dtype)]
    for i in range(1, n + 1):
        row = [rows[-1][0] + gap]
        for j in range(1, m + 1):
            options = torch.stack([rows[-1][j - 1] + substitution[a[i - 1], b[j - 1]],
                                   rows[-1][j] + gap, row[-1] + gap])
            row.append(temperature * torch.logsumexp(options / temperature, 0))
        rows.append(torch.stack(row))
    return rows[-1][-1]


def section_alignment() -> None:
    a = torch.tensor([0, 1, 2, 2, 3, 0, 1])
    b = torch.tensor([0, 2, 2, 3, 1, 1])
    substitution = torch.full((4, 4), -1.0) + 3 * torch.eye(4)
    score, top, bottom = needleman_wunsch(a.tolist(), b.tolist(), substitution)
    put("align.score", score)
    put("align.text", top + "/" + bottom)
    learned = substitution.clone().requires_grad_()
    gap = torch.tensor(-2.0, requires_grad=True)
    soft = soft_alignment(a.tolist(), b.tolist(), learned, gap, 0.5)
    soft.backward()
    put("align.soft", soft)
    put("align.grad_sub", learned.grad)
    put("align.grad_gap", gap.grad)
    # the smoothed score approaches the hard one from above as the temperature falls
    put("align.temperatures", torch.stack([soft_alignment(a.tolist(), b.tolist(), substitution,
                                                          torch.tensor(-2.0), t)
                                           for t in (1.0, 0.3, 0.05)]))


def section_gillespie_lda() -> None:
    # predator-prey (Lotka-Volterra) reactions by Gillespie's direct method
    state = torch.tensor([30.0, 10.0], dtype=torch.float64)
    rates = torch.tensor([1.0, 0.02, 0.6], dtype=torch.float64)
    changes = torch.tensor([[1, 0], [-1, 1], [0, -1]], dtype=torch.float64)
    now, times, trajectory = 0.0, [], []
    for _ in range(150):
        propensities = rates * torch.stack([state[0], state[0] * state[1], state[1]])
        total = propensities.sum()
        if total <= 0:
            break
        now += float(-torch.log(torch.rand((), dtype=torch.float64)) / total)
        reaction = int(torch.multinomial(propensities / total, 1))
        state = state + changes[reaction]
        times.append(now)
        trajectory.append(state)
    put("gil.times", times)
    put("gil.trajectory", torch.stack(trajectory))
    # LDA by variational EM on a tiny corpus of word counts
    topics_true = torch.distributions.Dirichlet(torch.full((12,), 0.3)).sample((3,))
    mixtures = torch.distributions.Dirichlet(torch.full((3,), 0.5)).sample((20,))
    counts = torch.distributions.Multinomial(30, mixtures @ topics_true).sample().double()
    k, alpha = 3, 0.5
    beta = torch.distributions.Dirichlet(torch.ones(12)).sample((k,)).double()
    bounds = []
    for _ in range(10):
        gamma = torch.full((20, k), alpha + counts.sum(1, keepdim=True).mean().item() / k,
                           dtype=torch.float64)
        for _ in range(15):
            e_log_theta = torch.digamma(gamma) - torch.digamma(gamma.sum(1, keepdim=True))
            phi = torch.softmax(e_log_theta[:, :, None] + beta.log()[None], 1)  # [doc, k, word]
            gamma = alpha + torch.einsum("dw,dkw->dk", counts, phi)
        beta = torch.einsum("dw,dkw->kw", counts, phi) + 1e-10
        beta = beta / beta.sum(1, keepdim=True)
        e_log_theta = torch.digamma(gamma) - torch.digamma(gamma.sum(1, keepdim=True))
        bound = (torch.einsum("dw,dkw->", counts, phi * (e_log_theta[:, :, None]
                                                         + beta.log()[None] - phi.log()))
                 + (torch.lgamma(torch.tensor(k * alpha)) - k * math.lgamma(alpha)
                    + ((alpha - gamma) * e_log_theta).sum(1) + torch.lgamma(gamma).sum(1)
                    - torch.lgamma(gamma.sum(1))).sum())
        bounds.append(bound.item())
    put("gil.lda_bounds", bounds)
    put("gil.lda_beta", beta)
    put("gil.lda_topwords", beta.argsort(1, descending=True)[:, :3])


def rodrigues(axis_angle):
    theta = axis_angle.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    k = axis_angle / theta
    zero = torch.zeros_like(k[..., 0])
    cross = torch.stack([torch.stack([zero, -k[..., 2], k[..., 1]], -1),
                         torch.stack([k[..., 2], zero, -k[..., 0]], -1),
                         torch.stack([-k[..., 1], k[..., 0], zero], -1)], -2)
    eye = torch.eye(3, dtype=axis_angle.dtype).expand_as(cross)
    sin, cos = torch.sin(theta)[..., None], torch.cos(theta)[..., None]
    return eye + sin * cross + (1 - cos) * cross @ cross


def project(points, rotation, translation, focal=1.0):
    camera = points @ rotation.mT + translation[:, None]
    return focal * camera[..., :2] / camera[..., 2:]


def section_bundle() -> None:
    points = torch.randn(12, 3, dtype=torch.float64) + torch.tensor([0.0, 0, 6],
                                                                    dtype=torch.float64)
    poses = torch.tensor([[0.0, 0, 0], [0.0, 0.2, 0.05]], dtype=torch.float64)
    translations = torch.tensor([[0.0, 0, 0], [-1.0, 0, 0.2]], dtype=torch.float64)
    rotations = rodrigues(poses)
    observed = project(points[None].expand(2, -1, -1), rotations, translations)
    observed = observed + 1e-3 * torch.randn_like(observed)
    put("ba.rotation_orth", (rotations @ rotations.mT - torch.eye(3, dtype=torch.float64))
        .abs().max() < 1e-12)
    # DLT triangulation: the null vector of each point's 4x4 system (its sign cancels below)
    cameras = torch.cat([rotations, translations[..., None]], -1)
    rows = torch.stack([observed[0, :, 0:1] * cameras[0, 2] - cameras[0, 0],
                        observed[0, :, 1:2] * cameras[0, 2] - cameras[0, 1],
                        observed[1, :, 0:1] * cameras[1, 2] - cameras[1, 0],
                        observed[1, :, 1:2] * cameras[1, 2] - cameras[1, 1]], 1)
    homogeneous = torch.linalg.svd(rows).Vh[:, -1]
    triangulated = homogeneous[:, :3] / homogeneous[:, 3:]
    put("ba.triangulated", triangulated)
    # bundle adjustment from perturbed estimates
    est_points = (triangulated + 0.05 * torch.randn_like(triangulated)).requires_grad_()
    est_pose = (poses[1] + 0.02 * torch.randn(3, dtype=torch.float64)).requires_grad_()
    est_translation = (translations[1] + 0.05 * torch.randn(3, dtype=torch.float64)) \
        .requires_grad_()
    optimizer = torch.optim.Adam([est_points, est_pose, est_translation], lr=0.01)
    errors = []
    for _ in range(25):
        all_rotations = torch.stack([rotations[0], rodrigues(est_pose)])
        all_translations = torch.stack([translations[0], est_translation])
        predicted = project(est_points[None].expand(2, -1, -1), all_rotations, all_translations)
        loss = F.huber_loss(predicted, observed, delta=0.01, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        errors.append(loss.item())
    put("ba.errors", errors)
    put("ba.pose", est_pose)
    put("ba.translation", est_translation)


def section_fewshot() -> None:
    classes, shots, queries, dim = 4, 3, 2, 6
    prototypes_true = torch.randn(8, dim) * 2
    encoder = nn.Sequential(nn.Linear(dim, 16), nn.ReLU(), nn.Linear(16, 8))
    relation = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.Adam([*encoder.parameters(), *relation.parameters()], lr=0.01)
    history = []
    for _ in range(6):
        chosen = torch.randperm(8)[:classes]
        support = prototypes_true[chosen, None] + torch.randn(classes, shots, dim)
        query = prototypes_true[chosen, None] + torch.randn(classes, queries, dim)
        targets = torch.arange(classes).repeat_interleave(queries)
        s = encoder(support.view(-1, dim))
        q = encoder(query.view(-1, dim))
        # matching network: cosine attention over the support set
        attention = F.softmax(F.cosine_similarity(q[:, None], s[None], dim=-1) * 5, 1)
        one_hot = F.one_hot(torch.arange(classes).repeat_interleave(shots), classes).float()
        matching = torch.log(attention @ one_hot + 1e-8)
        # relation network: a learned score of (query, class mean) pairs
        means = s.view(classes, shots, -1).sum(1)
        pairs = torch.cat([q[:, None].expand(-1, classes, -1),
                           means[None].expand(len(q), -1, -1)], -1)
        scores = torch.sigmoid(relation(pairs))[..., 0]
        loss = (F.nll_loss(matching, targets)
                + F.mse_loss(scores, F.one_hot(targets, classes).float()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([loss.item(), (matching.argmax(1) == targets).float().mean().item()])
    put("few.history", history)
    # an additive angular margin (ArcFace) head on normalized features
    weight = nn.Parameter(torch.randn(classes, 8))
    features = F.normalize(q.detach(), dim=1)
    cosine = features @ F.normalize(weight, dim=1).T
    theta = torch.acos(cosine.clamp(-1 + 1e-7, 1 - 1e-7))
    margin = F.one_hot(targets, classes) * 0.3
    logits = 16 * torch.cos(theta + margin)
    arc_loss = F.cross_entropy(logits, targets)
    arc_loss.backward()
    put("few.arc_loss", arc_loss)
    put("few.arc_grad", weight.grad)
    put_state("few.encoder", encoder)


def chamfer(a, b):
    distances = torch.cdist(a, b) ** 2
    return distances.min(2).values.mean(1) + distances.min(1).values.mean(1)


def section_point_clouds() -> None:
    a = torch.randn(5, 2, dtype=torch.float64)
    b = torch.randn(5, 2, dtype=torch.float64) + 0.5
    costs = torch.cdist(a, b)
    permutations = torch.tensor(list(itertools.permutations(range(5))))
    totals = costs[torch.arange(5), permutations].sum(1)
    put("pc.emd", totals.min() / 5)
    put("pc.emd_assignment", permutations[totals.argmin()])
    put("pc.chamfer", chamfer(a[None], b[None]))
    angles = torch.rand(6, 16) * 2 * math.pi
    radius = 1 + 0.5 * torch.rand(6, 1)
    clouds = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles),
                          0.1 * torch.randn(6, 16)], -1)
    encoder = nn.Sequential(nn.Conv1d(3, 16, 1), nn.ReLU(), nn.Conv1d(16, 32, 1))
    decoder = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 16 * 3))
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    losses = []
    for _ in range(8):
        code = encoder(clouds.transpose(1, 2)).max(2).values  # symmetric max pooling
        recon = decoder(code).view(6, 16, 3)
        loss = chamfer(recon, clouds).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("pc.losses", losses)
    shuffled = clouds[:, torch.randperm(16)]
    with torch.no_grad():
        codes = [encoder(c.transpose(1, 2)).max(2).values for c in (clouds, shuffled)]
        put("pc.order_invariant", torch.equal(*codes))
        put("pc.order_gap", (codes[0] - codes[1]).abs().max())


def section_gan_zoo() -> None:
    n_cat, noise_dim = 3, 4
    generator = nn.Sequential(nn.Linear(noise_dim + n_cat, 16), nn.ReLU(), nn.Linear(16, 2))
    body = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.1))
    disc_head, q_head = nn.Linear(16, 1), nn.Linear(16, n_cat)
    real = torch.randn(32, 2) * 0.3 + torch.tensor([[1.0, 0.0]]) * torch.randint(0, 3, (32, 1))
    g_opt = torch.optim.Adam([*generator.parameters(), *q_head.parameters()], lr=2e-3,
                             betas=(0.5, 0.999))
    d_opt = torch.optim.Adam([*body.parameters(), *disc_head.parameters()], lr=2e-3,
                             betas=(0.5, 0.999))
    history = []
    for _ in range(5):
        code = torch.randint(0, n_cat, (32,))
        z = torch.cat([torch.randn(32, noise_dim), F.one_hot(code, n_cat).float()], 1)
        fake = generator(z)
        real_logit, fake_logit = disc_head(body(real)), disc_head(body(fake.detach()))
        # relativistic average discriminator loss
        d_loss = (F.binary_cross_entropy_with_logits(real_logit - fake_logit.mean(),
                                                     torch.ones_like(real_logit))
                  + F.binary_cross_entropy_with_logits(fake_logit - real_logit.mean(),
                                                       torch.zeros_like(fake_logit)))
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        hidden = body(fake)
        fake_logit, real_logit = disc_head(hidden), disc_head(body(real)).detach()
        g_loss = (F.binary_cross_entropy_with_logits(fake_logit - real_logit.mean(),
                                                     torch.ones_like(fake_logit))
                  + F.binary_cross_entropy_with_logits(real_logit - fake_logit.mean(),
                                                       torch.zeros_like(real_logit)))
        info_loss = F.cross_entropy(q_head(hidden), code)  # the code is recoverable
        g_opt.zero_grad()
        (g_loss + info_loss).backward()
        g_opt.step()
        history.append([d_loss.item(), g_loss.item(), info_loss.item()])
    put("gan.history", history)
    put_state("gan.generator", generator)
    # one pix2pix step: a U-shaped generator, a PatchGAN judging (input, output) pairs
    source, target = torch.rand(2, 1, 8, 8), torch.rand(2, 3, 8, 8)
    unet_down = nn.Conv2d(1, 8, 4, 2, 1)
    unet_up = nn.ConvTranspose2d(8, 3, 4, 2, 1)
    patch = nn.Sequential(nn.Conv2d(4, 8, 4, 2, 1), nn.LeakyReLU(0.2),
                          nn.Conv2d(8, 1, 3, 1, 1))
    output = torch.tanh(unet_up(F.leaky_relu(unet_down(source), 0.2)))
    verdict = patch(torch.cat([source, output], 1))
    loss = (F.binary_cross_entropy_with_logits(verdict, torch.ones_like(verdict))
            + 100 * F.l1_loss(output, target))
    loss.backward()
    put("gan.patch_shape", list(verdict.shape))
    put("gan.pix2pix_loss", loss)
    put("gan.pix2pix_grads", [unet_down.weight.grad, unet_up.bias.grad])


def section_samplers() -> None:
    log_weights = torch.log(torch.tensor([0.4, 0.25, 0.15, 0.1, 0.06, 0.04]))
    draws = []
    for _ in range(200):  # Gumbel-top-k: k items without replacement, in order
        gumbel = -torch.log(-torch.log(torch.rand(6)))
        draws.append((log_weights + gumbel).topk(3).indices)
    draws = torch.stack(draws)
    put("samp.first_counts", torch.bincount(draws[:, 0], minlength=6))
    put("samp.distinct", (draws[:, 0] != draws[:, 1]).all() & (draws[:, 1] != draws[:, 2]).all())
    scores = torch.zeros(6, requires_grad=True)
    optimizer = torch.optim.Adam([scores], lr=0.1)
    nlls = []
    for _ in range(10):  # Plackett-Luce maximum likelihood of the observed rankings
        ordered = scores[draws]
        tail = torch.logcumsumexp(scores.expand(200, -1).gather(
            1, torch.cat([draws, _rest(draws)], 1)).flip(1), 1).flip(1)[:, :3]
        nll = -(ordered - tail).sum(1).mean()
        optimizer.zero_grad()
        nll.backward()
        optimizer.step()
        nlls.append(nll.item())
    put("samp.pl_nll", nlls)
    put("samp.pl_scores", scores - scores.mean())
    # DBSCAN over two blobs and noise
    points = torch.cat([torch.randn(12, 2) * 0.2, torch.randn(12, 2) * 0.2 + 2,
                        torch.tensor([[5.0, 5.0], [-3.0, 4.0]])])
    neighbours = torch.cdist(points, points) <= 0.5
    core = neighbours.sum(1) >= 3
    labels = torch.full((len(points),), -1)
    cluster = 0
    for start in range(len(points)):
        if labels[start] != -1 or not core[start]:
            continue
        frontier = [start]
        labels[start] = cluster
        while frontier:
            current = frontier.pop()
            if not core[current]:
                continue
            for other in neighbours[current].nonzero()[:, 0].tolist():
                if labels[other] == -1:
                    labels[other] = cluster
                    frontier.append(other)
        cluster += 1
    put("samp.dbscan", labels)
    put("samp.n_clusters", cluster)


def _rest(draws):
    """The unranked items of each row after its ranked ones (in index order)."""
    present = F.one_hot(draws, 6).sum(1).bool()
    return torch.arange(6).expand(len(draws), -1)[~present].view(len(draws), -1)


SECTIONS = {
    "darts": section_darts, "mean_teacher": section_mean_teacher,
    "alignment": section_alignment, "gillespie_lda": section_gillespie_lda,
    "bundle": section_bundle, "fewshot": section_fewshot, "point_clouds": section_point_clouds,
    "gan_zoo": section_gan_zoo, "samplers": section_samplers,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
