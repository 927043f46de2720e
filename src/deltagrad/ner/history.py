"""Non-local prediction features: what a first model predicted for a word's other mentions.

A two-stage tagger (Krishnan and Manning 2006; Ratinov and Roth 2009's "prediction history"):
stage 1 is the ordinary window tagger; stage 2 is the same tagger with, for every token, the
distribution of stage 1's predicted entity types over the *other* mentions of its word in its
document. "Smith" tagged PER in "Mr. Smith said" tells about "Smith" in a results table.

Per token (``WIDTH`` floats, zeros where nothing is found):

- the predicted type (O, then each entity type) of the other tokens of the document with the
  same lowercased word, as fractions;
- the same over the other tokens with exactly the same capitalised spelling (empty for a word
  that does not start with a capital);
- the types of the predicted multi-token entities elsewhere in the document that contain the
  word (as written), as fractions: "Smith" inside a predicted "John Smith" (PER).

The token's own prediction never counts. On the training data, stage 1's predictions come from
models that did not see the document (folds of documents, as the gazetteer's counts do):
a model's predictions on its own training data are nearly always right, and stage 2 would learn
to trust them more than they deserve on new text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deltagrad.ner.vocab import TagSet

__all__ = ["FOLDS", "history_features", "history_width"]

FOLDS = 2  # folds of training documents for stage 1's jackknifed predictions


def history_width(tagset: TagSet) -> int:
    """Features per token for a tag set with ``k`` entity types: 2 (k + 1) + k."""
    k = len(_types(tagset))
    return 2 * (k + 1) + k


def history_features(words: Sequence[str], tags: Sequence[str], lengths: np.ndarray,
                     documents: np.ndarray, tagset: TagSet) -> np.ndarray:
    """float32 ``[n_tokens, history_width(tagset)]``: the non-local features of every token.

    Args:
        words: the tokens as written, all sentences one after another.
        tags: stage 1's predicted IOB2 tag of each token.
        lengths: int ``[n_sentences]`` sentence lengths.
        documents: int ``[n_sentences]`` each sentence's document (mentions are grouped within
            a document only).
        tagset: the tag set (its entity types fix the columns).

    Raises:
        ValueError: words, tags, lengths and documents that do not match.
    """
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    documents = np.asarray(documents, dtype=np.int64).reshape(-1)
    n = len(words)
    if len(tags) != n or int(lengths.sum()) != n or documents.size != lengths.size:
        raise ValueError(f"history features: {n} words, {len(tags)} tags, sentence lengths "
                         f"summing to {int(lengths.sum())} and {documents.size} documents for "
                         f"{lengths.size} sentences do not match")
    types = _types(tagset)
    k = len(types)
    out = np.zeros((n, history_width(tagset)), dtype=np.float32)
    if n == 0:
        return out
    kind_of = {t: i + 1 for i, t in enumerate(types)}
    # 0: O (or a type the tag set does not know), 1..k: the entity types.
    kind = np.fromiter((kind_of.get(t[2:], 0) if t[:2] in ("B-", "I-") else 0 for t in tags),
                       dtype=np.int64, count=n)
    document = np.repeat(documents, lengths)
    lower = [w.lower() for w in words]
    capital = np.fromiter((w[:1].isupper() for w in words), dtype=bool, count=n)

    # Other mentions of the lowercased word, then of the capitalised spelling.
    out[:, :k + 1] = _other_mentions(document, lower, kind, k + 1, np.ones(n, dtype=bool))
    out[:, k + 1:2 * (k + 1)] = _other_mentions(document, list(words), kind, k + 1, capital)

    # Predicted entities of two words or more elsewhere in the document that contain the word.
    starts, ends, span_kind = _spans(kind, tags, lengths)
    long = ends - starts >= 2
    starts, ends, span_kind = starts[long], ends[long], span_kind[long]
    if starts.size:
        sizes = ends - starts
        inside = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())
        own = np.repeat(span_kind, sizes)  # the type of the span each inside token is in
        keys, token_group = _groups(document, list(words))
        counts = np.zeros((keys, k), dtype=np.float64)
        np.add.at(counts, (token_group[inside], own - 1), 1.0)
        per_token = counts[token_group]
        per_token[inside, own - 1] -= 1.0  # a token's own span does not count
        total = per_token.sum(axis=1, keepdims=True)
        out[:, 2 * (k + 1):] = np.divide(per_token, total, out=np.zeros_like(per_token),
                                         where=total > 0)
    return out


def _types(tagset: TagSet) -> list[str]:
    return sorted({t[2:] for t in tagset.tags if t[:2] in ("B-", "I-")})


def _groups(document: np.ndarray, keys: Sequence[str]) -> tuple[int, np.ndarray]:
    """(number of groups, each token's group): tokens of one document with the same key."""
    index: dict = {}
    group = np.fromiter((index.setdefault((d, w), len(index))
                         for d, w in zip(document.tolist(), keys, strict=True)),
                        dtype=np.int64, count=len(keys))
    return len(index), group


def _other_mentions(document: np.ndarray, keys: Sequence[str], kind: np.ndarray, width: int,
                    counted: np.ndarray) -> np.ndarray:
    """float64 ``[n, width]``: the fractions of each predicted kind over the other ``counted``
    tokens of the document with the token's key (zeros: none, or the token not counted)."""
    n_groups, group = _groups(document, keys)
    counts = np.zeros((n_groups, width), dtype=np.float64)
    np.add.at(counts, (group[counted], kind[counted]), 1.0)
    per_token = counts[group]
    rows = np.flatnonzero(counted)
    per_token[rows, kind[rows]] -= 1.0  # leave the token itself out
    per_token[~counted] = 0.0
    total = per_token.sum(axis=1, keepdims=True)
    return np.divide(per_token, total, out=np.zeros_like(per_token), where=total > 0)


def _spans(kind: np.ndarray, tags: Sequence[str], lengths: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The predicted entities: starts, ends (exclusive) and kinds (1..k), as conlleval reads
    IOB2: an ``I-`` continues an entity only after a tag of its type in the same sentence."""
    n = kind.size
    begin = np.fromiter((t[:2] == "B-" for t in tags), dtype=bool, count=n)
    first = np.zeros(n, dtype=bool)
    first[(np.cumsum(lengths) - lengths)[lengths > 0]] = True
    previous = np.concatenate([[0], kind[:-1]])
    continues = ~begin & (kind > 0) & ~first & (previous == kind)
    starts = np.flatnonzero(~continues & (kind > 0))
    segment = np.cumsum(~continues)
    ends = np.searchsorted(segment, segment[starts], side="right")
    return starts, ends, kind[starts]
