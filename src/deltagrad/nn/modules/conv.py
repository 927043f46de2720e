"""``torch.nn.modules.conv``: the convolution modules."""

from ..conv import Conv1d
from ..conv2d import Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]
