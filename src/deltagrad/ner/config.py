"""A training run's settings: one dataclass, checked, saved with every checkpoint and model."""

from __future__ import annotations

import math
from dataclasses import dataclass

from deltagrad.ner.model import ACTIVATIONS

__all__ = ["MAX_ENSEMBLE", "OPTIMIZERS", "SCHEDULES", "TOPICS", "TrainConfig"]

OPTIMIZERS = ("adam", "adamw", "sgd", "adagrad", "rmsprop")
SCHEDULES = ("none", "cosine", "step", "warmup-cosine")
TOPICS = ("none", "sentence", "document", "sentence+document")
MAX_ENSEMBLE = 16


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved as the model's config.json."""

    train: str | None = None  # a CoNLL file; None: the embedded CoNLL-2003 train split
    dev: str | None = None  # None: the embedded dev split
    vectors: str = "glove-50d"  # "glove-50d", a GloVe text file, or "none"
    embeddings: str = "finetune"  # "finetune" or "frozen" (pretrained vectors only)
    word_lr_scale: float = 1.0  # fine-tuned word vectors learn at this times the learning rate
    # "linear": words unseen in training get their GloVe vector through the linear map that
    # takes the seen words' GloVe vectors to their fine-tuned ones (unseen_map.py).
    unseen_map: str = "none"
    unseen_map_ridge: float = 0.0  # pulls that map towards the identity (0: least squares)
    # Pretrained vectors of words seen fewer than this many times in training stay frozen
    # (0: every row fine-tuned); rows without a pretrained vector always learn.
    freeze_rare: int = 0
    window: int = 2
    word_dim: int = 50  # only used with --vectors none; else the vectors' width
    casing_dim: int = 8
    suffix_dim: int = 16
    # "ngrams": each position's spelling as hashed character n-grams; "cnn": a character CNN
    chars: str = "none"
    char_dim: int = 32  # the spelling vectors' width (n-gram vectors, or the CNN's filters)
    char_embedding: int = 16  # character vectors of the CNN
    char_kernel: int = 3  # characters each CNN filter sees
    char_length: int = 20  # characters of a word the CNN reads (its first and last ones)
    char_window: int = 2  # positions each side of the centre whose spelling is an input
    char_buckets: int = 1 << 17  # rows of the hashed n-gram table
    document: str = "context"  # the words around a word's other mentions in its document; "none"
    # The mean word vectors of each token's sentence and document: held-out criterion G 0.8862
    # against 0.8819 without them (3 seeds; README). The gazetteer (the training split's
    # entities, jackknifed over documents) adds 0.0025 on top, under the rule's 0.003: off.
    gazetteer: str = "none"  # or "train"
    topic: str = "sentence+document"  # or "none", "sentence", "document"
    hidden: int = 300
    activation: str = "relu"
    dropout: float = 0.5
    word_dropout: float = 0.1  # train-time chance to replace a rare word without a vector by <unk>
    optimizer: str = "adam"
    lr: float = 3e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    clip: float = 5.0
    # 256 tokens a batch, lr 3e-3, 6 epochs: the held-out criterion G (README) as high as 128,
    # 2e-3 and 8 epochs (0.8819 against 0.8803, mean of 3 seeds), in 55% of the steps.
    batch_size: int = 256
    epochs: int = 6
    patience: int = 4  # early stopping: epochs without dev F1 improvement
    seed: int = 0
    out: str = "runs/ner"
    decode: str = "auto"  # "auto" (the better on dev), "viterbi" or "argmax"
    checkpoint_every: int = 0  # also checkpoint every N steps (0: only after each epoch)
    loss: str = "crf"  # "crf" (sentence-level, linear-chain CRF) or "softmax" (per token)
    # Members trained alone from seeds seed, seed + 1, ...; their scores are averaged. Two
    # members: held-out criterion G 0.8898 against 0.8862 for one (3 seeds; README), and they
    # train side by side, one process each, on two cores.
    ensemble: int = 2
    # "predictions": a second stage that also sees stage 1's predicted types of the other
    # mentions of each word in its document (history.py); stage 1's predictions on the training
    # data come from models trained on the other ``history_folds`` - 1 folds of documents for
    # ``history_epochs`` epochs. Off: held-out criterion G 0.8858 (6-epoch folds: 0.8866)
    # against 0.8854 for stage 1 alone (one model, 3 seeds; README), under the rule's 0.003,
    # for 2.35 (2.7) times the training.
    history: str = "none"
    history_folds: int = 2
    history_epochs: int = 4

    def validate(self) -> None:
        """Check every setting.

        Raises:
            ValueError: a setting of the wrong type or out of range (the message names it).
        """
        # Types first: a config.json can hold anything, and "8" > 0 or [] in a dict would raise
        # TypeError, 1.5 would pass as a window and 8.5 as a layer width.
        for name in _INT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        for name in _NUMBER_FIELDS:  # inf passes "> 0" and trains to NaN
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name.replace('_', ' ')} must be a finite number, got {value}")
        for name in _STRING_FIELDS:
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {getattr(self, name)!r}")
        checks = [
            (self.embeddings in ("finetune", "frozen"), "embeddings must be finetune or frozen"),
            (self.activation in ACTIVATIONS, f"activation must be one of {sorted(ACTIVATIONS)}"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (self.decode in ("auto", "viterbi", "argmax"),
             "decode must be auto, viterbi or argmax"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (0 <= self.word_dropout < 1, "word dropout must be in [0, 1)"),
            (self.window >= 0, "window must be >= 0"),
            (self.hidden > 0 and self.batch_size > 0 and self.epochs > 0,
             "hidden, batch size and epochs must be positive"),
            (self.lr > 0, "lr must be positive"),
            (self.word_lr_scale >= 0, "word lr scale must be >= 0"),
            (self.unseen_map in ("none", "linear"), "unseen map must be none or linear"),
            (self.unseen_map_ridge >= 0, "unseen map ridge must be >= 0"),
            (self.freeze_rare >= 0, "freeze rare must be >= 0"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (1 <= self.ensemble <= MAX_ENSEMBLE, f"ensemble must be in 1..{MAX_ENSEMBLE}"),
            (self.loss in ("softmax", "crf"), "loss must be softmax or crf"),
            (self.word_dim > 0 and self.casing_dim >= 0 and self.suffix_dim >= 0
             and self.char_dim >= 0, "embedding widths must be >= 0 (word width > 0)"),
            (self.chars in ("none", "ngrams", "cnn"), "chars must be none, ngrams or cnn"),
            (self.char_embedding > 0 and self.char_length > 0,
             "char embedding and char length must be positive"),
            (self.char_kernel > 0 and self.char_kernel % 2 == 1,
             "char kernel must be odd and positive"),
            (self.char_buckets >= 2, "char buckets must be >= 2"),
            (self.char_window >= 0, "char window must be >= 0"),
            (self.document in ("none", "context"), "document must be none or context"),
            (self.gazetteer in ("none", "train"), "gazetteer must be none or train"),
            (self.topic in TOPICS, f"topic must be one of {', '.join(TOPICS)}"),
            (self.history in ("none", "predictions"), "history must be none or predictions"),
            (self.history_folds >= 2 and self.history_epochs > 0,
             "history folds must be >= 2 and history epochs positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


_INT_FIELDS = ("window", "word_dim", "casing_dim", "suffix_dim", "char_dim", "char_buckets",
               "char_window", "char_embedding", "char_kernel", "char_length", "hidden",
               "batch_size", "epochs", "patience", "seed", "checkpoint_every", "ensemble",
               "history_folds", "history_epochs", "freeze_rare")
_NUMBER_FIELDS = ("dropout", "word_dropout", "lr", "weight_decay", "clip", "word_lr_scale",
                  "unseen_map_ridge")
_STRING_FIELDS = ("vectors", "embeddings", "activation", "optimizer", "schedule", "decode", "loss",
                  "chars", "document", "gazetteer", "topic", "history", "unseen_map")
