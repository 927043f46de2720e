"""Fetch the source distributions whose own tests test_s26_LE14_suites.py runs under the alias
(autoray 0.11.0, cooper-optim 1.0.1, funsor 0.4.8, pytorch-revgrad 0.2.0: the versions
``.ci/run`` pins; their wheels leave the tests out) and unpack them into ``.venv/suites/``.
array-api-compat 1.16.0 ships its tests inside its wheel (``array_api_compat/tests``): nothing
to fetch for it.

``python tests/programs/prog_s26_LE14_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. ``pip download`` cannot take pytorch-revgrad's sdist (building its
metadata fails in pip's build environment), so its archive comes from the index's simple page
directly (``prog_s21_LE5_fetch.fetch_direct``: sha256 checked).

funsor's sdist leaves out its repository's ``test/conftest.py``, which picks the backend (NumPy
unless the environment names another): the fetch writes a conftest of its own that sets the
torch backend and, before each test, the double precision, Pyro seed and validation that
funsor's torch tests are written for.

Of LE14's list (s26), linear_operator, torchsde, unfoldNd, julius and ema-pytorch have their
suites run already (test_s15 / s16 / s17_LE_suites.py); torchcde 0.2.5, torchode 1.0.1,
torch-dct 0.1.6, torch-ema 0.3 and pytorch-tcn 1.2.3 ship no tests in their sdists (earlier
sessions' fetch programs say so); torchdyn 1.0.6's sdist and wheel hold no tests (looked at in
s26, straight from the index); geoopt 0.5.1 and kymatio 0.3.0 are wheels only, without tests.
Looked at in s26 beside them: geomloss 0.3.1's tests import ``generators`` and
``check_ot_result`` modules its sdist leaves out; torch-lr-finder 0.2.2's import ``task`` and
``dataset`` modules it leaves out; dadaptation 3.2, prodigyopt 1.1.2, adabelief-pytorch 0.2.1,
ttach 0.0.3, torchensemble 0.2.0, eagerpy 0.30.0, geotorch 0.4.0, cvxpylayers 1.2.0, snntorch
1.0.0, efficientnet-pytorch 0.7.1, TorchCRF 1.1.0, pykan 0.2.8 and torchsummary 1.5.1 ship no
tests in their sdists or wheels.
"""

import os
import sys

from le_harness import SUITES, fetch_all
from prog_s21_LE5_fetch import fetch_all_direct

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "autoray==0.11.0": "autoray-0.11.0",
    "cooper-optim==1.0.1": "cooper_optim-1.0.1",
    "funsor==0.4.8": "funsor-0.4.8",
}

# (name, version) -> folder: the sdists taken from the simple index directly (see above).
DIRECT = {
    ("pytorch-revgrad", "0.2.0"): "pytorch_revgrad-0.2.0",
}

_FUNSOR_CONFTEST = os.path.join(SUITES, "funsor-0.4.8", "test", "conftest.py")
_CONFTEST = '''"""Written by deltagrad's prog_s26_LE14_fetch.py: funsor's tests on its torch
backend, in double precision, with Pyro's seed and validation set before each test."""

import funsor.util

funsor.util.set_backend("torch")


def pytest_runtest_setup(item):
    import pyro
    import torch

    torch.set_default_dtype(torch.float64)
    pyro.set_rng_seed(0)
    pyro.enable_validation(True)
'''

if __name__ == "__main__":
    status = fetch_all(SDISTS) | fetch_all_direct(DIRECT)
    if os.path.isdir(os.path.dirname(_FUNSOR_CONFTEST)):
        with open(_FUNSOR_CONFTEST, "w") as f:
            f.write(_CONFTEST)
    sys.exit(status)
