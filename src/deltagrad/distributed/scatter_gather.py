"""PyTorch's collectives that give each process a different part: gather, scatter,
reduce_scatter and all_to_all."""

from __future__ import annotations

import numpy as np

from .._engine.tensor import Tensor
from .collectives import (
    ReduceOp,
    Work,
    _array,
    agree,
    as_bytes,
    check_op,
    group_root,
    mpi_op,
    same_dtype,
    tensor_list,
)
from .process_group import ProcessGroup, member_group

__all__ = ["all_to_all", "gather", "reduce_scatter", "scatter"]


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None,
           group: ProcessGroup | None = None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """Every process's ``tensor``, written into ``gather_list`` on process ``dst``.

    Args:
        tensor: this process's Tensor (the same dtype on every process).
        gather_list: on ``dst``, one Tensor per process of the group, entry r of rank r's
            shape, overwritten in place; None (or empty) on the other processes.
        dst: the global rank that receives (default 0 when ``group_dst`` is not given).
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.
        group_dst: ``dst`` as a rank of ``group``.

    Raises:
        ValueError: ``gather_list`` missing on ``dst`` or given elsewhere (PyTorch's errors).
        RuntimeError: an entry of ``gather_list`` does not match that rank's tensor.
    """
    pg = member_group(group, "gather")
    if pg is None:
        return None
    send = _array("gather", tensor)
    root = group_root("gather", pg, 0 if dst is None and group_dst is None else dst, group_dst)
    error, outputs = None, None
    try:
        if pg.rank == root:
            if not gather_list:
                raise ValueError("Argument ``gather_list`` must be specified on destination "
                                 "rank.")
            outputs = tensor_list("gather", "gather_list", gather_list, pg.world_size)
            same_dtype(outputs + [send])
        elif gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on "
                             "non-destination ranks.")
    except (TypeError, ValueError) as caught:
        error = caught
    if pg.context is None or pg.world_size == 1:
        if error is not None:
            raise error
        _check_shapes("gather", "gather_list", [o.shape for o in outputs], [send.shape])
        np.copyto(outputs[0], send)
        return Work() if async_op else None
    mine = (str(send.dtype), send.shape,
            None if outputs is None else [o.shape for o in outputs])
    found = agree(pg, "gather", mine, error)
    _check_same_dtype("gather", found)
    _check_shapes("gather", "gather_list", found[root][2], [shape for _, shape, _ in found])
    payload = as_bytes(send)
    if pg.rank != root:
        pg.context.run("gather", pg.context.comm.Gatherv, payload, None, root=root,
                       sent=payload.nbytes)
        return Work() if async_op else None
    counts = [o.nbytes for o in outputs]
    received = np.empty(sum(counts), dtype=np.uint8)
    layout = (counts, _starts(counts))
    pg.context.run("gather", pg.context.comm.Gatherv, payload, [received, layout], root=root,
                   sent=payload.nbytes, received=received.nbytes)
    _unpack(received, outputs)
    return Work() if async_op else None


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None,
            group: ProcessGroup | None = None, async_op: bool = False,
            group_src: int | None = None) -> Work | None:
    """Process ``src``'s ``scatter_list[r]``, written into process r's ``tensor``, in place.

    Args:
        tensor: where this process's part goes.
        scatter_list: on ``src``, one Tensor per process of the group, entry r of rank r's
            ``tensor`` shape and dtype; None (or empty) on the other processes.
        src: the global rank that sends (default 0 when ``group_src`` is not given).
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.
        group_src: ``src`` as a rank of ``group``.

    Raises:
        ValueError: ``scatter_list`` missing on ``src`` or given elsewhere (PyTorch's errors).
        RuntimeError: an entry of ``scatter_list`` does not match that rank's tensor.
    """
    pg = member_group(group, "scatter")
    if pg is None:
        return None
    out = _array("scatter", tensor)
    root = group_root("scatter", pg, 0 if src is None and group_src is None else src, group_src)
    error, inputs = None, None
    try:
        if pg.rank == root:
            if not scatter_list:
                raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
            inputs = tensor_list("scatter", "scatter_list", scatter_list, pg.world_size)
            same_dtype(inputs + [out])
        elif scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source "
                             "ranks.")
    except (TypeError, ValueError) as caught:
        error = caught
    if pg.context is None or pg.world_size == 1:
        if error is not None:
            raise error
        _check_shapes("scatter", "scatter_list", [i.shape for i in inputs], [out.shape])
        np.copyto(out, inputs[0])
        return Work() if async_op else None
    mine = (str(out.dtype), out.shape, None if inputs is None else [i.shape for i in inputs])
    found = agree(pg, "scatter", mine, error)
    _check_same_dtype("scatter", found)
    _check_shapes("scatter", "scatter_list", found[root][2], [shape for _, shape, _ in found])
    received = np.empty(out.nbytes, dtype=np.uint8)
    if pg.rank != root:
        pg.context.run("scatter", pg.context.comm.Scatterv, None, received, root=root,
                       received=received.nbytes)
    else:
        payload = np.concatenate([as_bytes(i) for i in inputs])
        counts = [i.nbytes for i in inputs]
        layout = (counts, _starts(counts))
        pg.context.run("scatter", pg.context.comm.Scatterv, [payload, layout], received,
                       root=root, sent=payload.nbytes, received=received.nbytes)
    _unpack(received, [out])
    return Work() if async_op else None


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Combine ``input_list[r]`` over the processes into process r's ``output``, in place.

    Args:
        output: this process's result; the shape and dtype of every ``input_list`` entry.
        input_list: one Tensor per process of the group, the same shapes on every process.
        op: a ``ReduceOp``, as for ``all_reduce``.
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.

    Raises:
        RuntimeError: the shapes or dtypes differ (within a process or between processes).
    """
    pg = member_group(group, "reduce_scatter")
    if pg is None:
        return None
    out = _array("reduce_scatter", output)
    check_op("reduce_scatter", op, out)
    inputs = tensor_list("reduce_scatter", "input_list", input_list, pg.world_size)
    same_dtype(inputs + [out])
    _check_shapes("reduce_scatter", "input_list", [i.shape for i in inputs],
                  [out.shape] * pg.world_size)
    if pg.context is None or pg.world_size == 1:
        np.copyto(out, inputs[0])
        return Work() if async_op else None
    agree(pg, "reduce_scatter", (str(out.dtype), out.shape), None, same=True)
    send = np.concatenate([np.ascontiguousarray(i).reshape(-1) for i in inputs])
    received = np.empty(out.size, dtype=out.dtype)
    pg.context.run("reduce_scatter", pg.context.comm.Reduce_scatter_block, send, received,
                   op=mpi_op(op), sent=send.nbytes, received=received.nbytes)
    if op is ReduceOp.AVG:
        np.divide(received, received.dtype.type(pg.world_size), out=received)
    np.copyto(out, received.reshape(out.shape))
    return Work() if async_op else None


def all_to_all(output_tensor_list: list[Tensor], input_tensor_list: list[Tensor],
               group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Process i's ``input_tensor_list[j]``, written into process j's
    ``output_tensor_list[i]``, in place.

    Args:
        output_tensor_list: one Tensor per process of the group; entry i must match the
            shape of what process i sends here.
        input_tensor_list: one Tensor per process of the group (any shapes, one dtype).
        group: the process group (None: the default group).
        async_op: return a ``Work`` (already complete) instead of None.

    Raises:
        RuntimeError: what a process sends does not match what its receiver expects.
    """
    pg = member_group(group, "all_to_all")
    if pg is None:
        return None
    size = pg.world_size
    outputs = tensor_list("all_to_all", "output_tensor_list", output_tensor_list, size)
    inputs = tensor_list("all_to_all", "input_tensor_list", input_tensor_list, size)
    same_dtype(outputs + inputs)
    if pg.context is None or size == 1:
        _check_shapes("all_to_all", "output_tensor_list", [outputs[0].shape],
                      [inputs[0].shape])
        np.copyto(outputs[0], inputs[0])
        return Work() if async_op else None
    mine = (str(inputs[0].dtype), [i.shape for i in inputs], [o.shape for o in outputs])
    found = agree(pg, "all_to_all", mine, None)
    _check_same_dtype("all_to_all", found)
    for receiver in range(size):
        sent_here = [found[sender][1][receiver] for sender in range(size)]
        _check_shapes("all_to_all", f"output_tensor_list (of rank {receiver})",
                      found[receiver][2], sent_here)
    send = np.concatenate([as_bytes(i) for i in inputs])
    send_counts = [i.nbytes for i in inputs]
    receive_counts = [o.nbytes for o in outputs]
    received = np.empty(sum(receive_counts), dtype=np.uint8)
    pg.context.run("all_to_all", pg.context.comm.Alltoallv, [send, (send_counts, _starts(
        send_counts))], [received, (receive_counts, _starts(receive_counts))],
        sent=send.nbytes, received=received.nbytes)
    _unpack(received, outputs)
    return Work() if async_op else None


def _starts(counts: list[int]) -> list[int]:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()


def _unpack(received: np.ndarray, outputs: list[np.ndarray]) -> None:
    """Copy consecutive byte runs of ``received`` into ``outputs`` (any strides)."""
    offset = 0
    for out in outputs:
        part = received[offset:offset + out.nbytes].view(out.dtype).reshape(out.shape)
        np.copyto(out, part)
        offset += out.nbytes


def _check_same_dtype(what: str, found: list) -> None:
    for rank, description in enumerate(found):
        if description[0] != found[0][0]:
            raise RuntimeError(f"{what}: rank {rank} sends {description[0]} tensors, rank 0 "
                               f"{found[0][0]}")


def _check_shapes(what: str, name: str, expected, sent) -> None:
    """Raise unless each entry of ``name`` (shapes ``expected``) has the shape of what
    rank r sends (``sent[r]``)."""
    for rank, (want, got) in enumerate(zip(expected, sent)):
        if tuple(want) != tuple(got):
            raise RuntimeError(f"{what}: {name}[{rank}] has shape {tuple(want)}, but rank "
                               f"{rank}'s tensor has shape {tuple(got)}")
