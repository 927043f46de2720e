"""Tests of decoding tag scores into IOB2 sequences (deltagrad.ner.decode)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltagrad.ner import decode
from deltagrad.ner.decode import (
    allowed_transitions,
    argmax_decode,
    argmax_decode_batch,
    repair_bio,
    split_by_lengths,
    viterbi_decode,
    viterbi_decode_batch,
)
from deltagrad.ner.metrics import entity_scores
from deltagrad.ner.vocab import TagSet

CONLL_TAGS = TagSet.build([["B-LOC", "B-MISC", "B-ORG", "B-PER"]])
SMALL_TAGS = [TagSet(["O", "B-PER", "I-PER"]), TagSet(["O", "B-LOC", "I-LOC", "B-PER", "I-PER"])]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


def is_valid_iob2(tags):
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            return False
        previous = tag
    return True


def one_hot_scores(tags, tagset):
    scores = np.full((len(tags), len(tagset)), -5.0)
    scores[np.arange(len(tags)), tagset.indices(tags)] = 0.0
    return scores


# --- repair --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "repaired"),
    [
        (["I-PER"], ["B-PER"]),
        (["O", "I-PER", "I-PER"], ["O", "B-PER", "I-PER"]),
        (["B-PER", "I-LOC", "I-LOC"], ["B-PER", "B-LOC", "I-LOC"]),
        (["B-PER", "I-PER", "B-PER"], ["B-PER", "I-PER", "B-PER"]),
        ([], []),
    ],
)
def test_repair_bio(tags, repaired):
    assert repair_bio(tags) == repaired


tag_lists = st.lists(st.sampled_from(CONLL_TAGS.tags), max_size=10)


@SETTINGS
@given(st.lists(tag_lists, min_size=1, max_size=4), st.data())
def test_repair_keeps_conlleval_entities(gold, data):
    pred = [
        data.draw(st.lists(st.sampled_from(CONLL_TAGS.tags), min_size=n, max_size=n))
        for n in map(len, gold)
    ]
    repaired = [repair_bio(sentence) for sentence in pred]
    assert all(is_valid_iob2(sentence) for sentence in repaired)
    before, after = entity_scores(gold, pred), entity_scores(gold, repaired)
    del before["accuracy"], after["accuracy"]  # tokens change; entities must not
    assert before == after


# --- argmax --------------------------------------------------------------------------------


def test_argmax_decode():
    tagset = SMALL_TAGS[0]
    scores = np.log([[0.1, 0.2, 0.7], [0.2, 0.1, 0.7], [0.9, 0.05, 0.05]])
    assert argmax_decode(scores, tagset, repair=False) == ["I-PER", "I-PER", "O"]
    assert argmax_decode(scores, tagset) == ["B-PER", "I-PER", "O"]


def test_argmax_decode_batch_repairs_each_sentence():
    tagset = SMALL_TAGS[0]
    scores = one_hot_scores(["O", "I-PER", "I-PER", "I-PER"], tagset)
    assert argmax_decode_batch(scores, [2, 0, 2], tagset) == [
        ["O", "B-PER"],
        [],
        ["B-PER", "I-PER"],
    ]


def test_split_by_lengths():
    assert split_by_lengths(list("abcde"), [2, 0, 3]) == [["a", "b"], [], ["c", "d", "e"]]
    with pytest.raises(ValueError, match="sum to 2, not 3"):
        split_by_lengths([1, 2, 3], [1, 1])


# --- Viterbi -------------------------------------------------------------------------------


def test_allowed_transitions_conll():
    start, allowed = allowed_transitions(CONLL_TAGS)
    tags = CONLL_TAGS.tags
    for previous, following in itertools.product(range(len(tags)), repeat=2):
        next_tag, previous_tag = tags[following], tags[previous]
        expected = not next_tag.startswith("I-") or previous_tag[2:] == next_tag[2:]
        assert allowed[previous, following] == expected, (previous_tag, next_tag)
    assert start.tolist() == [not tag.startswith("I-") for tag in tags]


def test_viterbi_fixes_what_argmax_gets_wrong():
    tagset = SMALL_TAGS[0]
    # Argmax says O I-PER; the best valid sequence is O B-PER (cost 0.1) not O O (cost 1.0).
    scores = np.array([[0.0, -3.0, -3.0], [-1.0, -0.1, 0.0]])
    assert viterbi_decode(scores, tagset) == ["O", "B-PER"]
    # A learned transition can still change the answer within the valid sequences.
    transitions = np.zeros((3, 3))
    transitions[0, 1] = -5.0
    assert viterbi_decode(scores, tagset, transitions) == ["O", "O"]


def brute_force(scores, tagset, transitions):
    start, allowed = allowed_transitions(tagset)
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(tagset)), repeat=scores.shape[0]):
        if not start[path[0]] or not all(allowed[a, b] for a, b in itertools.pairwise(path)):
            continue
        total = scores[np.arange(len(path)), path].sum()
        total += sum(transitions[a, b] for a, b in itertools.pairwise(path))
        if total > best:
            best, best_path = total, path
    return best, best_path


def path_score(tags, scores, tagset, transitions):
    path = tagset.indices(tags)
    total = scores[np.arange(len(path)), path].sum()
    return total + sum(transitions[a, b] for a, b in itertools.pairwise(path))


@SETTINGS
@given(
    st.integers(1, 5),
    st.sampled_from(SMALL_TAGS),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_viterbi_matches_brute_force(length, tagset, with_transitions, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(length, len(tagset)))
    transitions = rng.normal(size=(len(tagset),) * 2) if with_transitions else None
    zeros = np.zeros((len(tagset),) * 2)
    tags = viterbi_decode(scores, tagset, transitions)
    best, best_path = brute_force(scores, tagset, transitions if with_transitions else zeros)
    used = transitions if with_transitions else zeros
    assert np.isclose(path_score(tags, scores, tagset, used), best)
    assert tags == tagset.to_tags(best_path)


@SETTINGS
@given(
    st.lists(st.integers(0, 8), min_size=1, max_size=6),
    st.integers(0, 2**32 - 1),
    st.floats(0.0, 1.0),
)
def test_viterbi_output_is_always_valid(lengths, seed, inf_fraction):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(sum(lengths), len(CONLL_TAGS))) * 10
    scores[rng.random(scores.shape) < inf_fraction] = -np.inf  # even whole rows of -inf
    decoded = viterbi_decode_batch(scores, lengths, CONLL_TAGS)
    assert [len(tags) for tags in decoded] == lengths
    assert all(is_valid_iob2(tags) for tags in decoded)


def test_viterbi_prefers_finite_scores_over_minus_inf():
    tagset = SMALL_TAGS[0]
    scores = np.array([[-np.inf, 0.0, -np.inf], [-np.inf, -np.inf, 0.0]])
    assert viterbi_decode(scores, tagset) == ["B-PER", "I-PER"]


def test_batch_equals_one_sentence_at_a_time(monkeypatch):
    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 12, size=40)
    scores = np.log(rng.dirichlet(np.ones(len(CONLL_TAGS)), size=int(lengths.sum())))
    transitions = rng.normal(size=(len(CONLL_TAGS),) * 2)
    single = [
        viterbi_decode(piece, CONLL_TAGS, transitions)
        for piece in split_by_lengths(scores, lengths)
    ]
    assert viterbi_decode_batch(scores, lengths, CONLL_TAGS, transitions) == single
    monkeypatch.setattr(decode, "_CHUNK_SENTENCES", 3)
    assert viterbi_decode_batch(scores, lengths, CONLL_TAGS, transitions) == single


def test_viterbi_on_perfect_scores_returns_the_gold_tags():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-MISC"]
    assert viterbi_decode(one_hot_scores(gold, CONLL_TAGS), CONLL_TAGS) == gold


def test_viterbi_errors():
    tagset = SMALL_TAGS[0]
    with pytest.raises(ValueError, match="NaN"):
        viterbi_decode(np.array([[0.0, np.nan, 0.0]]), tagset)
    with pytest.raises(ValueError, match=r"\[n_tokens, 3\]"):
        viterbi_decode(np.zeros((2, 4)), tagset)
    with pytest.raises(ValueError, match="sum to 2"):
        viterbi_decode_batch(np.zeros((2, 3)), [1], tagset)
    with pytest.raises(ValueError, match="transitions"):
        viterbi_decode(np.zeros((2, 3)), tagset, np.zeros((2, 2)))
    assert viterbi_decode(np.zeros((0, 3)), tagset) == []
