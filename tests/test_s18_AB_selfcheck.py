"""benchmarks/ab.py loads both sides the same way: no side's ``__torch_function__`` dispatch is
armed by the other's import (session 18: the base's Tensor class, made under the working tree's
class-creation hook, armed the working tree for good, and a self-against-self A/B read 1.10)."""

import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import ab  # noqa: E402

# In a fresh process: this suite's own classes may have armed deltagrad already.
PROBE = """
import builtins, sys
sys.path.insert(0, {benchmarks!r})
import ab
import deltagrad
hook = builtins.__build_class__
before = ab.armed(deltagrad)
base = ab.load_base({src!r})
assert builtins.__build_class__ is hook, "load_base left another class-creation hook in place"
assert base.__name__ == "deltagrad_base" and base is not deltagrad
assert not before, "deltagrad armed by its own import"
assert not ab.armed(deltagrad), "the base's import armed the working tree's dispatch"
assert not ab.armed(base), "the base is armed"
x = base.ones(2, requires_grad=True)
(x * 2).sum().backward()
assert x.grad.tolist() == [2.0, 2.0]
assert not ab.armed(deltagrad) and not ab.armed(base)
print("ok")
"""


def test_load_base_arms_neither_side():
    code = PROBE.format(benchmarks=str(REPO / "benchmarks"), src=str(REPO / "src"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_armed_reads_the_package_state():
    import deltagrad

    state = sys.modules["deltagrad.overrides"]._ARMED
    assert ab.armed(deltagrad) is bool(state["for_good"])
    assert ab.armed(sys) is False  # a package without overrides.py (an old base)


def test_run_warns_of_one_armed_side(monkeypatch):
    import deltagrad

    base = types.SimpleNamespace(**vars(deltagrad))  # the same functions, another object
    monkeypatch.setattr(ab, "load_base", lambda revision: base)
    monkeypatch.setattr(ab, "armed", lambda lib: lib is deltagrad)  # new armed, base not
    with pytest.warns(RuntimeWarning, match="armed"):
        result = ab.run("w2", "HEAD", rounds=1, steps=1)
    assert result["armed"] == {"base": False, "new": True}


def test_self_check_or_base_is_required():
    with pytest.raises(SystemExit):
        ab.main(["--workload", "w2"])
    with pytest.raises(SystemExit):
        ab.main(["--self-check", "--base", "HEAD", "--workload", "w2"])
