"""Dense optimizers against NumPy transcriptions of PyTorch's documented algorithms and torch."""

from __future__ import annotations

import copy
import math
import tracemalloc

import numpy as np
import pytest
from state_dicts import json_round_trip

import deltagrad as dg
from deltagrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 6


# ------------------------------------------------------------------------------------------
# Reference transcriptions: one function per optimizer, written line by line from the
# pseudo-code in PyTorch's documentation (float64, one parameter, a list of gradients).
# Each returns θ after every step.


def reference_sgd(theta, grads, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    theta = theta.copy()
    b = None
    history = []
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad.copy()
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            if t > 1:
                b = momentum * b + (1 - dampening) * g
            else:
                b = g
            if nesterov:
                g = g + momentum * b
            else:
                g = b
        theta = theta - lr * g
        history.append(theta)
    return history


def reference_adam(theta, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False, decoupled=False):
    beta1, beta2 = betas
    theta = theta.copy()
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    v_max = np.zeros_like(theta)
    history = []
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad.copy()
        if decoupled:
            theta = theta - lr * weight_decay * theta
        elif weight_decay != 0:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(theta)
    return history


def reference_adamw(theta, grads, weight_decay=1e-2, **options):
    return reference_adam(theta, grads, weight_decay=weight_decay, decoupled=True, **options)


def reference_adagrad(theta, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                      initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    theta = theta.copy()
    state_sum = np.full_like(theta, initial_accumulator_value)
    history = []
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad.copy()
        lr_t = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g = g + weight_decay * theta
        state_sum = state_sum + g ** 2
        theta = theta - lr_t * g / (np.sqrt(state_sum) + eps)
        history.append(theta)
    return history


def reference_rmsprop(theta, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                      momentum=0.0, centered=False, maximize=False):
    theta = theta.copy()
    v = np.zeros_like(theta)
    b = np.zeros_like(theta)
    g_ave = np.zeros_like(theta)
    history = []
    for grad in grads:
        g = -grad if maximize else grad.copy()
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g ** 2
        v_tilde = v
        if centered:
            g_ave = g_ave * alpha + (1 - alpha) * g
            v_tilde = v_tilde - g_ave ** 2
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
        history.append(theta)
    return history


REFERENCES = {SGD: reference_sgd, Adam: reference_adam, AdamW: reference_adamw,
              Adagrad: reference_adagrad, RMSprop: reference_rmsprop}

CASES = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.3)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (SGD, dict(lr=0.1, weight_decay=0.1)),
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.5, weight_decay=0.2)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
    (SGD, dict(lr=0.1, maximize=True)),
    (Adam, dict()),
    (Adam, dict(lr=0.1, betas=(0.8, 0.99))),
    (Adam, dict(lr=0.1, weight_decay=0.1)),
    (Adam, dict(lr=0.1, amsgrad=True)),
    (Adam, dict(lr=0.1, maximize=True)),
    (Adam, dict(lr=0.1, eps=1e-2, amsgrad=True, weight_decay=0.1, maximize=True)),
    (AdamW, dict()),
    (AdamW, dict(lr=0.1, weight_decay=0.3)),
    (AdamW, dict(lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True)),
    (AdamW, dict(lr=0.1, weight_decay=0.0, betas=(0.5, 0.9))),
    (Adagrad, dict()),
    (Adagrad, dict(lr=0.1, lr_decay=0.1)),
    (Adagrad, dict(lr=0.1, weight_decay=0.1)),
    (Adagrad, dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)),
    (Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.2, maximize=True)),
    (RMSprop, dict()),
    (RMSprop, dict(lr=0.01, alpha=0.9)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, momentum=0.9)),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    (RMSprop, dict(lr=0.01, eps=1e-3, weight_decay=0.1, maximize=True)),
]
CASE_IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in options.items()) or 'defaults'}"
            for cls, options in CASES]


def make_problem(seed, dtype=np.float64, steps=STEPS):
    """Initial values and a gradient per step for each of SHAPES (seeded, deterministic)."""
    rng = np.random.default_rng(seed)
    thetas = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(dtype) for _ in range(steps)] for shape in SHAPES]
    return thetas, grads


def run_deltagrad(cls, groups, thetas, grads):
    """Step a deltagrad optimizer with the given gradients; θ of every parameter per step."""
    params = [dg.tensor(theta, requires_grad=True) for theta in thetas]
    if isinstance(groups, dict):
        optimizer = cls(params, **groups)
    else:
        optimizer = cls([{"params": [params[i] for i in indices], **options}
                         for indices, options in groups[1]], **groups[0])
    history = []
    for t in range(len(grads[0])):
        for param, grad in zip(params, grads):
            param.grad = dg.tensor(grad[t])
        optimizer.step()
        history.append([param._data.copy() for param in params])
    return history, optimizer, params


def run_torch(cls, options, thetas, grads):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(theta, requires_grad=True) for theta in thetas]
    optimizer = getattr(torch.optim, cls.__name__)(params, **options)
    history = []
    for t in range(len(grads[0])):
        for param, grad in zip(params, grads):
            param.grad = torch.tensor(grad[t])
        optimizer.step()
        history.append([param.detach().numpy().copy() for param in params])
    return history


# ------------------------------------------------------------------------------------------
# Numerics


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_matches_documented_algorithm_float64(cls, options):
    thetas, grads = make_problem(seed=1)
    history, _, _ = run_deltagrad(cls, options, thetas, grads)
    for index, (theta, grad) in enumerate(zip(thetas, grads)):
        expected = REFERENCES[cls](theta, grad, **options)
        for t in range(STEPS):
            np.testing.assert_allclose(history[t][index], expected[t], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_matches_documented_algorithm_float32(cls, options):
    thetas, grads = make_problem(seed=2, dtype=np.float32)
    history, optimizer, params = run_deltagrad(cls, options, thetas, grads)
    for index, (theta, grad) in enumerate(zip(thetas, grads)):
        expected = REFERENCES[cls](theta.astype(np.float64), [g.astype(np.float64) for g in grad],
                                   **options)
        assert history[-1][index].dtype == np.float32
        np.testing.assert_allclose(history[-1][index], expected[-1], rtol=2e-5, atol=2e-6)
    for param in params:  # state buffers keep the parameter's dtype
        for value in optimizer.state[param].values():
            if isinstance(value, dg.Tensor):
                assert value.dtype == dg.float32


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_matches_torch(cls, options):
    thetas, grads = make_problem(seed=3)
    expected = run_torch(cls, options, thetas, grads)
    history, _, _ = run_deltagrad(cls, options, thetas, grads)
    for t in range(STEPS):
        for ours, theirs in zip(history[t], expected[t]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_matches_torch_float32(cls, options):
    thetas, grads = make_problem(seed=4, dtype=np.float32)
    expected = run_torch(cls, options, thetas, grads)
    history, _, _ = run_deltagrad(cls, options, thetas, grads)
    for ours, theirs in zip(history[-1], expected[-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


GROUP_CASES = [
    (SGD, dict(lr=0.1), [([0], {}), ([1, 2], {"lr": 0.05, "momentum": 0.9, "nesterov": True})]),
    (SGD, dict(lr=0.1, momentum=0.5), [([0, 2], {"weight_decay": 0.1}), ([1], {"maximize": True})]),
    (Adam, dict(lr=0.1), [([0], {"amsgrad": True}), ([1, 2], {"betas": (0.5, 0.9), "lr": 0.2})]),
    (AdamW, dict(lr=0.1), [([2], {"weight_decay": 0.0}), ([0, 1], {"weight_decay": 0.5})]),
    (Adagrad, dict(lr=0.1), [([0], {"lr_decay": 0.1}), ([1, 2], {"initial_accumulator_value": 1})]),
    (RMSprop, dict(lr=0.01), [([0, 1], {"centered": True}), ([2], {"momentum": 0.9})]),
]


@pytest.mark.parametrize(("cls", "defaults", "groups"), GROUP_CASES,
                         ids=[case[0].__name__ for case in GROUP_CASES])
def test_param_groups_with_their_own_options(cls, defaults, groups):
    thetas, grads = make_problem(seed=5)
    history, optimizer, _ = run_deltagrad(cls, (defaults, groups), thetas, grads)
    assert len(optimizer.param_groups) == len(groups)
    for indices, options in groups:
        for index in indices:
            expected = REFERENCES[cls](thetas[index], grads[index], **{**defaults, **options})
            np.testing.assert_allclose(history[-1][index], expected[-1], rtol=1e-12, atol=1e-14)


# torch's Adagrad fills its "sum" from the constructor's initial_accumulator_value even for
# a group that sets its own (its state is made in __init__), so that option is compared
# per group with the transcription above only.
TORCH_GROUP_CASES = [case for case in GROUP_CASES if case[0] is not Adagrad] + [
    (Adagrad, dict(lr=0.1), [([0], {"lr_decay": 0.1}), ([1, 2], {"eps": 1e-2, "lr": 0.3})]),
]


@pytest.mark.parametrize(("cls", "defaults", "groups"), TORCH_GROUP_CASES,
                         ids=[case[0].__name__ for case in TORCH_GROUP_CASES])
def test_param_groups_match_torch(cls, defaults, groups):
    torch = pytest.importorskip("torch")
    thetas, grads = make_problem(seed=6)
    history, _, _ = run_deltagrad(cls, (defaults, groups), thetas, grads)
    params = [torch.tensor(theta, requires_grad=True) for theta in thetas]
    optimizer = getattr(torch.optim, cls.__name__)(
        [{"params": [params[i] for i in indices], **options} for indices, options in groups],
        **defaults)
    for t in range(STEPS):
        for param, grad in zip(params, grads):
            param.grad = torch.tensor(grad[t])
        optimizer.step()
    for ours, theirs in zip(history[-1], params):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", [Adam, AdamW, Adagrad])
def test_step_count_is_per_parameter(cls):
    # Parameter 1 only gets a gradient every other step: its bias correction (Adam) or lr
    # decay (Adagrad) counts its own steps, and steps without a gradient leave it alone.
    options = dict(lr=0.1, lr_decay=0.5) if cls is Adagrad else dict(lr=0.1)
    thetas, grads = make_problem(seed=7)
    params = [dg.tensor(theta, requires_grad=True) for theta in thetas[:2]]
    optimizer = cls(params, **options)
    for t in range(STEPS):
        params[0].grad = dg.tensor(grads[0][t])
        params[1].grad = dg.tensor(grads[1][t // 2]) if t % 2 == 0 else None
        optimizer.step()
    assert optimizer.state[params[0]]["step"] == STEPS
    assert optimizer.state[params[1]]["step"] == STEPS // 2
    expected = REFERENCES[cls](thetas[1], grads[1][:STEPS // 2], **options)
    np.testing.assert_allclose(params[1]._data, expected[-1], rtol=1e-12)


def test_parameter_without_gradient_gets_no_state():
    used, unused = dg.tensor([1.0], requires_grad=True), dg.tensor([2.0], requires_grad=True)
    optimizer = Adam([used, unused], lr=0.1)
    used.grad = dg.tensor([1.0])
    optimizer.step()
    assert unused not in optimizer.state
    assert unused._data.tolist() == [2.0]


def test_frozen_parameters_are_accepted_and_left_alone():
    # As in PyTorch: model.parameters() may include frozen tensors; they never get a gradient.
    frozen = dg.tensor([1.0, 2.0])
    trained = dg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = SGD([frozen, trained], lr=0.5)
    (trained * trained).sum().backward()
    optimizer.step()
    assert frozen._data.tolist() == [1.0, 2.0] and trained._data.tolist() == [0.0, 0.0]


def test_training_a_model_with_backward_matches_torch():
    # Least squares with a tanh layer, trained end to end through backward().
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w1, w2 = rng.standard_normal((3, 4)) * 0.5, rng.standard_normal((4, 1)) * 0.5

    def train(lib, make, cls_name, steps=20):
        params = [make(w1), make(w2)]
        optimizer = getattr(lib.optim, cls_name)(params, lr=0.05)
        xs, ys = lib.tensor(x), lib.tensor(y)
        for _ in range(steps):
            optimizer.zero_grad()
            prediction = lib.tanh(xs @ params[0]) @ params[1]
            loss = ((prediction - ys) ** 2).mean()
            loss.backward()
            optimizer.step()
        return [param.detach().numpy() for param in params], loss.item()

    for name in ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"]:
        ours, our_loss = train(dg, lambda a: dg.tensor(a, requires_grad=True), name)
        theirs, their_loss = train(torch, lambda a: torch.tensor(a, requires_grad=True), name)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        assert our_loss == pytest.approx(their_loss, rel=1e-10)


# ------------------------------------------------------------------------------------------
# In place, without temporaries, gradients untouched


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_step_updates_in_place_and_leaves_gradients_alone(cls, options):
    thetas, grads = make_problem(seed=9)
    params = [dg.tensor(theta, requires_grad=True) for theta in thetas]
    arrays = [param._data for param in params]
    optimizer = cls(params, **options)
    for param, grad in zip(params, grads):
        param.grad = dg.tensor(grad[0])
    optimizer.step()
    for param, array, grad in zip(params, arrays, grads):
        assert param._data is array
        np.testing.assert_array_equal(param.grad._data, grad[0])


@pytest.mark.parametrize(("cls", "options"), CASES, ids=CASE_IDS)
def test_step_allocates_no_parameter_sized_temporaries(cls, options):
    # After the first step (state and work arrays created), a step allocates only small
    # things: no array the size of the parameter.
    rng = np.random.default_rng(10)
    param = dg.tensor(rng.standard_normal((400, 250)).astype(np.float32), requires_grad=True)
    param.grad = dg.tensor(rng.standard_normal((400, 250)).astype(np.float32))
    optimizer = cls([param], **options)
    optimizer.step()
    optimizer.step()
    tracemalloc.start()
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < param._data.nbytes / 10


# ------------------------------------------------------------------------------------------
# zero_grad, closure


def test_zero_grad_sets_to_none_by_default():
    param = dg.tensor([1.0, 2.0], requires_grad=True)
    (param * param).sum().backward()
    optimizer = SGD([param], lr=0.1)
    optimizer.zero_grad()
    assert param.grad is None
    optimizer.step()  # no gradient: nothing happens
    assert param._data.tolist() == [1.0, 2.0]


def test_zero_grad_without_none_zeroes_in_place():
    param = dg.tensor([1.0, 2.0], requires_grad=True)
    (param * param).sum().backward()
    grad = param.grad
    SGD([param], lr=0.1).zero_grad(set_to_none=False)
    assert param.grad is grad
    assert grad._data.tolist() == [0.0, 0.0]
    (param * param).sum().backward()
    assert param.grad._data.tolist() == [2.0, 4.0]


def test_step_with_closure_returns_the_loss():
    param = dg.tensor([3.0], requires_grad=True)
    optimizer = SGD([param], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (param * param).sum()
        loss.backward()
        return loss

    with dg.no_grad():  # the closure still records its graph
        loss = optimizer.step(closure)
    assert loss.item() == 9.0
    assert param._data.tolist() == [1.5]


# ------------------------------------------------------------------------------------------
# Construction and validation


def test_param_groups_have_defaults_filled_in():
    a, b = dg.zeros(2, requires_grad=True), dg.zeros(3, requires_grad=True)
    optimizer = Adam([{"params": [a]}, {"params": b, "lr": 0.5, "name": "bias"}], lr=0.1)
    first, second = optimizer.param_groups
    assert first["lr"] == 0.1 and second["lr"] == 0.5
    assert first["betas"] == (0.9, 0.999) and second["eps"] == 1e-8
    assert second["params"] == [b] or second["params"][0] is b
    assert second["name"] == "bias"  # extra keys are kept, as in PyTorch
    assert optimizer.defaults["lr"] == 0.1
    assert "Adam" in repr(optimizer)


def test_params_may_be_a_generator():
    params = [dg.zeros(2, requires_grad=True) for _ in range(3)]
    optimizer = SGD((p for p in params), lr=0.1)
    assert len(optimizer.param_groups[0]["params"]) == 3


def test_add_param_group_adds_and_validates():
    a, b = dg.zeros(2, requires_grad=True), dg.zeros(3, requires_grad=True)
    optimizer = SGD([a], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    assert optimizer.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [a]})
    # (PyTorch checks option values on the constructor's defaults only: a group's own
    # lr=-1.0 is taken; tests/parity/test_s28_SL19_fixes.py compares)
    optimizer.add_param_group({"params": [dg.zeros(1, requires_grad=True)], "lr": -1.0})
    assert optimizer.param_groups[2]["lr"] == -1.0


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: SGD([dg.zeros(1, requires_grad=True)], lr=-0.1), ValueError, "learning rate"),
    (lambda: Adam([dg.zeros(1, requires_grad=True)], lr=-1e-3), ValueError, "learning rate"),
    (lambda: Adam([dg.zeros(1, requires_grad=True)], betas=(0.9, 1.0)), ValueError, "betas"),
    (lambda: Adam([dg.zeros(1, requires_grad=True)], eps=-1.0), ValueError, "epsilon"),
    (lambda: AdamW([dg.zeros(1, requires_grad=True)], weight_decay=-1), ValueError,
     "weight_decay"),
    (lambda: SGD([dg.zeros(1, requires_grad=True)], momentum=-0.5), ValueError, "momentum"),
    (lambda: SGD([dg.zeros(1, requires_grad=True)], nesterov=True), ValueError, "Nesterov"),
    (lambda: SGD([dg.zeros(1, requires_grad=True)], momentum=0.9, dampening=0.1,
                 nesterov=True), ValueError, "Nesterov"),
    (lambda: Adagrad([dg.zeros(1, requires_grad=True)], lr_decay=-1), ValueError, "lr_decay"),
    (lambda: Adagrad([dg.zeros(1, requires_grad=True)], initial_accumulator_value=-1),
     ValueError, "initial_accumulator_value"),
    (lambda: RMSprop([dg.zeros(1, requires_grad=True)], alpha=-0.1), ValueError, "alpha"),
    (lambda: SGD([dg.zeros(1, requires_grad=True)], lr="fast"), ValueError, "learning rate"),
    (lambda: SGD(dg.zeros(2, requires_grad=True)), TypeError, "iterable"),
    (lambda: SGD([]), ValueError, "empty"),
    (lambda: SGD([{"params": {dg.zeros(1, requires_grad=True)}}]), TypeError, "set"),
    (lambda: SGD([np.zeros(2)]), TypeError, "Tensors"),
    (lambda: SGD([dg.zeros(2, requires_grad=True) * 2]), ValueError, "non-leaf"),
])
def test_invalid_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_parameter_in_two_groups_is_refused():
    shared = dg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [shared]}, {"params": [shared, dg.zeros(1, requires_grad=True)]}])
    with pytest.warns(UserWarning, match="duplicate parameters"):  # as PyTorch: a warning
        SGD([shared, shared])


def test_gradient_of_the_wrong_shape_is_refused():
    param = dg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="size"):  # PyTorch's check, on assignment
        param.grad = dg.zeros(4)


def test_base_optimizer_has_no_update_rule():
    param = dg.zeros(1, requires_grad=True)
    param.grad = dg.ones(1)
    with pytest.raises(NotImplementedError):
        Optimizer([param], {"lr": 0.1}).step()


# ------------------------------------------------------------------------------------------
# State dicts


RESUME_CASES = [
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, dict(lr=0.1)),
    (Adam, dict(lr=0.05, amsgrad=True)),
    (Adam, dict(lr=0.05, weight_decay=0.1, maximize=True)),
    (AdamW, dict(lr=0.05, betas=(0.8, 0.95))),
    (Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True)),
]


@pytest.mark.parametrize(("cls", "options"), RESUME_CASES,
                         ids=[f"{cls.__name__}{i}" for i, (cls, _) in enumerate(RESUME_CASES)])
@pytest.mark.parametrize("via_json", [False, True], ids=["dict", "json"])
def test_resumed_run_continues_bit_exactly(cls, options, via_json):
    thetas, grads = make_problem(seed=11, dtype=np.float32, steps=8)
    groups = [{"params": [0, 1]}, {"params": [2], "lr": options["lr"] / 2}]

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
    uninterrupted = [param._data.copy() for param in params]

    params, optimizer = build(thetas)
    run(params, optimizer, range(3))
    saved_params = [param._data.copy() for param in params]
    # PyTorch's state_dict holds the live state tensors: a program keeps a copy of it.
    saved = copy.deepcopy(optimizer.state_dict())
    if via_json:
        saved = json_round_trip(saved)
    run(params, optimizer, range(3, 5))  # keep training: must not change what was saved

    params, optimizer = build(saved_params)
    optimizer.load_state_dict(saved)
    run(params, optimizer, range(3, 8))
    for ours, expected in zip(params, uninterrupted):
        np.testing.assert_array_equal(ours._data, expected)


def test_state_dict_layout_is_pytorchs():
    a, b, c = (dg.tensor(np.ones(n), requires_grad=True) for n in (2, 3, 4))
    optimizer = Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, amsgrad=True)
    a.grad, c.grad = dg.ones(2, dtype=dg.float64), dg.ones(4, dtype=dg.float64)
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {"state", "param_groups"}
    assert [group["params"] for group in state["param_groups"]] == [[0, 1], [2]]
    assert state["param_groups"][0]["betas"] == (0.9, 0.999)  # a tuple, as PyTorch's
    assert state["param_groups"][1]["lr"] == 0.5
    assert sorted(state["state"]) == [0, 2]  # b had no gradient, so no state
    entry = state["state"][0]
    assert set(entry) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert entry["step"].item() == 1.0 and entry["step"].dtype == dg.float32  # PyTorch's
    assert isinstance(entry["exp_avg"], dg.Tensor) and entry["exp_avg"].shape == (2,)
    # The live state, as PyTorch's: the saved tensors are the optimizer's own.
    assert entry["exp_avg"] is optimizer.state[a]["exp_avg"]

    def check_types(value):
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, (str, int))
                check_types(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                check_types(item)
        else:
            assert value is None or isinstance(value, (dg.Tensor, str, int, float, bool))

    check_types(state)


def test_load_state_dict_accepts_string_ids_and_restores_tuples():
    param = dg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = Adam([param], lr=0.1, betas=(0.5, 0.6))
    param.grad = dg.ones(2)
    optimizer.step()
    saved = json_round_trip(optimizer.state_dict())
    assert list(saved["state"]) == ["0"]
    fresh = Adam([dg.tensor([1.0, 2.0], requires_grad=True)], lr=0.9)
    fresh.load_state_dict(saved)
    group = fresh.param_groups[0]
    assert group["lr"] == 0.1 and group["betas"] == (0.5, 0.6)
    (state,) = fresh.state.values()
    assert state["step"] == 1
    # The loaded tensors are the dict's own, as PyTorch keeps a tensor it need not cast.
    assert state["exp_avg"] is saved["state"]["0"]["exp_avg"]
    assert state["exp_avg"]._data.flags.writeable


def test_load_state_dict_casts_to_the_parameter_dtype():
    param = dg.tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    optimizer = SGD([param], lr=0.1, momentum=0.9)
    param.grad = dg.tensor(np.ones(2))
    optimizer.step()
    saved = optimizer.state_dict()
    target = dg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    fresh = SGD([target], lr=0.1, momentum=0.9)
    fresh.load_state_dict(saved)
    assert fresh.state[target]["momentum_buffer"].dtype == dg.float32


def test_load_state_dict_rejects_mismatches():
    a, b = dg.ones(2, requires_grad=True), dg.ones(3, requires_grad=True)
    optimizer = Adam([a, b])
    a.grad, b.grad = dg.ones(2), dg.ones(3)
    optimizer.step()
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        Adam([{"params": [dg.ones(2, requires_grad=True)]},
              {"params": [dg.ones(3, requires_grad=True)]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameters"):
        Adam([dg.ones(2, requires_grad=True)]).load_state_dict(saved)
    with pytest.raises(ValueError, match="shape"):
        Adam([dg.ones(3, requires_grad=True), dg.ones(2, requires_grad=True)]).load_state_dict(
            saved)
    with pytest.raises(KeyError, match="'state' and 'param_groups'"):
        Adam([dg.ones(2, requires_grad=True)]).load_state_dict({"state": {}})
    bad = json_round_trip(saved)
    bad["param_groups"][0]["lr"] = -1.0  # (loaded as saved: PyTorch's load checks no option)
    loaded = Adam([dg.ones(2, requires_grad=True), dg.ones(3, requires_grad=True)])
    loaded.load_state_dict(bad)
    assert loaded.param_groups[0]["lr"] == -1.0


def test_state_dict_survives_deltagrad_save(tmp_path):
    param = dg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = Adam([param], lr=0.1)
    param.grad = dg.ones(2)
    optimizer.step()
    try:
        dg.save(optimizer.state_dict(), tmp_path / "optimizer")
    except NotImplementedError:
        pytest.skip("deltagrad.save is not written yet")
    loaded = dg.load(tmp_path / "optimizer")
    fresh = Adam([dg.tensor([1.0, 2.0], requires_grad=True)])
    fresh.load_state_dict(loaded)
    (state,) = fresh.state.values()
    np.testing.assert_array_equal(state["exp_avg"]._data, optimizer.state[param]["exp_avg"]._data)
    assert fresh.param_groups[0]["lr"] == 0.1 and state["step"] == 1


def test_bias_correction_matches_closed_form_at_first_step():
    # The first Adam step moves every coordinate by lr·sign(g) (up to ε).
    param = dg.tensor(np.array([3.0, -2.0, 0.5]), requires_grad=True)
    param.grad = dg.tensor(np.array([10.0, -0.01, 1e-3]))
    Adam([param], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(param._data, [2.9, -1.9, 0.4], rtol=0, atol=1e-15)
    assert math.isfinite(param._data.sum())


# ------------------------------------------------------------------------------------------
# Adam's flat path: small parameters share flat moment arrays, with the same numbers


def _adam_run(monkeypatch, flat: bool, steps: int = 5):
    """Adam on six small parameters whose set of gradients changes from step to step (one has
    none at step 3; one joins through add_param_group at step 2); the history of values."""
    from deltagrad.optim import adam

    if not flat:
        monkeypatch.setattr(adam, "_FLAT_MAX_SIZE", 0)
    rng = np.random.default_rng(21)
    params = [dg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
              for shape in [(4, 3), (3,), (2, 2, 2), (5,), (6, 2), (1,)]]
    optimizer = Adam(params[:3], lr=0.1)
    optimizer.add_param_group({"params": params[3:5], "lr": 0.05})
    history = []
    for step in range(steps):
        if step == 2:
            optimizer.add_param_group({"params": params[5:]})
        for index, param in enumerate(params):
            skipped = step == 3 and index == 1
            param.grad = None if skipped else dg.tensor(
                rng.standard_normal(param.shape).astype(np.float32))
        optimizer.step()
        history.append([param._data.copy() for param in params])
    return history, optimizer, params


def test_adam_flat_path_matches_one_parameter_at_a_time_bit_for_bit(monkeypatch):
    flat_history, optimizer, params = _adam_run(monkeypatch, flat=True)
    first = optimizer.state[params[0]]["exp_avg"]._data
    assert first.base is not None  # the flat path was taken: the state is a view
    assert first.base is optimizer.state[params[2]]["exp_avg"]._data.base
    monkeypatch.undo()
    plain_history, plain_optimizer, plain_params = _adam_run(monkeypatch, flat=False)
    assert plain_optimizer.state[plain_params[0]]["exp_avg"]._data.base is None
    for flat_values, plain_values in zip(flat_history, plain_history):
        for a, b in zip(flat_values, plain_values):
            np.testing.assert_array_equal(a, b)
    for p, q in zip(params, plain_params):
        for name in ("exp_avg", "exp_avg_sq", "step"):
            a, b = optimizer.state[p][name], plain_optimizer.state[q][name]
            np.testing.assert_array_equal(getattr(a, "data", a), getattr(b, "data", b))


def test_adam_flat_path_survives_load_state_dict(monkeypatch):
    _, optimizer, params = _adam_run(monkeypatch, flat=True, steps=3)
    saved = copy.deepcopy(optimizer.state_dict())
    steps = {key: state["step"].item() for key, state in saved["state"].items()}
    optimizer.load_state_dict(saved)  # new state arrays: the flat layout is made again
    for param in params:
        param.grad = dg.ones(*param.shape)
    optimizer.step()
    assert optimizer.state[params[0]]["exp_avg"]._data.base is not None
    again = optimizer.state_dict()
    for key, step in steps.items():  # (the loaded step tensors are kept and advanced in place)
        assert again["state"][key]["step"] == step + 1


# ------------------------------------------------------------------------------------------
# Adam on a tall table whose gradient is zero outside a few rows (a dense embedding gradient)


def _table_run(monkeypatch, scan: bool, options: dict, steps: int = 6):
    from deltagrad.optim import adam

    if not scan:
        monkeypatch.setattr(adam, "_ROW_SCAN_MIN_ROWS", 1 << 40)
    rng = np.random.default_rng(31)
    table = dg.tensor(rng.standard_normal((3000, 4)).astype(np.float32), requires_grad=True)
    optimizer = (AdamW if options.pop("adamw", False) else Adam)([table], lr=0.01, **options)
    history = []
    for step in range(steps):
        grad = np.zeros((3000, 4), np.float32)
        if step != 2:  # step 2: an all-zero gradient
            rows = rng.integers(0, 3000, 40)
            grad[rows] = rng.standard_normal((40, 4)).astype(np.float32)
        if step == 4:
            grad[:] = rng.standard_normal((3000, 4))  # a dense step: the plain update
        table.grad = dg.tensor(grad)
        optimizer.step()
        history.append(table._data.copy())
    state = optimizer.state[table]
    return history, state["exp_avg"]._data.copy(), state["exp_avg_sq"]._data.copy()


@pytest.mark.parametrize("options", [{}, {"maximize": True}, {"weight_decay": 0.1},
                                     {"weight_decay": 0.1, "adamw": True}],
                         ids=["plain", "maximize", "l2", "adamw"])
def test_adam_on_mostly_zero_gradient_rows_gives_the_same_numbers(monkeypatch, options):
    scanned = _table_run(monkeypatch, True, dict(options))
    monkeypatch.undo()
    plain = _table_run(monkeypatch, False, dict(options))
    for a, b in zip(scanned[0], plain[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(scanned[1], plain[1])
    np.testing.assert_array_equal(scanned[2], plain[2])


def test_adam_row_scan_skips_zero_rows_and_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(32)
    init = rng.standard_normal((2048, 3))
    ours = dg.tensor(init.copy(), requires_grad=True)
    theirs = torch.tensor(init.copy(), requires_grad=True)
    opt_ours, opt_theirs = Adam([ours], lr=0.05), torch.optim.Adam([theirs], lr=0.05)
    for _ in range(4):
        grad = np.zeros((2048, 3))
        grad[rng.integers(0, 2048, 30)] = rng.standard_normal((30, 3))
        ours.grad, theirs.grad = dg.tensor(grad), torch.tensor(grad)
        opt_ours.step()
        opt_theirs.step()
    np.testing.assert_allclose(ours._data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
