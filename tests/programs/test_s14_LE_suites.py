"""Libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s14).

``prog_s14_LE_suite.py`` runs a library's own pytest suite in one process per side, at the
same time: on the real PyTorch and under ``python -m deltagrad run``. Every test that passes on
PyTorch must pass on deltagrad, except the entries of KNOWN (each with its reason); a KNOWN
entry that passes now fails the test, so the list stays true. Tests that fail on PyTorch too
(CUDA-only, written for older PyTorch releases) are not held against deltagrad.

The suites come from where each library ships them: einops and normflows inside their wheels;
the others from their source distributions, which ``prog_s14_LE_fetch.py`` unpacks into
``.venv/suites/`` (``.ci/run`` calls it; without it those suites skip). The default run takes a
part of each suite (QUICK); the whole suites run under ``-m soak``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(HERE, "prog_s14_LE_suite.py")
SUITES = os.path.join(ROOT, ".venv", "suites")


def _site(module: str) -> str | None:
    spec = importlib.util.find_spec(module)
    return None if spec is None else os.path.dirname(spec.origin)


@dataclass
class Suite:
    """One library's suite: the module it tests, where its tests are (``site``: inside the
    installed package; else the unpacked sdist's folder under .venv/suites), the pytest
    arguments for the whole suite and for the default run's part (paths relative to the
    tests' folder), and a ``tests`` package to map (suites that import ``tests.x``)."""

    module: str
    folder: str
    site: bool = False
    full: tuple = (".",)
    quick: tuple = ()
    package: str | None = None
    env: dict = field(default_factory=dict)
    needs: tuple = ()  # other modules its tests import


    def tests(self) -> str | None:
        base = _site(self.module) if self.site else SUITES
        if base is None:
            return None
        path = os.path.normpath(os.path.join(base, self.folder))
        present = all(importlib.util.find_spec(m) for m in (self.module, *self.needs))
        return path if os.path.isdir(path) and present else None


# (einops' torch.compile test: 53 s on PyTorch, for a compiler deltagrad does not have; zuko's
# quick part: the tests that found deltagrad's bugs, and its flows' shortest)
LIBRARIES = {
    "einops": Suite("einops", "tests", site=True, env={"EINOPS_TEST_BACKENDS": "torch"},
                    full=(".", "-k=not torch_compile"),
                    quick=("test_ops.py", "test_packing.py", "test_parsing.py",
                           "-k=not torch_compile")),
    "normflows": Suite("normflows", ".", site=True,
                       quick=("core_test.py", "flows/affine/glow_test.py",
                              "flows/affine/autoregressive_test.py",
                              "distributions/base_test.py")),
    "zuko": Suite("zuko", "zuko-1.6.0/tests",
                  quick=("test_utils.py", "test_bayesian.py::test_bayesian_MLP",
                         "test_flows.py::test_flows[BPF]")),
    "pyro": Suite("pyro", "pyro_ppl-1.9.2/tests", quick=("test_util.py",)),
    "nflows": Suite("nflows", "nflows-0.14/tests", package="tests", needs=("torchtestcase",)),
    "torch_optimizer": Suite("torch_optimizer", "torch-optimizer-0.3.0/tests", package="tests"),
    # gpytorch's files left out of its whole run (142 of its 2,199 tests): the first two need
    # __torch_function__ on objects that are not tensors (linear_operator's LinearOperator:
    # torch.sub / sum / unsqueeze / eigh of one raise TypeError in deltagrad) and pickled ops;
    # the last three need batched sparse COO interpolation matrices (ndimension() of a sparse
    # tensor, sparse inputs to autograd.Function), which deltagrad refuses.
    "gpytorch": Suite("gpytorch", "gpytorch-1.15.2/test", quick=("priors", "means"), full=(
        ".", "--ignore=examples", "--ignore=lazy/test_lazy_evaluated_kernel_tensor.py",
        "--ignore=variational/test_unwhitened_variational_strategy.py",
        "--ignore=models/test_exact_gp.py", "--ignore=kernels/test_grid_interpolation_kernel.py",
        "--ignore=variational/test_orthogonally_decoupled_variational_strategy.py")),
    "accelerate": Suite("accelerate", "accelerate-1.16.0/tests",
                        full=tuple(f"test_{name}.py" for name in (
                            "hooks", "modeling_utils", "optimizer", "scheduler", "data_loader",
                            "utils", "big_modeling", "kwargs_handlers", "memory_utils",
                            "offload", "accelerator", "state_checkpointing"))),
}

# Per library, the tests that pass on PyTorch and fail on deltagrad, each with why (each one a
# clear error from deltagrad, never a wrong number).
_FLOAT8 = "float8_e4m3fn storage: NumPy has no float8 dtype (deltagrad raises TypeError)"
_STORE = ("torch.multiprocessing spawn + init_process_group(store=...): only mpiexec-started "
          "process groups (NotImplementedError)")
_OVERWRITE = ("torch.__future__.set_overwrite_module_params_on_conversion(True): conversions "
              "keep each Parameter (NotImplementedError)")
KNOWN: dict[str, dict[str, str]] = {
    "pyro": {},
    "accelerate": {
        "test_hooks.py::HooksModelTester::test_layerwise_upcasting_inference_1": _FLOAT8,
        "test_hooks.py::HooksModelTester::test_layerwise_upcasting_inference_2": _FLOAT8,
        "test_offload.py::OffloadTester::test_offload_weight": _FLOAT8,
        "test_utils.py::UtilsTester::test_pad_across_processes":
            "torch.nested.nested_tensor: jagged tensors are not supported (NotImplementedError)",
        "test_accelerator.py::AcceleratorTester::test_remap_optimizer_parameters_0_no":
            _OVERWRITE,
        "test_accelerator.py::AcceleratorTester::test_remap_optimizer_parameters_1_eager":
            _OVERWRITE,
        **{f"test_scheduler.py::SchedulerTester::test_{kind}_multiprocess": _STORE
           for kind in ("lambda_scheduler_not_step_with_optimizer",
                        "lambda_scheduler_steps_with_optimizer",
                        "one_cycle_scheduler_not_step_with_optimizer",
                        "one_cycle_scheduler_steps_with_optimizer")},
    },
}


def _args(parts: tuple, tests: str) -> list:
    """The pytest arguments for ``parts``, their paths made absolute."""
    args: list = []
    for part in parts:
        if part.startswith("-k="):  # (a keyword expression: one per process)
            args += ["-k", part[3:]]
        elif part.startswith("-"):
            option, _, value = part.partition("=")
            args.append(f"{option}={os.path.join(tests, value)}" if value else part)
        else:
            args.append(os.path.normpath(os.path.join(tests, part)))
    return args


def run_suites(names: list, quick: bool, folder) -> dict:
    """``{library: (torch's outcomes, deltagrad's outcomes)}``, each keyed by the test's id
    inside its suite (``"test_flows.py::test_flows[BPF]"``): one process per side for each
    group of suites that can share one (a suite that maps a ``tests`` package has its own)."""
    groups: dict = {}
    for name in names:
        groups.setdefault(None if LIBRARIES[name].package is None else name, []).append(name)
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1")
    environment["PYTHONPATH"] = os.path.join(ROOT, "src")
    results: dict = {name: ({}, {}) for name in names}
    for index, members in enumerate(groups.values()):
        package = LIBRARIES[members[0]].package
        args: list = []
        for name in members:
            suite = LIBRARIES[name]
            environment.update(suite.env)
            args += _args(suite.quick if quick else suite.full, suite.tests())
        if package is not None:  # (the runner reads this option first)
            args = ["--package", f"{package}={LIBRARIES[members[0]].tests()}", *args]
        procs = {}
        for side, launcher in {"torch": [], "deltagrad": ["-m", "deltagrad", "run"]}.items():
            out = folder / f"{side}{index}.json"
            work = folder / f"{side}{index}"
            work.mkdir()
            procs[side] = (out, work, subprocess.Popen(
                [sys.executable, "-W", "ignore", *launcher, RUNNER, str(out), *args],
                cwd=work, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True))
        for slot, (side, (out, work, proc)) in enumerate(procs.items()):
            log, _ = proc.communicate(timeout=3000)
            assert proc.returncode == 0 and out.exists(), f"{side} run failed:\n{log[-3000:]}"
            with open(out) as f:
                outcomes = json.load(f)
            for test_id, outcome in outcomes.items():
                name, key = _owner(members, work, test_id)
                results[name][slot][key] = outcome
    return results


def _owner(members: list, work, test_id: str) -> tuple:
    """(library, the id inside its suite) of a pytest id relative to the run's folder."""
    path, _, rest = test_id.partition("::")
    full = os.path.normpath(os.path.join(str(work), path))
    for name in members:
        tests = LIBRARIES[name].tests()
        if full == tests or full.startswith(tests + os.sep):
            inside = os.path.relpath(full, tests).replace(os.sep, "/")
            return name, inside + ("::" + rest if rest else "")
    return members[0], test_id  # (a collection error outside the suites: still reported)


def check(name: str, real: dict, ours: dict) -> int:
    """Assert that every test passing on PyTorch passes on deltagrad (KNOWN aside); return how
    many passed on both."""
    assert real, f"{name}: no test ran"
    known = KNOWN.get(name, {})
    lost = {}
    for test, (outcome, *_) in real.items():
        got = ours.get(test, ["missing", ""])
        if outcome == "passed" and got[0] != "passed":
            lost[test] = got[1].strip().splitlines()[-1:] if got[1] else got[0]
    unexpected = {test: why for test, why in lost.items() if test not in known}
    stale = sorted(test for test in known
                   if real.get(test, [""])[0] == "passed" and test not in lost)
    assert not unexpected, f"{name}: pass on PyTorch, not on deltagrad: {unexpected}"
    assert not stale, f"{name}: KNOWN entries that pass now: {stale}"
    return sum(1 for test, value in real.items()
               if value[0] == "passed" and ours.get(test, [""])[0] == "passed")


QUICK = [name for name, suite in LIBRARIES.items() if suite.quick]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    names = [name for name in QUICK if LIBRARIES[name].tests()]
    if not names:
        pytest.skip("none of the suites is installed or fetched")
    return run_suites(names, True, tmp_path_factory.mktemp("s14_LE"))


@pytest.mark.parametrize("name", QUICK)
def test_suite_part(quick_results, name):
    if name not in quick_results:
        pytest.skip(f"{name}'s suite is not installed or fetched")
    real, ours = quick_results[name]
    assert check(name, real, ours) > 0


@pytest.mark.soak
@pytest.mark.parametrize("name", list(LIBRARIES))
def test_whole_suite(tmp_path, name):
    if LIBRARIES[name].tests() is None:
        pytest.skip(f"{name}'s suite is not installed or fetched")
    real, ours = run_suites([name], False, tmp_path)[name]
    assert check(name, real, ours) > 0
