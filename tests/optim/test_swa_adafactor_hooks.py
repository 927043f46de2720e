"""Optimizer hooks, optim.Adafactor and optim.swa_utils against PyTorch (same weights, gradients
and inputs; trajectories compared step by step)."""

import math

import numpy as np
import pytest
from state_dicts import json_round_trip

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
from deltagrad.optim import swa_utils  # noqa: E402
from deltagrad.optim.optimizer import (  # noqa: E402
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

TSWA = torch.optim.swa_utils


def arr(t):
    return t.detach().numpy()


# ----------------------------------------------------------------------------------------------
# Step hooks.


def _sgd(lib, lr=0.1):
    w = lib.tensor([1.0, -2.0], requires_grad=True)
    return w, lib.optim.SGD([w], lr=lr)


def test_step_hooks_order_arguments_and_replacement():
    logs = []
    for lib in (dg, torch):
        log = []
        w, opt = _sgd(lib)
        opt.register_step_pre_hook(lambda o, args, kwargs, log=log: log.append(
            ("pre", len(args), args[0] is o, dict(kwargs))))
        post = opt.register_step_post_hook(lambda o, args, kwargs, log=log: log.append("post"))
        (w * w).sum().backward()
        opt.step()
        post.remove()
        opt.step(closure=None)
        # A pre-hook may replace the arguments: here, a closure that scales the gradient.

        def replace(o, args, kwargs, w=w):
            def closure():
                w.grad = w.grad * 0 + 1
                return 7.0
            return (args[0], closure), {}

        opt.register_step_pre_hook(replace)
        assert opt.step() == 7.0
        logs.append((log, arr(w).tolist()))
    assert logs[0] == logs[1]
    for lib in (dg, torch):
        w, opt = _sgd(lib)
        opt.register_step_pre_hook(lambda o, args, kwargs: "bad")
        with pytest.raises(RuntimeError, match="must return None or a tuple"):
            opt.step()


def test_global_step_hooks_and_subclasses_calling_super_run_hooks_once():
    calls = []
    pre = register_optimizer_step_pre_hook(lambda o, a, k: calls.append(("pre", type(o))))
    post = register_optimizer_step_post_hook(lambda o, a, k: calls.append(("post", type(o))))
    try:
        sparse = dg.optim.SparseAdam([dg.tensor([1.0], requires_grad=True)])
        sparse.register_step_pre_hook(lambda o, a, k: calls.append("own"))
        sparse.step()  # SparseAdam.step calls Optimizer.step: the hooks still run once
        _, sgd = _sgd(dg)
        sgd.step()
    finally:
        pre.remove()
        post.remove()
    sparse_type = dg.optim.SparseAdam
    assert calls == [("pre", sparse_type), "own", ("post", sparse_type),
                     ("pre", dg.optim.SGD), ("post", dg.optim.SGD)]
    _, sgd = _sgd(dg)
    sgd.step()
    assert len(calls) == 5


def test_state_dict_hooks_match_pytorch():
    results = []
    for lib in (dg, torch):
        log = []
        w, opt = _sgd(lib)
        (w * w).sum().backward()
        opt.step()
        opt.register_state_dict_pre_hook(lambda o, log=log: log.append("pre"))
        opt.register_state_dict_pre_hook(lambda o, log=log: log.append("first"), prepend=True)

        def add_note(o, state_dict, log=log):
            log.append("post")
            state_dict["note"] = 1

        opt.register_state_dict_post_hook(add_note)
        opt.register_state_dict_post_hook(
            lambda o, sd: {**sd, "replaced": True})
        state = opt.state_dict()

        def drop_extra(o, state_dict, log=log):
            log.append(("load_pre", sorted(state_dict)))
            del state_dict["note"], state_dict["replaced"]
            state_dict["param_groups"][0]["lr"] = 0.5

        opt.register_load_state_dict_pre_hook(drop_extra)
        opt.register_load_state_dict_post_hook(lambda o, log=log: log.append(
            ("load_post", o.param_groups[0]["lr"])))
        opt.load_state_dict(state)
        results.append((log, state.get("note"), state.get("replaced"), sorted(state)))
    assert results[0] == results[1]


def test_load_state_dict_hooks_run_once_for_lbfgs():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    opt = dg.optim.LBFGS([w])
    calls = []
    opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append("pre"))
    opt.register_load_state_dict_post_hook(lambda o: calls.append("post"))
    opt.load_state_dict(opt.state_dict())
    assert calls == ["pre", "post"]


# ----------------------------------------------------------------------------------------------
# Adafactor.

SHAPES = [(3, 4), (5,), (2, 3, 4), (), (4, 1)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("options", [
    {}, {"weight_decay": 0.1, "lr": 0.05}, {"maximize": True, "d": 2.0, "eps": (1e-30, 1e-3)},
    {"beta2_decay": -0.5, "lr": 0.5}])
def test_adafactor_trajectory_matches_pytorch(dtype, options):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    theirs = [torch.nn.Parameter(torch.tensor(a)) for a in start]
    ours = [dg.tensor(a, requires_grad=True) for a in start]
    opt_theirs = torch.optim.Adafactor(theirs, **options)
    opt_ours = dg.optim.Adafactor(ours, **options)
    rtol = 1e-12 if dtype == "float64" else 2e-6
    for _ in range(4):
        for t, o, shape in zip(theirs, ours, SHAPES):
            g = rng.standard_normal(shape).astype(dtype)
            t.grad, o.grad = torch.tensor(g), dg.tensor(g)
        opt_theirs.step()
        opt_ours.step()
        for t, o in zip(theirs, ours):
            np.testing.assert_allclose(arr(o), arr(t), rtol=rtol, atol=rtol)
    for t, o in zip(theirs, ours):
        state_theirs, state_ours = opt_theirs.state[t], opt_ours.state[o]
        assert sorted(state_ours) == sorted(state_theirs)
        for key in state_theirs:
            if key != "step":
                np.testing.assert_allclose(arr(state_ours[key]), arr(state_theirs[key]),
                                           rtol=rtol * 10, atol=1e-30)


def test_adafactor_state_dict_round_trip_and_checks():
    rng = np.random.default_rng(1)
    params = [dg.tensor(rng.standard_normal(s), requires_grad=True) for s in SHAPES]
    opt = dg.optim.Adafactor(params, weight_decay=0.01)
    for p in params:
        p.grad = dg.tensor(rng.standard_normal(tuple(p.shape)))
    opt.step()
    saved = json_round_trip(opt.state_dict())
    twin_params = [dg.tensor(arr(p).copy(), requires_grad=True) for p in params]
    twin = dg.optim.Adafactor(twin_params, weight_decay=0.01)
    twin.load_state_dict(saved)
    assert twin.param_groups[0]["eps"] == (None, 1e-3)
    for p, q in zip(params, twin_params):
        q.grad = p.grad
    opt.step()
    twin.step()
    for p, q in zip(params, twin_params):
        np.testing.assert_array_equal(arr(p), arr(q))
    saved["state"]["0"]["row_var"] = dg.zeros(3, 4)
    with pytest.raises(ValueError, match="row_var"):
        twin.load_state_dict(saved)
    for options, message in (({"lr": -1.0}, "Learning rate"), ({"beta2_decay": 0.5},
                                                                 "beta2_decay"),
                             ({"d": 0.5}, "Clipping threshold"),
                             ({"eps": (-1.0, 1e-3)}, "epsilon1"),
                             ({"weight_decay": -1.0}, "weight_decay")):
        for lib in (dg, torch):
            with pytest.raises(ValueError, match=message):
                lib.optim.Adafactor([lib.zeros(2, requires_grad=True)], **options)


# ----------------------------------------------------------------------------------------------
# swa_utils.


def _bn_models():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.Linear(4, 1)).double()
    ours = dg.nn.Sequential(dg.nn.Linear(3, 4), dg.nn.BatchNorm1d(4),
                            dg.nn.Linear(4, 1)).double()
    ours.load_state_dict({k: dg.tensor(arr(v)) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("kind", ["swa", "ema_fn", "ema_multi", "buffers"])
def test_averaged_model_matches_pytorch(kind):
    ours, theirs = _bn_models()
    options = {
        "swa": ({}, {}),
        "ema_fn": ({"avg_fn": swa_utils.get_ema_avg_fn(0.9)},
                   {"avg_fn": TSWA.get_ema_avg_fn(0.9)}),
        "ema_multi": ({"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(0.8)},
                      {"multi_avg_fn": TSWA.get_ema_multi_avg_fn(0.8)}),
        "buffers": ({"use_buffers": True}, {"use_buffers": True}),
    }[kind]
    avg_ours = swa_utils.AveragedModel(ours, **options[0])
    avg_theirs = TSWA.AveragedModel(theirs, **options[1])
    opt_ours = dg.optim.SGD(ours.parameters(), lr=0.1)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1)
    rng = np.random.default_rng(2)
    for _ in range(4):
        x = rng.standard_normal((6, 3))
        for model, opt, make in ((ours, opt_ours, dg.tensor), (theirs, opt_theirs,
                                                                torch.tensor)):
            opt.zero_grad()
            (model(make(x)) ** 2).mean().backward()
            opt.step()
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
        mine, reference = avg_ours.state_dict(), avg_theirs.state_dict()
        assert list(mine) == list(reference)
        for key in reference:
            np.testing.assert_allclose(arr(mine[key]), arr(reference[key]), rtol=1e-12)
    x = dg.tensor(rng.standard_normal((2, 3)))
    avg_ours.eval()
    avg_theirs.eval()
    np.testing.assert_allclose(arr(avg_ours(x)), arr(avg_theirs(torch.tensor(arr(x)))),
                               rtol=1e-12)


def test_update_bn_matches_pytorch():
    ours, theirs = _bn_models()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((5, 3)) for _ in range(3)]
    ours.eval()
    theirs.eval()
    ours[1].momentum = theirs[1].momentum = 0.3
    swa_utils.update_bn([(dg.tensor(b), 0) for b in batches], ours)
    TSWA.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(arr(ours.state_dict()[key]), arr(value), rtol=1e-12)
    assert not ours.training and ours[1].momentum == 0.3
    swa_utils.update_bn([], dg.nn.Linear(2, 2))  # no batch norm: nothing to do


@pytest.mark.parametrize("strategy,epochs", [("cos", 3), ("linear", 4), ("cos", 0)])
def test_swalr_matches_pytorch(strategy, epochs):
    lrs = []
    for lib, make in ((dg, swa_utils.SWALR),
                      (torch, TSWA.SWALR)):
        w = lib.zeros(1, requires_grad=True)
        b = lib.zeros(1, requires_grad=True)
        opt = lib.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=1.0)
        scheduler = make(opt, swa_lr=[0.05, 0.1], anneal_epochs=epochs,
                         anneal_strategy=strategy)
        trace = []
        for _ in range(6):
            opt.step()
            scheduler.step()
            trace.append(scheduler.get_last_lr())
        lrs.append(trace)
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=1e-12)


def test_swalr_state_dict_and_errors():
    w = dg.zeros(1, requires_grad=True)
    opt = dg.optim.SGD([w], lr=1.0)
    scheduler = swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=2, anneal_strategy="linear")
    scheduler.step()
    state = json_round_trip(scheduler.state_dict())
    assert "anneal_func" not in state
    other = swa_utils.SWALR(dg.optim.SGD([w], lr=1.0), swa_lr=0.1)
    other.load_state_dict(state)
    assert other.anneal_func(0.25) == 0.25 and other.get_last_lr() == scheduler.get_last_lr()
    for lib, make in ((dg, swa_utils.SWALR), (torch, TSWA.SWALR)):
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=1.0)
        with pytest.raises(ValueError, match="anneal_strategy must be one of"):
            make(opt, swa_lr=0.1, anneal_strategy="step")
        with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
            make(opt, swa_lr=0.1, anneal_epochs=-1)
        with pytest.raises(ValueError, match="swa_lr"):
            make(opt, swa_lr=[0.1, 0.2])
    assert math.isclose(swa_utils.SWALR._cosine_anneal(0.5), 0.5)


def test_averaged_model_options_errors():
    for lib, module in ((dg, swa_utils), (torch, TSWA)):
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            module.AveragedModel(lib.nn.Linear(1, 1), avg_fn=module.get_swa_avg_fn(),
                                 multi_avg_fn=module.get_swa_multi_avg_fn())
        with pytest.raises(ValueError, match="Invalid decay value"):
            module.get_ema_multi_avg_fn(1.5)
        with pytest.raises(ValueError, match="Invalid decay value"):
            module.get_ema_avg_fn(-0.1)
