"""benchmarks/: w1_profile.py's phases of the floor's step, and ab.py's base package."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import ab  # noqa: E402
import w1_ner_epoch as w1  # noqa: E402
import w1_profile  # noqa: E402

TINY = w1.Config(vocab=300, dim=6, hidden=12, batch=16, examples=500)
PHASES = ("forward + loss (+ its gradient)", "backward (layers, dx)",
          "table gradient (distinct rows, add.at)", "  adam: small parameters (flat)",
          "  adam: the table", "the rest (the step's own lines)", "total")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense-rows", "lazy"])
def test_floor_profile_times_every_phase_of_the_step(monkeypatch, sparse):
    calls = {}
    for name in ("_forward", "_backward", "_table_gradient"):
        method = getattr(w1.NumpyTagger, name)

        def counted(self, *args, _method=method, _name=name):
            calls[_name] = calls.get(_name, 0) + 1
            return _method(self, *args)

        monkeypatch.setattr(w1.NumpyTagger, name, counted)
    phases = w1_profile.profile_floor(TINY, steps=4, sparse=sparse)
    assert tuple(phases) == PHASES
    # Each phase method ran once a step (4 warm-up steps, then 4 timed), and the phases and
    # the rest add up to the total.
    assert calls == {"_forward": 8, "_backward": 8, "_table_gradient": 8}
    assert phases["total"] == pytest.approx(sum(v for k, v in phases.items() if k != "total"))
    assert all(phases[name] >= 0 for name in PHASES[:5])


def test_the_floor_split_in_phases_gives_the_same_step():
    # The phases are the step's own lines moved into methods: the floor still agrees with
    # deltagrad's dense Adam and lazy Adam (w1.check raises otherwise).
    w1.check(TINY, variants=["numpy-dense-adam", "numpy-dense-adam-rows", "numpy-lazy-adam",
                             "deltagrad-dense-adam", "deltagrad-sparse-lazy-adam"])


def test_ab_base_looks_up_its_own_modules(tmp_path):
    # A layer module that finds the functionals (or the package) in sys.modules by name would
    # find the working tree's in the base: ab.py points such lookups at deltagrad_base.
    package = tmp_path / "deltagrad"
    (package / "nn").mkdir(parents=True)
    source = ('import sys\n'
              'F = sys.modules["deltagrad.nn.functional"]\n'
              '_torch = sys.modules["deltagrad"]\n'
              'dist = sys.modules.get("deltagrad.distributed")\n'
              'NAME = "deltagrad.nn.functional"  # (not a lookup: unchanged)\n')
    (package / "nn" / "layers.py").write_text(source, encoding="utf-8")
    (package / "plain.py").write_text("import math\n", encoding="utf-8")
    ab._rename_module_lookups(package)
    assert (package / "nn" / "layers.py").read_text(encoding="utf-8") == (
        'import sys\n'
        'F = sys.modules["deltagrad_base.nn.functional"]\n'
        '_torch = sys.modules["deltagrad_base"]\n'
        'dist = sys.modules.get("deltagrad_base.distributed")\n'
        'NAME = "deltagrad.nn.functional"  # (not a lookup: unchanged)\n')
    assert (package / "plain.py").read_text(encoding="utf-8") == "import math\n"
