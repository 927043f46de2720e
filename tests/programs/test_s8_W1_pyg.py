"""torch_geometric on deltagrad (W1): GCNConv / SAGEConv / GATConv training steps and PyG's
mini-batch DataLoader give PyTorch's numbers.

``prog_s8_W1_pyg.py`` runs twice, at the same time: on the real PyTorch and under ``python -m
deltagrad run`` (the script unchanged). The two must agree: losses, gradients, weights after
four SGD steps, predictions and the Data repr (values to float32 tolerance, dtypes, shapes).
Sections blocked by a known missing feature are listed in KNOWN_GAPS with the error deltagrad
raises there; the test then reports xfail naming it (any other failure is a failure).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from alias_runs import run_both

pytest.importorskip("torch")
# (find_spec, not importorskip: only the programs' subprocesses import torch_geometric; importing it
# here cost each xdist worker 0.8 CPU s at collection, and a library's import can change
# process-wide state before any test of the worker runs)
for _library in ("torch_geometric",):
    if importlib.util.find_spec(_library) is None:
        pytest.skip(f"{_library} is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_W1_pyg.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences through four steps

# Section -> the text of the error deltagrad raises there while the feature is missing.
KNOWN_GAPS = {"batch": "cat() got an unexpected keyword argument 'out'"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s8_W1_pyg")
    return run_both(PROGRAM, folder)


def _same(key: str, a: np.ndarray, b: np.ndarray) -> str | None:
    if a.dtype.kind == "U":  # dtype names and reprs: the library's name aside
        same = str(a).replace("torch.", "") == str(b).replace("deltagrad.", "")
        return None if same else f"{key}: {a} vs {b}"
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"{key}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
    if a.dtype.kind in "fc":
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL):
            return f"{key}: max |diff| {np.abs(a - b).max():.3g}"
    elif not np.array_equal(a, b):
        return f"{key}: {a.ravel()[:6]} vs {b.ravel()[:6]}"
    return None


@pytest.mark.parametrize("section", ["gcn", "sage", "gat", "batch"])
def test_section_matches_torch(results, section):
    real, ours = results
    assert f"ERR.{section}" not in real, str(real[f"ERR.{section}"])[-2000:]
    error = str(ours.get(f"ERR.{section}", ""))
    if error and section in KNOWN_GAPS and KNOWN_GAPS[section] in error:
        pytest.xfail(f"deltagrad still lacks: {KNOWN_GAPS[section]}")
    assert not error, error[-2000:]
    keys = sorted(k for k in set(real) | set(ours) if k.startswith(section + "."))
    assert len(keys) >= 8
    problems = [f"{key}: only on {'torch' if key in real else 'deltagrad'}"
                for key in keys if key not in real or key not in ours]
    problems += [p for key in keys if key in real and key in ours
                 if (p := _same(key, real[key], ours[key]))]
    assert not problems, "\n".join(problems)


def test_training_moved_the_weights(results):
    _, ours = results
    for section in ("gcn", "sage", "gat"):
        losses = ours[f"{section}.losses"]
        assert losses.shape == (4,) and losses[-1] < losses[0], (section, losses)
