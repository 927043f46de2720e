"""PyTorch's reducing collectives and barriers (all_reduce, reduce, broadcast, all_gather,
barrier, monitored_barrier), ``ReduceOp``, ``Work``, and the checks every collective shares."""

from __future__ import annotations

import enum
from datetime import timedelta

import numpy as np

from .._engine.tensor import Tensor
from .process_group import GroupMember, ProcessGroup, member_group

__all__ = ["ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast",
           "monitored_barrier", "reduce"]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' tensors (PyTorch's names and numbers)."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


# PyTorch's ReduceOp members are of the nested type ReduceOp.RedOpType (Lightning annotates with
# it at import time); here the members' type is the enum itself.
type.__setattr__(ReduceOp, "RedOpType", ReduceOp)


_MPI_OPS = {ReduceOp.SUM: "sum", ReduceOp.AVG: "sum", ReduceOp.PRODUCT: "product",
            ReduceOp.MIN: "min", ReduceOp.MAX: "max", ReduceOp.BAND: "band",
            ReduceOp.BOR: "bor", ReduceOp.BXOR: "bxor"}
_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)


class Work:
    """What ``isend``/``irecv`` and a collective called with ``async_op=True`` return.

    deltagrad's collectives finish before they return, so their work is always complete;
    ``isend``/``irecv`` give a pending MPI request, which ``wait`` completes.

    Args:
        context: the group's ``deltagrad.parallel.Context`` (whose watchdog times ``wait``).
        request: a pending ``MPI.Request``, or None for finished work.
        what: the operation, for the timeout message.
        finish: called once with the request's ``MPI.Status`` when it completes (a receive
            copies its buffer into the tensor there).
    """

    def __init__(self, context=None, request=None, what: str = "", finish=None):
        self._context, self._request, self._what, self._finish = context, request, what, finish
        self._status = None

    def wait(self, timeout: timedelta | None = None) -> bool:
        """Block until the operation is done; True.

        Args:
            timeout: how long to wait (default: the group's timeout). Past it the watchdog
                ends the job, as for a collective (a blocked MPI call cannot be interrupted).
        """
        if self._request is not None:
            from mpi4py import MPI  # a pending request means MPI is imported

            status = MPI.Status()
            seconds = None if timeout is None else timeout.total_seconds()
            try:
                self._context.run(self._what, self._request.Wait, status, timeout=seconds)
            except MPI.Exception as error:  # e.g. a message larger than the receiving tensor
                self._request = self._finish = None
                raise RuntimeError(f"{self._what}: {error.Get_error_string()} (the sender's "
                                   "tensor has more bytes than the receiver's)") from error
            self._complete(status)
        return True

    def is_completed(self) -> bool:
        """Whether the operation is done (never blocks)."""
        if self._request is not None:
            from mpi4py import MPI

            status = MPI.Status()
            if self._request.Test(status):
                self._complete(status)
        return self._request is None

    def is_success(self) -> bool:
        return self.is_completed()

    def _complete(self, status) -> None:
        self._request, finish, self._finish = None, self._finish, None
        self._status = status
        if finish is not None:
            finish(status)

    def _source_rank(self) -> int:
        """The group rank a completed receive came from (PyTorch's private name)."""
        if self._status is None:
            raise RuntimeError("Work._source_rank: the receive has not completed")
        return self._status.Get_source()


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None,
            timeout: timedelta | None = None) -> Work | None:
    """Wait until every process of the group gets here.

    Args:
        group: None (the default group).
        async_op: return a ``Work`` (already complete) instead of None.
        device_ids: PyTorch's GPU option; must be None.
        timeout: how long to wait (default: the group's timeout).
    """
    pg = member_group(group, "barrier")
    if pg is None:
        return None
    if device_ids is not None:
        raise ValueError("barrier: device_ids is for GPUs; deltagrad runs on the CPU")
    if pg.context is not None:
        pg.context.barrier(None if timeout is None else timeout.total_seconds())
    return Work() if async_op else None


def monitored_barrier(group: ProcessGroup | None = None, timeout: timedelta | None = None,
                      wait_all_ranks: bool = False) -> None:
    """A barrier that does not hang: past ``timeout`` the job ends, naming the barrier.

    PyTorch's version raises a RuntimeError on rank 0 naming the ranks that did not come;
    here the watchdog that times every collective prints which rank waited for what and
    ends the whole job (``MPI_Abort``, exit status ``deltagrad.parallel.TIMEOUT_EXIT_CODE``),
    because a rank blocked inside MPI cannot be woken to raise.

    Args:
        group: the process group (None: the default group).
        timeout: how long to wait (default: the group's timeout).
        wait_all_ranks: accepted; the message names the waiting rank, not the missing ones.
    """
    pg = member_group(group, "monitored_barrier")
    if pg is None:
        return None
    if pg.context is not None:
        pg.context.barrier(None if timeout is None else timeout.total_seconds())
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all processes, in place; every process gets the result.

    Args:
        tensor: a Tensor of the same shape and dtype on every process (autograd ignores the
            change, as in PyTorch).
        op: a ``ReduceOp``; ``AVG`` is the sum divided by the world size (floating point
            only), the bitwise ones need integer or boolean tensors. ``PREMUL_SUM`` is not
            supported.
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.
    """
    pg = member_group(group, "all_reduce")
    if pg is None:
        return None
    array = _array("all_reduce", tensor)
    check_op("all_reduce", op, array)
    if pg.context is not None and pg.world_size > 1:
        pg.context.allreduce_(array, _MPI_OPS[op])
        if op is ReduceOp.AVG:
            np.divide(array, array.dtype.type(pg.world_size), out=array)
    return Work() if async_op else None


def broadcast(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
              async_op: bool = False, group_src: int | None = None) -> Work | None:
    """Overwrite ``tensor`` on every process with process ``src``'s, in place.

    Args:
        tensor: a Tensor of the same shape and dtype on every process.
        src: the global rank (in the default group) whose tensor is sent.
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.
        group_src: ``src`` as a rank of ``group`` (give one of the two).
    """
    pg = member_group(group, "broadcast")
    if pg is None:
        return None
    array = _array("broadcast", tensor)
    root = group_root("broadcast", pg, src, group_src)
    if pg.context is not None and pg.world_size > 1:
        pg.context.broadcast_(array, root)
    return Work() if async_op else None


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Every process's ``tensor``, written into ``tensor_list`` (one Tensor per rank).

    Args:
        tensor_list: ``world_size`` Tensors of ``tensor``'s dtype; entry ``r`` is overwritten
            with rank r's tensor and must have its number of elements (ranks may send
            tensors of different sizes).
        tensor: this process's Tensor.
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.
    """
    pg = member_group(group, "all_gather")
    if pg is None:
        return None
    send = _array("all_gather", tensor)
    outputs = [_array("all_gather", t) for t in tensor_list]
    if len(outputs) != pg.world_size:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length "
                           f"{pg.world_size}, got {len(outputs)})")
    for index, out in enumerate(outputs):
        if out.dtype != send.dtype:
            raise ValueError(f"Invalid usage of tensors with different dtypes: found "
                             f"{out.dtype} and {send.dtype}")
        if index == pg.rank and out.shape != send.shape:
            raise RuntimeError(f"all_gather: invalid tensor size at index {index} (expected "
                               f"{tuple(send.shape)}, got {tuple(out.shape)})")
    if pg.context is None or pg.world_size == 1:
        np.copyto(outputs[0], send)
        return Work() if async_op else None
    counts = [out.size for out in outputs]
    gathered = pg.context.allgatherv(send, counts)
    offset = 0
    for out, count in zip(outputs, counts):
        np.copyto(out, gathered[offset:offset + count].reshape(out.shape))
        offset += count
    return Work() if async_op else None


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM,
           group: ProcessGroup | None = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Combine ``tensor`` over the group's processes into process ``dst``'s, in place.

    Only ``dst``'s tensor changes; the others keep theirs.

    Args:
        tensor: a Tensor of the same shape and dtype on every process.
        dst: the global rank (in the default group) that receives the result.
        op: a ``ReduceOp``, as for ``all_reduce``.
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.
        group_dst: ``dst`` as a rank of ``group`` (give one of the two).

    Raises:
        RuntimeError: the processes' tensors differ in shape or dtype (on every process).
    """
    pg = member_group(group, "reduce")
    if pg is None:
        return None
    array = _array("reduce", tensor)
    root = group_root("reduce", pg, dst, group_dst)
    check_op("reduce", op, array)
    if pg.context is None or pg.world_size == 1:
        return Work() if async_op else None
    agree(pg, "reduce", (str(array.dtype), array.shape), None, same=True)
    from mpi4py import MPI  # the group has a communicator: MPI is imported already

    buffer = np.ascontiguousarray(array)
    if pg.rank == root:
        pg.context.run("reduce", pg.context.comm.Reduce, MPI.IN_PLACE, buffer,
                       op=mpi_op(op), root=root, sent=buffer.nbytes, received=buffer.nbytes)
        if op is ReduceOp.AVG:
            np.divide(buffer, buffer.dtype.type(pg.world_size), out=buffer)
        if buffer is not array:
            np.copyto(array, buffer)
    else:
        pg.context.run("reduce", pg.context.comm.Reduce, buffer, None, op=mpi_op(op),
                       root=root, sent=buffer.nbytes)
    return Work() if async_op else None


# ------------------------------------------------------------------ shared by the collectives


def check_op(what: str, op, array: np.ndarray) -> None:
    """Raise as PyTorch does unless ``op`` can reduce ``array``'s dtype."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a torch.distributed.ReduceOp, got {op!r}")
    if op not in _MPI_OPS:
        raise ValueError(f"{what}: {op} is not supported by deltagrad")
    if op in _BITWISE and array.dtype.kind not in "biu":
        raise RuntimeError(f"Cannot use {op} with non-integral dtype {array.dtype}")
    if op is ReduceOp.AVG and array.dtype.kind not in "fc":
        raise RuntimeError(f"{what}: {op} needs a floating-point tensor, got {array.dtype}")


def mpi_op(op: ReduceOp):
    """The ``MPI.Op`` of a ReduceOp (AVG sums; the caller divides)."""
    from mpi4py import MPI

    return {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
            "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}[_MPI_OPS[op]]


def group_root(what: str, pg: ProcessGroup, rank: int | None, group_rank: int | None) -> int:
    """The group rank a rooted collective names by a global ``rank`` or a ``group_rank``.

    Raises:
        ValueError: neither or both given, or a rank outside a ``new_group`` group.
        RuntimeError: a rank outside the default group (PyTorch's errors).
    """
    if group_rank is not None and rank is not None:
        raise ValueError("Can't specify both group_rank and global_rank")
    if group_rank is None and rank is None:
        raise ValueError("Must specify global_rank or group_rank")
    if pg is GroupMember.WORLD:  # PyTorch passes the rank through; the backend checks it
        root = rank if group_rank is None else group_rank
        if not 0 <= root < pg.world_size:
            raise RuntimeError(f"{what}: invalid root rank: {root} (world size "
                               f"{pg.world_size})")
        return root
    if group_rank is not None:
        return pg.group_rank(pg.global_rank(group_rank))  # checks the range
    return pg.group_rank(rank)


def agree(pg: ProcessGroup, what: str, description, error: Exception | None,
          same: bool = False) -> list:
    """Every rank's ``description`` of its part of a collective, after checking that no rank
    failed its own checks, so that a bad argument on one rank raises on all of them instead
    of leaving the others waiting for the timeout.

    Args:
        description: something small and picklable (dtypes, shapes) the caller checks.
        error: this rank's error in its own arguments, or None.
        same: raise unless every rank's description equals rank 0's.

    Returns:
        The descriptions, indexed by group rank.

    Raises:
        ``error`` on the rank that had it; RuntimeError naming that rank on the others, and
        on every rank when ``same`` finds a difference.
    """
    reports = pg.context.allgather_object(
        (description, None if error is None else f"{type(error).__name__}: {error}"))
    if error is not None:
        raise error
    for rank, (_, message) in enumerate(reports):
        if message is not None:
            raise RuntimeError(f"{what}: rank {rank} of the group failed: {message}")
    descriptions = [d for d, _ in reports]
    if same:
        for rank, found in enumerate(descriptions):
            if found != descriptions[0]:
                raise RuntimeError(f"{what}: the processes' tensors differ: rank {rank} has "
                                   f"(dtype, shape) {found}, rank 0 has {descriptions[0]}")
    return descriptions


def tensor_list(what: str, name: str, tensors, length: int) -> list[np.ndarray]:
    """The ndarrays of a list of ``length`` Tensors (PyTorch's errors for anything else)."""
    if not isinstance(tensors, (list, tuple)) or not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[Tensor] ({what})")
    if len(tensors) != length:
        raise ValueError(f"{what}: `{name}` must hold one Tensor per process of the group "
                         f"({length}), got {len(tensors)}")
    return [t.detach().numpy() for t in tensors]


def same_dtype(arrays) -> None:
    """Raise PyTorch's ValueError unless the arrays have one dtype."""
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) > 1:
        names = sorted(str(d) for d in dtypes)
        raise ValueError(f"Invalid usage of tensors with different dtypes: found {names[0]} "
                         f"and {names[1]}")


def as_bytes(array: np.ndarray) -> np.ndarray:
    """``array``'s bytes as a flat uint8 array (a copy unless contiguous): collectives that
    only move data send bytes, so every dtype travels, float16 and bool included."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _array(what: str, tensor) -> np.ndarray:
    """The ndarray a collective reads and writes: the Tensor's own memory."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `tensor` of type "
                        f"Tensor but got {type(tensor)} instead ({what})")
    return tensor.detach().numpy()
