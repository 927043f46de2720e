"""Using a model: per-token scores, decoding, dev scores, tokenising (with character offsets),
predicting entities with confidences in batches, evaluating."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

import deltagrad as dg
from deltagrad.ner.conll import Sentence
from deltagrad.ner.decode import argmax_decode_batch, span_probabilities, viterbi_decode_batch
from deltagrad.ner.features import Features, Windows
from deltagrad.ner.metrics import GoldEntities, entity_scores
from deltagrad.ner.model import WindowTagger
from deltagrad.ner.model_dir import LoadedModel
from deltagrad.ner.vocab import TagSet

__all__ = ["Document", "Tagged", "decode", "entity_spans", "evaluate", "iter_tagged",
           "log_probabilities", "predict", "score", "split_sentences", "tag_documents", "tokenize",
           "tokenize_with_offsets", "transitions_of"]


def log_probabilities(model: WindowTagger, data: Windows, batch_size: int = 8192) -> np.ndarray:
    """float32 [n_tokens, n_tags] per-token tag scores for decoding (eval mode).

    Log-probabilities for a softmax-trained model; the raw emission scores for a CRF, whose
    decoding adds its learned transition scores.
    """
    was_training = model.training
    model.eval()
    out = []
    with dg.no_grad():
        for start in range(0, len(data), batch_size):
            b = data.batch(slice(start, start + batch_size))
            scores = model(**b.inputs())
            out.append(scores.numpy() if model.transitions is not None
                       else scores.log_softmax(dim=1).numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def decode(log_probs: np.ndarray, lengths: np.ndarray, tagset: TagSet, method: str,
           transitions: np.ndarray | None = None) -> list:
    """Tags per sentence: BIO-constrained Viterbi (plus CRF transitions) or argmax + repair."""
    if method == "viterbi":
        return viterbi_decode_batch(log_probs, lengths, tagset, transitions)
    return argmax_decode_batch(log_probs, lengths, tagset)


def transitions_of(model: WindowTagger) -> np.ndarray | None:
    """float32 ``[n_tags, n_tags]``: a CRF model's learned transition scores (else None)."""
    return None if model.transitions is None else model.transitions.detach().numpy()


def score(model, features: Features, sentences: Sequence[Sentence], data: Windows | None = None,
          gold: GoldEntities | None = None, log_probs: np.ndarray | None = None) -> dict:
    """Entity scores of both decoders: {"argmax": {...}, "viterbi": {...}}.

    Args:
        model: the model (evaluated in eval mode).
        features: turns ``sentences`` into windows (unless ``data`` is given).
        sentences: the tagged sentences to score against.
        data: ``features.encode(sentences)``, if already made.
        gold: ``GoldEntities`` of the sentences' tags, if already made (a training run scores
            the same dev set after every epoch).
        log_probs: ``log_probabilities(model, data)``, if already computed.
    """
    data = data if data is not None else features.encode(sentences)
    if log_probs is None:
        log_probs = log_probabilities(model, data)
    # The gold entities extracted once for both decoders (and, given, for every epoch): per
    # epoch of the default run, seqeval's get_entities 4 -> 2 calls over the dev set.
    gold = gold if gold is not None else GoldEntities([s.tags for s in sentences])
    return {method: entity_scores(gold, decode(log_probs, data.sentence_lengths,
                                               features.tagset, method, transitions_of(model)))
            for method in ("argmax", "viterbi")}


# ---------------------------------------------------------------------------------- use

# Words keep inner - ' . (U.N., Baghdad-based, O'Neill); any other character that is neither a
# word character nor space is a token of its own. The invisible formatting characters (zero-width
# space, left-to-right / right-to-left marks, embeddings and isolates, word joiner, byte-order
# mark) form no token: they are treated as space.
_TOKEN = re.compile(
    r"(?:[A-Za-z]\.){2,}|\w+(?:[-'.]\w+)*|"
    "[^\\w\\s\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_JOINERS = "\u200c\u200d"  # zero-width non-joiner (inside Persian words) and joiner (emoji)
_SENTENCE_END = frozenset({".", "!", "?"})


def _attaches(character: str) -> bool:
    """A character that belongs to the one before it: a combining mark (an accent written as
    its own code point, a vowel sign), a variation selector, or an emoji skin-tone modifier."""
    return (unicodedata.category(character)[0] == "M"
            or "\U0001f3fb" <= character <= "\U0001f3ff")


def _is_flag_half(character: str) -> bool:
    """A regional indicator letter: two of them make a flag (🇫 + 🇷 = 🇫🇷)."""
    return "\U0001f1e6" <= character <= "\U0001f1ff"


def tokenize_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Split plain text into CoNLL-like tokens, each with its character offsets in ``text``.

    Tokens are abbreviations (U.N.), words (with inner - ' .) and single punctuation marks or
    symbols. A combining mark, variation selector or skin-tone modifier stays with the
    character before it, a zero-width (non-)joiner joins its neighbours and two regional
    indicators make one flag, so "café" written with a combining accent, or an emoji sequence,
    is one token. Offsets count code points (as
    Python's ``str`` indexes): ``text[start:end] == token`` always.

    Args:
        text: any text.

    Returns:
        ``(token, start, end)`` for each token, in order.

    >>> tokenize_with_offsets("EU rejects U.N. call.")
    [('EU', 0, 2), ('rejects', 3, 10), ('U.N.', 11, 15), ('call', 16, 20), ('.', 20, 21)]
    """
    tokens: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if tokens and tokens[-1][2] == start:
            previous, first, _ = tokens[-1]
            piece = match.group()
            if (_attaches(piece[0]) or piece[0] in _JOINERS or previous[-1] in _JOINERS
                    or (_attaches(previous[-1]) and piece[0].isalnum())
                    or (len(previous) == 1 and _is_flag_half(previous) and _is_flag_half(piece))):
                tokens[-1] = (text[first:end], first, end)
                continue
        tokens.append((match.group(), start, end))
    return tokens


def tokenize(text: str) -> list[str]:
    """Split plain text into CoNLL-like tokens (see :func:`tokenize_with_offsets`).

    >>> tokenize("U.N. official Ekeus heads for Baghdad.")
    ['U.N.', 'official', 'Ekeus', 'heads', 'for', 'Baghdad', '.']
    """
    return [token for token, _, _ in tokenize_with_offsets(text)]


def split_sentences(tokens: Sequence[str]) -> list[int]:
    """Sentence lengths of a token list: a sentence ends after ``.``, ``!`` or ``?``.

    Abbreviations are single tokens (``U.N.``) and do not end a sentence. The model sees each
    sentence as CoNLL-2003's did, its windows padded at the sentence's edges.

    >>> split_sentences(["EU", "rejects", "it", ".", "Germany", "agrees", "!", "Really"])
    [4, 3, 1]
    """
    lengths, start = [], 0
    for position, token in enumerate(tokens):
        if token in _SENTENCE_END:
            lengths.append(position + 1 - start)
            start = position + 1
    if start < len(tokens):
        lengths.append(len(tokens) - start)
    return lengths


@dataclass
class Document:
    """A text to tag: its tokens with character offsets, cut into sentences.

    Attributes:
        text: the original text (offsets index it).
        tokens: the tokens.
        offsets: ``(start, end)`` character offsets of each token in ``text``.
        sentence_lengths: tokens per sentence (summing to ``len(tokens)``).
        gold: the given tags (CoNLL input), or None.
        id: an identifier carried through from the input (a JSON line's ``id``), or None.
    """

    text: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    sentence_lengths: list[int]
    gold: list[str] | None = None
    id: object = None

    @classmethod
    def from_text(cls, text: str, id: object = None) -> Document:
        """Tokenise ``text`` (keeping offsets) and cut it into sentences."""
        found = tokenize_with_offsets(text)
        tokens = [token for token, _, _ in found]
        return cls(text, tokens, [(start, end) for _, start, end in found],
                   split_sentences(tokens), id=id)

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], gold: Sequence[str] | None = None,
                    id: object = None) -> Document:
        """A document of one already tokenised sentence (CoNLL input); its text is the tokens
        joined by single spaces."""
        tokens = list(tokens)
        offsets, position = [], 0
        for token in tokens:
            offsets.append((position, position + len(token)))
            position += len(token) + 1
        return cls(" ".join(tokens), tokens, offsets, [len(tokens)] if tokens else [],
                   list(gold) if gold is not None else None, id)


@dataclass
class Tagged:
    """A document's predicted tags and entities.

    Attributes:
        tags: one IOB2 tag per token.
        entities: one dict per entity: ``type``, ``text`` (the original text's slice),
            ``start`` / ``end`` (token indices, end exclusive), ``start_char`` / ``end_char``
            (character offsets, end exclusive) and ``confidence`` (the span's probability
            under the BIO-constrained lattice; see docs/ner_serve.md).
    """

    tags: list[str]
    entities: list[dict] = field(default_factory=list)

    def record(self, document: Document) -> dict:
        """The JSON object ``predict --format jsonl`` prints (and the server returns)."""
        out = {} if document.id is None else {"id": document.id}
        out.update({"text": document.text, "tokens": document.tokens,
                    "offsets": [list(pair) for pair in document.offsets], "tags": self.tags,
                    "entities": self.entities})
        return out


def entity_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """The ``(start, end, type)`` entities of an IOB2 tag sequence (``end`` exclusive).

    >>> entity_spans(["B-ORG", "O", "B-PER", "I-PER", "I-LOC"])
    [(0, 1, 'ORG'), (2, 4, 'PER'), (4, 5, 'LOC')]
    """
    spans, start, kind = [], None, None
    for position, tag in enumerate([*tags, "O"]):
        if start is not None and not (tag.startswith("I-") and tag[2:] == kind):
            spans.append((start, position, kind))
            start = None
        if tag.startswith("B-") or (tag.startswith("I-") and start is None):
            start, kind = position, tag[2:]
    return spans


def tag_documents(loaded: LoadedModel, documents: Sequence[Document]) -> list[Tagged]:
    """Tags and entities (with confidences) of many documents, in one batch.

    Every sentence of every document goes through the model together (one forward pass per
    8,192 tokens), is decoded with the model's decoder, and each entity gets the probability
    of its span under the BIO-constrained lattice (forward-backward over the same scores the
    decoder used; for a CRF model, with its transitions: then it is the CRF's own posterior).

    Args:
        loaded: the model.
        documents: the documents (any may be empty).

    Returns:
        One ``Tagged`` per document, in order.
    """
    sentences, document_of = [], []
    for number, document in enumerate(documents):
        position = 0
        for length in document.sentence_lengths:
            sentences.append(document.tokens[position:position + length])
            document_of.append(number)  # document features look only inside the document
            position += length
    if not sentences:
        return [Tagged([]) for _ in documents]
    data = loaded.features.encode(sentences, tagged=False, documents=document_of)
    scores = log_probabilities(loaded.model, data)
    transitions = transitions_of(loaded.model)
    tagset = loaded.features.tagset
    sentence_tags = decode(scores, data.sentence_lengths, tagset, loaded.decode, transitions)
    spans = [entity_spans(tags) for tags in sentence_tags]
    confidences = span_probabilities(scores, data.sentence_lengths, tagset, spans, transitions)

    results, sentence = [], 0
    for document in documents:
        tagged, first = Tagged([]), 0
        for length in document.sentence_lengths:
            tagged.tags.extend(sentence_tags[sentence])
            for (start, end, kind), confidence in zip(spans[sentence], confidences[sentence]):
                start_char = document.offsets[first + start][0]
                end_char = document.offsets[first + end - 1][1]
                tagged.entities.append({
                    "type": kind, "text": document.text[start_char:end_char],
                    "start": first + start, "end": first + end,
                    "start_char": start_char, "end_char": end_char,
                    "confidence": round(confidence, 4)})
            first += length
            sentence += 1
        results.append(tagged)
    return results


def iter_tagged(loaded: LoadedModel, documents: Iterable[Document],
                batch_tokens: int = 50_000) -> Iterator[tuple[Document, Tagged]]:
    """Tag a stream of documents in batches of about ``batch_tokens`` tokens.

    Memory stays bounded by the batch, whatever the input's length; results come in input
    order as each batch is done.

    Yields:
        ``(document, tagged)`` pairs.
    """
    batch: list[Document] = []
    size = 0
    for document in documents:
        batch.append(document)
        size += len(document.tokens)
        if size >= batch_tokens:
            yield from zip(batch, tag_documents(loaded, batch))
            batch, size = [], 0
    if batch:
        yield from zip(batch, tag_documents(loaded, batch))


def predict(loaded: LoadedModel, token_lists: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags for each tokenised sentence."""
    token_lists = [list(t) for t in token_lists if len(t)]
    if not token_lists:
        return []
    data = loaded.features.encode(token_lists, tagged=False)
    log_probs = log_probabilities(loaded.model, data)
    return decode(log_probs, data.sentence_lengths, loaded.features.tagset, loaded.decode,
                  transitions_of(loaded.model))


def evaluate(loaded: LoadedModel, sentences: Sequence[Sentence]) -> dict:
    """Entity-level scores (seqeval, conlleval semantics) of the model's own decoder."""
    data = loaded.features.encode(sentences)
    log_probs = log_probabilities(loaded.model, data)
    pred = decode(log_probs, data.sentence_lengths, loaded.features.tagset, loaded.decode,
                  transitions_of(loaded.model))
    scores = entity_scores([s.tags for s in sentences], pred)
    scores["decode"] = loaded.decode
    return scores
