"""Fetch the source distributions whose own test suites test_s17_LE2_suites.py runs under the
alias (the wheels of backpack-for-pytorch and curvlinops-for-pytorch leave their tests out)
and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s17_LE2_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work
is ``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "backpack-for-pytorch==1.7.1": "backpack_for_pytorch-1.7.1",
    "curvlinops-for-pytorch==3.0.1": "curvlinops_for_pytorch-3.0.1",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
