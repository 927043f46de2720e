"""The one error every quantized module and function of deltagrad raises when used."""

from __future__ import annotations

from ..module import Module

__all__ = ["QuantizedModule", "refuse"]

MESSAGE = ("deltagrad has no quantized tensors or int8 kernels (qint8/quint8), so it cannot "
           "reproduce PyTorch's quantized numbers; keep the float model instead of quantizing")


def refuse(what: str) -> NotImplementedError:
    """The NotImplementedError naming ``what`` (a PyTorch path) as unsupported, and why."""
    return NotImplementedError(f"{what} is not supported: {MESSAGE}")


class QuantizedModule(Module):
    """Base of PyTorch's quantized modules (int8 weights, quantized tensors in and out):
    importing and naming them works (isinstance checks, module mappings); constructing or
    converting to one raises NotImplementedError."""

    _path = "torch.nn.quantized"

    def __init__(self, *args, **kwargs) -> None:
        raise refuse(f"{self._path}.{type(self).__name__}")

    @classmethod
    def from_float(cls, mod, *args, **kwargs):
        """Would convert a float module; raises NotImplementedError."""
        raise refuse(f"{cls._path}.{cls.__name__}.from_float")

    @classmethod
    def from_reference(cls, ref_module, *args, **kwargs):
        """Would convert a reference module; raises NotImplementedError."""
        raise refuse(f"{cls._path}.{cls.__name__}.from_reference")
