"""``torch.distributed.fsdp.fully_sharded_data_parallel``: where PyTorch defines FSDP (v1) and
re-exports its configuration types: the same not-supported class as ``torch.distributed.fsdp``
(libraries import it from here for their ``isinstance`` unwrapping) and the same data types."""

from . import FullyShardedDataParallel
from .api import (
    BackwardPrefetch,
    CPUOffload,
    FullOptimStateDictConfig,
    FullStateDictConfig,
    LocalOptimStateDictConfig,
    LocalStateDictConfig,
    MixedPrecision,
    OptimStateDictConfig,
    OptimStateKeyType,
    ShardedOptimStateDictConfig,
    ShardedStateDictConfig,
    ShardingStrategy,
    StateDictConfig,
    StateDictSettings,
    StateDictType,
)
from .wrap import CustomPolicy, ModuleWrapPolicy

__all__ = ["BackwardPrefetch", "CPUOffload", "CustomPolicy", "FullOptimStateDictConfig",
           "FullStateDictConfig", "FullyShardedDataParallel", "LocalOptimStateDictConfig",
           "LocalStateDictConfig", "MixedPrecision", "ModuleWrapPolicy", "OptimStateDictConfig",
           "OptimStateKeyType", "ShardedOptimStateDictConfig", "ShardedStateDictConfig",
           "ShardingStrategy", "StateDictConfig", "StateDictSettings", "StateDictType"]
