"""``torch.nn.modules.loss``: the loss modules and their bases ``_Loss`` / ``_WeightedLoss``
(which custom losses subclass)."""

from .. import loss as _losses
from ..legacy_modules import NLLLoss2d
from ..loss import *  # noqa: F403 - its __all__
from ..loss import _Loss, _WeightedLoss

__all__ = [*_losses.__all__, "NLLLoss2d", "_Loss", "_WeightedLoss"]
