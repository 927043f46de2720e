"""Entity confidences: forward-backward marginals of the BIO lattice, checked against brute-force
enumeration of every tag sequence, and calibrated on held-out dev sentences."""

import itertools

import numpy as np
import pytest

from deltagrad.ner.calibration import format_reliability, reliability
from deltagrad.ner.conll import load_default
from deltagrad.ner.decode import allowed_transitions, span_probabilities, tag_marginals
from deltagrad.ner.predict import entity_spans
from deltagrad.ner.vocab import TagSet

TAGS = TagSet(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])


def brute_force(scores, transitions=None):
    """Every valid IOB2 sequence of one sentence with its normalised probability."""
    start, allowed = allowed_transitions(TAGS)
    n, k = scores.shape
    weights = {}
    for path in itertools.product(range(k), repeat=n):
        if not start[path[0]] or any(not allowed[a, b] for a, b in zip(path, path[1:])):
            continue
        total = sum(scores[t, y] for t, y in enumerate(path))
        if transitions is not None:
            total += sum(transitions[a, b] for a, b in zip(path, path[1:]))
        weights[path] = np.exp(total)
    z = sum(weights.values())
    return {path: w / z for path, w in weights.items()}


@pytest.mark.parametrize("crf", [False, True])
@pytest.mark.parametrize("length", [1, 2, 4])
def test_marginals_match_enumeration(length, crf):
    rng = np.random.default_rng(length + 10 * crf)
    scores = rng.normal(0, 1.5, (length, len(TAGS)))
    transitions = rng.normal(0, 1, (len(TAGS), len(TAGS))) if crf else None
    paths = brute_force(scores, transitions)

    expected = np.zeros((length, len(TAGS)))
    for path, p in paths.items():
        expected[np.arange(length), path] += p
    got = tag_marginals(scores, [length], TAGS, transitions)
    np.testing.assert_allclose(got, expected, atol=1e-12)

    # Every span that any sequence reads: its probability is the mass of sequences reading it.
    span_mass = {}
    for path, p in paths.items():
        for span in entity_spans(TAGS.to_tags(np.array(path))):
            span_mass[span] = span_mass.get(span, 0.0) + p
    spans = sorted(span_mass)
    got = span_probabilities(scores, [length], TAGS, [spans], transitions)[0]
    np.testing.assert_allclose(got, [span_mass[s] for s in spans], atol=1e-12)


def test_batched_sentences_equal_one_at_a_time():
    rng = np.random.default_rng(0)
    lengths = [3, 1, 5, 2]
    scores = rng.normal(0, 2, (sum(lengths), len(TAGS)))
    spans = [[(0, 2, "PER")], [(0, 1, "LOC")], [(1, 3, "LOC"), (4, 5, "PER")], []]
    batched = span_probabilities(scores, lengths, TAGS, spans)
    start = 0
    for i, n in enumerate(lengths):
        alone = span_probabilities(scores[start:start + n], [n], TAGS, [spans[i]])
        np.testing.assert_allclose(batched[i], alone[0], atol=1e-12)
        start += n
    np.testing.assert_allclose(tag_marginals(scores, lengths, TAGS).sum(axis=1), 1.0)


def test_certain_scores_give_confidence_one_and_impossible_spans_zero():
    scores = np.log(np.array([[1e-12, 1 - 2e-12, 1e-12, 0, 0],
                              [1e-12, 1e-12, 1 - 2e-12, 0, 0]]) + 1e-300)
    p_whole, p_first, p_loc = span_probabilities(
        scores, [2], TAGS, [[(0, 2, "PER"), (0, 1, "PER"), (0, 2, "LOC")]])[0]
    assert p_whole == pytest.approx(1.0, abs=1e-9)
    assert p_first == pytest.approx(0.0, abs=1e-9)  # B-PER I-PER: the entity does not stop at 1
    assert p_loc == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="outside a sentence"):
        span_probabilities(scores, [2], TAGS, [[(1, 3, "PER")]])


def test_confidence_is_calibrated_on_held_out_dev(tiny_model):
    """Dev sentences 100-600 (the model chose its epoch on the first 100): the fraction of
    predicted entities that are right tracks their confidence."""
    table = reliability(tiny_model, load_default("dev")[100:600], bins=5)
    print("\n" + format_reliability(table))
    assert table["entities"] > 300
    assert table["ece"] < 0.1
    filled = [row for row in table["rows"] if row["entities"] >= 20]
    precisions = [row["precision"] for row in filled]
    assert precisions[-1] > precisions[0] + 0.3  # confident entities are right far more often
    for row in filled:
        assert abs(row["confidence"] - row["precision"]) < 0.25
