"""Hostile command lines: `deltagrad ner ...` exits 0, or 2 with one clear line; never a traceback.

What is thrown, in-process through ``deltagrad.cli.main`` (so a hang would hang one test, and a
traceback is an escaped exception): every ``train`` option with odd values (negative, zero,
``nan``, ``inf``, ``1e309``, ``1_0``, an Arabic digit, empty strings, words), files that are
missing, empty, directories, binary, UTF-16 or character devices for ``--train``, ``--dev``,
``--vectors``, ``--data``, ``--out``, ``--resume``, ``--model``; unknown options, missing values
and bad choices; ``compare`` and ``graph`` arguments. Then a few real ``python -m deltagrad``
processes, with a timeout, to show the process itself exits 2.

The contract: exit status 0, or 2 with exactly one non-empty stderr line starting with
``deltagrad: error:`` and no ``Traceback`` -- argparse's own errors and sizes too large to
allocate included.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltagrad.cli import main
from deltagrad.ner.conll import load_default, write_conll

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TINY = ["--vectors", "none", "--epochs", "1", "--hidden", "4", "--word-dim", "3",
        "--casing-dim", "1", "--suffix-dim", "1", "--batch-size", "64", "--no-progress"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-fuzz")
    paths = {
        "good": root / "good.txt",
        "empty": root / "empty.txt",
        "binary": root / "binary.bin",
        "utf16": root / "utf16.txt",
        "ragged": root / "ragged.txt",
        "glove-bad": root / "glove-bad.txt",
        "dir": root / "a-directory",
        "missing": root / "missing.txt",
    }
    write_conll(load_default("train")[:12], paths["good"])
    paths["empty"].write_bytes(b"")
    paths["binary"].write_bytes(bytes(range(256)) * 4)
    paths["utf16"].write_bytes("EU B-ORG\nrejects O\n".encode("utf-16"))
    paths["ragged"].write_text("EU B-ORG\nrejects\n", encoding="utf-8")
    paths["glove-bad"].write_text("the 1 2 3\nof 1 2\n", encoding="utf-8")
    paths["dir"].mkdir()
    model = root / "model"
    assert main(["ner", "train", "--train", str(paths["good"]), "--dev", str(paths["good"]),
                 *TINY, "--out", str(model)]) == 0
    paths["model"] = model
    paths["root"] = root
    return paths


def run(argv, capsys) -> tuple[int, str, str]:
    """main(argv) in-process: (status, stdout, stderr); argparse's SystemExit is a status."""
    capsys.readouterr()
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_clear_line(status, err) -> None:
    assert "Traceback" not in err, err[-3000:]
    assert status == 2, (status, err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("deltagrad: error: "), lines[0]
    assert len(lines[0]) < 1000, lines[0][:300]


def assert_contract(status, err, *, from_argparse_ok: bool = True) -> None:
    """0, or 2 with one clear line. argparse's usage+error pair is tolerated here (pinned by
    test_argparse_errors_are_one_line below)."""
    assert "Traceback" not in err, err[-3000:]
    if status == 0:
        return
    lines = [line for line in err.splitlines() if line.strip()]
    if from_argparse_ok and lines and lines[0].startswith("usage: "):
        assert status == 2 and ": error: " in lines[-1], err[-2000:]
        return
    assert_one_clear_line(status, err)


# --- train: odd values for every option ------------------------------------------------------

# Sizes are tiny or absurd (see test_absurd_sizes_are_one_line): a size that allocates 10 GB
# would hurt the machine, not find a bug.
NUMBERS = ["-1", "0", "1", "2", "0.5", "1.5", "-0.5", "nan", "inf", "-inf", "1e309", "abc", "",
           "1_0", "\u0663", "0x10", " 3", "-", "--"]
CHOICES = ["relu", "crf", "frozen", "none", "argmax", "sgd", "warmup-cosine", "softmax"]
PATH_KEYS = ["good", "empty", "binary", "utf16", "ragged", "glove-bad", "dir", "missing"]
TRAIN_OPTIONS = ["--window", "--hidden", "--casing-dim", "--suffix-dim", "--word-dim",
                 "--batch-size", "--seed", "--checkpoint-every", "--dropout", "--word-dropout",
                 "--lr", "--weight-decay", "--clip", "--embeddings", "--activation",
                 "--optimizer", "--schedule", "--decode", "--loss", "--vectors", "--train",
                 "--dev", "--out", "--resume", "--bogus", "-x"]


@st.composite
def train_arguments(draw, files):
    extra = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        option = draw(st.sampled_from(TRAIN_OPTIONS))
        value = draw(st.one_of(st.sampled_from(NUMBERS), st.sampled_from(CHOICES),
                               st.sampled_from(PATH_KEYS).map(lambda key: str(files[key])),
                               st.just("/dev/null")))
        extra += [option, value] if draw(st.floats(0, 1)) < 0.95 else [option]
    return extra


@FUZZ
@given(st.data())
def test_train_with_odd_arguments(files, capsys, monkeypatch, data):
    monkeypatch.chdir(files["root"])  # a stray relative --out lands here, not in the repo
    out = Path(tempfile.mkdtemp(dir=files["root"])) / "run"
    extra = data.draw(train_arguments(files))
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", out, *extra]
    status, _, err = run(argv, capsys)
    assert_contract(status, err)


@pytest.mark.parametrize("key", ["empty", "binary", "utf16", "ragged", "dir", "missing"])
@pytest.mark.parametrize("option", ["--train", "--dev"])
def test_bad_data_files_for_training(files, capsys, option, key):
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", files["root"] / "unused", option, files[key]]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)
    if key not in ("dir", "missing"):  # CoNLL errors say file:line
        assert f"{files[key]}:" in err


@pytest.mark.parametrize(
    ("value", "what"),
    [("glove-bad", "expected 3 values"), ("missing", "no vectors file"),
     ("dir", "no vectors file"), ("binary", "not valid UTF-8"), ("empty", "no vectors"),
     ("/dev/zero", "no vectors file")],
)
def test_bad_vectors(files, capsys, value, what):
    path = files.get(value, value)
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", files["root"] / "unused", "--vectors", path]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)
    assert what in err


@pytest.mark.parametrize(
    ("option", "value", "what"),
    [("--epochs", "0", "positive"), ("--epochs", "-3", "positive"),
     ("--hidden", "0", "positive"), ("--batch-size", "-1", "positive"),
     ("--lr", "nan", "lr"), ("--lr", "-1", "lr"), ("--dropout", "1", "dropout"),
     ("--dropout", "nan", "dropout"), ("--word-dropout", "-0.1", "word dropout"),
     ("--window", "-1", "window"), ("--word-dim", "0", "width"),
     ("--checkpoint-every", "-1", "checkpoint"), ("--seed", "-1", "")],
)
def test_invalid_settings(files, capsys, option, value, what):
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", files["root"] / "unused", option, value]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)
    assert what in err


def test_out_is_a_file_or_under_one(files, capsys):
    for out in (files["good"], files["good"] / "below"):
        argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
                "--out", out]
        status, _, err = run(argv, capsys)
        assert_one_clear_line(status, err)


@pytest.mark.parametrize("resume", ["missing", "dir", "model", "good"])
def test_resume_without_a_checkpoint(files, capsys, resume):
    status, _, err = run(["ner", "train", "--resume", files[resume], "--no-progress"], capsys)
    assert_one_clear_line(status, err)
    assert "checkpoint" in err


def test_resume_with_a_garbage_checkpoint(files, capsys):
    folder = Path(tempfile.mkdtemp(dir=files["root"]))
    (folder / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}" * 9)
    status, _, err = run(["ner", "train", "--resume", folder, "--no-progress"], capsys)
    assert_one_clear_line(status, err)


@pytest.mark.parametrize("extra", [["--optimizer", "rmsprop"],
                                   ["--optimizer", "adamw", "--weight-decay", "0.01"],
                                   ["--optimizer", "adamw", "--weight-decay", "0.01", "--loss",
                                    "crf"]],
                         ids=["rmsprop", "adamw-decay", "adamw-decay-crf"])
def test_every_listed_optimizer_trains(files, capsys, extra):
    """Found by combining options: choices --help lists must work (or fail in one line)."""
    out = Path(tempfile.mkdtemp(dir=files["root"])) / "run"
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", out, *extra]
    status, _, err = run(argv, capsys)
    assert status == 0, err[-2000:]


@pytest.mark.parametrize(("optimizer", "extra"), [
    ("adam", ["--loss", "crf"]),
    ("adamw", ["--schedule", "warmup-cosine"]),
    ("sgd", ["--casing-dim", "0", "--suffix-dim", "0", "--window", "0"]),
    ("adagrad", ["--loss", "crf", "--schedule", "step"]),
], ids=["adam-crf", "adamw-warmup", "sgd-words-only", "adagrad-crf-step"])
def test_optimizers_with_other_options_train(files, capsys, optimizer, extra):
    out = Path(tempfile.mkdtemp(dir=files["root"])) / "run"
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", out, "--optimizer", optimizer, *extra]
    status, _, err = run(argv, capsys)
    assert status == 0, err[-2000:]




@pytest.mark.parametrize("extra", [["--lr", "inf"], ["--lr", "1e309"], ["--clip", "inf"],
                                   ["--weight-decay", "inf", "--optimizer", "adamw"]],
                         ids=["lr-inf", "lr-1e309", "clip-inf", "weight-decay-inf"])
def test_non_finite_settings_are_refused(files, capsys, extra):
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", files["root"] / "unused", *extra]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)
    assert extra[0].lstrip("-").replace("-", " ") in err  # the setting is named


ABSURD = {
    "hidden": ["--hidden", "1000000000000"],
    "window": ["--window", "1000000000000"],
    "word-dim": ["--word-dim", "1000000000000"],
    "casing-dim": ["--casing-dim", "1000000000000"],
}


@pytest.mark.parametrize("extra", list(ABSURD.values()), ids=list(ABSURD))
def test_absurd_sizes_are_one_line(files, capsys, extra):
    argv = ["ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
            "--out", files["root"] / "unused", *extra]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)


# --- evaluate, predict, graph, compare -------------------------------------------------------


@pytest.mark.parametrize("key", ["empty", "binary", "utf16", "ragged", "dir", "missing"])
def test_evaluate_bad_data(files, capsys, key):
    argv = ["ner", "evaluate", "--model", files["model"], "--data", files[key]]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)


@pytest.mark.parametrize("key", ["good", "empty", "dir", "missing"])
@pytest.mark.parametrize("command", ["evaluate", "predict", "graph"])
def test_model_that_is_not_a_model(files, capsys, command, key):
    argv = ["ner", command, "--model", files[key]]
    if command == "predict":
        argv.append("some text")
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)


def test_evaluate_tags_the_model_never_saw(files, capsys):
    path = files["root"] / "new-type.txt"
    path.write_text("Zork B-ALIEN\nlands O\n", encoding="utf-8")
    status, _, err = run(["ner", "evaluate", "--model", files["model"], "--data", path], capsys)
    assert_one_clear_line(status, err)


@FUZZ
@given(st.lists(st.text(max_size=30), min_size=1, max_size=4), st.booleans())
def test_predict_any_text(files, capsys, texts, as_json):
    argv = ["ner", "predict", "--model", files["model"], *(["--json"] if as_json else []), "--",
            *texts]
    status, out, err = run(argv, capsys)
    assert_contract(status, err, from_argparse_ok=False)


def test_predict_a_huge_line(files, capsys):
    status, out, err = run(["ner", "predict", "--model", files["model"], "x" * 1_000_000 + " ."],
                           capsys)
    assert status == 0 and "Traceback" not in err


@pytest.mark.parametrize("batch", ["-5", "0", "1", "1000000"])
def test_graph_batch_sizes(files, capsys, batch):
    out = Path(tempfile.mkdtemp(dir=files["root"])) / "g.dot"
    argv = ["ner", "graph", "--model", files["model"], "--batch", batch, "--out", out]
    status, _, err = run(argv, capsys)
    assert_contract(status, err)


@pytest.mark.parametrize("fraction", ["0", "-1", "nan", "2", "inf"])
def test_compare_train_fraction(files, capsys, fraction):
    argv = ["ner", "compare", "--train", files["good"], "--dev", files["good"], "--out",
            files["root"] / "compare", "--train-fraction", fraction]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)


def test_compare_bad_train_file_fails_before_loading_vectors(files, capsys):
    argv = ["ner", "compare", "--train", files["ragged"], "--out", files["root"] / "compare"]
    status, _, err = run(argv, capsys)
    assert_one_clear_line(status, err)


# --- argparse's own errors -----------------------------------------------------------------

ARGPARSE_ERRORS = {
    "unknown-option": ["ner", "train", "--bogus"],
    "missing-value": ["ner", "train", "--hidden"],
    "not-an-int": ["ner", "train", "--hidden", "many"],
    "not-a-float": ["ner", "train", "--lr", "fast"],
    "bad-choice": ["ner", "train", "--optimizer", "lbfgs"],
    "missing-model": ["ner", "evaluate"],
    "unknown-command": ["ner", "fly"],
    "unknown-top-command": ["nre"],
}


@pytest.mark.parametrize("argv", list(ARGPARSE_ERRORS.values()), ids=list(ARGPARSE_ERRORS))
def test_argparse_errors_exit_2_without_traceback(capsys, argv):
    status, _, err = run(argv, capsys)
    assert_contract(status, err)
    assert status == 2


@pytest.mark.parametrize("argv", list(ARGPARSE_ERRORS.values()), ids=list(ARGPARSE_ERRORS))
def test_argparse_errors_are_one_line(capsys, argv):
    capsys.readouterr()
    status = main(argv)  # returns, like every other error
    assert_one_clear_line(status, capsys.readouterr().err)


@pytest.mark.parametrize("argv", [[], ["ner"]], ids=["nothing", "ner-alone"])
def test_no_command_prints_help_and_exits_2(capsys, argv):
    """Documented: without a command the help goes to stdout and the status is 2."""
    status, out, err = run(argv, capsys)
    assert status == 2 and "usage:" in out and "Traceback" not in err


# --- the real process ------------------------------------------------------------------------


def process(*argv, stdin=b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagrad", *map(str, argv)], input=stdin,
                          capture_output=True, timeout=120)


def test_process_missing_model_exits_2(files):
    result = process("ner", "evaluate", "--model", files["missing"])
    assert_one_clear_line(result.returncode, result.stderr.decode())


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_process_train_on_dev_zero_exits_2_at_once(files):
    """Reading /dev/zero never ends; the reader refuses character devices instead."""
    result = process("ner", "train", "--train", "/dev/zero", "--dev", files["good"], *TINY,
                     "--out", files["root"] / "unused")
    assert_one_clear_line(result.returncode, result.stderr.decode())
    assert "character device" in result.stderr.decode()


def test_process_bad_data_and_unknown_option_exit_2(files):
    result = process("ner", "evaluate", "--model", files["model"], "--data", files["binary"])
    assert_one_clear_line(result.returncode, result.stderr.decode())
    result = process("ner", "train", "--bogus")
    assert result.returncode == 2 and b"Traceback" not in result.stderr


@pytest.mark.parametrize("stdin", [b"", b"\xff\xfe garbage \x00\n", b"Peter went to Paris .\n",
                                   b"x" * 200_000 + b"\n"], ids=["empty", "binary", "text", "long"])
def test_process_predict_from_stdin(files, stdin):
    """Undecodable stdin bytes are passed through (surrogate escapes), never a traceback."""
    result = process("ner", "predict", "--model", files["model"], stdin=stdin)
    assert b"Traceback" not in result.stderr
    assert result.returncode in (0, 2)
    if result.returncode == 2:
        assert_one_clear_line(2, result.stderr.decode(errors="replace"))


def test_process_infinite_learning_rate_is_one_line(files):
    """In a real process NumPy's RuntimeWarnings reach stderr (pytest hides them in-process)."""
    result = process("ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
                     "--out", files["root"] / "unused", "--lr", "inf")
    assert_one_clear_line(result.returncode, result.stderr.decode())


def test_process_absurd_size_exits_2(files):
    result = process("ner", "train", "--train", files["good"], "--dev", files["good"], *TINY,
                     "--out", files["root"] / "unused", "--hidden", "1000000000000")
    assert_one_clear_line(result.returncode, result.stderr.decode())

