"""Probe program (T4): pyro-ppl, zuko and nflows used the way their READMEs do, seeded and
small; every number goes to an .npz.

Run as ``python prog_s8_T4_prob.py OUT.npz SECTIONS`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s8_T4_prob.py`` compares the two. An exception in
a part is recorded as ``ERR.<part>`` (the other parts still run).
"""
import sys
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


def part(name):
    """Decorator: run the part, recording an exception as ERR.<name>."""
    def wrap(fn):
        def run():
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - recorded and compared
                ERR["ERR." + name] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
        run.__name__ = name
        return run
    return wrap


def regression_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=g)
    y = x @ torch.tensor([1.5, -2.0, 0.5]) + 0.3 + 0.2 * torch.randn(40, generator=g)
    return x, y


def bayes_model(x, y=None):
    import pyro
    import pyro.distributions as dist
    w = pyro.sample("w", dist.Normal(torch.zeros(3), torch.ones(3)).to_event(1))
    b = pyro.sample("b", dist.Normal(0.0, 1.0))
    sigma = pyro.sample("sigma", dist.LogNormal(0.0, 1.0))
    with pyro.plate("data", x.shape[0]):
        mean = x @ w + b
        return pyro.sample("obs", dist.Normal(mean, sigma), obs=y)


@part("pyro.svi")
def pyro_svi():
    import pyro
    import pyro.optim
    from pyro.infer import SVI, Predictive, Trace_ELBO, TraceMeanField_ELBO
    from pyro.infer.autoguide import AutoDiagonalNormal, AutoNormal
    x, y = regression_data()
    cases = [("normal_elbo_adam", AutoNormal, Trace_ELBO, lambda: pyro.optim.Adam({"lr": 0.05})),
             ("diag_meanfield_clipped", AutoDiagonalNormal, TraceMeanField_ELBO,
              lambda: pyro.optim.ClippedAdam({"lr": 0.05, "clip_norm": 5.0, "lrd": 0.99}))]
    for name, guide_class, elbo_class, make_optim in cases:
        pyro.clear_param_store()
        pyro.set_rng_seed(1)
        guide = guide_class(bayes_model)
        svi = SVI(bayes_model, guide, make_optim(), loss=elbo_class())
        losses = [svi.step(x, y) for _ in range(15)]
        put(f"pyro.svi.{name}.losses", np.array(losses))
        store = pyro.get_param_store()
        for key in sorted(store.keys()):
            put(f"pyro.svi.{name}.param.{key}", store[key])
        put(f"pyro.svi.{name}.median.w", guide.median()["w"])
        quantiles = guide.quantiles([0.1, 0.9])
        put(f"pyro.svi.{name}.q.b", quantiles["b"])
        torch.manual_seed(3)
        predictive = Predictive(bayes_model, guide=guide, num_samples=5)
        samples = predictive(x[:6])
        for key in sorted(samples):
            put(f"pyro.svi.{name}.pred.{key}", samples[key])
        # Evaluate the loss with a fixed draw (no step): the ELBO estimator itself.
        pyro.set_rng_seed(5)
        put(f"pyro.svi.{name}.evaluate", np.array(svi.evaluate_loss(x, y)))


@part("pyro.poutine")
def pyro_poutine():
    import pyro
    from pyro import poutine
    x, y = regression_data()
    pyro.set_rng_seed(2)
    trace = poutine.trace(bayes_model).get_trace(x, y)
    trace.compute_log_prob()
    for name in ("w", "b", "sigma", "obs"):
        put(f"pyro.poutine.value.{name}", trace.nodes[name]["value"])
        put(f"pyro.poutine.log_prob.{name}", trace.nodes[name]["log_prob"])
    put("pyro.poutine.log_prob_sum", trace.log_prob_sum())
    first = trace
    fixed = {"w": torch.tensor([1.0, -1.0, 0.5]), "b": torch.tensor(0.2),
             "sigma": torch.tensor(0.7)}
    conditioned = poutine.condition(bayes_model, data=fixed)
    trace = poutine.trace(conditioned).get_trace(x, y)
    put("pyro.poutine.cond_log_prob_sum", trace.log_prob_sum())
    # Gradient of the joint log density with respect to the latent values.
    w = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    conditioned = poutine.condition(bayes_model, data={**fixed, "w": w})
    poutine.trace(conditioned).get_trace(x, y).log_prob_sum().backward()
    put("pyro.poutine.grad_w", w.grad)
    scaled = poutine.scale(poutine.condition(bayes_model, data=fixed), scale=0.5)
    put("pyro.poutine.scaled", poutine.trace(scaled).get_trace(x, y).log_prob_sum())
    replayed = poutine.replay(bayes_model, trace=first)
    put("pyro.poutine.replay_w", poutine.trace(replayed).get_trace(x, y).nodes["w"]["value"])


@part("pyro.enum")
def pyro_enum():
    import pyro
    import pyro.distributions as dist
    import pyro.optim
    from pyro import poutine
    from pyro.infer import SVI, TraceEnum_ELBO, config_enumerate
    from pyro.infer.autoguide import AutoDelta
    g = torch.Generator().manual_seed(4)
    data = torch.cat([torch.randn(15, generator=g) - 2.0, torch.randn(15, generator=g) + 2.0])

    @config_enumerate
    def mixture(data):
        weights = pyro.sample("weights", dist.Dirichlet(torch.ones(2)))
        with pyro.plate("components", 2):
            locs = pyro.sample("locs", dist.Normal(0.0, 5.0))
        scale = pyro.sample("scale", dist.LogNormal(0.0, 1.0))
        with pyro.plate("data", len(data)):
            assignment = pyro.sample("assignment", dist.Categorical(weights))
            pyro.sample("obs", dist.Normal(locs[assignment], scale), obs=data)

    pyro.clear_param_store()
    pyro.set_rng_seed(6)
    guide = AutoDelta(poutine.block(mixture, expose=["weights", "locs", "scale"]),
                      init_loc_fn=lambda site: {"weights": torch.ones(2) / 2,
                                                "locs": torch.tensor([-1.0, 1.0]),
                                                "scale": torch.tensor(1.0)}[site["name"]])
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    svi = SVI(mixture, guide, pyro.optim.Adam({"lr": 0.1}), loss=elbo)
    put("pyro.enum.losses", np.array([svi.step(data) for _ in range(15)]))
    for key, value in sorted(guide.median(data).items()):
        put(f"pyro.enum.median.{key}", value)
    # Differentiable loss with gradients.
    loss = elbo.differentiable_loss(mixture, guide, data)
    loss.backward()
    put("pyro.enum.dloss", loss)
    store = pyro.get_param_store()
    for key in sorted(store.keys()):
        put(f"pyro.enum.grad.{key}", store[key].unconstrained().grad)


@part("pyro.more")
def pyro_more():
    import pyro
    import pyro.distributions as dist
    import pyro.optim
    from pyro.infer import MCMC, NUTS, SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoMultivariateNormal
    from pyro.nn import PyroModule, PyroSample
    x, y = regression_data()

    class BayesianLinear(PyroModule):
        def __init__(self):
            super().__init__()
            self.linear = PyroModule[torch.nn.Linear](3, 1)
            self.linear.weight = PyroSample(dist.Normal(0.0, 1.0).expand([1, 3]).to_event(2))
            self.linear.bias = PyroSample(dist.Normal(0.0, 5.0).expand([1]).to_event(1))

        def forward(self, x, y=None):
            mean = self.linear(x).squeeze(-1)
            with pyro.plate("data", x.shape[0]):
                pyro.sample("obs", dist.Normal(mean, 0.3), obs=y)
            return mean

    pyro.clear_param_store()
    pyro.set_rng_seed(30)
    model = BayesianLinear()
    guide = AutoMultivariateNormal(model)
    svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.03}), loss=Trace_ELBO())
    put("pyro.more.mvn_losses", np.array([svi.step(x, y) for _ in range(10)]))
    put("pyro.more.mvn_scale_tril", guide.scale_tril)

    def small_model(y):
        mu = pyro.sample("mu", dist.Normal(0.0, 10.0))
        with pyro.plate("n", y.shape[0]):
            pyro.sample("y", dist.Normal(mu, 1.0), obs=y)

    pyro.set_rng_seed(31)
    mcmc = MCMC(NUTS(small_model), num_samples=8, warmup_steps=8, disable_progbar=True)
    mcmc.run(y[:10])
    put("pyro.more.nuts_mu", mcmc.get_samples()["mu"])


@part("pyro.elbos")
def pyro_elbos():
    import pyro
    import pyro.distributions as dist
    import pyro.optim
    from pyro.infer import SVI, RenyiELBO, Trace_ELBO, TraceGraph_ELBO
    x, y = regression_data()

    def guide(x, y=None):
        loc = pyro.param("w_loc", torch.zeros(3))
        scale = pyro.param("w_scale", torch.ones(3), constraint=dist.constraints.positive)
        pyro.sample("w", dist.Normal(loc, scale).to_event(1))
        b_loc = pyro.param("b_loc", torch.tensor(0.0))
        pyro.sample("b", dist.Normal(b_loc, 0.5))
        s_loc = pyro.param("s_loc", torch.tensor(0.0))
        pyro.sample("sigma", dist.LogNormal(s_loc, 0.3))

    elbos = {"graph": lambda: TraceGraph_ELBO(),
             "renyi": lambda: RenyiELBO(alpha=0.5, num_particles=2),
             "particles": lambda: Trace_ELBO(num_particles=3)}
    for name, make in elbos.items():
        pyro.clear_param_store()
        pyro.set_rng_seed(40)
        scheduler = pyro.optim.ExponentialLR({"optimizer": torch.optim.Adam,
                                              "optim_args": {"lr": 0.05}, "gamma": 0.9})
        svi = SVI(bayes_model, guide, scheduler, loss=make())
        losses = []
        for _ in range(6):
            losses.append(svi.step(x, y))
            scheduler.step()
        put(f"pyro.elbos.{name}.losses", np.array(losses))
        for key in ("w_loc", "w_scale", "b_loc"):
            put(f"pyro.elbos.{name}.{key}", pyro.param(key))


@part("pyro.dist")
def pyro_dist():
    import pyro.distributions as dist
    # pyro patches torch.<path> names after asserting torch.__name__ == "torch".
    put("pyro.dist.torch_name", np.array(float(torch.__name__ == "torch")))
    put("pyro.dist.patched", np.array(float(hasattr(torch.distributions.HalfCauchy.log_prob,
                                                    "_pyro_unpatched"))))
    torch.manual_seed(7)
    value = torch.tensor([0.3, 1.2, 2.5])
    cases = {
        "normal": dist.Normal(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 0.5, 2.0])),
        "gamma": dist.Gamma(torch.tensor([2.0, 3.0, 1.5]), torch.tensor([1.0, 2.0, 0.5])),
        "lognormal": dist.LogNormal(0.1, 0.8),
        "studentt": dist.StudentT(4.0, 0.5, 1.5),
        "halfcauchy": dist.HalfCauchy(1.3),
        "beta": dist.Beta(2.0, 3.0),
        "exponential": dist.Exponential(1.7),
        "laplace": dist.Laplace(0.2, 0.9),
    }
    for name, d in cases.items():
        v = value if name != "beta" else value / 3.0
        put(f"pyro.dist.{name}.log_prob", d.log_prob(v))
        put(f"pyro.dist.{name}.sample_shape", np.array(d.sample((4,)).shape))
        if name in ("normal", "lognormal", "laplace", "exponential"):
            torch.manual_seed(8)
            put(f"pyro.dist.{name}.rsample", d.rsample((3,)))
    mvn = dist.MultivariateNormal(torch.zeros(3), scale_tril=torch.tensor(
        [[1.0, 0.0, 0.0], [0.5, 1.2, 0.0], [-0.3, 0.2, 0.8]]))
    put("pyro.dist.mvn.log_prob", mvn.log_prob(value))
    put("pyro.dist.mvn.entropy", mvn.entropy())
    cat = dist.Categorical(logits=torch.tensor([0.1, -0.5, 1.0]))
    put("pyro.dist.cat.enumerate", cat.enumerate_support())
    put("pyro.dist.cat.log_prob", cat.log_prob(torch.tensor([0, 2, 1])))
    ind = dist.Normal(torch.zeros(2, 3), 1.0).to_event(1)
    put("pyro.dist.ind.shapes", np.array([*ind.batch_shape, -1, *ind.event_shape]))
    put("pyro.dist.ind.log_prob", ind.log_prob(torch.ones(2, 3)))
    masked = dist.Normal(torch.zeros(3), 1.0).mask(torch.tensor([True, False, True]))
    put("pyro.dist.masked", masked.log_prob(value))
    delta = dist.Delta(torch.tensor(1.5))
    put("pyro.dist.delta", delta.log_prob(torch.tensor(1.5)))
    put("pyro.dist.kl", torch.distributions.kl_divergence(
        dist.Normal(0.0, 1.0), dist.Normal(1.0, 2.0)))
    zinb = dist.ZeroInflatedPoisson(torch.tensor(2.0), gate=torch.tensor(0.3))
    put("pyro.dist.zip", zinb.log_prob(torch.tensor([0.0, 1.0, 3.0])))


@part("zuko")
def zuko_flows():
    import zuko
    torch.manual_seed(10)
    x = torch.randn(64, 3) @ torch.tensor([[1.0, 0.3, 0.0], [0.0, 1.0, -0.4], [0.2, 0.0, 0.7]])
    c = torch.randn(64, 2)
    flows = {"maf": lambda: zuko.flows.MAF(3, 2, transforms=2, hidden_features=(16, 16)),
             "nsf": lambda: zuko.flows.NSF(3, 2, transforms=2, hidden_features=(16, 16)),
             "realnvp": lambda: zuko.flows.NICE(3, 2, transforms=2, hidden_features=(16, 16))}
    for name, make in flows.items():
        torch.manual_seed(11)
        flow = make()
        optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3)
        losses = []
        for _ in range(5):
            loss = -flow(c).log_prob(x).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"zuko.{name}.losses", np.array(losses))
        put(f"zuko.{name}.log_prob", flow(c[:5]).log_prob(x[:5]))
        torch.manual_seed(12)
        sample = flow(c[:4]).sample()
        put(f"zuko.{name}.sample", sample)
        torch.manual_seed(12)
        s2, lp2 = flow(c[:4]).rsample_and_log_prob()
        put(f"zuko.{name}.rsample_lp", lp2)
        put(f"zuko.{name}.grad0", next(flow.parameters()).grad)


@part("zuko.more")
def zuko_more():
    import zuko
    torch.manual_seed(13)
    x = torch.randn(32, 2) * torch.tensor([1.0, 0.5]) + torch.tensor([0.3, -0.2])
    flows = {"nsf_uncond": lambda: zuko.flows.NSF(2, transforms=2, hidden_features=(8, 8)),
             "ncsf": lambda: zuko.flows.NCSF(2, transforms=1, hidden_features=(8, 8)),
             "sospf": lambda: zuko.flows.SOSPF(2, transforms=1, hidden_features=(8, 8)),
             "bpf": lambda: zuko.flows.BPF(2, transforms=1, hidden_features=(8, 8)),
             "naf": lambda: zuko.flows.NAF(2, transforms=1, hidden_features=(8, 8),
                                           signal=4, network={"hidden_features": (8,)}),
             "unaf": lambda: zuko.flows.UNAF(2, transforms=1, hidden_features=(8, 8),
                                             signal=4, network={"hidden_features": (8,)}),
             "cnf": lambda: zuko.flows.CNF(2, hidden_features=(8, 8)),
             "gmm": lambda: zuko.flows.GMM(2, components=3),
             "gf": lambda: zuko.flows.GF(2, components=2)}
    for name, make in flows.items():
        try:
            torch.manual_seed(14)
            flow = make()
            data = x.remainder(2 * np.pi) if name == "ncsf" else x
            loss = -flow().log_prob(data).mean()
            loss.backward()
            put(f"zuko.more.{name}.loss", loss)
            grads = [p.grad for p in flow.parameters() if p.grad is not None]
            put(f"zuko.more.{name}.grad_norm", torch.stack([g.norm() for g in grads]))
            torch.manual_seed(15)
            put(f"zuko.more.{name}.sample", flow().sample((3,)))
        except Exception as error:  # noqa: BLE001 - recorded and compared
            ERR[f"ERR.zuko.more.{name}"] = f"{type(error).__name__}: {error}"
            traceback.print_exc()


@part("nflows")
def nflows_flows():
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.nn.nets import ResidualNet
    from nflows.transforms.autoregressive import (
        MaskedAffineAutoregressiveTransform,
        MaskedPiecewiseRationalQuadraticAutoregressiveTransform,
    )
    from nflows.transforms.base import CompositeTransform
    from nflows.transforms.coupling import AffineCouplingTransform
    from nflows.transforms.permutations import ReversePermutation
    torch.manual_seed(20)
    x = torch.randn(32, 4) * torch.tensor([1.0, 0.5, 2.0, 1.0]) + 0.3

    def coupling_net(in_features, out_features):
        return ResidualNet(in_features, out_features, hidden_features=8, num_blocks=1)

    makers = {
        "maf": lambda: [MaskedAffineAutoregressiveTransform(features=4, hidden_features=8),
                        ReversePermutation(features=4),
                        MaskedAffineAutoregressiveTransform(features=4, hidden_features=8)],
        "nsf": lambda: [MaskedPiecewiseRationalQuadraticAutoregressiveTransform(
            features=4, hidden_features=8, num_bins=4, tails="linear", tail_bound=3.0)],
        "realnvp": lambda: [AffineCouplingTransform(torch.tensor([1, 0, 1, 0]), coupling_net),
                            ReversePermutation(features=4),
                            AffineCouplingTransform(torch.tensor([1, 0, 1, 0]), coupling_net)],
    }
    for name, make in makers.items():
        torch.manual_seed(21)
        flow = Flow(CompositeTransform(make()), StandardNormal(shape=[4]))
        optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3)
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = -flow.log_prob(inputs=x).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"nflows.{name}.losses", np.array(losses))
        put(f"nflows.{name}.log_prob", flow.log_prob(x[:5]))
        torch.manual_seed(22)
        put(f"nflows.{name}.sample", flow.sample(3))
        noise = flow.transform_to_noise(x[:3])
        put(f"nflows.{name}.noise", noise)


SECTIONS = {"pyro": [pyro_svi, pyro_poutine, pyro_enum, pyro_more, pyro_elbos, pyro_dist],
            "zuko": [zuko_flows, zuko_more],
            "nflows": [nflows_flows]}


if __name__ == "__main__":
    out_path = sys.argv[1]
    chosen = sys.argv[2].split(",") if len(sys.argv) > 2 else list(SECTIONS)
    for section in chosen:
        for run in SECTIONS[section]:
            run()
    np.savez(out_path, **OUT, **{k: np.array(v) for k, v in ERR.items()})
