"""PyTorch's collectives over the default process group: all_reduce, broadcast, all_gather."""

from __future__ import annotations

import enum
from datetime import timedelta

import numpy as np

from .._engine.tensor import Tensor
from .process_group import ProcessGroup, resolve_group

__all__ = ["ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast"]


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


_MPI_OPS = {ReduceOp.SUM: "sum", ReduceOp.AVG: "sum", ReduceOp.PRODUCT: "product",
            ReduceOp.MIN: "min", ReduceOp.MAX: "max", ReduceOp.BAND: "band",
            ReduceOp.BOR: "bor", ReduceOp.BXOR: "bxor"}
_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)


class Work:
    """What a collective called with ``async_op=True`` returns.

    deltagrad's collectives finish before they return, so the work is always complete.
    """

    def wait(self, timeout: timedelta | None = None) -> bool:
        """Block until the collective is done (it is): True."""
        return True

    def is_completed(self) -> bool:
        return True

    def is_success(self) -> bool:
        return True


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None,
            timeout: timedelta | None = None) -> Work | None:
    """Wait until every process of the group gets here.

    Args:
        group: None (the default group).
        async_op: return a ``Work`` (already complete) instead of None.
        device_ids: PyTorch's GPU option; must be None.
        timeout: how long to wait (default: the group's timeout).
    """
    pg = resolve_group(group)
    if device_ids is not None:
        raise ValueError("barrier: device_ids is for GPUs; deltagrad runs on the CPU")
    if pg.context is not None:
        pg.context.barrier(None if timeout is None else timeout.total_seconds())
    return Work() if async_op else None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all processes, in place; every process gets the result.

    Args:
        tensor: a Tensor of the same shape and dtype on every process (autograd ignores the
            change, as in PyTorch).
        op: a ``ReduceOp``; ``AVG`` is the sum divided by the world size (floating point
            only), the bitwise ones need integer or boolean tensors. ``PREMUL_SUM`` is not
            supported.
        group: None (the default group).
        async_op: return a ``Work`` (already complete) instead of None.
    """
    pg = resolve_group(group)
    array = _array("all_reduce", tensor)
    if not isinstance(op, ReduceOp):
        raise TypeError(f"all_reduce: op must be a torch.distributed.ReduceOp, got {op!r}")
    if op not in _MPI_OPS:
        raise ValueError(f"all_reduce: {op} is not supported by deltagrad")
    if op in _BITWISE and array.dtype.kind not in "biu":
        raise RuntimeError(f"Cannot use {op} with non-integral dtype {array.dtype}")
    if op is ReduceOp.AVG and array.dtype.kind not in "fc":
        raise RuntimeError(f"all_reduce: {op} needs a floating-point tensor, got {array.dtype}")
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
        src: the rank whose tensor is sent (``group_src`` is the same thing: there is one
            group).
        group: None (the default group).
        async_op: return a ``Work`` (already complete) instead of None.
    """
    pg = resolve_group(group)
    array = _array("broadcast", tensor)
    if src is None and group_src is None:
        raise ValueError("Must specify global_rank or group_rank")
    if src is not None and group_src is not None and src != group_src:
        raise ValueError(f"broadcast: src={src} and group_src={group_src} disagree")
    root = src if src is not None else group_src
    if not 0 <= root < pg.world_size:
        raise RuntimeError(f"broadcast: invalid root rank: {root} (world size {pg.world_size})")
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
        group: None (the default group).
        async_op: return a ``Work`` (already complete) instead of None.
    """
    pg = resolve_group(group)
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


def _array(what: str, tensor) -> np.ndarray:
    """The ndarray a collective reads and writes: the Tensor's own memory."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `tensor` of type "
                        f"Tensor but got {type(tensor)} instead ({what})")
    return tensor.detach().numpy()
