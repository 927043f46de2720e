"""Fetch the source distributions whose own test suites test_s14_LE_suites.py runs under the
alias (their wheels leave the tests out) and unpack them into ``.venv/suites/``.

``python tests/programs/prog_s14_LE_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An
sdist already unpacked is kept. The versions are those the project's wheels are pinned to in
``.ci/run``: a suite must test the code that is installed.
"""

import os
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITES = os.path.join(ROOT, ".venv", "suites")
# pip name and version -> the folder the sdist unpacks to.
SDISTS = {
    "zuko==1.6.0": "zuko-1.6.0",
    "nflows==0.14": "nflows-0.14",
    "torch-optimizer==0.3.0": "torch-optimizer-0.3.0",
    "gpytorch==1.15.2": "gpytorch-1.15.2",
    "accelerate==1.16.0": "accelerate-1.16.0",
    "pyro-ppl==1.9.2": "pyro_ppl-1.9.2",
}


def fetch(requirement: str, folder: str) -> None:
    if os.path.isdir(os.path.join(SUITES, folder)):
        return
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "--dest", download, requirement], check=True)
        (archive,) = [name for name in os.listdir(download) if name.endswith(".tar.gz")]
        with tarfile.open(os.path.join(download, archive)) as tar:
            tar.extractall(SUITES, filter="data")


def main() -> int:
    os.makedirs(SUITES, exist_ok=True)
    failed = []
    for requirement, folder in SDISTS.items():
        try:
            fetch(requirement, folder)
        except (subprocess.CalledProcessError, ValueError, OSError) as error:
            failed.append(f"{requirement}: {error}")
    for line in failed:
        print(f"not fetched: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
