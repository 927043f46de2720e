"""FLOP counters that watch ``torch.nn.functional`` count deltagrad's models as PyTorch's
(session 12, NF): ptflops' pytorch backend (it replaces F's functions, which the layers now
call by attribute), thop's ``profile`` (module hooks and a ``TorchFunctionMode``) and a function
mode of the program's own, on an MLP, a CNN with batch norm and pooling, an LSTM and a
transformer encoder.

``prog_s12_NF_flops.py`` runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run``; the two must give the same counts and the same recorded calls.
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s12_NF_flops.py")
MODELS = ("mlp", "cnn", "lstm", "encoder")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    parts = ["mode"] + [name for name in ("ptflops", "thop") if importlib.util.find_spec(name)]
    return run_both(PROGRAM, tmp_path_factory.mktemp("s12_NF"), ",".join(parts))


@pytest.mark.parametrize("counter", ["ptflops", "thop"])
def test_counts_equal_pytorchs(results, counter):
    pytest.importorskip(counter)
    real, ours = results
    assert alias_runs.compare(real, ours, counter, rtol=0, atol=0) >= 2 * len(MODELS)
    for name in MODELS:
        assert float(ours[f"{counter}.{name}.macs"]) > 0


def test_thop_counts_functional_products_through_its_function_mode(results):
    pytest.importorskip("thop")
    real, ours = results
    # torch.matmul, Tensor.__matmul__ and torch.bmm of [2, 8, 4] by [2, 4, 5]: 3 x 2*8*5*4 MACs
    assert float(real["thop.products.macs"]) == 3 * 2 * 8 * 5 * 4
    assert float(ours["thop.products.macs"]) == float(real["thop.products.macs"])


def test_a_function_mode_sees_the_calls_pytorchs_sees(results):
    real, ours = results
    for name in ("mlp", "cnn", "encoder"):
        assert str(ours[f"mode.{name}.seen"]) == str(real[f"mode.{name}.seen"])
        assert len(str(real[f"mode.{name}.seen"]).split()) >= 7
    assert alias_runs.compare(real, ours, "mode", rtol=1e-5, atol=1e-6) >= 9
