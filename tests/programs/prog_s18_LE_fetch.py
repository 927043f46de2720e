"""Fetch the source distributions whose own test suites test_s18_LE_suites.py runs under the
alias (ptwt's wheel leaves its tests out; einx's installs them as a top-level
``test`` package that other wheels write into too) and unpack them into
``.venv/suites/``.

``python tests/programs/prog_s18_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work
is ``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "ptwt==1.0.1": "ptwt-1.0.1",
    "einx==0.4.3": "einx-0.4.3",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
