"""The suffix vocabulary, computed once per distinct word (issue 18), against its per-token
definition; vocab.per_word against calling the function on every token."""

from collections import Counter

import numpy as np

from deltagrad.ner.conll import Sentence
from deltagrad.ner.features import SuffixVocabulary, _suffix
from deltagrad.ner.vocab import casing, per_word

WORDS = ["Running", "running", "EU", "1996", "1997", "played", "Played", "ing", "x", "éçà",
         "Straße", "STRASSE", "İstanbul", "running", "EU", "-", "2,000", "walking"]


def test_suffix_vocabulary_is_its_per_token_definition():
    rng = np.random.default_rng(3)
    sentences = [Sentence([WORDS[i] for i in rng.integers(0, len(WORDS), n)],
                          ["O"] * int(n)) for n in rng.integers(1, 9, 40)]
    counts = Counter(_suffix(w) for s in sentences for w in s.words)  # per token
    for min_count in (1, 2, 5):
        built = SuffixVocabulary.build(sentences, min_count=min_count)
        kept = sorted(s for s, n in counts.items() if n >= min_count)
        assert built.suffixes == ["<pad>", "<unk>", *kept]
    built = SuffixVocabulary.build(sentences)
    words = WORDS + ["unseen", "Zzz"]
    index = {s: i for i, s in enumerate(built.suffixes)}
    expected = [index.get(_suffix(w), 1) for w in words]
    got = built.indices(words)
    assert got.dtype == np.int64 and got.tolist() == expected
    assert built.indices([]).shape == (0,)


def test_per_word_calls_once_per_distinct_word():
    calls = Counter()

    def function(word):
        calls[word] += 1
        return casing(word)

    got = per_word(WORDS, function, np.int64)
    assert got.tolist() == [casing(w) for w in WORDS]
    assert set(calls.values()) == {1} and set(calls) == set(WORDS)
    assert per_word(["a", "B"], str.isupper, bool).tolist() == [False, True]
