"""The NER application end to end on a small slice: training learns, models save and load."""

import json

import numpy as np
import pytest

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import Sentence, load_default
from deltagrad.ner.model_dir import ModelError, load_model
from deltagrad.ner.predict import evaluate, predict
from deltagrad.ner.training import train

pytest.importorskip("seqeval")


@pytest.fixture(scope="module")
def small_data():
    train = load_default("train")[:600]
    dev = load_default("dev")[:200]
    return train, dev


def tiny_vectors(train, dev, dim=8, seed=0):
    """A small stand-in for GloVe: a vector for every word of train and dev (lowercased)."""
    words = sorted({w.lower() for s in train + dev for w in s.words})
    rng = np.random.default_rng(seed)
    return words, rng.normal(0, 0.5, (len(words), dim)).astype(np.float32)


def config(tmp_path, **changes):
    base = dict(epochs=3, hidden=32, batch_size=64, casing_dim=4, suffix_dim=4, word_dim=8,
                vectors="none", out=str(tmp_path / "model"), patience=5, seed=3)
    base.update(changes)
    return TrainConfig(**base)


def test_training_reduces_loss_and_learns(small_data, tmp_path):
    train_sents, dev_sents = small_data
    result = train(config(tmp_path, epochs=4), progress=False, log=lambda s: None,
                   train_sentences=train_sents, dev_sentences=dev_sents)
    losses = [h.loss for h in result.history]
    assert losses[-1] < losses[0] * 0.7
    best = result.dev_scores[result.decode]
    assert best["f1"] > 0.3  # far above chance on 600 sentences of training
    assert result.model_dir is not None and (result.model_dir / "config.json").exists()


def test_saved_model_reloads_with_identical_scores(small_data, tmp_path):
    train_sents, dev_sents = small_data
    vectors = tiny_vectors(train_sents, dev_sents)
    result = train(config(tmp_path, vectors="glove-50d", embeddings="finetune", epochs=2),
                   progress=False, log=lambda s: None, train_sentences=train_sents,
                   dev_sentences=dev_sents, vectors=vectors)
    loaded = load_model(result.model_dir)
    scores = evaluate(loaded, dev_sents)
    assert scores["f1"] == pytest.approx(result.dev_scores[result.decode]["f1"], abs=1e-12)
    tags = predict(loaded, [["Germany", "beat", "Italy", "."]])
    assert len(tags) == 1 and len(tags[0]) == 4


def test_same_seed_same_weights(small_data, tmp_path):
    train_sents, dev_sents = small_data
    runs = []
    for name in ("a", "b"):
        result = train(config(tmp_path, epochs=1, out=str(tmp_path / name)), progress=False,
                       log=lambda s: None, train_sentences=train_sents[:200],
                       dev_sentences=dev_sents[:50])
        runs.append({k: v.detach().numpy().copy() for k, v in result.model.state_dict().items()})
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_frozen_pretrained_vectors_do_not_move(small_data, tmp_path):
    train_sents, dev_sents = small_data
    vectors = tiny_vectors(train_sents, dev_sents)
    result = train(config(tmp_path, vectors="glove-50d", embeddings="frozen", epochs=1),
                   progress=False, log=lambda s: None, train_sentences=train_sents[:100],
                   dev_sentences=dev_sents[:20], vectors=vectors)
    vocab = result.features.vocab
    words, matrix = vectors
    rows = vocab.indices(words[:50])
    np.testing.assert_array_equal(result.model.words.weight.detach().numpy()[rows], matrix[:50])


def test_model_directory_errors(tmp_path, small_data):
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "missing")
    train_sents, dev_sents = small_data
    result = train(config(tmp_path, epochs=1), progress=False, log=lambda s: None,
                   train_sentences=train_sents[:50], dev_sentences=dev_sents[:10])
    meta = json.loads((result.model_dir / "config.json").read_text())
    meta["version"] = 99
    (result.model_dir / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="version 99"):
        load_model(result.model_dir)
    (result.model_dir / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(result.model_dir)


def test_scores_on_hand_made_examples():
    from deltagrad.ner.compare import unseen_word_scores
    from deltagrad.ner.metrics import entity_scores

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    scores = entity_scores(gold, pred)
    # 4 gold entities, 3 predicted; PER and LOC right, the merged ORG span wrong.
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 4)
    sentences = [Sentence(["Ann", "Lee", "in", "Oslo"], gold[0]),
                 Sentence(["IBM", "Acme", "."], gold[1])]
    unseen = unseen_word_scores(gold, pred, sentences, {"ann", "lee", "in", "ibm", "."})
    # Entities with an unseen word: gold LOC "Oslo" and ORG "Acme"; predicted LOC and ORG span.
    assert unseen["support"] == 2
    assert unseen["recall"] == pytest.approx(0.5) and unseen["precision"] == pytest.approx(0.5)


def test_crf_training_learns_and_reloads(small_data, tmp_path):
    train_sents, dev_sents = small_data
    result = train(config(tmp_path, epochs=3, loss="crf"), progress=False, log=lambda s: None,
                   train_sentences=train_sents, dev_sentences=dev_sents)
    losses = [h.loss for h in result.history]
    assert losses[-1] < losses[0]
    assert result.model.transitions is not None
    assert result.dev_scores["viterbi"]["f1"] > 0.3
    loaded = load_model(result.model_dir)
    scores = evaluate(loaded, dev_sents)
    assert scores["f1"] == pytest.approx(result.dev_scores[result.decode]["f1"], abs=1e-12)


def test_crf_loss_matches_brute_force():
    import itertools

    import deltagrad as dg
    from deltagrad.ner.model import WindowTagger

    model = WindowTagger(vocab_size=4, word_dim=2, n_casings=6, casing_dim=0, n_suffixes=3,
                         suffix_dim=0, window=0, hidden=2, n_tags=3, crf=True)
    rng = np.random.default_rng(0)
    model.transitions.detach().numpy()[...] = rng.normal(size=(3, 3))
    scores = dg.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    tags = dg.tensor(np.array([0, 2, 1, 1, 0]))
    loss = model.crf_loss(scores, tags, [3, 2])
    A, S = model.transitions.detach().numpy().astype(np.float64), scores.detach().numpy()

    def nll(s, y):
        def path(q):
            return sum(s[t, q[t]] for t in range(len(q))) + sum(
                A[q[t - 1], q[t]] for t in range(1, len(q)))
        log_z = np.log(sum(np.exp(path(q)) for q in itertools.product(range(3), repeat=len(y))))
        return log_z - path(y)

    expected = (nll(S[:3], [0, 2, 1]) + nll(S[3:], [1, 0])) / 5
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert dg.gradcheck(lambda s: model.crf_loss(s, tags, [3, 2]), (scores,))
