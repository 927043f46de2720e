"""Data-parallel training over MPI (mpi4py): the job's context, gradient reducer and sampler.

``import deltagrad.parallel`` does not import mpi4py; ``init`` does. ``DistributedSampler`` and
``SingleProcess`` need no MPI at all. PyTorch's API over this code is ``deltagrad.distributed``
and ``deltagrad.nn.parallel.DistributedDataParallel``; the design is in docs/distributed.md.
"""

from .context import DEFAULT_TIMEOUT, REDUCE_OPS, CommStats, Context, init
from .data_parallel import DataParallel, SingleProcess, setup_data_parallel
from .reducer import DEFAULT_BUCKET_BYTES, GradientReducer, allreduce_gradients
from .sampler import DistributedSampler, Shard
from .watchdog import TIMEOUT_EXIT_CODE

__all__ = [
    "CommStats", "Context", "DEFAULT_BUCKET_BYTES", "DEFAULT_TIMEOUT", "DataParallel",
    "DistributedSampler", "GradientReducer", "REDUCE_OPS", "Shard", "SingleProcess",
    "TIMEOUT_EXIT_CODE", "allreduce_gradients", "init", "setup_data_parallel",
]
