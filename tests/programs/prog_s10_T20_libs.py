"""Probe program (T20): opacus, geoopt, pytorch-minimize (torchmin), deepxde and pykan on torch
tensors, used the way their READMEs and tutorials do, seeded and small. Every number goes to an
.npz.

Run as ``python prog_s10_T20_libs.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s10_T20_libs.py`` compares the two. PARTS is a
comma-separated subset of the part names (all by default). An exception in a part is recorded
as ``ERR.<part>`` (the other parts still run).
"""
import atexit
import os
import shutil
import tempfile

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness

# -------------------------------------------------------------------------------------- geoopt

@part("geoopt", "geoopt")
def geoopt_part():
    import geoopt

    sphere = geoopt.Sphere()
    x = sphere.projx(torch.randn(5, 3, dtype=torch.float64))
    u = sphere.proju(x, torch.randn(5, 3, dtype=torch.float64))
    put("geoopt.sphere.x", x)
    put("geoopt.sphere.expmap", sphere.expmap(x, u))
    put("geoopt.sphere.retr", sphere.retr(x, u))
    put("geoopt.sphere.dist", sphere.dist(x, sphere.expmap(x, 0.3 * u)))
    put("geoopt.sphere.transp", sphere.transp(x, sphere.expmap(x, u), u))

    stiefel = geoopt.Stiefel()
    q = stiefel.random(6, 3, dtype=torch.float64)
    put("geoopt.stiefel.qtq", q.T @ q)
    v = stiefel.proju(q, torch.randn(6, 3, dtype=torch.float64))
    put("geoopt.stiefel.proju", v)
    put("geoopt.stiefel.retr", stiefel.retr(q, v))
    canon = geoopt.CanonicalStiefel()
    put("geoopt.canonical.retr", canon.retr(q, v))
    put("geoopt.canonical.inner", canon.inner(q, v, v))

    ball = geoopt.PoincareBall(c=1.0)
    a = ball.expmap0(0.3 * torch.randn(4, 2))
    b = ball.expmap0(0.3 * torch.randn(4, 2))
    put("geoopt.ball.a", a)
    put("geoopt.ball.mobius_add", ball.mobius_add(a, b))
    put("geoopt.ball.dist", ball.dist(a, b))
    put("geoopt.ball.logmap0", ball.logmap0(a))
    put("geoopt.ball.mobius_matvec", ball.mobius_matvec(torch.randn(3, 2), a))
    put("geoopt.ball.dist0", ball.dist0(a))
    learnable = geoopt.PoincareBall(c=0.5, learnable=True)
    d = learnable.dist(a.detach().requires_grad_(), b).sum()
    d.backward()
    put("geoopt.ball.c_grad", learnable.isp_c.grad)
    lorentz = geoopt.Lorentz()
    origin = lorentz.origin(3, dtype=torch.float64)
    p = lorentz.expmap0(lorentz.proju(origin, torch.randn(3, 3, dtype=torch.float64)))
    put("geoopt.lorentz.p", p)
    put("geoopt.lorentz.inner", lorentz.inner(p, p))

    # RiemannianAdam on a sphere: the leading eigenvector of a symmetric matrix.
    torch.manual_seed(1)
    a_mat = torch.randn(6, 6, dtype=torch.float64)
    a_mat = a_mat + a_mat.T
    point = geoopt.ManifoldParameter(sphere.random(6, dtype=torch.float64), manifold=sphere)
    put("geoopt.adam.start", point)
    optimizer = geoopt.optim.RiemannianAdam([point], lr=0.05, stabilize=5)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = -(point @ a_mat @ point)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("geoopt.adam.losses", losses)
    put("geoopt.adam.point", point)
    put("geoopt.adam.exp_avg", optimizer.state[point]["exp_avg"])
    put("geoopt.adam.norm", point.norm())

    # RiemannianSGD with momentum on the Stiefel manifold (a Procrustes fit).
    torch.manual_seed(2)
    target = torch.randn(5, 2)
    stiefel2 = geoopt.Stiefel()
    w = geoopt.ManifoldParameter(stiefel2.random(5, 2), manifold=stiefel2)
    sgd = geoopt.optim.RiemannianSGD([w], lr=0.1, momentum=0.9, nesterov=True)
    sgd_losses = []
    for _ in range(25):
        sgd.zero_grad()
        loss = ((w - target) ** 2).sum()
        loss.backward()
        sgd.step()
        sgd_losses.append(loss.item())
    put("geoopt.sgd.losses", sgd_losses)
    put("geoopt.sgd.w", w)
    put("geoopt.sgd.wtw", w.T @ w)

    # Hyperbolic embedding layer on the ball, trained with RiemannianAdam (the README's idea).
    torch.manual_seed(3)
    ball2 = geoopt.PoincareBall()
    emb = geoopt.ManifoldParameter(ball2.random_normal(8, 2, std=0.1), manifold=ball2)
    linear = torch.nn.Linear(2, 2)
    opt = geoopt.optim.RiemannianAdam([emb, *linear.parameters()], lr=0.01)
    pairs = torch.tensor([[0, 1], [2, 3], [4, 5], [6, 7]])
    emb_losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = ball2.dist(emb[pairs[:, 0]], emb[pairs[:, 1]]).pow(2).mean()
        loss = loss + linear(ball2.logmap0(emb)).pow(2).mean()
        loss.backward()
        opt.step()
        emb_losses.append(loss.item())
    put("geoopt.emb.losses", emb_losses)
    put("geoopt.emb.points", emb)
    put("geoopt.emb.linear", linear.weight)
    put("geoopt.emb.repr", np.array(repr(emb).split("\n")[0]))
    put("geoopt.emb.state_keys", np.array(sorted(opt.state_dict()["state"][0])))


# ------------------------------------------------------------------------------------ torchmin

def rosen(x):
    return torch.sum(100 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1 - x[..., :-1]) ** 2,
                     dim=-1)


@part("torchmin", "torchmin")
def torchmin_part():
    from torchmin import least_squares, minimize

    x0 = torch.tensor([1.3, 0.7, 0.8, 1.9, 1.2], dtype=torch.float64)
    for method in ("bfgs", "l-bfgs", "cg", "newton-cg", "newton-exact", "trust-ncg",
                   "trust-krylov", "trust-exact", "dogleg"):
        try:
            result = minimize(rosen, x0, method=method, max_iter=60)
        except Exception as error:  # noqa: BLE001 - compared (both must fail alike)
            name = ("LinAlgError" if isinstance(error, torch.linalg.LinAlgError)
                    else type(error).__name__)
            put(f"torchmin.{method}.error", np.array(name))
            continue
        key = f"torchmin.{method}"
        put(key + ".x", result.x)
        put(key + ".fun", result.fun)
        put(key + ".nit", int(result.nit))
        put(key + ".success", bool(result.success))
        if getattr(result, "grad", None) is not None:
            put(key + ".grad", result.grad)
    # float32 and a batch objective through the functional hvp path
    x32 = torch.tensor([[-1.0, 1.5], [0.5, 0.2]])
    result = minimize(lambda z: rosen(z).sum(), x32, method="newton-cg", max_iter=20)
    put("torchmin.f32.x", result.x)
    put("torchmin.f32.fun", result.fun)

    # least squares: fit an exponential decay
    torch.manual_seed(4)
    t = torch.linspace(0, 2, 20, dtype=torch.float64)
    y = 2.5 * torch.exp(-1.3 * t) + 0.01 * torch.randn(20, dtype=torch.float64)

    def residual(p):
        return p[0] * torch.exp(-p[1] * t) - y

    for method in ("trf", "dogbox"):
        try:
            fit = least_squares(residual, torch.tensor([1.0, 0.5], dtype=torch.float64),
                                method=method, max_nfev=50)
        except Exception as error:  # noqa: BLE001 - compared
            put(f"torchmin.lsq.{method}.error", np.array(type(error).__name__))
            continue
        put(f"torchmin.lsq.{method}.x", fit.x)
        put(f"torchmin.lsq.{method}.cost", fit.cost)
        put(f"torchmin.lsq.{method}.nfev", int(fit.nfev))

    # ScipyMinimizer-style constrained minimize and the Minimizer optimizer class
    from torchmin import Minimizer
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    model.double()
    data = torch.randn(16, 3, dtype=torch.float64)
    target = data.sum(1, keepdim=True).sin()
    optimizer = Minimizer(model.parameters(), method="bfgs", max_iter=15)

    def closure():  # (the Minimizer differentiates the loss itself)
        return torch.nn.functional.mse_loss(model(data), target)

    put("torchmin.minimizer.loss", optimizer.step(closure))
    put("torchmin.minimizer.weight", model[0].weight)


# ------------------------------------------------------------------------------------- opacus

@part("opacus", "opacus")
def opacus_part():
    from opacus import GradSampleModule, PrivacyEngine
    from opacus.accountants import RDPAccountant
    from opacus.utils.batch_memory_manager import BatchMemoryManager
    from torch.utils.data import DataLoader, TensorDataset

    # per-sample gradients through hooks, against one backward per sample
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.GroupNorm(1, 3),
                                torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(48, 4),
                                torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    x = torch.randn(5, 1, 6, 6)
    y = torch.tensor([0, 1, 1, 0, 1])
    for mode in ("hooks", "functorch"):
        try:
            gsm = GradSampleModule(model, force_functorch=mode == "functorch")
        except Exception as error:  # noqa: BLE001 - deltagrad: no meta device (compared)
            put(f"opacus.{mode}.error", np.array(f"{type(error).__name__}: {error}"))
            continue
        gsm.zero_grad()
        loss = torch.nn.functional.cross_entropy(gsm(x), y)
        loss.backward()
        for name, param in gsm.named_parameters():
            put(f"opacus.gsm.{mode}.{name}", param.grad_sample)
        gsm._close()
    # embeddings and an LSTM (DPLSTM) in hooks mode
    from opacus.layers import DPLSTM
    torch.manual_seed(1)

    class Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.lstm = DPLSTM(4, 5, batch_first=True)
            self.head = torch.nn.Linear(5, 2)

        def forward(self, tokens):
            out, _ = self.lstm(self.emb(tokens))
            return self.head(out[:, -1])

    seq = GradSampleModule(Seq())
    tokens = torch.randint(0, 10, (3, 4))
    torch.nn.functional.cross_entropy(seq(tokens), torch.tensor([0, 1, 0])).backward()
    for name, param in seq.named_parameters():
        put(f"opacus.lstm.{name}", param.grad_sample)

    # DP-SGD training with PrivacyEngine: Poisson sampling, clipping and seeded noise
    torch.manual_seed(2)
    features = torch.randn(64, 6)
    labels = (features[:, 0] > 0).long()
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5)
    loader = DataLoader(TensorDataset(features, labels), batch_size=16)
    engine = PrivacyEngine(accountant="rdp")
    generator = torch.Generator().manual_seed(7)
    net, optimizer, loader = engine.make_private(
        module=net, optimizer=optimizer, data_loader=loader, noise_multiplier=1.1,
        max_grad_norm=1.0, poisson_sampling=True, noise_generator=generator)
    put("opacus.engine.loader", np.array(type(loader).__name__))
    losses, sizes = [], []
    for _epoch in range(2):
        with BatchMemoryManager(data_loader=loader, max_physical_batch_size=8,
                                optimizer=optimizer) as memory_loader:
            for batch_x, batch_y in memory_loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(batch_x), batch_y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                sizes.append(len(batch_x))
    put("opacus.engine.losses", losses)
    put("opacus.engine.sizes", sizes)
    for name, param in net.named_parameters():
        put(f"opacus.engine.{name}", param)
    put("opacus.engine.epsilon", engine.get_epsilon(delta=1e-5))
    put("opacus.engine.steps", len(engine.accountant.history))

    # make_private_with_epsilon: the noise multiplier found for a target budget
    torch.manual_seed(3)
    net2 = torch.nn.Linear(6, 2)
    engine2 = PrivacyEngine(accountant="rdp")
    net2, opt2, loader2 = engine2.make_private_with_epsilon(
        module=net2, optimizer=torch.optim.Adam(net2.parameters(), lr=0.01),
        data_loader=DataLoader(TensorDataset(features, labels), batch_size=32),
        target_epsilon=3.0, target_delta=1e-5, epochs=2, max_grad_norm=0.5,
        noise_generator=torch.Generator().manual_seed(8))
    put("opacus.eps.noise_multiplier", opt2.noise_multiplier)
    for batch_x, batch_y in loader2:
        opt2.zero_grad()
        torch.nn.functional.cross_entropy(net2(batch_x), batch_y).backward()
        opt2.step()
    put("opacus.eps.weight", net2._module.weight)

    accountant = RDPAccountant()
    for _ in range(10):
        accountant.step(noise_multiplier=1.0, sample_rate=0.01)
    put("opacus.rdp.epsilon", accountant.get_epsilon(delta=1e-5))


# ------------------------------------------------------------------------------------ deepxde

@part("deepxde", "deepxde")
def deepxde_part():
    import deepxde as dde
    dde.config.set_random_seed(0)
    dde.config.set_default_float("float32")

    # 1-d Poisson: -u'' = pi^2 sin(pi x), u(-1) = u(1) = 0
    def pde(x, y):
        dy_xx = dde.grad.hessian(y, x)
        return -dy_xx - np.pi ** 2 * torch.sin(np.pi * x)

    geom = dde.geometry.Interval(-1, 1)
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_boundary: on_boundary)
    data = dde.data.PDE(geom, pde, bc, 16, 2, solution=lambda x: np.sin(np.pi * x),
                        num_test=20, train_distribution="uniform")
    net = dde.nn.FNN([1, 20, 20, 1], "tanh", "Glorot uniform")
    model = dde.Model(data, net)
    model.compile("sgd", lr=1e-3, metrics=["l2 relative error"])
    history, _ = model.train(iterations=30, display_every=10, verbose=0)
    put("deepxde.poisson.loss_train", np.array(history.loss_train))
    put("deepxde.poisson.metrics", np.array(history.metrics_test))
    grid = np.linspace(-1, 1, 9)[:, None].astype(np.float32)
    put("deepxde.poisson.pred", model.predict(grid))
    put("deepxde.poisson.residual", model.predict(grid, operator=pde))

    # Burgers: u_t + u u_x = nu u_xx on [-1,1]x[0,1]
    dde.config.set_random_seed(1)

    def burgers(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - 0.01 / np.pi * dy_xx

    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1),
                                          dde.geometry.TimeDomain(0, 0.99))
    bc2 = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_b: on_b)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_i: on_i)
    data2 = dde.data.TimePDE(geomtime, burgers, [bc2, ic], num_domain=60, num_boundary=10,
                             num_initial=10, train_distribution="pseudo")
    net2 = dde.nn.FNN([2, 16, 16, 1], "tanh", "Glorot normal")
    model2 = dde.Model(data2, net2)
    model2.compile("adam", lr=1e-3)
    history2, _ = model2.train(iterations=30, display_every=10, verbose=0)
    put("deepxde.burgers.loss_train", np.array(history2.loss_train))
    points = np.stack(np.meshgrid(np.linspace(-1, 1, 5), np.linspace(0, 1, 3)), -1)
    put("deepxde.burgers.pred", model2.predict(points.reshape(-1, 2).astype(np.float32)))
    dde.optimizers.set_LBFGS_options(maxiter=10)
    model2.compile("L-BFGS")
    history3, _ = model2.train(verbose=0)
    put("deepxde.burgers.lbfgs_loss", np.array(history3.loss_train))


# --------------------------------------------------------------------------------------- pykan

@part("kan", "kan")
def kan_part():
    # float64: pykan's LBFGS runs 20 inner iterations per step, which turn float32 rounding
    # into ~1e-4 differences (in float64 both agree to ~1e-11).
    torch.set_default_dtype(torch.float64)
    try:
        kan_steps()
    finally:
        torch.set_default_dtype(torch.float32)


def kan_steps():
    from kan import KAN, create_dataset

    torch.manual_seed(0)
    f = lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)  # noqa: E731
    dataset = create_dataset(f, n_var=2, train_num=60, test_num=20, seed=0)
    put("kan.data", dataset["train_input"])
    put("kan.label", dataset["train_label"])
    # (a folder of this process's own: pykan's refine / prune build models with auto_save on,
    # which write checkpoints there, and both sides of the comparison run in one folder at once)
    folder = tempfile.mkdtemp(prefix="kan_")
    atexit.register(shutil.rmtree, folder, True)
    # (and `copy()` - prune's - saves to and loads back from ./copy_temp in the working folder:
    # work in this process's own, or one side may load the other's model)
    os.chdir(folder)
    model = KAN(width=[2, 3, 1], grid=3, k=3, seed=1, auto_save=False, ckpt_path=folder)
    put("kan.init_out", model(dataset["train_input"][:5]))
    for index, layer in enumerate(model.act_fun):
        put(f"kan.init.coef{index}", layer.coef)
        put(f"kan.init.grid{index}", layer.grid)
    results = model.fit(dataset, opt="Adam", steps=15, lr=0.01, lamb=0.001, update_grid=False,
                        log=100)
    put("kan.adam.train_loss", np.array(results["train_loss"]))
    put("kan.adam.reg", np.array(results["reg"]))
    model.update_grid(dataset["train_input"])
    for index, layer in enumerate(model.act_fun):
        put(f"kan.grid_update.coef{index}", layer.coef)
        put(f"kan.grid_update.grid{index}", layer.grid)
    results = model.fit(dataset, opt="LBFGS", steps=3, lamb=0.001, log=100, update_grid=False)
    put("kan.lbfgs.train_loss", np.array(results["train_loss"]))
    put("kan.lbfgs.test_loss", np.array(results["test_loss"]))
    model(dataset["train_input"])
    put("kan.feature_score", model.feature_score)
    pruned = model.prune(node_th=0.05)
    put("kan.pruned.width", np.array(pruned.width_in))
    put("kan.pruned.out", pruned(dataset["test_input"]))
    # (refine fits the finer grid by least squares to the activations of the last forward's
    # input: the unrefined model's output on the test inputs, then the training inputs again)
    put("kan.unrefined.out", model(dataset["test_input"]))
    model(dataset["train_input"])
    refined = model.refine(5)
    put("kan.refined.out", refined(dataset["test_input"]))
    put("kan.refined.coef0", refined.act_fun[0].coef)
    model.fix_symbolic(0, 0, 0, "sin")
    # (Only sin: the fits of x^2, exp and the like are degenerate (r2 is flat in a, or in b
    # against c), so float rounding picks which grid point of equal r2 wins.)
    put("kan.symbolic.affine", model.symbolic_fun[0].affine)
    put("kan.symbolic.out", model(dataset["test_input"]))


if __name__ == "__main__":
    main()
