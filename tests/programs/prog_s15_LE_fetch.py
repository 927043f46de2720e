"""Fetch the source distributions whose own test suites test_s15_LE_suites.py runs under the
alias (their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s15_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work is
``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "e3nn==0.6.0": "e3nn-0.6.0",
    "linear_operator==0.6.1": "linear_operator-0.6.1",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
