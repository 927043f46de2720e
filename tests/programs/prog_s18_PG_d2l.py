"""Dive into Deep Learning, the from-scratch chapters, written afresh in the book's style (PG,
session 18): the optimization chapter's hand-written momentum / AdaGrad / RMSProp / AdaDelta /
Adam updates (states as tensors, in-place updates under torch.no_grad), weight decay as an L2
penalty, dropout and batch norm from scratch (moving statistics, torch.is_grad_enabled), the
modern-CNN blocks (VGG, NiN, GoogLeNet's Inception, ResNet's Residual, DenseNet), an LSTM from
scratch and a deep bidirectional GRU. Tiny sizes, synthetic data, seeded.
"""

import math

import torch
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch import nn


def _regression_data(n=64, d=5):
    true_w = torch.arange(1, d + 1, dtype=torch.float32) / d
    features = torch.normal(0, 1, (n, d))
    labels = features @ true_w + 0.3 + torch.normal(0, 0.01, (n,))
    return features, labels.reshape(-1, 1)


def _init_states_momentum(d):
    return (torch.zeros((d, 1)), torch.zeros(1))


def sgd_momentum(params, states, hyper):
    for p, v in zip(params, states):
        with torch.no_grad():
            v[:] = hyper["momentum"] * v + p.grad
            p[:] -= hyper["lr"] * v
        p.grad.data.zero_()


def adagrad(params, states, hyper):
    eps = 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] += torch.square(p.grad)
            p[:] -= hyper["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def rmsprop(params, states, hyper):
    gamma, eps = hyper["gamma"], 1e-6
    for p, s in zip(params, states):
        with torch.no_grad():
            s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
            p[:] -= hyper["lr"] * p.grad / torch.sqrt(s + eps)
        p.grad.data.zero_()


def adadelta(params, states, hyper):
    rho, eps = hyper["rho"], 1e-5
    for p, (s, delta) in zip(params, states):
        with torch.no_grad():
            s[:] = rho * s + (1 - rho) * torch.square(p.grad)
            g = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
            p[:] -= g
            delta[:] = rho * delta + (1 - rho) * g * g
        p.grad.data.zero_()


def adam(params, states, hyper):
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (v, s) in zip(params, states):
        with torch.no_grad():
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
            v_hat = v / (1 - beta1 ** hyper["t"])
            s_hat = s / (1 - beta2 ** hyper["t"])
            p[:] -= hyper["lr"] * v_hat / (torch.sqrt(s_hat) + eps)
        p.grad.data.zero_()
    hyper["t"] += 1


def section_optim_scratch() -> None:
    features, labels = _regression_data()
    d = features.shape[1]
    one = lambda: (torch.zeros((d, 1)), torch.zeros(1))  # noqa: E731
    recipes = {
        "momentum": (sgd_momentum, one, {"lr": 0.02, "momentum": 0.5}),
        "adagrad": (adagrad, one, {"lr": 0.1}),
        "rmsprop": (rmsprop, one, {"lr": 0.01, "gamma": 0.9}),
        "adadelta": (adadelta, lambda: tuple(zip(one(), one())), {"rho": 0.9}),
        "adam": (adam, lambda: tuple(zip(one(), one())), {"lr": 0.01, "t": 1}),
    }
    for name, (trainer_fn, states_fn, hyper) in recipes.items():
        w = torch.normal(mean=0.0, std=0.01, size=(d, 1), requires_grad=True)
        b = torch.zeros((1), requires_grad=True)
        states = states_fn()
        losses = []
        for _ in range(3):
            for i in range(0, features.shape[0], 16):
                X, y = features[i:i + 16], labels[i:i + 16]
                loss = ((X @ w + b - y) ** 2 / 2).mean()
                loss.backward()
                trainer_fn([w, b], states, hyper)
                losses.append(loss.item())
        put(f"optscratch.{name}.losses", losses)
        put(f"optscratch.{name}.w", w)
        put(f"optscratch.{name}.b", b)


def section_weight_decay() -> None:
    n_train, num_inputs = 20, 40
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    X = torch.randn(n_train, num_inputs)
    y = X @ true_w + true_b + torch.randn(n_train, 1) * 0.01

    def l2_penalty(w):
        return torch.sum(w.pow(2)) / 2

    for lambd in (0, 3):
        w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        for _ in range(20):
            loss = (X @ w + b - y).square().mean() / 2 + lambd * l2_penalty(w)
            loss.backward()
            with torch.no_grad():
                for param in (w, b):
                    param -= 0.01 * param.grad
                    param.grad.zero_()
        put(f"wd.{lambd}.norm", torch.norm(w))
        put(f"wd.{lambd}.loss", loss.detach())
    # the concise version: weight_decay on the weight only
    net = nn.Linear(num_inputs, 1)
    for param in net.parameters():
        param.data.normal_()
    trainer = torch.optim.SGD([{"params": net.weight, "weight_decay": 3},
                               {"params": net.bias}], lr=0.01)
    for _ in range(10):
        trainer.zero_grad()
        loss = nn.MSELoss()(net(X), y)
        loss.backward()
        trainer.step()
    put_state("wd.concise", net)


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.1)
        return Y


class DropoutMLP(nn.Module):
    def __init__(self, num_inputs, num_outputs, h1, h2, p1, p2):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(num_inputs, h1), nn.Linear(h1, h2)
        self.lin3, self.relu = nn.Linear(h2, num_outputs), nn.ReLU()
        self.p1, self.p2 = p1, p2

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((X.shape[0], -1))))
        if self.training:
            H1 = dropout_layer(H1, self.p1)
        H2 = self.relu(self.lin2(H1))
        if self.training:
            H2 = dropout_layer(H2, self.p2)
        return self.lin3(H2)


def section_scratch_layers() -> None:
    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    put("scratch.drop0", dropout_layer(X, 0))
    put("scratch.drop5", dropout_layer(X, 0.5))
    put("scratch.drop1", dropout_layer(X, 1))
    images = torch.randn(8, 1, 8, 8)
    targets = torch.randint(0, 3, (8,))
    mlp = DropoutMLP(64, 3, 16, 16, 0.2, 0.5)
    lenet_bn = nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3), BatchNorm(4, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(36, 12), BatchNorm(12, num_dims=2), nn.Sigmoid(), nn.Linear(12, 3))
    for name, net in (("mlp", mlp), ("lenetbn", lenet_bn)):
        optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
        losses = []
        for _ in range(4):
            optimizer.zero_grad()
            loss = F.cross_entropy(net(images), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"scratch.{name}.losses", losses)
        put_state(f"scratch.{name}", net)
        net.eval()
        with torch.no_grad():
            put(f"scratch.{name}.eval", net(images))
    put("scratch.lenetbn.moving_mean", lenet_bn[1].moving_mean)
    put("scratch.lenetbn.moving_var", lenet_bn[6].moving_var)


def vgg_block(num_convs, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def nin_block(out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())


class Inception(nn.Module):
    def __init__(self, c1, c2, c3, c4):
        super().__init__()
        self.b1_1 = nn.LazyConv2d(c1, kernel_size=1)
        self.b2_1 = nn.LazyConv2d(c2[0], kernel_size=1)
        self.b2_2 = nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
        self.b3_1 = nn.LazyConv2d(c3[0], kernel_size=1)
        self.b3_2 = nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
        self.b4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.b4_2 = nn.LazyConv2d(c4, kernel_size=1)

    def forward(self, x):
        b1 = F.relu(self.b1_1(x))
        b2 = F.relu(self.b2_2(F.relu(self.b2_1(x))))
        b3 = F.relu(self.b3_2(F.relu(self.b3_1(x))))
        b4 = F.relu(self.b4_2(self.b4_1(x)))
        return torch.cat((b1, b2, b3, b4), dim=1)


class Residual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) \
            if use_1x1conv else None
        self.bn1, self.bn2 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)


def conv_block(num_channels):
    return nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(),
                         nn.LazyConv2d(num_channels, kernel_size=3, padding=1))


class DenseBlock(nn.Module):
    def __init__(self, num_convs, num_channels):
        super().__init__()
        self.net = nn.Sequential(*[conv_block(num_channels) for _ in range(num_convs)])

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = torch.cat((X, Y), dim=1)
        return X


def transition_block(num_channels):
    return nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(),
                         nn.LazyConv2d(num_channels, kernel_size=1),
                         nn.AvgPool2d(kernel_size=2, stride=2))


def section_modern_cnn() -> None:
    X = torch.randn(2, 3, 16, 16)
    y = torch.tensor([1, 4])
    nets = {
        "vgg": nn.Sequential(vgg_block(1, 4), vgg_block(2, 8), nn.Flatten(),
                             nn.LazyLinear(16), nn.ReLU(), nn.Dropout(0.5), nn.LazyLinear(5)),
        "nin": nn.Sequential(nin_block(8, 3, 1, 1), nn.MaxPool2d(3, stride=2),
                             nin_block(5, 3, 1, 1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()),
        "googlenet": nn.Sequential(nn.LazyConv2d(8, 3, padding=1), nn.ReLU(),
                                   Inception(4, (4, 6), (2, 3), 3), nn.MaxPool2d(3, 2, 1),
                                   Inception(4, (4, 6), (2, 3), 3),
                                   nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(5)),
        "resnet": nn.Sequential(nn.LazyConv2d(8, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
                                Residual(8), Residual(12, use_1x1conv=True, strides=2),
                                nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(5)),
        "densenet": nn.Sequential(nn.LazyConv2d(8, 3, padding=1), DenseBlock(2, 4),
                                  transition_block(8), DenseBlock(2, 4), nn.LazyBatchNorm2d(),
                                  nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                                  nn.LazyLinear(5)),
    }
    for name, net in nets.items():
        net(X)  # the lazy modules' dummy pass, as the book's layer_summary does
        for module in net.modules():
            if type(module) in (nn.Linear, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        losses = []
        for _ in range(2):
            optimizer.zero_grad()
            loss = F.cross_entropy(net(X), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"cnn.{name}.losses", losses)
        put_state(f"cnn.{name}", net)
        shapes = []
        for layer in net:
            X_shape = X if not shapes else shapes[-1]
            shapes.append(layer(X_shape))
        put(f"cnn.{name}.shapes", [list(s.shape) for s in shapes][-1])


class LSTMScratch(nn.Module):
    def __init__(self, num_inputs, num_hiddens, sigma=0.01):
        super().__init__()
        self.num_hiddens = num_hiddens

        def init_weight(*shape):
            return nn.Parameter(torch.randn(*shape) * sigma)

        def triple():
            return (init_weight(num_inputs, num_hiddens), init_weight(num_hiddens, num_hiddens),
                    nn.Parameter(torch.zeros(num_hiddens)))

        self.W_xi, self.W_hi, self.b_i = triple()
        self.W_xf, self.W_hf, self.b_f = triple()
        self.W_xo, self.W_ho, self.b_o = triple()
        self.W_xc, self.W_hc, self.b_c = triple()

    def forward(self, inputs, H_C=None):
        if H_C is None:
            H = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
            C = torch.zeros((inputs.shape[1], self.num_hiddens), device=inputs.device)
        else:
            H, C = H_C
        outputs = []
        for X in inputs:
            I = torch.sigmoid(torch.matmul(X, self.W_xi) + torch.matmul(H, self.W_hi) + self.b_i)  # noqa: E741
            F_ = torch.sigmoid(torch.matmul(X, self.W_xf) + torch.matmul(H, self.W_hf) + self.b_f)
            O = torch.sigmoid(torch.matmul(X, self.W_xo) + torch.matmul(H, self.W_ho) + self.b_o)  # noqa: E741
            C_tilde = torch.tanh(torch.matmul(X, self.W_xc) + torch.matmul(H, self.W_hc) + self.b_c)
            C = F_ * C + I * C_tilde
            H = O * torch.tanh(C)
            outputs.append(H)
        return outputs, (H, C)


def grad_clipping(net, theta):
    params = [p for p in net.parameters() if p.requires_grad]
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm
    return norm


def section_rnn_scratch() -> None:
    vocab, hidden, steps, batch = 7, 10, 6, 3
    tokens = torch.randint(0, vocab, (batch, steps + 1))
    lstm = LSTMScratch(vocab, hidden, sigma=0.3)
    head = nn.Linear(hidden, vocab)
    params = list(lstm.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=1.0)
    losses, norms = [], []
    for _ in range(4):
        embs = F.one_hot(tokens[:, :-1].T, vocab).type(torch.float32)
        outputs, _ = lstm(embs)
        logits = torch.stack([head(H) for H in outputs], 1)
        loss = F.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        norms.append(float(grad_clipping(nn.ModuleList([lstm, head]), 0.5)))
        optimizer.step()
        losses.append(loss.item())
    put("rnnscratch.losses", losses)
    put("rnnscratch.norms", norms)
    put_state("rnnscratch.lstm", lstm)
    # perplexity and a greedy prediction as the book's predict() does
    put("rnnscratch.ppl", math.exp(losses[-1]))
    state, outputs = None, [int(tokens[0, 0])]
    for _ in range(5):
        X = F.one_hot(torch.tensor([[outputs[-1]]]), vocab).float()
        rnn_outputs, state = lstm(X, state)
        outputs.append(int(head(rnn_outputs[0]).argmax(dim=1).reshape(1)))
    put("rnnscratch.pred", outputs)
    # deep bidirectional GRU, the concise chapter
    gru = nn.GRU(vocab, hidden, num_layers=2, bidirectional=True, dropout=0.0)
    out_head = nn.Linear(2 * hidden, vocab)
    opt = torch.optim.Adam(list(gru.parameters()) + list(out_head.parameters()), lr=0.01)
    for _ in range(3):
        embs = F.one_hot(tokens[:, :-1].T, vocab).float()
        rnn_out, H = gru(embs)
        logits = out_head(rnn_out).swapaxes(0, 1)
        loss = F.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(gru.parameters(), 1)
        opt.step()
    put("rnnscratch.gru.loss", loss.detach())
    put("rnnscratch.gru.H", H)
    put_state("rnnscratch.gru", gru)


SECTIONS = {"optscratch": section_optim_scratch, "wd": section_weight_decay,
            "scratch": section_scratch_layers, "cnn": section_modern_cnn,
            "rnnscratch": section_rnn_scratch}
