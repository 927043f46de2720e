"""``torch.nn.modules.conv``: the convolution modules."""

from ..conv import Conv1d
from ..conv2d import (
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    _ConvNd,  # noqa: F401 - its import path
    _ConvTranspose,
)
from ..lazy import (
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
)

# (libraries name the bases: thop's and torch-pruning's hooks and isinstance checks)
_ConvTransposeNd = _ConvTranspose

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d"]
