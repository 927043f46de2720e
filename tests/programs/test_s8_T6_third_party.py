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

import alias_runs
import pytest
from alias_runs import run_both

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
    sections = ",".join(name for name, module in SECTIONS.items() if _installed(module))
    if not sections:
        pytest.skip("none of entmax, opt_einsum, skorch, pytorch_tabnet is installed")
    return run_both(PROGRAM, folder, sections)


def compare(real: dict, ours: dict, prefix: str) -> int:
    """Every entry under ``prefix`` agrees (alias_runs.compare); how many were compared."""
    return alias_runs.compare(real, ours, prefix, rtol=RTOL, atol=ATOL)


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
