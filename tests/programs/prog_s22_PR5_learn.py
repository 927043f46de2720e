"""Learning programs, afresh (PR5, session 22): SwAV (Sinkhorn-Knopp codes over normalized
prototypes, swapped prediction, prototypes frozen for the first steps); conditional flow
matching / rectified flow on 2-d data with Euler and midpoint sampling; a neural process (mean
aggregated deterministic path, latent path with rsample and kl_divergence); DeepSets and a Set
Transformer (MultiheadAttention with key_padding_mask over padded sets, pooling by attention);
learning to rank with NeuralSort / SoftSort relaxations, ListNet / ListMLE losses and NDCG by a
stable sort; CMA-ES on Rosenbrock (eigh of the covariance) and a genetic algorithm on bit
strings; maximum likelihood with special functions (Dirichlet by Minka's fixed point with an
inverse digamma by Newton on polygamma, beta-binomial by lgamma, probit quantiles by erfinv);
and number formats (block floating point by frexp / ldexp, bfloat16 rounding by integer bit
tricks, fake quantization with a straight-through estimator). Tiny sizes; run by
prog_s22_PR5_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


@torch.no_grad()
def sinkhorn_knopp(scores, epsilon=0.05, iterations=3):
    q = torch.exp(scores / epsilon).T
    q /= q.sum()
    prototypes, batch = q.shape
    for _ in range(iterations):
        q /= q.sum(1, keepdim=True)
        q /= prototypes
        q /= q.sum(0, keepdim=True)
        q /= batch
    return (q * batch).T


def section_swav() -> None:
    data = torch.randn(16, 10)
    backbone = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))
    prototypes = nn.Linear(8, 5, bias=False)
    params = [*backbone.parameters(), *prototypes.parameters()]
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-6)
    losses = []
    for step in range(6):
        with torch.no_grad():
            prototypes.weight.copy_(F.normalize(prototypes.weight, dim=1))
        views = [data + 0.1 * torch.randn_like(data), data * (torch.rand_like(data) > 0.2)]
        embeddings = [F.normalize(backbone(v), dim=1) for v in views]
        scores = [prototypes(e) for e in embeddings]
        codes = [sinkhorn_knopp(s.detach()) for s in scores]
        loss = 0
        for i in range(2):
            log_p = F.log_softmax(scores[1 - i] / 0.1, dim=1)
            loss = loss - (codes[i] * log_p).sum(1).mean()
        loss = loss / 2
        optimizer.zero_grad()
        loss.backward()
        if step < 2:  # prototypes frozen during the first iterations
            prototypes.weight.grad = None
        optimizer.step()
        losses.append(loss.item())
    put("swav.losses", losses)
    put("swav.codes", codes[0])
    put("swav.code_marginals", codes[0].sum(0))
    put_state("swav.backbone", backbone)
    put("swav.prototypes", prototypes.weight)


def section_flow_matching() -> None:
    angle = torch.rand(64) * math.pi
    targets = torch.stack([torch.cos(angle), torch.sin(angle)], 1) + 0.05 * torch.randn(64, 2)
    frequencies = torch.exp(torch.linspace(0, math.log(50), 4))

    def embed(t):
        return torch.cat([torch.sin(t[:, None] * frequencies), torch.cos(t[:, None] * frequencies)],
                         1)

    net = nn.Sequential(nn.Linear(2 + 8, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(),
                        nn.Linear(32, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    losses = []
    for _ in range(12):
        x1 = targets[torch.randint(0, 64, (32,))]
        x0 = torch.randn(32, 2)
        t = torch.rand(32)
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        velocity = net(torch.cat([xt, embed(t)], 1))
        loss = F.mse_loss(velocity, x1 - x0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("fm.losses", losses)

    @torch.no_grad()
    def sample(x, steps, midpoint):
        dt = 1 / steps
        for k in range(steps):
            t = torch.full((len(x),), k * dt)
            v = net(torch.cat([x, embed(t)], 1))
            if midpoint:
                x_mid = x + dt / 2 * v
                v = net(torch.cat([x_mid, embed(t + dt / 2)], 1))
            x = x + dt * v
        return x

    start = torch.randn(10, 2)
    put("fm.euler", sample(start, 8, False))
    put("fm.midpoint", sample(start, 4, True))


class NeuralProcess(nn.Module):
    def __init__(self, hidden=16, latent=4):
        super().__init__()
        self.det = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.lat = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.dec = nn.Sequential(nn.Linear(1 + hidden + latent, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 2))

    def posterior(self, x, y):
        stats = self.lat(torch.cat([x, y], -1)).mean(1)
        mean, raw = stats.chunk(2, -1)
        return torch.distributions.Normal(mean, 0.1 + 0.9 * torch.sigmoid(raw))

    def forward(self, xc, yc, xt, yt=None):
        r = self.det(torch.cat([xc, yc], -1)).mean(1, keepdim=True).expand(-1, xt.shape[1], -1)
        prior = self.posterior(xc, yc)
        q = self.posterior(xt, yt) if yt is not None else prior
        z = q.rsample()[:, None].expand(-1, xt.shape[1], -1)
        mean, raw = self.dec(torch.cat([xt, r, z], -1)).chunk(2, -1)
        predictive = torch.distributions.Normal(mean, 0.05 + F.softplus(raw))
        kl = torch.distributions.kl_divergence(q, prior).sum(-1) if yt is not None else None
        return predictive, kl


def section_neural_process() -> None:
    model = NeuralProcess()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for _ in range(6):
        amplitude = 0.5 + torch.rand(8, 1, 1)
        phase = math.pi * torch.rand(8, 1, 1)
        x = torch.rand(8, 12, 1) * 4 - 2
        y = amplitude * torch.sin(x + phase)
        order = torch.randperm(12)
        context = order[:5]
        predictive, kl = model(x[:, context], y[:, context], x, y)
        nll = -predictive.log_prob(y).sum((1, 2))
        loss = (nll + kl).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([nll.mean().item(), kl.mean().item()])
    put("np.history", history)
    model.eval()
    with torch.no_grad():
        grid = torch.linspace(-2, 2, 9).view(1, 9, 1).expand(8, -1, -1)
        predictive, _ = model(x[:, context], y[:, context], grid)
    put("np.mean", predictive.mean)
    put("np.stddev", predictive.stddev)
    put("np.entropy", predictive.entropy().sum())


class SetTransformer(nn.Module):
    def __init__(self, dim=16, heads=4):
        super().__init__()
        self.embed = nn.Linear(1, dim)
        self.sab = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.seed = nn.Parameter(torch.randn(1, 1, dim))
        self.pma = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.out = nn.Linear(dim, 1)

    def forward(self, x, padding):
        h = self.embed(x)
        attended, _ = self.sab(h, h, h, key_padding_mask=padding)
        h = self.norm1(h + attended)
        pooled, weights = self.pma(self.seed.expand(len(x), -1, -1), h, h,
                                   key_padding_mask=padding, average_attn_weights=False)
        return self.out(pooled[:, 0]), weights


class DeepSets(nn.Module):
    def __init__(self):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(1, 16), nn.ELU(), nn.Linear(16, 16))
        self.rho = nn.Sequential(nn.ELU(), nn.Linear(16, 1))

    def forward(self, x, padding):
        return self.rho((self.phi(x) * (~padding)[..., None]).sum(1))


def section_sets() -> None:
    lengths = torch.tensor([3, 7, 5, 2, 6, 4])
    padding = torch.arange(7)[None, :] >= lengths[:, None]
    values = torch.randn(6, 7, 1).masked_fill(padding[..., None], 0)
    targets = values.masked_fill(padding[..., None], -math.inf).amax(1)
    models = {"deepsets": DeepSets(), "settf": SetTransformer()}
    for name, model in models.items():
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(8):
            out = model(values, padding)
            out = out[0] if isinstance(out, tuple) else out
            loss = F.mse_loss(out, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"sets.{name}.losses", losses)
        # (in_proj_bias left out: its key third has no gradient in exact arithmetic, a softmax
        # being shift-invariant, so Adam scales rounding noise there into full steps)
        put_state(f"sets.{name}.state", model, exclude=("in_proj_bias",))
        # permutation invariance: shuffle the valid elements of each set
        permuted = values.clone()
        for i, n in enumerate(lengths.tolist()):
            permuted[i, :n] = values[i, torch.randperm(n)]
        with torch.no_grad():
            a = model(values, padding)
            b = model(permuted, padding)
        a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
        put(f"sets.{name}.invariance", (a - b).abs().max() < 1e-5)
        put(f"sets.{name}.out", a)
    _, weights = models["settf"](values, padding)
    put("sets.pma_weights", weights)


def neural_sort(scores, tau):
    n = scores.shape[1]
    pairwise = (scores[:, :, None] - scores[:, None, :]).abs().sum(2)
    scaling = (n + 1 - 2 * (torch.arange(n, dtype=scores.dtype) + 1))
    logits = scores[:, None, :] * scaling[None, :, None] - pairwise[:, None, :]
    return torch.softmax(logits / tau, -1)


def soft_sort(scores, tau):
    ordered = scores.sort(dim=1, descending=True).values
    return torch.softmax(-(ordered[:, :, None] - scores[:, None, :]).abs() / tau, -1)


def ndcg(scores, relevance, k):
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    gains = (2 ** torch.take_along_dim(relevance, order, 1) - 1)[:, :k]
    discounts = 1 / torch.log2(torch.arange(k, dtype=scores.dtype) + 2)
    ideal = (2 ** relevance.sort(1, descending=True).values - 1)[:, :k]
    return (gains * discounts).sum(1) / (ideal * discounts).sum(1).clamp_min(1e-9)


def section_ranking() -> None:
    features = torch.randn(6, 8, 5)
    relevance = (features @ torch.tensor([1.0, -0.5, 0.3, 0.0, 0.8])).round().clamp(0, 3)
    put("rank.ties_ndcg", ndcg(torch.zeros(6, 8), relevance, 5))
    losses = {}
    for objective in ("listnet", "listmle", "neuralsort", "softsort"):
        torch.manual_seed(1)
        scorer = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
        optimizer = torch.optim.Adam(scorer.parameters(), lr=0.02)
        trace = []
        for _ in range(6):
            scores = scorer(features).squeeze(-1)
            if objective == "listnet":
                loss = -(torch.softmax(relevance, 1) * torch.log_softmax(scores, 1)).sum(1).mean()
            elif objective == "listmle":
                order = relevance.argsort(dim=1, descending=True, stable=True)
                ordered = torch.gather(scores, 1, order)
                tail_lse = torch.logcumsumexp(ordered.flip(1), 1).flip(1)
                loss = (tail_lse - ordered).sum(1).mean()
            else:
                relax = neural_sort if objective == "neuralsort" else soft_sort
                permutation = relax(scores, tau=0.5)
                sorted_relevance = permutation @ relevance[..., None]
                discounts = 1 / torch.log2(torch.arange(8.0) + 2)
                loss = -((2 ** sorted_relevance[..., 0] - 1) * discounts).sum(1).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            trace.append(loss.item())
        losses[objective] = trace
        with torch.no_grad():
            put(f"rank.{objective}.ndcg", ndcg(scorer(features).squeeze(-1), relevance, 5))
        put(f"rank.{objective}.losses", trace)
    with torch.no_grad():
        scores = torch.randn(2, 5)
        put("rank.neuralsort_rows", neural_sort(scores, 0.1).sum(-1))
        put("rank.neuralsort_hard", neural_sort(scores, 1e-3).argmax(-1))
        put("rank.argsort", scores.argsort(1, descending=True))


def rosenbrock(x):
    return (100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2).sum(-1)


def section_evolution() -> None:
    dim, popsize = 4, 12
    mu = popsize // 2
    weights = math.log(mu + 0.5) - torch.log(torch.arange(1, mu + 1, dtype=torch.float64))
    weights = weights / weights.sum()
    mu_eff = 1 / (weights ** 2).sum()
    cc, cs = 4 / (dim + 4), (mu_eff + 2) / (dim + mu_eff + 5)
    c1 = 2 / ((dim + 1.3) ** 2 + mu_eff)
    cmu = min(1 - c1, 2 * (mu_eff - 2 + 1 / mu_eff) / ((dim + 2) ** 2 + mu_eff))
    damps = 1 + 2 * max(0, math.sqrt((mu_eff - 1) / (dim + 1)) - 1) + cs
    chi_n = math.sqrt(dim) * (1 - 1 / (4 * dim) + 1 / (21 * dim ** 2))
    mean = torch.zeros(dim, dtype=torch.float64)
    sigma = 0.5
    cov = torch.eye(dim, dtype=torch.float64)
    ps = torch.zeros(dim, dtype=torch.float64)
    pc = torch.zeros(dim, dtype=torch.float64)
    best = []
    for generation in range(15):
        # samples through the Cholesky factor, which is unique; eigh's eigenvectors are only
        # defined up to sign (LAPACK builds differ), and B D z would depend on those signs
        eigenvalues, basis = torch.linalg.eigh(cov)
        scale = eigenvalues.clamp_min(1e-20).sqrt()
        z = torch.randn(popsize, dim, dtype=torch.float64)
        y = z @ torch.linalg.cholesky(cov).T
        x = mean + sigma * y
        fitness = rosenbrock(x)
        order = fitness.argsort()
        y_sel = y[order[:mu]]
        step = weights @ y_sel
        mean = mean + sigma * step
        inv_sqrt = basis @ torch.diag(1 / scale) @ basis.T
        ps = (1 - cs) * ps + math.sqrt(cs * (2 - cs) * mu_eff) * inv_sqrt @ step
        h_sig = float(ps.norm() / math.sqrt(1 - (1 - cs) ** (2 * (generation + 1)))
                      < (1.4 + 2 / (dim + 1)) * chi_n)
        pc = (1 - cc) * pc + h_sig * math.sqrt(cc * (2 - cc) * mu_eff) * step
        rank_mu = (weights[:, None, None] * y_sel[:, :, None] * y_sel[:, None, :]).sum(0)
        cov = ((1 - c1 - cmu) * cov + c1 * torch.outer(pc, pc) + cmu * rank_mu)
        sigma = sigma * math.exp((cs / damps) * (ps.norm().item() / chi_n - 1))
        best.append(fitness.min().item())
    put("evo.cma_best", best)
    put("evo.cma_mean", mean)
    put("evo.cma_cov", cov)
    put("evo.cma_eigenvalues", eigenvalues)
    put("evo.cma_sigma", sigma)
    # genetic algorithm: tournament selection, uniform crossover, bit-flip mutation (OneMax)
    population = torch.randint(0, 2, (20, 16))
    history = []
    for _ in range(10):
        fitness = population.sum(1)
        contestants = torch.randint(0, 20, (20, 3))
        winners = contestants.gather(1, fitness[contestants].argmax(1, keepdim=True))[:, 0]
        parents = population[winners]
        partners = parents.roll(1, 0)
        crossover = torch.rand(20, 16) < 0.5
        children = torch.where(crossover, parents, partners)
        flips = torch.rand(20, 16) < 1 / 16
        children = children ^ flips.long()
        elite = population[fitness.argmax()]
        children[0] = elite
        population = children
        history.append(fitness.float().mean().item())
    put("evo.ga_history", history)
    put("evo.ga_population", population)
    put("evo.ga_topk", population.sum(1).topk(3).values)


def inverse_digamma(y, iterations=5):
    x = torch.where(y >= -2.22, torch.exp(y) + 0.5, -1 / (y - torch.digamma(torch.ones_like(y))))
    for _ in range(iterations):
        x = x - (torch.digamma(x) - y) / torch.polygamma(1, x)
    return x


def section_special() -> None:
    true_alpha = torch.tensor([2.0, 5.0, 1.0], dtype=torch.float64)
    samples = torch.distributions.Dirichlet(true_alpha).sample((200,))
    mean_log = samples.log().mean(0)
    alpha = torch.ones(3, dtype=torch.float64)
    for _ in range(20):
        alpha = inverse_digamma(torch.digamma(alpha.sum()) + mean_log)
    put("special.dirichlet_alpha", alpha)
    put("special.inverse_digamma", inverse_digamma(torch.tensor([-3.0, -0.5, 0.0, 2.0],
                                                                dtype=torch.float64)))
    # beta-binomial counts, fitted through lgamma
    trials = torch.full((50,), 20.0, dtype=torch.float64)
    probs = torch.distributions.Beta(2.0, 6.0).sample((50,)).double()
    successes = torch.distributions.Binomial(trials, probs).sample()
    raw = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=0.1)

    def log_beta(a, b):
        return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)

    nlls = []
    for _ in range(25):
        a, b = raw.exp()
        log_choose = (torch.lgamma(trials + 1) - torch.lgamma(successes + 1)
                      - torch.lgamma(trials - successes + 1))
        log_lik = log_choose + log_beta(successes + a, trials - successes + b) - log_beta(a, b)
        nll = -log_lik.sum()
        optimizer.zero_grad()
        nll.backward()
        optimizer.step()
        nlls.append(nll.item())
    put("special.bb_nll", nlls)
    put("special.bb_params", raw.exp())
    # probit quantiles and a Student-t log density by hand
    levels = torch.tensor([0.025, 0.5, 0.9, 0.999])
    put("special.probit", math.sqrt(2) * torch.erfinv(2 * levels - 1))
    put("special.probit_check", torch.special.ndtr(math.sqrt(2) * torch.erfinv(2 * levels - 1)))
    put("special.ndtri", torch.special.ndtri(levels))
    nu = torch.tensor(3.5, dtype=torch.float64)
    x = torch.linspace(-4, 4, 9, dtype=torch.float64)
    by_hand = (torch.lgamma((nu + 1) / 2) - torch.lgamma(nu / 2) - 0.5 * torch.log(nu * math.pi)
               - (nu + 1) / 2 * torch.log1p(x ** 2 / nu))
    put("special.student_t", by_hand)
    put("special.student_gap", (by_hand - torch.distributions.StudentT(nu).log_prob(x)).abs()
        .max() < 1e-12)
    put("special.gammaln_ratio", torch.special.gammaln(torch.tensor([0.5, 10.0, 100.0])))
    put("special.multigammaln", torch.special.multigammaln(torch.tensor([2.5, 4.0]), 2))


def block_float(x, block=4, mantissa_bits=4):
    blocks = x.reshape(-1, block)
    _, exponent = torch.frexp(blocks.abs().amax(1, keepdim=True))
    scaled = torch.ldexp(blocks, (mantissa_bits - exponent).to(blocks.dtype))
    quantized = torch.ldexp(scaled.round(), (exponent - mantissa_bits).to(blocks.dtype))
    return quantized.reshape(x.shape), exponent


def to_bfloat16_bits(x):
    bits = x.view(torch.int32)
    rounding = 0x7FFF + ((bits >> 16) & 1)
    return ((bits + rounding) & -65536).view(torch.float32)


def fake_quantize(x, bits=4):
    scale = x.detach().abs().max() / (2 ** (bits - 1) - 1)
    q = (x / scale).round().clamp(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * scale
    return x + (q - x).detach()  # straight-through: identity gradient


def section_formats() -> None:
    x = torch.randn(4, 8) * torch.tensor([1e-3, 1.0, 30.0, 1e4]).repeat_interleave(8).view(4, 8)
    mantissa, exponent = torch.frexp(x)
    put("fmt.frexp", [mantissa, exponent])
    put("fmt.ldexp_back", torch.equal(torch.ldexp(mantissa, exponent.float()), x))
    quantized, shared = block_float(x)
    put("fmt.block", quantized)
    put("fmt.shared_exponent", shared)
    put("fmt.block_error", ((quantized - x).abs() / x.abs().amax(1, keepdim=True)).max())
    values = torch.randn(64) * 100
    emulated = to_bfloat16_bits(values)
    put("fmt.bf16_emulated", emulated)
    put("fmt.bf16_equal", torch.equal(emulated, values.to(torch.bfloat16).float()))
    put("fmt.bits", values.view(torch.int32)[:4])
    put("fmt.fp16_bits", values.half().view(torch.int16)[:4])
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    data = torch.randn(32, 6)
    labels = (data[:, 0] * data[:, 1] > 0).long()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(8):
        h = F.relu(F.linear(data, fake_quantize(model[0].weight), model[0].bias))
        logits = F.linear(h, fake_quantize(model[2].weight), model[2].bias)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("fmt.qat_losses", losses)
    put("fmt.qat_levels", [torch.unique(fake_quantize(model[0].weight).detach()).numel()])
    put_state("fmt.qat", model)


SECTIONS = {
    "swav": section_swav, "flow_matching": section_flow_matching,
    "neural_process": section_neural_process, "sets": section_sets,
    "ranking": section_ranking, "evolution": section_evolution, "special": section_special,
    "formats": section_formats,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
