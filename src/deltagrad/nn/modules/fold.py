"""``torch.nn.modules.fold``: Fold and Unfold (sliding blocks)."""

from ..fold2d import Fold, Unfold

__all__ = ["Fold", "Unfold"]
