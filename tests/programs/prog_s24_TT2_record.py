"""Records PyTorch's outcomes of the LE suite files' default parts (session 24, TT2).

``python tests/programs/prog_s24_TT2_record.py [test_sNN_..._suites.py ...]`` (default: every
suite file here that binds ``le_harness.recording_tests``) runs the PyTorch side of each file's
default part, as the file's default test would, and writes each library's outcomes with their
``le_harness.stamp`` (Python, torch and library versions, the part's arguments) to
``s24_TT2_outcomes/<file>.json``. A file's default test then runs only deltagrad's side for a
library whose stamp matches this environment, and holds it to the recorded PyTorch passes; its
soak test ``test_recording_rederived`` runs PyTorch's side again and fails if an outcome
changed. Run it after changing a suite's ``quick`` arguments or a pinned version.
"""

from __future__ import annotations

import glob
import importlib
import os
import pathlib
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import le_harness  # noqa: E402  (beside this file: on the path only from here)


def main(files: list) -> int:
    if not files:
        files = sorted(path for path in glob.glob(os.path.join(HERE, "test_s*_suites.py"))
                       if "recording_tests(" in pathlib.Path(path).read_text())
    for file in files:
        name = os.path.basename(file).removesuffix(".py")
        try:
            module = importlib.import_module(name)
        except BaseException as skip:  # (pytest's module-level skip is no Exception)
            print(f"{name}: not recorded ({type(skip).__name__}: {skip})")
            continue
        with tempfile.TemporaryDirectory() as folder:
            names = le_harness.record(module.__file__, module.LIBRARIES, pathlib.Path(folder))
        print(f"{name}: recorded {', '.join(names) or 'nothing (no suite present)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
