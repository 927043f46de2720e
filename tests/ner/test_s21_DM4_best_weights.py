"""A run ends with its best epoch's weights whether that epoch is the last one (the model holds
them: not decoded again, issue 18) or an earlier one (decoded from the kept rows)."""

from __future__ import annotations

import numpy as np
import pytest

from deltagrad.ner import training
from deltagrad.ner.checkpoint import RunState
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default

pytest.importorskip("seqeval")


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:80], load_default("dev")[:10]


@pytest.mark.parametrize("best", ["last", "first", "middle"])
def test_final_weights_are_the_best_epochs(data, monkeypatch, best):
    kept = {}

    class Recording(RunState):
        def end_epoch(self, f1, dev):
            # A made-up dev F1 picks the best epoch; each epoch's weights are copied here.
            f1 = {"last": self.epoch, "first": 9 - self.epoch,
                  "middle": 9 - abs(self.epoch - 2)}[best]
            kept[self.epoch] = {k: np.array(v.detach().numpy(), copy=True)
                                for k, v in self.model.state_dict().items()}
            super().end_epoch(float(f1), dev)

    monkeypatch.setattr(training, "RunState", Recording)
    config = TrainConfig(vectors="none", epochs=3, hidden=8, casing_dim=2, suffix_dim=2,
                         word_dim=4, batch_size=32, patience=10, seed=5, ensemble=1,
                         out="unused")
    result = training.train(config, progress=False, log=lambda _line: None, save=False,
                            train_sentences=data[0], dev_sentences=data[1])
    epoch = {"last": 3, "first": 1, "middle": 2}[best]
    assert result.best_epoch == epoch
    final = {k: v.detach().numpy() for k, v in result.model.state_dict().items()}
    assert all(np.array_equal(final[k], kept[epoch][k]) for k in final)
    assert not all(np.array_equal(final[k], kept[3 if epoch != 3 else 1][k]) for k in final)
