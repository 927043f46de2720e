"""Libraries whose source distributions ship no tests (or tests that cannot run: geomloss
0.3.1's two test files import helper modules its sdist leaves out), run through their public
API under PyTorch and under the alias (LE6, session 21): FrEIA 0.2 (every invertible module,
forward / inverse / log-determinant / gradients), torchcde 0.2.5 (its interpolations with
missing values, derivatives, cdeint with and without the adjoint), geomloss 0.3.1 (its new
``geomloss.ot`` solvers: plans, potentials, gradients), mup 1.0.0 (base shapes, MuReadout,
the mu optimizers), lion-pytorch 0.2.5, pytorch-crf 0.7.2 and torchdiffeq 0.2.5 (each solver,
the adjoint, events, jump times).

Usage: ``prog_s21_LE6_libs.py OUT.npz [SECTIONS]`` (comma-separated; all when absent).
"""

import warnings

import torch
from prog_s17_PG_harness import put, run

warnings.filterwarnings("ignore")


def _grads(key: str, module: torch.nn.Module) -> None:
    for name, parameter in module.named_parameters():
        if parameter.grad is not None:
            put(f"{key}.grad.{name}", parameter.grad)


# --- FrEIA ------------------------------------------------------------------------------------

def _fc(cin, cout):
    return torch.nn.Sequential(torch.nn.Linear(cin, 16), torch.nn.Tanh(), torch.nn.Linear(16, cout))


def _conv(cin, cout):
    return torch.nn.Sequential(torch.nn.Conv2d(cin, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, cout, 3, padding=1))


def _freia_case(key, blocks, shape, cond_shape=None):
    """A SequenceINN of ``blocks`` ((class, kwargs, conditioned)) on inputs of ``shape``:
    its output, log-determinant, inverse, and the gradients of a loss through both ways."""
    import FrEIA.framework as Ff

    torch.manual_seed(0)
    inn = Ff.SequenceINN(*shape)
    for block, kwargs, conditioned in blocks:
        if conditioned:
            inn.append(block, cond=0, cond_shape=cond_shape, **kwargs)
        else:
            inn.append(block, **kwargs)
    x = torch.randn(4, *shape, requires_grad=True)
    c = [torch.randn(4, *cond_shape)] if cond_shape else None
    z, logdet = inn(x, c=c) if c else inn(x)
    logdet = torch.as_tensor(logdet)  # (a number where every block's is)
    put(f"{key}.z", z)
    put(f"{key}.logdet", logdet)
    (z.square().sum() / 2 - logdet.sum()).backward()
    put(f"{key}.grad_x", x.grad)
    _grads(key, inn)
    inn.zero_grad()
    x_re, logdet_re = inn(z.detach(), c=c, rev=True) if c else inn(z.detach(), rev=True)
    put(f"{key}.x_re", x_re)
    put(f"{key}.logdet_re", torch.as_tensor(logdet_re))
    if x_re.requires_grad:
        x_re.square().sum().backward()
    _grads(f"{key}.rev", inn)


def freia_couplings() -> None:
    import FrEIA.modules as Fm

    sub = {"subnet_constructor": _fc}
    for name in ("NICECouplingBlock", "RNVPCouplingBlock", "GLOWCouplingBlock",
                 "GINCouplingBlock", "AffineCouplingOneSided"):
        block = getattr(Fm, name)
        _freia_case(f"freia.{name}", [(block, sub, False), (Fm.PermuteRandom, {"seed": 1}, False),
                                      (block, sub, False)], (6,))
        _freia_case(f"freia.{name}.cond", [(block, sub, True)], (6,), (3,))
    _freia_case("freia.glow_tanh", [(Fm.GLOWCouplingBlock, {**sub, "clamp_activation": "TANH",
                                                            "split_len": 2}, False)], (5,))
    _freia_case("freia.cat", [(Fm.ConditionalAffineTransform, sub, True)], (4,), (2,))
    allinone = {**sub, "affine_clamping": 1.5, "gin_block": False,
                "learned_householder_permutation": 2, "reverse_permutation": True}
    _freia_case("freia.allinone", [(Fm.AllInOneBlock, allinone, False)], (6,))
    allinone = {**sub, "global_affine_type": "SOFTPLUS", "permute_soft": True}
    _freia_case("freia.allinone_cond", [(Fm.AllInOneBlock, allinone, True)], (6,), (3,))
    _freia_case("freia.allinone_conv", [(Fm.AllInOneBlock, {"subnet_constructor": _conv,
                                                             "global_affine_type": "EXP"}, False)],
                (4, 6, 6))
    _freia_case("freia.glow_conv", [(Fm.GLOWCouplingBlock, {"subnet_constructor": _conv}, False),
                                    (Fm.RNVPCouplingBlock, {"subnet_constructor": _conv}, False)],
                (4, 6, 6))


def freia_others() -> None:
    import FrEIA.modules as Fm

    image = (4, 6, 6)
    cases = {
        "haar": [(Fm.HaarDownsampling, {}, False), (Fm.HaarUpsampling, {}, False)],
        "haar_rebalance": [(Fm.HaarDownsampling, {"order_by_wavelet": True, "rebalance": 0.5},
                            False)],
        "irevnet": [(Fm.IRevNetDownsampling, {}, False), (Fm.IRevNetUpsampling, {}, False)],
        "actnorm": [(Fm.ActNorm, {}, False)],
        "scaling": [(Fm.LearnedElementwiseScaling, {}, False)],
        "fixed1x1": [(Fm.Fixed1x1Conv, {"M": torch.eye(4) + 0.1 * torch.ones(4, 4)}, False)],
        "invauto": [(Fm.InvAutoActTwoSided, {}, False), (Fm.InvAutoAct, {}, False),
                    (Fm.InvAutoActFixed, {}, False)],
        "invautoconv": [(Fm.InvAutoConv2D, {"kernel_size": 3, "padding": 1}, False)],
    }
    for name, blocks in cases.items():
        _freia_case(f"freia.{name}", blocks, image)
    flat = {
        "fixedlinear": [(Fm.FixedLinearTransform, {"M": torch.eye(5) + 0.2 * torch.ones(5, 5),
                                                    "b": torch.arange(5.0)}, False)],
        "sigmoid": [(Fm.InvertibleSigmoid, {}, False)],
        "householder": [(Fm.HouseholderPerm, {"n_reflections": 3}, False)],
        "invautofc": [(Fm.InvAutoFC, {}, False)],
        "iresnet": [(Fm.IResNetLayer, {"internal_size": 8, "n_internal_layers": 2,
                                        "jacobian_iterations": 6, "hutchinson_samples": 2,
                                        "fixed_point_iterations": 10, "lipschitz_iterations": 4,
                                        "spectral_norm_max": 0.8}, False)],
    }
    for name, blocks in flat.items():
        _freia_case(f"freia.{name}", blocks, (5,))
    # OrthogonalTransform starts from the SVD of a random matrix: in float32 LAPACK's singular
    # vectors differ between builds by ~20 ulp (MKL in PyTorch, OpenBLAS in NumPy: 1.9e-6 here),
    # which its gradients carry; in float64 they agree.
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _freia_case("freia.orthogonal64", [(Fm.OrthogonalTransform, {}, False)], (5,))
    finally:
        torch.set_default_dtype(default)


def freia_graph() -> None:
    """A GraphINN with Split / Concat / Flatten / Reshape and a condition node."""
    import FrEIA.framework as Ff
    import FrEIA.modules as Fm

    torch.manual_seed(0)
    inp = Ff.InputNode(3, 4, 4, name="in")
    cond = Ff.ConditionNode(2, name="c")
    split = Ff.Node(inp, Fm.Split, {"section_sizes": [1, 2], "dim": 0})
    flat1 = Ff.Node(split.out0, Fm.Flatten, {})
    perm = Ff.Node(flat1, Fm.PermuteRandom, {"seed": 3})
    flat2 = Ff.Node(split.out1, Fm.Flatten, {})
    coupling = Ff.Node(flat2, Fm.GLOWCouplingBlock, {"subnet_constructor": _fc},
                       conditions=cond)
    concat = Ff.Node([perm.out0, coupling.out0], Fm.Concat, {"dim": 0})
    out = Ff.OutputNode(concat)
    graph = Ff.GraphINN([inp, cond, split, flat1, perm, flat2, coupling, concat, out])
    x, c = torch.randn(5, 3, 4, 4), torch.randn(5, 2)
    z, logdet = graph(x, c=[c])
    put("fgraph.z", z)
    put("fgraph.logdet", logdet)
    (z.square().sum() - logdet.sum()).backward()
    # (by node, not by the graph's module list: FrEIA orders that list from sets of nodes,
    # which hash by address, so it changes from run to run)
    _grads("fgraph.coupling", coupling.module)
    x_re, _ = graph(z.detach(), c=[c], rev=True)
    put("fgraph.x_re", x_re)
    jac = graph.log_jacobian_numerical(x[:2], c=[c[:2]], h=1e-3)
    put("fgraph.numerical", jac)


# --- torchcde ---------------------------------------------------------------------------------

def torchcde_interpolations() -> None:
    import torchcde

    torch.manual_seed(0)
    t = torch.linspace(0, 3, 9, dtype=torch.float64)
    x = torch.randn(2, 9, 3, dtype=torch.float64).cumsum(1)
    holes = x.clone()
    holes[0, 2, 1] = holes[0, 3, 1] = holes[1, 5, 0] = float("nan")
    points = torch.tensor([0.0, 0.4, 1.1, 1.5, 2.9, 3.0], dtype=torch.float64)
    makers = {
        "linear": (torchcde.linear_interpolation_coeffs, torchcde.LinearInterpolation),
        "natural": (torchcde.natural_cubic_coeffs, torchcde.CubicSpline),
        "natural_old": (torchcde.natural_cubic_spline_coeffs, torchcde.CubicSpline),
        "hermite": (torchcde.hermite_cubic_coefficients_with_backward_differences,
                    torchcde.CubicSpline),
    }
    for name, (coeffs_of, spline) in makers.items():
        for data_name, data in (("full", x), ("holes", holes)):
            key = f"cde.{name}.{data_name}"
            data = data.clone().requires_grad_(True)
            coeffs = coeffs_of(data, t)
            put(f"{key}.coeffs", coeffs)
            path = spline(coeffs, t)
            values = torch.stack([path.evaluate(p) for p in points])
            derivs = torch.stack([path.derivative(p) for p in points])
            put(f"{key}.values", values)
            put(f"{key}.derivs", derivs)
            put(f"{key}.interval", path.interval)
            put(f"{key}.grid", path.grid_points)
            (values.sin().sum() + derivs.square().sum()).backward()
            put(f"{key}.grad", data.grad)
    rect = torch.cat([t.expand(2, 9).unsqueeze(-1), x], -1)
    rect[0, 4, 2] = float("nan")
    put("cde.rectilinear", torchcde.linear_interpolation_coeffs(rect, rectilinear=0))
    put("cde.ffill", torchcde.misc.forward_fill(holes))


def torchcde_cdeint() -> None:
    import torchcde

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 4 * 3)

        def forward(self, t, z):
            return self.linear(z).tanh().view(*z.shape[:-1], 4, 3)

    # (float64: in float32 the adaptive solver's step choices amplify rounding to 5e-5)
    torch.manual_seed(0)
    t = torch.linspace(0, 1, 6, dtype=torch.float64)
    x = torch.randn(2, 6, 3, dtype=torch.float64).cumsum(1).requires_grad_(True)
    field = Field().double()
    z0 = torch.randn(2, 4, dtype=torch.float64)
    for adjoint in (False, True):
        for method, options in (("rk4", {"step_size": 0.1}), ("dopri5", {})):
            key = f"cdeint.{method}.{int(adjoint)}"
            field.zero_grad()
            x.grad = None
            path = torchcde.CubicSpline(torchcde.natural_cubic_coeffs(x, t), t)
            kwargs = {"adjoint_params": tuple(field.parameters()) + (x,)} if adjoint else {}
            zt = torchcde.cdeint(path, field, z0, path.interval, adjoint=adjoint,
                                 method=method, options=options, rtol=1e-5, atol=1e-7,
                                 **kwargs)
            put(f"{key}.z", zt)
            zt[:, -1].square().sum().backward()
            put(f"{key}.grad_x", x.grad)
            _grads(key, field)


# --- geomloss ---------------------------------------------------------------------------------

def geomloss_ot() -> None:
    from geomloss import ot

    torch.manual_seed(0)
    cost = torch.rand(5, 6, dtype=torch.float64)
    a = torch.rand(5, dtype=torch.float64) + 0.1
    b = torch.rand(6, dtype=torch.float64) + 0.1
    a, b = a / a.sum(), b / b.sum()
    for reg in (0.05, 0.5):
        for unbalanced in (None, 0.3, 2.0):
            key = f"ot.{reg}.{unbalanced}"
            c = cost.clone().requires_grad_(True)
            wa, wb = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
            result = ot.solve(c, a=wa, b=wb, reg=reg, unbalanced=unbalanced, max_iter=40)
            for name in ("value", "plan", "potential_a", "potential_b", "marginal_a",
                         "marginal_b"):
                put(f"{key}.{name}", getattr(result, name))
            grads = torch.autograd.grad(result.value, (c, wa, wb))
            put(f"{key}.grads", list(grads))
    batch = torch.rand(3, 4, 5, dtype=torch.float64, requires_grad=True)
    result = ot.solve_batch(batch, reg=0.1, max_iter=30)
    put("ot.batch.value", result.value)
    put("ot.batch.plan", result.plan)
    put("ot.batch.grad", torch.autograd.grad(result.value.sum(), batch)[0])
    xs = torch.randn(7, 2, dtype=torch.float64, requires_grad=True)
    ys = torch.randn(9, 2, dtype=torch.float64) + 1
    for reg in (0.05, 0.5):
        result = ot.solve_sample(xs, ys, reg=reg, max_iter=40)
        put(f"ot.sample.{reg}.value", result.value)
        put(f"ot.sample.{reg}.plan", result.plan)
        put(f"ot.sample.{reg}.grad", torch.autograd.grad(result.value, xs)[0])


# --- mup, lion, pytorch-crf ---------------------------------------------------------------------

def mup_training() -> None:
    from mup import MuAdam, MuAdamW, MuReadout, MuSGD, get_shapes, set_base_shapes

    class Net(torch.nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc1 = torch.nn.Linear(6, width)
            self.fc2 = torch.nn.Linear(width, width)
            self.out = MuReadout(width, 3, readout_zero_init=False, output_mult=2.0)

        def forward(self, x):
            return self.out(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    for opt_name, opt in (("adam", MuAdam), ("adamw", MuAdamW), ("sgd", MuSGD)):
        torch.manual_seed(0)
        model = Net(32)
        set_base_shapes(model, Net(8), delta=Net(16))
        put(f"mup.{opt_name}.widthmult", model.fc2.weight.infshape.width_mult())
        kwargs = {"momentum": 0.9} if opt_name == "sgd" else {}
        optimizer = opt(model.parameters(), lr=0.01, **kwargs)
        x, y = torch.randn(10, 6), torch.randint(0, 3, (10,))
        for _ in range(3):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            put(f"mup.{opt_name}.loss", loss)
        for name, parameter in model.named_parameters():
            put(f"mup.{opt_name}.{name}", parameter)
    put("mup.shapes", [torch.tensor(list(s)) for s in get_shapes(Net(4)).values()])


def lion_steps() -> None:
    from lion_pytorch import Lion
    from lion_pytorch.cautious_lion import Lion as CautiousLion
    from lion_pytorch.foreach import Lion as ForeachLion

    for index, (optimizer_class, options) in enumerate((
            (Lion, {}), (Lion, {"weight_decay": 0.1}),
            (Lion, {"betas": (0.95, 0.98), "decoupled_weight_decay": True,
                    "weight_decay": 0.05}),
            (ForeachLion, {"weight_decay": 0.1}),  # (the torch._foreach_* ops)
            (CautiousLion, {"weight_decay": 0.1}))):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.GELU(), torch.nn.Linear(7, 2))
        optimizer = optimizer_class(model.parameters(), lr=1e-2, **options)
        x = torch.randn(8, 5)
        for _ in range(4):
            optimizer.zero_grad()
            model(x).square().mean().backward()
            optimizer.step()
        key = f"lion.{index}"
        for name, parameter in model.named_parameters():
            put(f"{key}.{name}", parameter)


def crf_scores() -> None:
    from torchcrf import CRF

    torch.manual_seed(0)
    for batch_first in (False, True):
        crf = CRF(5, batch_first=batch_first)
        emissions = torch.randn(4, 3, 5, requires_grad=True)
        tags = torch.randint(0, 5, (4, 3))
        mask = torch.ones(4, 3, dtype=torch.bool)
        if batch_first:
            mask[0, 3:] = mask[2, 2:] = False
            mask = mask[:, :3]
        else:
            mask[2:, 1] = mask[3, 2] = False
        for reduction in ("none", "sum", "mean", "token_mean"):
            key = f"crf.{int(batch_first)}.{reduction}"
            for masked in (False, True):
                llh = crf(emissions, tags, mask=mask if masked else None, reduction=reduction)
                put(f"{key}.{int(masked)}", llh)
                grads = torch.autograd.grad(llh.sum(), [emissions, *crf.parameters()])
                put(f"{key}.{int(masked)}.grads", list(grads))
        for masked in (False, True):
            decoded = crf.decode(emissions, mask=mask if masked else None)
            put(f"crf.{int(batch_first)}.decode.{int(masked)}",
                [torch.tensor(path) for path in decoded])


# --- torchdiffeq --------------------------------------------------------------------------------

class _Field(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(),
                                       torch.nn.Linear(16, 3))

    def forward(self, t, y):
        return self.net(y) * torch.cos(t)


def torchdiffeq_solvers() -> None:
    import torchdiffeq

    torch.manual_seed(0)
    field = _Field().double()
    y0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    t = torch.linspace(0, 1, 4, dtype=torch.float64)
    methods = {"euler": {"step_size": 0.1}, "midpoint": {"step_size": 0.1},
               "rk4": {"step_size": 0.2}, "explicit_adams": {"step_size": 0.1},
               "implicit_adams": {"step_size": 0.2}, "dopri5": {}, "bosh3": {},
               "adaptive_heun": {}, "fehlberg2": {}, "dopri8": {},
               "heun3": {"step_size": 0.1}}
    for method, options in methods.items():
        for adjoint in (False, True):
            key = f"ode.{method}.{int(adjoint)}"
            field.zero_grad()
            y0.grad = None
            solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
            ys = solve(field, y0, t, method=method, options=options, rtol=1e-4, atol=1e-6)
            put(f"{key}.y", ys)
            ys.square().sum().backward()
            put(f"{key}.grad_y0", y0.grad)
            _grads(key, field)
    # perturbed / grid-constructed fixed steps, jump times, a tuple state
    ys = torchdiffeq.odeint(field, y0, t, method="rk4", options={"step_size": 0.2,
                                                                 "perturb": True})
    put("ode.perturb", ys)
    ys = torchdiffeq.odeint(field, y0, t, method="dopri5",
                            options={"jump_t": torch.tensor([0.7], dtype=torch.float64)})
    put("ode.jump", ys)

    def pair(t, state):
        a, b = state
        return b, -a * torch.sin(t)

    ys = torchdiffeq.odeint(pair, (y0, y0 * 2), t, method="dopri5")
    put("ode.tuple", list(ys))


def torchdiffeq_events() -> None:
    import torchdiffeq

    torch.manual_seed(0)
    field = _Field().double()
    y0 = torch.tensor([[0.5, -0.2, 0.3]], dtype=torch.float64, requires_grad=True)

    def event(t, y):
        return y.sum() - 0.9

    def falling(t, y):
        return torch.stack([y[..., 1], -y[..., 0] - 0.1 * y[..., 1]], -1).reshape(y.shape)

    ball = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)

    def hit(t, y):
        return y[0] + 0.5

    for name, func, start, fn in (("field", field, y0, event), ("ball", falling, ball, hit)):
        for adjoint in (False, True):
            solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
            params = (*field.parameters(), start) if name == "field" else (start,)
            kwargs = {"adjoint_params": params} if adjoint else {}
            span = torch.tensor([0.0, 20.0], dtype=torch.float64)
            t_event, y_event = solve(func, start, span, event_fn=fn, method="dopri5", **kwargs)
            key = f"event.{name}.{int(adjoint)}"
            put(f"{key}.t", t_event)
            put(f"{key}.y", y_event)
            grad = torch.autograd.grad(t_event + y_event[-1].sum(), start)[0]
            put(f"{key}.grad", grad)


SECTIONS = {name: function for name, function in globals().items()
            if callable(function) and not name.startswith("_") and function.__module__ == __name__
            and name not in ("put", "run")}

if __name__ == "__main__":
    run(SECTIONS)
