"""What a TrainConfig builds: the window tagger, its optimizer and its learning-rate schedule."""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad.ner.char_cnn import CharCNN
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.features import Features
from deltagrad.ner.model import WindowTagger, input_width
from deltagrad.ner.vocab import NUM_CASINGS

__all__ = ["char_dim", "features_kwargs", "make_model", "make_optimizer", "make_schedule",
           "model_input_width"]


def make_model(config: TrainConfig, features: Features, word_vectors: np.ndarray,
               generator: dg.Generator) -> WindowTagger:
    """The model a config describes.

    Args:
        config: the run's settings.
        features: the vocabularies and tag set (their sizes set the tables' sizes).
        word_vectors: float32 ``[V, d]`` initial word vectors.
        generator: draws the initial weights.
    """
    model = WindowTagger(
        vocab_size=len(features.vocab), word_dim=word_vectors.shape[1], n_casings=NUM_CASINGS,
        casing_dim=config.casing_dim, n_suffixes=len(features.suffixes),
        suffix_dim=config.suffix_dim, window=config.window, hidden=config.hidden,
        n_tags=len(features.tagset), activation=config.activation, dropout=config.dropout,
        word_vectors=word_vectors,
        freeze_words=config.embeddings == "frozen" and config.vectors != "none",
        crf=config.loss == "crf", char_buckets=config.char_buckets, char_dim=char_dim(config),
        char_window=config.char_window, document=config.document == "context",
        gazetteer_width=features.gazetteer_width, topic_bags=features.topic_bags,
        char_embedding=config.char_embedding if config.chars == "cnn" else 0,
        char_kernel=config.char_kernel, history_width=features.history_width,
        generator=generator)
    if config.optimizer == "rmsprop":  # RMSprop's running averages move every row: no sparse
        for table in _embedding_tables(model):
            table.sparse = False
    return model


def char_dim(config: TrainConfig) -> int:
    """The width of the spelling vectors (0 without character features)."""
    return config.char_dim if config.chars in ("ngrams", "cnn") else 0


def model_input_width(config: TrainConfig, features: Features, word_dim: int) -> int:
    """The width of the hidden layer's input for this config, features and word vector width."""
    return input_width(window=config.window, word_dim=word_dim, casing_dim=config.casing_dim,
                       suffix_dim=config.suffix_dim, char_dim=char_dim(config),
                       char_window=config.char_window, document=config.document == "context",
                       gazetteer_width=features.gazetteer_width,
                       topic_bags=features.topic_bags, history_width=features.history_width)


def features_kwargs(config: TrainConfig) -> dict:
    """What ``Features`` takes from the config beyond the vocabularies."""
    spelling = config.chars if char_dim(config) else "none"
    return {"char_buckets": config.char_buckets if spelling == "ngrams" else 0,
            "document": config.document == "context", "char_window": config.char_window,
            "topic": config.topic, "char_length": config.char_length if spelling == "cnn" else 0,
            "history": config.history != "none"}


def _embedding_tables(model: WindowTagger) -> list:
    chars = model.chars.embedding if isinstance(model.chars, CharCNN) else model.chars
    return [table for table in (model.words, model.casing, model.suffixes, chars)
            if table is not None]


def make_optimizer(config: TrainConfig, model: WindowTagger) -> dg.optim.Optimizer:
    """The config's optimizer over the model's trainable parameters.

    The word vectors learn at ``word_lr_scale`` times the learning rate (their own group).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    words = model.words.weight
    scaled = words.requires_grad and config.word_lr_scale != 1.0
    groups = [{"params": [p for p in params if not (scaled and p is words)]}]
    if config.optimizer == "adamw":
        # Sparse (embedding) gradients take no decoupled weight decay, as in PyTorch's SparseAdam:
        # the embeddings get their own group with weight_decay=0.
        sparse = {id(table.weight) for table in _embedding_tables(model) if table.sparse}
        groups = [{"params": [p for p in groups[0]["params"] if id(p) not in sparse]},
                  {"params": [p for p in groups[0]["params"] if id(p) in sparse],
                   "weight_decay": 0.0}]
    if scaled:
        groups.append({"params": [words], "lr": config.lr * config.word_lr_scale,
                       "weight_decay": 0.0})
    groups = [group for group in groups if group["params"]]
    if config.optimizer == "adam":
        return dg.optim.Adam(groups, lr=config.lr, weight_decay=0.0)
    if config.optimizer == "adamw":
        return dg.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return dg.optim.SGD(groups, lr=config.lr)
    if config.optimizer == "adagrad":
        return dg.optim.Adagrad(groups, lr=config.lr)
    return dg.optim.RMSprop(groups, lr=config.lr)


def make_schedule(config: TrainConfig, optimizer, steps_per_epoch: int):
    """The config's learning-rate schedule, stepped once per optimizer step (None: constant)."""
    total = config.epochs * steps_per_epoch
    sched = dg.optim.lr_scheduler
    if config.schedule == "cosine":
        return sched.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "warmup-cosine":
        warm = max(1, steps_per_epoch // 2)
        return sched.SequentialLR(optimizer, [
            sched.LinearLR(optimizer, start_factor=0.1, total_iters=warm),
            sched.CosineAnnealingLR(optimizer, T_max=max(1, total - warm))], milestones=[warm])
    if config.schedule == "step":
        return sched.StepLR(optimizer, step_size=max(1, steps_per_epoch * 4), gamma=0.5)
    return None
