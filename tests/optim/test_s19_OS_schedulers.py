"""Every learning-rate scheduler against PyTorch, 35 steps each: the lr (and momentum /
betas where the scheduler cycles them) of every group after every step, get_last_lr(), the
state_dict() at the end, the warnings raised, and a resume half way (state_dict /
load_state_dict into a fresh optimizer and scheduler).

Covers CyclicLR (every mode, scale_fn by iterations and by cycle, cycle_momentum on SGD / Adam
betas / RMSprop, the error without momentum), OneCycleLR (cos / linear, three_phase, per-group
max_lr, stepping past total_steps), CosineAnnealingWarmRestarts stepped with fractional epochs,
explicit epochs for the closed-form schedulers, LambdaLR, MultiplicativeLR, SequentialLR,
ChainedScheduler, SWALR, and ReduceLROnPlateau (modes, threshold modes, cooldown, eps, min_lr
per group, Tensor and nan metrics). Values must agree to the last printed digit (compared as
strings of the Python floats).
"""

from __future__ import annotations

import os
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(__file__))
import s19_OS_compare as Cmp  # noqa: E402

import deltagrad as dg  # noqa: E402


def opt(L, kind="SGD"):
    a = L.nn.Parameter(L.ones(2))
    b = L.nn.Parameter(L.ones(3))
    if kind == "SGD":
        return L.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)
    if kind == "Adam":
        return L.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
    if kind == "SGDnm":
        return L.optim.SGD([a, b], lr=0.1)
    if kind == "RMSprop":
        return L.optim.RMSprop([a, b], lr=0.1, momentum=0.5)


def val(v):
    if hasattr(v, "item"):
        return ("T", v.item())
    if isinstance(v, (list, tuple)):
        return type(v).__name__, [val(x) for x in v]
    return v


def trace(L, build, kind="SGD", steps=35, metrics=None, epochs=None, resume=False):
    o = opt(L, kind)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s = build(L, o)
        out = []
        for i in range(steps):
            o.step()
            if metrics is not None:
                s.step(metrics[i])
            elif epochs is not None:
                s.step(epochs[i])
            else:
                s.step()
            row = [val(g["lr"]) for g in o.param_groups]
            row += [val(g.get("momentum")) for g in o.param_groups if "momentum" in g]
            row += [val(g.get("betas")) for g in o.param_groups if "betas" in g]
            try:
                row.append(val(s.get_last_lr()))
            except Exception as e:
                row.append(type(e).__name__)
            out.append(row)
            if resume and i == steps // 2:
                sd = s.state_dict()
                o2 = opt(L, kind)
                o2.load_state_dict(o.state_dict())
                s2 = build(L, o2)
                s2.load_state_dict(sd)
                s, o = s2, o2
        sd = {
            k: val(v)
            for k, v in s.state_dict().items()
            if not callable(v) and k not in ("_schedulers",)
        }
    return out, sd, [str(x.category.__name__) for x in w]


C = {}


def c(name, build, **kw):
    C[name] = (build, kw)


c("cyclic-tri", lambda L, o: L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=4))
c(
    "cyclic-tri-nomom",
    lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, 0.01, [0.1, 0.2], step_size_up=3, cycle_momentum=False
    ),
)
c(
    "cyclic-scalefn-iter",
    lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.9**x, scale_mode="iterations"
    ),
)
c(
    "cyclic-scalefn-cycle",
    lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / x, scale_mode="cycle"
    ),
)
c(
    "cyclic-adam",
    lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, base_momentum=0.7, max_momentum=0.9
    ),
    kind="Adam",
)
c(
    "cyclic-rms",
    lambda L, o: L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3),
    kind="RMSprop",
)
c("cyclic-nomom-err", lambda L, o: L.optim.lr_scheduler.CyclicLR(o, 0.01, 0.1), kind="SGDnm")
c(
    "cyclic-resume",
    lambda L, o: L.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.9
    ),
    resume=True,
)
c(
    "onecycle-adam",
    lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, 0.3, total_steps=36),
    kind="Adam",
)
c(
    "onecycle-nomom",
    lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, 0.3, total_steps=36, cycle_momentum=False),
    kind="SGDnm",
)
c(
    "onecycle-lin3",
    lambda L, o: L.optim.lr_scheduler.OneCycleLR(
        o, [0.3, 0.2], total_steps=36, three_phase=True, anneal_strategy="linear", pct_start=0.4
    ),
)
c(
    "onecycle-resume",
    lambda L, o: L.optim.lr_scheduler.OneCycleLR(
        o, 0.3, epochs=6, steps_per_epoch=6, base_momentum=0.5, max_momentum=0.99
    ),
    resume=True,
)
c("onecycle-over", lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, 0.3, total_steps=20))
c(
    "warm-restart-ep",
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001
    ),
    epochs=[i * 0.7 for i in range(35)],
)
c(
    "warm-restart-ep1",
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5),
    epochs=[i * 1.3 for i in range(35)],
)
c(
    "warm-restart-resume",
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=3),
    resume=True,
)
c(
    "cos-resume",
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    resume=True,
)
c("cos-long", lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5))
c(
    "cos-epoch",
    lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6),
    epochs=list(range(0, 70, 2)),
)
c(
    "step-epoch",
    lambda L, o: L.optim.lr_scheduler.StepLR(o, 3, 0.5),
    epochs=[i // 2 for i in range(35)],
)
c(
    "multistep-epoch",
    lambda L, o: L.optim.lr_scheduler.MultiStepLR(o, [2, 5, 5, 9]),
    epochs=[35 - i for i in range(35)],
)
c("exp-resume", lambda L, o: L.optim.lr_scheduler.ExponentialLR(o, 0.9), resume=True)
c("poly-0", lambda L, o: L.optim.lr_scheduler.PolynomialLR(o, total_iters=10, power=0.5))
c(
    "poly-epoch",
    lambda L, o: L.optim.lr_scheduler.PolynomialLR(o, total_iters=10, power=2.0),
    epochs=[i % 13 for i in range(35)],
)
c(
    "linear-epoch",
    lambda L, o: L.optim.lr_scheduler.LinearLR(o, 0.2, 1.0, total_iters=8),
    epochs=[i % 11 for i in range(35)],
)
c(
    "constant-epoch",
    lambda L, o: L.optim.lr_scheduler.ConstantLR(o, 0.3, total_iters=4),
    epochs=[i % 7 for i in range(35)],
)
c("lambda-resume", lambda L, o: L.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95**e), resume=True)
c("mult-resume", lambda L, o: L.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.95), resume=True)
c(
    "seq-resume",
    lambda L, o: L.optim.lr_scheduler.SequentialLR(
        o,
        [
            L.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=5),
            L.optim.lr_scheduler.CosineAnnealingLR(o, 10),
        ],
        milestones=[6],
    ),
    resume=True,
)
c(
    "seq-3",
    lambda L, o: L.optim.lr_scheduler.SequentialLR(
        o,
        [
            L.optim.lr_scheduler.ConstantLR(o, 0.1, total_iters=3),
            L.optim.lr_scheduler.MultiStepLR(o, [3, 6]),
            L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, 4),
        ],
        milestones=[4, 12],
    ),
)
c(
    "chained-resume",
    lambda L, o: L.optim.lr_scheduler.ChainedScheduler(
        [
            L.optim.lr_scheduler.StepLR(o, 5, 0.5),
            L.optim.lr_scheduler.LinearLR(o, 0.3, total_iters=6),
        ]
    ),
    resume=True,
)
c(
    "chained-opt",
    lambda L, o: L.optim.lr_scheduler.ChainedScheduler(
        [L.optim.lr_scheduler.ExponentialLR(o, 0.9), L.optim.lr_scheduler.CosineAnnealingLR(o, 8)],
        optimizer=o,
    ),
)
c("swalr-resume", lambda L, o: L.optim.swa_utils.SWALR(o, 0.01, anneal_epochs=5), resume=True)
c("swalr-0", lambda L, o: L.optim.swa_utils.SWALR(o, [0.01, 0.02], anneal_epochs=0))
c(
    "swalr-after",
    lambda L, o: L.optim.lr_scheduler.SequentialLR(
        o,
        [
            L.optim.lr_scheduler.ExponentialLR(o, 0.9),
            L.optim.swa_utils.SWALR(o, 0.005, anneal_epochs=3, anneal_strategy="linear"),
        ],
        milestones=[10],
    ),
)
M = [
    1.0,
    0.9,
    0.91,
    0.9,
    0.95,
    0.89,
    0.9,
    0.9,
    0.9,
    0.9,
    0.88,
    0.88,
    0.8799,
    0.87,
    0.9,
    0.5,
    0.5,
    0.5,
    0.5,
    0.5,
] * 2
c(
    "plateau-rel",
    lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, threshold=0.01),
    metrics=M,
)
c(
    "plateau-max-rel",
    lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(
        o, "max", patience=0, factor=0.5, cooldown=1, min_lr=[0.02, 0.001]
    ),
    metrics=M,
)
c(
    "plateau-abs-eps",
    lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(
        o, patience=2, threshold=0.05, threshold_mode="abs", eps=0.02, factor=0.1
    ),
    metrics=M,
)
c(
    "plateau-resume",
    lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, cooldown=2),
    metrics=M,
    resume=True,
)
c(
    "plateau-tensor-metric",
    lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1),
    metrics=[dg.tensor(x) for x in M],
)
c(
    "plateau-nan",
    lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1),
    metrics=[float("nan")] * 40,
)


def _run(L, name):
    build, kw = C[name]
    kw = dict(kw)
    if L is torch and "metrics" in kw and hasattr(kw["metrics"][0], "_data"):
        kw["metrics"] = [torch.tensor(float(x)) for x in kw["metrics"]]
    return trace(L, build, **kw)


@pytest.mark.parametrize("name", list(C))
def test_scheduler_against_pytorch(name):
    def case(L):
        lrs, state, caught = _run(L, name)
        return [str(row) for row in lrs], state, caught

    case.__name__ = name
    Cmp.check(case, torch, dg, rtol=0.0, atol=0.0)


def _sched(L):
    return L.optim.lr_scheduler


TENSOR_LR = {
    "StepLR": (lambda L, o: _sched(L).StepLR(o, 3, 0.5), False),
    "OneCycleLR": (lambda L, o: _sched(L).OneCycleLR(o, 0.5, total_steps=20), False),
    "CyclicLR": (lambda L, o: _sched(L).CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                  cycle_momentum=False), False),
    "ReduceLROnPlateau": (lambda L, o: _sched(L).ReduceLROnPlateau(o, patience=1), True),
    "SWALR": (lambda L, o: L.optim.swa_utils.SWALR(o, 0.01, anneal_epochs=4), False),
    "LambdaLR": (lambda L, o: _sched(L).LambdaLR(o, lambda e: 0.9**e), False),
    "SequentialLR": (lambda L, o: _sched(L).SequentialLR(
        o, [_sched(L).ConstantLR(o, 0.5, total_iters=2), _sched(L).ExponentialLR(o, 0.9)],
        milestones=[3]), False),
    "CosineAnnealingWarmRestarts": (lambda L, o: _sched(L).CosineAnnealingWarmRestarts(o, 3),
                                    False),
    "PolynomialLR": (lambda L, o: _sched(L).PolynomialLR(o, 6, 2.0), False),
}


@pytest.mark.parametrize("name", list(TENSOR_LR))
def test_tensor_lr_kept_and_filled(name):
    """A 0-d Tensor lr stays the same Tensor object (filled in place), of its dtype; the
    values and get_last_lr() (numbers) follow PyTorch's."""
    build, with_metric = TENSOR_LR[name]

    def case(L):
        p = L.nn.Parameter(L.ones(2))
        o = L.optim.Adam([p], lr=L.tensor(0.1))
        first = o.param_groups[0]["lr"]
        s = build(L, o)
        out = []
        for _ in range(12):
            o.step()
            if with_metric:
                s.step(1.0)
            else:
                s.step()
            lr = o.param_groups[0]["lr"]
            out.append((type(lr).__name__, round(float(lr), 9), lr is first,
                        str(lr.dtype).split(".")[-1],
                        [(type(x).__name__, round(float(x), 9)) for x in s.get_last_lr()]))
        return out
    case.__name__ = name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Cmp.check(case, torch, dg)
