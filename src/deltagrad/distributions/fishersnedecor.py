"""The import path ``torch.distributions.fishersnedecor``: ``FisherSnedecor``, defined in
positive.py."""

from .positive import FisherSnedecor

__all__ = ["FisherSnedecor"]
