"""``torch.distributed.fsdp``: fully sharded data parallel, not supported in deltagrad (each
class raises when made, ``fully_shard`` when called; ``isinstance`` checks answer False). Its
configuration types (``api``) and auto-wrap policies (``wrap``) are plain data and predicates and
work as in PyTorch."""

from __future__ import annotations

from ...nn.module import Module
from .._unsupported import unsupported_class, unsupported_function
from .api import *  # noqa: F403 - the configuration types (plain data)
from .api import __all__ as _API

__all__ = ["CPUOffloadPolicy", "FSDPModule", "FullyShardedDataParallel", "MixedPrecisionPolicy",
           "OffloadPolicy", "fully_shard", *_API]

_MODULE = "distributed.fsdp"
FullyShardedDataParallel = unsupported_class(_MODULE, "FullyShardedDataParallel", (Module,))
FSDPModule = unsupported_class(_MODULE, "FSDPModule")
OffloadPolicy = unsupported_class(_MODULE, "OffloadPolicy")
CPUOffloadPolicy = unsupported_class(_MODULE, "CPUOffloadPolicy", (OffloadPolicy,))
MixedPrecisionPolicy = unsupported_class(_MODULE, "MixedPrecisionPolicy")
fully_shard = unsupported_function(_MODULE, "fully_shard")
