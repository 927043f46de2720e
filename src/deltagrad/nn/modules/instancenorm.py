"""``torch.nn.modules.instancenorm``: the instance-normalization modules and their base."""

from ..norm2d import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "_InstanceNorm"]
