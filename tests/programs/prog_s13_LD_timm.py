"""Probe program (LD, session 13): timm's optimizers and schedulers beyond the seven and four
that session 10 ran (prog_s10_V1_timm.py), each stepping a small float64 network from one
seed; every number goes to an .npz.

Run as ``python prog_s13_LD_timm.py OUT.npz [PARTS]`` with ``.venv/tv-extra`` on PYTHONPATH,
on the real PyTorch or under ``python -m deltagrad run`` unchanged (prog_s13_LD_fastai.py
imports it, so that one process runs both); ``test_s13_LD_tv_libs.py`` compares the two.
"""
import contextlib
import sys

import numpy as np
import torch
import tv_common
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

OPTIMIZERS = {
    "adafactor": {}, "adafactorbv": {}, "adamp": {}, "adan": {}, "adopt": {}, "adoptw": {},
    "lamb": {"foreach": False}, "lambc": {}, "lars": {}, "larc": {}, "laprop": {},
    "lookahead_adamw": {}, "madgrad": {}, "mars": {}, "nadam": {}, "novograd": {},
    "rmsproptf": {}, "sgdp": {}, "sgdw": {}, "adamw": {"foreach": True},
    "cadamw": {}, "clion": {}, "kron": {"preconditioner_update_probability": 1.0},
    "muon": {}, "adamuon": {}, "adahessian": {},
}


def small_network():
    torch.manual_seed(0)
    # (float64: a few steps of adaptive optimizers magnify float32 rounding)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LayerNorm(8), torch.nn.GELU(),
                               torch.nn.Linear(8, 8), torch.nn.GELU(),
                               torch.nn.Linear(8, 3)).double()


def run_optimizer(name):
    # PyTorch's side runs torch.compile'd helpers (Kron's four) eagerly, as deltagrad's
    # torch.compile does: their inductor build cost ~9.4 of the side's ~15 CPU s (alone, session
    # 18) and the numbers compared came out bit-identical either way.
    real_torch = "deltagrad" not in sys.modules
    with torch.compiler.set_stance("force_eager") if real_torch else contextlib.nullcontext():
        _run_optimizer(name)


def _run_optimizer(name):
    from timm.optim import create_optimizer_v2

    model = small_network()
    optimizer = create_optimizer_v2(model, name, lr=0.01, weight_decay=0.05,
                                    **OPTIMIZERS[name])
    x = torch.from_numpy(np.random.default_rng(2).standard_normal((5, 6)))
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = model(x).square().mean()
        loss.backward(create_graph=name == "adahessian")
        optimizer.step()
        losses.append(loss.item())
    put(f"optim.{name}.losses", np.array(losses))
    put(f"optim.{name}.params", torch.cat([p.detach().flatten() for p in model.parameters()]))
    put(f"optim.{name}.groups", len(optimizer.param_groups))
    state = optimizer.state_dict()["state"]
    tensors = [value for entry in state.values() for value in entry.values()
               if isinstance(value, torch.Tensor) and value.is_floating_point()]
    put(f"optim.{name}.state_sum", sum(float(t.double().abs().sum()) for t in tensors))


for _name in OPTIMIZERS:
    part(f"optim.{_name}", "timm")(lambda _name=_name: run_optimizer(_name))


@part("scheduler", "timm")
def scheduler_part():
    from timm.scheduler import (
        MultiStepLRScheduler,
        PlateauLRScheduler,
        PolyLRScheduler,
        TanhLRScheduler,
        create_scheduler_v2,
    )

    makers = {
        "multistep": lambda o: MultiStepLRScheduler(o, decay_t=[2, 5], decay_rate=0.3,
                                                    warmup_t=1, warmup_lr_init=1e-3),
        "plateau": lambda o: PlateauLRScheduler(o, decay_rate=0.5, patience_t=1,
                                                warmup_t=2, warmup_lr_init=1e-3),
        "poly": lambda o: PolyLRScheduler(o, t_initial=8, power=2.0, lr_min=1e-4,
                                          cycle_limit=2, cycle_decay=0.5),
        "tanh": lambda o: TanhLRScheduler(o, t_initial=8, lr_min=1e-4, warmup_t=1,
                                          warmup_lr_init=1e-3),
        "v2_tanh": lambda o: create_scheduler_v2(o, "tanh", num_epochs=8, warmup_epochs=1)[0],
        "v2_poly_steps": lambda o: create_scheduler_v2(o, "poly", num_epochs=4,
                                                       step_on_epochs=False,
                                                       updates_per_epoch=3)[0],
    }
    for name, make in makers.items():
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1,
                                    momentum=0.9)
        scheduler = make(optimizer)
        lrs = []
        for epoch in range(8):
            lrs.append(optimizer.param_groups[0]["lr"])
            if name.endswith("_steps"):
                scheduler.step_update(epoch + 1)
            else:
                scheduler.step(epoch + 1, metric=1.0 / (epoch + 1) if epoch < 3 else 1.0)
        put(f"scheduler.{name}", np.array(lrs))
        restored = make(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
        restored.load_state_dict(scheduler.state_dict())
        put(f"scheduler.{name}.state", np.array(sorted(scheduler.state_dict())))


if __name__ == "__main__":
    main()
