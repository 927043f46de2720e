"""``torch.nn.modules.flatten``: Flatten and Unflatten."""

from ..layers import Flatten
from ..more_layers import Unflatten

__all__ = ["Flatten", "Unflatten"]
