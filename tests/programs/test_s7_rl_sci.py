"""Probe IV (session 7), part I: reinforcement-learning and scientific programs.

Each program takes the library as ``torch``, is written as a PyTorch user would write it, seeds
the global generator itself (deltagrad draws PyTorch's stream, so nothing is copied between the
runs) and returns what it would print; the two runs must agree (floats to float32 tolerance,
sampled actions and indices exactly).
"""

from __future__ import annotations

import copy

import pytest
from s5_harness import compare

import deltagrad as dg

torch = pytest.importorskip("torch")


def prog_dqn(torch):
    """DQN on a toy chain: epsilon-greedy from torch.rand, a replay buffer sampled with
    torch.randint, a target network (deepcopy + load_state_dict), gather, smooth_l1_loss."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(3)
    n_states, n_actions, gamma = 6, 2, 0.9

    def step(state, action):
        nxt = min(state + 1, n_states - 1) if action == 1 else max(state - 1, 0)
        reward = 1.0 if nxt == n_states - 1 else -0.05
        return nxt, reward, nxt == n_states - 1

    q_net = nn.Sequential(nn.Linear(n_states, 32), nn.ReLU(), nn.Linear(32, n_actions))
    target_net = copy.deepcopy(q_net)
    target_net.load_state_dict(q_net.state_dict())
    target_net.eval()
    optimizer = torch.optim.RMSprop(q_net.parameters(), lr=5e-3)
    buffer, actions, losses = [], [], []
    state, epsilon = 0, 1.0
    for t in range(60):
        obs = F.one_hot(torch.tensor([state]), n_states).float()
        if torch.rand(1).item() < epsilon:
            action = torch.randint(0, n_actions, (1,)).item()
        else:
            with torch.no_grad():
                action = q_net(obs).argmax(dim=1).item()
        nxt, reward, done = step(state, action)
        buffer.append((state, action, reward, nxt, float(done)))
        actions.append(action)
        state = 0 if done else nxt
        epsilon = max(0.1, epsilon * 0.95)
        if len(buffer) >= 8:
            idx = torch.randint(0, len(buffer), (8,))
            batch = [buffer[i] for i in idx.tolist()]
            s, a, r, s2, d = (torch.tensor(col) for col in zip(*batch))
            s_obs = F.one_hot(s, n_states).float()
            s2_obs = F.one_hot(s2, n_states).float()
            q = q_net(s_obs).gather(1, a.unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                target = r + gamma * target_net(s2_obs).max(1).values * (1 - d)
            loss = F.smooth_l1_loss(q, target.float())
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_value_(q_net.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        if t % 10 == 9:
            target_net.load_state_dict(q_net.state_dict())
    with torch.no_grad():
        table = q_net(torch.eye(n_states))
    return {"actions": actions, "losses": losses, "q": table, "greedy": table.argmax(1)}


def prog_ppo(torch):
    """PPO with a Gaussian policy on a 1-d target-reaching task: Normal log_prob/entropy,
    generalised advantage estimation, clipped ratio, value loss, several epochs over
    minibatches from torch.randperm."""
    nn = torch.nn
    Normal = torch.distributions.Normal
    torch.manual_seed(4)

    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 32), nn.Tanh())
            self.mu = nn.Linear(32, 1)
            self.log_std = nn.Parameter(torch.full((1,), -0.5))
            self.value = nn.Linear(32, 1)

        def forward(self, obs):
            h = self.body(obs)
            return Normal(self.mu(h), self.log_std.exp()), self.value(h).squeeze(-1)

    model = ActorCritic()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, eps=1e-5)
    gamma, lam, clip = 0.95, 0.9, 0.2
    history = []
    for _iteration in range(3):
        obs_list, act_list, logp_list, rew_list, val_list = [], [], [], [], []
        pos = torch.zeros(1)
        goal = torch.rand(1) * 2 - 1
        for _t in range(16):
            obs = torch.cat([pos, goal])
            with torch.no_grad():
                dist, value = model(obs)
                action = dist.sample()
            pos = (pos + action.clamp(-0.5, 0.5)).detach()
            reward = -(pos - goal).abs().item()
            obs_list.append(obs)
            act_list.append(action)
            logp_list.append(dist.log_prob(action).sum())
            rew_list.append(reward)
            val_list.append(value)
        values = torch.stack(val_list + [torch.tensor(0.0)])
        advantages, gae = [], 0.0
        for t in reversed(range(16)):
            delta = rew_list[t] + gamma * values[t + 1] - values[t]
            gae = delta + gamma * lam * gae
            advantages.insert(0, gae)
        advantages = torch.stack(advantages)
        returns = advantages + values[:-1]
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        obs_b, act_b, logp_b = torch.stack(obs_list), torch.stack(act_list), torch.stack(logp_list)
        for _epoch in range(2):
            for idx in torch.randperm(16).split(8):
                dist, value = model(obs_b[idx])
                logp = dist.log_prob(act_b[idx]).sum(-1)
                ratio = torch.exp(logp - logp_b[idx])
                surr1 = ratio * advantages[idx]
                surr2 = torch.clamp(ratio, 1 - clip, 1 + clip) * advantages[idx]
                policy_loss = -torch.min(surr1, surr2).mean()
                value_loss = 0.5 * (returns[idx] - value).pow(2).mean()
                entropy = dist.entropy().mean()
                loss = policy_loss + 0.5 * value_loss - 0.01 * entropy
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                optimizer.step()
                history.append([policy_loss.item(), value_loss.item(), entropy.item()])
        history.append(sum(rew_list))
    return {"history": history, "log_std": model.log_std, "goal": goal}


def prog_pinn(torch):
    """A physics-informed network for u'' = -pi^2 sin(pi x) on [0, 1] with u(0) = u(1) = 0:
    second derivatives through autograd.grad(create_graph=True), Adam then a few LBFGS steps."""
    import math

    nn = torch.nn
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                        nn.Linear(16, 1))
    x = torch.rand(24, 1, requires_grad=True)
    boundary = torch.tensor([[0.0], [1.0]])

    def residual_loss():
        u = net(x)
        du = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), create_graph=True)[0]
        d2u = torch.autograd.grad(du.sum(), x, create_graph=True)[0]
        pde = d2u + math.pi ** 2 * torch.sin(math.pi * x)
        return pde.pow(2).mean() + net(boundary).pow(2).mean()

    adam = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        adam.zero_grad()
        loss = residual_loss()
        loss.backward()
        adam.step()
        losses.append(loss.item())
    lbfgs = torch.optim.LBFGS(net.parameters(), lr=0.5, max_iter=4, history_size=5)

    def closure():
        lbfgs.zero_grad()
        loss = residual_loss()
        loss.backward()
        return loss

    for _ in range(2):
        losses.append(lbfgs.step(closure).item())
    grid = torch.linspace(0, 1, 5).unsqueeze(1)
    with torch.no_grad():
        u = net(grid)
    return {"losses": losses, "u": u}


def prog_maml(torch):
    """MAML on sine-wave regression: the inner step's gradient taken with create_graph=True,
    the adapted weights applied with torch.func.functional_call, the meta-loss backpropagated
    through the inner step (second-order)."""
    nn = torch.nn
    F = torch.nn.functional
    functional_call = torch.func.functional_call  # (`from torch.func import` would bind torch)

    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                          nn.Linear(20, 1))
    meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    inner_lr = 0.01
    meta_losses = []
    for _it in range(4):
        meta_opt.zero_grad()
        total = 0.0
        for _task in range(3):
            amplitude = torch.empty(1).uniform_(0.1, 5.0)
            phase = torch.empty(1).uniform_(0, 3.14)
            xs = torch.empty(10, 1).uniform_(-5, 5)
            ys = amplitude * torch.sin(xs + phase)
            support, query = (xs[:5], ys[:5]), (xs[5:], ys[5:])
            params = dict(model.named_parameters())
            inner = F.mse_loss(functional_call(model, params, (support[0],)), support[1])
            grads = torch.autograd.grad(inner, list(params.values()), create_graph=True)
            adapted = {name: p - inner_lr * g for (name, p), g in zip(params.items(), grads)}
            outer = F.mse_loss(functional_call(model, adapted, (query[0],)), query[1])
            total = total + outer
        meta_loss = total / 3
        meta_loss.backward()
        meta_opt.step()
        meta_losses.append(meta_loss.item())
    return {"meta": meta_losses, "grad": model[0].weight.grad[:4]}


def prog_dp_sgd(torch):
    """Per-sample gradients with torch.func (functional_call + vmap(grad)), clipped per sample
    and noised as in DP-SGD; the vmapped gradients checked against a loop."""
    nn = torch.nn
    F = torch.nn.functional
    functional_call, grad, vmap = torch.func.functional_call, torch.func.grad, torch.func.vmap

    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    x = torch.randn(10, 6)
    y = torch.randint(0, 3, (10,))

    def loss_fn(params, buffers, sample, target):
        logits = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return F.cross_entropy(logits, target.unsqueeze(0))

    max_norm, noise_multiplier, lr = 1.0, 0.5, 0.1
    losses, norms = [], []
    for _step in range(3):
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}
        per_sample = vmap(grad(loss_fn), in_dims=(None, None, 0, 0))(params, buffers, x, y)
        flat = torch.cat([g.reshape(10, -1) for g in per_sample.values()], dim=1)
        norm = flat.norm(dim=1)
        factor = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        with torch.no_grad():
            for name, p in model.named_parameters():
                clipped = (per_sample[name] * factor.view(-1, *[1] * p.dim())).sum(0)
                noise = torch.normal(0.0, noise_multiplier * max_norm, size=p.shape)
                p -= lr * (clipped + noise) / 10
            losses.append(F.cross_entropy(model(x), y).item())
        norms.append(norm)
    # the vmapped per-sample gradient equals a loop over the samples
    loop = []
    for i in range(3):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        loop.append(model[0].weight.grad.clone())
    params = {k: v.detach() for k, v in model.named_parameters()}
    vm = vmap(grad(loss_fn), in_dims=(None, None, 0, 0))(params, {}, x[:3], y[:3])
    agree = bool(torch.allclose(torch.stack(loop), vm["0.weight"], atol=1e-6))
    return {"losses": losses, "norms": norms, "agree": agree}


def prog_gp_regression(torch):
    """Gaussian-process regression written by hand: an RBF kernel from cdist, Cholesky,
    cholesky_solve, the log marginal likelihood maximised over softplus-constrained
    hyperparameters with Adam, then the predictive mean and variance."""
    import math

    F = torch.nn.functional
    torch.manual_seed(8)
    x = torch.rand(20, 1, dtype=torch.float64) * 6
    y = torch.sin(x).squeeze(1) + 0.1 * torch.randn(20, dtype=torch.float64)
    raw = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # lengthscale, signal, noise
    optimizer = torch.optim.Adam([raw], lr=0.1)

    def kernel(a, b, lengthscale, signal):
        return signal * torch.exp(-0.5 * torch.cdist(a, b).pow(2) / lengthscale ** 2)

    nlls = []
    for _ in range(15):
        lengthscale, signal, noise = F.softplus(raw)
        K = kernel(x, x, lengthscale, signal) + (noise + 1e-6) * torch.eye(20, dtype=x.dtype)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(1), L)
        nll = (0.5 * (y.unsqueeze(1) * alpha).sum() + torch.log(torch.diagonal(L)).sum()
               + 10 * math.log(2 * math.pi))
        optimizer.zero_grad()
        nll.backward()
        optimizer.step()
        nlls.append(nll.item())
    with torch.no_grad():
        lengthscale, signal, noise = F.softplus(raw)
        test = torch.linspace(0, 6, 7, dtype=torch.float64).unsqueeze(1)
        K = kernel(x, x, lengthscale, signal) + (noise + 1e-6) * torch.eye(20, dtype=x.dtype)
        L = torch.linalg.cholesky(K)
        Ks = kernel(test, x, lengthscale, signal)
        mean = Ks @ torch.cholesky_solve(y.unsqueeze(1), L)
        v = torch.linalg.solve_triangular(L, Ks.T, upper=False)
        var = signal - v.pow(2).sum(0)
    return {"nll": nlls, "hyper": F.softplus(raw).detach(), "mean": mean, "var": var}


PROGRAMS = [prog_dqn, prog_ppo, prog_pinn, prog_maml, prog_dp_sgd, prog_gp_regression]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__[5:])
def test_program_prints_the_same(program):
    expected = program(torch)
    got = program(dg)
    compare(got, expected)
