"""Tests of the dataset type and its encoding, and the training set's features (ner.features)."""

import numpy as np
import pytest

from deltagrad.ner.conll import Sentence, load_default
from deltagrad.ner.document import DOC_STATS
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


def test_encode_character_and_document_features():
    base = features_of(TRAIN, window=1)
    features = Features(base.vocab, base.suffixes, base.tagset, 1, char_buckets=64,
                        document=True, char_window=0)
    sentences = [Sentence(s.words, s.tags, document=number // 2)
                 for number, s in enumerate(TRAIN)]
    data = features.encode(sentences)
    assert data.forms.shape == (len(data), 1)  # the centre's spelling only
    spellings = {w: data.forms[i, 0] for i, w in enumerate(w for s in TRAIN for w in s.words)}
    assert spellings["the"] != spellings["EU"] and data.form_ngrams.shape[0] == len(spellings) + 1
    # "EU" (token 0, document 0) has one other mention in document 1: none in its own.
    assert not (data.context[0] >= 0).any()
    assert (data.context[9] >= 0).sum() == 0  # "EU" in document 1 has no other mention there
    together = features.encode(sentences, documents=[0, 0, 0, 0])
    assert (together.context[0] >= 0).sum() == 4  # now it sees the words around token 9
    batch = together.batch(np.array([9, 0, 9]))
    assert batch.char_index.tolist() == [[0], [0], [0]] and batch.char_ngrams.shape[0] == 1
    assert batch.context_offsets.tolist() == [0, 2, 4, 6, 8, 10]
    assert batch.context.shape == (12,) and batch.doc_stats.shape == (3, DOC_STATS)
    inputs = batch.inputs(words=np.zeros_like(batch.words))
    assert sorted(inputs) == ["casing", "char_index", "char_ngrams", "context",
                              "context_offsets", "doc_stats", "suffixes", "words"]
    assert not inputs["words"].detach().numpy().any()
    assert sorted(base.encode(TRAIN).batch(slice(0, 2)).inputs()) == ["casing", "suffixes", "words"]
    plain = features.encode([["EU", "said"], ["EU"]], tagged=False)  # word lists: one document
    assert (plain.context[0] >= 0).sum() == 4
    with pytest.raises(ValueError, match="one number per sentence"):
        features.encode(sentences, documents=[0])
