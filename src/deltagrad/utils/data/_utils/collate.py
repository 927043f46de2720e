"""``torch.utils.data._utils.collate``: the collate functions and the type -> function table."""

import re

from .._collate import (
    collate_tensor_fn,
    default_collate,
    default_collate_fn_map,
    default_convert,
)

__all__ = ["collate_tensor_fn", "default_collate", "default_collate_fn_map", "default_convert",
           "np_str_obj_array_pattern"]

# NumPy dtype strings of arrays that cannot become tensors (bytes, unicode, objects)
np_str_obj_array_pattern = re.compile(r"[SaUO]")
