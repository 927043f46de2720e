"""Dive into Deep Learning's from-scratch chapters as readers type them in, written afresh (PR11,
session 26), printing what the book prints: linear regression from scratch (synthetic_data,
data_iter over a shuffled index list, sgd under no_grad) and concisely; softmax regression
from scratch (an Accumulator, ``y_hat[range(len(y_hat)), y]``, accuracy through ``.type``);
an MLP with ``torch.max(X, zeros_like)``; weight decay with the L2 norm of w; dropout from
scratch; batch norm from scratch inside LeNet; LeNet's per-layer output shapes; a character
RNN from scratch with gradient clipping, state detach_ and perplexity; GRU and LSTM from
scratch; seq2seq with sequence_mask, the masked softmax cross-entropy subclass, xavier init
through ``_flat_weights_names`` and BLEU; masked softmax with additive / dot-product
attention and Nadaraya-Watson pooling; the transformer encoder (transpose_qkv, positional
encoding, AddNorm); word2vec skip-gram with negative sampling and a masked BCE loss. Tiny
sizes, fixed seeds; run by prog_s26_PR11_all.py.
"""
# ruff: noqa: B007, B023, E501, E721, E741, N806, UP008, UP031, UP032, UP034 - the code as
# the lectures, the book and the tutorials write it (names, super(Cls, self), type(m) ==,
# %-formats, long lines)

import collections
import math
import os
import random

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn
from torch.utils import data


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def section_linreg() -> None:
    random.seed(0)
    torch.manual_seed(0)
    with printed("d2l_linreg.log"):
        true_w = torch.tensor([2, -3.4])
        true_b = 4.2
        features, labels = synthetic_data(true_w, true_b, 200)
        print('features:', features[0], '\nlabel:', labels[0])
        batch_size = 10
        for X, y in data_iter(batch_size, features, labels):
            print(X, '\n', y)
            break
        w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        lr = 0.03
        num_epochs = 3
        net = linreg
        loss = squared_loss
        for epoch in range(num_epochs):
            for X, y in data_iter(batch_size, features, labels):
                l = loss(net(X, w, b), y)
                l.sum().backward()
                sgd([w, b], lr, batch_size)
            with torch.no_grad():
                train_l = loss(net(features, w, b), labels)
                print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')
        print(f'w的估计误差: {true_w - w.reshape(true_w.shape)}')
        print(f'b的估计误差: {true_b - b}')

        def load_array(data_arrays, batch_size, is_train=True):
            dataset = data.TensorDataset(*data_arrays)
            return data.DataLoader(dataset, batch_size, shuffle=is_train)

        data_iter2 = load_array((features, labels), batch_size)
        print(next(iter(data_iter2)))
        net = nn.Sequential(nn.Linear(2, 1))
        net[0].weight.data.normal_(0, 0.01)
        net[0].bias.data.fill_(0)
        loss = nn.MSELoss()
        trainer = torch.optim.SGD(net.parameters(), lr=0.03)
        for epoch in range(num_epochs):
            for X, y in data_iter2:
                l = loss(net(X), y)
                trainer.zero_grad()
                l.backward()
                trainer.step()
            l = loss(net(features), labels)
            print(f'epoch {epoch + 1}, loss {l:f}')
        w = net[0].weight.data
        print('w的估计误差：', true_w - w.reshape(true_w.shape))
        b = net[0].bias.data
        print('b的估计误差：', true_b - b)


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        print(f'epoch {epoch + 1}: loss {train_metrics[0]:.3f}, train acc {train_metrics[1]:.3f}, '
              f'test acc {test_acc:.3f}')
    return train_metrics


def _fashion(n_train=96, n_test=48, d=16, classes=4, image=False):
    """Stand-in for Fashion-MNIST: class-dependent means plus noise, DataLoaders of 16."""
    g = torch.Generator().manual_seed(7)
    centers = torch.randn(classes, d, generator=g) * 1.5
    ys = torch.arange(n_train + n_test) % classes
    Xs = centers[ys] + torch.randn(n_train + n_test, d, generator=g)
    if image:
        side = int(math.isqrt(d))
        Xs = Xs.reshape(-1, 1, side, side)
    train = data.TensorDataset(Xs[:n_train], ys[:n_train])
    test = data.TensorDataset(Xs[n_train:], ys[n_train:])
    gen = torch.Generator().manual_seed(3)
    return (data.DataLoader(train, 16, shuffle=True, generator=gen),
            data.DataLoader(test, 16, shuffle=False))


def get_fashion_mnist_labels(labels):
    text_labels = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat',
                   'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
    return [text_labels[int(i)] for i in labels]


def section_softmax() -> None:
    torch.manual_seed(0)
    train_iter, test_iter = _fashion()
    with printed("d2l_softmax.log"):
        X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        print(X.sum(0, keepdim=True), X.sum(1, keepdim=True))

        def softmax(X):
            X_exp = torch.exp(X)
            partition = X_exp.sum(1, keepdim=True)
            return X_exp / partition

        X = torch.normal(0, 1, (2, 5))
        X_prob = softmax(X)
        print(X_prob, X_prob.sum(1))
        num_inputs, num_outputs = 16, 4
        W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
        b = torch.zeros(num_outputs, requires_grad=True)

        def net(X):
            return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

        y = torch.tensor([0, 2])
        y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
        print(y_hat[[0, 1], y])

        def cross_entropy(y_hat, y):
            return - torch.log(y_hat[range(len(y_hat)), y])

        print(cross_entropy(y_hat, y))
        print(accuracy(y_hat, y) / len(y))
        print(evaluate_accuracy(net, test_iter))
        lr = 0.1

        def updater(batch_size):
            return sgd([W, b], lr, batch_size)

        train_ch3(net, train_iter, test_iter, cross_entropy, 4, updater)
        for X, y in test_iter:
            break
        trues = get_fashion_mnist_labels(y)
        preds = get_fashion_mnist_labels(net(X).argmax(axis=1))
        titles = [true + '\n' + pred for true, pred in zip(trues, preds)]
        print(titles[:6])
        net2 = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))

        def init_weights(m):
            if type(m) == nn.Linear:
                nn.init.normal_(m.weight, std=0.01)

        net2.apply(init_weights)
        loss = nn.CrossEntropyLoss(reduction='none')
        trainer = torch.optim.SGD(net2.parameters(), lr=0.1)
        train_ch3(net2, train_iter, test_iter, loss, 3, trainer)


def section_mlp() -> None:
    torch.manual_seed(0)
    train_iter, test_iter = _fashion()
    with printed("d2l_mlp.log"):
        x = torch.arange(-8.0, 8.0, 2.0, requires_grad=True)
        y = torch.relu(x)
        y.backward(torch.ones_like(x), retain_graph=True)
        print(y, x.grad)
        x.grad.data.zero_()
        y = torch.sigmoid(x)
        y.backward(torch.ones_like(x))
        print(y, x.grad)
        num_inputs, num_outputs, num_hiddens = 16, 4, 32
        W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens, requires_grad=True) * 0.01)
        b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
        W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs, requires_grad=True) * 0.01)
        b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))
        params = [W1, b1, W2, b2]

        def relu(X):
            a = torch.zeros_like(X)
            return torch.max(X, a)

        def net(X):
            X = X.reshape((-1, num_inputs))
            H = relu(X@W1 + b1)
            return (H@W2 + b2)

        loss = nn.CrossEntropyLoss(reduction='none')
        updater = torch.optim.SGD(params, lr=0.1)
        train_ch3(net, train_iter, test_iter, loss, 4, updater)
        print(W1.grad.shape, b2)


def section_weight_decay() -> None:
    torch.manual_seed(0)
    with printed("d2l_wd.log"):
        n_train, n_test, num_inputs, batch_size = 20, 100, 50, 5
        true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
        train_data = synthetic_data(true_w, true_b, n_train)
        train_iter = data.DataLoader(data.TensorDataset(*train_data), batch_size, shuffle=True)
        test_data = synthetic_data(true_w, true_b, n_test)
        test_iter = data.DataLoader(data.TensorDataset(*test_data), batch_size, shuffle=False)

        def init_params():
            w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
            b = torch.zeros(1, requires_grad=True)
            return [w, b]

        def l2_penalty(w):
            return torch.sum(w.pow(2)) / 2

        def evaluate_loss(net, data_iter, loss):
            metric = Accumulator(2)
            for X, y in data_iter:
                out = net(X)
                y = y.reshape(out.shape)
                l = loss(out, y)
                metric.add(l.sum(), l.numel())
            return metric[0] / metric[1]

        def train(lambd):
            w, b = init_params()
            net, loss = lambda X: linreg(X, w, b), squared_loss
            num_epochs, lr = 20, 0.003
            for epoch in range(num_epochs):
                for X, y in train_iter:
                    l = loss(net(X), y) + lambd * l2_penalty(w)
                    l.sum().backward()
                    sgd([w, b], lr, batch_size)
                if (epoch + 1) % 5 == 0:
                    print(epoch + 1, (evaluate_loss(net, train_iter, loss),
                                      evaluate_loss(net, test_iter, loss)))
            print('w的L2范数是：', torch.norm(w).item())

        train(lambd=0)
        train(lambd=3)

        def train_concise(wd):
            net = nn.Sequential(nn.Linear(num_inputs, 1))
            for param in net.parameters():
                param.data.normal_()
            loss = nn.MSELoss(reduction='none')
            num_epochs, lr = 20, 0.003
            trainer = torch.optim.SGD([
                {"params": net[0].weight, 'weight_decay': wd},
                {"params": net[0].bias}], lr=lr)
            for epoch in range(num_epochs):
                for X, y in train_iter:
                    trainer.zero_grad()
                    l = loss(net(X), y)
                    l.mean().backward()
                    trainer.step()
                if (epoch + 1) % 10 == 0:
                    print(epoch + 1, (evaluate_loss(net, train_iter, loss),
                                      evaluate_loss(net, test_iter, loss)))
            print('w的L2范数：', net[0].weight.norm().item())
            print(trainer)

        train_concise(0)
        train_concise(3)


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


def section_dropout() -> None:
    torch.manual_seed(0)
    train_iter, test_iter = _fashion()
    with printed("d2l_dropout.log"):
        X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
        print(X)
        print(dropout_layer(X, 0.))
        print(dropout_layer(X, 0.5))
        print(dropout_layer(X, 1.))
        num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 16, 4, 32, 32
        dropout1, dropout2 = 0.2, 0.5

        class Net(nn.Module):
            def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2,
                         is_training=True):
                super(Net, self).__init__()
                self.num_inputs = num_inputs
                self.training = is_training
                self.lin1 = nn.Linear(num_inputs, num_hiddens1)
                self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
                self.lin3 = nn.Linear(num_hiddens2, num_outputs)
                self.relu = nn.ReLU()

            def forward(self, X):
                H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
                if self.training:
                    H1 = dropout_layer(H1, dropout1)
                H2 = self.relu(self.lin2(H1))
                if self.training:
                    H2 = dropout_layer(H2, dropout2)
                out = self.lin3(H2)
                return out

        net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
        loss = nn.CrossEntropyLoss(reduction='none')
        trainer = torch.optim.SGD(net.parameters(), lr=0.5)
        train_ch3(net, train_iter, test_iter, loss, 3, trainer)
        net = nn.Sequential(nn.Flatten(), nn.Linear(16, 32), nn.ReLU(), nn.Dropout(dropout1),
                            nn.Linear(32, 32), nn.ReLU(), nn.Dropout(dropout2), nn.Linear(32, 4))

        def init_weights(m):
            if type(m) == nn.Linear:
                nn.init.normal_(m.weight, std=0.01)

        net.apply(init_weights)
        trainer = torch.optim.SGD(net.parameters(), lr=0.5)
        train_ch3(net, train_iter, test_iter, loss, 3, trainer)
        print(net)


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
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.9)
        return Y


def evaluate_accuracy_gpu(net, data_iter, device=None):
    if isinstance(net, nn.Module):
        net.eval()
        if not device:
            device = next(iter(net.parameters())).device
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            if isinstance(X, list):
                X = [x.to(device) for x in X]
            else:
                X = X.to(device)
            y = y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device):
    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    print('training on', device)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    num_batches = len(train_iter)
    for epoch in range(num_epochs):
        metric = Accumulator(3)
        net.train()
        for i, (X, y) in enumerate(train_iter):
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
            train_l = metric[0] / metric[2]
            train_acc = metric[1] / metric[2]
            if (i + 1) % (num_batches // 2) == 0 or i == num_batches - 1:
                print(epoch + (i + 1) / num_batches, round(train_l, 4), round(train_acc, 4))
        test_acc = evaluate_accuracy_gpu(net, test_iter)
    print(f'loss {train_l:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}')


def try_gpu(i=0):
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def section_lenet() -> None:
    torch.manual_seed(0)
    train_iter, test_iter = _fashion(n_train=64, n_test=32, d=196, image=True)
    with printed("d2l_lenet.log"):
        net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
            nn.Linear(120, 84), nn.Sigmoid(),
            nn.Linear(84, 10))
        X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
        for layer in net:
            X = layer(X)
            print(layer.__class__.__name__, 'output shape: \t', X.shape)
        small = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 1 * 1, 12), nn.Sigmoid(),
            nn.Linear(12, 4))
        print(try_gpu(), try_gpu(10), [torch.device('cpu')])
        train_ch6(small, train_iter, test_iter, 2, 0.9, try_gpu())
        net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), BatchNorm(6, num_dims=4), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
            nn.Linear(16, 12), BatchNorm(12, num_dims=2), nn.Sigmoid(),
            nn.Linear(12, 4))
        train_ch6(net, train_iter, test_iter, 2, 1.0, try_gpu())
        print(net[1].gamma.reshape((-1,)), net[1].beta.reshape((-1,)))
        print(net[1].moving_mean.reshape(-1), net[10].moving_var.shape)
        net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.BatchNorm2d(6), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
            nn.Linear(16, 12), nn.BatchNorm1d(12), nn.Sigmoid(),
            nn.Linear(12, 4))
        train_ch6(net, train_iter, test_iter, 2, 1.0, try_gpu())
        print(net[1].running_mean, net[1].num_batches_tracked)


TEXT = ("the time machine by h g wells i the time traveller for so it will be convenient to "
        "speak of him was expounding a recondite matter to us his grey eyes shone and twinkled "
        "and his usually pale face was flushed and animated the fire burned brightly and the soft "
        "radiance of the incandescent lights in the lilies of silver caught the bubbles that "
        "flashed and passed in our glasses ") * 3


class Vocab:
    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        if tokens is None:
            tokens = []
        if reserved_tokens is None:
            reserved_tokens = []
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ['<unk>'] + reserved_tokens
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self):
        return 0

    @property
    def token_freqs(self):
        return self._token_freqs


def count_corpus(tokens):
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


def seq_data_iter_sequential(corpus, batch_size, num_steps):
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset: offset + num_tokens])
    Ys = torch.tensor(corpus[offset + 1: offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        X = Xs[:, i: i + num_steps]
        Y = Ys[:, i: i + num_steps]
        yield X, Y


def seq_data_iter_random(corpus, batch_size, num_steps):
    corpus = corpus[random.randint(0, num_steps - 1):]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    random.shuffle(initial_indices)

    def data(pos):
        return corpus[pos: pos + num_steps]

    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        initial_indices_per_batch = initial_indices[i: i + batch_size]
        X = [data(j) for j in initial_indices_per_batch]
        Y = [data(j + 1) for j in initial_indices_per_batch]
        yield torch.tensor(X), torch.tensor(Y)


def _char_corpus():
    tokens = [list(TEXT)]
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    return corpus, vocab


class RNNModelScratch:
    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


def predict_ch8(prefix, num_preds, net, vocab, device):
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]

    def get_input():
        return torch.tensor([outputs[-1]], device=device).reshape((1, 1))

    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return ''.join([vocab.idx_to_token[i] for i in outputs])


def grad_clipping(net, theta):
    if isinstance(net, nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    state = None
    metric = Accumulator(2)
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            if isinstance(net, nn.Module) and not isinstance(state, tuple):
                state.detach_()
            else:
                for s in state:
                    s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            grad_clipping(net, 1)
            updater(batch_size=1)
        metric.add(l * y.numel(), y.numel())
    return math.exp(metric[0] / metric[1]), metric[1]


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
    loss = nn.CrossEntropyLoss()
    if isinstance(net, nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        def updater(batch_size):
            return sgd(net.params, lr, batch_size)

    def predict(prefix):
        return predict_ch8(prefix, 12, net, vocab, device)

    for epoch in range(num_epochs):
        ppl, speed = train_epoch_ch8(net, train_iter(), loss, updater, device, use_random_iter)
        if (epoch + 1) % 2 == 0:
            print(epoch + 1, round(ppl, 3), predict('time traveller'))
    print(f'困惑度 {ppl:.1f}, {speed:.0f} 词元')
    print(predict('time traveller'))
    print(predict('traveller'))


def section_rnn_scratch() -> None:
    random.seed(0)
    torch.manual_seed(0)
    corpus, vocab = _char_corpus()
    device = try_gpu()
    with printed("d2l_rnn.log"):
        print(len(vocab), vocab.token_freqs[:5])
        print(F.one_hot(torch.tensor([0, 2]), len(vocab)))
        X = torch.arange(10).reshape((2, 5))
        print(F.one_hot(X.T, 28).shape)
        my_seq = list(range(35))
        for X, Y in seq_data_iter_random(my_seq, batch_size=2, num_steps=5):
            print('X: ', X, '\nY:', Y)
            break
        for X, Y in seq_data_iter_sequential(my_seq, batch_size=2, num_steps=5):
            print('X: ', X, '\nY:', Y)
            break

        def get_params(vocab_size, num_hiddens, device):
            num_inputs = num_outputs = vocab_size

            def normal(shape):
                return torch.randn(size=shape, device=device) * 0.01

            W_xh = normal((num_inputs, num_hiddens))
            W_hh = normal((num_hiddens, num_hiddens))
            b_h = torch.zeros(num_hiddens, device=device)
            W_hq = normal((num_hiddens, num_outputs))
            b_q = torch.zeros(num_outputs, device=device)
            params = [W_xh, W_hh, b_h, W_hq, b_q]
            for param in params:
                param.requires_grad_(True)
            return params

        def init_rnn_state(batch_size, num_hiddens, device):
            return (torch.zeros((batch_size, num_hiddens), device=device), )

        def rnn(inputs, state, params):
            W_xh, W_hh, b_h, W_hq, b_q = params
            H, = state
            outputs = []
            for X in inputs:
                H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
                Y = torch.mm(H, W_hq) + b_q
                outputs.append(Y)
            return torch.cat(outputs, dim=0), (H,)

        num_hiddens = 32
        net = RNNModelScratch(len(vocab), num_hiddens, device, get_params, init_rnn_state, rnn)
        state = net.begin_state(X.shape[0], device)
        Y, new_state = net(X.to(device), state)
        print(Y.shape, len(new_state), new_state[0].shape)
        print(predict_ch8('time traveller ', 10, net, vocab, device))

        def train_iter():
            return seq_data_iter_sequential(corpus, 4, 12)

        train_ch8(net, train_iter, vocab, 1, 6, device)

        class RNNModel(nn.Module):
            def __init__(self, rnn_layer, vocab_size, **kwargs):
                super(RNNModel, self).__init__(**kwargs)
                self.rnn = rnn_layer
                self.vocab_size = vocab_size
                self.num_hiddens = self.rnn.hidden_size
                if not self.rnn.bidirectional:
                    self.num_directions = 1
                    self.linear = nn.Linear(self.num_hiddens, self.vocab_size)
                else:
                    self.num_directions = 2
                    self.linear = nn.Linear(self.num_hiddens * 2, self.vocab_size)

            def forward(self, inputs, state):
                X = F.one_hot(inputs.T.long(), self.vocab_size)
                X = X.to(torch.float32)
                Y, state = self.rnn(X, state)
                output = self.linear(Y.reshape((-1, Y.shape[-1])))
                return output, state

            def begin_state(self, device, batch_size=1):
                if not isinstance(self.rnn, nn.LSTM):
                    return torch.zeros((self.num_directions * self.rnn.num_layers,
                                        batch_size, self.num_hiddens), device=device)
                else:
                    return (torch.zeros((self.num_directions * self.rnn.num_layers,
                                         batch_size, self.num_hiddens), device=device),
                            torch.zeros((self.num_directions * self.rnn.num_layers,
                                         batch_size, self.num_hiddens), device=device))

        rnn_layer = nn.RNN(len(vocab), num_hiddens)
        state = torch.zeros((1, 4, num_hiddens))
        print(state.shape)
        X = torch.rand(size=(12, 4, len(vocab)))
        Y, state_new = rnn_layer(X, state)
        print(Y.shape, state_new.shape)
        net = RNNModel(rnn_layer, vocab_size=len(vocab))
        net = net.to(device)
        print(predict_ch8('time traveller', 10, net, vocab, device))
        train_ch8(net, train_iter, vocab, 1, 4, device)
        rnn_layer = nn.LSTM(len(vocab), num_hiddens)
        net = RNNModel(rnn_layer, vocab_size=len(vocab))
        train_ch8(net, train_iter, vocab, 2, 4, device)


def section_gru_lstm() -> None:
    random.seed(1)
    torch.manual_seed(1)
    corpus, vocab = _char_corpus()
    device = try_gpu()
    num_hiddens = 24
    with printed("d2l_gru.log"):
        def get_params(vocab_size, num_hiddens, device):
            num_inputs = num_outputs = vocab_size

            def normal(shape):
                return torch.randn(size=shape, device=device) * 0.01

            def three():
                return (normal((num_inputs, num_hiddens)),
                        normal((num_hiddens, num_hiddens)),
                        torch.zeros(num_hiddens, device=device))

            W_xz, W_hz, b_z = three()
            W_xr, W_hr, b_r = three()
            W_xh, W_hh, b_h = three()
            W_hq = normal((num_hiddens, num_outputs))
            b_q = torch.zeros(num_outputs, device=device)
            params = [W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]
            for param in params:
                param.requires_grad_(True)
            return params

        def init_gru_state(batch_size, num_hiddens, device):
            return (torch.zeros((batch_size, num_hiddens), device=device), )

        def gru(inputs, state, params):
            W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
            H, = state
            outputs = []
            for X in inputs:
                Z = torch.sigmoid((X @ W_xz) + (H @ W_hz) + b_z)
                R = torch.sigmoid((X @ W_xr) + (H @ W_hr) + b_r)
                H_tilda = torch.tanh((X @ W_xh) + ((R * H) @ W_hh) + b_h)
                H = Z * H + (1 - Z) * H_tilda
                Y = H @ W_hq + b_q
                outputs.append(Y)
            return torch.cat(outputs, dim=0), (H,)

        def train_iter():
            return seq_data_iter_random(corpus, 4, 10)

        net = RNNModelScratch(len(vocab), num_hiddens, device, get_params, init_gru_state, gru)
        train_ch8(net, train_iter, vocab, 1, 4, device, use_random_iter=True)

        def get_lstm_params(vocab_size, num_hiddens, device):
            num_inputs = num_outputs = vocab_size

            def normal(shape):
                return torch.randn(size=shape, device=device)*0.01

            def three():
                return (normal((num_inputs, num_hiddens)),
                        normal((num_hiddens, num_hiddens)),
                        torch.zeros(num_hiddens, device=device))

            W_xi, W_hi, b_i = three()
            W_xf, W_hf, b_f = three()
            W_xo, W_ho, b_o = three()
            W_xc, W_hc, b_c = three()
            W_hq = normal((num_hiddens, num_outputs))
            b_q = torch.zeros(num_outputs, device=device)
            params = [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q]
            for param in params:
                param.requires_grad_(True)
            return params

        def init_lstm_state(batch_size, num_hiddens, device):
            return (torch.zeros((batch_size, num_hiddens), device=device),
                    torch.zeros((batch_size, num_hiddens), device=device))

        def lstm(inputs, state, params):
            [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c,
             W_hq, b_q] = params
            (H, C) = state
            outputs = []
            for X in inputs:
                I = torch.sigmoid((X @ W_xi) + (H @ W_hi) + b_i)
                F_ = torch.sigmoid((X @ W_xf) + (H @ W_hf) + b_f)
                O = torch.sigmoid((X @ W_xo) + (H @ W_ho) + b_o)
                C_tilda = torch.tanh((X @ W_xc) + (H @ W_hc) + b_c)
                C = F_ * C + I * C_tilda
                H = O * torch.tanh(C)
                Y = (H @ W_hq) + b_q
                outputs.append(Y)
            return torch.cat(outputs, dim=0), (H, C)

        def train_seq():
            return seq_data_iter_sequential(corpus, 4, 10)

        net = RNNModelScratch(len(vocab), num_hiddens, device, get_lstm_params,
                              init_lstm_state, lstm)
        train_ch8(net, train_seq, vocab, 2, 4, device)
        gru_layer = nn.GRU(len(vocab), num_hiddens, num_layers=2)
        print(gru_layer)
        print([(name, tuple(p.shape)) for name, p in gru_layer.named_parameters()])


def sequence_mask(X, valid_len, value=0):
    maxlen = X.size(1)
    mask = torch.arange((maxlen), dtype=torch.float32, device=X.device)[None, :] < valid_len[:, None]
    X[~mask] = value
    return X


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    def forward(self, pred, label, valid_len):
        weights = torch.ones_like(label)
        weights = sequence_mask(weights, valid_len)
        self.reduction = 'none'
        unweighted_loss = super(MaskedSoftmaxCELoss, self).forward(pred.permute(0, 2, 1), label)
        weighted_loss = (unweighted_loss * weights).mean(dim=1)
        return weighted_loss


class Seq2SeqEncoder(nn.Module):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super(Seq2SeqEncoder, self).__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        X = self.embedding(X)
        X = X.permute(1, 0, 2)
        output, state = self.rnn(X)
        return output, state


class Seq2SeqDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super(Seq2SeqDecoder, self).__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, *args):
        return enc_outputs[1]

    def forward(self, X, state):
        X = self.embedding(X).permute(1, 0, 2)
        context = state[-1].repeat(X.shape[0], 1, 1)
        X_and_context = torch.cat((X, context), 2)
        output, state = self.rnn(X_and_context, state)
        output = self.dense(output).permute(1, 0, 2)
        return output, state


class EncoderDecoder(nn.Module):
    def __init__(self, encoder, decoder, **kwargs):
        super(EncoderDecoder, self).__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, *args):
        enc_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        return self.decoder(dec_X, dec_state)


PAIRS = [("go .", "va !"), ("i lost .", "j'ai perdu ."), ("he's calm .", "il est calme ."),
         ("i'm home .", "je suis chez moi ."), ("hi .", "salut !"), ("run !", "cours !"),
         ("who ?", "qui ?"), ("wow !", "ça alors !"), ("i won .", "j'ai gagné ."),
         ("he ran .", "il a couru .")]


def truncate_pad(line, num_steps, padding_token):
    if len(line) > num_steps:
        return line[:num_steps]
    return line + [padding_token] * (num_steps - len(line))


def bleu(pred_seq, label_seq, k):
    pred_tokens, label_tokens = pred_seq.split(' '), label_seq.split(' ')
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    score = math.exp(min(0, 1 - len_label / len_pred))
    for n in range(1, k + 1):
        num_matches, label_subs = 0, collections.defaultdict(int)
        for i in range(len_label - n + 1):
            label_subs[' '.join(label_tokens[i: i + n])] += 1
        for i in range(len_pred - n + 1):
            if label_subs[' '.join(pred_tokens[i: i + n])] > 0:
                num_matches += 1
                label_subs[' '.join(pred_tokens[i: i + n])] -= 1
        score *= math.pow(num_matches / (len_pred - n + 1), math.pow(0.5, n))
    return score


def section_seq2seq() -> None:
    torch.manual_seed(0)
    source = [p[0].split(' ') for p in PAIRS]
    target = [p[1].split(' ') for p in PAIRS]
    src_vocab = Vocab(source, reserved_tokens=['<pad>', '<bos>', '<eos>'])
    tgt_vocab = Vocab(target, reserved_tokens=['<pad>', '<bos>', '<eos>'])
    num_steps = 6

    def build_array(lines, vocab, num_steps):
        lines = [vocab[l] for l in lines]
        lines = [l + [vocab['<eos>']] for l in lines]
        array = torch.tensor([truncate_pad(l, num_steps, vocab['<pad>']) for l in lines])
        valid_len = (array != vocab['<pad>']).type(torch.int32).sum(1)
        return array, valid_len

    src_array, src_valid_len = build_array(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array(target, tgt_vocab, num_steps)
    dataset = data.TensorDataset(src_array, src_valid_len, tgt_array, tgt_valid_len)
    train_iter = data.DataLoader(dataset, 5, shuffle=True, generator=torch.Generator().manual_seed(0))
    with printed("d2l_s2s.log"):
        print(len(src_vocab), len(tgt_vocab), src_array[:2], src_valid_len)
        encoder = Seq2SeqEncoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
        encoder.eval()
        X = torch.zeros((4, 7), dtype=torch.long)
        output, state = encoder(X)
        print(output.shape, state.shape)
        decoder = Seq2SeqDecoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
        decoder.eval()
        state = decoder.init_state(encoder(X))
        output, state = decoder(X, state)
        print(output.shape, state.shape)
        X = torch.tensor([[1, 2, 3], [4, 5, 6]])
        print(sequence_mask(X, torch.tensor([1, 2])))
        X = torch.ones(2, 3, 4)
        print(sequence_mask(X, torch.tensor([1, 2]), value=-1))
        loss = MaskedSoftmaxCELoss()
        print(loss(torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long), torch.tensor([4, 2, 0])))

        def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
            def xavier_init_weights(m):
                if type(m) == nn.Linear:
                    nn.init.xavier_uniform_(m.weight)
                if type(m) == nn.GRU:
                    for param in m._flat_weights_names:
                        if "weight" in param:
                            nn.init.xavier_uniform_(m._parameters[param])

            net.apply(xavier_init_weights)
            net.to(device)
            optimizer = torch.optim.Adam(net.parameters(), lr=lr)
            loss = MaskedSoftmaxCELoss()
            net.train()
            for epoch in range(num_epochs):
                metric = Accumulator(2)
                for batch in data_iter:
                    optimizer.zero_grad()
                    X, X_valid_len, Y, Y_valid_len = [x.to(device) for x in batch]
                    bos = torch.tensor([tgt_vocab['<bos>']] * Y.shape[0], device=device).reshape(-1, 1)
                    dec_input = torch.cat([bos, Y[:, :-1]], 1)
                    Y_hat, _ = net(X, dec_input, X_valid_len)
                    l = loss(Y_hat, Y, Y_valid_len)
                    l.sum().backward()
                    grad_clipping(net, 1)
                    num_tokens = Y_valid_len.sum()
                    optimizer.step()
                    with torch.no_grad():
                        metric.add(l.sum(), num_tokens)
                if (epoch + 1) % 10 == 0:
                    print(epoch + 1, f'{metric[0] / metric[1]:.4f}')
            print(f'loss {metric[0] / metric[1]:.3f}, on {str(device)}')

        def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device):
            net.eval()
            src_tokens = src_vocab[src_sentence.lower().split(' ')] + [src_vocab['<eos>']]
            enc_valid_len = torch.tensor([len(src_tokens)], device=device)
            src_tokens = truncate_pad(src_tokens, num_steps, src_vocab['<pad>'])
            enc_X = torch.unsqueeze(torch.tensor(src_tokens, dtype=torch.long, device=device), dim=0)
            enc_outputs = net.encoder(enc_X, enc_valid_len)
            dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
            dec_X = torch.unsqueeze(torch.tensor([tgt_vocab['<bos>']], dtype=torch.long, device=device), dim=0)
            output_seq = []
            for _ in range(num_steps):
                Y, dec_state = net.decoder(dec_X, dec_state)
                dec_X = Y.argmax(dim=2)
                pred = dec_X.squeeze(dim=0).type(torch.int32).item()
                if pred == tgt_vocab['<eos>']:
                    break
                output_seq.append(pred)
            return ' '.join(tgt_vocab.to_tokens(output_seq))

        encoder = Seq2SeqEncoder(len(src_vocab), 16, 32, 2, 0.1)
        decoder = Seq2SeqDecoder(len(tgt_vocab), 16, 32, 2, 0.1)
        net = EncoderDecoder(encoder, decoder)
        train_seq2seq(net, train_iter, 0.01, 40, tgt_vocab, try_gpu())
        for eng, fra in PAIRS[:4]:
            translation = predict_seq2seq(net, eng, src_vocab, tgt_vocab, num_steps, try_gpu())
            print(f'{eng} => {translation}, bleu {bleu(translation, fra, k=2):.3f}')


def masked_softmax(X, valid_lens):
    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    else:
        shape = X.shape
        if valid_lens.dim() == 1:
            valid_lens = torch.repeat_interleave(valid_lens, shape[1])
        else:
            valid_lens = valid_lens.reshape(-1)
        X = sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
        return nn.functional.softmax(X.reshape(shape), dim=-1)


class AdditiveAttention(nn.Module):
    def __init__(self, key_size, query_size, num_hiddens, dropout, **kwargs):
        super(AdditiveAttention, self).__init__(**kwargs)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens):
        queries, keys = self.W_q(queries), self.W_k(keys)
        features = queries.unsqueeze(2) + keys.unsqueeze(1)
        features = torch.tanh(features)
        scores = self.w_v(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class DotProductAttention(nn.Module):
    def __init__(self, dropout, **kwargs):
        super(DotProductAttention, self).__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens=None):
        d = queries.shape[-1]
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


def section_attention() -> None:
    torch.manual_seed(0)
    with printed("d2l_attn.log"):
        print(masked_softmax(torch.rand(2, 2, 4), torch.tensor([2, 3])))
        print(masked_softmax(torch.rand(2, 2, 4), torch.tensor([[1, 3], [2, 4]])))
        queries, keys = torch.normal(0, 1, (2, 1, 20)), torch.ones((2, 10, 2))
        values = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)
        valid_lens = torch.tensor([2, 6])
        attention = AdditiveAttention(key_size=2, query_size=20, num_hiddens=8, dropout=0.1)
        attention.eval()
        print(attention(queries, keys, values, valid_lens))
        print(attention.attention_weights.reshape((1, 1, 2, 10)))
        queries = torch.normal(0, 1, (2, 1, 2))
        attention = DotProductAttention(dropout=0.5)
        attention.eval()
        print(attention(queries, keys, values, valid_lens))

        # Nadaraya-Watson kernel regression
        n_train = 50
        x_train, _ = torch.sort(torch.rand(n_train) * 5)

        def f(x):
            return 2 * torch.sin(x) + x**0.8

        y_train = f(x_train) + torch.normal(0.0, 0.5, (n_train,))
        x_test = torch.arange(0, 5, 0.1)
        y_truth = f(x_test)
        n_test = len(x_test)
        print(n_test)
        y_hat = torch.repeat_interleave(y_train.mean(), n_test)
        X_repeat = x_test.repeat_interleave(n_train).reshape((-1, n_train))
        attention_weights = nn.functional.softmax(-(X_repeat - x_train)**2 / 2, dim=1)
        y_hat = torch.matmul(attention_weights, y_train)
        print(y_hat[:5], ((y_hat - y_truth) ** 2).mean())
        X = torch.ones((2, 1, 4))
        Y = torch.ones((2, 4, 6))
        print(torch.bmm(X, Y).shape)
        weights = torch.ones((2, 10)) * 0.1
        values = torch.arange(20.0).reshape((2, 10))
        print(torch.bmm(weights.unsqueeze(1), values.unsqueeze(-1)))

        class NWKernelRegression(nn.Module):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.w = nn.Parameter(torch.rand((1,), requires_grad=True))

            def forward(self, queries, keys, values):
                queries = queries.repeat_interleave(keys.shape[1]).reshape((-1, keys.shape[1]))
                self.attention_weights = nn.functional.softmax(
                    -((queries - keys) * self.w)**2 / 2, dim=1)
                return torch.bmm(self.attention_weights.unsqueeze(1), values.unsqueeze(-1)).reshape(-1)

        X_tile = x_train.repeat((n_train, 1))
        Y_tile = y_train.repeat((n_train, 1))
        keys = X_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
        values = Y_tile[(1 - torch.eye(n_train)).type(torch.bool)].reshape((n_train, -1))
        net = NWKernelRegression()
        loss = nn.MSELoss(reduction='none')
        trainer = torch.optim.SGD(net.parameters(), lr=0.5)
        for epoch in range(5):
            trainer.zero_grad()
            l = loss(net(x_train, keys, values), y_train)
            l.sum().backward()
            trainer.step()
            print(f'epoch {epoch + 1}, loss {float(l.sum()):.6f}')
        keys = x_train.repeat((n_test, 1))
        values = y_train.repeat((n_test, 1))
        y_hat = net(x_test, keys, values).unsqueeze(1).detach()
        print(y_hat.shape, net.w)


def transpose_qkv(X, num_heads):
    X = X.reshape(X.shape[0], X.shape[1], num_heads, -1)
    X = X.permute(0, 2, 1, 3)
    return X.reshape(-1, X.shape[2], X.shape[3])


def transpose_output(X, num_heads):
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.permute(0, 2, 1, 3)
    return X.reshape(X.shape[0], X.shape[1], -1)


class MultiHeadAttention(nn.Module):
    def __init__(self, key_size, query_size, value_size, num_hiddens, num_heads, dropout,
                 bias=False, **kwargs):
        super(MultiHeadAttention, self).__init__(**kwargs)
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(self, queries, keys, values, valid_lens):
        queries = transpose_qkv(self.W_q(queries), self.num_heads)
        keys = transpose_qkv(self.W_k(keys), self.num_heads)
        values = transpose_qkv(self.W_v(values), self.num_heads)
        if valid_lens is not None:
            valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
        output = self.attention(queries, keys, values, valid_lens)
        output_concat = transpose_output(output, self.num_heads)
        return self.W_o(output_concat)


class PositionalEncoding(nn.Module):
    def __init__(self, num_hiddens, dropout, max_len=1000):
        super(PositionalEncoding, self).__init__()
        self.dropout = nn.Dropout(dropout)
        self.P = torch.zeros((1, max_len, num_hiddens))
        X = torch.arange(max_len, dtype=torch.float32).reshape(
            -1, 1) / torch.pow(10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)
        self.P[:, :, 0::2] = torch.sin(X)
        self.P[:, :, 1::2] = torch.cos(X)

    def forward(self, X):
        X = X + self.P[:, :X.shape[1], :].to(X.device)
        return self.dropout(X)


class PositionWiseFFN(nn.Module):
    def __init__(self, ffn_num_input, ffn_num_hiddens, ffn_num_outputs, **kwargs):
        super(PositionWiseFFN, self).__init__(**kwargs)
        self.dense1 = nn.Linear(ffn_num_input, ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

    def forward(self, X):
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    def __init__(self, normalized_shape, dropout, **kwargs):
        super(AddNorm, self).__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(normalized_shape)

    def forward(self, X, Y):
        return self.ln(self.dropout(Y) + X)


class EncoderBlock(nn.Module):
    def __init__(self, key_size, query_size, value_size, num_hiddens, norm_shape, ffn_num_input,
                 ffn_num_hiddens, num_heads, dropout, use_bias=False, **kwargs):
        super(EncoderBlock, self).__init__(**kwargs)
        self.attention = MultiHeadAttention(key_size, query_size, value_size, num_hiddens,
                                            num_heads, dropout, use_bias)
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(ffn_num_input, ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(norm_shape, dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(nn.Module):
    def __init__(self, vocab_size, key_size, query_size, value_size, num_hiddens, norm_shape,
                 ffn_num_input, ffn_num_hiddens, num_heads, num_layers, dropout,
                 use_bias=False, **kwargs):
        super(TransformerEncoder, self).__init__(**kwargs)
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_layers):
            self.blks.add_module("block"+str(i),
                                 EncoderBlock(key_size, query_size, value_size, num_hiddens,
                                              norm_shape, ffn_num_input, ffn_num_hiddens,
                                              num_heads, dropout, use_bias))

    def forward(self, X, valid_lens, *args):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        self.attention_weights = [None] * len(self.blks)
        for i, blk in enumerate(self.blks):
            X = blk(X, valid_lens)
            self.attention_weights[i] = blk.attention.attention.attention_weights
        return X


def section_transformer() -> None:
    torch.manual_seed(0)
    with printed("d2l_tf.log"):
        num_hiddens, num_heads = 16, 4
        attention = MultiHeadAttention(num_hiddens, num_hiddens, num_hiddens, num_hiddens,
                                       num_heads, 0.5)
        print(attention.eval())
        batch_size, num_queries = 2, 4
        num_kvpairs, valid_lens = 6, torch.tensor([3, 2])
        X = torch.ones((batch_size, num_queries, num_hiddens))
        Y = torch.ones((batch_size, num_kvpairs, num_hiddens))
        print(attention(X, Y, Y, valid_lens).shape)
        encoding_dim, num_steps = 8, 6
        pos_encoding = PositionalEncoding(encoding_dim, 0)
        pos_encoding.eval()
        X = pos_encoding(torch.zeros((1, num_steps, encoding_dim)))
        P = pos_encoding.P[:, :X.shape[1], :]
        print(P[0, :3, :4])
        for i in range(8):
            print(f'{i}的二进制是：{i:>03b}')
        ffn = PositionWiseFFN(4, 4, 8)
        ffn.eval()
        print(ffn(torch.ones((2, 3, 4)))[0])
        ln = nn.LayerNorm(2)
        bn = nn.BatchNorm1d(2)
        X = torch.tensor([[1, 2], [2, 3]], dtype=torch.float32)
        print('layer norm:', ln(X), '\nbatch norm:', bn(X))
        add_norm = AddNorm([3, 4], 0.5)
        add_norm.eval()
        print(add_norm(torch.ones((2, 3, 4)), torch.ones((2, 3, 4))).shape)
        X = torch.ones((2, 100, 24))
        valid_lens = torch.tensor([3, 2])
        encoder_blk = EncoderBlock(24, 24, 24, 24, [100, 24], 24, 48, 8, 0.5)
        encoder_blk.eval()
        print(encoder_blk(X, valid_lens).shape)
        encoder = TransformerEncoder(200, 24, 24, 24, 24, [100, 24], 24, 48, 8, 2, 0.5)
        encoder.eval()
        print(encoder(torch.ones((2, 100), dtype=torch.long), valid_lens).shape)
        print(encoder.attention_weights[0].shape)
        # a copy task with the encoder and a linear head
        torch.manual_seed(1)
        enc = TransformerEncoder(12, 16, 16, 16, 16, [6, 16], 16, 32, 2, 2, 0.1)
        head = nn.Linear(16, 12)
        params = list(enc.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=0.005)
        for step in range(30):
            src = torch.randint(1, 12, (8, 6))
            lens = torch.randint(3, 7, (8,))
            out = head(enc(src, lens))
            l = F.cross_entropy(out.reshape(-1, 12), src.reshape(-1))
            opt.zero_grad()
            l.backward()
            opt.step()
            if step % 10 == 9:
                print(step + 1, f'{l.item():.4f}')


def section_word2vec() -> None:
    random.seed(0)
    torch.manual_seed(0)
    sentences = [line.split() for line in (
        "the quick brown fox jumps over the lazy dog",
        "the lazy dog sleeps all day long in the sun",
        "a quick brown cat runs over the small hill",
        "the small cat and the lazy dog are friends",
        "a brown fox and a small cat play all day",
        "the sun is warm and the day is long") * 4]
    vocab = Vocab(sentences, min_freq=2)
    with printed("d2l_w2v.log"):
        print(f'vocab size: {len(vocab)}')
        counter = count_corpus(sentences)
        num_tokens = sum(counter.values())

        def keep(token):
            return (random.uniform(0, 1) < math.sqrt(1e-2 / counter[token] * num_tokens))

        subsampled = [[token for token in line if keep(token)] for line in sentences]
        print(sum(len(l) for l in sentences), sum(len(l) for l in subsampled))
        corpus = [vocab[line] for line in subsampled]

        def get_centers_and_contexts(corpus, max_window_size):
            centers, contexts = [], []
            for line in corpus:
                if len(line) < 2:
                    continue
                centers += line
                for i in range(len(line)):
                    window_size = random.randint(1, max_window_size)
                    indices = list(range(max(0, i - window_size), min(len(line), i + 1 + window_size)))
                    indices.remove(i)
                    contexts.append([line[idx] for idx in indices])
            return centers, contexts

        tiny_dataset = [list(range(7)), list(range(7, 10))]
        print('数据集', tiny_dataset)
        for center, context in zip(*get_centers_and_contexts(tiny_dataset, 2)):
            print('中心词', center, '的上下文词是', context)
        all_centers, all_contexts = get_centers_and_contexts(corpus, 3)
        print(f'# “中心词-上下文词对”的数量: {sum([len(contexts) for contexts in all_contexts])}')

        class RandomGenerator:
            def __init__(self, sampling_weights):
                self.population = list(range(1, len(sampling_weights) + 1))
                self.sampling_weights = sampling_weights
                self.candidates = []
                self.i = 0

            def draw(self):
                if self.i == len(self.candidates):
                    self.candidates = random.choices(self.population, self.sampling_weights, k=1000)
                    self.i = 0
                self.i += 1
                return self.candidates[self.i - 1]

        def get_negatives(all_contexts, vocab, counter, K):
            sampling_weights = [counter[vocab.to_tokens(i)]**0.75 for i in range(1, len(vocab))]
            all_negatives, generator = [], RandomGenerator(sampling_weights)
            for contexts in all_contexts:
                negatives = []
                while len(negatives) < len(contexts) * K:
                    neg = generator.draw()
                    if neg not in contexts:
                        negatives.append(neg)
                all_negatives.append(negatives)
            return all_negatives

        all_negatives = get_negatives(all_contexts, vocab, counter, 3)

        def batchify(data):
            max_len = max(len(c) + len(n) for _, c, n in data)
            centers, contexts_negatives, masks, labels = [], [], [], []
            for center, context, negative in data:
                cur_len = len(context) + len(negative)
                centers += [center]
                contexts_negatives += [context + negative + [0] * (max_len - cur_len)]
                masks += [[1] * cur_len + [0] * (max_len - cur_len)]
                labels += [[1] * len(context) + [0] * (max_len - len(context))]
            return (torch.tensor(centers).reshape((-1, 1)), torch.tensor(contexts_negatives),
                    torch.tensor(masks), torch.tensor(labels))

        x_1 = (1, [2, 2], [3, 3, 3, 3])
        x_2 = (1, [2, 2, 2], [3, 3])
        batch = batchify((x_1, x_2))
        names = ['centers', 'contexts_negatives', 'masks', 'labels']
        for name, d in zip(names, batch):
            print(name, '=', d)

        class W2VDataset(torch.utils.data.Dataset):
            def __init__(self, centers, contexts, negatives):
                assert len(centers) == len(contexts) == len(negatives)
                self.centers = centers
                self.contexts = contexts
                self.negatives = negatives

            def __getitem__(self, index):
                return (self.centers[index], self.contexts[index], self.negatives[index])

            def __len__(self):
                return len(self.centers)

        dataset = W2VDataset(all_centers, all_contexts, all_negatives)
        data_iter = torch.utils.data.DataLoader(dataset, 16, shuffle=True, collate_fn=batchify)
        embed = nn.Embedding(num_embeddings=20, embedding_dim=4)
        print(f'Parameter embedding_weight ({embed.weight.shape}, dtype={embed.weight.dtype})')
        x = torch.tensor([[1, 2, 3], [4, 5, 6]])
        print(embed(x).shape)

        def skip_gram(center, contexts_and_negatives, embed_v, embed_u):
            v = embed_v(center)
            u = embed_u(contexts_and_negatives)
            pred = torch.bmm(v, u.permute(0, 2, 1))
            return pred

        print(skip_gram(torch.ones((2, 1), dtype=torch.long),
                        torch.ones((2, 4), dtype=torch.long), embed, embed).shape)

        class SigmoidBCELoss(nn.Module):
            def __init__(self):
                super().__init__()

            def forward(self, inputs, target, mask=None):
                out = nn.functional.binary_cross_entropy_with_logits(
                    inputs, target, weight=mask, reduction="none")
                return out.mean(dim=1)

        loss = SigmoidBCELoss()
        pred = torch.tensor([[1.1, -2.2, 3.3, -4.4]] * 2)
        label = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
        mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
        print(loss(pred, label, mask) * mask.shape[1] / mask.sum(axis=1))

        def sigmd(x):
            return -math.log(1 / (1 + math.exp(-x)))

        print(f'{(sigmd(1.1) + sigmd(2.2) + sigmd(-3.3) + sigmd(4.4)) / 4:.4f}')
        print(f'{(sigmd(-1.1) + sigmd(-2.2)) / 2:.4f}')
        embed_size = 8
        net = nn.Sequential(nn.Embedding(num_embeddings=len(vocab), embedding_dim=embed_size),
                            nn.Embedding(num_embeddings=len(vocab), embedding_dim=embed_size))

        def train(net, data_iter, lr, num_epochs):
            def init_weights(m):
                if type(m) == nn.Embedding:
                    nn.init.xavier_uniform_(m.weight)
            net.apply(init_weights)
            optimizer = torch.optim.Adam(net.parameters(), lr=lr)
            metric = Accumulator(2)
            for epoch in range(num_epochs):
                num_batches = len(data_iter)
                for i, batch in enumerate(data_iter):
                    optimizer.zero_grad()
                    center, context_negative, mask, label = batch
                    pred = skip_gram(center, context_negative, net[0], net[1])
                    l = (loss(pred.reshape(label.shape).float(), label.float(), mask)
                         / mask.sum(axis=1) * mask.shape[1])
                    l.sum().backward()
                    optimizer.step()
                    metric.add(l.sum(), l.numel())
                    if (i + 1) % (num_batches // 2) == 0 or i == num_batches - 1:
                        print(epoch + (i + 1) / num_batches, f'{metric[0] / metric[1]:.4f}')
            print(f'loss {metric[0] / metric[1]:.3f}')

        train(net, data_iter, 0.01, 3)

        def get_similar_tokens(query_token, k, embed):
            W = embed.weight.data
            x = W[vocab[query_token]]
            cos = torch.mv(W, x) / torch.sqrt(torch.sum(W * W, dim=1) * torch.sum(x * x) + 1e-9)
            topk = torch.topk(cos, k=k+1)[1].cpu().numpy().astype('int32')
            for i in topk[1:]:
                print(f'cosine sim={float(cos[i]):.3f}: {vocab.to_tokens(i)}')

        get_similar_tokens('dog', 3, net[0])
    put("d2l_w2v.emb", net[0].weight)


def section_prelim(folder=".") -> None:
    torch.manual_seed(0)
    with printed("d2l_prelim.log"):
        x = torch.arange(12, dtype=torch.float32)
        print(x, x.numel(), x.shape)
        X = x.reshape(3, 4)
        print(X, torch.zeros((2, 3, 4)).shape, torch.ones((2, 3, 4))[0, 0])
        print(torch.tensor([[2, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]]))
        x = torch.tensor([1.0, 2, 4, 8])
        y = torch.tensor([2, 2, 2, 2])
        print(x + y, x - y, x * y, x / y, x ** y)
        print(torch.exp(x))
        X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
        Y = torch.tensor([[2.0, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])
        print(torch.cat((X, Y), dim=0), torch.cat((X, Y), dim=1))
        print(X == Y, X.sum())
        a = torch.arange(3).reshape((3, 1))
        b = torch.arange(2).reshape((1, 2))
        print(a, b, a + b)
        print(X[-1], X[1:3])
        X[1, 2] = 9
        X[0:2, :] = 12
        print(X)
        before = id(Y)
        Y = Y + X
        print(id(Y) == before)
        Z = torch.zeros_like(Y)
        print('id(Z):', id(Z) == id(Z))
        before_z = id(Z)
        Z[:] = X + Y
        print(id(Z) == before_z)
        before = id(X)
        X += Y
        print(id(X) == before)
        A = X.numpy()
        B = torch.tensor(A)
        print(type(A), type(B))
        a = torch.tensor([3.5])
        print(a, a.item(), float(a), int(a))
        # linear algebra
        x = torch.tensor(3.0)
        y = torch.tensor(2.0)
        print(x + y, x * y, x / y, x**y)
        x = torch.arange(4)
        print(x, x[3], len(x), x.shape)
        A = torch.arange(20).reshape(5, 4)
        print(A, A.T)
        B = torch.tensor([[1, 2, 3], [2, 0, 4], [3, 4, 5]])
        print(B == B.T)
        X = torch.arange(24).reshape(2, 3, 4)
        print(X)
        A = torch.arange(20, dtype=torch.float32).reshape(5, 4)
        B = A.clone()
        print(A, A + B, A * B)
        a = 2
        print(a + X, (a * X).shape)
        x = torch.arange(4, dtype=torch.float32)
        print(x, x.sum())
        print(A.shape, A.sum())
        A_sum_axis0 = A.sum(axis=0)
        print(A_sum_axis0, A_sum_axis0.shape)
        A_sum_axis1 = A.sum(axis=1)
        print(A_sum_axis1, A_sum_axis1.shape)
        print(A.sum(axis=[0, 1]))
        print(A.mean(), A.sum() / A.numel())
        print(A.mean(axis=0), A.sum(axis=0) / A.shape[0])
        sum_A = A.sum(axis=1, keepdims=True)
        print(sum_A, A / sum_A)
        print(A.cumsum(axis=0))
        y = torch.ones(4, dtype=torch.float32)
        print(x, y, torch.dot(x, y), torch.sum(x * y))
        print(A.shape, x.shape, torch.mv(A, x))
        B = torch.ones(4, 3)
        print(torch.mm(A, B))
        u = torch.tensor([3.0, -4.0])
        print(torch.norm(u), torch.abs(u).sum(), torch.norm(torch.ones((4, 9))))
        # automatic differentiation
        x = torch.arange(4.0)
        x.requires_grad_(True)
        print(x.grad)
        y = 2 * torch.dot(x, x)
        print(y)
        y.backward()
        print(x.grad, x.grad == 4 * x)
        x.grad.zero_()
        y = x.sum()
        y.backward()
        print(x.grad)
        x.grad.zero_()
        y = x * x
        y.sum().backward()
        print(x.grad)
        x.grad.zero_()
        y = x * x
        u = y.detach()
        z = u * x
        z.sum().backward()
        print(x.grad == u)
        x.grad.zero_()
        y.sum().backward()
        print(x.grad == 2 * x)

        def f(a):
            b = a * 2
            while b.norm() < 1000:
                b = b * 2
            if b.sum() > 0:
                c = b
            else:
                c = 100 * b
            return c

        a = torch.randn(size=(), requires_grad=True)
        d = f(a)
        d.backward()
        print(a.grad == d / a)
        # probability
        from torch.distributions import multinomial
        fair_probs = torch.ones([6]) / 6
        print(multinomial.Multinomial(1, fair_probs).sample())
        print(multinomial.Multinomial(10, fair_probs).sample())
        counts = multinomial.Multinomial(1000, fair_probs).sample()
        print(counts / 1000)
        counts = multinomial.Multinomial(10, fair_probs).sample((50,))
        cum_counts = counts.cumsum(dim=0)
        estimates = cum_counts / cum_counts.sum(dim=1, keepdims=True)
        print(estimates[-1], estimates.shape)
        print([name for name in dir(torch.distributions) if not name.startswith('_')][:8])
        # data preprocessing with pandas
        import pandas as pd
        data_file = os.path.join(folder, 'house_tiny.csv')
        with open(data_file, 'w') as f:
            f.write('NumRooms,Alley,Price\n')
            f.write('NA,Pave,127500\n')
            f.write('2,NA,106000\n')
            f.write('4,NA,178100\n')
            f.write('NA,NA,140000\n')
        data = pd.read_csv(data_file)
        inputs, outputs = data.iloc[:, 0:2], data.iloc[:, 2]
        inputs = pd.get_dummies(inputs, dummy_na=True)
        inputs = inputs.fillna(inputs.mean())
        print(inputs)
        X = torch.tensor(inputs.to_numpy(dtype=float))
        y = torch.tensor(outputs.to_numpy(dtype=float))
        print(X, y)


def section_builders(folder=".") -> None:
    torch.manual_seed(0)
    with printed("d2l_builders.log"):
        net = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
        X = torch.rand(2, 20)
        print(net(X).shape)

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Linear(20, 256)
                self.out = nn.Linear(256, 10)

            def forward(self, X):
                return self.out(F.relu(self.hidden(X)))

        net = MLP()
        print(net(X).shape)

        class MySequential(nn.Module):
            def __init__(self, *args):
                super().__init__()
                for idx, module in enumerate(args):
                    self._modules[str(idx)] = module

            def forward(self, X):
                for block in self._modules.values():
                    X = block(X)
                return X

        net = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
        print(net(X).shape, net)

        class FixedHiddenMLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.rand_weight = torch.rand((20, 20), requires_grad=False)
                self.linear = nn.Linear(20, 20)

            def forward(self, X):
                X = self.linear(X)
                X = F.relu(torch.mm(X, self.rand_weight) + 1)
                X = self.linear(X)
                while X.abs().sum() > 1:
                    X /= 2
                return X.sum()

        net = FixedHiddenMLP()
        print(net(X))

        class NestMLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
                self.linear = nn.Linear(32, 16)

            def forward(self, X):
                return self.linear(self.net(X))

        chimera = nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())
        print(chimera(X))
        # parameter management
        net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        X = torch.rand(size=(2, 4))
        print(net(X))
        print(net[2].state_dict())
        print(type(net[2].bias))
        print(net[2].bias)
        print(net[2].bias.data)
        print(net[2].weight.grad is None)
        print(*[(name, param.shape) for name, param in net[0].named_parameters()])
        print(*[(name, param.shape) for name, param in net.named_parameters()])
        print(net.state_dict()['2.bias'].data)

        def block1():
            return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

        def block2():
            net = nn.Sequential()
            for i in range(4):
                net.add_module(f'block {i}', block1())
            return net

        rgnet = nn.Sequential(block2(), nn.Linear(4, 1))
        print(rgnet(X))
        print(rgnet)
        print(rgnet[0][1][0].bias.data)

        def init_normal(m):
            if type(m) == nn.Linear:
                nn.init.normal_(m.weight, mean=0, std=0.01)
                nn.init.zeros_(m.bias)

        net.apply(init_normal)
        print(net[0].weight.data[0], net[0].bias.data[0])

        def init_constant(m):
            if type(m) == nn.Linear:
                nn.init.constant_(m.weight, 1)
                nn.init.zeros_(m.bias)

        net.apply(init_constant)
        print(net[0].weight.data[0], net[0].bias.data[0])

        def init_xavier(m):
            if type(m) == nn.Linear:
                nn.init.xavier_uniform_(m.weight)

        def init_42(m):
            if type(m) == nn.Linear:
                nn.init.constant_(m.weight, 42)

        net[0].apply(init_xavier)
        net[2].apply(init_42)
        print(net[0].weight.data[0])
        print(net[2].weight.data)

        def my_init(m):
            if type(m) == nn.Linear:
                print("Init", *[(name, param.shape) for name, param in m.named_parameters()][0])
                nn.init.uniform_(m.weight, -10, 10)
                m.weight.data *= m.weight.data.abs() >= 5

        net.apply(my_init)
        print(net[0].weight[:2])
        net[0].weight.data[:] += 1
        net[0].weight.data[0, 0] = 42
        print(net[0].weight.data[0])
        shared = nn.Linear(8, 8)
        net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                            nn.Linear(8, 1))
        net(X)
        print(net[2].weight.data[0] == net[4].weight.data[0])
        net[2].weight.data[0, 0] = 100
        print(net[2].weight.data[0] == net[4].weight.data[0])
        print(len(list(net.parameters())), len(net.state_dict()))
        # custom layers

        class CenteredLayer(nn.Module):
            def __init__(self):
                super().__init__()

            def forward(self, X):
                return X - X.mean()

        layer = CenteredLayer()
        print(layer(torch.FloatTensor([1, 2, 3, 4, 5])))
        net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
        Y = net(torch.rand(4, 8))
        print(Y.mean().abs() < 1e-6)

        class MyLinear(nn.Module):
            def __init__(self, in_units, units):
                super().__init__()
                self.weight = nn.Parameter(torch.randn(in_units, units))
                self.bias = nn.Parameter(torch.randn(units,))

            def forward(self, X):
                linear = torch.matmul(X, self.weight.data) + self.bias.data
                return F.relu(linear)

        linear = MyLinear(5, 3)
        print(linear.weight)
        print(linear(torch.rand(2, 5)))
        net = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))
        print(net(torch.rand(2, 64)))
        # file I/O
        x = torch.arange(4)
        torch.save(x, os.path.join(folder, 'x-file'))
        x2 = torch.load(os.path.join(folder, 'x-file'))
        print(x2)
        y = torch.zeros(4)
        torch.save([x, y], os.path.join(folder, 'x-files'))
        x2, y2 = torch.load(os.path.join(folder, 'x-files'))
        print((x2, y2))
        mydict = {'x': x, 'y': y}
        torch.save(mydict, os.path.join(folder, 'mydict'))
        mydict2 = torch.load(os.path.join(folder, 'mydict'))
        print(mydict2)
        net = MLP()
        X = torch.randn(size=(2, 20))
        Y = net(X)
        torch.save(net.state_dict(), os.path.join(folder, 'mlp.params'))
        clone = MLP()
        clone.load_state_dict(torch.load(os.path.join(folder, 'mlp.params')))
        print(clone.eval())
        Y_clone = clone(X)
        print(Y_clone == Y)
        print(torch.device('cpu'), torch.device('cuda'), torch.device('cuda:1'))
        print(torch.cuda.device_count())

        def try_all_gpus():
            devices = [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())]
            return devices if devices else [torch.device('cpu')]

        print(try_all_gpus())
        x = torch.tensor([1, 2, 3])
        print(x.device)


def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def section_conv() -> None:
    torch.manual_seed(0)
    with printed("d2l_conv.log"):
        X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
        K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
        print(corr2d(X, K))

        class Conv2D(nn.Module):
            def __init__(self, kernel_size):
                super().__init__()
                self.weight = nn.Parameter(torch.rand(kernel_size))
                self.bias = nn.Parameter(torch.zeros(1))

            def forward(self, x):
                return corr2d(x, self.weight) + self.bias

        X = torch.ones((6, 8))
        X[:, 2:6] = 0
        print(X)
        K = torch.tensor([[1.0, -1.0]])
        Y = corr2d(X, K)
        print(Y)
        print(corr2d(X.t(), K))
        conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
        X = X.reshape((1, 1, 6, 8))
        Y = Y.reshape((1, 1, 6, 7))
        lr = 3e-2
        for i in range(10):
            Y_hat = conv2d(X)
            l = (Y_hat - Y) ** 2
            conv2d.zero_grad()
            l.sum().backward()
            conv2d.weight.data[:] -= lr * conv2d.weight.grad
            if (i + 1) % 2 == 0:
                print(f'epoch {i+1}, loss {l.sum():.3f}')
        print(conv2d.weight.data.reshape((1, 2)))
        layer = Conv2D((1, 2))
        out = layer(torch.ones(3, 4))
        out.sum().backward()
        print(out.shape, layer.weight.grad)

        def comp_conv2d(conv2d, X):
            X = X.reshape((1, 1) + X.shape)
            Y = conv2d(X)
            return Y.reshape(Y.shape[2:])

        conv2d = nn.Conv2d(1, 1, kernel_size=3, padding=1)
        X = torch.rand(size=(8, 8))
        print(comp_conv2d(conv2d, X).shape)
        conv2d = nn.Conv2d(1, 1, kernel_size=(5, 3), padding=(2, 1))
        print(comp_conv2d(conv2d, X).shape)
        conv2d = nn.Conv2d(1, 1, kernel_size=3, padding=1, stride=2)
        print(comp_conv2d(conv2d, X).shape)
        conv2d = nn.Conv2d(1, 1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4))
        print(comp_conv2d(conv2d, X).shape)

        def corr2d_multi_in(X, K):
            return sum(corr2d(x, k) for x, k in zip(X, K))

        X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                          [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
        K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
        print(corr2d_multi_in(X, K))

        def corr2d_multi_in_out(X, K):
            return torch.stack([corr2d_multi_in(X, k) for k in K], 0)

        K = torch.stack((K, K + 1, K + 2), 0)
        print(K.shape)
        print(corr2d_multi_in_out(X, K))

        def corr2d_multi_in_out_1x1(X, K):
            c_i, h, w = X.shape
            c_o = K.shape[0]
            X = X.reshape((c_i, h * w))
            K = K.reshape((c_o, c_i))
            Y = torch.matmul(K, X)
            return Y.reshape((c_o, h, w))

        X = torch.normal(0, 1, (3, 3, 3))
        K = torch.normal(0, 1, (2, 3, 1, 1))
        Y1 = corr2d_multi_in_out_1x1(X, K)
        Y2 = corr2d_multi_in_out(X, K)
        assert float(torch.abs(Y1 - Y2).sum()) < 1e-6
        print(float(torch.abs(Y1 - Y2).sum()) < 1e-6)

        def pool2d(X, pool_size, mode='max'):
            p_h, p_w = pool_size
            Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
            for i in range(Y.shape[0]):
                for j in range(Y.shape[1]):
                    if mode == 'max':
                        Y[i, j] = X[i: i + p_h, j: j + p_w].max()
                    elif mode == 'avg':
                        Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
            return Y

        X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
        print(pool2d(X, (2, 2)), pool2d(X, (2, 2), 'avg'))
        X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
        print(X)
        pool2d_ = nn.MaxPool2d(3)
        print(pool2d_(X))
        pool2d_ = nn.MaxPool2d(3, padding=1, stride=2)
        print(pool2d_(X))
        pool2d_ = nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))
        print(pool2d_(X))
        X = torch.cat((X, X + 1), 1)
        print(X)
        pool2d_ = nn.MaxPool2d(3, padding=1, stride=2)
        print(pool2d_(X))
        print(nn.AvgPool2d(2, padding=1, stride=2)(X))
        print(nn.AvgPool2d(2, padding=1, stride=2, count_include_pad=False)(X)[0, 0])


def get_tokens_and_segments(tokens_a, tokens_b=None):
    tokens = ['<cls>'] + tokens_a + ['<sep>']
    segments = [0] * (len(tokens_a) + 2)
    if tokens_b is not None:
        tokens += tokens_b + ['<sep>']
        segments += [1] * (len(tokens_b) + 1)
    return tokens, segments


class BERTEncoder(nn.Module):
    def __init__(self, vocab_size, num_hiddens, norm_shape, ffn_num_input, ffn_num_hiddens,
                 num_heads, num_layers, dropout, max_len=1000, key_size=768, query_size=768,
                 value_size=768, **kwargs):
        super(BERTEncoder, self).__init__(**kwargs)
        self.token_embedding = nn.Embedding(vocab_size, num_hiddens)
        self.segment_embedding = nn.Embedding(2, num_hiddens)
        self.blks = nn.Sequential()
        for i in range(num_layers):
            self.blks.add_module(f"{i}", EncoderBlock(
                key_size, query_size, value_size, num_hiddens, norm_shape,
                ffn_num_input, ffn_num_hiddens, num_heads, dropout, True))
        self.pos_embedding = nn.Parameter(torch.randn(1, max_len, num_hiddens))

    def forward(self, tokens, segments, valid_lens):
        X = self.token_embedding(tokens) + self.segment_embedding(segments)
        X = X + self.pos_embedding.data[:, :X.shape[1], :]
        for blk in self.blks:
            X = blk(X, valid_lens)
        return X


class MaskLM(nn.Module):
    def __init__(self, vocab_size, num_hiddens, num_inputs=768, **kwargs):
        super(MaskLM, self).__init__(**kwargs)
        self.mlp = nn.Sequential(nn.Linear(num_inputs, num_hiddens), nn.ReLU(),
                                 nn.LayerNorm(num_hiddens), nn.Linear(num_hiddens, vocab_size))

    def forward(self, X, pred_positions):
        num_pred_positions = pred_positions.shape[1]
        pred_positions = pred_positions.reshape(-1)
        batch_size = X.shape[0]
        batch_idx = torch.arange(0, batch_size)
        batch_idx = torch.repeat_interleave(batch_idx, num_pred_positions)
        masked_X = X[batch_idx, pred_positions]
        masked_X = masked_X.reshape((batch_size, num_pred_positions, -1))
        mlm_Y_hat = self.mlp(masked_X)
        return mlm_Y_hat


class NextSentencePred(nn.Module):
    def __init__(self, num_inputs, **kwargs):
        super(NextSentencePred, self).__init__(**kwargs)
        self.output = nn.Linear(num_inputs, 2)

    def forward(self, X):
        return self.output(X)


def section_bert() -> None:
    torch.manual_seed(0)
    with printed("d2l_bert.log"):
        print(get_tokens_and_segments(['this', 'movie'], ['is', 'great']))
        vocab_size, num_hiddens, ffn_num_hiddens, num_heads = 50, 16, 32, 2
        norm_shape, ffn_num_input, num_layers, dropout = [16], 16, 2, 0.2
        encoder = BERTEncoder(vocab_size, num_hiddens, norm_shape, ffn_num_input,
                              ffn_num_hiddens, num_heads, num_layers, dropout, max_len=20,
                              key_size=16, query_size=16, value_size=16)
        tokens = torch.randint(0, vocab_size, (2, 8))
        segments = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1, 1]])
        encoder.eval()
        encoded_X = encoder(tokens, segments, None)
        print(encoded_X.shape)
        mlm = MaskLM(vocab_size, num_hiddens, num_inputs=16)
        mlm_positions = torch.tensor([[1, 5, 2], [6, 1, 5]])
        mlm_Y_hat = mlm(encoded_X, mlm_positions)
        print(mlm_Y_hat.shape)
        mlm_Y = torch.tensor([[7, 8, 9], [10, 20, 30]])
        loss = nn.CrossEntropyLoss(reduction='none')
        mlm_l = loss(mlm_Y_hat.reshape((-1, vocab_size)), mlm_Y.reshape(-1))
        print(mlm_l.shape)
        encoded_X = torch.flatten(encoded_X, start_dim=1)
        nsp = NextSentencePred(encoded_X.shape[-1])
        nsp_Y_hat = nsp(encoded_X)
        print(nsp_Y_hat.shape)
        nsp_y = torch.tensor([0, 1])
        nsp_l = loss(nsp_Y_hat, nsp_y)
        print(nsp_l.shape)

        class BERTModel(nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = BERTEncoder(vocab_size, num_hiddens, norm_shape, ffn_num_input,
                                           ffn_num_hiddens, num_heads, num_layers, dropout,
                                           max_len=20, key_size=16, query_size=16, value_size=16)
                self.hidden = nn.Sequential(nn.Linear(16, num_hiddens), nn.Tanh())
                self.mlm = MaskLM(vocab_size, num_hiddens, 16)
                self.nsp = NextSentencePred(16)

            def forward(self, tokens, segments, valid_lens=None, pred_positions=None):
                encoded_X = self.encoder(tokens, segments, valid_lens)
                mlm_Y_hat = self.mlm(encoded_X, pred_positions) if pred_positions is not None else None
                nsp_Y_hat = self.nsp(self.hidden(encoded_X[:, 0, :]))
                return encoded_X, mlm_Y_hat, nsp_Y_hat

        net = BERTModel()
        trainer = torch.optim.Adam(net.parameters(), lr=0.01)
        for step in range(12):
            tokens_X = torch.randint(5, vocab_size, (4, 8))
            segments_X = (torch.arange(8) >= 4).long().repeat(4, 1)
            valid_lens_x = torch.tensor([8, 7, 6, 8])
            pred_positions_X = torch.randint(1, 6, (4, 2))
            mlm_weights_X = torch.ones(4, 2)
            mlm_Y = tokens_X.gather(1, pred_positions_X)
            nsp_y = torch.tensor([0, 1, 0, 1])
            _, mlm_Y_hat, nsp_Y_hat = net(tokens_X, segments_X, valid_lens_x.reshape(-1), pred_positions_X)
            mlm_l = loss(mlm_Y_hat.reshape(-1, vocab_size), mlm_Y.reshape(-1)) * mlm_weights_X.reshape(-1, 1)
            mlm_l = mlm_l.sum() / (mlm_weights_X.sum() + 1e-8)
            nsp_l = loss(nsp_Y_hat, nsp_y).mean()
            l = mlm_l + nsp_l
            trainer.zero_grad()
            l.backward()
            trainer.step()
            if step % 4 == 3:
                print(f'MLM loss {mlm_l:.3f}, NSP loss {nsp_l:.3f}')
        net.eval()
        tokens, segments = get_tokens_and_segments(['a', 'crane', 'is', 'flying'])
        token_ids = torch.tensor([[5 + len(t) for t in tokens]])
        encoded, _, _ = net(token_ids, torch.tensor([segments]), None)
        print(encoded.shape, encoded[:, 0, :3])


SECTIONS = {
    "d2l_linreg": section_linreg, "d2l_softmax": section_softmax, "d2l_mlp": section_mlp,
    "d2l_wd": section_weight_decay, "d2l_dropout": section_dropout, "d2l_lenet": section_lenet,
    "d2l_rnn": section_rnn_scratch, "d2l_gru": section_gru_lstm, "d2l_s2s": section_seq2seq,
    "d2l_attn": section_attention, "d2l_tf": section_transformer, "d2l_w2v": section_word2vec,
    "d2l_prelim": section_prelim, "d2l_builders": section_builders, "d2l_conv": section_conv,
    "d2l_bert": section_bert,
}
