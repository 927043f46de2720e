"""Runs a library's own pytest suite in this process and writes each test's outcome as JSON.

``python prog_s14_LE_suite.py OUT.json [--package NAME=FOLDER] PYTEST_ARGS...`` runs on the
real PyTorch; ``python -m deltagrad run prog_s14_LE_suite.py OUT.json ...`` runs the same tests
with ``import torch`` giving deltagrad. ``OUT.json`` maps each test id to ``[outcome, message,
seconds]`` (outcome: passed / failed / skipped; a failure's message is the end of its report),
so that the caller can list the tests that pass on PyTorch and fail on deltagrad.
"""

import json
import os
import random
import shutil
import sys
import tempfile
import types
import warnings

import numpy as np
import pytest
import torch


class Outcomes:
    """A pytest plugin that keeps one outcome per test id (a setup or teardown error counts as
    the test failing)."""

    def __init__(self) -> None:
        self.results: dict = {}
        self.files: dict = {}  # test id -> its file's absolute path

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            self.files[item.nodeid] = str(item.path)

    def key(self, nodeid: str) -> str:
        """The test's id with its file's absolute path (pytest's own id is relative to the
        working folder, and empty for files outside it)."""
        path = self.files.get(nodeid)
        if path is None:
            return nodeid
        return path + "::" + nodeid.partition("::")[2]

    @pytest.hookimpl(tryfirst=True)  # (before the test's fixtures draw anything)
    def pytest_runtest_setup(self, item) -> None:
        # Most suites draw unseeded random inputs, and some tolerances are met by most draws
        # only: every test starts from one seed, so both runs see the same numbers (deltagrad
        # follows PyTorch's random stream) whatever ran before it.
        torch.manual_seed(0)
        np.random.seed(0)
        random.seed(0)

    def pytest_runtest_logreport(self, report) -> None:
        key = self.key(report.nodeid)
        previous = self.results.get(key, ["passed", "", 0.0])
        seconds = round(previous[2] + report.duration, 3)
        if report.failed:
            self.results[key] = ["failed", str(report.longrepr)[-1500:], seconds]
        elif report.skipped and report.when in ("setup", "call"):
            self.results[key] = ["skipped", "", seconds]
        elif report.when == "call" and previous[0] != "failed":
            self.results[key] = ["passed", "", seconds]
        else:
            self.results[key] = [previous[0], previous[1], seconds]

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            message = str(report.longrepr)[-1500:]
            self.results["<collect> " + report.nodeid] = ["failed", message, 0.0]


def main() -> int:
    out, args = sys.argv[1], sys.argv[2:]
    while args and args[0] == "--package":
        # ``--package tests=FOLDER``: the suite imports its helpers as ``tests.x`` from a
        # folder without __init__.py, which a regular package named ``tests`` installed by
        # another library would shadow.
        name, folder = args[1].split("=", 1)
        package = types.ModuleType(name)
        package.__path__ = [folder]
        sys.modules[name] = package
        args = args[2:]
    warnings.filterwarnings("ignore")
    plugin = Outcomes()
    # An empty pytest.ini of its own: the suite runs with no options of ours (this project's
    # addopts collect doctests) nor of its own (coverage plugins not installed here). It and
    # the suite's tmp_path folders (--basetemp: away from the numbered ones other pytest runs
    # on this machine keep and clean up) go to a temporary folder, never the working one.
    scratch = tempfile.mkdtemp(prefix="s14_LE_suite_")
    ini = os.path.join(scratch, "pytest.ini")
    with open(ini, "w") as f:
        f.write("[pytest]\n")
    code = pytest.main(["-q", "-c", ini, "--rootdir", os.getcwd(),
                        "--basetemp", os.path.join(scratch, "tmp"), "-p", "no:cacheprovider",
                        "-p", "no:torchtyping", "-p", "no:randomly", "-W", "ignore",
                        "--continue-on-collection-errors", *args], plugins=[plugin])
    shutil.rmtree(scratch, ignore_errors=True)
    with open(out, "w") as f:
        json.dump(plugin.results, f)
    print(f"pytest exit {int(code)}; {len(plugin.results)} tests; cwd {os.getcwd()}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
