"""Probabilistic programs, afresh (PR4, session 21): Bayesian logistic regression by variational
inference with a low-rank-plus-diagonal Gaussian posterior (LowRankMultivariateNormal, rsample,
entropy, KL to a MultivariateNormal prior); a discrete VAE with relaxed one-hot / relaxed
Bernoulli latents and a continuous-Bernoulli decoder; count and survival regression (Poisson
GLM with PoissonNLLLoss, heteroscedastic GaussianNLLLoss, Huber, a DeepSurv Cox partial
likelihood by logcumsumexp, a Weibull AFT model, the concordance index); Bayesian optimization
(Sobol candidates, a GP fitted by its marginal likelihood through Cholesky factors, expected
improvement with torch.special); Bayesian linear regression with a conjugate posterior and
evidence; and a mixture of von Mises fitted to angles beside LKJ / Wishart log densities.
Tiny sizes; run by prog_s21_PR4_all.py.
"""

import math

import torch
import torch.distributions as D
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_lowrank_vi() -> None:
    n, d, rank = 80, 5, 2
    x = torch.randn(n, d)
    true_w = torch.tensor([1.5, -2.0, 0.5, 0.0, 1.0])
    y = torch.bernoulli(torch.sigmoid(x @ true_w))
    loc = nn.Parameter(torch.zeros(d))
    factor = nn.Parameter(torch.randn(d, rank) * 0.1)
    log_diag = nn.Parameter(torch.full((d,), -1.0))
    prior = D.MultivariateNormal(torch.zeros(d), covariance_matrix=2.0 * torch.eye(d))
    optimizer = torch.optim.Adam([loc, factor, log_diag], lr=0.05)
    elbos = []
    for _ in range(12):
        optimizer.zero_grad()
        q = D.LowRankMultivariateNormal(loc, factor, log_diag.exp())
        w = q.rsample((8,))
        log_lik = D.Bernoulli(logits=w @ x.T).log_prob(y).sum(-1)
        elbo = log_lik.mean() - D.kl_divergence(q, prior)
        (-elbo).backward()
        optimizer.step()
        elbos.append(elbo.item())
    put("lrvi.elbos", elbos)
    put("lrvi.loc", loc)
    put("lrvi.grad_factor", factor.grad)
    with torch.no_grad():
        q = D.LowRankMultivariateNormal(loc, factor, log_diag.exp())
        put("lrvi.cov", q.covariance_matrix)
        put("lrvi.prec", q.precision_matrix)
        put("lrvi.scale_tril", q.scale_tril)
        put("lrvi.entropy", q.entropy())
        put("lrvi.var", q.variance)
        samples = q.sample((5,))
        put("lrvi.samples", samples)
        put("lrvi.log_prob", q.log_prob(samples))
        full = D.MultivariateNormal(q.loc, covariance_matrix=q.covariance_matrix)
        put("lrvi.log_prob_full", full.log_prob(samples))
        put("lrvi.kl_full", D.kl_divergence(full, prior))
        # posterior predictive by Monte Carlo
        probs = torch.sigmoid(q.sample((200,)) @ x[:6].T).mean(0)
        put("lrvi.predictive", probs)
    put("lrvi.repr", repr(q))


class DiscreteVAE(nn.Module):
    def __init__(self, pixels=16, groups=3, categories=4, bits=2):
        super().__init__()
        self.groups, self.categories, self.bits = groups, categories, bits
        self.encoder = nn.Sequential(nn.Linear(pixels, 32), nn.ELU(),
                                     nn.Linear(32, groups * categories + bits))
        self.decoder = nn.Sequential(nn.Linear(groups * categories + bits, 32), nn.ELU(),
                                     nn.Linear(32, pixels))

    def forward(self, x, temperature):
        h = self.encoder(x)
        cat_logits = h[:, :self.groups * self.categories].view(-1, self.groups,
                                                                self.categories)
        bit_logits = h[:, self.groups * self.categories:]
        z_cat = D.RelaxedOneHotCategorical(torch.tensor(temperature),
                                           logits=cat_logits).rsample()
        z_bit = D.RelaxedBernoulli(torch.tensor(temperature), logits=bit_logits).rsample()
        z = torch.cat([z_cat.flatten(1), z_bit], 1)
        return self.decoder(z), cat_logits, bit_logits, z_cat


def section_relaxed_vae() -> None:
    # float64: the continuous Bernoulli's closed forms cancel catastrophically just outside
    # p in (0.499, 0.501), where a decoder's first logits sit (in float32 an ulp of log there
    # moves the mean by 4e-3: PyTorch's vectorized log against NumPy's)
    torch.set_default_dtype(torch.float64)
    try:
        _relaxed_vae()
    finally:
        torch.set_default_dtype(torch.float32)


def _relaxed_vae() -> None:
    x = (torch.rand(24, 16) > 0.5).double() * 0.8 + 0.1
    model = DiscreteVAE()
    optimizer = torch.optim.Adamax(model.parameters(), lr=5e-3)
    record = []
    for step in range(8):
        temperature = max(0.5, math.exp(-0.1 * step))
        optimizer.zero_grad()
        logits, cat_logits, bit_logits, z_cat = model(x, temperature)
        recon = -D.ContinuousBernoulli(logits=logits).log_prob(x).sum(1).mean()
        q_cat = D.Categorical(logits=cat_logits)
        kl_cat = D.kl_divergence(q_cat, D.Categorical(logits=torch.zeros_like(cat_logits)))
        q_bit = D.Bernoulli(logits=bit_logits)
        kl_bit = D.kl_divergence(q_bit, D.Bernoulli(probs=torch.full_like(bit_logits, 0.5)))
        loss = recon + kl_cat.sum(1).mean() + kl_bit.sum(1).mean()
        loss.backward()
        optimizer.step()
        record.append([loss.item(), recon.item(), temperature])
    put("dvae.record", record)
    put("dvae.z_cat", z_cat)
    put("dvae.z_rowsum", z_cat.sum(-1))
    put("dvae.grad_enc", model.encoder[0].weight.grad)
    put_state("dvae.state", model)
    cb = D.ContinuousBernoulli(logits=logits[:2])
    put("dvae.cb_mean", cb.mean)
    put("dvae.cb_var", cb.variance)
    put("dvae.cb_entropy", cb.entropy())
    put("dvae.cb_rsample", cb.rsample())
    put("dvae.cb_cdf", cb.cdf(torch.full_like(logits[:2], 0.3)))
    relaxed = D.RelaxedOneHotCategorical(torch.tensor(0.7), probs=torch.tensor([0.2, 0.3, 0.5]))
    sample = relaxed.rsample((4,))
    put("dvae.relaxed_sample", sample)
    put("dvae.relaxed_log_prob", relaxed.log_prob(sample))


def concordance(risk, time, event):
    i, j = torch.triu_indices(len(time), len(time), offset=1)
    a = torch.cat([i, j])
    b = torch.cat([j, i])
    comparable = (time[a] < time[b]) & event[a].bool()
    concordant = (risk[a] > risk[b]).float() + 0.5 * (risk[a] == risk[b]).float()
    return (concordant * comparable).sum() / comparable.sum()


def section_glm_survival() -> None:
    # Poisson regression: counts from a log-linear rate
    x = torch.randn(60, 3)
    rate = torch.exp(x @ torch.tensor([0.5, -0.3, 0.2]) + 0.4)
    counts = torch.poisson(rate)
    put("glm.counts", counts)
    glm = nn.Linear(3, 1)
    optimizer = torch.optim.LBFGS(glm.parameters(), lr=1, max_iter=20,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.PoissonNLLLoss(log_input=True, full=True)(glm(x)[:, 0], counts)
        loss.backward()
        return loss

    put("glm.lbfgs_loss", optimizer.step(closure))
    put("glm.coef", glm.weight)
    # (not the iteration count: its stop on a loss change under 1e-9 reads float32 rounding)
    put("glm.nll_rate", F.poisson_nll_loss(rate, counts, log_input=False, eps=1e-6,
                                           reduction="none"))
    # heteroscedastic regression: a mean and a variance head
    net = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2))
    target = x[:, 0] + 0.3 * (1 + x[:, 1].abs()) * torch.randn(60)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        out = net(x)
        mean, var = out[:, 0], F.softplus(out[:, 1]) + 1e-4
        loss = F.gaussian_nll_loss(mean, target, var, full=True) \
            + 0.1 * F.huber_loss(mean, target, delta=0.5) \
            + 0.1 * F.smooth_l1_loss(mean, target, beta=0.3)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("glm.hetero_losses", losses)
    put("glm.huber_none", nn.HuberLoss(reduction="none", delta=0.5)(mean, target))
    # DeepSurv: Cox partial likelihood over risk sets (sorted by time, descending)
    time = torch.rand(40) * 10
    event = (torch.rand(40) > 0.3).float()
    risk_net = nn.Sequential(nn.Linear(3, 8), nn.SELU(), nn.Linear(8, 1, bias=False))
    feats = torch.randn(40, 3)
    optimizer = torch.optim.SGD(risk_net.parameters(), lr=0.05)
    cox = []
    for _ in range(6):
        optimizer.zero_grad()
        risk = risk_net(feats)[:, 0]
        order = torch.argsort(time, descending=True)
        r, e = risk[order], event[order]
        log_risk_set = torch.logcumsumexp(r, 0)
        loss = -((r - log_risk_set) * e).sum() / e.sum()
        loss.backward()
        optimizer.step()
        cox.append(loss.item())
    put("glm.cox", cox)
    put("glm.cindex", concordance(risk.detach(), time, event))
    put("glm.cox_grad", risk_net[0].weight.grad)
    # Weibull AFT: log-likelihood with censoring through the survival function
    log_k = torch.zeros(1, requires_grad=True)
    coef = torch.zeros(3, requires_grad=True)
    optimizer = torch.optim.Rprop([log_k, coef], lr=0.05)
    aft = []
    for _ in range(8):
        optimizer.zero_grad()
        scale = torch.exp(feats @ coef + 1.0)
        weib = D.Weibull(scale, log_k.exp())
        survival = torch.exp(-(time / scale) ** log_k.exp())
        loglik = event * weib.log_prob(time) + (1 - event) * torch.log(survival + 1e-12)
        loss = -loglik.mean()
        loss.backward()
        optimizer.step()
        aft.append(loss.item())
    put("glm.aft", aft)
    put("glm.aft_coef", coef)
    put("glm.weibull_stats", [weib.mean[:4], weib.variance[:4], weib.entropy()[:4]])


def rbf(a, b, lengthscale, variance):
    return variance * torch.exp(-0.5 * torch.cdist(a, b).pow(2) / lengthscale ** 2)


def section_bayes_opt() -> None:
    def objective(x):
        return torch.sin(3 * x[:, 0]) + 0.5 * torch.cos(5 * x[:, 1]) - (x ** 2).sum(1)

    sobol = torch.quasirandom.SobolEngine(2, scramble=True, seed=3)
    x = sobol.draw(6, dtype=torch.float64) * 2 - 1
    put("bo.sobol", x)
    y = objective(x)
    raw = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # lengthscale, var, noise
    best = []
    for _round in range(3):
        optimizer = torch.optim.Adam([raw], lr=0.1)
        for _ in range(15):
            optimizer.zero_grad()
            lengthscale, variance, noise = F.softplus(raw) + 1e-3
            k = rbf(x, x, lengthscale, variance) + noise * torch.eye(len(x), dtype=x.dtype)
            chol = torch.linalg.cholesky(k)
            alpha = torch.cholesky_solve((y - y.mean())[:, None], chol)
            nll = 0.5 * ((y - y.mean())[:, None] * alpha).sum() \
                + chol.diagonal().log().sum() + 0.5 * len(x) * math.log(2 * math.pi)
            nll.backward()
            optimizer.step()
        with torch.no_grad():
            lengthscale, variance, noise = F.softplus(raw) + 1e-3
            k = rbf(x, x, lengthscale, variance) + noise * torch.eye(len(x), dtype=x.dtype)
            chol, info = torch.linalg.cholesky_ex(k)
            candidates = sobol.draw(64, dtype=torch.float64) * 2 - 1
            ks = rbf(candidates, x, lengthscale, variance)
            mean = ks @ torch.cholesky_solve((y - y.mean())[:, None], chol)[:, 0] + y.mean()
            v = torch.linalg.solve_triangular(chol, ks.T, upper=False)
            std = (variance - (v ** 2).sum(0)).clamp(min=1e-12).sqrt()
            z = (mean - y.max()) / std
            ei = (mean - y.max()) * torch.special.ndtr(z) + std * torch.exp(
                -0.5 * z ** 2) / math.sqrt(2 * math.pi)
            log_pi = torch.special.log_ndtr(z)
            pick = ei.argmax()
        x = torch.cat([x, candidates[pick:pick + 1]])
        y = torch.cat([y, objective(candidates[pick:pick + 1])])
        best.append(y.max().item())
        put(f"bo.round{_round}.ei", ei)
        put(f"bo.round{_round}.log_pi", log_pi)
        put(f"bo.round{_round}.nll", nll)
        put(f"bo.round{_round}.info", info)
    put("bo.best", best)
    put("bo.hyper", F.softplus(raw.detach()))
    put("bo.cholesky_inverse", torch.cholesky_inverse(chol))
    put("bo.special", [torch.special.erfcx(z[:5]), torch.special.xlog1py(z[:5], std[:5]),
                       torch.special.entr(std[:5]), torch.special.i0e(z[:5]),
                       torch.special.ndtri(torch.special.ndtr(z[:5]).clamp(1e-6, 1 - 1e-6)),
                       torch.special.log1p(std[:5]), torch.special.expit(z[:5])])


def section_blr() -> None:
    # polynomial features by vander; conjugate posterior; evidence over the prior precision
    x = torch.linspace(-1, 1, 25, dtype=torch.float64)
    y = 0.5 - x + 2 * x ** 3 + 0.1 * torch.randn(25, dtype=torch.float64)
    phi = torch.vander(x, N=5, increasing=True)
    put("blr.phi", phi)
    beta = 100.0
    evidences = []
    for alpha in (0.01, 0.1, 1.0, 10.0):
        precision = alpha * torch.eye(5, dtype=torch.float64) + beta * phi.T @ phi
        chol = torch.linalg.cholesky(precision)
        mean = beta * torch.cholesky_solve((phi.T @ y)[:, None], chol)[:, 0]
        fit = beta / 2 * (y - phi @ mean).pow(2).sum() + alpha / 2 * mean.pow(2).sum()
        logdet = 2 * chol.diagonal().log().sum()
        evidence = 2.5 * math.log(alpha) + 12.5 * math.log(beta) - fit - 0.5 * logdet \
            - 12.5 * math.log(2 * math.pi)
        evidences.append(evidence)
        put(f"blr.mean.{alpha}", mean)
        put(f"blr.logdet.{alpha}", torch.logdet(precision))
    put("blr.evidences", torch.stack(evidences))
    cov = torch.cholesky_inverse(chol)
    x_new = torch.tensor([-1.5, 0.0, 0.7], dtype=torch.float64)
    phi_new = torch.vander(x_new, N=5, increasing=True)
    put("blr.pred_mean", phi_new @ mean)
    put("blr.pred_var", 1 / beta + (phi_new @ cov * phi_new).sum(1))
    put("blr.lstsq", torch.linalg.lstsq(phi, y[:, None]).solution)
    put("blr.lstsq_f32", torch.linalg.lstsq(phi.float(), y[:, None].float(),
                                            driver="gelsd").solution)
    put("blr.pinv", torch.linalg.pinv(phi) @ y)
    put("blr.cond", torch.linalg.cond(phi))
    put("blr.kron", torch.kron(torch.eye(2, dtype=torch.float64), cov[:2, :2].contiguous()))
    put("blr.block_diag", torch.block_diag(cov[:2, :2], torch.ones(1, 3, dtype=torch.float64)))
    # the posterior as a distribution: samples of curves
    post = D.MultivariateNormal(mean, scale_tril=torch.linalg.cholesky(cov))
    put("blr.curves", phi_new @ post.sample((3,)).T)


def section_circular() -> None:
    angles = torch.cat([D.VonMises(torch.tensor(0.5), torch.tensor(4.0)).sample((40,)),
                        D.VonMises(torch.tensor(-2.0), torch.tensor(8.0)).sample((30,))])
    put("vm.angles", angles)
    logits = nn.Parameter(torch.zeros(2))
    locs = nn.Parameter(torch.tensor([0.0, -1.0]))
    log_conc = nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.Adam([logits, locs, log_conc], lr=0.1)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        mixture = D.MixtureSameFamily(D.Categorical(logits=logits),
                                      D.VonMises(locs, log_conc.exp()))
        loss = -mixture.log_prob(angles).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("vm.losses", losses)
    put("vm.params", [logits, locs, log_conc])
    put("vm.mixture_mean", mixture.mean)
    vm = D.VonMises(torch.tensor([0.3, 1.0]), torch.tensor([2.0, 0.5]))
    put("vm.variance", vm.variance)
    put("vm.log_prob_grid", vm.log_prob(torch.linspace(-3, 3, 7)[:, None]))
    lkj = D.LKJCholesky(3, concentration=torch.tensor(2.0))
    corr_chol = torch.linalg.cholesky(torch.tensor([[1.0, 0.3, 0.1], [0.3, 1.0, -0.2],
                                                    [0.1, -0.2, 1.0]]))
    put("vm.lkj_log_prob", lkj.log_prob(corr_chol))
    wishart = D.Wishart(df=torch.tensor(5.0), covariance_matrix=torch.eye(3) * 0.5)
    spd = corr_chol @ corr_chol.T * 2
    put("vm.wishart_log_prob", wishart.log_prob(spd))
    put("vm.wishart_mean", wishart.mean)
    put("vm.wishart_var", wishart.variance)
    kum = D.Kumaraswamy(torch.tensor([2.0, 0.5]), torch.tensor([3.0, 1.5]))
    sample = kum.rsample((4,))
    put("vm.kumaraswamy", sample)
    put("vm.kumaraswamy_lp", kum.log_prob(sample))
    put("vm.kumaraswamy_mean", kum.mean)


SECTIONS = {"lowrank_vi": section_lowrank_vi, "relaxed_vae": section_relaxed_vae,
            "glm_survival": section_glm_survival, "bayes_opt": section_bayes_opt,
            "blr": section_blr, "circular": section_circular}
