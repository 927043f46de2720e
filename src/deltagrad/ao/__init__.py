"""``deltagrad.ao``: PyTorch's ``torch.ao`` (architecture optimisation): ``ao.quantization``
(configs, observers and fake quantization genuine; quantizing refused clearly) and
``ao.nn`` (the quantized module namespaces)."""

from . import nn, quantization

__all__ = ["nn", "quantization"]
