"""``torch.nn.modules.upsampling``: the upsampling modules."""

from ..padding import Upsample
from ..upsampling import UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
