"""The default process group: PyTorch's ``init_process_group`` and friends, over MPI.

Under ``mpiexec`` the group is MPI's world (``deltagrad.parallel``); in a process started
without MPI it is a world of one, which needs no MPI at all.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from datetime import timedelta

from ..parallel import Context, GradientReducer, init

__all__ = [
    "Backend", "GroupMember", "ProcessGroup", "default_group", "destroy_process_group",
    "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_process_group", "is_available", "is_gloo_available",
    "is_initialized", "is_mpi_available", "is_nccl_available", "new_group",
]

# PyTorch's default collective timeout for CPU backends.
DEFAULT_PG_TIMEOUT = timedelta(minutes=30)
# Set by mpiexec in every process it starts (Open MPI, MPICH/Hydra and Intel MPI, PMIx).
_MPI_LAUNCH_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK")
_GPU_BACKENDS = ("nccl", "xccl", "ucc", "hccl")
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")


class Backend(str):
    """PyTorch's backend names: ``Backend.GLOO == "gloo"``; ``Backend("GLOO")`` is ``"gloo"``.

    deltagrad accepts ``GLOO`` and ``MPI`` (both run over MPI); the others are here so that
    code naming them runs (and ``init_process_group`` says they are not available).
    """

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"

    def __new__(cls, name: str) -> str:
        if not isinstance(name, str):
            raise ValueError("Backend constructor parameter must be string-ish")
        return getattr(Backend, name.upper(), name.lower())


class ProcessGroup:
    """Processes that run collectives together: this one's rank, their number, how they talk.

    The default group is made by ``init_process_group`` (``default_group()`` returns it),
    others by ``new_group``.

    Attributes:
        backend: ``"gloo"`` or ``"mpi"`` (deltagrad moves bytes with MPI either way).
        rank, world_size: this process's number in the group and the group's size.
        ranks: the group's members as ranks of the default group (``ranks[rank]`` is this
            process's global rank).
        context: the ``deltagrad.parallel.Context`` on the group's MPI communicator; None in a
            group of one made without MPI, where every collective is local.
    """

    def __init__(self, backend: str, context: Context | None, ranks: list[int] | None = None):
        self.backend, self.context = Backend(backend), context
        self.rank = 0 if context is None else context.rank
        self.world_size = 1 if context is None else context.world_size
        self.ranks = list(range(self.world_size)) if ranks is None else list(ranks)

    def __repr__(self) -> str:
        return (f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, "
                f"world_size={self.world_size})")

    def size(self) -> int:
        """The number of processes in the group (PyTorch's ``ProcessGroup.size()``)."""
        return self.world_size

    def group_rank(self, global_rank: int) -> int:
        """The group rank of the default group's ``global_rank``.

        Raises:
            ValueError: that process is not in this group (PyTorch's error).
        """
        if global_rank not in self.ranks:
            raise ValueError(f"Global rank {global_rank} is not part of group {self}")
        return self.ranks.index(global_rank)

    def global_rank(self, group_rank: int) -> int:
        """The default group's rank of this group's ``group_rank``.

        Raises:
            ValueError: the group has no such rank (PyTorch's error).
        """
        if not 0 <= group_rank < self.world_size:
            raise ValueError(f"Group rank {group_rank} is not part of group {self}")
        return self.ranks[group_rank]

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


class _WorldMeta(type):
    """Gives ``group.WORLD`` and ``GroupMember.WORLD``: the default group (None before
    ``init_process_group``), read when asked, as in PyTorch."""

    @property
    def WORLD(cls) -> ProcessGroup | None:  # noqa: N802 (PyTorch's name)
        return _default


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD``: the default group; ``NON_GROUP_MEMBER``: what ``new_group``
    returns to the processes it leaves out (collectives given it do nothing)."""

    NON_GROUP_MEMBER = -100


class group(metaclass=_WorldMeta):  # noqa: N801 (PyTorch's name)
    """``group.WORLD``: the default process group (None before ``init_process_group``)."""


_default: ProcessGroup | None = None
_subgroups: list[ProcessGroup] = []  # made by new_group, freed with the default group


def is_available() -> bool:
    """Whether the distributed package can be used: always (a world of one needs no MPI)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed, which worlds of more than one process need."""
    return importlib.util.find_spec("mpi4py") is not None


def is_gloo_available() -> bool:
    """Whether ``backend="gloo"`` is accepted: always (deltagrad runs it over MPI)."""
    return True


def is_nccl_available() -> bool:
    """Whether the NCCL (GPU) backend can be used: never, deltagrad runs on the CPU."""
    return False


def is_torchelastic_launched() -> bool:
    """Whether this process was started by torchrun (torchelastic sets TORCHELASTIC_RUN_ID)."""
    return os.environ.get("TORCHELASTIC_RUN_ID") is not None


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
        store: a ``Store`` (HashStore, FileStore), for a world of one (``world_size=1``)
            only; several processes need MPI (NotImplementedError).
        group_name, pg_options, device_id: PyTorch's; only their defaults (and
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
    if store is not None and init_method is not None:
        raise AssertionError("Cannot specify both init_method and store.")
    if store is not None and not world_size > 0:  # (PyTorch's checks, before the backend's)
        raise AssertionError("world_size must be positive if using store")
    if store is not None and not rank >= 0:
        raise AssertionError("rank must be non-negative if using store")
    if store is not None and (name == "mpi" or _started_by_mpiexec() or world_size != 1):
        # (a store is a rendezvous for a world of one only: accelerate's debug_launcher
        # with one process; several processes find each other through MPI)
        raise NotImplementedError(
            f"deltagrad.distributed: init_process_group(store=...) with world_size="
            f"{world_size}: a store-based rendezvous of several processes (FileStore, "
            "TCPStore) is not supported; start the processes with mpiexec instead")
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
    _subgroups.clear()


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Undo ``init_process_group``; ``is_initialized()`` is False afterwards.

    Raises:
        AssertionError: there is no process group (PyTorch's error).
    """
    global _default
    if _default is None:
        raise AssertionError("Process group cannot be None")
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    if group is not None and group is not _default:
        if group not in _subgroups:
            raise ValueError(f"Invalid process group specified: {group!r}")
        _subgroups.remove(group)
        if group.context is not None:
            group.context.close()
        return
    for subgroup in _subgroups:  # PyTorch destroys every group with the default one
        if subgroup.context is not None:
            subgroup.context.close()
    _subgroups.clear()
    if _default.context is not None:
        _default.context.close()
    _default = None


def new_group(ranks=None, timeout: timedelta | None = None, backend: str | None = None,
              pg_options=None, use_local_synchronization: bool = False, group_desc=None,
              device_id=None, sort_ranks: bool = True):
    """A process group of some of the default group's processes (an MPI sub-communicator).

    Every process of the default group must call it, with the same ``ranks``, including the
    processes left out, as in PyTorch.

    Args:
        ranks: global ranks of the members (None: all of them). With ``sort_ranks`` (the
            default) group rank r is the r-th smallest member; otherwise the order given.
        timeout: how long the group's collectives may wait (default: the default group's).
        backend: None (the default group's), ``"gloo"`` or ``"mpi"``.
        pg_options, group_desc, device_id: PyTorch's; only their defaults (and ``device_id``
            "cpu") are supported. use_local_synchronization: accepted; every process of the
            default group takes part in the split either way.

    Returns:
        A ``ProcessGroup`` on the members; ``GroupMember.NON_GROUP_MEMBER`` on the others.

    Raises:
        ValueError: before ``init_process_group``, a rank outside the world or listed twice.
        RuntimeError: a GPU backend.
    """
    default = default_group()
    name = default.backend if backend is None else Backend(str(backend))
    if name in _GPU_BACKENDS:
        raise RuntimeError(f"new_group: backend {name!r} is for GPUs; deltagrad runs on the CPU")
    if name not in ("gloo", "mpi"):
        raise ValueError(f"new_group: unknown backend {backend!r}")
    if pg_options is not None or (device_id is not None and str(device_id) != "cpu"):
        raise ValueError("new_group: pg_options and a device_id other than 'cpu' are not "
                         "supported")
    members = list(range(default.world_size)) if ranks is None else [int(r) for r in ranks]
    if sort_ranks:
        members.sort()
    if len(set(members)) != len(members):
        raise ValueError(f"new_group: ranks {list(ranks)} lists a rank twice")
    for rank in members:
        if not 0 <= rank < default.world_size:
            raise ValueError(f"new_group: rank {rank} is not in the world of "
                             f"{default.world_size} processes")
    context = default.context
    seconds = (context.timeout if context is not None else DEFAULT_PG_TIMEOUT.total_seconds())
    if timeout is not None:
        seconds = timeout.total_seconds()
    sub = None
    if context is not None:
        from mpi4py import MPI  # the default group has one: MPI is imported already

        me = context.rank
        color = 0 if me in members else MPI.UNDEFINED
        key = members.index(me) if me in members else 0
        communicator = context.run("new_group", context.comm.Split, color, key)
        if communicator == MPI.COMM_NULL:
            return GroupMember.NON_GROUP_MEMBER
        sub = Context(communicator, timeout=seconds, abort_on_exception=False)
    elif not members:
        return GroupMember.NON_GROUP_MEMBER
    made = ProcessGroup(name, sub, members)
    _subgroups.append(made)
    return made


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the default group); -1 if not a member."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return resolve_group(group).rank


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of processes in ``group`` (default: the default group); -1 if not a member."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return resolve_group(group).world_size


def get_backend(group: ProcessGroup | None = None) -> str:
    """The backend the group was made with: ``"gloo"`` or ``"mpi"``."""
    return resolve_group(group).backend


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """``global_rank`` (a rank of the default group) as a rank of ``group``."""
    return resolve_group(group).group_rank(global_rank)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """``group``'s ``group_rank`` as a rank of the default group."""
    return resolve_group(group).global_rank(group_rank)


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The members of ``group`` as ranks of the default group, in group-rank order."""
    return list(resolve_group(group).ranks)


def resolve_group(group: ProcessGroup | None) -> ProcessGroup:
    """``group``, or the default group for None.

    Raises:
        ValueError: no ``init_process_group`` yet, ``group`` was destroyed, or this process
            is not in it (``GroupMember.NON_GROUP_MEMBER``).
    """
    default = default_group()
    if group is None or group is default:
        return default
    if group is GroupMember.NON_GROUP_MEMBER:
        raise ValueError("this process is not a member of the group (new_group left it out)")
    if group not in _subgroups:
        raise ValueError(f"Invalid process group specified: {group!r} (destroyed, or not "
                         "made by this process's init_process_group/new_group)")
    return group


def member_group(group, what: str) -> ProcessGroup | None:
    """The group a collective runs on, or None (with PyTorch's warning) on a process that
    ``new_group`` left out, where the collective does nothing."""
    if group is GroupMember.NON_GROUP_MEMBER:
        rank = -1 if _default is None else _default.rank
        warnings.warn(f"Running {what} on global rank {rank} which does not belong to the "
                      "given group.", stacklevel=3)
        return None
    return resolve_group(group)


def _started_by_mpiexec() -> bool:
    return any(name in os.environ for name in _MPI_LAUNCH_VARIABLES)


def _rank_not_in_group(group) -> bool:
    """Whether this process is outside ``group``: PyTorch's private helper, which libraries
    call before a collective (pytorch-ignite's all_gather); ``None`` is the default group."""
    return group is not None and group == GroupMember.NON_GROUP_MEMBER
