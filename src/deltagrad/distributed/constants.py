"""``torch.distributed.constants``: the default process-group timeouts."""

from .process_group import DEFAULT_PG_TIMEOUT

__all__ = ["default_pg_nccl_timeout", "default_pg_timeout"]

default_pg_timeout = DEFAULT_PG_TIMEOUT
# NCCL is a CUDA backend: PyTorch builds without CUDA have None here.
default_pg_nccl_timeout = None
