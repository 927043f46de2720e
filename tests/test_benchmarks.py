"""Smoke tests of the benchmark suite: tiny configurations, numbers not timings.

Each workload's variants must compute the same thing (a benchmark of a wrong computation is
worthless), the checks must catch a variant that does not, and the timing and reporting code must
run end to end. PyTorch's variants are included only when PyTorch is installed.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import ab  # noqa: E402
import common  # noqa: E402
import ner_train  # noqa: E402
import run as run_all  # noqa: E402
import w1_ner_epoch as w1  # noqa: E402
import w2_overhead as w2  # noqa: E402
import w3_mlp as w3  # noqa: E402
from s24_TT3_ab_once import patch_load_base  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

TINY_W1 = w1.Config(vocab=300, dim=6, hidden=12, batch=16, examples=500)
TINY_W3 = w3.Config(layers=3, width=32, batch=8)


@pytest.fixture(autouse=True)
def keep_threads(monkeypatch):
    # The workloads set process-wide thread counts; a test must not change other tests' ones.
    monkeypatch.setattr(common, "set_threads", lambda threads: None)
    monkeypatch.setattr(common, "import_torch", lambda threads: torch)
    # The base revision's package imported once, not on each ab.run (TT3 s24: ~1 CPU s a call)
    patch_load_base(monkeypatch, ab)


def test_w1_variants_agree():
    losses = w1.check(TINY_W1, torch)
    assert set(losses) == set(w1.available(torch))
    assert all(math.isfinite(loss) for loss in losses.values())


def test_w1_check_catches_a_wrong_optimizer(monkeypatch):
    adam = w1.adam_flat
    monkeypatch.setattr(w1, "adam_flat", lambda p, g, m, v, work, step, lr:
                        adam(p, g, m, v, work, step, 1.1 * lr))
    with pytest.raises(AssertionError, match="deltagrad-dense-adam"):
        w1.check(TINY_W1, variants=["numpy-dense-adam", "deltagrad-dense-adam"])


def test_w1_check_catches_different_dropout_masks(monkeypatch):
    make = w1.make

    def make_other_masks(name, config, init, data, torch=None, training=True):
        runner = make(name, config, init, data, torch, training)
        if name == "numpy-lazy-adam":
            runner.rng = np.random.default_rng(12345)
        return runner

    monkeypatch.setattr(w1, "make", make_other_masks)
    with pytest.raises(AssertionError, match="dropout on"):
        w1.check(TINY_W1, variants=["numpy-lazy-adam", "deltagrad-sparse-lazy-adam"])


def test_w1_data_is_zipf_like():
    ids, tags = w1.make_data(w1.Config(), steps=4)
    assert ids.shape == (4, 256, 5) and tags.shape == (4, 256)
    counts = np.bincount(ids.ravel(), minlength=25_000)
    assert counts[0] > 20 * np.median(counts[:1000])  # a few words are very frequent
    assert 0 <= ids.min() and ids.max() < 25_000 and set(np.unique(tags)) <= set(range(5))


def test_w1_run_and_report(capsys):
    samples = w1.run(steps=2, rounds=1, config=TINY_W1)
    assert set(samples) == set(w1.available(torch))
    assert all(len(values) == 1 and values[0] > 0 for values in samples.values())
    summary = common.summarize_workload("W1", "tiny", "s/epoch", 1, samples, w1.FLOOR)
    summary["targets"] = w1.targets(summary)
    common.report(summary)
    assert "deltagrad-sparse-lazy-adam" in capsys.readouterr().out


def test_w1_memory_probe_measures_the_floor():
    probe = w1.memory_probe("numpy-dense-adam", 1, steps=2, config=TINY_W1)
    # 5 flat buffers of all parameters (weights, gradient, m, v, work), float32
    parameters = TINY_W1.vocab * TINY_W1.dim + TINY_W1.hidden * (TINY_W1.width + 1)
    assert probe["tracemalloc_bytes"] >= 5 * 4 * parameters


def test_w2_variants_agree_and_run():
    steps = w2.make_steps()
    w2.check(steps)
    samples = w2.run(rounds=1, repeats=1)
    assert set(samples) == set(steps)
    assert all(values[0] > 0 for values in samples.values())


def test_w3_variants_agree_and_run():
    losses = w3.check(TINY_W3, torch)
    assert set(losses) == set(w3.available(torch))
    samples = w3.run(steps=1, rounds=1, config=TINY_W3)
    assert set(samples) == set(losses)


def test_w3_check_catches_a_wrong_step(monkeypatch):
    make = w3.make

    def make_off_by_one_percent(name, config, init, torch=None):
        if name == "numpy":
            return w3.NumpyMLP(dataclasses.replace(config, lr=1.01 * config.lr), init)
        return make(name, config, init, torch)

    monkeypatch.setattr(w3, "make", make_off_by_one_percent)
    with pytest.raises(AssertionError, match="W3 deltagrad"):
        w3.check(TINY_W3, variants=["numpy", "deltagrad"])


def test_ner_epoch_lines_are_parsed():
    output = ("train 14,041 sentences / 203,621 tokens\n"
              "epoch  1/12  loss 0.1357  dev P 0.8970 R 0.8953 F1 0.8962 (viterbi; argmax "
              "0.8686, viterbi 0.8962)  27.4s, 7,427 tokens/s\n"
              "epoch  2/12  loss 0.1000  dev P 0.9 R 0.9 F1 0.9 (argmax)  5.3s, 38,123 tokens/s\n")
    assert ner_train.parse_epochs(output) == [
        {"epoch": 1, "seconds": 27.4, "tokens_per_second": 7427},
        {"epoch": 2, "seconds": 5.3, "tokens_per_second": 38123}]


real_settle_seconds = common.settle_seconds  # the fixture below replaces it in the module


@pytest.fixture(autouse=True)
def _no_settle_pauses(monkeypatch):
    # The pause before each timed block matters for timings, which these tests do not take.
    monkeypatch.setattr(common, "settle_seconds", lambda threads: 0.0)


def test_alternation_rotates_and_statistics(monkeypatch):
    order = []
    monkeypatch.setattr(common.time, "sleep", lambda seconds: order.append(f"idle {seconds}"))
    times = common.alternate({name: (lambda n=name: order.append(n)) for name in "abc"},
                             rounds=3, warmup=False, settle=0.5)
    assert order == [item for name in "abcbcacab" for item in ("idle 0.5", name)]
    order.clear()
    times = common.alternate({name: (lambda n=name: order.append(n)) for name in "abc"},
                             rounds=3, warmup=False)  # no pause by default
    assert order == list("abcbcacab")
    assert real_settle_seconds(1) == 0.0 and real_settle_seconds(2) == common.SETTLE_SECONDS > 0.1
    assert all(len(values) == 3 for values in times.values())
    stats = common.summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert stats["median"] == 3.0 and stats["min"] == 1.0 and stats["max"] == 100.0
    ratio = common.paired_ratio([2.0, 4.0, 9.0], [1.0, 2.0, 3.0])
    assert ratio == {"median": 2.0, "min": 2.0, "max": 3.0}


def test_memory_measures():
    assert common.tracemalloc_peak(lambda: np.ones(1 << 20, np.float32)) >= 4 << 20
    # 320 MiB: more than the freed memory deltagrad lets glibc keep in its heap (256 MiB,
    # _engine/buffers.keep_heap) and above its mmap threshold, so fresh pages whatever ran
    # before (a 64 MiB array could come from memory an earlier test freed: no growth)
    rss = common.peak_rss_growth(lambda: np.ones(80 << 20, np.float32))
    # (only where the peak can be reset: otherwise an earlier, higher peak of this process
    # hides the growth, as in a long test session)
    if rss["bytes"] is not None and rss["method"].startswith("VmHWM after"):
        assert rss["bytes"] >= 300 << 20


def test_results_markdown():
    samples = {"numpy": [1.0, 1.1], "deltagrad": [1.2, 1.3], "torch": [2.0, 2.1]}
    result = common.summarize_workload("W3", "tiny", "s/step", 1, samples, "numpy")
    result["targets"] = w3.targets(result)
    info = {**common.machine_info(), "command": "python benchmarks/run.py", "date": "today",
            "minutes": 1.0, "quick": True, "load_start": (0.1, 0.1, 0.1), "load_end": None}
    text = run_all.markdown([result], [1], info)
    assert "| W3 deltagrad vs NumPy floor | <= 1.03 | 1.191 MISSED |" in text
    assert "| deltagrad | 1.25 |" in text


def _in_a_git_checkout() -> bool:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=common.REPO, capture_output=True)
    return done.returncode == 0


needs_git = pytest.mark.skipif(not _in_a_git_checkout(), reason="ab.py takes the base from git")


@needs_git
def test_ab_runs_a_revision_against_the_working_tree(capsys):
    for workload in ab.WORKLOADS:
        result = ab.run(workload, "HEAD", rounds=2, steps=1, w1_config=TINY_W1,
                        w3_config=TINY_W3)
        # w1-dense also times the fastest dense floor (issue 18: reconcile W1 dense)
        floors = {"numpy", "numpy-rows"} if workload == "w1-dense" else {"numpy"}
        assert set(result["seconds_per_step"]) == {"base", "new"} | floors
        assert all(stats["median"] > 0 for stats in result["seconds_per_step"].values())
        assert result["new/base"]["min"] <= result["new/base"]["median"] <= result["new/base"][
            "max"]
        ab.report(result)
    assert "A/B w3: working tree (new) against HEAD" in capsys.readouterr().out
    assert sys.modules["deltagrad_base"].__name__ == "deltagrad_base"
    with pytest.raises(SystemExit, match="git archive no-such-revision failed"):
        ab.load_base("no-such-revision")


@needs_git
def test_ab_refuses_base_and_new_that_compute_different_things(monkeypatch):
    make = ab.make_steps

    def make_with_a_wrong_base(workload, libraries, w1_config=None, w3_config=None):
        steps = make(workload, libraries, w1_config, w3_config)
        steps["base"] = lambda i, step=steps["base"]: 1.01 * float(common.to_numpy(step(i)))
        return steps

    monkeypatch.setattr(ab, "make_steps", make_with_a_wrong_base)
    with pytest.raises(AssertionError, match="first loss of new against base"):
        ab.run("w2", "HEAD", rounds=1, steps=1)


def test_alternation_reads_the_clock_it_is_given():
    # ab.py --cpu times CPU time (a loaded machine's wall time is mostly other processes').
    ticks = iter(range(100))
    times = common.alternate({"a": lambda: None, "b": lambda: None}, rounds=2, warmup=False,
                             clock=lambda: 10.0 * next(ticks))
    assert times == {"a": [10.0, 10.0], "b": [10.0, 10.0]}


@needs_git
def test_ab_cpu_time_at_one_thread_only(capsys):
    result = ab.run("w1-sparse", "HEAD", rounds=1, steps=1, w1_config=TINY_W1, cpu=True)
    assert result["clock"] == "cpu"
    assert all(stats["median"] > 0 for stats in result["seconds_per_step"].values())
    ab.report(result)
    assert "CPU time" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--cpu needs --threads 1"):
        ab.run("w1-sparse", "HEAD", rounds=1, steps=1, w1_config=TINY_W1, threads=2, cpu=True)


def test_w1_profile_phases_add_up():
    import w1_profile

    for sparse in (False, True):
        mine = w1_profile.profile_deltagrad(TINY_W1, 3, sparse)
        floor = w1_profile.profile_floor(TINY_W1, 3, sparse)
        top = [label for label in mine if not label.startswith(" ") and label != "total"]
        assert "backward" in top and "step" in top and "forward: 2 Linear" in top
        assert sum(mine[label] for label in top) <= mine["total"] * 1.01 + 1
        assert floor["total"] > 0 and floor["  adam: the table"] > 0
    assert w1.adam_flat.__name__ == "adam_flat"  # the floor's function put back
