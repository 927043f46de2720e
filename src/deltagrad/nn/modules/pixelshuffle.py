"""``torch.nn.modules.pixelshuffle``: PixelShuffle and PixelUnshuffle."""

from ..shuffle_pool import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
