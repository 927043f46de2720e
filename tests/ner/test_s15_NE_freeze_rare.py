"""Partial fine-tuning: pretrained vectors of words seen fewer than K times stay frozen."""

import numpy as np
import pytest

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default

pytest.importorskip("seqeval")


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])  # sparse steps, and dense ones
def test_rare_pretrained_rows_stay_frozen_and_the_others_learn(tmp_path, optimizer):
    from deltagrad.ner.training import train

    train_sents, dev_sents = load_default("train")[:200], load_default("dev")[:40]
    train_words = sorted({w.lower() for s in train_sents for w in s.words})
    with_vector = train_words[::2]  # half the training words pretrained, half learned from 0
    rng = np.random.default_rng(0)
    matrix = rng.normal(0, 0.5, (len(with_vector), 8)).astype(np.float32)
    config = TrainConfig(epochs=1, hidden=16, batch_size=64, casing_dim=4, suffix_dim=4,
                         vectors="glove-50d", out=str(tmp_path / "m"), seed=0, ensemble=1,
                         freeze_rare=3, word_dropout=0.0, optimizer=optimizer)
    result = train(config, progress=False, log=lambda line: None, train_sentences=train_sents,
                   dev_sentences=dev_sents, vectors=(with_vector, matrix))
    vocab, table = result.features.vocab, result.model.words.weight.detach().numpy()
    counts = {}
    for s in train_sents:
        for w in s.words:
            counts[vocab.index(w)] = counts.get(vocab.index(w), 0) + 1
    moved = {vocab.index(w): not np.array_equal(table[vocab.index(w)], matrix[i])
             for i, w in enumerate(with_vector)}
    rare = [row for row in moved if counts[row] < 3]
    common = [row for row in moved if counts[row] >= 3]
    assert rare and common
    assert not any(moved[row] for row in rare)
    assert all(moved[row] for row in common)
    # Training words without a vector learn however rare they are.
    no_vector = [vocab.index(w) for w in train_words[1::2] if counts[vocab.index(w)] == 1]
    start, _ = vocab.embedding_matrix(with_vector, matrix, None, np.random.default_rng(0))
    assert no_vector and all(not np.array_equal(table[r], start[r]) for r in no_vector)
    with pytest.raises(ValueError, match="freeze rare must be >= 0"):
        TrainConfig(freeze_rare=-1).validate()
