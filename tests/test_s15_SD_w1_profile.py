"""benchmarks/w1_profile.py --alternate: the floor and deltagrad profiled in turn."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import w1_ner_epoch as w1  # noqa: E402
import w1_profile  # noqa: E402

TINY = w1.Config(vocab=300, dim=6, hidden=12, batch=16, examples=500)


def test_rounds_alternate_which_side_goes_first(monkeypatch):
    calls = []

    def fake(name, total):
        def profile(config, steps, sparse):
            calls.append(name)
            return {"phase": total / 2, "total": total}
        return profile

    monkeypatch.setattr(w1_profile, "profile_floor", fake("floor", 100.0))
    monkeypatch.setattr(w1_profile, "profile_deltagrad", fake("deltagrad", 150.0))
    mine, floor, ratios = w1_profile.profile_alternating(TINY, 2, False, rounds=4)
    assert calls == ["floor", "deltagrad", "deltagrad", "floor"] * 2
    assert mine == {"phase": 75.0, "total": 150.0} and floor == {"phase": 50.0, "total": 100.0}
    assert ratios == [1.5] * 4


# The sparse case under soak (4.8 s of a quiet run, session 17): tests/test_benchmarks.py's
# test_w1_profile_phases_add_up profiles both sides with sparse gradients by default, with these
# checks (phases, totals, the floor's function put back); the alternation is checked above.
@pytest.mark.parametrize("sparse", [False, pytest.param(True, marks=pytest.mark.soak)],
                         ids=["dense", "sparse"])
def test_alternating_profile_has_both_sides_phases(sparse):
    mine, floor, ratios = w1_profile.profile_alternating(TINY, 2, sparse, rounds=2)
    assert len(ratios) == 2 and all(r > 0 for r in ratios)
    assert "step" in mine and "backward" in mine and mine["total"] > 0
    assert "  adam: the table" in floor and floor["total"] > 0
    assert w1.adam_flat.__name__ == "adam_flat"  # the floor's function put back
