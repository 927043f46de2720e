"""``torch.nn.modules.adaptive``: the adaptive softmax module."""

from ..adaptive import AdaptiveLogSoftmaxWithLoss

__all__ = ["AdaptiveLogSoftmaxWithLoss"]
