"""``deltagrad.quantization``: PyTorch's older path ``torch.quantization``, the same names as
``deltagrad.ao.quantization`` (which refuses quantizing clearly)."""

from .ao import quantization as _quantization
from .ao.quantization import *  # noqa: F403
from .ao.quantization import __all__  # noqa: F401


def __getattr__(name: str):
    return _quantization.__getattr__(name)
