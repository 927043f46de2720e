"""``torch.distributed.tensor`` (DTensor): not supported in deltagrad. The names import, so that
libraries that import them on a CPU build load; making or using one raises NotImplementedError,
and ``isinstance(x, DTensor)`` is False (no DTensor ever exists)."""

from __future__ import annotations

from ..._engine.tensor import Tensor
from .._unsupported import unsupported_class, unsupported_function
from ..device_mesh import DeviceMesh, init_device_mesh
from . import placement_types
from .placement_types import Partial, Placement, Replicate, Shard

__all__ = ["DTensor", "DeviceMesh", "Partial", "Placement", "Replicate", "Shard",
           "distribute_module", "distribute_tensor", "init_device_mesh", "placement_types"]

_MODULE = "distributed.tensor"
DTensor = unsupported_class(_MODULE, "DTensor", (Tensor,))
distribute_tensor = unsupported_function(_MODULE, "distribute_tensor")
distribute_module = unsupported_function(_MODULE, "distribute_module")
