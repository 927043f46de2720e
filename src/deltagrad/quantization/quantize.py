"""``torch.quantization.quantize``: ``deltagrad.ao.quantization.quantize``'s names."""

from ..ao.quantization.quantize import *  # noqa: F403
from ..ao.quantization.quantize import __all__  # noqa: F401
