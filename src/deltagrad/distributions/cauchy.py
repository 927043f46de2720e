"""The import path ``torch.distributions.cauchy``: ``Cauchy``, defined in more.py."""

from .more import Cauchy

__all__ = ["Cauchy"]
