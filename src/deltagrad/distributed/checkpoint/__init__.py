"""PyTorch's ``torch.distributed.checkpoint`` (DCP) for one process: ``save`` and ``load`` of a
state dict into a checkpoint folder, ``load`` filling the given state dict in place.

NOTE: the folder holds one ``deltagrad.save`` file (``state.pt``), not PyTorch's ``.metadata``
and ``.distcp`` shards: checkpoints move between deltagrad programs, not to or from PyTorch's
DCP. Sharded saving across processes, planners and custom storage layers are not supported
(a clear error, never a silent single-file save).
"""

from __future__ import annotations

import os

from ..._engine.autograd import no_grad
from ..._engine.tensor import Tensor
from ...serialization import load as _load_file
from ...serialization import save as _save_file
from .. import process_group

__all__ = ["CheckpointException", "FileSystemReader", "FileSystemWriter", "load",
           "load_state_dict", "save", "save_state_dict"]

_FILE = "state.pt"


class CheckpointException(Exception):
    """A checkpoint could not be saved or loaded (PyTorch's name)."""


class FileSystemWriter:
    """Where ``save`` writes: a folder (made if missing)."""

    def __init__(self, path, *args, **kwargs) -> None:
        self.path = os.fspath(path)


class FileSystemReader:
    """Where ``load`` reads: a folder that ``save`` wrote."""

    def __init__(self, path, *args, **kwargs) -> None:
        self.path = os.fspath(path)


def _folder(checkpoint_id, storage, kind: type, name: str) -> str:
    if storage is not None:
        if not isinstance(storage, kind):
            raise NotImplementedError(f"torch.distributed.checkpoint.{name}: storage of type "
                                      f"{type(storage).__name__} is not supported in deltagrad "
                                      f"(only {kind.__name__})")
        return storage.path
    if checkpoint_id is None:
        raise RuntimeError(f"torch.distributed.checkpoint.{name}: give checkpoint_id or a "
                           "storage " + ("writer" if name == "save" else "reader"))
    return os.fspath(checkpoint_id)


def _check_one_process(name: str, planner, process_group_, no_dist: bool) -> None:
    if planner is not None:
        raise NotImplementedError(f"torch.distributed.checkpoint.{name}: planners are not "
                                  "supported in deltagrad")
    if no_dist:
        return
    if process_group_ is not None or process_group.is_initialized():
        if process_group.get_world_size(process_group_) > 1:
            raise NotImplementedError(
                f"torch.distributed.checkpoint.{name}: sharded checkpoints across "
                f"{process_group.get_world_size(process_group_)} processes are not supported in "
                "deltagrad (one process only: save from rank 0 with torch.save instead)")


def _plain(value):
    """The state to store: a Stateful object's ``state_dict()``, containers recursively."""
    if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
        value = value.state_dict()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def save(state_dict: dict, *, checkpoint_id=None, storage_writer=None, planner=None,
         process_group=None, no_dist: bool = False):
    """Write ``state_dict`` (tensors, numbers, nested dicts, objects with ``state_dict()``)
    into the checkpoint folder ``checkpoint_id`` (or ``storage_writer``'s).

    Returns:
        None (PyTorch returns the checkpoint's metadata, which deltagrad does not keep).
    """
    _check_one_process("save", planner, process_group, no_dist)
    folder = _folder(checkpoint_id, storage_writer, FileSystemWriter, "save")
    os.makedirs(folder, exist_ok=True)
    _save_file(_plain(state_dict), os.path.join(folder, _FILE))


def _fill(target: dict, stored: dict, where: str) -> None:
    for key, value in target.items():
        if key not in stored:
            raise CheckpointException(f"torch.distributed.checkpoint.load: {where}{key!r} is "
                                      "missing from the checkpoint")
        saved = stored[key]
        if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
            state = value.state_dict()
            _fill(state, saved, f"{where}{key!r}.")
            value.load_state_dict(state)
        elif isinstance(value, dict):
            _fill(value, saved, f"{where}{key!r}.")
        elif isinstance(value, Tensor):
            if tuple(value.shape) != tuple(saved.shape):
                raise CheckpointException(
                    f"torch.distributed.checkpoint.load: {where}{key!r} has shape "
                    f"{list(value.shape)}, the checkpoint's {list(saved.shape)}")
            with no_grad():
                value.copy_(saved)
        else:
            target[key] = saved


def load(state_dict: dict, *, checkpoint_id=None, storage_reader=None, planner=None,
         process_group=None, no_dist: bool = False) -> None:
    """Fill ``state_dict`` in place from the checkpoint folder: its tensors take the stored
    values (``copy_``), other entries are replaced, objects with ``load_state_dict`` load
    theirs. Only the keys of ``state_dict`` are read, as in PyTorch."""
    _check_one_process("load", planner, process_group, no_dist)
    folder = _folder(checkpoint_id, storage_reader, FileSystemReader, "load")
    _fill(state_dict, _load_file(os.path.join(folder, _FILE), weights_only=False), "")


def save_state_dict(state_dict: dict, storage_writer, process_group=None, coordinator_rank=0,
                    no_dist: bool = False, planner=None):
    """PyTorch's older form of ``save``."""
    return save(state_dict, storage_writer=storage_writer, planner=planner,
                process_group=process_group, no_dist=no_dist)


def load_state_dict(state_dict: dict, storage_reader, process_group=None, coordinator_rank=0,
                    no_dist: bool = False, planner=None) -> None:
    """PyTorch's older form of ``load``."""
    load(state_dict, storage_reader=storage_reader, planner=planner,
         process_group=process_group, no_dist=no_dist)
