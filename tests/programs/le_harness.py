"""The shared machinery of the LE test files: libraries' own pytest suites run under PyTorch and
under deltagrad's torch alias, their per-test outcomes compared (sessions 14-16).

A test file names its suites (``Suite``), the tests that pass on PyTorch and fail on deltagrad
(``known``: id -> why; ``groups``: (library, id start, text in the id) -> why, for tests
parametrized many times over; ``errors``: (library, text of deltagrad's error) -> why, for a
known limit that many tests reach), and binds the three pytest functions ``suite_tests`` makes
of them, which call ``run_suites`` then ``check``. ``run_suites`` runs ``prog_s14_LE_suite.py``
in one process per side (both sides at once, each forked from its side's server in
alias_runs.py): on the real PyTorch and under ``python -m deltagrad run``, every test from
seed 0. ``check`` holds each test that passes
on PyTorch to passing on deltagrad, known ones aside, and fails on a known entry that passes
now, so the lists stay true. Tests that fail on PyTorch too are not held against deltagrad.

PyTorch's side of a default part only finds which of its tests pass on PyTorch, the same at
pinned versions every time, and costs 1.5-2.3 times deltagrad's side in CPU (s24, the sides run
one after the other on a loaded machine, PyTorch / deltagrad CPU s: timm 16.3 / 6.9, smp 5.8 /
2.8, sbi's rest 16.7 / 9.3, opacus with torchvision 7.0 / 3.2, sb3-contrib with
pytorch-forecasting 9.8 / 6.5). ``prog_s24_TT2_record.py`` records those outcomes with their
``stamp`` (Python, torch and library versions, the part's arguments) in ``s24_TT2_outcomes/``,
and a file that passes ``recording=`` to ``suite_tests`` runs only deltagrad's side by default
where the stamp matches this environment, held to the recorded passes (both sides otherwise,
or with ``DELTAGRAD_TEST_BOTH_SIDES=1``). Its ``recording_tests`` fail by default where a
present suite's recording is missing or stale, and under soak where PyTorch's outcomes differ
from the recorded ones. (Chosen in s24, TT2: default parts' CPU s before / after, both / one
side, loaded machine: test_s14_LE_suites.py 15.0 / 8.2; see the session's report.)

The libraries are imported only by the subprocesses (their imports change global state that
later tests in the calling process would see): ``Suite.tests`` finds them with ``find_spec``,
which reads the file system only. ``fetch`` downloads and unpacks a source distribution into
``.venv/suites/`` (the fetch programs that ``.ci/run`` calls): only the standard library here.
"""

from __future__ import annotations

import functools
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
OUTCOMES = os.path.join(HERE, "s24_TT2_outcomes")  # (PyTorch's recorded outcomes: ``recorded``)
LAUNCHERS = {"torch": [], "deltagrad": ["-m", "deltagrad", "run"]}
KINDS = ("passed", "failed", "skipped")


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


def run_suites(libraries: dict, names: list, quick: bool, folder,
               sides: tuple = ("torch", "deltagrad")) -> dict:
    """``{library: (torch's outcomes, deltagrad's outcomes)}``, each keyed by the test's id
    inside its suite (``"test_flows.py::test_flows[BPF]"``) and valued ``[outcome, message,
    seconds]``: the default run's part of each suite (``quick``) or the whole, in ``folder``
    (a ``pathlib.Path``). Only the ``sides`` named run (the others' outcomes stay empty)."""
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
        runs = {side: (folder / f"{side}{index}.json", folder / f"{side}{index}")
                for side in sides}
        for _, work in runs.values():
            work.mkdir()
        logs = _run_sides(runs, args, environment)
        for side, (out, work) in runs.items():
            slot = list(LAUNCHERS).index(side)
            returncode, log = logs[side]
            assert returncode == 0 and out.exists(), f"{side} run failed:\n{log[-3000:]}"
            with open(out) as f:
                outcomes = json.load(f)
            for test_id, outcome in outcomes.items():
                name, key = _owner(libraries, members, work, test_id)
                results[name][slot][key] = outcome
    return results


def _run_sides(runs: dict, args: list, environment: dict) -> dict:
    """Run the runner once per side at once (``runs``: side -> (its JSON's path, its working
    folder)): ``{side: (exit status, its output)}``. Each run is forked from the pytest
    process's server for its side (tests/programs/alias_runs.py: the interpreter and the
    library already imported, shared with the program tests; a run's environment, working
    folder, argv and ``sys.path`` are a fresh process's), or is a fresh process with
    ``DELTAGRAD_TEST_FRESH=1``. (s25, TT5: deltagrad's side of one default part, CPU s of the
    run, fresh 1.96 / 1.96 / 2.19 against forked 1.64 / 1.61 / 1.77, alternated, servers
    warm, loaded machine; a fresh torch side also pays ``import torch``.)"""
    commands = {side: [RUNNER, str(out), *args] for side, (out, _) in runs.items()}
    if os.environ.get("DELTAGRAD_TEST_FRESH") != "1":
        import alias_runs  # (numpy: not for the fetch programs, which never run suites)

        folder = next(iter(runs.values()))[1].parent
        return alias_runs._run_forked(commands, folder, environment, 3000,
                                      cwds={side: work for side, (_, work) in runs.items()})
    procs = {side: subprocess.Popen([sys.executable, "-W", "ignore", *LAUNCHERS[side], *command],
                                    cwd=runs[side][1], env=environment, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
             for side, command in commands.items()}
    done = {}
    for side, proc in procs.items():
        log, _ = proc.communicate(timeout=3000)
        done[side] = (proc.returncode, log)
    return done


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


@functools.cache
def _distributions(folder: str) -> dict:
    """``{top-level module: "name==version"}`` of the wheels installed in ``folder``, read from
    their ``.dist-info`` folders' names and top-level lists (or RECORD's paths where a wheel
    has none): parsing every distribution's metadata costs seconds."""
    found: dict = {}
    for entry in sorted(os.listdir(folder)):
        if not entry.endswith(".dist-info"):
            continue
        name, _, version = entry.removesuffix(".dist-info").partition("-")
        # (a local label such as torch's "+cpu" names the build, not the release)
        release = f"{name}=={version.partition('+')[0]}"
        info = os.path.join(folder, entry)
        tops: set = set()
        for listing in ("top_level.txt", "RECORD"):
            if not tops and os.path.exists(os.path.join(info, listing)):
                with open(os.path.join(info, listing)) as f:
                    tops = {line.strip().split(",")[0].split("/")[0].removesuffix(".py")
                            for line in f if line.strip()}
        for top in tops:
            if top.isidentifier():  # (not RECORD's "..", nor the .dist-info folder itself)
                found.setdefault(top, release)
    return found


def stamp(suite: Suite) -> dict:
    """What PyTorch's outcomes of ``suite``'s default part depend on beside its test files: the
    Python, torch and library versions (found on the runs' path: the suite's ``PYTHONPATH``,
    then this process's), the sdist folder (named with its version) and the part's arguments.
    Only what ``.ci/run`` pins: NumPy and the modules a suite ``needs`` (scipy, pandas,
    scikit-learn ...) come unpinned, and a fresh environment's newer release would make every
    recording stale; ``recording_tests``' soak test finds an outcome they change."""
    folders = [*suite.env.get("PYTHONPATH", "").split(os.pathsep), *sys.path]
    folders = [folder for folder in folders if folder and os.path.isdir(folder)]

    def version(module: str) -> str | None:
        return next((_distributions(folder)[module] for folder in folders
                     if module in _distributions(folder)), None)

    return {"python": "{}.{}".format(*sys.version_info[:2]), "folder": suite.folder,
            "quick": list(suite.quick),
            "versions": {module: version(module) for module in ("torch", suite.module)}}


def _outcomes_path(recording: str) -> str:
    """Where the outcomes recorded for the test file ``recording`` live."""
    return os.path.join(OUTCOMES, os.path.basename(recording).removesuffix(".py") + ".json")


def _entry(recording: str, name: str) -> dict | None:
    """Library ``name``'s recorded entry (its ``stamp`` and outcomes) for the test file
    ``recording``, or None where none is recorded."""
    path = _outcomes_path(recording)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["libraries"].get(name)


def recorded(recording: str, name: str, suite: Suite) -> dict | None:
    """PyTorch's outcomes of ``suite``'s default part as recorded for the test file
    ``recording`` by ``prog_s24_TT2_record.py`` (``{id: [outcome]}``), or None where none is
    recorded for this environment (no entry, or ``stamp`` differs)."""
    entry = _entry(recording, name)
    if entry is None or entry["stamp"] != stamp(suite):
        return None
    return {test: [kind] for kind in KINDS for test in entry[kind]}


def record(recording: str, libraries: dict, folder) -> list:
    """Run PyTorch's side of the default part of each of ``libraries`` present here (in
    ``folder``, a ``pathlib.Path``) and write its outcomes with their ``stamp`` for the test
    file ``recording``; return the names recorded."""
    names = [name for name, suite in libraries.items() if suite.quick and suite.tests()]
    if not names:
        return names
    real = run_suites(libraries, names, True, folder, sides=("torch",))
    entries = {name: {"stamp": stamp(libraries[name]),
                      **{kind: sorted(test for test, outcome in real[name][0].items()
                                      if outcome[0] == kind) for kind in KINDS}}
               for name in names}
    os.makedirs(OUTCOMES, exist_ok=True)
    with open(_outcomes_path(recording), "w") as f:
        json.dump({"made by": "tests/programs/prog_s24_TT2_record.py", "libraries": entries},
                  f, indent=1, sort_keys=True)
        f.write("\n")
    return names


def suite_tests(libraries: dict, known: dict | None = None, groups: dict | None = None,
                errors: dict | None = None, recording: str | None = None) -> tuple:
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
        # (PyTorch's side of a part whose outcomes are recorded for this environment does not
        # run again: see the module's docstring; the others run both sides)
        both_sides = not recording or os.environ.get("DELTAGRAD_TEST_BOTH_SIDES") == "1"
        saved = {name: None if both_sides else recorded(recording, name, libraries[name])
                 for name in names}
        both = [name for name in names if saved[name] is None]
        results = {}
        if both:
            results = run_suites(libraries, both, True, tmp_path_factory.mktemp("LE"))
        if len(both) < len(names):
            ours = run_suites(libraries, [name for name in names if name not in both], True,
                              tmp_path_factory.mktemp("LE"), sides=("deltagrad",))
            results.update({name: (saved[name], outcomes) for name, (_, outcomes)
                            in ours.items()})
        return results

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


def recording_tests(libraries: dict, recording: str) -> tuple:
    """``(test_recording_current, test_recording_rederived)`` for the test file ``recording``
    (its ``__file__``), which binds them at its top level: the first (cheap, default) fails
    where PyTorch's outcomes of a present suite's default part are not recorded, or were
    recorded for another part (its sdist folder or ``quick`` arguments changed), and skips
    where only the Python / torch / library releases differ from the recording's (its default
    test then runs both sides); the second (soak) runs PyTorch's side
    again and fails if any outcome differs from the recorded one."""
    import pytest

    quick = [name for name, suite in libraries.items() if suite.quick]
    again = f"python tests/programs/prog_s24_TT2_record.py {os.path.basename(recording)}"

    @pytest.mark.parametrize("name", quick)
    def test_recording_current(name):
        if libraries[name].tests() is None:
            pytest.skip(f"{name}'s suite is not installed or fetched")
        entry = _entry(recording, name)
        now = stamp(libraries[name])
        if entry is not None and all(entry["stamp"].get(key) == now[key]
                                     for key in ("folder", "quick")):
            # (recorded for this part; another Python / torch / library release than the
            # recording's is an environment this repository does not pin: both sides run)
            if entry["stamp"] != now:
                pytest.skip(f"{name}: recorded for {entry['stamp']}, not this environment")
        assert recorded(recording, name, libraries[name]) is not None, (
            f"{name}: PyTorch's outcomes of its default part are not recorded for this "
            f"environment ({stamp(libraries[name])}); record them: {again}")

    @pytest.mark.soak
    @pytest.mark.parametrize("name", quick)
    def test_recording_rederived(tmp_path, name):
        saved = recorded(recording, name, libraries[name])
        if saved is None:
            pytest.skip(f"{name}: not installed, or not recorded for this environment")
        real = run_suites(libraries, [name], True, tmp_path, sides=("torch",))[name][0]
        changed = {test: (saved.get(test, ["missing"])[0], real.get(test, ["missing"])[0])
                   for test in {*saved, *real}
                   if saved.get(test, ["missing"])[0] != real.get(test, ["missing"])[0]}
        assert not changed, f"{name}: (recorded, now) differ; run {again}: {changed}"

    return test_recording_current, test_recording_rederived


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
