"""``torch.distributed.tensor._utils``: DTensor's layout helpers, not supported in deltagrad."""

from __future__ import annotations

from .._unsupported import unsupported_function

compute_local_shape_and_global_offset = unsupported_function(
    "distributed.tensor._utils", "compute_local_shape_and_global_offset")
