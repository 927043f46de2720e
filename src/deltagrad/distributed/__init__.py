"""PyTorch's ``torch.distributed`` over MPI: process groups, collectives and messages.

Start the processes with ``mpiexec -n N``; each calls ``init_process_group()`` and trains with
``deltagrad.nn.parallel.DistributedDataParallel``. A process started without MPI is a world of
one. The MPI code underneath is ``deltagrad.parallel``; see docs/distributed.md.
"""

# (rpc and device_mesh are attributes after `import torch.distributed`, as in PyTorch;
# diffusers reads torch.distributed.device_mesh.DeviceMesh in an annotation)
from . import device_mesh, distributed_c10d, rpc  # noqa: F401
from ._extras import (
    DebugLevel,
    P2POp,
    batch_isend_irecv,
    default_pg_timeout,
    get_debug_level,
    get_default_backend_for_device,
    get_node_local_rank,
    is_backend_available,
    set_debug_level,
    set_debug_level_from_env,
)
from ._unsupported import unsupported_function
from .collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    monitored_barrier,
    reduce,
)
from .device_mesh import DeviceMesh, init_device_mesh
from .objects import (
    all_gather_object,
    broadcast_object_list,
    gather_object,
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from .point_to_point import irecv, isend, recv, send
from .process_group import (
    Backend,
    GroupMember,
    ProcessGroup,
    _rank_not_in_group,  # noqa: F401 - PyTorch's private helper, which libraries call
    destroy_process_group,
    get_backend,
    get_global_rank,
    get_group_rank,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
)
from .rendezvous import register_rendezvous_handler, rendezvous
from .scatter_gather import all_to_all, gather, reduce_scatter, scatter
from .store import DistError, DistStoreError, FileStore, HashStore, PrefixStore, Store, TCPStore

# Tensor-in-tensor-out collectives deltagrad has not written yet (transformers imports them at
# load time): they raise NotImplementedError naming themselves when called.
all_gather_into_tensor = unsupported_function("distributed", "all_gather_into_tensor")
all_to_all_single = unsupported_function("distributed", "all_to_all_single")
reduce_scatter_tensor = unsupported_function("distributed", "reduce_scatter_tensor")
distributed_c10d.__dict__.update(  # (the module PyTorch defines them in: the same objects)
    all_gather_into_tensor=all_gather_into_tensor, all_to_all_single=all_to_all_single,
    reduce_scatter_tensor=reduce_scatter_tensor)

__all__ = [
    "Backend", "DeviceMesh", "DistError", "DistStoreError", "FileStore", "HashStore",
    "PrefixStore", "Store", "TCPStore", "GroupMember", "ProcessGroup", "ReduceOp", "Work",
    "all_gather",
    "all_gather_into_tensor", "all_gather_object", "all_reduce", "all_to_all",
    "all_to_all_single", "barrier", "broadcast", "reduce_scatter_tensor",
    "broadcast_object_list", "destroy_process_group", "gather", "get_backend",
    "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank",
    "get_world_size", "group", "init_device_mesh", "init_process_group", "irecv", "is_available",
    "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
    "is_torchelastic_launched", "isend",
    "monitored_barrier", "new_group", "recv", "reduce", "reduce_scatter", "scatter", "send",
    "register_rendezvous_handler", "rendezvous", "gather_object", "recv_object_list",
    "scatter_object_list", "send_object_list", "DebugLevel", "P2POp", "batch_isend_irecv",
    "default_pg_timeout", "get_debug_level", "get_default_backend_for_device",
    "get_node_local_rank", "is_backend_available", "set_debug_level",
    "set_debug_level_from_env",
]
