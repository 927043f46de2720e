"""Smoke tests of the W8 benchmark (public-program model steps against PyTorch): every model's
deltagrad step must give PyTorch's losses from the same weights, the check must catch a model
that differs, and run.py / ab.py must know the workload. Numbers, not timings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import ab  # noqa: E402
import common  # noqa: E402
import run as run_all  # noqa: E402
import w8_programs as w8  # noqa: E402


@pytest.fixture(autouse=True)
def keep_threads(monkeypatch):
    # The workloads set process-wide thread counts; a test must not change other tests' ones.
    monkeypatch.setattr(common, "set_threads", lambda threads: None)
    monkeypatch.setattr(common, "import_torch", lambda threads: torch)
    monkeypatch.setattr(common, "settle_seconds", lambda threads: 0.0)


def test_every_model_gives_torch_losses():
    losses = w8.check(w8.Config(batches=1), torch, steps=2)
    assert set(losses) == {f"{m} {lib}" for m in w8.BUILDERS for lib in ("deltagrad", "torch")}
    assert all(np.isfinite(values).all() for values in losses.values())


def test_check_catches_a_different_model(monkeypatch):
    make = w8.Runner.__init__

    def shifted(self, model_name, lib, init, seed=0, batches=4):
        if init is not None and lib is not torch:
            init = {name: value + 0.01 for name, value in init.items()}
        make(self, model_name, lib, init, seed, batches)

    monkeypatch.setattr(w8.Runner, "__init__", shifted)
    with pytest.raises(AssertionError, match="W8 vae"):
        w8.check(w8.Config(batches=1, models=("vae",)), torch, steps=1)


def test_run_summarizes_a_ratio_per_model():
    config = w8.Config(batches=1, models=("gcn", "vae"))
    samples = w8.run(steps=1, rounds=1, config=config)
    summary = w8.summarize(samples, 1, config, 1, 1)
    assert [t["name"] for t in summary["targets"]] == [
        "W8 gcn deltagrad vs torch, s/step", "W8 vae deltagrad vs torch, s/step"]
    headers, rows = common.result_table(summary)
    assert len(rows) == 4 and headers[-1] == "x torch"


def test_run_and_ab_know_w8():
    assert "w8" in run_all.WORKLOADS and "W8" in run_all.TABLES
    assert {f"w8-{m}" for m in w8.BUILDERS} <= set(ab.MODEL_WORKLOADS)


def test_ab_steps_of_a_w8_model():
    import deltagrad

    steps = ab.make_steps("w8-gcn", {"new": deltagrad}, torch=torch)
    first = {name: step(0) for name, step in steps.items()}
    assert set(first) == {"new", "torch"}
    assert abs(first["new"] - first["torch"]) < 1e-4
