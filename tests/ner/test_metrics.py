"""Tests of entity-level NER scores (deltagrad.ner.metrics) on hand-made examples."""

import json
import sys

import pytest

from deltagrad.ner.metrics import entity_scores


def micro(scores):
    return scores["precision"], scores["recall"], scores["f1"]


def test_perfect_prediction():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    scores = entity_scores(gold, gold)
    assert micro(scores) == (1.0, 1.0, 1.0)
    assert scores["accuracy"] == 1.0 and scores["support"] == scores["predicted"] == 3
    assert scores["per_type"] == {
        "LOC": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
        "ORG": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
        "PER": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
    }


def test_entity_at_end_of_sentence_is_counted():
    gold = [["O", "B-LOC", "I-LOC"], ["B-PER"]]
    assert micro(entity_scores(gold, gold)) == (1.0, 1.0, 1.0)
    # Cut one token short at the end: that entity is wrong, the other right.
    scores = entity_scores(gold, [["O", "B-LOC", "O"], ["B-PER"]])
    assert micro(scores) == (0.5, 0.5, 0.5)


def test_adjacent_entities_of_the_same_type():
    gold = [["B-PER", "B-PER", "O"]]  # two one-token people
    assert entity_scores(gold, gold)["support"] == 2
    merged = entity_scores(gold, [["B-PER", "I-PER", "O"]])  # one two-token person
    assert merged["predicted"] == 1 and micro(merged) == (0.0, 0.0, 0.0)


def test_wrong_type_counts_against_both_types():
    scores = entity_scores([["B-PER", "O"]], [["B-LOC", "O"]])
    assert micro(scores) == (0.0, 0.0, 0.0)
    assert scores["per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["per_type"]["LOC"]["support"] == 0  # predicted only
    assert scores["accuracy"] == 0.5


def test_partial_span_is_wrong():
    gold = [["B-ORG", "I-ORG", "I-ORG", "O"]]
    for pred in (["B-ORG", "I-ORG", "O", "O"], ["O", "B-ORG", "I-ORG", "O"]):
        assert micro(entity_scores(gold, [pred])) == (0.0, 0.0, 0.0)
    too_long = entity_scores(gold, [["B-ORG", "I-ORG", "I-ORG", "I-ORG"]])
    assert micro(too_long) == (0.0, 0.0, 0.0)


def test_conlleval_reads_i_after_o_as_a_start():
    gold = [["O", "B-PER", "I-PER"]]
    assert micro(entity_scores(gold, [["O", "I-PER", "I-PER"]])) == (1.0, 1.0, 1.0)


def test_entities_do_not_run_across_sentences():
    gold = [["O", "B-PER"], ["B-PER", "O"]]
    scores = entity_scores(gold, [["O", "B-PER"], ["I-PER", "O"]])
    assert scores["support"] == 2 and scores["predicted"] == 2
    assert micro(scores) == (1.0, 1.0, 1.0)


def test_micro_and_per_type_numbers():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"], ["B-PER", "O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "O", "B-ORG"], ["B-PER", "O", "O"]]
    # gold: PER x2, LOC x2, ORG x1; pred: PER x2 (both right), ORG x2 (one right).
    scores = entity_scores(gold, pred)
    assert scores["support"] == 5 and scores["predicted"] == 4
    assert scores["precision"] == pytest.approx(3 / 4)
    assert scores["recall"] == pytest.approx(3 / 5)
    assert scores["f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert scores["accuracy"] == pytest.approx(7 / 9)
    assert scores["per_type"]["PER"]["f1"] == 1.0
    assert scores["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert scores["per_type"]["ORG"]["precision"] == 0.5
    assert scores["per_type"]["ORG"]["recall"] == 1.0
    json.dumps(scores)  # plain Python numbers only


def test_no_entities_anywhere():
    scores = entity_scores([["O", "O"]], [["O", "O"]])
    assert micro(scores) == (0.0, 0.0, 0.0) and scores["per_type"] == {}
    assert scores["accuracy"] == 1.0


def test_shape_mismatch():
    with pytest.raises(ValueError, match="1 gold sentences but 2"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 2: 1 gold tags but 2"):
        entity_scores([["O"], ["O"]], [["O"], ["O", "O"]])


def test_missing_seqeval_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "seqeval", None)
    with pytest.raises(ImportError, match=r"pip install 'deltagrad\[ner\]'"):
        entity_scores([["O"]], [["O"]])
