"""Adamax, NAdam, RAdam, Adadelta, ASGD, SparseAdam and LBFGS against torch's trajectories."""

from __future__ import annotations

import copy
import importlib
import math

import numpy as np
import pytest
from state_dicts import json_round_trip

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad.optim import (
    ASGD,
    LBFGS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    NAdam,
    RAdam,
    RMSprop,
    SparseAdam,
)

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 10


@pytest.fixture
def torch64():
    """torch with float64 as its default dtype, for the duration of one test: NAdam's
    mu_product and ASGD's eta and mu are scalars in torch's default dtype (float32 out of the
    box, a rounding of lr that would dominate the comparison); deltagrad's follow its default
    dtype as torch's do, so it is float64 here too."""
    torch = pytest.importorskip("torch")
    saved, saved_dg = torch.get_default_dtype(), dg.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    dg.set_default_dtype(dg.float64)
    try:
        yield torch
    finally:
        torch.set_default_dtype(saved)
        dg.set_default_dtype(saved_dg)


CASES = [
    (Adamax, dict()),
    (Adamax, dict(lr=0.1, betas=(0.8, 0.99))),
    (Adamax, dict(lr=0.1, weight_decay=0.1)),
    (Adamax, dict(lr=0.1, eps=1e-2, weight_decay=0.1, maximize=True)),
    (NAdam, dict()),
    (NAdam, dict(lr=0.1, momentum_decay=0.05)),
    (NAdam, dict(lr=0.1, weight_decay=0.1)),
    (NAdam, dict(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True)),
    (NAdam, dict(lr=0.1, betas=(0.5, 0.9), maximize=True)),
    (RAdam, dict()),  # ρₜ ≤ 5 for the first steps, then rectified: both branches
    (RAdam, dict(lr=0.1, betas=(0.9, 0.99), weight_decay=0.1)),
    (RAdam, dict(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True)),
    (RAdam, dict(lr=0.1, eps=1e-3, maximize=True)),
    (Adadelta, dict()),
    (Adadelta, dict(lr=0.5, rho=0.8)),
    (Adadelta, dict(lr=0.5, eps=1e-3, weight_decay=0.1)),
    (Adadelta, dict(rho=0.95, maximize=True)),
    (ASGD, dict()),
    (ASGD, dict(lr=0.1, lambd=1e-2, alpha=0.5, t0=3)),  # averaging starts after step 3
    (ASGD, dict(lr=0.1, t0=0, weight_decay=0.1)),
    (ASGD, dict(lr=0.05, lambd=0.1, t0=2, maximize=True)),
]
CASE_IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}"
            for cls, options in CASES]


def make_problem(seed, dtype=np.float64, steps=STEPS):
    """Initial values and a gradient per step for each of SHAPES (seeded, deterministic)."""
    rng = np.random.default_rng(seed)
    thetas = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(dtype) for _ in range(steps)] for shape in SHAPES]
    return thetas, grads


def run_deltagrad(cls, options, thetas, grads, groups=None):
    """Step a deltagrad optimizer with the given gradients; θ of every parameter per step."""
    params = [dg.tensor(theta, requires_grad=True) for theta in thetas]
    if groups is None:
        optimizer = cls(params, **options)
    else:
        optimizer = cls([{"params": [params[i] for i in indices], **group_options}
                         for indices, group_options in groups], **options)
    history = []
    for t in range(len(grads[0])):
        for param, grad in zip(params, grads):
            param.grad = dg.tensor(grad[t])
        optimizer.step()
        history.append([param.detach().numpy().copy() for param in params])
    return history, optimizer, params


def run_torch(torch, cls, options, thetas, grads, groups=None):
    params = [torch.tensor(theta, requires_grad=True) for theta in thetas]
    make = getattr(torch.optim, cls.__name__)
    if groups is None:
        optimizer = make(params, **options)
    else:
        optimizer = make([{"params": [params[i] for i in indices], **group_options}
                          for indices, group_options in groups], **options)
    history = []
    for t in range(len(grads[0])):
        for param, grad in zip(params, grads):
            param.grad = torch.tensor(grad[t])
        optimizer.step()
        history.append([param.detach().numpy().copy() for param in params])
    return history, optimizer, params


# ------------------------------------------------------------------------------------------
# Trajectories


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_trajectory_matches_torch_float64(torch64, cls, options):
    thetas, grads = make_problem(seed=1)
    expected, torch_optimizer, torch_params = run_torch(torch64, cls, options, thetas, grads)
    history, optimizer, params = run_deltagrad(cls, options, thetas, grads)
    for t in range(STEPS):
        for ours, theirs in zip(history[t], expected[t]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)
    # The same state, under the same names.
    for param, torch_param in zip(params, torch_params):
        ours, theirs = optimizer.state[param], torch_optimizer.state[torch_param]
        assert set(ours) == set(theirs)
        for name, value in ours.items():
            other = theirs[name]
            if isinstance(value, dg.Tensor):
                np.testing.assert_allclose(value.detach().numpy(), other.numpy(), rtol=1e-10,
                                           atol=1e-13)
            else:
                assert value == pytest.approx(float(other), rel=1e-12)


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_trajectory_matches_torch_float32(cls, options):
    torch = pytest.importorskip("torch")
    thetas, grads = make_problem(seed=2, dtype=np.float32)
    expected, _, _ = run_torch(torch, cls, options, thetas, grads)
    history, optimizer, params = run_deltagrad(cls, options, thetas, grads)
    for ours, theirs in zip(history[-1], expected[-1]):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    for param in params:  # state buffers keep the parameter's dtype
        for value in optimizer.state[param].values():
            if isinstance(value, dg.Tensor):
                assert value.dtype == dg.float32


def test_radam_takes_both_branches_in_the_default_case():
    beta2 = 0.999
    rho_inf = 2 / (1 - beta2) - 1
    rho = [rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t) for t in range(1, STEPS + 1)]
    assert rho[0] <= 5 < rho[-1]


GROUP_CASES = [
    (Adamax, dict(lr=0.1), [([0], {}), ([1, 2], {"betas": (0.5, 0.9), "weight_decay": 0.1})]),
    (NAdam, dict(lr=0.1), [([0, 2], {"momentum_decay": 0.1}),
                           ([1], {"weight_decay": 0.1, "decoupled_weight_decay": True})]),
    (RAdam, dict(lr=0.1), [([0], {"betas": (0.9, 0.9)}), ([1, 2], {"lr": 0.3})]),
    (Adadelta, dict(), [([0], {"rho": 0.5}), ([1, 2], {"lr": 0.1, "maximize": True})]),
    (ASGD, dict(lr=0.1), [([0], {"t0": 2}), ([1, 2], {"lambd": 0.1, "alpha": 1.0})]),
]


@pytest.mark.parametrize(("cls", "defaults", "groups"), GROUP_CASES,
                         ids=[case[0].__name__ for case in GROUP_CASES])
def test_param_groups_with_their_own_options_match_torch(torch64, cls, defaults, groups):
    thetas, grads = make_problem(seed=3)
    expected, _, _ = run_torch(torch64, cls, defaults, thetas, grads, groups)
    history, optimizer, _ = run_deltagrad(cls, defaults, thetas, grads, groups)
    assert len(optimizer.param_groups) == len(groups)
    for ours, theirs in zip(history[-1], expected[-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


def test_training_a_model_with_backward_matches_torch(torch64):
    # A tanh layer trained end to end through backward(), each library computing the loss.
    torch = torch64
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w1, w2 = rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((4, 1)) * 0.5

    def train(lib, cls_name, options, steps=15):
        params = [lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)]
        optimizer = getattr(lib.optim, cls_name)(params, **options)
        xs, ys = lib.tensor(x), lib.tensor(y)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = ((lib.tanh(xs @ params[0]) @ params[1] - ys) ** 2).mean()
            loss.backward()
            optimizer.step()
        return [param.detach().numpy() for param in params], loss.item()

    for name, options in [("Adamax", {"lr": 0.05}), ("NAdam", {"lr": 0.05}),
                          ("RAdam", {"lr": 0.05}), ("Adadelta", {}),
                          ("ASGD", {"lr": 0.05, "t0": 5})]:
        ours, our_loss = train(dg, name, options)
        theirs, their_loss = train(torch, name, options)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        assert our_loss == pytest.approx(their_loss, rel=1e-10)


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_step_updates_in_place_and_leaves_gradients_alone(cls, options):
    thetas, grads = make_problem(seed=5, steps=1)
    params = [dg.tensor(theta, requires_grad=True) for theta in thetas]
    arrays = [param.detach().numpy() for param in params]
    optimizer = cls(params, **options)
    for param, grad in zip(params, grads):
        param.grad = dg.tensor(grad[0])
    optimizer.step()
    for param, array, theta, grad in zip(params, arrays, thetas, grads):
        assert np.shares_memory(param.detach().numpy(), array)
        assert not np.array_equal(array, theta)  # it moved
        np.testing.assert_array_equal(param.grad.detach().numpy(), grad[0])


# ------------------------------------------------------------------------------------------
# State dicts


RESUME_CASES = [
    (Adamax, dict(lr=0.05, weight_decay=0.01)),
    (NAdam, dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    (RAdam, dict(lr=0.05, betas=(0.9, 0.99))),
    (Adadelta, dict(rho=0.8)),
    (ASGD, dict(lr=0.05, t0=2, lambd=0.01)),
]


@pytest.mark.parametrize(("cls", "options"), RESUME_CASES,
                         ids=[cls.__name__ for cls, _ in RESUME_CASES])
@pytest.mark.parametrize("via_json", [False, True], ids=["dict", "json"])
def test_resumed_run_continues_bit_exactly(cls, options, via_json):
    thetas, grads = make_problem(seed=6, dtype=np.float32, steps=8)
    groups = [{"params": [0, 1]}, {"params": [2], "lr": options["lr"] / 2
                                   if "lr" in options else 0.5}]

    def build(values):
        params = [dg.tensor(value, requires_grad=True) for value in values]
        optimizer = cls([{**group, "params": [params[i] for i in group["params"]]}
                         for group in groups], **options)
        return params, optimizer

    def run(params, optimizer, steps):
        for t in steps:
            for param, grad in zip(params, grads):
                param.grad = dg.tensor(grad[t])
            optimizer.step()

    params, optimizer = build(thetas)
    run(params, optimizer, range(8))
    uninterrupted = [param.detach().numpy().copy() for param in params]

    params, optimizer = build(thetas)
    run(params, optimizer, range(3))
    saved_params = [param.detach().numpy().copy() for param in params]
    saved = copy.deepcopy(optimizer.state_dict())  # (PyTorch's holds the live tensors)
    if via_json:
        saved = json_round_trip(saved)
    run(params, optimizer, range(3, 5))  # keep training: must not change what was saved

    params, optimizer = build(saved_params)
    optimizer.load_state_dict(saved)
    run(params, optimizer, range(3, 8))
    for ours, expected in zip(params, uninterrupted):
        np.testing.assert_array_equal(ours.detach().numpy(), expected)


def test_torch_state_dict_loads_into_deltagrad(torch64):
    # A NAdam state saved by torch (tensors for step and mu_product) continues here.
    torch = torch64
    thetas, grads = make_problem(seed=7, steps=6)
    _, torch_optimizer, torch_params = run_torch(torch, NAdam, dict(lr=0.1), thetas,
                                                 [g[:3] for g in grads])
    saved = torch_optimizer.state_dict()
    converted = {
        "state": {key: {name: (dg.tensor(value.numpy()) if value.ndim else value.item())
                        for name, value in entry.items()}
                  for key, entry in saved["state"].items()},
        "param_groups": saved["param_groups"],
    }
    params = [dg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in torch_params]
    optimizer = NAdam(params, lr=0.1)
    optimizer.load_state_dict(converted)
    assert optimizer.state[params[0]]["step"] == 3
    for t in range(3, 6):
        for param, torch_param, grad in zip(params, torch_params, grads):
            param.grad, torch_param.grad = dg.tensor(grad[t]), torch.tensor(grad[t])
        optimizer.step()
        torch_optimizer.step()
    for param, torch_param in zip(params, torch_params):
        np.testing.assert_allclose(param.detach().numpy(), torch_param.detach().numpy(),
                                   rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------------------------------
# Options and errors


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, NAdam, RAdam,
                                 Adadelta, ASGD])
def test_foreach_is_accepted_and_changes_nothing(cls):
    thetas, grads = make_problem(seed=8, steps=3)
    plain, _, _ = run_deltagrad(cls, dict(lr=0.01), thetas, grads)
    for foreach in (True, False):
        flagged, optimizer, _ = run_deltagrad(cls, dict(lr=0.01, foreach=foreach), thetas,
                                              grads)
        assert optimizer.param_groups[0]["foreach"] is foreach
        for a, b in zip(plain[-1], flagged[-1]):
            if cls is ASGD:  # (PyTorch's foreach ASGD rounds its step size in float32)
                np.testing.assert_allclose(a, b, rtol=1e-6)
            else:
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, Adagrad])
def test_fused_is_accepted_and_matches_torch_fused(cls):
    torch = pytest.importorskip("torch")
    thetas, grads = make_problem(seed=9, steps=4)
    expected, _, _ = run_torch(torch, cls, dict(lr=0.01, fused=True), thetas, grads)
    history, optimizer, _ = run_deltagrad(cls, dict(lr=0.01, fused=True), thetas, grads)
    assert optimizer.param_groups[0]["fused"] is True
    for ours, theirs in zip(history[-1], expected[-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: Adam(p, capturable=True), "capturable"),
    (lambda p: AdamW(p, capturable=True), "capturable"),
    (lambda p: RMSprop(p, capturable=True), "capturable"),
    (lambda p: NAdam(p, capturable=True), "capturable"),
    (lambda p: RAdam(p, capturable=True), "capturable"),
    (lambda p: Adamax(p, capturable=True), "capturable"),
    (lambda p: Adadelta(p, capturable=True), "capturable"),
    (lambda p: ASGD(p, capturable=True), "capturable"),
    # (recorded steps now: on a leaf that requires grad, PyTorch's in-place error)
    (lambda p: SGD(p, differentiable=True), "leaf Variable that requires grad"),
    (lambda p: Adam(p, differentiable=True), "leaf Variable that requires grad"),
    (lambda p: Adagrad(p, differentiable=True), "leaf Variable that requires grad"),
    (lambda p: ASGD(p, differentiable=True), "differentiable"),
    (lambda p: Adam(p, fused=True, foreach=True), "cannot be `True` together"),
    (lambda p: SGD(p, fused=True, foreach=True), "cannot be `True` together"),
])
def test_unsupported_implementation_flags_raise(make, match):
    # capturable / differentiable raise at the step, as PyTorch's on CPU leaves (capturable:
    # its AssertionError); fused with foreach at construction.
    param = dg.zeros(2, requires_grad=True)
    with pytest.raises((RuntimeError, AssertionError), match=match):
        optimizer = make([param])
        param.grad = dg.ones(2)
        optimizer.step()


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, Adagrad, RMSprop, Adamax, NAdam, RAdam,
                                 Adadelta, ASGD])
def test_maximize_is_minimizing_the_negated_gradient(cls):
    thetas, grads = make_problem(seed=10, steps=4)
    up, _, _ = run_deltagrad(cls, dict(lr=0.01, maximize=True), thetas, grads)
    down, _, _ = run_deltagrad(cls, dict(lr=0.01), thetas, [[-g for g in gs] for gs in grads])
    for a, b in zip(up[-1], down[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: Adamax(p, lr=-1.0), "learning rate"),
    (lambda p: Adamax(p, betas=(0.9, 1.0)), "betas"),
    (lambda p: Adamax(p, eps=-1.0), "epsilon"),
    (lambda p: NAdam(p, momentum_decay=-0.1), "momentum_decay"),
    (lambda p: NAdam(p, weight_decay=-0.1), "weight_decay"),
    (lambda p: RAdam(p, betas=(1.0, 0.9)), "betas"),
    (lambda p: RAdam(p, eps=-1e-8), "epsilon"),
    (lambda p: Adadelta(p, rho=1.5), "rho"),
    (lambda p: Adadelta(p, rho=-0.1), "rho"),
    (lambda p: ASGD(p, weight_decay=-1.0), "weight_decay"),
    (lambda p: SparseAdam(p, lr=0.0), "learning rate"),
    (lambda p: SparseAdam(p, eps=0.0), "epsilon"),
    (lambda p: SparseAdam(p, betas=(0.9, 1.5)), "betas"),
])
def test_invalid_options_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make([dg.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("cls", [Adamax, NAdam, RAdam, Adadelta, ASGD])
def test_sparse_gradients_are_refused(cls):
    table = dg.zeros(5, 2, requires_grad=True)
    F.embedding(dg.tensor([1, 3]), table, sparse=True).sum().backward()
    assert table.grad.is_sparse
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        cls([table]).step()


# ------------------------------------------------------------------------------------------
# SparseAdam


def _sparse_batches(seed, steps=6, rows=10, dim=3, batch=6):
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        ids = rng.integers(0, rows // 2 + 2, size=batch)
        ids[1] = ids[0]  # always a repeated row
        batches.append((ids, rng.standard_normal((batch, dim))))
    return batches


def _train_sparse_adam(lib, table, batches, options, dense_weight=None):
    """Embedding rows (sparse gradient) with SparseAdam, and optionally a dense weight with
    Adam, on loss = Σ (embedding(ids) [@ weight]) · upstream."""
    weight = lib.tensor(table, requires_grad=True)
    optimizer = lib.optim.SparseAdam([weight], **options)
    extra = None
    if dense_weight is not None:
        extra = lib.tensor(dense_weight, requires_grad=True)
        dense_optimizer = lib.optim.Adam([extra], lr=0.05)
    for ids, upstream in batches:
        optimizer.zero_grad()
        if extra is not None:
            dense_optimizer.zero_grad()
        if lib is dg:
            rows = F.embedding(dg.tensor(ids), weight, sparse=True)
        else:
            rows = lib.nn.functional.embedding(lib.tensor(ids), weight, sparse=True)
        if extra is not None:
            rows = rows @ extra
        (rows * lib.tensor(upstream)).sum().backward()
        optimizer.step()
        if extra is not None:
            dense_optimizer.step()
    values = [weight.detach().numpy().copy()]
    if extra is not None:
        values.append(extra.detach().numpy().copy())
    return values, optimizer.state[weight]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's, not ours
@pytest.mark.parametrize("options", [dict(), dict(lr=0.1, betas=(0.8, 0.9)),
                                     dict(lr=0.05, eps=1e-3, maximize=True)], ids=str)
def test_sparse_adam_matches_torch(options):
    torch = pytest.importorskip("torch")
    table = np.random.default_rng(11).standard_normal((10, 3))
    batches = _sparse_batches(seed=12)
    ours, our_state = _train_sparse_adam(dg, table, batches, options)
    theirs, their_state = _train_sparse_adam(torch, table, batches, options)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-14)
    for name in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(our_state[name].detach().numpy(),
                                   their_state[name].to_dense().numpy(), rtol=1e-12, atol=1e-14)
    assert our_state["step"] == int(their_state["step"]) == len(batches)


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
def test_sparse_adam_beside_dense_adam_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    table, weight = rng.standard_normal((10, 3)), rng.standard_normal((3, 3))
    batches = _sparse_batches(seed=14)
    ours, _ = _train_sparse_adam(dg, table, batches, dict(lr=0.05), dense_weight=weight)
    theirs, _ = _train_sparse_adam(torch, table, batches, dict(lr=0.05), dense_weight=weight)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_sparse_adam_refuses_dense_gradients_before_changing_anything():
    table = dg.tensor(np.ones((5, 2)), requires_grad=True)
    dense = dg.tensor(np.ones(3), requires_grad=True)
    optimizer = SparseAdam([table, dense], lr=0.1)
    F.embedding(dg.tensor([1]), table, sparse=True).sum().backward()
    dense.grad = dg.ones(3, dtype=dg.float64)
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        optimizer.step()
    assert np.all(table.detach().numpy() == 1.0) and not optimizer.state


def test_sparse_adam_leaves_untouched_rows_and_resumes_bit_exactly():
    table = np.random.default_rng(15).standard_normal((10, 3))
    batches = _sparse_batches(seed=16, steps=6)

    def run(weight, optimizer, steps):
        for ids, upstream in steps:
            optimizer.zero_grad()
            (F.embedding(dg.tensor(ids), weight, sparse=True) * dg.tensor(upstream)).sum() \
                .backward()
            optimizer.step()

    weight = dg.tensor(table, requires_grad=True)
    optimizer = SparseAdam([weight], lr=0.1)
    run(weight, optimizer, batches)
    untouched = sorted(set(range(10)) - set(np.concatenate([ids for ids, _ in batches])))
    assert untouched
    np.testing.assert_array_equal(weight.detach().numpy()[untouched], table[untouched])
    assert not optimizer.state[weight]["exp_avg"].detach().numpy()[untouched].any()

    resumed = dg.tensor(table, requires_grad=True)
    first = SparseAdam([resumed], lr=0.1)
    run(resumed, first, batches[:3])
    saved = json_round_trip(first.state_dict())
    second = SparseAdam([resumed], lr=0.5)
    second.load_state_dict(saved)
    assert second.param_groups[0]["lr"] == 0.1
    run(resumed, second, batches[3:])
    np.testing.assert_array_equal(resumed.detach().numpy(), weight.detach().numpy())


# ------------------------------------------------------------------------------------------
# LBFGS


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def run_lbfgs(lib, options, start=(-1.5, 2.0), steps=5, loss_fn=rosenbrock):
    """LBFGS on a loss computed in `lib`: the loss step() returns and x after each call."""
    x = lib.tensor(np.array(start, dtype=np.float64), requires_grad=True)
    optimizer = lib.optim.LBFGS([x], **options)

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss

    history = []
    for _ in range(steps):
        loss = optimizer.step(closure)
        history.append((loss.item(), x.detach().numpy().copy()))
    state = optimizer.state[x]
    return history, (state["func_evals"], state["n_iter"]), optimizer, x


LBFGS_CASES = [
    ((-1.5, 2.0), dict(line_search_fn="strong_wolfe")),
    ((-1.5, 2.0), dict(line_search_fn="strong_wolfe", history_size=2, max_iter=4)),
    ((-1.5, 2.0), dict(line_search_fn="strong_wolfe", lr=0.5, max_iter=7, max_eval=9)),
    ((-1.5, 2.0), dict(line_search_fn="strong_wolfe", lr=10)),  # overshoots: zooms
    ((2.0, -1.0), dict(line_search_fn="strong_wolfe")),  # extrapolates
    ((-1.5, 2.0), dict(lr=0.05, max_iter=10)),
    ((-1.5, 2.0), dict(lr=1e-3, max_iter=30, history_size=3)),
    ((-1.5, 2.0), dict(lr=0.05, tolerance_change=1e-3, max_iter=50)),
]


@pytest.mark.parametrize(("start", "options"), LBFGS_CASES, ids=str)
def test_lbfgs_on_rosenbrock_matches_torch_iterates(start, options):
    torch = pytest.importorskip("torch")
    ours, our_counts, _, _ = run_lbfgs(dg, options, start=start)
    theirs, their_counts, _, _ = run_lbfgs(torch, options, start=start)
    assert our_counts == their_counts
    for (our_loss, our_x), (their_loss, their_x) in zip(ours, theirs):
        assert our_loss == pytest.approx(their_loss, rel=1e-8, abs=1e-12)
        np.testing.assert_allclose(our_x, their_x, rtol=1e-8, atol=1e-12)


def _wavy_line(rng):
    """A random wavy 1-d function (sum of sines plus a quadratic), a start x0 and its
    steepest-descent direction d: evaluate(x, t, d) gives the loss and gradient at x0 + t d."""
    amp, freq, phase = rng.uniform(0.2, 2, 3), rng.uniform(0.5, 6, 3), rng.uniform(0, 6.3, 3)
    curve = rng.uniform(0.01, 0.5)

    def loss(x):
        return float(np.sum(amp * np.sin(freq * x[0] + phase)) + curve * x[0] ** 2)

    def grad(x):
        return np.array([np.sum(amp * freq * np.cos(freq * x[0] + phase)) + 2 * curve * x[0]])

    x0 = np.array([rng.uniform(-3, 3)])
    d = -grad(x0)

    def evaluate(x, t, direction):
        return loss(x0 + float(t) * d), grad(x0 + float(t) * d)

    return evaluate, loss(x0), grad(x0), d


def test_strong_wolfe_line_search_matches_torchs_on_random_functions():
    # The line search alone, on 300 random wavy functions, from random first trial steps and
    # evaluation budgets, so that both its phases and their branches are taken. Both get the
    # very same numbers from NumPy: only the search's own arithmetic can differ.
    torch = pytest.importorskip("torch")
    torch_search = getattr(importlib.import_module("torch.optim.lbfgs"), "_strong_wolfe", None)
    if torch_search is None:
        pytest.skip("this torch has no torch.optim.lbfgs._strong_wolfe")
    from deltagrad.optim.lbfgs import _strong_wolfe

    rng = np.random.default_rng(18)
    for _ in range(300):
        evaluate, f0, g0, d = _wavy_line(rng)
        t0 = float(10 ** rng.uniform(-2, 1.5))
        max_ls = int(rng.integers(2, 26))

        def evaluate_torch(x, t, direction, evaluate=evaluate):
            value, slope = evaluate(x, t, direction)
            return value, torch.tensor(slope)

        ours = _strong_wolfe(evaluate, None, t0, d, f0, g0, g0.dot(d), max_ls=max_ls)
        g0_torch, d_torch = torch.tensor(g0), torch.tensor(d)
        theirs = torch_search(evaluate_torch, None, t0, d_torch, f0, g0_torch,
                              g0_torch.dot(d_torch), max_ls=max_ls)
        assert ours[3] == theirs[3]  # the same number of evaluations
        # The same step, to the last bits (the cubic's arithmetic is grouped alike, not
        # always rounded alike).
        assert float(ours[2]) == pytest.approx(float(theirs[2]), rel=1e-12)
        assert ours[0] == pytest.approx(theirs[0], rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(ours[1], theirs[1].numpy(), rtol=1e-12, atol=1e-12)


def test_lbfgs_with_strong_wolfe_solves_rosenbrock():
    history, _, _, _ = run_lbfgs(dg, dict(line_search_fn="strong_wolfe"), steps=3)
    np.testing.assert_allclose(history[-1][1], [1.0, 1.0], atol=1e-4)


def test_lbfgs_over_several_parameters_matches_torch():
    # A tiny regression with two weight tensors: the flattening over parameters.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(17)
    x, y = rng.standard_normal((12, 3)), rng.standard_normal((12, 2))
    w1, w2 = rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((4, 2)) * 0.5

    def train(lib, options):
        params = [lib.tensor(w1, requires_grad=True), lib.tensor(w2, requires_grad=True)]
        optimizer = lib.optim.LBFGS(params, **options)
        xs, ys = lib.tensor(x), lib.tensor(y)

        def closure():
            optimizer.zero_grad()
            loss = ((lib.tanh(xs @ params[0]) @ params[1] - ys) ** 2).mean()
            loss.backward()
            return loss

        losses = [optimizer.step(closure).item() for _ in range(3)]
        return [param.detach().numpy() for param in params], losses

    for options in [dict(line_search_fn="strong_wolfe", history_size=5), dict(lr=0.1)]:
        ours, our_losses = train(dg, options)
        theirs, their_losses = train(torch, options)
        # 60 iterations of a non-convex fit amplify last-bit differences (dot products
        # summed in another order) to ~1e-8 here.
        np.testing.assert_allclose(our_losses, their_losses, rtol=1e-6)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_resumes_from_a_state_dict(line_search_fn):
    options = dict(line_search_fn=line_search_fn, lr=1.0 if line_search_fn else 0.05,
                   max_iter=4, history_size=3)
    uninterrupted, _, _, _ = run_lbfgs(dg, options, steps=4)
    _, _, optimizer, x = run_lbfgs(dg, options, steps=2)
    saved = json_round_trip(optimizer.state_dict())
    assert isinstance(saved["state"]["0"]["old_dirs"], list)
    resumed = dg.tensor(x.detach().numpy().copy(), requires_grad=True)
    fresh = LBFGS([resumed], **options)
    fresh.load_state_dict(saved)

    def closure():
        fresh.zero_grad()
        loss = rosenbrock(resumed)
        loss.backward()
        return loss

    for step in (2, 3):
        fresh.step(closure)
        np.testing.assert_array_equal(resumed.detach().numpy(), uninterrupted[step][1])


def test_lbfgs_stops_at_once_when_the_gradient_is_small():
    x = dg.tensor([1.0, 1.0], dtype=dg.float64, requires_grad=True)  # the minimum
    optimizer = LBFGS([x])
    calls = []

    def closure():
        calls.append(1)
        optimizer.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 0.0 and len(calls) == 1
    assert x.tolist() == [1.0, 1.0]


def test_lbfgs_returns_the_first_loss_and_counts_evaluations():
    calls = []

    def loss_fn(x):
        calls.append(1)
        return rosenbrock(x)

    history, (func_evals, n_iter), _, _ = run_lbfgs(dg, dict(max_iter=6, lr=0.01), steps=1,
                                                    loss_fn=loss_fn)
    assert history[0][0] == pytest.approx(rosenbrock(np.array([-1.5, 2.0])))
    assert func_evals == len(calls) == 6 and n_iter == 6  # the last iterate is not evaluated


def test_lbfgs_refuses_groups_and_unknown_line_searches():
    a, b = dg.zeros(2, requires_grad=True), dg.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        LBFGS([{"params": [a]}, {"params": [b]}])
    optimizer = LBFGS([a])
    with pytest.raises(ValueError, match="parameter groups"):
        optimizer.add_param_group({"params": [b]})
    optimizer = LBFGS([a], line_search_fn="backtracking")

    def closure():
        optimizer.zero_grad()
        loss = ((a - 1.0) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        optimizer.step(closure)
    with pytest.raises(TypeError):
        optimizer.step()  # a closure is required


def test_lbfgs_float32_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib):
        x = lib.tensor(np.array([-1.2, 1.0], dtype=np.float32), requires_grad=True)
        optimizer = lib.optim.LBFGS([x], line_search_fn="strong_wolfe", max_iter=5)

        def closure():
            optimizer.zero_grad()
            loss = rosenbrock(x)
            loss.backward()
            return loss

        optimizer.step(closure)
        return x.detach().numpy()

    ours, theirs = run(dg), run(torch)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert math.isfinite(float(ours.sum()))
