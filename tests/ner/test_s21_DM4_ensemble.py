"""An ensemble's critical path (issue 18): the parent imports seqeval with its garbage collector
off and freezes what it holds before its members fork (their full collections walked the
parent's modules and sentences again, 0.15 CPU s each), its collector as it was afterwards; a
member's process saves its best epoch's raw dev scores, which the parent reads instead of
scoring the member again (the same bits), and makes them again from an unusable file."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

import numpy as np
import pytest

from deltagrad.ner import ensemble
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:60], load_default("dev")[:10]


@pytest.mark.parametrize("collecting", [True, False])
def test_collector_frozen_for_the_members_then_restored(data, tmp_path, monkeypatch,
                                                         collecting):
    seen = {}
    import_seqeval, run_in_processes = ensemble.import_seqeval, ensemble._run_in_processes

    def importing():
        seen["import"] = gc.isenabled()
        return import_seqeval()

    def running(*args, **kwargs):
        seen["frozen"] = gc.get_freeze_count()
        return run_in_processes(*args, **kwargs)

    monkeypatch.setattr(ensemble, "import_seqeval", importing)
    monkeypatch.setattr(ensemble, "_run_in_processes", running)
    config = TrainConfig(vectors="none", epochs=1, hidden=8, casing_dim=2, suffix_dim=2,
                         word_dim=4, batch_size=32, seed=3, out=str(tmp_path), ensemble=2)
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        result = ensemble.train_ensemble(config, progress=False, log=lambda _line: None,
                                         train_sentences=data[0], dev_sentences=data[1],
                                         jobs=2)
        assert gc.isenabled() == collecting and gc.get_freeze_count() == 0
    finally:
        (gc.enable if was else gc.disable)()
    assert seen["import"] is False and seen["frozen"] > 0
    assert len(result.model.members) == 2


def test_members_hand_their_dev_scores_to_the_parent(data, tmp_path, monkeypatch):
    # A member's process saves its best epoch's raw dev scores; the parent reads them instead
    # of scoring the member's model again: the same bits as that scoring.
    read = []
    scores_of = ensemble._scores_of

    def checked(member, loaded, dev_data):
        scores = scores_of(member, loaded, dev_data)
        again = ensemble._member_scores(loaded.model, dev_data)
        assert scores.dtype == again.dtype and np.array_equal(scores, again)
        read.append((Path(member.out) / ensemble.SCORES_FILE).is_file())
        return scores

    monkeypatch.setattr(ensemble, "_scores_of", checked)
    config = TrainConfig(vectors="none", epochs=2, hidden=8, casing_dim=2, suffix_dim=2,
                         word_dim=4, batch_size=32, seed=4, out=str(tmp_path), ensemble=2)
    result = ensemble.train_ensemble(config, progress=False, log=lambda _line: None,
                                     train_sentences=data[0], dev_sentences=data[1], jobs=2)
    assert read == [True, True]
    alone = ensemble.train_ensemble(dataclasses.replace(config, out=str(tmp_path / "alone")),
                                    progress=False, log=lambda _line: None,
                                    train_sentences=data[0], dev_sentences=data[1], jobs=1)
    assert result.dev_scores == alone.dev_scores


def test_unusable_saved_scores_are_made_again(data, tmp_path):
    # A scores file that is not a float32 [dev tokens, n_tags] array (or not an array at all)
    # is left aside: the member's scores are made from its model, as without a file.
    from deltagrad.ner.model_dir import load_model
    from deltagrad.ner.training import train

    config = TrainConfig(vectors="none", epochs=1, hidden=8, casing_dim=2, suffix_dim=2,
                         word_dim=4, batch_size=32, seed=6, out=str(tmp_path), ensemble=1)
    result = train(config, progress=False, log=lambda _line: None, train_sentences=data[0],
                   dev_sentences=data[1])
    loaded = load_model(tmp_path)
    dev_data = loaded.features.encode(data[1])
    made = ensemble._member_scores(loaded.model, dev_data)
    assert np.array_equal(result.dev_raw_scores, made)  # what a member's process saves
    path = tmp_path / ensemble.SCORES_FILE
    for bad in (made.astype(np.float64), made[1:], np.zeros_like(made)):
        np.save(path, bad)
        scores = ensemble._scores_of(config, loaded, dev_data)
        assert np.array_equal(scores, made if bad.shape != made.shape or bad.dtype != made.dtype
                              else bad)  # (a well-formed file is taken as it is)
    path.write_bytes(b"not an array")
    assert np.array_equal(ensemble._scores_of(config, loaded, dev_data), made)
    path.unlink()
    assert np.array_equal(ensemble._scores_of(config, loaded, dev_data), made)
