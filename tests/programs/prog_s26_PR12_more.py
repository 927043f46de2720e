"""More scientific programs (PR12, session 26), on the less-travelled API: a linear ODE system by
matrix_exp against RK4 with eig's modes, a Gaussian process with ARD lengthscales fitted by
L-BFGS through cholesky / cholesky_solve / solve_triangular, torch.func (jacrev / jacfwd /
hessian under vmap) for a batch of Newton steps, interpolation tables by searchsorted /
bucketize and cumulative_trapezoid, a transformed-distribution fit (LogNormal, Weibull,
Dirichlet, biject_to(constraints) for unconstrained parameters), a Lotka-Volterra parameter fit
through an Euler solver with a learning-rate scheduler, Gibbs-free optimal transport by Sinkhorn
iterations in log space, tensor-product basis functions (kron, block_diag, cartesian_prod,
combinations, vander), complex arithmetic of an RLC circuit (polar, view_as_complex, angle),
and special functions (erfinv quantiles, gammaln, digamma, bessel i0 / i0e, xlogy, sinc).
Tiny sizes, seeded; run by prog_s26_PR12_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import math

import torch
import torch.distributions as D
from prog_s25_PR9_harness import printed, put
from torch.distributions import constraints, transforms


def section_matrix_exp() -> None:
    A = torch.tensor([[0.0, 1.0, 0.0], [-2.0, -0.3, 0.5], [0.0, -0.5, -0.1]], dtype=torch.float64)
    x0 = torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64)
    with printed("mexp.log"):
        ts = torch.linspace(0, 3, 4, dtype=torch.float64)
        Ms = torch.linalg.matrix_exp(ts.view(-1, 1, 1) * A)
        xs = Ms @ x0
        print("x(t)", xs.numpy().round(5).tolist())
        h, x = 0.01, x0.clone()
        for _ in range(300):
            k1 = A @ x
            k2 = A @ (x + h / 2 * k1)
            k3 = A @ (x + h / 2 * k2)
            k4 = A @ (x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        print("rk4 agrees:", torch.allclose(x, xs[-1], atol=1e-9))
        evals, evecs = torch.linalg.eig(A)
        order = torch.argsort(evals.imag)
        print("eigenvalues", evals[order])
        recon = evecs @ torch.diag(evals) @ torch.linalg.inv(evecs)
        print("eig reconstructs:", torch.allclose(recon.real, A), evecs.dtype)
        print("stable:", bool((evals.real < 0).all()), "spectral abscissa",
              round(evals.real.max().item(), 6))
        # the gradient of a final state with respect to the matrix
        Ag = A.clone().requires_grad_(True)
        (torch.linalg.matrix_exp(Ag) @ x0).sum().backward()
        print("grad", Ag.grad.numpy().round(4).tolist())
    put("mexp.x", [xs, Ag.grad])


def section_gp_ard() -> None:
    g = torch.Generator().manual_seed(31)
    X = torch.rand(25, 2, generator=g, dtype=torch.float64) * 4
    noise = torch.randn(25, generator=g, dtype=torch.float64)
    y = torch.sin(X[:, 0]) + 0.1 * X[:, 1] + 0.05 * noise
    log_ell = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    log_sf = torch.zeros((), dtype=torch.float64, requires_grad=True)
    log_sn = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)

    def kernel(a, b):
        d = (a.unsqueeze(1) - b.unsqueeze(0)) / log_ell.exp()
        return torch.exp(2 * log_sf) * torch.exp(-0.5 * d.pow(2).sum(-1))

    def nlml():
        K = kernel(X, X) + torch.exp(2 * log_sn) * torch.eye(25, dtype=torch.float64)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(1), L)
        return (0.5 * (y.unsqueeze(1) * alpha).sum() + torch.log(torch.diagonal(L)).sum()
                + 12.5 * math.log(2 * math.pi))

    opt = torch.optim.LBFGS([log_ell, log_sf, log_sn], lr=0.5, max_iter=30,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nlml()
        loss.backward()
        return loss

    with printed("gp.log"):
        print(f"initial nlml {nlml().item():.4f}")
        opt.step(closure)
        print(f"fitted nlml {nlml().item():.4f}")
        print("lengthscales", log_ell.exp().detach().numpy().round(3).tolist(),
              "first relevant:", bool(log_ell[0] < log_ell[1]))
        with torch.no_grad():
            Xs = torch.tensor([[1.0, 2.0], [2.5, 0.5]], dtype=torch.float64)
            K = kernel(X, X) + torch.exp(2 * log_sn) * torch.eye(25, dtype=torch.float64)
            L = torch.linalg.cholesky(K)
            Ks = kernel(Xs, X)
            mean = Ks @ torch.cholesky_solve(y.unsqueeze(1), L)
            v = torch.linalg.solve_triangular(L, Ks.T, upper=False)
            var = kernel(Xs, Xs).diagonal() - v.pow(2).sum(0)
        print("mean", mean.squeeze(1).numpy().round(3).tolist(),
              "sd", var.sqrt().numpy().round(3).tolist())
        print("cholesky_ex info", torch.linalg.cholesky_ex(K).info)
    put("gp.params", [log_ell, log_sf, log_sn])


def section_func_newton() -> None:
    from torch.func import hessian, jacfwd, jacrev, vmap

    def f(x):  # per-problem objective, minimised from a batch of starts
        return (x[0] - 1) ** 2 + 5 * (x[1] + x[0] ** 2) ** 2 + 0.1 * x.pow(4).sum()

    starts = torch.tensor([[0.5, 0.5], [-1.0, 2.0], [2.0, -1.0], [0.0, 0.0]], dtype=torch.float64)
    x = starts.clone()
    # (warnings not recorded: PyTorch's first forward-mode call imports its jvp decompositions,
    # which call the deprecated torch.jit.script 18 times: an import-time notice of its internals)
    with printed("func.log", warnings_too=False):
        for it in range(12):
            gr = vmap(jacrev(f))(x)
            H = vmap(hessian(f))(x)
            step = torch.linalg.solve(H + 1e-3 * torch.eye(2, dtype=x.dtype), gr)
            x = x - step
        print("minima", x.numpy().round(5).tolist())
        print("values", vmap(f)(x).numpy().round(6).tolist())
        print("jacfwd == jacrev:", torch.allclose(vmap(jacfwd(f))(x), vmap(jacrev(f))(x)))
        J = jacrev(lambda z: torch.stack([z.sin().sum(), (z * z).prod()]))(starts[0])
        print("jacobian", J.numpy().round(5).tolist())
    put("func.x", x)


def section_interpolation() -> None:
    xp = torch.tensor([0.0, 1.0, 2.5, 4.0, 5.0], dtype=torch.float64)
    fp = torch.tensor([0.0, 2.0, 1.0, 3.0, 2.5], dtype=torch.float64)
    xq = torch.tensor([-0.5, 0.0, 0.3, 1.0, 2.0, 3.9, 5.0, 6.0], dtype=torch.float64)
    with printed("interp.log"):
        idx = torch.searchsorted(xp, xq, right=True).clamp(1, len(xp) - 1)
        x0, x1 = xp[idx - 1], xp[idx]
        y0, y1 = fp[idx - 1], fp[idx]
        w = ((xq - x0) / (x1 - x0)).clamp(0, 1)
        yq = torch.lerp(y0, y1, w)
        print("interp", yq.numpy().round(4).tolist())
        print("bucketize", torch.bucketize(xq, xp), torch.bucketize(xq, xp, right=True))
        print("searchsorted side", torch.searchsorted(xp, xq, side="left"))
        t = torch.linspace(0, math.pi, 50, dtype=torch.float64)
        cum = torch.cumulative_trapezoid(torch.sin(t), t)
        trap = torch.trapezoid(torch.sin(t), t)
        print(f"integral {cum[-1].item():.6f} trapezoid {trap.item():.6f}")
        # inverse-CDF sampling from a tabulated density
        pdf = torch.exp(-(t - 1.0) ** 2)
        cdf = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumulative_trapezoid(pdf, t)])
        cdf = cdf / cdf[-1]
        u = torch.rand(2000, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        k = torch.searchsorted(cdf, u).clamp(1, len(t) - 1)
        samples = t[k - 1] + (u - cdf[k - 1]) / (cdf[k] - cdf[k - 1]) * (t[k] - t[k - 1])
        print(f"sample mean {samples.mean().item():.4f}")
        print("histogram", torch.histogram(samples, bins=5, range=(0.0, math.pi)).hist.tolist())
        grid = torch.nn.functional.interpolate(fp.view(1, 1, -1), size=9, mode="linear",
                                               align_corners=True)
        print("interpolate", grid.view(-1).numpy().round(4).tolist())
    put("interp.y", [yq, samples.mean()])


def section_transformed_dists() -> None:
    torch.manual_seed(4)
    data_ln = D.LogNormal(0.5, 0.4).sample((300,))
    data_w = D.Weibull(2.0, 1.5).sample((300,))
    data_d = D.Dirichlet(torch.tensor([2.0, 5.0, 3.0])).sample((200,))
    to_pos = D.biject_to(constraints.positive)
    to_simplex = D.biject_to(constraints.simplex)
    with printed("tdist.log"):
        print("transforms", type(to_pos).__name__, type(to_simplex).__name__)
        u = {k: torch.zeros(n, requires_grad=True) for k, n in (("ln", 2), ("w", 2), ("d", 3))}
        opt = torch.optim.Adam(u.values(), lr=0.05)
        for step in range(200):
            opt.zero_grad()
            nll = -(D.LogNormal(u["ln"][0], to_pos(u["ln"][1])).log_prob(data_ln).mean()
                    + D.Weibull(to_pos(u["w"][0]), to_pos(u["w"][1])).log_prob(data_w).mean()
                    + D.Dirichlet(to_pos(u["d"])).log_prob(data_d).mean())
            nll.backward()
            opt.step()
        print(f"nll {nll.item():.4f}")
        print("lognormal", round(u["ln"][0].item(), 2), round(to_pos(u["ln"][1]).item(), 2))
        print("weibull", [round(v, 2) for v in to_pos(u["w"]).tolist()])
        print("dirichlet", [round(v, 1) for v in to_pos(u["d"]).tolist()])
        base = D.Normal(torch.zeros(()), torch.ones(()))
        flow = D.TransformedDistribution(base, [transforms.AffineTransform(1.0, 2.0),
                                                transforms.ExpTransform()])
        v = torch.tensor([0.5, 1.0, 4.0])
        print("flow log_prob", flow.log_prob(v), "vs lognormal", D.LogNormal(1.0, 2.0).log_prob(v))
        s = to_simplex(torch.tensor([0.3, -0.2]))
        print("simplex point", s, "inverse", to_simplex.inv(s))
        print("support", D.Weibull(1.0, 1.0).support, D.Dirichlet(torch.ones(3)).support)
    put("tdist.u", list(u.values()))


def section_lotka_volterra() -> None:
    true = torch.tensor([1.0, 0.4, 0.4, 0.1])

    def simulate(p, steps=200, dt=0.05):
        x = torch.stack([torch.tensor(10.0), torch.tensor(5.0)])
        out = [x]
        for _ in range(steps):
            a, b, c, d = p
            dx = torch.stack([a * x[0] - b * x[0] * x[1], d * x[0] * x[1] - c * x[1]])
            x = x + dt * dx
            out.append(x)
        return torch.stack(out)

    with torch.no_grad():
        obs = simulate(true)[::10]
    p = torch.tensor([0.8, 0.5, 0.3, 0.12], requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.97)
    with printed("lv.log"):
        for epoch in range(25):
            opt.zero_grad()
            pred = simulate(p)[::10]
            loss = torch.nn.functional.mse_loss(torch.log(pred.clamp_min(1e-3)), torch.log(obs))
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p], 1.0)
            opt.step()
            sched.step()
            if epoch % 5 == 4:
                print(f"epoch {epoch + 1} loss {loss.item():.5f} lr {sched.get_last_lr()[0]:.5f}")
        print("params", p.detach().numpy().round(3).tolist())
    put("lv.p", p)


def section_sinkhorn() -> None:
    g = torch.Generator().manual_seed(13)
    x = torch.randn(8, 2, generator=g, dtype=torch.float64)
    y = torch.randn(10, 2, generator=g, dtype=torch.float64) + 1.0
    a = torch.full((8,), 1 / 8, dtype=torch.float64)
    b = torch.full((10,), 1 / 10, dtype=torch.float64)
    C = torch.cdist(x, y, p=2) ** 2
    with printed("ot.log"):
        for eps in (1.0, 0.1):
            f = torch.zeros(8, dtype=torch.float64)
            gpot = torch.zeros(10, dtype=torch.float64)
            for it in range(200):
                f = -eps * torch.logsumexp((gpot.unsqueeze(0) - C) / eps + b.log(), 1)
                gpot = -eps * torch.logsumexp((f.unsqueeze(1) - C) / eps + a.log().unsqueeze(1), 0)
            P = torch.exp((f.unsqueeze(1) + gpot.unsqueeze(0) - C) / eps) * a.unsqueeze(1) * b
            print(f"eps {eps}: cost {(P * C).sum().item():.5f} marginal err "
                  f"{(P.sum(1) - a).abs().max().item() < 1e-8}")
        print("plan argmax", P.argmax(1).tolist())
        print("cdist p=1", torch.cdist(x[:2], y[:2], p=1).numpy().round(4).tolist())
        print("cdist inf", torch.cdist(x[:2], y[:2], p=float("inf")).numpy().round(4).tolist())
    put("ot.P", P)


def section_basis() -> None:
    with printed("basis.log"):
        x = torch.linspace(-1, 1, 5, dtype=torch.float64)
        V = torch.vander(x, N=3, increasing=True)
        print("vander", V)
        print("kron", torch.kron(torch.eye(2), torch.tensor([[1.0, 2.0], [3.0, 4.0]])))
        print("block_diag", torch.block_diag(torch.ones(1, 2), 2 * torch.ones(2, 1)))
        print("cartesian", torch.cartesian_prod(torch.tensor([0, 1]), torch.tensor([5, 6, 7])))
        print("combinations", torch.combinations(torch.arange(4), r=2))
        print("with replacement",
              torch.combinations(torch.arange(3), 2, with_replacement=True).shape)
        # 2-d tensor-product Chebyshev fit
        xs = torch.cartesian_prod(x, x)
        T0 = torch.ones_like(xs)
        T1 = xs
        T2 = 2 * xs ** 2 - 1
        Tx = torch.stack([T0[:, 0], T1[:, 0], T2[:, 0]], 1)
        Ty = torch.stack([T0[:, 1], T1[:, 1], T2[:, 1]], 1)
        design = (Tx.unsqueeze(2) * Ty.unsqueeze(1)).reshape(len(xs), 9)
        z = torch.exp(xs[:, 0]) * torch.cos(xs[:, 1])
        coef = torch.linalg.lstsq(design, z.unsqueeze(1)).solution.view(3, 3)
        print("cheb coef", (coef.numpy().round(4) + 0.0).tolist())
        print("chebyshev_t", torch.special.chebyshev_polynomial_t(x, 2))
        print("legendre", torch.special.legendre_polynomial_p(x, 3))
        print("hermite", torch.special.hermite_polynomial_h(torch.tensor([0.5]), 4))
        print("tril_indices", torch.tril_indices(3, 3, offset=-1))
    put("basis.coef", coef)


def section_rlc() -> None:
    R, Lh, Cf = 10.0, 1e-3, 1e-6
    f = torch.logspace(2, 5, 7, dtype=torch.float64)
    w = 2 * math.pi * f
    with printed("rlc.log"):
        Z = R + 1j * (w * Lh - 1 / (w * Cf))
        print("Z dtype", Z.dtype)
        H = R / Z
        mag_db = 20 * torch.log10(H.abs())
        phase = torch.rad2deg(torch.angle(H))
        for fi, m, p in zip(f.tolist(), mag_db.tolist(), phase.tolist()):
            print(f"{fi:10.1f} Hz  {m:8.3f} dB  {p:8.3f} deg")
        f0 = 1 / (2 * math.pi * math.sqrt(Lh * Cf))
        print(f"resonance {f0:.2f} Hz")
        pz = torch.polar(torch.tensor([1.0, 2.0]), torch.tensor([0.0, math.pi / 2]))
        print("polar", pz, "view_as_real", torch.view_as_real(pz))
        vc = torch.view_as_complex(torch.tensor([[1.0, -1.0], [0.5, 2.0]]))
        print("view_as_complex", vc, vc.conj(), vc.abs())
        print("complex grad")
        zc = torch.tensor([1.0 + 2.0j], requires_grad=True)
        (zc.abs() ** 2).sum().backward()
        print(zc.grad)
    put("rlc.H", [mag_db, phase])


def section_special() -> None:
    with printed("special.log"):
        p = torch.tensor([0.025, 0.5, 0.975], dtype=torch.float64)
        quantiles = math.sqrt(2) * torch.erfinv(2 * p - 1)
        print("normal quantiles", quantiles.numpy().round(6).tolist())
        print("ndtri", torch.special.ndtri(p).numpy().round(6).tolist())
        n = torch.tensor([1.0, 5.0, 10.0], dtype=torch.float64)
        print("lgamma", torch.lgamma(n + 1).numpy().round(6).tolist(),
              "gammaln", torch.special.gammaln(n).numpy().round(6).tolist())
        print("digamma", torch.digamma(n).numpy().round(6).tolist(),
              "polygamma", torch.polygamma(1, n).numpy().round(6).tolist())
        x = torch.tensor([0.0, 0.5, 2.0, 10.0], dtype=torch.float64)
        print("i0", torch.special.i0(x).numpy().round(5).tolist())
        print("i0e", torch.special.i0e(x).numpy().round(6).tolist(),
              "i1e", torch.special.i1e(x).numpy().round(6).tolist())
        print("xlogy", torch.xlogy(torch.tensor([0.0, 2.0]), torch.tensor([0.0, 3.0])))
        print("sinc", torch.sinc(torch.tensor([0.0, 0.5, 1.0])))
        print("erfc", torch.special.erfc(torch.tensor([3.0])),
              "erfcx", torch.special.erfcx(torch.tensor([3.0])))
        print("log_ndtr", torch.special.log_ndtr(torch.tensor([-10.0, 0.0])))
        print("entr", torch.special.entr(torch.tensor([0.0, 0.5, 1.0])))
        print("logit", torch.logit(torch.tensor([0.1, 0.9]), eps=1e-6))
        # a chi-square test statistic's p-value by the regularised incomplete gamma
        obs = torch.tensor([18.0, 22.0, 30.0, 30.0])
        exp = torch.full((4,), 25.0)
        chi2 = ((obs - exp) ** 2 / exp).sum()
        pval = torch.special.gammaincc(torch.tensor(1.5), chi2 / 2)
        print(f"chi2 {chi2.item():.3f} p {pval.item():.4f}")
        # Stirling check with autograd through lgamma
        z = torch.tensor(4.5, dtype=torch.float64, requires_grad=True)
        torch.lgamma(z).backward()
        print(f"d lgamma {z.grad.item():.6f} digamma {torch.digamma(z.detach()).item():.6f}")
    put("special.p", pval)


SECTIONS = {
    "matrix_exp": section_matrix_exp, "gp_ard": section_gp_ard, "func_newton": section_func_newton,
    "interpolation": section_interpolation, "transformed_dists": section_transformed_dists,
    "lotka_volterra": section_lotka_volterra, "sinkhorn": section_sinkhorn,
    "basis": section_basis, "rlc": section_rlc, "special": section_special,
}
