"""PyTorch's own beginner tutorials as readers type them in, written afresh (PR11, session 26),
printing what the tutorials print: "What is torch.nn really?" step by step (hand-written
log_softmax / nll / accuracy, then F.cross_entropy, nn.Module with nn.Parameter, nn.Linear,
optim, TensorDataset, DataLoader, validation, fit / get_data / loss_batch, a CNN, nn.Sequential
with a Lambda layer, WrappedDataLoader, AdaptiveAvgPool2d); "Learning PyTorch with examples"
(the sine fit in NumPy, with tensors and hand-written gradients, with autograd, the
LegendrePolynomial3 Function, nn, optim, a custom Module with its ``string()``, the dynamic
net sharing weights); the quickstart (print(model), train / test loops with the tutorial's
format strings, save / load of the state dict); the tensors tutorial (attributes, indexing,
joining, arithmetic, the NumPy bridge); the autograd tutorial (grad_fn, the Jacobian-vector
product called twice, detach, no_grad); the "build the model" tutorial (layers one by one and
the parameters loop). Synthetic data, tiny sizes, fixed seeds; run by prog_s26_PR11_all.py.
"""
# ruff: noqa: B007, B023, E501, E721, E741, N806, UP008, UP031, UP032, UP034 - the code as
# the lectures, the book and the tutorials write it (names, super(Cls, self), type(m) ==,
# %-formats, long lines)

import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn, optim
from torch.utils.data import DataLoader, Dataset, TensorDataset


def _mnist_like(n, g):
    """28x28 'digits': a class-dependent blob plus noise, in [0, 1], flattened."""
    y = torch.arange(n) % 10
    centers = (torch.rand(10, 784, generator=g) > 0.85).float()
    x = centers[y] * torch.rand(n, 784, generator=g) * (torch.rand(n, 784, generator=g) > 0.2)
    return x, y


def section_nn_really() -> None:
    g = torch.Generator().manual_seed(0)
    x_train, y_train = _mnist_like(320, g)
    x_valid, y_valid = _mnist_like(128, g)
    with printed("tut_nnr.log"):
        print(x_train, y_train)
        print(x_train.shape)
        print(y_train.min(), y_train.max())
        torch.manual_seed(0)
        weights = torch.randn(784, 10) / math.sqrt(784)
        weights.requires_grad_()
        bias = torch.zeros(10, requires_grad=True)

        def log_softmax(x):
            return x - x.exp().sum(-1).log().unsqueeze(-1)

        def model(xb):
            return log_softmax(xb @ weights + bias)

        bs = 64
        xb = x_train[0:bs]
        preds = model(xb)
        print(preds[0], preds.shape)

        def nll(input, target):
            return -input[range(target.shape[0]), target].mean()

        loss_func = nll
        yb = y_train[0:bs]
        print(loss_func(preds, yb))

        def accuracy(out, yb):
            preds = torch.argmax(out, dim=1)
            return (preds == yb).float().mean()

        print(accuracy(preds, yb))
        lr = 0.5
        epochs = 2
        n = x_train.shape[0]
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                with torch.no_grad():
                    weights -= weights.grad * lr
                    bias -= bias.grad * lr
                    weights.grad.zero_()
                    bias.grad.zero_()
        print(loss_func(model(xb), yb), accuracy(model(xb), yb))

        loss_func = F.cross_entropy

        def model(xb):
            return xb @ weights + bias

        print(loss_func(model(xb), yb), accuracy(model(xb), yb))

        class Mnist_Logistic(nn.Module):
            def __init__(self):
                super().__init__()
                self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
                self.bias = nn.Parameter(torch.zeros(10))

            def forward(self, xb):
                return xb @ self.weights + self.bias

        model = Mnist_Logistic()
        print(loss_func(model(xb), yb))

        def fit():
            for epoch in range(epochs):
                for i in range((n - 1) // bs + 1):
                    start_i = i * bs
                    end_i = start_i + bs
                    xb = x_train[start_i:end_i]
                    yb = y_train[start_i:end_i]
                    pred = model(xb)
                    loss = loss_func(pred, yb)
                    loss.backward()
                    with torch.no_grad():
                        for p in model.parameters():
                            p -= p.grad * lr
                        model.zero_grad()

        fit()
        print(loss_func(model(xb), yb))

        class Mnist_Logistic2(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(784, 10)

            def forward(self, xb):
                return self.lin(xb)

        model = Mnist_Logistic2()
        print(loss_func(model(xb), yb))
        fit()
        print(loss_func(model(xb), yb))

        def get_model():
            model = Mnist_Logistic2()
            return model, optim.SGD(model.parameters(), lr=lr)

        model, opt = get_model()
        print(loss_func(model(xb), yb))
        train_ds = TensorDataset(x_train, y_train)
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                xb, yb = train_ds[i * bs: i * bs + bs]
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
        print(loss_func(model(xb), yb))

        train_dl = DataLoader(train_ds, batch_size=bs, shuffle=True)
        valid_ds = TensorDataset(x_valid, y_valid)
        valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
        model, opt = get_model()
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
            model.eval()
            with torch.no_grad():
                valid_loss = sum(loss_func(model(xb), yb) for xb, yb in valid_dl)
            print(epoch, valid_loss / len(valid_dl))

        def loss_batch(model, loss_func, xb, yb, opt=None):
            loss = loss_func(model(xb), yb)
            if opt is not None:
                loss.backward()
                opt.step()
                opt.zero_grad()
            return loss.item(), len(xb)

        def fit2(epochs, model, loss_func, opt, train_dl, valid_dl):
            for epoch in range(epochs):
                model.train()
                for xb, yb in train_dl:
                    loss_batch(model, loss_func, xb, yb, opt)
                model.eval()
                with torch.no_grad():
                    losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
                val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
                print(epoch, val_loss)

        def get_data(train_ds, valid_ds, bs):
            return (DataLoader(train_ds, batch_size=bs, shuffle=True),
                    DataLoader(valid_ds, batch_size=bs * 2))

        train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
        model, opt = get_model()
        fit2(epochs, model, loss_func, opt, train_dl, valid_dl)
        put("tut_nnr.lin", model.lin.weight)


def section_nn_really_cnn() -> None:
    g = torch.Generator().manual_seed(1)
    x_train, y_train = _mnist_like(128, g)
    x_valid, y_valid = _mnist_like(64, g)
    torch.manual_seed(0)
    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    bs, lr = 32, 0.1
    loss_func = F.cross_entropy

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        for epoch in range(epochs):
            model.train()
            for xb, yb in train_dl:
                loss_batch(model, loss_func, xb, yb, opt)
            model.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
            print(epoch, val_loss)

    train_dl = DataLoader(train_ds, batch_size=bs, shuffle=True)
    valid_dl = DataLoader(valid_ds, batch_size=bs * 2)
    with printed("tut_cnn.log"):
        class Mnist_CNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1)
                self.conv2 = nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1)
                self.conv3 = nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1)

            def forward(self, xb):
                xb = xb.view(-1, 1, 28, 28)
                xb = F.relu(self.conv1(xb))
                xb = F.relu(self.conv2(xb))
                xb = F.relu(self.conv3(xb))
                xb = F.avg_pool2d(xb, 4)
                return xb.view(-1, xb.size(1))

        model = Mnist_CNN()
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        fit(2, model, loss_func, opt, train_dl, valid_dl)

        class Lambda(nn.Module):
            def __init__(self, func):
                super().__init__()
                self.func = func

            def forward(self, x):
                return self.func(x)

        def preprocess(x):
            return x.view(-1, 1, 28, 28)

        model = nn.Sequential(
            Lambda(preprocess),
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.AvgPool2d(4),
            Lambda(lambda x: x.view(x.size(0), -1)),
        )
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        fit(2, model, loss_func, opt, train_dl, valid_dl)
        print(model)

        def preprocess2(x, y):
            return x.view(-1, 1, 28, 28), y

        class WrappedDataLoader:
            def __init__(self, dl, func):
                self.dl = dl
                self.func = func

            def __len__(self):
                return len(self.dl)

            def __iter__(self):
                for b in self.dl:
                    yield (self.func(*b))

        train_dl2 = WrappedDataLoader(train_dl, preprocess2)
        valid_dl2 = WrappedDataLoader(valid_dl, preprocess2)
        model = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            Lambda(lambda x: x.view(x.size(0), -1)),
        )
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        fit(2, model, loss_func, opt, train_dl2, valid_dl2)
        print(len(train_dl2), next(iter(valid_dl2))[0].shape)


def section_examples_numpy_tensors() -> None:
    with printed("tut_ex1.log"):
        np.random.seed(0)
        x = np.linspace(-math.pi, math.pi, 2000)
        y = np.sin(x)
        a = np.random.randn()
        b = np.random.randn()
        c = np.random.randn()
        d = np.random.randn()
        learning_rate = 1e-6
        for t in range(500):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = np.square(y_pred - y).sum()
            if t % 100 == 99:
                print(t, loss)
            grad_y_pred = 2.0 * (y_pred - y)
            grad_a = grad_y_pred.sum()
            grad_b = (grad_y_pred * x).sum()
            grad_c = (grad_y_pred * x ** 2).sum()
            grad_d = (grad_y_pred * x ** 3).sum()
            a -= learning_rate * grad_a
            b -= learning_rate * grad_b
            c -= learning_rate * grad_c
            d -= learning_rate * grad_d
        print(f'Result: y = {a} + {b} x + {c} x^2 + {d} x^3')

        torch.manual_seed(0)
        dtype = torch.float
        device = torch.device("cpu")
        x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
        y = torch.sin(x)
        a = torch.randn((), device=device, dtype=dtype)
        b = torch.randn((), device=device, dtype=dtype)
        c = torch.randn((), device=device, dtype=dtype)
        d = torch.randn((), device=device, dtype=dtype)
        for t in range(500):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum().item()
            if t % 100 == 99:
                print(t, loss)
            grad_y_pred = 2.0 * (y_pred - y)
            grad_a = grad_y_pred.sum()
            grad_b = (grad_y_pred * x).sum()
            grad_c = (grad_y_pred * x ** 2).sum()
            grad_d = (grad_y_pred * x ** 3).sum()
            a -= learning_rate * grad_a
            b -= learning_rate * grad_b
            c -= learning_rate * grad_c
            d -= learning_rate * grad_d
        print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')

        a = torch.randn((), dtype=dtype, requires_grad=True)
        b = torch.randn((), dtype=dtype, requires_grad=True)
        c = torch.randn((), dtype=dtype, requires_grad=True)
        d = torch.randn((), dtype=dtype, requires_grad=True)
        for t in range(500):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum()
            if t % 100 == 99:
                print(t, loss.item())
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
        print(f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3')


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def section_examples_function_nn() -> None:
    torch.manual_seed(0)
    with printed("tut_ex2.log"):
        dtype = torch.float
        x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
        y = torch.sin(x)
        a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
        b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
        c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
        d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
        learning_rate = 5e-6
        for t in range(400):
            P3 = LegendrePolynomial3.apply
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            if t % 100 == 99:
                print(t, loss.item())
            if t == 0:
                print(y_pred.grad_fn.__class__.__name__, type(y_pred.grad_fn.next_functions[1][0]).__name__)
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
        print(f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)')

        p = torch.tensor([1, 2, 3])
        xx = x.unsqueeze(-1).pow(p)
        print(xx.shape, xx.dtype)
        model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
        loss_fn = torch.nn.MSELoss(reduction='sum')
        learning_rate = 1e-6
        for t in range(400):
            y_pred = model(xx)
            loss = loss_fn(y_pred, y)
            if t % 100 == 99:
                print(t, loss.item())
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for param in model.parameters():
                    param -= learning_rate * param.grad
        linear_layer = model[0]
        print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
              f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')

        model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
        learning_rate = 1e-3
        optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
        for t in range(400):
            y_pred = model(xx)
            loss = loss_fn(y_pred, y)
            if t % 100 == 99:
                print(t, loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        linear_layer = model[0]
        print(f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
              f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3')


def section_examples_modules() -> None:
    torch.manual_seed(0)
    random.seed(0)
    with printed("tut_ex3.log"):
        class Polynomial3(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = torch.nn.Parameter(torch.randn(()))
                self.b = torch.nn.Parameter(torch.randn(()))
                self.c = torch.nn.Parameter(torch.randn(()))
                self.d = torch.nn.Parameter(torch.randn(()))

            def forward(self, x):
                return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

            def string(self):
                return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3'

        x = torch.linspace(-math.pi, math.pi, 2000)
        y = torch.sin(x)
        model = Polynomial3()
        print(list(model.named_parameters())[0])
        criterion = torch.nn.MSELoss(reduction='sum')
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
        for t in range(400):
            y_pred = model(x)
            loss = criterion(y_pred, y)
            if t % 100 == 99:
                print(t, loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f'Result: {model.string()}')

        class DynamicNet(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = torch.nn.Parameter(torch.randn(()))
                self.b = torch.nn.Parameter(torch.randn(()))
                self.c = torch.nn.Parameter(torch.randn(()))
                self.d = torch.nn.Parameter(torch.randn(()))
                self.e = torch.nn.Parameter(torch.randn(()))

            def forward(self, x):
                y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
                for exp in range(4, random.randint(4, 6)):
                    y = y + self.e * x ** exp
                return y

            def string(self):
                return (f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + '
                        f'{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?')

        model = DynamicNet()
        criterion = torch.nn.MSELoss(reduction='sum')
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
        for t in range(600):
            y_pred = model(x)
            loss = criterion(y_pred, y)
            if t % 200 == 199:
                print(t, loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f'Result: {model.string()}')

        # the two-layer net of the older "with examples": tensors, then nn with a custom Module
        N, D_in, H, D_out = 16, 100, 20, 5
        xr = torch.randn(N, D_in)
        yr = torch.randn(N, D_out)
        w1 = torch.randn(D_in, H)
        w2 = torch.randn(H, D_out)
        learning_rate = 1e-6
        for t in range(100):
            h = xr.mm(w1)
            h_relu = h.clamp(min=0)
            y_pred = h_relu.mm(w2)
            loss = (y_pred - yr).pow(2).sum().item()
            if t % 25 == 24:
                print(t, loss)
            grad_y_pred = 2.0 * (y_pred - yr)
            grad_w2 = h_relu.t().mm(grad_y_pred)
            grad_h_relu = grad_y_pred.mm(w2.t())
            grad_h = grad_h_relu.clone()
            grad_h[h < 0] = 0
            grad_w1 = xr.t().mm(grad_h)
            w1 -= learning_rate * grad_w1
            w2 -= learning_rate * grad_w2

        class TwoLayerNet(torch.nn.Module):
            def __init__(self, D_in, H, D_out):
                super(TwoLayerNet, self).__init__()
                self.linear1 = torch.nn.Linear(D_in, H)
                self.linear2 = torch.nn.Linear(H, D_out)

            def forward(self, x):
                h_relu = self.linear1(x).clamp(min=0)
                return self.linear2(h_relu)

        model = TwoLayerNet(D_in, H, D_out)
        criterion = torch.nn.MSELoss(reduction='sum')
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for t in range(100):
            y_pred = model(xr)
            loss = criterion(y_pred, yr)
            if t % 25 == 24:
                print(t, loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(model)


class _FakeImages(Dataset):
    """FashionMNIST stand-in: (1, 28, 28) float images in [0, 1] and int labels."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 10, (n,), generator=g)
        base = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(99))
        self.images = (0.7 * base[self.labels] + 0.3 * torch.rand(n, 1, 28, 28, generator=g))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return self.images[idx], int(self.labels[idx])


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits



def section_quickstart(folder=".") -> None:
    torch.manual_seed(0)
    training_data = _FakeImages(192, 1)
    test_data = _FakeImages(64, 2)
    with printed("tut_quick.log"):
        batch_size = 64
        train_dataloader = DataLoader(training_data, batch_size=batch_size)
        test_dataloader = DataLoader(test_data, batch_size=batch_size)
        for X, y in test_dataloader:
            print(f"Shape of X [N, C, H, W]: {X.shape}")
            print(f"Shape of y: {y.shape} {y.dtype}")
            break
        device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
        print(f"Using {device} device")

        model = NeuralNetwork().to(device)
        print(model)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)

        def train(dataloader, model, loss_fn, optimizer):
            size = len(dataloader.dataset)
            model.train()
            for batch, (X, y) in enumerate(dataloader):
                X, y = X.to(device), y.to(device)
                pred = model(X)
                loss = loss_fn(pred, y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                if batch % 2 == 0:
                    loss, current = loss.item(), (batch + 1) * len(X)
                    print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

        def test(dataloader, model, loss_fn):
            size = len(dataloader.dataset)
            num_batches = len(dataloader)
            model.eval()
            test_loss, correct = 0, 0
            with torch.no_grad():
                for X, y in dataloader:
                    X, y = X.to(device), y.to(device)
                    pred = model(X)
                    test_loss += loss_fn(pred, y).item()
                    correct += (pred.argmax(1) == y).type(torch.float).sum().item()
            test_loss /= num_batches
            correct /= size
            print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

        epochs = 3
        for t in range(epochs):
            print(f"Epoch {t+1}\n-------------------------------")
            train(train_dataloader, model, loss_fn, optimizer)
            test(test_dataloader, model, loss_fn)
        print("Done!")
        torch.save(model.state_dict(), "model.pth")
        print("Saved PyTorch Model State to model.pth")
        model = NeuralNetwork().to(device)
        print(model.load_state_dict(torch.load("model.pth", weights_only=True)))
        classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
        model.eval()
        x, y = test_data[0][0], test_data[0][1]
        with torch.no_grad():
            x = x.to(device)
            pred = model(x)
            predicted, actual = classes[pred[0].argmax(0)], classes[y]
            print(f'Predicted: "{predicted}", Actual: "{actual}"')
        torch.save(model, "model_whole.pth")
        model2 = torch.load("model_whole.pth", weights_only=False)
        print(type(model2).__name__, torch.equal(model2.linear_relu_stack[0].weight,
                                                 model.linear_relu_stack[0].weight))

        # "Build the neural network"
        X = torch.rand(1, 28, 28, device=device)
        logits = model(X)
        pred_probab = nn.Softmax(dim=1)(logits)
        y_pred = pred_probab.argmax(1)
        print(f"Predicted class: {y_pred}")
        input_image = torch.rand(3, 28, 28)
        print(input_image.size())
        flatten = nn.Flatten()
        flat_image = flatten(input_image)
        print(flat_image.size())
        layer1 = nn.Linear(in_features=28*28, out_features=6)
        hidden1 = layer1(flat_image)
        print(hidden1.size())
        print(f"Before ReLU: {hidden1}\n\n")
        hidden1 = nn.ReLU()(hidden1)
        print(f"After ReLU: {hidden1}")
        seq_modules = nn.Sequential(flatten, layer1, nn.ReLU(), nn.Linear(6, 10))
        logits = seq_modules(input_image)
        softmax = nn.Softmax(dim=1)
        pred_probab = softmax(logits)
        print(pred_probab.shape, pred_probab.sum(1))
        print(f"Model structure: {model}\n\n")
        for name, param in model.named_parameters():
            print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2, :3] if param.ndim == 2 else param[:2]} \n")


def section_tensors() -> None:
    torch.manual_seed(0)
    with printed("tut_tensors.log"):
        data = [[1, 2], [3, 4]]
        x_data = torch.tensor(data)
        np_array = np.array(data)
        x_np = torch.from_numpy(np_array)
        print(x_data, x_np)
        x_ones = torch.ones_like(x_data)
        print(f"Ones Tensor: \n {x_ones} \n")
        x_rand = torch.rand_like(x_data, dtype=torch.float)
        print(f"Random Tensor: \n {x_rand} \n")
        shape = (2, 3,)
        rand_tensor = torch.rand(shape)
        ones_tensor = torch.ones(shape)
        zeros_tensor = torch.zeros(shape)
        print(f"Random Tensor: \n {rand_tensor} \n")
        print(f"Ones Tensor: \n {ones_tensor} \n")
        print(f"Zeros Tensor: \n {zeros_tensor}")
        tensor = torch.rand(3, 4)
        print(f"Shape of tensor: {tensor.shape}")
        print(f"Datatype of tensor: {tensor.dtype}")
        print(f"Device tensor is stored on: {tensor.device}")
        if torch.accelerator.is_available():
            tensor = tensor.to(torch.accelerator.current_accelerator())
        tensor = torch.ones(4, 4)
        print(f"First row: {tensor[0]}")
        print(f"First column: {tensor[:, 0]}")
        print(f"Last column: {tensor[..., -1]}")
        tensor[:, 1] = 0
        print(tensor)
        t1 = torch.cat([tensor, tensor, tensor], dim=1)
        print(t1)
        y1 = tensor @ tensor.T
        y2 = tensor.matmul(tensor.T)
        y3 = torch.rand_like(y1)
        torch.matmul(tensor, tensor.T, out=y3)
        z1 = tensor * tensor
        z2 = tensor.mul(tensor)
        z3 = torch.rand_like(tensor)
        torch.mul(tensor, tensor, out=z3)
        print(y1, y2.equal(y3), z1.equal(z3), z2.dtype)
        agg = tensor.sum()
        agg_item = agg.item()
        print(agg_item, type(agg_item))
        print(f"{tensor} \n")
        tensor.add_(5)
        print(tensor)
        t = torch.ones(5)
        print(f"t: {t}")
        n = t.numpy()
        print(f"n: {n}")
        t.add_(1)
        print(f"t: {t}")
        print(f"n: {n}")
        n = np.ones(5)
        t = torch.from_numpy(n)
        np.add(n, 1, out=n)
        print(f"t: {t}")
        print(f"n: {n}")
        # the 60-minute blitz's older tensor page
        x = torch.empty(5, 3).zero_()
        x = torch.zeros(5, 3, dtype=torch.long)
        print(x)
        x = torch.tensor([5.5, 3])
        x = x.new_ones(5, 3, dtype=torch.double)
        print(x)
        x = torch.randn_like(x, dtype=torch.float)
        print(x)
        print(x.size())
        y = torch.rand(5, 3)
        print(x + y)
        print(torch.add(x, y))
        result = torch.empty(5, 3)
        torch.add(x, y, out=result)
        print(result)
        y.add_(x)
        print(y)
        print(x[:, 1])
        x = torch.randn(4, 4)
        y = x.view(16)
        z = x.view(-1, 8)
        print(x.size(), y.size(), z.size())
        x = torch.randn(1)
        print(x)
        print(x.item())


def section_autograd_tutorial() -> None:
    torch.manual_seed(0)
    with printed("tut_autograd.log"):
        x = torch.ones(5)
        y = torch.zeros(3)
        w = torch.randn(5, 3, requires_grad=True)
        b = torch.randn(3, requires_grad=True)
        z = torch.matmul(x, w) + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
        print(f"Gradient function for z = {z.grad_fn}")
        print(f"Gradient function for loss = {loss.grad_fn}")
        loss.backward()
        print(w.grad)
        print(b.grad)
        z = torch.matmul(x, w) + b
        print(z.requires_grad)
        with torch.no_grad():
            z = torch.matmul(x, w) + b
        print(z.requires_grad)
        z = torch.matmul(x, w) + b
        z_det = z.detach()
        print(z_det.requires_grad)
        inp = torch.eye(4, 5, requires_grad=True)
        out = (inp + 1).pow(2).t()
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"First call\n{inp.grad}")
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"\nSecond call\n{inp.grad}")
        inp.grad.zero_()
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"\nCall after zeroing gradients\n{inp.grad}")
        # the blitz's autograd page
        x = torch.ones(2, 2, requires_grad=True)
        print(x)
        y = x + 2
        print(y)
        print(y.grad_fn)
        z = y * y * 3
        out = z.mean()
        print(z, out)
        a = torch.randn(2, 2)
        a = ((a * 3) / (a - 1))
        print(a.requires_grad)
        a.requires_grad_(True)
        print(a.requires_grad)
        b = (a * a).sum()
        print(b.grad_fn)
        out.backward()
        print(x.grad)
        x = torch.randn(3, requires_grad=True)
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        print(y)
        v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)
        y.backward(v)
        print(x.grad)
        print(x.requires_grad)
        print((x ** 2).requires_grad)
        with torch.no_grad():
            print((x ** 2).requires_grad)
        print(x.requires_grad)
        y = x.detach()
        print(y.requires_grad)
        print(x.eq(y).all())
        # the "A gentle introduction to torch.autograd" page
        a = torch.tensor([2., 3.], requires_grad=True)
        b = torch.tensor([6., 4.], requires_grad=True)
        Q = 3*a**3 - b**2
        external_grad = torch.tensor([1., 1.])
        Q.backward(gradient=external_grad)
        print(9*a**2 == a.grad)
        print(-2*b == b.grad)
        x = torch.rand(5, 5)
        y = torch.rand(5, 5)
        z = torch.rand((5, 5), requires_grad=True)
        a = x + y
        print(f"Does `a` require gradients?: {a.requires_grad}")
        b = x + z
        print(f"Does `b` require gradients?: {b.requires_grad}")
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        for param in model.parameters():
            param.requires_grad = False
        model[2] = nn.Linear(3, 2)
        optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
        print([p.requires_grad for p in model.parameters()])
        print(optimizer)


def section_blitz_nn() -> None:
    torch.manual_seed(0)
    with printed("tut_blitz.log"):
        class Net(nn.Module):
            def __init__(self):
                super(Net, self).__init__()
                self.conv1 = nn.Conv2d(1, 6, 5)
                self.conv2 = nn.Conv2d(6, 16, 5)
                self.fc1 = nn.Linear(16 * 5 * 5, 120)
                self.fc2 = nn.Linear(120, 84)
                self.fc3 = nn.Linear(84, 10)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
                x = F.max_pool2d(F.relu(self.conv2(x)), 2)
                x = x.view(-1, self.num_flat_features(x))
                x = F.relu(self.fc1(x))
                x = F.relu(self.fc2(x))
                x = self.fc3(x)
                return x

            def num_flat_features(self, x):
                size = x.size()[1:]
                num_features = 1
                for s in size:
                    num_features *= s
                return num_features

        net = Net()
        print(net)
        params = list(net.parameters())
        print(len(params))
        print(params[0].size())
        input = torch.randn(1, 1, 32, 32)
        out = net(input)
        print(out)
        net.zero_grad()
        out.backward(torch.randn(1, 10))
        output = net(input)
        target = torch.randn(10)
        target = target.view(1, -1)
        criterion = nn.MSELoss()
        loss = criterion(output, target)
        print(loss)
        print(loss.grad_fn)
        print(loss.grad_fn.next_functions[0][0])
        print(loss.grad_fn.next_functions[0][0].next_functions[0][0])
        print([type(f).__name__ for f, _ in loss.grad_fn.next_functions[0][0].next_functions])
        net.zero_grad()
        print('conv1.bias.grad before backward')
        print(net.conv1.bias.grad)
        loss.backward()
        print('conv1.bias.grad after backward')
        print(net.conv1.bias.grad)
        learning_rate = 0.01
        for f in net.parameters():
            f.data.sub_(f.grad.data * learning_rate)
        optimizer = optim.SGD(net.parameters(), lr=0.01)
        optimizer.zero_grad()
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        print(criterion(net(input), target))


def _prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


def section_nlp_tutorials() -> None:
    torch.manual_seed(1)
    with printed("tut_nlp.log"):
        lin = nn.Linear(5, 3)
        data = torch.randn(2, 5)
        print(lin(data))
        data = torch.randn(2, 2)
        print(data)
        print(F.relu(data))
        data = torch.randn(5)
        print(data)
        print(F.softmax(data, dim=0))
        print(F.softmax(data, dim=0).sum())
        print(F.log_softmax(data, dim=0))
        # bag of words classifier
        data = [("me gusta comer en la cafeteria".split(), "SPANISH"),
                ("Give it to me".split(), "ENGLISH"),
                ("No creo que sea una buena idea".split(), "SPANISH"),
                ("No it is not a good idea to get lost at sea".split(), "ENGLISH")]
        test_data = [("Yo creo que si".split(), "SPANISH"),
                     ("it is lost on me".split(), "ENGLISH")]
        word_to_ix = {}
        for sent, _ in data + test_data:
            for word in sent:
                if word not in word_to_ix:
                    word_to_ix[word] = len(word_to_ix)
        print(len(word_to_ix))
        VOCAB_SIZE = len(word_to_ix)
        NUM_LABELS = 2

        class BoWClassifier(nn.Module):
            def __init__(self, num_labels, vocab_size):
                super(BoWClassifier, self).__init__()
                self.linear = nn.Linear(vocab_size, num_labels)

            def forward(self, bow_vec):
                return F.log_softmax(self.linear(bow_vec), dim=1)

        def make_bow_vector(sentence, word_to_ix):
            vec = torch.zeros(len(word_to_ix))
            for word in sentence:
                vec[word_to_ix[word]] += 1
            return vec.view(1, -1)

        def make_target(label, label_to_ix):
            return torch.LongTensor([label_to_ix[label]])

        model = BoWClassifier(NUM_LABELS, VOCAB_SIZE)
        for param in model.parameters():
            print(param.shape, param[:, :4] if param.dim() == 2 else param)
        with torch.no_grad():
            sample = data[0]
            bow_vector = make_bow_vector(sample[0], word_to_ix)
            log_probs = model(bow_vector)
            print(log_probs)
        label_to_ix = {"SPANISH": 0, "ENGLISH": 1}
        with torch.no_grad():
            for instance, label in test_data:
                bow_vec = make_bow_vector(instance, word_to_ix)
                log_probs = model(bow_vec)
                print(log_probs)
        print(next(model.parameters())[:, word_to_ix["creo"]])
        loss_function = nn.NLLLoss()
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(100):
            for instance, label in data:
                model.zero_grad()
                bow_vec = make_bow_vector(instance, word_to_ix)
                target = make_target(label, label_to_ix)
                log_probs = model(bow_vec)
                loss = loss_function(log_probs, target)
                loss.backward()
                optimizer.step()
        with torch.no_grad():
            for instance, label in test_data:
                bow_vec = make_bow_vector(instance, word_to_ix)
                log_probs = model(bow_vec)
                print(log_probs)
        print(next(model.parameters())[:, word_to_ix["creo"]])
        # n-gram language model
        CONTEXT_SIZE = 2
        EMBEDDING_DIM = 10
        test_sentence = """When forty winters shall besiege thy brow,
And dig deep trenches in thy beauty's field,
Thy youth's proud livery so gazed on now,
Will be a totter'd weed of small worth held:""".split()
        ngrams = [([test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)], test_sentence[i])
                  for i in range(CONTEXT_SIZE, len(test_sentence))]
        print(ngrams[:3])
        vocab = sorted(set(test_sentence))
        word_to_ix = {word: i for i, word in enumerate(vocab)}

        class NGramLanguageModeler(nn.Module):
            def __init__(self, vocab_size, embedding_dim, context_size):
                super(NGramLanguageModeler, self).__init__()
                self.embeddings = nn.Embedding(vocab_size, embedding_dim)
                self.linear1 = nn.Linear(context_size * embedding_dim, 128)
                self.linear2 = nn.Linear(128, vocab_size)

            def forward(self, inputs):
                embeds = self.embeddings(inputs).view((1, -1))
                out = F.relu(self.linear1(embeds))
                out = self.linear2(out)
                log_probs = F.log_softmax(out, dim=1)
                return log_probs

        losses = []
        loss_function = nn.NLLLoss()
        model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
        optimizer = optim.SGD(model.parameters(), lr=0.001)
        for epoch in range(5):
            total_loss = 0
            for context, target in ngrams:
                context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
                model.zero_grad()
                log_probs = model(context_idxs)
                loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
                loss.backward()
                optimizer.step()
                total_loss += loss.item()
            losses.append(total_loss)
        print(losses)
        print(model.embeddings.weight[word_to_ix["beauty's"]])
        # CBOW
        raw_text = """We are about to study the idea of a computational process.
Computational processes are abstract beings that inhabit computers.""".split()
        vocab = set(raw_text)
        vocab_size = len(vocab)
        word_to_ix = {word: i for i, word in enumerate(sorted(vocab))}
        cbow_data = []
        for i in range(CONTEXT_SIZE, len(raw_text) - CONTEXT_SIZE):
            context = ([raw_text[i - j - 1] for j in range(CONTEXT_SIZE)]
                       + [raw_text[i + j + 1] for j in range(CONTEXT_SIZE)])
            cbow_data.append((context, raw_text[i]))
        print(cbow_data[:2])

        class CBOW(nn.Module):
            def __init__(self, vocab_size, embedding_dim):
                super().__init__()
                self.embeddings = nn.Embedding(vocab_size, embedding_dim)
                self.linear = nn.Linear(embedding_dim, vocab_size)

            def forward(self, inputs):
                return F.log_softmax(self.linear(self.embeddings(inputs).sum(0, keepdim=True)), dim=1)

        def make_context_vector(context, word_to_ix):
            idxs = [word_to_ix[w] for w in context]
            return torch.tensor(idxs, dtype=torch.long)

        print(make_context_vector(cbow_data[0][0], word_to_ix))
        model = CBOW(vocab_size, 8)
        optimizer = optim.SGD(model.parameters(), lr=0.05)
        for epoch in range(10):
            total = 0.0
            for context, target in cbow_data:
                loss = loss_function(model(make_context_vector(context, word_to_ix)),
                                     torch.tensor([word_to_ix[target]]))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item()
            if epoch % 3 == 0:
                print(epoch, round(total, 4))


def _argmax(vec):
    _, idx = torch.max(vec, 1)
    return idx.item()


def _log_sum_exp(vec):
    max_score = vec[0, _argmax(vec)]
    max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
    return max_score + torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))


START_TAG = "<START>"
STOP_TAG = "<STOP>"


class BiLSTM_CRF(nn.Module):
    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim):
        super(BiLSTM_CRF, self).__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)
        self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1, bidirectional=True)
        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
        self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))
        self.transitions.data[tag_to_ix[START_TAG], :] = -10000
        self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000
        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (torch.randn(2, 1, self.hidden_dim // 2), torch.randn(2, 1, self.hidden_dim // 2))

    def _forward_alg(self, feats):
        init_alphas = torch.full((1, self.tagset_size), -10000.)
        init_alphas[0][self.tag_to_ix[START_TAG]] = 0.
        forward_var = init_alphas
        for feat in feats:
            alphas_t = []
            for next_tag in range(self.tagset_size):
                emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                trans_score = self.transitions[next_tag].view(1, -1)
                next_tag_var = forward_var + trans_score + emit_score
                alphas_t.append(_log_sum_exp(next_tag_var).view(1))
            forward_var = torch.cat(alphas_t).view(1, -1)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        alpha = _log_sum_exp(terminal_var)
        return alpha

    def _get_lstm_features(self, sentence):
        self.hidden = self.init_hidden()
        embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
        lstm_out, self.hidden = self.lstm(embeds, self.hidden)
        lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
        lstm_feats = self.hidden2tag(lstm_out)
        return lstm_feats

    def _score_sentence(self, feats, tags):
        score = torch.zeros(1)
        tags = torch.cat([torch.tensor([self.tag_to_ix[START_TAG]], dtype=torch.long), tags])
        for i, feat in enumerate(feats):
            score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
        score = score + self.transitions[self.tag_to_ix[STOP_TAG], tags[-1]]
        return score

    def _viterbi_decode(self, feats):
        backpointers = []
        init_vvars = torch.full((1, self.tagset_size), -10000.)
        init_vvars[0][self.tag_to_ix[START_TAG]] = 0
        forward_var = init_vvars
        for feat in feats:
            bptrs_t = []
            viterbivars_t = []
            for next_tag in range(self.tagset_size):
                next_tag_var = forward_var + self.transitions[next_tag]
                best_tag_id = _argmax(next_tag_var)
                bptrs_t.append(best_tag_id)
                viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
            forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
            backpointers.append(bptrs_t)
        terminal_var = forward_var + self.transitions[self.tag_to_ix[STOP_TAG]]
        best_tag_id = _argmax(terminal_var)
        path_score = terminal_var[0][best_tag_id]
        best_path = [best_tag_id]
        for bptrs_t in reversed(backpointers):
            best_tag_id = bptrs_t[best_tag_id]
            best_path.append(best_tag_id)
        start = best_path.pop()
        assert start == self.tag_to_ix[START_TAG]
        best_path.reverse()
        return path_score, best_path

    def neg_log_likelihood(self, sentence, tags):
        feats = self._get_lstm_features(sentence)
        forward_score = self._forward_alg(feats)
        gold_score = self._score_sentence(feats, tags)
        return forward_score - gold_score

    def forward(self, sentence):
        lstm_feats = self._get_lstm_features(sentence)
        score, tag_seq = self._viterbi_decode(lstm_feats)
        return score, tag_seq


def section_bilstm_crf() -> None:
    torch.manual_seed(1)
    with printed("tut_crf.log"):
        training_data = [(
            "the wall street journal reported today that apple corporation made money".split(),
            "B I I I O O O B I O O".split()
        ), (
            "georgia tech is a university in georgia".split(),
            "B I O O O O B".split()
        )]
        word_to_ix = {}
        for sentence, tags in training_data:
            for word in sentence:
                if word not in word_to_ix:
                    word_to_ix[word] = len(word_to_ix)
        tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}
        model = BiLSTM_CRF(len(word_to_ix), tag_to_ix, 5, 4)
        optimizer = optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-4)
        with torch.no_grad():
            precheck_sent = _prepare_sequence(training_data[0][0], word_to_ix)
            precheck_tags = torch.tensor([tag_to_ix[t] for t in training_data[0][1]], dtype=torch.long)
            print(model(precheck_sent))
            print(model.neg_log_likelihood(precheck_sent, precheck_tags))
        for epoch in range(20):
            for sentence, tags in training_data:
                model.zero_grad()
                sentence_in = _prepare_sequence(sentence, word_to_ix)
                targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
                loss = model.neg_log_likelihood(sentence_in, targets)
                loss.backward()
                optimizer.step()
            if epoch % 5 == 4:
                print(epoch, loss)
        with torch.no_grad():
            precheck_sent = _prepare_sequence(training_data[0][0], word_to_ix)
            print(model(precheck_sent))


SECTIONS = {
    "tut_nnr": section_nn_really, "tut_cnn": section_nn_really_cnn,
    "tut_ex1": section_examples_numpy_tensors, "tut_ex2": section_examples_function_nn,
    "tut_ex3": section_examples_modules, "tut_quick": section_quickstart,
    "tut_tensors": section_tensors, "tut_autograd": section_autograd_tutorial,
    "tut_blitz": section_blitz_nn, "tut_nlp": section_nlp_tutorials, "tut_crf": section_bilstm_crf,
}
