"""Run one program under real PyTorch and under deltagrad's torch alias, side by side.

The third-party library tests (test_s8_*.py) each have a program that imports ``torch`` and a
library built on it, computes seeded numbers and writes them to an .npz file. The same program
runs twice, concurrently: ``python PROGRAM OUT.npz ...`` with the real torch and
``python -m deltagrad run PROGRAM OUT.npz ...`` with deltagrad in its place; the tests compare
the two files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIDES = {"torch": [], "deltagrad": ["-m", "deltagrad", "run"]}


def run_both(program: str, folder, *args: str, env: dict | None = None,
             side_args: Callable[[str], list] | None = None, timeout: float = 300) -> tuple:
    """``(torch's arrays, deltagrad's arrays)`` from ``program`` run under each library.

    Each run gets ``folder/<side>.npz`` as its first argument, then ``side_args(side)`` (paths
    of its own), then ``args``; one BLAS thread; extra environment ``env``. A run that fails
    fails the calling test with the end of its stderr.
    """
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1", **(env or {}))
    environment["PYTHONPATH"] = (os.path.join(ROOT, "src") + os.pathsep
                                 + environment.get("PYTHONPATH", ""))
    procs = {}
    for side, launcher in SIDES.items():
        extra = side_args(side) if side_args is not None else []
        command = [sys.executable, "-W", "ignore", *launcher, program,
                   str(folder / f"{side}.npz"), *extra, *args]
        procs[side] = subprocess.Popen(command, cwd=folder, env=environment,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    loaded = {}
    for side, proc in procs.items():
        _, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"{side} run failed:\n{stderr[-3000:]}"
        with np.load(folder / f"{side}.npz") as data:
            loaded[side] = {key: data[key] for key in data.files}
    return loaded["torch"], loaded["deltagrad"]


def _dtype_name(value: np.ndarray) -> str:
    return str(value).rsplit(".", 1)[-1]  # 'torch.float32' / 'deltagrad.float32' -> 'float32'


def compare(real: dict, ours: dict, prefix: str, *, rtol: float, atol: float,
            skip: tuple = (), atol_for: dict | None = None) -> int:
    """Assert that every entry under ``prefix`` agrees between the two runs; return how many
    were compared. An ``ERR.<prefix>...`` entry (an exception a program recorded) fails; keys
    ending in ``.dtype`` compare dtype names; integers and strings exactly; floats to
    ``rtol`` / ``atol`` (``atol_for[key]`` where given), NaN equal to NaN."""
    errors = {k: str(v)[-2000:] for k, v in {**real, **ours}.items()
              if k.startswith(f"ERR.{prefix}") and not k.startswith(skip)}
    assert not errors, errors
    keys = sorted(k for k in set(real) | set(ours)
                  if k.startswith(prefix + ".") and not k.startswith(skip))
    problems = []
    both = []
    for key in keys:
        if key not in real or key not in ours:
            problems.append(f"{key}: only on {'torch' if key in real else 'deltagrad'}")
        elif key.endswith(".dtype"):
            if _dtype_name(real[key]) != _dtype_name(ours[key]):
                problems.append(f"{key}: {real[key]} vs {ours[key]}")
        else:
            both.append(key)
    problems += mismatches(real, ours, both, rtol=rtol, atol=atol, atol_for=atol_for)
    assert not problems, "\n".join(problems)
    return len(keys)


def mismatches(real: dict, ours: dict, keys, *, rtol: float, atol: float,
               atol_for: dict | None = None) -> list[str]:
    """What differs for ``keys`` (present in both runs): shape or dtype; floats beyond
    ``rtol`` / ``atol`` (``atol_for[key]`` where given; NaN equals NaN); anything else (integers,
    booleans, strings) not exactly equal."""
    problems = []
    for key in sorted(keys):
        a, b = real[key], ours[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{key}: {b.shape} {b.dtype}, torch {a.shape} {a.dtype}")
        elif a.dtype.kind not in "fc":  # (integers, booleans, strings: exactly)
            if not np.array_equal(a, b):
                problems.append(f"{key}: {b.ravel()[:6]}, torch {a.ravel()[:6]}")
        elif not np.allclose(a, b, rtol=rtol, atol=(atol_for or {}).get(key, atol),
                             equal_nan=True):
            problems.append(f"{key}: max |diff| {np.abs(a - b).max():.3g}")
    return problems
