"""The import path ``torch.distributions.gumbel``: ``Gumbel``, defined in more.py."""

from .more import Gumbel

__all__ = ["Gumbel"]
