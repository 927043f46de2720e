"""Fetch the source distributions whose own test suites test_s14_LE_suites.py runs under the
alias (their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s14_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work is
``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
project's wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "zuko==1.6.0": "zuko-1.6.0",
    "nflows==0.14": "nflows-0.14",
    "torch-optimizer==0.3.0": "torch-optimizer-0.3.0",
    "gpytorch==1.15.2": "gpytorch-1.15.2",
    "accelerate==1.16.0": "accelerate-1.16.0",
    "pyro-ppl==1.9.2": "pyro_ppl-1.9.2",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
