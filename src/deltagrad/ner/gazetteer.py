"""A gazetteer built from the training split: which word sequences were entities, and of what type.

Every entity of the training data (up to ``MAX_LENGTH`` words, as written) is an entry; for each
entry it records how often the sequence occurred in the training text and how often it was
tagged as an entity of each type, so a match says "London" was a location 98% of the times it
appeared, "May" a person 5%. A token's features are those probabilities where a match covers it
(first word and later words apart): the longest entries win, then the leftmost.

A feature computed on the training data from the training data would be right whenever it
fires, and the model would learn to trust it more than it deserves on new text, where many
entities are missing from it. So the training split is cut into folds by document, and a
training token sees the gazetteer built from the other folds only (jackknifing); dev, held-out
and new text see all of it. Nothing is downloaded: the entries are the training split's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import repeat

import numpy as np

__all__ = ["FOLDS", "MAX_LENGTH", "Gazetteer"]

FOLDS = 5  # folds of training documents for jackknifed features
MAX_LENGTH = 6  # words in the longest entry


class Gazetteer:
    """Entity word sequences with per-type probabilities, from tagged training sentences.

    Args:
        types: the entity types (``["LOC", "MISC", "ORG", "PER"]``).
        entries: each entry's words.
        entities: float64 ``[n_entries, folds, n_types]`` times tagged as each type, per fold.
        occurrences: float64 ``[n_entries, folds]`` times the words occurred, per fold.

    A gazetteer read back from JSON has one fold (the totals) and cannot jackknife.
    """

    def __init__(self, types: Sequence[str], entries: Sequence[Sequence[str]],
                 entities: np.ndarray, occurrences: np.ndarray):
        self.types = list(types)
        self.entries = [tuple(entry) for entry in entries]
        self.entities = np.asarray(entities, dtype=np.float64)
        self.occurrences = np.asarray(occurrences, dtype=np.float64)
        n = len(self.entries)
        if self.entities.shape[::2] != (n, len(self.types)) or self.occurrences.shape != (
                n, self.entities.shape[1]):
            raise ValueError(f"gazetteer: {n} entries and {len(self.types)} types do not match "
                             f"counts of shapes {self.entities.shape} and "
                             f"{self.occurrences.shape}")
        self.max_length = max(map(len, self.entries), default=0)
        self._words = {w: i for i, w in enumerate(sorted({w for e in self.entries for w in e}))}
        # Entries by length, as sorted hashes of their word ids (a match is then a binary
        # search of a whole column of candidate hashes, verified against the entry's ids).
        self._ids = np.full((n, max(self.max_length, 1)), -1, dtype=np.int64)
        for row, entry in enumerate(self.entries):
            self._ids[row, :len(entry)] = [self._words[w] for w in entry]
        lengths = np.array([len(e) for e in self.entries], dtype=np.int64)
        hashes = _hash(self._ids)
        self._by_length = {}
        for length in range(1, self.max_length + 1):
            rows = np.flatnonzero(lengths == length)
            order = np.argsort(hashes[rows], kind="stable")
            self._by_length[length] = (hashes[rows][order], rows[order])

    @property
    def width(self) -> int:
        """Features per token: a probability per type for first words, one for later words."""
        return 2 * len(self.types)

    @classmethod
    def build(cls, sentences: Sequence, folds: int = FOLDS,
              max_length: int = MAX_LENGTH) -> Gazetteer:
        """The entities of tagged sentences (IOB2 tags), counted per fold of documents.

        A sentence's fold is its ``document`` number modulo ``folds``.
        """
        words = [w for s in sentences for w in s.words]
        lengths = np.array([len(s.words) for s in sentences], dtype=np.int64)
        fold = np.repeat(np.array([s.document % folds for s in sentences], dtype=np.int64),
                         lengths)
        starts, ends, kinds, types = _entities([t for s in sentences for t in s.tags], lengths)
        short = ends - starts <= max_length
        starts, ends, kinds = starts[short], ends[short], kinds[short]
        spans = [tuple(words[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        entries = sorted(set(spans))
        index = {entry: i for i, entry in enumerate(entries)}
        entities = np.zeros((len(entries), folds, len(types)))
        rows = np.fromiter((index[span] for span in spans), dtype=np.int64, count=len(spans))
        np.add.at(entities, (rows, fold[starts], kinds), 1.0)
        gazetteer = cls(types, entries, entities, np.zeros((len(entries), folds)))
        # How often each entry's words occur at all (as an entity or not), per fold.
        ids, end = gazetteer._word_ids(words, lengths)
        for length in range(1, gazetteer.max_length + 1):
            starts, entry = gazetteer._candidates(ids, end, length, np.zeros(len(words), bool))
            np.add.at(gazetteer.occurrences, (entry, fold[starts]), 1.0)
        return gazetteer

    def features(self, words: Sequence[str], lengths: np.ndarray,
                 documents: np.ndarray | None = None,
                 jackknife: bool = False) -> np.ndarray:
        """float32 ``[n_tokens, width]``: each token's match probabilities (zero: no match).

        Args:
            words: the tokens as written, all sentences one after another.
            lengths: int ``[n_sentences]`` sentence lengths.
            documents: int ``[n_sentences]`` document numbers (needed with ``jackknife``).
            jackknife: the training data itself: each token sees only the counts of the folds
                other than its document's.
        """
        n, k = len(words), len(self.types)
        out = np.zeros((n, 2 * k), dtype=np.float32)
        lengths = np.asarray(lengths, dtype=np.int64)
        fold = None
        if jackknife:
            if self.entities.shape[1] < 2:
                raise ValueError("this gazetteer holds totals only (read from a model): it "
                                 "cannot give jackknifed features")
            if documents is None:
                raise ValueError("jackknifed gazetteer features need the sentences' documents")
            fold = np.repeat(np.asarray(documents, dtype=np.int64) % self.entities.shape[1],
                             lengths)
        entities, occurrences = self.entities.sum(axis=1), self.occurrences.sum(axis=1)
        covered = np.zeros(n, dtype=bool)
        ids, end = self._word_ids(words, lengths)
        for length in range(self.max_length, 0, -1):
            starts, entry = self._candidates(ids, end, length, covered)
            counts, seen = entities[entry], occurrences[entry]
            if fold is not None:  # leave out the token's own fold
                counts = counts - self.entities[entry, fold[starts]]
                seen = seen - self.occurrences[entry, fold[starts]]
            keep = counts.sum(axis=1) > 0
            starts, counts, seen = starts[keep], counts[keep], seen[keep]
            if length > 1:  # overlapping matches of one length: the leftmost wins
                starts, chosen = _leftmost(starts, length)
                counts, seen = counts[chosen], seen[chosen]
            probability = (counts / np.maximum(seen, 1.0)[:, None]).astype(np.float32)
            out[starts, :k] = probability
            for offset in range(1, length):
                out[starts + offset, k:] = probability
            for offset in range(length):
                covered[starts + offset] = True
        return out

    def _word_ids(self, words: Sequence[str], lengths: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Each token's id among the entries' words (-1: in none), and its sentence's end."""
        ids = np.array(list(map(self._words.get, words, repeat(-1))), dtype=np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        return ids, np.repeat(np.cumsum(lengths), lengths)

    def _candidates(self, ids: np.ndarray, end: np.ndarray, length: int,
                    covered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Starts of uncovered ``length``-word sequences inside one sentence that are entries,
        and the entries' rows."""
        starts = np.flatnonzero(np.arange(ids.size) + length <= end)
        ok = np.ones(starts.size, dtype=bool)
        for offset in range(length):
            ok &= (ids[starts + offset] >= 0) & ~covered[starts + offset]
        starts = starts[ok]
        window = np.full((starts.size, self._ids.shape[1]), -1, dtype=np.int64)
        for offset in range(length):
            window[:, offset] = ids[starts + offset]
        hashes, rows = self._by_length.get(length, (np.zeros(0, np.uint64), np.zeros(0, int)))
        if rows.size == 0:
            return starts[:0], rows[:0]
        found = np.minimum(np.searchsorted(hashes, _hash(window)), rows.size - 1)
        entry = rows[found]
        match = (self._ids[entry] == window).all(axis=1)
        return starts[match], entry[match]

    def to_json(self) -> str:
        """The totals (all folds together): what prediction needs."""
        entities, occurrences = self.entities.sum(axis=1), self.occurrences.sum(axis=1)
        return json.dumps({"format": "deltagrad.ner.Gazetteer", "types": self.types,
                           "entries": [[list(e), c.tolist(), o] for e, c, o in
                                       zip(self.entries, entities, occurrences.tolist(),
                                           strict=True)]})

    @classmethod
    def from_json(cls, text: str) -> Gazetteer:
        """Reads ``to_json``'s output.

        Raises:
            ValueError: not a gazetteer, or inconsistent contents.
        """
        try:
            data = json.loads(text)
        except RecursionError:  # (deeply nested arrays)
            raise ValueError("not a deltagrad gazetteer: nested too deeply") from None
        if not isinstance(data, dict) or data.get("format") != "deltagrad.ner.Gazetteer":
            raise ValueError("not a deltagrad gazetteer")
        try:
            rows, types = data["entries"], data["types"]
            entries = [words for words, _, _ in rows]
            if not all(isinstance(t, str) for t in types) or not all(
                    isinstance(words, list) and words and all(isinstance(w, str) for w in words)
                    for words in entries):
                raise ValueError("types and entries must be lists of strings")
            entities = np.array([counts for _, counts, _ in rows], dtype=np.float64)
            occurrences = np.array([seen for _, _, seen in rows], dtype=np.float64)
            if not (np.isfinite(entities).all() and np.isfinite(occurrences).all()
                    and (entities >= 0).all() and (occurrences >= 0).all()):
                raise ValueError("counts must be finite and non-negative")
            return cls(types, entries, entities.reshape(len(rows), 1, len(types)),
                       occurrences.reshape(len(rows), 1))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"inconsistent gazetteer: {error}") from None


def _entities(tags: Sequence[str], lengths: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The IOB2 entities of sentences laid end to end: starts, ends (exclusive), type ids, and
    the types' names (sorted). An ``I-`` tag continues an entity only after a tag of its type
    in its sentence, as conlleval reads IOB2."""
    distinct, tag_ids = np.unique(np.array(tags, dtype=str), return_inverse=True)
    distinct = distinct.tolist()
    names = sorted({t[2:] for t in distinct if t[:2] in ("B-", "I-")})
    kind = np.array([names.index(t[2:]) if t[:2] in ("B-", "I-") else -1 for t in distinct],
                    dtype=np.int64)[tag_ids.reshape(-1)]
    begin = np.array([t[:2] == "B-" for t in distinct], dtype=bool)[tag_ids.reshape(-1)]
    first = np.zeros(len(tags), dtype=bool)
    first[(np.cumsum(lengths) - lengths)[lengths > 0]] = True
    # A token continues the previous one's entity if it is I- of the same type, same sentence.
    continues = ~begin & (kind >= 0) & ~first & (np.roll(kind, 1) == kind)
    segment = np.cumsum(~continues)  # one id per run of tokens
    starts = np.flatnonzero(~continues & (kind >= 0))
    ends = np.searchsorted(segment, segment[starts], side="right")
    return starts, ends, kind[starts], names


def _hash(ids: np.ndarray) -> np.ndarray:
    """uint64 hashes of rows of word ids (-1 pads), wrapping multiply-add."""
    out = np.zeros(ids.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in ids.T:
            out = out * np.uint64(0x9E3779B97F4A7C15) + (column + 2).astype(np.uint64)
    return out


def _leftmost(starts: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Of sorted match starts, those not overlapping an earlier kept one, and their positions."""
    kept, last_end = [], -1
    for position, start in enumerate(starts.tolist()):
        if start >= last_end:
            kept.append(position)
            last_end = start + length
    chosen = np.asarray(kept, dtype=np.int64)
    return starts[chosen], chosen
