"""Numerical programs written with tensors (PR12, session 26): Monte Carlo with torch.Generator
(its state saved and restored, quasi-random Sobol points), Metropolis and Hamiltonian Monte Carlo
with autograd on a banana density, k-means by cdist / argmin / scatter_add_ / bincount, PCA by
linalg.svd beside pca_lowrank, image processing (Sobel by conv2d, a separable Gaussian blur,
histogram equalisation by histc / bincount / cumsum, a median filter by unfold, Otsu's
threshold), signal processing (stft / istft with several windows, a spectrogram peak), a sparse
graph Laplacian with Jacobi and conjugate gradients through torch.sparse.mm, all-pairs shortest
paths by min-plus products and connected components by scatter_reduce, an HMM's forward-backward
and Viterbi in log space, an extended Kalman filter with autograd Jacobians, and a knapsack
table by dynamic programming. Tiny sizes, seeded; run by prog_s26_PR12_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import math

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_monte_carlo() -> None:
    g = torch.Generator().manual_seed(2024)
    with printed("mc.log"):
        print("initial_seed", g.initial_seed())
        u = torch.rand(20000, 2, generator=g, dtype=torch.float64)
        pi_hat = 4 * (u.pow(2).sum(1) <= 1).double().mean()
        print(f"pi estimate {pi_hat.item():.4f}")
        state = g.get_state()
        a = torch.randn(5, generator=g)
        g.set_state(state)
        b = torch.randn(5, generator=g)
        print("replayed:", torch.equal(a, b), state.dtype, state.shape)
        x = torch.randn(50000, generator=g, dtype=torch.float64)
        est = torch.exp(-x.pow(2) / 2).mean()
        print(f"E[exp(-X^2/2)] {est.item():.4f} exact {1 / math.sqrt(2):.4f}")
        idx = torch.randint(0, 10, (8,), generator=g)
        print("randint", idx)
        draws = torch.multinomial(torch.tensor([0.1, 0.6, 0.3]), 12, replacement=True, generator=g)
        print("multinomial", draws)
        print("normal", torch.normal(2.0, 0.5, size=(3,), generator=g))
        print("perm", torch.randperm(7, generator=g))
        # quasi Monte Carlo
        sobol = torch.quasirandom.SobolEngine(dimension=2, scramble=False)
        pts = sobol.draw(1024, dtype=torch.float64)
        print(f"sobol pi {4 * (pts.pow(2).sum(1) <= 1).double().mean().item():.4f}")
        print("first sobol points", sobol.draw(2))
        # control variate
        z = torch.rand(10000, generator=g, dtype=torch.float64)
        fz, cz = torch.exp(z), z
        c = -torch.cov(torch.stack([fz, cz]))[0, 1] / cz.var()
        cv = (fz + c * (cz - 0.5)).mean()
        print(f"control variate {cv.item():.5f} exact {math.e - 1:.5f}")
    put("mc.values", [pi_hat, est, cv])


def _banana_logp(z):
    x, y = z[..., 0], z[..., 1]
    return -0.5 * (x ** 2 / 4 + (y - 0.5 * x ** 2) ** 2)


def section_mcmc() -> None:
    g = torch.Generator().manual_seed(5)
    with printed("mcmc.log"):
        z = torch.zeros(2, dtype=torch.float64)
        accepted = 0
        samples = []
        for i in range(2000):
            prop = z + 0.8 * torch.randn(2, generator=g, dtype=torch.float64)
            log_alpha = _banana_logp(prop) - _banana_logp(z)
            if torch.log(torch.rand((), generator=g, dtype=torch.float64)) < log_alpha:
                z, accepted = prop, accepted + 1
            samples.append(z)
        s = torch.stack(samples[500:])
        print(f"metropolis acceptance {accepted / 2000:.3f}")
        print("metropolis mean", s.mean(0).numpy().round(2).tolist())

        def grad_logp(q):
            q = q.detach().requires_grad_(True)
            return torch.autograd.grad(_banana_logp(q), q)[0]

        q = torch.zeros(2, dtype=torch.float64)
        eps, steps = 0.2, 10
        acc = 0
        hmc = []
        for i in range(400):
            p0 = torch.randn(2, generator=g, dtype=torch.float64)
            qn, pn = q.clone(), p0 + 0.5 * eps * grad_logp(q)
            for j in range(steps):
                qn = qn + eps * pn
                if j < steps - 1:
                    pn = pn + eps * grad_logp(qn)
            pn = pn + 0.5 * eps * grad_logp(qn)
            h0 = -_banana_logp(q) + 0.5 * p0.dot(p0)
            h1 = -_banana_logp(qn) + 0.5 * pn.dot(pn)
            if torch.rand((), generator=g, dtype=torch.float64) < torch.exp(h0 - h1):
                q, acc = qn, acc + 1
            hmc.append(q)
        h = torch.stack(hmc[100:])
        print(f"hmc acceptance {acc / 400:.3f}")
        print("hmc mean", h.mean(0).numpy().round(2).tolist(),
              "var", h.var(0).numpy().round(2).tolist())
    put("mcmc.means", [s.mean(0), h.mean(0)])


def section_kmeans() -> None:
    g = torch.Generator().manual_seed(12)
    centers_true = torch.tensor([[0.0, 0.0], [3.0, 3.0], [0.0, 4.0]])
    X = torch.cat([c + 0.5 * torch.randn(40, 2, generator=g) for c in centers_true])
    k = 3
    C = X[torch.tensor([0, 40, 80])].clone()
    with printed("km.log"):
        for it in range(10):
            d = torch.cdist(X, C)
            assign = d.argmin(1)
            sums = torch.zeros(k, 2).scatter_add_(0, assign.unsqueeze(1).expand(-1, 2), X)
            counts = torch.bincount(assign, minlength=k).float()
            newC = sums / counts.unsqueeze(1)
            shift = (newC - C).norm(dim=1).max()
            C = newC
            inertia = d.gather(1, assign.unsqueeze(1)).pow(2).sum()
            print(f"iter {it} inertia {inertia.item():.3f} shift {shift.item():.4f}")
            if shift < 1e-6:
                break
        print("counts", torch.bincount(assign, minlength=k))
        C2 = torch.zeros(k, 2).index_add_(0, assign, X) / counts.unsqueeze(1)
        print("index_add agrees:", torch.allclose(C, C2))
        means = torch.zeros(k, 2).scatter_reduce(0, assign.unsqueeze(1).expand(-1, 2), X,
                                                 reduce="mean", include_self=False)
        print("scatter_reduce mean agrees:", torch.allclose(means, C, atol=1e-6))
        print("centers", C.numpy().round(3).tolist())
        print("unique", torch.unique(assign, return_counts=True))
    put("km.C", C)


def section_pca() -> None:
    g = torch.Generator().manual_seed(3)
    latent = torch.randn(100, 2, generator=g, dtype=torch.float64)
    mix = torch.tensor([[2.0, 0.5, 0.0, 1.0, 0.3], [0.0, 1.0, 1.5, -0.5, 0.2]], dtype=torch.float64)
    X = latent @ mix + 0.05 * torch.randn(100, 5, generator=g, dtype=torch.float64)
    Xc = X - X.mean(0)
    with printed("pca.log"):
        U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
        ratio = S ** 2 / (S ** 2).sum()
        print("explained", ratio.numpy().round(4).tolist())
        print("cumulative", torch.cumsum(ratio, 0).numpy().round(4).tolist())
        scores = Xc @ Vh[:2].T
        recon = scores @ Vh[:2] + X.mean(0)
        print(f"reconstruction rmse {(recon - X).pow(2).mean().sqrt().item():.4f}")
        torch.manual_seed(0)
        U2, S2, V2 = torch.pca_lowrank(X, q=2, niter=4)
        print("lowrank singular values", S2.numpy().round(4).tolist(), V2.shape)
        P1 = Vh[:2].T @ Vh[:2]
        P2 = V2 @ V2.T
        print("same subspace:", torch.allclose(P1, P2, atol=1e-6))
        cov = torch.cov(Xc.T)
        evals, evecs = torch.linalg.eigh(cov)
        print("eigh top", evals.flip(0)[:2].numpy().round(4).tolist(),
              "svd", (S[:2] ** 2 / 99).numpy().round(4).tolist())
        white = scores / S[:2] * math.sqrt(99)
        print("whitened cov", torch.cov(white.T).numpy().round(6).tolist())
        print("svdvals", torch.linalg.svdvals(Xc)[:2].numpy().round(3).tolist())
    put("pca.S", S)


def section_image() -> None:
    g = torch.Generator().manual_seed(21)
    img = torch.zeros(1, 1, 24, 24)
    img[..., 6:18, 6:18] = 0.7
    img[..., 10:14, 2:22] = 0.4
    img = (img + 0.05 * torch.rand(img.shape, generator=g)).clamp(0, 1)
    with printed("img.log"):
        sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)
        sobel = torch.cat([sobel_x, sobel_x.transpose(2, 3)])
        grads = F.conv2d(img, sobel, padding=1)
        mag = grads.pow(2).sum(1, keepdim=True).sqrt()
        print("sobel", tuple(grads.shape), f"max {mag.max().item():.3f}",
              "edges", int((mag > 1).sum()))
        sigma = 1.2
        ax = torch.arange(-3, 4, dtype=torch.float32)
        k1 = torch.exp(-ax ** 2 / (2 * sigma ** 2))
        k1 = k1 / k1.sum()
        blur = F.conv2d(F.pad(img, (3, 3, 0, 0), mode="reflect"), k1.view(1, 1, 1, 7))
        blur = F.conv2d(F.pad(blur, (0, 0, 3, 3), mode="reflect"), k1.view(1, 1, 7, 1))
        print("blur", tuple(blur.shape),
              f"mean {blur.mean().item():.4f} vs {img.mean().item():.4f}")
        # histogram equalisation on 8-bit levels
        levels = (img * 255).round().to(torch.uint8).flatten()
        hist = torch.bincount(levels.long(), minlength=256)
        cdf = hist.cumsum(0)
        cdf_min = cdf[cdf > 0][0]
        lut = ((cdf - cdf_min).float() / (cdf[-1] - cdf_min) * 255).round()
        lut = lut.clamp(0, 255).to(torch.uint8)
        eq = lut[levels.long()]
        print("histc", torch.histc(img, bins=8, min=0, max=1))
        print("equalised range", eq.min().item(), eq.max().item(), eq.dtype)
        freq = hist[hist > 0].float() / hist.sum()
        print("hist entropy", round(-(freq * freq.log2()).sum().item(), 4))
        # 3x3 median filter by unfold
        patches = F.unfold(F.pad(img, (1, 1, 1, 1), mode="replicate"), 3)
        med = patches.median(dim=1).values.view(1, 1, 24, 24)
        print(f"median filter change {(med - img).abs().mean().item():.4f}")
        # Otsu threshold
        h = torch.histc(img, bins=32, min=0, max=1)
        p = h / h.sum()
        centers = (torch.arange(32) + 0.5) / 32
        w0 = p.cumsum(0)
        mu0 = (p * centers).cumsum(0)
        between = (mu0[-1] * w0 - mu0) ** 2 / (w0 * (1 - w0)).clamp_min(1e-12)
        t = centers[between[:-1].argmax()]
        print(f"otsu threshold {t.item():.4f} foreground {(img > t).float().mean().item():.4f}")
        print("max_pool", F.max_pool2d(img, 8).squeeze())
    put("img.out", [mag, blur, med])


def section_signal() -> None:
    sr = 200
    t = torch.arange(0, 2, 1 / sr, dtype=torch.float64)
    sig = torch.sin(2 * math.pi * 20 * t) * (t < 1) + torch.sin(2 * math.pi * 60 * t) * (t >= 1)
    with printed("sig.log"):
        for name, win in (("hann", torch.hann_window(64, dtype=torch.float64)),
                          ("hamming", torch.hamming_window(64, dtype=torch.float64)),
                          ("blackman", torch.blackman_window(64, dtype=torch.float64))):
            spec = torch.stft(sig, n_fft=64, hop_length=16, window=win, return_complex=True)
            power = spec.abs() ** 2
            peak = power.argmax(0) * sr / 64
            print(name, tuple(spec.shape), spec.dtype, "peaks", peak[2].item(), peak[-3].item())
            back = torch.istft(spec, n_fft=64, hop_length=16, window=win, length=len(sig))
            print(f"  round trip {(back - sig).abs().max().item() < 1e-10}")
        print("bartlett", torch.bartlett_window(5))
        print("kaiser", torch.kaiser_window(5, periodic=False, beta=8.0))
        print("hann periodic", torch.hann_window(4), torch.hann_window(4, periodic=False))
        # moving-average FIR by conv1d and the spectrum's magnitude
        kernel = torch.ones(1, 1, 5, dtype=torch.float64) / 5
        smooth = F.conv1d(sig.view(1, 1, -1), kernel, padding=2).view(-1)
        print(f"smoothed energy ratio {(smooth.pow(2).sum() / sig.pow(2).sum()).item():.4f}")
        welch = torch.stft(sig, 64, 32, window=torch.hann_window(64, dtype=torch.float64),
                           return_complex=True, center=False).abs().pow(2).mean(1)
        print("welch peak bins", torch.topk(welch, 2).indices.sort().values.tolist())
    put("sig.smooth", smooth)


def section_sparse_graph() -> None:
    n = 12
    i = torch.arange(n - 1)
    rows = torch.cat([i, i + 1, torch.tensor([0, 5])])
    cols = torch.cat([i + 1, i, torch.tensor([5, 0])])
    vals = torch.ones(rows.numel(), dtype=torch.float64)
    A = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n)).coalesce()
    deg = torch.sparse.sum(A, dim=1).to_dense()
    L = (torch.sparse_coo_tensor(torch.stack([torch.arange(n), torch.arange(n)]), deg + 0.5,
                                 (n, n)) - A).coalesce()  # shifted Laplacian, positive definite
    b = torch.linspace(-1, 1, n, dtype=torch.float64).unsqueeze(1)
    with printed("spg.log"):
        print("nnz", A._nnz(), "degree", deg.tolist())
        x = torch.zeros(n, 1, dtype=torch.float64)
        dinv = 1 / (deg + 0.5)
        for it in range(60):  # Jacobi: x = D^-1 (b + A x)
            x = dinv.unsqueeze(1) * (b + torch.sparse.mm(A, x))
        print(f"jacobi residual {(torch.sparse.mm(L, x) - b).norm().item():.3e}")
        x = torch.zeros(n, 1, dtype=torch.float64)
        r = b - torch.sparse.mm(L, x)
        p = r.clone()
        for it in range(n):
            Ap = torch.sparse.mm(L, p)
            alpha = (r * r).sum() / (p * Ap).sum()
            x = x + alpha * p
            r_new = r - alpha * Ap
            if r_new.norm() < 1e-12:
                break
            p = r_new + (r_new * r_new).sum() / (r * r).sum() * p
            r = r_new
        print("cg iterations", it + 1,
              "agrees:", torch.allclose(x, torch.linalg.solve(L.to_dense(), b)))
        # gradient through the sparse product
        w = torch.ones(n, 1, dtype=torch.float64, requires_grad=True)
        loss = torch.sparse.mm(A, w).pow(2).sum()
        loss.backward()
        print("grad", w.grad.view(-1).tolist())
        print("A @ dense", (A @ torch.eye(n, dtype=torch.float64)).equal(A.to_dense()))
        print(A.to_dense()[:3, :6])
    put("spg.x", x)


def section_graph_paths() -> None:
    inf = float("inf")
    W = torch.tensor([[0, 4, inf, inf, 1, inf],
                      [4, 0, 2, inf, inf, inf],
                      [inf, 2, 0, 3, 1, inf],
                      [inf, inf, 3, 0, inf, inf],
                      [1, inf, 1, inf, 0, inf],
                      [inf, inf, inf, inf, inf, 0]])
    with printed("paths.log"):
        D = W.clone()
        for _ in range(3):  # min-plus squaring
            D = torch.minimum(D, (D.unsqueeze(2) + D.unsqueeze(0)).min(1).values)
        print(D)
        Fw = W.clone()
        for k in range(6):  # Floyd-Warshall
            Fw = torch.minimum(Fw, Fw[:, k:k + 1] + Fw[k:k + 1, :])
        print("floyd agrees:", torch.equal(D, Fw), "isinf", torch.isinf(D).sum().item())
        adj = torch.isfinite(W) & (W > 0)
        labels = torch.arange(6)
        for _ in range(6):  # connected components: min label over neighbours
            src, dst = adj.nonzero(as_tuple=True)
            labels = labels.scatter_reduce(0, dst, labels[src], reduce="amin")
        print("components", labels, "count", labels.unique().numel())
        reach = torch.matrix_power(adj.double() + torch.eye(6, dtype=torch.float64), 5) > 0
        print("reachability from 3", reach[3].int().tolist())
        deg = adj.sum(1)
        print("degree", deg, deg.dtype)
    put("paths.D", D)


def section_hmm() -> None:
    log_pi = torch.log(torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))
    log_A = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.2, 0.3, 0.5]],
                                   dtype=torch.float64))
    log_B = torch.log(torch.tensor([[0.5, 0.4, 0.1], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4]],
                                   dtype=torch.float64))
    obs = torch.tensor([0, 1, 2, 2, 1, 0, 0, 2])
    T = len(obs)
    with printed("hmm.log"):
        alpha = [log_pi + log_B[:, obs[0]]]
        for t in range(1, T):
            alpha.append(torch.logsumexp(alpha[-1].unsqueeze(1) + log_A, 0) + log_B[:, obs[t]])
        alpha = torch.stack(alpha)
        beta = [torch.zeros(3, dtype=torch.float64)]
        for t in range(T - 1, 0, -1):
            beta.insert(0, torch.logsumexp(log_A + (log_B[:, obs[t]] + beta[0]).unsqueeze(0), 1))
        beta = torch.stack(beta)
        log_z = torch.logsumexp(alpha[-1], 0)
        post = torch.exp(alpha + beta - log_z)
        print(f"log likelihood {log_z.item():.6f}")
        print("posteriors sum to one:",
              torch.allclose(post.sum(1), torch.ones(T, dtype=torch.float64)))
        print("posterior argmax", post.argmax(1).tolist())
        delta = log_pi + log_B[:, obs[0]]
        back = []
        for t in range(1, T):
            scores = delta.unsqueeze(1) + log_A
            best, arg = scores.max(0)
            back.append(arg)
            delta = best + log_B[:, obs[t]]
        path = [int(delta.argmax())]
        for arg in reversed(back):
            path.insert(0, int(arg.gather(0, torch.tensor([path[0]]))))
        print("viterbi", path, f"score {delta.max().item():.6f}")
        # one Baum-Welch update of A
        xi = (alpha[:-1].unsqueeze(2) + log_A.unsqueeze(0)
              + (log_B[:, obs[1:]].T + beta[1:]).unsqueeze(1) - log_z).exp()
        A_new = xi.sum(0) / xi.sum((0, 2)).unsqueeze(1)
        print("A_new", A_new.numpy().round(4).tolist())
    put("hmm.post", post)


def section_ekf() -> None:
    g = torch.Generator().manual_seed(17)
    dt = 0.05

    def f(x):  # pendulum
        return torch.stack([x[0] + dt * x[1], x[1] - dt * 9.81 * torch.sin(x[0])])

    def h(x):
        return torch.sin(x[:1])

    Q = torch.diag(torch.tensor([1e-5, 1e-4], dtype=torch.float64))
    R = torch.tensor([[0.01]], dtype=torch.float64)
    x_true = torch.tensor([1.0, 0.0], dtype=torch.float64)
    x = torch.tensor([0.5, 0.0], dtype=torch.float64)
    P = torch.eye(2, dtype=torch.float64)
    errs = []
    with printed("ekf.log"):
        for k in range(40):
            x_true = f(x_true)
            z = h(x_true) + 0.1 * torch.randn(1, generator=g, dtype=torch.float64)
            Fj = torch.autograd.functional.jacobian(f, x)
            x = f(x)
            P = Fj @ P @ Fj.T + Q
            Hj = torch.autograd.functional.jacobian(h, x)
            S = Hj @ P @ Hj.T + R
            K = torch.linalg.solve(S, Hj @ P).T
            x = x + K @ (z - h(x))
            P = (torch.eye(2, dtype=torch.float64) - K @ Hj) @ P
            errs.append((x - x_true).abs())
            if k % 10 == 9:
                print(f"k={k + 1} angle est {x[0].item():+.4f} true {x_true[0].item():+.4f} "
                      f"trace P {torch.trace(P).item():.5f}")
        errs = torch.stack(errs)
        print("mean abs error", errs[20:].mean(0).numpy().round(4).tolist())
    put("ekf.x", x)


def section_knapsack() -> None:
    weights = torch.tensor([3, 4, 2, 5, 1, 6])
    values = torch.tensor([4.0, 5.0, 3.0, 8.0, 1.5, 9.0])
    cap = 10
    with printed("knap.log"):
        table = torch.zeros(len(weights) + 1, cap + 1)
        for i in range(1, len(weights) + 1):
            w, v = int(weights[i - 1]), values[i - 1]
            take = torch.full((cap + 1,), -float("inf"))
            take[w:] = table[i - 1, :cap + 1 - w] + v
            table[i] = torch.maximum(table[i - 1], take)
        print("best value", table[-1, -1].item())
        chosen, c = [], cap
        for i in range(len(weights), 0, -1):
            if table[i, c] != table[i - 1, c]:
                chosen.append(i - 1)
                c -= int(weights[i - 1])
        print("items", sorted(chosen), "weight", int(weights[chosen].sum()))
        # edit distance by anti-diagonal-free row DP
        a, b = "kitten", "sitting"
        prev = torch.arange(len(b) + 1, dtype=torch.float32)
        bt = torch.tensor([ord(ch) for ch in b])
        for i, ch in enumerate(a, 1):
            sub = prev[:-1] + (bt != ord(ch)).float()
            cur = torch.empty_like(prev)
            cur[0] = i
            best = torch.minimum(sub, prev[1:] + 1)
            for j in range(1, len(b) + 1):
                cur[j] = torch.minimum(best[j - 1], cur[j - 1] + 1)
            prev = cur
        print("edit distance", int(prev[-1]))
        # longest increasing subsequence by cummax-free DP
        seq = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
        lis = torch.ones(len(seq), dtype=torch.long)
        for i in range(1, len(seq)):
            mask = seq[:i] < seq[i]
            if mask.any():
                lis[i] = lis[:i][mask].max() + 1
        print("LIS", lis.max().item(), lis.tolist(), "cummax", torch.cummax(seq, 0).values.tolist())
    put("knap.table", table)


SECTIONS = {
    "monte_carlo": section_monte_carlo, "mcmc": section_mcmc, "kmeans": section_kmeans,
    "pca": section_pca, "image": section_image, "signal": section_signal,
    "sparse_graph": section_sparse_graph, "graph_paths": section_graph_paths,
    "hmm": section_hmm, "ekf": section_ekf, "knapsack": section_knapsack,
}
