"""``torch.quantization.quantization_mappings``: the names of
``deltagrad.ao.quantization.quantization_mappings``."""

from ..ao.quantization.quantization_mappings import *  # noqa: F403
from ..ao.quantization.quantization_mappings import __all__  # noqa: F401
