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


@pytest.fixture
def threads_back():
    """The benchmark sets one thread in both libraries (and BLAS) for the process, as a script
    should: put back what it changed for the tests after this one (tests/conftest.py checks)."""
    import torch

    import deltagrad as dg
    from deltagrad._engine import threads
    from deltagrad._engine.api import settings

    saved = (settings._Threads.intra, threads.count(), dg.get_num_threads(),
             torch.get_num_threads())
    yield
    intra, pool, blas, torch_count = saved
    dg.set_num_threads(blas)
    settings._Threads.intra = intra
    threads.set_count(pool)
    torch.set_num_threads(torch_count)


@pytest.mark.usefixtures("threads_back")
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
    # The no-grad forward column (s21 SP6): under no_grad by default, inference_mode on request.
    assert all(r["ng_ratio"] > 0 for r in rows.values()) and "no-grad fwd x torch" in text
    assert "under `no_grad`" in text
    saved = opinfo_overhead.NO_GRAD_MODE
    opinfo_overhead.NO_GRAD_MODE = "inference"
    try:
        again = opinfo_overhead.run(["softmax"], max_samples=1, rounds=1, check=False,
                                    log=lambda *a: None)
        assert again["rows"][0]["ng_ratio"] > 0
        assert "under `inference_mode`" in opinfo_overhead.markdown(again, quick=True)
    finally:
        opinfo_overhead.NO_GRAD_MODE = saved
