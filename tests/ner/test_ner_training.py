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
                vectors="none", out=str(tmp_path / "model"), patience=5, seed=3,
                ensemble=1)
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


def test_character_and_document_features_train_reload_and_predict(small_data, tmp_path):
    train_sents, dev_sents = small_data
    result = train(config(tmp_path, epochs=4, chars="ngrams", char_buckets=512,
                          char_dim=4, char_window=1, document="context", gazetteer="none",
                          topic="none"),
                   progress=False, log=lambda s: None, train_sentences=train_sents,
                   dev_sentences=dev_sents)
    model = result.model
    assert model.chars.weight.shape == (512, 4) and model.document
    assert model.hidden.in_features == 5 * (8 + 4 + 4) + 3 * 4 + 2 * 8 + 8
    assert result.dev_scores["viterbi"]["f1"] > 0.3
    loaded = load_model(result.model_dir)
    assert loaded.features.char_buckets == 512 and loaded.features.document
    scores = evaluate(loaded, dev_sents)
    assert scores["f1"] == pytest.approx(result.dev_scores[result.decode]["f1"], abs=1e-12)
    tags = predict(loaded, [["Peter", "Blackburn", "said", "."], ["Blackburn", "left", "."]])
    assert [len(t) for t in tags] == [4, 3]


def test_a_model_without_its_features_says_so():
    import deltagrad as dg
    from deltagrad.ner.model import WindowTagger

    model = WindowTagger(vocab_size=4, word_dim=2, n_casings=6, casing_dim=0, n_suffixes=3,
                         suffix_dim=0, window=0, hidden=2, n_tags=3, char_buckets=8, char_dim=2,
                         document=True)
    ids = dg.zeros(1, 1, dtype=dg.int64)
    with pytest.raises(ValueError, match="character features"):
        model(ids, ids, ids)
    with pytest.raises(ValueError, match="document features"):
        model(ids, ids, ids, char_ngrams=ids, char_index=ids)


def test_word_vectors_learn_at_their_own_rate(small_data, tmp_path):
    import deltagrad as dg
    from deltagrad.ner.build import make_model, make_optimizer
    from deltagrad.ner.features import build_features

    run = config(tmp_path, word_lr_scale=0.1, lr=1e-3)
    features, vectors, _ = build_features(small_data[0][:20], None, run.window, 8,
                                          np.random.default_rng(0))
    model = make_model(run, features, vectors, dg.Generator(0))
    groups = make_optimizer(run, model).param_groups
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    assert groups[1]["params"] == [model.words.weight]
    assert len(make_optimizer(config(tmp_path), model).param_groups) == 1
    run.validate()
    with pytest.raises(ValueError, match="word lr scale"):
        config(tmp_path, word_lr_scale=-1.0).validate()
    with pytest.raises(ValueError, match="chars must be"):
        config(tmp_path, chars="bytes").validate()
    with pytest.raises(ValueError, match="document must be"):
        config(tmp_path, document="yes").validate()


def test_compare_holds_out_whole_documents(tmp_path):
    from deltagrad.cli import main
    from deltagrad.ner.compare import split_documents
    from deltagrad.ner.conll import write_conll

    sentences = [Sentence(["A"], ["B-PER"], document=d) for d in (0, 0, 1, 2, 2, 3, 4, 5, 6, 7)]
    kept, held = split_documents(sentences, 0.25)
    assert [s.document for s in held] == [6, 7] and len(kept) == 8
    assert split_documents(sentences, 0.0) == (sentences, [])
    with pytest.raises(ValueError, match="held-out fraction"):
        split_documents(sentences, 1.0)
    train_file, dev_file = tmp_path / "train.txt", tmp_path / "dev.txt"
    write_conll(load_default("train")[:300], train_file)
    write_conll(load_default("dev")[:60], dev_file)
    out = tmp_path / "compare"
    code = main(["ner", "compare", "--train", str(train_file), "--dev", str(dev_file),
                 "--epochs", "1", "--hidden", "16", "--no-progress", "--out", str(out),
                 "--holdout", "0.2", "--variants", "random", "--document", "context",
                 "--chars", "ngrams", "--char-buckets", "256", "--char-dim", "4"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["random"]
    held_out = results["random"]["held_out"]
    assert 0 <= held_out["f1"] <= 1 and held_out["unseen"]["support"] > 0
    assert results["random"]["selection"] == pytest.approx(
        (held_out["f1"] + results["random"]["unseen"]["f1"]) / 2)
    assert "held-out F1" in (out / "results.md").read_text()
    assert main(["ner", "compare", "--variants", "bogus", "--out", str(out)]) == 2


def test_gazetteer_and_topic_features_train_reload_and_predict(small_data, tmp_path):
    from deltagrad.ner.document import DOC_STATS

    train_sents, dev_sents = small_data
    result = train(config(tmp_path, gazetteer="train", topic="sentence+document"),
                   progress=False, log=lambda s: None, train_sentences=train_sents,
                   dev_sentences=dev_sents)
    model = result.model
    assert model.gazetteer_width == 3 * 2 * 4 and model.topic_bags == 2  # 4 entity types
    assert model.hidden.in_features == 5 * (8 + 4 + 4) + 2 * 8 + DOC_STATS + 24 + 2 * 8
    assert result.dev_scores["viterbi"]["f1"] > 0.3
    assert (result.model_dir / "gazetteer.json").is_file()
    loaded = load_model(result.model_dir)
    assert loaded.features.gazetteer.entries == result.features.gazetteer.entries
    scores = evaluate(loaded, dev_sents)
    assert scores["f1"] == pytest.approx(result.dev_scores[result.decode]["f1"], abs=1e-12)
    tags = predict(loaded, [["Peter", "Blackburn", "said", "."], ["Blackburn", "left", "."]])
    assert [len(t) for t in tags] == [4, 3]
    (result.model_dir / "gazetteer.json").unlink()
    with pytest.raises(ModelError, match="gazetteer.json: missing"):
        load_model(result.model_dir)


def test_topic_means_are_inputs_not_a_path_for_gradients():
    import deltagrad as dg
    from deltagrad.ner.model import WindowTagger

    model = WindowTagger(vocab_size=10, word_dim=3, n_casings=6, casing_dim=0, n_suffixes=3,
                         suffix_dim=0, window=0, hidden=4, n_tags=3, topic_bags=1,
                         generator=dg.Generator(0)).eval()  # no dropout: compare by hand
    ids = dg.tensor([[2], [3]])
    bag = dg.tensor([7, 8, 2])  # one bag: both tokens' sentence
    scores = model(ids, ids, ids, topic=bag, topic_offsets=dg.tensor([0]),
                   topic_index=dg.tensor([[0], [0]]))
    scores.sum().backward()
    rows = model.words.weight.grad.coalesce().indices().numpy().reshape(-1)
    assert sorted(set(rows.tolist())) == [2, 3]  # the windows' words only, not 7 or 8
    mean = model.words.weight.detach().numpy()[[7, 8, 2]].mean(axis=0)
    x = np.concatenate([model.words.weight.detach().numpy()[[2, 3]], np.tile(mean, (2, 1))], 1)
    hidden = np.maximum(x @ model.hidden.weight.detach().numpy().T
                        + model.hidden.bias.detach().numpy(), 0)
    expected = hidden @ model.output.weight.detach().numpy().T + model.output.bias.detach().numpy()
    np.testing.assert_allclose(scores.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
