"""Resumable training: the whole state of a run, checkpointed atomically and restored exactly.

Large tables are stored as the rows that differ from where they started: training touches about
25,000 of a fine-tuned GloVe table's 400,000 rows, and the Adam moments of the other rows are
still zero. docs/reliability.md says what a checkpoint holds and when it is written.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from pathlib import Path

import numpy as np

import deltagrad as dg
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.model_dir import CONFIG_FILE, MODEL_VERSION, ModelError

__all__ = ["CHECKPOINT_FILE", "RunState", "checkpoint_config"]

CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_FORMAT = "deltagrad-ner-checkpoint"
# What a row-delta node says its rows differ from: the run's initial weights, or zeros (the
# starting value of optimizer state such as Adam's moments).
_INITIAL, _ZEROS = "initial", "zeros"


class RunState:
    """The mutable state of a training run: everything a checkpoint must hold to resume it.

    Attributes:
        epoch, step: where the run is (the next step to take; epochs count from 1).
        order: this epoch's example order, drawn at its start (None until then).
        loss_total, loss_count: the epoch's running loss sum and the examples in it.
        best_f1, best_epoch, best_dev: the best epoch so far by dev F1 and its scores.
        best_state: that epoch's weights (ndarrays by name), or None before the first epoch
            ends; kept as the rows that differ from the initial weights.
        stale, stopped: epochs without improvement, and whether early stopping ended the run.
        history: one dict per finished epoch (``EpochReport`` fields).
        steps_this_call: steps taken since this process started or resumed the run.
        initial: the model's weights when the run was set up (ndarrays): checkpoints store the
            rows of the weights that differ from them. A resumed run rebuilds the same initial
            weights from the same settings, data and vectors (checked by checksum).
    """

    def __init__(self, config, model, optimizer, schedule, rng):
        self.config, self.model, self.optimizer, self.schedule = config, model, optimizer, schedule
        self.rng = rng
        self.epoch, self.step = 1, 0
        self.order = None  # this epoch's example order, drawn at its start
        self.loss_total, self.loss_count = 0.0, 0
        self.best_f1, self.best_epoch, self.best_dev = -1.0, 0, {}
        self.stale, self.stopped = 0, False
        self.history: list[dict] = []
        self.steps_this_call = 0
        # A copy (80 MB for GloVe 400k x 50, 40 ms): training changes the weights in place.
        self.initial = {k: np.array(_array(v), copy=True)
                        for k, v in model.state_dict().items()}
        self._initial_crc32: dict[str, int] | None = None
        # The best weights as saved (row deltas): a whole copy of the weights took 250 ms an
        # epoch on a busy machine (page faults of 80 MB); this takes 25 ms.
        self._best_node: dict | None = None
        # (epoch, step) at which _best_node was taken: until a step moves the weights, the
        # checkpoint's own weights are that node (see state_dict).
        self._best_at: tuple[int, int] | None = None

    @property
    def best_state(self) -> dict | None:
        """The best epoch's weights as ndarrays by name (None before an epoch has ended)."""
        return None if self._best_node is None else self._decode_weights(self._best_node,
                                                                         tensors=False)

    def end_epoch(self, f1: float, dev: dict) -> None:
        """Close the epoch with its dev F1: keep its weights if best, count towards early
        stopping, and move to the next epoch's start."""
        if f1 > self.best_f1:
            self.best_f1, self.best_epoch, self.best_dev, self.stale = f1, self.epoch, dev, 0
            self._best_node = self._encode_weights(self.model.state_dict())
        else:
            self.stale += 1
            self.stopped = self.stale >= self.config.patience
        self.epoch, self.step, self.order = self.epoch + 1, 0, None
        if self.best_epoch == self.epoch - 1:
            self._best_at = (self.epoch, self.step)
        self.loss_total, self.loss_count = 0.0, 0

    def state_dict(self) -> dict:
        """Everything to save (the config too: a resumed run must use the same settings).

        Weights, the best weights and the optimizer's per-parameter state are row deltas
        (``_rows_node``) where that is smaller, and copies otherwise, except the optimizer's
        other state arrays, which are its live ones: save the dict before the next step.
        """
        if self._initial_crc32 is None:
            self._initial_crc32 = {key: _crc32(value) for key, value in self.initial.items()}
        return {
            "format": CHECKPOINT_FORMAT, "version": MODEL_VERSION,
            "config": dataclasses.asdict(self.config),
            # The weights as the best node holds them when no step moved them since (the end
            # of a best epoch: every epoch of the default run but one): the same arrays, so
            # not compared with the initial ones again nor written twice (issue 18).
            "model": (self._best_node if self._best_at == (self.epoch, self.step)
                      else self._encode_weights(self.model.state_dict())),
            "optimizer": self._encode_optimizer(_optimizer_state(self.optimizer)),
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "rng": self.rng.bit_generator.state, "dg_rng": dg.get_rng_state(),
            "epoch": self.epoch, "step": self.step, "order": self.order,
            "loss_total": self.loss_total, "loss_count": self.loss_count,
            "best_f1": self.best_f1, "best_epoch": self.best_epoch, "best_dev": self.best_dev,
            "best_state": self._best_node, "stale": self.stale, "stopped": self.stopped,
            "history": self.history, "initial_crc32": self._initial_crc32,
        }

    def save(self, path: Path) -> None:
        """Write the checkpoint atomically: a crash leaves the previous one intact."""
        path.parent.mkdir(parents=True, exist_ok=True)
        dg.save(self.state_dict(), path)

    def restore(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``.

        Raises:
            ModelError: no checkpoint, one written with other settings, data or vectors, or a
                damaged one.
        """
        state = read_checkpoint(path)
        saved, current = dict(state.get("config") or {}), dataclasses.asdict(self.config)
        saved.pop("out", None), current.pop("out", None)  # the directory may have moved
        if saved != current:
            raise ModelError(f"{path}: the checkpoint was written with different settings")
        # Checksums catch damage, not a structure re-saved by hand: check what training uses.
        try:
            changed = self._changed_initial(state.get("initial_crc32"))
            if not changed:
                self._restore(state)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip()]
            raise ModelError(f"{path}: damaged checkpoint ({type(error).__name__}: "
                             f"{'; '.join(lines)})") from None
        if changed:
            raise ModelError(f"{path}: the run's initial {changed} differ from the checkpoint's "
                             "(the training data or word vectors changed since it was written)")

    def _changed_initial(self, checksums) -> str | None:
        """The first initial weights that differ from those the checkpoint was written against."""
        if checksums is None:  # written before checkpoints held row deltas: whole arrays
            return None
        if not isinstance(checksums, dict) or set(checksums) != set(self.initial):
            raise ValueError("initial_crc32 must name every weight of the model")
        for key, value in self.initial.items():
            if checksums[key] != _crc32(value):
                return key
        self._initial_crc32 = dict(checksums)
        return None

    def _restore(self, state: dict) -> None:
        for name in ("epoch", "step", "loss_count", "best_epoch", "stale"):
            if isinstance(state[name], bool) or not isinstance(state[name], int):
                raise TypeError(f"{name} must be an integer, got {state[name]!r}")
        order = state["order"]
        order = None if order is None else _array(order)
        if order is not None and (order.ndim != 1 or order.dtype.kind not in "iu"):
            raise TypeError(f"order must be a 1-D integer array, got {order!r}")
        self.model.load_state_dict(self._decode_weights(state["model"]))
        self.optimizer.load_state_dict(self._decode_optimizer(state["optimizer"]))
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
        if best is not None:
            self._decode_weights(best)  # damage shows now, not when training ends
        self._best_node, self._best_at = best, None
        self.history = state["history"]

    # --- row deltas ----------------------------------------------------------------------------

    def _encode_weights(self, weights: dict) -> dict:
        """Weights by name, each a row-delta node against the initial weights or a copy."""
        out = {}
        for key, value in weights.items():
            array = _array(value)
            base = self.initial.get(key)
            if base is not None and array.ndim >= 2 and array.shape == base.shape:
                out[key] = _rows_node(array, base, _INITIAL)
            else:
                out[key] = np.array(array, copy=True)
        return out

    def _decode_weights(self, nodes: dict, tensors: bool = True) -> dict:
        if not isinstance(nodes, dict):
            raise TypeError(f"weights must be a dict, got {type(nodes).__name__}")
        arrays = {key: _from_rows_node(node, self.initial.get(key), key)
                  for key, node in nodes.items()}
        return {key: dg.from_numpy(a) for key, a in arrays.items()} if tensors else arrays

    def _encode_optimizer(self, state: dict) -> dict:
        """The optimizer's state dict with each per-parameter array shaped like its parameter
        (Adam's moments...) as a row-delta node against zeros (in new dicts: the given ones
        may be the optimizer's live ones)."""
        params = _optimizer_params(self.optimizer)
        encoded = {}
        for index, entry in state["state"].items():
            shape = tuple(params[index].shape)
            encoded[index] = {
                name: (_rows_node(_array(value), None, _ZEROS)
                       if isinstance(value, dg.Tensor) and value.ndim >= 2
                       and tuple(value.shape) == shape else value)
                for name, value in entry.items()}
        return {**state, "state": encoded}

    def _decode_optimizer(self, state: dict) -> dict:
        if not isinstance(state, dict) or not isinstance(state.get("state"), dict):
            raise TypeError("optimizer must be a dict with a 'state' dict")
        params = _optimizer_params(self.optimizer)
        for index, entry in state["state"].items():
            if not isinstance(entry, dict):
                raise TypeError(f"optimizer state {index!r} must be a dict")
            if isinstance(index, bool) or not isinstance(index, int) or not (
                    0 <= index < len(params)):
                raise ValueError(f"optimizer state for parameter {index!r}: no such parameter")
            for name, node in entry.items():
                if _is_rows_node(node):
                    zeros = np.zeros(tuple(params[index].shape), _array(params[index]).dtype)
                    entry[name] = dg.from_numpy(_from_rows_node(node, zeros, name, _ZEROS))
        return state


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


def _rows_node(array: np.ndarray, base: np.ndarray | None, kind: str):
    """``array`` as the rows whose bits differ from ``base``'s (None: all-zero bits), or a whole
    copy when at least half its rows differ.

    A node is ``{"changed_rows": int64 [k], "values": [k, ...], "against": kind}``; bits, not
    values, are compared, so -0.0 and NaN payloads come back exactly.
    """
    rows = _changed_rows(array, base)
    if 2 * rows.size >= array.shape[0]:
        return np.array(array, copy=True)
    return {"changed_rows": rows, "values": array.take(rows, axis=0), "against": kind}


def _is_rows_node(node) -> bool:
    return isinstance(node, dict) and "changed_rows" in node


def _from_rows_node(node, base: np.ndarray | None, name: str, kind: str = _INITIAL) -> np.ndarray:
    """The array a ``_rows_node`` stands for (``base`` given by the caller), or ``node`` itself
    when it is a whole array."""
    if not _is_rows_node(node):
        return np.array(_array(node), copy=True)
    if base is None or node.get("against") != kind:
        raise ValueError(f"{name}: a row delta against {node.get('against')!r}, which this run "
                         "does not have")
    rows, values = _array(node["changed_rows"]), _array(node["values"])
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or (
            rows.size and (rows.min() < 0 or rows.max() >= base.shape[0])):
        raise ValueError(f"{name}: changed_rows must be 1-D row numbers below {base.shape[0]}")
    if values.shape != (rows.size,) + base.shape[1:] or values.dtype != base.dtype:
        raise ValueError(f"{name}: values are {values.dtype} {values.shape}, rows of "
                         f"{base.dtype} {base.shape} expected")
    full = np.array(base, copy=True)
    full[rows] = values
    return full


def _changed_rows(array: np.ndarray, base: np.ndarray | None) -> np.ndarray:
    """Indices of the rows of ``array`` whose bytes differ from ``base``'s (None: from zeros)."""
    # Rows compared as machine words: 21 ms for [400k, 50] float32 (uint64) against 57 ms
    # compared as float32 bits (one core, /tmp measurement for issue 18).
    words = _as_words(array)
    if words.shape[1] == 0:
        return np.zeros(0, np.int64)
    differs = words.any(axis=1) if base is None else (words != _as_words(base)).any(axis=1)
    return np.flatnonzero(differs).astype(np.int64)


def _as_words(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array's rows as ``[rows, k]`` unsigned integers of the widest width that
    divides a row's bytes."""
    array = np.ascontiguousarray(array)
    rows = array.reshape(array.shape[0], -1).view(np.uint8)
    width = next(w for w in (8, 4, 2, 1) if rows.shape[1] % w == 0)
    return rows.view(f"u{width}")


def _optimizer_state(optimizer) -> dict:
    """What ``optimizer.state_dict()`` returns, sharing the state arrays instead of copying them.

    Its copy of Adam's moments for a 400k x 50 table (160 MB of fresh memory) took 0.44 s a
    checkpoint on a busy 2-core machine (py-spy, issue 18); ``_rows_node`` copies the rows that
    are saved. The layout is PyTorch's, as ``Optimizer.load_state_dict`` reads it.
    """
    params = _optimizer_params(optimizer)
    ids = {id(param): index for index, param in enumerate(params)}
    groups = [{**{key: _option(value) for key, value in group.items() if key != "params"},
               "params": [ids[id(param)] for param in group["params"]]}
              for group in optimizer.param_groups]
    state = {ids[id(param)]: dict(optimizer.state[param]) for param in params
             if optimizer.state.get(param)}
    return {"state": state, "param_groups": groups}


def _option(value):
    """A param-group option as ``state_dict`` gives it: Python numbers (a NumPy float64 lr
    would turn float32 updates into float64 ones after a resume), lists, copied arrays."""
    if isinstance(value, dg.Tensor):
        return dg.from_numpy(np.array(_array(value), copy=True))
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):  # (betas: a tuple, as in state_dict)
        return tuple(_option(item) for item in value)
    if isinstance(value, list):
        return [_option(item) for item in value]
    if isinstance(value, dict):
        return {key: _option(item) for key, item in value.items()}
    return value


def _optimizer_params(optimizer) -> list:
    """The optimizer's parameters numbered as its ``state_dict`` numbers them."""
    params: dict[int, object] = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            params.setdefault(id(param), param)
    return list(params.values())


def _crc32(array: np.ndarray) -> int:
    """CRC-32 of the array's bytes (37 ms for 80 MB)."""
    return zlib.crc32(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
