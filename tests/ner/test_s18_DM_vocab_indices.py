"""Vocabulary.indices (many tokens at once) gives exactly Vocabulary.index token by token.

indices looks up every token's lowercased form in C-level maps and falls back to index's
digit-normalised lookup only for the misses: cased words, numbers in any script, unknown
words, the special tokens, repeats and non-list sequences all take the same ids.
"""

import numpy as np
import pytest

from deltagrad.ner.conll import Sentence
from deltagrad.ner.vocab import UNK_INDEX, Vocabulary

PRETRAINED = ["the", "eu", "german", "1996", "3.5", "f16", "<unk>-like", "straße", "ǆ"]
TRAIN = [Sentence(["EU", "rejects", "German", "call", "1996", "1997", "10:30"],
                  ["B-ORG", "O", "B-MISC", "O", "O", "O", "O"]),
         Sentence(["Peter", "Blackburn", "BRUSSELS", "1996-08-22", "٣٤"],
                  ["B-PER", "I-PER", "B-LOC", "O", "O"])]
QUERIES = ["EU", "eu", "Eu", "THE", "the", "rejects", "REJECTS", "1996", "2001", "1997",
           "09:15", "2000-01-01", "١٩٩٦", "٣٤", "12", "STRASSE", "Straße", "ǅ", "Ǆ", "unknown",
           "<pad>", "<unk>", "<PAD>", "", "3.5", "4.5", "F16", "f16", "F17", "Blackburn",
           "blackburn", "EU", "EU"]


@pytest.mark.parametrize("pretrained", [PRETRAINED, None])
def test_indices_equal_index_token_by_token(pretrained):
    vocab = Vocabulary.build(TRAIN, pretrained_words=pretrained)
    want = np.array([vocab.index(word) for word in QUERIES], dtype=np.int64)
    got = vocab.indices(QUERIES)
    assert got.dtype == np.int64 and got.shape == (len(QUERIES),)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(vocab.indices(tuple(QUERIES)), want)  # any sequence
    np.testing.assert_array_equal(vocab.indices(iter(QUERIES)), want)
    assert (got == UNK_INDEX).any() and (got != UNK_INDEX).any()  # both kinds exercised
    assert vocab.indices([]).shape == (0,)


def test_indices_on_random_tokens():
    rng = np.random.default_rng(0)
    vocab = Vocabulary.build(TRAIN, pretrained_words=PRETRAINED)
    alphabet = list("aAeEuUgGrR19٣ßǅ-:.")
    words = ["".join(rng.choice(alphabet, rng.integers(0, 5))) for _ in range(2000)]
    np.testing.assert_array_equal(vocab.indices(words), [vocab.index(w) for w in words])
