"""Ablations: word vectors, character and document features, scored on dev and held-out data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import Sentence, load_sentences
from deltagrad.ner.metrics import entity_scores
from deltagrad.ner.predict import decode, log_probabilities, transitions_of
from deltagrad.ner.training import train
from deltagrad.ner.unseen_map import unmap_unseen
from deltagrad.ner.vectors import load_vectors

__all__ = ["VARIANTS", "compare", "split_documents", "unseen_word_scores"]

VARIANTS = {
    "random": {"vectors": "none", "embeddings": "finetune"},
    "glove-frozen": {"embeddings": "frozen"},
    "glove-finetuned": {"embeddings": "finetune"},
    # The given settings (the defaults: ``deltagrad ner train``) with the features set.
    "chars+document": {"chars": "ngrams", "document": "context"},
    "chars-only": {"chars": "ngrams", "document": "none"},
    "document-only": {"chars": "none", "document": "context"},
    "no-chars-no-document": {"chars": "none", "document": "none"},
    "no-chars": {"chars": "none"},
    "chars-ngrams": {"chars": "ngrams"},
    "chars-cnn": {"chars": "cnn"},
    "gazetteer-only": {"gazetteer": "train", "topic": "none"},
    "topic-only": {"gazetteer": "none", "topic": "sentence+document"},
    "gazetteer+topic": {"gazetteer": "train", "topic": "sentence+document"},
    "no-gazetteer-no-topic": {"gazetteer": "none", "topic": "none"},
    "one-model": {"ensemble": 1},
    "ensemble-of-2": {"ensemble": 2},
    "ensemble-of-3": {"ensemble": 3},
    # Two stages: stage 2 also sees stage 1's predictions of each word's other mentions in its
    # document (history.py); its stage 1 is scored too, as "<name>/stage1".
    "history": {"history": "predictions"},
    "history-one-model": {"history": "predictions", "ensemble": 1},
    "history-6-epoch-folds": {"history": "predictions", "ensemble": 1, "history_epochs": 6},
    # Words unseen in training mapped to the fine-tuned space (unseen_map.py); the same model
    # with the unseen rows back at GloVe is scored too, as "<name>/unmapped" (its training is
    # the same: no training window reads an unseen row).
    "map-unseen": {"unseen_map": "linear"},
    # Partial fine-tuning: pretrained vectors of words seen fewer than 2 / 5 times stay frozen.
    "freeze-rare-2": {"freeze_rare": 2},
    "freeze-rare-5": {"freeze_rare": 5},
}


def split_documents(sentences: list[Sentence], fraction: float
                    ) -> tuple[list[Sentence], list[Sentence]]:
    """The sentences of the first documents, and those of the last ``fraction`` of documents.

    Held-out documents are whole (document features never see across the split) and come last
    in the file: for CoNLL-2003, the latest news of the training period.
    """
    if not 0 <= fraction < 1:
        raise ValueError("held-out fraction must be in [0, 1)")
    documents = sorted({s.document for s in sentences})
    held = set(documents[len(documents) - round(len(documents) * fraction):]) if fraction else set()
    return ([s for s in sentences if s.document not in held],
            [s for s in sentences if s.document in held])


def unseen_word_scores(gold: list[list[str]], pred: list[list[str]],
                       sentences: list[Sentence], train_words: set[str]) -> dict:
    """Entity P/R/F1 restricted to entities with a word never seen in training.

    An entity (gold or predicted) counts when at least one of its tokens' words (lowercased)
    does not occur in the training data: exactly the words a model must recognise from its
    vectors alone. Spans come from seqeval's conlleval-style entity extraction.
    """
    from seqeval.metrics.sequence_labeling import get_entities

    def spans(tag_lists):
        out = set()
        for number, (tags, sentence) in enumerate(zip(tag_lists, sentences, strict=True)):
            for kind, start, end in get_entities(list(tags)):
                words = sentence.words[start:end + 1]
                if any(w.lower() not in train_words for w in words):
                    out.add((number, kind, start, end))
        return out

    gold_spans, pred_spans = spans(gold), spans(pred)
    correct = len(gold_spans & pred_spans)
    # A predicted entity over unseen words that matches a gold one is in both sets; a predicted
    # one that misses is wrong whatever the gold says.
    precision = correct / len(pred_spans) if pred_spans else 0.0
    recall = correct / len(gold_spans) if gold_spans else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": len(gold_spans)}


def compare(config: TrainConfig, out: Path, *, train_fraction: float = 1.0,
            holdout: float = 0.1, variants: list[str] | None = None, progress: bool = True,
            log=print) -> dict:
    """Train variants of ``config`` with the same data; write results.md, .json and a plot.

    Args:
        config: the settings every variant starts from.
        out: a directory for the results and each variant's model.
        train_fraction: train on the first fraction of the (non-held-out) training sentences.
        holdout: the fraction of the training documents (the last ones) kept out of training
            and scored, as data that chose nothing (0: none).
        variants: names from ``VARIANTS`` (default: all of them); a variant whose settings
            equal an earlier one's is not trained again.
        progress, log: as for ``train``.

    Returns:
        Per variant: dev F1, dev and held-out scores overall and on entities with a word unseen
        in training, the selection score, best epoch, seconds and the dev F1 per epoch.
    """
    if not 0 < train_fraction <= 1:
        raise ValueError("train fraction must be in (0, 1]")
    variants = list(VARIANTS) if variants is None else variants
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}: choose from {', '.join(VARIANTS)}")
    out.mkdir(parents=True, exist_ok=True)
    train_sentences, held_out = split_documents(load_sentences(config.train, "train"), holdout)
    train_sentences = train_sentences[:max(1, int(len(train_sentences) * train_fraction))]
    dev_sentences = load_sentences(config.dev, "dev")
    runs = {}
    for name in variants:
        run = dataclasses.replace(config, out=str(out / name), **VARIANTS[name])
        twin = next((other for other, done in runs.items()
                     if dataclasses.replace(done, out="") == dataclasses.replace(run, out="")),
                    None)
        if twin is not None:  # e.g. "document-only" when the settings have no character features
            log(f"{name} has the same settings as {twin}: not trained twice")
            continue
        runs[name] = run
    specs = {run.vectors for run in runs.values()} - {"none"}
    vectors = {spec: load_vectors(spec) for spec in specs}  # each file read once
    train_words = {w.lower() for s in train_sentences for w in s.words}
    results = {}
    for name in runs:
        log(f"== {name} ==")
        run = runs[name]
        result = train(run, progress=progress, log=log, train_sentences=train_sentences,
                       dev_sentences=dev_sentences, vectors=vectors.get(run.vectors))
        stages = [(name, result)]
        if result.stage1 is not None:
            stages.insert(0, (f"{name}/stage1", result.stage1))
        for row, staged in stages:
            results[row] = _summary(staged, dev_sentences, held_out, train_words)
        if run.unseen_map != "none" and run.vectors != "none" and run.embeddings == "finetune":
            # The same weights with the unseen words back at GloVe: the model without the map
            # (the training is the same), paired with it.
            unmap_unseen(result.model, result.features.vocab, vectors[run.vectors],
                         train_sentences)
            results[f"{name}/unmapped"] = _summary(result, dev_sentences, held_out, train_words,
                                                   rescore_dev=True)
    table = _table(results, len(train_sentences), train_fraction, len(held_out))
    (out / "results.md").write_text(table)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    _plot(results, out / "learning_curve.png")
    log(table)
    return results


def _summary(result, dev_sentences, held_out, train_words, rescore_dev: bool = False) -> dict:
    """A trained variant's row: dev and held-out scores, overall and on unseen words, and G.

    ``rescore_dev``: the dev F1 of the model as it is now, not of the epoch training chose.
    """
    dev = _scores(result, dev_sentences, train_words)
    held = _scores(result, held_out, train_words) if held_out else None
    return {
        "dev_f1": dev["f1"] if rescore_dev else result.dev_scores[result.decode]["f1"],
        "unseen": dev["unseen"],
        "held_out": held,
        "selection": (held["f1"] + dev["unseen"]["f1"]) / 2 if held else None,
        "decode": result.decode,
        "best_epoch": result.best_epoch,
        "seconds": result.seconds,
        "curve": [h.dev[max(h.dev, key=lambda m: h.dev[m]["f1"])]["f1"]
                  for h in result.history],
    }


def _scores(result, sentences: list[Sentence], train_words: set[str]) -> dict:
    """F1 of the trained model's own decoder on ``sentences``, overall and on unseen words."""
    features = result.features
    data = features.encode(sentences)
    pred = decode(log_probabilities(result.model, data), data.sentence_lengths,
                  features.tagset, result.decode, transitions_of(result.model))
    gold = [s.tags for s in sentences]
    return {"f1": entity_scores(gold, pred)["f1"],
            "unseen": unseen_word_scores(gold, pred, sentences, train_words)}


def _table(results: dict, n_train: int, fraction: float, n_held: int) -> str:
    lines = [f"Training sentences: {n_train:,} ({fraction:.0%} of the training split less "
             f"{n_held:,} held-out sentences: its last documents).", "",
             "| variant | dev F1 | dev F1, entities with a word unseen in training (support) "
             "| held-out F1 | held-out F1, unseen-word entities | selection score | best epoch "
             "| seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        u, h = r["unseen"], r["held_out"]
        held = (f"{h['f1']:.4f} | {h['unseen']['f1']:.4f} ({h['unseen']['support']}) | "
                f"{r['selection']:.4f}" if h else "- | - | -")
        lines.append(f"| {name} | {r['dev_f1']:.4f} | {u['f1']:.4f} ({u['support']}) | {held} | "
                     f"{r['best_epoch']} | {r['seconds']:.0f} |")
    lines += ["", "Selection score: the mean of the held-out F1 and the dev F1 on entities with "
              "a word unseen in training (the criterion that chose the default)."]
    return "\n".join(lines) + "\n"


def _plot(results: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, r in results.items():
        axes.plot(range(1, len(r["curve"]) + 1), r["curve"], marker="o", label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("dev entity F1")
    axes.set_title("Window NER variants")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
