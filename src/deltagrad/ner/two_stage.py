"""Training a two-stage tagger: stage 1, its jackknifed predictions, then stage 2.

Stage 1 is the config without prediction history, trained as usual into ``out/stage1``. Its
predictions on the training data would be nearly always right (it learned those sentences),
so the training tokens' history comes instead from ``history_folds`` models, each trained for
``history_epochs`` epochs on the documents outside one fold and tagging that fold. Stage 2 is
the whole config, whose features run stage 1 on any other text (dev, held-out, new documents).

Every part survives an interruption: stage 1 resumes from its checkpoint or is read back when
complete, the fold models' tags are written to ``out/history_tags.json`` once all are done
(each fold model resumes from its own checkpoint in ``out/folds/K`` until then), and stage 2
resumes from its own checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from itertools import chain
from pathlib import Path

from deltagrad.ner.checkpoint import CHECKPOINT_FILE
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_sentences
from deltagrad.ner.features import Stage1
from deltagrad.ner.model_dir import CONFIG_FILE, STAGE1_DIR, load_model
from deltagrad.ner.vectors import load_vectors
from deltagrad.serialization import write_atomically

__all__ = ["TAGS_FILE", "stage1_config", "train_two_stage"]

TAGS_FILE = "history_tags.json"
FOLDS_DIR = "folds"  # the fold models, while they train


def stage1_config(config: TrainConfig) -> TrainConfig:
    """Stage 1's settings: the same without prediction history, in ``out/stage1``."""
    return dataclasses.replace(config, history="none", out=str(Path(config.out) / STAGE1_DIR))


def train_two_stage(config: TrainConfig, *, progress: bool = True,
                    log: Callable[[str], None] = print, save: bool = True, train_sentences=None,
                    dev_sentences=None, vectors=None, resume: bool = False,
                    stop_after_steps: int | None = None):
    """Train stage 1, the fold models, and stage 2; save stage 2 with stage 1 inside it.

    Arguments as for :func:`deltagrad.ner.training.train` (which calls this when
    ``config.history`` is set).

    Returns:
        Stage 2's ``TrainResult``, with stage 1's as its ``stage1``.
    """
    from deltagrad.ner.training import train

    start_time = time.perf_counter()
    out = Path(config.out)
    train_sentences = train_sentences or load_sentences(config.train, "train")
    dev_sentences = dev_sentences or load_sentences(config.dev, "dev")
    if vectors is None and config.vectors != "none":
        vectors = load_vectors(config.vectors)
    common = {"progress": progress, "train_sentences": train_sentences,
              "dev_sentences": dev_sentences, "vectors": vectors,
              "stop_after_steps": stop_after_steps}

    # Stage 1: today's model, on all the training data.
    first = stage1_config(config)
    first_result = None
    if resume and save and (Path(first.out) / CONFIG_FILE).is_file():
        loaded = load_model(first.out)
        stage1 = Stage1(loaded.model, loaded.features, loaded.decode)
        log(f"stage 1: finished earlier, read from {first.out}")
    else:
        first_result = train(first, log=lambda line: log(f"stage 1: {line}"), save=save,
                             resume=resume and (Path(first.out) / CHECKPOINT_FILE).is_file(),
                             **common)
        stage1 = Stage1(first_result.model, first_result.features, first_result.decode)

    # The training tokens' stage-1 tags, each from a model that did not see its document.
    tags_path = out / TAGS_FILE
    history_tags = None
    if resume and tags_path.is_file():
        history_tags = json.loads(tags_path.read_text(encoding="utf-8"))
        if len(history_tags) != sum(len(s.words) for s in train_sentences):
            history_tags = None  # another training set's
    if history_tags is None:
        history_tags = _jackknifed_tags(config, first, train_sentences, log, common,
                                        save=save, resume=resume)
        if save:
            out.mkdir(parents=True, exist_ok=True)
            write_atomically(tags_path, json.dumps(history_tags).encode("utf-8"))
            shutil.rmtree(out / FOLDS_DIR, ignore_errors=True)  # their tags are all we keep

    # Stage 2: the whole config, its history features from stage 1.
    result = train(config, log=lambda line: log(f"stage 2: {line}"), save=save,
                   resume=resume and (out / CHECKPOINT_FILE).is_file(), stage1=stage1,
                   history_tags=history_tags, **common)
    result.stage1 = first_result
    result.seconds = time.perf_counter() - start_time
    if save:
        tags_path.unlink(missing_ok=True)  # complete: only an interrupted run needs them
    log(f"two stages: dev F1 {result.dev_scores[result.decode]['f1']:.4f}; "
        f"{result.seconds:.0f}s in all")
    return result


def _jackknifed_tags(config: TrainConfig, first: TrainConfig, train_sentences, log,
                     common: dict, save: bool = False, resume: bool = False) -> list[str]:
    """Every training token's tag from the fold model that did not train on its document.

    Saving, fold ``k``'s model is checkpointed (and saved) in ``out/folds/k`` like any run, so
    that an interruption resumes it.
    """
    from deltagrad.ner.training import train

    folds = config.history_folds
    tags_of: dict[int, list[str]] = {}
    for fold in range(folds):
        inside = [i for i, s in enumerate(train_sentences) if s.document % folds == fold]
        outside = [s for s in train_sentences if s.document % folds != fold]
        if not inside:
            continue
        if not outside:
            raise ValueError(f"prediction history: all training documents fall in fold {fold}; "
                             f"{folds} folds need documents in at least two")
        fold_config = dataclasses.replace(first, epochs=config.history_epochs, ensemble=1,
                                          out=str(Path(config.out) / FOLDS_DIR / str(fold)))
        fold_out = Path(fold_config.out)
        if save and resume and (fold_out / CONFIG_FILE).is_file():
            loaded = load_model(fold_out)
            stage = Stage1(loaded.model, loaded.features, loaded.decode)
        else:
            result = train(fold_config, save=save,
                           log=lambda line, f=fold: log(f"fold {f + 1}/{folds}: {line}"),
                           resume=save and resume and (fold_out / CHECKPOINT_FILE).is_file(),
                           **{**common, "train_sentences": outside})
            stage = Stage1(result.model, result.features, result.decode)
        tagged = stage.tag([train_sentences[i].words for i in inside],
                           [train_sentences[i].document for i in inside])
        position = 0
        for i in inside:
            length = len(train_sentences[i].words)
            tags_of[i] = tagged[position:position + length]
            position += length
    return list(chain.from_iterable(tags_of[i] for i in range(len(train_sentences))))
