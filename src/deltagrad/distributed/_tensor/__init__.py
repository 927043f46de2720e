"""``torch.distributed._tensor``: PyTorch's old path of ``torch.distributed.tensor`` (DTensor,
not supported in deltagrad), kept because libraries still import from it (opacus imports
``torch.distributed._tensor.experimental``)."""

from __future__ import annotations

from ..tensor import (
                      DeviceMesh,
                      DTensor,
                      Partial,
                      Placement,
                      Replicate,
                      Shard,
                      distribute_module,
                      distribute_tensor,
                      init_device_mesh,
                      placement_types,
)
from . import experimental

__all__ = ["DTensor", "DeviceMesh", "Partial", "Placement", "Replicate", "Shard",
           "distribute_module", "distribute_tensor", "experimental", "init_device_mesh",
           "placement_types"]
