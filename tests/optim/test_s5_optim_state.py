"""Optimizer and scheduler state against PyTorch's: param_groups (keys, order, values, types),
state dicts (layout, state keys, dtypes, values) and torch's state dicts loaded here."""

from __future__ import annotations

from copy import deepcopy

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

SHAPES = [(3,), (2, 3)]
STEPS = 3

# (optimizer, options): each with and without its decay / momentum / variant switches.
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, dampening=0)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, t0=1, weight_decay=0.1)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-4, 1))),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}"
       for name, options in CASES]


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    thetas = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
             for _ in range(STEPS + 1)]
    return thetas, grads


def _run(module, name, options, thetas, grads, steps=STEPS):
    params = [module.nn.Parameter(module.tensor(theta.copy())) for theta in thetas]
    optimizer = getattr(module.optim, name)(params, **options)
    for step_grads in grads[:steps]:
        _step(module, optimizer, params, step_grads)
    return optimizer, params


def _step(module, optimizer, params, step_grads):
    for param, grad in zip(params, step_grads):
        param.grad = module.tensor(grad.copy())
    optimizer.step()


def _numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else None


def _assert_same(ours, theirs, where: str) -> None:
    """Same structure, key order, Python types, tensor dtypes and shapes, and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dg.Tensor), f"{where}: {type(ours).__name__}, torch a Tensor"
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], where
        assert tuple(ours.shape) == tuple(theirs.shape), where
        np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=2e-6, atol=1e-7,
                                   err_msg=where)
        return
    assert type(ours) is type(theirs), f"{where}: {ours!r} against torch's {theirs!r}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), f"{where}: keys {list(ours)} != {list(theirs)}"
        for key in theirs:
            _assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, f"{where}[{index}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-6), where
    else:
        assert ours == theirs, where


def _to_dg(value):
    """torch's state dict with its tensors made deltagrad's (dtype kept)."""
    if isinstance(value, torch.Tensor):
        return dg.from_numpy(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {key: _to_dg(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_dg(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_to_dg(item) for item in value)
    return value


@pytest.mark.parametrize("name", sorted({name for name, _ in CASES} | {"SparseAdam", "LBFGS"}))
def test_default_param_group_is_torchs(name):
    """The whole default group: keys in torch's order, values and their types (int 0)."""
    ours = getattr(dg.optim, name)([dg.nn.Parameter(dg.ones(2))]).param_groups[0]
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))]).param_groups[0]
    ours, theirs = dict(ours), dict(theirs)
    assert len(ours.pop("params")) == len(theirs.pop("params")) == 1
    _assert_same(ours, theirs, name)
    assert repr(ours) == repr(theirs)  # what print(optimizer.param_groups) shows


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_state_and_state_dict_are_torchs(name, options):
    thetas, grads = _data()
    ours, our_params = _run(dg, name, options, thetas, grads)
    theirs, their_params = _run(torch, name, options, thetas, grads)
    for a, b in zip(our_params, their_params):
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-5, atol=1e-6)
    our_groups = [{k: v for k, v in g.items() if k != "params"} for g in ours.param_groups]
    their_groups = [{k: v for k, v in g.items() if k != "params"} for g in theirs.param_groups]
    _assert_same(our_groups, their_groups, "param_groups")
    _assert_same(ours.state_dict(), theirs.state_dict(), "state_dict")
    # The live state too: what a program reads from optimizer.state[p] between steps.
    for a, b in zip(our_params, their_params):
        _assert_same(ours.state[a], theirs.state[b], "state[p]")


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_torchs_state_dict_loads_and_steps_on_the_same(name, options):
    """torch's state dict (tensor steps) loaded here continues torch's run."""
    thetas, grads = _data(1)
    theirs, their_params = _run(torch, name, options, thetas, grads, steps=STEPS - 1)
    mid = [_numpy(param).copy() for param in their_params]
    ours, our_params = _run(dg, name, options, mid, grads, steps=0)
    ours.load_state_dict(_to_dg(theirs.state_dict()))
    _assert_same(ours.state_dict(), theirs.state_dict(), "loaded")
    for step_grads in grads[STEPS - 1:]:
        _step(torch, theirs, their_params, step_grads)
        _step(dg, ours, our_params, step_grads)
    for a, b in zip(our_params, their_params):
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-5, atol=1e-6)
    _assert_same(ours.state_dict(), theirs.state_dict(), "after")


@pytest.mark.parametrize("name, options", CASES, ids=IDS)
def test_own_state_dict_round_trip_is_exact(name, options):
    thetas, grads = _data(2)
    first, first_params = _run(dg, name, options, thetas, grads, steps=STEPS - 1)
    copy, copy_params = _run(dg, name, options, [_numpy(p) for p in first_params], grads,
                             steps=0)
    copy.load_state_dict(deepcopy(first.state_dict()))  # (PyTorch's dict is live: a copy)
    for step_grads in grads[STEPS - 1:]:
        _step(dg, first, first_params, step_grads)
        _step(dg, copy, copy_params, step_grads)
    for a, b in zip(first_params, copy_params):
        np.testing.assert_array_equal(_numpy(a), _numpy(b))


@pytest.mark.parametrize("name", ["Adam", "NAdam", "ASGD", "Adagrad", "RMSprop", "Rprop"])
def test_number_steps_load_as_tensors(name):
    """A state dict with Python-number steps (older deltagrad, or hand-made) loads as torch's
    __setstate__ does: the scalars become float32 0-d tensors and the run continues."""
    thetas, grads = _data(3)
    ours, params = _run(dg, name, {}, thetas, grads, steps=2)
    saved = ours.state_dict()
    for entry in saved["state"].values():
        for key in ours._scalar_state:
            entry[key] = entry[key].item()
        entry["step"] = int(entry["step"])
    reference = ours.state_dict()
    ours.load_state_dict(saved)
    step = ours.state[params[0]]["step"]
    assert isinstance(step, dg.Tensor) and step.dtype == dg.float32 and step.item() == 2.0
    _assert_same_dg(ours.state_dict(), reference)
    _step(dg, ours, params, grads[2])
    assert ours.state[params[0]]["step"].item() == 3.0


def _assert_same_dg(a, b):
    if isinstance(b, dg.Tensor):
        assert isinstance(a, dg.Tensor) and a.dtype == b.dtype
        np.testing.assert_array_equal(_numpy(a), _numpy(b))
    elif isinstance(b, dict):
        assert list(a) == list(b)
        for key in b:
            _assert_same_dg(a[key], b[key])
    else:
        assert type(a) is type(b) and a == b


def test_step_is_a_float32_tensor_changed_in_place():
    p = dg.nn.Parameter(dg.ones(2))
    optimizer = dg.optim.Adam([p])
    p.grad = dg.ones(2)
    optimizer.step()
    step = optimizer.state[p]["step"]
    assert step.item() == 1.0 and step.dtype == dg.float32 and step.shape == ()
    optimizer.step()
    assert optimizer.state[p]["step"] is step and step.item() == 2.0  # as torch's step_t += 1
    saved = optimizer.state_dict()["state"][0]["step"]
    optimizer.step()
    assert saved is step and saved.item() == 3.0  # the live tensor, as PyTorch's state_dict


def test_state_dict_holds_the_live_state_as_pytorchs():
    """`best = opt.state_dict()` kept without a copy follows training in PyTorch; loading it
    into another optimizer shares the tensors (so both then step the same moments)."""
    results = {}
    for m in (dg, torch):
        m.manual_seed(0)
        model = m.nn.Linear(3, 2)
        opt = m.optim.Adam(model.parameters(), lr=0.1)
        x = m.ones(4, 3)

        def step(model=model, opt=opt, x=x):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()

        step()
        kept = opt.state_dict()  # no copy
        step()
        other = m.optim.Adam(model.parameters(), lr=0.1)
        other.load_state_dict(kept)
        shared = other.state[model.weight]["exp_avg"] is opt.state[model.weight]["exp_avg"]
        results[m.__name__] = (kept["state"][0]["step"].item(),
                               kept["state"][0]["exp_avg"].detach().numpy().copy(), shared)
    ours, theirs = results["deltagrad"], results["torch"]
    assert ours[0] == theirs[0] == 2.0
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    assert ours[2] == theirs[2]


def test_scalar_state_follows_the_default_dtype():
    """torch keeps its scalar state in float64 while that is the default dtype."""
    saved, saved_torch = dg.get_default_dtype(), torch.get_default_dtype()
    dg.set_default_dtype(dg.float64)
    torch.set_default_dtype(torch.float64)
    try:
        thetas, grads = _data(4)
        ours, _ = _run(dg, "ASGD", {}, thetas, grads)
        theirs, _ = _run(torch, "ASGD", {}, thetas, grads)
        _assert_same(ours.state_dict(), theirs.state_dict(), "float64")
    finally:
        dg.set_default_dtype(saved)
        torch.set_default_dtype(saved_torch)


def test_adagrad_state_exists_before_the_first_step():
    ours = dg.optim.Adagrad([dg.nn.Parameter(dg.ones(2))], initial_accumulator_value=0.1)
    theirs = torch.optim.Adagrad([torch.nn.Parameter(torch.ones(2))],
                                 initial_accumulator_value=0.1)
    _assert_same(ours.state_dict(), theirs.state_dict(), "Adagrad")


def test_sparse_adam_counts_in_an_int():
    def run(module):
        table = module.nn.Parameter(module.zeros(5, 2))
        optimizer = module.optim.SparseAdam([table], lr=0.1)
        for rows in ([1, 3], [3]):
            module.nn.functional.embedding(module.tensor(rows), table, sparse=True).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
        return optimizer

    ours, theirs = run(dg), run(torch)
    _assert_same(ours.state_dict(), theirs.state_dict(), "SparseAdam")
    ours.load_state_dict(_to_dg(theirs.state_dict()))
    assert type(ours.state_dict()["state"][0]["step"]) is int


def _lbfgs(module, start=(1.5, -0.5), steps=1, state_dict=None):
    w = module.nn.Parameter(module.tensor(list(start)))
    optimizer = module.optim.LBFGS([w], max_iter=3)
    if state_dict is not None:
        optimizer.load_state_dict(state_dict)

    def closure():
        optimizer.zero_grad()
        loss = ((w - 1.0) ** 4).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return optimizer, w


def test_lbfgs_state_is_torchs():
    ours, theirs = _lbfgs(dg)[0].state_dict(), _lbfgs(torch)[0].state_dict()
    our_state, their_state = ours["state"][0], theirs["state"][0]
    assert list(our_state) == list(their_state)
    # NOTE: t is a float here; torch's is whatever its arithmetic gave (the int lr, a float or
    # a 0-d tensor). prev_loss drifts with float32 rounding.
    assert float(our_state.pop("t")) == float(their_state.pop("t"))
    assert our_state.pop("prev_loss") == pytest.approx(their_state.pop("prev_loss"), rel=1e-4)
    _assert_same(our_state, their_state, "LBFGS state")  # func_evals, n_iter ints; ro 0-d
    _assert_same(ours["param_groups"], theirs["param_groups"], "LBFGS")


def test_lbfgs_continues_from_torchs_state():
    theirs, their_w = _lbfgs(torch)
    ours, our_w = _lbfgs(dg, start=_numpy(their_w).tolist(), steps=1,
                         state_dict=_to_dg(theirs.state_dict()))
    assert isinstance(ours.state[our_w]["H_diag"], dg.Tensor)
    _lbfgs_step(theirs, their_w)
    np.testing.assert_allclose(_numpy(our_w), _numpy(their_w), rtol=1e-5)


def _lbfgs_step(optimizer, w):
    def closure():
        optimizer.zero_grad()
        loss = ((w - 1.0) ** 4).sum()
        loss.backward()
        return loss

    optimizer.step(closure)


# ------------------------------------------------------------------------------ schedulers

SCHEDULERS = [
    ("StepLR", dict(step_size=2, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[1, 3], gamma=0.1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01)),
    ("LinearLR", dict(start_factor=0.5, total_iters=3)),
    ("ConstantLR", dict(factor=0.5, total_iters=2)),
    ("PolynomialLR", dict(total_iters=4, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=2)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=10)),
    ("ReduceLROnPlateau", dict(patience=0, factor=0.5)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.9 ** epoch)),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.9)),
    ("SequentialLR", lambda m, opt: m.optim.lr_scheduler.SequentialLR(
        opt, [m.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
              m.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)], milestones=[2])),
    ("ChainedScheduler", lambda m, opt: m.optim.lr_scheduler.ChainedScheduler(
        [m.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
         m.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)])),
]


@pytest.mark.parametrize("name, options", SCHEDULERS, ids=[name for name, _ in SCHEDULERS])
def test_scheduler_state_is_torchs(name, options):
    def run(module):
        param = module.nn.Parameter(module.ones(2))
        optimizer = module.optim.SGD([param], lr=0.1, momentum=0.9)
        if callable(options):
            scheduler = options(module, optimizer)
        else:
            scheduler = getattr(module.optim.lr_scheduler, name)(optimizer, **options)
        lrs = []
        for _ in range(5):
            param.grad = module.ones(2)
            optimizer.step()
            if name == "ReduceLROnPlateau":
                scheduler.step(1.0)
            else:
                scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return optimizer, scheduler, lrs

    ours, our_scheduler, our_lrs = run(dg)
    theirs, their_scheduler, their_lrs = run(torch)
    _assert_same(our_lrs, their_lrs, "get_last_lr")
    our_group = {k: v for k, v in ours.param_groups[0].items() if k != "params"}
    their_group = {k: v for k, v in theirs.param_groups[0].items() if k != "params"}
    _assert_same(our_group, their_group, "param_groups")  # initial_lr included
    their_state = their_scheduler.state_dict()
    our_state = our_scheduler.state_dict()
    assert list(our_state) == list(their_state)  # attributes in the same order
    for key, value in their_state.items():
        if key not in ("optimizer", "_scale_fn_ref"):
            _assert_same(our_state[key], value, f"scheduler {key}")


def test_named_parameters_give_param_names():
    def build(module):
        layer = module.nn.Linear(2, 2)
        optimizer = module.optim.AdamW(layer.named_parameters(), lr=0.1)
        optimizer.add_param_group({"params": [("extra", module.nn.Parameter(module.ones(1)))],
                                   "lr": 0.5})
        return optimizer

    ours, theirs = build(dg), build(torch)
    assert [list(group) for group in ours.param_groups] == \
        [list(group) for group in theirs.param_groups]
    _assert_same(ours.state_dict(), theirs.state_dict(), "named")
    with pytest.raises(ValueError):
        dg.optim.SGD([("a", dg.nn.Parameter(dg.ones(1))), dg.nn.Parameter(dg.ones(1))], lr=0.1)


def test_sgd_without_momentum_keeps_no_state():
    for module in (dg, torch):
        param = module.nn.Parameter(module.ones(2))
        optimizer = module.optim.SGD([param], lr=0.1)
        param.grad = module.ones(2)
        optimizer.step()
        assert len(optimizer.state) == 0


def test_options_missing_from_an_older_state_dict_keep_their_defaults():
    thetas, grads = _data(5)
    theirs, _ = _run(torch, "Adam", {}, thetas, grads)
    saved = theirs.state_dict()
    for group in saved["param_groups"]:
        del group["decoupled_weight_decay"], group["foreach"]
    ours, _ = _run(dg, "Adam", {}, thetas, grads, steps=0)
    ours.load_state_dict(_to_dg(saved))
    theirs.load_state_dict(saved)  # torch's __setstate__ gives them their defaults
    our_group = {k: v for k, v in ours.param_groups[0].items() if k != "params"}
    their_group = {k: v for k, v in theirs.param_groups[0].items() if k != "params"}
    assert our_group == their_group
