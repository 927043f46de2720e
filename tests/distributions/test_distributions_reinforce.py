"""Policy-gradient and VAE-style uses end to end: a REINFORCE step on a tiny Categorical policy
gives PyTorch's gradients for the same actions, a bandit learns its best arm, and a Gaussian
policy / reparameterised ELBO give PyTorch's gradients for the same noise."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
from deltagrad import distributions as dist  # noqa: E402

RNG = np.random.default_rng(0)


def _policy_loss(m, weight, bias, obs, actions, rewards):
    logits = obs @ weight + bias
    policy = m.distributions.Categorical(logits=logits)
    # REINFORCE with an entropy bonus, as in A2C-style losses
    return -(policy.log_prob(actions) * rewards).sum() - 0.01 * policy.entropy().mean()


def test_reinforce_gradient_matches_torch():
    obs = RNG.standard_normal((16, 4))
    weight, bias = RNG.standard_normal((4, 3)) * 0.5, RNG.standard_normal(3) * 0.1
    rewards = RNG.standard_normal(16)
    w = dg.tensor(weight, requires_grad=True)
    b = dg.tensor(bias, requires_grad=True)
    dg.manual_seed(0)
    with dg.no_grad():
        actions = dist.Categorical(logits=dg.tensor(obs) @ w + b).sample()
    loss = _policy_loss(dg, w, b, dg.tensor(obs), actions, dg.tensor(rewards))
    loss.backward()

    tw = torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    t_loss = _policy_loss(torch, tw, tb, torch.tensor(obs), torch.tensor(actions.numpy()),
                          torch.tensor(rewards))
    t_loss.backward()
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_reinforce_with_nn_modules_matches_torch_in_float32():
    net = dg.nn.Sequential(dg.nn.Linear(4, 8), dg.nn.Tanh(), dg.nn.Linear(8, 2))
    t_net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        for p, tp in zip(net.parameters(), t_net.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))
    obs = RNG.standard_normal((10, 4)).astype(np.float32)
    returns = RNG.standard_normal(10).astype(np.float32)
    dg.manual_seed(1)
    policy = dist.Categorical(logits=net(dg.tensor(obs)))
    actions = policy.sample()
    (-(policy.log_prob(actions) * dg.tensor(returns)).mean()).backward()
    t_policy = torch.distributions.Categorical(logits=t_net(torch.from_numpy(obs)))
    t_actions = torch.from_numpy(actions.numpy())
    (-(t_policy.log_prob(t_actions) * torch.from_numpy(returns)).mean()).backward()
    for p, tp in zip(net.parameters(), t_net.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_bandit_learns_its_best_arm():
    dg.manual_seed(2)
    payoff = dg.tensor([0.2, 1.0, 0.5])
    logits = dg.zeros(3, requires_grad=True)
    optimizer = dg.optim.SGD([logits], lr=0.5)
    for _ in range(60):
        policy = dist.Categorical(logits=logits)
        actions = policy.sample((32,))
        rewards = payoff[actions]
        loss = -(policy.log_prob(actions) * (rewards - rewards.mean())).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert dist.Categorical(logits=logits).probs.detach().numpy()[1] > 0.9


def test_gaussian_policy_and_elbo_match_torch_for_the_same_noise():
    mu, log_std = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2)) * 0.3
    eps, target = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2))

    def elbo(m, mu, log_std):
        q = m.distributions.Independent(m.distributions.Normal(mu, log_std.exp()), 1)
        z = mu + log_std.exp() * m.tensor(eps)  # the rsample path with shared noise
        prior = m.distributions.Independent(
            m.distributions.Normal(m.zeros_like(mu), m.ones_like(mu)), 1)
        likelihood = m.distributions.Normal(z, 0.5).log_prob(m.tensor(target)).sum(-1)
        return -(likelihood - m.distributions.kl_divergence(q, prior)).mean()

    a = dg.tensor(mu, requires_grad=True)
    s = dg.tensor(log_std, requires_grad=True)
    elbo(dg, a, s).backward()
    ta = torch.tensor(mu, requires_grad=True)
    ts = torch.tensor(log_std, requires_grad=True)
    elbo(torch, ta, ts).backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-10)


def test_squashed_gaussian_policy_log_prob_matches_torch():
    # SAC: a = tanh(u), u ~ N(mu, std); log pi(a) through TanhTransform, gradients to mu, std.
    mu, std = RNG.standard_normal(3), RNG.uniform(0.3, 1.5, 3)
    u = RNG.standard_normal((4, 3))

    def log_pi(m, mu, std):
        d = m.distributions
        policy = d.TransformedDistribution(d.Normal(mu, std), [d.transforms.TanhTransform()])
        return policy.log_prob(m.tanh(m.tensor(u))).sum()

    a = dg.tensor(mu, requires_grad=True)
    s = dg.tensor(std, requires_grad=True)
    got = log_pi(dg, a, s)
    got.backward()
    ta = torch.tensor(mu, requires_grad=True)
    ts = torch.tensor(std, requires_grad=True)
    expected = log_pi(torch, ta, ts)
    expected.backward()
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-9)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-8)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-8)
