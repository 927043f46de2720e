"""The import path ``torch.distributions.pareto``: ``Pareto``, defined in positive.py."""

from .positive import Pareto

__all__ = ["Pareto"]
