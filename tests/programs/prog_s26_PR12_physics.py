"""Physics and PDE programs as scientific code writes them (PR12, session 26): a PINN for the heat
equation (u_t and u_xx by autograd.grad with create_graph, initial and boundary losses, Adam then
L-BFGS with strong Wolfe), a PINN for 2-d Poisson with a hard boundary factor, a neural ODE
fitted through a hand-written RK4 loop, a Hamiltonian network integrated by leapfrog, a
Lagrangian pendulum from autograd.functional.hessian, the wave equation by a conv1d stencil,
a spectral Poisson solve with fftn / fftfreq, Crank-Nicolson heat steps by linalg.solve, 1-d
finite elements assembled with index_put_(accumulate=True), and implicit Euler on a stiff system
by Newton with autograd.functional.jacobian. Tiny sizes, seeded; run by prog_s26_PR12_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import math

import torch
import torch.nn as nn
from prog_s25_PR9_harness import printed, put


def _mlp(sizes, act=nn.Tanh):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1])


def section_pinn_heat() -> None:
    torch.manual_seed(3)
    kappa = 0.1
    net = _mlp([2, 16, 16, 1])
    x_r = torch.rand(64, 1)
    t_r = torch.rand(64, 1)
    x_0 = torch.linspace(0, 1, 21).unsqueeze(1)
    u_0 = torch.sin(math.pi * x_0)
    t_b = torch.linspace(0, 1, 11).unsqueeze(1)

    def residual():
        x = x_r.clone().requires_grad_(True)
        t = t_r.clone().requires_grad_(True)
        u = net(torch.cat([x, t], dim=1))
        u_x, u_t = torch.autograd.grad(u, (x, t), torch.ones_like(u), create_graph=True)
        u_xx = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)[0]
        return u_t - kappa * u_xx

    def loss_fn():
        f = residual()
        ic = net(torch.cat([x_0, torch.zeros_like(x_0)], 1)) - u_0
        bc = torch.cat([net(torch.cat([torch.zeros_like(t_b), t_b], 1)),
                        net(torch.cat([torch.ones_like(t_b), t_b], 1))])
        return f.pow(2).mean() + ic.pow(2).mean() + bc.pow(2).mean()

    losses = []
    with printed("pheat.log"):
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for step in range(30):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 10 == 0:
                print(f"adam {step:3d} loss {loss.item():.3e}")
        lbfgs = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=6,
                                  line_search_fn="strong_wolfe", history_size=10)

        def closure():
            lbfgs.zero_grad()
            value = loss_fn()
            value.backward()
            return value

        for it in range(2):
            value = lbfgs.step(closure)
            losses.append(value.item())
        print("lbfgs done, iterations", lbfgs.state[lbfgs._params[0]]["n_iter"])
        print("final loss below adam:", losses[-1] < losses[29])
        with torch.no_grad():
            xs = torch.linspace(0, 1, 5).unsqueeze(1)
            u = net(torch.cat([xs, torch.full_like(xs, 0.5)], 1))
        print("u(x, 0.5) shape", tuple(u.shape))
    put("pheat.losses", torch.tensor(losses))
    put("pheat.u", u)


def section_pinn_poisson() -> None:
    torch.manual_seed(5)
    torch.set_default_dtype(torch.float64)
    try:
        net = _mlp([2, 12, 12, 1])
        pts = torch.rand(80, 2, requires_grad=True)

        def u_of(p):
            x, y = p[:, :1], p[:, 1:]
            return x * (1 - x) * y * (1 - y) * net(p)

        def source(p):
            return 2 * math.pi ** 2 * torch.sin(math.pi * p[:, :1]) * torch.sin(math.pi * p[:, 1:])

        opt = torch.optim.Adam(net.parameters(), lr=5e-3)
        with printed("ppois.log"):
            for step in range(25):
                opt.zero_grad()
                u = u_of(pts)
                grad_u = torch.autograd.grad(u.sum(), pts, create_graph=True)[0]
                lap = 0
                for d in range(2):
                    lap = lap + torch.autograd.grad(grad_u[:, d].sum(), pts,
                                                    create_graph=True)[0][:, d:d + 1]
                loss = (-lap - source(pts)).pow(2).mean()
                loss.backward()
                opt.step()
                if step % 8 == 0:
                    print(f"step {step} residual {loss.item():.4f} dtype {loss.dtype}")
            grid = torch.stack(torch.meshgrid(torch.linspace(0, 1, 5), torch.linspace(0, 1, 5),
                                              indexing="ij"), -1).reshape(-1, 2)
            with torch.no_grad():
                pred = u_of(grid).reshape(5, 5)
            print("boundary zero:", bool(pred[0].abs().max() == 0),
                  bool(pred[:, -1].abs().max() == 0))
            put("ppois.pred", pred)
    finally:
        torch.set_default_dtype(torch.float32)


def _rk4(f, y, t0, t1, steps):
    h = (t1 - t0) / steps
    t = t0
    ys = [y]
    for _ in range(steps):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + h
        ys.append(y)
    return torch.stack(ys)


def section_neural_ode() -> None:
    torch.manual_seed(7)
    true_a = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
    y0 = torch.tensor([[2.0, 0.0]])
    with torch.no_grad():
        true_y = _rk4(lambda t, y: (y ** 3) @ true_a, y0, 0.0, 1.0, 20)

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 20), nn.Tanh(), nn.Linear(20, 2))
            for m in self.net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, mean=0, std=0.1)
                    nn.init.constant_(m.bias, val=0)
            self.nfe = 0

        def forward(self, t, y):
            self.nfe += 1
            return self.net(y ** 3)

    func = ODEFunc()
    opt = torch.optim.RMSprop(func.parameters(), lr=1e-3)
    with printed("node.log"):
        for itr in range(1, 13):
            opt.zero_grad()
            pred_y = _rk4(func, y0, 0.0, 1.0, 20)
            loss = torch.mean(torch.abs(pred_y - true_y))
            loss.backward()
            opt.step()
            if itr % 4 == 0:
                print(f"Iter {itr:04d} | Total Loss {loss.item():.6f} | NFE {func.nfe}")
        print("trajectory", tuple(pred_y.shape))
    put("node.final", pred_y[-1])


def section_hamiltonian() -> None:
    torch.manual_seed(11)
    q = torch.linspace(-1, 1, 40)
    p = torch.flip(torch.linspace(-1, 1, 40), [0]) * 0.7
    coords = torch.stack([q, p], 1)
    dq, dp = p, -q  # spring: H = (q^2 + p^2) / 2
    target = torch.stack([dq, dp], 1)
    net = _mlp([2, 32, 1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)

    def time_derivative(x):
        x = x.requires_grad_(True) if not x.requires_grad else x
        h = net(x)
        dh = torch.autograd.grad(h.sum(), x, create_graph=True)[0]
        return torch.cat([dh[:, 1:], -dh[:, :1]], 1)

    with printed("hnn.log"):
        for step in range(40):
            opt.zero_grad()
            loss = (time_derivative(coords.clone()) - target).pow(2).mean()
            loss.backward()
            opt.step()
            if step % 10 == 9:
                print(f"step {step + 1} loss {loss.item():.5f}")
        state = torch.tensor([[1.0, 0.0]])
        dt = 0.1
        energies = []
        for _ in range(20):  # leapfrog with the learned field
            qp = state.clone().requires_grad_(True)
            d = time_derivative(qp).detach()
            half = state + 0.5 * dt * d
            d2 = time_derivative(half.clone()).detach()
            state = state + dt * d2
            energies.append(0.5 * state.pow(2).sum().item())
        print(f"energy start {energies[0]:.3f} end {energies[-1]:.3f}")
    put("hnn.energies", torch.tensor(energies))


def section_lagrangian() -> None:
    g, length = 9.81, 1.0

    def lagrangian(qv):
        q, v = qv[0], qv[1]
        return 0.5 * length ** 2 * v ** 2 + g * length * torch.cos(q)

    state = torch.tensor([0.8, 0.0], dtype=torch.float64)
    dt = 0.01
    traj = []
    with printed("lagr.log"):
        for step in range(60):
            hess = torch.autograd.functional.hessian(lagrangian, state)
            grad = torch.autograd.functional.jacobian(lagrangian, state)
            # Euler-Lagrange: v_dot = (d2L/dv2)^-1 (dL/dq - d2L/(dv dq) v)
            acc = (grad[0] - hess[1, 0] * state[1]) / hess[1, 1]
            state = state + dt * torch.stack([state[1], acc])
            traj.append(state)
            if step % 20 == 0:
                print(f"t={step * dt:.2f} q={state[0].item():+.5f} v={state[1].item():+.5f}")
        traj = torch.stack(traj)
        print("max |q|", round(traj[:, 0].abs().max().item(), 4))
        print("hessian", hess)
    put("lagr.traj", traj)


def section_wave_stencil() -> None:
    n, c, dx, dt = 64, 1.0, 1.0 / 63, 0.5 / 63
    x = torch.linspace(0, 1, n, dtype=torch.float64)
    u_prev = torch.exp(-200 * (x - 0.5) ** 2)
    u = u_prev.clone()
    stencil = torch.tensor([[[1.0, -2.0, 1.0]]], dtype=torch.float64)
    r2 = (c * dt / dx) ** 2
    with printed("wave.log"):
        for step in range(80):
            lap = torch.nn.functional.conv1d(u.view(1, 1, -1), stencil, padding=1).view(-1)
            u_next = 2 * u - u_prev + r2 * lap
            u_next[0] = u_next[-1] = 0.0
            u_prev, u = u, u_next
            if step % 20 == 19:
                print(f"step {step + 1}: max {u.max().item():.4f} at x={x[u.argmax()].item():.3f}")
        du = torch.diff(u) / dx
        grad_u = torch.gradient(u, spacing=dx)[0]
        grad2 = torch.gradient(u, spacing=(x,), edge_order=2)[0]
        print("diff", du.shape, "gradient", grad_u.shape, grad2.dtype)
        energy = 0.5 * ((u - u_prev) / dt).pow(2).sum() * dx + 0.5 * c ** 2 * du.pow(2).sum() * dx
        print(f"energy {energy.item():.4f}")
        print("zero crossings", int((torch.sign(u[1:]) != torch.sign(u[:-1])).sum()))
    put("wave.u", u)
    put("wave.grad", [grad_u, grad2])


def section_spectral_poisson() -> None:
    n = 32
    L = 2 * math.pi
    x = torch.arange(n, dtype=torch.float64) * L / n
    X, Y = torch.meshgrid(x, x, indexing="ij")
    u_exact = torch.sin(X) * torch.cos(2 * Y)
    f = -5 * u_exact  # laplacian of u
    k = torch.fft.fftfreq(n, d=L / n) * 2 * math.pi
    KX, KY = torch.meshgrid(k, k, indexing="ij")
    k2 = KX ** 2 + KY ** 2
    k2[0, 0] = 1.0
    f_hat = torch.fft.fftn(f)
    u_hat = -f_hat / k2
    u_hat[0, 0] = 0
    u = torch.fft.ifftn(u_hat).real
    with printed("spec.log"):
        print("fftfreq", torch.fft.fftfreq(8))
        print("rfftfreq", torch.fft.rfftfreq(8, d=0.5))
        print("max error below 1e-12:", bool((u - u_exact).abs().max() < 1e-12))
        print("u_hat dtype", u_hat.dtype, "shift", torch.fft.fftshift(torch.arange(6)))
        # derivative by rfft
        y = torch.sin(3 * x)
        ik = 1j * torch.fft.rfftfreq(n, d=L / n) * 2 * math.pi
        dy = torch.fft.irfft(ik * torch.fft.rfft(y), n=n)
        print(f"spectral derivative error {(dy - 3 * torch.cos(3 * x)).abs().max().item() < 1e-10}")
        # low-pass filter of a noisy signal
        g = torch.Generator().manual_seed(0)
        noisy = torch.sin(x) + 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
        spec = torch.fft.rfft(noisy)
        spec[4:] = 0
        smooth = torch.fft.irfft(spec, n=n)
        print(f"filtered rms to sin {(smooth - torch.sin(x)).pow(2).mean().sqrt().item():.4f}")
    put("spec.u", u)
    put("spec.smooth", smooth)


def section_crank_nicolson() -> None:
    n = 20
    dx = 1.0 / (n + 1)
    dt = 0.01
    r = dt / (2 * dx * dx)
    main = torch.full((n,), 1 + 2 * r, dtype=torch.float64)
    off = torch.full((n - 1,), -r, dtype=torch.float64)
    A = torch.diag_embed(main) + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
    B = (torch.diag(torch.full((n,), 1 - 2 * r, dtype=torch.float64)) + torch.diag(-off, 1)
         + torch.diag(-off, -1))
    x = torch.arange(1, n + 1, dtype=torch.float64) * dx
    u = torch.sin(math.pi * x)
    lu, piv = torch.linalg.lu_factor(A)
    with printed("cn.log"):
        for step in range(10):
            rhs = B @ u
            u_solve = torch.linalg.solve(A, rhs)
            u = torch.linalg.lu_solve(lu, piv, rhs.unsqueeze(1)).squeeze(1)
            if step == 0:
                print("solve == lu_solve:", torch.allclose(u, u_solve))
        exact = math.exp(-math.pi ** 2 * 0.1) * torch.sin(math.pi * x)
        print(f"max error {(u - exact).abs().max().item():.3e}")
        print("A banded:", torch.count_nonzero(A).item(),
              "cond", round(torch.linalg.cond(A).item(), 3))
    put("cn.u", u)


def section_fem_1d() -> None:
    n_el = 8
    nodes = torch.linspace(0, 1, n_el + 1, dtype=torch.float64)
    K = torch.zeros(n_el + 1, n_el + 1, dtype=torch.float64)
    F = torch.zeros(n_el + 1, dtype=torch.float64)
    conn = torch.stack([torch.arange(n_el), torch.arange(1, n_el + 1)], 1)
    h = nodes[conn[:, 1]] - nodes[conn[:, 0]]
    ke = torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64) / h.view(-1, 1, 1)
    fe = (h / 2).view(-1, 1).expand(-1, 2)  # f = 1
    rows = conn.unsqueeze(2).expand(-1, 2, 2)
    cols = conn.unsqueeze(1).expand(-1, 2, 2)
    K.index_put_((rows.reshape(-1), cols.reshape(-1)), ke.reshape(-1), accumulate=True)
    F.index_add_(0, conn.reshape(-1), fe.reshape(-1))
    free = torch.arange(1, n_el)
    u = torch.zeros(n_el + 1, dtype=torch.float64)
    u[free] = torch.linalg.solve(K[free][:, free], F[free])
    exact = nodes * (1 - nodes) / 2
    with printed("fem.log"):
        print("K row sums", K.sum(1))
        print("nodal error", f"{(u - exact).abs().max().item():.2e}")
        print("u", u)
    put("fem.u", u)


def section_stiff_implicit() -> None:
    def rhs(y):  # Robertson-like stiff chemistry, scaled
        return torch.stack([-0.04 * y[0] + 1e2 * y[1] * y[2],
                            0.04 * y[0] - 1e2 * y[1] * y[2] - 30.0 * y[1] ** 2,
                            30.0 * y[1] ** 2])

    y = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    h = 0.5
    with printed("stiff.log"):
        for step in range(8):
            z = y.clone()
            for newton in range(10):
                g = z - y - h * rhs(z)
                jac = torch.autograd.functional.jacobian(rhs, z)
                J = torch.eye(3, dtype=torch.float64) - h * jac
                delta = torch.linalg.solve(J, -g)
                z = z + delta
                if delta.norm() < 1e-12:
                    break
            y = z
            rounded = [round(v, 6) for v in y.tolist()]
            print(f"t={h * (step + 1):.1f} y={rounded} newton={newton + 1}")
        print(f"mass {y.sum().item():.12f}")
    put("stiff.y", y)


SECTIONS = {
    "pinn_heat": section_pinn_heat, "pinn_poisson": section_pinn_poisson,
    "neural_ode": section_neural_ode, "hamiltonian": section_hamiltonian,
    "lagrangian": section_lagrangian, "wave_stencil": section_wave_stencil,
    "spectral_poisson": section_spectral_poisson, "crank_nicolson": section_crank_nicolson,
    "fem_1d": section_fem_1d, "stiff_implicit": section_stiff_implicit,
}
