"""The import path ``torch.distributions.dirichlet``: ``Dirichlet``, defined in gamma.py."""

from .gamma import Dirichlet

__all__ = ["Dirichlet"]
