"""Document features: what the other mentions of a word in the same document look like.

"Smith" alone is hard; "Mr. Smith" two sentences earlier is not. For every capitalised token,
the words around the other occurrences of the same word (lowercased) in its document -- the
context aggregation of Chieu and Ng (2002) and Ratinov and Roth (2009) -- and how those
occurrences are written. The features come from the text only (never from tags), so the same
code serves training, evaluation and prediction, and a window model stays a window model: the
features are one more input of the token's window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deltagrad.ner.vocab import NUM_CASINGS, UNK_INDEX, casing_ids, make_windows_flat

__all__ = ["CONTEXT_SIDE", "DOC_STATS", "MAX_MENTIONS", "document_features", "topic_bags"]

MAX_MENTIONS = 8  # the first mentions of a word in its document that lend their contexts
CONTEXT_SIDE = 2  # words taken on each side of another mention
# Fractions of the other mentions by casing (PAD never occurs, so NUM_CASINGS - 1 of them), the
# fraction that start a sentence, "first mention", and the number of other mentions (scaled).
DOC_STATS = NUM_CASINGS - 1 + 3


def document_features(words: Sequence[str], word_ids: np.ndarray, lengths: np.ndarray,
                      documents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each capitalised token's view of the other mentions of its word in its document.

    A word's mentions are the tokens of the same document with the same lowercased form. For
    a token with an upper-case letter, the left bag holds the ``CONTEXT_SIDE`` words before
    each of the first ``MAX_MENTIONS`` mentions other than itself, the right bag the words after
    them (sentence edges give the padding id); other tokens get empty bags and zero statistics.

    Args:
        words: the tokens as written, all sentences one after another.
        word_ids: int64 ``[n_tokens]`` their vocabulary ids (the bags hold these).
        lengths: int64 ``[n_sentences]`` sentence lengths.
        documents: int ``[n_sentences]`` each sentence's document number.

    Returns:
        ``(context, stats)``: int64 ``[n_tokens, 2, CONTEXT_SIDE * MAX_MENTIONS]`` word ids
        (left bag, right bag; -1 marks an empty slot) and float32 ``[n_tokens, DOC_STATS]``.
    """
    n = len(words)
    slots = CONTEXT_SIDE * MAX_MENTIONS  # per bag
    if n == 0:
        return np.zeros((0, 2, slots), np.int64), np.zeros((0, DOC_STATS), np.float32)
    lengths = np.asarray(lengths, dtype=np.int64)
    # Mentions: tokens of one document with one lowercased form, in text order.
    keys: dict[str, int] = {}
    key = np.fromiter((keys.setdefault(w.lower(), len(keys)) for w in words), np.int64, n)
    document = np.repeat(np.asarray(documents, dtype=np.int64), lengths)
    _, group = np.unique(document * len(keys) + key, return_inverse=True)
    group = group.reshape(-1)
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group)
    starts = np.cumsum(sizes) - sizes
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[group[order]]
    members = np.full((sizes.size, MAX_MENTIONS), -1, dtype=np.int64)
    first = rank < MAX_MENTIONS
    members[group[first], rank[first]] = np.flatnonzero(first)

    # The words around every token: [n, CONTEXT_SIDE] before, [n, CONTEXT_SIDE] after.
    around = make_windows_flat(word_ids, lengths, CONTEXT_SIDE, pad_id=0)
    before, after = around[:, :CONTEXT_SIDE], around[:, CONTEXT_SIDE + 1:]
    capitalised = np.fromiter((w != w.lower() for w in words), bool, n)
    mentions = members[group]  # [n, MAX_MENTIONS]
    other = (mentions >= 0) & (mentions != np.arange(n)[:, None]) & capitalised[:, None]
    safe = np.where(other, mentions, 0)
    taken = np.repeat(other, CONTEXT_SIDE, axis=1)[:, None, :]  # [n, 1, slots]
    context = np.stack([before[safe].reshape(n, -1), after[safe].reshape(n, -1)], axis=1)
    context = np.where(taken, context, -1)

    # How all the other mentions are written: counts per group, less the token's own.
    casings = casing_ids(words)
    sentence_start = np.zeros(n, dtype=bool)
    sentence_start[(np.cumsum(lengths) - lengths)[lengths > 0]] = True
    per_casing = np.zeros((sizes.size, NUM_CASINGS), dtype=np.float32)
    np.add.at(per_casing, (group, casings), 1.0)
    own = np.zeros((n, NUM_CASINGS), dtype=np.float32)
    own[np.arange(n), casings] = 1.0
    others = (per_casing[group] - own)[:, 1:]  # PAD (0) never occurs
    starting = np.bincount(group, weights=sentence_start)[group] - sentence_start
    n_other = (sizes[group] - 1).astype(np.float32)
    stats = np.zeros((n, DOC_STATS), dtype=np.float32)
    divisor = np.maximum(n_other, 1)[:, None]
    stats[:, :NUM_CASINGS - 1] = others / divisor
    stats[:, NUM_CASINGS - 1] = starting / divisor[:, 0]
    stats[:, NUM_CASINGS] = (rank == 0) & (n_other > 0)
    stats[:, NUM_CASINGS + 1] = np.minimum(n_other, MAX_MENTIONS) / MAX_MENTIONS
    stats[~capitalised] = 0.0
    return context, stats


def topic_bags(words: Sequence[str], word_ids: np.ndarray, lengths: np.ndarray,
               documents: np.ndarray, kinds: Sequence[str]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each token's sentence and/or document as a bag of its words: what the text is about.

    A city in a sports results table is a team, in a weather report a place; the mean word
    vector of the sentence and of the document tells which text a token is in. The bags hold
    the known words with a letter (no punctuation, numbers or ``<unk>``).

    Args:
        words: the tokens as written, all sentences one after another.
        word_ids: int64 ``[n_tokens]`` their vocabulary ids.
        lengths: int64 ``[n_sentences]`` sentence lengths.
        documents: int ``[n_sentences]`` each sentence's document number.
        kinds: ``"sentence"`` and/or ``"document"``, in the order of the token's bags.

    Returns:
        ``(bag_words, offsets, token_bags)``: int64 word ids of all bags one after another,
        int64 ``[n_bags + 1]`` where each bag starts (and where the last ends), and int64
        ``[n_tokens, len(kinds)]`` each token's bags.
    """
    n = len(words)
    lengths = np.asarray(lengths, dtype=np.int64)
    word_ids = np.asarray(word_ids, dtype=np.int64)
    kept = np.fromiter((w.lower() != w.upper() for w in words), bool, n) & (word_ids != UNK_INDEX)
    groups = {"sentence": np.repeat(np.arange(lengths.size), lengths),
              "document": np.unique(np.repeat(np.asarray(documents, dtype=np.int64), lengths),
                                    return_inverse=True)[1].reshape(-1)}
    bag_words, sizes, token_bags, base = [], [], np.zeros((n, len(kinds)), np.int64), 0
    for column, kind in enumerate(kinds):
        group = groups[kind]
        count = int(group.max()) + 1 if n else 0
        order = np.argsort(group[kept], kind="stable")
        bag_words.append(word_ids[kept][order])
        sizes.append(np.bincount(group[kept], minlength=count))
        token_bags[:, column] = group + base
        base += count
    sizes = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    words_out = np.concatenate(bag_words) if bag_words else np.zeros(0, np.int64)
    return words_out.astype(np.int64), offsets, token_bags
