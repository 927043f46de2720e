"""The command line: train / evaluate / predict on a small file, and clear errors."""

import json
import subprocess
import sys

import pytest

from deltagrad.cli import main
from deltagrad.ner.conll import load_default, write_conll

pytest.importorskip("seqeval")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_conll(load_default("train")[:300], root / "train.txt")
    write_conll(load_default("dev")[:80], root / "dev.txt")
    return root


@pytest.fixture(scope="module")
def model_dir(files):
    out = files / "model"
    code = main(["ner", "train", "--train", str(files / "train.txt"), "--dev",
                 str(files / "dev.txt"), "--vectors", "none", "--epochs", "2", "--hidden", "32",
                 "--out", str(out), "--no-progress", "--batch-size", "64"])
    assert code == 0
    return out


def test_evaluate_json(model_dir, files, capsys):
    capsys.readouterr()
    assert main(["ner", "evaluate", "--model", str(model_dir), "--data",
                 str(files / "dev.txt"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    for key in ("precision", "recall", "f1"):
        assert 0.0 <= scores[key] <= 1.0
    assert "per_type" in scores


def test_predict_text_and_json(model_dir, capsys):
    capsys.readouterr()
    assert main(["ner", "predict", "--model", str(model_dir), "--json",
                 "Peter Blackburn visited Germany ."]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert line["tokens"] == ["Peter", "Blackburn", "visited", "Germany", "."]
    assert all({"type", "start", "end", "text"} <= set(e) for e in line["entities"])


def test_missing_model_is_one_clear_line(tmp_path, capsys):
    assert main(["ner", "evaluate", "--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such model directory" in err[0]


def test_malformed_data_file_names_file_and_line(tmp_path, model_dir, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_text("EU B-ORG\nrejects\n")
    assert main(["ner", "evaluate", "--model", str(model_dir), "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.txt:2" in err and "Traceback" not in err


def test_python_dash_m_and_unknown_option():
    out = subprocess.run([sys.executable, "-m", "deltagrad", "ner", "train", "--bogus"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "unrecognized arguments: --bogus" in out.stderr
