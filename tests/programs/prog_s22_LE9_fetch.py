"""Fetch the source distributions whose own tests test_s22_LE9_suites.py runs under the alias
and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s22_LE9_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. The versions are those ``.ci/run`` pins the installed packages to
(timm and segmentation-models-pytorch in ``.venv/tv-extra``): a suite must test the code that
is installed.

Of LE9's list (s22), kornia 0.9.0, torchinfo 1.8.0, torchmetrics 1.9.0 and torch-geometric 2.8.1
ship no tests in their sdists; monai 1.6.1's sdist does not build its metadata under ``pip
download`` (its build requirements need torch).
"""

import sys

from le_harness import fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "timm==1.0.31": "timm-1.0.31",
    "segmentation-models-pytorch==0.6.0": "segmentation_models_pytorch-0.6.0",
}

if __name__ == "__main__":
    sys.exit(fetch_all(SDISTS))
