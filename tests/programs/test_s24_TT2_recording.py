"""le_harness's recorded PyTorch outcomes (session 24, TT2): versions read from wheels' folders,
a recording used only where its stamp matches, and the check holding deltagrad's side to the
recorded passes. Cheap: no suite runs here (each LE file's own tests run them)."""

from __future__ import annotations

import dataclasses
import glob
import json
import os

import le_harness
import pytest
from le_harness import check, recorded, stamp


def test_distributions_read_names_versions_and_top_levels(tmp_path):
    (tmp_path / "foo-1.2+cpu.dist-info").mkdir()
    (tmp_path / "foo-1.2+cpu.dist-info" / "top_level.txt").write_text("foo\nfoogen\n")
    (tmp_path / "baz_pkg-0.1.dist-info").mkdir()
    (tmp_path / "baz_pkg-0.1.dist-info" / "RECORD").write_text(
        "baz/__init__.py,sha256=x,1\nbaz_one.py,,\nbaz_pkg-0.1.dist-info/METADATA,,\n"
        "../../bin/baz,,\n")
    (tmp_path / "baz").mkdir()
    found = le_harness._distributions(str(tmp_path))
    assert found == {"foo": "foo==1.2", "foogen": "foo==1.2", "baz": "baz_pkg==0.1",
                     "baz_one": "baz_pkg==0.1"}


def _recordings() -> list:
    """(test file, library, its Suite) of every recorded library whose suite is present."""
    import importlib

    found = []
    for path in sorted(glob.glob(os.path.join(le_harness.OUTCOMES, "*.json"))):
        name = os.path.basename(path).removesuffix(".json")
        try:
            module = importlib.import_module(name)
        except pytest.skip.Exception:  # (a file that skips whole here)
            continue
        with open(path) as f:
            for library in json.load(f)["libraries"]:
                suite = module.LIBRARIES[library]
                if suite.tests() is not None:
                    found.append((module.__file__, library, suite))
    return found


def test_a_recording_is_used_only_where_its_stamp_matches():
    recordings = _recordings()
    if not recordings:
        pytest.skip("no recorded suite is present")
    file, library, suite = recordings[0]
    outcomes = recorded(file, library, suite)
    assert outcomes and all(value[0] in le_harness.KINDS for value in outcomes.values())
    assert stamp(suite)["versions"]["torch"] is not None
    # another part of the suite, another sdist folder, an unrecorded library: nothing recorded
    assert recorded(file, library, dataclasses.replace(suite, quick=suite.quick[:-1])) is None
    assert recorded(file, library, dataclasses.replace(suite, folder=suite.folder + "x")) is None
    assert recorded(file, library + "_unrecorded", suite) is None
    assert recorded("test_s0_none.py", library, suite) is None


def test_recorded_passes_hold_deltagrads_side():
    recordings = _recordings()
    if not recordings:
        pytest.skip("no recorded suite is present")
    file, library, suite = recordings[0]
    real = recorded(file, library, suite)
    passing = sorted(test for test, value in real.items() if value[0] == "passed")
    ours = {test: ["passed", "", 0.1] for test in passing}
    assert check(library, real, ours, {}, whole=False) == len(passing)
    del ours[passing[0]]  # (a test deltagrad's side did not run: missing)
    with pytest.raises(AssertionError, match="pass on PyTorch, not on deltagrad"):
        check(library, real, ours, {}, whole=False)


def test_every_suite_file_records_its_default_part():
    """Each LE suite file with a default part passes ``recording=`` and binds the recording
    tests, so that its default run uses the recorded outcomes."""
    for path in sorted(glob.glob(os.path.join(le_harness.HERE, "test_s*_LE*_suites.py"))):
        with open(path) as f:
            text = f.read()
        if "quick=" in text:
            assert "recording=__file__" in text and "recording_tests(" in text, path

