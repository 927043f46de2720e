"""``torch.distributed.fsdp.api``: FSDP's configuration types (sharding strategies, offload,
mixed precision, state-dict settings). They are plain data, so they work here as in PyTorch;
what reads them (``FullyShardedDataParallel``) is not supported and raises when made. Libraries
(accelerate, diffusers) import them at module level to build their own configuration objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ...nn.normalization import _BatchNorm

__all__ = ["BackwardPrefetch", "CPUOffload", "FullOptimStateDictConfig", "FullStateDictConfig",
           "LocalOptimStateDictConfig", "LocalStateDictConfig", "MixedPrecision",
           "OptimStateDictConfig", "OptimStateKeyType", "ShardedOptimStateDictConfig",
           "ShardedStateDictConfig", "ShardingStrategy", "StateDictConfig", "StateDictSettings",
           "StateDictType"]


class ShardingStrategy(enum.Enum):
    """How FSDP would split parameters, gradients and optimizer state (PyTorch's values)."""

    FULL_SHARD = enum.auto()
    SHARD_GRAD_OP = enum.auto()
    NO_SHARD = enum.auto()
    HYBRID_SHARD = enum.auto()
    _HYBRID_SHARD_ZERO2 = enum.auto()


class BackwardPrefetch(enum.Enum):
    """When FSDP would fetch the next parameters during backward."""

    BACKWARD_PRE = enum.auto()
    BACKWARD_POST = enum.auto()


class StateDictType(enum.Enum):
    """Which kind of state dict an FSDP model would produce."""

    FULL_STATE_DICT = enum.auto()
    LOCAL_STATE_DICT = enum.auto()
    SHARDED_STATE_DICT = enum.auto()


class OptimStateKeyType(enum.Enum):
    """How optimizer state would be keyed: by parameter name or by id."""

    PARAM_NAME = enum.auto()
    PARAM_ID = enum.auto()


@dataclass
class CPUOffload:
    """Whether parameters would live on the CPU between uses."""

    offload_params: bool = False


@dataclass
class MixedPrecision:
    """The dtypes FSDP would compute, reduce and keep buffers in (None: the parameter's own)."""

    param_dtype: Any = None
    reduce_dtype: Any = None
    buffer_dtype: Any = None
    keep_low_precision_grads: bool = False
    cast_forward_inputs: bool = False
    cast_root_forward_inputs: bool = True
    # Batch norm stays in full precision unless the user says otherwise, as in PyTorch.
    _module_classes_to_ignore: tuple = field(default=(_BatchNorm,))


@dataclass
class StateDictConfig:
    """Base of the state-dict configurations."""

    offload_to_cpu: bool = False


@dataclass
class FullStateDictConfig(StateDictConfig):
    rank0_only: bool = False


@dataclass
class ShardedStateDictConfig(StateDictConfig):
    _use_dtensor: bool = False


@dataclass
class LocalStateDictConfig(StateDictConfig):
    pass


@dataclass
class OptimStateDictConfig:
    """Base of the optimizer state-dict configurations (offloaded by default, as PyTorch)."""

    offload_to_cpu: bool = True


@dataclass
class FullOptimStateDictConfig(OptimStateDictConfig):
    rank0_only: bool = False


@dataclass
class ShardedOptimStateDictConfig(OptimStateDictConfig):
    _use_dtensor: bool = False


@dataclass
class LocalOptimStateDictConfig(OptimStateDictConfig):
    offload_to_cpu: bool = False


@dataclass
class StateDictSettings:
    state_dict_type: StateDictType
    state_dict_config: StateDictConfig
    optim_state_dict_config: OptimStateDictConfig
