"""``torch.distributed.fsdp.fully_sharded_data_parallel``: where PyTorch defines FSDP (v1);
the same not-supported class as ``torch.distributed.fsdp`` (libraries import it from here for
their ``isinstance`` unwrapping)."""

from . import FullyShardedDataParallel

__all__ = ["FullyShardedDataParallel"]
