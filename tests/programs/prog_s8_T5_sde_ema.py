"""Harness and the torchsde and torch-ema parts of the T5 probe (``prog_s8_T5_gp_sde_ema.py``
runs them): ``put`` records a value in OUT, ``part`` runs a part from seed 0 and records an
exception as ``ERR.<part>``."""
import io
import traceback

import numpy as np
import torch

OUT = {}
ERR = {}


def put(name, value):
    if isinstance(value, torch.Tensor):
        OUT[name + ".dtype"] = np.array(str(value.dtype))
        value = value.detach().numpy()
    OUT[name] = np.asarray(value)


def part(name, float64=False):
    """Decorator: run the part from seed 0 (in float64 if asked), recording an exception."""
    def wrap(fn):
        def run():
            torch.manual_seed(0)
            before = torch.get_default_dtype()
            if float64:
                torch.set_default_dtype(torch.float64)
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - recorded and compared
                ERR["ERR." + name] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
            finally:
                torch.set_default_dtype(before)
        run.__name__ = name
        return run
    return wrap


def flat(params):
    return np.concatenate([p.detach().numpy().ravel() for p in params])


# ---------------------------------------------------------------------------------- torchsde

BATCH, STATE, BROWNIAN = 4, 3, 2


def sde_classes():
    class GeneralSDE(torch.nn.Module):  # the README's SDE
        noise_type = "general"
        sde_type = "ito"

        def __init__(self):
            super().__init__()
            self.mu = torch.nn.Linear(STATE, STATE)
            self.sigma = torch.nn.Linear(STATE, STATE * BROWNIAN)

        def f(self, t, y):
            return self.mu(y)

        def g(self, t, y):
            return self.sigma(y).view(BATCH, STATE, BROWNIAN)

    class DiagonalSDE(torch.nn.Module):
        noise_type = "diagonal"

        def __init__(self, sde_type):
            super().__init__()
            self.sde_type = sde_type
            self.theta = torch.nn.Parameter(torch.tensor([0.5, 1.0, 1.5]))
            self.scale = torch.nn.Parameter(torch.tensor([0.3, 0.2, 0.1]))

        def f(self, t, y):
            return -self.theta * y + torch.sin(t)

        def g(self, t, y):
            return self.scale * torch.tanh(y) + 0.05
    return GeneralSDE, DiagonalSDE


@part("sde.solvers")
def sde_solvers():
    import torchsde
    general, diagonal = sde_classes()
    np.random.seed(0)  # sdeint's default Brownian motion draws its entropy from NumPy
    sde = general()
    ts = torch.linspace(0, 1, 6)
    ys = torchsde.sdeint(sde, torch.full((BATCH, STATE), 0.1), ts, method="euler", dt=0.05)
    ys.sum().backward()
    put("sde.solvers.euler.ys", ys)
    put("sde.solvers.euler.grad", sde.sigma.weight.grad)
    methods = [("milstein", "ito"), ("srk", "ito"), ("euler_heun", "stratonovich"),
               ("midpoint", "stratonovich"), ("reversible_heun", "stratonovich")]
    for method, sde_type in methods:
        torch.manual_seed(1)
        sde = diagonal(sde_type)
        y0 = torch.randn(BATCH, STATE)
        bm = torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(BATCH, STATE), entropy=7,
                                       levy_area_approximation="space-time")
        ys = torchsde.sdeint(sde, y0, ts, bm=bm, method=method, dt=0.1)
        ys[-1].pow(2).sum().backward()
        put(f"sde.solvers.{method}.ys", ys)
        put(f"sde.solvers.{method}.theta_grad", sde.theta.grad)
        put(f"sde.solvers.{method}.scale_grad", sde.scale.grad)


@part("sde.latent")
def sde_latent():
    """A latent SDE's KL term (``logqp=True`` with a prior drift ``h``), adaptive steps,
    ``names=`` and ``extra=``, scalar and additive noise (SRK), the log-ODE method with Davie's
    Levy area, and BrownianPath."""
    import torchsde

    class Latent(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                           torch.nn.Linear(8, 2))
            self.theta = torch.nn.Parameter(torch.tensor(0.7))

        def f(self, t, y):  # the posterior drift
            return self.net(torch.cat([y, t.expand(y.size(0), 1)], -1))

        def h(self, t, y):  # the prior drift
            return -self.theta * y

        def g(self, t, y):
            return 0.3 * torch.sigmoid(y)

    class Scalar(torch.nn.Module):
        noise_type = "scalar"
        sde_type = "ito"

        def drift(self, t, y):
            return -y

        def diffusion(self, t, y):
            return 0.2 * y.unsqueeze(-1)

    class Additive(torch.nn.Module):
        noise_type = "additive"
        sde_type = "ito"

        def f(self, t, y):
            return torch.sin(y) - t

        def g(self, t, y):
            return torch.full((y.size(0), 2, 3), 0.1)

    class General(torch.nn.Module):
        noise_type = "general"
        sde_type = "stratonovich"

        def f(self, t, y):
            return -y

        def g(self, t, y):
            return torch.stack([0.1 * y, 0.2 * torch.cos(y)], -1)

    np.random.seed(0)  # (the default Brownian motion's entropy)
    sde = Latent()
    ts = torch.linspace(0, 1, 5)
    y0 = torch.randn(6, 2)
    ys, logqp = torchsde.sdeint(sde, y0, ts, dt=0.05, logqp=True, method="euler")
    (ys.pow(2).mean() + logqp.sum()).backward()
    put("sde.latent.ys", ys)
    put("sde.latent.logqp", logqp)
    put("sde.latent.grads", torch.cat([p.grad.ravel() for p in sde.parameters()]))
    bm = torchsde.BrownianInterval(0.0, 1.0, (6, 2), entropy=5)
    put("sde.latent.adaptive", torchsde.sdeint(sde, y0, ts, bm=bm, dt=0.1, adaptive=True,
                                               rtol=1e-3, atol=1e-3, method="milstein"))
    bm = torchsde.BrownianInterval(0.0, 1.0, (6, 1), entropy=6)
    ys, extra = torchsde.sdeint(Scalar(), y0, ts, bm=bm, dt=0.1, method="milstein", extra=True,
                                names={"drift": "drift", "diffusion": "diffusion"})
    put("sde.latent.scalar_names", ys)
    bm = torchsde.BrownianInterval(0.0, 1.0, (6, 3), entropy=7,
                                   levy_area_approximation="space-time")
    put("sde.latent.additive_srk", torchsde.sdeint(Additive(), y0, ts, bm=bm, dt=0.1,
                                                   method="srk"))
    bm = torchsde.BrownianInterval(0.0, 1.0, (6, 2), entropy=8,
                                   levy_area_approximation="davie")
    put("sde.latent.log_ode", torchsde.sdeint(General(), y0, ts, bm=bm, dt=0.1,
                                              method="log_ode"))
    path = torchsde.BrownianPath(t0=0.0, w0=torch.zeros(4))
    put("sde.latent.brownian_path", torch.stack([path(0.5), path(0.25), path(1.5)]))


@part("sde.adjoint")
def sde_adjoint():
    import torchsde
    _, diagonal = sde_classes()
    sde = diagonal("ito")
    y0 = torch.randn(BATCH, STATE)
    bm = torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(BATCH, STATE), entropy=11)
    ys = torchsde.sdeint_adjoint(sde, y0, torch.linspace(0, 1, 6), bm=bm, method="milstein",
                                 dt=0.1, adjoint_method="milstein")
    ys[-1].pow(2).sum().backward()
    put("sde.adjoint.ys", ys)
    put("sde.adjoint.theta_grad", sde.theta.grad)
    put("sde.adjoint.scale_grad", sde.scale.grad)
    sde = diagonal("stratonovich")
    bm = torchsde.BrownianInterval(t0=0.0, t1=1.0, size=(BATCH, STATE), entropy=9)
    ys = torchsde.sdeint_adjoint(sde, y0, torch.linspace(0, 1, 6), bm=bm, dt=0.1,
                                 method="reversible_heun",
                                 adjoint_method="adjoint_reversible_heun")
    ys.sum().backward()
    put("sde.adjoint.reversible_heun_theta_grad", sde.theta.grad)
    put("sde.adjoint.reversible_heun_scale_grad", sde.scale.grad)


@part("sde.brownian")
def sde_brownian():
    import torchsde
    bm = torchsde.BrownianInterval(t0=0.0, t1=2.0, size=(5,), entropy=3,
                                   levy_area_approximation="space-time")
    put("sde.brownian.increments", torch.stack([bm(0.0, 0.5), bm(0.5, 1.3), bm(0.2, 1.9)]))
    put("sde.brownian.space_time", bm(0.1, 0.7, return_U=True)[1])
    tree = torchsde.BrownianTree(t0=0.0, t1=1.0, w0=torch.zeros(3), entropy=5)
    put("sde.brownian.tree", torch.stack([tree(0.3), tree(0.8)]))


# ---------------------------------------------------------------------------------- torch_ema

@part("ema.readme")
def ema_readme():
    """The README's loop: Adam steps, ``ema.update()``, evaluation under
    ``average_parameters()``; store / copy_to / restore, state_dict round trip, ``to``."""
    import torch.nn.functional as F
    from torch_ema import ExponentialMovingAverage
    x_train, y_train = torch.randn(32, 10), torch.randint(0, 2, (32,))
    x_val = torch.randn(8, 10)
    # (BatchNorm after the ReLU: right after a Linear the Linear's bias gradient is float
    # noise, which Adam turns into +-lr steps.)
    model = torch.nn.Sequential(torch.nn.Linear(10, 6), torch.nn.ReLU(),
                                torch.nn.BatchNorm1d(6), torch.nn.Linear(6, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    ema = ExponentialMovingAverage(model.parameters(), decay=0.9)
    losses = []
    for _ in range(10):
        loss = F.cross_entropy(model(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update()
        losses.append(loss.item())
    put("ema.readme.losses", np.array(losses))
    model.eval()
    put("ema.readme.raw", model(x_val))
    with ema.average_parameters():
        put("ema.readme.averaged", model(x_val))
    put("ema.readme.restored", model(x_val))
    put("ema.readme.shadow", np.concatenate([p.numpy().ravel() for p in ema.shadow_params]))
    buffer = io.BytesIO()
    torch.save(ema.state_dict(), buffer)
    buffer.seek(0)
    loaded = ExponentialMovingAverage(model.parameters(), decay=0.5)
    loaded.load_state_dict(torch.load(buffer))
    put("ema.readme.loaded", np.array([loaded.decay, loaded.num_updates]))
    warm = ExponentialMovingAverage(model.parameters(), decay=0.99, use_num_updates=True)
    model.train()
    for _ in range(3):
        loss = F.cross_entropy(model(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        warm.update()
    warm.store()
    warm.copy_to()
    put("ema.readme.copied", flat(model.parameters()))
    warm.restore()
    put("ema.readme.after_restore", flat(model.parameters()))
    warm.to(dtype=torch.float64)
    put("ema.readme.to_float64", np.array([str(p.dtype).rsplit(".")[-1]
                                           for p in warm.shadow_params]))
    partial = ExponentialMovingAverage(model[0].parameters(), decay=0.8)
    with torch.no_grad():
        model[0].weight.mul_(2.0)
    partial.update(model[0].parameters())
    put("ema.readme.partial", partial.shadow_params[0])


SECTIONS = {"torchsde": [sde_solvers, sde_latent, sde_adjoint, sde_brownian],
            "torch_ema": [ema_readme]}
