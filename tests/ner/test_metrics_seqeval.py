"""entity_scores against seqeval's own precision_recall_fscore_support, bit for bit.

entity_scores extracts the entities once and does seqeval's arithmetic itself; these random and
malformed tag sequences check that every score is the float seqeval gives.
"""

import numpy as np
import pytest

from deltagrad.ner.metrics import entity_scores

sequence_labeling = pytest.importorskip("seqeval.metrics.sequence_labeling")

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
ODD_TAGS = ["B", "I", "I-", "B-X-Y", "E-PER", "S-LOC"]


def seqeval_scores(gold, pred):
    """What entity_scores computed with seqeval's precision_recall_fscore_support."""
    prfs = sequence_labeling.precision_recall_fscore_support
    precision, recall, f1, _ = prfs(gold, pred, average="micro", zero_division=0)
    types = sorted({e[0] for e in sequence_labeling.get_entities(gold)}
                   | {e[0] for e in sequence_labeling.get_entities(pred)})
    per_type = {}
    if types:
        p, r, f, s = prfs(gold, pred, average=None, zero_division=0)
        per_type = {t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                        "support": int(s[i])} for i, t in enumerate(types)}
    return float(precision), float(recall), float(f1), per_type


def random_tags(rng, lengths, tags):
    return [[tags[i] for i in rng.integers(0, len(tags), n)] for n in lengths]


@pytest.mark.parametrize("seed", range(40))
def test_scores_are_seqevals_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    tags = TAGS + (ODD_TAGS if seed % 4 == 0 else [])
    lengths = rng.integers(0 if seed % 5 == 0 else 1, 12, rng.integers(1, 30))
    gold = random_tags(rng, lengths, tags)
    # Predictions close to gold (most entities right) or anything.
    pred = [[g if rng.random() < (0.9 if seed % 2 else 0.3) else tags[rng.integers(len(tags))]
             for g in sentence] for sentence in gold]
    scores = entity_scores(gold, pred)
    precision, recall, f1, per_type = seqeval_scores(gold, pred)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (precision, recall, f1)
    assert scores["per_type"] == per_type


def test_no_entities_at_all():
    scores = entity_scores([["O", "O"], []], [["O", "O"], []])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)
    assert scores["per_type"] == {} and scores["support"] == scores["predicted"] == 0
