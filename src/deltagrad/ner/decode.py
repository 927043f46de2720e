"""Turning per-token tag scores into IOB2 tag sequences (argmax with repair, or BIO Viterbi),
and the BIO lattice's marginals by forward-backward (the confidence of each entity)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deltagrad.ner.conll import to_iob2
from deltagrad.ner.vocab import TagSet

__all__ = [
    "allowed_transitions",
    "argmax_decode",
    "argmax_decode_batch",
    "repair_bio",
    "span_probabilities",
    "split_by_lengths",
    "tag_marginals",
    "viterbi_decode",
    "viterbi_decode_batch",
]

# Sentences decoded together by the batched Viterbi; bounds its backpointer memory.
_CHUNK_SENTENCES = 2048


def repair_bio(tags: Sequence[str]) -> list[str]:
    """Makes a tag sequence valid IOB2 by turning every ``I-X`` that starts an entity into ``B-X``.

    An ``I-X`` that does not continue an entity of type X (it follows ``O``, a tag of another
    type, or starts the sentence) becomes ``B-X``. The alternative, turning it into ``O``, would
    throw the model's entity away; this choice instead keeps exactly the entities that conlleval
    (and seqeval's default mode) read from the unrepaired tags, so scores do not change.

    Args:
        tags: valid IOB tags of one sentence.

    Returns:
        A new list of IOB2 tags.

    >>> repair_bio(["O", "I-PER", "I-PER", "I-LOC"])
    ['O', 'B-PER', 'I-PER', 'B-LOC']
    """
    return to_iob2(tags)


def split_by_lengths(items: Sequence | np.ndarray, lengths: Sequence[int] | np.ndarray) -> list:
    """Cuts a flat sequence (tokens of many sentences) into one piece per sentence.

    Args:
        items: ``n_tokens`` items (a list or an array's first axis).
        lengths: sentence lengths summing to ``n_tokens``.

    Returns:
        A list of ``len(lengths)`` slices.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if (lengths < 0).any() or int(lengths.sum()) != len(items):
        raise ValueError(f"sentence lengths sum to {int(lengths.sum())}, not {len(items)}")
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]]
    return [items[start:end] for start, end in zip(starts, ends, strict=True)]


def _check_scores(scores: np.ndarray, tagset: TagSet) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] != len(tagset):
        raise ValueError(
            f"scores must be [n_tokens, {len(tagset)}] for this tag set, got {scores.shape}"
        )
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise ValueError("scores contain NaN or +inf")
    return scores


def argmax_decode(scores: np.ndarray, tagset: TagSet, *, repair: bool = True) -> list[str]:
    """Picks the best tag of each token independently (ties go to the lower index).

    Args:
        scores: float ``[n_tokens, n_tags]`` scores or log-probabilities of one sentence.
        tagset: the tag of each score column.
        repair: apply :func:`repair_bio` so that the output is valid IOB2.

    Returns:
        ``n_tokens`` tags.
    """
    scores = _check_scores(scores, tagset)
    tags = tagset.to_tags(scores.argmax(axis=1))
    return repair_bio(tags) if repair else tags


def argmax_decode_batch(
    scores: np.ndarray,
    lengths: Sequence[int] | np.ndarray,
    tagset: TagSet,
    *,
    repair: bool = True,
) -> list[list[str]]:
    """Argmax decoding of many sentences whose tokens are concatenated.

    Args:
        scores: float ``[n_tokens, n_tags]``, sentences one after another.
        lengths: int ``[n_sentences]`` summing to ``n_tokens``.
        tagset: the tag of each score column.
        repair: apply :func:`repair_bio` to each sentence.

    Returns:
        One tag list per sentence.
    """
    scores = _check_scores(scores, tagset)
    tags = split_by_lengths(tagset.to_tags(scores.argmax(axis=1)), lengths)
    return [repair_bio(sentence) for sentence in tags] if repair else tags


def allowed_transitions(tagset: TagSet) -> tuple[np.ndarray, np.ndarray]:
    """Which tag may start a sentence and which may follow which, under IOB2.

    ``I-X`` may only follow ``B-X`` or ``I-X``; every other transition is allowed.

    Args:
        tagset: the tags.

    Returns:
        ``(start, allowed)``: bool ``[n_tags]`` and bool ``[n_tags, n_tags]`` indexed
        ``[previous, next]``.

    >>> start, allowed = allowed_transitions(TagSet(["O", "B-PER", "I-PER"]))
    >>> start.tolist(), allowed.astype(int).tolist()
    ([True, True, False], [[1, 1, 0], [1, 1, 1], [1, 1, 1]])
    """
    types = np.array([tag[2:] for tag in tagset.tags], dtype=object)
    is_inside = np.array([tag.startswith("I-") for tag in tagset.tags])
    is_outside = np.array([tag == "O" for tag in tagset.tags])
    same_type = (types[:, None] == types[None, :]) & ~is_outside[:, None]
    allowed = ~is_inside[None, :] | same_type
    return ~is_inside, allowed


def viterbi_decode(
    scores: np.ndarray, tagset: TagSet, transitions: np.ndarray | None = None
) -> list[str]:
    """Finds the highest-scoring valid IOB2 tag sequence of one sentence.

    The score of a sequence is the sum of its tokens' scores plus, when given, the learned
    ``transitions[previous, next]`` of each step. Transitions that IOB2 forbids (see
    :func:`allowed_transitions`) are never taken, so the output is always valid. ``-inf``
    scores are allowed (they are treated as a very large finite penalty, below any valid
    path made of finite scores); NaN and ``+inf`` are errors. Ties go to lower tag indices.

    Args:
        scores: float ``[n_tokens, n_tags]`` scores or log-probabilities of one sentence.
        tagset: the tag of each score column.
        transitions: optional float ``[n_tags, n_tags]`` added per step, ``[previous, next]``.

    Returns:
        ``n_tokens`` IOB2 tags.
    """
    scores = _check_scores(scores, tagset)
    return viterbi_decode_batch(scores, [scores.shape[0]], tagset, transitions)[0]


def viterbi_decode_batch(
    scores: np.ndarray,
    lengths: Sequence[int] | np.ndarray,
    tagset: TagSet,
    transitions: np.ndarray | None = None,
) -> list[list[str]]:
    """BIO-constrained Viterbi decoding of many sentences at once.

    All sentences advance together, one time step per loop iteration (vectorised over
    sentences and tags); a sentence that has ended keeps its scores frozen.

    Args:
        scores: float ``[n_tokens, n_tags]``, sentences one after another.
        lengths: int ``[n_sentences]`` summing to ``n_tokens``.
        tagset: the tag of each score column.
        transitions: optional float ``[n_tags, n_tags]`` added per step, ``[previous, next]``.

    Returns:
        One list of IOB2 tags per sentence (see :func:`viterbi_decode`).
    """
    scores = _check_scores(scores, tagset)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or (lengths < 0).any() or int(lengths.sum()) != scores.shape[0]:
        raise ValueError(f"sentence lengths must be >= 0 and sum to {scores.shape[0]}")
    n_tags = len(tagset)
    start, allowed = allowed_transitions(tagset)
    step = np.where(allowed, 0.0, -np.inf)
    if transitions is not None:
        transitions = np.asarray(transitions, dtype=np.float64)
        if transitions.shape != (n_tags, n_tags) or not np.isfinite(transitions).all():
            raise ValueError(f"transitions must be finite [{n_tags}, {n_tags}]")
        step = step + transitions
    start_score = np.where(start, 0.0, -np.inf)

    # NOTE: -inf token scores become a finite floor so that forbidden transitions (-inf) always
    # lose to allowed ones; the floor is small enough that no path's sum overflows.
    floor = -1e300 / (int(lengths.max(initial=0)) + 1)
    token_starts = np.cumsum(lengths) - lengths
    order = np.argsort(lengths, kind="stable")  # similar lengths together: less padding
    tag_names = np.asarray(tagset.tags, dtype=object)
    decoded: list[list[str]] = [[] for _ in range(lengths.size)]
    for chunk_start in range(0, lengths.size, _CHUNK_SENTENCES):
        chunk = order[chunk_start : chunk_start + _CHUNK_SENTENCES]
        chunk_lengths = lengths[chunk]
        if chunk_lengths.max(initial=0) == 0:
            continue
        sentence_of_token = np.repeat(np.arange(chunk.size), chunk_lengths)
        time_of_token = (
            np.arange(sentence_of_token.size)
            - (np.cumsum(chunk_lengths) - chunk_lengths)[sentence_of_token]
        )
        padded = np.zeros((chunk.size, int(chunk_lengths.max()), len(tagset)), dtype=np.float64)
        # float64 before the floor: float32 cannot hold it (NumPy would cast it to -inf).
        rows = scores[token_starts[chunk][sentence_of_token] + time_of_token]
        padded[sentence_of_token, time_of_token] = np.maximum(rows.astype(np.float64), floor)
        paths = _viterbi_padded(padded, chunk_lengths, start_score, step)
        for sentence, path, length in zip(
            chunk.tolist(), paths, chunk_lengths.tolist(), strict=True
        ):
            decoded[sentence] = tag_names[path[:length]].tolist()
    return decoded


def _viterbi_padded(
    scores: np.ndarray, lengths: np.ndarray, start_score: np.ndarray, step: np.ndarray
) -> np.ndarray:
    """Viterbi over ``[n_sentences, max_length, n_tags]`` padded scores; returns tag paths."""
    n_sentences, max_length, n_tags = scores.shape
    best = start_score + scores[:, 0]
    backpointers = np.zeros((n_sentences, max_length, n_tags), dtype=np.int32)
    for t in range(1, max_length):
        candidates = best[:, :, None] + step[None, :, :]
        previous = candidates.argmax(axis=1)
        new_best = np.take_along_axis(candidates, previous[:, None, :], axis=1)[:, 0]
        new_best += scores[:, t]
        best = np.where((lengths > t)[:, None], new_best, best)  # ended sentences stay frozen
        backpointers[:, t] = previous

    current = best.argmax(axis=1)
    paths = np.zeros((n_sentences, max_length), dtype=np.int64)
    rows = np.arange(n_sentences)
    for t in range(max_length - 1, -1, -1):
        paths[:, t] = current
        if t > 0:
            current = np.where(t < lengths, backpointers[rows, t, current], current)
    return paths


# ------------------------------------------------------------------ marginals (forward-backward)


def _lattice(tagset: TagSet, transitions: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """float64 ``(start [n_tags], step [n_tags, n_tags])`` log-scores of the BIO lattice:
    ``-inf`` where IOB2 forbids a tag, plus the learned transitions when given."""
    n_tags = len(tagset)
    start, allowed = allowed_transitions(tagset)
    step = np.where(allowed, 0.0, -np.inf)
    if transitions is not None:
        transitions = np.asarray(transitions, dtype=np.float64)
        if transitions.shape != (n_tags, n_tags) or not np.isfinite(transitions).all():
            raise ValueError(f"transitions must be finite [{n_tags}, {n_tags}]")
        step = step + transitions
    return np.where(start, 0.0, -np.inf), step


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(a))) along ``axis``; all ``-inf`` gives ``-inf`` (no warnings, no NaN)."""
    peak = a.max(axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.exp(a - peak).sum(axis=axis, keepdims=True)) + peak
    return np.squeeze(out, axis=axis)


def _forward_backward_chunks(scores, lengths, tagset, transitions):
    """Yields ``(sentences, emissions, alpha, beta, log_z, step)`` per chunk of sentences.

    ``emissions``, ``alpha`` and ``beta`` are float64 ``[n, T, n_tags]`` (padded);
    ``alpha[s, t, j]`` is the log-sum of the scores of every valid prefix ending in tag j at t
    (its emission included), ``beta[s, t, j]`` of every valid continuation after t from tag j.
    """
    scores = _check_scores(scores, tagset)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or (lengths < 0).any() or int(lengths.sum()) != scores.shape[0]:
        raise ValueError(f"sentence lengths must be >= 0 and sum to {scores.shape[0]}")
    start, step = _lattice(tagset, transitions)
    token_starts = np.cumsum(lengths) - lengths
    order = np.argsort(lengths, kind="stable")
    for chunk_start in range(0, lengths.size, _CHUNK_SENTENCES):
        chunk = order[chunk_start : chunk_start + _CHUNK_SENTENCES]
        chunk_lengths = lengths[chunk]
        longest = int(chunk_lengths.max(initial=0))
        if longest == 0:
            continue
        sentence_of_token = np.repeat(np.arange(chunk.size), chunk_lengths)
        time_of_token = (np.arange(sentence_of_token.size)
                         - (np.cumsum(chunk_lengths) - chunk_lengths)[sentence_of_token])
        emissions = np.zeros((chunk.size, longest, len(tagset)), dtype=np.float64)
        emissions[sentence_of_token, time_of_token] = scores[
            token_starts[chunk][sentence_of_token] + time_of_token]
        alpha = np.empty_like(emissions)
        beta = np.zeros_like(emissions)
        alpha[:, 0] = start + emissions[:, 0]
        for t in range(1, longest):
            alpha[:, t] = _logsumexp(alpha[:, t - 1, :, None] + step, axis=1) + emissions[:, t]
        for t in range(longest - 2, -1, -1):
            after = _logsumexp(step + (emissions[:, t + 1] + beta[:, t + 1])[:, None, :], axis=2)
            beta[:, t] = np.where((t < chunk_lengths - 1)[:, None], after, 0.0)
        last = np.maximum(chunk_lengths - 1, 0)
        log_z = _logsumexp(alpha[np.arange(chunk.size), last], axis=1)
        yield chunk, emissions, alpha, beta, log_z, step


def tag_marginals(scores: np.ndarray, lengths: Sequence[int] | np.ndarray, tagset: TagSet,
                  transitions: np.ndarray | None = None) -> np.ndarray:
    """Each token's probability of each tag under the BIO-constrained lattice.

    The lattice gives every valid IOB2 tag sequence y of a sentence the probability
    ``p(y) ∝ exp(sum_t scores[t, y_t] + sum_t transitions[y_(t-1), y_t])`` (sequences IOB2
    forbids get 0); with per-token log-probabilities as scores and no transitions, that is the
    per-token distributions multiplied and renormalised over valid sequences. The marginals come
    from the forward-backward algorithm in log space.

    Args:
        scores: float ``[n_tokens, n_tags]``, sentences one after another.
        lengths: int ``[n_sentences]`` summing to ``n_tokens``.
        tagset: the tag of each score column.
        transitions: optional float ``[n_tags, n_tags]`` (a CRF's), ``[previous, next]``.

    Returns:
        float64 ``[n_tokens, n_tags]``; each row sums to 1.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.zeros((int(lengths.sum()), len(tagset)), dtype=np.float64)
    token_starts = np.cumsum(lengths) - lengths
    for chunk, _emissions, alpha, beta, log_z, _step in _forward_backward_chunks(
            scores, lengths, tagset, transitions):
        for row, sentence in enumerate(chunk.tolist()):
            n = int(lengths[sentence])
            first = int(token_starts[sentence])
            out[first:first + n] = np.exp(alpha[row, :n] + beta[row, :n] - log_z[row])
    return out


def span_probabilities(scores: np.ndarray, lengths: Sequence[int] | np.ndarray, tagset: TagSet,
                       spans: Sequence[Sequence[tuple[int, int, str]]],
                       transitions: np.ndarray | None = None) -> list[list[float]]:
    """The probability of each entity span under the BIO-constrained lattice.

    A span ``(start, end, type)`` (tokens ``start`` to ``end - 1``) is the event "``B-type``
    at start, ``I-type`` on the rest, and the next tag is not ``I-type``": exactly the
    sequences in which that entity, with those boundaries and that type, is read. Its
    probability is the lattice's marginal (see :func:`tag_marginals`), from the forward and
    backward sums at the span's two ends and the scores inside it.

    Args:
        scores: float ``[n_tokens, n_tags]``, sentences one after another.
        lengths: int ``[n_sentences]`` summing to ``n_tokens``.
        tagset: the tag of each score column.
        spans: for each sentence, its ``(start, end, type)`` spans (token indices in it).
        transitions: optional float ``[n_tags, n_tags]`` (a CRF's).

    Returns:
        For each sentence, one probability in ``[0, 1]`` per span, in order.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(spans) != lengths.size:
        raise ValueError(f"{len(spans)} span lists for {lengths.size} sentences")
    index = {tag: i for i, tag in enumerate(tagset.tags)}
    out: list[list[float]] = [[0.0] * len(s) for s in spans]
    for chunk, emissions, alpha, beta, log_z, step in _forward_backward_chunks(
            scores, lengths, tagset, transitions):
        for row, sentence in enumerate(chunk.tolist()):
            n = int(lengths[sentence])
            for k, (start, end, kind) in enumerate(spans[sentence]):
                if not 0 <= start < end <= n:
                    raise ValueError(f"span ({start}, {end}) is outside a sentence of {n} tokens")
                begin, inside = index.get("B-" + kind), index.get("I-" + kind)
                if begin is None or (inside is None and end - start > 1):
                    continue  # a span the tag set cannot express has probability 0
                total = alpha[row, start, begin]
                previous = begin
                for t in range(start + 1, end):
                    total += step[previous, inside] + emissions[row, t, inside]
                    previous = inside
                if end < n:
                    after = step[previous] + emissions[row, end] + beta[row, end]
                    if inside is not None:
                        after[inside] = -np.inf  # the entity must stop at `end`
                    total += _logsumexp(after, axis=0)
                value = float(np.exp(total - log_z[row]))
                out[sentence][k] = min(max(value, 0.0), 1.0) if np.isfinite(value) else 0.0
    return out
