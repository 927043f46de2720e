"""Models from papers' companion code, afresh (PR3, session 20): Bayes by Backprop (weights
sampled by the reparameterization trick with softplus scales, a scale-mixture prior, the ELBO
with KL weight per minibatch, Monte Carlo dropout predictions); a hypernetwork that emits the
weights of a target network used through torch.func.functional_call; a Set Transformer (MAB,
ISAB with inducing points, PMA pooling) on a set-to-max task; a ConvLSTM predicting the next
frame; DGCNN's EdgeConv (k nearest neighbours by topk on pairwise distances, gathered edge
features, max aggregation); FixMatch (weak / strong views, pseudo-labels above a confidence
threshold, masked cross entropy); prototypical networks (episodic sampling, prototypes by mean,
negative squared cdist as logits); and a temporal convolutional network with weight-normed
causal dilated convolutions and a quantile (pinball) loss. Tiny sizes; run by
prog_s20_PR3_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state

SIGMA_2 = math.exp(-6)  # the narrow component of the scale-mixture prior


class BayesLinear(nn.Module):
    def __init__(self, in_features, out_features, pi=0.5, sigma1=1.0, sigma2=SIGMA_2):
        super().__init__()
        self.weight_mu = nn.Parameter(torch.Tensor(out_features, in_features).uniform_(-0.2, 0.2))
        self.weight_rho = nn.Parameter(torch.Tensor(out_features, in_features).uniform_(-5, -4))
        self.bias_mu = nn.Parameter(torch.Tensor(out_features).uniform_(-0.2, 0.2))
        self.bias_rho = nn.Parameter(torch.Tensor(out_features).uniform_(-5, -4))
        self.pi, self.sigma1, self.sigma2 = pi, sigma1, sigma2
        self.log_prior = 0
        self.log_variational_posterior = 0

    def prior_log_prob(self, w):
        prob1 = torch.exp(torch.distributions.Normal(0, self.sigma1).log_prob(w))
        prob2 = torch.exp(torch.distributions.Normal(0, self.sigma2).log_prob(w))
        return torch.log(self.pi * prob1 + (1 - self.pi) * prob2).sum()

    def posterior_log_prob(self, w, mu, sigma):
        return (-math.log(math.sqrt(2 * math.pi)) - torch.log(sigma)
                - ((w - mu) ** 2) / (2 * sigma ** 2)).sum()

    def forward(self, input, sample=False):
        if self.training or sample:
            weight_sigma = torch.log1p(torch.exp(self.weight_rho))
            bias_sigma = torch.log1p(torch.exp(self.bias_rho))
            weight = self.weight_mu + weight_sigma * torch.randn_like(self.weight_mu)
            bias = self.bias_mu + bias_sigma * torch.randn_like(self.bias_mu)
            self.log_prior = self.prior_log_prob(weight) + self.prior_log_prob(bias)
            self.log_variational_posterior = (
                self.posterior_log_prob(weight, self.weight_mu, weight_sigma)
                + self.posterior_log_prob(bias, self.bias_mu, bias_sigma))
        else:
            weight, bias = self.weight_mu, self.bias_mu
        return F.linear(input, weight, bias)


class BayesianNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = BayesLinear(2, 16)
        self.l2 = BayesLinear(16, 3)

    def forward(self, x, sample=False):
        return F.log_softmax(self.l2(F.relu(self.l1(x, sample)), sample), dim=1)

    def log_prior(self):
        return self.l1.log_prior + self.l2.log_prior

    def log_variational_posterior(self):
        return self.l1.log_variational_posterior + self.l2.log_variational_posterior

    def sample_elbo(self, input, target, samples=2, num_batches=4):
        outputs = torch.zeros(samples, input.shape[0], 3)
        log_priors, log_posteriors = torch.zeros(samples), torch.zeros(samples)
        for i in range(samples):
            outputs[i] = self(input, sample=True)
            log_priors[i] = self.log_prior()
            log_posteriors[i] = self.log_variational_posterior()
        log_prior, log_posterior = log_priors.mean(), log_posteriors.mean()
        nll = F.nll_loss(outputs.mean(0), target, reduction="sum")
        loss = (log_posterior - log_prior) / num_batches + nll
        return loss, log_prior, log_posterior, nll


def section_bbb() -> None:
    x = torch.randn(64, 2)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    net = BayesianNetwork()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    record = []
    for _epoch in range(3):
        for batch in range(4):
            xb, yb = x[batch * 16:batch * 16 + 16], y[batch * 16:batch * 16 + 16]
            net.zero_grad()
            loss, log_prior, log_posterior, nll = net.sample_elbo(xb, yb)
            loss.backward()
            optimizer.step()
            record.append([loss.item(), log_prior.item(), log_posterior.item(), nll.item()])
    put("bbb.record", record)
    put_state("bbb.state", net)
    net.eval()
    with torch.no_grad():
        put("bbb.mean_pred", net(x[:5]))
        put("bbb.ensemble", torch.stack([net(x[:5], sample=True).exp() for _ in range(4)]))
    # MC dropout on a plain network: dropout kept on at test time
    mlp = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 3))
    optimizer = torch.optim.SGD(mlp.parameters(), lr=0.2)
    for _step in range(10):
        optimizer.zero_grad()
        F.cross_entropy(mlp(x), y).backward()
        optimizer.step()
    mlp.eval()
    for m in mlp.modules():
        if m.__class__.__name__.startswith("Dropout"):
            m.train()
    with torch.no_grad():
        probs = torch.stack([F.softmax(mlp(x[:6]), 1) for _ in range(8)])
    mean = probs.mean(0)
    put("bbb.mc_mean", mean)
    put("bbb.mc_entropy", -(mean * torch.log(mean + 1e-10)).sum(1))
    put("bbb.mc_var", probs.var(0))


class HyperNetwork(nn.Module):
    def __init__(self, target, z_dim=4):
        super().__init__()
        self.shapes = {n: p.shape for n, p in target.named_parameters()}
        total = sum(math.prod(s) for s in self.shapes.values())
        self.embeddings = nn.Embedding(3, z_dim)
        self.net = nn.Sequential(nn.Linear(z_dim, 32), nn.ReLU(), nn.Linear(32, total))
        nn.init.normal_(self.net[2].weight, std=0.05)

    def forward(self, task):
        flat = self.net(self.embeddings(task))
        params, start = {}, 0
        for name, shape in self.shapes.items():
            size = math.prod(shape)
            params[name] = flat[start:start + size].view(shape)
            start += size
        return params


def section_hypernet() -> None:
    target = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    hyper = HyperNetwork(target)
    xs = torch.linspace(-2, 2, 20).unsqueeze(1)
    tasks = [torch.sin(xs), torch.cos(xs), 0.5 * xs]
    optimizer = torch.optim.Adam(hyper.parameters(), lr=5e-3)
    losses = []
    for step in range(20):
        task = step % 3
        params = hyper(torch.tensor(task))
        prediction = torch.func.functional_call(target, params, (xs,))
        loss = F.mse_loss(prediction, tasks[task])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("hypernet.losses", losses)
    put_state("hypernet.state", hyper)
    put("hypernet.target_grad_none", all(p.grad is None for p in target.parameters()))
    with torch.no_grad():
        params = hyper(torch.tensor(1))
        put("hypernet.generated", list(params.values()))
        put("hypernet.task1", torch.func.functional_call(target, params, xs[:5]))


class MAB(nn.Module):
    def __init__(self, dim_Q, dim_K, dim_V, num_heads, ln=False):
        super().__init__()
        self.dim_V, self.num_heads = dim_V, num_heads
        self.fc_q = nn.Linear(dim_Q, dim_V)
        # (no key bias: it shifts each query's logits by a constant that softmax removes, so its
        # gradient is zero up to rounding, and Adam turns that noise into steps that differ)
        self.fc_k = nn.Linear(dim_K, dim_V, bias=False)
        self.fc_v = nn.Linear(dim_K, dim_V)
        if ln:
            self.ln0 = nn.LayerNorm(dim_V)
            self.ln1 = nn.LayerNorm(dim_V)
        self.fc_o = nn.Linear(dim_V, dim_V)

    def forward(self, Q, K):
        Q = self.fc_q(Q)
        K, V = self.fc_k(K), self.fc_v(K)
        dim_split = self.dim_V // self.num_heads
        Q_ = torch.cat(Q.split(dim_split, 2), 0)
        K_ = torch.cat(K.split(dim_split, 2), 0)
        V_ = torch.cat(V.split(dim_split, 2), 0)
        A = torch.softmax(Q_.bmm(K_.transpose(1, 2)) / math.sqrt(self.dim_V), 2)
        O = torch.cat((Q_ + A.bmm(V_)).split(Q.size(0), 0), 2)
        O = O if getattr(self, "ln0", None) is None else self.ln0(O)
        O = O + F.relu(self.fc_o(O))
        return O if getattr(self, "ln1", None) is None else self.ln1(O)


class ISAB(nn.Module):
    def __init__(self, dim_in, dim_out, num_heads, num_inds, ln=False):
        super().__init__()
        self.I = nn.Parameter(torch.Tensor(1, num_inds, dim_out))
        nn.init.xavier_uniform_(self.I)
        self.mab0 = MAB(dim_out, dim_in, dim_out, num_heads, ln=ln)
        self.mab1 = MAB(dim_in, dim_out, dim_out, num_heads, ln=ln)

    def forward(self, X):
        H = self.mab0(self.I.repeat(X.size(0), 1, 1), X)
        return self.mab1(X, H)


class PMA(nn.Module):
    def __init__(self, dim, num_heads, num_seeds, ln=False):
        super().__init__()
        self.S = nn.Parameter(torch.Tensor(1, num_seeds, dim))
        nn.init.xavier_uniform_(self.S)
        self.mab = MAB(dim, dim, dim, num_heads, ln=ln)

    def forward(self, X):
        return self.mab(self.S.repeat(X.size(0), 1, 1), X)


class SetTransformer(nn.Module):
    def __init__(self, dim_input=1, num_outputs=1, dim_output=1, num_inds=4, dim_hidden=16,
                 num_heads=4, ln=True):
        super().__init__()
        self.enc = nn.Sequential(ISAB(dim_input, dim_hidden, num_heads, num_inds, ln=ln),
                                 ISAB(dim_hidden, dim_hidden, num_heads, num_inds, ln=ln))
        self.dec = nn.Sequential(PMA(dim_hidden, num_heads, num_outputs, ln=ln),
                                 nn.Linear(dim_hidden, dim_output))

    def forward(self, X):
        return self.dec(self.enc(X))


def section_settrans() -> None:
    model = SetTransformer()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _step in range(10):
        x = torch.randn(8, 7, 1)
        y = x.max(dim=1)[0]
        optimizer.zero_grad()
        loss = F.l1_loss(model(x).squeeze(-1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("settrans.losses", losses)
    put_state("settrans.state", model)
    x = torch.randn(2, 5, 1)
    with torch.no_grad():
        out = model(x)
        put("settrans.permutation_gap", (model(x[:, torch.randperm(5)]) - out).abs().max())
    put("settrans.out", out)


class ConvLSTMCell(nn.Module):
    def __init__(self, input_dim, hidden_dim, kernel_size, bias=True):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.padding = kernel_size[0] // 2, kernel_size[1] // 2
        self.conv = nn.Conv2d(input_dim + hidden_dim, 4 * hidden_dim, kernel_size,
                              padding=self.padding, bias=bias)

    def forward(self, input_tensor, cur_state):
        h_cur, c_cur = cur_state
        combined_conv = self.conv(torch.cat([input_tensor, h_cur], dim=1))
        cc_i, cc_f, cc_o, cc_g = torch.split(combined_conv, self.hidden_dim, dim=1)
        i, f, o = torch.sigmoid(cc_i), torch.sigmoid(cc_f), torch.sigmoid(cc_o)
        g = torch.tanh(cc_g)
        c_next = f * c_cur + i * g
        return o * torch.tanh(c_next), c_next

    def init_hidden(self, batch_size, image_size):
        height, width = image_size
        return (torch.zeros(batch_size, self.hidden_dim, height, width,
                            device=self.conv.weight.device),
                torch.zeros(batch_size, self.hidden_dim, height, width,
                            device=self.conv.weight.device))


def section_convlstm() -> None:
    # a square drifting right one pixel per frame
    frames = torch.zeros(4, 6, 1, 8, 8)
    starts = torch.randint(0, 3, (4, 2))
    for b in range(4):
        for t in range(6):
            r, c = starts[b].tolist()
            frames[b, t, 0, r:r + 2, c + t // 2:c + t // 2 + 2] = 1
    cell = ConvLSTMCell(1, 6, (3, 3))
    head = nn.Conv2d(6, 1, 1)
    optimizer = torch.optim.Adam([*cell.parameters(), *head.parameters()], lr=1e-2)
    losses = []
    for _step in range(6):
        h, c = cell.init_hidden(4, (8, 8))
        predictions = []
        for t in range(5):
            h, c = cell(frames[:, t], [h, c])
            predictions.append(head(h))
        prediction = torch.stack(predictions, dim=1)
        loss = F.binary_cross_entropy_with_logits(prediction, frames[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(cell.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    put("convlstm.losses", losses)
    put("convlstm.conv_grad", cell.conv.weight.grad[:4, :, 1, 1])
    put_state("convlstm.cell", cell)
    put("convlstm.last", torch.sigmoid(prediction[0, -1, 0]).detach())


def knn(x, k):
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    xx = torch.sum(x ** 2, dim=1, keepdim=True)
    pairwise_distance = -xx - inner - xx.transpose(2, 1)
    return pairwise_distance.topk(k=k, dim=-1)[1]


def get_graph_feature(x, k=4, idx=None):
    batch_size, num_dims, num_points = x.size()
    x = x.view(batch_size, -1, num_points)
    if idx is None:
        idx = knn(x, k=k)
    idx_base = torch.arange(0, batch_size).view(-1, 1, 1) * num_points
    idx = (idx + idx_base).view(-1)
    x = x.transpose(2, 1).contiguous()
    feature = x.view(batch_size * num_points, -1)[idx, :]
    feature = feature.view(batch_size, num_points, k, num_dims)
    x = x.view(batch_size, num_points, 1, num_dims).repeat(1, 1, k, 1)
    return torch.cat((feature - x, x), dim=3).permute(0, 3, 1, 2).contiguous()


class DGCNN(nn.Module):
    def __init__(self, k=4, emb_dims=16, output_channels=2):
        super().__init__()
        self.k = k
        self.conv1 = nn.Sequential(nn.Conv2d(6, 16, kernel_size=1, bias=False),
                                   nn.BatchNorm2d(16), nn.LeakyReLU(negative_slope=0.2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 16, kernel_size=1, bias=False),
                                   nn.BatchNorm2d(16), nn.LeakyReLU(negative_slope=0.2))
        self.conv5 = nn.Sequential(nn.Conv1d(32, emb_dims, kernel_size=1, bias=False),
                                   nn.BatchNorm1d(emb_dims), nn.LeakyReLU(negative_slope=0.2))
        self.linear = nn.Linear(emb_dims * 2, output_channels)

    def forward(self, x):
        batch_size = x.size(0)
        x = get_graph_feature(x, k=self.k)
        x1 = self.conv1(x).max(dim=-1, keepdim=False)[0]
        x = get_graph_feature(x1, k=self.k)
        x2 = self.conv2(x).max(dim=-1, keepdim=False)[0]
        x = self.conv5(torch.cat((x1, x2), dim=1))
        x1 = F.adaptive_max_pool1d(x, 1).view(batch_size, -1)
        x2 = F.adaptive_avg_pool1d(x, 1).view(batch_size, -1)
        return self.linear(torch.cat((x1, x2), 1))


def section_dgcnn() -> None:
    # point clouds: a sphere's surface or a cube's
    points = F.normalize(torch.randn(8, 3, 12), dim=1)
    cube = torch.rand(8, 3, 12) * 2 - 1
    labels = torch.tensor([0, 1] * 4)
    clouds = torch.where(labels.view(-1, 1, 1) == 0, points, cube)
    put("dgcnn.knn", knn(clouds[:2], 4))
    model = DGCNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 6, eta_min=1e-3)
    losses = []
    for _epoch in range(6):
        optimizer.zero_grad()
        logits = model(clouds)
        loss = F.cross_entropy(logits, labels, label_smoothing=0.2)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    put("dgcnn.losses", losses)
    put_state("dgcnn.state", model, exclude=("num_batches_tracked",))
    model.eval()
    with torch.no_grad():
        put("dgcnn.eval_logits", model(clouds))


def section_fixmatch() -> None:
    model = nn.Sequential(nn.Linear(4, 24), nn.ReLU(), nn.Linear(24, 3))
    labeled_x = torch.randn(9, 4)
    labeled_y = torch.arange(9) % 3
    labeled_x = labeled_x + 2 * F.one_hot(labeled_y, 4).float()
    unlabeled = torch.randn(24, 4) + 2 * F.one_hot(torch.randint(0, 3, (24,)), 4).float()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    threshold, T, lambda_u = 0.6, 1.0, 1.0
    record = []
    for _step in range(10):
        weak = unlabeled + 0.05 * torch.randn_like(unlabeled)
        strong = unlabeled * (torch.rand_like(unlabeled) > 0.2) + 0.3 * torch.randn_like(
            unlabeled)
        inputs = torch.cat((labeled_x, weak, strong))
        logits = model(inputs)
        logits_x = logits[:9]
        logits_u_w, logits_u_s = logits[9:].chunk(2)
        Lx = F.cross_entropy(logits_x, labeled_y, reduction="mean")
        pseudo_label = torch.softmax(logits_u_w.detach() / T, dim=-1)
        max_probs, targets_u = torch.max(pseudo_label, dim=-1)
        mask = max_probs.ge(threshold).float()
        Lu = (F.cross_entropy(logits_u_s, targets_u, reduction="none") * mask).mean()
        loss = Lx + lambda_u * Lu
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record.append([Lx.item(), Lu.item(), mask.mean().item()])
    put("fixmatch.record", record)
    put("fixmatch.targets_u", targets_u)
    put_state("fixmatch.state", model)


def euclidean_dist(x, y):
    n, m, d = x.size(0), y.size(0), x.size(1)
    x = x.unsqueeze(1).expand(n, m, d)
    y = y.unsqueeze(0).expand(n, m, d)
    return torch.pow(x - y, 2).sum(2)


def section_protonet() -> None:
    # (SGD, not Adam: distances ignore a shift of every embedding, so the last bias and the
    # first biases of units active on every input get gradients that are zero up to rounding,
    # which Adam would turn into full steps that differ between libraries)
    encoder = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 8))
    class_means = torch.randn(10, 5) * 2
    optimizer = torch.optim.SGD(encoder.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, gamma=0.5, step_size=4)
    record = []
    n_way, n_support, n_query = 3, 2, 3
    for episode in range(8):
        classes = torch.randperm(10)[:n_way]
        xs = class_means[classes].unsqueeze(1) + torch.randn(n_way, n_support, 5)
        xq = class_means[classes].unsqueeze(1) + torch.randn(n_way, n_query, 5)
        target_inds = torch.arange(0, n_way).view(n_way, 1, 1).expand(n_way, n_query, 1).long()
        x = torch.cat([xs.view(n_way * n_support, 5), xq.view(n_way * n_query, 5)], 0)
        z = encoder(x)
        z_proto = z[:n_way * n_support].view(n_way, n_support, -1).mean(1)
        zq = z[n_way * n_support:]
        dists = euclidean_dist(zq, z_proto)
        log_p_y = F.log_softmax(-dists, dim=1).view(n_way, n_query, -1)
        loss_val = -log_p_y.gather(2, target_inds).squeeze().view(-1).mean()
        _, y_hat = log_p_y.max(2)
        acc_val = torch.eq(y_hat, target_inds.squeeze(2)).float().mean()
        optimizer.zero_grad()
        loss_val.backward()
        optimizer.step()
        scheduler.step()
        record.append([loss_val.item(), acc_val.item()])
        # torch.cdist squared equals the hand-written distance
        if episode == 0:
            put("protonet.cdist_gap", (torch.cdist(zq, z_proto) ** 2 - dists).abs().max())
    put("protonet.record", record)
    put_state("protonet.state", encoder)


class Chomp1d(nn.Module):
    def __init__(self, chomp_size):
        super().__init__()
        self.chomp_size = chomp_size

    def forward(self, x):
        return x[:, :, :-self.chomp_size].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.1):
        super().__init__()
        wn = nn.utils.parametrizations.weight_norm
        self.conv1 = wn(nn.Conv1d(n_inputs, n_outputs, kernel_size, stride=stride,
                                  padding=padding, dilation=dilation))
        self.conv2 = wn(nn.Conv1d(n_outputs, n_outputs, kernel_size, stride=stride,
                                  padding=padding, dilation=dilation))
        self.net = nn.Sequential(self.conv1, Chomp1d(padding), nn.ReLU(), nn.Dropout(dropout),
                                 self.conv2, Chomp1d(padding), nn.ReLU(), nn.Dropout(dropout))
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class TCN(nn.Module):
    def __init__(self, quantiles=(0.1, 0.5, 0.9), channels=(8, 8), kernel_size=2):
        super().__init__()
        layers = []
        for i, out_channels in enumerate(channels):
            dilation = 2 ** i
            in_channels = 1 if i == 0 else channels[i - 1]
            layers.append(TemporalBlock(in_channels, out_channels, kernel_size, 1, dilation,
                                        (kernel_size - 1) * dilation))
        self.network = nn.Sequential(*layers)
        self.linear = nn.Linear(channels[-1], len(quantiles))
        self.register_buffer("quantiles", torch.tensor(quantiles))

    def forward(self, x):
        return self.linear(self.network(x)[:, :, -1])


def pinball_loss(prediction, target, quantiles):
    errors = target.unsqueeze(1) - prediction
    return torch.max((quantiles - 1) * errors, quantiles * errors).mean()


def section_tcn() -> None:
    t = torch.arange(0, 60, dtype=torch.float32)
    series = torch.sin(t / 4) + 0.2 * torch.randn(60)
    windows = series.unfold(0, 13, 1)
    x, y = windows[:, :12].unsqueeze(1), windows[:, 12]
    model = TCN()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _epoch in range(4):
        for start in range(0, 48, 16):
            optimizer.zero_grad()
            loss = pinball_loss(model(x[start:start + 16]), y[start:start + 16],
                                model.quantiles)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("tcn.losses", losses)
    put_state("tcn.state", model)
    model.eval()
    with torch.no_grad():
        prediction = model(x)
        put("tcn.prediction", prediction[:5])
        put("tcn.coverage", ((y >= prediction[:, 0]) & (y <= prediction[:, 2])).float().mean())
    # causality: changing the last input step changes nothing before it
    probe = x[:1].clone().requires_grad_(True)
    model.network(probe)[0, :, 5].sum().backward()
    put("tcn.future_grad", probe.grad[0, 0, 6:].abs().sum())


SECTIONS = {"bbb": section_bbb, "hypernet": section_hypernet, "settrans": section_settrans,
            "convlstm": section_convlstm, "dgcnn": section_dgcnn, "fixmatch": section_fixmatch,
            "protonet": section_protonet, "tcn": section_tcn}
