"""Optimizer and scheduler programs in the style of the widely copied comparisons (PG, session
18): every torch.optim optimizer, with its less common options, minimising the Rosenbrock
function from the same start (the "visualising optimizers" scripts), L-BFGS with a strong-Wolfe
line search and a closure, add_param_group in mid-training, frozen layers filtered out, the
"plot every learning-rate schedule" notebooks (fractional-epoch warm restarts, cyclic with
momentum cycling, one-cycle three-phase, plateau in max mode with cooldown and threshold_mode
abs), SWA with SWALR and update_bn, parameters_to_vector. Tiny sizes, seeded.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.optim import lr_scheduler, swa_utils


def rosenbrock(tensor):
    x, y = tensor
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


OPTIMIZERS = {
    "sgd_nesterov": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
    "sgd_dampening": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.8, "dampening": 0.3,
                                        "weight_decay": 0.01}),
    "adam_amsgrad": (torch.optim.Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    "adam_maximize": (torch.optim.Adam, {"lr": 0.05, "maximize": True}),
    "adamw_amsgrad": (torch.optim.AdamW, {"lr": 0.05, "amsgrad": True}),
    "adagrad": (torch.optim.Adagrad, {"lr": 0.5, "lr_decay": 0.01,
                                      "initial_accumulator_value": 0.1}),
    "rmsprop_centered": (torch.optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.5}),
    "adadelta": (torch.optim.Adadelta, {"lr": 1.0, "rho": 0.8, "weight_decay": 0.01}),
    "adamax": (torch.optim.Adamax, {"lr": 0.05}),
    "asgd": (torch.optim.ASGD, {"lr": 1e-3, "t0": 5}),
    "rprop": (torch.optim.Rprop, {"lr": 0.01, "etas": (0.4, 1.3), "step_sizes": (1e-6, 1)}),
    "nadam": (torch.optim.NAdam, {"lr": 0.05, "momentum_decay": 0.004}),
    "nadam_decoupled": (torch.optim.NAdam, {"lr": 0.05, "weight_decay": 0.1,
                                            "decoupled_weight_decay": True}),
    "radam": (torch.optim.RAdam, {"lr": 0.05}),
    "radam_decoupled": (torch.optim.RAdam, {"lr": 0.05, "weight_decay": 0.1,
                                            "decoupled_weight_decay": True}),
}


def section_rosenbrock() -> None:
    for name, (cls, kwargs) in OPTIMIZERS.items():
        point = torch.tensor([-1.5, 2.0], requires_grad=True)
        optimizer = cls([point], **kwargs)
        path = []
        for _ in range(30):
            optimizer.zero_grad()
            loss = rosenbrock(point)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([point], 1.0)
            optimizer.step()
            path.append(point.detach().clone())
        put(f"rosen.{name}.path", torch.stack(path))
        state = optimizer.state_dict()["state"][0]
        for key, value in sorted(state.items()):
            put(f"rosen.{name}.state.{key}", value)
    point = torch.tensor([-1.5, 2.0], requires_grad=True)
    lbfgs = torch.optim.LBFGS([point], lr=1, max_iter=20, history_size=5,
                              line_search_fn="strong_wolfe")
    evaluations = []

    def closure():
        lbfgs.zero_grad()
        loss = rosenbrock(point)
        loss.backward()
        evaluations.append(loss.item())
        return loss

    # (one step: 26 evaluations agree to the bit; later ones meet PyTorch's float32 sqrt,
    # which on this machine's AVX-512 build is an ulp off the correctly rounded one)
    lbfgs.step(closure)
    put("rosen.lbfgs.point", point)
    put("rosen.lbfgs.evals", evaluations)
    put("rosen.lbfgs.n_iter", lbfgs.state[lbfgs._params[0]]["n_iter"])


def section_finetune() -> None:
    backbone = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU())
    head = nn.Linear(8, 3)
    for param in backbone.parameters():
        param.requires_grad = False
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, head.parameters()), lr=0.1,
                                momentum=0.9)
    x, y = torch.randn(12, 6), torch.randint(0, 3, (12,))
    losses = []
    for step in range(6):
        if step == 3:  # unfreeze the last backbone layer with a smaller learning rate
            for param in backbone[2].parameters():
                param.requires_grad = True
            optimizer.add_param_group({"params": backbone[2].parameters(), "lr": 0.01})
        optimizer.zero_grad(set_to_none=False)
        loss = F.cross_entropy(head(backbone(x)), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("finetune.losses", losses)
    put_state("finetune.backbone", backbone)
    put("finetune.groups", [len(g["params"]) for g in optimizer.param_groups])
    put("finetune.frozen_grad", backbone[0].weight.grad is None)
    vector = nn.utils.parameters_to_vector(head.parameters())
    put("finetune.vector", vector)
    nn.utils.vector_to_parameters(vector * 2, head.parameters())
    put("finetune.head", head.weight)


def _lrs(make, steps=12, metric=None, fractional=False):
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = make(optimizer)
    lrs, momenta = [], []
    for epoch in range(steps):
        optimizer.step()
        if metric is not None:
            scheduler.step(metric[epoch])
        elif fractional:
            for i in range(3):
                scheduler.step(epoch + i / 3)
        else:
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
    return lrs, momenta


def section_schedules() -> None:
    accuracy = [0.5, 0.6, 0.6, 0.605, 0.6, 0.59, 0.61, 0.61, 0.615, 0.6, 0.6, 0.6]
    schedules = {
        "warm_restarts": (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=2, T_mult=2, eta_min=0.001), {"fractional": True}),
        "cyclic": (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=2,
                                                   mode="triangular2"), {}),
        "cyclic_exp": (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                       mode="exp_range", gamma=0.9), {}),
        "onecycle": (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=12,
                                                       three_phase=True,
                                                       anneal_strategy="linear"), {}),
        "plateau": (lambda o: lr_scheduler.ReduceLROnPlateau(
            o, mode="max", factor=0.5, patience=1, threshold=0.01, threshold_mode="abs",
            cooldown=1, min_lr=0.02), {"metric": accuracy}),
        "multistep": (lambda o: lr_scheduler.MultiStepLR(o, milestones=[3, 7], gamma=0.3), {}),
        "sequential": (lambda o: lr_scheduler.SequentialLR(o, [
            lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4),
            lr_scheduler.ExponentialLR(o, gamma=0.9)], milestones=[4]), {}),
        "chained": (lambda o: lr_scheduler.ChainedScheduler([
            lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3),
            lr_scheduler.PolynomialLR(o, total_iters=10, power=2.0)]), {}),
        "multiplicative": (lambda o: lr_scheduler.MultiplicativeLR(
            o, lr_lambda=lambda epoch: 0.95 if epoch % 2 else 1.0), {}),
    }
    for name, (make, kwargs) in schedules.items():
        lrs, momenta = _lrs(make, **kwargs)
        put(f"sched.{name}.lrs", lrs)
        put(f"sched.{name}.momenta", momenta)


def section_swa() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    swa_model = swa_utils.AveragedModel(model)
    ema_model = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    swa_scheduler = swa_utils.SWALR(optimizer, swa_lr=0.05, anneal_epochs=2,
                                    anneal_strategy="cos")
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    loader = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)]
    lrs = []
    for epoch in range(6):
        for xb, yb in loader:
            optimizer.zero_grad()
            F.mse_loss(model(xb), yb).backward()
            optimizer.step()
            ema_model.update_parameters(model)
        if epoch >= 3:
            swa_model.update_parameters(model)
            swa_scheduler.step()
        else:
            scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    swa_utils.update_bn(loader, swa_model)
    put("swa.lrs", lrs)
    put("swa.n_averaged", swa_model.n_averaged)
    put_state("swa.avg", swa_model)
    put_state("swa.ema", ema_model)
    with torch.no_grad():
        put("swa.pred", swa_model(x[:4]))


SECTIONS = {"rosen": section_rosenbrock, "finetune": section_finetune,
            "sched": section_schedules, "swa": section_swa}
