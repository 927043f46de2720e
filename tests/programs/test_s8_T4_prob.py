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
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

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
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    runs = {
        "torch": [sys.executable, "-W", "ignore", PROGRAM, str(folder / "torch.npz"), sections],
        "deltagrad": [sys.executable, "-W", "ignore", "-m", "deltagrad", "run", PROGRAM,
                      str(folder / "deltagrad.npz"), sections],
    }
    procs = {name: subprocess.Popen(args, cwd=folder, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in runs.items()}
    loaded = {}
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name} run failed:\n{stderr[-3000:]}"
        with np.load(folder / f"{name}.npz") as data:
            loaded[name] = {key: data[key] for key in data.files}
    return loaded["torch"], loaded["deltagrad"]


def _dtype_name(value: np.ndarray) -> str:
    return str(value).rsplit(".", 1)[-1]  # 'torch.float32' / 'deltagrad.float32' -> 'float32'


def compare(real: dict, ours: dict, prefix: str, skip: tuple = (), rtol: float = RTOL) -> int:
    """Assert that every entry under ``prefix`` agrees; return how many were compared."""
    errors = {k: str(v) for k, v in {**real, **ours}.items()
              if k.startswith(f"ERR.{prefix}") and not k.startswith(skip)}
    assert not errors, errors
    keys = sorted(k for k in set(real) | set(ours)
                  if k.startswith(prefix + ".") and not k.startswith(skip))
    problems = []
    for key in keys:
        if key not in real or key not in ours:
            problems.append(f"{key}: only on {'torch' if key in real else 'deltagrad'}")
            continue
        a, b = real[key], ours[key]
        if key.endswith(".dtype"):
            if _dtype_name(a) != _dtype_name(b):
                problems.append(f"{key}: {a} vs {b}")
        elif a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{key}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}")
        elif not np.allclose(a, b, rtol=rtol, atol=ATOL, equal_nan=True):
            problems.append(f"{key}: max |diff| {np.abs(a - b).max():.3g}")
    assert not problems, problems
    return len(keys)


def test_pyro_distributions(results):
    pytest.importorskip("pyro")
    assert compare(*results, "pyro.dist") == 53


def test_pyro_poutine_trace_condition_scale_replay(results):
    pytest.importorskip("pyro")
    assert compare(*results, "pyro.poutine") == 26


def test_pyro_svi_autoguides_predictive_nuts(results):
    pytest.importorskip("pyro")
    assert compare(*results, "pyro.svi") == 44
    assert compare(*results, "pyro.more") == 5
    assert compare(*results, "pyro.elbos") == 21  # TraceGraph, Renyi, particles; LR schedule


def test_pyro_enumeration_trace_enum_elbo(results):
    pytest.importorskip("pyro")
    assert compare(*results, "pyro.enum") == 15


def test_zuko_flows(results):
    pytest.importorskip("zuko")
    assert compare(*results, "zuko", skip=("zuko.more.cnf", "ERR.zuko.more.cnf")) == 75


def test_zuko_continuous_flow(results):
    pytest.importorskip("zuko")
    # The gradients come from an adaptive adjoint ODE solve in float32, which amplifies
    # rounding: deltagrad's and PyTorch's float32 gradient norms differ by up to 1e-3
    # relatively, each about as far from the float64 values, where the two agree to 8 digits.
    assert compare(*results, "zuko.more.cnf", rtol=2e-3) == 6


def test_nflows(results):
    pytest.importorskip("nflows")
    assert compare(*results, "nflows") == 21
