"""Probe program (T6): entmax, opt_einsum (torch backend), skorch and pytorch-tabnet used the way
their READMEs do, seeded and small; every number goes to an .npz.

Run as ``python prog_s8_T6_libs.py OUT.npz SECTIONS`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s8_T6_third_party.py`` compares the two. An
exception in a part is recorded as ``ERR.<part>`` (the other parts still run).
"""
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = {}
ERR = {}


def put(name, value):
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy()
    OUT[name] = np.asarray(value)


def part(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        import traceback
        ERR[name] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"


def entmax_section():
    from entmax import (
        Entmax15,
        Entmax15Loss,
        EntmaxBisect,
        EntmaxBisectLoss,
        Sparsemax,
        SparsemaxBisectLoss,
        SparsemaxLoss,
        entmax15,
        entmax_bisect,
        sparsemax,
        sparsemax_bisect,
    )

    def mappings():
        torch.manual_seed(0)
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(4, 7, dtype=dtype, requires_grad=True)
            weights = torch.arange(7, dtype=dtype)
            fns = {"sparsemax": lambda z: sparsemax(z, dim=-1),
                   "entmax15": lambda z: entmax15(z, dim=-1),
                   "entmax15_k": lambda z: entmax15(z, dim=-1, k=3),
                   "sparsemax_k": lambda z: sparsemax(z, dim=-1, k=2),
                   "bisect13": lambda z: entmax_bisect(z, 1.3, dim=-1, n_iter=30),
                   "sparsemax_bisect": lambda z: sparsemax_bisect(z, n_iter=30),
                   "entmax15_dim0": lambda z: entmax15(z, dim=0)}
            for name, fn in fns.items():
                y = fn(x)
                (grad,) = torch.autograd.grad((y * weights).sum(), x)
                key = f"entmax.{name}.{str(dtype)[-7:]}"
                put(key, y)
                put(key + ".grad", grad)
        # A learned alpha (entmax_bisect's gradient with respect to alpha).
        x = torch.randn(3, 5, dtype=torch.float64)
        alpha = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        y = entmax_bisect(x, alpha, n_iter=40)
        y[:, 0].sum().backward()
        put("entmax.alpha_grad", alpha.grad)

    def losses():
        torch.manual_seed(1)
        x = torch.randn(5, 6, requires_grad=True)
        target = torch.tensor([1, 2, 0, 5, 3])
        for name, loss_fn in {"sparsemax": SparsemaxLoss(), "entmax15": Entmax15Loss(k=4),
                              "bisect": EntmaxBisectLoss(alpha=1.5, n_iter=30),
                              "sparsemax_bisect": SparsemaxBisectLoss(n_iter=30),
                              "mean": Entmax15Loss(reduction="elementwise_mean"),
                              "ignore": SparsemaxLoss(ignore_index=2, reduction="sum")}.items():
            loss = loss_fn(x, target)
            (grad,) = torch.autograd.grad(loss.sum(), x)
            put(f"entmax.loss.{name}", loss)
            put(f"entmax.loss.{name}.grad", grad)

    def attention_training():
        # Sparse attention in a tiny classifier trained with Adam (modules, not functions).
        torch.manual_seed(2)
        model = nn.Sequential(nn.Linear(6, 8), Entmax15(dim=-1), nn.Linear(8, 3),
                              EntmaxBisect(alpha=1.7, dim=-1, n_iter=25))
        head = Sparsemax(dim=1)
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
        losses_ = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.nll_loss(torch.log(model(x) + 1e-6), y)
            loss.backward()
            opt.step()
            losses_.append(loss.item())
        put("entmax.train.losses", np.array(losses_))
        put("entmax.train.head", head(model[0].weight))
        for name, p in model.named_parameters():
            put(f"entmax.train.{name}", p)

    for name, fn in dict(mappings=mappings, losses=losses, train=attention_training).items():
        part(f"entmax.{name}", fn)


def opt_einsum_section():
    import opt_einsum as oe

    def contractions():
        torch.manual_seed(3)
        a = torch.randn(3, 4, requires_grad=True)
        b = torch.randn(4, 5)
        c = torch.randn(5, 6, requires_grad=True)
        r = oe.contract("ij,jk,kl->il", a, b, c)
        put("oe.chain", r)
        # opt_einsum picks its backend from the class's module: 'torch' on both.
        put("oe.backend", np.array(oe.contract.__globals__["infer_backend"](r)))
        r.square().sum().backward()
        put("oe.chain.grad_a", a.grad)
        put("oe.chain.grad_c", c.grad)
        x = torch.randn(3, 3, 3, dtype=torch.float64)
        put("oe.trace", oe.contract("iij->j", x))
        put("oe.full", oe.contract("ijk,ijk->", x, x))
        put("oe.batch", oe.contract("bij,bjk->bik", torch.randn(2, 3, 4), torch.randn(2, 4, 2),
                                    backend="torch"))
        put("oe.outer", oe.contract("ab,cd->abcd", torch.randn(2, 2), torch.randn(2, 3)))
        put("oe.hadamard", oe.contract("i,i,i->", torch.ones(3), torch.arange(3.0),
                                       torch.arange(3.0)))
        ops = [torch.randn(4, 5), torch.randn(5, 6), torch.randn(6, 3), torch.randn(3, 4)]
        path, _ = oe.contract_path("ij,jk,kl,li->", *ops, optimize="optimal")
        put("oe.path", np.array(path))
        put("oe.ring", oe.contract("ij,jk,kl,li->", *ops, optimize="greedy"))

    def expressions():
        torch.manual_seed(4)
        b = torch.randn(4, 5)
        expr = oe.contract_expression("ij,jk,kl->il", (3, 4), b, (5, 6), constants=[1])
        a, c = torch.randn(3, 4), torch.randn(5, 6)
        put("oe.expr", expr(a, c, backend="torch"))
        put("oe.expr.again", expr(a, c))
        # NumPy operands through the torch backend come back as NumPy arrays.
        put("oe.expr.numpy", expr(a.numpy(), c.numpy(), backend="torch"))
        with oe.sharing.shared_intermediates():
            first = oe.contract("ab,bc,cd->ad", a[:, :3], torch.randn(3, 3), torch.randn(3, 2))
        put("oe.shared", first)

    def tensor_network_training():
        # A matrix-product-state-like model whose cores are nn.Parameters, contracted by
        # opt_einsum inside forward and trained with SGD.
        torch.manual_seed(5)

        class MPS(nn.Module):
            def __init__(self):
                super().__init__()
                shapes = [(2, 3), (3, 2, 3), (3, 2, 4)]
                self.cores = nn.ParameterList(
                    [nn.Parameter(torch.randn(*shape) * 0.5) for shape in shapes])

            def forward(self, x):
                g1, g2, g3 = self.cores
                return oe.contract("ni,ia,nj,ajb,nk,bkc->nc", x[:, 0], g1, x[:, 1], g2,
                                   x[:, 2], g3)

        model = MPS()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(8, 3, 2)
        y = torch.randint(0, 4, (8,))
        losses_ = []
        for _ in range(4):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses_.append(loss.item())
        put("oe.mps.losses", np.array(losses_))
        for i, core in enumerate(model.cores):
            put(f"oe.mps.core{i}", core)

    for name, fn in dict(contract=contractions, expr=expressions,
                         mps=tensor_network_training).items():
        part(f"oe.{name}", fn)


def skorch_section():
    # skorch imports torch_geometric when it is installed; under the alias that import stops
    # (torch._C._disabled_torch_function_impl, jit._overload, ...: see the report of T6), so both
    # runs take skorch's "not installed" path.
    sys.modules.setdefault("torch_geometric", None)
    from sklearn.datasets import make_classification, make_regression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from skorch import NeuralNetClassifier, NeuralNetRegressor
    from skorch.callbacks import EarlyStopping, EpochScoring, GradientNormClipping, LRScheduler

    X, y = make_classification(160, 10, n_informative=5, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.int64)

    class Classifier(nn.Module):
        def __init__(self, num_units=10, nonlin=None):
            super().__init__()
            self.dense0 = nn.Linear(10, num_units)
            self.nonlin = nn.ReLU() if nonlin is None else nonlin
            self.dropout = nn.Dropout(0.5)
            self.dense1 = nn.Linear(num_units, 10)
            self.output = nn.Linear(10, 2)

        def forward(self, X, **kwargs):
            X = self.dropout(self.nonlin(self.dense0(X)))
            return F.softmax(self.output(self.nonlin(self.dense1(X))), dim=-1)

    def classifier():
        torch.manual_seed(0)
        net = NeuralNetClassifier(
            Classifier, max_epochs=4, lr=0.1, iterator_train__shuffle=True, verbose=0,
            callbacks=[EpochScoring("accuracy", lower_is_better=False),
                       GradientNormClipping(1.0),
                       LRScheduler(policy="StepLR", step_size=2, gamma=0.5)])
        net.fit(X, y)
        for key in ("train_loss", "valid_loss", "accuracy"):
            put(f"skorch.clf.{key}", np.array(net.history[:, key]))
        put("skorch.clf.lr", np.array([g["lr"] for g in net.optimizer_.param_groups]))
        put("skorch.clf.proba", net.predict_proba(X[:5]))
        put("skorch.clf.pred", net.predict(X[:20]))
        put("skorch.clf.forward", net.forward(X[:4]))
        put("skorch.clf.score", np.array(net.score(X, y)))

    def grid_search():
        pipe = Pipeline([("scale", StandardScaler()),
                         ("net", NeuralNetClassifier(Classifier, max_epochs=3, lr=0.1,
                                                     verbose=0, train_split=False))])
        torch.manual_seed(1)
        search = GridSearchCV(pipe, {"net__lr": [0.05, 0.2], "net__module__num_units": [8, 12]},
                              cv=2, scoring="accuracy", refit=True)
        search.fit(X, y)
        put("skorch.gs.best_score", np.array(search.best_score_))
        put("skorch.gs.scores", np.array(search.cv_results_["mean_test_score"]))
        put("skorch.gs.best_lr", np.array(search.best_params_["net__lr"]))
        put("skorch.gs.pred", search.predict(X[:20]))

    def regressor():
        Xr, yr = make_regression(96, 5, random_state=0)
        Xr, yr = Xr.astype(np.float32), (yr / 100).astype(np.float32).reshape(-1, 1)
        torch.manual_seed(2)
        reg = NeuralNetRegressor(
            nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1)), max_epochs=12,
            lr=0.05, optimizer=torch.optim.Adam, optimizer__weight_decay=1e-3, batch_size=32,
            verbose=0, callbacks=[EarlyStopping(patience=3)])
        reg.fit(Xr, yr)
        put("skorch.reg.epochs", np.array(len(reg.history)))
        put("skorch.reg.train_loss", np.array(reg.history[:, "train_loss"]))
        put("skorch.reg.pred", reg.predict(Xr[:6]))
        # set_params re-initializes; partial_fit continues from where fit stopped.
        reg.partial_fit(Xr, yr)
        put("skorch.reg.partial", reg.predict(Xr[:6]))

    for name, fn in dict(clf=classifier, gs=grid_search, reg=regressor).items():
        part(f"skorch.{name}", fn)


def tabnet_section():
    from pytorch_tabnet.tab_model import TabNetClassifier, TabNetRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(192, 6).astype(np.float32)
    X[:, 0] = rng.randint(0, 3, 192)
    y = (X[:, 1] + X[:, 2] * X[:, 0] > 0).astype(np.int64)

    def classifier():
        clf = TabNetClassifier(n_d=4, n_a=4, n_steps=2, cat_idxs=[0], cat_dims=[3],
                               cat_emb_dim=2, seed=0, verbose=0, optimizer_params=dict(lr=2e-2))
        clf.fit(X[:128], y[:128], eval_set=[(X[128:], y[128:])], max_epochs=3, batch_size=64,
                virtual_batch_size=32, patience=0)
        put("tabnet.clf.loss", np.array(clf.history["loss"]))
        put("tabnet.clf.auc", np.array(clf.history["val_0_auc"]))
        put("tabnet.clf.proba", clf.predict_proba(X[:6]))
        put("tabnet.clf.pred", clf.predict(X[:20]))
        put("tabnet.clf.importances", clf.feature_importances_)
        explain, masks = clf.explain(X[:4])
        put("tabnet.clf.explain", explain)
        put("tabnet.clf.mask0", masks[0])

    def regressor():
        clf = TabNetRegressor(n_d=4, n_a=4, n_steps=2, seed=1, verbose=0, mask_type="entmax",
                              optimizer_params=dict(lr=2e-2))
        target = (X[:, 1:2] - X[:, 3:4]).astype(np.float32)
        clf.fit(X[:128], target[:128], max_epochs=2, batch_size=64, virtual_batch_size=32,
                patience=0)
        put("tabnet.reg.loss", np.array(clf.history["loss"]))
        put("tabnet.reg.pred", clf.predict(X[:6]))

    for name, fn in dict(clf=classifier, reg=regressor).items():
        part(f"tabnet.{name}", fn)


SECTIONS = dict(entmax=entmax_section, oe=opt_einsum_section, skorch=skorch_section,
                tabnet=tabnet_section)

if __name__ == "__main__":
    out_path, names = sys.argv[1], sys.argv[2].split(",")
    for section in names:
        part(section, SECTIONS[section])
    for k, v in ERR.items():
        OUT["ERR." + k] = np.array(v)
    np.savez(out_path, **OUT)
