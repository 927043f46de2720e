"""``deltagrad.ao.nn.quantized.functional``: ``deltagrad.nn.quantized.functional``'s names."""

from ....nn.quantized.functional import *  # noqa: F403
from ....nn.quantized.functional import __all__  # noqa: F401
