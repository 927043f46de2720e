"""Fetch the source distributions whose own tests test_s21_LE5_suites.py runs under the alias
and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s21_LE5_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. The versions are those the installed wheels are pinned to in
``.ci/run``: a suite must test the code that is installed.

pytorch-minimize 0.1.0 goes through ``le_harness.fetch`` (``pip download``). auraloss 0.4.0's
sdist cannot: ``pip download`` builds an sdist's metadata before it keeps the file, and
auraloss's fails in the setuptools of pip's build environment (an AttributeError in
``pyprojecttoml.apply_configuration`` reading its ``pyproject.toml``), so this program takes
the archive from the index's simple page itself (PEP 503; only the standard library), checks
its sha256 there and unpacks it.

(Of LE5's list, torchode 1.0.1, torch-runstats 0.2.0, pytorch-tcn 1.2.3, piq 0.8.0 and
bayesian-torch 0.5.0 ship no tests in their sdists; pytorch-msssim 1.0.0's ``tests`` are scripts
under ``__main__`` that download their images; torchattacks 3.5.1 has no sdist on the index.)
"""

import hashlib
import io
import os
import re
import sys
import tarfile
import urllib.request

from le_harness import SUITES, fetch_all

# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "pytorch-minimize==0.1.0": "pytorch_minimize-0.1.0",
}

# (name, version) -> folder: the sdists taken from the simple index directly (see above).
DIRECT = {
    ("auraloss", "0.4.0"): "auraloss-0.4.0",
}

INDEX = "https://pypi.org/simple"


def fetch_direct(name: str, version: str, folder: str) -> None:
    """Download ``name``'s ``version`` sdist from the simple index, check its sha256 against
    the link's and unpack it into .venv/suites/ (unless ``folder`` is there)."""
    if os.path.isdir(os.path.join(SUITES, folder)):
        return
    with urllib.request.urlopen(f"{INDEX}/{name}/", timeout=120) as page:
        html = page.read().decode()
    archive = f"{name}-{version}.tar.gz"
    links = [link for link in re.findall(r'href="([^"]+)"', html)
             if link.split("#")[0].endswith("/" + archive)]
    if not links:
        raise ValueError(f"{archive} is not on {INDEX}/{name}/")
    url, _, digest = links[0].partition("#sha256=")
    with urllib.request.urlopen(url, timeout=300) as response:
        data = response.read()
    if digest and hashlib.sha256(data).hexdigest() != digest:
        raise ValueError(f"{archive}: sha256 differs from the index's")
    os.makedirs(SUITES, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(SUITES, filter="data")



def fetch_all_direct(direct: dict) -> int:
    """``fetch_direct`` each of ``direct``'s (name, version) -> folder; 1 if any failed (each
    failure printed), else 0."""
    status = 0
    for (name, version), folder in direct.items():
        try:
            fetch_direct(name, version, folder)
        except (ValueError, OSError) as error:
            print(f"not fetched: {name}=={version}: {error}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    status = fetch_all(SDISTS) | fetch_all_direct(DIRECT)
    sys.exit(status)
