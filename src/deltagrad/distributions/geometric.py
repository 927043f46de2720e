"""The import path ``torch.distributions.geometric``: ``Geometric``, defined in more.py."""

from .more import Geometric

__all__ = ["Geometric"]
