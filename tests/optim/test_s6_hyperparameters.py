"""Optimizer hyperparameters as PyTorch takes them: tensor lr (and tensor betas) with schedulers,
and the validation of bad values (same exception class as PyTorch), as a table."""

import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

OPTIMIZERS = {
    "SGD": {"lr": 0.1}, "Adam": {}, "AdamW": {}, "Adagrad": {}, "RMSprop": {}, "Adadelta": {},
    "Adamax": {}, "NAdam": {}, "RAdam": {}, "ASGD": {}, "Rprop": {}, "SparseAdam": {},
    "Adafactor": {}, "LBFGS": {},
}


def bad_values(m):
    """name -> keyword arguments, made with module ``m``'s tensors."""
    values = {
        "lr": [-1.0, "a", None, math.nan, True, 1, m.tensor(0.01), m.tensor(-0.01),
               m.tensor([0.01, 0.02]), m.tensor(0.01, dtype=m.float64)],
        "eps": [-1.0, "x", math.nan, 0.0],
        "weight_decay": [-1.0, "a", math.nan, m.tensor(0.1)],
        "momentum": [-1.0, "a", math.nan, 0.5],
        "alpha": [-1.0, math.nan],
        "rho": [2.0, -1.0, math.nan],
        "lr_decay": [-1.0, math.nan],
        "initial_accumulator_value": [-1.0, math.nan],
        "momentum_decay": [-1.0, math.nan],
        "betas": [(1.0, 0.9), (0.9, 1.0), (-0.1, 0.9), (0.9,), ("a", 0.9), (math.nan, 0.9),
                  (m.tensor(0.9), m.tensor(0.999)), (m.tensor([0.9, 0.8]), 0.999), 0.9],
        "etas": [(1.2, 0.5), (0.5, 0.9)],
        "step_sizes": [(1.0, 0.1)],
        "lambd": [-1.0],
        "beta2_decay": [0.5],
        "d": [0.5],
    }
    cases = []
    for key, options in values.items():
        for i, value in enumerate(options):
            cases.append((f"{key}[{i}]", {key: value}))
    cases.append(("nesterov", {"momentum": 0.9, "nesterov": True, "dampening": 0.5}))
    cases.append(("nesterov-no-momentum", {"nesterov": True}))
    return cases


def outcome(m, name, kwargs):
    cls = getattr(m.optim, name)
    p = m.nn.Parameter(m.ones(2))
    options = dict(OPTIMIZERS[name])
    options.update(kwargs)
    try:
        with np.errstate(all="ignore"):
            cls([p], **options)
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return type(error)
    return None


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_bad_hyperparameters_raise_as_pytorch(name):
    ours = [(label, outcome(dg, name, kw)) for label, kw in bad_values(dg)]
    theirs = [(label, outcome(torch, name, kw)) for label, kw in bad_values(torch)]
    different = []
    for (label, mine), (_, expected) in zip(ours, theirs):
        same = (mine is None and expected is None) or (
            mine is not None and expected is not None and issubclass(mine, expected))
        if not same:
            different.append(f"{label}: deltagrad {mine and mine.__name__}, "
                             f"torch {expected and expected.__name__}")
    assert not different, different


def run_schedule(m, optimizer, scheduler, steps=6, lr=None, betas=None):
    m.manual_seed(0)
    w = m.nn.Parameter(m.tensor([[0.5, -1.0, 0.25], [2.0, 0.3, -0.7]]))
    b = m.nn.Parameter(m.tensor([0.1, -0.2, 0.3]))
    scale = m.tensor([[1.0, 2.0, -3.0], [3.0, -4.0, 0.5]])
    kwargs = {"lr": m.tensor(0.01) if lr is None else lr(m)}
    if betas is not None:
        kwargs["betas"] = betas(m)
    opt = getattr(m.optim, optimizer)([w, b], **kwargs)
    sched = scheduler(m, opt)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((w * w * scale).sum() + (b.exp() * w).sum()) ** 2 / 10
        loss.backward()
        opt.step()
        sched.step()
        last = sched.get_last_lr()[0]
        history.append((w.detach().numpy().copy(), b.detach().numpy().copy(),
                        type(opt.param_groups[0]["lr"]).__name__, type(last).__name__,
                        float(opt.param_groups[0]["lr"]), float(last)))
    return history, opt, sched


SCHEDULES = {
    "step": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.7),
    "exponential": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "cosine": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001),
    "linear": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=0.3, total_iters=3),
    "lambda": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 / (e + 1)),
}


@pytest.mark.parametrize("optimizer, schedule", [
    ("Adam", "step"), ("AdamW", "cosine"), ("SGD", "exponential"), ("RMSprop", "linear"),
    ("Adagrad", "lambda"), ("NAdam", "step"), ("RAdam", "exponential"), ("Adamax", "cosine"),
    ("Adadelta", "step"), ("ASGD", "linear"), ("Rprop", "cosine"), ("Adafactor", "lambda"),
])
def test_tensor_lr_with_a_scheduler_matches_pytorch(optimizer, schedule):
    ours, _, _ = run_schedule(dg, optimizer, SCHEDULES[schedule])
    theirs, _, _ = run_schedule(torch, optimizer, SCHEDULES[schedule])
    for (w, b, *kinds), (tw, tb, *tkinds) in zip(ours, theirs):
        np.testing.assert_allclose(w, tw, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(b, tb, rtol=1e-6, atol=1e-7)
        assert kinds == tkinds


@pytest.mark.parametrize("optimizer", ["Adam", "AdamW"])
def test_tensor_betas_match_pytorch(optimizer):
    def betas(m):
        return (m.tensor(0.8), m.tensor(0.99))

    ours, _, _ = run_schedule(dg, optimizer, SCHEDULES["step"], betas=betas)
    theirs, _, _ = run_schedule(torch, optimizer, SCHEDULES["step"], betas=betas)
    for (w, b, *kinds), (tw, tb, *tkinds) in zip(ours, theirs):
        np.testing.assert_allclose(w, tw, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(b, tb, rtol=1e-6, atol=1e-7)
        assert kinds == tkinds


def test_state_dict_round_trip_keeps_tensor_hyperparameters():
    def betas(m):
        return (m.tensor(0.8), m.tensor(0.99))

    _, opt, sched = run_schedule(dg, "Adam", SCHEDULES["step"], steps=3, betas=betas)
    _, topt, tsched = run_schedule(torch, "Adam", SCHEDULES["step"], steps=3, betas=betas)
    state, tstate = opt.state_dict(), topt.state_dict()
    group, tgroup = state["param_groups"][0], tstate["param_groups"][0]
    for key in ("lr", "initial_lr"):
        assert isinstance(group[key], dg.Tensor) and isinstance(tgroup[key], torch.Tensor)
        assert float(group[key]) == float(tgroup[key])
    assert [float(b) for b in group["betas"]] == [float(b) for b in tgroup["betas"]]
    assert [float(x) for x in sched.state_dict()["base_lrs"]] == [
        float(x) for x in tsched.state_dict()["base_lrs"]]

    # Loaded into a fresh optimizer (made with float hyperparameters), steps continue the same.
    w = dg.nn.Parameter(dg.zeros(2, 3))
    b = dg.nn.Parameter(dg.zeros(3))
    fresh = dg.optim.Adam([w, b], lr=0.5)
    fresh.load_state_dict(state)
    assert isinstance(fresh.param_groups[0]["lr"], dg.Tensor)
    assert float(fresh.param_groups[0]["lr"]) == float(group["lr"])
    assert fresh.param_groups[0]["lr"] is not group["lr"]  # a copy, not shared with the source
    path_state = dg.optim.Adam([dg.nn.Parameter(dg.zeros(1))], lr=dg.tensor(0.01)).state_dict()
    assert isinstance(path_state["param_groups"][0]["lr"], dg.Tensor)


def test_a_scheduler_changes_the_tensor_given_as_lr_in_place():
    def program(m):
        lr = m.tensor(0.01)
        w = m.nn.Parameter(m.ones(2))
        opt = m.optim.SGD([w], lr=lr, momentum=0.9)
        sched = m.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
        first = sched.get_last_lr()[0]
        w.sum().backward()
        opt.step()
        sched.step()
        group = opt.param_groups[0]
        plateau = m.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.1)
        plateau.step(1.0)
        plateau.step(2.0)
        return [float(lr), group["lr"] is lr, float(first), sched.get_last_lr()[0] is group["lr"],
                float(group["initial_lr"]), group["initial_lr"] is lr, sched.base_lrs[0] is lr,
                float(plateau.get_last_lr()[0]), w.detach().numpy().tolist()]

    assert program(dg) == program(torch)
