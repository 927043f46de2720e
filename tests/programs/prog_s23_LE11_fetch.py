"""Fetch the source distribution whose own tests test_s23_LE11_suites.py runs under the alias
(einconv 0.1.0, the version ``.ci/run`` pins; its wheel leaves the tests out) and unpack it into
``.venv/suites/``.

``python tests/programs/prog_s23_LE11_fetch.py`` (``.ci/run`` calls it; it needs PyPI). An sdist
already unpacked is kept. ``pip download`` cannot take einconv's sdist (building its metadata
fails in pip's build environment), so the archive comes from the index's simple page directly
(``prog_s21_LE5_fetch.fetch_direct``: sha256 checked).

The other libraries of LE11's list ship no tests that could run here (s23, sdists and wheels
looked at): torch-complex 0.4.4, asdfghjkl 0.1a4, d2l 1.0.3 and torchkeras 4.0.5 hold no tests;
torcheval 0.0.7 only its ``test_utils`` helpers (no tests); fastai 2.8.12 only
``fastai/test_utils.py`` (its tests are notebooks); nnAudio 0.3.4's import a ``parameters``
module it leaves out, librosa (not installed) and librosa's downloaded example audio;
flair 0.15.1's model tests read ``tests/resources`` (corpora, embeddings), which its sdist
leaves out. Earlier sessions found none in pytorch-metric-learning 2.9.0 (s16, s21), torch-dct,
asteroid-filterbanks, pytorch-tcn, piq, torchode (s17-s21); pytorch-msssim's are scripts (s18);
entmax's and torch-struct's run in test_s15 / test_s17_LE_suites.py.
"""

import sys

from prog_s21_LE5_fetch import fetch_all_direct

# (name, version) -> the folder the sdist unpacks to.
DIRECT = {
    ("einconv", "0.1.0"): "einconv-0.1.0",
}


if __name__ == "__main__":
    status = fetch_all_direct(DIRECT)
    sys.exit(status)
