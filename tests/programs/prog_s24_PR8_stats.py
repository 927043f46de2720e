"""Statistical models around networks, written in torch (PR8, session 24): a linear-chain CRF
(forward algorithm by logsumexp over transitions, gold-path scores, Viterbi with backpointers,
checked against brute-force enumeration) trained a few steps; CTC training of a GRU with
per-sequence lengths and greedy collapse decoding; Cox partial likelihood through logcumsumexp
with the concordance index; quantile regression with the pinball loss at three quantiles;
matrix factorization with BPR and sampled negatives, recall@k with train items masked;
a Gaussian process by hand (cholesky, cholesky_solve, log marginal likelihood, hyper-parameters
fitted with Adam); Bayesian linear regression with MacKay's evidence updates; a Kalman filter
with an RTS smoother and a bootstrap particle filter with multinomial and systematic
resampling; EM for a Gaussian mixture (logsumexp responsibilities, MultivariateNormal).
Tiny sizes; run by prog_s24_PR8_all.py.
"""

import itertools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put


class CRF(nn.Module):
    def __init__(self, tags):
        super().__init__()
        self.trans = nn.Parameter(torch.randn(tags, tags) * 0.1)  # [from, to]
        self.start, self.end = nn.Parameter(torch.zeros(tags)), nn.Parameter(torch.zeros(tags))

    def log_partition(self, emissions, mask):
        alpha = self.start + emissions[:, 0]  # [B, T]
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha[:, :, None] + self.trans[None] + emissions[:, t, None],
                                   dim=1)
            alpha = torch.where(mask[:, t, None], step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def score(self, emissions, tags, mask):
        b = torch.arange(emissions.shape[0])
        s = self.start[tags[:, 0]] + emissions[b, 0, tags[:, 0]]
        for t in range(1, emissions.shape[1]):
            step = self.trans[tags[:, t - 1], tags[:, t]] + emissions[b, t, tags[:, t]]
            s = s + step * mask[:, t]
        last = tags.gather(1, (mask.sum(1) - 1)[:, None])[:, 0]
        return s + self.end[last]

    def viterbi(self, emissions, mask):
        score = self.start + emissions[:, 0]
        pointers = []
        for t in range(1, emissions.shape[1]):
            best, idx = (score[:, :, None] + self.trans[None]).max(dim=1)
            pointers.append(idx)
            score = torch.where(mask[:, t, None], best + emissions[:, t], score)
        score = score + self.end
        paths = []
        for i in range(emissions.shape[0]):
            length = int(mask[i].sum())
            tag = int(score[i].argmax())
            path = [tag]
            for t in range(length - 2, -1, -1):
                tag = int(pointers[t][i, tag])
                path.append(tag)
            paths.append(path[::-1])
        return score.max(1).values, paths


def section_crf() -> None:
    torch.manual_seed(100)
    tags, batch, length = 3, 4, 5
    crf = CRF(tags)
    encoder = nn.Linear(6, tags)
    x = torch.randn(batch, length, 6)
    gold = torch.randint(0, tags, (batch, length))
    lengths = torch.tensor([5, 3, 4, 2])
    mask = torch.arange(length)[None] < lengths[:, None]
    opt = torch.optim.Adam([*crf.parameters(), *encoder.parameters()], lr=0.05)
    losses = []
    for _ in range(10):
        em = encoder(x)
        nll = (crf.log_partition(em, mask) - crf.score(em, gold, mask)).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
        losses.append(nll.item())
    put("crf.losses", torch.tensor(losses))
    put("crf.trans", crf.trans)
    put("crf.trans_grad", crf.trans.grad)
    with torch.no_grad():
        em = encoder(x)
        best, paths = crf.viterbi(em, mask)
        put("crf.viterbi_scores", best)
        put("crf.paths", str(paths))
        log_z = crf.log_partition(em, mask)
        # brute force over every path of the second sequence (length 3)
        one = em[1:2, :3]
        all_scores = []
        for path in itertools.product(range(tags), repeat=3):
            p = torch.tensor([path])
            all_scores.append(crf.score(one, p, torch.ones(1, 3, dtype=torch.bool))[0])
        all_scores = torch.stack(all_scores)
        put("crf.brute_gap", (torch.logsumexp(all_scores, 0) - log_z[1]).abs())
        put("crf.brute_best_gap", (all_scores.max() - best[1]).abs())
        put("crf.marginal_z", log_z)


def section_ctc() -> None:
    torch.manual_seed(101)
    classes, frames, batch = 5, 12, 3  # blank 0
    rnn = nn.GRU(4, 8, batch_first=True, bidirectional=True)
    head = nn.Linear(16, classes)
    x = torch.randn(batch, frames, 4)
    targets = torch.tensor([[1, 2, 2, 3], [4, 1, 0, 0], [2, 3, 4, 0]])
    target_lengths = torch.tensor([4, 2, 3])
    input_lengths = torch.tensor([12, 9, 10])
    params = [*rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=0.03)
    losses = []
    for _ in range(8):
        log_probs = head(rnn(x)[0]).log_softmax(-1).transpose(0, 1)  # [T, B, C]
        loss = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0,
                          reduction="mean", zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        losses.append(loss.item())
    put("ctc.losses", torch.tensor(losses))
    put("ctc.head_grad", head.weight.grad)
    with torch.no_grad():
        best = head(rnn(x)[0]).argmax(-1)
        decoded = []
        for i in range(batch):
            collapsed = torch.unique_consecutive(best[i, :input_lengths[i]])
            decoded.append(collapsed[collapsed != 0].tolist())
        put("ctc.best", best)
        put("ctc.decoded", str(decoded))
        per_seq = F.ctc_loss(log_probs.detach(), targets, input_lengths, target_lengths,
                             reduction="none")
        put("ctc.per_seq", per_seq)


def section_survival() -> None:
    g = torch.Generator().manual_seed(102)
    n = 40
    # (float64: in float32 L-BFGS's stopping test on the loss change, near convergence, is met
    # one iteration apart on the two sides: rounding of the same arithmetic)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    true_beta = torch.tensor([0.8, -0.5, 0.0], dtype=torch.float64)
    times = -torch.log(torch.rand(n, generator=g, dtype=torch.float64)) / torch.exp(x @ true_beta)
    censor = -torch.log(torch.rand(n, generator=g, dtype=torch.float64)) * 1.5
    events = (times <= censor).double()
    observed = torch.minimum(times, censor)
    order = observed.argsort(descending=True)
    xs, ev = x[order], events[order]
    beta = torch.zeros(3, requires_grad=True, dtype=torch.float64)
    opt = torch.optim.LBFGS([beta], lr=0.5, max_iter=20)

    def closure():
        opt.zero_grad()
        eta = xs @ beta
        loss = -((eta - torch.logcumsumexp(eta, 0)) * ev).sum() / ev.sum()
        loss.backward()
        return loss

    first = closure().item()
    opt.step(closure)
    put("surv.first", first)
    put("surv.beta", beta)
    put("surv.events", events.sum())
    with torch.no_grad():
        risk = x @ beta
        comparable = (observed[:, None] < observed[None, :]) & (events[:, None] == 1)
        concordant = (risk[:, None] > risk[None, :]).double() + 0.5 * (risk[:, None] ==
                                                                        risk[None, :]).double()
        put("surv.c_index", (concordant * comparable).sum() / comparable.sum())
        # Breslow cumulative baseline hazard at the event times
        eta = xs @ beta
        base = ev / torch.exp(torch.logcumsumexp(eta, 0))
        put("surv.breslow", base.flip(0).cumsum(0))


def section_quantile() -> None:
    g = torch.Generator().manual_seed(103)
    x = torch.rand(64, 1, generator=g) * 4 - 2
    y = torch.sin(2 * x) + (0.2 + 0.3 * x.abs()) * torch.randn(64, 1, generator=g)
    qs = torch.tensor([0.1, 0.5, 0.9])
    torch.manual_seed(103)
    net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        pred = net(x)
        err = y - pred
        pinball = torch.maximum(qs * err, (qs - 1) * err).mean()
        crossing = F.relu(pred[:, :-1] - pred[:, 1:]).mean()
        loss = pinball + crossing
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(pinball.item())
    put("quant.losses", torch.tensor(losses))
    with torch.no_grad():
        pred = net(x)
        put("quant.coverage", (y < pred).float().mean(0))
        put("quant.residual_quantiles", torch.quantile(y - pred[:, 1:2], qs))
        put("quant.interval", (pred[:, 2] - pred[:, 0]).mean())


def section_bpr() -> None:
    g = torch.Generator().manual_seed(104)
    users, items, dim = 12, 20, 4
    pairs = torch.unique(torch.stack([torch.randint(0, users, (60,), generator=g),
                                      torch.randint(0, items, (60,), generator=g)], 1), dim=0)
    put("bpr.pairs", pairs.shape[0])
    train_mask = torch.zeros(users, items, dtype=torch.bool)
    train_mask[pairs[:, 0], pairs[:, 1]] = True
    torch.manual_seed(104)
    u_emb, i_emb = nn.Embedding(users, dim), nn.Embedding(items, dim)
    nn.init.normal_(u_emb.weight, std=0.1)
    nn.init.normal_(i_emb.weight, std=0.1)
    opt = torch.optim.Adagrad([u_emb.weight, i_emb.weight], lr=0.1)
    losses = []
    for _ in range(25):
        perm = torch.randperm(pairs.shape[0], generator=g)[:32]
        u, pos = pairs[perm, 0], pairs[perm, 1]
        neg = torch.randint(0, items, (32,), generator=g)
        clash = train_mask[u, neg]  # resample negatives that are positives, once
        neg = torch.where(clash, torch.randint(0, items, (32,), generator=g), neg)
        pu = u_emb(u)
        diff = (pu * i_emb(pos)).sum(1) - (pu * i_emb(neg)).sum(1)
        reg = 1e-3 * (pu.pow(2).sum() + i_emb(pos).pow(2).sum() + i_emb(neg).pow(2).sum())
        loss = -F.logsigmoid(diff).mean() + reg / 32
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("bpr.losses", torch.tensor(losses))
    with torch.no_grad():
        scores = u_emb.weight @ i_emb.weight.T
        put("bpr.train_auc", (scores[train_mask].mean() - scores[~train_mask].mean()))
        masked = scores.masked_fill(train_mask, float("-inf"))
        put("bpr.top3", masked.topk(3, dim=1).indices)


def rbf(a, b, log_ls, log_var):
    d2 = torch.cdist(a, b).pow(2)
    return torch.exp(log_var) * torch.exp(-0.5 * d2 / torch.exp(2 * log_ls))


def section_gp() -> None:
    g = torch.Generator().manual_seed(105)
    x = torch.rand(25, 1, generator=g, dtype=torch.float64) * 6
    y = torch.sin(x[:, 0]) + 0.1 * torch.randn(25, generator=g, dtype=torch.float64)
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in (("log_ls", 0.0), ("log_var", 0.0), ("log_noise", -1.0))}
    opt = torch.optim.Adam(params.values(), lr=0.05)
    nlls = []
    for _ in range(30):
        k = rbf(x, x, params["log_ls"], params["log_var"])
        k = k + torch.exp(2 * params["log_noise"]) * torch.eye(25, dtype=torch.float64)
        chol = torch.linalg.cholesky(k)
        alpha = torch.cholesky_solve(y[:, None], chol)
        nll = (0.5 * (y[:, None] * alpha).sum() + chol.diagonal().log().sum()
               + 12.5 * math.log(2 * math.pi))
        opt.zero_grad()
        nll.backward()
        opt.step()
        nlls.append(nll.item())
    put("gp.nlls", torch.tensor(nlls))
    put("gp.params", torch.stack([p.detach() for p in params.values()]))
    with torch.no_grad():
        xs = torch.linspace(0, 6, 7, dtype=torch.float64)[:, None]
        ks = rbf(xs, x, params["log_ls"], params["log_var"])
        mean = ks @ alpha
        v = torch.linalg.solve_triangular(chol, ks.T, upper=False)
        var = torch.exp(params["log_var"]) - v.pow(2).sum(0)
        put("gp.mean", mean[:, 0])
        put("gp.var", var)
        mvn = torch.distributions.MultivariateNormal(torch.zeros(25, dtype=torch.float64),
                                                     scale_tril=chol)
        put("gp.mvn_gap", (-mvn.log_prob(y) - nll).abs())


def section_bayes_linreg() -> None:
    g = torch.Generator().manual_seed(106)
    n, d = 30, 4
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    w_true = torch.tensor([1.0, -2.0, 0.0, 0.5], dtype=torch.float64)
    y = x @ w_true + 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    alpha, beta = 1.0, 1.0
    eig = torch.linalg.eigvalsh(x.T @ x)
    history = []
    for _ in range(8):  # MacKay's evidence fixed point
        precision = alpha * torch.eye(d, dtype=torch.float64) + beta * x.T @ x
        mean = beta * torch.linalg.solve(precision, x.T @ y)
        lam = beta * eig
        gamma = (lam / (alpha + lam)).sum()
        alpha = (gamma / (mean @ mean)).item()
        beta = ((n - gamma) / (y - x @ mean).pow(2).sum()).item()
        history.append([alpha, beta, gamma.item()])
    put("blr.history", torch.tensor(history))
    put("blr.mean", mean)
    precision = alpha * torch.eye(d, dtype=torch.float64) + beta * x.T @ x
    sign, logdet = torch.linalg.slogdet(precision)
    err = beta / 2 * (y - x @ mean).pow(2).sum() + alpha / 2 * mean @ mean
    evidence = (d / 2 * math.log(alpha) + n / 2 * math.log(beta) - err - logdet / 2
                - n / 2 * math.log(2 * math.pi))
    put("blr.evidence", evidence)
    put("blr.sign", sign)
    xs = torch.randn(5, d, generator=g, dtype=torch.float64)
    cov = torch.linalg.inv(precision)
    put("blr.pred_var", 1 / beta + (xs @ cov * xs).sum(1))


def section_filters() -> None:
    g = torch.Generator().manual_seed(107)
    dt, steps = 0.1, 30
    a = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=torch.float64)
    h = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    q = 0.01 * torch.tensor([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]], dtype=torch.float64)
    r = torch.tensor([[0.25]], dtype=torch.float64)
    state = torch.tensor([0.0, 1.0], dtype=torch.float64)
    truth, obs = [], []
    for _ in range(steps):
        state = a @ state + torch.linalg.cholesky(q) @ torch.randn(2, generator=g,
                                                                  dtype=torch.float64)
        truth.append(state)
        obs.append(h @ state + 0.5 * torch.randn(1, generator=g, dtype=torch.float64))
    truth, obs = torch.stack(truth), torch.stack(obs)
    m, p = torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    means, covs, preds = [], [], []
    for z in obs:
        mp, pp = a @ m, a @ p @ a.T + q
        s = h @ pp @ h.T + r
        k = pp @ h.T @ torch.linalg.inv(s)
        m = mp + k @ (z - h @ mp)
        p = (torch.eye(2, dtype=torch.float64) - k @ h) @ pp
        means.append(m)
        covs.append(p)
        preds.append((mp, pp))
    put("kf.means", torch.stack(means))
    put("kf.covs", torch.stack(covs))
    sm, sp = means[-1], covs[-1]  # RTS smoother
    smoothed = [sm]
    for t in range(steps - 2, -1, -1):
        mp, pp = preds[t + 1]
        c = covs[t] @ a.T @ torch.linalg.inv(pp)
        sm = means[t] + c @ (sm - mp)
        sp = covs[t] + c @ (sp - pp) @ c.T
        smoothed.append(sm)
    smoothed = torch.stack(smoothed[::-1])
    put("kf.smoothed", smoothed)
    put("kf.rmse", torch.stack([(torch.stack(means) - truth)[:, 0].pow(2).mean().sqrt(),
                                (smoothed - truth)[:, 0].pow(2).mean().sqrt()]))
    # bootstrap particle filter, multinomial then systematic resampling
    for scheme in ("multinomial", "systematic"):
        n = 200
        parts = torch.randn(n, 2, generator=g, dtype=torch.float64)
        estimates, ess = [], []
        for z in obs:
            noise = torch.randn(n, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(
                q).T
            parts = parts @ a.T + noise
            logw = -0.5 * (z - parts[:, 0]).pow(2) / 0.25
            w = torch.softmax(logw, 0)
            estimates.append(w @ parts)
            ess.append(1 / w.pow(2).sum())
            if scheme == "multinomial":
                idx = torch.multinomial(w, n, replacement=True, generator=g)
            else:
                u = (torch.rand(1, generator=g, dtype=torch.float64)
                     + torch.arange(n, dtype=torch.float64)) / n
                idx = torch.searchsorted(w.cumsum(0), u).clamp(max=n - 1)
            parts = parts[idx]
        put(f"pf.{scheme}.estimates", torch.stack(estimates))
        put(f"pf.{scheme}.ess", torch.stack(ess))


def section_gmm_em() -> None:
    g = torch.Generator().manual_seed(108)
    centres = torch.tensor([[0.0, 0.0], [3.0, 1.0], [-1.0, 3.0]], dtype=torch.float64)
    x = torch.cat([c + 0.5 * torch.randn(30, 2, generator=g, dtype=torch.float64)
                   for c in centres])
    k = 3
    means = x[torch.randperm(x.shape[0], generator=g)[:k]].clone()
    covs = torch.eye(2, dtype=torch.float64).repeat(k, 1, 1)
    log_pi = torch.full((k,), -math.log(k), dtype=torch.float64)
    lls = []
    for _ in range(15):
        dist = torch.distributions.MultivariateNormal(means, covariance_matrix=covs)
        joint = dist.log_prob(x[:, None, :]) + log_pi  # [N, K]
        norm = torch.logsumexp(joint, 1, keepdim=True)
        lls.append(norm.sum())
        resp = (joint - norm).exp()
        nk = resp.sum(0)
        means = resp.T @ x / nk[:, None]
        diff = x[:, None, :] - means[None]
        covs = torch.einsum("nk,nki,nkj->kij", resp, diff, diff) / nk[:, None, None]
        covs = covs + 1e-6 * torch.eye(2, dtype=torch.float64)
        log_pi = torch.log(nk / x.shape[0])
    lls = torch.stack(lls)
    put("gmm.lls", lls)
    order = means[:, 0].argsort()
    put("gmm.means", means[order])
    put("gmm.covs", covs[order])
    put("gmm.weights", log_pi.exp()[order])
    put("gmm.monotone", bool((lls.diff() > -1e-9).all()))
    put("gmm.labels", resp.argmax(1).bincount(minlength=3).sort().values)


SECTIONS = {"crf": section_crf, "ctc": section_ctc, "survival": section_survival,
            "quantile": section_quantile, "bpr": section_bpr, "gp": section_gp,
            "bayes_linreg": section_bayes_linreg, "filters": section_filters,
            "gmm_em": section_gmm_em}
