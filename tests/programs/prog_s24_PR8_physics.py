"""Scientific code with autograd, written in torch (PR8, session 24): gravitational n-body and
Lennard-Jones molecular dynamics whose forces are autograd gradients of the potential (velocity
Verlet, periodic minimum-image box, energy drift); iLQR on a pendulum with Jacobians and
Hessians from torch.autograd.functional; gradient-based receding-horizon MPC; sliced
Wasserstein flows with sorted projections; differentiable sorting and ranking (pairwise-sigmoid
soft ranks, NeuralSort) fitted to a Spearman target; quadrature (trapezoid,
cumulative_trapezoid, Simpson, Gauss-Legendre nodes from the Golub-Welsch eigenproblem) and a
gradient through an integral; Newton root finding and a fixed-point layer differentiated
implicitly, checked against unrolled autograd; PageRank by power iteration and label
propagation over a sparse COO graph; the warnings a program sees from non-finite products.
Tiny sizes; run by prog_s24_PR8_all.py.
"""

import math
import warnings

import torch
import torch.nn.functional as F
from prog_s23_PR6_harness import put
from torch.autograd.functional import hessian, jacobian

D = torch.float64


def section_nbody() -> None:
    g = torch.Generator().manual_seed(110)
    n, dt, soft = 6, 0.01, 0.1
    pos = torch.randn(n, 2, generator=g, dtype=D)
    vel = 0.3 * torch.randn(n, 2, generator=g, dtype=D)
    mass = torch.rand(n, generator=g, dtype=D) + 0.5
    vel = vel - (mass[:, None] * vel).sum(0) / mass.sum()  # no drift of the centre of mass
    iu = torch.triu_indices(n, n, 1)

    def potential(p):
        d = p[iu[0]] - p[iu[1]]
        return -(mass[iu[0]] * mass[iu[1]] / torch.sqrt((d ** 2).sum(1) + soft ** 2)).sum()

    def force(p):
        p = p.detach().requires_grad_(True)
        return -torch.autograd.grad(potential(p), p)[0]

    energies = []
    f = force(pos)
    for _ in range(60):
        vel = vel + 0.5 * dt * f / mass[:, None]
        pos = pos + dt * vel
        f = force(pos)
        vel = vel + 0.5 * dt * f / mass[:, None]
        energies.append(potential(pos) + 0.5 * (mass[:, None] * vel ** 2).sum())
    energies = torch.stack(energies).detach()
    put("nbody.pos", pos)
    put("nbody.energies", energies)
    put("nbody.drift", (energies - energies[0]).abs().max())
    put("nbody.momentum", (mass[:, None] * vel).sum(0))


def section_lennard_jones() -> None:
    g = torch.Generator().manual_seed(111)
    side, n, dt = 3.0, 8, 0.002
    grid = torch.stack(torch.meshgrid(torch.arange(2, dtype=D), torch.arange(2, dtype=D),
                                      torch.arange(2, dtype=D), indexing="ij"), -1)
    pos = grid.reshape(-1, 3) * 1.5 + 0.05 * torch.randn(n, 3, generator=g, dtype=D)
    vel = 0.2 * torch.randn(n, 3, generator=g, dtype=D)
    vel = vel - vel.mean(0)
    iu = torch.triu_indices(n, n, 1)

    def energy(p):
        d = p[iu[0]] - p[iu[1]]
        d = d - side * torch.round(d / side)  # minimum image
        r2 = (d ** 2).sum(1)
        inv6 = (1 / r2) ** 3
        e = 4 * (inv6 ** 2 - inv6)
        return torch.where(r2 < 2.5 ** 2, e, torch.zeros_like(e)).sum()

    def forces(p):
        p = p.detach().requires_grad_(True)
        e = energy(p)
        return -torch.autograd.grad(e, p)[0], e.detach()

    f, e = forces(pos)
    totals, temps = [], []
    for _ in range(50):
        vel = vel + 0.5 * dt * f
        pos = (pos + dt * vel) % side
        f, e = forces(pos)
        vel = vel + 0.5 * dt * f
        kinetic = 0.5 * (vel ** 2).sum()
        totals.append(e + kinetic)
        temps.append(2 * kinetic / (3 * n - 3))
    put("lj.totals", torch.stack(totals))
    put("lj.temps", torch.stack(temps))
    put("lj.pos", pos)
    put("lj.force_sum", f.sum(0))
    # the virial pressure term by autograd of the energy under a uniform scaling
    scale = torch.tensor(1.0, dtype=D, requires_grad=True)
    (dedl,) = torch.autograd.grad(energy(pos * scale), scale)
    put("lj.virial", dedl)


def pendulum(x, u, dt=0.05):
    theta, omega = x[0], x[1]
    return torch.stack([theta + dt * omega, omega + dt * (-9.8 * torch.sin(theta) + u[0])])


def section_ilqr() -> None:
    steps = 25
    x0 = torch.tensor([math.pi - 0.4, 0.0], dtype=D)
    goal = torch.tensor([math.pi, 0.0], dtype=D)
    us = torch.zeros(steps, 1, dtype=D)

    def step_cost(x, u):
        return 0.1 * ((x - goal) ** 2).sum() + 0.01 * (u ** 2).sum()

    def final_cost(x):
        return 10.0 * ((x - goal) ** 2).sum()

    def rollout(us):
        xs = [x0]
        for u in us:
            xs.append(pendulum(xs[-1], u))
        return torch.stack(xs)

    def total(xs, us):
        return sum(step_cost(x, u) for x, u in zip(xs[:-1], us)) + final_cost(xs[-1])

    xs = rollout(us)
    costs = [total(xs, us).item()]
    reg = 1e-6
    for _ in range(4):
        vx = jacobian(final_cost, xs[-1])
        vxx = hessian(final_cost, xs[-1])
        ks, kk = [], []
        for t in range(steps - 1, -1, -1):
            fx, fu = jacobian(pendulum, (xs[t], us[t]))
            lx, lu = jacobian(step_cost, (xs[t], us[t]))
            (lxx, lxu), (_, luu) = hessian(step_cost, (xs[t], us[t]))
            qx, qu = lx + fx.T @ vx, lu + fu.T @ vx
            qxx = lxx + fx.T @ vxx @ fx
            quu = luu + fu.T @ vxx @ fu + reg * torch.eye(1, dtype=D)
            qux = lxu.T + fu.T @ vxx @ fx
            k = -torch.linalg.solve(quu, qu)
            big_k = -torch.linalg.solve(quu, qux)
            vx = qx + big_k.T @ quu @ k + big_k.T @ qu + qux.T @ k
            vxx = qxx + big_k.T @ quu @ big_k + big_k.T @ qux + qux.T @ big_k
            vxx = 0.5 * (vxx + vxx.T)
            ks.append(k)
            kk.append(big_k)
        ks, kk = ks[::-1], kk[::-1]
        for alpha in (1.0, 0.5, 0.25, 0.1):  # line search on the new rollout
            new_x = [x0]
            new_u = []
            for t in range(steps):
                u = us[t] + alpha * ks[t] + kk[t] @ (new_x[-1] - xs[t])
                new_u.append(u)
                new_x.append(pendulum(new_x[-1], u))
            new_x, new_u = torch.stack(new_x), torch.stack(new_u)
            if total(new_x, new_u) < costs[-1]:
                xs, us = new_x, new_u
                break
        costs.append(total(xs, us).item())
    put("ilqr.costs", torch.tensor(costs))
    put("ilqr.final", xs[-1])
    put("ilqr.us", us[:, 0])


def section_mpc() -> None:
    # receding-horizon control of a double integrator: each step optimizes the next 8 controls
    # by Adam through the differentiable rollout, applies the first, shifts the rest
    dt, horizon = 0.1, 8
    state = torch.tensor([1.0, 0.0], dtype=D)
    plan = torch.zeros(horizon, dtype=D)
    states, applied, costs = [], [], []
    for _ in range(6):
        u = plan.clone().requires_grad_(True)
        opt = torch.optim.Adam([u], lr=0.3)
        for _ in range(15):
            x, cost = state, 0.0
            for t in range(horizon):
                x = torch.stack([x[0] + dt * x[1], x[1] + dt * u[t].clamp(-2, 2)])
                cost = cost + x[0] ** 2 + 0.1 * x[1] ** 2 + 0.01 * u[t] ** 2
            opt.zero_grad()
            cost.backward()
            opt.step()
        costs.append(cost.item())
        first = u.detach()[0].clamp(-2, 2)
        state = torch.stack([state[0] + dt * state[1], state[1] + dt * first])
        states.append(state)
        applied.append(first)
        plan = torch.cat([u.detach()[1:], u.detach()[-1:]])
    put("mpc.states", torch.stack(states))
    put("mpc.controls", torch.stack(applied))
    put("mpc.costs", torch.tensor(costs, dtype=D))


def sliced_w2(a, b, projections):
    pa = (a @ projections).sort(0).values
    pb = (b @ projections).sort(0).values
    return ((pa - pb) ** 2).mean()


def section_sliced() -> None:
    g = torch.Generator().manual_seed(112)
    target = torch.cat([torch.randn(32, 2, generator=g) * 0.3 + torch.tensor([2.0, 0.0]),
                        torch.randn(32, 2, generator=g) * 0.3 - torch.tensor([2.0, 0.0])])
    points = torch.randn(64, 2, generator=g).requires_grad_(True)
    opt = torch.optim.SGD([points], lr=20.0)
    losses = []
    for _ in range(25):
        proj = F.normalize(torch.randn(2, 16, generator=g), dim=0)
        loss = sliced_w2(points, target, proj)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("sw.losses", torch.tensor(losses))
    put("sw.points", points)
    # 1-D Wasserstein-1 by sorted samples and by the CDFs (the same number)
    a, b = torch.randn(50, generator=g), torch.randn(50, generator=g) + 0.5
    put("sw.w1_sorted", (a.sort().values - b.sort().values).abs().mean())
    grid, _ = torch.cat([a, b]).sort()
    cdf_a = torch.searchsorted(a.sort().values, grid, right=True).float() / 50
    cdf_b = torch.searchsorted(b.sort().values, grid, right=True).float() / 50
    put("sw.w1_cdf", ((cdf_a - cdf_b).abs()[:-1] * grid.diff()).sum())


def soft_rank(x, tau):
    return 1 + torch.sigmoid((x[..., :, None] - x[..., None, :]) / tau).sum(-1) - 0.5


def neural_sort(s, tau):
    """NeuralSort's relaxed permutation matrix (descending) of scores ``s`` [B, n]."""
    n = s.shape[-1]
    a = (s[..., :, None] - s[..., None, :]).abs()
    b = a.sum(-1)  # [B, n]
    scaling = n + 1 - 2 * (torch.arange(n, dtype=s.dtype) + 1)
    c = scaling[:, None] * s[..., None, :] - b[..., None, :]
    return (c / tau).softmax(-1)


def section_soft_sort() -> None:
    g = torch.Generator().manual_seed(113)
    x = torch.randn(4, 7, generator=g)
    hard = x.argsort(-1).argsort(-1).float() + 1
    put("sort.soft_rank", soft_rank(x, 0.05))
    put("sort.rank_gap", (soft_rank(x, 0.01) - hard).abs().max())
    p = neural_sort(x, 0.1)
    put("sort.neural", p)
    put("sort.neural_sorted", p @ x[..., None])
    put("sort.neural_hard_match", (p.argmax(-1) == x.argsort(-1, descending=True)).all())
    # learn a linear scorer whose soft ranks match target ranks (Spearman loss)
    feats = torch.randn(5, 7, 3, generator=g)
    target = (feats @ torch.tensor([1.0, -1.0, 0.5])).argsort(-1).argsort(-1).float() + 1
    w = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    losses = []
    for _ in range(20):
        r = soft_rank(feats @ w, 0.3)
        loss = ((r - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("sort.losses", torch.tensor(losses))
    put("sort.w", w)


def gauss_legendre(n):
    k = torch.arange(1, n, dtype=D)
    beta = k / torch.sqrt(4 * k ** 2 - 1)
    jac = torch.diag(beta, 1) + torch.diag(beta, -1)
    nodes, vecs = torch.linalg.eigh(jac)
    return nodes, 2 * vecs[0] ** 2


def section_quadrature() -> None:
    x = torch.linspace(0, math.pi, 41, dtype=D)
    y = torch.sin(x)
    put("quad.trapz", torch.trapezoid(y, x))
    put("quad.trapz_dx", torch.trapezoid(y, dx=math.pi / 40))
    put("quad.cumtrapz", torch.cumulative_trapezoid(y, x))
    h = x[1] - x[0]
    put("quad.simpson", h / 3 * (y[0] + y[-1] + 4 * y[1:-1:2].sum() + 2 * y[2:-1:2].sum()))
    nodes, weights = gauss_legendre(6)
    put("quad.nodes", nodes)
    put("quad.weights", weights)
    # integrate exp(-a t^2) over [-1, 1] and its derivative in a through the quadrature
    a = torch.tensor(0.7, dtype=D, requires_grad=True)
    integral = (weights * torch.exp(-a * nodes ** 2)).sum()
    (da,) = torch.autograd.grad(integral, a)
    put("quad.gauss", integral)
    put("quad.gauss_da", da)
    put("quad.gauss_erf_gap", (integral - math.sqrt(math.pi / 0.7) * math.erf(math.sqrt(0.7)))
        .abs())
    # a 2-D integral over a grid: trapezoid along both dims
    u = torch.linspace(0, 1, 21, dtype=D)
    z = torch.exp(-(u[:, None] ** 2 + u[None, :] ** 2))
    put("quad.trapz2d", torch.trapezoid(torch.trapezoid(z, u, dim=1), u))


def section_implicit() -> None:
    g = torch.Generator().manual_seed(114)
    # vectorized Newton: roots of x^3 - c x - 1 from several starting points
    c = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=D)
    x = torch.full((4,), 2.0, dtype=D)
    for _ in range(12):
        x = x - (x ** 3 - c * x - 1) / (3 * x ** 2 - c)
    put("root.newton", x)
    # bisection on a monotone function, vectorized with where
    lo, hi = torch.zeros(4, dtype=D), torch.full((4,), 3.0, dtype=D)
    for _ in range(40):
        mid = (lo + hi) / 2
        up = mid ** 3 - c * mid - 1 > 0
        lo, hi = torch.where(up, lo, mid), torch.where(up, mid, hi)
    put("root.bisect_gap", ((lo + hi) / 2 - x).abs().max())
    # a fixed-point layer z = tanh(W z + U v), its gradient by the implicit function theorem
    n = 5
    w = (0.3 * torch.randn(n, n, generator=g, dtype=D)).requires_grad_(True)
    u = torch.randn(n, 3, generator=g, dtype=D, requires_grad=True)
    v = torch.randn(3, generator=g, dtype=D)
    f = lambda z: torch.tanh(w @ z + u @ v)  # noqa: E731
    with torch.no_grad():
        z = torch.zeros(n, dtype=D)
        for _ in range(100):
            z = f(z)
    z_star = z.requires_grad_(True)
    fz = f(z_star)
    loss_grad = 2 * (fz.detach() - 1)  # d/dz of ((z - 1) ** 2).sum()
    jac_z = jacobian(f, z_star.detach())
    adj = torch.linalg.solve((torch.eye(n, dtype=D) - jac_z).T, loss_grad)
    gw, gu = torch.autograd.grad(fz, (w, u), adj)
    put("root.z", z_star)
    put("root.implicit_gw", gw)
    put("root.implicit_gu", gu)
    # unrolled: 60 iterations with autograd through all of them
    z = torch.zeros(n, dtype=D)
    for _ in range(60):
        z = f(z)
    gw2, gu2 = torch.autograd.grad(((z - 1) ** 2).sum(), (w, u))
    put("root.unrolled_gap", torch.stack([(gw - gw2).abs().max(), (gu - gu2).abs().max()]))


def section_graph() -> None:
    g = torch.Generator().manual_seed(115)
    n = 12
    src = torch.randint(0, n, (30,), generator=g)
    dst = torch.randint(0, n, (30,), generator=g)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    adj = torch.sparse_coo_tensor(torch.stack([dst, src]), torch.ones(src.numel()), (n, n))
    adj = adj.coalesce()
    adj = torch.sparse_coo_tensor(adj.indices(), torch.ones_like(adj.values()), (n, n))
    adj = adj.coalesce()  # (built from a coalesced one's indices, still flagged uncoalesced)
    out_deg = torch.sparse.sum(adj, 0).to_dense()
    put("graph.out_deg", out_deg)
    idx = adj.indices()
    trans = torch.sparse_coo_tensor(idx, 1 / out_deg[idx[1]], (n, n))
    dangling = out_deg == 0
    rank = torch.full((n, 1), 1 / n)
    deltas = []
    for _ in range(50):
        new = 0.85 * (torch.sparse.mm(trans, rank) + rank[dangling].sum() / n) + 0.15 / n
        deltas.append((new - rank).abs().sum())
        rank = new
    put("graph.pagerank", rank[:, 0])
    put("graph.pr_sum", rank.sum())
    put("graph.pr_deltas", torch.stack(deltas[:10]))
    dense = trans.to_dense()
    put("graph.dense_gap", (dense @ rank - torch.sparse.mm(trans, rank)).abs().max())
    # label propagation: symmetric normalized adjacency, two labelled seeds per class
    sym = (adj + adj.t()).coalesce()
    sym = torch.sparse_coo_tensor(sym.indices(), torch.ones_like(sym.values()), (n, n))
    sym = sym.coalesce()
    deg = torch.sparse.sum(sym, 1).to_dense().clamp(min=1)
    si = sym.indices()
    norm = torch.sparse_coo_tensor(si, deg[si[0]].rsqrt() * deg[si[1]].rsqrt(), (n, n))
    seeds = torch.tensor([0, 1, 6, 7])
    seed_labels = torch.tensor([0, 0, 1, 1])
    y0 = torch.zeros(n, 2)
    y0[seeds, seed_labels] = 1
    f = y0.clone()
    for _ in range(30):
        f = 0.8 * torch.sparse.mm(norm, f) + 0.2 * y0
    put("graph.lp_scores", f)
    put("graph.lp_labels", f.argmax(1))


def section_warnings() -> None:
    # PyTorch is silent where products meet inf: nothing from NumPy may reach the program
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = torch.tensor([[math.inf, 1.0], [0.0, 1.0]])
        b = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
        put("warn.mm", a @ b)
        put("warn.linear", F.linear(a, b))
        put("warn.overflow", torch.full((2, 2), 3e38) @ torch.full((2, 2), 3e38))
        lin = torch.nn.Linear(2, 2)
        with torch.no_grad():
            lin.weight.fill_(0)
        x = a.clone().requires_grad_(True)
        lin(x).sum().backward()
        put("warn.grad", x.grad)
        put("warn.log0", torch.log(torch.zeros(2)))
        put("warn.div0", torch.tensor([1.0, 0.0]) / 0)
    put("warn.count", len([w for w in caught if "encountered" in str(w.message)]))


SECTIONS = {"nbody": section_nbody, "lennard_jones": section_lennard_jones,
            "ilqr": section_ilqr, "mpc": section_mpc, "sliced": section_sliced,
            "soft_sort": section_soft_sort,
            "quadrature": section_quadrature, "implicit": section_implicit,
            "graph": section_graph, "warnings": section_warnings}
