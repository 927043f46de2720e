"""PyTorch's optim_db (15 OptimizerInfos) and its LR schedulers, differentially through deltagrad.

The default run takes a sample of the configs (the regressions this sweep found among them); the
whole sweep (every CPU config of every OptimizerInfo, about 200) is marked soak.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(__file__))
import s15_OP_harness as H  # noqa: E402

import deltagrad as dg  # noqa: E402

ALL_CONFIGS = [pytest.param(name, i, id=f"{name}-{i}-{desc}")
               for name in H.infos() for i, desc in enumerate(
                   desc for desc, _ in H.configs(H.infos()[name]))]

# The default run: each optimizer's first config, optim_db's last (most options at once) and our
# last extra, plus the configs that found a divergence (named by their description).
REGRESSIONS = {
    ("SGD", "momentum"),  # 0-d momentum buffer lost on load_state_dict
    ("RMSprop", "centered"),  # the same for square_avg / grad_avg
    ("Adagrad", "initial_accumulator_value"),  # complex sum started at v + 0j
    ("Rprop", "maximize"),  # maximize on a 0-d parameter raised TypeError
    ("SparseAdam", "default"),  # zero_grad(set_to_none=False) of a COO gradient
    ("LBFGS", "Tensor lr"),  # state['t'] a float, PyTorch's the lr tensor
    ("LBFGS", "strong_wolfe"),  # state['t'] 0.0, PyTorch's int 0
    ("Adam", "default & fused"),  # fused=True: real parameters; complex refused (below)
}


def _sample():
    out = []
    for name in H.infos():
        descs = [desc for desc, _ in H.configs(H.infos()[name])]
        own = len(descs) - len(H.extra_configs(H.infos()[name]))  # optim_db's, then ours
        keep = {0, own - 1, len(descs) - 1}
        keep |= {i for i, desc in enumerate(descs) if (name, desc) in REGRESSIONS}
        out += [pytest.param(name, i, id=f"{name}-{i}-{descs[i]}") for i in sorted(keep)]
    return out


def _check(name, index):
    info = H.infos()[name]
    _, kwargs = H.configs(info)[index]
    H.check_config(info, kwargs)


@pytest.mark.parametrize("name,index", _sample())
def test_config_sample(name, index):
    _check(name, index)


@pytest.mark.soak
@pytest.mark.parametrize("name,index", ALL_CONFIGS)
def test_config_all(name, index):
    _check(name, index)


ERROR_INPUTS = [pytest.param(name, j, id=f"{name}-{j}")
                for name in H.infos() for j in range(len(H.error_inputs(name)))]


@pytest.mark.parametrize("name,index", ERROR_INPUTS)
def test_error_input(name, index):
    H.check_error_input(name, index)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adagrad", "SGD"])
def test_fused_refuses_complex_parameters(name):
    # PyTorch's fused CPU kernels take real dtypes only and raise at step; deltagrad ran the
    # unfused arithmetic silently.
    outcomes = []
    for lib in (torch, dg):
        param = lib.nn.Parameter(lib.ones(3, dtype=lib.complex64))
        optimizer = getattr(lib.optim, name)([param], lr=0.1, fused=True)
        param.grad = lib.ones(3, dtype=lib.complex64)
        with pytest.raises(RuntimeError) as caught:
            optimizer.step()
        outcomes.append(caught.value)
    assert "fused" in str(outcomes[1])
    np.testing.assert_array_equal(param.detach().numpy(), np.ones(3))  # nothing moved


def test_zero_d_state_survives_load_state_dict():
    # A 0-d parameter's momentum buffer came back from load_state_dict as a Python float.
    param = dg.nn.Parameter(dg.tensor(1.0))
    optimizer = dg.optim.SGD([param], lr=0.1, momentum=0.9)
    param.grad = dg.tensor(0.5)
    optimizer.step()
    fresh = dg.optim.SGD([param], lr=0.1, momentum=0.9)
    fresh.load_state_dict(optimizer.state_dict())
    buffer = fresh.state[param]["momentum_buffer"]
    assert isinstance(buffer, dg.Tensor) and buffer.shape == ()
    fresh.step()
    assert float(param) == pytest.approx(1.0 - 0.05 - 0.1 * (0.9 * 0.5 + 0.5))


@pytest.mark.parametrize("name", H.SCHEDULERS)
def test_scheduler(name):
    H.check_scheduler(name)


@pytest.mark.parametrize("name", [n for n in H.SCHEDULER_CASES
                                  if n not in H.KNOWN_SCHEDULER_CASES])
def test_scheduler_case(name):
    H.check_scheduler_case(name)


@pytest.mark.parametrize("name", sorted(H.KNOWN_SCHEDULER_CASES))
def test_scheduler_known_difference(name):
    # KNOWN: see the reason in KNOWN_SCHEDULER_CASES; this fails once deltagrad agrees.
    with pytest.raises(AssertionError):
        H.check_scheduler_case(name)


@pytest.mark.parametrize("name", [n for n, info in H.infos().items() if info.has_capturable_arg])
def test_capturable_on_cpu_is_refused_as_pytorch(name):
    # capturable=True is for CUDA graphs: PyTorch's CPU step raises AssertionError; deltagrad
    # must not run an ordinary step in its place.
    for lib in (torch, dg):
        param = lib.nn.Parameter(lib.ones(3))
        optimizer = getattr(lib.optim, name)([param], capturable=True)
        param.grad = lib.ones(3)
        with pytest.raises(AssertionError, match="capturable"):
            optimizer.step()
        np.testing.assert_array_equal(param.detach().numpy(), np.ones(3))


DIFFERENTIABLE = [n for n, info in H.infos().items() if "differentiable" in info.supported_impls]


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if n not in H.KNOWN_DIFFERENTIABLE])
def test_differentiable_step(name):
    H.check_differentiable(name)


@pytest.mark.parametrize("name", sorted(H.KNOWN_DIFFERENTIABLE))
def test_differentiable_step_known(name):
    # KNOWN (H.KNOWN_DIFFERENTIABLE): PyTorch records the step, deltagrad refuses it clearly.
    assert not isinstance(H.differentiable_run(torch, name), Exception)
    refused = H.differentiable_run(dg, name)
    assert isinstance(refused, RuntimeError) and "not supported" in str(refused)
