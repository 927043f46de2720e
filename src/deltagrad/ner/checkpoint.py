"""Resumable training: the whole state of a run, checkpointed atomically and restored exactly."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

import deltagrad as dg
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.model_dir import CONFIG_FILE, MODEL_VERSION, ModelError

__all__ = ["CHECKPOINT_FILE", "RunState", "checkpoint_config"]

CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_FORMAT = "deltagrad-ner-checkpoint"


class RunState:
    """The mutable state of a training run: everything a checkpoint must hold to resume it.

    Attributes:
        epoch, step: where the run is (the next step to take; epochs count from 1).
        order: this epoch's example order, drawn at its start (None until then).
        loss_total, loss_count: the epoch's running loss sum and the examples in it.
        best_f1, best_epoch, best_dev, best_state: the best epoch so far by dev F1, its
            scores and its weights (ndarrays).
        stale, stopped: epochs without improvement, and whether early stopping ended the run.
        history: one dict per finished epoch (``EpochReport`` fields).
        steps_this_call: steps taken since this process started or resumed the run.
    """

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
        """Close the epoch with its dev F1: keep its weights if best, count towards early
        stopping, and move to the next epoch's start."""
        if f1 > self.best_f1:
            self.best_f1, self.best_epoch, self.best_dev, self.stale = f1, self.epoch, dev, 0
            self.best_state = {k: np.array(_array(v), copy=True)
                               for k, v in self.model.state_dict().items()}
        else:
            self.stale += 1
            self.stopped = self.stale >= self.config.patience
        self.epoch, self.step, self.order = self.epoch + 1, 0, None
        self.loss_total, self.loss_count = 0.0, 0

    def state_dict(self) -> dict:
        """Everything to save (the config too: a resumed run must use the same settings)."""
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
        """Write the checkpoint atomically: a crash leaves the previous one intact."""
        path.parent.mkdir(parents=True, exist_ok=True)
        dg.save(self.state_dict(), path)

    def restore(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``.

        Raises:
            ModelError: no checkpoint, one written with other settings, or a damaged one.
        """
        state = read_checkpoint(path)
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
        order = None if order is None else _array(order)
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
            k: np.array(_array(v), copy=True) for k, v in best.items()}
        self.history = state["history"]


def checkpoint_config(directory: str | os.PathLike) -> TrainConfig:
    """The settings of the run whose checkpoint is in ``directory`` (for ``--resume``)."""
    path = Path(directory) / CHECKPOINT_FILE
    state = read_checkpoint(path)
    try:
        config = TrainConfig(**state["config"])
        config.validate()
    except (TypeError, ValueError) as error:
        raise ModelError(f"{path}: unusable settings in the checkpoint ({error})") from None
    return config


def read_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, after checking it is one (its checksums are checked on load)."""
    if not path.is_file():
        if (path.parent / CONFIG_FILE).is_file():  # a finished run removes its checkpoint
            raise ModelError(f"{path.parent}: this run already finished (its model is saved "
                             "there, and a finished run keeps no checkpoint): nothing to resume")
        raise ModelError(f"{path}: no checkpoint to resume from")
    state = dg.load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{path}: not a deltagrad NER training checkpoint")
    return state


def _array(value) -> np.ndarray:
    """The ndarray of a Tensor (shared), or ``value`` as an array."""
    return value.detach().numpy() if isinstance(value, dg.Tensor) else np.asarray(value)
