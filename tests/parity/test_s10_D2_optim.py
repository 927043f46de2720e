"""Differential sweep of torch.optim: every optimizer and the flags that change its arithmetic,
run for five seeded steps beside PyTorch, comparing parameters and every state entry after each
step; state_dict structure and round trips; then the lr schedulers and swa_utils."""

from __future__ import annotations

import warnings
from copy import deepcopy

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

SHAPES = [(3,), (2, 3)]
STEPS = 5


def _tensor_options(module, options):
    """Options whose values name a tensor ("T:0.01" -> a 0-d float32 tensor in each module)."""
    out = {}
    for key, value in options.items():
        if isinstance(value, str) and value.startswith("T:"):
            value = module.tensor(float(value[2:]))
        elif isinstance(value, tuple):
            value = tuple(module.tensor(float(v[2:])) if isinstance(v, str) else v
                          for v in value)
        out[key] = value
    return out


def _numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else value


def _same(ours, theirs, where, rtol=2e-6, atol=1e-7):
    """Same structure, key order, Python types, tensor dtypes and shapes, values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dg.Tensor), f"{where}: {type(ours).__name__}, torch a Tensor"
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (
            f"{where}: {ours.dtype} vs {theirs.dtype}")
        assert tuple(ours.shape) == tuple(theirs.shape), where
        np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=rtol, atol=atol,
                                   err_msg=where)
        return
    assert type(ours) is type(theirs), f"{where}: {ours!r} against torch's {theirs!r}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), f"{where}: keys {list(ours)} != {list(theirs)}"
        for key in theirs:
            _same(ours[key], theirs[key], f"{where}[{key!r}]", rtol, atol)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{where}[{index}]", rtol, atol)
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-6, nan_ok=True), where
    else:
        assert ours == theirs, where


def _data(seed, dtype=np.float32, steps=STEPS):
    rng = np.random.default_rng(seed)

    def draw(shape):
        value = rng.standard_normal(shape)
        if np.dtype(dtype).kind == "c":
            value = value + 1j * rng.standard_normal(shape)
        return value.astype(dtype)

    thetas = [draw(shape) for shape in SHAPES]
    grads = [[draw(shape) for shape in SHAPES] for _ in range(steps)]
    return thetas, grads


class _Run:
    """One optimizer over the seeded parameters in one module (dg or torch)."""

    def __init__(self, module, name, options, thetas, groups=None):
        self.module = module
        self.params = [module.nn.Parameter(module.tensor(t.copy())) for t in thetas]
        options = _tensor_options(module, options)
        if groups is None:
            target = self.params
        else:  # one group per parameter, each with its own extra options
            target = [dict(params=[p], **_tensor_options(module, extra))
                      for p, extra in zip(self.params, groups)]
        self.optimizer = getattr(module.optim, name)(target, **options)

    def step(self, grads, skip=()):
        for index, (param, grad) in enumerate(zip(self.params, grads)):
            param.grad = None if index in skip else self.module.tensor(grad.copy())
        self.optimizer.step()


def _compare_runs(ours, theirs, where, rtol=2e-6, atol=1e-7):
    for index, (a, b) in enumerate(zip(ours.params, theirs.params)):
        _same(a.detach(), b.detach(), f"{where} param {index}", rtol, atol)
        _same(dict(ours.optimizer.state[a]), dict(theirs.optimizer.state[b]),
              f"{where} state {index}", rtol, atol)
    _same(ours.optimizer.state_dict(), theirs.optimizer.state_dict(), f"{where} state_dict",
          rtol, atol)


# (optimizer, options): flags that change the math, one row each.
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, maximize=True, foreach=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, foreach=False, weight_decay=0.2)),
    ("SGD", dict(lr=0.1, momentum=0.5, fused=True)),
    ("SGD", dict(lr="T:0.1", momentum=0.9)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, foreach=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, fused=True, weight_decay=0.1)),
    ("Adam", dict(lr="T:0.01")),
    ("Adam", dict(lr=0.01, betas=("T:0.8", "T:0.9"))),
    ("Adam", dict(lr=0.01, betas=(0.0, 0.5), eps=1e-3)),
    ("Adam", dict(betas=(0, 0.9))),  # an int beta: torch's ValueError (both floats or Tensors)
    ("Adam", dict(betas=("T:0.9", 0.999))),
    ("Adam", dict(betas=("T:0.9", "T:0.99"), foreach=True)),
    ("AdamW", dict(betas=("T:0.9", "T:0.99"), fused=True)),
    ("Adam", dict(lr=0.01, capturable=True)),
    ("Adam", dict(lr=0.01, differentiable=True)),
    ("SGD", dict(lr=0.1, differentiable=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True, fused=True)),
    ("AdamW", dict(lr="T:0.01", foreach=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01, foreach=True, betas=(0.5, 0.7))),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr="T:0.5", foreach=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, maximize=True, fused=True)),
    ("Adagrad", dict(lr=0.1, foreach=True, eps=1e-2)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, d=2.0, eps=(None, 1e-2))),
    ("Adafactor", dict(lr=0.05, foreach=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, t0=1, lambd=0.1, alpha=0.5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=2, maximize=True, foreach=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("NAdam", dict(lr=0.01, foreach=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.9, 0.5))),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01, foreach=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True, alpha=0.5)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, foreach=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-4, 1), maximize=True)),
    ("Rprop", dict(lr=0.05, foreach=True)),
    # lr as a Tensor in the rest
    ("Adamax", dict(lr="T:0.01")), ("Adagrad", dict(lr="T:0.1", lr_decay=0.1)),
    ("Adafactor", dict(lr="T:0.05")), ("ASGD", dict(lr="T:0.05", t0=1)),
    ("NAdam", dict(lr="T:0.01")), ("RAdam", dict(lr="T:0.01")),
    ("RMSprop", dict(lr="T:0.01", centered=True)), ("Rprop", dict(lr="T:0.05")),
    ("SGD", dict(lr="T:0.1", momentum=0.9, foreach=True)),
    ("Adagrad", dict(lr="T:0.1", foreach=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}"
       for name, options in CASES]


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_five_steps_params_and_state_match(name, options):
    thetas, grads = _data(0)
    _lockstep(name, options, thetas, grads)


# Parameters (float64 and complex), grads None for some, several groups, groups added mid-run.
MORE = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("Adadelta", dict(lr=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("ASGD", dict(lr=0.05, t0=1)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Rprop", dict(lr=0.05)),
    ("Adafactor", dict(lr=0.05)),
]
MORE_IDS = [name for name, _ in MORE]


def _lockstep(name, options, thetas, grads, groups=None, skip=lambda step: (), rtol=2e-6,
              atol=1e-7):
    try:
        theirs = _Run(torch, name, options, thetas, groups)
    except Exception as error:
        with pytest.raises(type(error)):
            _Run(dg, name, options, thetas, groups)
        return None, None
    ours = _Run(dg, name, options, thetas, groups)
    for step, step_grads in enumerate(grads):
        try:
            theirs.step(step_grads, skip(step))
        except Exception as error:
            with pytest.raises(type(error)):
                ours.step(step_grads, skip(step))
            return None, None
        ours.step(step_grads, skip(step))
        _compare_runs(ours, theirs, f"step {step}", rtol, atol)
    return ours, theirs


@pytest.mark.parametrize("name, options", MORE, ids=MORE_IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_float64_and_complex_params(name, options, dtype):
    thetas, grads = _data(1, dtype)
    _lockstep(name, options, thetas, grads, atol=1e-6 if dtype == np.complex64 else 1e-7)


@pytest.mark.parametrize("name, options", MORE, ids=MORE_IDS)
def test_grads_none_and_groups_with_their_own_options(name, options):
    thetas, grads = _data(2)
    extra = [dict(), dict(lr=0.002, weight_decay=0.1, maximize=True)]
    if name == "Adafactor":
        extra[1].pop("lr")
    # parameter 0 has no gradient at steps 0 and 3; parameter 1 none at step 1
    skip = {0: (0,), 1: (1,), 3: (0,)}
    _lockstep(name, options, thetas, grads, groups=extra, skip=lambda step: skip.get(step, ()))


@pytest.mark.parametrize("name, options", MORE, ids=MORE_IDS)
def test_add_param_group_mid_run(name, options):
    thetas, grads = _data(3)
    runs = []
    for module in (dg, torch):
        params = [module.nn.Parameter(module.tensor(t.copy())) for t in thetas]
        optimizer = getattr(module.optim, name)(params[:1], **options)
        runs.append((module, params, optimizer))
    for step, step_grads in enumerate(grads):
        if step == 2:
            for _module, params, optimizer in runs:
                optimizer.add_param_group(dict(params=params[1:], weight_decay=0.05))
        for module, params, optimizer in runs:
            for param, grad in zip(params, step_grads):
                param.grad = module.tensor(grad.copy())
            optimizer.step()
        (_, ours, our_opt), (_, theirs, their_opt) = runs
        for a, b in zip(ours, theirs):
            _same(a.detach(), b.detach(), f"step {step}")
        _same(our_opt.state_dict(), their_opt.state_dict(), f"step {step} state_dict")


@pytest.mark.parametrize("name, options", CASES[:1] + MORE, ids=["SGD-plain"] + MORE_IDS)
def test_torch_state_dict_loads_and_continues(name, options):
    """torch's state_dict, tensors made numpy then ours, loaded mid-run; the runs go on equal."""
    thetas, grads = _data(4)
    theirs = _Run(torch, name, options, thetas)
    for step_grads in grads[:3]:
        theirs.step(step_grads)
    mid = [p.detach().numpy().copy() for p in theirs.params]
    ours = _Run(dg, name, options, mid)

    def convert(value):
        if isinstance(value, torch.Tensor):
            return dg.from_numpy(value.detach().numpy().copy())
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(convert(item) for item in value)
        return value

    ours.optimizer.load_state_dict(convert(theirs.optimizer.state_dict()))
    _compare_runs(ours, theirs, "loaded")
    for step, step_grads in enumerate(grads[3:]):
        ours.step(step_grads)
        theirs.step(step_grads)
        _compare_runs(ours, theirs, f"after load, step {step}")
    # and our own state dict round trip (deep-copied: the dict is live) continues the same
    copy = _Run(dg, name, options, [p.detach().numpy().copy() for p in ours.params])
    copy.optimizer.load_state_dict(deepcopy(ours.optimizer.state_dict()))
    ours.step(grads[0])
    copy.step(grads[0])
    for a, b in zip(ours.params, copy.params):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    out = []
    for module in (dg, torch):
        param = module.nn.Parameter(module.ones(3))
        optimizer = module.optim.SGD([param], lr=0.1)
        param.grad = module.full((3,), 2.0)
        optimizer.zero_grad(set_to_none=set_to_none)
        out.append(param.grad)
    if set_to_none:
        assert out[0] is None and out[1] is None
    else:
        _same(out[0], out[1], "zero_grad")


@pytest.mark.parametrize("options", [
    dict(lr=1), dict(lr=0.5, history_size=3, max_iter=4),
    dict(lr=1, line_search_fn="strong_wolfe"),
    dict(lr=0.8, line_search_fn="strong_wolfe", max_iter=7, history_size=2,
         tolerance_grad=1e-9, tolerance_change=1e-12),
], ids=["plain", "short-history", "strong_wolfe", "strong_wolfe-short"])
def test_lbfgs_with_a_closure(options):
    """A seeded quadratic-plus-quartic problem in float64; parameters, losses and the whole
    state (d, t, old_dirs, ... counts) after each of five steps."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 3))
    target = rng.standard_normal(4)
    thetas = [rng.standard_normal(3), rng.standard_normal(1)]
    runs = []
    for module in (dg, torch):
        params = [module.nn.Parameter(module.tensor(t.copy())) for t in thetas]
        optimizer = module.optim.LBFGS(params, **options)
        a_m, target_m = module.tensor(a), module.tensor(target)

        def closure(params=params, optimizer=optimizer, a_m=a_m, target_m=target_m):
            optimizer.zero_grad()
            residual = a_m @ params[0] + params[1] - target_m
            loss = (residual ** 2).sum() + 0.1 * (params[0] ** 4).sum()
            loss.backward()
            return loss

        runs.append((params, optimizer, closure))
    for step in range(STEPS):
        losses = [float(optimizer.step(closure)) for _, optimizer, closure in runs]
        assert losses[0] == pytest.approx(losses[1], rel=1e-9), step
        (ours, our_opt, _), (theirs, their_opt, _) = runs
        for a_, b_ in zip(ours, theirs):
            _same(a_.detach(), b_.detach(), f"step {step}", rtol=1e-9, atol=1e-12)
        # (al's entries near convergence are ~1e-6 and differ in the 12th decimal)
        _same(our_opt.state_dict(), their_opt.state_dict(), f"step {step}", rtol=1e-8,
              atol=1e-10)


def _sparse_runs(name, options, steps=STEPS):
    """An Embedding(sparse=True) table and a dense bias, seeded indices per step."""
    rng = np.random.default_rng(6)
    table = rng.standard_normal((6, 3)).astype(np.float32)
    indices = [rng.integers(0, 6, size=4) for _ in range(steps)]
    out = []
    for module in (dg, torch):
        embedding = module.nn.Embedding(6, 3, sparse=True)
        with module.no_grad():
            embedding.weight.copy_(module.tensor(table))
        optimizer = getattr(module.optim, name)(embedding.parameters(), **options)
        history = []
        for index in indices:
            optimizer.zero_grad()
            embedding(module.tensor(index)).pow(2).sum().backward()
            optimizer.step()
            history.append((embedding.weight.detach().numpy().copy(),
                            deepcopy(optimizer.state_dict())))
        out.append(history)
    return out


@pytest.mark.parametrize("name, options", [
    ("SparseAdam", dict(lr=0.05)), ("SparseAdam", dict(lr=0.05, betas=(0.5, 0.9), eps=1e-4)),
    ("SparseAdam", dict(lr=0.05, maximize=True)),
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
], ids=lambda value: str(value))
def test_sparse_gradients(name, options):
    ours, theirs = _sparse_runs(name, options)
    for step, ((our_w, our_sd), (their_w, their_sd)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(our_w, their_w, rtol=2e-6, atol=1e-7, err_msg=str(step))
        _same(our_sd, their_sd, f"step {step}")


# ---------------------------------------------------------------- lr_scheduler

SCHEDULE_STEPS = 30
METRICS = [1.0, 0.9, 0.9, 0.95, 0.9, 0.91, 0.92, 0.93, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8,
           0.4, 0.4, 0.4, 0.41, 0.39, 0.39, 0.39, 0.39, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]


def _schedulers(m):
    """name -> (optimizer name, scheduler factory(module, optimizer))."""
    s = m.optim.lr_scheduler
    return {
        "StepLR": lambda o: s.StepLR(o, step_size=4, gamma=0.5),
        "MultiStepLR": lambda o: s.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
        "ConstantLR": lambda o: s.ConstantLR(o, factor=0.25, total_iters=5),
        "LinearLR": lambda o: s.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
        "ExponentialLR": lambda o: s.ExponentialLR(o, gamma=0.9),
        "PolynomialLR": lambda o: s.PolynomialLR(o, total_iters=20, power=2.0),
        "CosineAnnealingLR": lambda o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
        "CosineAnnealingWarmRestarts": lambda o: s.CosineAnnealingWarmRestarts(
            o, T_0=3, T_mult=2, eta_min=0.01),
        "LambdaLR": lambda o: s.LambdaLR(o, lr_lambda=[lambda e: 0.95 ** e,
                                                       lambda e: 1 / (e + 1)]),
        "MultiplicativeLR": lambda o: s.MultiplicativeLR(o, lr_lambda=lambda e: 0.97),
        "ChainedScheduler": lambda o: s.ChainedScheduler(
            [s.ConstantLR(o, factor=0.5, total_iters=4), s.ExponentialLR(o, gamma=0.9)]),
        "SequentialLR": lambda o: s.SequentialLR(
            o, [s.LinearLR(o, start_factor=0.2, total_iters=5),
                s.CosineAnnealingLR(o, T_max=10)], milestones=[6]),
        "Plateau-min-rel": lambda o: s.ReduceLROnPlateau(o, patience=1, factor=0.5),
        "Plateau-max-abs": lambda o: s.ReduceLROnPlateau(
            o, mode="max", threshold_mode="abs", threshold=0.05, patience=2, cooldown=1,
            min_lr=[0.01, 0.001]),
        "Plateau-min-abs-eps": lambda o: s.ReduceLROnPlateau(
            o, threshold_mode="abs", patience=0, factor=0.1, eps=1e-3),
        "Plateau-max-rel": lambda o: s.ReduceLROnPlateau(o, mode="max", patience=1),
        "CyclicLR-triangular": lambda o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                    step_size_up=4),
        "CyclicLR-triangular2": lambda o: s.CyclicLR(
            o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.2], step_size_up=3, step_size_down=5,
            mode="triangular2"),
        "CyclicLR-exp_range": lambda o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                   step_size_up=4, mode="exp_range",
                                                   gamma=0.95, base_momentum=0.7,
                                                   max_momentum=0.95),
        "CyclicLR-no-momentum": lambda o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                     step_size_up=2, cycle_momentum=False),
        "CyclicLR-scale_fn": lambda o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                  scale_fn=lambda x: 0.9 ** x,
                                                  scale_mode="iterations"),
        "OneCycleLR-cos": lambda o: s.OneCycleLR(o, max_lr=0.1, total_steps=SCHEDULE_STEPS + 1),
        "OneCycleLR-linear-3phase": lambda o: s.OneCycleLR(
            o, max_lr=[0.1, 0.2], epochs=3, steps_per_epoch=11, anneal_strategy="linear",
            three_phase=True, pct_start=0.25, div_factor=10, final_div_factor=100),
        "OneCycleLR-no-momentum": lambda o: s.OneCycleLR(
            o, max_lr=0.1, total_steps=SCHEDULE_STEPS + 1, cycle_momentum=False),
    }


def _optimizer(m, name):
    params = [m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(3))]
    if name.startswith("OneCycle") and "no-momentum" not in name:
        return m.optim.Adam([dict(params=params[:1]), dict(params=params[1:], lr=0.05)],
                            lr=0.1)
    return m.optim.SGD([dict(params=params[:1]), dict(params=params[1:], lr=0.05)],
                       lr=0.1, momentum=0.9)


def _lr_trace(m, name, steps=SCHEDULE_STEPS, scheduler=None, optimizer=None, start=0):
    if optimizer is None:
        optimizer = _optimizer(m, name)
        scheduler = _schedulers(m)[name](optimizer)
    trace = []
    for step in range(start, start + steps):
        for group in optimizer.param_groups:
            for param in group["params"]:
                param.grad = m.ones_like(param)
        optimizer.step()
        if name.startswith("Plateau"):
            scheduler.step(METRICS[step])
        else:
            scheduler.step()
        row = [(g["lr"], g.get("momentum"), g.get("betas")) for g in optimizer.param_groups]
        trace.append((row, list(scheduler.get_last_lr()) if hasattr(scheduler, "get_last_lr")
                      else None))
    return trace, optimizer, scheduler


def _close_trace(ours, theirs):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert type(a[1]) is type(b[1]), step
        np.testing.assert_allclose(
            np.array([[x for x in row if x is not None] for row in [sum(
                ([v] if not isinstance(v, tuple) else list(v) for v in r), []) for r in a[0]]],
                     dtype=float),
            np.array([[x for x in row if x is not None] for row in [sum(
                ([v] if not isinstance(v, tuple) else list(v) for v in r), []) for r in b[0]]],
                     dtype=float), rtol=1e-12, atol=1e-15, err_msg=f"step {step}")
        if b[1] is not None:
            assert [type(x) for x in a[1]] == [type(x) for x in b[1]], step
            np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-15)


NAMES = list(_schedulers(torch))


@pytest.mark.parametrize("name", NAMES)
def test_scheduler_lr_and_momentum_per_step(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, our_opt, our_sched = _lr_trace(dg, name)
        theirs, their_opt, their_sched = _lr_trace(torch, name)
    _close_trace(ours, theirs)
    # state_dict: same keys (callables aside) and values
    a, b = our_sched.state_dict(), their_sched.state_dict()
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    for key in b:
        if key in ("_schedulers", "lr_lambdas", "_scale_fn_ref", "_scale_fn_custom",
                   "scale_fn", "optimizer", "_get_lr_called_within_step", "_is_initial"):
            continue
        _same(a[key], b[key], f"state_dict[{key!r}]")


@pytest.mark.parametrize("name", NAMES)
def test_scheduler_state_dict_round_trip(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half = SCHEDULE_STEPS // 2
        whole, _, _ = _lr_trace(dg, name)
        first, optimizer, scheduler = _lr_trace(dg, name, steps=half)
        saved_sched = deepcopy(scheduler.state_dict())
        saved_opt = deepcopy(optimizer.state_dict())
        optimizer2 = _optimizer(dg, name)
        scheduler2 = _schedulers(dg)[name](optimizer2)
        optimizer2.load_state_dict(saved_opt)
        scheduler2.load_state_dict(saved_sched)
        rest, _, _ = _lr_trace(dg, name, steps=SCHEDULE_STEPS - half, scheduler=scheduler2,
                               optimizer=optimizer2, start=half)
    _close_trace(first + rest, whole)


def test_scheduler_step_before_optimizer_step_warns_as_torch():
    caught = []
    for m in (dg, torch):
        optimizer = _optimizer(m, "StepLR")
        scheduler = m.optim.lr_scheduler.StepLR(optimizer, step_size=1)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            scheduler.step()
        caught.append([(w.category, "optimizer.step()" in str(w.message)) for w in record])
    assert caught[0] == caught[1] and caught[1]


# ---------------------------------------------------------------- swa_utils


def _swa_model(m, seed=7):
    rng = np.random.default_rng(seed)
    model = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4), m.nn.ReLU(),
                            m.nn.Linear(4, 2))
    with m.no_grad():
        for param in model.parameters():
            param.copy_(m.tensor(rng.standard_normal(tuple(param.shape)).astype(np.float32)))
    return model


AVERAGES = {
    "swa": lambda u: {},
    "ema-avg_fn": lambda u: dict(avg_fn=u.get_ema_avg_fn(0.9)),
    "ema-multi": lambda u: dict(multi_avg_fn=u.get_ema_multi_avg_fn(0.8)),
    "swa-multi": lambda u: dict(multi_avg_fn=u.get_swa_multi_avg_fn()),
    "swa_fn-buffers": lambda u: dict(avg_fn=u.get_swa_avg_fn(), use_buffers=True),
    "ema-multi-buffers": lambda u: dict(multi_avg_fn=u.get_ema_multi_avg_fn(0.7),
                                        use_buffers=True),
}


@pytest.mark.parametrize("kind", list(AVERAGES))
def test_averaged_model(kind):
    rng = np.random.default_rng(8)
    batches = [rng.standard_normal((5, 3)).astype(np.float32) for _ in range(4)]
    results = []
    for m in (dg, torch):
        model = _swa_model(m)
        averaged = m.optim.swa_utils.AveragedModel(model, **AVERAGES[kind](m.optim.swa_utils))
        optimizer = m.optim.SGD(model.parameters(), lr=0.1)
        for batch in batches:
            optimizer.zero_grad()
            model(m.tensor(batch)).pow(2).mean().backward()
            optimizer.step()
            averaged.update_parameters(model)
        state = {k: v.detach().numpy().copy() for k, v in averaged.state_dict().items()}
        results.append((state, str(averaged.state_dict()["n_averaged"].dtype)))
    (ours, our_dtype), (theirs, their_dtype) = results
    assert list(ours) == list(theirs)
    assert our_dtype.split(".")[-1] == their_dtype.split(".")[-1]
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("options", [
    dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.01], anneal_epochs=3, anneal_strategy="linear"),
    dict(swa_lr=0.02, anneal_epochs=1), dict(swa_lr=0.02, anneal_epochs=4, last_epoch=-1),
], ids=["cos", "linear-per-group", "one-epoch", "cos-4"])
def test_swalr(options):
    traces = []
    for m in (dg, torch):
        params = [m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(2))]
        optimizer = m.optim.SGD([dict(params=params[:1]), dict(params=params[1:], lr=0.3)],
                                lr=0.1)
        scheduler = m.optim.swa_utils.SWALR(optimizer, **options)
        trace = []
        for _ in range(8):
            optimizer.step()
            scheduler.step()
            trace.append([g["lr"] for g in optimizer.param_groups] + scheduler.get_last_lr())
        traces.append(trace)
    np.testing.assert_allclose(traces[0], traces[1], rtol=1e-12)


def test_update_bn():
    rng = np.random.default_rng(9)
    batches = [rng.standard_normal((6, 3)).astype(np.float32) * 2 + 1 for _ in range(3)]
    stats = []
    for m in (dg, torch):
        model = _swa_model(m)
        m.optim.swa_utils.update_bn([m.tensor(b) for b in batches], model)
        bn = model[1]
        stats.append((bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(),
                      int(bn.num_batches_tracked), bn.momentum, model.training))
    for a, b in zip(*stats):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("first_named, second_named", [(True, False), (False, True)])
def test_add_param_group_with_and_without_names_raises(first_named, second_named):
    errors = []
    for m in (dg, torch):
        model = m.nn.Linear(2, 2)
        named = list(model.named_parameters())
        first = named[:1] if first_named else [p for _, p in named[:1]]
        second = named[1:] if second_named else [p for _, p in named[1:]]
        optimizer = m.optim.Adam(first, lr=0.1)
        with pytest.raises(ValueError) as info:
            optimizer.add_param_group(dict(params=second))
        errors.append(str(info.value))
        assert len(optimizer.param_groups) == 1
    assert errors[0] == errors[1]


@pytest.mark.parametrize("name, options", [
    ("Adam", dict(lr="T:0.01")), ("Adam", dict(lr="T:0.01", amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr="T:0.01", weight_decay=0.1)), ("Adam", dict(lr="T:0.01", fused=True)),
    ("AdamW", dict(lr="T:0.01", fused=True)), ("SGD", dict(lr="T:0.1", momentum=0.9)),
    ("RAdam", dict(lr="T:0.01")), ("Adadelta", dict(lr="T:0.5")),
    ("RMSprop", dict(lr="T:0.01", centered=True)), ("Rprop", dict(lr="T:0.05")),
    ("Adamax", dict(lr="T:0.01", weight_decay=0.1)), ("Adagrad", dict(lr="T:0.1", lr_decay=0.1)),
    ("RAdam", dict(lr="T:0.01", decoupled_weight_decay=True, weight_decay=0.1)),
    ("Adagrad", dict(lr="T:0.1", fused=True)),
], ids=lambda value: str(value))
def test_float32_tensor_lr_on_float64_params_rounds_as_torch(name, options):
    """A float32 Tensor lr: PyTorch's step-size arithmetic in float32 (not fused), seen on
    float64 parameters at float64 precision."""
    thetas, grads = _data(12, np.float64)
    _lockstep(name, options, thetas, grads, rtol=1e-13, atol=1e-15)


def _torch_to_ours(value):
    """torch's state dict with its tensors made ours through NumPy (a deep copy)."""
    if isinstance(value, torch.Tensor):
        return dg.from_numpy(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {key: _torch_to_ours(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_torch_to_ours(item) for item in value)
    return value


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_loads_torchs_state_dict_and_continues(line_search_fn):
    rng = np.random.default_rng(13)
    a, target, theta = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(3)

    def make(m, start):
        param = m.nn.Parameter(m.tensor(start.copy()))
        optimizer = m.optim.LBFGS([param], max_iter=3, line_search_fn=line_search_fn)
        a_m, target_m = m.tensor(a), m.tensor(target)

        def closure():
            optimizer.zero_grad()
            loss = ((a_m @ param - target_m) ** 2).sum() + 0.1 * (param ** 4).sum()
            loss.backward()
            return loss

        return param, optimizer, closure

    their_param, theirs, their_closure = make(torch, theta)
    for _ in range(2):
        theirs.step(their_closure)
    our_param, ours, our_closure = make(dg, their_param.detach().numpy())
    converted = _torch_to_ours(theirs.state_dict())
    ours.load_state_dict(converted)
    for step in range(3):
        theirs.step(their_closure)
        ours.step(our_closure)
        _same(our_param.detach(), their_param.detach(), f"step {step}", rtol=1e-9, atol=1e-12)
    _same(ours.state_dict(), theirs.state_dict(), "state_dict", rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- session 10, O2


@pytest.mark.parametrize("name, options", [
    ("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1)), ("Adam", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, amsgrad=True)), ("Adagrad", dict(lr=0.1)),
    ("RMSprop", dict(lr=0.1, momentum=0.5)), ("NAdam", dict()), ("Rprop", dict()),
])
def test_duplicate_parameter_warns_and_steps_twice(name, options):
    """PyTorch warns (UserWarning) and keeps both entries: a step updates the parameter once
    per entry (its SGD reads the momentum buffers before the loop, so a first step starts two
    buffers from the gradient and keeps the last)."""
    out = []
    for m in (dg, torch):
        param = m.nn.Parameter(m.tensor([1.0, -2.0, 0.5]))
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            optimizer = getattr(m.optim, name)([param, param], **options)
        assert [w.category for w in record] == [UserWarning]
        assert "duplicate parameters" in str(record[0].message)
        assert len(optimizer.param_groups[0]["params"]) == 2
        for step in range(3):
            param.grad = m.tensor([0.5, 0.25, -1.0]) * (step + 1)
            optimizer.step()
        out.append((param.detach().numpy().copy(), deepcopy(optimizer.state_dict())))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=2e-6, atol=1e-7)
    _same(out[0][1], out[1][1], "state_dict")


def _meta_run(m, name, options, tensor_hyper):
    """Two differentiable steps of a non-leaf copy of w on a least-squares loss, then the
    gradient of the final loss w.r.t. w (and the Tensor hyperparameters); float64."""
    rng = np.random.default_rng(21)
    w0, x, y = rng.standard_normal((3, 2)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    w = m.tensor(w0, requires_grad=True)
    hyper = {}
    if tensor_hyper == "lr":
        hyper["lr"] = m.tensor(options["lr"], dtype=m.float64, requires_grad=True)
    elif tensor_hyper == "betas":
        hyper["betas"] = (m.tensor(0.8, dtype=m.float64, requires_grad=True),
                          m.tensor(0.9, dtype=m.float64, requires_grad=True))
    param = w.clone()
    param.retain_grad()
    optimizer = getattr(m.optim, name)([param], differentiable=True, **{**options, **hyper})
    inputs, targets = m.tensor(x), m.tensor(y)
    try:
        for _ in range(2):
            loss = ((inputs @ param - targets) ** 2).sum()
            (grad,) = m.autograd.grad(loss, param, create_graph=True)
            param.grad = grad
            optimizer.step()
        final = ((inputs @ param - targets) ** 2).sum()
        wrt = [w] + [v for v in hyper.values() if not isinstance(v, tuple)]
        wrt += list(hyper.get("betas", ()))
        grads = m.autograd.grad(final, wrt)
    except RuntimeError as error:
        return type(error)
    return [param.detach().numpy()] + [g.numpy() for g in grads]


@pytest.mark.parametrize("name, options, tensor_hyper", [
    ("SGD", dict(lr=0.1), None), ("SGD", dict(lr=0.1, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), None),
    ("SGD", dict(lr=0.1, maximize=True, dampening=0.2, momentum=0.5), None),
    ("SGD", dict(lr=0.1), "lr"),
    ("Adam", dict(lr=0.1), None), ("Adam", dict(lr=0.1, weight_decay=0.1), None),
    ("Adam", dict(lr=0.1), "lr"), ("Adam", dict(lr=0.1), "betas"),
    ("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.1), None),  # both raise (versions)
    ("AdamW", dict(lr=0.1, weight_decay=0.5), None), ("AdamW", dict(lr=0.1), "lr"),
    ("RMSprop", dict(lr=0.01), None), ("RMSprop", dict(lr=0.01, momentum=0.5), None),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1), None),
    ("Adagrad", dict(lr=0.1, maximize=True, initial_accumulator_value=0.3), None),
], ids=lambda value: str(value))
def test_differentiable_steps_are_recorded_as_torchs(name, options, tensor_hyper):
    theirs = _meta_run(torch, name, options, tensor_hyper)
    ours = _meta_run(dg, name, options, tensor_hyper)
    if isinstance(theirs, type):
        assert ours is theirs
        return
    assert not isinstance(ours, type), ours
    for index, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=str(index))


@pytest.mark.parametrize("name", ["NAdam", "Adamax", "RAdam"])
def test_differentiable_unsupported_optimizers_raise_clearly(name):
    """Those without a recorded step here refuse it (PyTorch records NAdam's, for one)
    instead of stepping outside the graph."""
    with pytest.raises(RuntimeError, match="differentiable=True"):
        w = dg.tensor([1.0, 2.0], requires_grad=True)
        param = w.clone()
        param.retain_grad()
        optimizer = getattr(dg.optim, name)([param], lr=0.01, differentiable=True)
        param.grad = dg.ones(2)
        optimizer.step()


def test_differentiable_leaf_step_raises_as_torch():
    errors = []
    for m in (dg, torch):
        leaf = m.nn.Parameter(m.ones(3))
        optimizer = m.optim.Adam([leaf], differentiable=True)
        leaf.grad = m.ones(3)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad") as info:
            optimizer.step()
        errors.append(type(info.value))
    assert errors[0] is errors[1]


@pytest.mark.parametrize("name, options", [
    ("Adam", dict(lr=0.01, betas=("T:0.8", "T:0.9"))),
    ("Adam", dict(lr="T:0.01", betas=("T:0.8", "T:0.95"), weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, betas=("T:0.8", "T:0.9"))),
    ("NAdam", dict(lr="T:0.01")),
    ("NAdam", dict(lr="T:0.01", decoupled_weight_decay=True, weight_decay=0.1)),
    ("ASGD", dict(lr="T:0.05", t0=1)), ("ASGD", dict(lr="T:0.05", t0=1, weight_decay=0.1)),
    ("ASGD", dict(lr="T:0.05", t0=2, alpha=0.5, lambd=0.01)),
    ("Adafactor", dict(lr="T:0.05")), ("Adafactor", dict(lr="T:0.05", weight_decay=0.1)),
    ("Adafactor", dict(lr="T:0.9")),  # lr above 1/sqrt(step): rho a number again
], ids=lambda value: str(value))
def test_float32_tensor_hyperparameters_on_float64_round_as_torch(name, options):
    thetas, grads = _data(12, np.float64)
    # Bit for bit where PyTorch's float32 sqrt / pow(0.5) are correctly rounded (Intel
    # AVX-512 machines); on CPUs where they are 1 ulp off in many elements (16% on an AMD EPYC
    # with AVX2), the float32 bias corrections differ in their last bit: float32 precision.
    exact = _torch_float32_sqrt_is_correctly_rounded()
    _lockstep(name, options, thetas, grads, rtol=1e-13 if exact else 2e-7,
              atol=1e-15 if exact else 1e-9)


def _torch_float32_sqrt_is_correctly_rounded() -> bool:
    values = (np.random.default_rng(0).random(4096) * 10).astype(np.float32)
    return (np.array_equal(torch.sqrt(torch.from_numpy(values)).numpy(), np.sqrt(values))
            and np.array_equal(torch.from_numpy(values).pow(0.5).numpy(), np.sqrt(values)))


# A seeded random sweep: optimizer x flags x dtype x param groups, three steps each beside
# PyTorch (parameters and every state tensor after each step, or the same exception type).
# bfloat16/float16 steps are not yet PyTorch's bit for bit (its fused kernels round in their
# own order; see optim/_bf16.py): those compare within two units in the last place.
SWEEP_FLAGS = {
    "SGD": dict(lr=[0.1, "T:0.05"], momentum=[0.0, 0.9], dampening=[0.0, 0.2],
                nesterov=[False, True], weight_decay=[0.0, 0.1]),
    "Adam": dict(lr=[0.01, "T:0.02"], amsgrad=[False, True], weight_decay=[0.0, 0.1],
                 betas=[(0.9, 0.999), (0.5, 0.8)], decoupled_weight_decay=[False, True]),
    "AdamW": dict(lr=[0.01], amsgrad=[False, True], weight_decay=[0.0, 0.1, 0.5]),
    "Adamax": dict(lr=[0.01, "T:0.02"], weight_decay=[0.0, 0.1], betas=[(0.9, 0.999), (0.5, 0.7)]),
    "Adadelta": dict(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0.0, 0.1]),
    "Adagrad": dict(lr=[0.1, "T:0.05"], lr_decay=[0.0, 0.1], weight_decay=[0.0, 0.1],
                    initial_accumulator_value=[0.0, 0.3]),
    "ASGD": dict(lr=[0.05, "T:0.05"], t0=[1, 2], lambd=[1e-4, 0.1], weight_decay=[0.0, 0.1]),
    "NAdam": dict(lr=[0.01, "T:0.01"], weight_decay=[0.0, 0.1], momentum_decay=[4e-3, 0.01],
                  decoupled_weight_decay=[False, True]),
    "RAdam": dict(lr=[0.01, "T:0.01"], weight_decay=[0.0, 0.1], betas=[(0.9, 0.999), (0.9, 0.5)],
                  decoupled_weight_decay=[False, True]),
    "RMSprop": dict(lr=[0.01], momentum=[0.0, 0.5], centered=[False, True], alpha=[0.99, 0.5],
                    weight_decay=[0.0, 0.1]),
    "Rprop": dict(lr=[0.05, 0.01], etas=[(0.5, 1.2), (0.4, 1.3)]),
    "Adafactor": dict(lr=[0.05, "T:0.05"], weight_decay=[0.0, 0.1], beta2_decay=[-0.8, -0.5]),
}
SWEEP_DTYPES = ["float32", "float64", "bfloat16", "float16"]
# relative tolerance (in units of the dtype's epsilon) and absolute floor per dtype
SWEEP_TOLERANCE = {"float32": (2e-6, 1e-7), "float64": (1e-12, 1e-14),
                   "bfloat16": (2 * 2.0 ** -7, 4e-3), "float16": (2 * 2.0 ** -10, 5e-4)}


def _sweep_combos(count=100, seed=2026):
    rng = np.random.default_rng(seed)
    names = sorted(SWEEP_FLAGS)
    combos = []
    for index in range(count):
        name = names[index % len(names)]
        options = {key: values[rng.integers(len(values))]
                   for key, values in SWEEP_FLAGS[name].items()}
        options["maximize"] = bool(rng.integers(2))
        options["foreach"] = [None, False, True][rng.integers(3)]
        dtype = SWEEP_DTYPES[rng.integers(len(SWEEP_DTYPES))]
        groups = None
        if rng.integers(2):  # two groups, the second with its own options
            second = dict(weight_decay=0.05, maximize=not options["maximize"])
            if name != "Adafactor":
                second["lr"] = 0.003
            groups = [dict(), second]
        combos.append((name, options, dtype, groups, int(rng.integers(1 << 30))))
    return combos


def _sweep_numpy(value):
    return value.detach().double().numpy()


def _sweep_run(module, name, options, dtype, groups, thetas):
    params = [module.nn.Parameter(module.tensor(t).to(getattr(module, dtype))) for t in thetas]
    options = _tensor_options(module, options)
    target = params if groups is None else [
        dict(params=[p], **extra) for p, extra in zip(params, groups)]
    return params, getattr(module.optim, name)(target, **options)


@pytest.mark.parametrize("name, options, dtype, groups, seed", _sweep_combos(),
                         ids=[f"{i}-{c[0]}-{c[2]}" for i, c in enumerate(_sweep_combos())])
def test_random_sweep(name, options, dtype, groups, seed):
    rng = np.random.default_rng(seed)
    thetas = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) for shape in SHAPES] for _ in range(3)]
    rtol, atol = SWEEP_TOLERANCE[dtype]
    try:
        theirs = _sweep_run(torch, name, options, dtype, groups, thetas)
    except Exception as error:
        with pytest.raises(type(error)):
            _sweep_run(dg, name, options, dtype, groups, thetas)
        return
    ours = _sweep_run(dg, name, options, dtype, groups, thetas)
    for step, step_grads in enumerate(grads):
        skip = {1: 0}.get(step)  # parameter 0 has no gradient at step 1
        runs = []
        for module, (params, optimizer) in ((dg, ours), (torch, theirs)):
            for index, (param, grad) in enumerate(zip(params, step_grads)):
                param.grad = None if index == skip else module.tensor(grad).to(param.dtype)
            try:
                optimizer.step()
                runs.append(None)
            except Exception as error:
                runs.append(type(error))
        assert runs[0] is runs[1], f"step {step}: {runs}"
        if runs[1] is not None:
            return
        for index, (a, b) in enumerate(zip(ours[0], theirs[0])):
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
            np.testing.assert_allclose(_sweep_numpy(a), _sweep_numpy(b), rtol=rtol, atol=atol,
                                       err_msg=f"step {step} param {index}")
            our_state, their_state = ours[1].state[a], theirs[1].state[b]
            assert list(our_state) == list(their_state), f"step {step} param {index}"
            for key, value in their_state.items():
                if isinstance(value, torch.Tensor):
                    assert str(our_state[key].dtype).split(".")[-1] == \
                        str(value.dtype).split(".")[-1], key
                    np.testing.assert_allclose(
                        _sweep_numpy(our_state[key]), _sweep_numpy(value), rtol=rtol,
                        atol=atol, err_msg=f"step {step} param {index} state {key}")


# bfloat16 / float16 parameters: every optimizer steps them (Adamax, Adadelta, ASGD, NAdam,
# RAdam, Rprop and Adafactor raised TypeError before); those marked exact match PyTorch bit for
# bit over five steps, the others within two units in the last place for now.
HALF_EXACT = {("SGD", "bfloat16", False), ("Adam", "bfloat16", False),
              ("Adam", "bfloat16", True), ("AdamW", "bfloat16", False),
              ("Rprop", "bfloat16", False), ("Rprop", "bfloat16", True),
              ("Rprop", "float16", False), ("Rprop", "float16", True)}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name, options", MORE, ids=MORE_IDS)
def test_half_precision_parameters(name, options, dtype, foreach):
    rng = np.random.default_rng(31)
    theta = rng.standard_normal(40).astype(np.float32)
    grads = [rng.standard_normal(40).astype(np.float32) for _ in range(5)]
    out = []
    for m in (dg, torch):
        param = m.nn.Parameter(m.tensor(theta).to(getattr(m, dtype)))
        optimizer = getattr(m.optim, name)([param], foreach=foreach, **options)
        for grad in grads:
            param.grad = m.tensor(grad).to(getattr(m, dtype))
            optimizer.step()
        assert str(param.dtype).endswith(dtype)
        out.append(param.detach().double().numpy())
    if (name, dtype, foreach) in HALF_EXACT:
        np.testing.assert_array_equal(out[0], out[1])
    else:
        rtol, atol = SWEEP_TOLERANCE[dtype]
        np.testing.assert_allclose(out[0], out[1], rtol=rtol, atol=atol)
