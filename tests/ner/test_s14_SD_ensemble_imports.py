"""An ensemble's parent imports seqeval before its members fork (issue 18: each member
imported it again, and the parent a third time for the ensemble's scores)."""

import os

import pytest

from deltagrad.ner import ensemble
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default

pytest.importorskip("seqeval")


class _Forked(Exception):
    pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="members run in processes only with fork")
def test_seqeval_is_imported_before_the_members_fork(monkeypatch, tmp_path):
    events = []
    real = ensemble.import_seqeval

    def imported():
        events.append("import")
        return real()

    def run_in_processes(todo, jobs, run_member, finished=None):
        events.append("fork")
        raise _Forked

    monkeypatch.setattr(ensemble, "import_seqeval", imported)
    monkeypatch.setattr(ensemble, "_run_in_processes", run_in_processes)
    config = TrainConfig(vectors="none", epochs=1, hidden=8, word_dim=4, casing_dim=2,
                         suffix_dim=2, ensemble=2, out=str(tmp_path))
    with pytest.raises(_Forked):
        ensemble.train_ensemble(config, progress=False, log=lambda _line: None, jobs=2,
                                train_sentences=load_default("train")[:20],
                                dev_sentences=load_default("dev")[:5])
    assert events == ["import", "fork"]


def test_import_seqeval_gives_install_hint(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "seqeval", None)
    with pytest.raises(ImportError, match=r"pip install 'deltagrad\[ner\]'"):
        ensemble.import_seqeval()
