"""torchkeras 4.0.5 under ``import deltagrad as torch`` (prog_s10_T24_torchkeras.py run on the
real PyTorch and under ``python -m deltagrad run``): KerasModel.fit over accelerate with a
stateful metric, early stopping on val_acc and the best checkpoint reloaded, evaluate(), the
history DataFrame, predictions, and summary()'s table agree.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
pytest.importorskip("accelerate")
pytest.importorskip("pandas")
if importlib.util.find_spec("torchkeras") is None:  # (not imported here: it needs IPython,
    pytest.skip("torchkeras is not installed", allow_module_level=True)  # the program stubs it)

HERE = os.path.dirname(os.path.abspath(__file__))

# Under soak since session 18 (its fixture: 12.7 CPU s with children, both sides importing
# accelerate and pandas): a fit loop over accelerate with a stateful metric, early stopping and
# the best checkpoint stays checked by default in test_s9_T9_third_party.py (ignite's metrics,
# early-stopping decisions and checkpoints) and test_s8_T8_lightning.py (callbacks, checkpoint
# resume); accelerate's prepare / accumulation in test_s9_T13_hf.py; a summary table character
# for character in test_s9_T9_third_party.py (torchinfo, torchsummary).
pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s10_T24_torchkeras")
    return run_both(os.path.join(HERE, "prog_s10_T24_torchkeras.py"), folder)


def test_fit_matches_torch(results):
    real, ours = results
    assert compare(real, ours, "fit", rtol=1e-5, atol=1e-6) >= 10
    assert len(real["fit.history.val_acc"]) >= 4  # early stopping fired at the same epoch


def test_summary_matches_torch(results):
    real, ours = results
    assert compare(real, ours, "summary", rtol=0, atol=0) == 1
    assert "Conv2d-1" in str(ours["summary.text"])
