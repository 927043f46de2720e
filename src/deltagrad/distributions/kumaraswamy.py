"""The import path ``torch.distributions.kumaraswamy``: ``Kumaraswamy``, defined in positive.py."""

from .positive import Kumaraswamy

__all__ = ["Kumaraswamy"]
