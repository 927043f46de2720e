"""An ensemble of window taggers: members trained alone from consecutive seeds, scores averaged.

Each member is an ordinary training run (``train`` with ``ensemble=1``) in ``out/members/K``,
with its own checkpoints; with more than one core the members train side by side, one process
each. The ensemble's tag scores are the mean of its members' scores, and for CRF members the
transition scores are the mean of theirs: one lattice, decoded as a single model's. The model
directory holds all members' weights (``members.K.*``) and nothing else new.

An interrupted ensemble resumes member by member: a finished member is read back from its
directory, an interrupted one resumes from its checkpoint, exactly, and one not yet started
starts. The run's own checkpoint (``out/checkpoint.safetensors``) holds only its settings, so
``deltagrad ner train --resume DIR`` finds them where it finds a single run's.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

import deltagrad as dg
from deltagrad import nn
from deltagrad.ner.checkpoint import CHECKPOINT_FILE, CHECKPOINT_FORMAT, checkpoint_config
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_sentences
from deltagrad.ner.metrics import GoldEntities, import_seqeval
from deltagrad.ner.model_dir import CONFIG_FILE, MODEL_VERSION, ModelError, load_model, save_model
from deltagrad.ner.predict import score
from deltagrad.ner.vectors import load_vectors
from deltagrad.serialization import write_atomically

__all__ = ["EnsembleTagger", "member_config", "train_ensemble"]

MEMBERS_DIR = "members"
SCORES_FILE = "dev_scores.npy"  # in a member's directory: its raw dev scores (_scores_of)


class EnsembleTagger(nn.Module):
    """Window taggers whose tag scores (and CRF transition scores) are averaged.

    ``model(**batch.inputs())`` returns the members' mean scores, so everything that scores,
    decodes or explains a single tagger takes an ensemble unchanged.
    """

    def __init__(self, members):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    @property
    def transitions(self) -> dg.Tensor | None:
        """The members' mean transition scores (None for softmax members)."""
        tables = [member.transitions for member in self.members]
        if any(table is None for table in tables):
            return None
        return dg.stack(tables).mean(dim=0)

    @property
    def words(self):
        """The first member's word table (its width is every member's)."""
        return self.members[0].words

    def forward(self, **inputs) -> dg.Tensor:
        """The members' mean tag scores, float32 ``[batch, n_tags]``."""
        scores = [member(**inputs) for member in self.members]
        return scores[0] if len(scores) == 1 else dg.stack(scores).mean(dim=0)

    def loss(self, scores, tags):
        """Per-token softmax cross-entropy of the mean scores (for drawing a step's graph)."""
        return self.members[0].loss(scores, tags)


def member_config(config: TrainConfig, k: int) -> TrainConfig:
    """Member ``k``'s own run: one model, seed ``seed + k``, in ``out/members/k``."""
    return dataclasses.replace(config, ensemble=1, seed=config.seed + k,
                               out=str(Path(config.out) / MEMBERS_DIR / str(k)))


def train_ensemble(config: TrainConfig, *, progress: bool = True,
                   log: Callable[[str], None] = print, save: bool = True, train_sentences=None,
                   dev_sentences=None, vectors=None, resume: bool = False,
                   stop_after_steps: int | None = None, distributed: bool = False,
                   collective_timeout: float = 120.0, jobs: int | None = None, stage1=None,
                   history_tags=None):
    """Train ``config.ensemble`` members and save their ensemble to ``config.out``.

    Arguments as for :func:`deltagrad.ner.training.train` (which calls this for an ensemble),
    and ``jobs``: members trained at once (default: one per available core, at most one per
    member). Members run in processes of their own when more than one runs at once, and in
    this process otherwise (and always when not saving, or data-parallel over MPI). With
    prediction history, ``stage1`` and ``history_tags`` (as for ``train``) serve every member.

    Returns:
        A ``TrainResult`` whose model is the ``EnsembleTagger``; its history is the first
        member's (when that member trained in this call).
    """
    from deltagrad.ner.training import TrainingInterrupted, TrainResult, train

    config.validate()
    start_time = time.perf_counter()
    out = Path(config.out)
    run_checkpoint = out / CHECKPOINT_FILE
    # Data-parallel over MPI: every rank trains every member (one after another, each member
    # data-parallel); rank 0 alone writes the ensemble's own files, as it does a member's.
    context = None
    if distributed:
        from deltagrad import parallel

        context = parallel.init(timeout=collective_timeout)
    writes = save and (context is None or context.is_main)
    if context is not None and not context.is_main:
        log, progress = (lambda _line: None), False
    if resume:
        saved = checkpoint_config(out)  # ModelError if there is none
        if dataclasses.replace(saved, out="") != dataclasses.replace(config, out=""):
            raise ModelError(f"{run_checkpoint}: the checkpoint was written with different "
                             "settings")
    elif writes:
        # A fresh run: members left by an earlier run in this directory are not this run's.
        shutil.rmtree(out / MEMBERS_DIR, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        dg.save({"format": CHECKPOINT_FORMAT, "version": MODEL_VERSION, "ensemble": True,
                 "config": dataclasses.asdict(config)}, run_checkpoint)
    if context is not None:
        context.barrier()  # every rank sees the same members' directories from here on

    # Read once here; members started as processes of their own inherit them.
    train_sentences = train_sentences or load_sentences(config.train, "train")
    dev_sentences = dev_sentences or load_sentences(config.dev, "dev")
    if vectors is None and config.vectors != "none":
        vectors = load_vectors(config.vectors)

    members = [member_config(config, k) for k in range(config.ensemble)]
    todo = [k for k, member in enumerate(members)
            if not (save and (Path(member.out) / CONFIG_FILE).is_file())]
    for k in sorted(set(range(len(members))) - set(todo)):
        log(f"member {k + 1}/{len(members)}: finished earlier, read from {members[k].out}")
    jobs = max(1, min(jobs or _usable_cores(), len(todo) or 1))

    def run_member(k: int, in_process: bool):
        member = members[k]
        prefix = f"member {k + 1}/{len(members)}"
        member_resume = resume and (Path(member.out) / CHECKPOINT_FILE).is_file()
        result = train(member, progress=progress and (in_process or k == todo[0]),
                       log=lambda line: log(f"{prefix}: {line}"), save=save,
                       train_sentences=train_sentences, dev_sentences=dev_sentences,
                       vectors=vectors, resume=member_resume, stop_after_steps=stop_after_steps,
                       distributed=distributed, collective_timeout=collective_timeout,
                       stage1=stage1, history_tags=history_tags)
        if not in_process and save and result.dev_raw_scores is not None:
            # Its dev scores, for this process's parent (after its complete model directory: an
            # interruption in between leaves them to be computed, as before).
            buffer = io.BytesIO()
            np.save(buffer, result.dev_raw_scores, allow_pickle=False)
            write_atomically(Path(member.out) / SCORES_FILE, buffer.getvalue())
        return result

    results = {}  # members trained in this process: their TrainResult
    vocabularies = {}  # the members' vocabulary file, parsed once (load_model)
    early = {}  # members trained in processes, read back while others still trained
    dev = {}  # the dev windows, gold entities and that member's dev scores, made then too
    # (every member's features encode them alike: the seeds change weights only)

    def read_early(k: int) -> None:
        # A member finished while others train: its model is read now, on the core it freed,
        # rather than after the last one ends (0.3-0.4 CPU s a member on the default run, 0.15
        # s for the dev windows and entities, 0.2 s for its dev scores). A failure is left to
        # the read below, after every member ended, as before.
        try:
            early[k] = load_model(members[k].out, stage1=stage1, vocabularies=vocabularies)
            if not dev:
                dev["data"] = early[k].features.encode(dev_sentences)
                dev["gold"] = GoldEntities([s.tags for s in dev_sentences])
                dev["scores"] = {}
            dev["scores"][k] = _scores_of(members[k], early[k], dev["data"])
        except Exception:  # noqa: BLE001 -- read again (and raised) below
            early.pop(k, None)
            dev.clear()

    if jobs > 1 and save and not distributed and hasattr(os, "fork"):
        # The dev scores' seqeval imported once, here, for the members to inherit: each member
        # imported it for its first dev scoring, and this process again for the ensemble's
        # (scikit-learn and SciPy: 1.0 s of CPU, 2.6-3.1 s of wall time each on a busy 2-core
        # machine, issue 18).
        # Its thousands of long-lived module objects made two full garbage collections of this
        # process during the import (0.24 of its 1.36 CPU s, loaded machine): none now.
        collecting = gc.isenabled()
        gc.disable()
        try:
            import_seqeval()
        finally:
            if collecting:
                gc.enable()
        # Everything this process holds (modules, sentences, vectors) frozen for the fork: the
        # members' full garbage collections then leave it out instead of walking it again (a
        # member's full collection 0.16 -> 0.009 CPU s, loaded machine), and this process gets
        # its collector back as it was once they have run.
        gc.freeze()
        try:
            _run_in_processes(todo, jobs, run_member, read_early)
        finally:
            gc.unfreeze()
    else:
        interrupted = None
        for k in todo:
            try:
                results[k] = run_member(k, in_process=True)
            except TrainingInterrupted as error:  # as the processes do: every member stops
                interrupted = error
        if interrupted is not None:
            raise interrupted

    # The members, as trained here or as saved (by their processes or by an earlier call).
    models, best_epochs, features, loaded_members = [], [], None, {}
    for k, member in enumerate(members):
        if k in results:
            model, best_epoch, member_features = (results[k].model, results[k].best_epoch,
                                                  results[k].features)
        else:
            loaded = loaded_members[k] = (early[k] if k in early
                                          else load_model(member.out, stage1=stage1,
                                                          vocabularies=vocabularies))
            model, best_epoch, member_features = (loaded.model, int(loaded.config["best_epoch"]),
                                                  loaded.features)
        models.append(model)
        best_epochs.append(best_epoch)
        features = features or member_features  # the same for every member: seeds differ
    ensemble = EnsembleTagger(models)
    ensemble.eval()
    log_probs = None
    if dev and len(dev["data"]):
        # The ensemble's scores as its forward makes them (the members' mean, batch by batch
        # of the same rows: the same bits), from the members' scores read early or made now.
        member_scores = [dev["scores"][k] if k in dev["scores"]
                         else _member_scores(model, dev["data"]) if k in results
                         else _scores_of(members[k], loaded_members[k], dev["data"])
                         for k, model in enumerate(models)]
        mean = (dg.from_numpy(member_scores[0]) if len(models) == 1
                else dg.stack([dg.from_numpy(s) for s in member_scores]).mean(dim=0))
        log_probs = (mean if ensemble.transitions is not None
                     else mean.log_softmax(dim=1)).numpy()
    scores = score(ensemble, features, dev_sentences, dev.get("data"), dev.get("gold"),
                   log_probs)
    decode = (config.decode if config.decode != "auto"
              else max(scores, key=lambda m: scores[m]["f1"]))
    history = results[0].history if 0 in results else []
    result = TrainResult(ensemble, features, config, history, max(best_epochs), scores, decode,
                         seconds=time.perf_counter() - start_time)
    log(f"ensemble of {len(members)}: dev F1 {scores[decode]['f1']:.4f} with {decode} decoding "
        f"(argmax {scores['argmax']['f1']:.4f}, viterbi {scores['viterbi']['f1']:.4f}); "
        f"{result.seconds:.0f}s in all")
    if writes:
        result.model_dir = save_model(out, model=ensemble, features=features, config=config,
                                      decode=decode, best_epoch=result.best_epoch,
                                      dev_scores=scores)
        # Complete (config.json is written last): the run's checkpoint goes first, so that an
        # interruption from here on leaves a finished run, then the members' directories.
        run_checkpoint.unlink(missing_ok=True)
        shutil.rmtree(out / MEMBERS_DIR, ignore_errors=True)
        log(f"saved to {result.model_dir}")
    return result


def _scores_of(member: TrainConfig, loaded, data) -> np.ndarray:
    """A member's raw dev scores: as its process saved them (``TrainResult.dev_raw_scores``,
    the same bits: its best epoch scored with the same weights, rows and batches), else made
    from its model read back (``loaded``)."""
    try:
        scores = np.load(Path(member.out) / SCORES_FILE, allow_pickle=False)
        if scores.dtype == np.float32 and scores.shape == (len(data), len(loaded.features.tagset)):
            return scores
    except (OSError, ValueError):  # none saved (or unreadable): made again
        pass
    return _member_scores(loaded.model, data)


def _member_scores(model, data, batch_size: int = 8192):
    """float32 ``[n_tokens, n_tags]``: a member's raw tag scores in eval mode, in the batches of
    ``predict.log_probabilities`` (so the same bits as inside the ensemble's forward)."""
    was_training = model.training
    model.eval()
    with dg.no_grad():
        out = [model(**data.batch(slice(start, start + batch_size)).inputs()).numpy()
               for start in range(0, len(data), batch_size)]
    model.train(was_training)
    return np.concatenate(out)


# ----------------------------------------------------------------- members side by side

def _run_in_processes(todo: list[int], jobs: int, run_member, finished=None) -> None:
    """Train the members ``todo`` in forked processes, ``jobs`` at a time.

    ``finished(k)``, if given, is called when member ``k`` ended well while others still run
    and none waits to start.

    A member's failure ends the others (their checkpoints stay: the run resumes) and is raised
    here with its type and message; a member stopped by ``stop_after_steps`` lets the others
    reach their own stop first.
    """
    import select

    from deltagrad.ner.training import TrainingInterrupted

    waiting, running, failure, stopped = list(todo), {}, None, None
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                k = waiting.pop(0)
                running[k] = _start(k, run_member, jobs)
            # A member's pipe reaches end-of-file when its process ends.
            ready, _, _ = select.select([reader for _, reader in running.values()], [], [])
            k = next(k for k, (_, reader) in running.items() if reader == ready[0])
            pid, reader = running.pop(k)
            kind, _, text = _read_all(reader).partition("\n")
            code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            if code == 0 and kind == "ok":
                if finished is not None and running and not waiting:  # (a core is free)
                    finished(k)
                continue
            if kind == "TrainingInterrupted":
                stopped = TrainingInterrupted(text)
            else:
                failure = (k, kind or f"exit status {code}", text)
                waiting.clear()
                _stop(running)
    except BaseException:
        _stop(running)
        raise
    if failure is not None:
        k, kind, text = failure
        error = _ERRORS.get(kind, RuntimeError)
        raise error(f"member {k + 1}: {text}" if error is not RuntimeError
                    else f"member {k + 1} failed: {kind}: {text}")
    if stopped is not None:
        raise stopped


def _start(k: int, run_member, jobs: int) -> tuple[int, int]:
    reader, writer = os.pipe()
    sys.stdout.flush(), sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(writer)
        return pid, reader
    # The member's process: train, say how it ended, and leave without running the parent's
    # exit handlers (os._exit), whatever happens.
    os.close(reader)
    code, message = 1, "RuntimeError\nno message"
    try:
        _die_with_parent()
        _share_cores(jobs)
        run_member(k, in_process=False)
        code, message = 0, "ok\n"
    except BaseException as error:  # noqa: BLE001 -- reported to the parent, which raises it
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        message = f"{type(error).__name__}\n{'; '.join(lines)}"
        if type(error).__name__ not in _ERRORS and not isinstance(error, KeyboardInterrupt):
            traceback.print_exc()
    finally:
        try:
            os.write(writer, message.encode("utf-8", "replace"))
            sys.stdout.flush(), sys.stderr.flush()
        finally:
            os._exit(code)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (a killed run leaves no orphans
    writing to its directory); elsewhere, nothing."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(1)


def _usable_cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _share_cores(jobs: int) -> None:
    """Give this member its share of the cores: ``jobs`` members each with as many BLAS threads
    as there are cores would spin against each other (OpenBLAS's threads busy-wait)."""
    import warnings

    share = max(1, _usable_cores() // jobs)
    if dg.get_num_threads() > share:
        with warnings.catch_warnings():  # (without threadpoolctl BLAS keeps its threads)
            warnings.simplefilter("ignore", RuntimeWarning)
            dg.set_num_threads(share)


def _stop(running: dict) -> None:
    import signal

    for pid, reader in running.values():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(reader)
    running.clear()


def _read_all(reader: int) -> str:
    chunks = []
    while chunk := os.read(reader, 65536):
        chunks.append(chunk)
    os.close(reader)
    return b"".join(chunks).decode("utf-8", "replace")


_ERRORS = {"ModelError": ModelError, "ValueError": ValueError, "OSError": OSError,
           "FileNotFoundError": FileNotFoundError, "PermissionError": PermissionError,
           "MemoryError": MemoryError, "KeyboardInterrupt": KeyboardInterrupt}
