"""Further scientific programs (PR12, session 26): cellular automata and a checkerboard Ising
model (roll, conv2d with circular padding), time-series analysis (an AR fit by unfold and
lstsq, the autocorrelation by FFT, corrcoef, cov with frequency / analytic weights), a
Kaplan-Meier curve (unique, cumprod, searchsorted), a natural cubic spline by a tridiagonal
solve, a RealNVP flow on two moons with its log-determinant, a custom autograd.Function solved
implicitly (gradcheck, forward-mode dual numbers), sparse operations (CSR products, sparse
softmax, addmm, a sparse gradient), polynomial roots from the companion matrix, bootstrap
confidence intervals, assorted linear algebra (det / slogdet / multi_dot / matrix_power / norms /
solve_ex), finite-volume advection with a minmod limiter, image warping (affine_grid and
grid_sample, conv_transpose2d), and more special functions. Tiny sizes, seeded; run by
prog_s26_PR12_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_automata() -> None:
    g = torch.Generator().manual_seed(40)
    board = (torch.rand(16, 16, generator=g) < 0.3).float()
    kernel = torch.ones(1, 1, 3, 3)
    kernel[0, 0, 1, 1] = 0
    with printed("ca.log"):
        for gen in range(6):
            padded = F.pad(board.view(1, 1, 16, 16), (1, 1, 1, 1), mode="circular")
            n = F.conv2d(padded, kernel).view(16, 16)
            board = ((n == 3) | ((board == 1) & (n == 2))).float()
            rolled = sum(torch.roll(board, (i, j), (0, 1)) for i in (-1, 0, 1) for j in (-1, 0, 1))
            print(f"gen {gen + 1}: alive {int(board.sum())}")
        print("roll agrees:", torch.equal(rolled - board, F.conv2d(
            F.pad(board.view(1, 1, 16, 16), (1, 1, 1, 1), mode="circular"), kernel).view(16, 16)))
        # checkerboard Metropolis for a 2-d Ising model
        spins = torch.where(torch.rand(12, 12, generator=g) < 0.5, -1.0, 1.0)
        ii, jj = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
        colour = (ii + jj) % 2
        beta = 0.6
        for sweep in range(30):
            for c in (0, 1):
                nb = (torch.roll(spins, 1, 0) + torch.roll(spins, -1, 0)
                      + torch.roll(spins, 1, 1) + torch.roll(spins, -1, 1))
                dE = 2 * spins * nb
                flip = (torch.rand(12, 12, generator=g) < torch.exp(-beta * dE)) & (colour == c)
                spins = torch.where(flip, -spins, spins)
        energy = -(spins * (torch.roll(spins, 1, 0) + torch.roll(spins, 1, 1))).sum()
        print(f"magnetisation {spins.mean().abs().item():.4f} energy {energy.item():.0f}")
    put("ca.board", board)
    put("ca.spins", spins)


def section_time_series() -> None:
    g = torch.Generator().manual_seed(41)
    n = 300
    e = torch.randn(n, generator=g, dtype=torch.float64)
    x = torch.zeros(n, dtype=torch.float64)
    for t in range(2, n):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + e[t]
    with printed("ts.log"):
        windows = x.unfold(0, 3, 1)
        X, y = windows[:, :2].flip(1), windows[:, 2]
        coef = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
        print("AR(2)", coef.numpy().round(3).tolist())
        xc = x - x.mean()
        f = torch.fft.rfft(xc, n=2 * n)
        acf = torch.fft.irfft(f * f.conj(), n=2 * n)[:6]
        acf = acf / acf[0]
        print("acf", acf.numpy().round(4).tolist())
        lagged = torch.stack([x[2:], x[1:-1], x[:-2]])
        print("corrcoef", torch.corrcoef(lagged).numpy().round(4).tolist())
        fw = torch.randint(1, 4, (n - 2,), generator=g)
        aw = torch.rand(n - 2, generator=g, dtype=torch.float64)
        print("cov fweights", torch.cov(lagged, fweights=fw).numpy().round(4).tolist())
        weighted = torch.cov(lagged, aweights=aw, correction=0)
        print("cov aweights", weighted.numpy().round(4).tolist())
        diffs = torch.diff(x, n=2, prepend=x[:1], append=x[-1:])
        print("diff", diffs.shape, round(diffs.std().item(), 4))
        ma = torch.nn.functional.avg_pool1d(x.view(1, 1, -1), 5, stride=1).view(-1)
        print("moving average", ma.shape, round(ma.abs().max().item(), 4))
        ema = torch.zeros_like(x)
        ema[0] = x[0]
        for t in range(1, n):
            ema[t] = torch.lerp(ema[t - 1], x[t], 0.1)
        print(f"ema last {ema[-1].item():.5f}", "logcumsumexp",
              torch.logcumsumexp(x[:4], 0).numpy().round(4).tolist())
    put("ts.coef", [coef, acf])


def section_kaplan_meier() -> None:
    times = torch.tensor([5.0, 8, 8, 12, 15, 15, 15, 20, 22, 30, 30, 41])
    event = torch.tensor([1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1], dtype=torch.bool)
    with printed("kmc.log"):
        uniq, inverse, counts = torch.unique(times, return_inverse=True, return_counts=True)
        deaths = torch.zeros(len(uniq)).index_add_(0, inverse, event.float())
        at_risk = counts.flip(0).cumsum(0).flip(0).float()
        surv = torch.cumprod(1 - deaths / at_risk, 0)
        for t, d, r, s in zip(uniq.tolist(), deaths.tolist(), at_risk.tolist(), surv.tolist()):
            print(f"t={t:5.1f} deaths={d:.0f} at risk={r:.0f} S={s:.4f}")
        query = torch.tensor([0.0, 10.0, 25.0, 50.0])
        pos = torch.searchsorted(uniq, query, right=True)
        s_q = torch.where(pos > 0, surv[(pos - 1).clamp_min(0)], torch.ones_like(query))
        print("S at", query.tolist(), "=", s_q.numpy().round(4).tolist())
        var = (deaths / (at_risk * (at_risk - deaths)).clamp_min(1e-12)).cumsum(0)
        print("greenwood se", (surv * var.sqrt()).numpy().round(4).tolist())
        median = uniq[(surv <= 0.5).nonzero()[0]]
        print("median survival", median)
    put("kmc.surv", surv)


def section_cubic_spline() -> None:
    x = torch.tensor([0.0, 0.5, 1.2, 2.0, 3.1, 4.0], dtype=torch.float64)
    y = torch.sin(x)
    h = torch.diff(x)
    n = len(x)
    with printed("spline.log"):
        A = torch.zeros(n, n, dtype=torch.float64)
        rhs = torch.zeros(n, dtype=torch.float64)
        A[0, 0] = A[-1, -1] = 1.0
        idx = torch.arange(1, n - 1)
        A[idx, idx - 1] = h[:-1]
        A[idx, idx] = 2 * (h[:-1] + h[1:])
        A[idx, idx + 1] = h[1:]
        rhs[1:-1] = 6 * (torch.diff(y)[1:] / h[1:] - torch.diff(y)[:-1] / h[:-1])
        M = torch.linalg.solve(A, rhs)
        xq = torch.linspace(0, 4, 9, dtype=torch.float64)
        k = (torch.bucketize(xq, x, right=True) - 1).clamp(0, n - 2)
        t0, t1 = xq - x[k], x[k + 1] - xq
        yq = ((M[k] * t1 ** 3 + M[k + 1] * t0 ** 3) / (6 * h[k])
              + (y[k] / h[k] - M[k] * h[k] / 6) * t1 + (y[k + 1] / h[k] - M[k + 1] * h[k] / 6) * t0)
        print("second derivatives", M.numpy().round(5).tolist())
        print("spline", yq.numpy().round(5).tolist())
        print(f"max error vs sin {(yq - torch.sin(xq)).abs().max().item():.4f}")
        print("tridiagonal nonzeros", torch.count_nonzero(A).item())
    put("spline.y", yq)


def section_realnvp() -> None:
    torch.manual_seed(42)
    n = 128
    t = torch.rand(n) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    data = torch.cat([upper, lower]) + 0.05 * torch.randn(2 * n, 2)

    class Coupling(nn.Module):
        def __init__(self, mask):
            super().__init__()
            self.register_buffer("mask", mask)
            self.s = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2), nn.Tanh())
            self.t = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))

        def forward(self, x):
            xm = x * self.mask
            s = self.s(xm) * (1 - self.mask)
            t = self.t(xm) * (1 - self.mask)
            return xm + (1 - self.mask) * (x * torch.exp(s) + t), s.sum(1)

    masks = [torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])] * 2
    flows = nn.ModuleList(Coupling(m) for m in masks)
    base = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    opt = torch.optim.Adam(flows.parameters(), lr=3e-3)
    with printed("nvp.log"):
        for step in range(40):
            z, log_det = data, torch.zeros(len(data))
            for f in flows:
                z, ld = f(z)
                log_det = log_det + ld
            loss = -(base.log_prob(z) + log_det).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 10 == 0:
                print(f"step {step} nll {loss.item():.4f}")
        print("buffers", [name for name, _ in flows.named_buffers()][:2])
        print("params", sum(p.numel() for p in flows.parameters()))
    put("nvp.loss", loss)


class _CubeRoot(torch.autograd.Function):
    """y with y^3 + y = x, solved by Newton; the backward by the implicit function theorem."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        for _ in range(30):
            y = y - (y ** 3 + y - x) / (3 * y ** 2 + 1)
        ctx.save_for_backward(y)
        ctx.save_for_forward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out / (3 * y ** 2 + 1)

    @staticmethod
    def jvp(ctx, x_dot):
        (y,) = ctx.saved_tensors
        return x_dot / (3 * y ** 2 + 1)


def section_custom_function() -> None:
    import torch.autograd.forward_ad as fwAD

    x = torch.tensor([0.5, 2.0, -3.0, 10.0], dtype=torch.float64, requires_grad=True)
    # (warnings not recorded: PyTorch's first forward-mode call imports its jvp decompositions,
    # which call the deprecated torch.jit.script: an import-time notice of its internals)
    with printed("cfn.log", warnings_too=False):
        y = _CubeRoot.apply(x)
        print("y", y.detach().numpy().round(6).tolist(), y.grad_fn.__class__.__name__)
        print("residual", (y ** 3 + y - x).abs().max().item() < 1e-12)
        y.sum().backward()
        print("grad", x.grad.numpy().round(6).tolist())
        checked = torch.autograd.gradcheck(_CubeRoot.apply, (x.detach().requires_grad_(),))
        print("gradcheck", checked)
        with fwAD.dual_level():
            dual = fwAD.make_dual(x.detach(), torch.ones(4, dtype=torch.float64))
            out = _CubeRoot.apply(dual)
            tangent = fwAD.unpack_dual(out).tangent
        print("forward mode", tangent.numpy().round(6).tolist())
        with fwAD.dual_level():
            dual = fwAD.make_dual(torch.tensor(1.5, dtype=torch.float64),
                                  torch.tensor(1.0, dtype=torch.float64))
            out = torch.sin(dual) * torch.exp(dual)
            primal, tangent2 = fwAD.unpack_dual(out)
        print(f"sin*exp at 1.5: {primal.item():.6f} derivative {tangent2.item():.6f}")
    put("cfn.grad", x.grad)


def section_sparse_ops() -> None:
    dense = torch.tensor([[0.0, 2.0, 0.0, 1.0], [3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 4.0, 5.0]])
    with printed("sparse.log"):
        csr = dense.to_sparse_csr()
        print("crow", csr.crow_indices(), "col", csr.col_indices(), "values", csr.values())
        v = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
        print("csr @ v", (csr @ v).view(-1))
        coo = dense.to_sparse()
        print("coo", coo.indices().tolist(), coo.layout)
        print("sparse softmax", torch.sparse.softmax(coo, dim=1).to_dense())
        bias = torch.ones(3, 1)
        print("addmm", torch.sparse.addmm(bias, coo, v, beta=0.5, alpha=2.0).view(-1))
        print("sum", torch.sparse.sum(coo), torch.sparse.sum(coo, dim=0).to_dense())
        w = torch.tensor([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
        out = torch.sparse.mm(coo, w)
        out.pow(2).sum().backward()
        print("grad w", w.grad)
        s = torch.sparse_coo_tensor(torch.tensor([[0, 0, 1], [1, 1, 2]]),
                                    torch.tensor([1.0, 2.0, 3.0]), (2, 3), check_invariants=True)
        print("coalesced", s.is_coalesced(), s.coalesce().values(), s.coalesce().is_coalesced())
        print("transpose", s.t().to_dense())
        print("index_select", coo.index_select(0, torch.tensor([2, 0])).to_dense())
    put("sparse.grad", w.grad)


def section_poly_roots() -> None:
    coeffs = torch.tensor([1.0, -6.0, 11.0, -6.0, 0.5], dtype=torch.float64)  # highest first
    with printed("roots.log"):
        n = len(coeffs) - 1
        comp = torch.zeros(n, n, dtype=torch.float64)
        comp[0] = -coeffs[1:] / coeffs[0]
        comp[1:, :-1] = torch.eye(n - 1, dtype=torch.float64)
        roots = torch.linalg.eigvals(comp)
        order = torch.argsort(roots.real * 1000 + roots.imag)
        roots = roots[order]
        print("roots", [f"{r.real:+.6f}{r.imag:+.6f}j" for r in roots.tolist()])
        powers = torch.stack([roots ** k for k in range(n, -1, -1)], 1)
        resid = (powers @ coeffs.to(torch.complex128)).abs().max()
        print("residual small:", resid.item() < 1e-10)
        print("real roots", roots.real[roots.imag.abs() < 1e-9].numpy().round(6).tolist())
        x = torch.tensor(3.5, dtype=torch.float64, requires_grad=True)
        for it in range(6):  # Newton polish of one root with autograd
            p = sum(c * x ** (n - i) for i, c in enumerate(coeffs))
            (dp,) = torch.autograd.grad(p, x)
            with torch.no_grad():
                x -= p / dp
        print(f"newton root {x.item():.10f}")
    put("roots.r", roots)


def section_bootstrap() -> None:
    g = torch.Generator().manual_seed(44)
    data = torch.distributions.Exponential(0.5).sample((60,))
    with printed("boot.log"):
        idx = torch.randint(0, 60, (1000, 60), generator=g)
        means = data[idx].mean(1)
        lo, hi = torch.quantile(means, torch.tensor([0.025, 0.975]))
        print(f"mean {data.mean().item():.4f} CI [{lo.item():.4f}, {hi.item():.4f}]")
        meds = data[idx].median(1).values
        print(f"median {data.median().item():.4f} se {meds.std().item():.4f}")
        # a permutation test of two samples
        a, b = data[:30], data[30:] + 0.5
        both = torch.cat([a, b])
        observed = (b.mean() - a.mean()).abs()
        perms = torch.stack([torch.randperm(60, generator=g) for _ in range(500)])
        shuffled = both[perms]
        stats = (shuffled[:, 30:].mean(1) - shuffled[:, :30].mean(1)).abs()
        print(f"permutation p {(stats >= observed).float().mean().item():.3f}")
        print("mode", torch.mode(torch.tensor([3, 1, 3, 2, 1, 3])), "kthvalue",
              torch.kthvalue(data[:7], 3).values.item() == data[:7].sort().values[2].item())
    put("boot.ci", torch.stack([lo, hi]))


def section_linalg_misc() -> None:
    g = torch.Generator().manual_seed(45)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64) + 4 * torch.eye(4, dtype=torch.float64)
    B = torch.randn(4, 3, generator=g, dtype=torch.float64)
    C = torch.randn(3, 5, generator=g, dtype=torch.float64)
    with printed("la.log"):
        print(f"det {torch.linalg.det(A).item():.6f}")
        sign, logabs = torch.linalg.slogdet(A)
        print(f"slogdet {sign.item():+.0f} {logabs.item():.6f}")
        print("multi_dot", torch.linalg.multi_dot([A, B, C]).shape,
              torch.allclose(torch.linalg.multi_dot([A, B, C]), A @ B @ C))
        print("inverse power", torch.allclose(torch.linalg.matrix_power(A, -2),
                                              torch.linalg.inv(A @ A)))
        for ord_ in ("fro", "nuc", 1, -1, 2, float("inf")):
            print("norm", ord_, round(torch.linalg.matrix_norm(A, ord=ord_).item(), 6))
        x = torch.tensor([3.0, -4.0, 12.0], dtype=torch.float64)
        print("vector norms", [round(torch.linalg.vector_norm(x, ord=o).item(), 6)
                               for o in (0, 1, 2, 3, float("inf"), -float("inf"))])
        sol, info = torch.linalg.solve_ex(A, B)
        print("solve_ex info", info.item(), torch.allclose(A @ sol, B))
        sing = torch.ones(3, 3, dtype=torch.float64)
        ones = torch.ones(3, 1, dtype=torch.float64)
        print("singular info", torch.linalg.solve_ex(sing, ones).info.item())
        print("rank", torch.linalg.matrix_rank(sing).item(), "det", torch.linalg.det(sing).item())
        Q, R = torch.linalg.qr(B, mode="complete")
        print("qr complete", Q.shape, R.shape,
              torch.allclose(Q.T @ Q, torch.eye(4, dtype=torch.float64)))
        P, L, U = torch.linalg.lu(A)
        print("lu", torch.allclose(P @ L @ U, A), "cross", torch.linalg.cross(x, x.flip(0)))
        print("trace", round(torch.trace(A).item(), 6), "diagonal", A.diagonal(offset=1).shape)
    put("la.A", [sol, torch.linalg.inv(A)])


def section_advection() -> None:
    n = 50
    dx = 1.0 / n
    x = (torch.arange(n, dtype=torch.float64) + 0.5) * dx
    u0 = torch.where((x > 0.2) & (x < 0.4), 1.0, 0.0).double() + torch.exp(-300 * (x - 0.7) ** 2)
    c, dt = 1.0, 0.4 * dx

    def minmod(a, b):
        return torch.where(a * b > 0, torch.sign(a) * torch.minimum(a.abs(), b.abs()),
                           torch.zeros_like(a))

    with printed("adv.log"):
        for name in ("upwind", "minmod"):
            u = u0.clone()
            for step in range(125):  # one full period
                if name == "upwind":
                    flux = c * u
                else:
                    slope = minmod(u - torch.roll(u, 1), torch.roll(u, -1) - u)
                    flux = c * (u + 0.5 * (1 - c * dt / dx) * slope)
                u = u - dt / dx * (flux - torch.roll(flux, 1))
            err = (u - u0).abs().sum() * dx
            print(f"{name}: L1 error {err.item():.5f} mass {u.sum().item() * dx:.6f} "
                  f"min {u.min().item():+.2e}" if u.min() < -1e-12 else
                  f"{name}: L1 error {err.item():.5f} mass {u.sum().item() * dx:.6f} no undershoot")
            put(f"adv.{name}", u)


def section_warp() -> None:
    img = torch.zeros(1, 1, 9, 9)
    img[0, 0, 2:7, 4] = 1.0
    img[0, 0, 4, 2:7] = 0.5
    with printed("warp.log"):
        angle = math.pi / 2
        theta = torch.tensor([[[math.cos(angle), -math.sin(angle), 0.0],
                               [math.sin(angle), math.cos(angle), 0.0]]])
        grid = F.affine_grid(theta, img.shape, align_corners=False)
        rot = F.grid_sample(img, grid, mode="nearest", align_corners=False)
        print("rotated sum", rot.sum().item(), "equals rot90:",
              torch.allclose(rot, torch.rot90(img, 1, (2, 3))) or
              torch.allclose(rot, torch.rot90(img, -1, (2, 3))))
        shift = torch.tensor([[[1.0, 0.0, 0.25], [0.0, 1.0, 0.0]]])
        moved = F.grid_sample(img, F.affine_grid(shift, img.shape, align_corners=True),
                              mode="bilinear", padding_mode="border", align_corners=True)
        print("shifted", moved[0, 0, 4].numpy().round(3).tolist())
        up = F.conv_transpose2d(img, torch.ones(1, 1, 2, 2), stride=2)
        print("conv_transpose", tuple(up.shape), up.sum().item())
        small = F.interpolate(img, scale_factor=0.5, mode="area")
        print("area", tuple(small.shape), round(small.sum().item(), 4))
        print("bicubic", F.interpolate(img, size=(5, 5), mode="bicubic",
                                       align_corners=False)[0, 0, 2].numpy().round(4).tolist())
    put("warp.moved", moved)


def section_special_more() -> None:
    x = torch.tensor([0.5, 1.0, 2.5, 7.0], dtype=torch.float64)
    with printed("sp2.log"):
        print("zeta", torch.special.zeta(torch.tensor([2.0, 4.0], dtype=torch.float64), 1.0))
        print("multigammaln", torch.special.multigammaln(x[1:], 2).numpy().round(6).tolist())
        print("bessel_j0", torch.special.bessel_j0(x).numpy().round(6).tolist())
        print("bessel_j1", torch.special.bessel_j1(x).numpy().round(6).tolist())
        print("bessel_y0", torch.special.bessel_y0(x).numpy().round(6).tolist())
        print("modified_i1", torch.special.modified_bessel_i1(x).numpy().round(6).tolist())
        print("modified_k0", torch.special.modified_bessel_k0(x).numpy().round(6).tolist())
        print("scaled_k1", torch.special.scaled_modified_bessel_k1(x).numpy().round(6).tolist())
        print("spherical_j0", torch.special.spherical_bessel_j0(x).numpy().round(6).tolist())
        print("airy_ai", torch.special.airy_ai(x).numpy().round(6).tolist())
        print("laguerre", torch.special.laguerre_polynomial_l(x, 3).numpy().round(6).tolist())
        print("gammainc", torch.special.gammainc(x, x).numpy().round(6).tolist())
        print("softmax/log_softmax", torch.special.log_softmax(x, 0).numpy().round(6).tolist())
        print("expit", torch.special.expit(torch.tensor([-1.0, 0.0, 1.0])))
        print("round", torch.special.round(torch.tensor([0.5, 1.5, 2.5])),
              "exp2", torch.special.exp2(torch.tensor([3.0])))
    put("sp2.j0", torch.special.bessel_j0(x))


SECTIONS = {
    "automata": section_automata, "time_series": section_time_series,
    "kaplan_meier": section_kaplan_meier, "cubic_spline": section_cubic_spline,
    "realnvp": section_realnvp, "custom_function": section_custom_function,
    "sparse_ops": section_sparse_ops, "poly_roots": section_poly_roots,
    "bootstrap": section_bootstrap, "linalg_misc": section_linalg_misc,
    "advection": section_advection, "warp": section_warp, "special_more": section_special_more,
}
