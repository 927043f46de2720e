"""``torch.quantization.fake_quantize``: ``deltagrad.ao.quantization.fake_quantize``'s names."""

from ..ao.quantization.fake_quantize import *  # noqa: F403
from ..ao.quantization.fake_quantize import __all__  # noqa: F401
