"""Deep RL and continual learning as tutorials write them, afresh (PR3, session 20): the PyTorch
tutorial's DQN shape with a dueling head and Double-DQN targets (a replay memory of namedtuples
in a deque sampled by Python's random, epsilon-greedy with exponential decay, SmoothL1 on
gathered Q values, clip_grad_value_, the target network's soft update through state dicts);
Rainbow's C51 distributional head with factorized NoisyLinear layers (noise as buffers, the
categorical projection by index_add_ on flattened offsets); TD3 (twin critics, clipped policy
smoothing noise, delayed actor updates, Polyak averaging with torch._foreach ops); and elastic
weight consolidation (a diagonal Fisher from squared per-sample gradients, the quadratic penalty
on a second task). A hand-written chain environment; tiny sizes; run by prog_s20_PR3_all.py.
"""

import copy
import math
import random
from collections import deque, namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state

Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))


class ReplayMemory:
    def __init__(self, capacity):
        self.memory = deque([], maxlen=capacity)

    def push(self, *args):
        self.memory.append(Transition(*args))

    def sample(self, batch_size):
        return random.sample(self.memory, batch_size)

    def __len__(self):
        return len(self.memory)


class ChainEnv:
    """Positions 0..n-1; action 1 moves right, 0 left; reward 1 at the right end."""

    def __init__(self, n=6):
        self.n = n

    def reset(self):
        self.position = 0
        return self.observe()

    def observe(self):
        return F.one_hot(torch.tensor(self.position), self.n).float()

    def step(self, action):
        self.position = max(0, min(self.n - 1, self.position + (1 if action == 1 else -1)))
        done = self.position == self.n - 1
        return self.observe(), 1.0 if done else -0.01, done


class DuelingDQN(nn.Module):
    def __init__(self, n_observations, n_actions):
        super().__init__()
        self.feature = nn.Sequential(nn.Linear(n_observations, 32), nn.ReLU())
        self.value = nn.Linear(32, 1)
        self.advantage = nn.Linear(32, n_actions)

    def forward(self, x):
        h = self.feature(x)
        advantage = self.advantage(h)
        return self.value(h) + advantage - advantage.mean(dim=1, keepdim=True)


def section_dqn() -> None:
    random.seed(0)
    BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 8, 0.9, 0.9, 0.05, 30, 0.05, 1e-2
    env = ChainEnv()
    policy_net, target_net = DuelingDQN(6, 2), DuelingDQN(6, 2)
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = torch.optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(200)
    steps_done = 0

    def select_action(state):
        nonlocal steps_done
        sample = random.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        return torch.tensor([[random.randrange(2)]], dtype=torch.long)

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return None
        transitions = memory.sample(BATCH_SIZE)
        batch = Transition(*zip(*transitions))
        non_final_mask = torch.tensor(tuple(map(lambda s: s is not None, batch.next_state)),
                                      dtype=torch.bool)
        non_final_next_states = torch.cat([s for s in batch.next_state if s is not None])
        state_batch = torch.cat(batch.state)
        action_batch = torch.cat(batch.action)
        reward_batch = torch.cat(batch.reward)
        state_action_values = policy_net(state_batch).gather(1, action_batch)
        next_state_values = torch.zeros(BATCH_SIZE)
        with torch.no_grad():
            # Double DQN: the policy net picks, the target net evaluates
            best = policy_net(non_final_next_states).argmax(1, keepdim=True)
            next_state_values[non_final_mask] = target_net(non_final_next_states).gather(
                1, best).squeeze(1)
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        return loss.item()

    losses, durations = [], []
    for _i_episode in range(6):
        state = env.reset().unsqueeze(0)
        for t in range(15):  # noqa: B007 - the episode's length is t + 1
            action = select_action(state)
            observation, reward, terminated = env.step(action.item())
            reward = torch.tensor([reward])
            next_state = None if terminated else observation.unsqueeze(0)
            memory.push(state, action, next_state, reward)
            state = next_state
            loss = optimize_model()
            if loss is not None:
                losses.append(loss)
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = policy_net_state_dict[key] * TAU + \
                    target_net_state_dict[key] * (1 - TAU)
            target_net.load_state_dict(target_net_state_dict)
            if terminated:
                break
        durations.append(t + 1)
    put("dqn.losses", losses)
    put("dqn.durations", durations)
    put("dqn.steps_done", steps_done)
    put_state("dqn.policy", policy_net)
    put_state("dqn.target", target_net)
    with torch.no_grad():
        put("dqn.q_table", policy_net(torch.eye(6)))
    put("dqn.amsgrad_keys", sorted(optimizer.state_dict()["state"][0]))


class NoisyLinear(nn.Module):
    def __init__(self, in_features, out_features, std_init=0.5):
        super().__init__()
        self.in_features, self.out_features, self.std_init = in_features, out_features, std_init
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features))
        self.weight_sigma = nn.Parameter(torch.empty(out_features, in_features))
        self.register_buffer("weight_epsilon", torch.empty(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.empty(out_features))
        self.bias_sigma = nn.Parameter(torch.empty(out_features))
        self.register_buffer("bias_epsilon", torch.empty(out_features))
        self.reset_parameters()
        self.reset_noise()

    def reset_parameters(self):
        mu_range = 1 / math.sqrt(self.in_features)
        self.weight_mu.data.uniform_(-mu_range, mu_range)
        self.weight_sigma.data.fill_(self.std_init / math.sqrt(self.in_features))
        self.bias_mu.data.uniform_(-mu_range, mu_range)
        self.bias_sigma.data.fill_(self.std_init / math.sqrt(self.out_features))

    def _scale_noise(self, size):
        x = torch.randn(size)
        return x.sign().mul_(x.abs().sqrt_())

    def reset_noise(self):
        epsilon_in = self._scale_noise(self.in_features)
        epsilon_out = self._scale_noise(self.out_features)
        self.weight_epsilon.copy_(epsilon_out.ger(epsilon_in))
        self.bias_epsilon.copy_(epsilon_out)

    def forward(self, input):
        if self.training:
            return F.linear(input, self.weight_mu + self.weight_sigma * self.weight_epsilon,
                            self.bias_mu + self.bias_sigma * self.bias_epsilon)
        return F.linear(input, self.weight_mu, self.bias_mu)


class C51(nn.Module):
    def __init__(self, n_obs, n_actions, atoms=11):
        super().__init__()
        self.n_actions, self.atoms = n_actions, atoms
        self.fc = nn.Linear(n_obs, 24)
        self.fc_v = NoisyLinear(24, atoms)
        self.fc_a = NoisyLinear(24, n_actions * atoms)

    def forward(self, x, log=False):
        x = F.relu(self.fc(x))
        v = self.fc_v(x).view(-1, 1, self.atoms)
        a = self.fc_a(x).view(-1, self.n_actions, self.atoms)
        q = v + a - a.mean(1, keepdim=True)
        return F.log_softmax(q, dim=2) if log else F.softmax(q, dim=2)

    def reset_noise(self):
        for name, module in self.named_children():
            if "fc_" in name:
                module.reset_noise()


def section_c51() -> None:
    atoms, v_min, v_max, gamma, batch = 11, -1.0, 1.0, 0.9, 6
    support = torch.linspace(v_min, v_max, atoms)
    delta_z = (v_max - v_min) / (atoms - 1)
    online, target = C51(6, 2), C51(6, 2)
    target.load_state_dict(online.state_dict())
    target.train()
    for param in target.parameters():
        param.requires_grad = False
    optimiser = torch.optim.Adam(online.parameters(), lr=5e-3, eps=1.5e-4)
    states = F.one_hot(torch.randint(0, 6, (batch,)), 6).float()
    actions = torch.randint(0, 2, (batch,))
    returns = torch.randn(batch) * 0.3
    next_states = F.one_hot(torch.randint(0, 6, (batch,)), 6).float()
    nonterminals = (torch.rand(batch) > 0.3).float().unsqueeze(1)
    losses = []
    for step in range(6):
        log_ps = online(states, log=True)
        log_ps_a = log_ps[range(batch), actions]
        with torch.no_grad():
            pns = online(next_states)
            dns = support.expand_as(pns) * pns
            argmax_indices_ns = dns.sum(2).argmax(1)
            target.reset_noise()
            pns = target(next_states)
            pns_a = pns[range(batch), argmax_indices_ns]
            Tz = returns.unsqueeze(1) + nonterminals * gamma * support.unsqueeze(0)
            Tz = Tz.clamp(min=v_min, max=v_max)
            b = (Tz - v_min) / delta_z
            l, u = b.floor().to(torch.int64), b.ceil().to(torch.int64)
            l[(u > 0) * (l == u)] -= 1
            u[(l < (atoms - 1)) * (l == u)] += 1
            m = states.new_zeros(batch, atoms)
            offset = torch.linspace(0, ((batch - 1) * atoms), batch).unsqueeze(1).expand(
                batch, atoms).to(actions)
            m.view(-1).index_add_(0, (l + offset).view(-1), (pns_a * (u.float() - b)).view(-1))
            m.view(-1).index_add_(0, (u + offset).view(-1), (pns_a * (b - l.float())).view(-1))
        loss = -torch.sum(m * log_ps_a, 1)
        online.zero_grad()
        loss.mean().backward()
        nn.utils.clip_grad_norm_(online.parameters(), 10)
        optimiser.step()
        online.reset_noise()
        losses.append(loss.detach())
        if step == 0:
            put("c51.m", m)
            put("c51.lu", torch.stack([l, u]))
    put("c51.losses", torch.stack(losses))
    put_state("c51.online", online)
    online.eval()
    with torch.no_grad():
        put("c51.q_eval", (online(torch.eye(6)) * support).sum(2))
    put("c51.buffer_names", [n for n, _ in online.named_buffers()])


class Actor(nn.Module):
    def __init__(self, state_dim, action_dim, max_action):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(state_dim, 32), nn.Linear(32, 32), nn.Linear(
            32, action_dim)
        self.max_action = max_action

    def forward(self, state):
        a = F.relu(self.l2(F.relu(self.l1(state))))
        return self.max_action * torch.tanh(self.l3(a))


class Critic(nn.Module):
    def __init__(self, state_dim, action_dim):
        super().__init__()
        self.q1 = nn.Sequential(nn.Linear(state_dim + action_dim, 32), nn.ReLU(),
                                nn.Linear(32, 1))
        self.q2 = nn.Sequential(nn.Linear(state_dim + action_dim, 32), nn.ReLU(),
                                nn.Linear(32, 1))

    def forward(self, state, action):
        sa = torch.cat([state, action], 1)
        return self.q1(sa), self.q2(sa)

    def Q1(self, state, action):
        return self.q1(torch.cat([state, action], 1))


def section_td3() -> None:
    state_dim, action_dim, max_action = 3, 1, 2.0
    discount, tau, policy_noise, noise_clip, policy_freq = 0.95, 0.01, 0.2, 0.5, 2
    actor = Actor(state_dim, action_dim, max_action)
    actor_target = copy.deepcopy(actor)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=1e-3)
    critic = Critic(state_dim, action_dim)
    critic_target = copy.deepcopy(critic)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3)
    state = torch.randn(16, state_dim)
    action = torch.rand(16, action_dim) * 4 - 2
    next_state = state + 0.1 * action.repeat(1, state_dim)
    reward = -(state ** 2).sum(1, keepdim=True) - 0.1 * action ** 2
    not_done = torch.ones(16, 1)
    critic_losses, actor_losses = [], []
    for total_it in range(1, 7):
        with torch.no_grad():
            noise = (torch.randn_like(action) * policy_noise).clamp(-noise_clip, noise_clip)
            next_action = (actor_target(next_state) + noise).clamp(-max_action, max_action)
            target_Q1, target_Q2 = critic_target(next_state, next_action)
            target_Q = reward + not_done * discount * torch.min(target_Q1, target_Q2)
        current_Q1, current_Q2 = critic(state, action)
        critic_loss = F.mse_loss(current_Q1, target_Q) + F.mse_loss(current_Q2, target_Q)
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        critic_losses.append(critic_loss.item())
        if total_it % policy_freq == 0:
            actor_loss = -critic.Q1(state, actor(state)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            actor_losses.append(actor_loss.item())
            with torch.no_grad():
                for net, net_target in ((critic, critic_target), (actor, actor_target)):
                    params = list(net.parameters())
                    targets = list(net_target.parameters())
                    torch._foreach_mul_(targets, 1 - tau)
                    torch._foreach_add_(targets, params, alpha=tau)
    put("td3.critic_losses", critic_losses)
    put("td3.actor_losses", actor_losses)
    put_state("td3.actor_target", actor_target)
    put_state("td3.critic_target", critic_target)
    put_state("td3.critic", critic)
    with torch.no_grad():
        put("td3.policy", actor(state[:4]))


def section_ewc() -> None:
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    w_a, w_b = torch.randn(4), torch.randn(4)
    x_a, x_b = torch.randn(48, 4), torch.randn(48, 4) + 0.5
    y_a, y_b = (x_a @ w_a > 0).long(), (x_b @ w_b > 0).long()

    def train(x, y, steps, penalty=None):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        record = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            total = loss + penalty() if penalty is not None else loss
            total.backward()
            optimizer.step()
            record.append(total.item())
        return record

    def accuracy(x, y):
        with torch.no_grad():
            return (model(x).argmax(1) == y).float().mean()

    put("ewc.task_a", train(x_a, y_a, 15))
    star = {n: p.detach().clone() for n, p in model.named_parameters()}
    fisher = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    model.eval()
    for i in range(16):
        model.zero_grad()
        output = model(x_a[i:i + 1])
        label = output.max(1)[1].view(-1)
        F.nll_loss(F.log_softmax(output, dim=1), label).backward()
        for n, p in model.named_parameters():
            fisher[n] += p.grad.data ** 2 / 16
    model.train()
    put("ewc.fisher", list(fisher.values()))
    importance = 50.0

    def penalty():
        loss = 0
        for n, p in model.named_parameters():
            loss = loss + (fisher[n] * (p - star[n]) ** 2).sum()
        return importance * loss

    put("ewc.task_b", train(x_b, y_b, 15, penalty))
    put("ewc.acc", torch.stack([accuracy(x_a, y_a), accuracy(x_b, y_b)]))
    put_state("ewc.state", model)


SECTIONS = {"dqn": section_dqn, "c51": section_c51, "td3": section_td3, "ewc": section_ewc}
