"""Fetch the source distributions whose own test suites test_s20_LE2_suites.py runs under the
alias (the wheels pinned in ``.ci/run`` leave their tests out) and unpack them into
``.venv/suites/``.

``python tests/programs/prog_s20_LE2_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work
is ``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
(FrEIA 0.2, torch-dct 0.1.6, torchdiffeq 0.2.5 and torchcde 0.2.5 ship no tests in their
sdists; kymatio 0.3.0 has no sdist on the index.)
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "sb3-contrib==2.9.2": "sb3_contrib-2.9.2",
    "sbi==0.27.0": "sbi-0.27.0",
    "pytorch-forecasting==1.8.0": "pytorch_forecasting-1.8.0",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
