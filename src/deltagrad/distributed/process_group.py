"""The default process group: PyTorch's ``init_process_group`` and friends, over MPI.

Under ``mpiexec`` the group is MPI's world (``deltagrad.parallel``); in a process started
without MPI it is a world of one, which needs no MPI at all.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import timedelta

from ..parallel import Context, GradientReducer, init

__all__ = [
    "ProcessGroup", "default_group", "destroy_process_group", "get_backend", "get_rank",
    "get_world_size", "init_process_group", "is_available", "is_gloo_available",
    "is_initialized", "is_mpi_available",
]

# PyTorch's default collective timeout for CPU backends.
DEFAULT_PG_TIMEOUT = timedelta(minutes=30)
# Set by mpiexec in every process it starts (Open MPI, MPICH/Hydra and Intel MPI, PMIx).
_MPI_LAUNCH_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK")
_GPU_BACKENDS = ("nccl", "xccl", "ucc", "hccl")
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")


class ProcessGroup:
    """The processes that train together: this one's rank, their number, and how they talk.

    Made by ``init_process_group``; ``default_group()`` returns it.

    Attributes:
        backend: ``"gloo"`` or ``"mpi"`` (deltagrad moves bytes with MPI either way).
        rank, world_size: this process's number and the number of processes.
        context: the MPI job's ``deltagrad.parallel.Context``; None in a world of one
            started without MPI, where every collective is a no-op.
    """

    def __init__(self, backend: str, context: Context | None):
        self.backend, self.context = backend, context
        self.rank = 0 if context is None else context.rank
        self.world_size = 1 if context is None else context.world_size

    def __repr__(self) -> str:
        return (f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, "
                f"world_size={self.world_size})")

    def broadcast_tensors(self, tensors, src: int = 0) -> None:
        """Overwrite every rank's ``tensors`` (same shapes everywhere) with rank ``src``'s."""
        if self.context is not None and self.world_size > 1:
            self.context.broadcast_parameters(list(tensors), root=src)

    def gradient_reducer(self, parameters, bucket_bytes: int) -> GradientReducer:
        """A ``GradientReducer`` that averages these parameters' gradients over the group."""
        if self.context is None:
            raise RuntimeError("a world of one process has no gradients to average")
        return GradientReducer(self.context, parameters, bucket_bytes=bucket_bytes,
                               overlap=False)


_default: ProcessGroup | None = None


def is_available() -> bool:
    """Whether the distributed package can be used: always (a world of one needs no MPI)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed, which worlds of more than one process need."""
    return importlib.util.find_spec("mpi4py") is not None


def is_gloo_available() -> bool:
    """Whether ``backend="gloo"`` is accepted: always (deltagrad runs it over MPI)."""
    return True


def is_initialized() -> bool:
    """Whether ``init_process_group`` has been called (and not undone)."""
    return _default is not None


def default_group() -> ProcessGroup:
    """The group ``init_process_group`` made.

    Raises:
        ValueError: there is none yet (PyTorch's error).
    """
    if _default is None:
        raise ValueError(_NOT_INITIALIZED)
    return _default


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Make the default process group, as ``torch.distributed.init_process_group``.

    The processes find each other through MPI, never through ``init_method`` or a store:
    started by ``mpiexec -n N``, they form MPI's world of N; started without it, the process is
    a world of one (with ``backend="mpi"``, MPI's world of one), as a PyTorch program run with
    ``world_size=1``.

    Args:
        backend: ``"gloo"``, ``"mpi"`` or None (``"gloo"``); GPU backends raise.
        init_method: accepted for compatibility and ignored (MPI does the rendezvous).
        timeout: how long a collective may wait for the other processes (default 30 minutes,
            PyTorch's); past it the whole job ends (see docs/distributed.md).
        world_size, rank: -1, or what MPI says they are (checked).
        store, group_name, pg_options, device_id: PyTorch's; only their defaults (and
            ``device_id`` "cpu") are supported.

    Raises:
        ValueError: the default group exists already, or ``world_size``/``rank`` disagree
            with the processes that were started.
        RuntimeError: a GPU backend, or a world of several processes started without MPI.
        ImportError: a world under ``mpiexec`` (or ``backend="mpi"``) without mpi4py.
    """
    global _default
    if _default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = "gloo" if backend is None else str(backend).lower()
    if name in _GPU_BACKENDS:
        raise RuntimeError(f"Distributed package doesn't have {name.upper()} built in: "
                           "deltagrad runs on the CPU; use backend='gloo' or 'mpi'")
    if name not in ("gloo", "mpi"):
        raise AssertionError(f"Unknown backend type {backend!r}: deltagrad supports 'gloo' "
                             "and 'mpi'")
    if store is not None:
        raise ValueError("deltagrad.distributed: store= is not supported: the processes find "
                         "each other through MPI (start them with mpiexec)")
    if device_id is not None and str(device_id) != "cpu":
        raise ValueError(f"deltagrad.distributed: device_id {device_id!r}: deltagrad runs on "
                         "the CPU")
    seconds = (DEFAULT_PG_TIMEOUT if timeout is None else timeout).total_seconds()
    context = None
    if name == "mpi" or _started_by_mpiexec():
        context = init(timeout=seconds)
        actual_size, actual_rank = context.world_size, context.rank
    else:
        actual_size, actual_rank = 1, 0
        wanted = world_size if world_size != -1 else int(os.environ.get("WORLD_SIZE", "1"))
        if wanted != 1:
            raise RuntimeError(
                f"deltagrad.distributed: a world of {wanted} processes needs MPI: start them "
                f"with mpiexec -n {wanted} (torchrun-style rendezvous is not supported)")
    if world_size not in (-1, actual_size) or rank not in (-1, actual_rank):
        if context is not None:
            context.close()
        raise ValueError(f"init_process_group: world_size={world_size}, rank={rank}, but this "
                         f"is rank {actual_rank} of {actual_size} processes")
    _default = ProcessGroup(name, context)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Undo ``init_process_group``; ``is_initialized()`` is False afterwards.

    Raises:
        AssertionError: there is no process group (PyTorch's error).
    """
    global _default
    if _default is None or (group is not None and group is not _default):
        raise AssertionError("Process group cannot be None")
    if _default.context is not None:
        _default.context.close()
    _default = None


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in the default group (0 .. world size - 1)."""
    return resolve_group(group).rank


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of processes in the default group."""
    return resolve_group(group).world_size


def get_backend(group: ProcessGroup | None = None) -> str:
    """The backend the default group was made with: ``"gloo"`` or ``"mpi"``."""
    return resolve_group(group).backend


def resolve_group(group: ProcessGroup | None) -> ProcessGroup:
    """The default group, checking that ``group`` is None or that group (the only one)."""
    default = default_group()
    if group is not None and group is not default:
        raise ValueError("deltagrad.distributed has only the default process group "
                         "(pass group=None)")
    return default


def _started_by_mpiexec() -> bool:
    return any(name in os.environ for name in _MPI_LAUNCH_VARIABLES)
