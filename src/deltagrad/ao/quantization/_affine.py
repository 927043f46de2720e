"""``torch.ao.quantization.observer``'s affine-quantization vocabulary (torchao's): mapping
types, zero-point domains and granularities (plain data, genuine), and the observer base that
needs quantized kernels (refused when built)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from ...nn.quantized._unsupported import QuantizedModule

__all__ = ["AffineQuantizedObserverBase", "Granularity", "MappingType", "PerAxis", "PerBlock",
           "PerGroup", "PerRow", "PerTensor", "PerToken", "TorchAODType", "ZeroPointDomain",
           "get_block_size"]


class MappingType(Enum):
    """How a float range maps to the integer range (symmetric about 0 or not)."""

    SYMMETRIC = auto()
    SYMMETRIC_NO_CLIPPING_ERR = auto()
    ASYMMETRIC = auto()


class ZeroPointDomain(Enum):
    """Whether the zero point is an integer, a float, or absent."""

    INT = auto()
    FLOAT = auto()
    NONE = auto()


class TorchAODType(Enum):
    """Sub-byte integer types PyTorch's core lacks (names only)."""

    INT1 = auto()
    INT2 = auto()
    INT3 = auto()
    INT4 = auto()
    INT5 = auto()
    INT6 = auto()
    INT7 = auto()


@dataclass(frozen=True)
class Granularity:
    """Base of the quantization granularities."""


@dataclass(frozen=True)
class PerBlock(Granularity):
    """One set of parameters per block of ``block_size``."""

    block_size: tuple


@dataclass(frozen=True)
class PerTensor(Granularity):
    """One set of parameters for the whole tensor."""


@dataclass(frozen=True)
class PerAxis(Granularity):
    """One set of parameters per index along ``axis``."""

    axis: int


@dataclass(frozen=True)
class PerGroup(Granularity):
    """One set of parameters per ``group_size`` consecutive elements of a row."""

    group_size: int


class PerRow(Granularity):
    """One set of parameters per row (the last dimension is the block)."""


class PerToken(Granularity):
    """One set of parameters per token (the last dimension)."""


def get_block_size(input_shape: tuple, granularity: Granularity) -> tuple:
    """The block shape ``granularity`` means for a tensor of ``input_shape``."""
    if not isinstance(granularity, Granularity):
        raise AssertionError("Please provide an instance of Granularity, not subclass of it")
    shape = tuple(input_shape)
    if isinstance(granularity, PerTensor):
        return shape
    if isinstance(granularity, PerAxis):
        block = list(shape)
        block[granularity.axis] = 1
        return tuple(block)
    if isinstance(granularity, PerRow):
        return (1,) * (len(shape) - 1) + (shape[-1],)
    if isinstance(granularity, PerGroup):
        if len(shape) != 2:
            raise AssertionError("Expecting input shape dim to be 2 for per group "
                                 f"quantization, gotinput shape: {shape}")
        return (1, granularity.group_size)
    if isinstance(granularity, PerToken):
        return (1,) * (len(shape) - 1) + (shape[-1],)
    raise ValueError(f"Unsupported Granularity: {granularity}")


class AffineQuantizedObserverBase(QuantizedModule):
    """torchao's affine observers (their conversion needs quantized kernels): not supported."""

    _path = "torch.ao.quantization.observer"
