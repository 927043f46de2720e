"""Fetch the source distributions whose own test suites test_s15_LE_suites.py runs under the
alias (their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s15_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI). The
download and unpacking are session 14's (``prog_s14_LE_fetch.fetch``); an sdist already
unpacked is kept. The versions are those the installed wheels are pinned to in ``.ci/run``: a
suite must test the code that is installed.
"""

import importlib.util
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "e3nn==0.6.0": "e3nn-0.6.0",
    "linear_operator==0.6.1": "linear_operator-0.6.1",
}


def _s14_fetch():
    spec = importlib.util.spec_from_file_location(
        "prog_s14_LE_fetch", os.path.join(HERE, "prog_s14_LE_fetch.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    s14 = _s14_fetch()
    os.makedirs(s14.SUITES, exist_ok=True)
    failed = []
    for requirement, folder in SDISTS.items():
        try:
            s14.fetch(requirement, folder)
        except (subprocess.CalledProcessError, ValueError, OSError) as error:
            failed.append(f"{requirement}: {error}")
    for line in failed:
        print(f"not fetched: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
