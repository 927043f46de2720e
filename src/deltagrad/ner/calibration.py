"""Are the entity confidences calibrated? A reliability table over a tagged (dev) set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deltagrad.ner.conll import Sentence
from deltagrad.ner.model_dir import LoadedModel
from deltagrad.ner.predict import Document, entity_spans, iter_tagged

__all__ = ["format_reliability", "reliability"]


def reliability(loaded: LoadedModel, sentences: Sequence[Sentence], bins: int = 5) -> dict:
    """How often a predicted entity is right, against the confidence it was given.

    Each predicted entity is right when a gold entity has the same boundaries and type
    (conlleval's rule). Entities are grouped by confidence into ``bins`` equal-width bins; a
    calibrated model's entities of confidence about p are right about a fraction p of the
    time.

    Args:
        loaded: the model.
        sentences: tagged sentences (each tagged as one document).
        bins: the number of confidence bins over [0, 1].

    Returns:
        ``{"rows": [{"low", "high", "entities", "confidence", "precision"}...],
        "entities": n, "ece": e}``: per bin the mean confidence and the fraction right (None
        for an empty bin), and the expected calibration error, the entity-weighted mean of
        ``|confidence - precision|`` over the bins.
    """
    confidences, right = [], []
    documents = (Document.from_tokens(s.words, s.tags) for s in sentences)
    for document, tagged in iter_tagged(loaded, documents):
        gold = set(entity_spans(document.gold))
        for entity in tagged.entities:
            confidences.append(entity["confidence"])
            right.append((entity["start"], entity["end"], entity["type"]) in gold)
    confidences, right = np.asarray(confidences, dtype=np.float64), np.asarray(right)
    which = np.minimum((confidences * bins).astype(np.int64), bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        chosen = which == b
        n = int(chosen.sum())
        row = {"low": b / bins, "high": (b + 1) / bins, "entities": n,
               "confidence": None, "precision": None}
        if n:
            row["confidence"] = float(confidences[chosen].mean())
            row["precision"] = float(right[chosen].mean())
            ece += n / len(confidences) * abs(row["confidence"] - row["precision"])
        rows.append(row)
    return {"rows": rows, "entities": int(len(confidences)), "ece": ece}


def format_reliability(table: dict) -> str:
    """The reliability table as Markdown (the README's)."""
    lines = ["| confidence | entities | mean confidence | fraction right |",
             "| --- | --- | --- | --- |"]
    for row in table["rows"]:
        mean = "" if row["confidence"] is None else f"{row['confidence']:.3f}"
        right = "" if row["precision"] is None else f"{row['precision']:.3f}"
        lines.append(f"| {row['low']:.1f}–{row['high']:.1f} | {row['entities']:,} | {mean} | "
                     f"{right} |")
    lines.append(f"\n{table['entities']:,} predicted entities; expected calibration error "
                 f"{table['ece']:.3f}.")
    return "\n".join(lines)
