"""Probabilistic-ML notebook programs (PR18, session 28), written afresh the way course
notebooks on Bayesian methods write them with torch: Bayesian linear regression with a
polynomial basis (posterior mean / covariance, predictive variance, the log evidence over
the basis degree, sampled posterior functions), a Laplace approximation of Bayesian logistic
regression (MAP by Newton's method, the Hessian from torch.autograd.functional.hessian,
probit-approximated predictive probabilities), a Gaussian mixture fitted by EM (responsibilities
by logsumexp, the log-likelihood per iteration, MultivariateNormal log densities), a
Metropolis-Hastings / importance-sampling comparison on a conjugate model, and mean-field
variational inference of a Bernoulli-Beta model by the reparameterized ELBO. Tiny sizes,
seeded; run by prog_s28_PR18_all.py.
"""

import math

import torch
import torch.distributions as dist
from prog_s25_PR9_harness import printed, put


def section_blr() -> None:
    torch.manual_seed(298)
    x = torch.rand(20, dtype=torch.float64) * 2 - 1
    y = torch.sin(math.pi * x) + 0.2 * torch.randn(20, dtype=torch.float64)
    alpha, beta = 2.0, 25.0

    def design(x, degree):
        return torch.stack([x ** k for k in range(degree + 1)], 1)

    def posterior(Phi, y):
        S_N_inv = alpha * torch.eye(Phi.shape[1], dtype=Phi.dtype) + beta * Phi.T @ Phi
        S_N = torch.linalg.inv(S_N_inv)
        m_N = beta * S_N @ Phi.T @ y
        return m_N, S_N

    def log_evidence(Phi, y):
        N, M = Phi.shape
        m_N, S_N = posterior(Phi, y)
        A = alpha * torch.eye(M, dtype=Phi.dtype) + beta * Phi.T @ Phi
        E_mN = beta / 2 * (y - Phi @ m_N).pow(2).sum() + alpha / 2 * m_N @ m_N
        return (M / 2 * math.log(alpha) + N / 2 * math.log(beta) - E_mN
                - 0.5 * torch.logdet(A) - N / 2 * math.log(2 * math.pi))

    with printed("pm_blr.log"):
        Phi = design(x, 3)
        m_N, S_N = posterior(Phi, y)
        print("m_N", m_N)
        print("S_N diag", torch.diagonal(S_N))
        x_test = torch.linspace(-1, 1, 5, dtype=torch.float64)
        Phi_test = design(x_test, 3)
        mean = Phi_test @ m_N
        var = 1 / beta + (Phi_test @ S_N * Phi_test).sum(1)
        print("predictive mean", mean)
        print("predictive std ", var.sqrt())
        evidences = [log_evidence(design(x, d), y).item() for d in range(7)]
        best = max(range(7), key=evidences.__getitem__)
        print("log evidence", [f"{e:.3f}" for e in evidences], "best", best)
        post = dist.MultivariateNormal(m_N, covariance_matrix=S_N)
        torch.manual_seed(299)
        w_samples = post.sample((3,))
        print("sampled functions at 0:", (design(torch.zeros(1, dtype=torch.float64), 3)
                                          @ w_samples.T))
        print("log_prob of mean", f"{post.log_prob(m_N).item():.4f}", post.event_shape)
        # sequential updates, one point at a time, end at the batch posterior
        m, S_inv = torch.zeros(4, dtype=torch.float64), alpha * torch.eye(4, dtype=torch.float64)
        for n in range(20):
            phi = Phi[n:n + 1]
            S_inv_new = S_inv + beta * phi.T @ phi
            m = torch.linalg.solve(S_inv_new, S_inv @ m + beta * phi[0] * y[n])
            S_inv = S_inv_new
        print("sequential == batch", torch.allclose(m, m_N),
              torch.allclose(torch.linalg.inv(S_inv), S_N))
        put("pm_blr.m_N", m_N)


def section_laplace() -> None:
    torch.manual_seed(300)
    n = 40
    X = torch.cat([torch.ones(n, 1), torch.randn(n, 2)], 1).double()
    w_true = torch.tensor([-0.5, 2.0, -1.0], dtype=torch.float64)
    y = torch.bernoulli(torch.sigmoid(X @ w_true))
    prior_var = 4.0

    def neg_log_joint(w):
        logits = X @ w
        ll = (y * torch.nn.functional.logsigmoid(logits)
              + (1 - y) * torch.nn.functional.logsigmoid(-logits)).sum()
        return -(ll - 0.5 * (w @ w) / prior_var)

    with printed("pm_laplace.log"):
        w = torch.zeros(3, dtype=torch.float64)
        for it in range(8):
            w_req = w.clone().requires_grad_()
            loss = neg_log_joint(w_req)
            (g,) = torch.autograd.grad(loss, w_req)
            H = torch.autograd.functional.hessian(neg_log_joint, w)
            w = w - torch.linalg.solve(H, g)
            gnorm = g.norm().item()  # (below 1e-9: rounding noise, printed as such)
            print(f"newton {it}: -log p {loss.item():.6f} |g| "
                  f"{f'{gnorm:.3e}' if gnorm > 1e-9 else '< 1e-9'}")
        H = torch.autograd.functional.hessian(neg_log_joint, w)
        p = torch.sigmoid(X @ w)
        H_closed = X.T @ torch.diag(p * (1 - p)) @ X + torch.eye(3, dtype=torch.float64) / prior_var
        print("w_map", w)
        print("hessian matches closed form", torch.allclose(H, H_closed))
        cov = torch.linalg.inv(H)
        print("posterior std", cov.diagonal().sqrt())
        L = torch.linalg.cholesky(cov)
        print("cholesky", L)
        x_new = torch.tensor([[1.0, 0.5, 0.5], [1.0, -2.0, 1.0], [1.0, 3.0, -3.0]],
                             dtype=torch.float64)
        mu_a = x_new @ w
        var_a = ((x_new @ cov) * x_new).sum(1)
        kappa = 1 / torch.sqrt(1 + math.pi * var_a / 8)
        print("MAP prob   ", torch.sigmoid(mu_a))
        print("probit prob", torch.sigmoid(kappa * mu_a))
        torch.manual_seed(301)
        samples = dist.MultivariateNormal(w, scale_tril=L).sample((2000,))
        mc = torch.sigmoid(samples @ x_new.T).mean(0)
        print("mc prob    ", mc.round(decimals=2))
        log_marginal = (-neg_log_joint(w) + 1.5 * math.log(2 * math.pi)
                        - 0.5 * torch.logdet(H) - 1.5 * math.log(2 * math.pi * prior_var))
        print(f"laplace log evidence {log_marginal.item():.4f}")
        put("pm_laplace.w", w)


def section_gmm() -> None:
    torch.manual_seed(302)
    true_means = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, 3.0]])
    data = torch.cat([m + 0.6 * torch.randn(30, 2) for m in true_means])
    K = 3
    with printed("pm_gmm.log"):
        torch.manual_seed(303)
        means = data[torch.randperm(len(data))[:K]].clone()
        covs = torch.stack([torch.eye(2)] * K)
        weights = torch.full((K,), 1.0 / K)
        prev = -float("inf")
        for it in range(30):
            # E step
            log_p = torch.stack([dist.MultivariateNormal(means[k], covs[k]).log_prob(data)
                                 for k in range(K)], 1) + torch.log(weights)
            log_norm = torch.logsumexp(log_p, dim=1, keepdim=True)
            resp = torch.exp(log_p - log_norm)
            ll = log_norm.sum().item()
            # M step
            Nk = resp.sum(0)
            weights = Nk / len(data)
            means = (resp.T @ data) / Nk[:, None]
            covs = torch.stack([
                ((resp[:, k:k + 1] * (data - means[k])).T @ (data - means[k])) / Nk[k]
                + 1e-6 * torch.eye(2) for k in range(K)])
            if it % 5 == 0:
                print(f"iter {it:2d} log-likelihood {ll:.3f}")
            if abs(ll - prev) < 1e-4:
                print(f"converged at iter {it}, log-likelihood {ll:.3f}")
                break
            prev = ll
        order = torch.argsort(means[:, 0])
        print("weights", weights[order].round(decimals=3))
        print("means", means[order].round(decimals=3))
        print("hard assignment counts", torch.bincount(resp.argmax(1), minlength=K)[order])
        mix = dist.MixtureSameFamily(dist.Categorical(probs=weights),
                                     dist.MultivariateNormal(means, covs))
        print(f"mixture log_prob sum {mix.log_prob(data).sum().item():.3f}", mix.batch_shape,
              mix.event_shape)
        put("pm_gmm.means", means[order])


def section_sampling() -> None:
    torch.manual_seed(304)
    data = torch.bernoulli(torch.full((25,), 0.7))
    a0, b0 = 2.0, 2.0
    heads, n = data.sum().item(), len(data)
    posterior = dist.Beta(a0 + heads, b0 + n - heads)

    def log_target(theta):
        if not 0 < theta < 1:
            return -float("inf")
        return (dist.Beta(a0, b0).log_prob(torch.tensor(theta))
                + dist.Binomial(n, torch.tensor(theta)).log_prob(torch.tensor(heads))).item()

    with printed("pm_sampling.log"):
        print("heads", heads, "posterior mean", f"{posterior.mean.item():.4f}",
              "var", f"{posterior.variance.item():.6f}")
        theta, samples, accepted = 0.5, [], 0
        gen = torch.Generator().manual_seed(305)
        lp = log_target(theta)
        for _ in range(600):
            proposal = theta + 0.1 * torch.randn(1, generator=gen).item()
            lp_new = log_target(proposal)
            if math.log(torch.rand(1, generator=gen).item()) < lp_new - lp:
                theta, lp = proposal, lp_new
                accepted += 1
            samples.append(theta)
        s = torch.tensor(samples[100:])
        print(f"MH acceptance {accepted / 600:.3f} mean {s.mean():.2f} std {s.std():.2f}")
        q = dist.Uniform(0.0, 1.0)
        th = q.sample((4000,))
        log_w = (dist.Beta(a0, b0).log_prob(th) + dist.Binomial(n, th).log_prob(
            torch.tensor(heads)) - q.log_prob(th))
        w = torch.softmax(log_w, 0)
        ess = 1 / (w ** 2).sum()
        print(f"IS mean {(w * th).sum():.2f} ess {ess.item() > 1000}",
              f"log Z {torch.logsumexp(log_w, 0).item() - math.log(4000):.2f}")
        def betaln(a, b):
            return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)

        exact_log_z = (torch.lgamma(torch.tensor(n + 1.0)) - torch.lgamma(torch.tensor(heads + 1))
                       - torch.lgamma(torch.tensor(n - heads + 1))
                       + betaln(torch.tensor(a0 + heads), torch.tensor(b0 + n - heads))
                       - betaln(torch.tensor(a0), torch.tensor(b0)))
        print(f"exact log Z {exact_log_z.item():.2f}")
        grid = torch.linspace(0.001, 0.999, 999)
        density = posterior.log_prob(grid).exp()
        cdf = torch.cumulative_trapezoid(density, grid)
        print("numeric cdf at 0.5 / 0.6 / 0.7", cdf[[498, 598, 698]].round(decimals=3),
              f"total {torch.trapezoid(density, grid).item():.4f}")


def section_vi() -> None:
    torch.manual_seed(306)
    data = torch.bernoulli(torch.full((40,), 0.3))
    heads, n = data.sum(), len(data)
    with printed("pm_vi.log"):
        # q(theta) = sigmoid(Normal(mu, softplus(rho))): reparameterized ELBO with SGD
        mu = torch.zeros((), requires_grad=True)
        rho = torch.zeros((), requires_grad=True)
        opt = torch.optim.Adam([mu, rho], lr=0.05)
        prior = dist.Beta(1.0, 1.0)
        torch.manual_seed(307)
        for step in range(301):
            sigma = torch.nn.functional.softplus(rho)
            eps = torch.randn(64)
            z = mu + sigma * eps
            theta = torch.sigmoid(z)
            log_lik = heads * torch.log(theta) + (n - heads) * torch.log1p(-theta)
            log_q = dist.Normal(mu, sigma).log_prob(z) - torch.log(theta * (1 - theta))
            elbo = (log_lik + prior.log_prob(theta) - log_q).mean()
            opt.zero_grad()
            (-elbo).backward()
            opt.step()
            if step % 100 == 0:
                print(f"step {step} elbo {elbo.item():.3f} mu {mu.item():.3f} "
                      f"sigma {sigma.item():.3f}")
        exact = dist.Beta(1 + heads, 1 + n - heads)
        sigma = torch.nn.functional.softplus(rho).detach()
        vi_mean = torch.sigmoid(mu.detach() + sigma * torch.randn(5000)).mean()
        print(f"exact mean {exact.mean.item():.3f}", f"vi mean {vi_mean.item():.2f}")
        q = dist.TransformedDistribution(dist.Normal(mu.detach(), sigma),
                                         [dist.transforms.SigmoidTransform()])
        print("q support", q.support, f"{q.log_prob(torch.tensor(0.3)).item():.3f}")
        print("kl normal", dist.kl_divergence(dist.Normal(mu.detach(), 1.0), dist.Normal(0.0, 1.0)))
        put("pm_vi.mu", mu)


def section_dirichlet_vi() -> None:
    """Dice rolls with a Dirichlet prior; q(theta) = Dirichlet(softplus(raw)) fitted by the
    reparameterised ELBO (rsample's pathwise gradient), against the conjugate posterior."""
    torch.manual_seed(308)
    rolls = torch.multinomial(torch.tensor([0.1, 0.2, 0.3, 0.4]), 60, replacement=True)
    counts = torch.bincount(rolls, minlength=4).float()
    prior = dist.Dirichlet(torch.ones(4))
    with printed("pm_dir.log"):
        print("counts", counts)
        raw = torch.zeros(4, requires_grad=True)
        opt = torch.optim.Adam([raw], lr=0.1)
        torch.manual_seed(309)
        for step in range(61):
            q = dist.Dirichlet(torch.nn.functional.softplus(raw) + 0.5)
            theta = q.rsample((16,))
            log_lik = (counts * torch.log(theta)).sum(-1)
            elbo = (log_lik + prior.log_prob(theta) - q.log_prob(theta)).mean()
            opt.zero_grad()
            (-elbo).backward()
            opt.step()
            if step % 20 == 0:
                print(f"step {step} elbo {elbo.item():.3f} grad {raw.grad.norm().item():.4f}")
        exact = dist.Dirichlet(1 + counts)
        q = dist.Dirichlet(torch.nn.functional.softplus(raw) + 0.5)
        print("q mean", q.mean.detach().round(decimals=2), "exact", exact.mean.round(decimals=2))
        print(f"kl(q || exact) {dist.kl_divergence(q, exact).item():.2f}")
        put("pm_dir.raw", raw)


SECTIONS = {
    "pm_blr": section_blr, "pm_laplace": section_laplace, "pm_gmm": section_gmm,
    "pm_sampling": section_sampling, "pm_vi": section_vi, "pm_dir": section_dirichlet_vi,
}
