"""``torch.quantization.quantize_fx``: ``deltagrad.ao.quantization.quantize_fx``'s names."""

from ..ao.quantization.quantize_fx import *  # noqa: F403
from ..ao.quantization.quantize_fx import __all__  # noqa: F401
