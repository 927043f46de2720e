"""The shared machinery of the LE test files: libraries' own pytest suites run under PyTorch and
under deltagrad's torch alias, their per-test outcomes compared (sessions 14-16).

A test file names its suites (``Suite``), the tests that pass on PyTorch and fail on deltagrad
(``known``: id -> why; ``groups``: (library, id start, text in the id) -> why, for tests
parametrized many times over; ``errors``: (library, text of deltagrad's error) -> why, for a
known limit that many tests reach), and binds the three pytest functions ``suite_tests`` makes
of them, which call ``run_suites`` then ``check``. ``run_suites`` runs ``prog_s14_LE_suite.py``
in one process per side (both sides at once): on the real PyTorch and under ``python -m
deltagrad run``, every test from seed 0. ``check`` holds each test that passes
on PyTorch to passing on deltagrad, known ones aside, and fails on a known entry that passes
now, so the lists stay true. Tests that fail on PyTorch too are not held against deltagrad.

The libraries are imported only by the subprocesses (their imports change global state that
later tests in the calling process would see): ``Suite.tests`` finds them with ``find_spec``,
which reads the file system only. ``fetch`` downloads and unpacks a source distribution into
``.venv/suites/`` (the fetch programs that ``.ci/run`` calls): only the standard library here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(HERE, "prog_s14_LE_suite.py")
SUITES = os.path.join(ROOT, ".venv", "suites")


def _site(module: str) -> str | None:
    spec = importlib.util.find_spec(module)
    return None if spec is None or spec.origin is None else os.path.dirname(spec.origin)


@dataclass
class Suite:
    """One library's suite: the module it tests, where its tests are (``site``: inside the
    installed package; else the unpacked sdist's folder under .venv/suites), the pytest
    arguments for the whole suite and for the default run's part (paths relative to the tests'
    folder; ``-k=EXPR`` for a keyword expression, ``-m=EXPR`` for a marker one), the other
    modules its tests import, its environment, and what needs processes of its own: a ``tests``
    package to map (suites that import ``tests.x``) or ``alone`` (a conftest whose fixtures
    would reach the other suites).

    Suites sharing processes share one ``-k`` and one ``-m``: pytest keeps the last one given."""

    module: str
    folder: str
    site: bool = False
    full: tuple = (".",)
    quick: tuple = ()
    needs: tuple = ()
    env: dict = field(default_factory=dict)
    package: str | None = None
    alone: bool = False

    def tests(self) -> str | None:
        base = _site(self.module) if self.site else SUITES
        if base is None:
            return None
        path = os.path.normpath(os.path.join(base, self.folder))
        present = all(importlib.util.find_spec(m) for m in (self.module, *self.needs))
        return path if os.path.isdir(path) and present else None


def _args(parts: tuple, tests: str) -> list:
    """The pytest arguments for ``parts``, their paths made absolute."""
    args: list = []
    for part in parts:
        if part[:3] in ("-k=", "-m="):  # (a keyword or marker expression: not a path)
            args += [part[:2], part[3:]]
        elif part.startswith("-"):
            option, _, value = part.partition("=")
            args.append(f"{option}={os.path.join(tests, value)}" if value else part)
        else:
            args.append(os.path.normpath(os.path.join(tests, part)))
    return args


def _groups(libraries: dict, names: list) -> list:
    """``names`` split into the lists that share one process per side: the suites that need
    none of their own together, each of the others alone."""
    shared = [name for name in names
              if libraries[name].package is None and not libraries[name].alone]
    own = [[name] for name in names if name not in shared]
    return ([shared] if shared else []) + own


def run_suites(libraries: dict, names: list, quick: bool, folder) -> dict:
    """``{library: (torch's outcomes, deltagrad's outcomes)}``, each keyed by the test's id
    inside its suite (``"test_flows.py::test_flows[BPF]"``) and valued ``[outcome, message,
    seconds]``: the default run's part of each suite (``quick``) or the whole, in ``folder``
    (a ``pathlib.Path``)."""
    results: dict = {name: ({}, {}) for name in names}
    for index, members in enumerate(_groups(libraries, names)):
        environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                           MKL_NUM_THREADS="1", PYTHONPATH=os.path.join(ROOT, "src"))
        args: list = []
        for name in members:
            suite = libraries[name]
            environment.update(suite.env)
            args += _args(suite.quick if quick else suite.full, suite.tests())
        package = libraries[members[0]].package
        if package is not None:  # (the runner reads this option first)
            args = ["--package", f"{package}={libraries[members[0]].tests()}", *args]
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
                name, key = _owner(libraries, members, work, test_id)
                results[name][slot][key] = outcome
    return results


def _owner(libraries: dict, names: list, work, test_id: str) -> tuple:
    """(library, the id inside its suite) of a test id (absolute, or relative to ``work``)."""
    path, _, rest = test_id.partition("::")
    marker = "<collect> " if path.startswith("<collect> ") else ""
    full = os.path.normpath(os.path.join(str(work), path.removeprefix(marker)))
    for name in names:
        tests = libraries[name].tests()
        if full == tests or full.startswith(tests + os.sep):
            inside = os.path.relpath(full, tests).replace(os.sep, "/")
            return name, marker + inside + ("::" + rest if rest else "")
    return names[0], test_id  # (a collection error outside the suites: still reported)


def check(name: str, real: dict, ours: dict, known: dict, groups: dict | None = None,
          errors: dict | None = None, whole: bool = True) -> int:
    """Assert that every test of library ``name`` passing on PyTorch passes on deltagrad, the
    tests in ``known`` (id -> why), ``groups`` ((library, id start, text in the id) -> why) and
    ``errors`` ((library, text in deltagrad's failure report) -> why: a clear error of a known
    limit, whichever tests reach it) aside, and that none of those is stale (a known test or
    group that passes now; in a ``whole`` suite's run, an error no test meets); return how many
    passed on both."""
    assert real, f"{name}: no test ran"
    patterns = [(start, part) for library, start, part in groups or {} if library == name]
    texts = [text for library, text in errors or {} if library == name]

    def grouped(test: str) -> bool:
        return any(test.startswith(start) and part in test for start, part in patterns)

    lost, reports = {}, {}
    for test, (outcome, *_) in real.items():
        got = ours.get(test, ["missing", ""])
        if outcome == "passed" and got[0] != "passed":
            lost[test] = got[1].strip().splitlines()[-1:] if got[1] else got[0]
            reports[test] = got[1]
    unexpected = {test: why for test, why in lost.items()
                  if test not in known and not grouped(test)
                  and not any(text in reports[test] for text in texts)}
    stale = sorted(test for test in known
                   if real.get(test, [""])[0] == "passed" and test not in lost)
    stale += sorted(f"{start}*{part}*" for start, part in patterns if any(
        test.startswith(start) and part in test and outcome[0] == "passed" and test not in lost
        for test, outcome in real.items()))
    stale += sorted(f"error {text!r}" for text in texts if whole
                    and not any(text in report for report in reports.values()))
    assert not unexpected, f"{name}: pass on PyTorch, not on deltagrad: {unexpected}"
    assert not stale, f"{name}: KNOWN entries that pass now: {stale}"
    return sum(1 for test, value in real.items()
               if value[0] == "passed" and ours.get(test, [""])[0] == "passed")


def suite_tests(libraries: dict, known: dict | None = None, groups: dict | None = None,
                errors: dict | None = None) -> tuple:
    """The pytest plumbing every LE suite file shares: ``(quick_results, test_suite_part,
    test_whole_suite)``, which the file binds to those names at its top level. The fixture runs
    the default run's parts of ``libraries`` (those with ``quick``) together, once per module;
    ``test_suite_part`` checks each of them, ``test_whole_suite`` (soak) runs and checks one
    whole suite. ``known`` ({library: {id: why}}), ``groups`` and ``errors`` are ``check``'s.
    (pytest is imported here, not at the top: the fetch programs use this module too.)"""
    import pytest

    quick = [name for name, suite in libraries.items() if suite.quick]

    @pytest.fixture(scope="module")
    def quick_results(tmp_path_factory):
        names = [name for name in quick if libraries[name].tests()]
        if not names:
            pytest.skip("none of the suites is installed or fetched")
        return run_suites(libraries, names, True, tmp_path_factory.mktemp("LE"))

    @pytest.mark.parametrize("name", quick)
    def test_suite_part(quick_results, name):
        if name not in quick_results:
            pytest.skip(f"{name}'s suite is not installed or fetched")
        real, ours = quick_results[name]
        # (a part of a suite: an error entry no test of the part meets is not stale)
        assert check(name, real, ours, (known or {}).get(name, {}), groups, errors,
                     whole=False) > 0

    @pytest.mark.soak
    @pytest.mark.parametrize("name", list(libraries))
    def test_whole_suite(tmp_path, name):
        if libraries[name].tests() is None:
            pytest.skip(f"{name}'s suite is not installed or fetched")
        real, ours = run_suites(libraries, [name], False, tmp_path)[name]
        assert check(name, real, ours, (known or {}).get(name, {}), groups, errors) > 0

    return quick_results, test_suite_part, test_whole_suite


def fetch(requirement: str, folder: str) -> None:
    """Download ``requirement``'s source distribution (``"name==version"``) from the package
    index and unpack it into .venv/suites/, unless ``folder`` (what it unpacks to) is there."""
    if os.path.isdir(os.path.join(SUITES, folder)):
        return
    os.makedirs(SUITES, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "--dest", download, requirement], check=True)
        (archive,) = [name for name in os.listdir(download) if name.endswith(".tar.gz")]
        with tarfile.open(os.path.join(download, archive)) as tar:
            tar.extractall(SUITES, filter="data")


def fetch_all(sdists: dict) -> int:
    """``fetch`` each of ``sdists`` (requirement -> folder); a program's exit status: 1 when
    any could not be fetched (each named on stderr), else 0."""
    failed = []
    for requirement, folder in sdists.items():
        try:
            fetch(requirement, folder)
        except (subprocess.CalledProcessError, ValueError, OSError) as error:
            failed.append(f"{requirement}: {error}")
    for line in failed:
        print(f"not fetched: {line}", file=sys.stderr)
    return 1 if failed else 0
