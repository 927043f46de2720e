"""pytorch/examples-style programs (P1, session 9), written from memory of the originals, run
unchanged on PyTorch and under deltagrad's alias (the dcgan section rewritten in our own code
in session 31, DD3, as is the vae section; PG2's copies of both removed in their favour).

Usage: ``prog_s9_P1_examples.py OUT.npz WORKDIR SECTIONS`` (comma-separated of dcgan, vae,
siamese, superres, style, reinforce, actor_critic, and the sections of prog_s9_P1_llm.py,
prog_s9_P1_gpt.py, prog_s9_P1_graph_seq.py and prog_s9_P1_legacy.py, so that one process pays
for one ``import torch``). Tiny sizes, synthetic data.
Every number goes to OUT.npz; a section that raises records its traceback as ``ERR.<section>``.
"""

import os
import random
from collections import namedtuple
from math import log10

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s9_P1_gpt import SECTIONS as GPT_SECTIONS  # noqa: E402
from prog_s9_P1_graph_seq import SECTIONS as GRAPH_SEQ_SECTIONS  # noqa: E402
from prog_s9_P1_legacy import SECTIONS as LEGACY_SECTIONS  # noqa: E402

# one harness (OUT, put, the section runner) for both P1 programs, so that one run does all
from prog_s9_P1_llm import OUT, put, run_sections  # noqa: E402, F401
from prog_s9_P1_llm import SECTIONS as LLM_SECTIONS  # noqa: E402


def put_params(prefix: str, module: nn.Module) -> None:
    for name, tensor in module.state_dict().items():
        put(f"{prefix}.{name}", tensor)


# --------------------------------------------------------------------------------------- DCGAN

def section_dcgan(workdir: str) -> None:
    """A small convolutional GAN over 16x16 single-channel images (our own code, session 31,
    DD3): transposed convolutions up from a noise vector, strided convolutions down to one
    probability, BatchNorm on both sides, weights drawn by ``Module.apply`` of an init function
    chosen by layer class; the discriminator takes a real batch, then a detached fake one, then
    the generator takes its step through the discriminator's verdict on the same fakes. The
    generator's state dict is saved, loaded into a fresh one and run in eval mode."""
    code, width = 6, 3  # noise size, channel unit

    def init_by_class(layer):
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            torch.nn.init.normal_(layer.weight, 0.0, 0.03)
        elif isinstance(layer, nn.BatchNorm2d):
            torch.nn.init.normal_(layer.weight, 1.0, 0.03)
            torch.nn.init.constant_(layer.bias, 0.0)

    def up(c_in, c_out, stride, pad):
        return [nn.ConvTranspose2d(c_in, c_out, 4, stride, pad, bias=False),
                nn.BatchNorm2d(c_out), nn.ReLU(True)]

    class Painter(nn.Module):  # (N, code, 1, 1) -> (N, 1, 16, 16) in [-1, 1]
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(*up(code, 4 * width, 1, 0), *up(4 * width, 2 * width, 2, 1),
                                        nn.ConvTranspose2d(2 * width, 1, 4, 2, 1, bias=False),
                                        nn.Tanh())

        def forward(self, noise):
            return self.layers(noise)

    class Critic(nn.Module):  # (N, 1, 16, 16) -> (N,) probabilities of "real"
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(
                nn.Conv2d(1, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(2 * width, 1, 4, 1, 0, bias=False), nn.Sigmoid())

        def forward(self, images):
            return self.layers(images).view(-1, 1).squeeze(1)

    torch.manual_seed(321)
    random.seed(321)
    painter, critic = Painter(), Critic()
    painter.apply(init_by_class)
    critic.apply(init_by_class)
    bce = nn.BCELoss()
    probe = torch.randn(3, code, 1, 1)
    paint_opt = optim.Adam(painter.parameters(), lr=3e-3, betas=(0.5, 0.999))
    judge_opt = optim.Adam(critic.parameters(), lr=3e-3, betas=(0.5, 0.999))
    # "real" images: a bright disc on a dark ground, its centre moving, plus noise
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    centres = torch.rand(10, 2) * 8 + 4
    discs = ((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2 < 12).float()
    images = (discs * 1.6 - 0.8 + 0.1 * torch.randn(10, 16, 16)).clamp(-1, 1).unsqueeze(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=5,
                                         shuffle=True)
    rows = []
    for _sweep in range(3):
        for step, (real,) in enumerate(loader):
            n = real.size(0)
            critic.zero_grad()
            target = torch.full((n,), 1, dtype=real.dtype)
            said_real = critic(real)
            on_real = bce(said_real, target)
            on_real.backward()
            fakes = painter(torch.randn(n, code, 1, 1))
            target.fill_(0)
            said_fake = critic(fakes.detach())
            on_fake = bce(said_fake, target)
            on_fake.backward()
            judge_opt.step()
            painter.zero_grad()
            target.fill_(1)
            fooled = critic(fakes)
            paint_loss = bce(fooled, target)
            paint_loss.backward()
            paint_opt.step()
            rows.append([(on_real + on_fake).item(), paint_loss.item(), said_real.mean().item(),
                         said_fake.mean().item(), fooled.mean().item(), step])
    put("dcgan.errs", np.array(rows))
    with torch.no_grad():
        put("dcgan.fake", painter(probe))
    put_params("dcgan.G", painter)
    put_params("dcgan.D", critic)
    path = os.path.join(workdir, "painter.pth")
    torch.save(painter.state_dict(), path)
    again = Painter()
    again.load_state_dict(torch.load(path))
    again.eval()
    with torch.no_grad():
        put("dcgan.eval_fake", again(probe))


# ----------------------------------------------------------------------------------------- VAE

def section_vae(workdir: str) -> None:
    """A variational autoencoder over 6x6 binary images (our own code, session 31, DD3): an
    encoder to a Gaussian's mean and log-variance, a sample through the reparameterisation
    z = mean + noise * exp(log_var / 2), a decoder to pixel probabilities; loss = summed binary
    cross-entropy + KL(q || N(0, I)); per sweep a held-out loss, reconstructions beside their
    originals and decodes of fresh codes."""

    class BinaryVAE(nn.Module):
        def __init__(self, pixels=36, hidden=20, code=4):
            super().__init__()
            self.pixels = pixels
            self.enc = nn.Linear(pixels, hidden)
            self.to_mean = nn.Linear(hidden, code)
            self.to_log_var = nn.Linear(hidden, code)
            self.dec = nn.Linear(code, hidden)
            self.to_pixels = nn.Linear(hidden, pixels)

        def posterior(self, x):
            h = F.relu(self.enc(x))
            return self.to_mean(h), self.to_log_var(h)

        def draw(self, mean, log_var):
            return mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)

        def generate(self, z):
            return torch.sigmoid(self.to_pixels(F.relu(self.dec(z))))

        def forward(self, images):
            mean, log_var = self.posterior(images.view(-1, self.pixels))
            return self.generate(self.draw(mean, log_var)), mean, log_var

    def negative_elbo(probs, images, mean, log_var):
        misfit = F.binary_cross_entropy(probs, images.view(-1, 36), reduction="sum")
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
        return misfit + kl

    torch.manual_seed(1)
    vae = BinaryVAE()
    adam = optim.Adam(vae.parameters(), lr=1e-3)
    images = (torch.rand(16, 1, 6, 6) > 0.6).float()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, torch.zeros(16)),
                                         batch_size=5, shuffle=True)
    record = []
    for sweep in (1, 2):
        vae.train()
        total = 0.0
        for batch, _unused in loader:
            adam.zero_grad()
            probs, mean, log_var = vae(batch)
            loss = negative_elbo(probs, batch, mean, log_var)
            loss.backward()
            total += loss.item()
            adam.step()
        record.append(total / len(loader.dataset))
        vae.eval()
        with torch.no_grad():
            probs, mean, log_var = vae(images[:8])
            record.append(negative_elbo(probs, images[:8], mean, log_var).item() / 8)
            put(f"vae.comparison{sweep}", torch.cat([images[:8], probs.view(8, 1, 6, 6)]))
            put(f"vae.sample{sweep}", vae.generate(torch.randn(5, 4)).cpu())
    put("vae.losses", np.array(record))
    put_params("vae.params", vae)


# ------------------------------------------------------------------------------------- siamese

def section_siamese(workdir: str) -> None:
    class SiameseNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(inplace=True),
                                          nn.MaxPool2d(2), nn.Conv2d(4, 8, 3),
                                          nn.ReLU(inplace=True))
            self.fc_in_features = 8 * 2 * 2
            self.fc = nn.Sequential(nn.Linear(self.fc_in_features * 2, 16),
                                    nn.ReLU(inplace=True), nn.Linear(16, 1))
            self.sigmoid = nn.Sigmoid()
            self.features.apply(self.init_weights)
            self.fc.apply(self.init_weights)

        def init_weights(self, m):
            if isinstance(m, nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                m.bias.data.fill_(0.01)

        def forward_once(self, x):
            output = self.features(x)
            return output.view(output.size()[0], -1)

        def forward(self, input1, input2):
            output1 = self.forward_once(input1)
            output2 = self.forward_once(input2)
            output = torch.cat((output1, output2), 1)
            output = self.fc(output)
            return self.sigmoid(output), output1, output2

    def contrastive_loss(out1, out2, label, margin=2.0):
        dist = F.pairwise_distance(out1, out2, keepdim=True)
        return torch.mean((1 - label) * torch.pow(dist, 2)
                          + label * torch.pow(torch.clamp(margin - dist, min=0.0), 2))

    class PairDataset(torch.utils.data.Dataset):
        def __init__(self, images, labels):
            self.images, self.labels = images, labels
            self.grouped = {int(c): torch.where(labels == c)[0] for c in labels.unique()}

        def __len__(self):
            return self.images.shape[0]

        def __getitem__(self, index):
            selected_class = random.randint(0, 1)
            idx1 = self.grouped[selected_class][
                torch.randint(0, len(self.grouped[selected_class]), (1,)).item()]
            if index % 2 == 0:
                idx2 = self.grouped[selected_class][
                    torch.randint(0, len(self.grouped[selected_class]), (1,)).item()]
                target = torch.tensor(1, dtype=torch.float)
            else:
                other = 1 - selected_class
                idx2 = self.grouped[other][torch.randint(0, len(self.grouped[other]), (1,)).item()]
                target = torch.tensor(0, dtype=torch.float)
            return self.images[idx1], self.images[idx2], target

    torch.manual_seed(5)
    random.seed(5)
    labels = torch.arange(12) % 2
    images = torch.randn(12, 1, 10, 10) + labels.view(-1, 1, 1, 1).float()
    loader = torch.utils.data.DataLoader(PairDataset(images, labels), batch_size=4, shuffle=True)
    model = SiameseNetwork()
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    criterion = nn.BCELoss()
    losses, accs = [], []
    for _epoch in range(2):
        model.train()
        for images_1, images_2, targets in loader:
            optimizer.zero_grad()
            outputs, o1, o2 = model(images_1, images_2).__iter__()
            outputs = outputs.squeeze()
            loss = criterion(outputs, targets) + 0.1 * contrastive_loss(o1, o2,
                                                                       targets.view(-1, 1))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        model.eval()
        with torch.no_grad():
            correct = 0
            for images_1, images_2, targets in loader:
                outputs = model(images_1, images_2)[0].squeeze()
                pred = torch.where(outputs > 0.5, 1, 0)
                correct += pred.eq(targets.view_as(pred)).sum().item()
            accs.append(correct)
    put("siamese.losses", np.array(losses))
    put("siamese.correct", np.array(accs))
    put("siamese.lr", scheduler.get_last_lr())
    put_params("siamese.params", model)


# ---------------------------------------------------------------------------- super_resolution

def section_superres(workdir: str) -> None:
    import torch.nn.init as init

    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 8, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(8, 8, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(8, 4, (3, 3), (1, 1), (1, 1))
            self.conv4 = nn.Conv2d(4, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            self._initialize_weights()

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            x = self.relu(self.conv3(x))
            return self.pixel_shuffle(self.conv4(x))

        def _initialize_weights(self):
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv4.weight)

    torch.manual_seed(123)
    model = Net(upscale_factor=2)
    put("superres.init_conv4", model.conv4.weight)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    target = torch.rand(6, 1, 12, 12)
    inputs = F.avg_pool2d(target, 2)
    losses, psnrs = [], []
    for _ in range(4):
        for start in range(0, 6, 3):
            optimizer.zero_grad()
            loss = criterion(model(inputs[start:start + 3]), target[start:start + 3])
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            mse = criterion(model(inputs), target)
            psnrs.append(10 * log10(1 / mse.item()))
    put("superres.losses", np.array(losses))
    put("superres.psnr", np.array(psnrs))
    put_params("superres.params", model)
    put("superres.unshuffle", F.pixel_unshuffle(model(inputs[:1]), 2))


# ------------------------------------------------------------------------ fast neural style

def section_style(workdir: str) -> None:
    class ConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super().__init__()
            self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            return self.conv2d(self.reflection_pad(x))

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            out = self.in2(self.conv2(out))
            return out + residual

    class UpsampleConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            x_in = x
            if self.upsample:
                x_in = torch.nn.functional.interpolate(x_in, mode="nearest",
                                                       scale_factor=self.upsample)
            return self.conv2d(self.reflection_pad(x_in))

    class TransformerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvLayer(3, 4, kernel_size=5, stride=1)
            self.in1 = torch.nn.InstanceNorm2d(4, affine=True)
            self.conv2 = ConvLayer(4, 8, kernel_size=3, stride=2)
            self.in2 = torch.nn.InstanceNorm2d(8, affine=True)
            self.res1 = ResidualBlock(8)
            self.deconv1 = UpsampleConvLayer(8, 4, kernel_size=3, stride=1, upsample=2)
            self.in4 = torch.nn.InstanceNorm2d(4, affine=True)
            self.deconv3 = ConvLayer(4, 3, kernel_size=5, stride=1)
            self.relu = torch.nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.res1(y)
            y = self.relu(self.in4(self.deconv1(y)))
            return self.deconv3(y)

    class Features(nn.Module):  # a small fixed "VGG" (frozen, random)
        def __init__(self):
            super().__init__()
            self.slice1 = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=True))
            self.slice2 = nn.Sequential(nn.MaxPool2d(2, 2), nn.Conv2d(6, 8, 3, padding=1),
                                        nn.ReLU(inplace=True))
            for param in self.parameters():
                param.requires_grad = False

        def forward(self, X):
            h1 = self.slice1(X)
            h2 = self.slice2(h1)
            VggOutputs = namedtuple("VggOutputs", ["relu1_2", "relu2_2"])
            return VggOutputs(h1, h2)

    def gram_matrix(y):
        (b, ch, h, w) = y.size()
        features = y.view(b, ch, w * h)
        features_t = features.transpose(1, 2)
        return features.bmm(features_t) / (ch * h * w)

    def normalize_batch(batch):
        mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
        std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
        batch = batch.div_(255.0)
        return (batch - mean) / std

    torch.manual_seed(42)
    np.random.seed(42)
    transformer = TransformerNet()
    vgg = Features()
    optimizer = optim.Adam(transformer.parameters(), 1e-2)
    mse_loss = torch.nn.MSELoss()
    style = torch.rand(1, 3, 8, 8).mul(255).repeat(2, 1, 1, 1)
    features_style = vgg(normalize_batch(style))
    gram_style = [gram_matrix(y) for y in features_style]
    dataset = torch.rand(6, 3, 8, 8) * 255
    losses = []
    for _epoch in range(2):
        transformer.train()
        for batch_id in range(3):
            x = dataset[2 * batch_id: 2 * batch_id + 2]
            n_batch = len(x)
            optimizer.zero_grad()
            y = transformer(x)
            y = normalize_batch(y)
            x = normalize_batch(x.clone())
            features_y = vgg(y)
            features_x = vgg(x)
            content_loss = 1e2 * mse_loss(features_y.relu2_2, features_x.relu2_2)
            style_loss = 0.0
            for ft_y, gm_s in zip(features_y, gram_style):
                gm_y = gram_matrix(ft_y)
                style_loss += mse_loss(gm_y, gm_s[:n_batch, :, :])
            style_loss *= 1e5
            total_loss = content_loss + style_loss
            total_loss.backward()
            optimizer.step()
            losses.append([content_loss.item(), style_loss.item()])
    put("style.losses", np.array(losses))
    put_params("style.params", transformer)
    transformer.eval()
    with torch.no_grad():
        output = transformer(dataset[:1]).cpu()
    img = output[0].clone().clamp(0, 255).numpy()
    put("style.image", img.transpose(1, 2, 0).astype("uint8"))
    put("style.state_keys", ",".join(transformer.state_dict().keys()))


# ------------------------------------------------------------------ REINFORCE / actor-critic

def section_reinforce(workdir: str) -> None:
    import gymnasium as gym
    from torch.distributions import Categorical

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 32)
            self.dropout = nn.Dropout(p=0.6)
            self.affine2 = nn.Linear(32, 2)
            self.saved_log_probs = []
            self.rewards = []

        def forward(self, x):
            x = self.affine1(x)
            x = self.dropout(x)
            x = F.relu(x)
            action_scores = self.affine2(x)
            return F.softmax(action_scores, dim=1)

    torch.manual_seed(543)
    env = gym.make("CartPole-v1")
    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    eps = np.finfo(np.float32).eps.item()
    gamma = 0.99

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = []
        for r in policy.rewards[::-1]:
            R = r + gamma * R
            returns.insert(0, R)
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

    running_reward = 10
    rewards, actions, losses = [], [], []
    for i_episode in range(4):
        state, _ = env.reset(seed=543 + i_episode)
        ep_reward = 0
        for _t in range(1, 40):
            action = select_action(state)
            actions.append(action)
            state, reward, terminated, truncated, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if terminated or truncated:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        losses.append(finish_episode())
        rewards.append(running_reward)
    put("reinforce.actions", np.array(actions))
    put("reinforce.rewards", np.array(rewards))
    put("reinforce.losses", np.array(losses))
    put_params("reinforce.params", policy)


def section_actor_critic(workdir: str) -> None:
    import gymnasium as gym
    from torch.distributions import Categorical

    SavedAction = namedtuple("SavedAction", ["log_prob", "value"])

    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.affine1 = nn.Linear(4, 32)
            self.action_head = nn.Linear(32, 2)
            self.value_head = nn.Linear(32, 1)
            self.saved_actions = []
            self.rewards = []

        def forward(self, x):
            x = F.relu(self.affine1(x))
            action_prob = F.softmax(self.action_head(x), dim=-1)
            return action_prob, self.value_head(x)

    torch.manual_seed(543)
    env = gym.make("CartPole-v1")
    model = Policy()
    optimizer = optim.Adam(model.parameters(), lr=3e-2)
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).float()
        probs, state_value = model(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses, value_losses, returns = [], [], []
        for r in model.rewards[::-1]:
            R = r + 0.99 * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss.item()

    actions, losses = [], []
    for i_episode in range(4):
        state, _ = env.reset(seed=100 + i_episode)
        for _t in range(1, 40):
            action = select_action(state)
            actions.append(action)
            state, reward, done, _, _ = env.step(action)
            model.rewards.append(reward)
            if done:
                break
        losses.append(finish_episode())
    put("actor_critic.actions", np.array(actions))
    put("actor_critic.losses", np.array(losses))
    put_params("actor_critic.params", model)


SECTIONS = {"dcgan": section_dcgan, "vae": section_vae, "siamese": section_siamese,
            "superres": section_superres, "style": section_style,
            "reinforce": section_reinforce, "actor_critic": section_actor_critic}


if __name__ == "__main__":
    run_sections({**LLM_SECTIONS, **GPT_SECTIONS, **GRAPH_SEQ_SECTIONS, **LEGACY_SECTIONS,
                  **SECTIONS})
