"""Third-party PyTorch libraries on deltagrad (T6): entmax, opt_einsum's torch backend, skorch
(in a scikit-learn Pipeline and GridSearchCV) and pytorch-tabnet.

``prog_s8_T6_libs.py`` uses each library the way its README does and writes every number to an
.npz. It runs twice, at the same time: on the real PyTorch and under ``python -m deltagrad run``
(the script unchanged). The two must agree: values to float32 tolerance (sparse mappings, their
losses and gradients, contractions and their gradients, training trajectories, predictions,
grid-search scores, TabNet masks), dtypes and shapes; an exception on either side is a failure.
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
PROGRAM = os.path.join(HERE, "prog_s8_T6_libs.py")
SECTIONS = {"entmax": "entmax", "oe": "opt_einsum", "skorch": "skorch",
            "tabnet": "pytorch_tabnet"}
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s8_T6")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    sections = ",".join(name for name, module in SECTIONS.items() if _installed(module))
    if not sections:
        pytest.skip("none of entmax, opt_einsum, skorch, pytorch_tabnet is installed")
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


def compare(real: dict, ours: dict, prefix: str) -> int:
    """Assert that every entry under ``prefix`` agrees; return how many were compared."""
    errors = {k: str(v) for k, v in {**real, **ours}.items() if k.startswith(f"ERR.{prefix}")}
    assert not errors, errors
    keys = sorted(k for k in set(real) | set(ours) if k.startswith(prefix + "."))
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
        elif a.dtype.kind in "US":
            if not np.array_equal(a, b):
                problems.append(f"{key}: {a} vs {b}")
        elif not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
            problems.append(f"{key}: max |diff| {np.abs(a - b).max():.3g}")
    assert not problems, problems
    return len(keys)


def test_entmax_mappings_losses_and_training(results):
    pytest.importorskip("entmax")
    # 7 mappings x 2 dtypes x (value, dtype, grad, grad dtype) + alpha grad; 6 losses x 4;
    # training: losses, head and 4 parameters (each with its dtype but the losses)
    assert compare(*results, "entmax") == 7 * 2 * 4 + 2 + 6 * 4 + 1 + 2 * 5


def test_opt_einsum_torch_backend(results):
    pytest.importorskip("opt_einsum")
    real, ours = results
    assert str(ours["oe.backend"]) == "torch"  # the backend opt_einsum infers from the class
    assert compare(real, ours, "oe") >= 30


def test_skorch_classifier_grid_search_and_regressor(results):
    pytest.importorskip("skorch")
    pytest.importorskip("sklearn")
    assert compare(*results, "skorch") == 17


def test_pytorch_tabnet(results):
    pytest.importorskip("pytorch_tabnet")
    pytest.importorskip("pandas")
    assert compare(*results, "tabnet") == 9
