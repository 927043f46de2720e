"""Generative-model and reinforcement-learning tutorials' programs, written afresh in their style
(PG2, session 19): DCGAN and the examples' VAE on random data, PGD adversarial training,
the DQN tutorial (replay memory, epsilon decay, soft target updates, Huber loss, AdamW with
amsgrad) on a hand-written environment, and REINFORCE / actor-critic on the same.
"""

import math
import random
from collections import deque, namedtuple
from itertools import count

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_dcgan() -> None:
    nc, nz, ngf, ndf = 1, 8, 4, 4

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf), nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid())

        def forward(self, input):
            return self.main(input)

    netG = Generator()
    netG.apply(weights_init)
    netD = Discriminator()
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(4, nz, 1, 1)
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    data = torch.rand(16, nc, 16, 16) * 2 - 1
    G_losses, D_losses, D_x_list = [], [], []
    for i in range(4):
        real_cpu = data[i * 4:(i + 1) * 4]
        b_size = real_cpu.size(0)
        netD.zero_grad()
        label = torch.full((b_size,), real_label, dtype=torch.float)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.randn(b_size, nz, 1, 1)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        G_losses.append(errG.item())
        D_losses.append(errD.item())
        D_x_list.append(D_x)
    put("dcgan.G_losses", G_losses)
    put("dcgan.D_losses", D_losses)
    put("dcgan.D_x", D_x_list)
    with torch.no_grad():
        put("dcgan.fake", netG(fixed_noise).detach())
    put_state("dcgan.G", netG)
    put_state("dcgan.D", netD)


def section_vae() -> None:
    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(36, 16)
            self.fc21 = nn.Linear(16, 4)
            self.fc22 = nn.Linear(16, 4)
            self.fc3 = nn.Linear(4, 16)
            self.fc4 = nn.Linear(16, 36)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 36))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 36), reduction="sum")
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return BCE + KLD

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = (torch.rand(24, 1, 6, 6) > 0.5).float()
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(data, torch.zeros(24)), batch_size=8, shuffle=True)
    epoch_losses = []
    for _epoch in range(3):
        model.train()
        train_loss = 0
        for _batch_idx, (x, _) in enumerate(loader):
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(x)
            loss = loss_function(recon_batch, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_losses.append(train_loss / len(loader.dataset))
    put("vae.losses", epoch_losses)
    model.eval()
    with torch.no_grad():
        recon, mu, logvar = model(data[:4])
        put("vae.test_loss", loss_function(recon, data[:4], mu, logvar))
        sample = torch.randn(5, 4)
        put("vae.sample", model.decode(sample))
        comparison = torch.cat([data[:2], recon.view(4, 1, 6, 6)[:2]])
        put("vae.comparison", comparison)
    put_state("vae.model", model)


def section_pgd() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.rand(8, 1, 8, 8)
    y = torch.randint(0, 3, (8,))

    def pgd_attack(model, images, labels, eps=0.1, alpha=0.03, iters=4):
        original = images.data
        images = images + torch.empty_like(images).uniform_(-eps, eps)
        images = torch.clamp(images, 0, 1).detach()
        for _ in range(iters):
            images.requires_grad = True
            outputs = model(images)
            model.zero_grad()
            cost = F.cross_entropy(outputs, labels)
            grad = torch.autograd.grad(cost, images)[0]
            adv_images = images + alpha * grad.sign()
            eta = torch.clamp(adv_images - original, min=-eps, max=eps)
            images = torch.clamp(original + eta, min=0, max=1).detach_()
        return images

    clean_losses, adv_losses = [], []
    for _ in range(4):
        model.eval()
        adv = pgd_attack(model, x, y)
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(adv), y)
        loss.backward()
        optimizer.step()
        adv_losses.append(loss.item())
        with torch.no_grad():
            clean_losses.append(F.cross_entropy(model(x), y).item())
    put("pgd.adv_losses", adv_losses)
    put("pgd.clean_losses", clean_losses)
    put("pgd.adv", adv)
    put("pgd.linf", (adv - x).abs().max())
    put_state("pgd.model", model)


class LineWorld:
    """A tiny episodic task: walk a line of 7 cells from the centre, reward at the right end;
    the observation is the position's one-hot plus a velocity-like noise-free feature."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.n = 7

    def obs(self):
        o = [0.0] * self.n
        o[self.pos] = 1.0
        return o + [self.pos / (self.n - 1)]

    def reset(self):
        self.pos = self.n // 2 + self.rng.choice((-1, 0, 1))
        self.t = 0
        return self.obs()

    def step(self, action):
        self.pos = max(0, min(self.n - 1, self.pos + (1 if action == 1 else -1)))
        self.t += 1
        terminated = self.pos in (0, self.n - 1)
        reward = 1.0 if self.pos == self.n - 1 else (-1.0 if self.pos == 0 else -0.05)
        return self.obs(), reward, terminated, self.t >= 12


def section_dqn() -> None:
    Transition = namedtuple("Transition", ("state", "action", "next_state", "reward"))

    class ReplayMemory:
        def __init__(self, capacity, rng):
            self.memory = deque([], maxlen=capacity)
            self.rng = rng

        def push(self, *args):
            self.memory.append(Transition(*args))

        def sample(self, batch_size):
            return self.rng.sample(self.memory, batch_size)

        def __len__(self):
            return len(self.memory)

    class DQN(nn.Module):
        def __init__(self, n_observations, n_actions):
            super().__init__()
            self.layer1 = nn.Linear(n_observations, 32)
            self.layer2 = nn.Linear(32, 32)
            self.layer3 = nn.Linear(32, n_actions)

        def forward(self, x):
            x = F.relu(self.layer1(x))
            x = F.relu(self.layer2(x))
            return self.layer3(x)

    BATCH_SIZE, GAMMA, EPS_START, EPS_END, EPS_DECAY, TAU, LR = 8, 0.99, 0.9, 0.05, 50, 0.05, 1e-3
    env = LineWorld(0)
    rng = random.Random(3)
    n_actions, n_observations = 2, 8
    policy_net = DQN(n_observations, n_actions)
    target_net = DQN(n_observations, n_actions)
    target_net.load_state_dict(policy_net.state_dict())
    optimizer = torch.optim.AdamW(policy_net.parameters(), lr=LR, amsgrad=True)
    memory = ReplayMemory(200, rng)
    steps_done = 0

    def select_action(state):
        nonlocal steps_done
        sample = rng.random()
        eps_threshold = EPS_END + (EPS_START - EPS_END) * math.exp(-1. * steps_done / EPS_DECAY)
        steps_done += 1
        if sample > eps_threshold:
            with torch.no_grad():
                return policy_net(state).max(1).indices.view(1, 1)
        return torch.tensor([[rng.randrange(n_actions)]], dtype=torch.long)

    losses = []

    def optimize_model():
        if len(memory) < BATCH_SIZE:
            return
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
            next_state_values[non_final_mask] = target_net(non_final_next_states).max(1).values
        expected_state_action_values = (next_state_values * GAMMA) + reward_batch
        criterion = nn.SmoothL1Loss()
        loss = criterion(state_action_values, expected_state_action_values.unsqueeze(1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(policy_net.parameters(), 100)
        optimizer.step()
        losses.append(loss.item())

    durations = []
    for _i_episode in range(6):
        state = torch.tensor(env.reset(), dtype=torch.float32).unsqueeze(0)
        for t in count():
            action = select_action(state)
            observation, reward, terminated, truncated = env.step(action.item())
            reward = torch.tensor([reward])
            done = terminated or truncated
            next_state = None if terminated else torch.tensor(
                observation, dtype=torch.float32).unsqueeze(0)
            memory.push(state, action, next_state, reward)
            state = next_state
            optimize_model()
            target_net_state_dict = target_net.state_dict()
            policy_net_state_dict = policy_net.state_dict()
            for key in policy_net_state_dict:
                target_net_state_dict[key] = (policy_net_state_dict[key] * TAU
                                              + target_net_state_dict[key] * (1 - TAU))
            target_net.load_state_dict(target_net_state_dict)
            if done:
                durations.append(t + 1)
                break
    put("dqn.losses", losses)
    put("dqn.durations", durations)
    put_state("dqn.target", target_net)
    put_state("dqn.policy", policy_net)


def section_reinforce_ac() -> None:
    from torch.distributions import Categorical

    eps = torch.finfo(torch.float32).eps

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(8, 16)
            self.dropout = nn.Dropout(p=0.2)
            self.affine2 = nn.Linear(16, 2)
            self.saved_log_probs = []
            self.rewards = []

        def forward(self, x):
            x = self.affine1(x)
            x = self.dropout(x)
            x = F.relu(x)
            return F.softmax(self.affine2(x), dim=1)

    policy = Policy()
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    env = LineWorld(5)
    gamma = 0.99

    def select_action(state):
        state = torch.tensor(state).float().unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.appendleft(R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss.item()

    pg_losses, running = [], []
    running_reward = 0.0
    for _i_episode in range(5):
        state, ep_reward = env.reset(), 0
        for _t in range(1, 13):
            action = select_action(state)
            state, reward, terminated, truncated = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break
        if len(policy.rewards) < 2:  # (a one-step episode has no std)
            policy.rewards.append(0.0)
            policy.saved_log_probs.append(policy.saved_log_probs[-1] * 0)
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        pg_losses.append(finish_episode())
        running.append(running_reward)
    put("rl.pg_losses", pg_losses)
    put("rl.running", running)
    put_state("rl.policy", policy)

    # actor-critic with a shared body, values trained with smooth L1
    SavedAction = namedtuple("SavedAction", ["log_prob", "value"])

    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(8, 16)
            self.action_head = nn.Linear(16, 2)
            self.value_head = nn.Linear(16, 1)
            self.saved_actions = []
            self.rewards = []

        def forward(self, x):
            x = F.relu(self.affine1(x))
            return F.softmax(self.action_head(x), dim=-1), self.value_head(x)

    model = ActorCritic()
    ac_opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    ac_losses, actions = [], []
    for _ in range(4):
        state = env.reset()
        for _t in range(12):
            probs, state_value = model(torch.tensor(state).float())
            m = Categorical(probs)
            action = m.sample()
            actions.append(action.item())
            model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
            state, reward, terminated, truncated = env.step(action.item())
            model.rewards.append(reward)
            if terminated or truncated:
                break
        R, returns = 0, []
        for r in model.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        if len(returns) > 1:
            returns = (returns - returns.mean()) / (returns.std() + eps)
        policy_losses, value_losses = [], []
        for (log_prob, value), R in zip(model.saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        ac_opt.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        ac_opt.step()
        ac_losses.append(loss.item())
        del model.rewards[:]
        del model.saved_actions[:]
    put("rl.ac_losses", ac_losses)
    put("rl.ac_actions", actions)
    put_state("rl.ac", model)


SECTIONS = {"dcgan": section_dcgan, "vae": section_vae, "pgd": section_pgd,
            "dqn": section_dqn, "rl": section_reinforce_ac}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
