"""Fetch the source distributions whose own test suites test_s20_LE4_suites.py runs under the
alias (the wheels pinned in ``.ci/run`` leave their tests out) and unpack them into
``.venv/suites/``.

``python tests/programs/prog_s20_LE4_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. The versions are those the installed wheels are pinned to in
``.ci/run``: a suite must test the code that is installed.

POT's sdist cannot be fetched with ``--no-binary :all:`` (its build requirements, NumPy and
meson-python, would be built from source too), so only POT itself is taken as source here. Its
tests ask for a fixture ``nx`` (one backend per parameter) and ``pytest.skip_arg`` /
``pytest.skip_backend`` that its repository's conftest.py defines and its sdist leaves out: the
fetch writes a conftest of its own with them, ``nx`` the torch backend only (the brief: POT's
tests with the torch backend).

Left out (s20): torchode 1.0.1, asteroid-filterbanks 0.4.0 and torch-runstats 0.2.0 ship no
tests in their sdists; pytorch-minimize 0.1.0's one test only imports the package; piq 0.8.0's
sdist does not build its metadata (its setup.py reads a requirements.txt it leaves out);
pytorch-msssim 1.0.0's tests are scripts (no pytest tests; TensorFlow, an image file).
"""

import os
import subprocess
import sys
import tarfile
import tempfile

from le_harness import SUITES, fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "torchquad==0.6.0": "torchquad-0.6.0",
}

POT = ("pot==0.9.7.post1", "pot-0.9.7.post1")

# The fixtures POT's tests take from its repository's conftest.py (written here, not copied).
POT_CONFTEST = '''"""POT's test fixtures (LE4: its sdist leaves its conftest out): ``nx`` is the
torch backend only; ``pytest.skip_arg`` skips a test whose named arguments (read through ``getter``)
equal the values given; ``pytest.skip_backend(name)`` is ``skip_arg("nx", name, getter=str)``."""

import functools

import pytest
from ot.backend import get_backend_list

BACKENDS = [backend for backend in get_backend_list() if str(backend) == "torch"]


@pytest.fixture(params=BACKENDS, ids=str)
def nx(request):
    return request.param


def skip_arg(names, values, reason=None, getter=lambda value: value):
    names = tuple(names) if isinstance(names, (tuple, list)) else (names,)
    if len(names) == 1 or not isinstance(values, (tuple, list)):
        values = (values,)
    getters = tuple(getter) if isinstance(getter, (tuple, list)) else (getter,) * len(names)

    def decorate(function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            if all(name in kwargs and get(kwargs[name]) == value
                   for name, value, get in zip(names, values, getters)):
                pytest.skip(reason or f"{names} = {values} skipped")
            return function(*args, **kwargs)
        return wrapped
    return decorate


def pytest_configure(config):
    pytest.skip_arg = skip_arg
    pytest.skip_backend = functools.partial(skip_arg, "nx", getter=str)
'''


def fetch_pot() -> int:
    """POT's sdist unpacked (its build requirements as wheels) and its conftest written."""
    requirement, folder = POT
    path = os.path.join(SUITES, folder)
    try:
        if not os.path.isdir(path):
            os.makedirs(SUITES, exist_ok=True)
            with tempfile.TemporaryDirectory() as download:
                subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                                "--no-deps", "--no-binary", "pot", "--dest", download,
                                requirement], check=True)
                (archive,) = [name for name in os.listdir(download)
                              if name.endswith(".tar.gz")]
                with tarfile.open(os.path.join(download, archive)) as tar:
                    tar.extractall(SUITES, filter="data")
        with open(os.path.join(path, "test", "conftest.py"), "w") as out:
            out.write(POT_CONFTEST)
    except (subprocess.CalledProcessError, ValueError, OSError) as error:
        print(f"not fetched: {requirement}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(max(fetch_all(SDISTS), fetch_pot()))
