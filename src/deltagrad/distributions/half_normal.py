"""The import path ``torch.distributions.half_normal``: ``HalfNormal``, defined in more.py."""

from .more import HalfNormal

__all__ = ["HalfNormal"]
