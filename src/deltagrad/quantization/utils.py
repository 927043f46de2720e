"""``torch.quantization.utils``: ``deltagrad.ao.quantization.utils``'s names."""

from ..ao.quantization.utils import *  # noqa: F403
from ..ao.quantization.utils import __all__  # noqa: F401
