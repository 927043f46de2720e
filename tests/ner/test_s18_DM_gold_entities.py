"""Gold entities extracted once (metrics.GoldEntities) score every prediction as seqeval does.

A training run scores the same dev set with two decoders after every epoch; the gold entities
are now extracted once for all of those calls. One prepared gold serves many predictions here,
each compared with seqeval's own precision_recall_fscore_support, so that no call can leak into
the next (a prediction's entity type that gold lacks must not stay behind for later calls).
"""

import numpy as np
import pytest

from deltagrad.ner.metrics import GoldEntities, entity_scores

sequence_labeling = pytest.importorskip("seqeval.metrics.sequence_labeling")

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def seqeval_scores(gold, pred):
    prfs = sequence_labeling.precision_recall_fscore_support
    precision, recall, f1, _ = prfs(gold, pred, average="micro", zero_division=0)
    types = sorted({e[0] for e in sequence_labeling.get_entities(gold)}
                   | {e[0] for e in sequence_labeling.get_entities(pred)})
    p, r, f, s = prfs(gold, pred, average=None, zero_division=0)
    per_type = {t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                    "support": int(s[i])} for i, t in enumerate(types)}
    return float(precision), float(recall), float(f1), per_type


@pytest.mark.parametrize("seed", range(6))
def test_one_prepared_gold_scores_many_predictions_as_seqeval(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, 25)
    gold = [[TAGS[i] for i in rng.integers(0, len(TAGS), n)] for n in lengths]
    prepared = GoldEntities(gold)
    for call in range(6):
        # Every other prediction brings a type gold never has (MISC), then one without it.
        extra = ["B-MISC", "I-MISC"] if call % 2 == 0 else []
        tags = TAGS + extra
        pred = [[g if rng.random() < 0.6 else tags[rng.integers(len(tags))] for g in sentence]
                for sentence in gold]
        got = entity_scores(prepared, pred)
        assert got == entity_scores(gold, pred)  # the same dict as with plain gold lists
        precision, recall, f1, per_type = seqeval_scores(gold, pred)
        assert (got["precision"], got["recall"], got["f1"]) == (precision, recall, f1)
        assert got["per_type"] == per_type
        assert got["accuracy"] == sequence_labeling.accuracy_score(gold, pred)


def test_prepared_gold_keeps_the_shape_checks():
    prepared = GoldEntities([["B-PER", "O"], ["O"]])
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        entity_scores(prepared, [["O", "O"]])
    with pytest.raises(ValueError, match="sentence 2: 1 gold tags but 2 predicted"):
        entity_scores(prepared, [["O", "O"], ["O", "O"]])


def test_score_with_and_without_prepared_gold():
    """predict.score gives the same dict whether or not the gold entities come prepared."""
    import deltagrad as dg
    from deltagrad.ner.conll import Sentence
    from deltagrad.ner.features import build_features
    from deltagrad.ner.predict import score

    sentences = [Sentence(["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"]),
                 Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"])]
    features, _, _ = build_features(sentences, None, 1, 4, np.random.default_rng(0))
    n_tags = len(features.tagset)

    class Fixed(dg.nn.Module):  # scores from a seeded table, one row per token
        transitions = None

        def forward(self, words, **_):
            ids = words.numpy()[:, words.shape[1] // 2]
            table = np.random.default_rng(3).normal(size=(64, n_tags)).astype(np.float32)
            return dg.from_numpy(table[ids % 64])

    model = Fixed()
    plain = score(model, features, sentences)
    prepared = score(model, features, sentences,
                     gold=GoldEntities([s.tags for s in sentences]))
    assert plain == prepared and set(plain) == {"argmax", "viterbi"}
