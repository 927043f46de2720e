"""Fetch the source distributions whose own test suites test_s17_LE_suites.py runs under the
alias (their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s17_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work is
``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "julius==0.2.8": "julius-0.2.8",
    "torchsde==0.2.6": "torchsde-0.2.6",
    "unfoldNd==0.2.3": "unfoldnd-0.2.3",
    "pytorch-optimizer==4.1.0": "pytorch_optimizer-4.1.0",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
