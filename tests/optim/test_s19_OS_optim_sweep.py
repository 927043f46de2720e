"""Every optimizer against PyTorch over a grid of its options (s19_OS_optim_sweep.OPTS):
momentum / dampening / nesterov, weight_decay, amsgrad, maximize, decoupled_weight_decay,
momentum_decay, centered, lr_decay, initial_accumulator_value, etas / step_sizes, ASGD's lambd
/ t0, Adafactor's beta2_decay, LBFGS' history / line search, Muon's nesterov / adjust_lr_fn;
each with foreach=True too, complex parameters where the optimizer takes them, float32 and
float64, one or two param groups; plus Tensor lr / betas, fused, differentiable (EXTRA).
Parameters after each of 5 steps and the whole state_dict() (state dtypes, shapes, values,
'step' types, param_groups) must agree.

The default run takes every 12th case (about 80); the whole grid (about 1,000 cases, ~20 s) is
marked soak. Half precision (float16 / bfloat16) is compared with 8x the half tolerance:
deltagrad's float16 steps are computed in float32 and rounded once (optim/_precision.py, a few
units in the last place from PyTorch's rounding after every operation), and PyTorch's foreach
kernels round their scalars to the parameter's dtype where its single-tensor ones do not.

Known (left, see the report of session 19, OS): a 0-d float32 Tensor lr / betas with float64
parameters differs from PyTorch at float32 rounding (~1e-9): PyTorch computes its bias
corrections in float32 there. Those cases are compared at the float32 tolerance.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(__file__))
import s19_OS_optim_sweep as S  # noqa: E402

import deltagrad as dg  # noqa: E402

ALL = S.cases() + S.extra_cases()
# (LBFGS at half precision: its convergence tests see differently rounded numbers after a few
# steps and take other iteration counts; test_lbfgs_half_precision checks its first step)
HALF = [case for case in S.cases(("float16", "bfloat16")) + S.extra_cases(("float16", "bfloat16"))
        if case[0] != "LBFGS"]


def _id(case):
    name, kwargs, dtype, complex_ = case
    options = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}[{options}]-{dtype}{'-complex' if complex_ else ''}"


def _tensor_hyper(kwargs):
    return any(isinstance(v, str) or (isinstance(v, tuple) and any(isinstance(x, str) for x in v))
               for v in kwargs.values())


def _check(case, slack=1.0):
    name, kwargs, dtype, complex_ = case
    groups = name != "LBFGS" and sum(map(ord, _id(case))) % 2 == 0  # half the cases: two groups
    results = []
    for lib in (torch, dg):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                results.append(S.run(lib, name, kwargs, dtype, complex_, groups=groups,
                                     none_grad=name != "LBFGS"))
            except Exception as error:  # noqa: BLE001 - the class is compared
                results.append(("ERR", type(error).__name__))
    expected, actual = results
    if expected[0] == "ERR" or actual[0] == "ERR":
        assert expected == actual
        return
    tolerance_dtype = "float32" if dtype == "float64" and _tensor_hyper(kwargs) else dtype
    found = S.first_difference(expected, actual, tolerance_dtype, slack)
    assert found is None, found


SAMPLE = ALL[::12]


@pytest.mark.parametrize("case", SAMPLE, ids=[_id(c) for c in SAMPLE])
def test_optimizer_sample(case):
    _check(case)


@pytest.mark.soak  # the whole grid, ~20 CPU s; the sample above keeps each optimizer checked
@pytest.mark.parametrize("case", ALL, ids=[_id(c) for c in ALL])
def test_optimizer_all(case):
    _check(case)


HALF_SAMPLE = HALF[5::40]


@pytest.mark.parametrize("case", HALF_SAMPLE, ids=[_id(c) for c in HALF_SAMPLE])
def test_half_precision_sample(case):
    _check(case, slack=_slack(case))


# Known half-precision differences beyond the slack.
# RMSprop with momentum and weight decay: PyTorch rounds the float16 / bfloat16 step after every
# operation; the division by the root of a small square_avg amplifies the last-place
# differences of deltagrad's float32 step into the momentum buffer: compared with 4x the slack.
_RADAM_16 = ("PyTorch's foreach RAdam at float16 adds eps=1e-8 in float16 (rounds to 0): a "
             "zero gradient entry gives sqrt(0) = 0, bias_correction2 / 0 = inf, inf * rect 0 = "
             "nan in the parameter at step 0; deltagrad's float32 step keeps the eps")


def _slack(case):
    name, kwargs, _, _ = case
    if name == "RMSprop" and kwargs.get("momentum") and kwargs.get("weight_decay"):
        return 32.0
    return 8.0


def _known_half(case):
    name, kwargs, dtype, _ = case
    if (name == "RAdam" and dtype == "float16" and kwargs.get("foreach") and kwargs["maximize"]
            and kwargs["weight_decay"] and not kwargs["decoupled_weight_decay"]):
        return _RADAM_16
    return None


def _half_params():
    out = []
    for case in HALF:
        reason = _known_half(case)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=_id(case), marks=marks))
    return out


@pytest.mark.soak  # every half-precision case, ~15 CPU s
@pytest.mark.parametrize("case", _half_params())
def test_half_precision_all(case):
    _check(case, slack=_slack(case))


@pytest.mark.parametrize("nesterov", [False, True])
def test_muon_bfloat16_momentum_buffer(nesterov):
    """PyTorch's Muon orthogonalises ``update.bfloat16()``, which for a bfloat16 momentum
    buffer is the buffer itself, and divides it by its norm in place: without nesterov the
    buffer is left normalised after every step. deltagrad divided a copy (session 19)."""
    rng = np.random.default_rng(1)
    start = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(3)]
    out = []
    for lib in (torch, dg):
        p = lib.nn.Parameter(lib.tensor(start).to(lib.bfloat16))
        opt = lib.optim.Muon([p], lr=0.01, nesterov=nesterov, momentum=0.95)
        for g in grads:
            p.grad = lib.tensor(g).to(lib.bfloat16)
            opt.step()
        out.append((opt.state[p]["momentum_buffer"].float().numpy(), p.detach().float().numpy()))
    (buf_t, p_t), (buf_d, p_d) = out
    np.testing.assert_array_equal(buf_d, buf_t)
    np.testing.assert_array_equal(p_d, p_t)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_lbfgs_half_precision(dtype):
    """LBFGS steps bfloat16 parameters as PyTorch's does (it raised TypeError from .numpy():
    session 19); the first step (4 iterations) is the same in both dtypes."""
    kwargs = {"lr": 1, "history_size": 10, "max_iter": 4}
    expected = S.run(torch, "LBFGS", kwargs, dtype, False, steps=1, none_grad=False)
    actual = S.run(dg, "LBFGS", kwargs, dtype, False, steps=1, none_grad=False)
    for x, y in zip(expected[0][0], actual[0][0]):
        np.testing.assert_array_equal(y, x)
    assert actual[1][0][(0, "n_iter")] == expected[1][0][(0, "n_iter")]



def _sgd_bf16_run(L, kwargs, late):
    rng = np.random.default_rng(3)
    ps = [L.nn.Parameter(L.tensor(rng.standard_normal(s)).bfloat16()) for s in [(40,), (5, 3), ()]]
    opt = L.optim.SGD(ps, **kwargs)
    out = []
    for step in range(5):
        for i, p in enumerate(ps):
            late_start = late and i == 1 and step < 2  # a buffer made while others have one
            p.grad = None if late_start else L.tensor(rng.standard_normal(p.shape)).bfloat16()
        opt.step()
        out += [p.detach().float().numpy().copy() for p in ps]
        out += [opt.state[p]["momentum_buffer"].float().numpy().copy() for p in ps
                if "momentum_buffer" in opt.state[p]]
    return out


@pytest.mark.parametrize("late", [False, True])
@pytest.mark.parametrize("options", [
    {"momentum": 0.9}, {"momentum": 0.7, "dampening": 0.1, "weight_decay": 0.01},
    {"momentum": 0.9, "nesterov": True, "maximize": True}])
def test_sgd_foreach_bfloat16_bit_exact(options, late):
    """foreach=True SGD on bfloat16 parameters, bit for bit: PyTorch's _foreach_mul_ rounds the
    momentum to bfloat16 before scaling the buffers, where mul_ (the single-tensor step) does
    not (deltagrad used mul_'s rounding: up to 8 units in the last place off; session 19)."""
    kwargs = dict(options, lr=0.1, foreach=True)
    expected = _sgd_bf16_run(torch, kwargs, late)
    actual = _sgd_bf16_run(dg, kwargs, late)
    assert len(actual) == len(expected)
    for x, y in zip(expected, actual):
        np.testing.assert_array_equal(y, x)
