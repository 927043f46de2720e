"""entity_scores reads again only the sentences predicted otherwise than gold (DM4, issue 18).

Sentences predicted exactly as gold take gold's entities; the scores must be those of seqeval
reading every predicted sentence (its precision_recall_fscore_support, accuracy_score and
get_entities), bit for bit, with regular tags (the shortcut) and with odd ones (read whole).
"""

import numpy as np
import pytest

from deltagrad.ner.metrics import GoldEntities, entity_scores

sequence_labeling = pytest.importorskip("seqeval.metrics.sequence_labeling")

IOB = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
IOBES = IOB + ["E-PER", "S-LOC", "E-LOC", "S-MISC"]
ODD = ["B", "I", "X", "I-", ".", "Q-PER", "B-X-Y"]


def seqeval_reference(gold, pred):
    prfs = sequence_labeling.precision_recall_fscore_support
    precision, recall, f1, _ = prfs(gold, pred, average="micro", zero_division=0)
    types = sorted({e[0] for e in sequence_labeling.get_entities(gold)}
                   | {e[0] for e in sequence_labeling.get_entities(pred)})
    per_type = {}
    if types:
        p, r, f, s = prfs(gold, pred, average=None, zero_division=0)
        per_type = {t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                        "support": int(s[i])} for i, t in enumerate(types)}
    n = sum(len(s) for s in gold)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1),
            "accuracy": float(sequence_labeling.accuracy_score(gold, pred)) if n else 0.0,
            "support": len(sequence_labeling.get_entities(gold)),
            "predicted": len(sequence_labeling.get_entities(pred)), "per_type": per_type}


@pytest.mark.parametrize("seed", range(48))
def test_sentence_shortcut_matches_seqeval(seed):
    rng = np.random.default_rng(seed)
    tags = [IOB, IOBES, IOB + ODD][seed % 3]
    lengths = rng.integers(0 if seed % 4 == 0 else 1, 14, rng.integers(1, 40))
    gold = [[tags[i] for i in rng.integers(0, len(tags), n)] for n in lengths]
    # Most sentences predicted exactly (the shortcut's case), the others changed in places.
    exact = rng.random(len(gold)) < [0.0, 0.5, 0.8, 1.0][seed % 4]
    pred = [list(g) if keep else [t if rng.random() < 0.7 else tags[rng.integers(len(tags))]
                                  for t in g] for g, keep in zip(gold, exact, strict=True)]
    expected = seqeval_reference(gold, pred)
    assert entity_scores(gold, pred) == expected
    assert entity_scores(GoldEntities(gold), pred) == expected  # (prepared once, as training)


def test_odd_tags_read_whole():
    # seqeval's reading of odd tags depends on the sentences before: "X" first in the first
    # sentence starts an entity; after another sentence it does not, and the entity ended by
    # the I-PER's type change then starts at the last start seen, in the sentence before.
    gold = [["B-PER", "I-PER"], ["X", "I-LOC"]]
    pred = [["B-PER", "O"], ["X", "I-LOC"]]
    assert entity_scores(gold, pred) == seqeval_reference(gold, pred)
    assert entity_scores([["X", "I-LOC"]], [["X", "I-LOC"]]) == seqeval_reference(
        [["X", "I-LOC"]], [["X", "I-LOC"]])


def test_dev_sized_scores_equal():
    # A CoNLL-sized set (3,000 sentences) with 80% of its sentences predicted exactly.
    rng = np.random.default_rng(7)
    gold = [[IOB[i] for i in rng.integers(0, len(IOB), n)] for n in rng.integers(1, 30, 3000)]
    pred = [list(g) if rng.random() < 0.8 else [IOB[i] for i in rng.integers(0, len(IOB), len(g))]
            for g in gold]
    assert entity_scores(GoldEntities(gold), pred) == seqeval_reference(gold, pred)
