"""``torch.quantization.stubs``: ``deltagrad.ao.quantization.stubs``'s names."""

from ..ao.quantization.stubs import *  # noqa: F403
from ..ao.quantization.stubs import __all__  # noqa: F401
