"""``torch.nn.modules.normalization``: LayerNorm, GroupNorm, RMSNorm and the local response
norms (torch-pruning names ``nn.modules.normalization.LayerNorm``)."""

from ..legacy_modules import CrossMapLRN2d
from ..norm2d import LocalResponseNorm
from ..normalization import GroupNorm, LayerNorm, RMSNorm

__all__ = ["CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]
