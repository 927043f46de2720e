"""benchmarks/opinfo_overhead.py on a few ops: it times forward and forward + backward where
PyTorch has a gradient, forward only where it has none, and writes its summary (the timings
themselves are not checked: speed is measured in benchmarks/, not asserted)."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("expecttest")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import opinfo_overhead  # noqa: E402


def test_opinfo_overhead_times_the_samples_and_writes_its_table():
    result = opinfo_overhead.run(["softmax", "argmax", "nn.functional.max_pool2d", "ones"],
                                 max_samples=2, rounds=1, log=lambda *a: None)
    rows = {row["op"]: row for row in result["rows"]}
    assert {"softmax", "argmax", "nn.functional.max_pool2d"} <= set(rows)
    assert rows["softmax"]["samples"] == 2 and rows["softmax"]["fb_ratio"] > 0
    assert rows["argmax"]["fb_ratio"] is None  # no gradient: forward only
    assert all(r["ratio"] > 0 and not any("differs" in n for n in r["notes"])
               for r in rows.values())
    summary = opinfo_overhead.summary_of(result["rows"])
    assert summary["ops"] == len(rows) and summary["samples"] == sum(
        r["samples"] for r in rows.values())
    text = opinfo_overhead.markdown(result, quick=False)
    assert "median ratio deltagrad / PyTorch" in text and "| softmax |" in text
