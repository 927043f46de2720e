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
import subprocess
import sys

import numpy as np
import pytest

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
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    sections = ",".join(SECTIONS)
    runs = {
        "torch": [sys.executable, "-W", "ignore", PROGRAM, str(folder / "torch.npz"),
                  sections],
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


def compare(real: dict, ours: dict, prefix: str, skip: tuple = ()) -> int:
    """Assert that every entry under ``prefix`` agrees; return how many were compared."""
    errors = {k: str(v) for k, v in {**real, **ours}.items()
              if k.startswith(f"ERR.{prefix}") and not k.startswith(skip)}
    assert not errors, errors
    keys = sorted(k for k in set(real) | set(ours) if k.startswith(prefix + ".")
                  and not k.startswith(skip))
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
        elif not np.allclose(a, b, rtol=RTOL, atol=LOOSE.get(key, ATOL), equal_nan=True):
            problems.append(f"{key}: max |diff| {np.abs(a - b).max():.3g}")
    assert not problems, problems
    return len(keys)


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
