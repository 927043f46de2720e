"""Character n-gram features: each word's spelling as hashed n-gram ids (fastText-style).

A word such as ``Ekeus`` has no GloVe vector and was never seen in training, yet its spelling
says a lot ("-us", capitalised, "ek"); the model represents it by the mean of learned vectors
of its character n-grams. N-grams are hashed into a fixed number of buckets (no vocabulary to
save, and every n-gram of a new word has a row), with CRC-32, which is the same in every process
(Python's ``hash`` of a string is salted per process).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from deltagrad.ner.vocab import normalize_word

__all__ = ["MAX_NGRAMS", "NGRAM_SIZES", "form_table", "word_ngrams"]

NGRAM_SIZES = (3, 4, 5)
MAX_NGRAMS = 32  # per word; a 30-letter word has 87, and its ends say the most


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
