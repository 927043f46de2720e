"""benchmarks/ab.py: the base package finds itself by name, and ``--workload ops`` times cases
in the base as well as in the working tree."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import ab  # noqa: E402


def _in_a_git_checkout() -> bool:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO,
                              capture_output=True).returncode == 0
    except OSError:
        return False


def test_base_tells_its_own_classes_and_namespaces_by_its_name(tmp_path):
    # Tests of a class's module and the namespaces overrides.py wraps by name would find the
    # working tree's: a base tensor was a user's subclass to the base, and every call
    # dispatched through __torch_function__ into the working tree without end.
    package = tmp_path / "deltagrad"
    package.mkdir()
    source = ('own = cls.__module__.startswith("deltagrad.")\n'
              'mine = getattr(value, "__module__", "deltagrad").startswith("deltagrad")\n'
              '_NAMESPACES = ("deltagrad", "deltagrad.functional",\n'
              '               "deltagrad.nn.functional")\n'
              'NAME = "deltagrad.nn.functional"  # (not a lookup: unchanged)\n')
    (package / "overrides.py").write_text(source, encoding="utf-8")
    ab._rename_module_lookups(package)
    assert (package / "overrides.py").read_text(encoding="utf-8") == (
        'own = cls.__module__.startswith("deltagrad_base.")\n'
        'mine = getattr(value, "__module__", "deltagrad_base").startswith("deltagrad_base")\n'
        '_NAMESPACES = ("deltagrad_base", "deltagrad_base.functional",\n'
        '               "deltagrad_base.nn.functional")\n'
        'NAME = "deltagrad.nn.functional"  # (not a lookup: unchanged)\n')


def test_base_package_keeps_its_own_tensor_classes_plain():
    # The working tree as the base (a folder holding the package, as --base takes it): its
    # Parameter is its own class, with dispatch off, not a user's subclass that arms
    # __torch_function__ on every call (which recursed into the working tree's handler).
    base = ab.load_base(str(REPO / "src"))
    subclassing = sys.modules[f"{ab.BASE_NAME}._engine.subclassing"]
    assert base.nn.Parameter.__module__.startswith(f"{ab.BASE_NAME}.")
    assert base.nn.Parameter.__torch_function__ is subclassing.disabled_torch_function_impl


@pytest.mark.skipif(not _in_a_git_checkout(), reason="ab.py takes the base from git")
def test_ops_workload_runs_the_cases_in_the_base():
    # A case the base fails on is left out of every variant: the first step's checksum over
    # the cases' outputs is the base's and new's own, and not 0 (no case left).
    pytest.importorskip("torch")
    import deltagrad

    steps = ab.make_steps("ops", {"base": ab.load_base("HEAD"), "new": deltagrad},
                          config=["softmax", "layer_norm"], torch=None)
    base, new = steps["base"](0), steps["new"](0)
    assert base != 0.0 and base == pytest.approx(new, rel=1e-5)


def test_ops_option_needs_the_ops_workload():
    with pytest.raises(SystemExit):
        ab.main(["--base", "HEAD", "--workload", "w2", "--ops", "add"])
