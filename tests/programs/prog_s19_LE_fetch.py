"""Fetch the source distributions whose own test suites test_s19_LE_suites.py runs under the
alias (the wheels pinned in ``.ci/run`` leave their tests out) and unpack them into
``.venv/suites/``.

``python tests/programs/prog_s19_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI; the work
is ``le_harness.fetch_all``). An sdist already unpacked is kept. The versions are those the
installed wheels are pinned to in ``.ci/run``: a suite must test the code that is installed.
"""

import os
import sys

from le_harness import SUITES, fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "pytorch_wavelets==1.3.0": "pytorch_wavelets-1.3.0",
    "torch-pruning==1.6.1": "torch_pruning-1.6.1",
    "pytorch-ignite==0.5.5": "pytorch_ignite-0.5.5",
    "stable-baselines3==2.9.2": "stable_baselines3-2.9.2",
    "torch-einops-utils==0.2.0": "torch_einops_utils-0.2.0",
}

# pytorch_wavelets 1.3.0 reads its filter files with setuptools' pkg_resources, which setuptools
# 81 dropped: a conftest beside its tests puts the same stand-in in place on both sides.
_WAVELETS_CONFTEST = '''"""(deltagrad's prog_s19_LE_fetch.py) a pkg_resources.resource_stream."""
import importlib.util
import sys
import types
from importlib import resources

if importlib.util.find_spec("pkg_resources") is None:
    shim = types.ModuleType("pkg_resources")
    shim.resource_stream = (
        lambda package, name: resources.files(package).joinpath(name).open("rb"))
    sys.modules["pkg_resources"] = shim
'''


def _shim() -> None:
    folder = os.path.join(SUITES, "pytorch_wavelets-1.3.0", "tests")
    if os.path.isdir(folder):
        with open(os.path.join(folder, "conftest.py"), "w") as f:
            f.write(_WAVELETS_CONFTEST)


if __name__ == "__main__":
    status = fetch_all(SDISTS)
    _shim()
    sys.exit(status)
