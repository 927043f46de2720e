"""``torch.nn.modules.channelshuffle``: the channel shuffle module."""

from ..shuffle_pool import ChannelShuffle

__all__ = ["ChannelShuffle"]
