"""Fetch the source distributions whose own tests test_s26_LE15_suites.py runs under the alias
(peft 0.21.2, ultralytics-thop 2.2.3, egnn-pytorch 0.2.8 and torchviz 0.0.3: the versions
``.ci/run`` pins; their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s26_LE15_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. The archives come from the index's simple page directly
(``prog_s21_LE5_fetch.fetch_direct``: sha256 checked), which builds no metadata.

Of LE15's list (s26), looked at again, sdists and wheels: captum 0.9.0 (only its
``captum.testing`` helpers), torchmetrics 1.9.0, piq 0.8.0, pytorch-metric-learning 2.9.0
(only its ``testers`` module, part of the library), torcheval 0.0.7 (only ``test_utils``
helpers), laplace-torch 0.3, higher 0.2.1, torchjd 0.18.0 and mup 1.0.0 ship no tests;
pytorch-msssim 1.0.0's ``tests`` are scripts that open image files it leaves out or download
them; normflows 1.7.3's run in test_s14_LE_suites.py. Looked at and found without tests as
well: TorchCRF 1.1.0, efficientnet-pytorch 0.7.1, ttach 0.0.3, pykan 0.2.8, jaxtyping 0.3.11
(only its pytest plugin), lightning / pytorch-lightning 2.6.6 (only their ``testing`` helpers),
diffusers 0.42.1 (only ``testing_utils``); monai 1.6.1, transformers 5.25.0 (its common test
mixins only) and sentence-transformers 6.3.0 leave most of theirs out. autoray 0.11.0 and
pytorch-revgrad 0.2.0 ship theirs in their sdists: LE14 runs them (test_s26_LE14_suites.py).
"""

import os
import sys

from le_harness import SUITES
from prog_s21_LE5_fetch import fetch_all_direct

# (name, version) -> the folder the sdist unpacks to. (The name as its archive spells it.)
DIRECT = {
    ("peft", "0.21.2"): "peft-0.21.2",
    ("ultralytics_thop", "2.2.3"): "ultralytics_thop-2.2.3",
    ("egnn_pytorch", "0.2.8"): "egnn_pytorch-0.2.8",
    ("torchviz", "0.0.3"): "torchviz-0.0.3",
}

# peft's test files import their helpers relatively (``from .testing_common import ...``) from a
# ``tests`` folder its sdist ships without the ``__init__.py`` its repository has: without one,
# pytest imports each file as a top-level module and every file fails to import, on both sides.
_PEFT_INIT = os.path.join(SUITES, "peft-0.21.2", "tests", "__init__.py")

# peft's ``testing_utils`` imports Hugging Face ``datasets`` (not installed: a large dependency
# tree) for one helper that downloads a data set; the conftest stands in for it where it is
# missing (the tests that call the helper fail on both sides: no network).
_PEFT_CONFTEST = os.path.join(SUITES, "peft-0.21.2", "tests", "conftest.py")
_INIT = '"""Written by deltagrad\'s prog_s26_LE15_fetch.py: the tests\' package."""\n'
_CONFTEST = '''"""Written by deltagrad's prog_s26_LE15_fetch.py: a stand-in for Hugging Face
``datasets`` (not installed here), which ``testing_utils`` imports for one helper that downloads
a data set."""

import importlib.util
import sys
import types

if importlib.util.find_spec("datasets") is None:
    _datasets = types.ModuleType("datasets")

    def load_dataset(*args, **kwargs):
        raise RuntimeError("datasets is not installed (deltagrad's stand-in): no downloads here")

    _datasets.load_dataset = load_dataset
    sys.modules["datasets"] = _datasets
'''


if __name__ == "__main__":
    status = fetch_all_direct(DIRECT)
    if os.path.isdir(os.path.dirname(_PEFT_INIT)):
        with open(_PEFT_INIT, "w") as f:
            f.write(_INIT)
        with open(_PEFT_CONFTEST, "w") as f:
            f.write(_CONFTEST)
    sys.exit(status)
