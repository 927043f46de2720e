"""The import path ``torch.distributions.wishart``: ``Wishart``, defined in matrix.py."""

from .matrix import Wishart

__all__ = ["Wishart"]
