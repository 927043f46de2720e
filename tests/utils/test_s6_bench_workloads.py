"""Smoke tests of the W6 (small CNN step) and W7 (DataLoader epoch) benchmarks: tiny
configurations, numbers not timings. The variants must compute the same losses (W6) or pass
over the same rows (W7), and ab.py must run both beside PyTorch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: s24_TT3_ab_once

import ab  # noqa: E402
import common  # noqa: E402
import run as run_all  # noqa: E402
import runner_workload  # noqa: E402
import w6_cnn as w6  # noqa: E402
import w7_dataloader as w7  # noqa: E402
from s24_TT3_ab_once import patch_load_base  # noqa: E402

TINY_W6 = w6.Config(batch=4, size=8, channels=(3, 4), classes=5, batches=2)
TINY_W7 = w7.Config(rows=37, features=3, batch=8)


@pytest.fixture(autouse=True)
def keep_threads(monkeypatch):
    # The workloads set process-wide thread counts; a test must not change other tests' ones.
    monkeypatch.setattr(common, "set_threads", lambda threads: None)
    monkeypatch.setattr(common, "import_torch", lambda threads: torch)
    monkeypatch.setattr(common, "settle_seconds", lambda threads: 0.0)
    # The base revision's package imported once, not on each ab.run (TT3 s24: ~1 CPU s a call)
    patch_load_base(monkeypatch, ab)


def test_w6_variants_agree_and_run():
    losses = w6.check(TINY_W6, torch)
    assert set(losses) == {"deltagrad", "torch"}
    samples = w6.run(steps=1, rounds=1, config=TINY_W6)
    summary = common.summarize_workload("W6", "tiny", "s/step", 1, samples, "numpy")
    assert [t["limit"] for t in runner_workload.targets(summary, "W6")] == [1.0]


def test_w6_check_catches_a_different_model(monkeypatch):
    make = w6.make_runners

    def shifted(*args, **kwargs):
        runners = make(*args, **kwargs)
        bias = runners["deltagrad"].model[-1].bias
        bias.detach().numpy()[0] += 0.5  # one class: a uniform shift leaves the loss
        return runners

    monkeypatch.setattr(w6, "make_runners", shifted)
    with pytest.raises(AssertionError):
        w6.check(TINY_W6, torch)


def test_w7_check_and_run():
    assert w7.check(TINY_W7, torch) == {"batches": 5}
    samples = w7.run(steps=1, rounds=1, config=TINY_W7)
    assert set(samples) == {"deltagrad", "torch"}


def test_run_and_ab_know_w6_and_w7():
    assert {"w6", "w7"} <= set(run_all.WORKLOADS) and {"W6", "W7"} <= set(run_all.TABLES)
    assert {"w6", "w7"} <= set(ab.MODEL_WORKLOADS)


def _in_a_git_checkout() -> bool:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=common.REPO, capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _in_a_git_checkout(), reason="ab.py takes the base from git")
def test_ab_runs_w6_and_w7():
    for workload, config in (("w6", TINY_W6), ("w7", TINY_W7)):
        result = ab.run(workload, "HEAD", rounds=1, steps=1, config=config)
        assert set(result["seconds_per_step"]) == {"base", "new", "torch"}
        assert "new/torch" in result
