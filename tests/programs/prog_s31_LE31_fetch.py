"""Fetch the source distributions whose own tests test_s31_LE31_suites.py runs under the alias
(safetensors 0.8.0, tensorboardX 2.6.5, torch-kmeans 0.2.0, sparsemax 0.1.9 and torch-pca 1.1.0:
the versions
``.ci/run`` pins; their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s31_LE31_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. The archives come from the index's simple page directly
(``prog_s21_LE5_fetch.fetch_direct``: sha256 checked), which builds no metadata (safetensors'
sdist is a Rust build: its tests are Python, run against the installed wheel).

safetensors' tests write their files under ``./tests/data`` of the folder they run in: the
fetch writes a conftest that runs each test in a fresh temporary folder holding one (the two
sides run at once, and the unpacked sdist stays as it was fetched). torch-pca's read their
``tests/*.pt`` from the sdist's folder and import pytest-check (not installed) for two
functions: its conftest runs each test there and stands in for those two as plain assertions
(a test passes or fails as with pytest-check, which fails it at its end on any failed check).

Of LE31's list (s31), looked at straight from the index: torchtnt 0.2.4, spandrel 0.4.2,
pytorch-pfn-extras 0.9.0, torchnmf 0.3.5 and qpth 0.0.18 ship no tests in their sdists;
torchdata 0.11.0 has no sdist; compressed-tensors 0.20.0's tests need float8 dtypes and
transformers' model downloads; torch-fidelity 0.4.0's download feature-extractor weights.
The candidates of the brief (torchmetrics, kornia, captum, torch-geometric, monai, pyro,
gpytorch, zuko, nflows, e3nn, torchdiffeq, entmax, pytorch-crf, ptwt, torch-optimizer,
schedulefree, opt-einsum-fx, curvlinops, backpack, einops, ignite) were run or looked at by
earlier sessions (their fetch programs say which ship no tests).
"""

import os
import sys

from le_harness import SUITES
from prog_s21_LE5_fetch import fetch_all_direct

# (name, version) -> the folder the sdist unpacks to. (The name as its archive spells it.)
DIRECT = {
    ("safetensors", "0.8.0"): "safetensors-0.8.0",
    ("tensorboardx", "2.6.5"): "tensorboardx-2.6.5",
    ("torch_kmeans", "0.2.0"): "torch_kmeans-0.2.0",
    ("sparsemax", "0.1.9"): "sparsemax-0.1.9",
    ("torch_pca", "1.1.0"): "torch_pca-1.1.0",
}

_SAFETENSORS_CONFTEST = os.path.join(SUITES, "safetensors-0.8.0", "bindings", "python", "tests",
                                     "conftest.py")
_CONFTEST = '''"""Written by deltagrad's prog_s31_LE31_fetch.py: each test runs in a temporary
folder of its own with the ``tests/data`` folder safetensors' tests write their files into."""

import pytest


@pytest.fixture(autouse=True)
def _own_folder(tmp_path, monkeypatch):
    (tmp_path / "tests" / "data").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
'''

_PCA_CONFTEST = os.path.join(SUITES, "torch_pca-1.1.0", "tests", "conftest.py")
_PCA = '''"""Written by deltagrad's prog_s31_LE31_fetch.py: torch-pca's tests read ``tests/*.pt``
from the sdist's folder, and use pytest-check (not installed) only as ``check.equal`` /
``check.is_true``, which pass or fail a test as plain assertions would."""

import os
import sys
import types

import pytest


def _equal(a, b, msg=""):
    assert a == b, msg


def _is_true(x, msg=""):
    assert x, msg


sys.modules.setdefault("pytest_check", types.ModuleType("pytest_check")).__dict__.update(
    equal=_equal, is_true=_is_true)


@pytest.fixture(autouse=True)
def _in_sdist_folder(monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
'''

if __name__ == "__main__":
    status = fetch_all_direct(DIRECT)
    if os.path.isdir(os.path.dirname(_SAFETENSORS_CONFTEST)):
        with open(_SAFETENSORS_CONFTEST, "w") as f:
            f.write(_CONFTEST)
    if os.path.isdir(os.path.dirname(_PCA_CONFTEST)):
        with open(_PCA_CONFTEST, "w") as f:
            f.write(_PCA)
    sys.exit(status)
