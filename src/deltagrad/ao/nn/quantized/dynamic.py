"""``deltagrad.ao.nn.quantized.dynamic``: ``deltagrad.nn.quantized.dynamic``'s names."""

from ....nn.quantized.dynamic import *  # noqa: F403
from ....nn.quantized.dynamic import __all__  # noqa: F401
