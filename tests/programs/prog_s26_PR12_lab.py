"""Laboratory programs (PR12, session 26): a 1-d Schrodinger equation by finite differences
(eigvalsh energies, complex matrix_exp time evolution), a few-qubit state-vector simulator
(complex kron, gates, measurement probabilities, expectation values by einsum), an ensemble of
small networks for uncertainty by torch.func (stack_module_state, functional_call, vmap),
gradients of linear-algebra results for sensitivity analysis (eigvalsh, det, slogdet, cholesky,
solve, lstsq, svdvals, pinv, norms), second-order autograd (jacobian with create_graph,
hessian strategies, forward-mode jacobians), a radial distribution function (pdist, histc,
nan-reductions, weighted bincount, histogramdd), index gymnastics of physics (einsum with the
Levi-Civita symbol, tensordot, tensorsolve), Nelder-Mead by argsort, and Laplace's equation by
Jacobi sweeps of conv2d with fixed boundaries. Tiny sizes, seeded; run by prog_s26_PR12_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import copy
import itertools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_schrodinger() -> None:
    n, L = 120, 10.0
    x = torch.linspace(-L / 2, L / 2, n, dtype=torch.float64)
    dx = (x[1] - x[0]).item()
    V = 0.5 * x ** 2
    off = torch.ones(n - 1, dtype=torch.float64)
    H = (torch.diag(1 / dx ** 2 + V) - 0.5 / dx ** 2 * torch.diag(off, 1)
         - 0.5 / dx ** 2 * torch.diag(off, -1))
    with printed("qm.log"):
        E = torch.linalg.eigvalsh(H)
        print("lowest energies", E[:4].numpy().round(4).tolist())
        evals, evecs = torch.linalg.eigh(H)
        ground = evecs[:, 0] * torch.sign(evecs[n // 2, 0])
        print(f"ground density at 0: {(ground[n // 2] ** 2 / dx).item():.4f}")
        psi0 = torch.exp(-(x - 1.0) ** 2).to(torch.complex128)
        psi0 = psi0 / torch.sqrt((psi0.abs() ** 2).sum() * dx)
        U = torch.linalg.matrix_exp(-1j * 0.1 * H.to(torch.complex128))
        phases = torch.exp(-1j * 0.1 * evals.to(torch.complex128))
        V = evecs.to(torch.complex128)
        print("eigenbasis agrees:", torch.allclose(U, V @ torch.diag(phases) @ V.T))
        print("unitary:", torch.allclose(U @ U.conj().T, torch.eye(n, dtype=torch.complex128)))
        psi = psi0
        for step in range(10):
            psi = U @ psi
            if step % 3 == 0:
                mean_x = ((psi.abs() ** 2) * x).sum() * dx
                print(f"t={0.1 * (step + 1):.1f} <x>={mean_x.item():+.4f} "
                      f"norm={((psi.abs() ** 2).sum() * dx).item():.6f}")
        energy = (psi.conj() @ (H.to(torch.complex128) @ psi)).real * dx
        print(f"energy conserved: {energy.item():.5f}", psi.dtype)
    put("qm.E", E[:6])


def section_qubits() -> None:
    c = torch.complex128
    I2 = torch.eye(2, dtype=c)
    X = torch.tensor([[0, 1], [1, 0]], dtype=c)
    Z = torch.tensor([[1, 0], [0, -1]], dtype=c)
    Hd = torch.tensor([[1, 1], [1, -1]], dtype=c) / math.sqrt(2)
    CNOT = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=c)

    def ry(theta):
        ct, st = torch.cos(theta / 2), torch.sin(theta / 2)
        return torch.stack([torch.stack([ct, -st]), torch.stack([st, ct])]).to(c)

    with printed("qubit.log"):
        state = torch.zeros(4, dtype=c)
        state[0] = 1
        state = torch.kron(Hd, I2) @ state
        state = CNOT @ state
        probs = state.abs() ** 2
        print("bell probabilities", probs.numpy().round(4).tolist())
        ZZ = torch.kron(Z, Z)
        print("<ZZ>", round(torch.vdot(state, ZZ @ state).real.item(), 10))
        rho = torch.outer(state, state.conj())
        rho_a = torch.einsum("ijkj->ik", rho.view(2, 2, 2, 2))
        evals = torch.linalg.eigvalsh(rho_a)
        entropy = -(evals * torch.log2(evals.clamp_min(1e-12))).sum()
        purity = torch.trace(rho_a @ rho_a).real
        print(f"entanglement entropy {entropy.item():.4f} purity {purity.item():.6f}")
        # variational circuit: minimise <X⊗X + Z⊗I> over two angles
        theta = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
        obs = torch.kron(X, X) + torch.kron(Z, I2)
        opt = torch.optim.SGD([theta], lr=0.2)
        for step in range(40):
            psi = torch.zeros(4, dtype=c)
            psi[0] = 1
            psi = CNOT @ (torch.kron(ry(theta[0]), ry(theta[1])) @ psi)
            energy = torch.vdot(psi, obs @ psi).real
            opt.zero_grad()
            energy.backward()
            opt.step()
            if step % 10 == 0:
                print(f"vqe step {step} energy {energy.item():.5f}")
        print("exact ground", round(torch.linalg.eigvalsh(obs).min().item(), 5))
        shots = torch.multinomial(probs.real.float(), 100, replacement=True,
                                  generator=torch.Generator().manual_seed(1))
        print("counts", torch.bincount(shots, minlength=4).tolist())
    put("qubit.theta", theta)


def section_ensemble() -> None:
    from torch.func import functional_call, stack_module_state, vmap

    torch.manual_seed(50)
    x = torch.linspace(-2, 2, 40).unsqueeze(1)
    y = torch.sin(2 * x) + 0.1 * torch.randn_like(x)
    models = [nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)) for _ in range(4)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def run(p, b, inp):
        return functional_call(base, (p, b), (inp,))

    opt = torch.optim.Adam(params.values(), lr=0.02)
    with printed("ens.log"):
        print("stacked", {k: tuple(v.shape) for k, v in params.items()})
        for step in range(60):
            preds = vmap(run, in_dims=(0, 0, None))(params, buffers, x)
            loss = (preds - y).pow(2).mean(dim=(1, 2)).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 20 == 0:
                print(f"step {step} summed loss {loss.item():.4f}")
        xt = torch.tensor([[0.0], [3.0]])
        with torch.no_grad():
            out = vmap(run, in_dims=(0, 0, None))(params, buffers, xt)
        print("mean", out.mean(0).view(-1).numpy().round(3).tolist(),
              "spread grows off-data:", bool(out.std(0)[1] > out.std(0)[0]))
    put("ens.out", out)


def section_sensitivity() -> None:
    g = torch.Generator().manual_seed(51)
    M = torch.randn(4, 4, generator=g, dtype=torch.float64)
    S = (M @ M.T + 4 * torch.eye(4, dtype=torch.float64)).requires_grad_(True)
    b = torch.randn(4, 2, generator=g, dtype=torch.float64)
    A = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    results = {}
    with printed("sens.log"):
        for name, fn in (
                ("eigvalsh", lambda: torch.linalg.eigvalsh(S)[-1]),
                ("det", lambda: torch.linalg.det(S)),
                ("slogdet", lambda: torch.linalg.slogdet(S)[1]),
                ("cholesky", lambda: torch.linalg.cholesky(S).diagonal().log().sum()),
                ("solve", lambda: torch.linalg.solve(S, b).pow(2).sum()),
                ("inv", lambda: torch.linalg.inv(S).trace()),
                ("lstsq", lambda: torch.linalg.lstsq(A, b[:, :1].repeat(2, 1)[:6]).solution.sum()),
                ("svdvals", lambda: torch.linalg.svdvals(A).sum()),
                ("pinv", lambda: torch.linalg.pinv(A).pow(2).sum()),
                ("nuc", lambda: torch.linalg.matrix_norm(A, "nuc")),
                ("spectral", lambda: torch.linalg.matrix_norm(A, 2)),
                ("qr", lambda: torch.linalg.qr(A).R.diagonal().abs().sum()),
                ("logdet", lambda: torch.logdet(S)),
                ("eigh-vec", lambda: torch.linalg.eigh(S).eigenvectors[:, -1].abs().sum())):
            S.grad = A.grad = None
            value = fn()
            value.backward()
            grad = S.grad if S.grad is not None else A.grad
            results[name] = grad
            print(f"{name:9s} value {value.item():+.6f} |grad| {grad.norm().item():.6f} "
                  f"{type(value.grad_fn).__name__ if value.grad_fn else None}")
        print("logdet == slogdet grad:", torch.allclose(results["logdet"], results["slogdet"]))
        inverse = torch.linalg.inv(S.detach())
        print("dlogdet/dS == inv(S):", torch.allclose(results["slogdet"], inverse))
    put("sens.grads", list(results.values()))


def section_second_order() -> None:
    F_ = torch.autograd.functional

    def f(x):
        return torch.stack([x[0] ** 2 * x[1], torch.sin(x[1]) * x[2], x.exp().sum()])

    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    # (warnings not recorded: PyTorch's first forward-mode call imports its jvp decompositions,
    # which call the deprecated torch.jit.script: an import-time notice of its internals)
    with printed("so.log", warnings_too=False):
        J_rev = F_.jacobian(f, x)
        J_fwd = F_.jacobian(f, x, vectorize=True, strategy="forward-mode")
        print("forward == reverse:", torch.allclose(J_rev, J_fwd))
        J = F_.jacobian(f, x, create_graph=True)
        logdet = torch.logdet(J @ J.T + torch.eye(3, dtype=torch.float64))
        (gx,) = torch.autograd.grad(logdet, x)
        print("grad of logdet(J J^T + I)", gx.numpy().round(5).tolist())

        def scalar(z):
            return (z[0] * z[1] - z[2]) ** 2 + z.pow(3).sum()

        H1 = F_.hessian(scalar, x.detach())
        H2 = F_.hessian(scalar, x.detach(), vectorize=True, outer_jacobian_strategy="forward-mode")
        print("hessian", H1.numpy().round(4).tolist(), "strategies agree:", torch.allclose(H1, H2))
        y = x.detach().clone().requires_grad_(True)
        g1 = torch.autograd.grad(scalar(y), y, create_graph=True)[0]
        rows = [torch.autograd.grad(g1[i], y, retain_graph=True)[0] for i in range(3)]
        print("row-wise == hessian:", torch.allclose(torch.stack(rows), H1))
        u = torch.ones(3, dtype=torch.float64)
        (hvp,) = torch.autograd.grad(g1, y, grad_outputs=u)
        print("hvp", hvp.numpy().round(4).tolist())
        z = torch.tensor(1.0, requires_grad=True)
        w = torch.tensor(2.0, requires_grad=True)
        out = torch.autograd.grad(z * 3, [z, w], allow_unused=True, materialize_grads=True)
        print("materialised", out)
    put("so.H", H1)


def section_rdf() -> None:
    g = torch.Generator().manual_seed(52)
    box = 5.0
    pos = torch.rand(60, 3, generator=g, dtype=torch.float64) * box
    with printed("rdf.log"):
        d = F.pdist(pos)
        print("pairs", d.numel(), f"min {d.min().item():.4f}")
        diff = pos.unsqueeze(0) - pos.unsqueeze(1)
        diff = diff - box * torch.round(diff / box)
        dist = diff.norm(dim=-1)
        iu = torch.triu_indices(60, 60, offset=1)
        r = dist[iu[0], iu[1]]
        hist = torch.histc(r, bins=10, min=0.0, max=2.5)
        edges = torch.linspace(0, 2.5, 11, dtype=torch.float64)
        shell = 4 / 3 * math.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        rho = 60 / box ** 3
        gr = hist / (shell * rho * 60 / 2)
        print("g(r)", gr.numpy().round(3).tolist())
        vals = torch.tensor([1.0, float("nan"), 3.0, float("nan"), 5.0])
        print("nan reductions", torch.nanmean(vals).item(), torch.nansum(vals).item(),
              torch.nanmedian(vals).item(), torch.nan_to_num(vals, nan=-1.0).tolist())
        species = torch.randint(0, 3, (60,), generator=g)
        masses = torch.tensor([1.0, 12.0, 16.0], dtype=torch.float64)[species]
        print("mass per species", torch.bincount(species, weights=masses, minlength=3).tolist())
        com = (masses.unsqueeze(1) * pos).sum(0) / masses.sum()
        print("centre of mass", com.numpy().round(4).tolist())
        h, e = torch.histogramdd(pos[:, :2].float(), bins=[2, 3], range=[0.0, 5.0, 0.0, 5.0])
        print("histogramdd", h.tolist(), [t.shape for t in e])
    put("rdf.gr", gr)


def section_einsum_physics() -> None:
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, j, k in itertools.permutations(range(3)):
        eps[i, j, k] = torch.linalg.det(torch.eye(3, dtype=torch.float64)[[i, j, k]])
    g = torch.Generator().manual_seed(53)
    a = torch.randn(5, 3, generator=g, dtype=torch.float64)
    b = torch.randn(5, 3, generator=g, dtype=torch.float64)
    with printed("ein.log"):
        cross = torch.einsum("ijk,nj,nk->ni", eps, a, b)
        print("cross agrees:", torch.allclose(cross, torch.linalg.cross(a, b)))
        inertia = torch.einsum("n,ij->ij", (a ** 2).sum(1), torch.eye(3, dtype=torch.float64)) \
            - torch.einsum("ni,nj->ij", a, a)
        print("inertia tensor", inertia.numpy().round(4).tolist())
        stress = torch.randn(3, 3, generator=g, dtype=torch.float64)
        stress = stress + stress.T
        normal = torch.tensor([0.0, 0.6, 0.8], dtype=torch.float64)
        traction = torch.tensordot(stress, normal, dims=([1], [0]))
        print("traction", traction.numpy().round(4).tolist(),
              "normal stress", round(torch.dot(traction, normal).item(), 4))
        T4 = torch.randn(2, 3, 6, generator=g, dtype=torch.float64)
        rhs = torch.randn(2, 3, generator=g, dtype=torch.float64)
        sol = torch.linalg.tensorsolve(T4, rhs)
        print("tensorsolve", sol.shape, torch.allclose(torch.tensordot(T4, sol, dims=1), rhs))
        Tinv = torch.linalg.tensorinv(torch.randn(6, 2, 3, generator=g, dtype=torch.float64), ind=1)
        print("tensorinv", Tinv.shape)
        batched = torch.einsum("bii->b", torch.randn(4, 3, 3, generator=g))
        bilinear = torch.einsum("i,ij,j->", normal, stress, normal)
        print("traces", batched.shape,
              "bilinear", torch.allclose(bilinear, torch.dot(traction, normal)))
    put("ein.inertia", inertia)


def section_nelder_mead() -> None:
    def f(p):
        return (1 - p[..., 0]) ** 2 + 100 * (p[..., 1] - p[..., 0] ** 2) ** 2

    simplex = torch.tensor([[-1.2, 1.0], [-1.0, 1.0], [-1.2, 1.2]], dtype=torch.float64)
    with printed("nm.log"):
        for it in range(200):
            values = f(simplex)
            order = torch.argsort(values)
            simplex = simplex[order]
            values = values[order]
            centroid = simplex[:-1].mean(0)
            worst = simplex[-1]
            refl = centroid + (centroid - worst)
            if f(refl) < values[0]:
                exp = centroid + 2 * (centroid - worst)
                simplex[-1] = exp if f(exp) < f(refl) else refl
            elif f(refl) < values[-2]:
                simplex[-1] = refl
            else:
                contr = centroid + 0.5 * (worst - centroid)
                if f(contr) < values[-1]:
                    simplex[-1] = contr
                else:
                    simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
            if it % 50 == 49:
                print(f"iter {it + 1} best {f(simplex).min().item():.3e}")
        best = simplex[f(simplex).argmin()]
        print("minimum", best.numpy().round(4).tolist())
    put("nm.best", best)


def section_laplace() -> None:
    n = 20
    u = torch.zeros(1, 1, n, n, dtype=torch.float64)
    u[..., 0, :] = 1.0  # hot top edge
    mask = torch.zeros_like(u, dtype=torch.bool)
    mask[..., 1:-1, 1:-1] = True
    kernel = torch.tensor([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]],
                          dtype=torch.float64).view(1, 1, 3, 3)
    with printed("lap.log"):
        for sweep in range(400):
            avg = F.conv2d(u, kernel, padding=1)
            new = torch.where(mask, avg, u)
            change = (new - u).abs().max()
            u = new
            if sweep % 100 == 99:
                print(f"sweep {sweep + 1} max change {change.item():.3e}")
        centre = u[0, 0, n // 2, n // 2].item()
        print(f"centre {centre:.4f}", "symmetric:", torch.allclose(u, u.flip(-1)))
        residual = (F.conv2d(u, kernel, padding=1) - u)[mask]
        print(f"residual {residual.abs().max().item():.2e}")
        flux = (u[0, 0, 0, 1:-1] - u[0, 0, 1, 1:-1]).sum()
        print(f"flux through top {flux.item():.4f}")
    put("lap.u", u)


SECTIONS = {
    "schrodinger": section_schrodinger, "qubits": section_qubits, "ensemble": section_ensemble,
    "sensitivity": section_sensitivity, "second_order": section_second_order,
    "rdf": section_rdf, "einsum_physics": section_einsum_physics,
    "nelder_mead": section_nelder_mead, "laplace": section_laplace,
}
