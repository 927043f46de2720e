"""The map of unseen words' vectors: the closed-form fit, which rows move, training unchanged,
predict and a saved model using the mapped rows, and compare's paired unmapped row."""

import json

import numpy as np
import pytest

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default
from deltagrad.ner.unseen_map import UnseenMap, fit_map, unmap_unseen

pytest.importorskip("seqeval")


def test_fit_recovers_an_exact_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    w_true = rng.normal(size=(6, 6))
    np.testing.assert_allclose(fit_map(x, x @ w_true), w_true, atol=1e-10)
    # The ridge pulls towards the identity: when the identity fits exactly, any ridge keeps it,
    # and a very large ridge leaves (almost) the identity whatever the data say.
    np.testing.assert_allclose(fit_map(x, x, ridge=10.0), np.eye(6), atol=1e-12)
    np.testing.assert_allclose(fit_map(x, x @ w_true, ridge=1e9), np.eye(6), atol=1e-4)
    w_ridge = fit_map(x, x @ w_true, ridge=50.0)
    gram = x.T @ x + 50.0 * np.eye(6)  # the normal equations, checked independently
    np.testing.assert_allclose(gram @ w_ridge, x.T @ (x @ w_true) + 50.0 * np.eye(6), atol=1e-8)
    with pytest.raises(ValueError, match=r"fit_map: source \(200, 6\) and target \(200, 5\)"):
        fit_map(x, x[:, :5])
    with pytest.raises(ValueError, match="ridge"):
        fit_map(x, x, ridge=-1.0)


def test_only_unseen_pretrained_rows_change_and_restore_undoes_it():
    rng = np.random.default_rng(1)
    initial = rng.normal(size=(12, 4)).astype(np.float32)
    has_vector = np.array([False, False] + [True] * 8 + [False, True])  # pad, unk, ..., a
    seen_ids = np.array([[0, 2, 3], [4, 5, 6], [7, 10, 2]])  # training windows (with repeats)
    w_true = rng.normal(size=(4, 4)).astype(np.float32)
    table = initial.copy()
    seen = [2, 3, 4, 5, 6, 7]
    table[seen] = initial[seen] @ w_true  # "fine-tuned" exactly by a linear map
    table[10] += 1.0  # a seen word without a vector moved too: not part of the fit
    unseen = UnseenMap(seen_ids, has_vector, initial)
    assert unseen.fit_rows.tolist() == seen
    assert unseen.mapped_rows.tolist() == [8, 9, 11]
    before = table.copy()
    w = unseen.apply(table)
    np.testing.assert_allclose(w, w_true, atol=1e-4)
    untouched = [0, 1, *seen, 10]
    np.testing.assert_array_equal(table[untouched], before[untouched])
    np.testing.assert_allclose(table[[8, 9, 11]], initial[[8, 9, 11]] @ w_true, atol=1e-4)
    assert not np.allclose(table[[8, 9, 11]], initial[[8, 9, 11]])
    unseen.restore(table)
    np.testing.assert_array_equal(table, before)
    # Only some unseen rows (dev's): the others stay, and restore puts back just those.
    rows = unseen.rows_among(np.array([[9, 3], [0, 9]]))
    assert rows.tolist() == [9]
    unseen.apply(table, rows)
    np.testing.assert_allclose(table[9], initial[9] @ w_true, atol=1e-4)
    np.testing.assert_array_equal(table[[8, 11]], before[[8, 11]])
    unseen.restore(table, rows)
    np.testing.assert_array_equal(table, before)
    with pytest.raises(ValueError, match="12 initial rows for a vocabulary of 5"):
        UnseenMap(seen_ids, has_vector[:5], initial)


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:300], load_default("dev")[:80]


def tiny_glove(train, dev, dim=8):
    """Vectors for the training words and for 40 dev-only words (the unseen ones)."""
    train_words = {w.lower() for s in train for w in s.words}
    dev_only = sorted({w.lower() for s in dev for w in s.words} - train_words)[:40]
    words = sorted(train_words) + dev_only
    rng = np.random.default_rng(0)
    return words, rng.normal(0, 0.5, (len(words), dim)).astype(np.float32), dev_only


def run_config(tmp_path, name, **changes):
    settings = dict(epochs=2, hidden=24, batch_size=64, casing_dim=4, suffix_dim=4,
                    vectors="glove-50d", out=str(tmp_path / name), seed=2, ensemble=1)
    return TrainConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """The same run with and without the map."""
    from deltagrad.ner.training import train

    tmp = tmp_path_factory.mktemp("unseen_map")
    train_sents, dev_sents = data
    words, matrix, dev_only = tiny_glove(train_sents, dev_sents)
    runs = {}
    for mode in ("none", "linear"):
        runs[mode] = train(run_config(tmp, mode, unseen_map=mode), progress=False,
                           log=lambda line: None, train_sentences=train_sents,
                           dev_sentences=dev_sents, vectors=(words, matrix))
    return runs, (words, matrix), dev_only


def test_training_is_unchanged_and_only_unseen_rows_are_mapped(trained, data):
    runs, (words, matrix), dev_only = trained
    plain, mapped = runs["none"], runs["linear"]
    assert plain.best_epoch == mapped.best_epoch  # (else the weights below differ anyway)
    a = {k: v.detach().numpy() for k, v in plain.model.state_dict().items()}
    b = {k: v.detach().numpy() for k, v in mapped.model.state_dict().items()}
    for key in a:
        if key != "words.weight":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    vocab = mapped.features.vocab
    unseen_rows = vocab.indices(dev_only)
    seen_rows = vocab.indices([w for s in data[0] for w in s.words])
    np.testing.assert_array_equal(b["words.weight"][seen_rows], a["words.weight"][seen_rows])
    # Without the map the unseen rows are the vectors as given; with it, their image under the
    # least-squares map of the seen words' moves.
    original = matrix[[words.index(w) for w in dev_only]]
    np.testing.assert_array_equal(a["words.weight"][unseen_rows], original)
    fit = sorted(set(seen_rows.tolist()) - {0, 1})
    source = np.zeros((len(fit), matrix.shape[1]), np.float32)
    for i, row in enumerate(fit):
        source[i] = matrix[words.index(vocab.words[row])]
    w = fit_map(source, a["words.weight"][fit])
    np.testing.assert_allclose(b["words.weight"][unseen_rows], original @ w, atol=1e-5)
    assert np.abs(b["words.weight"][unseen_rows] - original).max() > 1e-3
    # Dev scoring after each epoch maps only the rows of dev's words: every row it reads
    # (document context and topic bags included) is one of them.
    dev = mapped.features.encode(data[1])
    assert dev.context is not None and dev.topic_words is not None
    words = set(dev.words.ravel().tolist())
    assert set(dev.context.ravel().tolist()) - {-1} <= words
    assert set(dev.topic_words.tolist()) <= words


def test_saved_model_keeps_the_mapped_rows_and_predict_uses_them(trained, data):
    from deltagrad.ner.model_dir import load_model
    from deltagrad.ner.predict import evaluate, log_probabilities

    runs, vectors, dev_only = trained
    mapped = runs["linear"]
    loaded = load_model(mapped.model_dir)
    np.testing.assert_array_equal(loaded.model.words.weight.detach().numpy(),
                                  mapped.model.words.weight.detach().numpy())
    assert evaluate(loaded, data[1])["f1"] == pytest.approx(
        mapped.dev_scores[mapped.decode]["f1"], abs=1e-12)
    assert loaded.config["train"]["unseen_map"] == "linear"
    # The map costs the model directory nothing: the table had every pretrained row already.
    size = {mode: (runs[mode].model_dir / "weights.safetensors").stat().st_size
            for mode in runs}
    assert size["linear"] == size["none"]
    # A sentence of unseen words is scored from the mapped rows: putting them back changes it.
    sentence = [[w.capitalize() for w in dev_only[:6]]]
    data_in = loaded.features.encode(sentence, tagged=False)
    before = log_probabilities(loaded.model, data_in)
    rows = unmap_unseen(loaded.model, loaded.features.vocab, vectors, data[0])
    assert rows == len(dev_only)
    np.testing.assert_array_equal(loaded.model.words.weight.detach().numpy(),
                                  runs["none"].model.words.weight.detach().numpy())
    assert not np.allclose(before, log_probabilities(loaded.model, data_in))


def test_config_checks_the_map_settings(tmp_path):
    with pytest.raises(ValueError, match="unseen map must be none or linear"):
        run_config(tmp_path, "x", unseen_map="cubic").validate()
    with pytest.raises(ValueError, match="unseen map ridge must be >= 0"):
        run_config(tmp_path, "x", unseen_map_ridge=-0.5).validate()
    with pytest.raises(ValueError, match="unseen map ridge must be a finite number"):
        run_config(tmp_path, "x", unseen_map_ridge=float("nan")).validate()


def test_compare_scores_the_map_and_the_same_model_unmapped(tmp_path, data):
    from deltagrad.cli import main
    from deltagrad.ner.conll import write_conll

    train_sents, dev_sents = data
    words, matrix, _ = tiny_glove(train_sents, dev_sents)
    glove = tmp_path / "glove.txt"
    glove.write_text("".join(f"{w} {' '.join(f'{v:.5f}' for v in row)}\n"
                             for w, row in zip(words, matrix, strict=True)))
    train_file, dev_file = tmp_path / "train.txt", tmp_path / "dev.txt"
    write_conll(train_sents, train_file)
    write_conll(dev_sents, dev_file)
    out = tmp_path / "compare"
    code = main(["ner", "compare", "--train", str(train_file), "--dev", str(dev_file),
                 "--vectors", str(glove), "--epochs", "1", "--hidden", "16", "--no-progress",
                 "--out", str(out), "--holdout", "0.2", "--ensemble", "1",
                 "--variants", "one-model,map-unseen"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["one-model", "map-unseen", "map-unseen/unmapped"]
    plain, unmapped = results["one-model"], results["map-unseen/unmapped"]
    # The paired row is the model without the map: the same training, the same scores.
    for key in ("dev_f1", "selection", "best_epoch"):
        assert unmapped[key] == pytest.approx(plain[key], abs=1e-12), key
    assert unmapped["unseen"] == plain["unseen"] and unmapped["held_out"] == plain["held_out"]


def test_a_model_directory_from_before_the_map_still_loads(tiny_model_dir, tmp_path):
    import shutil

    from deltagrad.ner.model_dir import load_model

    copy = tmp_path / "before"
    shutil.copytree(tiny_model_dir, copy)
    meta = json.loads((copy / "config.json").read_text())
    for key in ("unseen_map", "unseen_map_ridge", "freeze_rare"):
        meta["train"].pop(key, None)  # (a default model is written without them: version 5)
    (copy / "config.json").write_text(json.dumps(meta))
    loaded = load_model(copy)
    assert loaded.config["train"].get("unseen_map") is None  # read as the defaults: off
    assert TrainConfig(**loaded.config["train"]).unseen_map == "none"


def test_checkpoints_do_not_grow_with_the_map(data, tmp_path):
    """Checkpoints keep the rows that differ from the initial ones: the unseen rows are put
    back after each epoch's dev scoring, so a run with the map writes what one without does."""
    import math

    from deltagrad.ner.training import TrainingInterrupted, train

    train_sents, dev_sents = data[0][:120], data[1][:30]
    words, matrix, _ = tiny_glove(train_sents, dev_sents)
    # Words met nowhere, as most of GloVe's: fewer than half the rows move in training, so a
    # checkpoint holds the moved rows only (else whole tables, whatever the map did).
    extra = [f"zz{k}" for k in range(4000)]
    words = words + extra
    matrix = np.concatenate([matrix, np.random.default_rng(5).normal(
        0, 0.5, (len(extra), matrix.shape[1])).astype(np.float32)])
    per_sentence = sum(len(s.words) for s in train_sents) / len(train_sents)
    per_epoch = math.ceil(len(train_sents) / max(1, round(64 / per_sentence)))
    sizes = {}
    for mode in ("none", "linear"):
        config = run_config(tmp_path, mode, unseen_map=mode, epochs=3)
        with pytest.raises(TrainingInterrupted):  # in epoch 2: epoch 1's checkpoint is there
            train(config, progress=False, log=lambda line: None, train_sentences=train_sents,
                  dev_sentences=dev_sents, vectors=(words, matrix),
                  stop_after_steps=per_epoch + 1)
        sizes[mode] = (tmp_path / mode / "checkpoint.safetensors").stat().st_size
    # (the settings inside differ by "none" / "linear")
    assert abs(sizes["linear"] - sizes["none"]) < 16, sizes
