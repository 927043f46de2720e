"""Fetch the source distributions whose own tests test_s20_LE3_suites.py runs under the alias
and unpack them into ``.venv/suites/``, each with a conftest that lets its CUDA-only tests run on
the CPU.

``python tests/programs/prog_s20_LE3_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work
is ``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import os
import sys

from le_harness import SUITES, fetch_all

# pip name and version -> the folder the sdist unpacks to. (schedulefree's wheel holds its test
# file too, but a conftest beside it would be written into site-packages.)
SDISTS = {
    "madgrad==1.3": "madgrad-1.3",
    "schedulefree==1.4.1": "schedulefree-1.4.1",
}

# Both suites put every tensor on the GPU with ``.cuda()`` (and nothing else CUDA-specific):
# beside their tests, a conftest makes ``Tensor.cuda`` return the tensor itself where CUDA is
# unavailable, on both sides alike, so that the optimizers' arithmetic is compared on the CPU.
_CPU_CONFTEST = '''"""(deltagrad's prog_s20_LE3_fetch.py) Tensor.cuda() stays on the CPU."""
import torch

if not torch.cuda.is_available():
    torch.Tensor.cuda = lambda self, device=None, non_blocking=False, **kwargs: self
'''

_TESTS = {"madgrad-1.3": "tests", "schedulefree-1.4.1": "schedulefree"}


def _shims() -> None:
    for sdist, folder in _TESTS.items():
        path = os.path.join(SUITES, sdist, folder)
        if os.path.isdir(path):
            with open(os.path.join(path, "conftest.py"), "w") as f:
                f.write(_CPU_CONFTEST)


if __name__ == "__main__":
    status = fetch_all(SDISTS)
    _shims()
    sys.exit(status)
