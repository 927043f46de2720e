"""Spelling features: a word's characters as hashed n-gram ids (fastText-style), or as
character ids for the character CNN.

A word such as ``Ekeus`` has no GloVe vector and was never seen in training, yet its spelling
says a lot ("-us", capitalised, "ek"); the model represents it by the mean of learned vectors
of its character n-grams. N-grams are hashed into a fixed number of buckets (no vocabulary to
save, and every n-gram of a new word has a row), with CRC-32, which is the same in every process
(Python's ``hash`` of a string is salted per process).

The character CNN reads the characters themselves, as ids from a fixed table (printable ASCII;
every other character is one "unknown" id): nothing to save with a model, the same ids in every
process, and CoNLL-2003's text is ASCII.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from deltagrad.ner.vocab import normalize_word

__all__ = ["CHAR_UNK", "MAX_NGRAMS", "NGRAM_SIZES", "N_CHARS", "char_ids", "char_table",
           "form_table", "word_ngrams"]

NGRAM_SIZES = (3, 4, 5)
MAX_NGRAMS = 32  # per word; a 30-letter word has 87, and its ends say the most
# Character ids: 0 pads, 1 is any character outside printable ASCII, then "!" (33) to "~" (126).
CHAR_UNK = 1
_FIRST_CHAR, _LAST_CHAR = 33, 126
N_CHARS = _LAST_CHAR - _FIRST_CHAR + 3


def word_ngrams(word: str, buckets: int) -> list[int]:
    """Hashed ids of a word's character n-grams, in ``[1, buckets)`` (0 is padding).

    The word is lowercased, its digits become 0 (:func:`normalize_word`; casing is its own
    feature) and it is wrapped in ``<`` and ``>`` so that prefixes and suffixes are n-grams of
    their own. N-grams that touch a word boundary come first, then the inner ones; at most
    ``MAX_NGRAMS`` are kept.

    Args:
        word: a token as written.
        buckets: the size of the n-gram embedding table (at least 2).

    Returns:
        The ids, one per kept n-gram (repeats kept: they weigh in the mean).

    >>> len(word_ngrams("EU", 100))  # "<eu", "eu>", "<eu>"
    3
    """
    text = f"<{normalize_word(word)}>"
    edges, inner = [], []
    for size in NGRAM_SIZES:
        for start in range(len(text) - size + 1):
            gram = text[start:start + size]
            (edges if start == 0 or start + size == len(text) else inner).append(gram)
    grams = (edges + inner)[:MAX_NGRAMS]
    return [zlib.crc32(gram.encode("utf-8")) % (buckets - 1) + 1 for gram in grams]


def form_table(words: Sequence[str], buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Each token's spelling id, and the n-gram ids of every distinct spelling.

    Args:
        words: the tokens, as written.
        buckets: the size of the n-gram embedding table.

    Returns:
        ``(forms, ngrams)``: int64 ``[len(words)]`` ids in ``[1, n_forms]``, and int64
        ``[n_forms + 1, k]`` n-gram ids padded with 0; row 0 (no n-grams) is the spelling of a
        window position beyond the sentence.
    """
    index: dict[str, int] = {}
    forms = np.fromiter((index.setdefault(word, len(index) + 1) for word in words),
                        dtype=np.int64, count=len(words))
    grams = [word_ngrams(word, buckets) for word in index]  # dicts keep insertion order
    width = max((len(g) for g in grams), default=1)
    table = np.zeros((len(grams) + 1, width), dtype=np.int64)
    for row, ids in enumerate(grams, start=1):
        table[row, :len(ids)] = ids
    return forms, table


def char_ids(word: str, max_length: int) -> list[int]:
    """A word's character ids for the character CNN, at most ``max_length`` of them.

    Case and digits are kept (the CNN learns what they say). A longer word keeps its first and
    last ``max_length // 2`` characters or so: its ends (prefix, suffix) say the most.

    Args:
        word: a token as written.
        max_length: the most characters kept (at least 1).

    Returns:
        Ids in ``[1, N_CHARS)``: ``CHAR_UNK`` for a character outside printable ASCII.

    >>> char_ids("EU", 20)
    [38, 54]
    """
    if len(word) > max_length:
        head = (max_length + 1) // 2
        word = word[:head] + word[len(word) - (max_length - head):]
    return [code - _FIRST_CHAR + 2 if _FIRST_CHAR <= code <= _LAST_CHAR else CHAR_UNK
            for code in map(ord, word)]


def char_table(words: Sequence[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each token's spelling id, and the character ids of every distinct spelling.

    The same layout as :func:`form_table`, with character ids (0 pads) instead of n-gram ids.

    Args:
        words: the tokens, as written.
        max_length: the most characters kept per word.

    Returns:
        ``(forms, chars)``: int64 ``[len(words)]`` ids in ``[1, n_forms]``, and int64
        ``[n_forms + 1, k]`` character ids padded with 0; row 0 (no characters) is the spelling
        of a window position beyond the sentence.
    """
    index: dict[str, int] = {}
    forms = np.fromiter((index.setdefault(word, len(index) + 1) for word in words),
                        dtype=np.int64, count=len(words))
    rows = [char_ids(word, max_length) for word in index]
    width = max((len(r) for r in rows), default=1) or 1
    table = np.zeros((len(rows) + 1, width), dtype=np.int64)
    for row, ids in enumerate(rows, start=1):
        table[row, :len(ids)] = ids
    return forms, table
