"""The import path ``torch.distributions.beta``: ``Beta``, defined in gamma.py."""

from .gamma import Beta

__all__ = ["Beta"]
