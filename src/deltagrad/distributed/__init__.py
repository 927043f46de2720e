"""PyTorch's ``torch.distributed`` over MPI: the default process group and its collectives.

Start the processes with ``mpiexec -n N``; each calls ``init_process_group()`` and trains with
``deltagrad.nn.parallel.DistributedDataParallel``. A process started without MPI is a world of
one. The MPI code underneath is ``deltagrad.parallel``; see docs/distributed.md.
"""

from .collectives import ReduceOp, Work, all_gather, all_reduce, barrier, broadcast
from .process_group import (
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
)

__all__ = [
    "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_reduce", "barrier", "broadcast",
    "destroy_process_group", "get_backend", "get_rank", "get_world_size",
    "init_process_group", "is_available", "is_gloo_available", "is_initialized",
    "is_mpi_available",
]
