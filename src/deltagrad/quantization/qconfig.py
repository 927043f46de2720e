"""``torch.quantization.qconfig``: ``deltagrad.ao.quantization.qconfig``'s names."""

from ..ao.quantization.qconfig import *  # noqa: F403
from ..ao.quantization.qconfig import __all__  # noqa: F401
