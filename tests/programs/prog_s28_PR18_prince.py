"""Course-notebook programs after "Understanding Deep Learning" (Prince; PR18, session 28), the
notebooks' exercises redone in PyTorch the way students write them: shallow networks built
from ReLU hinges (counting linear regions), loss functions as negative log-likelihoods
(normal, Bernoulli, categorical, Poisson, von Mises) checked against torch.distributions,
gradient descent with a line search and momentum on a 2-parameter Gabor model, backprop by
hand through a deep ReLU net compared with autograd, initialization (activation and
gradient variance through 50 layers, He versus naive), regularization (L2, early stopping,
ensembling, dropout as an ensemble), residual networks (variance growth with and without
batch norm), self-attention by hand against nn.MultiheadAttention, and the 1-D diffusion
toy (forward noising in closed form, a denoiser fitted per step, ancestral sampling).
Tiny sizes, seeded; run by prog_s28_PR18_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_shallow() -> None:
    def shallow_1_1_3(x, activation_fn, phi_0, phi_1, phi_2, phi_3, theta_10, theta_11,
                      theta_20, theta_21, theta_30, theta_31):
        pre_1 = theta_10 + theta_11 * x
        pre_2 = theta_20 + theta_21 * x
        pre_3 = theta_30 + theta_31 * x
        act_1, act_2, act_3 = activation_fn(pre_1), activation_fn(pre_2), activation_fn(pre_3)
        w_act_1, w_act_2, w_act_3 = phi_1 * act_1, phi_2 * act_2, phi_3 * act_3
        y = phi_0 + w_act_1 + w_act_2 + w_act_3
        return y, pre_1, pre_2, pre_3, act_1, act_2, act_3, w_act_1, w_act_2, w_act_3

    def number_regions(d_in, d):
        return sum(math.comb(d, j) for j in range(d_in + 1))

    with printed("ud_shallow.log"):
        x = torch.arange(0, 1, 0.1)
        theta = (0.3, -1.0, -1.0, 2.0, -0.5, 0.65)
        out = shallow_1_1_3(x, torch.relu, -0.3, 2.0, -1.0, 7.0, *theta)
        print("y", out[0])
        print("pre_3", out[3])
        for name, fn in (("relu", torch.relu), ("sigmoid", torch.sigmoid),
                         ("heaviside", lambda z: torch.heaviside(z, torch.tensor(0.0))),
                         ("lin", lambda z: z)):
            y = shallow_1_1_3(x, fn, -0.3, 2.0, -1.0, 7.0, *theta)[0]
            print(f"{name:10s}", y.round(decimals=3))
        # counting linear regions of a 1-input ReLU net by its slope changes
        torch.manual_seed(286)
        net = nn.Sequential(nn.Linear(1, 6), nn.ReLU(), nn.Linear(6, 1))
        with torch.no_grad():
            grid = torch.linspace(-5, 5, 2001).unsqueeze(1)
            slopes = torch.diff(net(grid).squeeze(1)) / torch.diff(grid.squeeze(1))
            changes = (torch.diff(slopes).abs() > 1e-3).sum().item()
        print("hinges", net[0].bias.neg().div(net[0].weight.squeeze(1)).sort().values)
        print("regions found", changes + 1 <= 7, "max", number_regions(1, 6))
        print([number_regions(d_in, 10) for d_in in (1, 2, 5, 10)],
              f"{number_regions(10, 500):.4e}")
        params = [sum(p.numel() for p in nn.Sequential(nn.Linear(d_i, h), nn.ReLU(),
                                                       nn.Linear(h, 1)).parameters())
                  for d_i, h in ((1, 3), (2, 8), (10, 100))]
        print("parameters", params)


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
        # the maximum-likelihood sigma is the rms residual
        sigma = torch.tensor(0.5, requires_grad=True)
        opt = torch.optim.LBFGS([sigma], lr=0.5, max_iter=50)

        def closure():
            opt.zero_grad()
            loss = normal_nll(y_normal, mu, sigma)
            loss.backward()
            return loss

        opt.step(closure)
        print(f"ML sigma {sigma.item():.4f} rms {(y_normal - mu).pow(2).mean().sqrt():.4f}")


def section_gradient_descent() -> None:
    torch.manual_seed(288)
    data_x = torch.linspace(-8, 8, 16)
    data_y = torch.sin(0.3 * data_x + 0.5) * torch.exp(-data_x ** 2 / 32) + 0.05 * torch.randn(16)

    def model(phi, x):
        sin_component = torch.sin(phi[0] + 0.06 * phi[1] * x)
        gauss_component = torch.exp(-(phi[0] + 0.06 * phi[1] * x) ** 2 / 32)
        return sin_component * gauss_component

    def compute_loss(data_x, data_y, phi):
        return torch.sum((model(phi, data_x) - data_y) ** 2)

    def compute_gradient(data_x, data_y, phi):
        phi = phi.detach().requires_grad_(True)
        loss = compute_loss(data_x, data_y, phi)
        (grad,) = torch.autograd.grad(loss, phi)
        return grad

    def line_search(data_x, data_y, phi, gradient, thresh=1e-4, max_dist=0.1, max_iter=15):
        a, b, c, d = 0.0, 0.3333 * max_dist, 0.6666 * max_dist, 1.0 * max_dist
        n_iter = 0
        while abs(b - c) > thresh and n_iter < max_iter:
            n_iter += 1
            lossa = compute_loss(data_x, data_y, phi - a * gradient)
            lossb = compute_loss(data_x, data_y, phi - b * gradient)
            lossc = compute_loss(data_x, data_y, phi - c * gradient)
            lossd = compute_loss(data_x, data_y, phi - d * gradient)
            if torch.argmin(torch.stack([lossa, lossb, lossc, lossd])) == 0:
                b = a + (b - a) / 2
                c = a + (c - a) / 2
                d = a + (d - a) / 2
                continue
            if lossb < lossc:
                d = c
                b = a + (d - a) / 3
                c = a + 2 * (d - a) / 3
                continue
            a = b
            b = a + (d - a) / 3
            c = a + 2 * (d - a) / 3
        return (b + c) / 2.0

    with printed("ud_gd.log", warnings_too=False):
        phi = torch.tensor([-1.5, 40.0])
        print(f"initial loss {compute_loss(data_x, data_y, phi):.4f}")
        grad = compute_gradient(data_x, data_y, phi)
        delta = 1e-4
        fd = torch.stack([(compute_loss(data_x, data_y, phi + delta * e)
                           - compute_loss(data_x, data_y, phi)) / delta
                          for e in torch.eye(2)])
        print("grad", grad, "fd close", torch.allclose(grad, fd, rtol=0.05, atol=0.05))
        for step in range(6):
            gradient = compute_gradient(data_x, data_y, phi)
            alpha = line_search(data_x, data_y, phi, gradient * 0.01, max_dist=2.0)
            phi = phi - alpha * gradient * 0.01
            print(f"step {step} alpha {alpha:.4f} loss {compute_loss(data_x, data_y, phi):.4f}")
        # fixed step and momentum, as the notebook compares them
        for beta in (0.0, 0.9):
            phi = torch.tensor([-1.5, 40.0])
            velocity = torch.zeros(2)
            for _ in range(30):
                velocity = beta * velocity + (1 - beta) * compute_gradient(data_x, data_y, phi)
                phi = phi - 0.05 * velocity
            print(f"beta {beta}: phi {phi} loss {compute_loss(data_x, data_y, phi):.4f}")
        put("ud_gd.phi", phi)


def section_backprop() -> None:
    torch.manual_seed(289)
    K, D, D_i, D_o = 4, 5, 1, 1
    all_weights = [None] * (K + 1)
    all_biases = [None] * (K + 1)
    all_weights[0] = torch.randn(D, D_i, dtype=torch.float64)
    all_weights[-1] = torch.randn(D_o, D, dtype=torch.float64)
    all_biases[0] = torch.randn(D, 1, dtype=torch.float64)
    all_biases[-1] = torch.randn(D_o, 1, dtype=torch.float64)
    for layer in range(1, K):
        all_weights[layer] = torch.randn(D, D, dtype=torch.float64)
        all_biases[layer] = torch.randn(D, 1, dtype=torch.float64)

    def relu(preactivation):
        return preactivation.clip(0.0)

    def indicator_function(x):
        return (x > 0).to(x.dtype)

    def forward_pass(net_input, all_weights, all_biases):
        all_f = [None] * (K + 1)
        all_h = [None] * (K + 1)
        all_h[0] = net_input
        for layer in range(K):
            all_f[layer] = all_biases[layer] + all_weights[layer] @ all_h[layer]
            all_h[layer + 1] = relu(all_f[layer])
        all_f[K] = all_biases[K] + all_weights[K] @ all_h[K]
        return all_f[K], all_f, all_h

    def least_squares_loss(net_output, y):
        return torch.sum((net_output - y) ** 2)

    def d_loss_d_output(net_output, y):
        return 2 * (net_output - y)

    def backward_pass(all_weights, all_biases, all_f, all_h, y):
        all_dl_dweights = [None] * (K + 1)
        all_dl_dbiases = [None] * (K + 1)
        all_dl_df = [None] * (K + 1)
        all_dl_dh = [None] * (K + 1)
        all_dl_df[K] = d_loss_d_output(all_f[K], y)
        for layer in range(K, -1, -1):
            all_dl_dbiases[layer] = all_dl_df[layer].clone()
            all_dl_dweights[layer] = all_dl_df[layer] @ all_h[layer].T
            all_dl_dh[layer] = all_weights[layer].T @ all_dl_df[layer]
            if layer > 0:
                all_dl_df[layer - 1] = indicator_function(all_f[layer - 1]) * all_dl_dh[layer]
        return all_dl_dweights, all_dl_dbiases

    with printed("ud_backprop.log"):
        net_input = torch.ones(D_i, 1, dtype=torch.float64) * 1.2
        y = torch.ones(D_o, 1, dtype=torch.float64) * 20.0
        net_output, all_f, all_h = forward_pass(net_input, all_weights, all_biases)
        print(f"output {net_output.item():.6f} loss {least_squares_loss(net_output, y):.6f}")
        dw, db = backward_pass(all_weights, all_biases, all_f, all_h, y)
        # finite differences, as the notebook checks them
        delta = 1e-8
        layer = 1
        fd_w = torch.zeros_like(all_weights[layer])
        for row in range(D):
            for col in range(D):
                shifted = [w.clone() for w in all_weights]
                shifted[layer][row, col] += delta
                fd_w[row, col] = (least_squares_loss(forward_pass(net_input, shifted,
                                                                  all_biases)[0], y)
                                  - least_squares_loss(net_output, y)) / delta
        print("fd vs backprop", torch.allclose(fd_w, dw[layer], rtol=1e-4, atol=1e-4))
        # and autograd
        weights = [w.clone().requires_grad_() for w in all_weights]
        biases = [b.clone().requires_grad_() for b in all_biases]
        loss = least_squares_loss(forward_pass(net_input, weights, biases)[0], y)
        loss.backward()
        for layer in range(K + 1):
            print(layer, torch.allclose(weights[layer].grad, dw[layer]),
                  torch.allclose(biases[layer].grad, db[layer]),
                  f"{(weights[layer].grad - dw[layer]).abs().max().item():.1e}")
        print(dw[K])
        print(db[0].T)


def section_init() -> None:
    def compute_network_output(net_input, all_weights, all_biases, K):
        all_h = [net_input]
        for layer in range(K):
            f = all_biases[layer] + all_weights[layer] @ all_h[layer]
            all_h.append(torch.relu(f))
        return all_h

    def init_params(K, D, sigma_sq_omega):
        D_i, D_o = 1, 1
        all_weights = [torch.randn(D, D_i) * math.sqrt(sigma_sq_omega)]
        all_weights += [torch.randn(D, D) * math.sqrt(sigma_sq_omega) for _ in range(K - 1)]
        all_weights += [torch.randn(D_o, D) * math.sqrt(sigma_sq_omega)]
        all_biases = [torch.zeros(D, 1) for _ in range(K)] + [torch.zeros(D_o, 1)]
        return all_weights, all_biases

    with printed("ud_init.log"):
        K, D = 20, 40
        data_in = torch.randn(1, 100)
        for sigma_sq_omega in (1.0, 2.0 / D, 0.5 / D):
            torch.manual_seed(290)
            weights, biases = init_params(K, D, sigma_sq_omega)
            all_h = compute_network_output(data_in, weights, biases, K)
            stds = [f"{h.std().item():.3g}" for h in all_h[1::5]]
            print(f"sigma_sq {sigma_sq_omega:.4f}: layer std", stds)
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
    N, D = 3, 4
    all_x = [torch.randn(D, 1) for _ in range(N)]
    omega_q, omega_k, omega_v = (torch.randn(D, D) for _ in range(3))
    beta_q, beta_k, beta_v = (torch.randn(D, 1) for _ in range(3))

    def softmax_cols(data_in):
        exp_values = torch.exp(data_in)
        return exp_values / exp_values.sum(dim=0, keepdim=True)

    with printed("ud_attention.log"):
        all_queries, all_keys, all_values = [], [], []
        for x in all_x:
            all_queries.append(beta_q + omega_q @ x)
            all_keys.append(beta_k + omega_k @ x)
            all_values.append(beta_v + omega_v @ x)
        all_x_prime = []
        for n in range(N):
            all_km_qn = torch.tensor([(k.T @ all_queries[n]).item() for k in all_keys])
            attention = torch.softmax(all_km_qn, dim=0)
            print("attention", attention)
            x_prime = sum(attention[i] * all_values[i] for i in range(N))
            all_x_prime.append(x_prime)
        print("x_prime", torch.cat(all_x_prime, 1))
        X = torch.cat(all_x, 1)
        queries = beta_q + omega_q @ X
        keys = beta_k + omega_k @ X
        values = beta_v + omega_v @ X
        matrix = values @ softmax_cols(keys.T @ queries)
        print("matrix form", torch.allclose(matrix, torch.cat(all_x_prime, 1), atol=1e-5))
        scaled = values @ softmax_cols(keys.T @ queries / math.sqrt(D))
        print("scaled", scaled)
        mha = nn.MultiheadAttention(D, 1, bias=True, batch_first=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([omega_q, omega_k, omega_v]))
            mha.in_proj_bias.copy_(torch.cat([beta_q, beta_k, beta_v]).squeeze(1))
            mha.out_proj.weight.copy_(torch.eye(D))
            mha.out_proj.bias.zero_()
        out, weights = mha(X.T[None], X.T[None], X.T[None])
        print("mha matches", torch.allclose(out[0].T, scaled, atol=1e-5), weights.shape)
        sdpa = F.scaled_dot_product_attention(queries.T[None], keys.T[None], values.T[None])
        print("sdpa matches", torch.allclose(sdpa[0].T, scaled, atol=1e-5))
        # multi-head with a causal mask, as the notebook's exercise
        mask = torch.triu(torch.ones(N, N, dtype=torch.bool), diagonal=1)
        mha2 = nn.MultiheadAttention(D, 2, batch_first=True)
        out2, w2 = mha2(X.T[None], X.T[None], X.T[None], attn_mask=mask,
                        average_attn_weights=False)
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
