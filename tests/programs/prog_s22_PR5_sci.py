"""Scientific-computing programs, afresh (PR5, session 22): a soft-DTW loss by dynamic
programming (logsumexp and logaddexp soft minima) aligning a time series; t-SNE with a per-point
perplexity search and early exaggeration; dynamic mode decomposition (SVD, non-symmetric
linalg.eig, modes sorted by frequency); SINDy's sequentially thresholded least squares on a
Lorenz trajectory integrated by RK4; Kuramoto oscillators whose coupling is fitted through the
complex order parameter; an echo state network (spectral radius by eigvals, ridge readout by
linalg.solve, free-running generation); and a gridworld solved by value iteration, policy
iteration (linalg.solve), tabular Q-learning and TD(lambda). Tiny sizes; float64 where an
iteration would amplify float32 rounding; run by prog_s22_PR5_all.py.
"""

import math

import torch
from prog_s17_PG_harness import put


def soft_dtw(x, y, gamma, use_logaddexp=False):
    cost = torch.cdist(x, y) ** 2
    batch, n, m = cost.shape
    inf = torch.full((batch,), math.inf, dtype=x.dtype)
    table = [[inf] * (m + 1) for _ in range(n + 1)]
    table[0][0] = torch.zeros(batch, dtype=x.dtype)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a, b, c = table[i - 1][j - 1], table[i - 1][j], table[i][j - 1]
            if use_logaddexp:
                soft = -gamma * torch.logaddexp(torch.logaddexp(-a / gamma, -b / gamma),
                                                -c / gamma)
            else:
                soft = -gamma * torch.logsumexp(-torch.stack([a, b, c], -1) / gamma, -1)
            table[i][j] = cost[:, i - 1, j - 1] + soft
    return table[n][m]


def section_soft_dtw() -> None:
    t = torch.linspace(0, 2 * math.pi, 12)
    target = torch.stack([torch.sin(t + 0.5 * k) for k in range(3)])[..., None]
    # (not started at zero: the first series would equal its target, and Adam would scale a
    # rounding-noise gradient of ~1e-8, comparable to its eps, into a full step)
    shift = torch.full((3, 1), 0.3, requires_grad=True)
    scale = torch.ones(3, 1, requires_grad=True)
    optimizer = torch.optim.Adam([shift, scale], lr=0.1)
    losses = []
    for step in range(6):
        source = (scale * torch.sin(t + shift))[..., None]
        loss = soft_dtw(source, target, gamma=0.1).mean()
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            put("sdtw.grad_shift", shift.grad)
        optimizer.step()
        losses.append(loss.item())
    put("sdtw.losses", losses)
    put("sdtw.shift", shift)
    put("sdtw.scale", scale)
    x = torch.randn(2, 7, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 5, 2, dtype=torch.float64)
    by_lse = soft_dtw(x, y, 0.5)
    by_lae = soft_dtw(x, y, 0.5, use_logaddexp=True)
    put("sdtw.values", [by_lse, by_lae])
    put("sdtw.grad_x", torch.autograd.grad(by_lae.sum(), x)[0])
    # as gamma falls, soft-DTW approaches the hard DTW cost from below
    put("sdtw.gammas", torch.stack([soft_dtw(x, y, g) for g in (1.0, 0.1, 0.01)]).detach())


def perplexity_betas(distances, perplexity, iterations=50):
    n = distances.shape[0]
    beta = torch.ones(n, dtype=distances.dtype)
    low = torch.zeros(n, dtype=distances.dtype)
    high = torch.full((n,), math.inf, dtype=distances.dtype)
    eye = torch.eye(n, dtype=torch.bool)
    target = math.log(perplexity)
    for _ in range(iterations):
        p = torch.exp(-distances * beta[:, None]).masked_fill(eye, 0)
        total = p.sum(1)
        entropy = torch.log(total) + beta * (distances * p).sum(1) / total
        too_flat = entropy > target
        low = torch.where(too_flat, beta, low)
        high = torch.where(too_flat, high, beta)
        beta = torch.where(too_flat, torch.where(torch.isinf(high), beta * 2, (beta + high) / 2),
                           (beta + low) / 2)
    p = torch.exp(-distances * beta[:, None]).masked_fill(eye, 0)
    return p / p.sum(1, keepdim=True), beta


def section_tsne() -> None:
    centers = torch.tensor([[0.0] * 5, [4.0] * 5, [-4.0, 4.0, 0, 0, 0]], dtype=torch.float64)
    x = (centers.repeat_interleave(8, 0) + torch.randn(24, 5, dtype=torch.float64))
    distances = torch.cdist(x, x) ** 2
    conditional, beta = perplexity_betas(distances, perplexity=5.0)
    put("tsne.beta", beta)
    p = (conditional + conditional.T) / (2 * len(x))
    put("tsne.p_sum", p.sum())
    y = (torch.randn(24, 2, dtype=torch.float64) * 1e-2).requires_grad_()
    optimizer = torch.optim.SGD([y], lr=20.0, momentum=0.5)
    off_diagonal = ~torch.eye(24, dtype=torch.bool)
    kls = []
    for step in range(40):
        exaggeration = 4.0 if step < 15 else 1.0
        if step == 15:
            for group in optimizer.param_groups:
                group["momentum"] = 0.8
        kernel = 1 / (1 + torch.cdist(y, y) ** 2)
        q = (kernel * off_diagonal) / (kernel * off_diagonal).sum()
        p_used = p * exaggeration
        kl = (p_used * (p_used.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum()
        optimizer.zero_grad()
        kl.backward()
        optimizer.step()
        kls.append(kl.item())
    put("tsne.kls", kls)
    put("tsne.y", y)
    # neighbourhood preservation: of each point's 5 nearest neighbours, how many stay near
    high = torch.cdist(x, x).fill_diagonal_(math.inf).topk(5, largest=False).indices
    low = torch.cdist(y, y).detach().fill_diagonal_(math.inf).topk(5, largest=False).indices
    kept = (high[:, :, None] == low[:, None, :]).any(-1).float().mean()
    put("tsne.kept", kept)


def section_dmd() -> None:
    # snapshots of a damped rotation in a random 6-d basis, observed with a little noise
    angles = torch.tensor([0.3, 0.7], dtype=torch.float64)
    decay = torch.tensor([0.98, 0.95], dtype=torch.float64)
    blocks = [r * torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]],
                               dtype=torch.float64) for a, r in zip(angles.tolist(),
                                                                     decay.tolist())]
    basis, _ = torch.linalg.qr(torch.randn(6, 4, dtype=torch.float64))
    state = torch.randn(4, dtype=torch.float64)
    snapshots = []
    dynamics = torch.block_diag(*blocks)
    for _ in range(30):
        snapshots.append(basis @ state)
        state = dynamics @ state
    data = torch.stack(snapshots, 1) + 1e-6 * torch.randn(6, 30, dtype=torch.float64)
    x1, x2 = data[:, :-1], data[:, 1:]
    u, s, vh = torch.linalg.svd(x1, full_matrices=False)
    rank = 4
    u, s, v = u[:, :rank], s[:rank], vh[:rank].T
    a_tilde = u.T @ x2 @ v / s
    eigenvalues, w = torch.linalg.eig(a_tilde)
    order = torch.argsort(eigenvalues.angle())
    eigenvalues, w = eigenvalues[order], w[:, order]
    modes = (x2 @ v / s).to(torch.complex128) @ w
    put("dmd.singular", torch.linalg.svdvals(x1))
    put("dmd.eigenvalues", eigenvalues)
    put("dmd.abs", eigenvalues.abs())
    put("dmd.frequency", eigenvalues.angle())
    put("dmd.mode_norms", modes.abs().norm(dim=0))
    # one-step prediction by the reduced operator (the amplitudes' complex least squares is out:
    # deltagrad's lstsq is real only, and says so)
    prediction = u @ a_tilde @ (u.T @ x1)
    put("dmd.one_step_error", (prediction - x2).norm() / x2.norm())
    put("dmd.eig_dtype", str(eigenvalues.dtype))


def lorenz(state, sigma=10.0, rho=28.0, beta=8 / 3):
    x, y, z = state.unbind(-1)
    return torch.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], -1)


def rk4(f, state, dt):
    k1 = f(state)
    k2 = f(state + dt / 2 * k1)
    k3 = f(state + dt / 2 * k2)
    k4 = f(state + dt * k3)
    return state + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def section_sindy() -> None:
    dt = 0.005
    state = torch.tensor([-8.0, 7.0, 27.0], dtype=torch.float64)
    trajectory = [state]
    for _ in range(300):
        state = rk4(lorenz, state, dt)
        trajectory.append(state)
    x = torch.stack(trajectory)
    derivative = torch.gradient(x, spacing=dt, dim=0)[0]
    pairs = torch.combinations(torch.arange(3), 2, with_replacement=True)
    library = torch.cat([torch.ones(len(x), 1, dtype=x.dtype), x,
                         x[:, pairs[:, 0]] * x[:, pairs[:, 1]]], 1)
    put("sindy.library_norms", library.norm(dim=0))
    xi = torch.linalg.lstsq(library, derivative).solution
    put("sindy.first", xi)
    for _ in range(8):
        small = xi.abs() < 0.1
        xi = xi.masked_fill(small, 0)
        for k in range(3):
            keep = ~small[:, k]
            xi[keep, k] = torch.linalg.lstsq(library[:, keep], derivative[:, k:k + 1]).solution[
                :, 0]
    put("sindy.xi", xi)
    put("sindy.support", (xi != 0).sum(0))
    residual = library @ xi - derivative
    put("sindy.residual", residual.pow(2).mean(0).sqrt())


def section_kuramoto() -> None:
    n = 12
    natural = 1.0 + 0.3 * torch.randn(n)
    phases0 = 2 * math.pi * torch.rand(n)
    coupling = torch.tensor(0.2, requires_grad=True)
    optimizer = torch.optim.Adam([coupling], lr=0.1)
    history = []
    for _ in range(6):
        theta = phases0
        orders = []
        for _ in range(40):
            difference = theta[None, :] - theta[:, None]
            theta = theta + 0.1 * (natural + coupling / n * torch.sin(difference).sum(1))
            order = torch.polar(torch.ones(n), theta).mean()
            orders.append(order.abs())
        synchrony = torch.stack(orders[-10:]).mean()
        loss = (synchrony - 0.9) ** 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([loss.item(), synchrony.item(), coupling.item()])
    put("kura.history", history)
    put("kura.final_phase", torch.remainder(theta.detach(), 2 * math.pi))
    put("kura.mean_phase", order.detach().angle())
    put("kura.complex", torch.complex(torch.cos(theta.detach()), torch.sin(theta.detach())))


def section_esn() -> None:
    steps = torch.arange(260, dtype=torch.float64)
    signal = torch.sin(0.2 * steps) + 0.5 * torch.sin(0.311 * steps)
    size = 40
    weights = torch.randn(size, size, dtype=torch.float64)
    weights = weights * (torch.rand(size, size, dtype=torch.float64) < 0.2)
    radius = torch.linalg.eigvals(weights).abs().max()
    put("esn.radius_before", radius)
    weights = weights * (0.9 / radius)
    inputs = (torch.rand(size, 1, dtype=torch.float64) - 0.5)
    state = torch.zeros(size, dtype=torch.float64)
    states = []
    for value in signal[:-1]:
        state = 0.7 * state + 0.3 * torch.tanh(weights @ state + inputs[:, 0] * value)
        states.append(state)
    washout = 30
    features = torch.cat([torch.stack(states[washout:200]),
                          torch.ones(200 - washout, 1, dtype=torch.float64)], 1)
    targets = signal[washout + 1:201]
    ridge = 1e-6
    readout = torch.linalg.solve(features.T @ features + ridge * torch.eye(size + 1,
                                                                          dtype=torch.float64),
                                 features.T @ targets)
    put("esn.readout", readout)
    put("esn.train_rmse", (features @ readout - targets).pow(2).mean().sqrt())
    # free-running: the reservoir is fed its own predictions
    state = states[199]
    value = features[-1] @ readout
    generated = []
    for _ in range(20):
        state = 0.7 * state + 0.3 * torch.tanh(weights @ state + inputs[:, 0] * value)
        value = torch.cat([state, torch.ones(1, dtype=torch.float64)]) @ readout
        generated.append(value)
    put("esn.generated", torch.stack(generated))
    put("esn.free_rmse", (torch.stack(generated) - signal[201:221]).pow(2).mean().sqrt())


def gridworld(size=4, slip=0.1):
    n_states, moves = size * size, [(-1, 0), (0, 1), (1, 0), (0, -1)]
    transitions = torch.zeros(n_states, 4, n_states, dtype=torch.float64)
    for s in range(n_states):
        row, col = divmod(s, size)
        for a in range(4):
            for b, (dr, dc) in enumerate(moves):
                prob = 1 - slip if a == b else slip / 3
                r, c = min(max(row + dr, 0), size - 1), min(max(col + dc, 0), size - 1)
                transitions[s, a, r * size + c] += prob
    rewards = -0.04 + 0.01 * torch.rand(n_states, 4, dtype=torch.float64)
    rewards[n_states - 1] = 1.0
    transitions[n_states - 1] = 0
    transitions[n_states - 1, :, n_states - 1] = 1
    return transitions, rewards


def section_gridworld() -> None:
    transitions, rewards = gridworld()
    gamma = 0.95
    values = torch.zeros(16, dtype=torch.float64)
    sweeps = 0
    while True:
        q = rewards + gamma * torch.einsum("sat,t->sa", transitions, values)
        new_values = q.max(1).values
        sweeps += 1
        if (new_values - values).abs().max() < 1e-10:
            break
        values = new_values
    put("grid.vi_values", values)
    put("grid.vi_sweeps", sweeps)
    put("grid.vi_policy", q.argmax(1))
    policy = torch.zeros(16, dtype=torch.long)
    for iteration in range(10):  # noqa: B007 - recorded after the loop
        p_pi = transitions[torch.arange(16), policy]
        r_pi = rewards[torch.arange(16), policy]
        v_pi = torch.linalg.solve(torch.eye(16, dtype=torch.float64) - gamma * p_pi, r_pi)
        improved = (rewards + gamma * transitions @ v_pi).argmax(1)
        if torch.equal(improved, policy):
            break
        policy = improved
    put("grid.pi_values", v_pi)
    put("grid.pi_iterations", iteration)
    # tabular Q-learning and TD(lambda) from sampled episodes
    q_table = torch.zeros(16, 4, dtype=torch.float64)
    traces_values = torch.zeros(16, dtype=torch.float64)
    returns = []
    for _ in range(30):
        s, total, trace = 0, 0.0, torch.zeros(16, dtype=torch.float64)
        for _ in range(40):
            if torch.rand(()) < 0.2:
                a = int(torch.randint(0, 4, ()))
            else:
                a = int(q_table[s].argmax())
            s_next = int(torch.multinomial(transitions[s, a].float(), 1))
            r = float(rewards[s, a])
            total += r
            target = r + gamma * q_table[s_next].max()
            q_table[s, a] += 0.3 * (target - q_table[s, a])
            delta = r + gamma * traces_values[s_next] - traces_values[s]
            trace = gamma * 0.8 * trace
            trace[s] += 1
            traces_values += 0.1 * delta * trace
            s = s_next
            if s == 15:
                break
        returns.append(total)
    put("grid.q_table", q_table)
    put("grid.td_values", traces_values)
    put("grid.returns", returns)


SECTIONS = {
    "soft_dtw": section_soft_dtw, "tsne": section_tsne, "dmd": section_dmd,
    "sindy": section_sindy, "kuramoto": section_kuramoto, "esn": section_esn,
    "gridworld": section_gridworld,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
