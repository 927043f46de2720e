"""PyTorch's collectives of Python objects: all_gather_object and broadcast_object_list.

The objects travel pickled, as in PyTorch: only exchange objects between processes of your own
job, since unpickling data from an untrusted process can run arbitrary code.
"""

from __future__ import annotations

import pickle
from typing import Any

from .collectives import group_root
from .process_group import ProcessGroup, member_group

__all__ = ["all_gather_object", "broadcast_object_list"]


def all_gather_object(object_list: list, obj: Any, group: ProcessGroup | None = None) -> None:
    """Every process's ``obj`` (pickled in transit), written into ``object_list``.

    Args:
        object_list: a list of the group's size; entry r becomes (a copy of) rank r's ``obj``.
        obj: this process's object; must be picklable.
        group: the process group (None: the default group).

    Raises:
        IndexError: ``object_list`` is shorter than the group (as PyTorch).
    """
    pg = member_group(group, "all_gather_object")
    if pg is None:
        return None
    if len(object_list) < pg.world_size:
        raise IndexError(f"all_gather_object: object_list has {len(object_list)} entries, the "
                         f"group {pg.world_size} processes")
    if pg.context is None:
        gathered = [pickle.loads(pickle.dumps(obj))]  # a copy, as after a real exchange
    else:
        gathered = pg.context.allgather_object(obj)
    object_list[:pg.world_size] = gathered
    return None


def broadcast_object_list(object_list: list[Any], src: int | None = None,
                          group: ProcessGroup | None = None, device=None,
                          group_src: int | None = None) -> None:
    """Process ``src``'s ``object_list`` entries (pickled in transit), written into every
    process's ``object_list`` in place.

    Args:
        object_list: on ``src``, the objects to send (picklable); elsewhere, a list of the
            same length whose entries are replaced.
        src: the global rank that sends (default 0 when ``group_src`` is not given).
        group: the process group (None: the default group).
        device: None or ``"cpu"`` (PyTorch's GPU staging device).
        group_src: ``src`` as a rank of ``group``.

    Raises:
        RuntimeError: ``object_list``'s length differs from ``src``'s (on that process).
    """
    pg = member_group(group, "broadcast_object_list")
    if pg is None:
        return None
    if device is not None and str(device) != "cpu":
        raise ValueError(f"broadcast_object_list: device {device!r}: deltagrad runs on the CPU")
    root = group_root("broadcast_object_list", pg,
                      0 if src is None and group_src is None else src, group_src)
    if pg.context is None or pg.world_size == 1:
        return None
    sent = pg.context.broadcast_object(list(object_list) if pg.rank == root else None,
                                       root=root)
    if pg.rank != root:
        if len(sent) != len(object_list):
            raise RuntimeError(f"broadcast_object_list: rank {pg.rank}'s object_list has "
                               f"{len(object_list)} entries, the source's {len(sent)}")
        object_list[:] = sent
    return None
