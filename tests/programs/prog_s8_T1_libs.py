"""Probe program (T1): torch-optimizer, lion-pytorch, ema-pytorch, torchdiffeq and einops used
the way their READMEs do, seeded and small; every number goes to an .npz.

Run as ``python prog_s8_T1_libs.py OUT.npz SECTIONS`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s8_T1_third_party.py`` compares the two. An
exception in a part is recorded as ``ERR.<part>`` (the other parts still run).
"""
import copy
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


def mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def data(seed, n=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g)


def torch_optimizer_section():
    import torch_optimizer as optim
    cases = {
        "A2GradExp": dict(lips=2.0, beta=1e-3), "A2GradInc": dict(lips=5.0, beta=1e-3),
        "A2GradUni": dict(lips=5.0, beta=1e-3), "AccSGD": dict(lr=1e-2),
        "AdaBelief": dict(lr=1e-2, weight_decay=1e-3), "AdaBound": dict(lr=1e-2),
        "AdaMod": dict(lr=1e-2), "Adafactor": dict(lr=None), "AdamP": dict(lr=1e-2),
        "AggMo": dict(lr=1e-2), "Apollo": dict(lr=1e-2, warmup=3), "DiffGrad": dict(lr=1e-2),
        "LARS": dict(lr=1e-2), "Lamb": dict(lr=1e-2), "MADGRAD": dict(lr=1e-2),
        "NovoGrad": dict(lr=1e-2), "PID": dict(lr=1e-2), "QHAdam": dict(lr=1e-2),
        "QHM": dict(lr=1e-2), "RAdam": dict(lr=1e-2), "Ranger": dict(lr=1e-2),
        "RangerQH": dict(lr=1e-2), "RangerVA": dict(lr=1e-2), "SGDP": dict(lr=1e-2),
        "SGDW": dict(lr=1e-2, momentum=0.9), "SWATS": dict(lr=1e-2), "Yogi": dict(lr=1e-2),
        "Lookahead": None,
    }
    x, y = data(1)
    for name, kwargs in cases.items():
        try:
            model = mlp(0)
            if name == "Lookahead":
                opt = optim.Lookahead(optim.Yogi(model.parameters(), lr=1e-2), k=3, alpha=0.5)
            else:
                opt = getattr(optim, name)(model.parameters(), **kwargs)
            losses = []
            for _ in range(12):
                opt.zero_grad()
                loss = F.mse_loss(model(x), y)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            put(f"topt.{name}.losses", np.array(losses))
            for pname, p in model.named_parameters():
                put(f"topt.{name}.{pname}", p)
            # checkpoint round trip (deep copy: PyTorch shares live state tensors otherwise)
            if name != "Lookahead":
                saved = copy.deepcopy(opt.state_dict())
                model2 = mlp(5)
                model2.load_state_dict(model.state_dict())
                opt2 = getattr(optim, name)(model2.parameters(), **kwargs)
                opt2.load_state_dict(saved)
                for m, o in ((model, opt), (model2, opt2)):
                    for _ in range(3):
                        o.zero_grad()
                        F.mse_loss(m(x), y).backward()
                        o.step()
                for (pname, p), p2 in zip(model.named_parameters(), model2.parameters()):
                    put(f"topt.{name}.resumed.{pname}", p2)
                    put(f"topt.{name}.cont.{pname}", p)
        except Exception as e:  # noqa: BLE001
            ERR[f"topt.{name}"] = f"{type(e).__name__}: {e}"
    # two groups with different options (RAdam shares a cache list between groups)
    model = mlp(0)
    opt = optim.RAdam([{"params": model[0].parameters(), "lr": 3e-2},
                       {"params": model[2].parameters()}], lr=1e-2)
    for _ in range(6):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
    put("topt.groups.w0", model[0].weight)
    put("topt.groups.w2", model[2].weight)


def lion_section():
    from lion_pytorch import Lion
    x, y = data(2)
    for tag, kwargs in {"plain": dict(lr=1e-3), "wd": dict(lr=3e-3, weight_decay=0.1),
                        "decoupled": dict(lr=3e-3, weight_decay=1e-2,
                                          decoupled_weight_decay=True,
                                          betas=(0.95, 0.98))}.items():
        model = mlp(3)
        opt = Lion(model.parameters(), **kwargs)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        losses = []
        for _ in range(10):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        put(f"lion.{tag}.losses", np.array(losses))
        for pname, p in model.named_parameters():
            put(f"lion.{tag}.{pname}", p)
        put(f"lion.{tag}.exp_avg", opt.state[model[0].weight]["exp_avg"])


def ema_section():
    from ema_pytorch import EMA
    x, y = data(3)
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(4, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    ema = EMA(net, beta=0.9, update_after_step=2, update_every=2, inv_gamma=1.0, power=0.75)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(12):
        opt.zero_grad()
        F.mse_loss(net(x), y).backward()
        opt.step()
        ema.update()
    put("ema.step", ema.step)
    put("ema.decay", torch.tensor(ema.get_current_decay()))
    for name, p in ema.ema_model.named_parameters():
        put(f"ema.param.{name}", p)
    for name, b in ema.ema_model.named_buffers():
        put(f"ema.buffer.{name}", b)
    ema.eval()
    put("ema.out", ema(x))
    state = ema.state_dict()
    ema2 = EMA(net, beta=0.9, update_after_step=2, update_every=2)
    ema2.load_state_dict(state)
    put("ema.reloaded", ema2(x))
    ema.copy_params_from_ema_to_model()
    net.eval()
    put("ema.copied", net(x))


def odeint_section():
    from torchdiffeq import odeint, odeint_adjoint

    class Spiral(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(11)
            self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))

        def forward(self, t, y):
            return self.net(y) - 0.5 * y + 0.1 * torch.sin(t)

    func = Spiral()
    y0 = torch.tensor([[2.0, 0.0], [0.5, -1.0]])
    t = torch.linspace(0.0, 1.0, 6)
    for method, opts in [("dopri5", {}), ("rk4", dict(step_size=0.05)),
                         ("euler", dict(step_size=0.05)), ("midpoint", dict(step_size=0.05)),
                         ("bosh3", {}), ("adaptive_heun", {}), ("dopri8", {}),
                         ("explicit_adams", dict(step_size=0.05)),
                         ("fehlberg2", {}), ("heun3", dict(step_size=0.05))]:
        try:
            ys = odeint(func, y0, t, method=method, rtol=1e-5, atol=1e-6, options=opts)
            put(f"ode.{method}", ys)
        except Exception as e:  # noqa: BLE001
            ERR[f"ode.{method}"] = f"{type(e).__name__}: {e}"
    for part in (_ode_direct, _ode_adjoint, _ode_event):
        try:
            part(func, y0, t, odeint, odeint_adjoint)
        except Exception as e:  # noqa: BLE001
            ERR[f"ode.{part.__name__}"] = f"{type(e).__name__}: {e}"


def _ode_direct(func, y0, t, odeint, odeint_adjoint):
    y0g = y0.clone().requires_grad_(True)
    ys = odeint(func, y0g, t, rtol=1e-6, atol=1e-7)
    loss = (ys[-1] ** 2).sum()
    grads = torch.autograd.grad(loss, [y0g, *func.parameters()])
    for i, g in enumerate(grads):
        put(f"ode.direct.grad{i}", g)


def _ode_adjoint(func, y0, t, odeint, odeint_adjoint):
    y0a = y0.clone().requires_grad_(True)
    ys = odeint_adjoint(func, y0a, t, rtol=1e-6, atol=1e-7)
    loss = (ys[-1] ** 2).sum()
    loss.backward()
    put("ode.adjoint.y", ys)
    put("ode.adjoint.grad_y0", y0a.grad)
    for name, p in func.named_parameters():
        put(f"ode.adjoint.grad.{name}", p.grad)


def _ode_event(func, y0, t, odeint, odeint_adjoint):
    def event_fn(t, y):
        return y[0, 0] - 1.0
    from torchdiffeq import odeint_event
    event_t, sol = odeint_event(func, y0, torch.tensor(0.0), event_fn=event_fn,
                                reverse_time=False, odeint_interface=odeint, rtol=1e-6,
                                atol=1e-7)
    put("ode.event_t", event_t)
    put("ode.event_y", sol[-1])


def einops_section():
    from einops import einsum, pack, parse_shape, rearrange, reduce, repeat, unpack
    from einops.layers.torch import EinMix, Rearrange, Reduce
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 4, 6, generator=g, requires_grad=True)
    a = rearrange(x, "b c (h h2) (w w2) -> b (h w) (c h2 w2)", h2=2, w2=2)
    b = reduce(x, "b c (h 2) (w 3) -> b c h w", "max")
    c = repeat(x[:, 0], "b h w -> b h (w r) k", r=2, k=3)
    d = reduce(x, "b c h w -> c", "mean")
    e = einsum(x, x, "b c h w, b c h w2 -> b w w2")
    p, ps = pack([x[:, 0], x.mean(1, keepdim=True).squeeze(1), x[..., :2].sum(-1)], "b *")
    u1, u2, u3 = unpack(p, ps, "b *")
    total = a.sum() + (b ** 2).sum() + c.std() + d.prod() + e.sum() / 10 + (u3 * 2).sum()
    total.backward()
    for k, v in dict(a=a, b=b, c=c, d=d, e=e, p=p, u3=u3, grad=x.grad).items():
        put(f"einops.{k}", v)
    put("einops.shape", np.array(list(parse_shape(x, "b _ h w").values())))
    torch.manual_seed(5)
    model = nn.Sequential(
        Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=2, p2=2),
        nn.Linear(12, 8),
        EinMix("b t c -> b t d", weight_shape="c d", bias_shape="d", c=8, d=5),
        Reduce("b t d -> b d", "mean"),
    )
    out = model(x.detach())
    out.square().sum().backward()
    put("einops.model.out", out)
    for name, p in model.named_parameters():
        put(f"einops.model.grad.{name}", p.grad)


SECTIONS = dict(topt=torch_optimizer_section, lion=lion_section, ema=ema_section,
                ode=odeint_section, einops=einops_section)

if __name__ == "__main__":
    out_path, names = sys.argv[1], sys.argv[2].split(",")
    for section in names:
        try:
            SECTIONS[section]()
        except Exception as e:  # noqa: BLE001
            import traceback
            ERR[section] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
    for k, v in ERR.items():
        OUT["ERR." + k] = np.array(v)
    np.savez(out_path, **OUT)
