"""Smoke tests of the W9 benchmark (eval-mode inference against PyTorch): every model's
deltagrad forward must give PyTorch's outputs from the same weights and buffers under no_grad and
inference_mode, the check must catch a model that differs, the summary must give a ratio and a
target per variant, and run.py must know the workload. Numbers, not timings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import common  # noqa: E402
import run as run_all  # noqa: E402
import w9_inference as w9  # noqa: E402

TINY = w9.Config(batch_sizes=(2,), block_seconds=0.0)


@pytest.fixture(autouse=True)
def keep_threads(monkeypatch):
    # The workloads set process-wide thread counts; a test must not change other tests' ones.
    monkeypatch.setattr(common, "set_threads", lambda threads: None)
    monkeypatch.setattr(common, "import_torch", lambda threads: torch)
    monkeypatch.setattr(common, "settle_seconds", lambda threads: 0.0)


def test_every_model_gives_torch_outputs():
    checked = w9.check(TINY, torch)
    assert set(checked) == {f"{m} b2 {mode}" for m in w9.BUILDERS
                            for mode in ("no_grad", "inference_mode")}
    # the tagger's tags and the generator's tokens are compared too, not only the scores
    assert checked["tagger b2 no_grad"] == 2 and checked["generate b2 inference_mode"] == 2


def test_batch_norm_statistics_are_copied_and_not_trivial():
    runners = w9.make_runners(w9.Config(models=("cnn",), batch_sizes=(1,),
                                        modes=("no_grad",)), torch)
    mine = runners["cnn b1 no_grad deltagrad"].model.features[1]
    theirs = runners["cnn b1 no_grad torch"].model.features[1]
    assert not np.allclose(theirs.running_var.numpy(), 1.0)
    np.testing.assert_array_equal(mine.running_mean.numpy(), theirs.running_mean.numpy())
    assert not mine.training


def test_check_catches_a_different_model(monkeypatch):
    make = w9.Runner.__init__

    def shifted(self, model_name, lib, init, batch, mode, seed=0):
        if init is not None and lib is not torch:
            init = {name: value + 0.01 if "weight" in name else value
                    for name, value in init.items()}
        make(self, model_name, lib, init, batch, mode, seed)

    monkeypatch.setattr(w9.Runner, "__init__", shifted)
    with pytest.raises(AssertionError, match="W9 mlp b2 no_grad"):
        w9.check(w9.Config(models=("mlp",), batch_sizes=(2,)), torch)


def test_run_summarizes_a_ratio_per_variant():
    config = w9.Config(models=("mlp", "tagger"), batch_sizes=(1,), modes=("inference_mode",),
                       block_seconds=0.0)
    samples = w9.run(steps=1, rounds=1, config=config)
    summary = w9.summarize(samples, 1, config, 1, 1)
    assert [t["name"] for t in summary["targets"]] == [
        "W9 mlp b1 inference_mode deltagrad vs torch, s/forward",
        "W9 tagger b1 inference_mode deltagrad vs torch, s/forward"]
    assert all(t["limit"] == 1.0 for t in summary["targets"])
    headers, rows = common.result_table(summary)
    assert len(rows) == 4 and headers[-1] == "x torch"


def test_block_counts_fill_the_block_time():
    config = w9.Config(models=("mlp",), batch_sizes=(1,), modes=("no_grad",),
                       block_seconds=0.01)
    runners = w9.make_runners(config, torch)
    count = w9.block_counts(runners, config, steps=2)["mlp b1 no_grad"]
    assert count >= 2
    assert w9.block_counts(runners, w9.Config(models=("mlp",), batch_sizes=(1,),
                                              modes=("no_grad",), block_seconds=0.0),
                           steps=3) == {"mlp b1 no_grad": 3}


def test_run_knows_w9():
    assert run_all.WORKLOADS["w9"] == "w9_inference.py" and "W9" in run_all.TABLES
    assert ("w9", 2) in run_all.plan(["w9"], [1, 2], quick=True)
