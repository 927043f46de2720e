"""``deltagrad.ao``: PyTorch's ``torch.ao`` (architecture optimisation); only its quantization
names, which deltagrad refuses clearly (see ``deltagrad.ao.quantization``)."""

from . import quantization

__all__ = ["quantization"]
