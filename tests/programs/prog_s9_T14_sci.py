"""Probe program (T14): scientific libraries on torch tensors, used the way their READMEs and
tutorials do, seeded and small: POT (``ot``), geomloss, normflows, torchcde (with torchdiffeq),
torch-struct and botorch (on gpytorch). Every number goes to an .npz.

Run as ``python prog_s9_T14_sci.py OUT.npz`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s9_T14_sci.py`` compares the two. An exception in
a part is recorded as ``ERR.<part>`` (the other parts still run).
"""
import copy
import importlib.util
import sys
import time
import traceback

import numpy as np
import torch

OUT = {}
PARTS = []


def put(name, value):
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy()
    OUT[name] = np.asarray(value)


def part(name, needs):
    """Decorator: a part run from seed 0 when ``needs`` is importable; an exception is
    recorded as ``ERR.<name>``."""
    def wrap(fn):
        def run():
            if importlib.util.find_spec(needs) is None:
                return
            torch.manual_seed(0)
            start = time.perf_counter()
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - recorded and compared
                OUT["ERR." + name] = np.array(f"{type(error).__name__}: {error}")
                traceback.print_exc()
            print(f"{name}: {time.perf_counter() - start:.2f} s", file=sys.stderr)
        PARTS.append(run)
        return run
    return wrap


# ---------------------------------------------------------------------------------------- POT

@part("pot", "ot")
def pot():
    import ot
    for dtype in (torch.float64, torch.float32):
        d = str(dtype).rsplit(".", 1)[-1]
        x = torch.randn(7, 2, dtype=dtype, requires_grad=True)
        y = torch.randn(9, 2, dtype=dtype) + 1
        a = torch.softmax(torch.randn(7, dtype=dtype), 0)
        b = torch.ones(9, dtype=dtype) / 9
        M = ot.dist(x, y)
        put(f"pot.{d}.dist", M)
        put(f"pot.{d}.dist_euclid", ot.dist(x, y, metric="euclidean"))
        put(f"pot.{d}.emd", ot.emd(a, b, M.detach()))
        loss = ot.emd2(a, b, ot.dist(x, y))
        grad, = torch.autograd.grad(loss, x)
        put(f"pot.{d}.emd2", loss)
        put(f"pot.{d}.emd2_grad", grad)
        put(f"pot.{d}.sinkhorn", ot.sinkhorn(a, b, M.detach(), 0.5, numItermax=100))
        put(f"pot.{d}.sinkhorn_log", ot.sinkhorn(a, b, M.detach(), 0.1, method="sinkhorn_log",
                                                      numItermax=100))
        loss = ot.sinkhorn2(a, b, ot.dist(x, y), 0.5, numItermax=100)
        grad, = torch.autograd.grad(loss, x)
        put(f"pot.{d}.sinkhorn2", loss)
        put(f"pot.{d}.sinkhorn2_grad", grad)
        put(f"pot.{d}.unbalanced", ot.unbalanced.sinkhorn_unbalanced(a, b, M.detach(), 0.5, 1.0,
                                                                    numItermax=100))
        u = torch.randn(20, dtype=dtype, requires_grad=True)
        v = torch.randn(15, dtype=dtype)
        loss = ot.wasserstein_1d(u, v, p=2)
        put(f"pot.{d}.w1d", loss)
        put(f"pot.{d}.w1d_grad", torch.autograd.grad(loss, u)[0])
        C1 = ot.dist(x.detach(), x.detach())
        C2 = ot.dist(y, y)
        C1, C2 = C1 / C1.max(), C2 / C2.max()
        put(f"pot.{d}.gw", ot.gromov.gromov_wasserstein(C1, C2, a, b, "square_loss"))
        put(f"pot.{d}.gw2", ot.gromov.gromov_wasserstein2(C1, C2, a, b, "square_loss"))
    # A training loop: move points to minimise their Sinkhorn divergence to a target.
    x = torch.randn(10, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(12, 2, dtype=torch.float64) * 0.5 + 2
    optimizer = torch.optim.Adam([x], lr=0.1)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = ot.sinkhorn2(ot.unif(10, type_as=x), ot.unif(12, type_as=x), ot.dist(x, y), 1.0)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("pot.train.losses", np.array(losses))
    put("pot.train.x", x)


# ----------------------------------------------------------------------------------- geomloss

@part("geomloss", "geomloss")
def geomloss():
    from geomloss import SamplesLoss
    x = torch.randn(30, 2)
    y = torch.randn(25, 2) + 0.5
    wx = torch.softmax(torch.randn(30), 0)
    wy = torch.ones(25) / 25
    losses = {"sinkhorn": dict(p=2, blur=0.05), "sinkhorn_p1": dict(p=1, blur=0.1),
              "sinkhorn_debias_off": dict(p=2, blur=0.1, debias=False),
              "energy": {}, "gaussian": dict(blur=0.5), "laplacian": dict(blur=0.5)}
    for name, kwargs in losses.items():
        loss_name = name.split("_")[0]
        loss_fn = SamplesLoss(loss_name, backend="tensorized", **kwargs)
        xs = x.clone().requires_grad_(True)
        value = loss_fn(xs, y)
        put(f"geomloss.{name}.value", value)
        put(f"geomloss.{name}.grad", torch.autograd.grad(value, xs)[0])
        xs = x.clone().requires_grad_(True)
        value = loss_fn(wx, xs, wy, y)
        put(f"geomloss.{name}.weighted", value)
        put(f"geomloss.{name}.weighted_grad", torch.autograd.grad(value, xs)[0])
    # Batched input and a few gradient-flow steps (the README's use).
    loss_fn = SamplesLoss("sinkhorn", p=2, blur=0.1, backend="tensorized")
    put("geomloss.batched", loss_fn(torch.randn(3, 10, 2), torch.randn(3, 12, 2)))
    xs = x.clone().requires_grad_(True)
    for _ in range(4):
        value = loss_fn(xs, y)
        g, = torch.autograd.grad(value, xs)
        xs.data -= 0.5 * len(xs) * g
    put("geomloss.flow", xs)


# ---------------------------------------------------------------------------------- normflows

def _train_flow(model, name, target_sample, steps=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model.forward_kld(target_sample)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put(f"nf.{name}.losses", np.array(losses))
    with torch.no_grad():
        grid = torch.linspace(-2, 2, 5)
        points = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).view(-1, 2)
        put(f"nf.{name}.log_prob", model.log_prob(points))
        torch.manual_seed(5)
        z, log_q = model.sample(6)
        put(f"nf.{name}.sample", z)
        put(f"nf.{name}.sample_log_q", log_q)


@part("nf", "normflows")
def normflows():
    import normflows as nf
    target = nf.distributions.target.CircularGaussianMixture(n_modes=4)
    torch.manual_seed(1)
    target_sample = target.sample(64)
    put("nf.target_log_prob", target.log_prob(target_sample[:8]))
    # RealNVP (the README's model).
    torch.manual_seed(0)
    flows = []
    for _ in range(4):
        param_map = nf.nets.MLP([1, 16, 16, 2], init_zeros=True)
        flows += [nf.flows.AffineCouplingBlock(param_map), nf.flows.Permute(2, mode="swap")]
    _train_flow(nf.NormalizingFlow(nf.distributions.base.DiagGaussian(2), flows), "realnvp",
                target_sample)
    # Neural spline flow (autoregressive rational-quadratic) and MAF.
    torch.manual_seed(0)
    flows = []
    for _ in range(2):
        flows += [nf.flows.AutoregressiveRationalQuadraticSpline(2, 1, 16),
                  nf.flows.LULinearPermute(2)]
    _train_flow(nf.NormalizingFlow(nf.distributions.base.DiagGaussian(2, trainable=False),
                                   flows), "nsf", target_sample)
    torch.manual_seed(0)
    flows = []
    for _ in range(2):
        flows += [nf.flows.MaskedAffineAutoregressive(2, 16, num_blocks=1),
                  nf.flows.Permute(2)]
    _train_flow(nf.NormalizingFlow(nf.distributions.base.DiagGaussian(2), flows), "maf",
                target_sample)
    torch.manual_seed(0)
    flows = [nf.flows.CoupledRationalQuadraticSpline(2, 1, 16), nf.flows.Permute(2, "swap")]
    _train_flow(nf.NormalizingFlow(nf.distributions.base.DiagGaussian(2), flows), "nsf_coupled",
                target_sample)


# ----------------------------------------------------------------------------------- torchcde

@part("cde", "torchcde")
def torchcde_part():
    import torchcde

    class Func(torch.nn.Module):
        def __init__(self, channels, hidden):
            super().__init__()
            self.channels, self.hidden = channels, hidden
            self.linear1 = torch.nn.Linear(hidden, 16)
            self.linear2 = torch.nn.Linear(16, hidden * channels)

        def forward(self, t, z):
            z = self.linear2(self.linear1(z).relu()).tanh()
            return z.view(z.size(0), self.hidden, self.channels)

    t = torch.linspace(0, 1, 8)
    x = torch.stack([t.expand(3, 8), torch.randn(3, 8).cumsum(-1) * 0.3,
                     torch.randn(3, 8).cumsum(-1) * 0.3], -1)  # (batch, length, channels)
    x_nan = x.clone()
    x_nan[0, 3, 1] = float("nan")
    coeffs = torchcde.natural_cubic_coeffs(x)
    put("cde.natural_coeffs", coeffs)
    put("cde.natural_coeffs_nan", torchcde.natural_cubic_coeffs(x_nan))
    put("cde.hermite_coeffs", torchcde.hermite_cubic_coefficients_with_backward_differences(x))
    put("cde.linear_coeffs", torchcde.linear_interpolation_coeffs(x_nan))
    spline = torchcde.CubicSpline(coeffs)
    times = torch.tensor([0.0, 1.3, 3.7, 7.0])
    put("cde.evaluate", torch.stack([spline.evaluate(s) for s in times]))
    put("cde.derivative", torch.stack([spline.derivative(s) for s in times]))
    put("cde.linear_eval", torchcde.LinearInterpolation(
        torchcde.linear_interpolation_coeffs(x)).evaluate(2.5))
    func = Func(3, 4)
    initial = torch.nn.Linear(3, 4)
    readout = torch.nn.Linear(4, 1)
    params = [*func.parameters(), *initial.parameters(), *readout.parameters()]
    for method, options in (("rk4", dict(step_size=0.5)), ("dopri5", {}), ("euler", {})):
        kwargs = dict(method=method, options=options)
        f, first, last, X = func, initial, readout, spline
        if method == "dopri5":  # (adaptive steps amplify rounding: a 1-ulp change of the
            # input moves float32 gradients by 1e-2 (PyTorch's own distance from float64's),
            # float64 ones by 1e-3 when it comes from float32 data; float64 data: 1e-10)
            kwargs.update(rtol=1e-4, atol=1e-6)
            f, first, last = (copy.deepcopy(m).double() for m in (func, initial, readout))
            walk = torch.randn(3, 8, 2, dtype=torch.float64).cumsum(1) * 0.3
            X = torchcde.CubicSpline(torchcde.natural_cubic_coeffs(
                torch.cat([t.double().expand(3, 8)[..., None], walk], -1)))
        z = torchcde.cdeint(X=X, func=f, z0=first(X.evaluate(X.interval[0])), t=X.interval,
                            **kwargs)
        out = last(z[:, -1]).sum()
        grads = torch.autograd.grad(out, [*f.parameters(), *first.parameters(),
                                          *last.parameters()])
        put(f"cde.{method}.z", z)
        put(f"cde.{method}.grad", np.concatenate([g.numpy().ravel() for g in grads]))
    z0 = initial(spline.evaluate(0.0))
    z = torchcde.cdeint(X=spline, func=func, z0=z0, t=spline.grid_points, adjoint=True,
                        method="rk4", options=dict(step_size=0.5))
    put("cde.adjoint.z", z)
    grads = torch.autograd.grad(readout(z[:, -1]).sum(), params)
    put("cde.adjoint.grad", np.concatenate([g.numpy().ravel() for g in grads]))
    # A few training steps of the README's classifier.
    optimizer = torch.optim.Adam(params, lr=0.01)
    labels = torch.tensor([0.0, 1.0, 1.0])
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        z = torchcde.cdeint(X=spline, func=func, z0=initial(spline.evaluate(0.0)),
                            t=spline.interval, method="rk4", options=dict(step_size=0.5))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            readout(z[:, -1]).squeeze(-1), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("cde.train.losses", np.array(losses))


# ------------------------------------------------------------------------------- torch-struct

STRUCT = dict(batch=3, n=6, c=4)


@part("struct.crf", "torch_struct")
def struct_crf():
    import torch_struct
    batch, n, c = STRUCT.values()
    lengths = torch.tensor([6, 4, 5])
    log_potentials = torch.randn(batch, n - 1, c, c, requires_grad=True)
    dist = torch_struct.LinearChainCRF(log_potentials, lengths=lengths)
    put("struct.crf.partition", dist.partition)
    put("struct.crf.partition_no_grad", torch_struct.LinearChainCRF(
        log_potentials.detach(), lengths=lengths).partition)
    put("struct.crf.marginals", dist.marginals)
    put("struct.crf.argmax", dist.argmax)
    put("struct.crf.max", dist.max)
    put("struct.crf.entropy", dist.entropy)
    put("struct.crf.log_prob", dist.log_prob(dist.argmax))
    put("struct.crf.grad", torch.autograd.grad(dist.partition.sum(), log_potentials)[0])
    put("struct.crf.topk", dist.topk(2))
    put("struct.crf.count", dist.count)


@part("struct.train", "torch_struct")
def struct_train():
    import torch_struct
    batch, n, c = STRUCT.values()
    lengths = torch.tensor([6, 4, 5])
    # From emissions and transitions, as a NER CRF builds it; a few training steps.
    emission = torch.nn.Linear(5, c)
    transition = torch.nn.Parameter(torch.randn(c, c) * 0.1)
    features = torch.randn(batch, n, 5)
    tags = torch.randint(0, c, (batch, n))
    optimizer = torch.optim.SGD([*emission.parameters(), transition], lr=0.1)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        potentials = emission(features)[:, 1:, :, None] + transition[None, None]
        potentials[:, 0] += emission(features)[:, 0, None, :]
        crf = torch_struct.LinearChainCRF(potentials, lengths=lengths)
        parts = torch_struct.LinearChainCRF.struct.to_parts(tags, c, lengths=lengths)
        loss = -crf.log_prob(parts.type_as(potentials)).sum()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("struct.train.losses", np.array(losses))


@part("struct.semi", "torch_struct")
def struct_semi():
    import torch_struct
    # Semi-Markov CRF and a dependency CRF (non-projective and projective).
    semi = torch.randn(2, 5, 3, 3, 3, requires_grad=True)
    dist = torch_struct.SemiMarkovCRF(semi)
    put("struct.semi.partition", dist.partition)
    put("struct.semi.marginals", dist.marginals)
    put("struct.semi.argmax", dist.argmax)
    put("struct.semi.grad", torch.autograd.grad(dist.partition.sum(), semi)[0])


@part("struct.dep", "torch_struct")
def struct_dep():
    import torch_struct
    arcs = torch.randn(2, 5, 5, requires_grad=True)
    for name, kwargs in (("dep", {}), ("nonproj", dict(multiroot=False))):
        if name == "dep":
            dist = torch_struct.DependencyCRF(arcs, lengths=torch.tensor([5, 4]))
        else:
            dist = torch_struct.NonProjectiveDependencyCRF(arcs, **kwargs)
        put(f"struct.{name}.partition", dist.partition)
        put(f"struct.{name}.marginals", dist.marginals)
        put(f"struct.{name}.grad", torch.autograd.grad(dist.partition.sum(), arcs)[0])
        if name == "dep":
            put(f"struct.{name}.argmax", dist.argmax)
            put(f"struct.{name}.entropy", dist.entropy)


@part("struct.tree", "torch_struct")
def struct_tree():
    import torch_struct
    # Alignment / CKY-style: a tree CRF over spans.
    spans = torch.randn(2, 5, 5, 3, requires_grad=True)
    dist = torch_struct.TreeCRF(spans)
    put("struct.tree.partition", dist.partition)
    put("struct.tree.marginals", dist.marginals)
    put("struct.tree.argmax", dist.argmax)


# ------------------------------------------------------------------------------------ botorch

def _botorch_data():
    X = torch.rand(10, 2, dtype=torch.float64)
    Y = (torch.sin(6 * X[:, :1]) + X[:, 1:] ** 2) * 3 + 1 + 0.05 * torch.randn(10, 1,
                                                                              dtype=torch.float64)
    return X, Y


def _gp(X, Y):
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    return SingleTaskGP(X, Y, input_transform=Normalize(d=2, bounds=bounds),
                        outcome_transform=Standardize(m=1))


@part("botorch.fit", "botorch")
def botorch_fit():
    from botorch.fit import fit_gpytorch_mll
    from gpytorch.mlls import ExactMarginalLogLikelihood
    X, Y = _botorch_data()
    gp = _gp(X, Y)
    mll = ExactMarginalLogLikelihood(gp.likelihood, gp)
    fit_gpytorch_mll(mll)
    put("botorch.fit.params", np.concatenate([p.detach().numpy().ravel()
                                              for p in gp.parameters()]))
    put("botorch.fit.mean", gp.posterior(X[:4]).mean)


@part("botorch.acq", "botorch")
def botorch_acq():
    """Posterior and acquisition functions on a GP with fixed hyperparameters (fitting is its
    own part), optimize_acqf on the unit box."""
    from botorch.acquisition import (
        ExpectedImprovement,
        UpperConfidenceBound,
        qLogExpectedImprovement,
        qUpperConfidenceBound,
    )
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler
    X, Y = _botorch_data()
    gp = _gp(X, Y)
    gp.covar_module.lengthscale = torch.tensor([[0.3, 0.5]], dtype=torch.float64)
    gp.likelihood.noise = torch.tensor([1e-3], dtype=torch.float64)
    gp.eval()
    test = torch.rand(5, 2, dtype=torch.float64)
    posterior = gp.posterior(test)
    put("botorch.post.mean", posterior.mean)
    put("botorch.post.variance", posterior.variance)
    put("botorch.post.covariance", posterior.mvn.covariance_matrix)
    best = Y.max()
    test_q = test.unsqueeze(1).clone().requires_grad_(True)
    for name, acqf in (("ucb", UpperConfidenceBound(gp, beta=0.2)),
                       ("ei", ExpectedImprovement(gp, best_f=best))):
        value = acqf(test_q)
        put(f"botorch.{name}.value", value)
        put(f"botorch.{name}.grad", torch.autograd.grad(value.sum(), test_q)[0])
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([64]), seed=0)
    batch = torch.rand(3, 2, 2, dtype=torch.float64, requires_grad=True)
    for name, acqf in (("qlogei", qLogExpectedImprovement(gp, best_f=best, sampler=sampler)),
                       ("qucb", qUpperConfidenceBound(gp, beta=0.2, sampler=sampler))):
        value = acqf(batch)
        put(f"botorch.{name}.value", value)
        put(f"botorch.{name}.grad", torch.autograd.grad(value.sum(), batch)[0])
    bounds = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    torch.manual_seed(0)
    candidate, value = optimize_acqf(UpperConfidenceBound(gp, beta=0.2), bounds=bounds, q=1,
                                     num_restarts=2, raw_samples=16)
    put("botorch.optimize.ucb", candidate)
    put("botorch.optimize.ucb_value", value)


if __name__ == "__main__":
    for run in PARTS:
        run()
    np.savez(sys.argv[1], **OUT)
