"""``torch.nn.modules.loss``: the loss modules and their bases ``_Loss`` / ``_WeightedLoss``
(which custom losses subclass)."""

from .. import loss as _losses
from ..loss import *  # noqa: F403 - its __all__
from ..loss import _Loss, _WeightedLoss

__all__ = [*_losses.__all__, "_Loss", "_WeightedLoss"]
