"""Tests of the vocabulary, tag set, casing and windowing (deltagrad.ner.vocab)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltagrad.ner.conll import Sentence
from deltagrad.ner.vocab import (
    NUM_CASINGS,
    PAD_INDEX,
    UNK_INDEX,
    Casing,
    TagSet,
    Vocabulary,
    casing,
    casing_ids,
    make_windows,
    make_windows_flat,
    normalize_word,
)

TRAIN = [
    Sentence(["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
    Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"]),
    Sentence(["BRUSSELS", "1996-08-22"], ["B-LOC", "O"]),
    Sentence(
        ["the", "EU", "said", "the", "call", "1996-08-22"], ["O", "B-ORG", "O", "O", "O", "O"]
    ),
]
PRETRAINED_WORDS = ["the", "eu", "1996", "peter", "call", "paris"]
PRETRAINED = np.arange(len(PRETRAINED_WORDS) * 3, dtype=np.float32).reshape(-1, 3) + 1


# --- words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "normal"),
    [("EU", "eu"), ("1996-08-22", "0000-00-00"), ("3.5", "0.0"), ("Zürich", "zürich")],
)
def test_normalize_word(word, normal):
    assert normalize_word(word) == normal


@pytest.mark.parametrize(
    ("word", "category"),
    [
        ("the", Casing.LOWER),
        ("don't", Casing.LOWER),
        ("EU", Casing.ALL_CAPS),
        ("U.S.", Casing.ALL_CAPS),
        ("I", Casing.ALL_CAPS),
        ("Peter", Casing.INITIAL_CAP),
        ("McDonald", Casing.INITIAL_CAP),
        ("1996", Casing.HAS_DIGIT),
        ("U2", Casing.HAS_DIGIT),
        (",", Casing.OTHER),
        ("eBay", Casing.OTHER),
    ],
)
def test_casing(word, category):
    assert casing(word) == category


def test_casing_constants():
    assert NUM_CASINGS == 6 and Casing.PAD == PAD_INDEX == 0
    np.testing.assert_array_equal(casing_ids(["the", "EU", "the"]), [1, 2, 1])
    assert casing_ids([]).dtype == np.int64


# --- vocabulary ----------------------------------------------------------------------------


def test_build_without_vectors():
    vocab = Vocabulary.build(TRAIN)
    assert vocab.words[:2] == ["<pad>", "<unk>"]
    # Most frequent first (ties alphabetical); words keyed by their normalised form.
    assert vocab.words[2:6] == ["0000-00-00", "call", "eu", "the"]
    assert len(vocab) == 2 + 10
    assert vocab.index("CALL") == vocab.index("call") == 3
    assert vocab.index("2001-01-01") == vocab.index("1996-08-22") == 2
    assert vocab.index("unseen") == UNK_INDEX
    assert "Peter" in vocab and "unseen" not in vocab


def test_min_count_drops_rare_training_words():
    vocab = Vocabulary.build(TRAIN, min_count=2)
    assert vocab.words == ["<pad>", "<unk>", "0000-00-00", "call", "eu", "the"]
    kept = Vocabulary.build(TRAIN, PRETRAINED_WORDS, min_count=2)
    assert kept.index("Peter") != UNK_INDEX  # rare but pretrained


def test_build_with_vectors_holds_every_pretrained_word():
    vocab = Vocabulary.build(TRAIN, PRETRAINED_WORDS)
    assert set(PRETRAINED_WORDS) <= set(vocab.words)
    assert vocab.index("Paris") == vocab.words.index("paris")  # only in the vectors
    # A number GloVe knows keeps its own entry; a date it does not know is digit-normalised.
    assert vocab.index("1996") == vocab.words.index("1996")
    assert vocab.index("1997-01-02") == vocab.words.index("0000-00-00")
    assert "1996-08-22" not in vocab.words
    assert vocab.index("1997") == UNK_INDEX  # neither "1997" nor "0000" is an entry


def test_repeated_pretrained_words_are_entered_once():
    vocab = Vocabulary.build([], ["a", "b", "a"])
    assert vocab.words == ["<pad>", "<unk>", "a", "b"]


def test_indices_match_index():
    vocab = Vocabulary.build(TRAIN, PRETRAINED_WORDS)
    words = [word for sentence in TRAIN for word in sentence.words] + ["Paris", "nowhere"]
    ids = vocab.indices(words)
    assert ids.dtype == np.int64
    assert ids.tolist() == [vocab.index(word) for word in words]


def test_vocabulary_json_round_trip():
    vocab = Vocabulary.build(TRAIN, PRETRAINED_WORDS)
    text = vocab.to_json()
    assert json.loads(text)["words"] == vocab.words
    again = Vocabulary.from_json(text)
    assert again.words == vocab.words and again.index("1997-01-02") == vocab.index("1997-01-02")
    with pytest.raises(ValueError, match="not a deltagrad NER vocabulary"):
        Vocabulary.from_json('{"words": []}')


def test_vocabulary_rejects_bad_entries():
    with pytest.raises(ValueError, match="starts with"):
        Vocabulary(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocabulary(["<pad>", "<unk>", "a", "a"])


def test_embedding_matrix_copies_pretrained_rows():
    vocab = Vocabulary.build(TRAIN, PRETRAINED_WORDS)
    embeddings, n_pretrained = vocab.embedding_matrix(
        PRETRAINED_WORDS, PRETRAINED, 3, np.random.default_rng(0)
    )
    assert embeddings.shape == (len(vocab), 3) and embeddings.dtype == np.float32
    assert n_pretrained == len(PRETRAINED_WORDS)
    for row, word in enumerate(PRETRAINED_WORDS):
        np.testing.assert_array_equal(embeddings[vocab.words.index(word)], PRETRAINED[row])
    np.testing.assert_array_equal(embeddings[PAD_INDEX], 0)
    others = [index for index, word in enumerate(vocab.words) if word not in PRETRAINED_WORDS]
    random_rows = embeddings[others[1:]]  # all but <pad>
    assert np.all(random_rows != 0) and np.abs(random_rows).max() < 1.0


def test_embedding_matrix_is_deterministic_and_checks_dim():
    vocab = Vocabulary.build(TRAIN)
    first, n_first = vocab.embedding_matrix(None, None, 8, np.random.default_rng(7))
    second, _ = vocab.embedding_matrix(None, None, 8, np.random.default_rng(7))
    np.testing.assert_array_equal(first, second)
    assert n_first == 0
    big = vocab.embedding_matrix(None, None, 10_000, np.random.default_rng(0), std=0.1)[0]
    assert abs(float(big[1:].std()) - 0.1) < 0.005
    with pytest.raises(ValueError, match="dim=4"):
        vocab.embedding_matrix(PRETRAINED_WORDS, PRETRAINED, 4, np.random.default_rng(0))


# --- tags ----------------------------------------------------------------------------------


def test_tagset_order_and_lookup():
    tagset = TagSet.build(TRAIN)
    assert tagset.tags == [
        "O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"
    ]  # fmt: skip
    assert tagset.types == ["LOC", "MISC", "ORG", "PER"]
    ids = tagset.indices(["O", "B-PER", "I-LOC"])
    assert ids.dtype == np.int64 and ids.tolist() == [0, 7, 2]
    assert tagset.to_tags(ids) == ["O", "B-PER", "I-LOC"]
    assert TagSet.build(reversed(TRAIN)) == tagset


def test_tagset_errors_and_json():
    tagset = TagSet.build([["B-PER"]])
    with pytest.raises(ValueError, match="'B-LOC'"):
        tagset.indices(["O", "B-LOC"])
    with pytest.raises(ValueError, match="invalid NER tag 'S-PER'"):
        TagSet.build([["S-PER"]])
    with pytest.raises(TypeError):
        TagSet.build(["B-PER", "O"])
    assert TagSet.from_json(tagset.to_json()) == tagset


# --- windows -------------------------------------------------------------------------------


def test_windows_at_sentence_boundaries():
    windows = make_windows([np.array([11, 12, 13]), np.array([21]), np.array([31, 32])], 2)
    assert windows.dtype == np.int64
    assert windows.tolist() == [
        [0, 0, 11, 12, 13],
        [0, 11, 12, 13, 0],
        [11, 12, 13, 0, 0],
        [0, 0, 21, 0, 0],
        [0, 0, 31, 32, 0],
        [0, 31, 32, 0, 0],
    ]


def test_window_edge_cases():
    assert make_windows([[5, 6]], 0).tolist() == [[5], [6]]
    assert make_windows([[5], [], [6]], 1, pad_id=9).tolist() == [[9, 5, 9], [9, 6, 9]]
    assert make_windows([], 2).shape == (0, 5)
    with pytest.raises(ValueError, match="window"):
        make_windows([[1]], -1)
    with pytest.raises(ValueError, match="do not add up"):
        make_windows_flat(np.arange(3), [1, 1], 1)


def naive_windows(sentences, window, pad_id):
    rows = []
    for sentence in sentences:
        padded = [pad_id] * window + list(sentence) + [pad_id] * window
        rows += [padded[position : position + 2 * window + 1] for position in range(len(sentence))]
    return rows


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    st.lists(st.lists(st.integers(1, 50), max_size=7), max_size=6),
    st.integers(0, 4),
    st.integers(0, 3),
)
def test_windows_match_naive_loop(sentences, window, pad_id):
    windows = make_windows(sentences, window, pad_id=pad_id)
    assert windows.shape == (sum(map(len, sentences)), 2 * window + 1)
    assert windows.tolist() == naive_windows(sentences, window, pad_id)
