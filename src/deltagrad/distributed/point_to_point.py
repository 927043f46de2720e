"""PyTorch's messages between two processes: send, recv, isend and irecv (MPI point-to-point
over the group's communicator, which keeps them apart from the collectives)."""

from __future__ import annotations

import numpy as np

from .._engine.tensor import Tensor
from .collectives import Work, _array, as_bytes
from .process_group import ProcessGroup, member_group

__all__ = ["irecv", "isend", "recv", "send"]


def isend(tensor: Tensor, dst: int | None = None, group: ProcessGroup | None = None,
          tag: int = 0, group_dst: int | None = None) -> Work | None:
    """Start sending ``tensor`` to process ``dst``; ``wait()`` on the result before changing it.

    Args:
        tensor: what to send (its values at the time of the call are sent).
        dst: the receiver's global rank (in the default group).
        group: the process group (None: the default group).
        tag: matches this message with the ``recv`` that gives the same tag.
        group_dst: ``dst`` as a rank of ``group``.

    Returns:
        A ``Work`` whose ``wait()`` blocks until the message has left (None on a process
        that is not in ``group``).

    Raises:
        ValueError: no ``dst``, or ``dst`` is this process (PyTorch's errors).
    """
    pg = member_group(group, "isend")
    if pg is None:
        return None
    payload = as_bytes(_array("isend", tensor)).copy()  # the caller may change the tensor
    peer = _peer(pg, dst, group_dst, "destination")
    # (mpi4py's request holds a reference to the payload until the send completes)
    request = pg.context.comm.Isend(payload, dest=peer, tag=tag)
    pg.context.stats.bytes_sent += payload.nbytes
    return Work(pg.context, request, f"isend to rank {peer}")


def irecv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
          tag: int = 0, group_src: int | None = None) -> Work | None:
    """Start receiving a message into ``tensor``, in place once ``wait()`` returns.

    Args:
        tensor: where the message goes; the sender's tensor must have its number of bytes
            (the same shape and dtype).
        src: the sender's global rank; None receives from any process.
        group: the process group (None: the default group).
        tag: receive only the message sent with this tag.
        group_src: ``src`` as a rank of ``group``.

    Returns:
        A ``Work`` (None on a process that is not in ``group``); ``wait()`` raises
        RuntimeError if the message was smaller than ``tensor``.
    """
    pg = member_group(group, "irecv")
    if pg is None:
        return None
    out = _array("irecv", tensor)
    any_source = src is None and group_src is None
    if any_source and pg.world_size == 1:
        raise RuntimeError("irecv: a group of one process has no other process to receive "
                           "from (this one would wait forever)")
    from mpi4py import MPI  # a world of several processes has imported it

    peer = MPI.ANY_SOURCE if any_source else _peer(pg, src, group_src, "source")
    buffer = np.empty(out.nbytes, dtype=np.uint8)

    def finish(status) -> None:
        count = status.Get_count(MPI.BYTE)
        if count != buffer.nbytes:
            raise RuntimeError(f"irecv: rank {status.Get_source()} sent {count} bytes, the "
                               f"receiving tensor {tuple(out.shape)} {out.dtype} holds "
                               f"{buffer.nbytes}")
        np.copyto(out, buffer.view(out.dtype).reshape(out.shape))
        pg.context.stats.bytes_received += count

    what = "irecv from any rank" if any_source else f"irecv from rank {peer}"
    request = pg.context.comm.Irecv(buffer, source=peer, tag=tag)
    return Work(pg.context, request, what, finish=finish)


def send(tensor: Tensor, dst: int | None = None, group: ProcessGroup | None = None,
         tag: int = 0, group_dst: int | None = None) -> None:
    """Send ``tensor`` to process ``dst``, returning when it has left (``isend().wait()``).

    Args: as ``isend``.
    """
    work = isend(tensor, dst=dst, group=group, tag=tag, group_dst=group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
         tag: int = 0, group_src: int | None = None) -> int:
    """Receive a message into ``tensor``, in place (``irecv().wait()``).

    Args: as ``irecv``.

    Returns:
        The sender's global rank (-1 on a process that is not in ``group``).
    """
    pg = member_group(group, "recv")
    if pg is None:
        return -1
    work = irecv(tensor, src=src, group=pg, tag=tag, group_src=group_src)
    work.wait()
    return pg.global_rank(work._source_rank())


def _peer(pg: ProcessGroup, rank: int | None, group_rank: int | None, kind: str) -> int:
    """The other process's group rank, checked as PyTorch does."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
        peer = pg.group_rank(pg.global_rank(group_rank))
    elif rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    else:
        peer = pg.group_rank(rank)
    if peer == pg.rank:
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the "
                         "rank of the current process.")
    return peer
