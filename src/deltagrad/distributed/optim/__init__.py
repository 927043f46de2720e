"""``torch.distributed.optim``: sharded and RPC optimizers, not supported in deltagrad (each
class raises NotImplementedError when made; ``isinstance`` checks answer False). Importable so
that libraries which import them on a CPU build (pytorch-ignite's checkpoint handler) load."""

from __future__ import annotations

from ...optim.optimizer import Optimizer
from .._unsupported import unsupported_class

__all__ = ["DistributedOptimizer", "PostLocalSGDOptimizer", "ZeroRedundancyOptimizer"]

_MODULE = "distributed.optim"
ZeroRedundancyOptimizer = unsupported_class(_MODULE, "ZeroRedundancyOptimizer", (Optimizer,))
PostLocalSGDOptimizer = unsupported_class(_MODULE, "PostLocalSGDOptimizer", (Optimizer,))
DistributedOptimizer = unsupported_class(_MODULE, "DistributedOptimizer")
