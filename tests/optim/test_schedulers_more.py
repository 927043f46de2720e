"""MultiplicativeLR, ConstantLR, PolynomialLR, ChainedScheduler, CosineAnnealingWarmRestarts,
CyclicLR and OneCycleLR: lr (and momentum) sequences against torch, closed forms, resumes."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from state_dicts import json_round_trip

import deltagrad as dg
from deltagrad.optim import SGD, Adagrad, Adam
from deltagrad.optim import lr_scheduler as sched

BASE_LRS = [0.1, 0.02]
EPOCHS = 40


def make_optimizer(lib=dg, cls_name="SGD", lrs=BASE_LRS, **options):
    params = [lib.zeros(2, requires_grad=True) for _ in lrs]
    return getattr(lib.optim, cls_name)(
        [{"params": [param], "lr": lr} for param, lr in zip(params, lrs)], **options)


def momenta(optimizer):
    """Each group's momentum: β₁ for the Adam family."""
    return [group["betas"][0] if "betas" in group else group["momentum"]
            for group in optimizer.param_groups]


def schedule(lib, cls_name, options, name, kwargs, epochs=EPOCHS):
    """The lrs and momenta in force during each epoch: read, (train), step."""
    optimizer = make_optimizer(lib, cls_name, **options)
    kwargs = kwargs(optimizer) if callable(kwargs) else kwargs
    scheduler = getattr(lib.optim.lr_scheduler, name)(optimizer, **kwargs)
    lrs, moms = [], []
    for _ in range(epochs):
        lrs.append(scheduler.get_last_lr())
        assert lrs[-1] == [group["lr"] for group in optimizer.param_groups]
        moms.append(momenta(optimizer))
        optimizer.step()
        scheduler.step()
    return lrs, moms


CASES = [
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.9)),
    ("MultiplicativeLR", dict(lr_lambda=[lambda epoch: 0.95, lambda epoch: 1.0 + 0.01 * epoch])),
    ("ConstantLR", dict()),
    ("ConstantLR", dict(factor=0.5, total_iters=7)),
    ("ConstantLR", dict(factor=0.25, total_iters=1)),
    ("PolynomialLR", dict()),
    ("PolynomialLR", dict(total_iters=12, power=2.0)),
    ("PolynomialLR", dict(total_iters=30, power=0.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.001)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=[0.01, 0.001], max_lr=[0.1, 0.2], step_size_up=3,
                      step_size_down=5, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range",
                      gamma=0.95)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=6, scale_fn=lambda x: 0.9 ** x,
                      scale_mode="iterations", base_momentum=0.5, max_momentum=0.7)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 1 / x)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=EPOCHS)),
    ("OneCycleLR", dict(max_lr=[0.1, 0.3], total_steps=EPOCHS, anneal_strategy="linear",
                        three_phase=True)),
    ("OneCycleLR", dict(max_lr=0.1, epochs=4, steps_per_epoch=10, pct_start=0.25,
                        div_factor=10.0, final_div_factor=100.0, base_momentum=[0.8, 0.7])),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=EPOCHS, three_phase=True, pct_start=0.4)),
]
CASE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
OPTIMIZERS = [("SGD", dict(momentum=0.9)), ("Adam", dict())]


@pytest.mark.parametrize(("cls_name", "options"), OPTIMIZERS, ids=["SGD", "Adam"])
@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_lr_and_momentum_sequences_match_torch(name, kwargs, cls_name, options):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own notices
        expected_lrs, expected_momenta = schedule(torch, cls_name, options, name, kwargs)
    lrs, moms = schedule(dg, cls_name, options, name, kwargs)
    np.testing.assert_allclose(lrs, expected_lrs, rtol=1e-13, atol=1e-17)
    np.testing.assert_allclose(moms, expected_momenta, rtol=1e-13, atol=1e-17)


# ------------------------------------------------------------------------------------------
# Closed forms


def test_constant_and_polynomial_match_their_closed_forms():
    lrs, _ = schedule(dg, "SGD", {}, "ConstantLR", dict(factor=0.25, total_iters=6))
    for epoch, values in enumerate(lrs):
        factor = 0.25 if epoch < 6 else 1.0
        np.testing.assert_allclose(values, [base * factor for base in BASE_LRS], rtol=1e-15)
    lrs, _ = schedule(dg, "SGD", {}, "PolynomialLR", dict(total_iters=10, power=3.0))
    for epoch, values in enumerate(lrs):
        expected = [base * (1 - min(epoch, 10) / 10) ** 3.0 for base in BASE_LRS]
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize(("T_0", "T_mult"), [(4, 1), (2, 3)])
def test_warm_restarts_match_their_closed_form(T_0, T_mult):
    lrs, _ = schedule(dg, "SGD", {}, "CosineAnnealingWarmRestarts",
                      dict(T_0=T_0, T_mult=T_mult, eta_min=0.005))
    period, start = T_0, 0
    for epoch, values in enumerate(lrs):
        if epoch - start >= period:  # a restart
            start, period = start + period, period * T_mult
        cosine = (1 + math.cos(math.pi * (epoch - start) / period)) / 2
        expected = [0.005 + (base - 0.005) * cosine for base in BASE_LRS]
        np.testing.assert_allclose(values, expected, rtol=1e-13)
    restarts = [epoch for epoch, values in enumerate(lrs) if values[0] == BASE_LRS[0]]
    assert restarts[:3] == ([0, 4, 8] if T_mult == 1 else [0, 2, 8])


def test_one_cycle_starts_peaks_and_ends_where_documented():
    total = 50
    lrs, moms = schedule(dg, "SGD", dict(momentum=0.9), "OneCycleLR",
                         dict(max_lr=1.0, total_steps=total, pct_start=0.3), epochs=total)
    first = [values[0] for values in lrs]
    assert first[0] == pytest.approx(1.0 / 25)  # max_lr / div_factor
    assert max(first) == pytest.approx(1.0) and int(np.argmax(first)) == 14  # 0.3·50 − 1
    assert first[-1] == pytest.approx(1.0 / 25 / 1e4)  # then / final_div_factor
    assert [m[0] for m in moms][0] == 0.95 and [m[0] for m in moms][14] == pytest.approx(0.85)


def test_cyclic_lr_is_a_triangle():
    lrs, moms = schedule(dg, "SGD", dict(momentum=0.9), "CyclicLR",
                         dict(base_lr=0.0, max_lr=1.0, step_size_up=4, step_size_down=2),
                         epochs=13)
    assert [values[0] for values in lrs] == pytest.approx(
        [0, 0.25, 0.5, 0.75, 1.0, 0.5, 0, 0.25, 0.5, 0.75, 1.0, 0.5, 0])
    assert [m[0] for m in moms][:5] == pytest.approx([0.9, 0.875, 0.85, 0.825, 0.8])


# ------------------------------------------------------------------------------------------
# Composition, jumps, the momentum reaching the optimizer


def test_chained_scheduler_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib):
        optimizer = make_optimizer(lib)
        lr_scheduler = lib.optim.lr_scheduler
        chained = lr_scheduler.ChainedScheduler([
            lr_scheduler.ConstantLR(optimizer, factor=0.1, total_iters=3),
            lr_scheduler.ExponentialLR(optimizer, gamma=0.9),
            lr_scheduler.PolynomialLR(optimizer, total_iters=20, power=1.5),
        ])
        lrs = []
        for _ in range(EPOCHS):
            lrs.append(chained.get_last_lr())
            optimizer.step()
            chained.step()
        return lrs, chained

    expected, _ = run(torch)
    lrs, chained = run(dg)
    np.testing.assert_allclose(lrs, expected, rtol=1e-13, atol=1e-18)
    state = chained.state_dict()
    json.dumps(state)
    assert len(state["_schedulers"]) == 3


def test_sequential_with_new_schedulers_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib):
        optimizer = make_optimizer(lib)
        lr_scheduler = lib.optim.lr_scheduler
        sequential = lr_scheduler.SequentialLR(optimizer, [
            lr_scheduler.ConstantLR(optimizer, factor=0.2, total_iters=4),
            lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=5, T_mult=2),
            lr_scheduler.PolynomialLR(optimizer, total_iters=8, power=2.0),
        ], milestones=[4, 20])
        lrs = []
        for _ in range(EPOCHS):
            lrs.append(sequential.get_last_lr())
            optimizer.step()
            sequential.step()
        return lrs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = run(torch)
    np.testing.assert_allclose(run(dg), expected, rtol=1e-13, atol=1e-18)


def test_warm_restarts_step_with_fractional_epochs_matches_torch():
    torch = pytest.importorskip("torch")
    epochs = [0.5, 1.25, 3.0, 3.75, 7.5, 2.0, 20.2, 13.0]

    def run(lib):
        optimizer = make_optimizer(lib)
        scheduler = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3,
                                                                       T_mult=2)
        lrs = []
        for epoch in epochs:
            scheduler.step(epoch)
            lrs.append(scheduler.get_last_lr())
            scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return lrs, scheduler.last_epoch

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning for an epoch here
        lrs, last_epoch = run(dg)
    expected, expected_last_epoch = run(torch)
    np.testing.assert_allclose(lrs, expected, rtol=1e-13)
    assert last_epoch == expected_last_epoch
    with pytest.raises(ValueError, match="non-negative"):
        sched.CosineAnnealingWarmRestarts(make_optimizer(), T_0=3).step(-1)


@pytest.mark.parametrize("cls_name", ["SGD", "Adam"])
def test_one_cycle_training_matches_torch(cls_name):
    # The cycled lr and momentum (β₁ for Adam) reach the updates: parameters follow torch's.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    start = rng.standard_normal(5)
    grads = rng.standard_normal((20, 5))

    def run(lib):
        param = lib.tensor(start.copy(), requires_grad=True)
        options = dict(momentum=0.9, nesterov=True) if cls_name == "SGD" else dict()
        optimizer = getattr(lib.optim, cls_name)([param], lr=0.1, **options)
        scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=20)
        for grad in grads:
            param.grad = lib.tensor(grad)
            optimizer.step()
            scheduler.step()
        return param.detach().numpy()

    np.testing.assert_allclose(run(dg), run(torch), rtol=1e-12, atol=1e-14)


def test_one_cycle_refuses_to_step_past_its_end():
    scheduler = sched.OneCycleLR(make_optimizer(momentum=0.9), max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        scheduler.step()


def test_cycle_momentum_needs_an_optimizer_with_momentum():
    optimizer = make_optimizer(dg, "Adagrad")
    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.CyclicLR(optimizer, base_lr=0.01, max_lr=0.1)
    scheduler = sched.CyclicLR(optimizer, base_lr=0.01, max_lr=0.1, step_size_up=2,
                               cycle_momentum=False)
    scheduler.optimizer.step()
    scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([0.055, 0.055])
    assert isinstance(optimizer, Adagrad)


# ------------------------------------------------------------------------------------------
# State dicts: a resumed run continues exactly as an uninterrupted one


class Halving:
    """A callable object: its attributes are saved in state dicts, unlike a lambda's."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** x


RESUME_FACTORIES = {
    "MultiplicativeLR": lambda o: sched.MultiplicativeLR(o, [Halving(0.9), lambda e: 0.95]),
    "ConstantLR": lambda o: sched.ConstantLR(o, factor=0.5, total_iters=6),
    "PolynomialLR": lambda o: sched.PolynomialLR(o, total_iters=9, power=2.0),
    "ChainedScheduler": lambda o: sched.ChainedScheduler(
        [sched.ConstantLR(o, factor=0.5, total_iters=6), sched.ExponentialLR(o, gamma=0.9)]),
    "CosineAnnealingWarmRestarts": lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2,
                                                                                T_mult=2),
    "CyclicLR": lambda o: sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                         mode="triangular2"),
    "CyclicLR-scale_fn": lambda o: sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                  scale_fn=Halving(0.8)),
    "OneCycleLR": lambda o: sched.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=12,
                                             three_phase=True),
}


@pytest.mark.parametrize("name", list(RESUME_FACTORIES))
def test_resumed_training_continues_bit_exactly(name):
    factory = RESUME_FACTORIES[name]
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(3).astype(np.float32), rng.standard_normal(2).astype(np.float32)]
    grads = [[rng.standard_normal(3).astype(np.float32), rng.standard_normal(2).astype(np.float32)]
             for _ in range(12)]

    def build(values):
        params = [dg.tensor(value, requires_grad=True) for value in values]
        optimizer = Adam([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.03}])
        return params, optimizer, factory(optimizer)

    def run(params, optimizer, scheduler, epochs):
        lrs = []
        for epoch in epochs:
            for param, grad in zip(params, grads[epoch]):
                param.grad = dg.tensor(grad)
            optimizer.step()
            scheduler.step()
            lrs.append((scheduler.get_last_lr(), momenta(optimizer)))
        return lrs

    params, optimizer, scheduler = build(start)
    expected_lrs = run(params, optimizer, scheduler, range(12))
    expected = [param.detach().numpy().copy() for param in params]

    params, optimizer, scheduler = build(start)
    lrs = run(params, optimizer, scheduler, range(5))
    saved_params = [param.detach().numpy().copy() for param in params]
    saved_optimizer = json_round_trip(optimizer.state_dict())
    saved_scheduler = json_round_trip(scheduler.state_dict())
    run(params, optimizer, scheduler, range(5, 7))  # changes nothing already saved

    # PyTorch's recipe: build the scheduler first (it sets the lrs), then load both.
    params, optimizer, scheduler = build(saved_params)
    optimizer.load_state_dict(saved_optimizer)
    scheduler.load_state_dict(saved_scheduler)
    lrs += run(params, optimizer, scheduler, range(5, 12))
    assert lrs == expected_lrs
    for param, value in zip(params, expected):
        np.testing.assert_array_equal(param.detach().numpy(), value)


def test_state_dicts_hold_json_types_and_callable_objects_state():
    for name, factory in RESUME_FACTORIES.items():
        state = factory(make_optimizer(dg, "Adam")).state_dict()
        assert "optimizer" not in state, name
        json.dumps(state)  # raises on a function or anything else JSON cannot hold
    halving = Halving(0.8)
    scheduler = sched.CyclicLR(make_optimizer(momentum=0.5), base_lr=0.01, max_lr=0.1,
                               scale_fn=halving)
    state = scheduler.state_dict()
    assert state["_scale_fn_custom"] == {"rate": 0.8}
    halving.rate = 0.1
    scheduler.load_state_dict(json_round_trip(state))
    assert halving.rate == 0.8
    multiplicative = sched.MultiplicativeLR(make_optimizer(), [Halving(0.5), lambda e: 1.0])
    assert multiplicative.state_dict()["lr_lambdas"] == [{"rate": 0.5}, None]


# ------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda o: sched.MultiplicativeLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas"),
    (lambda o: sched.MultiplicativeLR(o, 0.5), TypeError, "lr_lambda should be a function"),
    (lambda o: sched.ConstantLR(o, factor=1.5), ValueError, "between 0 and 1"),
    (lambda o: sched.ChainedScheduler([]), ValueError, "at least one scheduler"),
    (lambda o: sched.ChainedScheduler([sched.ReduceLROnPlateau(o)]), ValueError,
     "ReduceLROnPlateau"),
    (lambda o: sched.ChainedScheduler([sched.ConstantLR(o), sched.ConstantLR(make_optimizer())]),
     ValueError, "same optimizer"),
    (lambda o: sched.ChainedScheduler([object()], optimizer=o), TypeError, "optimizer"),
    (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError, "T_0"),
    (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult"),
    (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"), ValueError, "eta_min"),
    (lambda o: sched.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError, "mode is invalid"),
    (lambda o: sched.CyclicLR(o, [0.01], 0.1), ValueError, "base_lr must have the same length"),
    (lambda o: sched.CyclicLR(dg.zeros(1), 0.01, 0.1), TypeError, "not an Optimizer"),
    (lambda o: sched.OneCycleLR(o, 0.1), ValueError, "total_steps OR"),
    (lambda o: sched.OneCycleLR(o, 0.1, total_steps=0), ValueError, "total_steps"),
    (lambda o: sched.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=0), ValueError,
     "steps_per_epoch"),
    (lambda o: sched.OneCycleLR(o, 0.1, total_steps=10, pct_start=1), ValueError, "pct_start"),
    (lambda o: sched.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: sched.OneCycleLR(o, [0.1, 0.2, 0.3], total_steps=10), ValueError,
     "max_lr must have the same length"),
])
def test_invalid_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(make_optimizer(momentum=0.9))


def test_construction_sets_the_lrs_and_momenta_of_cyclical_schedules():
    optimizer = make_optimizer(momentum=0.5)
    sched.CyclicLR(optimizer, base_lr=0.003, max_lr=0.1, max_momentum=0.95)
    assert [group["lr"] for group in optimizer.param_groups] == [0.003, 0.003]
    assert momenta(optimizer) == [0.95, 0.95]
    optimizer = make_optimizer(dg, "Adam", betas=(0.5, 0.99))
    sched.OneCycleLR(optimizer, max_lr=1.0, total_steps=10)
    group = optimizer.param_groups[0]
    assert group["betas"] == (0.95, 0.99) and isinstance(group["betas"], tuple)
    assert group["initial_lr"] == 0.04 and group["min_lr"] == 0.04 / 1e4
    assert group["lr"] == pytest.approx(0.04, rel=1e-14)  # the cosine at 0
    assert isinstance(optimizer, Adam) and not isinstance(optimizer, SGD)
