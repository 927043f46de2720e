"""Programs of the kinds PyTorch's beginner tutorials teach (PR11, session 26; rewritten in our
own code in sessions 30 and 31, DD2 / DD3): one linear classifier of noisy glyphs written five
ways, from bare tensors up (hand-written log-probabilities / nll / hit rate and gradient steps
under no_grad, F.cross_entropy, a Module of nn.Parameters, nn.Linear, optim.SGD over
TensorDataset slices, DataLoader with a held-out loss per sweep, a one-batch helper summing
(loss, size) pairs), then strided convolutions (a Module, a Sequential with a reshaping
layer, a loader wrapper that reshapes each batch, AdaptiveAvgPool2d); "Learning PyTorch with examples"
(its sections tut_ex1-3 rewritten in our own code in session 30, DD2: a cubic fitted to a
wave in NumPy, with tensors and hand-written gradients, with autograd, through a custom
Legendre Function, as nn.Linear with SGD by hand and RMSprop, a Module of scalar Parameters,
a Module of random depth sharing one weight, a two-layer net by hand and as a Module); a first
classifier end to end (own code since session 30: print(model), fit / check loops, save / load
of the state dict and the whole model, the layers one by one); tensor basics
(own code since session 30: attributes, indexing, joining, arithmetic, the NumPy bridge); autograd's basics and a small
convolutional net taken apart (own code since session 30: grad_fn, backward twice with
retain_graph, detach, no_grad, a vector-Jacobian product, the grad_fn chain, updates through
.data and optim). Synthetic data, tiny sizes, fixed seeds; run by prog_s26_PR11_all.py.
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


def _glyphs(n, g, side=12, kinds=6):
    """``n`` noisy side x side 'glyphs' of ``kinds`` classes, flattened, values in [0, 1]: each
    class a fixed random stencil, each sample the stencil with pixels dimmed and dropped."""
    labels = torch.arange(n) % kinds
    stencils = (torch.rand(kinds, side * side, generator=g) > 0.7).float()
    dim = torch.rand(n, side * side, generator=g) * 0.6 + 0.4
    keep = (torch.rand(n, side * side, generator=g) > 0.25).float()
    return stencils[labels] * dim * keep, labels


def section_nn_really() -> None:
    """From bare tensors up to nn / optim / data: the same linear classifier written five ways."""
    g = torch.Generator().manual_seed(5)
    pixels, labels = _glyphs(240, g)
    val_pixels, val_labels = _glyphs(96, g)
    n_px, n_cls, batch, step, sweeps = pixels.shape[1], 6, 48, 0.4, 2
    with printed("tut_nnr.log"):
        print("pixels", tuple(pixels.shape), "label range", labels.min(), labels.max())
        print("first glyph ink", pixels[0].sum(), "label", labels[0])
        torch.manual_seed(3)
        w = (torch.randn(n_px, n_cls) / math.sqrt(n_px)).requires_grad_()
        b = torch.zeros(n_cls, requires_grad=True)

        def log_probs(scores):  # (by hand: scores less the log of each row's exp-sum)
            return scores - scores.exp().sum(-1).log().unsqueeze(-1)

        def mean_nll(logp, target):
            return -logp[range(target.shape[0]), target].mean()

        def hit_rate(scores, target):
            return (torch.argmax(scores, dim=1) == target).float().mean()

        def batches(n):
            for lo in range(0, n, batch):
                yield lo, lo + batch

        first = log_probs(pixels[:batch] @ w + b)
        print("first row", first[0], "shape", first.shape)
        print("nll", mean_nll(first, labels[:batch]), "hits", hit_rate(first, labels[:batch]))
        for _sweep in range(sweeps):
            for lo, hi in batches(len(pixels)):
                loss = mean_nll(log_probs(pixels[lo:hi] @ w + b), labels[lo:hi])
                loss.backward()
                with torch.no_grad():  # plain gradient step, then clear the gradients
                    w -= step * w.grad
                    b -= step * b.grad
                    w.grad.zero_()
                    b.grad.zero_()
        tail_x, tail_y = pixels[-batch:], labels[-batch:]
        print("by hand", mean_nll(log_probs(tail_x @ w + b), tail_y),
              hit_rate(tail_x @ w + b, tail_y))
        print("cross_entropy agrees", F.cross_entropy(tail_x @ w + b, tail_y))

        class ScoresByParameters(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = nn.Parameter(torch.randn(n_px, n_cls) / math.sqrt(n_px))
                self.b = nn.Parameter(torch.zeros(n_cls))

            def forward(self, x):
                return x @ self.w + self.b

        class ScoresByLinear(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = nn.Linear(n_px, n_cls)

            def forward(self, x):
                return self.layer(x)

        def train_by_hand(net):
            for _sweep in range(sweeps):
                for lo, hi in batches(len(pixels)):
                    F.cross_entropy(net(pixels[lo:hi]), labels[lo:hi]).backward()
                    with torch.no_grad():
                        for p in net.parameters():
                            p -= step * p.grad
                        net.zero_grad()

        for make in (ScoresByParameters, ScoresByLinear):
            net = make()
            before = F.cross_entropy(net(tail_x), tail_y)
            train_by_hand(net)
            print(make.__name__, before, "->", F.cross_entropy(net(tail_x), tail_y))

        def fresh():
            net = ScoresByLinear()
            return net, optim.SGD(net.parameters(), lr=step)

        net, sgd = fresh()
        table = TensorDataset(pixels, labels)
        for _sweep in range(sweeps):
            for lo, hi in batches(len(table)):
                x, y = table[lo:hi]
                F.cross_entropy(net(x), y).backward()
                sgd.step()
                sgd.zero_grad()
        print("dataset slices", F.cross_entropy(net(tail_x), tail_y))

        held = TensorDataset(val_pixels, val_labels)
        train_dl = DataLoader(table, batch_size=batch, shuffle=True)
        held_dl = DataLoader(held, batch_size=2 * batch)
        net, sgd = fresh()
        for sweep in range(sweeps):
            net.train()
            for x, y in train_dl:
                F.cross_entropy(net(x), y).backward()
                sgd.step()
                sgd.zero_grad()
            net.eval()
            with torch.no_grad():
                total = sum(F.cross_entropy(net(x), y) for x, y in held_dl)
            print("sweep", sweep, "held-out mean of batch losses", total / len(held_dl))

        def one_batch(net, x, y, opt=None):
            """The batch's loss and size; a step when given an optimizer."""
            loss = F.cross_entropy(net(x), y)
            if opt is not None:
                loss.backward()
                opt.step()
                opt.zero_grad()
            return loss.item(), len(x)

        net, sgd = fresh()
        for sweep in range(sweeps):
            net.train()
            for x, y in train_dl:
                one_batch(net, x, y, sgd)
            net.eval()
            with torch.no_grad():
                losses, sizes = zip(*[one_batch(net, x, y) for x, y in held_dl])
            print("sweep", sweep, "held-out loss", np.sum(np.multiply(losses, sizes)) / np.sum(sizes))
        print("weight norms per class", net.layer.weight.norm(dim=1))
        put("tut_nnr.lin", net.layer.weight)


def section_nn_really_cnn() -> None:
    """The glyphs through small strided convolutions: a Module, a Sequential with a reshaping
    layer, and a Sequential fed by a loader wrapper that reshapes each batch."""
    g = torch.Generator().manual_seed(8)
    pixels, labels = _glyphs(96, g)
    val_pixels, val_labels = _glyphs(48, g)
    torch.manual_seed(4)
    train_dl = DataLoader(TensorDataset(pixels, labels), batch_size=24, shuffle=True)
    held_dl = DataLoader(TensorDataset(val_pixels, val_labels), batch_size=48)

    def train(net, loaders, sweeps=2):
        sgd = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        fit_dl, check_dl = loaders
        for sweep in range(sweeps):
            net.train()
            for x, y in fit_dl:
                F.cross_entropy(net(x), y).backward()
                sgd.step()
                sgd.zero_grad()
            net.eval()
            with torch.no_grad():
                scored = [(F.cross_entropy(net(x), y).item(), len(x)) for x, y in check_dl]
            print("sweep", sweep, sum(l * n for l, n in scored) / sum(n for _, n in scored))

    with printed("tut_cnn.log"):
        class StridedConvs(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Conv2d(1, 6, kernel_size=3, stride=2, padding=1)
                self.b = nn.Conv2d(6, 6, kernel_size=3, stride=2, padding=1)
                self.c = nn.Conv2d(6, 6, kernel_size=3, stride=1, padding=1)

            def forward(self, x):
                x = x.view(-1, 1, 12, 12)
                for conv in (self.a, self.b, self.c):
                    x = F.relu(conv(x))
                return F.avg_pool2d(x, 3).view(-1, x.size(1))

        train(StridedConvs(), (train_dl, held_dl))

        class Apply(nn.Module):
            """A layer that applies a given function (a reshape, here)."""

            def __init__(self, fn):
                super().__init__()
                self.fn = fn

            def forward(self, x):
                return self.fn(x)

        def convs():
            return [nn.Conv2d(1, 6, kernel_size=3, stride=2, padding=1), nn.ReLU(),
                    nn.Conv2d(6, 6, kernel_size=3, stride=2, padding=1), nn.ReLU(),
                    nn.Conv2d(6, 6, kernel_size=3, stride=1, padding=1), nn.ReLU()]

        stack = nn.Sequential(Apply(lambda x: x.view(-1, 1, 12, 12)), *convs(), nn.AvgPool2d(3),
                              Apply(lambda x: x.view(x.size(0), -1)))
        train(stack, (train_dl, held_dl))
        print(stack)

        class Reshaped:
            """Iterates a loader, reshaping each batch's images to (N, 1, 12, 12)."""

            def __init__(self, loader):
                self.loader = loader

            def __len__(self):
                return len(self.loader)

            def __iter__(self):
                for x, y in self.loader:
                    yield x.view(-1, 1, 12, 12), y

        wrapped = (Reshaped(train_dl), Reshaped(held_dl))
        pooled = nn.Sequential(*convs(), nn.AdaptiveAvgPool2d(1),
                               Apply(lambda x: x.view(x.size(0), -1)))
        train(pooled, wrapped)
        print(len(wrapped[0]), next(iter(wrapped[1]))[0].shape)


def section_examples_numpy_tensors() -> None:
    """A cubic fitted to a wave three ways: NumPy with gradients by hand, tensors with
    gradients by hand (in-place ``-=``), autograd with ``.grad = None`` between steps."""
    with printed("tut_ex1.log"):
        np.random.seed(0)
        grid = np.linspace(-math.pi, math.pi, 1800)
        wave = 0.9 * np.sin(grid) + 0.05 * grid
        powers = [grid ** k for k in range(4)]
        coef = np.random.randn(4)
        step = 1e-6
        for it in range(400):
            miss = sum(c * p for c, p in zip(coef, powers)) - wave
            if it % 80 == 79:
                print("numpy", it, np.square(miss).sum())
            coef = coef - step * np.array([(2.0 * miss * p).sum() for p in powers])
        print("numpy cubic:", " ".join(f"{c:+.6f}" for c in coef))

        torch.manual_seed(0)
        x = torch.linspace(-math.pi, math.pi, 1800, dtype=torch.float, device=torch.device("cpu"))
        target = 0.9 * torch.sin(x) + 0.05 * x
        c0, c1, c2, c3 = (torch.randn((), dtype=torch.float) for _ in range(4))
        for it in range(400):
            guess = c0 + c1 * x + c2 * x ** 2 + c3 * x ** 3
            twice_miss = 2.0 * (guess - target)
            if it % 80 == 79:
                print("by hand", it, (guess - target).pow(2).sum().item())
            c0 -= step * twice_miss.sum()
            c1 -= step * (twice_miss * x).sum()
            c2 -= step * (twice_miss * x ** 2).sum()
            c3 -= step * (twice_miss * x ** 3).sum()
        print("tensor cubic:", [round(c.item(), 6) for c in (c0, c1, c2, c3)])

        leaves = [torch.randn((), dtype=torch.float, requires_grad=True) for _ in range(4)]
        for it in range(400):
            guess = sum(c * x ** k for k, c in enumerate(leaves))
            cost = (guess - target).pow(2).sum()
            if it % 80 == 79:
                print("autograd", it, cost.item())
            cost.backward()
            with torch.no_grad():
                for c in leaves:
                    c -= step * c.grad
                    c.grad = None
        print("autograd cubic:", [round(c.item(), 6) for c in leaves])


class ThirdLegendre(torch.autograd.Function):
    """P3(t) = (5 t^3 - 3 t) / 2, its derivative written by hand."""

    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        return 2.5 * t ** 3 - 1.5 * t

    @staticmethod
    def backward(ctx, upstream):
        (t,) = ctx.saved_tensors
        return upstream * (7.5 * t ** 2 - 1.5)


def section_examples_function_nn() -> None:
    """The wave through a custom Function, then as nn.Linear over the powers (SGD by hand,
    then RMSprop)."""
    torch.manual_seed(0)
    with printed("tut_ex2.log"):
        x = torch.linspace(-math.pi, math.pi, 1800)
        target = 0.9 * torch.sin(x) + 0.05 * x
        start = (0.1, -0.8, 0.0, 0.35)
        shift, scale, inner_shift, inner_scale = (
            torch.full((), v, requires_grad=True) for v in start)
        for it in range(300):
            guess = shift + scale * ThirdLegendre.apply(inner_shift + inner_scale * x)
            cost = (guess - target).pow(2).sum()
            if it == 0:
                print(guess.grad_fn.__class__.__name__,
                      type(guess.grad_fn.next_functions[1][0]).__name__)
            if it % 75 == 74:
                print("legendre", it, cost.item())
            cost.backward()
            with torch.no_grad():
                for p in (shift, scale, inner_shift, inner_scale):
                    p -= 5e-6 * p.grad
                    p.grad = None
        print("legendre fit:", [round(p.item(), 6) for p in (shift, scale, inner_shift,
                                                                inner_scale)])
        features = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
        print(features.shape, features.dtype)
        summed = nn.MSELoss(reduction="sum")

        def report(model, label):
            lin = model[0]
            print(label, round(lin.bias.item(), 6),
                  [round(lin.weight[:, k].item(), 6) for k in range(3)])

        model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
        for it in range(300):
            cost = summed(model(features), target)
            if it % 75 == 74:
                print("sgd by hand", it, cost.item())
            model.zero_grad()
            cost.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= 1e-6 * p.grad
        report(model, "linear, sgd:")
        model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
        rms = optim.RMSprop(model.parameters(), lr=1e-3)
        for it in range(300):
            cost = summed(model(features), target)
            if it % 75 == 74:
                print("rmsprop", it, cost.item())
            rms.zero_grad()
            cost.backward()
            rms.step()
        report(model, "linear, rmsprop:")


def section_examples_modules() -> None:
    """Scalar nn.Parameters in a Module, a Module whose depth is drawn per call (one weight
    reused for every extra power), and a two-layer net by hand then as a Module."""
    torch.manual_seed(0)
    random.seed(0)
    with printed("tut_ex3.log"):
        class ScalarCubic(nn.Module):
            def __init__(self):
                super().__init__()
                self.k = nn.ParameterList(nn.Parameter(torch.randn(())) for _ in range(4))

            def forward(self, x):
                return sum(c * x ** i for i, c in enumerate(self.k))

            def describe(self):
                return " ".join(f"{c.item():+.6f}" for c in self.k)

        x = torch.linspace(-math.pi, math.pi, 1800)
        target = 0.9 * torch.sin(x) + 0.05 * x
        cubic = ScalarCubic()
        print(list(cubic.named_parameters())[0])
        summed = nn.MSELoss(reduction="sum")
        sgd = optim.SGD(cubic.parameters(), lr=1e-6)
        for it in range(300):
            cost = summed(cubic(x), target)
            if it % 75 == 74:
                print("cubic", it, cost.item())
            sgd.zero_grad()
            cost.backward()
            sgd.step()
        print("cubic:", cubic.describe())

        class RandomDepth(nn.Module):
            def __init__(self):
                super().__init__()
                self.base = nn.Parameter(torch.randn(4))
                self.extra = nn.Parameter(torch.randn(()))

            def forward(self, x):
                out = sum(self.base[i] * x ** i for i in range(4))
                for power in range(4, random.randint(4, 6)):
                    out = out + self.extra * x ** power
                return out

        deep = RandomDepth()
        sgd = optim.SGD(deep.parameters(), lr=1e-8, momentum=0.9)
        for it in range(450):
            cost = summed(deep(x), target)
            if it % 150 == 149:
                print("random depth", it, cost.item())
            sgd.zero_grad()
            cost.backward()
            sgd.step()
        print("random depth:", deep.base.data, round(deep.extra.item(), 6))

        rows, d_in, hidden, d_out = 12, 80, 16, 4
        xs, ys = torch.randn(rows, d_in), torch.randn(rows, d_out)
        w_in, w_out = torch.randn(d_in, hidden), torch.randn(hidden, d_out)
        for it in range(100):
            pre = xs.mm(w_in)
            act = pre.clamp(min=0)
            out = act.mm(w_out)
            if it % 25 == 24:
                print("two layers by hand", it, (out - ys).pow(2).sum().item())
            d_out_ = 2.0 * (out - ys)
            d_act = d_out_.mm(w_out.t())
            d_pre = d_act.clone()
            d_pre[pre < 0] = 0
            w_out -= 1e-6 * act.t().mm(d_out_)
            w_in -= 1e-6 * xs.t().mm(d_pre)

        class TwoLayers(nn.Module):
            def __init__(self, d_in, hidden, d_out):
                super(TwoLayers, self).__init__()  # (the old two-argument form)
                self.inner = nn.Linear(d_in, hidden)
                self.outer = nn.Linear(hidden, d_out)

            def forward(self, x):
                return self.outer(self.inner(x).clamp(min=0))

        net = TwoLayers(d_in, hidden, d_out)
        adam = optim.Adam(net.parameters(), lr=1e-3)
        for it in range(100):
            cost = summed(net(xs), ys)
            if it % 25 == 24:
                print("two layers, adam", it, cost.item())
            adam.zero_grad()
            cost.backward()
            adam.step()
        print(net)


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


class PixelMLP(nn.Module):
    """28 x 28 pictures -> 10 scores through two hidden layers."""

    def __init__(self, hidden=48):
        super().__init__()
        self.flat = nn.Flatten()
        self.body = nn.Sequential(nn.Linear(28 * 28, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, x):
        return self.body(self.flat(x))


def section_quickstart(folder=".") -> None:
    """A first classifier end to end (own code, session 30, DD2): loaders, the device chosen
    through torch.accelerator, a fit / check loop, state-dict and whole-model save / load, then
    the layers taken one by one and the parameters listed."""
    torch.manual_seed(0)
    fit_set, check_set = _FakeImages(192, 1), _FakeImages(64, 2)
    with printed("tut_quick.log"):
        fit_rows = DataLoader(fit_set, batch_size=48)
        check_rows = DataLoader(check_set, batch_size=48)
        pictures, kinds = next(iter(check_rows))
        print("one batch:", tuple(pictures.shape), tuple(kinds.shape), kinds.dtype)
        device = (torch.accelerator.current_accelerator().type
                  if torch.accelerator.is_available() else "cpu")
        print("running on", device)
        net = PixelMLP().to(device)
        print(net)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

        def one_pass():
            net.train()
            for i, (xb, yb) in enumerate(fit_rows):
                cost = F.cross_entropy(net(xb.to(device)), yb.to(device))
                cost.backward()
                optimizer.step()
                optimizer.zero_grad()
                if i % 2 == 1:
                    print(f"  batch {i}: cost {cost.item():.6f} ({(i + 1) * len(xb)} of "
                          f"{len(fit_rows.dataset)} rows)")

        def check():
            net.eval()
            summed, right = 0.0, 0.0
            with torch.no_grad():
                for xb, yb in check_rows:
                    scores = net(xb.to(device))
                    summed += F.cross_entropy(scores, yb).item()
                    right += (scores.argmax(1) == yb).type(torch.float).sum().item()
            print(f"  held out: {100 * right / len(check_rows.dataset):.1f}% right, "
                  f"mean cost {summed / len(check_rows):.6f}")

        for sweep in range(3):
            print(f"sweep {sweep + 1}")
            one_pass()
            check()
        torch.save(net.state_dict(), "pixel_mlp.pt")
        print("weights written to pixel_mlp.pt")
        again = PixelMLP().to(device)
        print(again.load_state_dict(torch.load("pixel_mlp.pt", weights_only=True)))
        names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        again.eval()
        with torch.no_grad():
            picture, kind = check_set[0]
            print(f"guess {names[again(picture.to(device))[0].argmax(0)]}, truth {names[kind]}")
        torch.save(again, "pixel_mlp_whole.pt")
        whole = torch.load("pixel_mlp_whole.pt", weights_only=False)
        print(type(whole).__name__, torch.equal(whole.body[0].weight, again.body[0].weight))
        # the same layers one at a time
        probs = nn.Softmax(dim=1)(again(torch.rand(1, 28, 28, device=device)))
        print("most likely:", probs.argmax(1))
        three = torch.rand(3, 28, 28)
        flat = nn.Flatten()(three)
        print(three.size(), flat.size())
        first = nn.Linear(in_features=28 * 28, out_features=5)
        hidden = first(flat)
        print(hidden.size())
        print(f"before the ReLU: {hidden}\n")
        print(f"after it: {nn.ReLU()(hidden)}")
        stack = nn.Sequential(nn.Flatten(), first, nn.ReLU(), nn.Linear(5, 10))
        probs = nn.Softmax(dim=1)(stack(three))
        print(probs.shape, probs.sum(1))
        print(f"the net: {again}\n")
        for name, p in again.named_parameters():
            corner = p[:2, :3] if p.ndim == 2 else p[:2]
            print(f"{name}: {tuple(p.size())}, first entries {corner}\n")


def section_tensors() -> None:
    """Tensor basics in our own code (session 30, DD2): making tensors from lists, NumPy and
    other tensors' shapes; attributes; indexing and slice assignment; cat; matmul / mul with
    out=; item(); in-place ops; memory shared with NumPy both ways; new_ones, randn_like,
    empty + out=, view."""
    torch.manual_seed(0)
    with printed("tut_tensors.log"):
        rows = [[5, 6, 7], [8, 9, 10]]
        from_list, from_numpy = torch.tensor(rows), torch.from_numpy(np.array(rows))
        print(from_list, from_numpy, from_list.dtype, from_numpy.dtype)
        print(f"zeros shaped like it:\n{torch.zeros_like(from_list)}")
        print(f"uniform floats shaped like it:\n{torch.rand_like(from_list, dtype=torch.float)}")
        for make in (torch.rand, torch.ones, torch.zeros):
            print(f"{make.__name__}(3, 2):\n{make((3, 2,))}")
        grid = torch.rand(2, 5)
        print(f"shape {grid.shape}, dtype {grid.dtype}, device {grid.device}")
        if torch.accelerator.is_available():
            grid = grid.to(torch.accelerator.current_accelerator())
        board = torch.arange(1.0, 13.0).reshape(3, 4)
        print(f"row 1: {board[1]}, column 2: {board[:, 2]}, last column: {board[..., -1]}")
        board[1, :] = -1
        print(board)
        print(torch.cat([board, board], dim=0))
        gram = board.T @ board
        spare = torch.rand_like(gram)
        torch.matmul(board.T, board, out=spare)
        squares = torch.rand_like(board)
        torch.mul(board, board, out=squares)
        print(gram, gram.equal(spare), (board * board).equal(squares), board.mul(board).dtype)
        total = board.sum().item()
        print(total, type(total))
        board.mul_(2).sub_(1)
        print(f"after mul_ and sub_:\n{board}")
        shared = torch.zeros(4)
        view = shared.numpy()
        shared.add_(3)
        print(f"tensor {shared}, its numpy view {view}")
        array = np.full(4, 2.0)
        wrapped = torch.from_numpy(array)
        np.multiply(array, 5, out=array)
        print(f"numpy {array}, the tensor over it {wrapped}")
        longs = torch.empty(3, 2).zero_()
        longs = torch.zeros(3, 2, dtype=torch.long)
        print(longs)
        wide = torch.tensor([1.5, -2.0]).new_ones(3, 2, dtype=torch.double)
        print(wide)
        noise = torch.randn_like(wide, dtype=torch.float)
        print(noise, noise.size())
        other = torch.rand(3, 2)
        print(noise - other)
        print(torch.sub(noise, other))
        into = torch.empty(3, 2)
        torch.sub(noise, other, out=into)
        print(into)
        other.sub_(noise)
        print(other)
        print(noise[:, 0])
        flat = torch.randn(2, 6)
        print(flat.size(), flat.view(12).size(), flat.view(-1, 3).size())
        single = torch.randn(1)
        print(single, single.item())


def section_autograd_tutorial() -> None:
    """Autograd's basics in our own code (session 30, DD2): grad_fn objects, gradients of a
    logistic score, requires_grad under no_grad and detach, backward twice into the same .grad
    (retain_graph) and zero_(), a vector-Jacobian product, requires_grad_(), freezing a model
    but for its replaced head, an optimizer's repr."""
    torch.manual_seed(0)
    with printed("tut_autograd.log"):
        feats = torch.full((4,), 0.5)
        labels = torch.tensor([1.0, 0.0])
        weight = torch.randn(4, 2, requires_grad=True)
        bias = torch.randn(2, requires_grad=True)
        score = feats @ weight + bias
        cost = F.binary_cross_entropy_with_logits(score, labels)
        print("score made by", score.grad_fn)
        print("cost made by", cost.grad_fn)
        cost.backward()
        print("d cost / d weight", weight.grad)
        print("d cost / d bias", bias.grad)
        print("tracked:", (feats @ weight + bias).requires_grad)
        with torch.no_grad():
            print("tracked inside no_grad:", (feats @ weight + bias).requires_grad)
        print("tracked after detach:", (feats @ weight + bias).detach().requires_grad)
        corner = torch.eye(3, 4, requires_grad=True)
        shaped = (2 * corner - 1).pow(3).t()
        ones = torch.ones_like(shaped)
        shaped.backward(ones, retain_graph=True)
        print(f"once:\n{corner.grad}")
        shaped.backward(ones, retain_graph=True)
        print(f"twice (summed):\n{corner.grad}")
        corner.grad.zero_()
        shaped.backward(ones, retain_graph=True)
        print(f"after zero_():\n{corner.grad}")
        leaf = torch.full((2, 3), 2.0, requires_grad=True)
        shifted = leaf - 1
        print(leaf, shifted, shifted.grad_fn, sep="\n")
        cubed = shifted ** 3 * 2
        mean = cubed.mean()
        print(cubed, mean)
        plain = torch.randn(2, 2)
        plain = (plain + 2) / (plain * 4)
        print("plain tracked?", plain.requires_grad)
        plain.requires_grad_(True)
        print("now?", plain.requires_grad, (plain ** 2).sum().grad_fn)
        mean.backward()
        print("d mean / d leaf", leaf.grad)
        start = torch.randn(3, requires_grad=True)
        grown = start * 3
        while grown.data.norm() < 500:
            grown = grown * 3
        print("grown", grown)
        grown.backward(torch.tensor([1.0, 0.01, 0.5]))
        print("vector-Jacobian product", start.grad)
        print(start.requires_grad, (start * 2).requires_grad)
        with torch.no_grad():
            print("inside no_grad", (start * 2).requires_grad)
        cut = start.detach()
        print(cut.requires_grad, start.eq(cut).all())
        u = torch.tensor([1.0, -2.0], requires_grad=True)
        v = torch.tensor([0.5, 3.0], requires_grad=True)
        mixed = u ** 4 - 2 * v ** 3
        mixed.backward(gradient=torch.ones(2))
        print("4u^3 matches", 4 * u ** 3 == u.grad, "-6v^2 matches", -6 * v ** 2 == v.grad)
        fixed, free = torch.rand(3, 3), torch.rand((3, 3), requires_grad=True)
        print(f"fixed + fixed tracked: {(fixed + fixed).requires_grad}, "
              f"fixed + free tracked: {(fixed + free).requires_grad}")
        net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
        for p in net.parameters():
            p.requires_grad = False
        net[2] = nn.Linear(4, 3)
        optimizer = optim.SGD(net.parameters(), lr=5e-3, momentum=0.8)
        print("trainable:", [p.requires_grad for p in net.parameters()])
        print(optimizer)


def section_blitz_nn() -> None:
    """A small convolutional net taken apart (own code, session 30, DD2): its parameters, a
    backward from a random upstream gradient, the grad_fn chain behind an MSE loss, a bias's
    .grad before and after backward, an update through .data then through optim.SGD."""
    torch.manual_seed(0)
    with printed("tut_blitz.log"):
        class SmallConv(nn.Module):
            def __init__(self):
                super().__init__()
                self.first = nn.Conv2d(1, 4, 3)
                self.second = nn.Conv2d(4, 8, 3)
                self.hidden = nn.Linear(8 * 5 * 5, 32)
                self.out = nn.Linear(32, 6)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.first(x)), (2, 2))
                x = F.max_pool2d(F.relu(self.second(x)), 2)
                x = x.view(-1, math.prod(x.size()[1:]))
                return self.out(F.relu(self.hidden(x)))

        net = SmallConv()
        print(net)
        weights = list(net.parameters())
        print(len(weights), weights[0].size(), sum(p.numel() for p in weights))
        for name, p in net.named_parameters():
            print(f"  {name:14} {tuple(p.shape)}")
        picture = torch.randn(1, 1, 26, 26)
        scores = net(picture)
        print(scores)
        net.zero_grad()
        scores.backward(torch.randn(1, 6))
        target = torch.randn(6).view(1, -1)
        cost = nn.MSELoss()(net(picture), target)
        print(cost)
        print(cost.grad_fn)
        print(cost.grad_fn.next_functions[0][0])
        print(cost.grad_fn.next_functions[0][0].next_functions[0][0])
        print([type(f).__name__ for f, _ in cost.grad_fn.next_functions[0][0].next_functions])
        net.zero_grad()
        print("first.bias.grad before backward:", net.first.bias.grad)
        cost.backward()
        print("first.bias.grad after backward:", net.first.bias.grad)
        for p in net.parameters():
            p.data.sub_(p.grad.data * 0.02)
        print("after a step by hand", nn.MSELoss()(net(picture), target))
        optimizer = optim.SGD(net.parameters(), lr=0.02)
        optimizer.zero_grad()
        nn.MSELoss()(net(picture), target).backward()
        optimizer.step()
        print("after a step by optim", nn.MSELoss()(net(picture), target))


SECTIONS = {
    "tut_nnr": section_nn_really, "tut_cnn": section_nn_really_cnn,
    "tut_ex1": section_examples_numpy_tensors, "tut_ex2": section_examples_function_nn,
    "tut_ex3": section_examples_modules, "tut_quick": section_quickstart,
    "tut_tensors": section_tensors, "tut_autograd": section_autograd_tutorial,
    "tut_blitz": section_blitz_nn,
}
# (the "Deep Learning for NLP with PyTorch" series -- bag of words, n-gram model, CBOW, the
# BiLSTM-CRF -- was typed here and in prog_s17_PG_nlp.py alike: tut_nlp and tut_crf removed in
# session 30, DD2; prog_s17_PG_nlp.py runs models of those kinds, in our own code since
# session 31.)
