"""Vocabulary, tag set, casing and the windowing of id arrays (features.py builds datasets)."""

from __future__ import annotations

import enum
import json
import re
import reprlib
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, repeat

import numpy as np

from deltagrad.ner.conll import Sentence, check_tag

__all__ = [
    "NUM_CASINGS",
    "PAD_INDEX",
    "PAD_TOKEN",
    "UNK_INDEX",
    "UNK_TOKEN",
    "Casing",
    "TagSet",
    "Vocabulary",
    "casing",
    "casing_ids",
    "make_windows",
    "make_windows_flat",
    "normalize_word",
    "per_word",
    "sentence_words",
]

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
PAD_INDEX = 0
UNK_INDEX = 1
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN)

_VOCAB_FORMAT = "deltagrad.ner.Vocabulary"
_TAGSET_FORMAT = "deltagrad.ner.TagSet"
_DIGIT = re.compile(r"\d")


class Casing(enum.IntEnum):
    """Casing categories of a token, the second input feature of the window model.

    ``PAD`` marks the sentence-boundary positions of a window and shares index 0 with the
    ``<pad>`` word, so one padding id serves both feature arrays.
    """

    PAD = 0
    LOWER = 1
    ALL_CAPS = 2
    INITIAL_CAP = 3
    HAS_DIGIT = 4
    OTHER = 5


NUM_CASINGS = len(Casing)


def normalize_word(word: str) -> str:
    """Lowercases a word and replaces every decimal digit (any script) with ``0``.

    Args:
        word: a token as written.

    Returns:
        The normalised form, so that ``1996`` and ``2001`` (or ``10:30`` and ``09:15``)
        share one vocabulary entry.

    >>> normalize_word("Bundesliga-1996/97")
    'bundesliga-0000/00'
    """
    return _DIGIT.sub("0", word.lower())


def casing(word: str) -> int:
    """Returns the :class:`Casing` category of a token.

    The first rule that applies wins: any digit -> ``HAS_DIGIT``; all cased letters lower
    -> ``LOWER``; all upper -> ``ALL_CAPS`` (``EU``, ``U.S.``, ``I``); first character upper
    -> ``INITIAL_CAP`` (``Peter``, ``McDonald``); anything else (punctuation, ``eBay``) ->
    ``OTHER``.

    Args:
        word: a token as written.

    Returns:
        The category as an int in ``[1, NUM_CASINGS)`` (0 is kept for padding).

    >>> [Casing(casing(w)).name for w in ["the", "EU", "Peter", "1996", ",", "eBay"]]
    ['LOWER', 'ALL_CAPS', 'INITIAL_CAP', 'HAS_DIGIT', 'OTHER', 'OTHER']
    """
    if _DIGIT.search(word):
        return Casing.HAS_DIGIT
    if word.islower():
        return Casing.LOWER
    if word.isupper():
        return Casing.ALL_CAPS
    if word[:1].isupper():
        return Casing.INITIAL_CAP
    return Casing.OTHER


def casing_ids(words: Sequence[str]) -> np.ndarray:
    """Casing categories of many tokens, each distinct token classified once.

    Args:
        words: tokens as written.

    Returns:
        int64 ``[len(words)]``.
    """
    return per_word(words, casing, np.int64)


def per_word(words: Sequence[str], function, dtype) -> np.ndarray:
    """``function(word)`` of every token as a 1-D array, called once per distinct token.

    >>> per_word(["EU", "a", "EU"], len, np.int64).tolist()
    [2, 1, 2]
    """
    table = {word: function(word) for word in set(words)}
    return np.fromiter(map(table.__getitem__, words), dtype=dtype, count=len(words))


def sentence_words(sentence: Sentence | Sequence[str]) -> Sequence[str]:
    """The words of a tagged ``Sentence`` or of a plain word list."""
    return sentence.words if isinstance(sentence, Sentence) else sentence


class Vocabulary:
    """Maps words to row indices of the embedding matrix.

    Entries are lookup keys: ``<pad>`` (index 0), ``<unk>`` (index 1), then the training words
    and the pretrained words. A word is looked up as its lowercased form first (GloVe 6B is
    lowercased and holds real numbers such as ``1996`` and ``3.5``), then as its digit-normalised
    form (:func:`normalize_word`; ``1996-08-22`` -> ``0000-00-00``), else it is ``<unk>``.
    One padding token serves both window edges: the model concatenates the window positions,
    so a left-edge pad can never be confused with a right-edge one.

    Args:
        words: the entries by index; must start with ``<pad>``, ``<unk>`` and be unique.
    """

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if tuple(words[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(
                f"a vocabulary starts with {SPECIAL_TOKENS}, got {reprlib.repr(words[:2])}"
            )
        self.words = words
        self._index = dict(zip(words, range(len(words)), strict=True))
        if len(self._index) != len(words):
            duplicates = [word for word, count in Counter(words).items() if count > 1]
            raise ValueError(f"duplicate vocabulary entries: {reprlib.repr(duplicates)}")

    @classmethod
    def build(
        cls,
        train_sentences: Iterable[Sentence | Sequence[str]],
        pretrained_words: Sequence[str] | None = None,
        min_count: int = 1,
    ) -> Vocabulary:
        """Builds the vocabulary from training sentences and the pretrained vectors' words.

        A training word becomes the key its lookup would find: its lowercased form when the
        pretrained vectors have it, else its digit-normalised form. Keys seen fewer than
        ``min_count`` times are dropped unless pretrained. Every pretrained word is kept, so
        that words seen only in dev or test still get their pretrained vector.
        Order: specials, training keys by descending count (ties alphabetical), then the
        remaining pretrained words in their file order.

        Args:
            train_sentences: sentences (or word lists) of the training set.
            pretrained_words: the words of the pretrained vectors, or None.
            min_count: the minimum number of training occurrences of a key without a vector.

        Returns:
            The vocabulary.
        """
        # dict.fromkeys drops repeated pretrained words, keeping file order.
        pretrained = dict.fromkeys(pretrained_words if pretrained_words is not None else ())
        surface_counts = Counter(chain.from_iterable(map(sentence_words, train_sentences)))
        key_counts: Counter[str] = Counter()
        for word, count in surface_counts.items():
            lowered = word.lower()
            key = lowered if lowered in pretrained else normalize_word(word)
            key_counts[key] += count
        kept = [
            key
            for key, count in key_counts.items()
            if (count >= min_count or key in pretrained) and key not in SPECIAL_TOKENS
        ]
        kept.sort(key=lambda key: (-key_counts[key], key))
        taken = set(SPECIAL_TOKENS).union(kept)
        words = [*SPECIAL_TOKENS, *kept, *(word for word in pretrained if word not in taken)]
        return cls(words)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return self.index(word) != UNK_INDEX

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} entries)"

    def index(self, word: str) -> int:
        """Returns the index of a word (lowercased, then digit-normalised, else ``<unk>``).

        Args:
            word: a token as written.

        Returns:
            Its row in the embedding matrix.
        """
        index = self._index.get(word.lower())
        if index is None:
            index = self._index.get(normalize_word(word), UNK_INDEX)
        return index

    def indices(self, words: Sequence[str]) -> np.ndarray:
        """Looks up many tokens at once, each distinct token looked up once.

        Args:
            words: tokens as written.

        Returns:
            int64 ``[len(words)]``.
        """
        # Every token's lowercased form looked up in C-level maps, then ``index``'s digit
        # fallback for the few misses, each distinct one once: the same ids as ``index`` token
        # by token. (The 400,000 GloVe words of each run's has_vector: 0.664 -> 0.159 s, the
        # training split's 203,621 tokens 0.053 -> 0.039 s; thread time, medians of 6
        # alternated rounds on a loaded machine; issue 18.)
        words = words if isinstance(words, list) else list(words)
        ids = np.fromiter(map(self._index.get, map(str.lower, words), repeat(-1)),
                          dtype=np.int64, count=len(words))
        misses = np.flatnonzero(ids < 0)
        if misses.size:
            fallback: dict[str, int] = {}
            get = self._index.get
            for position in misses.tolist():
                word = words[position]
                index = fallback.get(word)
                if index is None:
                    index = fallback[word] = get(normalize_word(word), UNK_INDEX)
                ids[position] = index
        return ids

    def embedding_matrix(
        self,
        words: Sequence[str] | None,
        matrix: np.ndarray | None,
        dim: int | None,
        rng: np.random.Generator,
        *,
        std: float = 0.1,
    ) -> tuple[np.ndarray, int]:
        """Builds the initial embedding matrix: pretrained rows where available, else random.

        Entries that are pretrained words get their vector; ``<pad>`` gets zeros; every other
        row (``<unk>`` included) is drawn from ``Normal(0, std)``, in index order.

        Args:
            words: the pretrained words, or None for a fully random matrix.
            matrix: float ``[len(words), D]`` pretrained vectors (rows align with ``words``).
            dim: the embedding width; may be None when ``matrix`` is given (must match it).
            rng: the random generator for the non-pretrained rows.
            std: the standard deviation of the random rows.

        Returns:
            ``(embeddings, n_pretrained)``: float32 ``[len(self), dim]`` and how many entries
            got a pretrained vector.
        """
        if (words is None) != (matrix is None):
            raise ValueError("give both the pretrained words and their matrix, or neither")
        if matrix is not None:
            if matrix.ndim != 2 or matrix.shape[0] != len(words):
                raise ValueError(
                    f"the pretrained matrix has shape {matrix.shape} for {len(words)} words"
                )
            if dim is None:
                dim = matrix.shape[1]
            elif dim != matrix.shape[1]:
                raise ValueError(f"dim={dim} but the pretrained vectors have {matrix.shape[1]}")
        if dim is None or dim < 1:
            raise ValueError(f"the embedding width must be a positive int, got {dim}")
        embeddings = np.zeros((len(self), dim), dtype=np.float32)
        found = np.full(len(self), -1, dtype=np.int64)
        if matrix is not None:
            # Each pretrained word's entry (an exact key, as a dict of the words would find it),
            # and each entry's first row among them (a repeated pretrained word keeps its first
            # row): the default run's 400,000 words 0.23-0.29 -> 0.11-0.15 CPU s against a dict
            # of the pretrained words looked up by every entry (the same rows, loaded machine;
            # each ensemble member builds it, issue 18).
            entries = np.fromiter(
                map(self._index.get, words, repeat(-1)), dtype=np.int64, count=len(words)
            )
            rows = np.flatnonzero(entries >= 0)
            entries, first = np.unique(entries[rows], return_index=True)
            found[entries] = rows[first]
            found[: len(SPECIAL_TOKENS)] = -1
            targets = np.flatnonzero(found >= 0)
            embeddings[targets] = matrix[found[targets]]
        random_rows = np.flatnonzero(found < 0)
        random_rows = random_rows[random_rows != PAD_INDEX]
        embeddings[random_rows] = std * rng.standard_normal(
            (random_rows.size, dim), dtype=np.float32
        )
        return embeddings, int(np.count_nonzero(found >= 0))

    def to_json(self) -> str:
        """Serialises the vocabulary as a JSON string (its entries, in index order)."""
        return json.dumps(
            {
                "format": _VOCAB_FORMAT,
                "version": 1,
                "lookup": "lowercase, then lowercase with digits as 0, then <unk>",
                "words": self.words,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """Reads a vocabulary written by :meth:`to_json`.

        Args:
            text: the JSON string.

        Returns:
            The vocabulary, with the same indices.

        Raises:
            ValueError: for anything but a vocabulary written by :meth:`to_json` (never
                TypeError or KeyError, whatever the JSON holds).
        """
        return cls(_load_strings(text, _VOCAB_FORMAT, "vocabulary", "words"))


class TagSet:
    """Maps IOB2 tags to class indices: ``O`` is 0, then ``B-X``, ``I-X`` for each type X sorted.

    Args:
        tags: the tags by index; ``tags[0]`` must be ``O`` and every tag a valid IOB tag.
    """

    def __init__(self, tags: Sequence[str]) -> None:
        tags = list(tags)
        if not tags or tags[0] != "O":
            raise ValueError(f"a tag set starts with 'O', got {reprlib.repr(tags[:1])}")
        for tag in tags:
            problem = check_tag(tag)
            if problem is not None:
                raise ValueError(problem)
        if len(set(tags)) != len(tags):
            duplicates = [tag for tag, count in Counter(tags).items() if count > 1]
            raise ValueError(f"duplicate tags: {reprlib.repr(duplicates)}")
        self.tags = tags
        self._index = {tag: index for index, tag in enumerate(tags)}

    @classmethod
    def build(cls, tag_sequences: Iterable[Sentence | Sequence[str]]) -> TagSet:
        """Builds the tag set of the entity types seen in training (both B- and I- of each).

        Args:
            tag_sequences: sentences, or their tag lists.

        Returns:
            ``O``, then ``B-X``, ``I-X`` for each type X in sorted order, whatever the data order.

        >>> TagSet.build([["B-PER", "O", "B-LOC", "I-LOC"]]).tags
        ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER']
        """
        seen: set[str] = set()
        for item in tag_sequences:
            if isinstance(item, str):
                raise TypeError("TagSet.build takes tag sequences (one per sentence), not tags")
            seen.update(item.tags if isinstance(item, Sentence) else item)
        for tag in seen:
            problem = check_tag(tag)
            if problem is not None:
                raise ValueError(problem)
        types = sorted({tag[2:] for tag in seen if tag != "O"})
        return cls(["O"] + [f"{prefix}-{name}" for name in types for prefix in "BI"])

    @property
    def types(self) -> list[str]:
        """The entity types, in tag-set order."""
        return list(dict.fromkeys(tag[2:] for tag in self.tags if tag != "O"))

    def __len__(self) -> int:
        return len(self.tags)

    def __contains__(self, tag: str) -> bool:
        return tag in self._index

    def __repr__(self) -> str:
        return f"TagSet({self.tags})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagSet) and self.tags == other.tags

    def index(self, tag: str) -> int:
        """Returns the class index of a tag.

        Args:
            tag: an IOB2 tag.

        Returns:
            Its index.

        Raises:
            ValueError: the tag is not in the set (for example a type unseen in training).
        """
        try:
            return self._index[tag]
        except KeyError:
            raise ValueError(f"tag {tag!r} is not in the tag set {self.tags}") from None

    def indices(self, tags: Sequence[str]) -> np.ndarray:
        """Looks up many tags at once.

        Args:
            tags: IOB2 tags.

        Returns:
            int64 ``[len(tags)]``.
        """
        unknown = set(tags) - self._index.keys()
        if unknown:
            raise ValueError(f"tags not in the tag set {self.tags}: {sorted(unknown)}")
        return np.fromiter(map(self._index.__getitem__, tags), dtype=np.int64, count=len(tags))

    def to_tags(self, indices: Iterable[int] | np.ndarray) -> list[str]:
        """Maps class indices back to tags.

        Args:
            indices: ints in ``[0, len(self))``.

        Returns:
            The tags.
        """
        return [self.tags[index] for index in np.asarray(indices, dtype=np.int64).tolist()]

    def __hash__(self) -> int:
        return hash(tuple(self.tags))

    def to_json(self) -> str:
        """Serialises the tag set as a JSON string."""
        return json.dumps({"format": _TAGSET_FORMAT, "version": 1, "tags": self.tags})

    @classmethod
    def from_json(cls, text: str) -> TagSet:
        """Reads a tag set written by :meth:`to_json`.

        Args:
            text: the JSON string.

        Returns:
            The tag set, with the same indices.

        Raises:
            ValueError: for anything but a tag set written by :meth:`to_json` (never
                TypeError or KeyError, whatever the JSON holds).
        """
        return cls(_load_strings(text, _TAGSET_FORMAT, "tag set", "tags"))


def _load_strings(text: str, file_format: str, what: str, key: str) -> list[str]:
    """The list of strings under ``key`` of a JSON file written by ``to_json``, with its format
    and version checked; ValueError naming ``what`` for anything else."""
    data = _parse_json(text, what)
    if not isinstance(data, dict) or data.get("format") != file_format:
        raise ValueError(f"not a deltagrad NER {what} (missing or wrong 'format')")
    if data.get("version") != 1:
        raise ValueError(f"unsupported {what} version {data.get('version')!r}")
    return _strings(data, key, what)


def _parse_json(text: str, what: str):
    try:
        return json.loads(text)
    except RecursionError:  # json's own error for "[[[[...": not a ValueError
        raise ValueError(f"not a deltagrad NER {what}: its JSON is nested too deeply") from None


def _strings(data: dict, key: str, what: str) -> list[str]:
    """``data[key]`` when it is a list of strings (a JSON file can hold anything)."""
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"not a deltagrad NER {what}: {key!r} must be a list of strings")
    return items


def make_windows_flat(
    flat_ids: np.ndarray, lengths: np.ndarray | Sequence[int], window: int, *, pad_id: int = 0
) -> np.ndarray:
    """Windows of ids around every token of concatenated sentences, padded at sentence edges.

    The sentences are laid out in one array with ``window`` pads before each sentence and after
    the last one, so no window crosses a sentence boundary; one fancy index then gathers all
    windows.

    Args:
        flat_ids: int ``[n_tokens]``, the sentences' ids one after another.
        lengths: int ``[n_sentences]``, summing to ``n_tokens``.
        window: tokens on each side of the centre (0 gives the token alone).
        pad_id: the id placed outside a sentence.

    Returns:
        int64 ``[n_tokens, 2 * window + 1]``; column ``window`` is the centre token.

    >>> make_windows_flat(np.array([5, 6, 7, 8]), [3, 1], 1).tolist()
    [[0, 5, 6], [5, 6, 7], [6, 7, 0], [0, 8, 0]]
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0:
        raise ValueError(f"window must be a non-negative int, got {window!r}")
    flat_ids = np.asarray(flat_ids, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if flat_ids.ndim != 1 or lengths.ndim != 1:
        raise ValueError("flat_ids and lengths must be 1-D")
    if (lengths < 0).any() or int(lengths.sum()) != flat_ids.size:
        raise ValueError(
            f"sentence lengths (sum {int(lengths.sum())}) do not add up to {flat_ids.size} ids"
        )
    sentence_of_token = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    positions = np.arange(flat_ids.size, dtype=np.int64) + window * (sentence_of_token + 1)
    padded = np.full(flat_ids.size + window * (lengths.size + 1), pad_id, dtype=np.int64)
    padded[positions] = flat_ids
    offsets = np.arange(-window, window + 1, dtype=np.int64)
    return padded[positions[:, None] + offsets]


def make_windows(
    ids_per_sentence: Sequence[np.ndarray | Sequence[int]], window: int, *, pad_id: int = 0
) -> np.ndarray:
    """Windows of ids around every token, sentence by sentence, padded at sentence edges.

    Args:
        ids_per_sentence: one int array (word ids or casing ids) per sentence.
        window: tokens on each side of the centre.
        pad_id: the id placed outside a sentence: ``PAD_INDEX`` for words, ``Casing.PAD`` for
            casings (both 0).

    Returns:
        int64 ``[n_tokens, 2 * window + 1]``, tokens in sentence order.

    >>> make_windows([[5, 6], [7]], 2).tolist()
    [[0, 0, 5, 6, 0], [0, 5, 6, 0, 0], [0, 0, 7, 0, 0]]
    """
    lengths = np.fromiter(map(len, ids_per_sentence), dtype=np.int64, count=len(ids_per_sentence))
    if lengths.size == 0 or lengths.sum() == 0:
        flat = np.zeros(0, dtype=np.int64)
    else:
        flat = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in ids_per_sentence])
    return make_windows_flat(flat, lengths, window, pad_id=pad_id)
