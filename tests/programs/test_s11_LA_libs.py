"""Optimizer libraries and a FLOP counter on deltagrad (session 11, LA): pytorch_optimizer,
madgrad, dadaptation, prodigyopt, came-pytorch, adabelief-pytorch, ranger21, ptflops and
ultralytics-thop.

``prog_s11_LA_libs.py`` runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged); the two must agree (loss curves and final
parameters to float32 tolerance, dtypes, learning-rate schedules, MAC and parameter counts).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s11_LA_libs.py")
RTOL, ATOL = 2e-5, 2e-6  # float32 summation-order differences over a few training steps
PARTS = ("pytorch_optimizer", "madgrad", "dadaptation", "prodigyopt", "came_pytorch",
         "adabelief_pytorch", "ranger21", "ptflops", "thop")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers): one process per side for every installed
    library (the imports dominate the time)."""
    chosen = [name for name in PARTS if importlib.util.find_spec(name)]
    if not chosen:
        pytest.skip("none of the s11 LA libraries is installed")
    return run_both(PROGRAM, tmp_path_factory.mktemp("s11_LA"), ",".join(chosen))


def compare(real: dict, ours: dict, prefix: str, **kwargs) -> int:
    return alias_runs.compare(real, ours, prefix, rtol=kwargs.pop("rtol", RTOL),
                              atol=kwargs.pop("atol", ATOL), **kwargs)


def test_pytorch_optimizer_table_wrappers_schedulers(results):
    pytest.importorskip("pytorch_optimizer")
    real, ours = results
    # 30 optimizers (AdaHessian and SophiaH through create_graph), Lookahead, gradient
    # centralization, the warm-up cosine schedule and SM3 with a sparse gradient
    assert compare(real, ours, "pytorch_optimizer") >= 280
    losses = ours["pytorch_optimizer.lamb.losses"]
    assert losses[-1] < losses[0]


def test_madgrad_dense_and_sparse(results):
    pytest.importorskip("madgrad")
    real, ours = results
    assert compare(real, ours, "madgrad") >= 40
    # its sparse path (sparse_mask, dense.add_(sparse)) agrees with its dense one
    np.testing.assert_allclose(ours["madgrad.sparse.sparse"], ours["madgrad.sparse.dense"],
                               atol=1e-6)


@pytest.mark.parametrize("library, least", [("dadaptation", 55), ("prodigyopt", 20),
                                            ("came_pytorch", 9), ("adabelief_pytorch", 18),
                                            ("ranger21", 18)])
def test_learning_rate_free_and_adaptive_optimizers(results, library, least):
    pytest.importorskip(library)
    real, ours = results
    assert compare(real, ours, library) >= least


def test_ptflops_pytorch_backend(results):
    pytest.importorskip("ptflops")
    real, ours = results
    assert compare(real, ours, "ptflops", rtol=0, atol=0) == 4
    assert float(ours["ptflops.cnn.params"]) > 0


def test_thop_module_counts(results):
    pytest.importorskip("thop")
    real, ours = results
    # (thop's import needs torch.nn.modules.padding / pooling / dropout and their bases)
    assert compare(real, ours, "thop", rtol=0, atol=0) == 5
