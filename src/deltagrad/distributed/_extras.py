"""More of ``torch.distributed``'s names: the debug level, backend queries, the node-local
rank, ``default_pg_timeout`` and batched point-to-point messages (``P2POp`` /
``batch_isend_irecv``, run here as the individual ``isend`` / ``irecv`` they list)."""

from __future__ import annotations

import enum
import os

from .constants import default_pg_timeout
from .point_to_point import irecv, isend
from .process_group import is_gloo_available, is_mpi_available, is_nccl_available

__all__ = ["DebugLevel", "P2POp", "batch_isend_irecv", "default_pg_timeout",
           "get_debug_level", "get_default_backend_for_device", "get_node_local_rank",
           "is_backend_available", "set_debug_level", "set_debug_level_from_env"]


class DebugLevel(enum.IntEnum):
    """``TORCH_DISTRIBUTED_DEBUG``'s levels (recorded; deltagrad's checks do not depend on
    them)."""

    OFF = 0
    INFO = 1
    DETAIL = 2

    def __repr__(self) -> str:
        return f"<DebugLevel.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"DebugLevel.{self.name}"


_level = [DebugLevel.OFF]


def get_debug_level() -> DebugLevel:
    """The level set last (OFF at first)."""
    return _level[0]


def set_debug_level(level: DebugLevel) -> None:
    """Set the level."""
    _level[0] = DebugLevel(level)


def set_debug_level_from_env() -> None:
    """The level named by ``TORCH_DISTRIBUTED_DEBUG`` (OFF when unset).

    Raises:
        ValueError: another value (as PyTorch)."""
    value = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").upper()
    if value not in DebugLevel.__members__:
        raise ValueError("The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL.")
    _level[0] = DebugLevel[value]


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` can be used here (the answers of ``is_gloo_available`` &c.)."""
    answers = {"gloo": is_gloo_available, "mpi": is_mpi_available, "nccl": is_nccl_available}
    answer = answers.get(str(backend).lower())
    return bool(answer()) if answer is not None else False


def get_default_backend_for_device(device) -> str:
    """PyTorch's default backend of a device type: ``gloo`` for the CPU, ``nccl`` for CUDA.

    Raises:
        ValueError: another device type (as PyTorch)."""
    kind = device if isinstance(device, str) else getattr(device, "type", str(device))
    kind = kind.split(":")[0]
    backends = {"cpu": "gloo", "cuda": "nccl"}
    if kind not in backends:
        raise ValueError(f"Default backend not registered for device : {kind}")
    return backends[kind]


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """``LOCAL_RANK`` from the environment, else ``fallback_rank``.

    Raises:
        RuntimeError: neither is there (as PyTorch)."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment. Consider passing fallback_rank "
                       "to allow `get_node_local_rank` to work, assuming you are not running "
                       "in a multi-device context and want the code to run locally instead.")


class P2POp:
    """One message of ``batch_isend_irecv``: ``op`` (``isend`` or ``irecv``) of ``tensor`` with
    process ``peer`` (or ``group_peer`` of ``group``)."""

    def __init__(self, op, tensor, peer: int | None = None, group=None, tag: int = 0,
                 group_peer: int | None = None) -> None:
        if op not in (isend, irecv):
            raise ValueError("Invalid ``op``. Expected ``op`` to be of type "
                             "``torch.distributed.isend`` or ``torch.distributed.irecv``.")
        self.op, self.tensor, self.peer, self.group = op, tensor, peer, group
        self.tag, self.group_peer = tag, group_peer

    def __repr__(self) -> str:
        return (f"P2POp(op={self.op.__name__}, tensor shape={tuple(self.tensor.shape)}, "
                f"peer={self.peer}, tag={self.tag})")


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Start every message of ``p2p_op_list`` (in order); returns their Work handles (None for
    a process outside the op's group), to ``wait()`` on.

    Raises:
        IndexError: an empty list (as PyTorch); ValueError: an entry that is not a P2POp."""
    if not all(isinstance(p2p, P2POp) for p2p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    p2p_op_list[0]  # noqa: B018 - PyTorch's IndexError for an empty list
    works = []
    for p2p in p2p_op_list:
        if p2p.op is isend:
            works.append(isend(p2p.tensor, p2p.peer, p2p.group, p2p.tag,
                               group_dst=p2p.group_peer))
        else:
            works.append(irecv(p2p.tensor, p2p.peer, p2p.group, p2p.tag,
                               group_src=p2p.group_peer))
    return works
