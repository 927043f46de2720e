"""``torch.quantization.fuse_modules``: ``deltagrad.ao.quantization.fuse_modules``'s names."""

from ..ao.quantization.fuse_modules import *  # noqa: F403
from ..ao.quantization.fuse_modules import __all__  # noqa: F401
