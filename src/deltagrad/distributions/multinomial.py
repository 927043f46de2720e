"""The import path ``torch.distributions.multinomial``: ``Multinomial``, defined in more.py."""

from .more import Multinomial

__all__ = ["Multinomial"]
