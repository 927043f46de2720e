"""``deltagrad.types``: PyTorch's ``torch.types`` aliases, for annotations in user code.

deltagrad has no symbolic shapes, so the ``*LikeType`` aliases are the plain Python types and
``py_sym_types`` is empty (no value is a symbolic int, as no plain value is in PyTorch).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO, Union

from ._engine.api.attributes import Size
from ._engine.device import device as _device
from ._engine.dtypes import dtype as _dtype  # noqa: F401 - torch.types._dtype
from ._engine.tensor import Tensor

__all__ = ["BoolLikeType", "Device", "FileLike", "FloatLikeType", "IntLikeType", "Number",
           "Size", "Tensor", "py_sym_types"]

_int, _float, _bool, _complex, _str = int, float, bool, complex, str
_size = Union[Size, list[int], tuple[int, ...]]  # noqa: UP007 - a runtime alias, as PyTorch's
_TensorOrTensors = Union[Tensor, Sequence[Tensor]]  # noqa: UP007
Number = Union[int, float, bool]  # noqa: UP007
Device = Union[_device, str, int, None]  # noqa: UP007
FileLike = Union[str, os.PathLike, IO[bytes]]  # noqa: UP007
IntLikeType = int
FloatLikeType = float
BoolLikeType = bool
py_sym_types: tuple = ()
