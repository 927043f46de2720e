"""Prediction history: stage 1's predicted types of a word's other mentions, and the two-stage
tagger that reads them (features, jackknifed training, saving, resuming, ensembles)."""

import json
import os

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default
from deltagrad.ner.features import Stage1
from deltagrad.ner.history import history_features, history_width
from deltagrad.ner.model_dir import ModelError, load_model
from deltagrad.ner.predict import Document, evaluate, tag_documents
from deltagrad.ner.training import TrainingInterrupted, train
from deltagrad.ner.vocab import TagSet

TAGS = TagSet(["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"])
# Columns: lowercased word O LOC MISC ORG PER | capitalised spelling O .. PER | spans LOC .. PER
LOWER, CAPITAL, SPANS = slice(0, 5), slice(5, 10), slice(10, 14)


def features_of(sentences, documents):
    words = [w for s in sentences for w, _ in s]
    tags = [t for s in sentences for _, t in s]
    return history_features(words, tags, np.array([len(s) for s in sentences]),
                            np.array(documents), TAGS)


def test_width_counts_the_entity_types():
    assert history_width(TAGS) == 14
    assert history_width(TagSet(["O", "B-PER", "I-PER"])) == 2 * 2 + 1


def test_other_mentions_by_hand():
    sentences = [[("Mr.", "O"), ("John", "B-PER"), ("Smith", "I-PER"), ("said", "O")],
                 [("Smith", "B-ORG"), ("beat", "O"), ("smith", "O"), ("Smith", "B-PER")],
                 [("Smith", "B-LOC")]]
    f = features_of(sentences, [0, 0, 1])
    assert f.shape == (9, 14) and f.dtype == np.float32
    # The first "Smith": the others in document 0 are ORG, O ("smith", lowercase) and PER.
    np.testing.assert_allclose(f[2, LOWER], [1 / 3, 0, 0, 1 / 3, 1 / 3])
    # As written and capitalised: only "Smith" (ORG) and "Smith" (PER); "smith" does not count.
    np.testing.assert_allclose(f[2, CAPITAL], [0, 0, 0, 0.5, 0.5])
    # Its own span "John Smith" does not count: no other multi-word entity holds "Smith".
    np.testing.assert_allclose(f[2, SPANS], 0)
    # The later "Smith"s see "John Smith" (PER) as a span elsewhere in their document.
    np.testing.assert_allclose(f[4, SPANS], [0, 0, 0, 1])
    np.testing.assert_allclose(f[7, SPANS], [0, 0, 0, 1])
    # Lowercase "smith" gets the lowercased mentions but nothing by its (uncapitalised) spelling.
    np.testing.assert_allclose(f[6, LOWER], [0, 0, 0, 1 / 3, 2 / 3])
    np.testing.assert_allclose(f[6, CAPITAL], 0)
    # A word with no other mention, and "Smith" alone in document 1: zeros everywhere.
    np.testing.assert_allclose(f[0], 0)
    np.testing.assert_allclose(f[8], 0)


def test_a_tokens_own_prediction_never_counts():
    # Two mentions: each sees only the other one's prediction, whatever its own is.
    f = features_of([[("Paris", "B-LOC")], [("Paris", "B-PER")]], [3, 3])
    np.testing.assert_allclose(f[0, LOWER], [0, 0, 0, 0, 1])
    np.testing.assert_allclose(f[1, LOWER], [0, 1, 0, 0, 0])
    flipped = features_of([[("Paris", "B-ORG")], [("Paris", "B-PER")]], [3, 3])
    np.testing.assert_array_equal(flipped[0], f[0])


def test_i_tag_after_another_type_starts_an_entity_as_conlleval_reads_it():
    # "B-PER I-ORG I-ORG": a one-word PER then an ORG of two words (not a PER of three).
    sentences = [[("A", "B-PER"), ("B", "I-ORG"), ("C", "I-ORG")], [("C", "O")]]
    f = features_of(sentences, [0, 0])
    np.testing.assert_allclose(f[3, SPANS], [0, 0, 1, 0])


def test_mismatched_inputs_are_an_error():
    with pytest.raises(ValueError, match="do not match"):
        history_features(["a", "b"], ["O"], np.array([2]), np.array([0]), TAGS)
    with pytest.raises(ValueError, match="do not match"):
        history_features(["a", "b"], ["O", "O"], np.array([1, 1]), np.array([0]), TAGS)


# ------------------------------------------------------------------------ two stages

pytest.importorskip("seqeval")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def data():
    return load_default("train")[:160], load_default("dev")[:30]


def small_config(out, **changes):
    base = dict(vectors="none", epochs=2, hidden=16, casing_dim=2, suffix_dim=2, word_dim=6,
                batch_size=32, patience=10, seed=3, out=str(out), ensemble=1,
                history="predictions", history_epochs=1)
    base.update(changes)
    return TrainConfig(**base)


def quiet(_line):
    pass


def weights(directory):
    return {k: v.data for k, v in dg.load(directory / "weights.safetensors").items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def whole(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("two_stage") / "whole"
    return out, train(small_config(out), progress=False, log=quiet, train_sentences=data[0],
                      dev_sentences=data[1])


def test_stage_one_is_the_model_without_history(data, whole, tmp_path):
    out, result = whole
    assert sorted(os.listdir(out)) == ["config.json", "stage1", "suffixes.json", "tags.json",
                                       "vocab.json", "weights.safetensors"]
    single = small_config(tmp_path, history="none")
    train(single, progress=False, log=quiet, train_sentences=data[0], dev_sentences=data[1])
    assert_same_weights(weights(out / "stage1"), weights(tmp_path))
    assert result.stage1 is not None and result.model.history_width == 14
    widths = [weights(d)["hidden.weight"].shape[1] for d in (out, tmp_path)]
    assert widths[0] == widths[1] + 14


def test_reloaded_two_stage_model_scores_as_trained_and_tags_documents(data, whole):
    out, result = whole
    loaded = load_model(out)
    assert loaded.features.stage1 is not None
    assert evaluate(loaded, data[1])["f1"] == pytest.approx(result.dev_scores[result.decode]["f1"])
    document = Document.from_text("Mr. Smith went to Paris. Smith left.")
    tagged = tag_documents(loaded, [document])
    assert len(tagged[0].tags) == len(document.tokens) == 10


def test_training_history_comes_from_models_that_did_not_see_the_document(
        data, monkeypatch, tmp_path):
    import deltagrad.ner.two_stage as two_stage
    from deltagrad.ner import training

    seen = []
    real = training.train

    def spy(config, **kwargs):
        if "folds" in config.out:
            seen.append((config.out, {s.document for s in kwargs["train_sentences"]}))
        return real(config, **kwargs)

    monkeypatch.setattr(training, "train", spy)
    first = two_stage.stage1_config(small_config(tmp_path))
    common = {"progress": False, "dev_sentences": data[1], "vectors": None,
              "stop_after_steps": None, "train_sentences": data[0]}
    tags = two_stage._jackknifed_tags(small_config(tmp_path), first, data[0], quiet, common)
    assert len(tags) == sum(len(s.words) for s in data[0])
    documents = {s.document for s in data[0]}
    assert [out.endswith(f"folds/{k}") for k, (out, _) in enumerate(seen)] == [True, True]
    for k, (_, trained_on) in enumerate(seen):
        assert trained_on == {d for d in documents if d % 2 != k}


def test_same_seed_same_weights_and_resume_is_exact(data, whole, tmp_path):
    out = tmp_path / "resumed"
    config = small_config(out, checkpoint_every=3)
    # Interrupted in stage 1, then (resumed) in stage 2: the end is the uninterrupted run's.
    with pytest.raises(TrainingInterrupted):
        train(config, progress=False, log=quiet, train_sentences=data[0],
              dev_sentences=data[1], stop_after_steps=5)
    runs = 0
    while True:
        runs += 1
        try:
            train(config, progress=False, log=quiet, train_sentences=data[0],
                  dev_sentences=data[1], resume=True, stop_after_steps=70)
            break
        except TrainingInterrupted:
            assert runs < 20
    assert runs > 1
    assert_same_weights(weights(out), weights(whole[0]))
    assert_same_weights(weights(out / "stage1"), weights(whole[0] / "stage1"))
    assert not (out / "history_tags.json").exists() and not (out / "folds").exists()


def test_missing_stage_one_is_a_clear_error(whole, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(whole[0], copy)
    shutil.rmtree(copy / "stage1")
    with pytest.raises(ModelError, match="stage1: missing"):
        load_model(copy)
    meta = json.loads((whole[0] / "config.json").read_text())
    assert meta["version"] == 5 and meta["train"]["history"] == "predictions"


def test_history_features_need_a_first_stage(data, whole):
    features = load_model(whole[0]).features
    features.stage1 = None
    with pytest.raises(ValueError, match="first stage"):
        features.encode(data[1][:2])


def test_an_ensemble_of_two_stage_members_shares_one_first_stage(data, tmp_path):
    out = tmp_path / "ensemble"
    result = train(small_config(out, ensemble=2, epochs=1), progress=False, log=quiet,
                   train_sentences=data[0], dev_sentences=data[1])
    loaded = load_model(out)
    assert isinstance(loaded.features.stage1, Stage1)
    assert len(loaded.model.members) == 2
    assert evaluate(loaded, data[1])["f1"] == pytest.approx(result.dev_scores[result.decode]["f1"])


def test_a_version_4_model_directory_loads_without_history(tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "v4"
    shutil.copytree(tiny_model_dir, copy)
    meta = json.loads((copy / "config.json").read_text())
    meta["version"] = 4
    for key in ("history", "history_folds", "history_epochs"):
        del meta["train"][key]
    (copy / "config.json").write_text(json.dumps(meta))
    loaded = load_model(copy)
    assert loaded.features.history_width == 0 and loaded.features.stage1 is None
