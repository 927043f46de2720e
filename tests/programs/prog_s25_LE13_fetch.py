"""Fetch the source distributions whose own tests test_s25_LE13_suites.py runs under the alias
(roma 1.8.0, poutyne 1.19.0, tntorch 1.1.2, torchkbnufft 1.5.2: the versions ``.ci/run`` pins;
their wheels leave the tests out) and unpack them into ``.venv/suites/``. tensorly-torch 0.5.0
ships its tests inside its wheel (``tltorch/*/tests``): nothing to fetch for it.

``python tests/programs/prog_s25_LE13_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept.

Of LE13's list (s25), kornia, torchmetrics, captum, torchdiffeq, x-transformers and
pytorch-metric-learning ship no tests in their sdists and pytorch-tabnet has no sdist (earlier
sessions' fetch programs say so); einops', entmax's and skorch's suites run in test_s14 /
test_s15_LE_suites.py. Looked at in s25 and found without tests in their sdists: torchtyping
0.1.5, vector-quantize-pytorch 1.32.0, hyper-connections 0.4.11, opt-einsum-fx 0.1.4,
torch-runstats 0.2.0, fvcore 0.1.5.post20221221, pfrl 0.4.0, ptflops 0.7.5, pypose 0.9.5;
torch-optimi 0.3.3 and torchcam 0.5.0 (taken straight from the index: their metadata does not
build under ``pip download``); kymatio 0.3.0 has no sdist on the index; torchdyn 1.0.6's does
not build under ``pip download`` (not tried straight from the index).
"""

import os
import sys

from le_harness import SUITES, fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "roma==1.8.0": "roma-1.8.0",
    "poutyne==1.19.0": "poutyne-1.19.0",
    "tntorch==1.1.2": "tntorch-1.1.2",
    "torchkbnufft==1.5.2": "torchkbnufft-1.5.2",
}

# roma's sdist keeps an ``__init__.py`` at its top (so that its repository can be a git
# submodule): pytest then takes ``roma-1.8.0`` for the package above ``test`` and fails to
# import every test file, on both sides. It goes; nothing else reads it.
_ROMA_INIT = os.path.join(SUITES, "roma-1.8.0", "__init__.py")

# poutyne names its test classes ``*Test`` and tells pytest so in its pyproject.toml, which the
# runner's own empty pytest.ini replaces: without this conftest pytest collects only the
# classes that subclass unittest's TestCase (74 of its 601 tests, s25).
_POUTYNE_CONFTEST = os.path.join(SUITES, "poutyne-1.19.0", "tests", "conftest.py")
_CONFTEST = '''"""Written by deltagrad's prog_s25_LE13_fetch.py: poutyne's test classes are
named *Test (its pyproject.toml's python_classes, which the runner's own pytest.ini replaces)."""


def pytest_configure(config):
    config.addinivalue_line("python_classes", "*Test")
'''

if __name__ == "__main__":
    status = fetch_all(SDISTS)
    if os.path.exists(_ROMA_INIT):
        os.remove(_ROMA_INIT)
    if os.path.isdir(os.path.dirname(_POUTYNE_CONFTEST)):
        with open(_POUTYNE_CONFTEST, "w") as f:
            f.write(_CONFTEST)
    sys.exit(status)
