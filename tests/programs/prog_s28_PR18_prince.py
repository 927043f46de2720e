"""Exercises of the kind a deep-learning theory course sets, done in PyTorch (PR18, session 28;
rewritten in our own code in session 30, DD2): a one-input network of three hinges under
several activations and counting its linear regions, losses as negative log-likelihoods
(normal, Bernoulli, categorical, Poisson, von Mises) checked against torch.distributions,
gradient descent with a bracketing line search and with momentum on a two-parameter wave
model, backpropagation written out for a deep ReLU stack in float64 against finite differences
and autograd, initialisation (signal spread through deep stacks, kaiming / xavier / small,
kaiming_uniform_ modes), regularisation (weight decay against explicit L2, early stopping,
ensembles, dropout as an ensemble), residual stacks with and without batch norm, attention
written per token and as matrices against nn.MultiheadAttention and
scaled_dot_product_attention, and a 1-D diffusion toy. Tiny sizes, seeded; run by
prog_s28_PR18_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_shallow() -> None:
    def three_hinges(x, act, out_w, out_b, in_w, in_b):
        """out_b + sum_k out_w[k] act(in_b[k] + in_w[k] x), and the hidden pieces."""
        pre = in_b[:, None] + in_w[:, None] * x[None]
        hidden = act(pre)
        return out_b + (out_w[:, None] * hidden).sum(0), pre, hidden

    def most_regions(inputs, units):
        return sum(math.comb(units, j) for j in range(inputs + 1))

    with printed("ud_shallow.log"):
        x = torch.linspace(0, 0.9, 10)
        in_w, in_b = torch.tensor([-0.8, 1.5, 0.7]), torch.tensor([0.2, -0.9, -0.4])
        out_w, out_b = torch.tensor([1.5, -2.0, 5.0]), -0.2
        y, pre, hidden = three_hinges(x, torch.relu, out_w, out_b, in_w, in_b)
        print("y", y)
        print("third pre-activation", pre[2])
        steps = lambda z: torch.heaviside(z, torch.tensor(0.0))  # noqa: E731
        for name, act in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("step", steps),
                          ("identity", lambda z: z)):
            print(f"{name:>9}", three_hinges(x, act, out_w, out_b, in_w, in_b)[0]
                  .round(decimals=3))
        torch.manual_seed(286)
        net = nn.Sequential(nn.Linear(1, 6), nn.ReLU(), nn.Linear(6, 1)).double()
        joints = net[0].bias.neg().div(net[0].weight.squeeze(1)).sort().values
        print("joints at", joints)
        # between two neighbouring joints the net is one line: three points of each piece
        # lie on it (second difference ~0 in float64) and its slope changes at every joint
        with torch.no_grad():
            edges = torch.cat([joints.new_tensor([-5.0]), joints[joints.abs() < 5],
                               joints.new_tensor([5.0])])
            inside = edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * torch.tensor(
                [0.25, 0.5, 0.75], dtype=torch.float64)
            y3 = net(inside.reshape(-1, 1)).reshape(-1, 3)
            bent = (y3[:, 0] - 2 * y3[:, 1] + y3[:, 2]).abs().max().item()
            slope = (y3[:, 2] - y3[:, 0]) / (inside[:, 2] - inside[:, 0])
        pieces = len(slope)
        print("pieces", pieces, "straight within each", bent < 1e-9,
              "slope changes at each joint", bool((slope.diff().abs() > 1e-6).all()))
        print("pieces within bound", pieces <= most_regions(1, 6), "bound", most_regions(1, 6))
        print([most_regions(d, 10) for d in (1, 2, 5, 10)], f"{most_regions(10, 500):.4e}")
        counts = [sum(p.numel() for p in nn.Sequential(nn.Linear(d, h), nn.ReLU(),
                                                       nn.Linear(h, 1)).parameters())
                  for d, h in ((1, 3), (2, 8), (10, 100))]
        print("parameter counts", counts)


def section_losses() -> None:
    torch.manual_seed(287)
    x = torch.linspace(-1, 1, 8)
    y_normal = torch.sin(2 * x) + 0.1 * torch.randn(8)
    y_binary = (torch.rand(8) < torch.sigmoid(3 * x)).float()
    y_class = torch.tensor([0, 2, 1, 1, 0, 2, 2, 1])
    y_count = torch.poisson(torch.exp(x))
    y_angle = torch.remainder(2 * x + 0.2 * torch.randn(8), 2 * math.pi) - math.pi
    with printed("ud_losses.log"):
        def normal_nll(y, mu, sigma):
            return -torch.sum(-0.5 * torch.log(2 * math.pi * sigma ** 2)
                              - (y - mu) ** 2 / (2 * sigma ** 2))

        mu = torch.sin(2 * x)
        for sigma in (0.05, 0.1, 0.2):
            ours = normal_nll(y_normal, mu, torch.tensor(sigma))
            ref = -torch.distributions.Normal(mu, sigma).log_prob(y_normal).sum()
            print(f"normal sigma={sigma}: {ours:.4f} {ref:.4f} mse {F.mse_loss(mu, y_normal):.5f}")
        lam = torch.sigmoid(3 * x)
        bern = -torch.sum(y_binary * torch.log(lam) + (1 - y_binary) * torch.log(1 - lam))
        bce = F.binary_cross_entropy(lam, y_binary, reduction="sum")
        bce_logits = F.binary_cross_entropy_with_logits(3 * x, y_binary, reduction="sum")
        print("bernoulli", f"{bern:.4f}", f"{bce:.4f}", f"{bce_logits:.4f}")
        logits = torch.stack([x, -x, x ** 2], 1)
        softmax = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
        cat = -torch.log(softmax[torch.arange(8), y_class]).sum()
        ce = F.cross_entropy(logits, y_class, reduction="sum")
        print("categorical", f"{cat:.4f}", f"{ce:.4f}",
              f"{-torch.distributions.Categorical(logits=logits).log_prob(y_class).sum():.4f}")
        rate = torch.exp(x)
        pois = -torch.sum(y_count * torch.log(rate) - rate - torch.lgamma(y_count + 1))
        print("poisson", y_count, f"{pois:.4f}",
              f"{F.poisson_nll_loss(torch.log(rate), y_count, full=False, reduction='sum'):.4f}",
              f"{-torch.distributions.Poisson(rate).log_prob(y_count).sum():.4f}")
        kappa = torch.tensor(4.0)
        vm = -torch.sum(kappa * torch.cos(y_angle - 2 * x) - math.log(2 * math.pi)
                        - torch.log(torch.special.i0(kappa)))
        print("von mises", f"{vm:.4f}",
              f"{-torch.distributions.VonMises(2 * x, kappa).log_prob(y_angle).sum():.4f}")
        # the maximum-likelihood sigma is the rms residual; fitted through log sigma (sigma
        # itself steps below zero) with L-BFGS's strong-Wolfe line search
        log_sigma = torch.tensor(math.log(0.5), requires_grad=True)
        opt = torch.optim.LBFGS([log_sigma], lr=1, max_iter=50, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = normal_nll(y_normal, mu, log_sigma.exp())
            loss.backward()
            return loss

        opt.step(closure)
        sigma, rms = log_sigma.exp().item(), (y_normal - mu).pow(2).mean().sqrt().item()
        print(f"ML sigma {sigma:.4f} rms {rms:.4f} equal {abs(sigma - rms) < 1e-4 * rms}")


def section_gradient_descent() -> None:
    torch.manual_seed(288)
    xs = torch.linspace(-8, 8, 16)
    ys = torch.sin(0.3 * xs + 0.5) * torch.exp(-xs ** 2 / 32) + 0.05 * torch.randn(16)

    def wave(theta, x):
        u = theta[0] + 0.06 * theta[1] * x
        return torch.sin(u) * torch.exp(-u ** 2 / 32)

    def sse(theta):
        return torch.sum((wave(theta, xs) - ys) ** 2)

    def gradient(theta):
        theta = theta.detach().requires_grad_(True)
        return torch.autograd.grad(sse(theta), theta)[0]

    def bracket(theta, direction, reach, tol=1e-4, rounds=15):
        """Shrinks [lo, hi] around the best step length along -direction by comparing the
        cost at its thirds."""
        lo, hi = 0.0, reach
        for _ in range(rounds):
            third = (hi - lo) / 3
            m1, m2 = lo + third, hi - third
            if m2 - m1 <= tol:
                break
            costs = torch.stack([sse(theta - s * direction) for s in (lo, m1, m2, hi)])
            if int(torch.argmin(costs)) == 0:
                hi = lo + (hi - lo) / 2
            elif costs[1] < costs[2]:
                hi = m2
            else:
                lo = m1
        return (lo + hi) / 2

    with printed("ud_gd.log", warnings_too=False):
        theta = torch.tensor([-1.5, 40.0])
        print(f"starting cost {sse(theta):.4f}")
        g = gradient(theta)
        h = 1e-4
        by_diff = torch.stack([(sse(theta + h * e) - sse(theta)) / h for e in torch.eye(2)])
        print("gradient", g, "differences agree", torch.allclose(g, by_diff, rtol=0.05,
                                                                 atol=0.05))
        for step in range(6):
            direction = 0.01 * gradient(theta)
            length = bracket(theta, direction, reach=2.0)
            theta = theta - length * direction
            print(f"search step {step}: length {length:.4f} cost {sse(theta):.4f}")
        for keep in (0.0, 0.9):
            theta, velocity = torch.tensor([-1.5, 40.0]), torch.zeros(2)
            for _ in range(30):
                velocity = keep * velocity + (1 - keep) * gradient(theta)
                theta = theta - 0.05 * velocity
            print(f"momentum {keep}: theta {theta} cost {sse(theta):.4f}")
        put("ud_gd.phi", theta)


def section_backprop() -> None:
    torch.manual_seed(289)
    depth, width = 4, 5
    shapes = [(width, 1)] + [(width, width)] * (depth - 1) + [(1, width)]
    mats = [torch.randn(*s, dtype=torch.float64) for s in shapes]
    shifts = [torch.randn(s[0], 1, dtype=torch.float64) for s in shapes]

    def run(x, mats, shifts):
        """Pre-activations and activations of every layer; the last pre-activation is the
        output."""
        pres, acts = [], [x]
        for i, (m, s) in enumerate(zip(mats, shifts)):
            pres.append(s + m @ acts[-1])
            if i < len(mats) - 1:
                acts.append(pres[-1].clamp(min=0.0))
        return pres, acts

    def cost(out, target):
        return torch.sum((out - target) ** 2)

    def backprop(mats, pres, acts, target):
        d_pre = 2 * (pres[-1] - target)
        d_mats, d_shifts = [None] * len(mats), [None] * len(mats)
        for i in range(len(mats) - 1, -1, -1):
            d_shifts[i] = d_pre.clone()
            d_mats[i] = d_pre @ acts[i].T
            if i > 0:
                d_pre = (pres[i - 1] > 0).to(d_pre.dtype) * (mats[i].T @ d_pre)
        return d_mats, d_shifts

    with printed("ud_backprop.log"):
        x = torch.full((1, 1), 0.9, dtype=torch.float64)
        target = torch.full((1, 1), 15.0, dtype=torch.float64)
        pres, acts = run(x, mats, shifts)
        base = cost(pres[-1], target)
        print(f"output {pres[-1].item():.6f} cost {base:.6f}")
        d_mats, d_shifts = backprop(mats, pres, acts, target)
        h, probe = 1e-8, 2
        by_diff = torch.zeros_like(mats[probe])
        for r in range(width):
            for c in range(width):
                nudged = [m.clone() for m in mats]
                nudged[probe][r, c] += h
                by_diff[r, c] = (cost(run(x, nudged, shifts)[0][-1], target) - base) / h
        print("fd vs backprop", torch.allclose(by_diff, d_mats[probe], rtol=1e-4, atol=1e-4))
        leaves = [m.clone().requires_grad_() for m in mats]
        leaf_shifts = [s.clone().requires_grad_() for s in shifts]
        cost(run(x, leaves, leaf_shifts)[0][-1], target).backward()
        for i in range(depth + 1):
            print(i, torch.allclose(leaves[i].grad, d_mats[i]),
                  torch.allclose(leaf_shifts[i].grad, d_shifts[i]),
                  f"{(leaves[i].grad - d_mats[i]).abs().max().item():.1e}")
        print(d_mats[-1])
        print(d_shifts[0].T)


def section_init() -> None:
    def spreads(x, mats, every=5):
        h, out = x, []
        for i, m in enumerate(mats):
            h = torch.relu(m @ h)
            if i % every == 0:
                out.append(f"{h.std().item():.3g}")
        return out

    with printed("ud_init.log"):
        depth, width = 20, 40
        signal = torch.randn(1, 100)
        for variance in (1.0, 2.0 / width, 0.5 / width):
            torch.manual_seed(290)
            scale = math.sqrt(variance)
            mats = ([torch.randn(width, 1) * scale]
                    + [torch.randn(width, width) * scale for _ in range(depth - 1)])
            print(f"weight variance {variance:.4f}: spread every 5 layers", spreads(signal, mats))
        # forward and backward with nn, kaiming vs normal(0, 1) vs xavier
        for name, init in (("kaiming", lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")),
                           ("xavier", nn.init.xavier_normal_),
                           ("small", lambda w: nn.init.normal_(w, 0.0, 0.01))):
            torch.manual_seed(291)
            layers = []
            for _ in range(12):
                lin = nn.Linear(32, 32, bias=False)
                init(lin.weight)
                layers += [lin, nn.ReLU()]
            net = nn.Sequential(*layers, nn.Linear(32, 1))
            x = torch.randn(64, 32)
            acts = []
            hooks = [m.register_forward_hook(lambda m, i, o, acts=acts: acts.append(o.std().item()))
                     for m in net if isinstance(m, nn.ReLU)]
            net(x).sum().backward()
            for h in hooks:
                h.remove()
            grads = [net[i].weight.grad.std().item() for i in (0, 10, 22)]
            print(f"{name:8s} act std {acts[0]:.3e} {acts[5]:.3e} {acts[-1]:.3e} "
                  f"grad std {grads[0]:.3e} {grads[1]:.3e} {grads[2]:.3e}")
        w = torch.empty(300, 200)
        for mode in ("fan_in", "fan_out"):
            torch.manual_seed(292)
            nn.init.kaiming_uniform_(w, a=math.sqrt(5), mode=mode)
            print(mode, f"{w.abs().max().item():.6f}", f"{w.var().item():.6f}",
                  nn.init.calculate_gain("leaky_relu", math.sqrt(5)))


def section_regularization() -> None:
    torch.manual_seed(293)
    x = torch.rand(30, 1) * 2 - 1
    y = torch.sin(3 * x) + 0.3 * torch.randn(30, 1)
    x_val = torch.rand(30, 1) * 2 - 1
    y_val = torch.sin(3 * x_val) + 0.3 * torch.randn(30, 1)

    def make(seed, p=0.0):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Dropout(p), nn.Linear(32, 1))

    def fit(model, epochs, weight_decay=0.0, l2=0.0, patience=None):
        decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
        no_decay = [p for n, p in model.named_parameters() if not n.endswith("weight")]
        opt = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}], lr=0.1)
        best, best_state, bad = float("inf"), None, 0
        for epoch in range(epochs):
            model.train()
            loss = F.mse_loss(model(x), y)
            if l2:
                loss = loss + l2 * sum((p ** 2).sum() for n, p in model.named_parameters()
                                       if n.endswith("weight"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                val = F.mse_loss(model(x_val), y_val).item()
            if patience is not None:
                if val < best - 1e-4:
                    best, bad = val, 0
                    best_state = {k: v.clone() for k, v in model.state_dict().items()}
                else:
                    bad += 1
                    if bad >= patience:
                        print(f"  early stop at epoch {epoch}, best val {best:.4f}")
                        model.load_state_dict(best_state)
                        break
        return val

    with printed("ud_reg.log"):
        print(f"plain    val {fit(make(1), 100):.4f}")
        print(f"wd 1e-2  val {fit(make(1), 100, weight_decay=1e-2):.4f}")
        m1, m2 = make(1), make(1)
        fit(m1, 20, weight_decay=1e-2)
        fit(m2, 20, l2=5e-3)
        same = all(torch.allclose(a, b, atol=1e-5) for (n, a), b in
                   zip(m1.named_parameters(), m2.parameters()) if n.endswith("weight"))
        print("weight_decay == explicit L2 on weights:", same)
        fit(make(1), 200, patience=5)
        models = [make(seed) for seed in range(4)]
        for model in models:
            fit(model, 60)
        with torch.no_grad():
            preds = torch.stack([model(x_val) for model in models])
            print(f"ensemble val {F.mse_loss(preds.mean(0), y_val):.4f} members "
                  f"{[round(F.mse_loss(p, y_val).item(), 4) for p in preds]}")
        drop = make(5, p=0.3)
        fit(drop, 60)
        drop.train()
        torch.manual_seed(294)
        with torch.no_grad():
            mc = torch.stack([drop(x_val) for _ in range(20)])
            drop.eval()
            print(f"mc dropout mean val {F.mse_loss(mc.mean(0), y_val):.4f} "
                  f"eval val {F.mse_loss(drop(x_val), y_val):.4f} std {mc.std(0).mean():.4f}")
        put("ud_reg.drop", drop[3].weight)


def section_residual() -> None:
    class ResNet(nn.Module):
        def __init__(self, width, blocks, batch_norm):
            super().__init__()
            self.blocks = nn.ModuleList()
            for _ in range(blocks):
                layers = [nn.BatchNorm1d(width)] if batch_norm else []
                layers += [nn.ReLU(), nn.Linear(width, width)]
                self.blocks.append(nn.Sequential(*layers))

        def forward(self, x):
            stds = []
            for block in self.blocks:
                x = x + block(x)
                stds.append(x.std().item())
            return x, stds

    with printed("ud_residual.log"):
        x = torch.randn(64, 16)
        for batch_norm in (False, True):
            torch.manual_seed(295)
            net = ResNet(16, 8, batch_norm)
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    nn.init.kaiming_normal_(m.weight)
                    nn.init.zeros_(m.bias)
            out, stds = net(x)
            print("bn" if batch_norm else "plain", [f"{s:.3f}" for s in stds])
            out.pow(2).mean().backward()
            print("  grad norms", [f"{b[-1].weight.grad.norm():.3f}" for b in net.blocks[::3]])
            if batch_norm:
                print("  running", net.blocks[0][0].running_var[:4], net.blocks[0][0].momentum)


def section_attention() -> None:
    torch.manual_seed(296)
    tokens, dim = 3, 4
    columns = [torch.randn(dim, 1) for _ in range(tokens)]
    w_q, w_k, w_v = (torch.randn(dim, dim) for _ in range(3))
    b_q, b_k, b_v = (torch.randn(dim, 1) for _ in range(3))

    def column_softmax(scores):
        e = torch.exp(scores)
        return e / e.sum(dim=0, keepdim=True)

    with printed("ud_attention.log"):
        # token by token: each output is a softmax-weighted sum of every token's value
        q = [b_q + w_q @ c for c in columns]
        k = [b_k + w_k @ c for c in columns]
        v = [b_v + w_v @ c for c in columns]
        mixed = []
        for n in range(tokens):
            weights = torch.softmax(torch.tensor([(key.T @ q[n]).item() for key in k]), dim=0)
            print("weights for token", n, weights)
            mixed.append(sum(weights[m] * v[m] for m in range(tokens)))
        per_token = torch.cat(mixed, 1)
        print("per token", per_token)
        X = torch.cat(columns, 1)
        Q, K, V = b_q + w_q @ X, b_k + w_k @ X, b_v + w_v @ X
        print("as matrices", torch.allclose(V @ column_softmax(K.T @ Q), per_token, atol=1e-5))
        scaled = V @ column_softmax(K.T @ Q / math.sqrt(dim))
        print("scaled", scaled)
        mha = nn.MultiheadAttention(dim, 1, bias=True, batch_first=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([w_q, w_k, w_v]))
            mha.in_proj_bias.copy_(torch.cat([b_q, b_k, b_v]).squeeze(1))
            mha.out_proj.weight.copy_(torch.eye(dim))
            mha.out_proj.bias.zero_()
        rows = X.T[None]
        out, attn = mha(rows, rows, rows)
        print("nn.MultiheadAttention agrees", torch.allclose(out[0].T, scaled, atol=1e-5),
              attn.shape)
        fused = F.scaled_dot_product_attention(Q.T[None], K.T[None], V.T[None])
        print("sdpa agrees", torch.allclose(fused[0].T, scaled, atol=1e-5))
        # two heads, each token blind to later ones; per-head weights kept
        later = torch.triu(torch.ones(tokens, tokens, dtype=torch.bool), diagonal=1)
        two = nn.MultiheadAttention(dim, 2, batch_first=True)
        out2, w2 = two(rows, rows, rows, attn_mask=later, average_attn_weights=False)
        print(w2.shape, (w2[0, :, 0, 1:] == 0).all().item(), w2.sum(-1).round(decimals=4))
        put("ud_attention.out2", out2)


def section_diffusion() -> None:
    torch.manual_seed(297)
    T = 20
    beta = torch.linspace(0.01, 0.25, T)
    alpha = torch.cumprod(1 - beta, 0)

    def true_pdf_sample(n):
        mix = torch.rand(n) < 0.3
        return torch.where(mix, torch.randn(n) * 0.2 - 1.0, torch.randn(n) * 0.3 + 0.8)

    with printed("ud_diffusion.log"):
        x0 = true_pdf_sample(256)
        print(f"data mean {x0.mean():.4f} std {x0.std():.4f}")
        print("alpha", alpha[[0, 4, 9, 19]])
        # forward process step by step vs the closed form (same marginal statistics)
        z = x0.clone()
        for t in range(T):
            z = torch.sqrt(1 - beta[t]) * z + torch.sqrt(beta[t]) * torch.randn_like(z)
        closed = torch.sqrt(alpha[-1]) * x0 + torch.sqrt(1 - alpha[-1]) * torch.randn_like(x0)
        print(f"diffused std {z.std():.3f} closed {closed.std():.3f}")
        # one small regressor per step predicts the noise (features: z, z^2, z^3)
        models = []
        for t in range(T):
            eps = torch.randn_like(x0)
            z_t = torch.sqrt(alpha[t]) * x0 + torch.sqrt(1 - alpha[t]) * eps
            feats = torch.stack([torch.ones_like(z_t), z_t, z_t ** 2, z_t ** 3], 1)
            w = torch.linalg.lstsq(feats.double(), eps.double()[:, None]).solution.float()
            models.append(w)
            if t % 5 == 0:
                pred = feats @ w
                print(f"t={t} noise mse {F.mse_loss(pred[:, 0], eps):.4f}")
        # ancestral sampling
        z = torch.randn(256)
        for t in range(T - 1, -1, -1):
            feats = torch.stack([torch.ones_like(z), z, z ** 2, z ** 3], 1)
            eps_hat = (feats @ models[t])[:, 0]
            z = (z - beta[t] / torch.sqrt(1 - alpha[t]) * eps_hat) / torch.sqrt(1 - beta[t])
            if t > 0:
                z = z + torch.sqrt(beta[t]) * torch.randn_like(z)
        hist = torch.histc(z.clamp(-3, 3), bins=6, min=-3, max=3)
        print(f"samples mean {z.mean():.3f} std {z.std():.3f}", hist)
        put("ud_diffusion.z", z)


SECTIONS = {
    "ud_shallow": section_shallow, "ud_losses": section_losses, "ud_gd": section_gradient_descent,
    "ud_backprop": section_backprop, "ud_init": section_init, "ud_reg": section_regularization,
    "ud_residual": section_residual, "ud_attention": section_attention,
    "ud_diffusion": section_diffusion,
}
