"""``torch.quantization.fuser_method_mappings``: the names of
``deltagrad.ao.quantization.fuser_method_mappings``."""

from ..ao.quantization.fuser_method_mappings import *  # noqa: F403
from ..ao.quantization.fuser_method_mappings import __all__  # noqa: F401
