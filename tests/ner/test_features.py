"""Tests of the dataset type and its encoding, and the training set's features (ner.features)."""

import numpy as np
import pytest

from deltagrad.ner.conll import Sentence, load_default
from deltagrad.ner.features import (
    Features,
    SuffixVocabulary,
    build_features,
    rare_word_mask,
)
from deltagrad.ner.vocab import PAD_INDEX, UNK_INDEX, Casing, TagSet, Vocabulary

TRAIN = [
    Sentence(["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
    Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"]),
    Sentence(["BRUSSELS", "1996-08-22"], ["B-LOC", "O"]),
    Sentence(
        ["the", "EU", "said", "the", "call", "1996-08-22"], ["O", "B-ORG", "O", "O", "O", "O"]
    ),
]


def features_of(sentences, window):
    return Features(Vocabulary.build(sentences), SuffixVocabulary.build(sentences, min_count=1),
                    TagSet.build(sentences), window)


def test_encode():
    features = features_of(TRAIN, window=1)
    vocab, tagset = features.vocab, features.tagset
    data = features.encode(TRAIN[:2])
    assert len(data) == 6 and data.sentence_lengths.tolist() == [4, 2]
    eu, rejects, peter = vocab.index("EU"), vocab.index("rejects"), vocab.index("Peter")
    assert data.words[0].tolist() == [PAD_INDEX, eu, rejects]
    assert data.words[4].tolist() == [PAD_INDEX, peter, vocab.index("Blackburn")]
    assert data.casing[0].tolist() == [Casing.PAD, Casing.ALL_CAPS, Casing.LOWER]
    assert data.casing[5].tolist() == [Casing.INITIAL_CAP, Casing.INITIAL_CAP, Casing.PAD]
    suffix = features.suffixes.indices(["EU", "rejects"]).tolist()
    assert data.suffixes[0].tolist() == [PAD_INDEX, *suffix]
    assert tagset.to_tags(data.tags) == TRAIN[0].tags + TRAIN[1].tags
    batch = data.batch(np.array([4, 0]))
    assert batch.words.tolist() == [data.words[4].tolist(), data.words[0].tolist()]
    assert batch.tags.tolist() == [data.tags[4], data.tags[0]]
    untagged = features_of(TRAIN, window=2).encode([["Hello", "world"]], tagged=False)
    assert untagged.tags is None and untagged.words.shape == untagged.suffixes.shape == (2, 5)
    assert untagged.batch(slice(0, 1)).tags is None
    with pytest.raises(TypeError, match="Sentence"):
        features.encode([["Hello", "world"]])


def test_encode_dev_set():
    dev = load_default("dev")
    data = features_of(dev, window=2).encode(dev)
    assert data.words.shape == data.casing.shape == data.suffixes.shape == (51_362, 5)
    assert data.tags.shape == (51_362,) and int(data.sentence_lengths.sum()) == 51_362
    assert not (data.words[:, 2] == UNK_INDEX).any()
    assert (data.words[:, 2] != PAD_INDEX).all() and (data.casing[:, 2] != Casing.PAD).all()


def test_build_features_and_rare_words():
    words = ["the", "eu", "call"]
    matrix = np.arange(9, dtype=np.float32).reshape(3, 3)
    features, vectors, has_vector = build_features(TRAIN, (words, matrix), 1, 5,
                                                   np.random.default_rng(0))
    vocab = features.vocab
    assert vectors.shape == (len(vocab), 3) and has_vector.shape == (len(vocab),)
    assert has_vector[vocab.index("the")] and not has_vector[vocab.index("rejects")]
    rare = rare_word_mask(features.encode(TRAIN), len(vocab), has_vector)
    # "rejects" occurs once and has no vector; "the" has a vector; "EU" occurs twice
    assert rare[vocab.index("rejects")] and not rare[vocab.index("the")]
    assert not rare[vocab.index("EU")]
    _, random_vectors, none = build_features(TRAIN, None, 1, 5, np.random.default_rng(0))
    assert random_vectors.shape[1] == 5 and not none.any()
