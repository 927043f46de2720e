"""``deltagrad.ao.nn.quantized.modules``: ``deltagrad.nn.quantized.modules``'s names."""

from ....nn.quantized.modules import *  # noqa: F403
from ....nn.quantized.modules import __all__  # noqa: F401
