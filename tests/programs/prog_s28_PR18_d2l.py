"""Training-framework and applied chapters of a deep-learning textbook's kind (PR18, session
28; rewritten in our own code in session 30, DD2): a small experiment runner around a linear
model kept in leaf tensors (manual SGD under no_grad, gradient clipping through ``grad[:] *=``)
and one built on nn.LazyLinear; a tabular price model (pandas standardisation,
get_dummies(dummy_na=True), a log-RMSE through clamp to inf, Adam with weight decay, k-fold
splits by index_select); vanishing / exploding signals and a density-ratio reweighting fitted
by L-BFGS; learning-rate schedules written as functions and set into param_groups by hand, and
MultiStepLR; a review classifier over a trained and a frozen embedding (Conv1d of several
widths, AdaptiveAvgPool1d) and a premise / hypothesis aligner (bmm soft alignment both ways);
Newton steps with second derivatives from autograd. Tiny sizes, seeded; run by
prog_s28_PR18_all.py.
"""

import math

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn

# ---------------------------------------------------------------------------------------------
# dl_oo: an experiment runner


def line_loaders(weights, bias, n_fit, n_check, batch, noise=0.02):
    """Noisy y = x . weights + bias, as (fitting loader, checking loader, x, y)."""
    x = torch.randn(n_fit + n_check, len(weights))
    y = x @ weights.reshape(-1, 1) + bias + noise * torch.randn(n_fit + n_check, 1)
    fit = torch.utils.data.TensorDataset(x[:n_fit], y[:n_fit])
    check = torch.utils.data.TensorDataset(x[n_fit:], y[n_fit:])
    return (torch.utils.data.DataLoader(fit, batch_size=batch, shuffle=True),
            torch.utils.data.DataLoader(check, batch_size=batch), x, y)


class LeafLine:
    """A linear model kept in two leaf tensors, updated by hand."""

    def __init__(self, features, step, spread=0.01):
        self.step = step
        self.coef = torch.normal(0.0, spread, (features, 1), requires_grad=True)
        self.offset = torch.zeros(1, requires_grad=True)

    def tensors(self):
        return [self.coef, self.offset]

    def __call__(self, x):
        return x @ self.coef + self.offset

    def cost(self, guess, truth):
        return 0.5 * ((guess - truth) ** 2).mean()

    def clear(self):
        for t in self.tensors():
            if t.grad is not None:
                t.grad.zero_()

    def update(self):
        for t in self.tensors():
            t -= self.step * t.grad


class LazyLine(nn.Module):
    """The same model from nn.LazyLinear, its weight drawn through ``.data`` while lazy."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.layer = nn.LazyLinear(1)
        self.layer.weight.data.normal_(0, 0.01)
        self.layer.bias.data.fill_(0)
        self.mse = nn.MSELoss()
        self.optimizer = None

    def forward(self, x):
        return self.layer(x)

    def tensors(self):
        return list(self.parameters())

    def cost(self, guess, truth):
        return self.mse(guess, truth)

    def clear(self):
        if self.optimizer is None:  # (after the first forward has given the weight its shape)
            self.optimizer = torch.optim.SGD(self.parameters(), self.step)
        self.optimizer.zero_grad()

    def update(self):
        self.optimizer.step()


def clip_total_norm(tensors, limit):
    """Rescales every gradient in place when their joint norm passes ``limit``."""
    total = torch.sqrt(sum((t.grad ** 2).sum() for t in tensors))
    if total > limit:
        for t in tensors:
            t.grad[:] *= limit / total
    return total


def run_epochs(model, fit, check, epochs, clip=None):
    for epoch in range(epochs):
        costs = []
        for x, y in fit:
            cost = model.cost(model(x), y)
            model.clear()
            # (backward and the update both inside no_grad, as some framework loops do)
            with torch.no_grad():
                cost.backward()
                if clip is not None:
                    clip_total_norm(model.tensors(), clip)
                model.update()
            costs.append(cost.item())
        with torch.no_grad():
            held = [model.cost(model(x), y).item() for x, y in check]
        print(f"[{type(model).__name__} {epoch + 1}/{epochs}] fit {sum(costs) / len(costs):.5f}"
              f" held-out {sum(held) / len(held):.5f}")


def section_oo() -> None:
    torch.manual_seed(310)
    with printed("dl_oo.log"):
        truth_w, truth_b = torch.tensor([1.5, -0.7, 2.0]), -1.0
        fit, check, x, y = line_loaders(truth_w, truth_b, n_fit=48, n_check=48, batch=12)
        print("first row", x[0], "target", y[0])
        xb, yb = next(iter(fit))
        print("a batch:", tuple(xb.shape), tuple(yb.shape), "batches:", len(fit), len(check))
        leaf = LeafLine(3, step=0.05)
        run_epochs(leaf, fit, check, epochs=5)
        with torch.no_grad():
            print("coef gap", truth_w - leaf.coef.flatten(), "offset gap", truth_b - leaf.offset)
        lazy = LazyLine(step=0.1)
        print("before:", lazy.layer)
        run_epochs(lazy, fit, check, epochs=5, clip=1.0)
        weight, bias = lazy.layer.weight.data, lazy.layer.bias.data
        print("after:", lazy.layer, tuple(weight.shape))
        print("weight gap", truth_w - weight.flatten(), "bias gap", truth_b - bias)
        put("dl_oo.w", weight)


# ---------------------------------------------------------------------------------------------
# dl_kaggle: a tabular price model with k-fold checks


def section_kaggle() -> None:
    import pandas as pd

    gen = torch.Generator().manual_seed(311)
    n = 48
    floor = (torch.rand(n, generator=gen) * 150 + 30).round()
    baths = torch.randint(1, 4, (n,), generator=gen)
    kinds = ["flat", "house", "loft", None]
    kind = [kinds[i] for i in torch.randint(0, 4, (n,), generator=gen).tolist()]
    storey = torch.randint(0, 12, (n,), generator=gen)
    value = (40000 + 1100 * floor + 15000 * baths.float() + 2500 * storey.float()
             + torch.randn(n, generator=gen) * 9000)
    table = pd.DataFrame({"key": range(100, 100 + n), "floor_m2": floor.numpy(),
                          "baths": baths.numpy(), "kind": kind,
                          "storey": storey.numpy().astype(float), "value": value.numpy()})
    table.loc[[2, 9, 20], "storey"] = float("nan")
    known, unknown = table.iloc[:36], table.iloc[36:].drop(columns=["value"])
    with printed("dl_kaggle.log"):
        columns = pd.concat((known.drop(columns=["key", "value"]),
                             unknown.drop(columns=["key"])))
        numbers = columns.select_dtypes(include="number").columns
        columns[numbers] = (columns[numbers] - columns[numbers].mean()) / columns[numbers].std()
        columns[numbers] = columns[numbers].fillna(0)
        columns = pd.get_dummies(columns, dummy_na=True)
        print("encoded", columns.shape, "columns:", ", ".join(columns.columns))
        as_tensor = lambda frame: torch.tensor(frame.values.astype(float),  # noqa: E731
                                               dtype=torch.float32)
        x_known, x_unknown = as_tensor(columns[:len(known)]), as_tensor(columns[len(known):])
        y_known = torch.tensor(known["value"].values, dtype=torch.float32).unsqueeze(1)
        print(tuple(x_known.shape), tuple(x_unknown.shape), y_known.dtype)
        mse = nn.MSELoss()

        def log_error(model, x, y):
            guess = torch.clamp(model(x), 1, float("inf"))
            return torch.sqrt(mse(guess.log(), y.log())).item()

        def fit(x, y, epochs=20, lr=5000.0, decay=0.0, batch=12):
            model = nn.Sequential(nn.Linear(x.shape[1], 1))
            optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=decay)
            rows = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                               batch_size=batch, shuffle=True)
            for _ in range(epochs):
                for xb, yb in rows:
                    optimizer.zero_grad()
                    mse(model(xb), yb).backward()
                    optimizer.step()
            return model

        torch.manual_seed(312)
        folds = torch.arange(len(x_known)).chunk(4)
        scores = []
        for i, held in enumerate(folds):
            rest = torch.cat([f for j, f in enumerate(folds) if j != i])
            model = fit(x_known.index_select(0, rest), y_known.index_select(0, rest))
            scores.append((log_error(model, x_known[rest], y_known[rest]),
                           log_error(model, x_known[held], y_known[held])))
            print(f"split {i}: fitted rows {scores[-1][0]:f}, held rows {scores[-1][1]:f}")
        fitted, held = (sum(s) / len(s) for s in zip(*scores))
        print(f"mean over splits: {fitted:f} / {held:f}")
        model = fit(x_known, y_known, decay=1e-3)
        print(f"all known rows {log_error(model, x_known, y_known):f}")
        guess = model(x_unknown).detach().numpy()
        answer = pd.DataFrame({"key": unknown["key"].values, "value": guess[:, 0]})
        print(answer.round(0).astype({"value": "int64"}).head(4).to_string())
        put("dl_kaggle.preds", torch.from_numpy(guess))


# ---------------------------------------------------------------------------------------------
# dl_stability: vanishing and exploding signals, reweighting under a shift of inputs


def section_stability() -> None:
    with printed("dl_stability.log"):
        z = torch.linspace(-9.0, 9.0, 7, requires_grad=True)
        torch.sigmoid(z).sum().backward()
        print("slope of the sigmoid at", z.detach(), "is", z.grad)
        torch.manual_seed(313)
        product = torch.randn(5, 5)
        print("start\n", product)
        for _ in range(60):
            product = torch.randn(5, 5) @ product
        print("order of magnitude after 60 products:",
              product.abs().max().log10().round(decimals=0))
        # inputs drawn elsewhere at test time: weight each training point by an estimate of
        # p_test(x) / p_train(x) from a classifier telling the two samples apart
        torch.manual_seed(314)
        x_train = torch.randn(200, 1)
        x_test = torch.randn(200, 1) * 0.6 + 1.0
        curve = lambda x: torch.sin(2 * x) + 0.5 * x  # noqa: E731
        y_train = curve(x_train) + 0.1 * torch.randn(200, 1)
        y_test = curve(x_test) + 0.1 * torch.randn(200, 1)
        pooled = torch.cat([x_train, x_test])
        side = torch.cat([-torch.ones(200), torch.ones(200)])
        quadratic = lambda x: torch.cat([x, x ** 2, torch.ones_like(x)], 1)  # noqa: E731
        critic = nn.Linear(3, 1)
        search = torch.optim.LBFGS(critic.parameters(), lr=0.5, max_iter=100)

        def closure():
            search.zero_grad()
            cost = F.soft_margin_loss(critic(quadratic(pooled)).squeeze(1), side)
            cost.backward()
            return cost

        search.step(closure)
        with torch.no_grad():
            beta = critic(quadratic(x_train)).exp().squeeze(1)
        print(f"ratios: mean {beta.mean():.3f} max {beta.max():.3f}")
        cubic = lambda x: torch.cat([x ** k for k in range(4)], 1)  # noqa: E731
        for name, weight in (("uniform", torch.ones(200)), ("by ratio", beta)):
            root = weight.sqrt()[:, None]
            coef = torch.linalg.lstsq((cubic(x_train) * root).double(),
                                      (y_train * root).double()).solution
            err = F.mse_loss(cubic(x_test).double() @ coef, y_test.double())
            print(f"{name:>9}: shifted-sample error {err.item():.4f}")
        put("dl_stability.beta", beta)


# ---------------------------------------------------------------------------------------------
# dl_lrsched: schedules as plain functions of the epoch


def inverse_sqrt(peak):
    return lambda epoch: peak / math.sqrt(epoch + 1.0)


def shrinking(rate, floor, start):
    state = {"lr": start}

    def next_lr(epoch):
        state["lr"] = max(floor, state["lr"] * rate)
        return state["lr"]

    return next_lr


def cosine(total, peak, floor=0.0, warm=0, warm_from=0.0):
    def lr_at(epoch):
        if epoch < warm:
            return warm_from + (peak - warm_from) * epoch / warm
        done = min(epoch, total) - warm
        return floor + (peak - floor) * (1 + math.cos(math.pi * done / (total - warm))) / 2

    return lr_at


def section_lr_schedules() -> None:
    torch.manual_seed(315)
    images = torch.randn(64, 1, 8, 8)
    target = (images.mean((1, 2, 3)) > 0).long()

    def small_cnn():
        return nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 2))

    def one_epoch(net, optimizer):
        for start in range(0, 64, 16):
            optimizer.zero_grad()
            cost = F.cross_entropy(net(images[start:start + 16]), target[start:start + 16])
            cost.backward()
            optimizer.step()
        with torch.no_grad():
            hit = (net(images).argmax(1) == target).float().mean()
        return cost, hit

    with printed("dl_lrsched.log"):
        print("1/sqrt ", [round(inverse_sqrt(0.1)(t), 5) for t in range(0, 20, 4)])
        decay = shrinking(0.9, floor=1e-2, start=2.0)
        print("shrink ", [round(decay(t), 5) for t in range(0, 50, 10)])
        print("cosine ", [round(cosine(20, 0.3, 0.01)(t), 5) for t in range(0, 25, 4)])
        print("warm-up", [round(cosine(20, 0.3, 0.01, warm=5)(t), 5) for t in range(0, 25, 3)])
        plans = {"square root": inverse_sqrt(0.1), "multistep": None,
                 "cosine warmup": cosine(6, 0.3, 0.01, warm=2)}
        for name, plan in plans.items():
            print(name)
            torch.manual_seed(316)
            net = small_cnn()
            optimizer = torch.optim.SGD(net.parameters(), lr=0.5 if plan is None else 0.3)
            stepper = (torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4],
                                                            gamma=0.5) if plan is None else None)
            for epoch in range(6):
                cost, hit = one_epoch(net, optimizer)
                if stepper is not None:
                    stepper.step()
                    print(f"  {epoch}: cost {cost.item():.4f} lr now {stepper.get_last_lr()}")
                    continue
                for group in optimizer.param_groups:
                    group["lr"] = plan(epoch)
                print(f"  {epoch}: cost {cost.item():.4f} hits {hit:.3f} "
                      f"lr now {optimizer.param_groups[0]['lr']:.5f}")
            put(f"dl_lrsched.{name.replace(' ', '_')}", net[-1].weight)


# ---------------------------------------------------------------------------------------------
# dl_nlp: a review classifier over two embeddings, a sentence-pair aligner


def hashed_vectors(words, width):
    """Fixed stand-in word vectors (row 0 for unknown words)."""
    g = torch.Generator().manual_seed(317)
    return torch.randn(len(words) + 1, width, generator=g)


class ReviewConv(nn.Module):
    """Trained and frozen embeddings side by side, convolutions of several widths."""

    def __init__(self, words, width, spans, channels):
        super().__init__()
        self.tuned = nn.Embedding(words, width)
        self.fixed = nn.Embedding(words, width)
        self.filters = nn.ModuleList(nn.Conv1d(2 * width, c, k) for k, c in zip(spans, channels))
        self.squash = nn.AdaptiveAvgPool1d(1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(sum(channels), 2)

    def forward(self, tokens):
        both = torch.cat((self.tuned(tokens), self.fixed(tokens)), dim=2).transpose(1, 2)
        pooled = [self.squash(F.relu(conv(both))).squeeze(-1) for conv in self.filters]
        return self.head(self.drop(torch.cat(pooled, dim=1)))


def two_layer(width_in, width, flat):
    layers = [nn.Dropout(0.2), nn.Linear(width_in, width), nn.ReLU()]
    layers += [nn.Flatten(start_dim=1)] if flat else []
    layers += [nn.Dropout(0.2), nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers)


class PairAligner(nn.Module):
    """Scores a (premise, hypothesis) pair into 3 classes: each token is softly aligned with
    the other sentence (bmm both ways), compared with its alignment, and summed."""

    def __init__(self, words, width, hidden):
        super().__init__()
        self.embed = nn.Embedding(words, width)
        self.project = two_layer(width, hidden, flat=False)
        self.relate = two_layer(2 * width, hidden, flat=False)
        self.judge = nn.Sequential(two_layer(2 * hidden, hidden, flat=True),
                                   nn.Linear(hidden, 3))

    def align(self, left, right):
        scores = torch.bmm(self.project(left), self.project(right).transpose(1, 2))
        return (torch.bmm(F.softmax(scores, dim=-1), right),
                torch.bmm(F.softmax(scores.transpose(1, 2), dim=-1), left))

    def forward(self, pair):
        left, right = self.embed(pair[0]), self.embed(pair[1])
        for_left, for_right = self.align(left, right)
        seen_left = self.relate(torch.cat([left, for_left], dim=2)).sum(dim=1)
        seen_right = self.relate(torch.cat([right, for_right], dim=2)).sum(dim=1)
        return self.judge(torch.cat([seen_left, seen_right], dim=1))


def section_nlp_apps() -> None:
    words = ["<pad>", "nice", "superb", "dull", "awful", "film", "story", "this", "is", "joy",
             "slow", "one", "cat", "bird", "sings", "naps"]
    upbeat, downbeat = (1, 2, 9), (3, 4, 10)
    torch.manual_seed(318)
    reviews = torch.randint(1, len(words), (16, 7))
    count = lambda ids: sum((reviews == i).long() for i in ids).sum(1)  # noqa: E731
    labels = count(upbeat).gt(count(downbeat)).long()
    with printed("dl_nlp.log"):
        net = ReviewConv(len(words), 6, spans=[2, 3, 4], channels=[4, 4, 4])
        for part in net.modules():
            if isinstance(part, (nn.Linear, nn.Conv1d)):
                nn.init.xavier_uniform_(part.weight)
        vectors = hashed_vectors(words[1:], 6)
        print(vectors.shape, vectors[0].abs().sum() > 0)
        net.tuned.weight.data.copy_(vectors)
        net.fixed.weight.data.copy_(vectors)
        net.fixed.weight.requires_grad = False
        optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
        per_review = nn.CrossEntropyLoss(reduction="none")
        for epoch in range(5):
            net.train()
            for start in range(0, 16, 8):
                optimizer.zero_grad()
                costs = per_review(net(reviews[start:start + 8]), labels[start:start + 8])
                costs.sum().backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                hit = (net(reviews).argmax(1) == labels).float().mean()
            print(f"pass {epoch}: mean cost {costs.mean().item():.3f} hits {hit:.3f}")
        print("constant unchanged", torch.equal(net.fixed.weight, vectors),
              net.fixed.weight.grad is None)

        def verdict(text):
            ids = torch.tensor([words.index(w) for w in text.split()]).unsqueeze(0)
            return ("up", "down")[int(net(ids).argmax(1) != 1)]

        print(verdict("this film is superb joy"), verdict("this story is awful slow dull"))
        torch.manual_seed(319)
        premises = torch.randint(1, len(words), (12, 5))
        hypotheses = torch.randint(1, len(words), (12, 4))
        relation = torch.randint(0, 3, (12,))
        aligner = PairAligner(len(words), 8, 16)
        print(aligner.judge)
        optimizer = torch.optim.Adam(aligner.parameters(), lr=0.005)
        aligner.train()
        for step in range(4):
            optimizer.zero_grad()
            cost = F.cross_entropy(aligner([premises, hypotheses]), relation)
            cost.backward()
            optimizer.step()
            print(f"aligner step {step}: {cost.item():.4f}")
        aligner.eval()
        one, other = aligner.align(aligner.embed(premises[:1]), aligner.embed(hypotheses[:1]))
        print(one.shape, other.shape, aligner([premises[:2], hypotheses[:2]]).argmax(1))
        put("dl_nlp.nli", aligner.judge[1].weight)


# ---------------------------------------------------------------------------------------------
# dl_newton: second-order steps


def section_newton() -> None:
    with printed("dl_newton.log"):
        a = torch.tensor(1.3)
        # log cosh(a (x - 2)): derivatives by hand, Newton from 2.5
        slope = lambda x: a * torch.tanh(a * (x - 2))  # noqa: E731
        bend = lambda x: a ** 2 * (1 - torch.tanh(a * (x - 2)) ** 2)  # noqa: E731
        x, path = 2.5, []
        for _ in range(6):
            x -= slope(torch.tensor(x)).item() / bend(torch.tensor(x)).item()
            path.append(round(x, 6))
        print("newton by hand", path)
        k = torch.tensor(0.4)

        def wave(x):
            return x * torch.sin(k * x)

        def first_and_second(x):
            x = torch.tensor(x, requires_grad=True)
            (d1,) = torch.autograd.grad(wave(x), x, create_graph=True)
            (d2,) = torch.autograd.grad(d1, x)
            return d1, d2

        print("by autograd", [f"{v.item():.6f}" for v in first_and_second(6.0)],
              "by hand", f"{(torch.sin(k * 6) + k * 6 * torch.cos(k * 6)).item():.6f}")
        for damping in (1.0, 0.5):
            x = 6.0
            for _ in range(10):
                d1, d2 = first_and_second(x)
                x -= damping * d1.item() / d2.item()
            value = wave(torch.tensor(x)).item()
            print(f"damping {damping}: stationary x {x:.6f} value {value:.6f}")
        # plain against diagonally scaled steps on 0.1 u^2 + 2 v^2
        for name, scale in (("plain", torch.ones(2)), ("scaled", torch.tensor([10.0, 0.5]))):
            point, seen = torch.tensor([-5.0, -2.0]), []
            for _ in range(10):
                grad = torch.stack([0.2 * point[0], 4 * point[1]])
                step = 0.04 * grad if name == "plain" else 0.5 * scale * grad
                point = point - step
                seen.append(f"{(0.1 * point[0] ** 2 + 2 * point[1] ** 2).item():.4f}")
            print(name, seen[::3], point)


SECTIONS = {
    "dl_oo": section_oo, "dl_kaggle": section_kaggle, "dl_stability": section_stability,
    "dl_lrsched": section_lr_schedules, "dl_nlp": section_nlp_apps, "dl_newton": section_newton,
}
