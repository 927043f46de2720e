"""``torch.distributed._composable.fsdp``: PyTorch's older path of ``fully_shard`` and its
policies, the same stand-ins as ``deltagrad.distributed.fsdp`` (raising when used)."""

from ..fsdp import CPUOffloadPolicy, FSDPModule, MixedPrecisionPolicy, OffloadPolicy, fully_shard

__all__ = ["CPUOffloadPolicy", "FSDPModule", "MixedPrecisionPolicy", "OffloadPolicy",
           "fully_shard"]
