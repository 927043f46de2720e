"""Training, evaluation and prediction of the window tagger; model directories on disk."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import deltagrad as dg
from deltagrad.ner.conll import Sentence, load_default, read_conll
from deltagrad.ner.decode import argmax_decode_batch, viterbi_decode_batch
from deltagrad.ner.features import Features, SuffixVocabulary, Windows
from deltagrad.ner.metrics import entity_scores
from deltagrad.ner.model import ACTIVATIONS, WindowTagger
from deltagrad.ner.vectors import load_vectors
from deltagrad.ner.vocab import NUM_CASINGS, UNK_INDEX, TagSet, Vocabulary
from deltagrad.serialization import write_atomically

__all__ = [
    "MODEL_FORMAT",
    "ModelError",
    "TrainConfig",
    "evaluate",
    "load_model",
    "predict",
    "tokenize",
    "train",
]

MODEL_FORMAT = "deltagrad-ner"
MODEL_VERSION = 1
OPTIMIZERS = ("adam", "adamw", "sgd", "adagrad", "rmsprop")
SCHEDULES = ("none", "cosine", "step", "warmup-cosine")


class ModelError(ValueError):
    """A model directory that cannot be used: missing files, another format or version."""


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved as the model's config.json."""

    train: str | None = None  # a CoNLL file; None: the embedded CoNLL-2003 train split
    dev: str | None = None  # None: the embedded dev split
    vectors: str = "glove-50d"  # "glove-50d", a GloVe text file, or "none"
    embeddings: str = "finetune"  # "finetune" or "frozen" (pretrained vectors only)
    window: int = 2
    word_dim: int = 50  # only used with --vectors none; else the vectors' width
    casing_dim: int = 8
    suffix_dim: int = 16
    hidden: int = 300
    activation: str = "relu"
    dropout: float = 0.5
    word_dropout: float = 0.1  # train-time chance to replace a rare word without a vector by <unk>
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    schedule: str = "cosine"
    clip: float = 5.0
    batch_size: int = 128
    epochs: int = 12
    patience: int = 4  # early stopping: epochs without dev F1 improvement
    seed: int = 0
    out: str = "runs/ner"
    decode: str = "auto"  # "auto" (the better on dev), "viterbi" or "argmax"
    checkpoint_every: int = 0  # also checkpoint every N steps (0: only after each epoch)
    loss: str = "softmax"  # "softmax" (per token) or "crf" (sentence-level, linear-chain CRF)

    def validate(self) -> None:
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
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (self.loss in ("softmax", "crf"), "loss must be softmax or crf"),
            (self.word_dim > 0 and self.casing_dim >= 0 and self.suffix_dim >= 0,
             "embedding widths must be >= 0 (word width > 0)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


_INT_FIELDS = ("window", "word_dim", "casing_dim", "suffix_dim", "hidden", "batch_size", "epochs",
               "patience", "seed", "checkpoint_every")
_NUMBER_FIELDS = ("dropout", "word_dropout", "lr", "weight_decay", "clip")
_STRING_FIELDS = ("vectors", "embeddings", "activation", "optimizer", "schedule", "decode", "loss")


@dataclass
class EpochReport:
    epoch: int
    loss: float
    dev: dict
    seconds: float
    examples_per_second: float
    lr: float


@dataclass
class TrainResult:
    model: WindowTagger
    features: Features
    config: TrainConfig
    history: list = field(default_factory=list)
    best_epoch: int = 0
    dev_scores: dict = field(default_factory=dict)  # {"argmax": {...}, "viterbi": {...}}
    decode: str = "viterbi"
    model_dir: Path | None = None
    seconds: float = 0.0


# ---------------------------------------------------------------------------------- data


def load_sentences(path: str | None, split: str) -> list[Sentence]:
    """A CoNLL file, or the embedded CoNLL-2003 split when ``path`` is None."""
    return load_default(split) if path is None else read_conll(path)


def build_features(train_sentences, vectors, window: int, word_dim: int, rng):
    """Vocabularies, tag set and initial word vectors for a training set.

    Returns:
        ``(features, word_vectors float32 [V, d], has_vector bool [V])``.
    """
    words, matrix = vectors if vectors is not None else (None, None)
    vocab = Vocabulary.build(train_sentences, pretrained_words=words)
    init, _ = vocab.embedding_matrix(words, matrix, None if matrix is not None else word_dim, rng)
    has_vector = np.zeros(len(vocab), dtype=bool)
    if words is not None:
        has_vector[vocab.indices(list(words))] = True
    features = Features(vocab, SuffixVocabulary.build(train_sentences), TagSet.build(
        train_sentences), window)
    return features, init, has_vector


def rare_word_mask(train: Windows, vocab_size: int, has_vector: np.ndarray) -> np.ndarray:
    """bool [V]: words seen once in training and without a pretrained vector.

    Replacing them by ``<unk>`` now and then during training teaches the ``<unk>`` vector what an
    unseen word looks like (without it, ``<unk>`` would never be trained).
    """
    counts = np.bincount(train.words[:, train.words.shape[1] // 2], minlength=vocab_size)
    return (counts == 1) & ~has_vector


# ---------------------------------------------------------------------------------- model


def make_model(config: TrainConfig, features: Features, word_vectors: np.ndarray,
               generator: dg.Generator) -> WindowTagger:
    model = WindowTagger(
        vocab_size=len(features.vocab), word_dim=word_vectors.shape[1], n_casings=NUM_CASINGS,
        casing_dim=config.casing_dim, n_suffixes=len(features.suffixes),
        suffix_dim=config.suffix_dim, window=config.window, hidden=config.hidden,
        n_tags=len(features.tagset), activation=config.activation, dropout=config.dropout,
        word_vectors=word_vectors,
        freeze_words=config.embeddings == "frozen" and config.vectors != "none",
        crf=config.loss == "crf", generator=generator)
    if config.optimizer == "rmsprop":  # RMSprop's running averages move every row: no sparse
        for table in _embedding_tables(model):
            table.sparse = False
    return model


def _embedding_tables(model: WindowTagger) -> list:
    return [table for table in (model.words, model.casing, model.suffixes) if table is not None]


def make_optimizer(config: TrainConfig, model: WindowTagger):
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return dg.optim.Adam(params, lr=config.lr, weight_decay=0.0)
    if config.optimizer == "adamw":
        # Sparse (embedding) gradients take no decoupled weight decay, as in PyTorch's SparseAdam:
        # the embeddings get their own group with weight_decay=0.
        sparse = {id(table.weight) for table in _embedding_tables(model) if table.sparse}
        groups = [{"params": [p for p in params if id(p) not in sparse]},
                  {"params": [p for p in params if id(p) in sparse], "weight_decay": 0.0}]
        return dg.optim.AdamW([group for group in groups if group["params"]], lr=config.lr,
                              weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return dg.optim.SGD(params, lr=config.lr)
    if config.optimizer == "adagrad":
        return dg.optim.Adagrad(params, lr=config.lr)
    return dg.optim.RMSprop(params, lr=config.lr)


def make_schedule(config: TrainConfig, optimizer, steps_per_epoch: int):
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


# ---------------------------------------------------------------------------------- scoring


def log_probabilities(model: WindowTagger, data: Windows, batch_size: int = 8192) -> np.ndarray:
    """float32 [n_tokens, n_tags] per-token tag scores for decoding (eval mode).

    Log-probabilities for a softmax-trained model; the raw emission scores for a CRF, whose
    decoding adds its learned transition scores.
    """
    was_training = model.training
    model.eval()
    out = []
    with dg.no_grad():
        for start in range(0, len(data), batch_size):
            b = data.batch(slice(start, start + batch_size))
            scores = model(dg.from_numpy(b.words), dg.from_numpy(b.casing),
                           dg.from_numpy(b.suffixes))
            out.append(scores.data if model.transitions is not None
                       else scores.log_softmax(dim=1).data)
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def decode(log_probs: np.ndarray, lengths: np.ndarray, tagset: TagSet, method: str,
           transitions: np.ndarray | None = None) -> list:
    """Tags per sentence: BIO-constrained Viterbi (plus CRF transitions) or argmax + repair."""
    if method == "viterbi":
        return viterbi_decode_batch(log_probs, lengths, tagset, transitions)
    return argmax_decode_batch(log_probs, lengths, tagset)


def _transitions(model) -> np.ndarray | None:
    return None if model.transitions is None else model.transitions.data


def score(model, features: Features, sentences: Sequence[Sentence], data: Windows | None = None
          ) -> dict:
    """Entity scores of both decoders: {"argmax": {...}, "viterbi": {...}}."""
    data = data if data is not None else features.encode(sentences)
    log_probs = log_probabilities(model, data)
    gold = [s.tags for s in sentences]
    return {method: entity_scores(gold, decode(log_probs, data.sentence_lengths,
                                               features.tagset, method, _transitions(model)))
            for method in ("argmax", "viterbi")}


# ---------------------------------------------------------------------------------- training


def train(config: TrainConfig, *, progress: bool = True, log: Callable[[str], None] = print,
          save: bool = True, train_sentences=None, dev_sentences=None, vectors=None,
          resume: bool = False, stop_after_steps: int | None = None,
          distributed: bool = False, collective_timeout: float = 120.0) -> TrainResult:
    """Train the window tagger, keep the best epoch by dev F1, and save it to ``config.out``.

    The whole training state (weights, optimizer and schedule state, random generators, the
    epoch's example order and position, the best weights so far) is checkpointed atomically to
    ``config.out/checkpoint.safetensors`` after every epoch and every
    ``config.checkpoint_every`` steps; ``resume=True`` continues from it, and the run then ends
    with exactly the weights an uninterrupted run would have. A completed run removes it.

    Args:
        config: the run's settings.
        progress: show a tqdm progress bar per epoch.
        log: where the per-epoch lines go.
        save: write the model directory (and checkpoints).
        train_sentences, dev_sentences: already loaded data (else read from the config).
        vectors: already loaded ``(words, matrix)`` (else read from ``config.vectors``).
        resume: continue from the checkpoint in ``config.out``.
        stop_after_steps: stop (as if killed) after this many optimizer steps; for tests.
        distributed: train data-parallel over MPI (run under ``mpiexec``); each rank takes its
            shard of every global batch and the gradients are averaged before each step. Only
            rank 0 logs and writes files. See docs/distributed.md.
        collective_timeout: seconds an MPI collective may wait for the other ranks.

    Returns:
        A TrainResult with the best model, its dev scores and the epoch history.
    """
    config.validate()
    start_time = time.perf_counter()
    context = None
    if distributed:
        from deltagrad import distributed as mpi  # MPI only when asked for

        context = mpi.init(timeout=collective_timeout)
        if not context.is_main:
            log, progress = _quiet, False
    dg.manual_seed(config.seed)  # dropout masks draw from the default generator
    generator = dg.Generator(config.seed)
    rng = np.random.default_rng(config.seed)
    train_sentences = train_sentences or load_sentences(config.train, "train")
    dev_sentences = dev_sentences or load_sentences(config.dev, "dev")
    if vectors is None and config.vectors != "none":
        vectors = load_vectors(config.vectors)
    features, word_vectors, has_vector = build_features(
        train_sentences, vectors if config.vectors != "none" else None, config.window,
        config.word_dim, rng)
    train_data = features.encode(train_sentences)
    dev_data = features.encode(dev_sentences)
    rare = rare_word_mask(train_data, len(features.vocab), has_vector)

    model = make_model(config, features, word_vectors, generator)
    optimizer = make_optimizer(config, model)
    batches = _Batches(train_data, config)
    schedule = make_schedule(config, optimizer, batches.per_epoch)
    log(f"train {len(train_sentences):,} sentences / {len(train_data):,} tokens, dev "
        f"{len(dev_sentences):,} / {len(dev_data):,}; vocabulary {len(features.vocab):,} "
        f"({int(has_vector.sum()):,} pretrained); {sum(p.numel() for p in model.parameters()):,} "
        "parameters")

    run = _Run(config, model, optimizer, schedule, rng)
    checkpoint_path = Path(config.out) / CHECKPOINT_FILE
    if resume:
        run.restore(checkpoint_path)  # every rank reads it (a file system they share)
        log(f"resumed from {checkpoint_path}: epoch {run.epoch}, step {run.step}")
    dp = None
    if context is not None:
        # After any restore: rank 0's (restored) weights and optimizer state go to every rank.
        dp = mpi.setup_data_parallel(model, optimizer, num_examples=batches.units,
                                     batch_size=batches.size, seed=config.seed,
                                     context=context)
        log(f"data-parallel over {dp.world_size} MPI processes")
    writes = save and (dp is None or dp.is_main)
    result = TrainResult(model, features, config)
    steps_left = stop_after_steps
    while run.epoch <= config.epochs and not run.stopped:
        epoch_start = time.perf_counter()
        done = _train_epoch(run, batches, rare, progress, checkpoint_path if writes else None,
                            steps_left, dp)
        if not done:
            raise TrainingInterrupted(f"stopped after {stop_after_steps} steps (as asked)")
        if steps_left is not None:
            steps_left -= run.steps_this_call
        seconds = time.perf_counter() - epoch_start
        _sync_loss(run, dp)
        dev = score(model, features, dev_sentences, dev_data)  # same weights: same on all ranks
        best_method = max(dev, key=lambda m: dev[m]["f1"])
        loss = run.loss_total / max(run.loss_count, 1)
        report = EpochReport(run.epoch, loss, dev, seconds, len(train_data) / seconds,
                             optimizer.param_groups[0]["lr"])
        run.history.append(dataclasses.asdict(report))
        best = dev[best_method]
        log(f"epoch {run.epoch:2d}/{config.epochs}  loss {loss:.4f}  dev P "
            f"{best['precision']:.4f} R {best['recall']:.4f} F1 {best['f1']:.4f} ({best_method};"
            f" argmax {dev['argmax']['f1']:.4f}, viterbi {dev['viterbi']['f1']:.4f})  "
            f"{seconds:.1f}s, {report.examples_per_second:,.0f} tokens/s")
        run.end_epoch(best["f1"], dev)
        if run.stopped:
            log(f"early stop: no dev F1 improvement for {config.patience} epochs")
        if writes:
            run.save(checkpoint_path)
    if run.best_state is not None:
        model.load_state_dict({k: dg.from_numpy(v) for k, v in run.best_state.items()})
    result.history = [EpochReport(**h) for h in run.history]
    result.best_epoch, result.dev_scores = run.best_epoch, run.best_dev
    scores = result.dev_scores
    result.decode = (config.decode if config.decode != "auto"
                     else max(scores, key=lambda m: scores[m]["f1"]))
    result.seconds = time.perf_counter() - start_time
    log(f"best epoch {result.best_epoch}: dev F1 {scores[result.decode]['f1']:.4f} with "
        f"{result.decode} decoding (argmax {scores['argmax']['f1']:.4f}, viterbi "
        f"{scores['viterbi']['f1']:.4f}); {result.seconds:.0f}s in all")
    if writes:
        result.model_dir = save_model(result, Path(config.out))
        # The checkpoint only serves to resume an interrupted run; this one is complete.
        checkpoint_path.unlink(missing_ok=True)
        log(f"saved to {result.model_dir}")
    return result


def checkpoint_config(directory: str | os.PathLike) -> TrainConfig:
    """The settings of the run whose checkpoint is in ``directory`` (for ``--resume``)."""
    path = Path(directory) / CHECKPOINT_FILE
    state = _read_checkpoint(path)
    try:
        config = TrainConfig(**state["config"])
        config.validate()
    except (TypeError, ValueError) as error:
        raise ModelError(f"{path}: unusable settings in the checkpoint ({error})") from None
    return config


def _read_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise ModelError(f"{path}: no checkpoint to resume from")
    state = dg.load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{path}: not a deltagrad NER training checkpoint")
    return state


class TrainingInterrupted(RuntimeError):
    """Training stopped early on request (``stop_after_steps``); the checkpoint is on disk."""


CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_FORMAT = "deltagrad-ner-checkpoint"


class _Run:
    """The mutable state of a training run: everything a checkpoint must hold to resume it."""

    def __init__(self, config, model, optimizer, schedule, rng):
        self.config, self.model, self.optimizer, self.schedule = config, model, optimizer, schedule
        self.rng = rng
        self.epoch, self.step = 1, 0
        self.order = None  # this epoch's example order, drawn at its start
        self.loss_total, self.loss_count = 0.0, 0
        self.best_f1, self.best_epoch, self.best_dev, self.best_state = -1.0, 0, {}, None
        self.stale, self.stopped = 0, False
        self.history: list[dict] = []
        self.steps_this_call = 0

    def end_epoch(self, f1: float, dev: dict) -> None:
        if f1 > self.best_f1:
            self.best_f1, self.best_epoch, self.best_dev, self.stale = f1, self.epoch, dev, 0
            self.best_state = {k: np.array(v.data, copy=True)
                               for k, v in self.model.state_dict().items()}
        else:
            self.stale += 1
            self.stopped = self.stale >= self.config.patience
        self.epoch, self.step, self.order = self.epoch + 1, 0, None
        self.loss_total, self.loss_count = 0.0, 0

    def state_dict(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "version": MODEL_VERSION,
            "config": dataclasses.asdict(self.config),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "rng": self.rng.bit_generator.state, "dg_rng": dg.get_rng_state(),
            "epoch": self.epoch, "step": self.step, "order": self.order,
            "loss_total": self.loss_total, "loss_count": self.loss_count,
            "best_f1": self.best_f1, "best_epoch": self.best_epoch, "best_dev": self.best_dev,
            "best_state": self.best_state, "stale": self.stale, "stopped": self.stopped,
            "history": self.history,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        dg.save(self.state_dict(), path)  # atomic: a crash leaves the previous checkpoint

    def restore(self, path: Path) -> None:
        state = _read_checkpoint(path)
        saved, current = dict(state.get("config") or {}), dataclasses.asdict(self.config)
        saved.pop("out", None), current.pop("out", None)  # the directory may have moved
        if saved != current:
            raise ModelError(f"{path}: the checkpoint was written with different settings")
        # Checksums catch damage, not a structure re-saved by hand: check what training uses.
        try:
            self._restore(state)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            raise ModelError(f"{path}: damaged checkpoint ({type(error).__name__}: "
                             f"{'; '.join(lines)})") from None

    def _restore(self, state: dict) -> None:
        for name in ("epoch", "step", "loss_count", "best_epoch", "stale"):
            if isinstance(state[name], bool) or not isinstance(state[name], int):
                raise TypeError(f"{name} must be an integer, got {state[name]!r}")
        order = state["order"]
        order = None if order is None else np.asarray(getattr(order, "data", order))
        if order is not None and (order.ndim != 1 or order.dtype.kind not in "iu"):
            raise TypeError(f"order must be a 1-D integer array, got {order!r}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None:
            self.schedule.load_state_dict(state["schedule"])
        self.rng.bit_generator.state = state["rng"]
        dg.set_rng_state(state["dg_rng"])
        self.order = order
        self.epoch, self.step = state["epoch"], state["step"]
        self.loss_total, self.loss_count = state["loss_total"], state["loss_count"]
        self.best_f1, self.best_epoch = state["best_f1"], state["best_epoch"]
        self.best_dev, self.stale = state["best_dev"], state["stale"]
        self.stopped = state["stopped"]
        best = state["best_state"]
        self.best_state = None if best is None else {
            k: np.array(getattr(v, "data", v), copy=True) for k, v in best.items()}
        self.history = state["history"]


class _Batches:
    """The training set cut into batches: of tokens (softmax loss) or whole sentences (CRF).

    An epoch's order is a permutation of tokens, or of sentences for the CRF, whose loss needs
    complete sentences; a CRF batch holds about ``batch_size`` tokens' worth of sentences.
    """

    def __init__(self, data: Windows, config: TrainConfig):
        self.data, self.config = data, config
        self.crf = config.loss == "crf"
        lengths = data.sentence_lengths
        if self.crf:
            self.size = max(1, round(config.batch_size / max(float(lengths.mean()), 1.0)))
            self.units = lengths.size
            self.starts = np.cumsum(lengths) - lengths
        else:
            self.size, self.units = config.batch_size, len(data)
        self.per_epoch = math.ceil(self.units / self.size)

    def batch_units(self, order: np.ndarray, step: int) -> np.ndarray:
        """The tokens (or sentences, for the CRF) of batch ``step`` in ``order``."""
        return order[step * self.size:(step + 1) * self.size]

    def rows(self, units: np.ndarray):
        """(token rows, sentence lengths or None) of the given tokens or sentences."""
        if not self.crf:
            return units, None
        lengths = self.data.sentence_lengths[units]
        offsets = np.repeat(self.starts[units] - (np.cumsum(lengths) - lengths), lengths)
        return np.arange(int(lengths.sum())) + offsets, lengths

    def tokens(self, units: np.ndarray) -> int:
        return len(units) if not self.crf else int(self.data.sentence_lengths[units].sum())


def _quiet(_message: str) -> None:
    pass


def _sync_loss(run: _Run, dp) -> None:
    """Data-parallel: gather the running loss sums on rank 0 (the one that logs and saves)."""
    if dp is None:
        return
    total, count = dp.reduce_sum([run.loss_total, run.loss_count])
    run.loss_total, run.loss_count = (float(total), int(count)) if dp.is_main else (0.0, 0)


def _train_epoch(run: _Run, batches: _Batches, rare, progress, checkpoint_path,
                 max_steps, dp=None) -> bool:
    """Train from ``run.step`` to the end of ``run.epoch``; False if ``max_steps`` ran out.

    Data-parallel (``dp``), every rank walks the same global batches (the order comes from the
    same generator everywhere) and computes on its own slice of each.
    """
    config, model, optimizer, schedule, rng = (run.config, run.model, run.optimizer,
                                               run.schedule, run.rng)
    data = batches.data
    model.train()
    if run.order is None:
        run.order = rng.permutation(batches.units)
    n_batches = batches.per_epoch
    bar = _progress_bar(n_batches, run.epoch, config.epochs, progress)
    if bar is not None:
        bar.update(run.step)
    started = time.perf_counter()
    parameters = [p for p in model.parameters() if p.requires_grad]
    run.steps_this_call = 0
    tokens_this_call = 0
    while run.step < n_batches:
        if max_steps is not None and run.steps_this_call >= max_steps:
            return False
        units = batches.batch_units(run.order, run.step)
        n_global, offset = batches.tokens(units), 0
        if dp is not None:
            start, stop = dp.bounds(len(units))
            offset = batches.tokens(units[:start])
            units = units[start:stop]
            dg.manual_seed(dp.step_seed(run.epoch, run.step))  # this rank's dropout masks
        rows, lengths = batches.rows(units)
        batch = data.batch(rows)
        words = batch.words
        if config.word_dropout > 0:
            # Drawn for the whole global batch on every rank, so the generator stays in step.
            draws = rng.random((n_global, words.shape[1]))[offset:offset + len(rows)]
            words = np.where(rare[words] & (draws < config.word_dropout), UNK_INDEX, words)
        optimizer.zero_grad()
        loss = None
        if len(rows):
            scores = model(dg.from_numpy(words), dg.from_numpy(batch.casing),
                           dg.from_numpy(batch.suffixes))
            tags = dg.from_numpy(batch.tags)
            loss = (model.loss(scores, tags) if lengths is None
                    else model.crf_loss(scores, tags, lengths))
            scaled = loss if dp is None else loss * dp.loss_scale(len(rows), n_global)
            scaled.backward()
        if dp is not None:
            dp.reduce_gradients()
        if config.clip > 0:
            dg.nn.utils.clip_grad_norm_(parameters, config.clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        if loss is not None:
            run.loss_total += loss.item() * len(rows)
            run.loss_count += len(rows)
        run.step += 1
        run.steps_this_call += 1
        tokens_this_call += len(rows)
        if (config.checkpoint_every and run.step % config.checkpoint_every == 0
                and run.step < n_batches):
            _sync_loss(run, dp)  # collective: every rank, whether or not it writes
            if checkpoint_path is not None:
                run.save(checkpoint_path)
        if bar is not None:
            bar.update(1)
            if run.step % 50 == 0 or run.step == n_batches:
                rate = tokens_this_call / max(time.perf_counter() - started, 1e-9)
                bar.set_postfix(loss=f"{run.loss_total / run.loss_count:.4f}",
                                tok_s=f"{rate:,.0f}", refresh=False)
    if bar is not None:
        bar.close()
    return True


def _progress_bar(total, epoch, epochs, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                mininterval=0.5, file=sys.stderr)


# ---------------------------------------------------------------------------------- storage

CONFIG_FILE, WEIGHTS_FILE = "config.json", "weights.safetensors"
VOCAB_FILE, TAGS_FILE, SUFFIXES_FILE = "vocab.json", "tags.json", "suffixes.json"


def save_model(result: TrainResult, directory: Path) -> Path:
    """Write a model directory: config.json, weights.safetensors and the vocabularies (JSON).

    Each file is written atomically; nothing in the directory can execute code when loaded.
    """
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "format": MODEL_FORMAT, "version": MODEL_VERSION, "deltagrad": dg.__version__,
        "train": dataclasses.asdict(result.config), "decode": result.decode,
        "best_epoch": result.best_epoch, "dev_scores": result.dev_scores,
        "model": {"vocab_size": len(result.features.vocab),
                  "word_dim": int(result.model.words.weight.shape[1]),
                  "n_suffixes": len(result.features.suffixes),
                  "n_tags": len(result.features.tagset)},
    }
    _write_text(directory / VOCAB_FILE, result.features.vocab.to_json())
    _write_text(directory / TAGS_FILE, result.features.tagset.to_json())
    _write_text(directory / SUFFIXES_FILE, result.features.suffixes.to_json())
    dg.save(result.model.state_dict(), directory / WEIGHTS_FILE)
    _write_text(directory / CONFIG_FILE, json.dumps(config, indent=2))  # last: marks it complete
    return directory


def _write_text(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"))


@dataclass
class LoadedModel:
    model: WindowTagger
    features: Features
    decode: str
    config: dict


def load_model(directory: str | os.PathLike) -> LoadedModel:
    """Read a model directory written by ``train``; errors name the file and the problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model directory")
    for name in (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE, TAGS_FILE, SUFFIXES_FILE):
        if not (directory / name).is_file():
            raise ModelError(f"{directory / name}: missing (not a complete deltagrad NER model)")
    try:
        meta = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ModelError(f"{directory / CONFIG_FILE}: not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ModelError(f"{directory / CONFIG_FILE}: not a deltagrad NER model config")
    if meta.get("version") != MODEL_VERSION:
        raise ModelError(f"{directory / CONFIG_FILE}: model format version {meta.get('version')!r}"
                         f", this deltagrad reads version {MODEL_VERSION}")
    try:
        config = TrainConfig(**meta["train"])
        config.validate()
        vocab = Vocabulary.from_json((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        tagset = TagSet.from_json((directory / TAGS_FILE).read_text(encoding="utf-8"))
        suffixes = SuffixVocabulary.from_json(
            (directory / SUFFIXES_FILE).read_text(encoding="utf-8"))
        shapes = meta["model"]
        decode_method = meta["decode"]
        if not isinstance(shapes, dict):
            raise TypeError(f"'model' must be an object, got {shapes!r}")
        word_dim = shapes["word_dim"]
        if isinstance(word_dim, bool) or not isinstance(word_dim, int) or word_dim < 1:
            raise ValueError(f"model.word_dim must be a positive integer, got {word_dim!r}")
    except (KeyError, TypeError, ValueError, RecursionError) as error:  # (deep JSON nesting)
        raise ModelError(f"{directory}: inconsistent model files ({error})") from None
    if decode_method not in ("argmax", "viterbi"):
        raise ModelError(f"{directory / CONFIG_FILE}: unknown decode method {decode_method!r}")
    features = Features(vocab, suffixes, tagset, config.window)
    if (len(vocab), len(suffixes), len(tagset)) != (
            shapes.get("vocab_size"), shapes.get("n_suffixes"), shapes.get("n_tags")):
        raise ModelError(f"{directory}: vocabulary files do not match config.json")
    weights = directory / WEIGHTS_FILE
    try:
        state = dg.load(weights)
    except Exception as error:  # a corrupt weights file
        raise ModelError(f"{weights}: {error}") from None
    # Sizes come from config.json, which can say anything: check them against the weights
    # before allocating a model from them (a 10**12-unit layer is a MemoryError, not an error
    # message).
    width = (2 * config.window + 1) * (word_dim + config.casing_dim + config.suffix_dim)
    for key, shape in (("words.weight", (len(vocab), word_dim)),
                       ("hidden.weight", (config.hidden, width))):
        value = state.get(key) if isinstance(state, dict) else None
        found = tuple(value.shape) if isinstance(value, (dg.Tensor, np.ndarray)) else None
        if found != shape:
            raise ModelError(f"{weights}: {key} has shape {found}, config.json says {shape}")
    placeholder = np.zeros((len(vocab), word_dim), dtype=np.float32)
    model = make_model(config, features, placeholder, dg.Generator(0))
    try:
        model.load_state_dict(state)
    except Exception as error:  # weights of another architecture (one line per tensor)
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise ModelError(f"{weights}: {'; '.join(lines)}") from None
    model.eval()
    return LoadedModel(model, features, decode_method, meta)


# ---------------------------------------------------------------------------------- use

_TOKEN = re.compile(r"(?:[A-Za-z]\.){2,}|\w+(?:[-'.]\w+)*|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Split plain text into CoNLL-like tokens: abbreviations (U.N.), words (with inner - ' .)
    and punctuation.

    >>> tokenize("U.N. official Ekeus heads for Baghdad.")
    ['U.N.', 'official', 'Ekeus', 'heads', 'for', 'Baghdad', '.']
    """
    return _TOKEN.findall(text)


def predict(loaded: LoadedModel, token_lists: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags for each tokenised sentence."""
    token_lists = [list(t) for t in token_lists if len(t)]
    if not token_lists:
        return []
    data = loaded.features.encode(token_lists, tagged=False)
    log_probs = log_probabilities(loaded.model, data)
    return decode(log_probs, data.sentence_lengths, loaded.features.tagset, loaded.decode,
                  _transitions(loaded.model))


def evaluate(loaded: LoadedModel, sentences: Sequence[Sentence]) -> dict:
    """Entity-level scores (seqeval, conlleval semantics) of the model's own decoder."""
    data = loaded.features.encode(sentences)
    log_probs = log_probabilities(loaded.model, data)
    pred = decode(log_probs, data.sentence_lengths, loaded.features.tagset, loaded.decode,
                  _transitions(loaded.model))
    scores = entity_scores([s.tags for s in sentences], pred)
    scores["decode"] = loaded.decode
    return scores
