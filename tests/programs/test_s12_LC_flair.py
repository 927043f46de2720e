"""flair's NER stack (BiLSTM-CRF SequenceTagger and its ModelTrainer) on deltagrad (LC, session 12).

``prog_s12_LC_flair.py`` runs on the real PyTorch and under ``python -m deltagrad run``
(unchanged): a corpus built in memory, one-hot and character embeddings stacked, the tagger
trained three epochs by flair's ModelTrainer (SGD, annealing, dev evaluation, loss log, final
model saved and loaded), then its loss, emissions, predictions and evaluation; the two runs
must agree.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from alias_runs import compare, run_both

pytest.importorskip("torch")
if importlib.util.find_spec("flair") is None:  # (not importorskip: flair's own import needs
    pytest.skip("flair is not installed", allow_module_level=True)  # the program's stand-ins)

HERE = os.path.dirname(os.path.abspath(__file__))

# Under soak since session 18 (its fixture: 13.1 CPU s with children, flair's import on each
# side most of it): a BiLSTM-CRF tagger trained a few steps (log-likelihoods, Viterbi paths,
# trajectories) stays checked by default in test_s9_T9_third_party.py (pytorch-crf, TorchCRF);
# the NER trainer with its CRF and evaluation in tests/ner (deltagrad's own NER model);
# ReduceLROnPlateau-style annealing in tests/optim/test_optim_schedulers.py.
pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_both(os.path.join(HERE, "prog_s12_LC_flair.py"),
                    tmp_path_factory.mktemp("s12_LC_flair"))


def test_flair_sequence_tagger_training_matches_torch(results):
    assert compare(*results, "tagger", rtol=1e-4, atol=1e-5) >= 20
    real, ours = results
    assert list(ours["tagger.tags"]) == ["LOC", "PER", "ORG"]
    assert ours["tagger.log.TRAIN_LOSS"][-1] < ours["tagger.log.TRAIN_LOSS"][0]  # (it learns)
