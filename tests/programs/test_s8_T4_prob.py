"""Third-party probabilistic libraries on deltagrad (T4): pyro-ppl, zuko and nflows.

``prog_s8_T4_prob.py`` uses each library the way its README does and writes every number to an
.npz. It runs twice, at the same time: on the real PyTorch and under ``python -m deltagrad run``
(the script unchanged). The two must agree: values to float32 tolerance (SVI losses and guide
parameters of AutoNormal / AutoDiagonalNormal / AutoMultivariateNormal / AutoDelta under
Trace_ELBO, TraceMeanField_ELBO and TraceEnum_ELBO with pyro's Adam and ClippedAdam, Predictive
draws, NUTS samples, poutine traces, pyro's distributions; zuko and nflows flows' training
losses, log densities, samples and gradients), dtypes and shapes. The random draws agree too:
deltagrad draws PyTorch's CPU random stream. An exception on either side is a failure.
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torch")


def _needs(library: str) -> None:
    # (found, not imported: importing zuko in the test process turns off PyTorch's distribution
    # argument checks and replaces its inverse-transform repr for every later test there)
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_T4_prob.py")
SECTIONS = {"pyro": "pyro", "zuko": "zuko", "nflows": "nflows"}
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps



@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    sections = ",".join(name for name, module in SECTIONS.items()
                        if importlib.util.find_spec(module) is not None)
    if not sections:
        pytest.skip("none of pyro, zuko, nflows is installed")
    folder = tmp_path_factory.mktemp("s8_T4")
    return run_both(PROGRAM, folder, sections)


def compare(real: dict, ours: dict, prefix: str, skip: tuple = (), rtol: float = RTOL) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=rtol, atol=ATOL, skip=skip)


def test_pyro_distributions(results):
    _needs("pyro")
    assert compare(*results, "pyro.dist") == 53


def test_pyro_poutine_trace_condition_scale_replay(results):
    _needs("pyro")
    assert compare(*results, "pyro.poutine") == 26


def test_pyro_svi_autoguides_predictive_nuts(results):
    _needs("pyro")
    assert compare(*results, "pyro.svi") == 44
    assert compare(*results, "pyro.more") == 5
    assert compare(*results, "pyro.elbos") == 21  # TraceGraph, Renyi, particles; LR schedule


def test_pyro_enumeration_trace_enum_elbo(results):
    _needs("pyro")
    assert compare(*results, "pyro.enum") == 15


def test_zuko_flows(results):
    _needs("zuko")
    assert compare(*results, "zuko", skip=("zuko.more.cnf", "ERR.zuko.more.cnf")) == 75


def test_zuko_continuous_flow(results):
    _needs("zuko")
    # The gradients come from an adaptive adjoint ODE solve in float32, which amplifies
    # rounding: deltagrad's and PyTorch's float32 gradient norms differ by up to 1e-3
    # relatively, each about as far from the float64 values, where the two agree to 8 digits.
    assert compare(*results, "zuko.more.cnf", rtol=2e-3) == 6


def test_nflows(results):
    _needs("nflows")
    assert compare(*results, "nflows") == 21
