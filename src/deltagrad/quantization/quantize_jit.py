"""``torch.quantization.quantize_jit``: ``deltagrad.ao.quantization.quantize_jit``'s names."""

from ..ao.quantization.quantize_jit import *  # noqa: F403
from ..ao.quantization.quantize_jit import __all__  # noqa: F401
