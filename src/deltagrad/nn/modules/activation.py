"""``torch.nn.modules.activation``: the activation modules."""

from .. import activation as _activations
from ..activation import *  # noqa: F403 - its __all__

__all__ = list(_activations.__all__)
