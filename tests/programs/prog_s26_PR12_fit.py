"""Optimisation and fitting programs (PR12, session 26): a damped sinusoid fitted by L-BFGS with
strong Wolfe, least squares every way (linalg.lstsq with its drivers, pinv, QR, solve_triangular,
ridge by solve), Gauss-Newton and Levenberg-Marquardt with autograd.functional.jacobian,
Newton-CG with hvp / vhp / vjp / jvp, constrained problems by projection (non-negative least
squares, the probability simplex by sort / cumsum, a box by clamp_), maximum likelihood with
torch.distributions (Normal, Gamma, Beta, StudentT, a Gaussian mixture by MixtureSameFamily),
variational inference with rsample and analytic / Monte Carlo KL, iteratively reweighted least
squares for robust and logistic regression, quantile regression with the pinball loss by
Adagrad, and Bayesian linear regression with a posterior by cholesky_solve. Tiny sizes, seeded;
run by prog_s26_PR12_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import math

import torch
import torch.distributions as D
from prog_s25_PR9_harness import printed, put


def section_curve_fit() -> None:
    g = torch.Generator().manual_seed(1)
    t = torch.linspace(0, 4, 60, dtype=torch.float64)
    y = 2.0 * torch.exp(-0.5 * t) * torch.cos(3.0 * t + 0.3)
    y = y + 0.02 * torch.randn(t.shape, generator=g, dtype=torch.float64)
    params = torch.tensor([1.5, 0.3, 2.8, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([params], lr=1, max_iter=50, tolerance_grad=1e-10,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def model(p):
        return p[0] * torch.exp(-p[1] * t) * torch.cos(p[2] * t + p[3])

    def closure():
        opt.zero_grad()
        loss = 0.5 * (model(params) - y).pow(2).sum()
        loss.backward()
        return loss

    with printed("cfit.log"):
        for outer in range(3):
            loss = opt.step(closure)
            print(f"outer {outer}: loss {loss.item():.6f}")
        a, b, w, phi = params.detach().tolist()
        print(f"A={a:.3f} gamma={b:.3f} omega={w:.3f} phi={phi:.3f}")
        resid = (model(params) - y).detach()
        print(f"rms residual {resid.pow(2).mean().sqrt().item():.4f}")
        J = torch.autograd.functional.jacobian(model, params.detach())
        cov = torch.linalg.inv(J.T @ J) * resid.pow(2).sum() / (len(t) - 4)
        print("std errors", [f"{s:.4f}" for s in cov.diagonal().sqrt().tolist()])
    put("cfit.params", params)


def section_least_squares() -> None:
    g = torch.Generator().manual_seed(2)
    A = torch.randn(30, 4, generator=g, dtype=torch.float64)
    x_true = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    b = A @ x_true + 0.01 * torch.randn(30, generator=g, dtype=torch.float64)
    with printed("lsq.log"):
        sol = torch.linalg.lstsq(A, b.unsqueeze(1))
        print("lstsq", [round(v, 4) for v in sol.solution.squeeze(1).tolist()])
        for driver in ("gelsd", "gelss", "gelsy", "gels"):
            s = torch.linalg.lstsq(A, b.unsqueeze(1), driver=driver)
            print(driver, [round(v, 4) for v in s.solution.squeeze(1).tolist()], s.rank,
                  None if s.singular_values.numel() == 0 else s.singular_values.shape,
                  s.residuals.shape)
        x_pinv = torch.linalg.pinv(A) @ b
        Q, R = torch.linalg.qr(A)
        x_qr = torch.linalg.solve_triangular(R, (Q.T @ b).unsqueeze(1), upper=True).squeeze(1)
        print("pinv == qr:", torch.allclose(x_pinv, x_qr))
        lam = 0.5
        x_ridge = torch.linalg.solve(A.T @ A + lam * torch.eye(4, dtype=A.dtype), A.T @ b)
        print("ridge", x_ridge.numpy().round(4).tolist())
        # rank-deficient: a repeated column
        Ad = torch.cat([A[:, :2], A[:, :1]], 1)
        sd = torch.linalg.lstsq(Ad, b, driver="gelsd")
        print("deficient rank", sd.rank.item(), "min-norm", round(sd.solution.norm().item(), 4))
        print("pinv rtol", torch.linalg.matrix_rank(Ad).item(),
              torch.linalg.pinv(Ad, rtol=1e-8).shape)
        # batched
        As = torch.randn(3, 6, 2, generator=g, dtype=torch.float64)
        bs = torch.randn(3, 6, 1, generator=g, dtype=torch.float64)
        print("batched", torch.linalg.lstsq(As, bs).solution.shape)
    put("lsq.sol", [sol.solution, x_ridge, sd.solution])


def section_gauss_newton() -> None:
    # Rosenbrock-type residuals and an exponential model
    x = torch.linspace(0, 1, 12, dtype=torch.float64)
    y = 0.5 * torch.exp(1.7 * x) + 0.1

    def residuals(p):
        return p[0] * torch.exp(p[1] * x) + p[2] - y

    p = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    with printed("gn.log"):
        for it in range(6):
            r = residuals(p)
            J = torch.autograd.functional.jacobian(residuals, p)
            step = torch.linalg.lstsq(J, -r.unsqueeze(1)).solution.squeeze(1)
            p = p + step
            print(f"GN {it}: |r| {r.norm().item():.3e} |step| {step.norm().item():.3e}")
        print("GN params", [round(v, 6) for v in p.tolist()])
        # Levenberg-Marquardt from a worse start
        p = torch.tensor([2.0, 0.1, 1.0], dtype=torch.float64)
        mu = 1e-2
        for it in range(12):
            r = residuals(p)
            J = torch.autograd.functional.jacobian(residuals, p, vectorize=True)
            H = J.T @ J
            step = torch.linalg.solve(H + mu * torch.diag(H.diagonal()), -J.T @ r)
            new = residuals(p + step).pow(2).sum()
            if new < r.pow(2).sum():
                p, mu = p + step, mu / 3
            else:
                mu = mu * 5
        print("LM params", [round(v, 5) for v in p.tolist()], "mu small:", mu < 1e-4)
    put("gn.p", p)


def section_newton_cg() -> None:
    def f(x):
        return (x[0] - 1) ** 2 + 10 * (x[1] - x[0] ** 2) ** 2 + (x[2] + 0.5) ** 4 + x[2] ** 2

    x = torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    F = torch.autograd.functional
    with printed("ncg.log"):
        for it in range(8):
            grad = F.jacobian(f, x)
            # CG on H d = -g with Hessian-vector products
            d = torch.zeros_like(x)
            r = -grad.clone()
            pdir = r.clone()
            for _ in range(3):
                _, hp = F.hvp(f, x, pdir)
                alpha = r.dot(r) / pdir.dot(hp)
                d = d + alpha * pdir
                r_new = r - alpha * hp
                if r_new.norm() < 1e-12:
                    break
                pdir = r_new + r_new.dot(r_new) / r.dot(r) * pdir
                r = r_new
            t = 1.0
            while f(x + t * d) > f(x) + 1e-4 * t * grad.dot(d) and t > 1e-6:
                t /= 2
            x = x + t * d
            print(f"it {it} f {f(x).item():.6e} step {t}")
        v = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
        _, vh = F.vhp(f, x, v)
        _, hv = F.hvp(f, x, v)
        print("vhp == hvp:", torch.allclose(vh, hv))
        _, vj = F.vjp(lambda z: torch.stack([z.sum(), (z ** 2).sum()]), x,
                      torch.tensor([1.0, 2.0], dtype=torch.float64))
        _, jv = F.jvp(lambda z: torch.stack([z.sum(), (z ** 2).sum()]), x, v)
        print("vjp", vj.numpy().round(4).tolist(), "jvp", jv.numpy().round(4).tolist())
        print("hessian eig", torch.linalg.eigvalsh(F.hessian(f, x)).numpy().round(3).tolist())
    put("ncg.x", x)


def _project_simplex(v):
    u, _ = torch.sort(v, descending=True)
    css = torch.cumsum(u, 0)
    k = torch.arange(1, len(v) + 1, dtype=v.dtype)
    cond = u - (css - 1) / k > 0
    rho = torch.nonzero(cond).max()
    theta = (css[rho] - 1) / (rho + 1)
    return torch.clamp(v - theta, min=0)


def section_projections() -> None:
    g = torch.Generator().manual_seed(4)
    A = torch.rand(20, 5, generator=g, dtype=torch.float64)
    x_true = torch.tensor([0.0, 1.5, 0.0, 0.7, 2.0], dtype=torch.float64)
    b = A @ x_true - 0.05
    with printed("proj.log"):
        # NNLS by projected gradient
        x = torch.zeros(5, dtype=torch.float64, requires_grad=True)
        step = 1.0 / torch.linalg.matrix_norm(A, ord=2).item() ** 2
        for it in range(300):
            loss = 0.5 * (A @ x - b).pow(2).sum()
            (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                x -= step * grad
                x.clamp_(min=0)
        print("nnls", x.detach().numpy().round(3).tolist(), f"loss {loss.item():.4f}")
        # portfolio on the simplex
        mu = torch.tensor([0.1, 0.2, 0.15, 0.05], dtype=torch.float64)
        S = torch.tensor([[0.1, 0.02, 0.04, 0.0], [0.02, 0.3, 0.05, 0.01],
                          [0.04, 0.05, 0.2, 0.02], [0.0, 0.01, 0.02, 0.05]], dtype=torch.float64)
        w = torch.full((4,), 0.25, dtype=torch.float64, requires_grad=True)
        for it in range(200):
            obj = -(mu @ w) + 2.0 * w @ S @ w
            (gw,) = torch.autograd.grad(obj, w)
            with torch.no_grad():
                w.copy_(_project_simplex(w - 0.1 * gw))
        print("weights", w.detach().numpy().round(4).tolist(), "sum", round(w.sum().item(), 6))
        print("simplex", _project_simplex(torch.tensor([0.5, 2.0, -1.0, 0.2], dtype=torch.float64)))
        # box-constrained with Adam and clamp_
        z = torch.zeros(3, requires_grad=True)
        opt = torch.optim.Adam([z], lr=0.1)
        target = torch.tensor([2.0, -3.0, 0.3])
        for _ in range(100):
            opt.zero_grad()
            (z - target).pow(2).sum().backward()
            opt.step()
            with torch.no_grad():
                z.clamp_(-1, 1)
        print("box", z.detach())
    put("proj.x", [x, w])


def section_mle() -> None:
    torch.manual_seed(0)
    data_n = D.Normal(2.0, 0.5).sample((400,))
    data_g = D.Gamma(3.0, 2.0).sample((400,))
    data_b = D.Beta(2.0, 5.0).sample((400,))
    data_t = D.StudentT(4.0, 1.0, 2.0).sample((400,))
    with printed("mle.log"):
        print(f"sample means {data_n.mean().item():.4f} {data_g.mean().item():.4f} "
              f"{data_b.mean().item():.4f} {data_t.median().item():.4f}")
        raw = {k: torch.zeros(2, requires_grad=True) for k in ("n", "g", "b", "t")}
        opt = torch.optim.Adam(raw.values(), lr=0.05)
        sp = torch.nn.functional.softplus
        for step in range(150):
            opt.zero_grad()
            nll = -(D.Normal(raw["n"][0], sp(raw["n"][1])).log_prob(data_n).mean()
                    + D.Gamma(sp(raw["g"][0]), sp(raw["g"][1])).log_prob(data_g).mean()
                    + D.Beta(sp(raw["b"][0]), sp(raw["b"][1])).log_prob(data_b).mean()
                    + D.StudentT(4.0, raw["t"][0], sp(raw["t"][1])).log_prob(data_t).mean())
            nll.backward()
            opt.step()
            if step % 50 == 0:
                print(f"step {step} nll {nll.item():.4f}")
        print("normal", round(raw["n"][0].item(), 2), round(sp(raw["n"][1]).item(), 2))
        print("gamma", [round(v, 2) for v in sp(raw["g"]).tolist()])
        print("beta", [round(v, 2) for v in sp(raw["b"]).tolist()])
        # a two-component mixture by MixtureSameFamily
        x = torch.cat([D.Normal(-2.0, 0.5).sample((150,)), D.Normal(1.5, 0.8).sample((250,))])
        logits = torch.zeros(2, requires_grad=True)
        locs = torch.tensor([-1.0, 1.0], requires_grad=True)
        log_scales = torch.zeros(2, requires_grad=True)
        opt = torch.optim.Adam([logits, locs, log_scales], lr=0.05)
        for step in range(150):
            opt.zero_grad()
            mix = D.MixtureSameFamily(D.Categorical(logits=logits),
                                      D.Normal(locs, log_scales.exp()))
            loss = -mix.log_prob(x).mean()
            loss.backward()
            opt.step()
        print(f"mixture nll {loss.item():.3f}", "weights",
              torch.softmax(logits, 0).detach().numpy().round(2).tolist())
        print("mixture mean/var", round(mix.mean.item(), 3), round(mix.variance.item(), 3))
        print(mix)
    put("mle.raw", list(raw.values()))
    put("mle.mix", [logits, locs, log_scales])


def section_vi() -> None:
    torch.manual_seed(1)
    # conjugate model: x_i ~ N(theta, 1), theta ~ N(0, 2^2)
    x = D.Normal(1.3, 1.0).sample((25,))
    prior = D.Normal(0.0, 2.0)
    post_var = 1 / (1 / 4 + 25)
    post_mean = post_var * x.sum()
    q_mu = torch.zeros((), requires_grad=True)
    q_log_sigma = torch.zeros((), requires_grad=True)
    opt = torch.optim.Adam([q_mu, q_log_sigma], lr=0.05)
    with printed("vi.log"):
        for step in range(300):
            opt.zero_grad()
            q = D.Normal(q_mu, q_log_sigma.exp())
            theta = q.rsample((16,))
            log_lik = D.Normal(theta.unsqueeze(1), 1.0).log_prob(x).sum(1)
            elbo = log_lik.mean() - D.kl_divergence(q, prior)
            (-elbo).backward()
            opt.step()
            if step % 100 == 0:
                print(f"step {step:3d} elbo {elbo.item():.3f}")
        print(f"exact mean {post_mean.item():.3f} sd {math.sqrt(post_var):.3f}")
        print(f"q mean {q_mu.item():.2f} sd {q_log_sigma.exp().item():.2f}")
        q = D.Normal(q_mu.detach(), q_log_sigma.exp().detach())
        s = q.sample((4000,))
        mc_kl = (q.log_prob(s) - prior.log_prob(s)).mean()
        print(f"kl analytic {D.kl_divergence(q, prior).item():.3f} mc {mc_kl.item():.3f}")
        print("has_rsample", q.has_rsample, D.Gamma(1.0, 1.0).has_rsample,
              D.Poisson(1.0).has_rsample)
    put("vi.q", [q_mu, q_log_sigma])


def section_irls() -> None:
    g = torch.Generator().manual_seed(6)
    n = 60
    X = torch.cat([torch.ones(n, 1, dtype=torch.float64),
                   torch.randn(n, 2, generator=g, dtype=torch.float64)], 1)
    beta_true = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    y = X @ beta_true + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    y[::10] += 5.0  # outliers
    with printed("irls.log"):
        beta = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
        print("ols", beta.numpy().round(3).tolist())
        for it in range(20):  # Huber weights
            r = y - X @ beta
            s = torch.median(torch.abs(r - torch.median(r))) / 0.6745
            w = torch.where(r.abs() <= 1.345 * s, torch.ones_like(r), 1.345 * s / r.abs())
            W = torch.diag(w)
            beta = torch.linalg.solve(X.T @ W @ X, X.T @ W @ y)
        print("huber", beta.numpy().round(3).tolist(), "downweighted", int((w < 1).sum()))
        # logistic regression by Newton / IRLS
        logits = X @ torch.tensor([0.2, 1.5, -1.0], dtype=torch.float64)
        labels = torch.bernoulli(torch.sigmoid(logits), generator=g)
        b = torch.zeros(3, dtype=torch.float64)
        for it in range(8):
            p = torch.sigmoid(X @ b)
            H = X.T @ (X * (p * (1 - p)).unsqueeze(1))
            b = b + torch.linalg.solve(H, X.T @ (labels - p))
        nll = torch.nn.functional.binary_cross_entropy_with_logits(X @ b, labels, reduction="sum")
        print("logistic", b.numpy().round(3).tolist(), f"nll {nll.item():.4f}")
        print("labels", labels.sum().item(), labels.dtype)
    put("irls.beta", [beta, b])


def section_quantile() -> None:
    g = torch.Generator().manual_seed(8)
    x = torch.rand(200, 1, generator=g) * 4
    noise = torch.randn(200, 1, generator=g) * (0.2 + 0.3 * x)
    y = 1.0 + 0.8 * x + noise
    taus = torch.tensor([0.1, 0.5, 0.9])
    W = torch.zeros(1, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adagrad([W, b], lr=0.5)

    def pinball(pred, target):
        diff = target - pred
        return torch.maximum(taus * diff, (taus - 1) * diff).mean()

    with printed("qr.log"):
        for step in range(400):
            opt.zero_grad()
            loss = pinball(x @ W + b, y)
            loss.backward()
            opt.step()
            if step % 100 == 0:
                print(f"step {step} pinball {loss.item():.4f}")
        pred = (x @ W + b).detach()
        cover = (y < pred).float().mean(0)
        print("coverage", [round(v, 2) for v in cover.tolist()])
        print("slopes increase:", bool((W[0, 1:] > W[0, :-1]).all()))
        print("quantile of y", torch.quantile(y.squeeze(), taus, interpolation="linear"))
        print("nanquantile", torch.nanquantile(torch.tensor([1.0, float("nan"), 3.0, 2.0]), 0.5))
    put("qr.params", [W, b])


def section_bayes_linreg() -> None:
    g = torch.Generator().manual_seed(9)
    n, d = 40, 3
    Phi = torch.cat([torch.ones(n, 1, dtype=torch.float64),
                     torch.randn(n, d - 1, generator=g, dtype=torch.float64)], 1)
    w_true = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    t = Phi @ w_true + 0.2 * torch.randn(n, generator=g, dtype=torch.float64)
    alpha, beta = 1.0, 25.0
    with printed("blr.log"):
        for it in range(5):  # evidence re-estimation
            A = alpha * torch.eye(d, dtype=torch.float64) + beta * Phi.T @ Phi
            L = torch.linalg.cholesky(A)
            m = beta * torch.cholesky_solve((Phi.T @ t).unsqueeze(1), L).squeeze(1)
            lam = torch.linalg.eigvalsh(beta * Phi.T @ Phi)
            gamma = (lam / (alpha + lam)).sum()
            alpha = (gamma / m.dot(m)).item()
            beta = ((n - gamma) / (t - Phi @ m).pow(2).sum()).item()
            log_ev = (d / 2 * math.log(alpha) + n / 2 * math.log(beta)
                      - beta / 2 * (t - Phi @ m).pow(2).sum() - alpha / 2 * m.dot(m)
                      - torch.log(torch.diagonal(L)).sum() - n / 2 * math.log(2 * math.pi))
            print(f"it {it} alpha {alpha:.4f} beta {beta:.3f} log evidence {log_ev.item():.3f}")
        S = torch.cholesky_inverse(L)
        x_new = torch.tensor([[1.0, 0.5, -0.5]], dtype=torch.float64)
        var = 1 / beta + (x_new @ S @ x_new.T).item()
        print(f"predict {(x_new @ m).item():.4f} +- {math.sqrt(var):.4f}")
        print("posterior mean", m.numpy().round(3).tolist())
        mvn = D.MultivariateNormal(m, scale_tril=torch.linalg.cholesky(S))
        print("mvn entropy", round(mvn.entropy().item(), 4))
    put("blr.m", m)


SECTIONS = {
    "curve_fit": section_curve_fit, "least_squares": section_least_squares,
    "gauss_newton": section_gauss_newton, "newton_cg": section_newton_cg,
    "projections": section_projections, "mle": section_mle, "vi": section_vi,
    "irls": section_irls, "quantile": section_quantile, "bayes_linreg": section_bayes_linreg,
}
