"""Model inputs: word, casing, suffix and spelling windows of every token, document features."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

import deltagrad as dg
from deltagrad.ner.chars import char_table, form_table
from deltagrad.ner.conll import Sentence
from deltagrad.ner.document import document_features, topic_bags
from deltagrad.ner.gazetteer import Gazetteer
from deltagrad.ner.history import history_features, history_width
from deltagrad.ner.vocab import (
    PAD_INDEX,
    Casing,
    TagSet,
    Vocabulary,
    casing_ids,
    make_windows_flat,
    normalize_word,
    per_word,
    sentence_words,
)

__all__ = ["GAZETTEER_SIDE", "Batch", "Features", "Stage1", "SuffixVocabulary", "Windows",
           "build_features", "rare_word_mask"]

SUFFIX_LENGTH = 3
# The gazetteer features of the token and of its neighbours this far on each side (held-out
# criterion G, 3 seeds: 0 -> 0.8805, 1 -> 0.8844, 2 -> 0.8821).
GAZETTEER_SIDE = 1


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
        # Each distinct word's suffix once (CoNLL-2003 train: 23,623 of 203,621 tokens), here
        # and in ``indices``: 0.097 -> 0.045 s and 0.102 -> 0.050 s (thread time, medians of 7).
        counts: Counter[str] = Counter()
        for word, count in Counter(w for s in sentences for w in s.words).items():
            counts[_suffix(word)] += count
        kept = sorted(s for s, n in counts.items() if n >= min_count)
        return cls(["<pad>", "<unk>", *kept])

    def __len__(self) -> int:
        return len(self.suffixes)

    def indices(self, words: Sequence[str]) -> np.ndarray:
        get = self._index.get
        return per_word(words, lambda word: get(_suffix(word), 1), np.int64)

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
    """A dataset: every token as integer windows (one row per token, column ``window`` is it).

    Made by ``Features.encode``; training, evaluation and prediction all read this one type.

    Attributes:
        words, casing, suffixes: int64 ``[n_tokens, 2 * window + 1]``.
        tags: int64 ``[n_tokens]`` (None for untagged text).
        sentence_lengths: int64 ``[n_sentences]``.
        forms, form_ngrams: with character features, int64 ``[n_tokens, 2 * char_window + 1]``
            spelling ids of the window's central positions (0 beyond the sentence) and int64
            ``[n_forms + 1, k]`` each spelling's hashed n-gram ids, or its character ids for
            the character CNN (0 pads); else None.
        context, doc_stats: with document features, int64 ``[n_tokens, 2, m]`` bags of word
            ids around the token's other mentions (-1: an empty slot) and float32
            ``[n_tokens, DOC_STATS]`` (see ``document_features``); else None.
        gazetteer: with a gazetteer, float32 ``[n_tokens, width]``: the match probabilities of
            the token and its ``GAZETTEER_SIDE`` neighbours each side; else None.
        topic_words, topic_offsets, token_bags: with topic features, the word ids of every
            sentence's and/or document's bag one after another, int64 ``[n_bags + 1]`` where
            each bag starts (and the end), and int64 ``[n_tokens, k]`` each token's bags.
        history: with prediction history, float32 ``[n_tokens, width]`` (history.py).
    """

    words: np.ndarray
    casing: np.ndarray
    suffixes: np.ndarray
    tags: np.ndarray | None
    sentence_lengths: np.ndarray
    forms: np.ndarray | None = None
    form_ngrams: np.ndarray | None = None
    context: np.ndarray | None = None
    doc_stats: np.ndarray | None = None
    gazetteer: np.ndarray | None = None
    topic_words: np.ndarray | None = None
    topic_offsets: np.ndarray | None = None
    token_bags: np.ndarray | None = None
    history: np.ndarray | None = None

    def __len__(self) -> int:
        return self.words.shape[0]

    def batch(self, rows) -> Batch:
        """The inputs (and tags) of the tokens ``rows`` (an index array or a slice)."""
        tags = self.tags[rows] if self.tags is not None else None
        batch = Batch(self.words[rows], self.casing[rows], self.suffixes[rows], tags)
        if self.forms is not None:
            # Each distinct spelling of the batch once: the model builds its vector once.
            spellings, index = np.unique(self.forms[rows], return_inverse=True)
            ngrams = self.form_ngrams[spellings]
            batch.char_ngrams = ngrams[:, :max(int((ngrams != 0).sum(axis=1).max()), 1)]
            batch.char_index = index.reshape(-1, self.forms.shape[1])
        if self.context is not None:
            context = self.context[rows]
            taken = context >= 0
            counts = taken.sum(axis=2).reshape(-1)
            batch.context = context[taken]
            batch.context_offsets = np.cumsum(counts) - counts
            batch.doc_stats = self.doc_stats[rows]
        if self.gazetteer is not None:
            batch.gazetteer = self.gazetteer[rows]
        if self.token_bags is not None:
            # The batch's distinct bags once each; every token points at its own.
            bags, index = np.unique(self.token_bags[rows], return_inverse=True)
            starts, stops = self.topic_offsets[bags], self.topic_offsets[bags + 1]
            sizes = stops - starts
            offsets = np.cumsum(sizes) - sizes
            batch.topic = self.topic_words[np.repeat(starts - offsets, sizes)
                                           + np.arange(int(sizes.sum()))]
            batch.topic_offsets = offsets
            batch.topic_index = index.reshape(-1, self.token_bags.shape[1])
        if self.history is not None:
            batch.history = self.history[rows]
        return batch


@dataclass
class Batch:
    """Some tokens' model inputs and tags.

    Attributes:
        words, casing, suffixes: int64 ``[n, 2 * window + 1]``.
        tags: int64 ``[n]`` or None.
        char_ngrams, char_index: with character features, int64 ``[u, k]`` n-gram ids (or
            character ids, for the CNN) of the batch's ``u`` distinct spellings (0 pads) and int64
            ``[n, 2 * char_window + 1]`` each central position's spelling row.
        context, context_offsets, doc_stats: with document features, the word ids of the
            ``2n`` bags (each token's left, then right) one after another, int64 ``[2n]``
            where each bag starts, and float32 ``[n, DOC_STATS]``.
        gazetteer: with a gazetteer, float32 ``[n, width]``.
        topic, topic_offsets, topic_index: with topic features, the word ids of the batch's
            ``b`` distinct sentence/document bags one after another, int64 ``[b]`` where each
            starts, and int64 ``[n, k]`` each token's bags among them.
        history: with prediction history, float32 ``[n, width]``.
    """

    words: np.ndarray
    casing: np.ndarray
    suffixes: np.ndarray
    tags: np.ndarray | None
    char_ngrams: np.ndarray | None = None
    char_index: np.ndarray | None = None
    context: np.ndarray | None = None
    context_offsets: np.ndarray | None = None
    doc_stats: np.ndarray | None = None
    gazetteer: np.ndarray | None = None
    topic: np.ndarray | None = None
    topic_offsets: np.ndarray | None = None
    topic_index: np.ndarray | None = None
    history: np.ndarray | None = None

    def inputs(self, words: np.ndarray | None = None) -> dict:
        """The model's keyword arguments as tensors: ``model(**batch.inputs())``.

        Args:
            words: word ids to use instead of ``self.words`` (training's word dropout).
        """
        arrays = {"words": self.words if words is None else words, "casing": self.casing,
                  "suffixes": self.suffixes, "char_ngrams": self.char_ngrams,
                  "char_index": self.char_index, "context": self.context,
                  "context_offsets": self.context_offsets, "doc_stats": self.doc_stats,
                  "gazetteer": self.gazetteer, "topic": self.topic,
                  "topic_offsets": self.topic_offsets, "topic_index": self.topic_index,
                  "history": self.history}
        return {name: dg.from_numpy(array) for name, array in arrays.items()
                if array is not None}


@dataclass
class Features:
    """Everything that turns sentences into model inputs: vocabularies, tag set, window size.

    Attributes:
        char_buckets: the size of the hashed character n-gram table (0: no character
            n-grams).
        char_window: positions on each side of the centre whose spelling is an input.
        document: compute document features (the other mentions of a word in its document).
        gazetteer: the training split's entities (None: no gazetteer features).
        topic: "none", "sentence", "document" or "sentence+document": the bags whose mean
            word vector each token also gets.
        char_length: characters kept per word for the character CNN (0: no CNN); the
            spelling table then holds character ids instead of n-gram ids.
        history: give each token the prediction-history features (history.py): stage 1's
            predicted types of the other mentions of its word in its document.
        stage1: with ``history``, the first stage (a :class:`Stage1`) whose predictions they
            come from; ``encode`` runs it unless given the predicted tags.
    """

    vocab: Vocabulary
    suffixes: SuffixVocabulary
    tagset: TagSet
    window: int
    char_buckets: int = 0
    document: bool = False
    char_window: int = 0
    gazetteer: Gazetteer | None = None
    topic: str = "none"
    char_length: int = 0
    history: bool = False
    stage1: Stage1 | None = None

    @property
    def gazetteer_width(self) -> int:
        """Gazetteer features per token (0 without a gazetteer)."""
        return (2 * GAZETTEER_SIDE + 1) * self.gazetteer.width if self.gazetteer else 0

    @property
    def topic_bags(self) -> int:
        """Bags (sentence, document) whose mean vector each token gets."""
        return 0 if self.topic == "none" else len(self.topic.split("+"))

    @property
    def history_width(self) -> int:
        """Prediction-history features per token (0 without them)."""
        return history_width(self.tagset) if self.history else 0

    def encode(self, sentences: Sequence[Sentence | Sequence[str]], tagged: bool = True,
               documents: Sequence[int] | None = None, jackknife: bool = False,
               history_tags: Sequence[str] | None = None) -> Windows:
        """Windows for every token of ``sentences``, all tokens at once.

        Args:
            sentences: tagged ``Sentence``s, or plain word lists when ``tagged`` is False.
            tagged: encode the tags too (else ``tags`` is None).
            documents: each sentence's document number, for the document features. None:
                ``Sentence.document`` for ``Sentence``s; plain word lists are one document.
            jackknife: these are the gazetteer's own training sentences: each token's
                gazetteer features leave out the fold of documents it belongs to.
            history_tags: with prediction history, each token's stage-1 tag, all sentences
                one after another (the training data's, from models that did not see it);
                None: ``stage1`` predicts them.

        Returns:
            The dataset's ``Windows``.

        Raises:
            TypeError: ``tagged`` with plain word lists.
            ValueError: ``documents`` of another length than ``sentences``; prediction
                history without a stage 1 or tags.
        """
        word_lists = [sentence_words(sentence) for sentence in sentences]
        lengths = np.fromiter(map(len, word_lists), dtype=np.int64, count=len(word_lists))
        words = list(chain.from_iterable(word_lists))
        tags = None
        if tagged:
            if not all(isinstance(sentence, Sentence) for sentence in sentences):
                raise TypeError("tags can only be encoded from Sentence objects")
            tags = self.tagset.indices(list(chain.from_iterable(s.tags for s in sentences)))
        window = self.window
        word_ids = self.vocab.indices(words)
        data = Windows(
            words=make_windows_flat(word_ids, lengths, window, pad_id=PAD_INDEX),
            casing=make_windows_flat(casing_ids(words), lengths, window, pad_id=Casing.PAD),
            suffixes=make_windows_flat(self.suffixes.indices(words), lengths, window,
                                       pad_id=PAD_INDEX),
            tags=tags, sentence_lengths=lengths)
        if self.char_length or self.char_buckets:
            forms, data.form_ngrams = (char_table(words, self.char_length) if self.char_length
                                       else form_table(words, self.char_buckets))
            data.forms = make_windows_flat(forms, lengths, self.char_window, pad_id=0)
        if self.document or self.gazetteer is not None or self.topic_bags or self.history:
            if documents is None:
                documents = [getattr(sentence, "document", 0) for sentence in sentences]
            documents = np.asarray(documents, dtype=np.int64).reshape(-1)
            if documents.size != lengths.size:
                raise ValueError(f"documents: one number per sentence, got {documents.size} "
                                 f"for {lengths.size} sentences")
        if self.document:
            data.context, data.doc_stats = document_features(
                words, word_ids, lengths, documents)
        if self.gazetteer is not None:
            matches = self.gazetteer.features(words, lengths, documents, jackknife=jackknife)
            rows = make_windows_flat(np.arange(1, len(words) + 1), lengths, GAZETTEER_SIDE,
                                     pad_id=0)  # row 0: no match (beyond the sentence)
            padded = np.concatenate([np.zeros((1, matches.shape[1]), np.float32), matches])
            data.gazetteer = padded[rows].reshape(len(words), -1)
        if self.topic_bags:
            data.topic_words, data.topic_offsets, data.token_bags = topic_bags(
                words, word_ids, lengths, documents, self.topic.split("+"))
        if self.history:
            if history_tags is None:
                if self.stage1 is None:
                    raise ValueError("prediction-history features need the first stage's model "
                                     "or its predicted tags")
                history_tags = self.stage1.tag(word_lists, documents)
            data.history = history_features(words, history_tags, lengths, documents,
                                            self.tagset)
        return data


@dataclass
class Stage1:
    """The first stage of a two-stage tagger: a model, its features and its decoder."""

    model: object
    features: Features
    decode: str

    def tag(self, word_lists: Sequence[Sequence[str]], documents: np.ndarray) -> list[str]:
        """The model's tags of every token, all sentences one after another."""
        from deltagrad.ner.predict import decode, log_probabilities, transitions_of

        if not word_lists:
            return []
        data = self.features.encode(word_lists, tagged=False, documents=documents)
        tags = decode(log_probabilities(self.model, data), data.sentence_lengths,
                      self.features.tagset, self.decode, transitions_of(self.model))
        return list(chain.from_iterable(tags))


def build_features(train_sentences: Sequence[Sentence], vectors, window: int, word_dim: int,
                   rng: np.random.Generator, *, char_buckets: int = 0, document: bool = False,
                   char_window: int = 0, topic: str = "none", gazetteer: bool = False,
                   char_length: int = 0, history: bool = False
                   ) -> tuple[Features, np.ndarray, np.ndarray]:
    """Vocabularies, tag set and initial word vectors for a training set.

    Args:
        train_sentences: the training set.
        vectors: pretrained ``(words, float32 matrix [n, d])``, or None for random vectors.
        window: words on each side of the centre.
        word_dim: the width of random word vectors (without ``vectors``).
        rng: draws the random vectors.
        char_buckets: the hashed character n-gram table's size (0: no character features).
        document: compute document features.
        char_window: positions on each side of the centre whose spelling is an input.
        topic: the bags whose mean word vector each token gets (see ``Features``).
        gazetteer: build a gazetteer from the training set's entities.
        char_length: characters kept per word for the character CNN (0: no CNN).
        history: prediction-history features (the stage 1 is attached later).

    Returns:
        ``(features, word_vectors float32 [V, d], has_vector bool [V])``.
    """
    words, matrix = vectors if vectors is not None else (None, None)
    vocab = Vocabulary.build(train_sentences, pretrained_words=words)
    init, _ = vocab.embedding_matrix(words, matrix, None if matrix is not None else word_dim, rng)
    has_vector = np.zeros(len(vocab), dtype=bool)
    if words is not None:
        has_vector[vocab.indices(list(words))] = True
    features = Features(vocab, SuffixVocabulary.build(train_sentences), TagSet.build(
        train_sentences), window, char_buckets, document, char_window,
        Gazetteer.build(train_sentences) if gazetteer else None, topic, char_length, history)
    return features, init, has_vector


def rare_word_mask(train: Windows, vocab_size: int, has_vector: np.ndarray) -> np.ndarray:
    """bool [V]: words seen once in training and without a pretrained vector.

    Replacing them by ``<unk>`` now and then during training teaches the ``<unk>`` vector what an
    unseen word looks like (without it, ``<unk>`` would never be trained).
    """
    counts = np.bincount(train.words[:, train.words.shape[1] // 2], minlength=vocab_size)
    return (counts == 1) & ~has_vector
