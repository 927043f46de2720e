"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s15).

The same check as ``test_s14_LE_suites.py``, with its runner (``prog_s14_LE_suite.py``: one
pytest process per side, on the real PyTorch and under ``python -m deltagrad run``, every test
from seed 0): every test that passes on PyTorch must pass on deltagrad, except the entries of
KNOWN (each with its reason); a KNOWN entry that passes now fails the test, so the list stays
true. Tests that fail on PyTorch too (CUDA-only, written for older releases) are not held
against deltagrad.

The suites: rtdl, entmax and skorch ship theirs inside their wheels; e3nn and linear_operator in
their source distributions, which ``prog_s15_LE_fetch.py`` unpacks into ``.venv/suites/``
(``.ci/run`` calls it; without it those suites skip). The libraries are imported only by the
subprocesses: their imports change global state (registries, warning filters) that later tests
in this process would see. The default run takes a part of each suite (QUICK); the whole suites
run under ``-m soak``.
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
    # find_spec of a top-level name reads the file system only: the library is not imported.
    spec = importlib.util.find_spec(module)
    return None if spec is None else os.path.dirname(spec.origin)


@dataclass
class Suite:
    """One library's suite: the module it tests, where its tests are (``site``: inside the
    installed package; else the unpacked sdist's folder under .venv/suites), the pytest
    arguments for the whole suite and for the default run's part (paths relative to the tests'
    folder), and the other modules its tests import."""

    module: str
    folder: str
    site: bool = False
    full: tuple = (".",)
    quick: tuple = ()
    needs: tuple = ()
    env: dict = field(default_factory=dict)
    alone: bool = False  # its own processes (e3nn's conftest: an autouse parametrized fixture)

    def tests(self) -> str | None:
        base = _site(self.module) if self.site else SUITES
        if base is None:
            return None
        path = os.path.normpath(os.path.join(base, self.folder))
        present = all(importlib.util.find_spec(m) for m in (self.module, *self.needs))
        return path if os.path.isdir(path) and present else None


# (left out of the whole runs: PyTorch's torch.compile tests, minutes of inductor and g++ each
# here for a compiler deltagrad does not have; skorch's llm/ and test_hf.py, which download
# Hugging Face models. e3nn's whole run is its math/ part: the rest, TorchScript-compiled on
# PyTorch, did not finish in 40 minutes on this machine.)
LIBRARIES = {
    "rtdl": Suite("rtdl", "tests", site=True, quick=("test_data.py",)),
    "entmax": Suite("entmax", ".", site=True, quick=("test_mask.py", "test_topk.py")),
    "skorch": Suite("skorch", "tests", site=True, needs=("sklearn", "scipy", "pandas", "flaky"),
                    quick=("test_utils.py::TestToTensor",),
                    full=(".", "--ignore=llm", "--ignore=test_hf.py", "-k=not compile")),
    "linear_operator": Suite("linear_operator", "linear_operator-0.6.1/test",
                             quick=("utils/test_sparse.py", "utils/test_cholesky.py"),
                             full=("functions", "utils", "test_settings.py")),
    "e3nn": Suite("e3nn", "e3nn-0.6.0/tests", quick=("math/perm_test.py", "defaults_test.py"),
                  full=("math", "defaults_test.py", "-k=not compile"), alone=True),
}

# Per library, the tests that pass on PyTorch and fail on deltagrad, each with why (each one a
# clear error from deltagrad, never a wrong number).
_SPARSE_FUNCTION = ("a sparse COO tensor given to an autograd.Function: deltagrad's Functions "
                    "take dense arrays (AttributeError: 'CooStorage' object has no attribute "
                    "'flags')")
_TCP = "torch.distributed.TCPStore: deltagrad's processes meet through MPI (NotImplementedError)"
KNOWN: dict[str, dict[str, str]] = {
    "linear_operator": {
        **{f"functions/test_dsmm.py::TestDSMM::test_{name}": _SPARSE_FUNCTION
           for name in ("backward", "backward_batch", "backward_multi_batch", "broadcast_rhs",
                        "broadcast_singleton", "broadcast_sparse", "forward", "forward_batch",
                        "forward_multi_batch")},
        **{f"utils/test_interpolation.py::TestInterp::test_{name}": _SPARSE_FUNCTION
           for name in ("batch_left_t_interp_on_a_batch_matrix",
                        "batch_left_t_interp_on_a_matrix", "batch_left_t_interp_on_a_vector",
                        "left_t_interp_on_a_matrix", "left_t_interp_on_a_vector")},
    },
    "skorch": {
        **{f"test_doctor.py::{case}::test_get_parameter_names":
           "the order in which parameters' gradient hooks fire in one backward: PyTorch's "
           "engine runs a Linear's bias hook before its weight's, deltagrad the weight's first"
           for case in ("TestSkorchDoctorSimple", "TestSkorchDoctorComplexArchitecture")},
        "test_net.py::TestNeuralNet::test_torch_load_kwargs_forwarded_to_torch_load_unpickle":
            "pickle of a tensor: PyTorch's goes through torch.storage._load_from_bytes (which "
            "skorch's unpickler turns into a torch.load call it checks); deltagrad's tensors "
            "pickle their arrays directly",
        **{f"test_probabilistic.py::TestGPRegressorVariational::test_{name}":
           "pickle of a fitted gpytorch variational GP reaches a deltagrad op's test-sample "
           "function (_binary_samples.<locals>.samples), which pickle cannot store: not traced "
           "yet" for name in ("pickling", "deepcopy")},
    },
}


# Groups of tests known by a part of their ids (parametrized many times over): (library, the
# id's start, a text every such id contains) -> why.
KNOWN_GROUPS: dict[tuple, str] = {
    # (skorch's history kept in a TCPStore: the "distributed" parameter of TestHistory and the
    # multiprocessing tests; its 139 other history tests pass)
    ("skorch", "test_history.py::TestHistory::", "distributed"): _TCP,
    ("skorch", "test_history.py::TestDistributedHistoryMultiprocessing::", ""): _TCP,
}


def _known(name: str, test: str) -> bool:
    return test in KNOWN.get(name, {}) or any(
        library == name and test.startswith(start) and part in test
        for library, start, part in KNOWN_GROUPS)


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
    inside its suite: one process per side for all of ``names``, both sides at once (the
    ``-k`` of the last suite that has one applies to all: group suites without one)."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1", PYTHONPATH=os.path.join(ROOT, "src"))
    args: list = []
    for name in names:
        suite = LIBRARIES[name]
        environment.update(suite.env)
        args += _args(suite.quick if quick else suite.full, suite.tests())
    procs = {}
    for side, launcher in {"torch": [], "deltagrad": ["-m", "deltagrad", "run"]}.items():
        out = folder / f"{side}.json"
        work = folder / side
        work.mkdir()
        procs[side] = (out, work, subprocess.Popen(
            [sys.executable, "-W", "ignore", *launcher, RUNNER, str(out), *args],
            cwd=work, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True))
    results: dict = {name: ({}, {}) for name in names}
    for slot, (side, (out, work, proc)) in enumerate(procs.items()):
        log, _ = proc.communicate(timeout=3000)
        assert proc.returncode == 0 and out.exists(), f"{side} run failed:\n{log[-3000:]}"
        with open(out) as f:
            outcomes = json.load(f)
        for test_id, outcome in outcomes.items():
            name, key = _owner(names, work, test_id)
            results[name][slot][key] = outcome
    return results


def _owner(names: list, work, test_id: str) -> tuple:
    """(library, the id inside its suite) of a test id (absolute, or relative to ``work``)."""
    path, _, rest = test_id.partition("::")
    marker = "<collect> " if path.startswith("<collect> ") else ""
    full = os.path.normpath(os.path.join(str(work), path.removeprefix(marker)))
    for name in names:
        tests = LIBRARIES[name].tests()
        if full == tests or full.startswith(tests + os.sep):
            inside = os.path.relpath(full, tests).replace(os.sep, "/")
            return name, marker + inside + ("::" + rest if rest else "")
    return names[0], test_id  # (a collection error outside the suites: still reported)


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
    unexpected = {test: why for test, why in lost.items() if not _known(name, test)}
    stale = sorted(test for test in known
                   if real.get(test, [""])[0] == "passed" and test not in lost)
    stale += sorted(f"{start}*{part}*" for library, start, part in KNOWN_GROUPS
                    if library == name and any(
                        test.startswith(start) and part in test and outcome[0] == "passed"
                        and test not in lost for test, outcome in real.items()))
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
    groups = [[name for name in names if not LIBRARIES[name].alone]]
    groups += [[name] for name in names if LIBRARIES[name].alone]
    results: dict = {}
    for group in filter(None, groups):
        results.update(run_suites(group, True, tmp_path_factory.mktemp("s15_LE")))
    return results


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
