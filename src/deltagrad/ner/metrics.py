"""Entity-level NER scores with conlleval semantics, computed by seqeval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["entity_scores"]


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Scores predicted tags against gold tags, entity by entity (conlleval semantics).

    An entity counts as correct only when its type and both boundaries match exactly. Tags are
    read as conlleval reads them (seqeval's default mode): an ``I-X`` after ``O`` or after
    another type starts a new entity. Scores with a zero denominator are 0.

    Args:
        gold: the true tags, one list per sentence.
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
    try:
        import seqeval  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "NER metrics need the `seqeval` package: install it with `pip install 'deltagrad[ner]'`"
        ) from exc
    from seqeval.metrics.sequence_labeling import (
        accuracy_score,
        get_entities,
        precision_recall_fscore_support,
    )

    gold = [list(sentence) for sentence in gold]
    pred = [list(sentence) for sentence in pred]
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for number, (gold_tags, pred_tags) in enumerate(zip(gold, pred, strict=True), start=1):
        if len(gold_tags) != len(pred_tags):
            raise ValueError(
                f"sentence {number}: {len(gold_tags)} gold tags but {len(pred_tags)} predicted"
            )

    gold_entities = get_entities(gold)
    pred_entities = get_entities(pred)
    types = sorted(
        {entity[0] for entity in gold_entities} | {entity[0] for entity in pred_entities}
    )
    precision, recall, f1, _ = precision_recall_fscore_support(
        gold, pred, average="micro", zero_division=0
    )
    per_type: dict[str, dict[str, float | int]] = {}
    if types:
        type_precision, type_recall, type_f1, type_support = precision_recall_fscore_support(
            gold, pred, average=None, zero_division=0
        )
        for index, name in enumerate(types):
            per_type[name] = {
                "precision": float(type_precision[index]),
                "recall": float(type_recall[index]),
                "f1": float(type_f1[index]),
                "support": int(type_support[index]),
            }
    n_tokens = sum(len(sentence) for sentence in gold)
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "accuracy": float(accuracy_score(gold, pred)) if n_tokens else 0.0,
        "support": len(gold_entities),
        "predicted": len(pred_entities),
        "per_type": per_type,
    }
