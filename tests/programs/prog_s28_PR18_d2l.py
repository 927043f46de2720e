"""Dive into Deep Learning chapters not covered before (PR18, session 28), written afresh in the
book's style: the second edition's object-oriented scaffolding (HyperParameters with
save_hyperparameters through inspect, add_to_class, a Module / DataModule / Trainer trio
around LinearRegressionScratch and nn.LazyLinear), the Kaggle house-prices chapter (pandas
preprocessing with get_dummies(dummy_na=True), log_rmse, k-fold cross-validation), numerical
stability and distribution shift (vanishing sigmoid gradients, exploding matrix products,
covariate-shift reweighting by a logistic-regression classifier), the learning-rate
scheduling chapter (square-root, factor, multi-factor and cosine-with-warmup schedulers set
into param_groups by hand and via lr_scheduler), NLP applications (TextCNN over a frozen
constant embedding, decomposable attention for natural language inference), and the
optimization chapter's Newton's method with a second derivative from autograd. Tiny sizes,
seeded; run by prog_s28_PR18_all.py.
"""
# ruff: noqa: B006, B007, B020, UP034 - the code as the book writes it (its save_hyperparameters
# default, `for self.epoch in range(...)`, its parentheses and loop variables)

import inspect
import math

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn


def add_to_class(Class):
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)

    return wrapper


class HyperParameters:
    def save_hyperparameters(self, ignore=[]):
        frame = inspect.currentframe().f_back
        _, _, _, local_vars = inspect.getargvalues(frame)
        self.hparams = {k: v for k, v in local_vars.items()
                        if k not in set(ignore + ["self"]) and not k.startswith("_")}
        for k, v in self.hparams.items():
            setattr(self, k, v)


class Module(nn.Module, HyperParameters):
    def __init__(self):
        super().__init__()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        assert hasattr(self, "net"), "Neural network is defined"
        return self.net(X)

    def training_step(self, batch):
        loss = self.loss(self(*batch[:-1]), batch[-1])
        return loss

    def validation_step(self, batch):
        return self.loss(self(*batch[:-1]), batch[-1])

    def configure_optimizers(self):
        raise NotImplementedError


class DataModule(HyperParameters):
    def __init__(self, root="../data", num_workers=0):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)

    def get_tensorloader(self, tensors, train, indices=slice(0, None)):
        tensors = tuple(a[indices] for a in tensors)
        dataset = torch.utils.data.TensorDataset(*tensors)
        return torch.utils.data.DataLoader(dataset, self.batch_size, shuffle=train)


class Trainer(HyperParameters):
    def __init__(self, max_epochs, gradient_clip_val=0):
        self.save_hyperparameters()

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0

    def prepare_model(self, model):
        model.trainer = self
        self.model = model

    def fit(self, model, data):
        self.prepare_data(data)
        self.prepare_model(model)
        self.optim = model.configure_optimizers()
        self.epoch = 0
        self.train_batch_idx = 0
        self.val_batch_idx = 0
        for self.epoch in range(self.max_epochs):
            self.fit_epoch()

    def prepare_batch(self, batch):
        return batch

    def fit_epoch(self):
        self.model.train()
        losses = []
        for batch in self.train_dataloader:
            loss = self.model.training_step(self.prepare_batch(batch))
            self.optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if self.gradient_clip_val > 0:
                    self.clip_gradients(self.gradient_clip_val, self.model)
                self.optim.step()
            self.train_batch_idx += 1
            losses.append(loss.item())
        if self.val_dataloader is None:
            return
        self.model.eval()
        val = []
        for batch in self.val_dataloader:
            with torch.no_grad():
                val.append(self.model.validation_step(self.prepare_batch(batch)).item())
            self.val_batch_idx += 1
        print(f"epoch {self.epoch}: train_loss {sum(losses) / len(losses):.5f} "
              f"val_loss {sum(val) / len(val):.5f}")

    def clip_gradients(self, grad_clip_val, model):
        params = [p for p in model.parameters() if p.requires_grad]
        norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
        if norm > grad_clip_val:
            for param in params:
                param.grad[:] *= grad_clip_val / norm


class SyntheticRegressionData(DataModule):
    def __init__(self, w, b, noise=0.01, num_train=64, num_val=64, batch_size=16):
        super().__init__()
        self.save_hyperparameters()
        n = num_train + num_val
        self.X = torch.randn(n, len(w))
        noise = torch.randn(n, 1) * noise
        self.y = torch.matmul(self.X, w.reshape((-1, 1))) + b + noise

    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)


class LinearRegressionScratch(Module):
    def __init__(self, num_inputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
        self.b = torch.zeros(1, requires_grad=True)


@add_to_class(LinearRegressionScratch)
def forward(self, X):
    return torch.matmul(X, self.w) + self.b


@add_to_class(LinearRegressionScratch)
def loss(self, y_hat, y):
    l = (y_hat - y) ** 2 / 2
    return l.mean()


class SGD(HyperParameters):
    def __init__(self, params, lr):
        self.save_hyperparameters()

    def step(self):
        for param in self.params:
            param -= self.lr * param.grad

    def zero_grad(self):
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


@add_to_class(LinearRegressionScratch)
def configure_optimizers(self):
    return SGD([self.w, self.b], self.lr)


class LinearRegression(Module):
    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.LazyLinear(1)
        self.net.weight.data.normal_(0, 0.01)
        self.net.bias.data.fill_(0)


@add_to_class(LinearRegression)
def forward(self, X):  # noqa: F811 - the book's add_to_class idiom
    return self.net(X)


@add_to_class(LinearRegression)
def loss(self, y_hat, y):  # noqa: F811
    fn = nn.MSELoss()
    return fn(y_hat, y)


@add_to_class(LinearRegression)
def configure_optimizers(self):  # noqa: F811
    return torch.optim.SGD(self.parameters(), self.lr)


@add_to_class(LinearRegression)
def get_w_b(self):
    return (self.net.weight.data, self.net.bias.data)


def section_oo() -> None:
    torch.manual_seed(310)
    with printed("dl_oo.log"):
        class B(HyperParameters):
            def __init__(self, a, b, c):
                self.save_hyperparameters(ignore=["c"])
                print("self.a =", self.a, "self.b =", self.b)
                print("There is no self.c =", not hasattr(self, "c"))

        B(a=1, b=2, c=3)
        data = SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
        print("features:", data.X[0], "\nlabel:", data.y[0])
        X, y = next(iter(data.train_dataloader()))
        print("X shape:", X.shape, "\ny shape:", y.shape)
        print(len(data.train_dataloader()), data.hparams)
        model = LinearRegressionScratch(2, lr=0.03)
        trainer = Trainer(max_epochs=3)
        trainer.fit(model, data)
        with torch.no_grad():
            print(f"error in estimating w: {data.w - model.w.reshape(data.w.shape)}")
            print(f"error in estimating b: {data.b - model.b}")
        model = LinearRegression(lr=0.03)
        print(model.net)
        trainer = Trainer(max_epochs=3, gradient_clip_val=1.0)
        trainer.fit(model, data)
        w, b = model.get_w_b()
        print(model.net, w.shape)
        print(f"error in estimating w: {data.w - w.reshape(data.w.shape)}")
        print(f"error in estimating b: {data.b - b}")
        put("dl_oo.w", w)


def section_kaggle() -> None:
    import pandas as pd

    gen = torch.Generator().manual_seed(311)
    n = 48
    area = (torch.rand(n, generator=gen) * 2000 + 600).round()
    rooms = torch.randint(1, 6, (n,), generator=gen)
    zone = ["RL", "RM", "FV", None]
    zones = [zone[i] for i in torch.randint(0, 4, (n,), generator=gen).tolist()]
    year = torch.randint(1950, 2010, (n,), generator=gen)
    price = (50000 + 90 * area + 8000 * rooms.float() + 300 * (year.float() - 1950)
             + torch.randn(n, generator=gen) * 8000)
    frame = pd.DataFrame({"Id": range(1, n + 1), "LotArea": area.numpy(),
                          "Rooms": rooms.numpy(), "MSZoning": zones,
                          "YearBuilt": year.numpy().astype(float),
                          "SalePrice": price.numpy()})
    frame.loc[[3, 7, 11], "YearBuilt"] = float("nan")
    raw_train, raw_val = frame.iloc[:36], frame.iloc[36:].drop(columns=["SalePrice"])
    with printed("dl_kaggle.log"):
        features = pd.concat((raw_train.drop(columns=["Id", "SalePrice"]),
                              raw_val.drop(columns=["Id"])))
        # (the book's `features.dtypes != "object"`: pandas 3 gives strings their own dtype)
        numeric_features = features.select_dtypes(include="number").columns
        features[numeric_features] = features[numeric_features].apply(
            lambda x: (x - x.mean()) / (x.std()))
        features[numeric_features] = features[numeric_features].fillna(0)
        features = pd.get_dummies(features, dummy_na=True)
        print(features.shape, list(features.columns))
        n_train = raw_train.shape[0]
        train_features = torch.tensor(features[:n_train].values.astype(float),
                                      dtype=torch.float32)
        test_features = torch.tensor(features[n_train:].values.astype(float),
                                     dtype=torch.float32)
        train_labels = torch.tensor(raw_train.SalePrice.values.reshape(-1, 1),
                                    dtype=torch.float32)
        print(train_features.shape, test_features.shape, train_labels.dtype)
        loss = nn.MSELoss()
        in_features = train_features.shape[1]

        def get_net():
            return nn.Sequential(nn.Linear(in_features, 1))

        def log_rmse(net, features, labels):
            clipped_preds = torch.clamp(net(features), 1, float("inf"))
            rmse = torch.sqrt(loss(torch.log(clipped_preds), torch.log(labels)))
            return rmse.item()

        def train(net, train_features, train_labels, test_features, test_labels, num_epochs,
                  learning_rate, weight_decay, batch_size):
            train_ls, test_ls = [], []
            train_iter = torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(train_features, train_labels), batch_size,
                shuffle=True)
            optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate,
                                         weight_decay=weight_decay)
            for epoch in range(num_epochs):
                for X, y in train_iter:
                    optimizer.zero_grad()
                    l = loss(net(X), y)
                    l.backward()
                    optimizer.step()
                train_ls.append(log_rmse(net, train_features, train_labels))
                if test_labels is not None:
                    test_ls.append(log_rmse(net, test_features, test_labels))
            return train_ls, test_ls

        def get_k_fold_data(k, i, X, y):
            assert k > 1
            fold_size = X.shape[0] // k
            X_train, y_train = None, None
            for j in range(k):
                idx = slice(j * fold_size, (j + 1) * fold_size)
                X_part, y_part = X[idx, :], y[idx]
                if j == i:
                    X_valid, y_valid = X_part, y_part
                elif X_train is None:
                    X_train, y_train = X_part, y_part
                else:
                    X_train = torch.cat([X_train, X_part], 0)
                    y_train = torch.cat([y_train, y_part], 0)
            return X_train, y_train, X_valid, y_valid

        def k_fold(k, X_train, y_train, num_epochs, learning_rate, weight_decay, batch_size):
            train_l_sum, valid_l_sum = 0, 0
            for i in range(k):
                data = get_k_fold_data(k, i, X_train, y_train)
                net = get_net()
                train_ls, valid_ls = train(net, *data, num_epochs, learning_rate,
                                           weight_decay, batch_size)
                train_l_sum += train_ls[-1]
                valid_l_sum += valid_ls[-1]
                print(f"fold {i + 1}, train log rmse {float(train_ls[-1]):f}, "
                      f"valid log rmse {float(valid_ls[-1]):f}")
            return train_l_sum / k, valid_l_sum / k

        torch.manual_seed(312)
        k, num_epochs, lr, weight_decay, batch_size = 4, 10, 80, 0, 12
        train_l, valid_l = k_fold(k, train_features, train_labels, num_epochs, lr,
                                  weight_decay, batch_size)
        print(f"{k}-fold validation: avg train log rmse: {float(train_l):f}, "
              f"avg valid log rmse: {float(valid_l):f}")
        net = get_net()
        train_ls, _ = train(net, train_features, train_labels, None, None, num_epochs, lr,
                            weight_decay, batch_size)
        print(f"train log rmse {float(train_ls[-1]):f}")
        preds = net(test_features).detach().numpy()
        raw_val = raw_val.copy()
        raw_val["SalePrice"] = pd.Series(preds.reshape(1, -1)[0], index=raw_val.index)
        submission = pd.concat([raw_val["Id"], raw_val["SalePrice"]], axis=1)
        print(submission.round(0).astype({"SalePrice": "int64"}).head(4).to_string())
        put("dl_kaggle.preds", torch.from_numpy(preds))


def section_stability() -> None:
    with printed("dl_stability.log"):
        x = torch.arange(-8.0, 8.0, 2.0, requires_grad=True)
        y = torch.sigmoid(x)
        y.backward(torch.ones_like(x))
        print("sigmoid grad", x.grad)
        torch.manual_seed(313)
        M = torch.normal(0, 1, size=(4, 4))
        print("a single matrix \n", M)
        for _ in range(100):
            M = M @ torch.normal(0, 1, size=(4, 4))
        print("after multiplying 100 matrices\n", M.abs().max().log10().round(decimals=0))
        # d2l's covariate shift correction: a classifier between training and test inputs
        torch.manual_seed(314)
        x_train = torch.randn(200, 1) * 1.0 + 0.0
        x_test = torch.randn(200, 1) * 0.6 + 1.0

        def f(x):
            return torch.sin(2 * x) + 0.5 * x

        y_train = f(x_train) + 0.1 * torch.randn(200, 1)
        y_test = f(x_test) + 0.1 * torch.randn(200, 1)
        z = torch.cat([x_train, x_test])
        labels = torch.cat([-torch.ones(200), torch.ones(200)])
        clf = nn.Linear(3, 1)
        opt = torch.optim.LBFGS(clf.parameters(), lr=0.5, max_iter=100)
        feats = torch.cat([z, z ** 2, torch.ones_like(z)], 1)

        def closure():
            opt.zero_grad()
            loss = F.soft_margin_loss(clf(feats).squeeze(1), labels)
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            h = clf(torch.cat([x_train, x_train ** 2, torch.ones_like(x_train)], 1))
            beta = torch.exp(h).squeeze(1)
        print(f"weights: mean {beta.mean():.3f} max {beta.max():.3f}")
        basis = torch.cat([torch.ones_like(x_train), x_train, x_train ** 2, x_train ** 3], 1)
        basis_test = torch.cat([torch.ones_like(x_test), x_test, x_test ** 2, x_test ** 3], 1)
        for name, weight in (("plain", torch.ones(200)), ("reweighted", beta)):
            W = weight.sqrt()[:, None]
            coef = torch.linalg.lstsq((basis * W).double(), (y_train * W).double()).solution
            err = F.mse_loss(basis_test.double() @ coef, y_test.double())
            print(f"{name:10s} test mse {err.item():.4f}")
        put("dl_stability.beta", beta)


class SquareRootScheduler:
    def __init__(self, lr=0.1):
        self.lr = lr

    def __call__(self, num_update):
        return self.lr * pow(num_update + 1.0, -0.5)


class FactorScheduler:
    def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.base_lr = base_lr

    def __call__(self, num_update):
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


class CosineScheduler:
    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0,
                 warmup_begin_lr=0):
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.warmup_steps = warmup_steps
        self.warmup_begin_lr = warmup_begin_lr
        self.max_steps = self.max_update - self.warmup_steps

    def get_warmup_lr(self, epoch):
        increase = ((self.base_lr_orig - self.warmup_begin_lr) * float(epoch)
                    / float(self.warmup_steps))
        return self.warmup_begin_lr + increase

    def __call__(self, epoch):
        if epoch < self.warmup_steps:
            return self.get_warmup_lr(epoch)
        if epoch <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * (
                1 + math.cos(math.pi * (epoch - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr


def section_lr_schedules() -> None:
    torch.manual_seed(315)
    X = torch.randn(64, 1, 8, 8)
    y = (X.mean((1, 2, 3)) > 0).long()

    def net_fn():
        model = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.ReLU(), nn.Linear(8, 2))
        return model

    def train(net, num_epochs, lr, scheduler=None):
        loss = nn.CrossEntropyLoss()
        trainer = torch.optim.SGD(net.parameters(), lr=lr)
        for epoch in range(num_epochs):
            for start in range(0, 64, 16):
                trainer.zero_grad()
                l = loss(net(X[start:start + 16]), y[start:start + 16])
                l.backward()
                trainer.step()
            if scheduler:
                if scheduler.__module__ == torch.optim.lr_scheduler.__name__:
                    scheduler.step()
                else:
                    for param_group in trainer.param_groups:
                        param_group["lr"] = scheduler(epoch)
            with torch.no_grad():
                acc = (net(X).argmax(1) == y).float().mean()
            print(f"  epoch {epoch} loss {l.item():.4f} train acc {acc:.3f} "
                  f"lr {trainer.param_groups[0]['lr']:.5f}")

    with printed("dl_lrsched.log"):
        scheduler = SquareRootScheduler(lr=0.1)
        print("sqrt", [round(scheduler(t), 5) for t in range(0, 20, 4)])
        scheduler = FactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)
        print("factor", [round(scheduler(t), 5) for t in range(0, 50, 10)])
        scheduler = CosineScheduler(max_update=20, base_lr=0.3, final_lr=0.01)
        print("cosine", [round(scheduler(t), 5) for t in range(0, 25, 4)])
        scheduler = CosineScheduler(20, warmup_steps=5, base_lr=0.3, final_lr=0.01)
        print("warmup", [round(scheduler(t), 5) for t in range(0, 25, 3)])
        for name, sched_fn in (
                ("square root", lambda tr: SquareRootScheduler(lr=0.1)),
                ("multistep", lambda tr: torch.optim.lr_scheduler.MultiStepLR(
                    tr, milestones=[2, 4], gamma=0.5)),
                ("cosine warmup", lambda tr: CosineScheduler(6, warmup_steps=2, base_lr=0.3,
                                                             final_lr=0.01))):
            print(name)
            torch.manual_seed(316)
            net = net_fn()
            if name == "multistep":
                trainer = torch.optim.SGD(net.parameters(), lr=0.5)
                scheduler = sched_fn(trainer)
                for epoch in range(6):
                    for start in range(0, 64, 16):
                        trainer.zero_grad()
                        l = F.cross_entropy(net(X[start:start + 16]), y[start:start + 16])
                        l.backward()
                        trainer.step()
                    scheduler.step()
                    print(f"  epoch {epoch} loss {l.item():.4f} lr {scheduler.get_last_lr()}")
            else:
                train(net, 6, 0.3, sched_fn(None))
            put(f"dl_lrsched.{name.replace(' ', '_')}", net[-1].weight)


class TokenEmbedding:
    """A stand-in for d2l's GloVe TokenEmbedding: fixed vectors by hashing characters."""

    def __init__(self, tokens, dim):
        self.idx_to_token = ["<unk>"] + tokens
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}
        g = torch.Generator().manual_seed(317)
        self.idx_to_vec = torch.randn(len(self.idx_to_token), dim, generator=g)

    def __getitem__(self, tokens):
        indices = [self.token_to_idx.get(token, 0) for token in tokens]
        return self.idx_to_vec[torch.tensor(indices)]


class TextCNN(nn.Module):
    def __init__(self, vocab_size, embed_size, kernel_sizes, num_channels, **kwargs):
        super().__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.constant_embedding = nn.Embedding(vocab_size, embed_size)
        self.dropout = nn.Dropout(0.5)
        self.decoder = nn.Linear(sum(num_channels), 2)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.relu = nn.ReLU()
        self.convs = nn.ModuleList()
        for c, k in zip(num_channels, kernel_sizes):
            self.convs.append(nn.Conv1d(2 * embed_size, c, k))

    def forward(self, inputs):
        embeddings = torch.cat((self.embedding(inputs), self.constant_embedding(inputs)), dim=2)
        embeddings = embeddings.permute(0, 2, 1)
        encoding = torch.cat([torch.squeeze(self.relu(self.pool(conv(embeddings))), dim=-1)
                              for conv in self.convs], dim=1)
        outputs = self.decoder(self.dropout(encoding))
        return outputs


def mlp(num_inputs, num_hiddens, flatten):
    net = []
    net.append(nn.Dropout(0.2))
    net.append(nn.Linear(num_inputs, num_hiddens))
    net.append(nn.ReLU())
    if flatten:
        net.append(nn.Flatten(start_dim=1))
    net.append(nn.Dropout(0.2))
    net.append(nn.Linear(num_hiddens, num_hiddens))
    net.append(nn.ReLU())
    if flatten:
        net.append(nn.Flatten(start_dim=1))
    return nn.Sequential(*net)


class Attend(nn.Module):
    def __init__(self, num_inputs, num_hiddens, **kwargs):
        super().__init__(**kwargs)
        self.f = mlp(num_inputs, num_hiddens, flatten=False)

    def forward(self, A, B):
        f_A = self.f(A)
        f_B = self.f(B)
        e = torch.bmm(f_A, f_B.permute(0, 2, 1))
        beta = torch.bmm(F.softmax(e, dim=-1), B)
        alpha = torch.bmm(F.softmax(e.permute(0, 2, 1), dim=-1), A)
        return beta, alpha


class Compare(nn.Module):
    def __init__(self, num_inputs, num_hiddens, **kwargs):
        super().__init__(**kwargs)
        self.g = mlp(num_inputs, num_hiddens, flatten=False)

    def forward(self, A, B, beta, alpha):
        V_A = self.g(torch.cat([A, beta], dim=2))
        V_B = self.g(torch.cat([B, alpha], dim=2))
        return V_A, V_B


class Aggregate(nn.Module):
    def __init__(self, num_inputs, num_hiddens, num_outputs, **kwargs):
        super().__init__(**kwargs)
        self.h = mlp(num_inputs, num_hiddens, flatten=True)
        self.linear = nn.Linear(num_hiddens, num_outputs)

    def forward(self, V_A, V_B):
        V_A = V_A.sum(dim=1)
        V_B = V_B.sum(dim=1)
        Y_hat = self.linear(self.h(torch.cat([V_A, V_B], dim=1)))
        return Y_hat


class DecomposableAttention(nn.Module):
    def __init__(self, vocab, embed_size, num_hiddens, num_inputs_attend=8,
                 num_inputs_compare=16, num_inputs_agg=32, **kwargs):
        super().__init__(**kwargs)
        self.embedding = nn.Embedding(len(vocab), embed_size)
        self.attend = Attend(num_inputs_attend, num_hiddens)
        self.compare = Compare(num_inputs_compare, num_hiddens)
        self.aggregate = Aggregate(num_inputs_agg, num_hiddens, num_outputs=3)

    def forward(self, X):
        premises, hypotheses = X
        A = self.embedding(premises)
        B = self.embedding(hypotheses)
        beta, alpha = self.attend(A, B)
        V_A, V_B = self.compare(A, B, beta, alpha)
        Y_hat = self.aggregate(V_A, V_B)
        return Y_hat


def section_nlp_apps() -> None:
    vocab = ["<pad>", "good", "great", "bad", "awful", "movie", "plot", "the", "was", "fun",
             "boring", "a", "man", "dog", "runs", "sleeps"]
    torch.manual_seed(318)
    reviews = torch.randint(1, len(vocab), (16, 7))
    labels = ((reviews == 1) | (reviews == 2) | (reviews == 9)).sum(1).gt(
        ((reviews == 3) | (reviews == 4) | (reviews == 10)).sum(1)).long()
    with printed("dl_nlp.log"):
        embed_size, kernel_sizes, nums_channels = 6, [2, 3, 4], [4, 4, 4]
        net = TextCNN(len(vocab), embed_size, kernel_sizes, nums_channels)

        def init_weights(module):
            if type(module) in (nn.Linear, nn.Conv1d):
                nn.init.xavier_uniform_(module.weight)

        net.apply(init_weights)
        glove_embedding = TokenEmbedding(vocab[1:], embed_size)
        embeds = glove_embedding[vocab]
        print(embeds.shape, embeds[0].abs().sum() > 0)
        net.embedding.weight.data.copy_(embeds)
        net.constant_embedding.weight.data.copy_(embeds)
        net.constant_embedding.weight.requires_grad = False
        lr, num_epochs = 0.01, 5
        trainer = torch.optim.Adam(net.parameters(), lr=lr)
        loss = nn.CrossEntropyLoss(reduction="none")
        for epoch in range(num_epochs):
            net.train()
            for start in range(0, 16, 8):
                trainer.zero_grad()
                l = loss(net(reviews[start:start + 8]), labels[start:start + 8])
                l.sum().backward()
                trainer.step()
            net.eval()
            with torch.no_grad():
                acc = (net(reviews).argmax(1) == labels).float().mean()
            print(f"epoch {epoch} loss {l.mean().item():.3f} train acc {acc:.3f}")
        print("constant unchanged", torch.equal(net.constant_embedding.weight, embeds),
              net.constant_embedding.weight.grad is None)

        def predict_sentiment(net, sequence):
            sequence = torch.tensor([vocab.index(t) for t in sequence.split()])
            label = torch.argmax(net(sequence.reshape(1, -1)), dim=1)
            return "positive" if label == 1 else "negative"

        print(predict_sentiment(net, "the movie was great fun"),
              predict_sentiment(net, "the plot was awful boring bad"))
        # decomposable attention on tiny premise / hypothesis pairs
        torch.manual_seed(319)
        premises = torch.randint(1, len(vocab), (12, 5))
        hypotheses = torch.randint(1, len(vocab), (12, 4))
        nli_labels = torch.randint(0, 3, (12,))
        net = DecomposableAttention(vocab, 8, 16, num_inputs_attend=8, num_inputs_compare=16,
                                    num_inputs_agg=32)
        print(net.aggregate)
        trainer = torch.optim.Adam(net.parameters(), lr=0.005)
        for epoch in range(4):
            net.train()
            trainer.zero_grad()
            l = F.cross_entropy(net([premises, hypotheses]), nli_labels)
            l.backward()
            trainer.step()
            print(f"nli epoch {epoch} loss {l.item():.4f}")
        net.eval()
        beta, alpha = net.attend(net.embedding(premises[:1]), net.embedding(hypotheses[:1]))
        print(beta.shape, alpha.shape, net([premises[:2], hypotheses[:2]]).argmax(1))
        put("dl_nlp.nli", net.aggregate.linear.weight)


def section_newton() -> None:
    with printed("dl_newton.log"):
        c = torch.tensor(0.5)

        def f(x):
            return torch.cosh(c * x)

        def f_grad(x):
            return c * torch.sinh(c * x)

        def f_hess(x):
            return c ** 2 * torch.cosh(c * x)

        def newton(eta=1, f_grad=f_grad, f_hess=f_hess):
            x = 10.0
            results = [x]
            for _ in range(10):
                x -= eta * f_grad(torch.tensor(x)).item() / f_hess(torch.tensor(x)).item()
                results.append(float(x))
            print("epoch 10, x:", x)
            return results

        print([round(v, 6) for v in newton()])
        c = torch.tensor(0.15 * math.pi)

        def g(x):
            return x * torch.cos(c * x)

        def g_grad_hess(x):
            x = torch.tensor(x, requires_grad=True)
            (gr,) = torch.autograd.grad(g(x), x, create_graph=True)
            (he,) = torch.autograd.grad(gr, x)
            return gr, he

        print("autograd", [f"{v.item():.6f}" for v in g_grad_hess(10.0)],
              f"{(torch.cos(c * 10) - c * 10 * torch.sin(c * 10)).item():.6f}")
        for eta in (1.0, 0.5):
            x = 10.0
            for _ in range(10):
                gr, he = g_grad_hess(x)
                x -= eta * gr.item() / he.item()
            print(f"eta {eta}: x {x:.6f} g {g(torch.tensor(x)).item():.6f}")
        # gradient descent vs preconditioned on a badly scaled quadratic
        for name, precond in (("gd", torch.ones(2)), ("diag", torch.tensor([1 / 0.1, 1 / 2.0]))):
            x = torch.tensor([-5.0, -2.0])
            trace = []
            for _ in range(10):
                grad = torch.tensor([0.2 * x[0], 4 * x[1]])
                x = x - 0.4 * precond * grad / precond.max() if name == "gd" else (
                    x - 0.5 * precond * grad)
                trace.append(f"{(0.1 * x[0] ** 2 + 2 * x[1] ** 2).item():.4f}")
            print(name, trace[::3], x)


SECTIONS = {
    "dl_oo": section_oo, "dl_kaggle": section_kaggle, "dl_stability": section_stability,
    "dl_lrsched": section_lr_schedules, "dl_nlp": section_nlp_apps, "dl_newton": section_newton,
}
