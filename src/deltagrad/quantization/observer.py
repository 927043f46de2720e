"""``torch.quantization.observer``: ``deltagrad.ao.quantization.observer``'s names."""

from ..ao.quantization.observer import *  # noqa: F403
from ..ao.quantization.observer import __all__  # noqa: F401
