"""``deltagrad.ao.nn.quantized``: the same names as ``deltagrad.nn.quantized`` (PyTorch's
``torch.nn.quantized`` re-exports ``torch.ao.nn.quantized``; here it is the other way round)."""

from ....nn.quantized import *  # noqa: F403
from ....nn.quantized import __all__  # noqa: F401
from . import dynamic, functional, modules  # noqa: F401
