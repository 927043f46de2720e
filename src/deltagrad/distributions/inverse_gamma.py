"""The import path ``torch.distributions.inverse_gamma``: ``InverseGamma``
(defined in positive.py)."""

from .positive import InverseGamma

__all__ = ["InverseGamma"]
