"""The import path ``torch.distributions.weibull``: ``Weibull``, defined in positive.py."""

from .positive import Weibull

__all__ = ["Weibull"]
