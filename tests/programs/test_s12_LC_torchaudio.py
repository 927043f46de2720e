"""torchaudio's functional, transforms, compliance.kaldi and models on deltagrad (LC, session 12).

``prog_s12_LC_torchaudio.py`` runs on the real PyTorch and under ``python -m deltagrad run``
(unchanged) with torchaudio on its path; the two must agree. torchaudio lives in
``.venv/tv-extra`` beside torchvision (``pip install --no-deps --target``): PyPI's newest wheel
(2.11.1) is built for an older torch, so its C++ extension cannot load under the real torch here
either; the program declares the extension absent on both sides and torchaudio takes its
Python code paths.
"""

from __future__ import annotations

import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
if not os.path.isdir(os.path.join(EXTRA, "torchaudio")):
    pytest.skip(f"torchaudio is not installed in {EXTRA}", allow_module_level=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_both(os.path.join(HERE, "prog_s12_LC_torchaudio.py"),
                    tmp_path_factory.mktemp("s12_LC_torchaudio"), env={"PYTHONPATH": EXTRA})


def test_functional(results):
    # (FFTs and long filters in float32: pocketfft and PyTorch's FFT round differently)
    assert compare(*results, "functional", rtol=1e-4, atol=2e-5) >= 55
    # torchaudio's Python lfilter loop writes its output in place: autograd refuses on both
    assert str(results[1]["functional.iir_grad"]) == "in-place"


def test_transforms(results):
    # (torchaudio.transforms imports torch.nn.modules.lazy: added in session 12)
    assert compare(*results, "transforms", rtol=1e-4, atol=2e-5) >= 30


def test_kaldi_compliance(results):
    assert compare(*results, "kaldi", rtol=1e-4, atol=1e-4) >= 6


def test_models_forward_and_training(results):
    assert compare(*results, "models", rtol=1e-4, atol=1e-5) >= 20
