"""Gradient averaging over the ranks: dense gradients in buckets, row-sparse ones as rows."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.api.sparse import sparse_tensor
from .._engine.sparse import RowSparseGrad
from ._params import array_of, parameter_list, signature
from .context import Context

__all__ = ["DEFAULT_BUCKET_BYTES", "GradientReducer", "allreduce_gradients"]

DEFAULT_BUCKET_BYTES = 4 * 2**20


@dataclass
class _Bucket:
    """Dense gradients of one dtype that travel as one flat array."""

    dtype: np.dtype
    members: list[int]  # parameter numbers, in the order backward produces them
    offsets: list[int]
    size: int


class GradientReducer:
    """Averages gradients over the ranks: dense ones bucketed, row-sparse ones gathered.

    Dense gradients are copied into flat buckets of about ``bucket_bytes`` (parameters taken
    in reverse order, the order backward produces their gradients), one all-reduce each. With
    ``overlap``, a hook on each parameter copies its gradient as soon as backward has computed
    it, and a bucket's non-blocking all-reduce starts as soon as it is full, while backward goes
    on with the layers below; buckets always start in the same order on every rank, as MPI
    requires. Without it, ``reduce`` runs MPI's blocking all-reduces after backward. Overlap
    pays when much backward work remains after the first buckets fill (deep models; not the
    window tagger, whose backward has little left to do after its dense layers).

    A row-sparse gradient (``RowSparseGrad``) travels as its rows: each rank coalesces its own
    (sums repeated words: fewer bytes), every rank's are gathered, concatenated in rank order,
    coalesced again and scaled by ``1 / world_size``. The result touches exactly the rows a
    single process would have touched with the whole global batch, so lazy optimizer updates
    see the same rows.

    Which parameters are dense and which row-sparse is learnt from the first ``reduce`` (a
    parameter without a gradient anywhere then counts as dense); overlap starts from the second
    step. A parameter that has a gradient on no rank keeps ``grad = None``.

    Args:
        context: the job's ``Context``.
        parameters: a Module or Tensors, the same on every rank; those that do not require
            grad are skipped.
        bucket_bytes: the target size of one dense message.
        overlap: start dense all-reduces during backward. It assumes one ``backward`` per
            ``reduce``; accumulate gradients over several backward passes with
            ``overlap=False``. It must be the same on every rank.
    """

    def __init__(self, context: Context, parameters, *,
                 bucket_bytes: int = DEFAULT_BUCKET_BYTES, overlap: bool = True):
        self.context = context
        self.params = [p for p in parameter_list(parameters) if p.requires_grad]
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("a parameter is listed twice")
        if not bucket_bytes > 0:
            raise ValueError(f"bucket_bytes must be positive, got {bucket_bytes!r}")
        self.bucket_bytes = int(bucket_bytes)
        self.overlap = overlap
        self.signature = signature(self.params)
        self.sparse: list[bool] | None = None  # per parameter; fixed by the first reduce
        self.buckets: list[_Bucket] = []
        self._slot: dict[int, tuple[int, int]] = {}  # parameter number -> (bucket, offset)
        self._hooks: list = []
        self.launched_in_backward = 0  # buckets whose all-reduce started during backward
        self._new_step()

    def __repr__(self) -> str:
        sizes = [b.size * np.dtype(b.dtype).itemsize for b in self.buckets]
        return (f"GradientReducer({len(self.params)} parameters, buckets of {sizes} bytes, "
                f"overlap={self.overlap})")

    def _new_step(self) -> None:
        count = len(self.buckets)
        self._buffers: list[np.ndarray | None] = [None] * count
        self._filled = [0] * count
        self._copied = [False] * len(self.params)
        self._requests: list = [None] * count
        self._launched = 0

    # ---------------------------------------------------------------- layout

    def _build_layout(self, codes: np.ndarray) -> None:
        """Fix which parameters are row-sparse and pack the dense ones into buckets."""
        sparse_anywhere = (codes >= 0).any(axis=0)
        dense_anywhere = (codes == _DENSE).any(axis=0)
        both = np.flatnonzero(sparse_anywhere & dense_anywhere)
        if both.size:
            raise ValueError(f"parameter {int(both[0])} (shape {self.params[both[0]].shape}) has "
                             "a row-sparse gradient on some ranks and a dense one on others")
        self.sparse = [bool(s) for s in sparse_anywhere]
        open_bucket: dict[str, int] = {}  # dtype -> the number of its bucket being filled
        for index in reversed(range(len(self.params))):
            if self.sparse[index]:
                continue
            param = self.params[index]
            dtype = np.dtype(param.dtype)
            number = open_bucket.get(dtype.str)
            size = param.numel()
            if number is None or (self.buckets[number].size + size) * dtype.itemsize \
                    > self.bucket_bytes:
                number = open_bucket[dtype.str] = len(self.buckets)
                self.buckets.append(_Bucket(dtype, [], [], 0))
            bucket = self.buckets[number]
            self._slot[index] = (number, bucket.size)
            bucket.members.append(index)
            bucket.offsets.append(bucket.size)
            bucket.size += size
        if self.overlap and self.context.world_size > 1:
            for index, param in enumerate(self.params):
                if not self.sparse[index]:
                    self._hooks.append(param.register_hook(self._hook_for(index)))

    def remove_hooks(self) -> None:
        """Detach the backward hooks (the reducer then works as with ``overlap=False``)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        self.overlap = False

    # ---------------------------------------------------------------- during backward

    def _hook_for(self, index: int):
        def hook(grad):
            self._copy_during_backward(index, grad)

        return hook

    def _copy_during_backward(self, index: int, grad) -> None:
        started = time.perf_counter()
        bucket_number, offset = self._slot[index]
        if bucket_number < self._launched:
            raise RuntimeError(
                "deltagrad.parallel: a second backward before GradientReducer.reduce(): "
                "with overlap=True each reduce() follows exactly one backward; accumulate "
                "gradients with overlap=False")
        param = self.params[index]
        g = array_of(grad)
        if not isinstance(g, np.ndarray) or g.shape != param.shape:
            return  # not a plain dense gradient: reduce() takes it from .grad
        target = self._view(bucket_number, offset, param)
        existing = param.grad
        if existing is None:
            np.copyto(target, g)
        else:
            np.add(_dense(array_of(existing)), g,
                   out=target)
        if not self._copied[index]:
            self._copied[index] = True
            self._filled[bucket_number] += 1
        self._launch_full_buckets()
        self.context.stats.seconds += time.perf_counter() - started

    def _view(self, bucket_number: int, offset: int, param) -> np.ndarray:
        buffer = self._buffers[bucket_number]
        if buffer is None:
            bucket = self.buckets[bucket_number]
            # A new buffer each step: the averaged gradients are views into it.
            buffer = self._buffers[bucket_number] = np.empty(bucket.size, dtype=bucket.dtype)
        return buffer[offset:offset + param.numel()].reshape(param.shape)

    def _launch_full_buckets(self) -> None:
        while (self._launched < len(self.buckets)
               and self._filled[self._launched] == len(self.buckets[self._launched].members)):
            self._launch(self._launched)
            self.launched_in_backward += 1
        started = [r for r in self._requests if r is not None]
        if started:
            self.context._MPI.Request.Testall(started)  # lets MPI progress them

    def _launch(self, bucket_number: int) -> None:
        """Start a bucket's all-reduce (non-blocking: with overlap, all buckets are)."""
        context = self.context
        buffer = self._buffers[bucket_number]
        context._count(buffer.nbytes, buffer.nbytes)
        self._requests[bucket_number] = context._call(
            context.comm.Iallreduce, context._MPI.IN_PLACE, buffer, op=context._MPI.SUM)
        self._launched = bucket_number + 1

    # ---------------------------------------------------------------- after backward

    def reduce(self) -> None:
        """Average every parameter's ``.grad`` over the ranks, in place of the local one.

        Call it on every rank after ``backward`` (or instead of it, on a rank with no data
        this step: it then contributes zeros) and before clipping and ``optimizer.step()``.
        Afterwards every rank holds the same gradients, row-sparse ones coalesced (also with a
        single rank) and, with several ranks, dense ones as views into the step's buckets.
        """
        context = self.context
        if context.world_size == 1:  # nothing to average; leave the same kind of result
            for param in self.params:
                if isinstance(array_of(param.grad), RowSparseGrad):
                    param.grad = param.grad.coalesce()
            self._new_step()
            return
        with context._guard("allreduce_gradients"):
            self._reduce()
        self._new_step()

    def _reduce(self) -> None:
        context, MPI = self.context, self.context._MPI
        codes = self._local_codes()
        first = self.sparse is None
        if first:
            gathered = context._allgather_int64(codes)
            self._check_signatures(gathered)
            self._build_layout(gathered[:, :-1])
            self._new_step()
        # Dense buckets, in order: the ones backward has not started yet. Without overlap a
        # blocking all-reduce (MPI's tuned algorithms, faster than the non-blocking ones).
        for bucket_number in range(self._launched, len(self.buckets)):
            self._fill_from_grads(bucket_number)
            if self.overlap:
                self._launch(bucket_number)
            else:
                buffer = self._buffers[bucket_number]
                context._count(buffer.nbytes, buffer.nbytes)
                context._call(context.comm.Allreduce, MPI.IN_PLACE, buffer, op=MPI.SUM)
        if not first:
            gathered = context._allgather_int64(codes)
            self._check_signatures(gathered)
        codes = gathered[:, :-1]
        self._gather_sparse(codes)
        started = [r for r in self._requests if r is not None]
        if started:
            context._call(MPI.Request.Waitall, started)
        scale = 1.0 / context.world_size
        present = (codes != _ABSENT).any(axis=0)
        for bucket_number, bucket in enumerate(self.buckets):
            buffer = self._buffers[bucket_number]
            np.multiply(buffer, buffer.dtype.type(scale), out=buffer)
            for index, offset in zip(bucket.members, bucket.offsets):
                param = self.params[index]
                param.grad = (from_numpy(buffer[offset:offset + param.numel()]
                                         .reshape(param.shape)) if present[index] else None)

    def _local_codes(self) -> np.ndarray:
        """int64 ``[P + 1]``: per parameter -1 dense, -2 none, or its sparse row count; then
        the parameters' signature."""
        codes = np.empty(len(self.params) + 1, dtype=np.int64)
        for index, param in enumerate(self.params):
            grad = param.grad
            if grad is None:
                codes[index] = _ABSENT
            elif self.sparse is not None and not self.sparse[index]:
                codes[index] = _DENSE
            elif isinstance(array_of(grad), RowSparseGrad):
                param.grad = grad = grad.coalesce()  # fewer bytes to send: repeated words
                codes[index] = array_of(grad).indices.size
            elif self.sparse is not None:  # a dense gradient for a row-sparse parameter
                codes[index] = param.shape[0]
            else:
                codes[index] = _DENSE
        codes[-1] = self.signature
        return codes

    def _check_signatures(self, gathered: np.ndarray) -> None:
        differing = np.flatnonzero(gathered[:, -1] != gathered[0, -1])
        if differing.size:
            raise ValueError(f"deltagrad.parallel: rank {int(differing[0])} reduces "
                             "gradients of different parameters (shapes or dtypes) than rank 0")

    def _fill_from_grads(self, bucket_number: int) -> None:
        bucket = self.buckets[bucket_number]
        for index, offset in zip(bucket.members, bucket.offsets):
            if self._copied[index]:
                continue
            param = self.params[index]
            target = self._view(bucket_number, offset, param)
            grad = param.grad
            if grad is None:
                target.fill(0)
            else:
                np.copyto(target, _dense(array_of(grad)))

    def _gather_sparse(self, codes: np.ndarray) -> None:
        """Gather every rank's row-sparse gradients; each becomes the coalesced, averaged
        union of the ranks' rows."""
        sparse = [i for i, s in enumerate(self.sparse) if s]
        if not sparse:
            return
        world_size = self.context.world_size
        rows = np.maximum(codes[:, sparse], 0)  # [ranks, sparse parameters]
        local = [_rows_of(self.params[i]) for i in sparse]
        # One message for every table's row indices, one per dtype for the rows' values.
        indices = self._gatherv(np.concatenate([i for i, _ in local]), rows.sum(axis=1))
        index_starts = _starts(rows.sum(axis=1))[:, None] + _starts_along(rows)
        groups: dict[str, list[int]] = {}
        for k, index in enumerate(sparse):
            groups.setdefault(np.dtype(self.params[index].dtype).str, []).append(k)
        for key, members in groups.items():
            widths = np.array([_row_width(self.params[sparse[k]]) for k in members])
            sizes = rows[:, members] * widths  # [ranks, members]
            values = self._gatherv(np.concatenate(
                [local[k][1].reshape(-1).astype(key, copy=False) for k in members]),
                sizes.sum(axis=1))
            value_starts = _starts(sizes.sum(axis=1))[:, None] + _starts_along(sizes)
            for j, k in enumerate(members):
                param = self.params[sparse[k]]
                if (codes[:, sparse[k]] == _ABSENT).all():
                    param.grad = None
                    continue
                index_parts = [indices[index_starts[r, k]:index_starts[r, k] + rows[r, k]]
                               for r in range(world_size)]
                value_parts = [values[value_starts[r, j]:value_starts[r, j] + sizes[r, j]]
                               for r in range(world_size)]
                merged = RowSparseGrad(
                    np.concatenate(index_parts),
                    np.concatenate(value_parts).reshape((-1,) + param.shape[1:]),
                    param.shape).coalesce()
                np.multiply(merged.values, merged.values.dtype.type(1.0 / world_size),
                            out=merged.values)
                param.grad = sparse_tensor(merged)

    def _gatherv(self, send: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Every rank's ``send`` (``counts[r]`` elements from rank r), concatenated."""
        context = self.context
        receive = np.empty(int(counts.sum()), dtype=send.dtype)
        context._count(send.nbytes, receive.nbytes)
        layout = (counts.tolist(), _starts(counts).tolist())
        context._call(context.comm.Allgatherv, send, [receive, layout])
        return receive


_DENSE, _ABSENT = -1, -2


def _rows_of(param) -> tuple[np.ndarray, np.ndarray]:
    """A row-sparse parameter's gradient as (indices, values); empty if none."""
    grad = param.grad
    if grad is None:
        return np.empty(0, dtype=np.int64), np.empty((0,) + param.shape[1:], dtype=param.dtype)
    grad = array_of(grad)
    if not isinstance(grad, RowSparseGrad):  # dense: all rows
        return np.arange(param.shape[0], dtype=np.int64), np.asarray(grad)
    return grad.indices, np.asarray(grad.values)


def _row_width(param) -> int:
    return int(np.prod(param.shape[1:], dtype=np.int64))


def _starts(counts: np.ndarray) -> np.ndarray:
    """Where each of consecutive blocks of ``counts`` elements starts."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _starts_along(counts: np.ndarray) -> np.ndarray:
    """``_starts`` of each row of a 2-d ``counts``."""
    return np.cumsum(counts, axis=1) - counts


def _dense(grad) -> np.ndarray:
    return grad.to_dense() if isinstance(grad, RowSparseGrad) else grad


# Each context's reducers for allreduce_gradients, by parameter list: the first reduce learns
# the layout (one extra collective), so a reducer is kept for the next call with those
# parameters. Weak: a context that is gone takes its reducers with it.
_REDUCERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def allreduce_gradients(context: Context, parameters, *,
                        bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> None:
    """Replace each parameter's ``.grad`` by its average over the ranks.

    Dense gradients travel in flat buckets of about ``bucket_bytes``; row-sparse ones
    (``Embedding(sparse=True)``) as their rows. Call it on every rank after ``backward``
    and before clipping and ``optimizer.step()``. For overlap with backward, keep a
    ``GradientReducer`` instead.

    Args:
        context: the job's ``Context``.
        parameters: a Module or Tensors, the same on every rank; those that do not require
            grad are skipped.
        bucket_bytes: the target size of one dense message.
    """
    params = [p for p in parameter_list(parameters) if p.requires_grad]
    key = tuple(id(p) for p in params)
    reducers = _REDUCERS.setdefault(context, {})
    reducer = reducers.get(key)
    if reducer is None or reducer.bucket_bytes != bucket_bytes:
        reducer = reducers[key] = GradientReducer(context, params, bucket_bytes=bucket_bytes,
                                                  overlap=False)
    reducer.reduce()
