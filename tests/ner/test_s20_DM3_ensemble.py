"""An ensemble's parent reads a finished member's model while the others still train (issue
18: the read left the critical path), with the same ensemble; a failed early read is read again
after the last member, as before."""

from __future__ import annotations

import time

import pytest

from deltagrad.ner import ensemble
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default
from deltagrad.ner.predict import log_probabilities

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")


def _config(out, **changes):
    base = dict(vectors="none", epochs=1, hidden=8, casing_dim=2, suffix_dim=2, word_dim=4,
                batch_size=32, patience=10, seed=3, out=str(out), ensemble=2)
    base.update(changes)
    return TrainConfig(**base)


def _quiet(_line):
    pass


def test_finished_is_called_for_members_that_end_while_others_run():
    calls = []

    def run_member(k, in_process):  # (in a forked process)
        time.sleep(0.0 if k == 0 else 0.4)

    ensemble._run_in_processes([0, 1], 2, run_member, calls.append)
    assert calls == [0]  # the last member's end frees nothing to overlap with
    calls.clear()
    ensemble._run_in_processes([0, 1], 1, run_member, calls.append)
    assert calls == []  # one at a time: the next member starts at once instead


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:120], load_default("dev")[:20]


@pytest.fixture(scope="module")
def in_process(data, tmp_path_factory):
    """The ensemble trained member after member in this process (nothing read back)."""
    return ensemble.train_ensemble(_config(tmp_path_factory.mktemp("one")), progress=False,
                                   log=_quiet, train_sentences=data[0], dev_sentences=data[1],
                                   jobs=1)


@pytest.mark.parametrize("fail_first", [False, True])
def test_members_read_early_give_the_same_ensemble(data, in_process, tmp_path, monkeypatch,
                                                   fail_first):
    train, dev = data
    reads = []
    real = ensemble.load_model

    def counting(directory, **kwargs):
        reads.append(str(directory))
        if fail_first and len(reads) == 1:
            raise ensemble.ModelError("not yet")  # an early read that fails is done again
        return real(directory, **kwargs)

    monkeypatch.setattr(ensemble, "load_model", counting)
    given = []  # the dev windows and scores: made early (unless that read failed), then used
    monkeypatch.setattr(ensemble, "score", lambda *args, _score=ensemble.score:
                        given.append(args) or _score(*args))
    side = ensemble.train_ensemble(_config(tmp_path / "two"), progress=False, log=_quiet,
                                   train_sentences=train, dev_sentences=dev, jobs=2)
    # One member read as it ended (the other still ran), the other after: each once, unless
    # the early read failed.
    assert len(reads) == (3 if fail_first else 2)
    assert sorted(set(reads)) == sorted(str(tmp_path / "two" / "members" / str(k))
                                        for k in range(2))
    assert [args[3] is not None for args in given] == [not fail_first]
    if not fail_first:  # the ensemble's scores, bit for bit those of its forward
        assert given[0][5].tobytes() == log_probabilities(side.model, given[0][3]).tobytes()
    assert side.dev_scores == in_process.dev_scores
    ours, theirs = side.model.state_dict(), in_process.model.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key].numpy().tobytes() == theirs[key].numpy().tobytes(), key


def test_softmax_members_scores_read_early(data, tmp_path, monkeypatch):
    given = []
    monkeypatch.setattr(ensemble, "score", lambda *args, _score=ensemble.score:
                        given.append(args) or _score(*args))
    side = ensemble.train_ensemble(_config(tmp_path, loss="softmax"), progress=False,
                                   log=_quiet, train_sentences=data[0], dev_sentences=data[1],
                                   jobs=2)
    (args,) = given
    assert args[5].tobytes() == log_probabilities(side.model, args[3]).tobytes()
