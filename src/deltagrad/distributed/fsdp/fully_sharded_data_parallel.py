"""``torch.distributed.fsdp.fully_sharded_data_parallel``: where PyTorch defines FSDP (v1) and
re-exports its configuration types: the same not-supported class as ``torch.distributed.fsdp``
(libraries import it from here for their ``isinstance`` unwrapping) and the same data types."""

from . import FullyShardedDataParallel
from .api import *  # noqa: F403 - the configuration types, as PyTorch re-exports them here
from .api import __all__ as _API
from .wrap import CustomPolicy, ModuleWrapPolicy

__all__ = ["CustomPolicy", "FullyShardedDataParallel", "ModuleWrapPolicy", *_API]
