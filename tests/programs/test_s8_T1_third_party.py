"""Third-party PyTorch libraries on deltagrad (T1): torch-optimizer, lion-pytorch, ema-pytorch,
torchdiffeq and einops.

``prog_s8_T1_libs.py`` uses each library the way its README does and writes every number to an
.npz. It runs twice, at the same time: on the real PyTorch and under ``python -m deltagrad run``
(the script unchanged). The two must agree: values to float32 tolerance (optimizer trajectories
and checkpoint resumes of 28 torch-optimizer optimizers, Lion with schedules, EMA weights and
buffers, ODE solutions of ten solvers, adjoint gradients, events, einops results and
gradients), dtypes and shapes; an exception on either side is a failure.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_T1_libs.py")
SECTIONS = {"topt": "torch_optimizer", "lion": "lion_pytorch", "ema": "ema_pytorch",
            "ode": "torchdiffeq", "einops": "einops"}
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps
# Explicit Adams (fixed step 0.05, 20 steps) in float32: torch and deltagrad each differ from
# the float64 solution by ~1e-5 and from each other by up to 8e-5 (float64: identical).
LOOSE = {"ode.explicit_adams": 2e-4}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s8_T1")
    sections = ",".join(SECTIONS)
    return run_both(PROGRAM, folder, sections)


def compare(real: dict, ours: dict, prefix: str, skip: tuple = ()) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL, skip=skip,
                              atol_for=LOOSE)


def test_torch_optimizer_trajectories_and_resumes(results):
    pytest.importorskip("torch_optimizer")
    real, ours = results
    # 28 optimizers x (losses, 4 parameters; 8 more around a checkpoint resume) + two groups
    assert compare(real, ours, "topt") == 28 * 9 + 27 * 16 + 4


def test_lion(results):
    pytest.importorskip("lion_pytorch")
    assert compare(*results, "lion") == 33


def test_ema_pytorch(results):
    pytest.importorskip("ema_pytorch")
    assert compare(*results, "ema") >= 24


def test_torchdiffeq_solvers_adjoint_and_events(results):
    pytest.importorskip("torchdiffeq")
    real, ours = results
    assert compare(real, ours, "ode", skip=("ode.direct", "ERR.ode._ode_direct")) >= 34


def test_torchdiffeq_backprop_through_adaptive_solver(results):
    pytest.importorskip("torchdiffeq")
    assert compare(*results, "ode.direct") == 10
    assert compare(*results, "ERR.ode._ode_direct") == 0


def test_einops(results):
    pytest.importorskip("einops")
    assert compare(*results, "einops") >= 26
