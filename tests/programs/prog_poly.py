"""Cubic fits of sin(x), in the manner of PyTorch's "Learning PyTorch with Examples" tutorial.

Every function takes the library as ``torch`` (deltagrad or PyTorch) and is written as plain
PyTorch code. ``init`` gives the starting coefficients (so two libraries can start alike);
without it the function draws them with ``torch.randn`` after ``torch.manual_seed``, as the
tutorial does. Each returns the losses it printed, one per ``report`` steps.
"""

from __future__ import annotations

import math
import random


def _data(torch, dtype=None):
    dtype = torch.float if dtype is None else dtype
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    return x, torch.sin(x), device


def _coefficients(torch, init, device, dtype, requires_grad):
    if init is None:
        torch.manual_seed(0)
        return [torch.randn((), device=device, dtype=dtype, requires_grad=requires_grad)
                for _ in range(4)]
    return [torch.tensor(v, device=device, dtype=dtype, requires_grad=requires_grad)
            for v in init]


def fit_tensors(torch, init=None, steps=2000, report=100, learning_rate=1e-6):
    """Raw tensors with the gradients written out by hand (no autograd)."""
    x, y, device = _data(torch)
    a, b, c, d = _coefficients(torch, init, device, torch.float, False)
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum().item()
        if t % report == report - 1:
            losses.append(loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    return losses


def fit_autograd(torch, init=None, steps=2000, report=100, learning_rate=1e-6):
    """Autograd computes the gradients; the update runs under no_grad and clears .grad."""
    x, y, device = _data(torch)
    a, b, c, d = _coefficients(torch, init, device, torch.float, True)
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % report == report - 1:
            print(t, f"{loss:.4f}")
            losses.append(loss.item())
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
    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    return losses


def legendre_function(torch):
    """The tutorial's custom autograd Function: P3(x) = (5x^3 - 3x) / 2 with its own backward."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


def fit_function(torch, init=None, steps=2000, report=100, learning_rate=5e-6):
    """y = a + b P3(c + d x), with P3 a custom autograd Function."""
    x, y, device = _data(torch)
    if init is None:
        # The tutorial starts near the answer: a=0, b=-1, c=0, d=0.3.
        init = [0.0, -1.0, 0.0, 0.3]
    a, b, c, d = _coefficients(torch, init, device, torch.float, True)
    P3 = legendre_function(torch).apply
    losses = []
    for t in range(steps):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % report == report - 1:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= learning_rate * p.grad
                p.grad = None
    return losses


def poly_model(torch):
    """Linear(3, 1) over the features (x, x^2, x^3), flattened to a vector."""
    return torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))


def _features(torch, x):
    p = torch.tensor([1, 2, 3])
    return x.unsqueeze(-1).pow(p)


def fit_nn(torch, model=None, steps=2000, report=100, learning_rate=1e-6):
    """nn.Sequential with MSELoss(reduction='sum') and a hand-written parameter update."""
    x, y, _ = _data(torch)
    xx = _features(torch, x)
    if model is None:
        torch.manual_seed(0)
        model = poly_model(torch)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    losses = []
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % report == report - 1:
            losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
          f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
    return losses


def fit_optim(torch, model=None, steps=2000, report=100, learning_rate=1e-3):
    """The same model trained with optim.RMSprop."""
    x, y, _ = _data(torch)
    xx = _features(torch, x)
    if model is None:
        torch.manual_seed(0)
        model = poly_model(torch)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    losses = []
    for t in range(steps):
        loss = loss_fn(model(xx), y)
        if t % report == report - 1:
            losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def dynamic_net(torch, seed=0):
    """The tutorial's dynamic graph: a cubic plus 0-2 extra x^4, x^5 terms chosen at random."""

    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))
            self.e = torch.nn.Parameter(torch.randn(()))
            # A private, seeded stream so two libraries draw the same depths.
            self.random = random.Random(seed)

        def forward(self, x):
            y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
            for exp in range(4, self.random.randint(4, 6)):
                y = y + self.e * x ** exp
            return y

        def string(self):
            return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                    f"{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?")

    return DynamicNet()


def fit_dynamic(torch, model=None, steps=2000, report=100, learning_rate=1e-8):
    """SGD with momentum on the dynamic-depth model."""
    x, y, _ = _data(torch)
    if model is None:
        torch.manual_seed(0)
        model = dynamic_net(torch)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
    losses = []
    for t in range(steps):
        loss = criterion(model(x), y)
        if t % report == report - 1:
            losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"Result: {model.string()}")
    return losses


def main(torch, steps: int = 2000) -> dict[str, list[float]]:
    """Run every variant from the library's own random start; returns the losses of each."""
    return {
        "tensors": fit_tensors(torch, steps=steps),
        "autograd": fit_autograd(torch, steps=steps),
        "function": fit_function(torch, steps=steps),
        "nn": fit_nn(torch, steps=steps),
        "optim": fit_optim(torch, steps=steps),
        "dynamic": fit_dynamic(torch, steps=steps),
    }
