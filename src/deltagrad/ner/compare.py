"""The lecture's comparison: random vs frozen pretrained vs fine-tuned pretrained word vectors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import Sentence, load_sentences
from deltagrad.ner.predict import decode, log_probabilities, transitions_of
from deltagrad.ner.training import train
from deltagrad.ner.vectors import load_vectors

__all__ = ["VARIANTS", "compare", "unseen_word_scores"]

VARIANTS = {
    "random": {"vectors": "none", "embeddings": "finetune"},
    "glove-frozen": {"embeddings": "frozen"},
    "glove-finetuned": {"embeddings": "finetune"},
}


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
            progress: bool = True, log=print) -> dict:
    """Train the three variants with the same settings; write results.md, .json and a plot."""
    if not 0 < train_fraction <= 1:
        raise ValueError("train fraction must be in (0, 1]")
    out.mkdir(parents=True, exist_ok=True)
    train_sentences = load_sentences(config.train, "train")
    train_sentences = train_sentences[:max(1, int(len(train_sentences) * train_fraction))]
    dev_sentences = load_sentences(config.dev, "dev")
    vectors = load_vectors(config.vectors if config.vectors != "none" else "glove-50d")
    train_words = {w.lower() for s in train_sentences for w in s.words}
    results = {}
    for name, changes in VARIANTS.items():
        log(f"== {name} ==")
        run = dataclasses.replace(config, out=str(out / name), **changes)
        result = train(run, progress=progress, log=log, train_sentences=train_sentences,
                       dev_sentences=dev_sentences,
                       vectors=vectors if run.vectors != "none" else None)
        features = result.features
        data = features.encode(dev_sentences)
        pred = decode(log_probabilities(result.model, data), data.sentence_lengths,
                      features.tagset, result.decode, transitions_of(result.model))
        gold = [s.tags for s in dev_sentences]
        results[name] = {
            "dev_f1": result.dev_scores[result.decode]["f1"],
            "unseen": unseen_word_scores(gold, pred, dev_sentences, train_words),
            "decode": result.decode,
            "best_epoch": result.best_epoch,
            "seconds": result.seconds,
            "curve": [h.dev[max(h.dev, key=lambda m: h.dev[m]["f1"])]["f1"]
                      for h in result.history],
        }
    table = _table(results, len(train_sentences), train_fraction)
    (out / "results.md").write_text(table)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    _plot(results, out / "learning_curve.png")
    log(table)
    return results


def _table(results: dict, n_train: int, fraction: float) -> str:
    lines = [f"Training sentences: {n_train:,} ({fraction:.0%} of the training split).", "",
             "| word vectors | dev F1 | dev F1, entities with a word unseen in training "
             "(support) | best epoch | seconds |",
             "| --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        u = r["unseen"]
        lines.append(f"| {name} | {r['dev_f1']:.4f} | {u['f1']:.4f} ({u['support']}) | "
                     f"{r['best_epoch']} | {r['seconds']:.0f} |")
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
    axes.set_title("Window NER: random vs pretrained word vectors")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
