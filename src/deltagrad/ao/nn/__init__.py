"""``deltagrad.ao.nn``: PyTorch's ``torch.ao.nn``; ``ao.nn.quantized`` is
``deltagrad.nn.quantized`` (FloatFunctional genuine, quantized modules refused when built)."""

from . import quantized

__all__ = ["quantized"]
