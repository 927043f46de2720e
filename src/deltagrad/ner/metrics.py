"""Entity-level NER scores with conlleval semantics, computed by seqeval."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["GoldEntities", "entity_scores", "import_seqeval"]


class GoldEntities:
    """Gold tags with their entities extracted (by seqeval) once, for scoring many predictions.

    A training run scores the same dev set with two decoders after every epoch; seqeval's
    ``get_entities`` over the gold tags gave the same answer each time (CoNLL dev, the metrics
    of one epoch's two decoders: 0.251 -> 0.103 s of thread time, medians of 8 alternated
    rounds on a loaded machine, the same scores; issue 18).

    Args:
        gold: the true tags, one list per sentence.
    """

    def __init__(self, gold: Sequence[Sequence[str]]):
        _, get_entities = import_seqeval()
        self.tags = [list(sentence) for sentence in gold]
        self.entities = get_entities(self.tags)
        by_type = defaultdict(set)
        for name, start, end in self.entities:
            by_type[name].add((start, end))
        self.by_type = dict(by_type)  # (read by many calls: no default that inserts)
        # Where each sentence starts among get_entities' positions (it reads the sentences one
        # after another, each followed by an "O"), and each entity's sentence.
        lengths = np.array([len(sentence) for sentence in self.tags], np.int64)
        self.starts = np.cumsum(lengths + 1) - (lengths + 1)
        self.sentence_of = (np.searchsorted(self.starts, [start for _, start, _ in self.entities],
                                            side="right") - 1).tolist()
        self.regular = _regular(self.tags)


def entity_scores(gold: Sequence[Sequence[str]] | GoldEntities,
                  pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Scores predicted tags against gold tags, entity by entity (conlleval semantics).

    An entity counts as correct only when its type and both boundaries match exactly. Tags are
    read as conlleval reads them (seqeval's default mode): an ``I-X`` after ``O`` or after
    another type starts a new entity. Scores with a zero denominator are 0.

    Args:
        gold: the true tags, one list per sentence, or a :class:`GoldEntities` of them (its
            entities extracted once for many calls: the same scores).
        pred: the predicted tags, same shape as ``gold``.

    Returns:
        A JSON-serialisable dict: ``precision``, ``recall``, ``f1`` (micro-averaged over all
        entities, fractions in [0, 1]), ``accuracy`` (token-level), ``support`` (gold
        entities), ``predicted`` (predicted entities) and ``per_type``:
        ``{TYPE: {"precision", "recall", "f1", "support"}}`` for every type in gold or pred.

    >>> scores = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> scores["f1"], scores["accuracy"], scores["per_type"]["PER"]["support"]
    (0.0, 0.6666666666666666, 1)
    """
    _, get_entities = import_seqeval()

    prepared = gold if isinstance(gold, GoldEntities) else GoldEntities(gold)
    gold = prepared.tags
    pred = [list(sentence) for sentence in pred]
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for number, (gold_tags, pred_tags) in enumerate(zip(gold, pred, strict=True), start=1):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(
                f"sentence {number}: {len(gold_tags)} gold tags but {len(pred_tags)} predicted"
            )

    # The entities come from seqeval's get_entities, once each; the counts and _scores below
    # are what seqeval's precision_recall_fscore_support computes, which extracts the entities
    # again on every call (micro and per type: 0.95 -> 0.3 s per CoNLL dev scoring, issue 18).
    gold_entities, gold_by_type = prepared.entities, prepared.by_type
    pred_entities, mismatches = _predicted_entities(prepared, pred, get_entities)
    pred_by_type = defaultdict(set)
    for name, start, end in pred_entities:
        pred_by_type[name].add((start, end))
    types = sorted(gold_by_type.keys() | pred_by_type.keys())
    none = frozenset()
    correct = np.array([len(gold_by_type.get(t, none) & pred_by_type[t]) for t in types],
                       np.int64)
    predicted = np.array([len(pred_by_type[t]) for t in types], np.int64)
    support = np.array([len(gold_by_type.get(t, none)) for t in types], np.int64)
    precision, recall, f1 = (
        float(x[0]) for x in _scores(correct.sum(keepdims=True), predicted.sum(keepdims=True),
                                     support.sum(keepdims=True)))
    type_precision, type_recall, type_f1 = _scores(correct, predicted, support)
    per_type: dict[str, dict[str, float | int]] = {}
    for index, name in enumerate(types):
        per_type[name] = {
            "precision": float(type_precision[index]),
            "recall": float(type_recall[index]),
            "f1": float(type_f1[index]),
            "support": int(support[index]),
        }
    n_tokens = sum(len(sentence) for sentence in gold)
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        # seqeval's accuracy_score, its count of equal tags over the number of tags, from the
        # differing sentences' mismatches (the same ints, so the same float).
        "accuracy": float((n_tokens - mismatches) / n_tokens) if n_tokens else 0.0,
        "support": len(gold_entities),
        "predicted": len(pred_entities),
        "per_type": per_type,
    }


def _predicted_entities(gold: GoldEntities, pred: list, get_entities) -> tuple[list, int]:
    """seqeval's ``get_entities(pred)`` and the number of tags that differ from gold's.

    A sentence predicted exactly as gold has gold's entities, at the same positions: seqeval
    reads each sentence on its own (an "O" after each), so only the other sentences are read
    again, and their entities moved back to their sentences' positions. The same list of
    entities but for its order (the scores count and compare sets). A default member's dev
    scoring (``predict.score``) after 150 to 900 steps: 522 -> 482 ms of process time, medians
    of 6 alternated rounds on a loaded machine; more sentences are right in later epochs.
    """
    if not (gold.regular and _regular(pred)):  # (see _regular)
        return get_entities(pred), sum(g != p for gs, ps in zip(gold.tags, pred, strict=True)
                                       for g, p in zip(gs, ps, strict=True))
    differ = [i for i, (g, p) in enumerate(zip(gold.tags, pred, strict=True)) if g != p]
    found = get_entities([pred[i] for i in differ]) if differ else []
    if found:
        lengths = np.array([len(pred[i]) for i in differ], np.int64)
        starts = np.cumsum(lengths + 1) - (lengths + 1)  # their positions read on their own
        sentence = np.searchsorted(starts, [start for _, start, _ in found], side="right") - 1
        moves = (gold.starts[np.asarray(differ)[sentence]] - starts[sentence]).tolist()
        found = [(name, start + move, end + move)
                 for (name, start, end), move in zip(found, moves, strict=True)]
    if len(differ) < len(pred):
        same = np.ones(len(pred), bool)
        same[differ] = False
        found += [entity for entity, i in zip(gold.entities, gold.sentence_of, strict=True)
                  if same[i]]
    mismatches = sum(g != p for i in differ for g, p in zip(gold.tags[i], pred[i], strict=True))
    return found, mismatches


def _regular(sentences: list) -> bool:
    """Whether every tag is "O" or starts "B-", "I-", "E-" or "S-". seqeval then reads each
    sentence alike wherever it stands (after the "O" it puts between sentences, every such tag
    but "O" starts an entity, and none warns). Other tags may not: the first sentence's
    first tag starts an entity that the same tag after an "O" does not, and an entity ended
    without a start takes the last start, perhaps in another sentence."""
    return all(isinstance(tag, str) and (tag == "O" or tag[:2] in _PREFIXES)
               for tag in set().union(*sentences))


_PREFIXES = frozenset({"B-", "I-", "E-", "S-"})


def import_seqeval():
    """seqeval's ``(accuracy_score, get_entities)``, imported on first use.

    Importing them imports scikit-learn and SciPy (0.5-1 s of a process's time, more on a busy
    machine): an ensemble's parent calls this before its members fork, so that they inherit
    the modules instead of each importing them again (issue 18).

    Raises:
        ImportError: seqeval is not installed (the message says how to install it).
    """
    try:
        import seqeval  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "NER metrics need the `seqeval` package: install it with `pip install 'deltagrad[ner]'`"
        ) from exc
    from seqeval.metrics.sequence_labeling import accuracy_score, get_entities

    return accuracy_score, get_entities


def _scores(correct: np.ndarray, predicted: np.ndarray, support: np.ndarray):
    """Precision, recall and F1 from integer counts, with seqeval's float operations in its
    order (so the same bits), a zero denominator giving 0."""
    precision = correct / np.where(predicted == 0, 1, predicted)
    precision[predicted == 0] = 0.0
    recall = correct / np.where(support == 0, 1, support)
    recall[support == 0] = 0.0
    denominator = 1.0 * precision + recall
    denominator[denominator == 0.0] = 1
    return precision, recall, (1 + 1.0) * precision * recall / denominator
