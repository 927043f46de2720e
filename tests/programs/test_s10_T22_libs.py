"""torchjd, rtdl, laplace-torch, sbi and tianshou on deltagrad (T22).

``prog_s10_T22_libs.py`` runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged); the two must agree (values to float32
tolerance, dtypes, shapes, gradients, trained weights, optimizer trajectories, collected
episodes). torchjd's autogram engine needs ``torch.autograd.graph.get_gradient_edge`` (since
session 14).
"""

from __future__ import annotations

import importlib
import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s10_T22_libs.py")
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences over a few training steps
SECTIONS = {"torchjd": ("torchjd", "torchjd_autogram"), "rtdl": ("rtdl",),
            "laplace": ("laplace",), "sbi": ("sbi",), "tianshou": ("tianshou",)}


# Libraries run only under soak, in processes of their own, since session 18 (ST3): sbi (its
# import and five trainings: 7.2 CPU s on the torch side alone). Masked autoregressive flows
# trained by maximum likelihood stay checked by default by test_s14_LE_suites.py's parts of
# zuko's suite (test_flows.py::test_flows[BPF], test_bayesian.py) and normflows's
# (flows/affine/autoregressive_test.py, core_test.py); mixtures of Gaussians' log-likelihoods
# and gradients (sbi's MDN) in tests/distributions/test_s5_more_distributions.py.
SOAK_LIBRARIES = {"sbi"}


def _run(tmp_path_factory, libraries) -> tuple:
    chosen = [section for library, sections in SECTIONS.items() if library in libraries
              and importlib.util.find_spec(library) is not None for section in sections]
    if not chosen:
        pytest.skip(f"none of {', '.join(libraries)} is installed")
    folder = tmp_path_factory.mktemp("s10_T22")
    return run_both(PROGRAM, folder, ",".join(chosen))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) for the installed libraries, one process a side."""
    return _run(tmp_path_factory, [name for name in SECTIONS if name not in SOAK_LIBRARIES])


@pytest.fixture(scope="module")
def soak_results(tmp_path_factory):
    return _run(tmp_path_factory, sorted(SOAK_LIBRARIES))


def runs(results, library: str) -> tuple:
    # (find_spec, not importorskip: importing laplace here would import torchvision through
    # torchmetrics, and the installed torchvision does not load; the program hides it)
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")
    return results


def compare(real: dict, ours: dict, prefix: str, **kwargs) -> int:
    return alias_runs.compare(real, ours, prefix, rtol=kwargs.pop("rtol", RTOL),
                              atol=kwargs.pop("atol", ATOL), **kwargs)


def test_torchjd_aggregators(results):
    real, ours = runs(results, "torchjd")
    assert compare(real, ours, "torchjd.agg") >= 18


def test_torchjd_autojac_training(results):
    # mtl_backward / backward take Jacobians with torch.vmap over autograd.grad (retain_graph
    # False): deltagrad's vmap loops, and must keep the graph until the last row.
    real, ours = runs(results, "torchjd")
    assert compare(real, ours, "torchjd.mtl") >= 24
    assert compare(real, ours, "torchjd.backward") >= 16


def test_torchjd_autogram_gramian(results):
    # (get_gradient_edge and a Function without backward since session 14, AG)
    real, ours = runs(results, "torchjd")
    assert "ERR.torchjd_autogram" not in real and "ERR.torchjd_autogram" not in ours
    assert compare(real, ours, "torchjd.autogram") >= 12


def test_rtdl_models_train(results):
    real, ours = runs(results, "rtdl")
    assert compare(real, ours, "rtdl") >= 90


def test_laplace_approximations(results):
    real, ours = runs(results, "laplace")
    # full / diag / kron over all weights and the last layer; marginal likelihood, prior
    # precision optimisation, GLM predictive (regression), probit and bridge (classification)
    assert compare(real, ours, "laplace", rtol=1e-4, atol=1e-5) >= 100


@pytest.mark.soak
def test_sbi_npe_nle_nre(soak_results):
    real, ours = runs(soak_results, "sbi")
    assert compare(real, ours, "sbi", rtol=1e-4, atol=1e-5) >= 20


def test_optim_adamw_module_path():
    # (sbi imports AdamW from PyTorch's module path)
    module = importlib.import_module("deltagrad.optim.adamw")
    assert module.AdamW is importlib.import_module("deltagrad.optim").AdamW


def test_tianshou_dqn_pg_ppo(results):
    real, ours = runs(results, "tianshou")
    assert compare(real, ours, "tianshou.buffer") >= 4
    assert compare(real, ours, "tianshou.dqn") >= 20
    assert compare(real, ours, "tianshou.pg") >= 6
    assert compare(real, ours, "tianshou.ppo") >= 10
