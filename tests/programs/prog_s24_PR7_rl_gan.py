"""Adversarial and reinforcement-learning training scripts, afresh (PR7, session 24): WGAN-GP on
a ring of Gaussians (critic steps per generator step, the gradient penalty through
autograd.grad(create_graph=True), Adam with betas (0.5, 0.9)); a hinge-loss GAN whose
discriminator is spectral-normalized (the power iteration's u / v buffers compared); DQN on a
chain MDP written in torch (a replay buffer, epsilon-greedy with the global RNG, a target
network synced every few steps, Huber loss on gathered Q values); PPO with GAE on a small
gridworld (Categorical policy, clipped ratio, value clipping, entropy bonus, minibatch epochs
over randperm) and A2C with n-step returns. Tiny sizes; run by prog_s24_PR7_all.py.
"""

import collections

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state


def _ring(n, g):
    angle = torch.randint(0, 6, (n,), generator=g).float() * (2 * torch.pi / 6)
    centers = torch.stack([angle.cos(), angle.sin()], dim=1) * 2
    return centers + 0.05 * torch.randn(n, 2, generator=g)


def section_wgan_gp() -> None:
    g = torch.Generator().manual_seed(12)
    gen = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
    critic = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    lam, n_critic = 10.0, 3
    c_losses, g_losses, penalties = [], [], []
    for _step in range(6):
        for _ in range(n_critic):
            real = _ring(16, g)
            fake = gen(torch.randn(16, 3, generator=g)).detach()
            eps = torch.rand(16, 1, generator=g)
            mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
            score = critic(mix)
            grad, = torch.autograd.grad(score.sum(), mix, create_graph=True)
            penalty = ((grad.norm(2, dim=1) - 1) ** 2).mean()
            loss_c = critic(fake).mean() - critic(real).mean() + lam * penalty
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
            c_losses.append(loss_c.item())
            penalties.append(penalty.item())
        z = torch.randn(16, 3, generator=g)
        loss_g = -critic(gen(z)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        g_losses.append(loss_g.item())
    put("wgan.critic_losses", torch.tensor(c_losses))
    put("wgan.gen_losses", torch.tensor(g_losses))
    put("wgan.penalties", torch.tensor(penalties))
    put_state("wgan.critic", critic)
    put("wgan.gen_grad", [p.grad for p in gen.parameters()])
    with torch.no_grad():
        put("wgan.samples", gen(torch.randn(4, 3, generator=g)))


def section_sn_gan() -> None:
    g = torch.Generator().manual_seed(13)
    sn = nn.utils.spectral_norm
    disc = nn.Sequential(sn(nn.Linear(2, 16)), nn.LeakyReLU(0.1), sn(nn.Linear(16, 16)),
                         nn.LeakyReLU(0.1), sn(nn.Linear(16, 1)))
    gen = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-3, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-3, betas=(0.0, 0.9))
    d_losses, g_losses, sigmas = [], [], []
    for _step in range(8):
        real = _ring(24, g)
        fake = gen(torch.randn(24, 4, generator=g))
        loss_d = F.relu(1 - disc(real)).mean() + F.relu(1 + disc(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = -disc(fake).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss_d.item())
        g_losses.append(loss_g.item())
        with torch.no_grad():
            w = disc[0].weight
            sigmas.append(torch.linalg.matrix_norm(w, ord=2).item())
    put("sngan.d_losses", torch.tensor(d_losses))
    put("sngan.g_losses", torch.tensor(g_losses))
    put("sngan.sigmas", torch.tensor(sigmas))
    put("sngan.keys", sorted(disc.state_dict()))
    put_state("sngan.disc", disc)
    disc.eval()
    with torch.no_grad():
        put("sngan.eval_scores", disc(_ring(5, g)))


class Chain:
    """A chain of 6 states: action 1 moves right (reward 1 at the end), action 0 moves left
    (a small reward 0.1 at the start); episodes last 10 steps."""

    n = 6

    def reset(self):
        self.s, self.t = 1, 0
        return self.obs()

    def obs(self):
        return F.one_hot(torch.tensor(self.s), self.n).float()

    def step(self, a):
        self.s = min(self.s + 1, self.n - 1) if a == 1 else max(self.s - 1, 0)
        self.t += 1
        r = 1.0 if self.s == self.n - 1 else (0.1 if self.s == 0 else 0.0)
        return self.obs(), r, self.t >= 10


def section_dqn() -> None:
    env = Chain()
    q = nn.Sequential(nn.Linear(6, 24), nn.ReLU(), nn.Linear(24, 2))
    target = nn.Sequential(nn.Linear(6, 24), nn.ReLU(), nn.Linear(24, 2))
    target.load_state_dict(q.state_dict())
    target.eval()
    opt = torch.optim.Adam(q.parameters(), lr=5e-3)
    buffer = collections.deque(maxlen=200)
    g = torch.Generator().manual_seed(14)
    gamma, steps, losses, returns, actions = 0.9, 0, [], [], []
    for _episode in range(6):
        s, done, total = env.reset(), False, 0.0
        while not done:
            eps = max(0.1, 1.0 - steps / 40)
            if torch.rand(()).item() < eps:
                a = int(torch.randint(0, 2, ()))
            else:
                with torch.no_grad():
                    a = int(q(s).argmax())
            actions.append(a)
            s2, r, done = env.step(a)
            buffer.append((s, a, r, s2, float(done)))
            s, total, steps = s2, total + r, steps + 1
            if len(buffer) >= 16:
                idx = torch.randint(0, len(buffer), (16,), generator=g).tolist()
                batch = [buffer[i] for i in idx]
                bs = torch.stack([b[0] for b in batch])
                ba = torch.tensor([b[1] for b in batch])
                br = torch.tensor([b[2] for b in batch])
                bs2 = torch.stack([b[3] for b in batch])
                bd = torch.tensor([b[4] for b in batch])
                with torch.no_grad():
                    # double DQN: the online net picks, the target net evaluates
                    best = q(bs2).argmax(1, keepdim=True)
                    y = br + gamma * (1 - bd) * target(bs2).gather(1, best).squeeze(1)
                pred = q(bs).gather(1, ba.unsqueeze(1)).squeeze(1)
                loss = F.smooth_l1_loss(pred, y)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(q.parameters(), 10.0)
                opt.step()
                losses.append(loss.item())
            if steps % 15 == 0:
                target.load_state_dict(q.state_dict())
        returns.append(total)
    put("dqn.actions", torch.tensor(actions))
    put("dqn.losses", torch.tensor(losses))
    put("dqn.returns", torch.tensor(returns))
    with torch.no_grad():
        put("dqn.q_table", q(torch.eye(6)))
    put_state("dqn.target", target)


class Grid:
    """A 3x3 grid: start top-left, goal bottom-right (+1), each step -0.05, 12 steps at most."""

    def reset(self):
        self.pos, self.t = [0, 0], 0
        return self.obs()

    def obs(self):
        return F.one_hot(torch.tensor(self.pos[0] * 3 + self.pos[1]), 9).float()

    def step(self, a):
        dr, dc = [(-1, 0), (1, 0), (0, -1), (0, 1)][a]
        self.pos = [min(max(self.pos[0] + dr, 0), 2), min(max(self.pos[1] + dc, 0), 2)]
        self.t += 1
        goal = self.pos == [2, 2]
        return self.obs(), (1.0 if goal else -0.05), goal or self.t >= 12


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(9, 32), nn.Tanh())
        self.pi = nn.Linear(32, 4)
        self.v = nn.Linear(32, 1)

    def forward(self, x):
        h = self.body(x)
        return torch.distributions.Categorical(logits=self.pi(h)), self.v(h).squeeze(-1)


def _rollout(env, net, n):
    obs, acts, logps, rews, dones, vals = [], [], [], [], [], []
    s = env.reset()
    for _ in range(n):
        with torch.no_grad():
            dist, v = net(s)
            a = dist.sample()
        s2, r, done = env.step(int(a))
        obs.append(s)
        acts.append(a)
        logps.append(dist.log_prob(a))
        rews.append(r)
        dones.append(float(done))
        vals.append(v)
        s = env.reset() if done else s2
    with torch.no_grad():
        last = net(s)[1]
    return (torch.stack(obs), torch.stack(acts), torch.stack(logps), torch.tensor(rews),
            torch.tensor(dones), torch.stack(vals), last)


def _gae(rews, dones, vals, last, gamma=0.95, lam=0.9):
    adv = torch.zeros_like(rews)
    running = torch.tensor(0.0)
    for t in reversed(range(len(rews))):
        nxt = last if t == len(rews) - 1 else vals[t + 1]
        delta = rews[t] + gamma * nxt * (1 - dones[t]) - vals[t]
        running = delta + gamma * lam * (1 - dones[t]) * running
        adv[t] = running
    return adv, adv + vals


def section_ppo() -> None:
    env, net = Grid(), ActorCritic()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, eps=1e-5)
    g = torch.Generator().manual_seed(15)
    clip, losses, mean_rewards, kls = 0.2, [], [], []
    for _update in range(3):
        obs, acts, old_logp, rews, dones, vals, last = _rollout(env, net, 48)
        adv, ret = _gae(rews, dones, vals, last)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        mean_rewards.append(rews.mean().item())
        for _epoch in range(2):
            order = torch.randperm(48, generator=g)
            for mb in order.split(16):
                dist, v = net(obs[mb])
                logp = dist.log_prob(acts[mb])
                ratio = (logp - old_logp[mb]).exp()
                surr = torch.min(ratio * adv[mb], ratio.clamp(1 - clip, 1 + clip) * adv[mb])
                v_clipped = vals[mb] + (v - vals[mb]).clamp(-clip, clip)
                v_loss = torch.max((v - ret[mb]) ** 2, (v_clipped - ret[mb]) ** 2).mean()
                loss = -surr.mean() + 0.5 * v_loss - 0.01 * dist.entropy().mean()
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 0.5)
                opt.step()
                losses.append(loss.item())
                kls.append((old_logp[mb] - logp).mean().item())
    put("ppo.losses", torch.tensor(losses))
    put("ppo.kls", torch.tensor(kls))
    put("ppo.mean_rewards", torch.tensor(mean_rewards))
    put("ppo.last_adv", adv)
    put("ppo.last_returns", ret)
    put_state("ppo.net", net)


def section_a2c() -> None:
    env, net = Grid(), ActorCritic()
    opt = torch.optim.RMSprop(net.parameters(), lr=7e-3, alpha=0.99, eps=1e-5)
    losses, entropies = [], []
    s = env.reset()
    for _update in range(12):
        logps, vals, rews, masks, ents = [], [], [], [], []
        for _ in range(5):
            dist, v = net(s)
            a = dist.sample()
            s2, r, done = env.step(int(a))
            logps.append(dist.log_prob(a))
            vals.append(v)
            ents.append(dist.entropy())
            rews.append(r)
            masks.append(0.0 if done else 1.0)
            s = env.reset() if done else s2
        with torch.no_grad():
            R = net(s)[1]
        returns = []
        for r, m in zip(reversed(rews), reversed(masks)):
            R = r + 0.95 * R * m
            returns.insert(0, R)
        returns = torch.stack(returns)
        values = torch.stack(vals)
        advantage = returns - values
        loss = (-(torch.stack(logps) * advantage.detach()).mean() + 0.5 * advantage.pow(2).mean()
                - 0.01 * torch.stack(ents).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        entropies.append(torch.stack(ents).mean().item())
    put("a2c.losses", torch.tensor(losses))
    put("a2c.entropies", torch.tensor(entropies))
    put_state("a2c.net", net)


SECTIONS = {"wgan_gp": section_wgan_gp, "sn_gan": section_sn_gan, "dqn": section_dqn,
            "ppo": section_ppo, "a2c": section_a2c}
