"""PyTorch's collectives of Python objects: all_gather_object, broadcast_object_list,
gather_object, scatter_object_list, send_object_list and recv_object_list.

The objects travel pickled, as in PyTorch: only exchange objects between processes of your own
job, since unpickling data from an untrusted process can run arbitrary code.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from .._engine.api.creation import tensor as _tensor
from .collectives import group_root
from .process_group import ProcessGroup, member_group

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object", "recv_object_list",
           "scatter_object_list", "send_object_list"]


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


def _copy(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))  # (a copy, as after a real exchange)


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int | None = None,
                  group: ProcessGroup | None = None, group_dst: int | None = None) -> None:
    """Every process's ``obj`` (pickled in transit), written into ``object_gather_list`` on
    process ``dst`` (default 0): entry r becomes rank r's ``obj``.

    Raises:
        ValueError: ``object_gather_list`` missing on ``dst`` or given elsewhere (as PyTorch).
        IndexError: ``object_gather_list`` is shorter than the group.
    """
    pg = member_group(group, "gather_object")
    if pg is None:
        return None
    root = group_root("gather_object", pg, 0 if dst is None and group_dst is None else dst,
                      group_dst)
    if pg.rank == root and object_gather_list is None:
        raise ValueError("Argument ``gather_list`` must be specified on destination "
                         "rank.")
    if pg.rank != root and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on "
                         "non-destination ranks.")
    # (every rank receives every object: one allgather instead of a rooted gather)
    gathered = [_copy(obj)] if pg.context is None else pg.context.allgather_object(obj)
    if pg.rank == root:
        for index in range(pg.world_size):
            object_gather_list[index] = gathered[index]
    return None


def scatter_object_list(scatter_object_output_list: list,
                        scatter_object_input_list: list | None = None, src: int | None = None,
                        group: ProcessGroup | None = None, group_src: int | None = None) -> None:
    """Entry r of ``src``'s ``scatter_object_input_list`` (pickled in transit) written into
    ``scatter_object_output_list[0]`` on process r.

    Raises:
        ValueError: ``scatter_object_output_list`` is not a list of at least one entry.
    """
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    pg = member_group(group, "scatter_object_list")
    if pg is None:
        return None
    root = group_root("scatter_object_list", pg,
                      0 if src is None and group_src is None else src, group_src)
    if pg.context is None or pg.world_size == 1:
        scatter_object_output_list[0] = _copy(scatter_object_input_list[pg.rank])
        return None
    sent = pg.context.broadcast_object(
        list(scatter_object_input_list) if pg.rank == root else None, root=root)
    scatter_object_output_list[0] = sent[pg.rank]
    return None


def send_object_list(object_list: list, dst: int | None = None,
                     group: ProcessGroup | None = None, device=None,
                     group_dst: int | None = None) -> None:
    """Send ``object_list``'s objects (pickled) to process ``dst``, which receives them with
    ``recv_object_list`` into a list of the same length."""
    from .point_to_point import send

    if device is not None and str(device) != "cpu":
        raise ValueError(f"send_object_list: device {device!r}: deltagrad runs on the CPU")
    data = [pickle.dumps(obj) for obj in object_list]
    send(_tensor(np.array([len(item) for item in data], np.int64)), dst, group,
         group_dst=group_dst)
    send(_tensor(np.frombuffer(b"".join(data) or b"\0", np.uint8)), dst, group,
         group_dst=group_dst)


def recv_object_list(object_list: list, src: int | None = None,
                     group: ProcessGroup | None = None, device=None,
                     group_src: int | None = None) -> int:
    """Receive the objects ``send_object_list`` sent into ``object_list`` (its length must be
    the sender's), in place; returns the sender's rank (any sender when ``src`` is None)."""
    from .point_to_point import recv

    if device is not None and str(device) != "cpu":
        raise ValueError(f"recv_object_list: device {device!r}: deltagrad runs on the CPU")
    sizes = _tensor(np.zeros(len(object_list), np.int64))
    sender = recv(sizes, src, group, group_src=group_src)
    data = _tensor(np.zeros(max(int(sizes.sum()), 1), np.uint8))
    recv(data, sender, group)
    raw, start = data.numpy().tobytes(), 0
    for index, size in enumerate(sizes.tolist()):
        object_list[index] = pickle.loads(raw[start:start + size])
        start += size
    return sender
