"""The Dive into Deep Learning book's ``d2l.torch`` library on deltagrad (LC, session 12).

``prog_s12_LC_d2l.py`` runs on the real PyTorch and under ``python -m deltagrad run``
(unchanged): the book's Trainer fitting its scratch and concise linear regression, softmax
regression, LeNet, scratch RNN and GRU language models, a GRU seq2seq, its attention functions,
Transformer encoder and BERT, on small synthetic data; the two runs must agree (parameters,
the losses the progress board recorded, predictions). d2l imports torchvision, which lives in
``.venv/tv-extra``.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
if importlib.util.find_spec("d2l") is None or not os.path.isdir(os.path.join(EXTRA,
                                                                            "torchvision")):
    pytest.skip("d2l, or torchvision in .venv/tv-extra, is not installed",
                allow_module_level=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_both(os.path.join(HERE, "prog_s12_LC_d2l.py"),
                    tmp_path_factory.mktemp("s12_LC_d2l"), env={"PYTHONPATH": EXTRA})


@pytest.mark.parametrize("section, least", [("linear", 10), ("classify", 14), ("rnn", 6),
                                            ("seq2seq", 6), ("attention", 15)])
def test_d2l_chapter_matches_torch(results, section, least):
    assert compare(*results, section, rtol=1e-4, atol=1e-5) >= least
