"""``torch.nn.modules.linear``: Linear, Bilinear, Identity and LazyLinear."""

from ..layers import Identity, Linear
from ..lazy import LazyLinear
from ..more_layers import Bilinear

__all__ = ["Bilinear", "Identity", "LazyLinear", "Linear"]
