"""Damaged model directories: `deltagrad ner evaluate|predict --model DIR` fail in one clear line.

One tiny model is trained per module; each example copies its directory and damages the copy:
a file deleted, weights.safetensors truncated at a random byte or with random bytes flipped,
random bytes flipped or non-UTF-8 bytes put in a JSON file, a JSON value replaced by one of the
wrong type, JSON nested 200,000 deep, shapes and vocabulary sizes changed, the config's format
and version tampered with, and hostile sizes (a 10**12-unit hidden layer) that must not be
allocated. The resume checkpoint of an interrupted run (`train --resume DIR`) gets the same:
flipped and truncated bytes, and a structure re-saved by hand without keys or with wrong types.

The contract, checked in-process through ``deltagrad.cli.main``: exit status 2 and exactly one
non-empty stderr line, ``deltagrad: error: ...`` naming the model directory, no traceback -- or
success when the damage is harmless. Harmless damage (documented here, and pinned by
``test_harmless_damage_is_documented``):

- weights.safetensors: none. Every truncation and every changed byte of tensor data, dtype,
  shape or metadata fails (CRC-32s and a checksummed header); a byte changed inside the
  header's padding may load, and then loads the same weights (same predictions).
- config.json: keys that only describe the run (``deltagrad``, ``best_epoch``, ``dev_scores``,
  ``train.train`` / ``dev`` / ``out`` / ``epochs`` / ``seed`` ...) load whatever their value
  as long as ``train`` still validates; ``train.activation`` and ``train.dropout`` are trusted
  (another valid activation changes the predictions without an error: the config is not signed).
- vocab.json / suffixes.json: entries can be renamed (a word or suffix then maps elsewhere);
  the ``lookup`` note is free text. The JSON files carry no checksum.
"""

import contextlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import deltagrad as dg
from deltagrad.cli import main
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default, write_conll
from deltagrad.ner.model_dir import MODEL_VERSION
from deltagrad.ner.training import TrainingInterrupted, train
from deltagrad.ner.vocab import TagSet, Vocabulary

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FILES = ["config.json", "weights.safetensors", "vocab.json", "tags.json", "suffixes.json"]
JSON_FILES = ["config.json", "vocab.json", "tags.json", "suffixes.json"]
SENTENCE = "Peter Blackburn visited Germany and the EU ."


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("model-dir")
    train, data = root / "train.txt", root / "eval.txt"
    write_conll(load_default("train")[:100], train)
    write_conll(load_default("dev")[:10], data)
    model = root / "model"
    code = main(["ner", "train", "--train", str(train), "--dev", str(train), "--vectors", "none",
                 "--epochs", "1", "--hidden", "8", "--casing-dim", "2", "--suffix-dim", "2",
                 "--word-dim", "4", "--batch-size", "64", "--no-progress", "--out", str(model)])
    assert code == 0
    assert sorted(path.name for path in model.iterdir()) == sorted(FILES)
    return {"root": root, "model": model, "data": data}


@pytest.fixture(scope="module")
def baseline(trained):
    """What the undamaged model answers, to compare harmless damage with."""
    return {command: run(command, trained["model"], trained["data"])[1] for command in COMMANDS}


COMMANDS = ("evaluate", "predict")


def run(command: str, model: Path, data: Path) -> tuple[int, str, str]:
    argv = (["ner", "evaluate", "--model", str(model), "--data", str(data), "--json"]
            if command == "evaluate" else ["ner", "predict", "--model", str(model), SENTENCE])
    return cli(argv)


def cli(argv: list[str]) -> tuple[int, str, str]:
    """Runs the CLI in-process: (status, stdout, stderr); any exception escapes. (Not capsys:
    module-scoped fixtures run it too.)"""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:  # argparse
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


def copy_model(trained) -> Path:
    target = Path(tempfile.mkdtemp(dir=trained["root"])) / "model"
    shutil.copytree(trained["model"], target)
    return target


def check(status, out, err, model: Path, *, may_succeed: bool) -> bool:
    """The contract; returns True when the command succeeded."""
    assert "Traceback" not in err, err[-3000:]
    if status == 0 and may_succeed:
        return True
    assert status == 2, (status, err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-2000:]
    assert lines[0].startswith("deltagrad: error: "), lines[0]
    assert str(model) in lines[0], f"the error does not name the model directory: {lines[0]}"
    assert len(lines[0]) < 2000, lines[0][:300]
    return False


# --- files deleted, truncated, flipped -------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("command", COMMANDS)
def test_missing_file(trained, name, command):
    model = copy_model(trained)
    (model / name).unlink()
    status, out, err = run(command, model, trained["data"])
    check(status, out, err, model, may_succeed=False)
    assert name in err and "missing" in err


@FUZZ
@given(st.floats(min_value=0, max_value=1, exclude_max=True), st.sampled_from(COMMANDS))
def test_truncated_weights(trained, where, command):
    model = copy_model(trained)
    weights = model / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(where * len(data))])
    check(*run(command, model, trained["data"]), model, may_succeed=False)


@FUZZ
@given(st.lists(st.tuples(st.floats(min_value=0, max_value=1, exclude_max=True),
                          st.integers(min_value=1, max_value=255)), min_size=1, max_size=3),
       st.sampled_from(COMMANDS))
def test_flipped_bytes_in_weights(trained, baseline, flips, command):
    model = copy_model(trained)
    weights = model / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    weights.write_bytes(bytes(data))
    status, out, err = run(command, model, trained["data"])
    if check(status, out, err, model, may_succeed=True):
        assert out == baseline[command], "damaged weights loaded as different weights"


@FUZZ
@given(st.sampled_from(JSON_FILES),
       st.lists(st.tuples(st.floats(min_value=0, max_value=1, exclude_max=True),
                          st.integers(min_value=1, max_value=255)), min_size=1, max_size=3),
       st.sampled_from(COMMANDS))
def test_flipped_bytes_in_json(trained, name, flips, command):
    model = copy_model(trained)
    path = model / name
    data = bytearray(path.read_bytes())
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    path.write_bytes(bytes(data))
    check(*run(command, model, trained["data"]), model, may_succeed=True)


@FUZZ
@given(st.sampled_from(JSON_FILES), st.floats(min_value=0, max_value=1),
       st.sampled_from([b"\xff", b"\xc3", b"\x80\x80", b"\xed\xa0\x80", b"\xfe\xff"]))
def test_non_utf8_bytes_in_json(trained, name, where, junk):
    model = copy_model(trained)
    path = model / name
    data = path.read_bytes()
    cut = int(where * len(data))
    path.write_bytes(data[:cut] + junk + data[cut:])
    check(*run("evaluate", model, trained["data"]), model, may_succeed=False)


# --- JSON values of the wrong type -----------------------------------------------------------


def json_paths(value, prefix=()):
    """Every key path in a JSON value (dict keys and list indices), parents first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:4]):  # a vocabulary has thousands: a few will do
            yield from json_paths(item, (*prefix, index))


def replaced(document, path, value):
    if not path:
        return value
    document = json.loads(json.dumps(document))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


# Sizes are small or far beyond any memory: a 10 GB allocation that succeeds would hurt the
# machine, not find a bug.
wrong_values = st.one_of(
    st.sampled_from([None, True, False, 0, 1, 3, -1, 2.5, -0.5, 10**12, -(10**12), 10**30, "",
                     "x", "O", "<unk>", [], [1], ["O", "O"], {}, {"a": 1}, float("nan")]),
    st.text(max_size=4),
)


def damage_json(trained, name, choose, value):
    model = copy_model(trained)
    path = model / name
    document = json.loads(path.read_text(encoding="utf-8"))
    key_path = choose(list(json_paths(document)))
    path.write_text(json.dumps(replaced(document, key_path, value)), encoding="utf-8")
    return model, key_path


@FUZZ
@given(st.sampled_from(["vocab.json", "tags.json", "suffixes.json"]), st.data(), wrong_values)
def test_wrong_types_in_vocabularies(trained, name, data, value):
    model, key_path = damage_json(trained, name, lambda paths: data.draw(st.sampled_from(paths)),
                                  value)
    for command in COMMANDS:
        check(*run(command, model, trained["data"]), model, may_succeed=True)


@settings(FUZZ, phases=[Phase.explicit, Phase.generate])  # no shrinking: known to fail
@given(st.data(), wrong_values)
def test_wrong_types_in_config(trained, data, value):
    model, key_path = damage_json(trained, "config.json",
                                  lambda paths: data.draw(st.sampled_from(paths)), value)
    check(*run("evaluate", model, trained["data"]), model, may_succeed=True)


any_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=5), st.sampled_from(["<pad>", "<unk>", "O", "B-X", "I-X"])),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=5), children, max_size=3)),
    max_leaves=12,
)


@FUZZ
@given(st.sampled_from([(Vocabulary, "deltagrad.ner.Vocabulary", "words"),
                        (TagSet, "deltagrad.ner.TagSet", "tags")]),
       st.one_of(any_json, st.lists(st.one_of(any_json, st.sampled_from(["<pad>", "<unk>", "O"])),
                                    max_size=6)),
       st.sampled_from([1, True, 2, "1", None]))
def test_vocabulary_json_raises_only_value_error(kind, entries, version):
    """Whatever the JSON holds: a vocabulary, or ValueError (load_model turns it into one line)."""
    cls, format_name, key = kind
    for document in (entries, {"format": format_name, "version": version, key: entries}):
        try:
            cls.from_json(json.dumps(document))
        except ValueError as error:
            assert "\n" not in str(error) and len(str(error)) < 500


INFORMATIONAL = ["deltagrad", "best_epoch", "dev_scores"]


@FUZZ
@given(st.sampled_from(INFORMATIONAL), wrong_values)
def test_informational_config_keys_are_harmless(trained, baseline, key, value):
    model, _ = damage_json(trained, "config.json", lambda paths: (key,), value)
    status, out, err = run("evaluate", model, trained["data"])
    assert check(status, out, err, model, may_succeed=True)
    assert out == baseline["evaluate"]


# --- shapes, sizes, format and version -------------------------------------------------------


def edit_json(model: Path, name: str, change) -> None:
    path = model / name
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


def set_key(*keys_and_value):
    *keys, value = keys_and_value

    def change(document):
        for key in keys[:-1]:
            document = document[key]
        document[keys[-1]] = value

    return change


def add_word(document):
    document["words"].append("zzz-new-word")


def drop_tag_pair(document):
    document["tags"] = document["tags"][:-2]


FAILING_EDITS = {
    "format": [("config.json", set_key("format", "deltagrad-ner-2"))],
    "version-next": [("config.json", set_key("version", MODEL_VERSION + 1))],
    "version-true": [("config.json", set_key("version", True))],  # JSON true: not a version
    "version-string": [("config.json", set_key("version", "1"))],
    "decode": [("config.json", set_key("decode", "beam"))],
    "train-not-dict": [("config.json", set_key("train", [1, 2]))],
    "unknown-train-key": [("config.json", set_key("train", "bogus", 1))],
    "vocab-size": [("config.json", set_key("model", "vocab_size", 9999))],
    "vocab-grown": [("vocab.json", add_word)],
    "vocab-and-config-grown": [("vocab.json", add_word),
                               ("config.json", lambda d: d["model"].update(
                                   vocab_size=d["model"]["vocab_size"] + 1))],
    "tags-shrunk": [("tags.json", drop_tag_pair),
                    ("config.json", lambda d: d["model"].update(n_tags=d["model"]["n_tags"] - 2))],
    "hidden": [("config.json", set_key("train", "hidden", 9))],
    "window": [("config.json", set_key("train", "window", 1))],
    "casing-off": [("config.json", set_key("train", "casing_dim", 0))],
    "word-dim": [("config.json", set_key("model", "word_dim", 5))],
    "loss-switched": [("config.json", set_key("train", "loss", "softmax"))],  # trained: crf
    "document-off": [("config.json", set_key("train", "document", "none"))],
    "chars-on": [("config.json", set_key("train", "chars", "ngrams"))],
    "vocab-format": [("vocab.json", set_key("format", "x"))],
    "vocab-version": [("vocab.json", set_key("version", 2))],
    "vocab-specials": [("vocab.json", lambda d: d["words"].reverse())],
    "vocab-duplicate": [("vocab.json", lambda d: d["words"].append(d["words"][5]))],
    "tags-no-O": [("tags.json", lambda d: d["tags"].reverse())],
    "tags-iobes": [("tags.json", lambda d: d["tags"].append("S-PER"))],
    "suffixes-format": [("suffixes.json", set_key("format", 3))],
    "config-not-object": [("config.json", lambda d: d.clear())],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("edits", [
    pytest.param(edits, id=name)
    for name, edits in FAILING_EDITS.items()
])
def test_tampered_model_fails_clearly(trained, edits, command):
    model = copy_model(trained)
    for name, change in edits:
        edit_json(model, name, change)
    check(*run(command, model, trained["data"]), model, may_succeed=False)


HARMLESS_EDITS = {
    "run-paths": ("config.json", set_key("train", "train", "/nonexistent/x.txt")),
    "epochs": ("config.json", set_key("train", "epochs", 999)),
    "dropout": ("config.json", set_key("train", "dropout", 0.9)),  # no dropout at inference
    "lookup-note": ("vocab.json", set_key("lookup", "anything")),
    "dev-scores": ("config.json", set_key("dev_scores", None)),
}


@pytest.mark.parametrize("edit", list(HARMLESS_EDITS.values()), ids=list(HARMLESS_EDITS))
def test_harmless_damage_is_documented(trained, baseline, edit):
    model = copy_model(trained)
    edit_json(model, *edit)
    status, out, err = run("evaluate", model, trained["data"])
    assert check(status, out, err, model, may_succeed=True)
    assert out == baseline["evaluate"]


def test_another_valid_activation_is_trusted(trained, baseline):
    """Documented, not defended: config.json is not signed; a valid change is obeyed."""
    model = copy_model(trained)
    edit_json(model, "config.json", set_key("train", "activation", "tanh"))
    status, out, err = run("evaluate", model, trained["data"])
    assert check(status, out, err, model, may_succeed=True)


HOSTILE_SIZES = {
    "hidden-1e12": ("train", "hidden", 10**12),
    "window-1e9": ("train", "window", 10**9),
    "word-dim-1e12": ("model", "word_dim", 10**12),
    "casing-dim-1e12": ("train", "casing_dim", 10**12),
    "word-dim-negative": ("model", "word_dim", -4),
    "word-dim-string": ("model", "word_dim", "four"),
    "word-dim-null": ("model", "word_dim", None),
    "word-dim-missing": ("model", "word_dim", ...),
    "window-fraction": ("train", "window", 1.5),
    "hidden-fraction": ("train", "hidden", 8.5),
    "model-list": ("model", None, []),
}


@pytest.mark.parametrize("change", list(HOSTILE_SIZES.values()), ids=list(HOSTILE_SIZES))
def test_hostile_sizes_in_config_fail_clearly(trained, change):
    section, key, value = change
    model = copy_model(trained)

    def edit(document):
        if key is None:
            document[section] = value
        elif value is ...:
            del document[section][key]
        else:
            document[section][key] = value

    edit_json(model, "config.json", edit)
    check(*run("evaluate", model, trained["data"]), model, may_succeed=False)




@pytest.mark.parametrize("name", [
    "config.json", "vocab.json", "tags.json",
    "suffixes.json",
])
def test_deeply_nested_json(trained, name):
    model = copy_model(trained)
    (model / name).write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    check(*run("evaluate", model, trained["data"]), model, may_succeed=False)


# --- the resume checkpoint of an interrupted run (`deltagrad ner train --resume DIR`) ---------


@pytest.fixture(scope="module")
def interrupted(trained):
    """A run directory holding checkpoint.safetensors, as a killed run leaves it."""
    out = trained["root"] / "interrupted"
    config = TrainConfig(train=str(trained["data"]), dev=str(trained["data"]), vectors="none",
                         epochs=2, hidden=4, word_dim=3, casing_dim=1, suffix_dim=1,
                         batch_size=16, checkpoint_every=2, out=str(out), ensemble=1)
    with pytest.raises(TrainingInterrupted):
        train(config, progress=False, log=lambda line: None, stop_after_steps=3)
    assert (out / "checkpoint.safetensors").is_file()
    return out


def resume(run_dir: Path) -> tuple[int, str, str]:
    return cli(["ner", "train", "--resume", str(run_dir), "--no-progress"])


def copy_run(trained, interrupted) -> Path:
    target = Path(tempfile.mkdtemp(dir=trained["root"])) / "run"
    shutil.copytree(interrupted, target)
    return target


@FUZZ
@given(st.floats(min_value=0, max_value=1, exclude_max=True), st.integers(0, 255),
       st.booleans())
def test_damaged_resume_checkpoint(trained, interrupted, where, mask, truncate):
    run_dir = copy_run(trained, interrupted)
    checkpoint = run_dir / "checkpoint.safetensors"
    data = bytearray(checkpoint.read_bytes())
    if truncate:
        data = data[: int(where * len(data))]
    else:
        data[int(where * len(data))] ^= mask or 0xFF
    checkpoint.write_bytes(bytes(data))
    status, out, err = resume(run_dir)
    check(status, out, err, run_dir, may_succeed=not truncate)


TAMPERED_CHECKPOINTS = {
    "no-model": lambda state: state.pop("model"),
    "no-epoch": lambda state: state.pop("epoch"),
    "model-not-dict": lambda state: state.update(model=[1, 2]),
    "epoch-string": lambda state: state.update(epoch="two"),
    "order-garbage": lambda state: state.update(order="abc"),
    "rng-garbage": lambda state: state.update(rng={"state": 5}),
    "optimizer-garbage": lambda state: state.update(optimizer={"state": 1}),
}


@pytest.mark.parametrize("tamper", list(TAMPERED_CHECKPOINTS.values()),
                         ids=list(TAMPERED_CHECKPOINTS))
def test_tampered_resume_checkpoint(trained, interrupted, tamper):
    """A checkpoint re-saved with a changed structure passes every checksum: it is hostile."""
    run_dir = copy_run(trained, interrupted)
    checkpoint = run_dir / "checkpoint.safetensors"
    state = dg.load(checkpoint)
    tamper(state)
    dg.save(state, checkpoint)
    check(*resume(run_dir), run_dir, may_succeed=False)


# --- the real process ------------------------------------------------------------------------


def process(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagrad", *argv], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(
    "damage",
    ["missing-weights", "truncated-weights", "non-utf8-vocab", "tags-not-json"],
)
def test_real_process_exits_2(trained, damage):
    model = copy_model(trained)
    if damage == "missing-weights":
        (model / "weights.safetensors").unlink()
    elif damage == "truncated-weights":
        weights = model / "weights.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "non-utf8-vocab":
        vocab = model / "vocab.json"
        vocab.write_bytes(vocab.read_bytes().replace(b"<unk>", b"<\xffunk>"))
    else:
        (model / "tags.json").write_text("{tags: O}")
    result = process("ner", "predict", "--model", str(model), SENTENCE)
    assert result.returncode == 2, result.stderr[-2000:]
    check(result.returncode, result.stdout, result.stderr, model, may_succeed=False)


def test_real_process_exits_2_on_hostile_sizes(trained):
    model = copy_model(trained)
    edit_json(model, "config.json", set_key("train", "hidden", 10**12))
    result = process("ner", "evaluate", "--model", str(model), "--data", str(trained["data"]))
    check(result.returncode, result.stdout, result.stderr, model, may_succeed=False)
