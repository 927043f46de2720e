"""More paper-code idioms, afresh (PR3, session 20): the lottery-ticket procedure (global
magnitude pruning by kthvalue, weights rewound to their initial values, masks applied with
prune.custom_from_mask); a Neural Turing Machine's addressing (cosine content weights, the
interpolation gate, a circular shift by roll, sharpening) with erase / add memory writes; a
categorical VAE with hard Gumbel-softmax samples and a temperature anneal; a pointer network
sorting numbers (additive attention as the output distribution, already chosen positions masked
by masked_fill with -inf, teacher forcing); an FT-Transformer (per-feature tokens by broadcast
products, a CLS token, a pre-norm TransformerEncoder with batch_first); SIREN (sine layers
with their special initialization, fitting a signal and its gradient, the Laplacian by double
autograd.grad); and an efficient-KAN layer (B-spline bases by the Cox-de Boor recursion, the
spline coefficients initialized by torch.linalg.lstsq, a base SiLU branch). Tiny sizes; run by
prog_s20_PR3_all.py.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from prog_s17_PG_harness import put, put_state


def section_lottery() -> None:
    model = nn.Sequential(nn.Linear(6, 24), nn.ReLU(), nn.Linear(24, 24), nn.ReLU(),
                          nn.Linear(24, 3))
    initial_state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(64, 6)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    layers = [model[0], model[2], model[4]]
    masks = [torch.ones_like(layer.weight) for layer in layers]
    record = []
    for round_ in range(3):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _step in range(8):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        record.append(loss.item())
        # global magnitude pruning of 30% of the remaining weights
        alive = torch.cat([layer.weight.detach()[mask.bool()].abs()
                           for layer, mask in zip(layers, masks)])
        k = int(0.3 * alive.numel())
        threshold = torch.kthvalue(alive, k).values
        masks = [mask * (layer.weight.detach().abs() > threshold).float()
                 for layer, mask in zip(layers, masks)]
        # rewind to the initial weights and apply the masks
        for layer in layers:
            if prune.is_pruned(layer):
                prune.remove(layer, "weight")
        model.load_state_dict(initial_state)
        for layer, mask in zip(layers, masks):
            prune.custom_from_mask(layer, name="weight", mask=mask)
        put(f"lottery.threshold.{round_}", threshold)
    put("lottery.record", record)
    put("lottery.sparsity", [1 - float(m.sum()) / m.numel() for m in masks])
    put("lottery.masks", masks)
    put_state("lottery.state", model)
    put("lottery.keys", sorted(model.state_dict()))
    with torch.no_grad():
        put("lottery.rewound_out", model(x[:4]))


class NTMMemory:
    def __init__(self, n, m):
        self.memory = torch.full((1, n, m), 1e-6)

    def address(self, k, beta, g, s, gamma, w_prev):
        # content addressing
        w_c = F.softmax(beta * F.cosine_similarity(self.memory + 1e-16, k.unsqueeze(1) + 1e-16,
                                                   dim=-1), dim=1)
        w_g = g * w_c + (1 - g) * w_prev
        # circular convolution with a shift over (-1, 0, 1)
        w_hat = (s[:, 0:1] * torch.roll(w_g, -1, 1) + s[:, 1:2] * w_g
                 + s[:, 2:3] * torch.roll(w_g, 1, 1))
        w = w_hat ** gamma
        return torch.div(w, torch.sum(w, dim=1).view(-1, 1) + 1e-16)

    def write(self, w, e, a):
        erase = torch.matmul(w.unsqueeze(-1), e.unsqueeze(1))
        add = torch.matmul(w.unsqueeze(-1), a.unsqueeze(1))
        self.memory = self.memory * (1 - erase) + add

    def read(self, w):
        return torch.matmul(w.unsqueeze(1), self.memory).squeeze(1)


class NTMHead(nn.Module):
    def __init__(self, controller_size, m):
        super().__init__()
        self.m = m
        self.fc = nn.Linear(controller_size, m + 1 + 1 + 3 + 1 + 2 * m)

    def forward(self, h):
        o = self.fc(h)
        k, beta, g, s, gamma, e, a = torch.split(o, [self.m, 1, 1, 3, 1, self.m, self.m], 1)
        return (k, F.softplus(beta), torch.sigmoid(g), F.softmax(s, dim=1),
                1 + F.softplus(gamma), torch.sigmoid(e), a)


def section_ntm() -> None:
    n, m, width = 8, 4, 6
    controller = nn.LSTMCell(width + m, 16)
    head = NTMHead(16, m)
    out = nn.Linear(16 + m, width)
    params = [*controller.parameters(), *head.parameters(), *out.parameters()]
    optimizer = torch.optim.RMSprop(params, lr=3e-3, momentum=0.9, alpha=0.95)
    losses = []
    for step in range(4):
        seq = torch.bernoulli(torch.full((3, 1, width), 0.5))
        seq[:, :, -1] = 0
        delimiter = torch.zeros(1, 1, width)
        delimiter[0, 0, -1] = 1
        inputs = torch.cat([seq, delimiter, torch.zeros(3, 1, width)])
        memory = NTMMemory(n, m)
        w = torch.zeros(1, n)
        w[0, 0] = 1
        read = torch.zeros(1, m)
        state = (torch.zeros(1, 16), torch.zeros(1, 16))
        outputs = []
        for x in inputs:
            state = controller(torch.cat([x, read], 1), state)
            k, beta, g, s, gamma, e, a = head(state[0])
            w = memory.address(k, beta, g, s, gamma, w)
            memory.write(w, e, a)
            read = memory.read(w)
            outputs.append(out(torch.cat([state[0], read], 1)))
        prediction = torch.stack(outputs[-3:])
        loss = F.binary_cross_entropy_with_logits(prediction, seq)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_value_(params, 10)
        optimizer.step()
        losses.append(loss.item())
        if step == 0:
            put("ntm.w", w)
            put("ntm.memory", memory.memory)
            put("ntm.grads", [p.grad for p in head.parameters()])
    put("ntm.losses", losses)
    put_state("ntm.controller", controller)
    put_state("ntm.head", head)


class CategoricalVAE(nn.Module):
    def __init__(self, latent_dim=4, categorical_dim=5):
        super().__init__()
        self.latent_dim, self.categorical_dim = latent_dim, categorical_dim
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, latent_dim * categorical_dim)
        self.fc3 = nn.Linear(latent_dim * categorical_dim, 32)
        self.fc4 = nn.Linear(32, 16)

    def encode(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x, temp, hard):
        q = self.encode(x.view(-1, 16))
        q_y = q.view(q.size(0), self.latent_dim, self.categorical_dim)
        z = F.gumbel_softmax(q_y, tau=temp, hard=hard)
        return self.decode(z.view(-1, self.latent_dim * self.categorical_dim)), F.softmax(
            q_y, dim=-1).reshape(*q.size())


def section_gumbel() -> None:
    data = (torch.rand(32, 16) > 0.6).float()
    model = CategoricalVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    temp, temp_min, anneal_rate = 1.0, 0.5, 0.1
    record = []
    for epoch in range(3):
        for batch_idx in range(2):
            x = data[batch_idx * 16:batch_idx * 16 + 16]
            recon_batch, qy = model(x, temp, hard=epoch > 0)
            bce = F.binary_cross_entropy(recon_batch, x.view(-1, 16), reduction="sum") / 16
            log_ratio = torch.log(qy * model.categorical_dim + 1e-20)
            kld = torch.sum(qy * log_ratio, dim=-1).mean()
            loss = bce + kld
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            record.append([bce.item(), kld.item()])
        temp = float(np.maximum(temp * np.exp(-anneal_rate * (epoch + 1)), temp_min))
    put("gumbel.record", record)
    put("gumbel.temp", temp)
    put_state("gumbel.state", model)
    hard = F.gumbel_softmax(torch.randn(3, 5), tau=0.5, hard=True)
    put("gumbel.hard", hard)
    logits = torch.randn(2, 5, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.7)
    (soft * torch.arange(5.0)).sum().backward()
    put("gumbel.soft", soft)
    put("gumbel.grad", logits.grad)


class PointerNet(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(hidden, hidden)
        self.W1 = nn.Linear(hidden, hidden, bias=False)
        self.W2 = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)
        self.start = nn.Parameter(torch.zeros(hidden))

    def forward(self, x, targets=None):
        batch, n = x.shape
        embedded = self.embed(x.unsqueeze(-1))
        enc, (h, c) = self.encoder(embedded)
        state = (h[0], c[0])
        dec_in = self.start.expand(batch, -1)
        mask = torch.zeros(batch, n, dtype=torch.bool)
        log_probs, chosen = [], []
        for i in range(n):
            state = self.decoder(dec_in, state)
            scores = self.v(torch.tanh(self.W1(enc) + self.W2(state[0]).unsqueeze(1))).squeeze(-1)
            scores = scores.masked_fill(mask, float("-inf"))
            log_p = F.log_softmax(scores, dim=-1)
            index = targets[:, i] if targets is not None else log_p.argmax(-1)
            log_probs.append(log_p)
            chosen.append(index)
            mask = mask.clone()
            mask[torch.arange(batch), index] = True
            dec_in = embedded[torch.arange(batch), index]
        return torch.stack(log_probs, 1), torch.stack(chosen, 1)


def section_pointer() -> None:
    model = PointerNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _step in range(12):
        x = torch.rand(8, 5)
        targets = x.argsort(dim=1)
        log_probs, _ = model(x, targets)
        loss = F.nll_loss(log_probs.reshape(-1, 5), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        optimizer.step()
        losses.append(loss.item())
    put("pointer.losses", losses)
    put_state("pointer.state", model)
    x = torch.rand(4, 5)
    with torch.no_grad():
        log_probs, chosen = model(x)
    put("pointer.chosen", chosen)
    put("pointer.log_probs", torch.where(torch.isinf(log_probs), torch.zeros_like(log_probs),
                                         log_probs))
    put("pointer.n_inf", torch.isinf(log_probs).sum())


class FeatureTokenizer(nn.Module):
    def __init__(self, n_num, cardinalities, d_token):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_num + 1, d_token))
        self.bias = nn.Parameter(torch.empty(n_num, d_token))
        self.category_embeddings = nn.Embedding(sum(cardinalities), d_token)
        self.register_buffer("category_offsets",
                             torch.tensor([0] + cardinalities[:-1]).cumsum(0))
        self.cat_bias = nn.Parameter(torch.empty(len(cardinalities), d_token))
        for parameter in (self.weight, self.bias, self.cat_bias):
            nn.init.kaiming_uniform_(parameter, a=math.sqrt(5))

    def forward(self, x_num, x_cat):
        x_num = torch.cat([torch.ones(len(x_num), 1), x_num], dim=1)  # the CLS token's input
        x = self.weight[None] * x_num[:, :, None]
        x_cats = self.category_embeddings(x_cat + self.category_offsets[None]) + self.cat_bias
        bias = torch.cat([torch.zeros(1, self.bias.shape[1]), self.bias])
        return torch.cat([x + bias[None], x_cats], dim=1)


class FTTransformer(nn.Module):
    def __init__(self, n_num=3, cardinalities=(3, 4), d_token=16):
        super().__init__()
        self.tokenizer = FeatureTokenizer(n_num, list(cardinalities), d_token)
        layer = nn.TransformerEncoderLayer(d_token, 2, dim_feedforward=32, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(d_token), nn.ReLU(), nn.Linear(d_token, 1))

    def forward(self, x_num, x_cat):
        return self.head(self.encoder(self.tokenizer(x_num, x_cat))[:, 0]).squeeze(-1)


def section_ftt() -> None:
    x_num = torch.randn(48, 3)
    x_cat = torch.stack([torch.randint(0, 3, (48,)), torch.randint(0, 4, (48,))], 1)
    y = x_num[:, 0] * 2 - x_num[:, 1] + (x_cat[:, 0] == 1).float() - 0.5 * x_cat[:, 1]
    model = FTTransformer()
    no_decay = ["tokenizer", ".norm", ".bias", "head.0"]
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)]
    rest = [p for n, p in model.named_parameters() if any(k in n for k in no_decay)]
    optimizer = torch.optim.AdamW([{"params": decay}, {"params": rest, "weight_decay": 0.0}],
                                  lr=1e-3, weight_decay=1e-5)
    losses = []
    for _epoch in range(3):
        for start in range(0, 48, 16):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x_num[start:start + 16], x_cat[start:start + 16]),
                              y[start:start + 16])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("ftt.losses", losses)
    put("ftt.groups", [len(decay), len(rest)])
    # (the key third of in_proj_bias shifts each query's logits by a constant that softmax
    # removes: its gradient is zero up to rounding and AdamW turns that into steps that differ
    # between libraries; the query and value thirds are compared, the key third's gradient
    # checked to be rounding noise)
    put_state("ftt.state", model, exclude=("in_proj_bias",))
    for index, layer in enumerate(model.encoder.layers):
        q_bias, k_bias, v_bias = layer.self_attn.in_proj_bias.detach().chunk(3)
        put(f"ftt.qv_bias.{index}", torch.cat([q_bias, v_bias]))
        put(f"ftt.k_bias_grad_small.{index}",
            bool(layer.self_attn.in_proj_bias.grad.chunk(3)[1].abs().max() < 1e-6))
    model.eval()
    with torch.no_grad():
        put("ftt.pred", model(x_num[:6], x_cat[:6]))
        put("ftt.tokens", model.tokenizer(x_num[:2], x_cat[:2]))


class SineLayer(nn.Module):
    def __init__(self, in_features, out_features, bias=True, is_first=False, omega_0=30):
        super().__init__()
        self.omega_0, self.is_first, self.in_features = omega_0, is_first, in_features
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        with torch.no_grad():
            if self.is_first:
                self.linear.weight.uniform_(-1 / self.in_features, 1 / self.in_features)
            else:
                bound = np.sqrt(6 / self.in_features) / self.omega_0
                self.linear.weight.uniform_(-bound, bound)

    def forward(self, input):
        return torch.sin(self.omega_0 * self.linear(input))


class Siren(nn.Module):
    def __init__(self, hidden=24, first_omega_0=30, hidden_omega_0=30.0):
        super().__init__()
        self.net = nn.Sequential(SineLayer(1, hidden, is_first=True, omega_0=first_omega_0),
                                 SineLayer(hidden, hidden, omega_0=hidden_omega_0))
        final = nn.Linear(hidden, 1)
        with torch.no_grad():
            bound = np.sqrt(6 / hidden) / hidden_omega_0
            final.weight.uniform_(-bound, bound)
        self.net.append(final)

    def forward(self, coords):
        coords = coords.clone().detach().requires_grad_(True)
        return self.net(coords), coords


def gradient(y, x, grad_outputs=None):
    if grad_outputs is None:
        grad_outputs = torch.ones_like(y)
    return torch.autograd.grad(y, [x], grad_outputs=grad_outputs, create_graph=True)[0]


def section_siren() -> None:
    torch.set_default_dtype(torch.float64)
    try:
        coords = torch.linspace(-1, 1, 40).unsqueeze(1)
        signal = torch.sin(4 * coords) + 0.5 * torch.cos(9 * coords)
        signal_grad = 4 * torch.cos(4 * coords) - 4.5 * torch.sin(9 * coords)
        model = Siren()
        optimizer = torch.optim.Adam(lr=1e-3, params=model.parameters())
        record = []
        for _step in range(10):
            output, coords_in = model(coords)
            d_output = gradient(output, coords_in)
            loss = ((output - signal) ** 2).mean() + 0.1 * ((d_output - signal_grad) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            record.append(loss.item())
        put("siren.record", record)
        put_state("siren.state", model)
        output, coords_in = model(coords[:6])
        laplace = gradient(gradient(output, coords_in), coords_in)
        put("siren.laplace", laplace)
    finally:
        torch.set_default_dtype(torch.float32)


class KANLinear(nn.Module):
    def __init__(self, in_features, out_features, grid_size=4, spline_order=3,
                 scale_noise=0.1, scale_base=1.0, scale_spline=1.0, grid_range=(-1, 1)):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.grid_size, self.spline_order = grid_size, spline_order
        h = (grid_range[1] - grid_range[0]) / grid_size
        grid = ((torch.arange(-spline_order, grid_size + spline_order + 1) * h + grid_range[0])
                .expand(in_features, -1).contiguous())
        self.register_buffer("grid", grid)
        self.base_weight = nn.Parameter(torch.Tensor(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.Tensor(out_features, in_features,
                                                       grid_size + spline_order))
        self.scale_noise, self.scale_base, self.scale_spline = scale_noise, scale_base, \
            scale_spline
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
        with torch.no_grad():
            noise = ((torch.rand(self.grid_size + 1, self.in_features, self.out_features) - 1 / 2)
                     * self.scale_noise / self.grid_size)
            self.spline_weight.data.copy_(self.scale_spline * self.curve2coeff(
                self.grid.T[self.spline_order:-self.spline_order], noise))

    def b_splines(self, x):
        grid = self.grid
        x = x.unsqueeze(-1)
        bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
        for k in range(1, self.spline_order + 1):
            bases = ((x - grid[:, :-(k + 1)]) / (grid[:, k:-1] - grid[:, :-(k + 1)])
                     * bases[:, :, :-1]) + ((grid[:, k + 1:] - x)
                                            / (grid[:, k + 1:] - grid[:, 1:(-k)])
                                            * bases[:, :, 1:])
        return bases.contiguous()

    def curve2coeff(self, x, y):
        A = self.b_splines(x).transpose(0, 1)
        B = y.transpose(0, 1)
        solution = torch.linalg.lstsq(A, B).solution
        return solution.permute(2, 0, 1).contiguous()

    def forward(self, x):
        base_output = F.linear(F.silu(x), self.base_weight)
        spline_output = F.linear(self.b_splines(x).view(x.size(0), -1),
                                 self.spline_weight.view(self.out_features, -1))
        return base_output + spline_output

    def regularization_loss(self, regularize_activation=1.0, regularize_entropy=1.0):
        l1_fake = self.spline_weight.abs().mean(-1)
        regularization_loss_activation = l1_fake.sum()
        p = l1_fake / regularization_loss_activation
        regularization_loss_entropy = -torch.sum(p * p.log())
        return (regularize_activation * regularization_loss_activation
                + regularize_entropy * regularization_loss_entropy)


def section_kan() -> None:
    torch.set_default_dtype(torch.float64)
    try:
        layers = nn.Sequential(KANLinear(2, 5), KANLinear(5, 1))
        put("kan.spline_init", layers[0].spline_weight[0])
        put("kan.bases", layers[0].b_splines(torch.tensor([[-0.9, 0.3], [0.5, 0.99]])))
        x = torch.rand(64, 2) * 2 - 1
        y = torch.sin(math.pi * x[:, :1]) + x[:, 1:] ** 2
        optimizer = torch.optim.LBFGS(layers.parameters(), lr=0.5, history_size=5, max_iter=5)
        record = []

        def closure():
            optimizer.zero_grad()
            loss = F.mse_loss(layers(x), y) + 1e-4 * sum(
                layer.regularization_loss() for layer in layers)
            loss.backward()
            record.append(loss.item())
            return loss

        for _step in range(3):
            optimizer.step(closure)
        put("kan.record", record)
        put_state("kan.state", layers)
    finally:
        torch.set_default_dtype(torch.float32)


SECTIONS = {"lottery": section_lottery, "ntm": section_ntm, "gumbel": section_gumbel,
            "pointer": section_pointer, "ftt": section_ftt, "siren": section_siren,
            "kan": section_kan}
