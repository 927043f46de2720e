"""Model inputs: the word, casing and suffix windows of every token, built from a vocabulary."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from deltagrad.ner.conll import Sentence
from deltagrad.ner.vocab import (
    PAD_INDEX,
    TagSet,
    Vocabulary,
    encode_dataset,
    make_windows_flat,
    normalize_word,
)

__all__ = ["Batch", "Features", "SuffixVocabulary", "Windows"]

SUFFIX_LENGTH = 3


class SuffixVocabulary:
    """The last three letters of (normalised) words seen at least ``min_count`` times in training.

    Index 0 pads sentence boundaries, index 1 stands for any unseen suffix. Suffixes carry what
    a word vector cannot for unknown words: "-ese", "-ian", "-ers", "-ing".
    """

    def __init__(self, suffixes: Sequence[str]):
        self.suffixes = list(suffixes)
        self._index = {s: i for i, s in enumerate(self.suffixes)}

    @classmethod
    def build(cls, sentences: Sequence[Sentence], min_count: int = 2) -> SuffixVocabulary:
        counts = Counter(_suffix(w) for s in sentences for w in s.words)
        kept = sorted(s for s, n in counts.items() if n >= min_count)
        return cls(["<pad>", "<unk>", *kept])

    def __len__(self) -> int:
        return len(self.suffixes)

    def indices(self, words: Sequence[str]) -> np.ndarray:
        get = self._index.get
        return np.fromiter((get(_suffix(w), 1) for w in words), dtype=np.int64, count=len(words))

    def to_json(self) -> str:
        return json.dumps({"format": "deltagrad.ner.SuffixVocabulary", "suffixes": self.suffixes})

    @classmethod
    def from_json(cls, text: str) -> SuffixVocabulary:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != "deltagrad.ner.SuffixVocabulary":
            raise ValueError("not a deltagrad suffix vocabulary")
        return cls(data["suffixes"])


def _suffix(word: str) -> str:
    return normalize_word(word)[-SUFFIX_LENGTH:]


@dataclass
class Windows:
    """Every token of a dataset as integer windows (one row per token, column ``window`` is it).

    Attributes:
        words, casing, suffixes: int64 ``[n_tokens, 2 * window + 1]``.
        tags: int64 ``[n_tokens]`` (None for untagged text).
        sentence_lengths: int64 ``[n_sentences]``.
    """

    words: np.ndarray
    casing: np.ndarray
    suffixes: np.ndarray
    tags: np.ndarray | None
    sentence_lengths: np.ndarray

    def __len__(self) -> int:
        return self.words.shape[0]

    def batch(self, rows) -> Batch:
        tags = self.tags[rows] if self.tags is not None else None
        return Batch(self.words[rows], self.casing[rows], self.suffixes[rows], tags)


@dataclass
class Batch:
    words: np.ndarray
    casing: np.ndarray
    suffixes: np.ndarray
    tags: np.ndarray | None


@dataclass
class Features:
    """Everything that turns sentences into model inputs: vocabularies, tag set, window size."""

    vocab: Vocabulary
    suffixes: SuffixVocabulary
    tagset: TagSet
    window: int

    def encode(self, sentences: Sequence[Sentence | Sequence[str]], tagged: bool = True
               ) -> Windows:
        """Windows for every token of ``sentences`` (tags too when ``tagged``)."""
        encoded = encode_dataset(sentences, self.vocab, self.tagset if tagged else None,
                                 self.window)
        words = list(chain.from_iterable(
            s.words if isinstance(s, Sentence) else s for s in sentences))
        suffixes = make_windows_flat(self.suffixes.indices(words), encoded.sentence_lengths,
                                     self.window, pad_id=PAD_INDEX)
        return Windows(encoded.words, encoded.casing, suffixes, encoded.tags,
                       encoded.sentence_lengths)
