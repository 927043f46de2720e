"""Hostile input left from earlier: gzip that decompresses without bound (CoNLL, GloVe and
predict inputs), and `train --resume` on a run that already finished."""

import gzip
import io

import pytest

from deltagrad.cli import main
from deltagrad.ner import conll, formats, vectors
from deltagrad.ner.conll import ConllFormatError, read_conll
from deltagrad.ner.vectors import VectorsFormatError, load_glove_text


def bomb(size: int) -> bytes:
    return gzip.compress(b"a O\n" * (size // 4), compresslevel=9)


def test_conll_gzip_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(conll, "GZIP_LIMIT", 10_000)
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(bomb(40_000))  # 4x the limit, from a few hundred bytes
    with pytest.raises(ConllFormatError, match="bomb.txt.gz:1: gzip data decompresses to more "
                                               "than 10,000 bytes"):
        read_conll(path)
    with pytest.raises(ConllFormatError, match="more than 10,000 bytes"):
        read_conll(gzip.GzipFile(fileobj=io.BytesIO(bomb(40_000))))  # a decompressing stream
    path.write_bytes(bomb(8_000))  # under the limit: read as before
    assert len(read_conll(path)) == 1


def test_vectors_gzip_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "GZIP_LIMIT", 10_000)
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(gzip.compress(b"a 1 2\n" * 5_000))
    with pytest.raises(VectorsFormatError, match="more than 10,000 bytes"):
        load_glove_text(path)
    path.write_bytes(gzip.compress(b"a 1 2\nb 3 4\n"))
    assert load_glove_text(path)[0] == ["a", "b"]


def test_predict_input_gzip_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(conll, "GZIP_LIMIT", 10_000)
    path = tmp_path / "texts.txt.gz"
    path.write_bytes(bomb(40_000))
    with pytest.raises(formats.InputError, match="more than 10,000 bytes"):
        list(formats.read_documents(str(path), "text"))


def test_resume_of_a_finished_run_says_it_finished(tiny_model_dir, capsys):
    assert main(["ner", "train", "--resume", str(tiny_model_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "this run already finished" in err and "no checkpoint to resume" not in err


def test_resume_without_any_run_still_says_no_checkpoint(tmp_path, capsys):
    assert main(["ner", "train", "--resume", str(tmp_path), "--no-progress"]) == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err
