"""Smoke tests of the issue-18 benchmarks: the per-op table, W2-model, W4, W5 and their hooks.

As in test_benchmarks.py: tiny configurations, numbers not timings. Every registered op must be
reachable by the per-op table (or be documented as internal), every mapped call must run and
agree with PyTorch, and each model workload's variants must compute the same losses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import ab  # noqa: E402
import common  # noqa: E402
import op_overhead  # noqa: E402
import run as run_all  # noqa: E402
import runner_workload  # noqa: E402
import w2_model  # noqa: E402
import w4_transformer as w4  # noqa: E402
import w5_lstm as w5  # noqa: E402
from s24_TT3_ab_once import patch_load_base  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="W4/W5 take PyTorch's initial weights")
TINY_W4 = w4.Config(vocab=11, embedding=8, heads=2, layers=1, block=6, batch=3, text=200,
                    batches=2)
TINY_W5 = w5.Config(vocab=40, embedding=6, hidden=5, sequence=4, batch=3, batches=2)


@pytest.fixture(autouse=True)
def keep_threads(monkeypatch):
    # The workloads set process-wide thread counts; a test must not change other tests' ones.
    monkeypatch.setattr(common, "set_threads", lambda threads: None)
    monkeypatch.setattr(common, "import_torch", lambda threads: torch)
    monkeypatch.setattr(common, "settle_seconds", lambda threads: 0.0)
    # The base revision's package imported once, not on each ab.run (TT3 s24: ~1 CPU s a call)
    patch_load_base(monkeypatch, ab)


# ------------------------------------------------------------------------------ per-op table


def test_every_registered_op_is_mapped_or_documented_internal():
    from deltagrad._engine import OPS

    missing = set(op_overhead.unmapped()) - set(op_overhead.INTERNAL)
    assert not missing, (f"ops without a public call in benchmarks/op_overhead.py MAPPING: "
                         f"{sorted(missing)} (add them, or to INTERNAL with the reason)")
    stale = (set(op_overhead.MAPPING) | set(op_overhead.INTERNAL)) - set(OPS)
    assert not stale, f"MAPPING/INTERNAL name ops that are not registered: {sorted(stale)}"


def test_every_mapped_case_runs_and_agrees_with_torch():
    cases = op_overhead.make_cases(None, max_samples=2)
    assert {case.op for case in cases} == set(op_overhead.MAPPING) & {c.op for c in cases}
    problems = []
    with np.errstate(all="ignore"):
        for case in cases:
            steps = op_overhead.build(case, torch)
            if steps is None or (torch is not None and "torch" not in steps):
                problems.append(f"{case.op} {case.label}: {case.notes}")
            elif [note for note in case.notes if "differs" in note or "failed" in note]:
                problems.append(f"{case.op} {case.label}: {case.notes}")
    assert not problems, "\n".join(problems)


def test_pointwise_cases_cover_the_small_shapes_and_broadcast():
    cases = op_overhead.make_cases(["add", "exp", "where", "sum"], max_samples=2)
    labels = {op: [c.label for c in cases if c.op == op] for op in ("add", "exp", "where")}
    assert labels["exp"] == ["0-d", "[8]", "[8,8]"]
    assert labels["add"] == ["0-d", "[8]", "[8,8]", "[8,8] [8]"]
    assert labels["where"][-1] == "[8,8] [8,8] [8]"
    where = next(c for c in cases if c.op == "where")
    assert where.args[0].dtype == bool and where.args[1].dtype == np.float32
    # values are drawn from the samples, so each op stays in its domain
    acosh = op_overhead.make_cases(["acosh"], max_samples=2)
    assert all(np.all(np.asarray(c.args[0]) >= 1.0) for c in acosh)
    assert len([c for c in cases if c.op == "sum"]) == 2


def test_a_wrong_mapping_is_flagged(monkeypatch):
    monkeypatch.setitem(op_overhead.MAPPING, "exp", op_overhead.Spec(
        lambda m, x: m.exp(x) if m.__name__ == "torch" else m.exp(x) * 1.01, pointwise=True))
    case = op_overhead.make_cases(["exp"], max_samples=1)[2]
    op_overhead.build(case, torch)
    if torch is not None:
        assert "value differs from torch" in case.notes


def test_op_overhead_runs_and_writes_markdown(tmp_path):
    result = op_overhead.run(rounds=1, calls=1, ops=["add", "sum", "softmax", "getitem"],
                             max_samples=1)
    assert {row["op"] for row in result["rows"]} == {"add", "sum", "softmax", "getitem"}
    for row in result["rows"]:
        assert row["us"]["deltagrad"] > 0 and row["us"]["numpy-fwd"] > 0
        assert (row["ratio"] is not None) == (torch is not None)
    text = op_overhead.markdown(result)
    assert "| softmax |" in text and "numpy fwd+vjp us" in text
    if torch is not None:
        assert [t["limit"] for t in result["targets"]] == [0.5, 0.6]
    op_overhead.report(result, str(tmp_path / "ops.json"), str(tmp_path / "ops.md"))
    assert (tmp_path / "ops.md").read_text() == text


# ------------------------------------------------------------------------------ models


def test_w2_model_variants_agree_and_run():
    models = w2_model.make_models()
    loss = w2_model.check(models)
    assert np.isfinite(loss) and len(w2_model.leaf_names()) == 81
    samples = w2_model.run(rounds=1, steps=1)
    assert set(samples) == set(models) and all(v[0] > 0 for v in samples.values())


def test_w2_model_check_catches_a_wrong_gradient(monkeypatch):
    models = w2_model.make_models(variants=["deltagrad", "deltagrad-replay"])
    step = models["deltagrad"].step

    def step_with_a_wrong_bias_gradient():
        loss = step()
        models["deltagrad"].leaves["b3"].grad *= 1.01
        return loss

    monkeypatch.setattr(models["deltagrad"], "step", step_with_a_wrong_bias_gradient)
    with pytest.raises(AssertionError, match="gradient of b3"):
        w2_model.check(models)


@needs_torch
def test_w4_variants_agree_and_run():
    losses = w4.check(TINY_W4, torch)
    assert {"deltagrad", "torch", "torch-fused"} <= set(losses)
    samples = w4.run(steps=1, rounds=1, config=TINY_W4)
    assert set(samples) == set(losses)
    summary = common.summarize_workload("W4", "tiny", "s/step", 1, samples, "numpy")
    assert runner_workload.targets(summary, "W4")[0]["limit"] == 1.0


@needs_torch
def test_w4_check_catches_a_different_model(monkeypatch):
    init = w4.torch_init

    def shifted(torch, config, seed=0):
        arrays = init(torch, config, seed)
        arrays["head.bias"][0] += 0.05  # one class only: a uniform shift changes no loss
        return arrays

    make = w4.make_runners

    def make_with_a_shifted_deltagrad(config, torch, variants=None, seed=0):
        runners = make(config, torch, variants, seed)
        common.copy_parameters(runners["deltagrad"].model, shifted(torch, config, seed))
        return runners

    monkeypatch.setattr(w4, "make_runners", make_with_a_shifted_deltagrad)
    with pytest.raises(AssertionError, match="W4 deltagrad: first loss"):
        w4.check(TINY_W4, torch, variants=["deltagrad", "torch"])


@needs_torch
def test_w5_variants_agree_and_run():
    losses = w5.check(TINY_W5, torch)
    assert {"deltagrad", "torch"} <= set(losses)
    assert all(np.isfinite(values).all() for values in losses.values())
    samples = w5.run(steps=1, rounds=1, config=TINY_W5)
    assert set(samples) == set(losses)


def test_copy_parameters_refuses_other_names():
    import deltagrad as dg

    layer = dg.nn.Linear(2, 3)
    with pytest.raises(AssertionError, match="only in the arrays"):
        common.copy_parameters(layer, {"weight": np.zeros((3, 2)), "bias": np.zeros(3),
                                       "extra": np.zeros(1)})
    common.copy_parameters(layer, {"weight": np.ones((3, 2)), "bias": np.zeros(3)})
    assert layer.weight.detach().numpy().sum() == 6.0


# ------------------------------------------------------------------------------ hooks


def test_run_plans_ops_at_the_first_thread_count_only():
    planned = run_all.plan(["w2", "ops", "w4", "ner"], [1, 2], quick=True)
    assert planned == [("w2", 1), ("ops", 1), ("w4", 1), ("ner", 1), ("w2", 2), ("w4", 2)]
    assert {"w2m", "w4", "w5", "ops"} <= set(run_all.WORKLOADS)
    assert all((BENCHMARKS / script).exists() for script in run_all.WORKLOADS.values())


def test_results_markdown_with_the_new_workloads(tmp_path):
    samples = {"deltagrad": [1.2, 1.3], "torch": [1.0, 1.1]}
    w4_result = common.summarize_workload("W4", "tiny", "s/step", 1, samples, "numpy",
                                          skipped={"deltagrad-replay": "refused"})
    w4_result["targets"] = runner_workload.targets(w4_result, "W4")
    ops = op_overhead.run(rounds=1, calls=1, ops=["mul"], max_samples=1)
    info = {**common.machine_info(), "command": "python benchmarks/run.py", "date": "today",
            "minutes": 1.0, "quick": True, "load_start": (0.1, 0.1, 0.1), "load_end": None}
    text = run_all.markdown([w4_result, ops], [1], info)
    assert "## W4: tiny, 1 thread" in text and "Left out: deltagrad-replay: refused" in text
    assert "| W4 deltagrad vs torch's best, s/step | <= 1.00 | 1.191 MISSED (vs torch) |" in text
    assert "## OPS: per-op overhead" in text and "(OP_OVERHEAD.md)" in text
    run_all.write_op_markdown([w4_result, ops], tmp_path / "RESULTS.md", info)
    assert "| mul |" in (tmp_path / "OP_OVERHEAD.md").read_text()


def _in_a_git_checkout() -> bool:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=common.REPO, capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _in_a_git_checkout() or torch is None,
                    reason="ab.py takes the base from git; the model workloads need PyTorch")
def test_ab_runs_the_model_workloads():
    configs = {"w2-model": None, "w4": TINY_W4, "w5": TINY_W5, "ops": ["add", "sum", "tanh"]}
    base = ab.load_base("HEAD")
    for workload, layer in (("w4", "TransformerEncoderLayer"), ("w5", "LSTM")):
        if not hasattr(base.nn, layer):  # a base from before the layer
            del configs[workload]
    for workload, config in configs.items():
        result = ab.run(workload, "HEAD", rounds=1, steps=1, config=config)
        reference = "numpy" if workload == "ops" else "torch"
        assert result["reference"] == reference
        assert set(result["seconds_per_step"]) == {"base", "new", reference}
        assert f"new/{reference}" in result
        ab.report(result)
