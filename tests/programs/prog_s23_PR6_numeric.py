"""Classic numerical programs written with tensors, afresh (PR6, session 23): polynomial
fitting by Vandermonde least squares (lstsq, pinv, QR, normal equations by cholesky_solve),
PCA by SVD with explained variance and whitening, a constant-velocity Kalman filter and RTS
smoother, spectral filtering (rfft low-pass, a Hann-windowed periodogram, stft / istft round
trip, convolution by FFT), ODE integrators (Euler, midpoint, RK4 on a pendulum; energy
drift), Monte Carlo (pi, an option price with antithetic variates, importance sampling),
Newton's method with autograd (a scalar root, a 2-d system by the Jacobian, a minimum by the
Hessian), k-means with k-means++ seeding, Gaussian elimination with partial pivoting against
linalg.solve, conjugate gradients, and a Gibbs sampler for a bivariate normal and an Ising
chain. Tiny sizes, float64 where the algorithm is sensitive; run by prog_s23_PR6_all.py.
"""

import math

import torch
from prog_s23_PR6_harness import put


def section_linalg_fit() -> None:
    g = torch.Generator().manual_seed(1)
    t = torch.linspace(-1, 1, 25, dtype=torch.float64)
    y = 1 - 2 * t + 0.5 * t ** 3 + 0.01 * torch.randn(25, generator=g, dtype=torch.float64)
    V = torch.vander(t, N=4, increasing=True)
    sol = torch.linalg.lstsq(V, y.unsqueeze(1))
    put("fit.lstsq", sol.solution.squeeze(1))
    put("fit.pinv", torch.linalg.pinv(V) @ y)
    q, r = torch.linalg.qr(V)
    put("fit.qr", torch.linalg.solve_triangular(r, (q.T @ y).unsqueeze(1), upper=True).flatten())
    gram = V.T @ V
    chol = torch.linalg.cholesky(gram)
    put("fit.normal_eq", torch.cholesky_solve((V.T @ y).unsqueeze(1), chol).flatten())
    put("fit.residual", torch.linalg.norm(V @ sol.solution.squeeze(1) - y))
    put("fit.cond", torch.linalg.cond(V))
    put("fit.rank", torch.linalg.matrix_rank(V))
    # ridge by an augmented system; polyval by Horner
    lam = 0.1
    aug = torch.cat([V, math.sqrt(lam) * torch.eye(4, dtype=torch.float64)])
    ridge = torch.linalg.lstsq(aug, torch.cat([y, torch.zeros(4, dtype=torch.float64)])
                               .unsqueeze(1)).solution.flatten()
    put("fit.ridge", ridge)
    horner = torch.zeros_like(t)
    for c in ridge.flip(0):
        horner = horner * t + c
    put("fit.horner", horner[::6])
    # PCA by SVD of centred data: explained variance, whitening, reconstruction error
    base = torch.randn(60, 2, generator=g) @ torch.tensor([[3.0, 0.0, 1.0], [0.0, 0.5, 0.2]])
    data = base + 0.05 * torch.randn(60, 3, generator=g)
    centred = data - data.mean(0)
    U, S, Vh = torch.linalg.svd(centred, full_matrices=False)
    signs = torch.sign(Vh[:, 0:1])  # (the sign of a singular vector is LAPACK's choice)
    Vh = Vh * signs
    U = U * signs.T
    put("fit.pca_var", S ** 2 / (len(data) - 1))
    put("fit.pca_ratio", (S ** 2 / (S ** 2).sum()))
    put("fit.pca_axes", Vh)
    scores = centred @ Vh[:2].T
    white = scores / (S[:2] / math.sqrt(len(data) - 1))
    put("fit.white_cov", torch.cov(white.T))
    put("fit.pca_recon", torch.linalg.norm(centred - scores @ Vh[:2]))
    put("fit.svdvals", torch.linalg.svdvals(centred))
    put("fit.eigvalsh", torch.linalg.eigvalsh(torch.cov(centred.T)))
    put("fit.corrcoef", torch.corrcoef(data.T))


def section_kalman() -> None:
    g = torch.Generator().manual_seed(2)
    dt = 0.1
    F = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=torch.float64)
    H = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    Q = 0.01 * torch.tensor([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]], dtype=torch.float64)
    R = torch.tensor([[0.25]], dtype=torch.float64)
    truth = torch.zeros(30, 2, dtype=torch.float64)
    state = torch.tensor([0.0, 1.0], dtype=torch.float64)
    for k in range(30):
        state = F @ state + torch.linalg.cholesky(Q) @ torch.randn(2, generator=g,
                                                                  dtype=torch.float64)
        truth[k] = state
    zs = truth[:, :1] + 0.5 * torch.randn(30, 1, generator=g, dtype=torch.float64)
    x = torch.zeros(2, dtype=torch.float64)
    P = torch.eye(2, dtype=torch.float64)
    means, covs, pred_means, pred_covs = [], [], [], []
    nll = 0.0
    for z in zs:
        x_pred = F @ x
        P_pred = F @ P @ F.T + Q
        pred_means.append(x_pred)
        pred_covs.append(P_pred)
        S = H @ P_pred @ H.T + R
        K = torch.linalg.solve(S, H @ P_pred).T
        innov = z - H @ x_pred
        nll += 0.5 * (innov @ torch.linalg.solve(S, innov) + torch.logdet(2 * math.pi * S))
        x = x_pred + K @ innov
        I_KH = torch.eye(2, dtype=torch.float64) - K @ H
        P = I_KH @ P_pred @ I_KH.T + K @ R @ K.T  # Joseph form
        means.append(x)
        covs.append(P)
    filtered = torch.stack(means)
    put("kalman.filtered", filtered[::5])
    put("kalman.nll", nll)
    put("kalman.last_cov", covs[-1])
    # Rauch-Tung-Striebel smoother
    smoothed = [means[-1]]
    s_cov = covs[-1]
    for k in range(28, -1, -1):
        C = covs[k] @ F.T @ torch.linalg.inv(pred_covs[k + 1])
        smoothed.insert(0, means[k] + C @ (smoothed[0] - pred_means[k + 1]))
        s_cov = covs[k] + C @ (s_cov - pred_covs[k + 1]) @ C.T
    smoothed = torch.stack(smoothed)
    put("kalman.smoothed", smoothed[::5])
    put("kalman.errors", torch.stack([(filtered[:, 0] - truth[:, 0]).pow(2).mean(),
                                      (smoothed[:, 0] - truth[:, 0]).pow(2).mean(),
                                      (zs[:, 0] - truth[:, 0]).pow(2).mean()]))


def section_spectral() -> None:
    n = 128
    t = torch.arange(n) / n
    g = torch.Generator().manual_seed(3)
    signal = torch.sin(2 * math.pi * 5 * t) + 0.5 * torch.sin(2 * math.pi * 20 * t)
    noisy = signal + 0.3 * torch.randn(n, generator=g)
    spectrum = torch.fft.rfft(noisy)
    freqs = torch.fft.rfftfreq(n, d=1 / n)
    low = torch.fft.irfft(spectrum * (freqs < 10), n=n)
    put("spec.low_pass", low[::8])
    put("spec.low_error", (low - torch.sin(2 * math.pi * 5 * t)).pow(2).mean())
    window = torch.hann_window(n, periodic=True)
    power = torch.fft.rfft(noisy * window).abs() ** 2 / window.pow(2).sum()
    put("spec.peaks", torch.topk(power, 2).indices.sort().values)
    put("spec.windows", [torch.hamming_window(8), torch.blackman_window(8, periodic=False),
                         torch.kaiser_window(8, False, 5.0), torch.bartlett_window(7)])
    spec = torch.stft(noisy, n_fft=32, hop_length=8, window=torch.hann_window(32),
                      return_complex=True)
    put("spec.stft_shape", list(spec.shape))
    put("spec.stft_mag", spec.abs()[:, ::4])
    back = torch.istft(spec, n_fft=32, hop_length=8, window=torch.hann_window(32), length=n)
    put("spec.istft_gap", (back - noisy).abs().max() < 1e-5)
    kernel = torch.tensor([0.25, 0.5, 0.25])
    direct = torch.nn.functional.conv1d(noisy.view(1, 1, -1), kernel.view(1, 1, -1),
                                        padding=1).flatten()
    m = n + 2
    via_fft = torch.fft.irfft(torch.fft.rfft(noisy, m) * torch.fft.rfft(kernel, m), m)[1:n + 1]
    put("spec.conv_gap", (direct - via_fft).abs().max() < 1e-5)
    put("spec.fft2", torch.fft.fft2(torch.arange(12.0).view(3, 4)))
    put("spec.shift", [torch.fft.fftshift(torch.fft.fftfreq(6)), torch.fft.ifftshift(
        torch.arange(5))])
    put("spec.hfft", torch.fft.hfft(torch.tensor([1.0, 2.0 + 1j, 3.0]), n=4))
    # autograd through the spectrum: fit a sinusoid's amplitude by matching |rfft|
    amp = torch.tensor(0.2, requires_grad=True)
    opt = torch.optim.Adam([amp], lr=0.1)
    target = torch.fft.rfft(signal).abs()
    losses = []
    for _ in range(10):
        opt.zero_grad()
        fit = amp * torch.sin(2 * math.pi * 5 * t) + 0.5 * torch.sin(2 * math.pi * 20 * t)
        loss = (torch.fft.rfft(fit).abs() - target).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("spec.fit_losses", torch.tensor(losses))
    put("spec.amp", amp)


def section_ode() -> None:
    def pendulum(state):
        theta, omega = state[..., 0], state[..., 1]
        return torch.stack([omega, -9.81 * torch.sin(theta)], -1)

    def energy(state):
        return 0.5 * state[..., 1] ** 2 - 9.81 * torch.cos(state[..., 0])

    y0 = torch.tensor([[1.0, 0.0], [0.3, 0.5]], dtype=torch.float64)
    h = 0.01
    methods = {}
    for name in ("euler", "midpoint", "rk4"):
        y = y0.clone()
        for _ in range(200):
            if name == "euler":
                y = y + h * pendulum(y)
            elif name == "midpoint":
                y = y + h * pendulum(y + 0.5 * h * pendulum(y))
            else:
                k1 = pendulum(y)
                k2 = pendulum(y + 0.5 * h * k1)
                k3 = pendulum(y + 0.5 * h * k2)
                k4 = pendulum(y + h * k3)
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        methods[name] = y
        put(f"ode.{name}", y)
        put(f"ode.{name}_drift", (energy(y) - energy(y0)).abs())
    # sensitivity of the final angle to the initial angle by autograd through RK4 (float32)
    theta0 = torch.tensor([1.0, 0.3], requires_grad=True)
    y = torch.stack([theta0, torch.zeros(2)], -1)
    for _ in range(50):
        k1 = pendulum(y)
        k2 = pendulum(y + 0.5 * 0.02 * k1)
        k3 = pendulum(y + 0.5 * 0.02 * k2)
        k4 = pendulum(y + 0.02 * k3)
        y = y + 0.02 / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    y[:, 0].sum().backward()
    put("ode.sensitivity", theta0.grad)
    # leapfrog keeps energy bounded; the trapezoid rule, cumulative_trapezoid and simpson by hand
    q, p = torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)
    for _ in range(500):
        p = p - 0.5 * 0.05 * 9.81 * torch.sin(q)
        q = q + 0.05 * p
        p = p - 0.5 * 0.05 * 9.81 * torch.sin(q)
    put("ode.leapfrog", torch.stack([q, p]))
    xs = torch.linspace(0, math.pi, 21, dtype=torch.float64)
    put("ode.quad", [torch.trapezoid(torch.sin(xs), xs), torch.trapz(torch.sin(xs), dx=xs[1]),
                     torch.cumulative_trapezoid(torch.sin(xs), xs)[::5],
                     (xs[1] / 3) * (torch.sin(xs[0]) + torch.sin(xs[-1])
                                    + 4 * torch.sin(xs[1:-1:2]).sum()
                                    + 2 * torch.sin(xs[2:-1:2]).sum())])


def section_monte_carlo() -> None:
    g = torch.Generator().manual_seed(4)
    pts = torch.rand(4000, 2, generator=g, dtype=torch.float64)
    inside = (pts.pow(2).sum(1) <= 1)
    put("mc.pi", 4 * inside.double().mean())
    put("mc.inside", inside.sum())
    s0, strike, r, sigma, T = 100.0, 105.0, 0.03, 0.2, 1.0
    z = torch.randn(2000, generator=g, dtype=torch.float64)
    drift = (r - 0.5 * sigma ** 2) * T
    payoff = lambda zz: torch.clamp(s0 * torch.exp(drift + sigma * math.sqrt(T) * zz)  # noqa: E731
                                    - strike, min=0)
    plain = payoff(z)
    anti = 0.5 * (payoff(z) + payoff(-z))
    put("mc.option", torch.stack([math.exp(-r * T) * plain.mean(), math.exp(-r * T) * anti.mean(),
                                  plain.std(), anti.std()]))
    normal = torch.distributions.Normal(torch.tensor(0.0, dtype=torch.float64),
                                        torch.tensor(1.0, dtype=torch.float64))
    d1 = (math.log(s0 / strike) + (r + 0.5 * sigma ** 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    bs = s0 * normal.cdf(torch.tensor(d1, dtype=torch.float64)) \
        - strike * math.exp(-r * T) * normal.cdf(torch.tensor(d2, dtype=torch.float64))
    put("mc.black_scholes", bs)
    # importance sampling of a tail probability P(Z > 3) with a shifted proposal
    prop = torch.distributions.Normal(torch.tensor(3.0, dtype=torch.float64),
                                      torch.tensor(1.0, dtype=torch.float64))
    draws = prop.sample((3000,))
    w = torch.exp(normal.log_prob(draws) - prop.log_prob(draws))
    put("mc.tail", torch.stack([(w * (draws > 3)).mean(), 1 - normal.cdf(torch.tensor(
        3.0, dtype=torch.float64))]))
    # pathwise delta by autograd through the simulation
    spot = torch.tensor(s0, dtype=torch.float64, requires_grad=True)
    price = math.exp(-r * T) * torch.clamp(spot * torch.exp(drift + sigma * z) - strike,
                                           min=0).mean()
    price.backward()
    put("mc.delta", [spot.grad, normal.cdf(torch.tensor(d1, dtype=torch.float64))])
    walk = torch.cumsum(torch.where(torch.rand(5, 100, generator=g) < 0.5, -1, 1), dim=1)
    put("mc.walk", [walk[:, -1], walk.abs().amax(1), (walk == 0).sum(1)])


def section_newton() -> None:
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    history = []
    for _ in range(10):
        f = x ** 3 - 2 * x - 5
        (df,) = torch.autograd.grad(f, x)
        with torch.no_grad():
            x -= f / df
        history.append(x.item())
    put("newton.scalar", torch.tensor(history, dtype=torch.float64))

    def system(v):
        return torch.stack([v[0] ** 2 + v[1] ** 2 - 4, torch.exp(v[0]) + v[1] - 1])

    v = torch.tensor([1.0, -1.0], dtype=torch.float64)
    residuals = []
    for _ in range(8):
        J = torch.autograd.functional.jacobian(system, v)
        v = v - torch.linalg.solve(J, system(v))
        residuals.append(system(v).norm().item())
    put("newton.system", v)
    put("newton.residual_small", residuals[-1] < 1e-10)

    def rosen(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    p = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    path = []
    for _ in range(8):
        grad = torch.func.grad(rosen)(p)
        hess = torch.func.hessian(rosen)(p)
        p = p - torch.linalg.solve(hess, grad)
        path.append(p)
    put("newton.rosen", torch.stack(path))
    put("newton.hvp", torch.autograd.functional.hvp(rosen, p,
                                                    torch.ones(2, dtype=torch.float64))[1])
    # implicit differentiation of a root: dx*/da = -(df/da) / (df/dx)
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    root = torch.tensor(1.0, dtype=torch.float64)
    for _ in range(20):
        root = root - (root ** 3 + a.detach() * root - 1) / (3 * root ** 2 + a.detach())
    root = root.detach().requires_grad_()
    f = root ** 3 + a * root - 1
    dfdx, dfda = torch.autograd.grad(f, (root, a))
    put("newton.implicit", [root, -dfda / dfdx])


def section_kmeans() -> None:
    g = torch.Generator().manual_seed(6)
    centres = torch.tensor([[0.0, 0.0], [4.0, 4.0], [0.0, 5.0]])
    points = torch.cat([c + 0.6 * torch.randn(30, 2, generator=g) for c in centres])
    k = 3
    first = torch.randint(len(points), (1,), generator=g)
    chosen = [points[first[0]]]
    for _ in range(k - 1):  # k-means++ seeding
        d2 = torch.cdist(points, torch.stack(chosen)).pow(2).amin(1)
        chosen.append(points[torch.multinomial(d2 / d2.sum(), 1, generator=g)[0]])
    means = torch.stack(chosen)
    inertia = []
    for _ in range(10):
        dist = torch.cdist(points, means)
        assign = dist.argmin(1)
        sums = torch.zeros(k, 2).index_add_(0, assign, points)
        counts = torch.bincount(assign, minlength=k).clamp(min=1).unsqueeze(1)
        means = sums / counts
        inertia.append(dist.gather(1, assign.unsqueeze(1)).pow(2).sum().item())
    order = means[:, 0] * 10 + means[:, 1]
    put("kmeans.means", means[order.argsort()])
    put("kmeans.inertia", torch.tensor(inertia))
    put("kmeans.sizes", torch.bincount(assign, minlength=k).sort().values)
    one_hot = torch.nn.functional.one_hot(assign, k).float()
    put("kmeans.scatter_mean", (one_hot.T @ points / one_hot.sum(0, keepdim=True).T)[
        order.argsort()])


def section_solvers() -> None:
    g = torch.Generator().manual_seed(7)
    A = torch.randn(5, 5, generator=g, dtype=torch.float64)
    b = torch.randn(5, generator=g, dtype=torch.float64)
    M = torch.cat([A, b.unsqueeze(1)], 1)
    n = 5
    for col in range(n):
        pivot = col + torch.argmax(M[col:, col].abs()).item()
        if pivot != col:
            M[[col, pivot]] = M[[pivot, col]]
        M[col + 1:] -= M[col + 1:, col:col + 1] / M[col, col] * M[col]
    x = torch.zeros(n, dtype=torch.float64)
    for row in range(n - 1, -1, -1):
        x[row] = (M[row, -1] - M[row, row + 1:n] @ x[row + 1:]) / M[row, row]
    put("solve.gauss", x)
    put("solve.linalg", torch.linalg.solve(A, b))
    LU, piv = torch.linalg.lu_factor(A)
    put("solve.lu", [torch.linalg.lu_solve(LU, piv, b.unsqueeze(1)).flatten(), piv])
    P, L, U = torch.linalg.lu(A)
    put("solve.plu_gap", (P @ L @ U - A).abs().max() < 1e-12)
    put("solve.det", [torch.linalg.det(A), torch.prod(torch.diagonal(U)) * torch.linalg.det(P)])
    # conjugate gradients on an SPD system
    S = A @ A.T + 5 * torch.eye(5, dtype=torch.float64)
    x = torch.zeros(5, dtype=torch.float64)
    r = b - S @ x
    p = r.clone()
    rs = r @ r
    norms = []
    for _ in range(5):
        Sp = S @ p
        alpha = rs / (p @ Sp)
        x = x + alpha * p
        r = r - alpha * Sp
        rs_new = r @ r
        norms.append(rs_new.sqrt().item())
        p = r + (rs_new / rs) * p
        rs = rs_new
    put("solve.cg", x)
    put("solve.cg_exact", torch.linalg.solve(S, b))
    put("solve.cg_converged", norms[-1] < 1e-8)
    # Jacobi iteration on a diagonally dominant system
    D = torch.diag(torch.tensor([10.0, 9.0, 8.0], dtype=torch.float64)) + 0.5
    d = torch.diagonal(D)
    rhs = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    xj = torch.zeros(3, dtype=torch.float64)
    for _ in range(40):
        xj = (rhs - (D - torch.diag(d)) @ xj) / d
    put("solve.jacobi", xj)
    put("solve.matrix_funcs", [torch.linalg.matrix_exp(0.1 * A)[0], torch.linalg.matrix_power(
        A, 3)[1], torch.linalg.inv_ex(S).info, torch.linalg.slogdet(S).logabsdet])


def section_gibbs() -> None:
    g = torch.Generator().manual_seed(9)
    rho = 0.8
    x, y = torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)
    sd = math.sqrt(1 - rho ** 2)
    chain = []
    for _ in range(1500):
        x = rho * y + sd * torch.randn((), generator=g, dtype=torch.float64)
        y = rho * x + sd * torch.randn((), generator=g, dtype=torch.float64)
        chain.append(torch.stack([x, y]))
    samples = torch.stack(chain)[300:]
    put("gibbs.moments", [samples.mean(0), torch.cov(samples.T)])
    # an Ising chain (periodic, 12 spins) by single-site heat-bath updates
    spins = torch.where(torch.rand(12, generator=g) < 0.5, -1, 1)
    beta = 0.7
    magnet = []
    for _ in range(60):
        for i in range(12):
            field = spins[(i - 1) % 12] + spins[(i + 1) % 12]
            p_up = torch.sigmoid(torch.tensor(2.0 * beta * field.item()))
            spins[i] = 1 if torch.rand((), generator=g) < p_up else -1
        magnet.append(spins.sum().item())
    put("gibbs.spins", spins)
    put("gibbs.magnet", torch.tensor(magnet))
    put("gibbs.energy", -(spins * spins.roll(1)).sum())
    # a Metropolis-Hastings chain on a banana density
    def log_p(v):
        return -0.5 * (v[0] ** 2 / 4 + (v[1] - 0.5 * v[0] ** 2) ** 2)

    cur = torch.zeros(2, dtype=torch.float64)
    accepted = 0
    trace = []
    for _ in range(800):
        prop = cur + 0.8 * torch.randn(2, generator=g, dtype=torch.float64)
        if torch.log(torch.rand((), generator=g, dtype=torch.float64)) < log_p(prop) - log_p(cur):
            cur = prop
            accepted += 1
        trace.append(cur)
    put("gibbs.mh", [accepted, torch.stack(trace).mean(0)])


SECTIONS = {
    "linalg_fit": section_linalg_fit, "kalman": section_kalman, "spectral": section_spectral,
    "ode": section_ode, "monte_carlo": section_monte_carlo, "newton": section_newton,
    "kmeans": section_kmeans, "solvers": section_solvers, "gibbs": section_gibbs,
}

if __name__ == "__main__":
    from prog_s23_PR6_harness import run

    run(SECTIONS)
