"""``deltagrad._prims_common``: the annotation aliases of PyTorch's private
``torch._prims_common`` that libraries import for their signatures (torch-pca's
``from torch._prims_common import DeviceLikeType``; s31 LE31: a ModuleNotFoundError before).

Only the type aliases: PyTorch's helpers there serve its reference implementations of ops
(decompositions), which deltagrad does not have. deltagrad has no symbolic shapes, so the
``*Like`` tuples hold the plain Python types only.
"""

from __future__ import annotations

from typing import Union

from ._engine.api.attributes import Size
from ._engine.device import device as _device
from ._engine.tensor import Tensor

__all__ = ["BoolLike", "DeviceLikeType", "Dim", "DimsSequenceType", "DimsType", "FloatLike",
           "IntLike", "Number", "NumberType", "ShapeType", "StrideType", "TensorLikeType",
           "TensorOrNumberLikeType", "TensorSequenceType"]

# (runtime aliases, as PyTorch's: libraries use them in isinstance checks and annotations)
ShapeType = Union[Size, list[int], tuple[int, ...]]  # noqa: UP007
StrideType = Union[list[int], tuple[int, ...]]  # noqa: UP007
DimsType = Union[int, list[int], tuple[int, ...]]  # noqa: UP007
DimsSequenceType = Union[list[int], tuple[int, ...]]  # noqa: UP007
Dim = int
IntLike = (int,)
FloatLike = (float,)
BoolLike = (bool,)
Number = (bool, int, float, complex)
NumberType = Union[bool, int, float, complex]  # noqa: UP007
TensorLikeType = Tensor
TensorSequenceType = Union[list[Tensor], tuple[Tensor, ...]]  # noqa: UP007
TensorOrNumberLikeType = Union[Tensor, NumberType]  # noqa: UP007
DeviceLikeType = Union[str, _device, int]  # noqa: UP007
