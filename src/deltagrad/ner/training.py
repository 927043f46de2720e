"""Training the window tagger: set up, then the epoch loop, keeping the best epoch by dev F1.

The parts live beside it: settings in config.py, model and optimizer in build.py, the resumable
state in checkpoint.py, the saved model in model_dir.py, scoring in predict.py, and the
data-parallel parts behind ``deltagrad.parallel`` (a no-op in one process).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import deltagrad as dg
from deltagrad import parallel
from deltagrad.ner.build import features_kwargs, make_model, make_optimizer, make_schedule
from deltagrad.ner.checkpoint import CHECKPOINT_FILE, RunState
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_sentences
from deltagrad.ner.features import Features, Windows, build_features, rare_word_mask
from deltagrad.ner.metrics import GoldEntities
from deltagrad.ner.model import WindowTagger
from deltagrad.ner.model_dir import save_model
from deltagrad.ner.predict import log_probabilities, score
from deltagrad.ner.unseen_map import UnseenMap
from deltagrad.ner.vectors import load_vectors
from deltagrad.ner.vocab import UNK_INDEX

__all__ = ["EpochReport", "TrainResult", "TrainingInterrupted", "train"]


@dataclass
class EpochReport:
    """One finished epoch: mean training loss, dev scores of both decoders, speed, lr."""

    epoch: int
    loss: float
    dev: dict
    seconds: float
    examples_per_second: float
    lr: float


@dataclass
class TrainResult:
    """What ``train`` returns: the best epoch's model and what it scored."""

    model: WindowTagger  # or an EnsembleTagger of them
    features: Features
    config: TrainConfig
    history: list = field(default_factory=list)
    best_epoch: int = 0
    dev_scores: dict = field(default_factory=dict)  # {"argmax": {...}, "viterbi": {...}}
    decode: str = "viterbi"
    model_dir: Path | None = None
    seconds: float = 0.0
    stage1: TrainResult | None = None  # a two-stage model's first stage (history.py)
    # float32 [dev tokens, n_tags]: the model's raw dev scores in eval mode, as its best epoch's
    # scoring made them (a CRF model, no unseen-word map; else None): an ensemble's member
    # hands them to its parent, which computed them again (0.3 CPU s a member, issue 18).
    dev_raw_scores: np.ndarray | None = None


class TrainingInterrupted(RuntimeError):
    """Training stopped early on request (``stop_after_steps``); the checkpoint is on disk."""


def train(config: TrainConfig, *, progress: bool = True, log: Callable[[str], None] = print,
          save: bool = True, train_sentences=None, dev_sentences=None, vectors=None,
          resume: bool = False, stop_after_steps: int | None = None,
          distributed: bool = False, collective_timeout: float = 120.0, stage1=None,
          history_tags=None) -> TrainResult:
    """Train the window tagger, keep the best epoch by dev F1, and save it to ``config.out``.

    With ``config.ensemble`` above 1, trains that many members (seeds ``seed``, ``seed + 1``,
    ...) side by side and saves their ensemble (:func:`deltagrad.ner.ensemble.train_ensemble`).

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
        stage1, history_tags: with ``config.history``, the trained first stage (a
            ``features.Stage1``) and its jackknifed tags of the training tokens; None: train
            both stages (:func:`deltagrad.ner.two_stage.train_two_stage`).

    Returns:
        A TrainResult with the best model, its dev scores and the epoch history.
    """
    config.validate()
    if config.history != "none" and stage1 is None:  # stage 1, its folds, then stage 2
        from deltagrad.ner.two_stage import train_two_stage

        return train_two_stage(config, progress=progress, log=log, save=save,
                               train_sentences=train_sentences, dev_sentences=dev_sentences,
                               vectors=vectors, resume=resume, stop_after_steps=stop_after_steps)
    if config.ensemble > 1:  # members trained alone, side by side (ensemble.py)
        from deltagrad.ner.ensemble import train_ensemble

        return train_ensemble(config, progress=progress, log=log, save=save,
                              train_sentences=train_sentences, dev_sentences=dev_sentences,
                              vectors=vectors, resume=resume, stop_after_steps=stop_after_steps,
                              distributed=distributed, collective_timeout=collective_timeout,
                              stage1=stage1, history_tags=history_tags)
    start_time = time.perf_counter()
    # One process, or one rank of an MPI job: the same loop, with `dp` doing the data-parallel
    # parts (in one process, nothing).
    dp = parallel.SingleProcess()
    if distributed:  # MPI is imported only here
        dp = parallel.DataParallel(parallel.init(timeout=collective_timeout))
        if not dp.is_main:
            log, progress = _quiet, False  # rank 0 alone logs and writes files
        log(f"data-parallel over {dp.world_size} MPI processes")

    # The data, and everything drawn from the seed, in a fixed order.
    # Dropout masks draw from the default generator, weights from `generator`; both on NumPy's
    # PCG64 stream, whose dropout masks are cheaper than PyTorch's stream's (and on which every
    # result of this application was recorded).
    dg.default_generator.manual_seed(config.seed, stream="pcg64")
    generator = dg.Generator(config.seed, stream="pcg64")
    rng = np.random.default_rng(config.seed)
    train_sentences = train_sentences or load_sentences(config.train, "train")
    dev_sentences = dev_sentences or load_sentences(config.dev, "dev")
    if vectors is None and config.vectors != "none":
        vectors = load_vectors(config.vectors)
    features, word_vectors, has_vector = build_features(
        train_sentences, vectors if config.vectors != "none" else None, config.window,
        config.word_dim, rng, gazetteer=config.gazetteer == "train", **features_kwargs(config))
    features.stage1 = stage1
    train_data = features.encode(train_sentences, jackknife=features.gazetteer is not None,
                                 history_tags=history_tags)
    dev_data = features.encode(dev_sentences)
    dev_gold = GoldEntities([s.tags for s in dev_sentences])  # (scored after every epoch)
    rare = rare_word_mask(train_data, len(features.vocab), has_vector)

    model = make_model(config, features, word_vectors, generator)
    optimizer = make_optimizer(config, model)
    batches = _Batches(train_data, config)
    schedule = make_schedule(config, optimizer, batches.per_epoch)
    log(f"train {len(train_sentences):,} sentences / {len(train_data):,} tokens, dev "
        f"{len(dev_sentences):,} / {len(dev_data):,}; vocabulary {len(features.vocab):,} "
        f"({int(has_vector.sum()):,} pretrained); {sum(p.numel() for p in model.parameters()):,} "
        "parameters")

    run = RunState(config, model, optimizer, schedule, rng)
    unseen = _unseen_map(config, model, train_data, has_vector, run.initial, log)
    dev_unseen = unseen.rows_among(dev_data.words) if unseen is not None else None
    frozen = _frozen_rows(config, model, train_data, has_vector, log)
    checkpoint_path = Path(config.out) / CHECKPOINT_FILE
    if resume:
        run.restore(checkpoint_path)  # every rank reads it (a file system they share)
        log(f"resumed from {checkpoint_path}: epoch {run.epoch}, step {run.step}")
    # After any restore: rank 0's (restored) weights and optimizer state go to every rank.
    dp.prepare(model, optimizer, num_examples=batches.units, batch_size=batches.size,
               seed=config.seed)
    writes = save and dp.is_main

    steps_left = stop_after_steps
    best_log_probs = None  # (kept from this call's epochs only: a resumed run may lack them)
    while run.epoch <= config.epochs and not run.stopped:
        epoch_start = time.perf_counter()
        if not _train_epoch(run, batches, rare, dp, progress,
                            checkpoint_path if writes else None, steps_left, frozen):
            raise TrainingInterrupted(f"stopped after {stop_after_steps} steps (as asked)")
        if steps_left is not None:
            steps_left -= run.steps_this_call
        seconds = time.perf_counter() - epoch_start
        _sync_loss(run, dp)
        if unseen is not None:  # scored as it would be saved; kept (checkpointed) unmapped
            unseen.apply(_table(model), dev_unseen)  # (dev reads no other unseen row)
        log_probs = log_probabilities(model, dev_data)  # (a CRF's: its raw scores)
        dev = score(model, features, dev_sentences, dev_data, dev_gold, log_probs)  # all ranks
        if unseen is not None:
            unseen.restore(_table(model), dev_unseen)
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
        if run.best_epoch == run.epoch - 1:
            best_log_probs = log_probs
        if run.stopped:
            log(f"early stop: no dev F1 improvement for {config.patience} epochs")
        if writes:
            run.save(checkpoint_path)

    # The best epoch's weights, and the decoder that scored better with them. The model holds
    # them already when the best epoch is the last one ended (as in the default run: its
    # weights were kept from the model after it, unchanged since, or restored with them).
    best = (run.best_state  # (a property that decodes the weights: 0.18 CPU s a read)
            if run.best_epoch != run.epoch - 1 else None)
    if best is not None:
        model.load_state_dict({k: dg.from_numpy(v) for k, v in best.items()})
    if unseen is not None:
        unseen.apply(_table(model))
    scores = run.best_dev
    decode = (config.decode if config.decode != "auto"
              else max(scores, key=lambda m: scores[m]["f1"]))
    result = TrainResult(model, features, config, [EpochReport(**h) for h in run.history],
                         run.best_epoch, scores, decode,
                         seconds=time.perf_counter() - start_time)
    if unseen is None and features.stage1 is None and model.transitions is not None:
        result.dev_raw_scores = best_log_probs  # (None if the best epoch ended before a resume)
    log(f"best epoch {result.best_epoch}: dev F1 {scores[decode]['f1']:.4f} with {decode} "
        f"decoding (argmax {scores['argmax']['f1']:.4f}, viterbi {scores['viterbi']['f1']:.4f}); "
        f"{result.seconds:.0f}s in all")
    if writes:
        result.model_dir = save_model(Path(config.out), model=model, features=features,
                                      config=config, decode=decode,
                                      best_epoch=result.best_epoch, dev_scores=scores)
        # The checkpoint only serves to resume an interrupted run; this one is complete.
        checkpoint_path.unlink(missing_ok=True)
        log(f"saved to {result.model_dir}")
    return result


def _unseen_map(config: TrainConfig, model: WindowTagger, train_data: Windows,
                has_vector: np.ndarray, initial: dict, log) -> UnseenMap | None:
    """The map of unseen words' vectors (``config.unseen_map``), or None when off or when no
    vectors move (random or frozen ones)."""
    if (config.unseen_map == "none" or config.vectors == "none"
            or not model.words.weight.requires_grad):
        return None
    unseen = UnseenMap(train_data.words, has_vector, initial["words.weight"],
                       config.unseen_map_ridge)
    log(f"unseen words: a linear map fitted on {unseen.fit_rows.size:,} seen words' vectors "
        f"moves {unseen.mapped_rows.size:,} unseen ones")
    return unseen


def _frozen_rows(config: TrainConfig, model: WindowTagger, train_data: Windows,
                 has_vector: np.ndarray, log) -> np.ndarray | None:
    """bool [V]: pretrained words seen fewer than ``config.freeze_rare`` times in training (None:
    none, or nothing fine-tuned)."""
    if (config.freeze_rare == 0 or config.vectors == "none"
            or not model.words.weight.requires_grad):
        return None
    counts = np.bincount(train_data.words[:, train_data.words.shape[1] // 2],
                         minlength=has_vector.size)
    frozen = has_vector & (counts > 0) & (counts < config.freeze_rare)
    log(f"word vectors: {int(frozen.sum()):,} of words seen fewer than {config.freeze_rare} "
        "times stay frozen")
    return frozen


def _table(model: WindowTagger) -> np.ndarray:
    """The word table's array (shared: writes change the model)."""
    return model.words.weight.detach().numpy()


def _train_epoch(run: RunState, batches: _Batches, rare: np.ndarray, dp, progress: bool,
                 checkpoint_path: Path | None, max_steps: int | None,
                 frozen: np.ndarray | None = None) -> bool:
    """Train from ``run.step`` to the end of ``run.epoch``; False if ``max_steps`` ran out.

    Every rank walks the same global batches (the order comes from the same generator
    everywhere) and computes on its own slice of each (in one process, all of it).
    """
    config, model, optimizer, schedule, rng = (run.config, run.model, run.optimizer,
                                               run.schedule, run.rng)
    model.train()
    if run.order is None:
        run.order = rng.permutation(batches.units)
    bar = _progress_bar(batches.per_epoch, run.epoch, config.epochs, progress)
    if bar is not None:
        bar.update(run.step)
    started = time.perf_counter()
    parameters = [p for p in model.parameters() if p.requires_grad]
    run.steps_this_call = 0
    tokens_this_call = 0
    while run.step < batches.per_epoch:
        if max_steps is not None and run.steps_this_call >= max_steps:
            return False
        # This rank's part of the global batch.
        units = batches.batch_units(run.order, run.step)
        n_global = batches.tokens(units)
        start, stop = dp.bounds(len(units))
        offset = batches.tokens(units[:start])
        rows, lengths = batches.rows(units[start:stop])
        batch = batches.data.batch(rows)
        dp.seed_step(run.epoch, run.step)  # this rank's dropout masks
        words = batch.words
        if config.word_dropout > 0:
            # Drawn for the whole global batch on every rank, so the generator stays in step.
            draws = rng.random((n_global, words.shape[1]))[offset:offset + len(rows)]
            words = np.where(rare[words] & (draws < config.word_dropout), UNK_INDEX, words)

        # Forward, backward, the gradients averaged over the ranks, one step.
        optimizer.zero_grad()
        loss = None
        if len(rows):  # a rank's share of an epoch's last, short batch may be empty
            scores = model(**batch.inputs(words))
            tags = dg.from_numpy(batch.tags)
            loss = (model.loss(scores, tags) if lengths is None
                    else model.crf_loss(scores, tags, lengths))
            dp.scale_loss(loss, len(rows), n_global).backward()
        dp.reduce_gradients()  # every rank, every step, even with no rows
        if config.clip > 0:
            dg.nn.utils.clip_grad_norm_(parameters, config.clip)
        optimizer.step()
        if frozen is not None:
            # The frozen rows put back after the step (their gradients are part of one shared
            # with the other rows). A sparse step moves only the batch's rows: putting back all
            # 13,148 rows of --freeze-rare 5 took 2-47 ms a step on the loaded machine.
            rows = (np.unique(np.concatenate([words.ravel(), batch.context.ravel()]))
                    if model.words.sparse and batch.context is not None
                    else np.unique(words) if model.words.sparse else np.arange(frozen.size))
            rows = rows[rows >= 0]  # (-1: an empty context slot)
            rows = rows[frozen[rows]]
            _table(model)[rows] = run.initial["words.weight"][rows]
        if schedule is not None:
            schedule.step()

        # Book-keeping: loss sums, position, checkpoint, progress.
        if loss is not None:
            run.loss_total += loss.item() * len(rows)
            run.loss_count += len(rows)
        run.step += 1
        run.steps_this_call += 1
        tokens_this_call += len(rows)
        if (config.checkpoint_every and run.step % config.checkpoint_every == 0
                and run.step < batches.per_epoch):
            _sync_loss(run, dp)  # collective: every rank, whether or not it writes
            if checkpoint_path is not None:
                run.save(checkpoint_path)
        if bar is not None:
            bar.update(1)
            if run.step % 50 == 0 or run.step == batches.per_epoch:
                rate = tokens_this_call / max(time.perf_counter() - started, 1e-9)
                bar.set_postfix(loss=f"{run.loss_total / run.loss_count:.4f}",
                                tok_s=f"{rate:,.0f}", refresh=False)
    if bar is not None:
        bar.close()
    return True


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
        """The number of tokens in these units."""
        return len(units) if not self.crf else int(self.data.sentence_lengths[units].sum())


def _sync_loss(run: RunState, dp) -> None:
    """Gather the running loss sums on rank 0 (the one that logs and saves)."""
    total, count = dp.reduce_sum([run.loss_total, run.loss_count])
    run.loss_total, run.loss_count = (float(total), int(count)) if dp.is_main else (0.0, 0)


def _quiet(_message: str) -> None:
    pass


def _progress_bar(total, epoch, epochs, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False,
                mininterval=0.5, file=sys.stderr)
