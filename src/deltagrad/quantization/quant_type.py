"""``torch.quantization.quant_type``: ``deltagrad.ao.quantization.quant_type``'s names."""

from ..ao.quantization.quant_type import *  # noqa: F403
from ..ao.quantization.quant_type import __all__  # noqa: F401
